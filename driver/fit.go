package driver

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
	"github.com/h2arnn/h2arnn/plm"
)

// Files of a fit run besides fit.csv, summary.json and checkpoint.json.
const (
	couplingsFile     = "couplings.txt"
	fieldsFile        = "fields.txt"
	fitCurvesPlot     = "fit_curves"
	couplingsVsPlot   = "couplings_vs_learned"
	fitKind           = "fit"
	plmArch           = "plm"
	defaultInitScaleN = "1/N"
)

// fitFlags are the flags of `h2arnn fit` beyond the comparison model's.
type fitFlags struct {
	data, arch, label       string
	k, depth, width         int
	learnCouplings          bool
	initScale               float64
	epochs, batch, patience int
	lr, val                 float64
	splitSeed, trainSeed    uint64
	l2, beta                float64
	workers                 int
	out, resume             string
	quiet, force            bool
	maxMemory               *memoryFlag
}

// fitCheckpoint is DIR/checkpoint.json of a fit run. A plm run keeps no
// state: resuming it runs the (deterministic, minutes-long) fit again.
type fitCheckpoint struct {
	Format int    `json:"format"`
	Kind   string `json:"kind"` // "fit"
	Arch   string `json:"arch"`
	N      int    `json:"n"`
	// DataSHA256 fingerprints the samples (see dataHash) and ModelSHA256
	// the comparison model ("" without one), so that changed inputs are
	// caught on resume.
	DataSHA256  string            `json:"data_sha256"`
	ModelSHA256 string            `json:"model_sha256"`
	Flags       map[string]string `json:"flags"`
	Resumes     int               `json:"resumes"`
	State       *grad.FitState    `json:"state,omitempty"`
	Params      []float64         `json:"params,omitempty"`
	// Complete is set once every file of the run is written.
	Complete bool `json:"complete"`
}

// fitResult is the JSON line of `h2arnn fit`. NLLs are per spin in nats;
// for plm they are pseudo-likelihoods (PseudoLikelihood true).
type fitResult struct {
	Arch             string   `json:"arch"`
	N                int      `json:"n"`
	Samples          int      `json:"samples"`
	TrainRows        int      `json:"train_rows"`
	ValRows          int      `json:"val_rows"`
	Params           int      `json:"params"`
	Epochs           int      `json:"epochs"`
	BestEpoch        int      `json:"best_epoch"`
	StoppedEarly     bool     `json:"stopped_early"`
	PseudoLikelihood bool     `json:"pseudo_likelihood"`
	TrainNLL         float64  `json:"train_nll"`
	ValNLL           *float64 `json:"val_nll"`
	*model.CouplingComparison
	Seconds float64 `json:"seconds"`
}

// testFitStop, if set (by tests only), is asked after every optimiser step
// whether to act as if an interrupt had arrived.
var testFitStop func(epoch, step int) bool

