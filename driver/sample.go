package driver

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
)

// sampleResult is the JSON line of `h2arnn sample`. FExact and RelErr are
// present only when an exact reference exists (exactReference).
type sampleResult struct {
	Arch    string   `json:"arch"`
	N       int      `json:"n"`
	Beta    float64  `json:"beta"`
	Samples int      `json:"samples"`
	F       float64  `json:"f"`
	FStd    float64  `json:"f_std"`
	E       float64  `json:"e"`
	EMin    float64  `json:"e_min"`
	S       float64  `json:"s"`
	MAbs    float64  `json:"m_abs"`
	FExact  *float64 `json:"f_exact,omitempty"`
	RelErr  *float64 `json:"rel_err,omitempty"`
}

// runSample draws samples from an exact net (one without trainable
// parameters) and reports their statistics. The sampling streams use
// -sample-seed, which defaults to -seed, so that one flag reproduces a run.
func runSample(args []string, e *env) (err error) {
	fs := newFlagSet("sample", "-model cw|sk|ising2d|file -n N|-L L [model flags] -arch cw_n|h2arnn -beta B [-samples 1000] [-sample-seed S] [-workers 0] [-out FILE.npy]",
		"Draws -samples configurations from an exact autoregressive net at inverse temperature β and prints\n"+
			"one JSON line {\"arch\",\"n\",\"beta\",\"samples\",\"f\",\"f_std\",\"e\",\"e_min\",\"s\",\"m_abs\"}: per spin,\n"+
			"f = mean(ln q + βH)/(βN), f_std its population std, e = mean H/N, e_min = min H/N, s = -mean(ln q)/N,\n"+
			"m_abs = mean |Σx|/N. With an exact reference (cw: any N; ising2d without field: any L; others:\n"+
			"N ≤ 26) it adds \"f_exact\" and \"rel_err\" = (f - f_exact)/|f_exact|. Trainable architectures are trained with 'h2arnn train'.", e.stderr)
	mf := addModelFlags(fs, true)
	arch := fs.String("arch", "", "exact architecture: cw_n (cw models, any N) or h2arnn (any model, N ≤ "+strconv.Itoa(model.MaxExactNet)+")")
	betaStr := fs.String("beta", "", "inverse temperature β > 0 (required)")
	samples := fs.Int("samples", 1000, "number of samples M")
	sampleSeed := fs.Uint64("sample-seed", 0, "seed of the sampling streams (default: the value of -seed)")
	workers := fs.Int("workers", 0, "sampling goroutines (0 = one per core); results do not depend on it")
	out := fs.String("out", "", "also write the samples to this `FILE` as an int8 .npy array of shape [M, N]")
	pf := addProfileFlags(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	stopProf, err := pf.start()
	if err != nil {
		return err
	}
	defer func() {
		if perr := stopProf(); perr != nil && err == nil {
			err = perr
		}
	}()
	if *betaStr == "" {
		return usagef("no inverse temperature given; give -beta B with B > 0")
	}
	if strings.Contains(*betaStr, ",") {
		return usagef("-beta %q: sample takes one inverse temperature; run it once per β", *betaStr)
	}
	beta, err := parseBeta(*betaStr)
	if err != nil {
		return err
	}
	if *samples < 1 {
		return usagef("-samples %d: give at least 1 sample", *samples)
	}
	if err := checkWorkers(*workers); err != nil {
		return err
	}
	if *arch == "" {
		return usagef("no architecture given; give -arch cw_n or -arch h2arnn")
	}
	m, err := mf.build(fs)
	if err != nil {
		return err
	}
	if *out != "" {
		// Refuse an unwritable -out before sampling, not after.
		if err := checkFileDir(*out); err != nil {
			return usagef("-out %s: %v; give a path in an existing, writable directory", *out, err)
		}
		if err := output.CheckNotInput(*out, mf.couplings, mf.hfile); err != nil {
			return usagef("-out %v", err)
		}
	}
	seed := mf.seed
	if fs.set("sample-seed") {
		seed = *sampleSeed
	}
	net, err := model.NewNet(*arch, m, model.ArchOptions{Beta: beta, Seed: seed})
	if err != nil {
		return usagef("-arch %s: %v", *arch, err)
	}
	if net.Params() != nil {
		return usagef("-arch %s has trainable parameters and would sample from its random initialisation; train it with 'h2arnn train', or sample an exact net (cw_n, h2arnn)", *arch)
	}
	net.SetBeta(beta)
	bt := model.SampleBatch(net, *samples, seed, *workers)
	st := model.BatchStats(bt, beta)
	res := sampleResult{Arch: net.Arch(), N: m.N, Beta: beta, Samples: *samples,
		F: st.F, FStd: st.FStd, E: st.E, EMin: st.EMin, S: st.S, MAbs: st.MAbs}
	if th, err := exactReference(m, []float64{beta}, *workers); err != nil {
		return err
	} else if th != nil {
		ref := th[0].F
		rel := relErr(st.F, ref)
		res.FExact, res.RelErr = &ref, &rel
	}
	if *out != "" {
		err := output.WriteFileAtomic(*out, func(w io.Writer) error { return output.WriteNPYInt8(w, bt.X, bt.B, bt.N) })
		if err != nil {
			return fmt.Errorf("-out %s: writing the samples: %v", *out, err)
		}
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
