package driver

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
)

// sampleResult is the JSON line of `h2arnn sample`: the statistics of the
// samples (model.Stats), compared with the exact free energy when a
// reference exists (exactReference), and the wall-clock time of the
// drawing.
type sampleResult struct {
	Arch    string  `json:"arch"`
	N       int     `json:"n"`
	Beta    float64 `json:"beta"`
	Samples int     `json:"samples"`
	model.Stats
	*output.Exact
	Seconds float64 `json:"seconds"`
}

// sampleFlags are the flags of sample.
type sampleFlags struct {
	run, arch, beta   string
	samples, workers  int
	sampleSeed        uint64
	out, logq, energy string
	maxMemory         *memoryFlag
	// inputs are the model's files, which no output may overwrite.
	inputs []string
}

// runSample draws samples from a trained net (-run) or an exact net
// (-model, -arch cw_n or h2arnn), streams them to .npy files and reports
// their statistics.
func runSample(args []string, e *env) error {
	fs := newFlagSet("sample", "-run DIR [-beta B] [-samples 1000] [-sample-seed S] [-workers 0] [-out X.npy] [-logq Q.npy] [-energy E.npy]\n"+
		"       h2arnn sample -model cw|sk|ising2d|file -n N|-L L [model flags] -arch cw_n|h2arnn -beta B [same flags]",
		"Draws -samples configurations from an autoregressive net and prints one JSON line\n"+
			"{\"arch\",\"n\",\"beta\",\"samples\",\"f\",\"f_std\",\"e\",\"e_min\",\"s\",\"m_abs\",\"seconds\"}: per spin,\n"+
			"f = mean(ln q + βH)/(βN), f_std its population std, e = mean H/N, e_min = min H/N, s = -mean(ln q)/N,\n"+
			"m_abs = mean |Σx|/N, and the seconds the drawing took. With an exact reference (cw: any N; ising2d\n"+
			"without field: any L; others: N ≤ 26) it adds \"f_exact\" and \"rel_err\" = (f - f_exact)/|f_exact|.\n"+
			"\n"+
			"The net is either the one a 'h2arnn train' run keeps in DIR (-run DIR: the net of its checkpoint, the\n"+
			"one at the end of the run or where it was interrupted, on the model of the run), or an exact net\n"+
			"built here (-model ... -arch cw_n|h2arnn). -beta is the β of the statistics; it defaults to the β the\n"+
			"trained net was last trained at, and for the exact nets it also sets their parameters.\n"+
			"Samples go to the files -out (int8 ±1, shape [M, N]), -logq and -energy (float64 ln q and total H,\n"+
			"shape [M]) as .npy, written chunk by chunk, so M can exceed memory. Sample b is drawn from its own\n"+
			"random stream (-sample-seed, b): the files and the figures are the same, bit for bit, for any\n"+
			"-workers. Ctrl-C or SIGTERM stops within a second, leaves no partial file and exits with status 130.", e.stderr)
	mf := addModelFlags(fs, true)
	mf.seedUsed = true // the default -sample-seed
	var sf sampleFlags
	fs.StringVar(&sf.run, "run", "", "sample the net of the 'h2arnn train' run in `DIR` (its checkpoint's), on the run's model")
	fs.StringVar(&sf.arch, "arch", "", "without -run: the exact architecture, cw_n (cw models, any N) or h2arnn (any model, N ≤ "+strconv.Itoa(model.MaxExactNet)+")")
	fs.StringVar(&sf.beta, "beta", "", "inverse temperature β > 0 (required without -run; with -run the default is the β the net was last trained at)")
	fs.IntVar(&sf.samples, "samples", 1000, "number of samples M")
	fs.Uint64Var(&sf.sampleSeed, "sample-seed", 0, "seed of the sampling streams (default: the value of -seed; with -run, the run's)")
	fs.IntVar(&sf.workers, "workers", 0, "sampling goroutines (0 = one per core); results do not depend on it")
	fs.StringVar(&sf.out, "out", "", "write the samples to this `FILE` as an int8 .npy array of shape [M, N]")
	fs.StringVar(&sf.logq, "logq", "", "write ln q of each sample to this `FILE` as a float64 .npy array of shape [M]")
	fs.StringVar(&sf.energy, "energy", "", "write the energy H (total, not per spin) of each sample to this `FILE` as a float64 .npy array of shape [M]")
	sf.maxMemory = addMemoryFlag(fs)
	pf := addProfileFlags(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := sf.check(); err != nil {
		return err
	}
	var net model.Net
	var seed uint64
	var err error
	if sf.run != "" {
		net, seed, err = sf.trained(fs)
	} else {
		net, err = sf.exact(fs, mf)
		seed = mf.seed
	}
	if err != nil {
		return err
	}
	if err := sf.checkSizes(nil, net.Arch(), net.Size()); err != nil {
		return err
	}
	for _, o := range sf.outputs() {
		if err := output.CheckNotInput(o.path, sf.inputs...); err != nil {
			return usagef("%s %v", o.flag, err)
		}
	}
	if fs.set("sample-seed") {
		seed = sf.sampleSeed
	}
	beta := net.Beta()
	if sf.beta != "" {
		if beta, err = parseBeta(sf.beta); err != nil {
			return err
		}
	}
	if net.Params() == nil {
		net.SetBeta(beta) // the analytic nets' parameters follow β
	}
	return withProfiles(pf, func() error { return sf.draw(e, net, beta, seed) })
}

// check validates the flags that do not depend on the net.
func (sf *sampleFlags) check() error {
	if strings.Contains(sf.beta, ",") {
		return usagef("-beta %q: sample takes one inverse temperature; run it once per β", sf.beta)
	}
	if sf.samples < 1 {
		return usagef("-samples %d: give at least 1 sample", sf.samples)
	}
	if err := checkWorkers(sf.workers); err != nil {
		return err
	}
	// Refuse an unwritable output before sampling, not after.
	for _, o := range sf.outputs() {
		if err := checkFileDir(o.path); err != nil {
			return usagef("%s %s: %v; give a path in an existing, writable directory", o.flag, o.path, err)
		}
	}
	return nil
}

// outputs returns the output files given, with their flags.
func (sf *sampleFlags) outputs() []struct{ flag, path string } {
	var out []struct{ flag, path string }
	for _, o := range []struct{ flag, path string }{{"-out", sf.out}, {"-logq", sf.logq}, {"-energy", sf.energy}} {
		if o.path != "" {
			out = append(out, o)
		}
	}
	return out
}

// exact builds the exact net -arch on the model of the model flags.
func (sf *sampleFlags) exact(fs *flagSet, mf *modelFlags) (model.Net, error) {
	if sf.beta == "" {
		return nil, usagef("no inverse temperature given; give -beta B with B > 0")
	}
	beta, err := parseBeta(sf.beta)
	if err != nil {
		return nil, err
	}
	if sf.arch == "" {
		return nil, usagef("no net given; give -run DIR (a trained net) or -arch cw_n or h2arnn (an exact one)")
	}
	if err := mf.check(fs); err != nil {
		return nil, err
	}
	if err := checkNetSpec(sf.arch, mf.model, mf.knownN()); err != nil {
		return nil, err
	}
	if err := sf.checkSizes(mf, sf.arch, mf.knownN()); err != nil {
		return nil, err
	}
	m, err := mf.build(fs)
	if err != nil {
		return nil, err
	}
	sf.inputs = []string{mf.couplings, mf.hfile}
	net, err := model.NewNet(sf.arch, m, model.ArchOptions{Beta: beta})
	if err != nil {
		return nil, asUsage(err)
	}
	if net.Params() != nil {
		return nil, usagef("-arch %s has trainable parameters and would sample from its random initialisation; train it with 'h2arnn train' and sample it with -run DIR, or sample an exact net (cw_n, h2arnn)", sf.arch)
	}
	return net, nil
}

// trained loads the net of the run in -run DIR (loadRun) and returns it
// with the run's -seed; its β is the one it was last trained at.
func (sf *sampleFlags) trained(fs *flagSet) (model.Net, uint64, error) {
	for _, name := range []string{"model", "n", "L", "J", "field", "seed", "couplings", "fields", "arch"} {
		if fs.set(name) {
			return nil, 0, usagef("-%s with -run: the run gives the model and the net; drop -%s", name, name)
		}
	}
	run, err := loadRun("-run", sf.run)
	if err != nil {
		return nil, 0, err
	}
	sf.inputs = append(run.inputs, filepath.Join(sf.run, checkpointFile), filepath.Join(sf.run, netFile))
	run.net.SetBeta(run.sched[run.trained])
	return run.net, run.seed, nil
}

// sampleChunkBytes bounds the spins of one chunk of draw: the memory of a
// draw does not grow with -samples.
var sampleChunkBytes = 16 << 20 // a var so that tests can force several chunks

// draw draws the samples chunk by chunk into the output files and prints
// the result line. Sample b is drawn from the stream SampleRNG(seed, 0, b)
// whatever the chunk, so the result is that of one batch.
func (sf *sampleFlags) draw(e *env, net model.Net, beta float64, seed uint64) error {
	m := net.Model()
	n, total := m.N, sf.samples
	chunk := min(total, max(64, sampleChunkBytes/n/64*64))
	smp := model.NewSampler(net, sf.workers)
	defer smp.Close()
	x, logq, energy := make([]int8, chunk*n), make([]float64, chunk), make([]float64, chunk)
	acc := model.NewStatsAccumulator(beta, n)
	begin := time.Now()
	err := withNPYFiles([]npyFile{{sf.out, "|i1", []int{total, n}}, {sf.logq, "<f8", []int{total}}, {sf.energy, "<f8", []int{total}}},
		func(ws []npyOut) error {
			for lo := 0; lo < total; lo += chunk {
				c := min(chunk, total-lo)
				if err := smp.DrawInto(e.ctx, x[:c*n], logq[:c], energy[:c], seed, 0, lo); err != nil {
					return errInterrupted
				}
				acc.Add(x[:c*n], logq[:c], energy[:c])
				for k, err := range []error{ws[0].writeInt8s(x[:c*n]), ws[1].writeFloat64s(logq[:c]), ws[2].writeFloat64s(energy[:c])} {
					if err != nil {
						return fmt.Errorf("writing %s: %v", []string{sf.out, sf.logq, sf.energy}[k], err)
					}
				}
			}
			return nil
		})
	if isInterrupt(err) {
		return errInterrupted
	}
	if err != nil {
		return err
	}
	res := sampleResult{Arch: net.Arch(), N: n, Beta: beta, Samples: total, Stats: acc.Stats(), Seconds: time.Since(begin).Seconds()}
	th, err := exactReference(e.ctx, m, []float64{beta}, sf.workers)
	if err != nil {
		if isInterrupt(err) {
			return errInterrupted
		}
		return err
	}
	if th != nil {
		res.Exact = output.NewExact(res.F, th[0].F)
	}
	return e.emit(res)
}

// checkFileDir checks that a file can be created at path: its directory
// exists, is a directory, and accepts a new file (probed by creating and
// removing a temporary one), and path itself is not a directory.
func checkFileDir(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory", path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("directory %s does not exist", dir)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".h2arnn-probe-*")
	if err != nil {
		return fmt.Errorf("cannot create files in %s", dir)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}