func runFit(args []string, e *env) error {
	fs := newFlagSet("fit", "-data SAMPLES.npy -arch NAME [-learn-couplings] [-epochs 200] [-batch 100] [-lr 1e-3] [-val 0.1] [-model ... to compare] [-out DIR]\n       h2arnn fit -resume DIR",
		"Fits an autoregressive net to data by maximum likelihood (SPEC §5): Adam on the mean negative\n"+
			"log-likelihood -ln q(x) of minibatches of -batch rows, each epoch a fresh random order of the\n"+
			"training rows; a fraction -val of the rows (chosen by -split-seed) is held out, its NLL computed\n"+
			"after every epoch, and the fit stops after -patience epochs without a lower held-out NLL, keeping\n"+
			"the parameters of the best epoch. The number of spins N comes from the data: a .npy array of ±1\n"+
			"spins of shape (samples, N), any integer or float dtype (a directory means DIR/samples.npy, as\n"+
			"'h2arnn mcmc' writes it). With -arch sk_rs or sk_<k>rsb and -learn-couplings, the first layer —\n"+
			"the couplings W and fields h the net reads the past through — is learned, starting from\n"+
			"W_ij ~ Normal(0, -init-scale²): the paper's Figure 6. -arch plm is pseudo-likelihood maximisation\n"+
			"instead (one L2-regularised logistic regression per spin, L-BFGS, couplings averaged over the two\n"+
			"regressions that estimate each: Ekeberg et al. 2013), the inverse-Ising community's estimator.\n"+
			"\n"+
			"A model given with the model flags (-model sk -seed S, -model file -couplings F, ...) is only\n"+
			"compared with: the JSON line and summary.json then hold, over the pairs i < j, pearson_abs =\n"+
			"r(|W|, |J|), the global sign of W that matches J best and pearson = r(sign·W, J), the least-squares\n"+
			"slope and intercept of sign·W on J (slope_abs, intercept_abs for |W| on |J|), rms = RMS(sign·W - J),\n"+
			"rms_scaled (the RMS after the best global scale of W), and pearson_column_signs, r(W, J) after\n"+
			"fixing the sign of each column W_·l to match J: the net's first layer is defined only up to a sign\n"+
			"and a scale per column (flipping W_·l and the chain weights that read it leaves q unchanged), so\n"+
			"only |W|, and W up to those signs, can be compared with J. pearson_abs_by_quarter gives r(|W|, |J|)\n"+
			"for the pairs whose later spin lies in each quarter of the spin order. (For sk_* without\n"+
			"-learn-couplings the net's first layer is that model's.)\n"+
			"\n"+
			"Everything goes into the run directory -out DIR (default runs/<date>-<time>-fit-<arch>-n<N>):\n"+
			"fit.csv (epoch,train_nll,val_nll,seconds per epoch, per spin, and pearson_abs with learned couplings\n"+
			"and a model; plm: one row of pseudo-likelihoods),\n"+
			"couplings.txt and fields.txt (the learned W and h in the 'i j J_ij' and 'i h_i' formats -couplings\n"+
			"and -fields read; a net's first layer has one parameter per pair i < j, used for both orders, so\n"+
			"it is symmetric by construction), summary.json, checkpoint.json (every epoch and on interrupt;\n"+
			"'h2arnn fit -resume DIR' continues bit for bit), fit_curves.png/.svg and, with a model to compare\n"+
			"with, couplings_vs_learned.png/.svg (|W| against |J| with the least-squares line). Results do not\n"+
			"depend on -workers. Trainable architectures: "+strings.Join(trainableArchs(), ", ")+", plm.", e.stderr)
	mf := addModelFlags(fs, true)
	var f fitFlags
	fs.StringVar(&f.data, "data", "", "samples `FILE` (.npy, ±1 spins of shape (samples, N)) or an mcmc run DIR (required)")
	fs.StringVar(&f.arch, "arch", "", "architecture (required): one of "+strings.Join(trainableArchs(), "|")+" or plm")
	fs.StringVar(&f.label, "label", "", "name of the run in plots (default: the architecture)")
	fs.IntVar(&f.k, "k", 1, "replica-symmetry-breaking steps of sk_krsb (0 = sk_rs)")
	fs.IntVar(&f.depth, "depth", 2, "made: number of masked layers")
	fs.IntVar(&f.width, "width", 1, "made: channels per spin in hidden layers")
	fs.BoolVar(&f.learnCouplings, "learn-couplings", false, "sk_rs/sk_krsb: learn the first layer (couplings W, fields h) from the data")
	fs.Float64Var(&f.initScale, "init-scale", 0, "standard deviation σ of the initial learned couplings W_ij ~ Normal(0, σ²) (0: 1/N, the scale of the other parameters)")
	fs.IntVar(&f.epochs, "epochs", 200, "largest number of passes over the training rows")
	fs.IntVar(&f.batch, "batch", 100, "rows per Adam step (the last step of an epoch takes what is left)")
	fs.Float64Var(&f.lr, "lr", 1e-3, "Adam learning rate")
	fs.Float64Var(&f.val, "val", 0.1, "fraction of the rows held out for validation, in [0, 1) (0: none, no early stopping)")
	fs.IntVar(&f.patience, "patience", 20, "stop after this many epochs without a lower held-out NLL (0: never)")
	fs.Uint64Var(&f.splitSeed, "split-seed", 0, "seed of the choice of held-out rows")
	fs.Uint64Var(&f.trainSeed, "train-seed", 0, "seed of the initial parameters and of the order of the rows in each epoch")
	fs.Float64Var(&f.l2, "l2", 0.01, "plm: L2 penalty λ on the couplings βJ of every regression (Ekeberg et al. use 0.01)")
	fs.Float64Var(&f.beta, "beta", 1, "plm: inverse temperature of the data; the couplings are reported as (fitted βJ)/β")
	fs.IntVar(&f.workers, "workers", 0, "goroutines (0 = one per core); results do not depend on it")
	fs.StringVar(&f.out, "out", "", "run `DIR` (created if missing; default runs/<date>-<time>-fit-<arch>-n<N>); it must be new or empty (or see -force) and is locked while the run goes on")
	fs.BoolVar(&f.force, "force", false, forceUsage)
	fs.StringVar(&f.resume, "resume", "", "continue the interrupted run in `DIR` with its saved flags (flags given too must agree)")
	f.maxMemory = addMemoryFlag(fs)
	fs.BoolVar(&f.quiet, "quiet", false, "no progress lines on standard error")
	pf := addProfileFlags(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	var ck *fitCheckpoint
	if f.resume != "" {
		var err error
		if ck, err = loadFitCheckpoint(f.resume); err != nil {
			return err
		}
		if err := applySavedFlags(fs, ck.Flags, f.resume); err != nil {
			return err
		}
		f.out = f.resume
	}
	if err := f.check(fs); err != nil {
		return err
	}
	if err := f.checkModelFlags(fs, mf); err != nil { // before the data are read
		return err
	}
	data, n, err := loadFitData(f.data)
	if err != nil {
		return err
	}
	if err := f.checkMemory(mf, len(data)/n, n); err != nil {
		return err
	}
	rows := len(data) / n
	trainIdx, valIdx := grad.SplitRows(rows, f.val, f.splitSeed)
	if len(trainIdx) == 0 || (f.val > 0 && len(valIdx) == 0) {
		return usagef("-val %v of %d samples leaves %d training and %d held-out rows; give more samples or another -val", f.val, rows, len(trainIdx), len(valIdx))
	}
	truth, err := f.comparisonModel(fs, mf, n)
	if err != nil {
		return err
	}
	r := &fitRun{e: e, f: &f, mf: mf, fs: fs, n: n, rows: rows, truth: truth, dataSHA: dataHash(data, n), started: time.Now(),
		train: rowsOf(data, n, trainIdx), val: rowsOf(data, n, valIdx)}
	if truth != nil {
		r.modelSHA = truth.Hash()
	}
	if ck != nil {
		if ck.DataSHA256 != r.dataSHA || ck.ModelSHA256 != r.modelSHA || ck.Arch != f.arch || ck.N != n {
			return usagef("-resume %s: the data or the comparison model differ from the run's (the samples file changed?); restore them or start a new run", f.resume)
		}
		r.resumes = ck.Resumes + 1
	}
	if f.arch != plmArch {
		// The net before the run directory: a net that cannot be built
		// leaves nothing behind.
		if err := r.buildNet(ck); err != nil {
			return err
		}
		defer r.fitter.Close()
	}
	unlock, err := prepareRunDir(&f.out, fitKind, "fit-"+f.arch, n, ck != nil, f.force)
	if err != nil {
		return err
	}
	defer unlock()
	if f.arch == plmArch {
		return withProfiles(pf, r.pseudoLikelihood)
	}
	return withProfiles(pf, r.fit)
}

// trainableArchs lists the architectures with parameters.
func trainableArchs() []string {
	var out []string
	for _, a := range model.Archs() {
		if a != "h2arnn" && a != "cw_n" {
			out = append(out, a)
		}
	}
	return out
}

func isSKArch(arch string) bool {
	return arch == "sk_rs" || arch == "sk_krsb" || strings.HasPrefix(arch, "sk_")
}

// check validates the flags that do not need the data.
func (f *fitFlags) check(fs *flagSet) error {
	switch {
	case f.data == "":
		return usagef("no data given; give -data SAMPLES.npy (±1 spins of shape (samples, N)), e.g. from 'h2arnn mcmc'")
	case f.arch == "":
		return usagef("no architecture given; give -arch, one of %s or plm", strings.Join(trainableArchs(), ", "))
	case f.arch != plmArch && !slices.Contains(trainableArchs(), f.arch):
		return usagef("-arch %q cannot be fitted; give one of %s or plm", f.arch, strings.Join(trainableArchs(), ", "))
	case f.epochs < 1:
		return usagef("-epochs %d: give at least 1", f.epochs)
	case f.batch < 1:
		return usagef("-batch %d: give at least 1 row per step", f.batch)
	case !(f.lr > 0) || math.IsInf(f.lr, 0):
		return usagef("-lr %v: give a positive finite learning rate such as 1e-3", f.lr)
	case !(f.val >= 0 && f.val < 1):
		return usagef("-val %v: give a fraction in [0, 1), e.g. 0.1", f.val)
	case f.patience < 0:
		return usagef("-patience %d: give a number of epochs ≥ 1, or 0 never to stop early", f.patience)
	case f.patience > 0 && f.val == 0 && fs.set("patience"):
		return usagef("-patience needs held-out rows; give -val > 0 or drop -patience")
	case !(f.initScale >= 0) || math.IsInf(f.initScale, 0):
		return usagef("-init-scale %v: give a standard deviation ≥ 0 (0: 1/N)", f.initScale)
	case !(f.l2 >= 0) || math.IsInf(f.l2, 0):
		return usagef("-l2 %v: give a penalty ≥ 0", f.l2)
	case !(f.beta > 0) || math.IsInf(f.beta, 0):
		return usagef("-beta %v: give the inverse temperature of the data, > 0", f.beta)
	case f.k < 0:
		return usagef("-k %d: give 0 (sk_rs) or more RSB steps", f.k)
	case f.depth < 1 || f.width < 1:
		return usagef("-depth %d -width %d: give at least 1 of each", f.depth, f.width)
	}
	if err := checkWorkers(f.workers); err != nil {
		return err
	}
	plmOnly := f.arch == plmArch
	return fs.refuseUnused(f.arch, []flagUse{
		{"k", f.arch == "sk_krsb", "-arch sk_krsb"},
		{"depth", f.arch == "made", "-arch made"},
		{"width", f.arch == "made", "-arch made"},
		{"learn-couplings", isSKArch(f.arch), "-arch sk_rs or sk_<k>rsb"},
		{"init-scale", f.learnCouplings, "-learn-couplings"},
		{"l2", plmOnly, "-arch plm"},
		{"beta", plmOnly, "-arch plm"},
		{"epochs", !plmOnly, "a net (not plm)"},
		{"batch", !plmOnly, "a net (not plm)"},
		{"lr", !plmOnly, "a net (not plm)"},
		{"patience", !plmOnly, "a net (not plm)"},
		{"train-seed", !plmOnly, "a net (not plm)"},
	})
}

// loadFitData reads -data: a samples file, or DIR/samples.npy of a run.
func loadFitData(path string) ([]int8, int, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, output.SamplesFile)
	}
	x, n, err := model.LoadSamples(path)
	if err != nil {
		return nil, 0, usagef("-data %v", err)
	}
	return x, n, nil
}

