package driver

import (
	"runtime"
	"time"

	"github.com/h2arnn/h2arnn"
	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/model"
)

// benchResult is the JSON line of `h2arnn bench`.
type benchResult struct {
	Arch          string  `json:"arch"`
	N             int     `json:"n"`
	K             int     `json:"k"`
	Batch         int     `json:"batch"`
	Params        int     `json:"params"`
	Kernels       string  `json:"kernels"`
	Workers       int     `json:"workers"`
	SecPerStep    float64 `json:"sec_per_step"`
	SamplesPerSec float64 `json:"samples_per_sec"`
	// CPUSecPerStep and CPUSecPerSample are the processor time (all
	// threads, user + system) of a training step and of drawing one
	// sample: unlike wall-clock times they do not grow when other
	// programs share the cores. -1 where the OS does not report it.
	CPUSecPerStep   float64 `json:"cpu_sec_per_step"`
	CPUSecPerSample float64 `json:"cpu_sec_per_sample"`
	Gradient        string  `json:"gradient,omitempty"`
	PeakRSSMB       float64 `json:"peak_rss_mb"`

	// Where the machine stands (sk_krsb only): lnσ nodes evaluated per
	// nanosecond and core while sampling, the FMA peak of one core at the
	// kernel set's vector width, and the fraction of that peak the sampling
	// reaches at the kernel's flop count per node.
	LnSigNodesPerNs float64 `json:"lnsig_nodes_per_ns_per_core,omitempty"`
	FMAPeakGFLOPS   float64 `json:"fma_peak_gflops_per_core,omitempty"`
	PeakFraction    float64 `json:"fma_peak_fraction,omitempty"`
}

// perUnit is the processor time between the readings c0 and c1 per unit
// of work, -1 if the OS does not report processor time.
func perUnit(c0, c1 float64, units int) float64 {
	if c0 < 0 || c1 < 0 {
		return -1
	}
	return (c1 - c0) / float64(units)
}

// machineStanding fills the lnσ throughput and FMA-peak fields of res from
// the sampling rate of an sk_krsb net with k (its chains evaluate
// (k+1)·N·(N-1) lnσ nodes per sample: k+1 layers over 2(N-1-i) chains at
// each spin i) on the given number of worker goroutines.
func machineStanding(res *benchResult, k, workers int) {
	nodes := float64((k + 1) * res.N * (res.N - 1))
	cores := min(workers, runtime.NumCPU())
	res.LnSigNodesPerNs = res.SamplesPerSec * nodes / 1e9 / float64(cores)
	res.FMAPeakGFLOPS = h2arnn.FMAPeak(50 * time.Millisecond)
	if f := h2arnn.LnSigmoidFlops(); f > 0 && res.FMAPeakGFLOPS > 0 {
		res.PeakFraction = res.LnSigNodesPerNs * float64(f) / res.FMAPeakGFLOPS
	}
}

// benchFlags are the flags of bench.
type benchFlags struct {
	arch                  string
	k, depth, width       int
	batch, steps, workers int
	beta                  float64
	maxMemory             *memoryFlag
}

