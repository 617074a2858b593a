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
	Gradient      string  `json:"gradient,omitempty"`
	PeakRSSMB     float64 `json:"peak_rss_mb"`

	// Where the machine stands (sk_krsb only): lnσ nodes evaluated per
	// nanosecond and core while sampling, the FMA peak of one core at the
	// kernel set's vector width, and the fraction of that peak the sampling
	// reaches at the kernel's flop count per node.
	LnSigNodesPerNs float64 `json:"lnsig_nodes_per_ns_per_core,omitempty"`
	FMAPeakGFLOPS   float64 `json:"fma_peak_gflops_per_core,omitempty"`
	PeakFraction    float64 `json:"fma_peak_fraction,omitempty"`
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

// runBench times training steps and sampling of one architecture so that a
// user can check the speed on their own machine. A training step is what
// `train` repeats: draw -batch samples, back-propagate each into the
// REINFORCE accumulators, one Adam update. Sampling is drawing -batch
// samples with ln q and H and nothing else.
func runBench(args []string, e *env) (err error) {
	fs := newFlagSet("bench", "-model cw|sk|ising2d|file -n N|-L L [model flags] [-arch sk_krsb] [-k 2] [-batch 2000] [-steps 3] [-workers 0]",
		"Times -steps training steps (sampling + REINFORCE gradient + Adam) and -steps sampling passes of\n"+
			"-batch samples, after one untimed warm-up of each, and prints one JSON line\n"+
			"{\"arch\",\"n\",\"k\",\"batch\",\"params\",\"kernels\",\"workers\",\"sec_per_step\",\"samples_per_sec\",\"peak_rss_mb\",\"gradient\"}:\n"+
			"seconds per training step (wall clock), samples drawn per second, the peak resident memory of the\n"+
			"process in MB (-1 where the OS does not report it), and how the gradient was formed: \"one-pass\"\n"+
			"(activations kept) or \"two-pass\" (samples re-run; sk_krsb with large N). The kernel set is chosen at start-up\n"+
			"(H2ARNN_KERNELS=generic|avx2|avx512 forces one). For sk_krsb it also prints where the machine\n"+
			"stands: \"lnsig_nodes_per_ns_per_core\" (log-sigmoid nodes evaluated per nanosecond and core while\n"+
			"sampling), \"fma_peak_gflops_per_core\" (one core's fused multiply-add peak at the kernel set's vector\n"+
			"width, measured for 50 ms) and \"fma_peak_fraction\" (the sampling's flop rate over that peak, counting\n"+
			"the kernel's floating-point operations per node). Defaults: the SK k-RSB step of the README's table\n"+
			"when given -model sk -n 200.", e.stderr)
	mf := addModelFlags(fs, true)
	arch := fs.String("arch", "sk_krsb", "architecture (see 'h2arnn train -h')")
	k := fs.Int("k", 2, "replica-symmetry-breaking steps of sk_krsb")
	depth := fs.Int("depth", 2, "made: number of masked layers")
	width := fs.Int("width", 1, "made: channels per spin")
	batch := fs.Int("batch", 2000, "samples per step, at least 2")
	steps := fs.Int("steps", 3, "timed steps of each kind, at least 1")
	betaStr := fs.String("beta", "1", "inverse temperature β > 0 of the loss")
	workers := fs.Int("workers", 0, "goroutines (0 = one per core)")
	pf := addProfileFlags(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	beta, err := parseBeta(*betaStr)
	if err != nil {
		return err
	}
	switch {
	case *batch < 2:
		return usagef("-batch %d: give at least 2 samples", *batch)
	case *steps < 1:
		return usagef("-steps %d: give at least 1 timed step", *steps)
	case *k < 0:
		return usagef("-k %d: give k ≥ 0", *k)
	}
	if err := checkWorkers(*workers); err != nil {
		return err
	}
	m, err := mf.build(fs)
	if err != nil {
		return err
	}
	net, err := model.NewNet(*arch, m, model.ArchOptions{K: *k, Depth: *depth, Width: *width, Beta: beta, Seed: 1})
	if err != nil {
		return usagef("-arch %s: %v", *arch, err)
	}
	net.SetBeta(beta)
	w := *workers
	if w == 0 {
		w = runtime.GOMAXPROCS(0)
	}
	return withProfiles(pf, func() error {
		res := benchResult{Arch: net.Arch(), N: m.N, K: *k, Batch: *batch, Params: net.ParamCount(), Kernels: h2arnn.Kernels(), Workers: w}
		res.K = 0
		if sk, ok := net.(*model.SK); ok {
			res.K = sk.K()
		}
		if p := net.Params(); p != nil {
			est, err := grad.NewReinforce(net, *batch, w)
			if err != nil {
				return usagef("%v", err)
			}
			defer est.Close()
			res.Gradient = "one-pass"
			if est.TwoPass() {
				res.Gradient = "two-pass"
			}
			opt := grad.NewAdam(len(p))
			g := make([]float64, len(p))
			step := func(s int) {
				est.Step(beta, 1, uint64(s), g)
				opt.Step(p, g)
			}
			step(0)
			t0 := time.Now()
			for s := 1; s <= *steps; s++ {
				if e.ctx.Err() != nil {
					return errInterrupted
				}
				step(s)
			}
			res.SecPerStep = time.Since(t0).Seconds() / float64(*steps)
		}
		smp := model.NewSampler(net, w)
		bt := smp.Draw(nil, *batch, 2, 0)
		t0 := time.Now()
		for s := 1; s <= *steps; s++ {
			if e.ctx.Err() != nil {
				return errInterrupted
			}
			bt = smp.Draw(bt, *batch, 2, uint64(s))
		}
		res.SamplesPerSec = float64(*batch**steps) / time.Since(t0).Seconds()
		if _, ok := net.(*model.SK); ok {
			machineStanding(&res, res.K, w)
		}
		res.PeakRSSMB = peakRSSMB()
		return e.emit(res)
	})
}