// checkModelFlags refuses, from the flags alone, model flags without
// -model, and an sk architecture with neither a model nor
// -learn-couplings.
func (f *fitFlags) checkModelFlags(fs *flagSet, mf *modelFlags) error {
	if mf.model != "" {
		return nil
	}
	for _, name := range []string{"n", "J", "field", "seed", "couplings", "fields"} {
		if fs.set(name) {
			return usagef("-%s describes a model to compare with, but no -model is given; add -model sk, cw or file", name)
		}
	}
	if isSKArch(f.arch) && !f.learnCouplings {
		return usagef("-arch %s reads the data through a first layer of couplings: give -learn-couplings to learn it, or the model (-model ...) to fix it", f.arch)
	}
	return nil
}

// comparisonModel builds the model given by the model flags, if any, for N
// spins; sk architectures without -learn-couplings need one.
func (f *fitFlags) comparisonModel(fs *flagSet, mf *modelFlags, n int) (*model.Hamiltonian, error) {
	if mf.model == "" {
		return nil, f.checkModelFlags(fs, mf)
	}
	if mf.n == 0 && mf.model != "file" {
		// Recorded as if given, so that the saved flags rebuild the model.
		if err := fs.Set("n", fmt.Sprint(n)); err != nil {
			return nil, err
		}
	}
	m, err := mf.build(fs)
	if err != nil {
		return nil, err
	}
	if m.N != n {
		return nil, usagef("the model has N = %d spins, the data %d; give the model of the data", m.N, n)
	}
	return m, nil
}