// runBench times training steps and sampling of one architecture so that a
// user can check the speed on their own machine. A training step is what
// `train` repeats: draw -batch samples, back-propagate each into the
// REINFORCE accumulators, one Adam update. Sampling is drawing -batch
// samples with ln q and H and nothing else.
func runBench(args []string, e *env) error {
	fs := newFlagSet("bench", "-model cw|sk|ising2d|file -n N|-L L [model flags] [-arch sk_krsb] [-k 2] [-batch 2000] [-steps 3] [-workers 0]",
		"Times -steps training steps (sampling + REINFORCE gradient + Adam) and -steps sampling passes of\n"+
			"-batch samples, after one untimed warm-up of each, and prints one JSON line\n"+
			"{\"arch\",\"n\",\"k\",\"batch\",\"params\",\"kernels\",\"workers\",\"sec_per_step\",\"samples_per_sec\",\"cpu_sec_per_step\",\n"+
			"\"cpu_sec_per_sample\",\"peak_rss_mb\",\"gradient\"}: seconds per training step (wall clock), samples drawn per\n"+
			"second, the processor seconds (all threads) of a step and of one sample, the peak resident memory of the\n"+
			"process in MB (-1 where the OS does not report it), and how the gradient was formed: \"one-pass\"\n"+
			"(activations kept) or \"two-pass\" (samples re-run; sk_krsb with large N). The kernel set is chosen at start-up\n"+
			"(H2ARNN_KERNELS=generic|avx2|avx512 forces one). For sk_krsb it also prints where the machine\n"+
			"stands: \"lnsig_nodes_per_ns_per_core\" (log-sigmoid nodes evaluated per nanosecond and core while\n"+
			"sampling), \"fma_peak_gflops_per_core\" (one core's fused multiply-add peak at the kernel set's vector\n"+
			"width, measured for 50 ms) and \"fma_peak_fraction\" (the sampling's flop rate over that peak, counting\n"+
			"the kernel's floating-point operations per node). Defaults: the SK k-RSB step of the README's table\n"+
			"when given -model sk -n 200.", e.stderr)
	mf := addModelFlags(fs, true)
	var bf benchFlags
	fs.StringVar(&bf.arch, "arch", "sk_krsb", "architecture (see 'h2arnn train -h')")
	fs.IntVar(&bf.k, "k", 2, "replica-symmetry-breaking steps of sk_krsb")
	fs.IntVar(&bf.depth, "depth", 2, "made: number of masked layers")
	fs.IntVar(&bf.width, "width", 1, "made: channels per spin")
	fs.IntVar(&bf.batch, "batch", 2000, "samples per step, at least 2")
	fs.IntVar(&bf.steps, "steps", 3, "timed steps of each kind, at least 1")
	betaStr := fs.String("beta", "1", "inverse temperature β > 0 of the loss")
	fs.IntVar(&bf.workers, "workers", 0, "goroutines (0 = one per core)")
	bf.maxMemory = addMemoryFlag(fs)
	pf := addProfileFlags(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	var err error
	if bf.beta, err = parseBeta(*betaStr); err != nil {
		return err
	}
	switch {
	case bf.batch < 2:
		return usagef("-batch %d: give at least 2 samples", bf.batch)
	case bf.steps < 1:
		return usagef("-steps %d: give at least 1 timed step", bf.steps)
	}
	if err := checkWorkers(bf.workers); err != nil {
		return err
	}
	if err := fs.refuseUnused(bf.arch, archKnobs(bf.arch)); err != nil {
		return err
	}
	if err := checkNetSpec(bf.arch, mf.model, mf.knownN()); err != nil {
		return err
	}
	if err := bf.checkMemory(mf, mf.knownN()); err != nil {
		return err
	}
	m, err := mf.build(fs)
	if err != nil {
		return err
	}
	if err := bf.checkMemory(nil, m.N); err != nil {
		return err
	}
	net, err := model.NewNet(bf.arch, m, model.ArchOptions{K: bf.k, Depth: bf.depth, Width: bf.width, Beta: bf.beta, Seed: 1})
	if err != nil {
		return asUsage(err)
	}
	return withProfiles(pf, func() error { return bf.run(e, net) })
}

// run times net and prints the result line.
func (bf *benchFlags) run(e *env, net model.Net) error {
	smp := model.NewSampler(net, bf.workers)
	defer smp.Close()
	res := benchResult{Arch: net.Arch(), N: net.Size(), Batch: bf.batch, Params: net.ParamCount(), Kernels: h2arnn.Kernels(), Workers: smp.Workers()}
	if sk, ok := net.(*model.SK); ok {
		res.K = sk.K()
	}
	if p := net.Params(); p != nil {
		est, err := grad.NewReinforce(net, bf.batch, bf.workers)
		if err != nil {
			return asUsage(err)
		}
		defer est.Close()
		res.Gradient = "one-pass"
		if est.TwoPass() {
			res.Gradient = "two-pass"
		}
		opt := grad.NewAdam(len(p))
		g := make([]float64, len(p))
		res.SecPerStep, res.CPUSecPerStep, err = timeSteps(e, bf.steps, func(s int) error {
			est.Step(bf.beta, 1, uint64(s), g)
			opt.Step(p, g)
			return nil
		})
		if err != nil {
			return err
		}
	}
	var bt *model.Batch
	sec, cpu, err := timeSteps(e, bf.steps, func(s int) error {
		var err error
		bt, err = smp.Draw(e.ctx, bt, bf.batch, 2, uint64(s))
		return err
	})
	if err != nil {
		return err
	}
	res.SamplesPerSec = float64(bf.batch) / sec
	res.CPUSecPerSample = cpu
	if cpu >= 0 {
		res.CPUSecPerSample = cpu / float64(bf.batch)
	}
	if _, ok := net.(*model.SK); ok {
		machineStanding(&res, res.K, smp.Workers())
	}
	res.PeakRSSMB = peakRSSMB()
	return e.emit(res)
}

// timeSteps runs step(0) untimed (a warm-up: first-call allocations, cold
// caches), then step(1..steps), and returns the mean wall-clock seconds and
// processor seconds (all threads; -1 where the OS does not report them) of
// the timed ones. It stops with errInterrupted once the command's context
// is done.
func timeSteps(e *env, steps int, step func(s int) error) (wall, cpu float64, err error) {
	if err := step(0); err != nil {
		return 0, 0, errInterrupted
	}
	t0, c0 := time.Now(), cpuSeconds()
	for s := 1; s <= steps; s++ {
		if e.ctx.Err() != nil {
			return 0, 0, errInterrupted
		}
		if err := step(s); err != nil {
			return 0, 0, errInterrupted
		}
	}
	return time.Since(t0).Seconds() / float64(steps), perUnit(c0, cpuSeconds(), steps), nil
}