// rowsOf copies the given rows of data (rows of n spins).
func rowsOf(data []int8, n int, rows []int) []int8 {
	out := make([]int8, 0, len(rows)*n)
	for _, r := range rows {
		out = append(out, data[r*n:(r+1)*n]...)
	}
	return out
}

// dataHash is the SHA-256 of N (little-endian uint64) and the spins.
func dataHash(x []int8, n int) string {
	h := sha256.New()
	var b [8]byte
	for k := range b {
		b[k] = byte(uint64(n) >> (8 * k))
	}
	h.Write(b[:])
	buf := make([]byte, len(x))
	for k, v := range x {
		buf[k] = byte(v)
	}
	h.Write(buf)
	return hex.EncodeToString(h.Sum(nil))
}

func loadFitCheckpoint(dir string) (*fitCheckpoint, error) {
	var ck fitCheckpoint
	if err := readRunCheckpoint(dir, "fit", &ck); err != nil {
		return nil, err
	}
	if ck.Kind != fitKind {
		return nil, usagef("-resume %s: %s is not a fit run's", dir, jsonCheckpointFile)
	}
	if ck.Format != jsonCheckpointFormat {
		return nil, usagef("-resume %s: %s has format %d, this version reads format %d", dir, jsonCheckpointFile, ck.Format, jsonCheckpointFormat)
	}
	if ck.Flags == nil || ck.Arch == "" || (ck.Arch != plmArch && (ck.State == nil || ck.Params == nil)) {
		return nil, usagef("-resume %s: %s lacks the run's configuration", dir, jsonCheckpointFile)
	}
	for _, p := range ck.Params {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return nil, usagef("-resume %s: %s holds non-finite parameters", dir, jsonCheckpointFile)
		}
	}
	if ck.Complete {
		return nil, usagef("-resume %s: the run is already complete; start a new run with another -out", dir)
	}
	return &ck, nil
}

// fitRun is one fit with its run directory.
type fitRun struct {
	e        *env
	f        *fitFlags
	mf       *modelFlags
	fs       *flagSet
	n, rows  int
	train    []int8
	val      []int8
	truth    *model.Hamiltonian // nil: nothing to compare with
	dataSHA  string
	modelSHA string
	resumes  int
	started  time.Time

	net      model.Net
	fitter   *grad.Fitter
	csv      *output.RowWriter
	history  []output.FitRow
	result   *fitResult
	complete bool
}

func (r *fitRun) dir(name string) string { return filepath.Join(r.f.out, name) }

// netModel is the Hamiltonian the net is built on: the comparison model
// (whose couplings a fixed first layer reads) or N free spins.
func (r *fitRun) netModel() *model.Hamiltonian {
	if r.truth != nil {
		return r.truth
	}
	m := model.NewHamiltonian(r.n)
	m.Kind, m.Source = "data", "fitted to "+absPath(r.f.data)
	return m
}

// buildNet constructs the net and its fitter, restoring a checkpoint.
func (r *fitRun) buildNet(ck *fitCheckpoint) error {
	f := r.f
	opts := model.ArchOptions{K: f.k, Depth: f.depth, Width: f.width, Seed: f.trainSeed, TrainFirstLayer: f.learnCouplings, FirstLayerStd: f.initScale, Beta: 1}
	net, err := model.NewNet(f.arch, r.netModel(), opts)
	if err != nil {
		return usagef("-arch %s: %v", f.arch, err)
	}
	r.net = net
	cfg := grad.FitConfig{Epochs: f.epochs, Batch: f.batch, LR: f.lr, Patience: f.patience, Seed: f.trainSeed, Workers: f.workers}
	if f.val == 0 {
		cfg.Patience = 0
	}
	if r.fitter, err = grad.NewFitter(net, r.train, r.val, cfg); err != nil {
		return usagef("%v", err)
	}
	if ck == nil {
		return nil
	}
	if len(ck.Params) != len(net.Params()) {
		r.fitter.Close()
		return usagef("-resume %s: the checkpoint holds %d parameters, the net %s has %d", f.resume, len(ck.Params), f.arch, len(net.Params()))
	}
	copy(net.Params(), ck.Params)
	if err := r.fitter.SetState(*ck.State); err != nil {
		r.fitter.Close()
		return usagef("-resume %s: %v", f.resume, err)
	}
	return nil
}

// fit runs the epochs with checkpoints, progress and fit.csv, then writes
// the result files.
func (r *fitRun) fit() error {
	path := r.dir(output.FitFile)
	var err error
	if r.resumes > 0 {
		r.csv, err = output.ResumeRows(path, r.fitHeader(), r.fitter.State().Epochs)
		if err == nil {
			r.history, _, err = output.ReadFit(path)
		}
	} else {
		r.csv, err = output.CreateRows(path, r.fitHeader())
	}
	if err != nil {
		return usagef("%v", err)
	}
	defer r.csv.Close()
	if err := r.writeSummary("running", ""); err != nil {
		return err
	}
	if err := r.checkpoint(); err != nil {
		return err
	}
	prog := newProgress(r.e.stderr, r.f.quiet, nil, nil, nil)
	nspin := float64(r.n)
	r.fitter.OnStep = func(epoch, step int) error {
		if testFitStop != nil && testFitStop(epoch, step) {
			return errInterrupted
		}
		return nil
	}
	begin, session := time.Now(), 0
	r.fitter.OnEpoch = func(ep grad.Epoch) error {
		session++
		row := output.FitRow{Epoch: ep.Epoch, TrainNLL: ep.TrainNLL / nspin, ValNLL: ep.ValNLL / nspin, Seconds: ep.Seconds, PearsonAbs: math.NaN()}
		if w, _ := r.learnedCouplings(); w != nil && r.truth != nil {
			c, err := model.CompareCouplings(w, r.truth.J, r.n)
			if err != nil {
				return err
			}
			row.PearsonAbs = c.PearsonAbs
		}
		if err := r.csv.WriteFitRow(row); err != nil {
			return err
		}
		r.history = append(r.history, row)
		if err := r.checkpoint(); err != nil {
			return err
		}
		_, best := r.fitter.Best()
		// A live line on a terminal; in a log, a line every plainEvery and
		// at the last epoch.
		now := time.Now()
		last := ep.Epoch == r.f.epochs || r.fitter.State().Stopped
		if prog.off || (!prog.tty && !last && now.Sub(prog.lastPrint) < plainEvery) {
			return nil
		}
		prog.lastPrint = now
		line := fmt.Sprintf("fit %s: epoch %d/%d  NLL/N training %.6g, held out %.6g (best epoch %d)  %.3g s/epoch", r.f.arch, ep.Epoch, r.f.epochs, row.TrainNLL, row.ValNLL, best, ep.Seconds)
		per := now.Sub(begin).Seconds() / float64(session)
		line += fmt.Sprintf("  ETA ≤ %s", time.Duration(per*float64(r.f.epochs-ep.Epoch)*float64(time.Second)).Round(time.Second))
		prog.print(line, last)
		return nil
	}
	err = r.fitter.Fit(r.e.ctx)
	prog.finish()
	if errors.Is(err, errInterrupted) || (err != nil && r.e.ctx.Err() != nil) {
		if cerr := r.checkpoint(); cerr != nil {
			return cerr
		}
		if serr := r.writeSummary("interrupted", ""); serr != nil {
			return serr
		}
		return fmt.Errorf("%w: checkpoint after %d epochs written to %s; continue with 'h2arnn fit -resume %s'", errInterrupted, r.fitter.State().Epochs, r.dir(jsonCheckpointFile), r.f.out)
	}
	if err != nil {
		msg := fmt.Sprintf("fit stopped: %v; the last good checkpoint is kept in %s", err, r.dir(jsonCheckpointFile))
		if serr := r.writeSummary("failed", msg); serr != nil {
			return fmt.Errorf("%s (and %v)", msg, serr)
		}
		return errors.New(msg)
	}
	st := r.fitter.State()
	trainNLL, valNLL := r.fitter.NLL()
	res := &fitResult{Arch: r.f.arch, N: r.n, Samples: r.rows, TrainRows: len(r.train) / r.n, ValRows: len(r.val) / r.n,
		Params: r.net.ParamCount(), Epochs: st.Epochs, BestEpoch: st.BestEpoch, StoppedEarly: st.Stopped,
		TrainNLL: trainNLL / nspin, ValNLL: finiteOrNil(valNLL / nspin)}
	w, h := r.learnedCouplings()
	return r.finish(res, w, h)
}

// learnedCouplings returns the net's learned first layer (W, h), or nils
// for a net without one.
func (r *fitRun) learnedCouplings() (w, h []float64) {
	if sk, ok := r.net.(*model.SK); ok && sk.TrainsFirstLayer() {
		return sk.FirstLayer()
	}
	return nil, nil
}

// fitHeader is the header of the net's fit.csv: with r(|W|, |J|) per epoch
// when learned couplings are compared with a model.
func (r *fitRun) fitHeader() []string {
	w, _ := r.learnedCouplings()
	return output.FitHeader(false, w != nil && r.truth != nil)
}

// pseudoLikelihood runs plm and writes its files.
func (r *fitRun) pseudoLikelihood() error {
	if err := r.writeSummary("running", ""); err != nil {
		return err
	}
	if err := r.checkpoint(); err != nil {
		return err
	}
	begin := time.Now()
	res, err := plm.Fit(r.e.ctx, r.train, r.n, plm.Config{Lambda: r.f.l2, Beta: r.f.beta, Workers: r.f.workers})
	if err != nil {
		if r.e.ctx.Err() != nil {
			if serr := r.writeSummary("interrupted", ""); serr != nil {
				return serr
			}
			return fmt.Errorf("%w: 'h2arnn fit -resume %s' runs the pseudo-likelihood fit again", errInterrupted, r.f.out)
		}
		return usagef("%v", err)
	}
	trainPL := plm.PseudoNLL(res.J, res.H, r.f.beta, r.train, r.n)
	valPL := math.NaN()
	if len(r.val) > 0 {
		valPL = plm.PseudoNLL(res.J, res.H, r.f.beta, r.val, r.n)
	}
	csv, err := output.CreateRows(r.dir(output.FitFile), output.FitHeader(true, false))
	if err != nil {
		return err
	}
	err = csv.WriteFitRow(output.FitRow{Epoch: 1, TrainNLL: trainPL, ValNLL: valPL, Seconds: time.Since(begin).Seconds()})
	if cerr := csv.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	unconverged := 0
	for _, ok := range res.Converged {
		if !ok {
			unconverged++
		}
	}
	if unconverged > 0 && !r.f.quiet {
		fmt.Fprintf(r.e.stderr, "fit plm: %d of %d regressions stopped before the gradient criterion (iteration limit or line search); the estimates may be less accurate\n", unconverged, r.n)
	}
	out := &fitResult{Arch: plmArch, N: r.n, Samples: r.rows, TrainRows: len(r.train) / r.n, ValRows: len(r.val) / r.n,
		Params: r.n * (r.n + 1) / 2, Epochs: 1, PseudoLikelihood: true, TrainNLL: trainPL, ValNLL: finiteOrNil(valPL)}
	return r.finish(out, res.J, res.H)
}

// finish writes the learned couplings, the comparison, the plots, the
// summary and the JSON line of a complete fit.
func (r *fitRun) finish(res *fitResult, w, h []float64) error {
	if w != nil {
		learned := model.NewHamiltonian(r.n)
		copy(learned.J, w)
		copy(learned.H, h)
		note := "# learned first-layer couplings W of " + r.f.arch + ": one parameter per pair i < j, read in both orders (symmetric by construction)\n"
		if r.f.arch == plmArch {
			note = fmt.Sprintf("# plm couplings: (K_ij + K_ji)/(2β), K the two regressions' estimates of βJ_ij, β = %g, λ = %g\n", r.f.beta, r.f.l2)
		}
		if err := output.WriteFileAtomic(r.dir(couplingsFile), func(wr io.Writer) error {
			if _, err := io.WriteString(wr, note); err != nil {
				return err
			}
			return learned.WriteCouplings(wr)
		}); err != nil {
			return fmt.Errorf("writing %s: %v", couplingsFile, err)
		}
		if err := output.WriteFileAtomic(r.dir(fieldsFile), learned.WriteFields); err != nil {
			return fmt.Errorf("writing %s: %v", fieldsFile, err)
		}
		if r.truth != nil {
			c, err := model.CompareCouplings(w, r.truth.J, r.n)
			if err != nil {
				return err
			}
			res.CouplingComparison = &c
		}
	}
	res.Seconds = time.Since(r.started).Seconds()
	if r.f.arch != plmArch {
		res.Seconds = 0
		for _, row := range r.history {
			res.Seconds += row.Seconds
		}
	}
	r.result = res
	if _, err := plotFitRuns([]fitRunFiles{{label: r.label(), dir: r.f.out}}, r.f.out+string(filepath.Separator)); err != nil {
		return fmt.Errorf("plotting: %v; the data files in %s are complete", err, r.f.out)
	}
	if err := r.writeSummary("complete", ""); err != nil {
		return err
	}
	r.complete = true
	if err := r.checkpoint(); err != nil {
		return err
	}
	return r.e.emit(res)
}

func (r *fitRun) label() string {
	if r.f.label != "" {
		return r.f.label
	}
	return r.f.arch
}

// checkpoint writes DIR/checkpoint.json atomically.
func (r *fitRun) checkpoint() error {
	ck := fitCheckpoint{Format: jsonCheckpointFormat, Kind: fitKind, Arch: r.f.arch, N: r.n, DataSHA256: r.dataSHA,
		ModelSHA256: r.modelSHA, Flags: savedFlags(r.fs), Resumes: r.resumes, Complete: r.complete}
	if r.fitter != nil {
		st := r.fitter.State()
		ck.State = &st
		ck.Params = slices.Clone(r.net.Params())
	}
	return writeRunCheckpoint(r.dir(jsonCheckpointFile), &ck)
}

// writeSummary writes DIR/summary.json.
func (r *fitRun) writeSummary(status, msg string) error {
	f := r.f
	sum := runSummary{kind: fitKind, fs: r.fs, started: r.started, resumes: r.resumes, workers: f.workers}.fields(status)
	sum["label"], sum["arch"], sum["n"] = r.label(), f.arch, r.n
	sum["data"] = map[string]any{"path": absPath(f.data), "sha256": r.dataSHA, "samples": r.rows, "n": r.n,
		"train_rows": len(r.train) / r.n, "val_rows": len(r.val) / r.n, "val": f.val, "split_seed": f.splitSeed}
	if f.arch == plmArch {
		sum["protocol"] = map[string]any{"method": "pseudo-likelihood maximisation, L-BFGS per spin, symmetrised by averaging", "l2": f.l2, "beta": f.beta}
	} else {
		sum["params"] = r.net.ParamCount()
		sum["protocol"] = map[string]any{"epochs": f.epochs, "batch": f.batch, "lr": f.lr, "patience": f.patience,
			"optimizer": "adam (β₁ 0.9, β₂ 0.999, ε 1e-8)", "train_seed": f.trainSeed, "learn_couplings": f.learnCouplings,
			"init_scale": initScaleText(f.initScale), "k": f.k, "depth": f.depth, "width": f.width, "chunk": grad.DefaultChunk}
	}
	if r.truth != nil {
		sum["model"] = modelSource(r.truth, r.mf, r.modelSHA)
	}
	if r.result != nil {
		sum["result"] = r.result
	}
	return writeSummaryFile(f.out, sum, msg)
}

func initScaleText(s float64) any {
	if s == 0 {
		return defaultInitScaleN
	}
	return s
}

// fitRunFiles names a fit run directory to plot.
type fitRunFiles struct{ label, dir string }

// plotFitRuns draws the learning curves of the runs fitted by maximum
// likelihood (prefix+fit_curves) and, for runs with learned couplings and a
// model to compare with, the scatter of |W| against |J|
// (prefix+couplings_vs_learned), one panel per run. It returns the files
// written.
func plotFitRuns(runs []fitRunFiles, prefix string) ([]string, error) {
	var curves []output.FitCurve
	var panels []output.CouplingPanel
	for _, fr := range runs {
		rows, pseudo, err := output.ReadFit(filepath.Join(fr.dir, output.FitFile))
		if err != nil {
			return nil, err
		}
		if !pseudo && len(rows) > 0 {
			curves = append(curves, output.FitCurve{Label: fr.label, Rows: rows})
		}
		p, ok, err := couplingPanel(fr)
		if err != nil {
			return nil, err
		}
		if ok {
			panels = append(panels, p)
		}
	}
	var files []string
	if len(curves) > 0 {
		if err := output.PlotFitCurves(curves, prefix+fitCurvesPlot); err != nil {
			return nil, err
		}
		files = append(files, prefix+fitCurvesPlot+".png", prefix+fitCurvesPlot+".svg")
	}
	if len(panels) > 0 {
		if err := output.PlotCouplings(panels, prefix+couplingsVsPlot); err != nil {
			return nil, err
		}
		files = append(files, prefix+couplingsVsPlot+".png", prefix+couplingsVsPlot+".svg")
	}
	return files, nil
}

// couplingPanel reads a fit run's learned couplings and its comparison
// model (from summary.json) into a scatter panel; ok is false for runs
// without both.
func couplingPanel(fr fitRunFiles) (output.CouplingPanel, bool, error) {
	var p output.CouplingPanel
	learnedPath := filepath.Join(fr.dir, couplingsFile)
	if _, err := os.Stat(learnedPath); err != nil {
		return p, false, nil
	}
	truth, err := fitTruth(fr.dir)
	if err != nil || truth == nil {
		return p, false, err
	}
	learned, err := model.LoadCouplings(learnedPath, "", truth.N)
	if err != nil {
		return p, false, err
	}
	c, err := model.CompareCouplings(learned.J, truth.J, truth.N)
	if err != nil {
		return p, false, err
	}
	p.Label = fr.label
	p.AbsJ, p.AbsW = model.CouplingPairs(learned.J, truth.J, truth.N)
	p.Intercept, p.Slope, p.R = c.InterceptAbs, c.SlopeAbs, c.PearsonAbs
	return p, true, nil
}

// fitTruth rebuilds the comparison model of a fit run from the model flags
// saved in its summary.json (nil if it had none), checking it against the
// saved fingerprint.
func fitTruth(dir string) (*model.Hamiltonian, error) {
	var sum struct {
		Kind  string            `json:"kind"`
		Flags map[string]string `json:"flags"`
		Model *struct {
			SHA256 string `json:"sha256"`
		} `json:"model"`
	}
	if err := output.ReadSummary(dir, &sum); err != nil {
		return nil, err
	}
	if sum.Model == nil {
		return nil, nil
	}
	fs := newFlagSet("fit", "", "", io.Discard)
	mf := addModelFlags(fs, true)
	for _, name := range []string{"model", "n", "J", "field", "seed", "couplings", "fields"} {
		if v, ok := sum.Flags[name]; ok {
			if err := fs.Set(name, v); err != nil {
				return nil, fmt.Errorf("%s: saved -%s %q: %v", dir, name, v, err)
			}
		}
	}
	m, err := mf.build(fs)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot rebuild the model the run was compared with: %v", dir, err)
	}
	if m.Hash() != sum.Model.SHA256 {
		return nil, fmt.Errorf("%s: the model the run was compared with has changed (its couplings file?)", dir)
	}
	return m, nil
}
