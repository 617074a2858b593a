package driver

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/mc"
	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
)

// trainResult is one JSON line of `h2arnn train`, printed when a β is done.
type trainResult struct {
	Arch    string   `json:"arch"`
	N       int      `json:"n"`
	Beta    float64  `json:"beta"`
	F       float64  `json:"f"`
	FStd    float64  `json:"f_std"`
	E       float64  `json:"e"`
	EMin    float64  `json:"e_min"`
	S       float64  `json:"s"`
	MAbs    float64  `json:"m_abs"`
	Steps   int      `json:"steps"`
	Params  int      `json:"params"`
	Seconds float64  `json:"seconds"`
	FExact  *float64 `json:"f_exact,omitempty"`
	RelErr  *float64 `json:"rel_err,omitempty"`
	// The unbiased estimates of -estimate (nil without).
	*estimateColumns
}

// statsRow converts a result to its stats.csv row.
func (r trainResult) statsRow() output.StatsRow {
	row := output.StatsRow{Beta: r.Beta, F: r.F, FStd: r.FStd, E: r.E, EMin: r.EMin, S: r.S, MAbs: r.MAbs, Steps: r.Steps, Seconds: r.Seconds}
	if r.FExact != nil {
		row.FExact, row.RelErr, row.HasExact = *r.FExact, *r.RelErr, true
	}
	if r.estimateColumns != nil {
		row.Est, row.HasEstimate = r.estimateColumns.row(), true
	}
	return row
}

// trainFlags are the protocol flags of `h2arnn train`, named as in the
// paper's code (beta_range, max_step, batch_size, lr, net_depth, net_width),
// and the run-directory flags.
type trainFlags struct {
	arch                      string
	label                     string
	k, depth, width           int
	betaRange                 string
	initSteps, maxStep, batch int
	lr, stdLimit              float64
	statsBatches, evalSamples int
	estimate                  int
	trainSeed                 uint64
	workers                   int
	out                       string
	overlapBins               int
	analyticInit              bool
	checkpointEvery           int
	saveSamples               string
	resume                    string
	quiet                     bool
}

// runtimeFlags do not change a run's numbers: they are not saved with the
// configuration and may differ when a run is resumed. (-out is the run
// directory itself; -resume names it.)
var runtimeFlags = map[string]bool{
	"workers": true, "quiet": true, "checkpoint-every": true, "resume": true, "out": true,
	"cpuprofile": true, "memprofile": true, "trace": true,
}

// testStop, if set (by tests only), is asked after every step (betaEnd
// false) and after every finished β (betaEnd true) whether to act as if an
// interrupt had arrived there.
var testStop func(j, steps int, betaEnd bool) bool

// newTrainFlagSet defines the flags of `h2arnn train`; usage goes to
// stderr. estimate rebuilds a run's net with the same flags.
func newTrainFlagSet(stderr io.Writer) (fs *flagSet, mf *modelFlags, tf *trainFlags, pf *profFlags) {
	def := grad.DefaultConfig()
	fs = newFlagSet("train", "-model cw|sk|ising2d|file -n N|-L L [model flags] -arch NAME [arch flags] [protocol flags] [-out DIR]\n       h2arnn train -resume DIR",
		"Trains the autoregressive net -arch on the Boltzmann distribution of the model with the paper's\n"+
			"annealing (SPEC §4): β on linspace(start, end, count), -init-steps Adam steps at the first β and up\n"+
			"to -max-step at every later one, stopping early once std(ln q + βH)/(βN) < -std-limit.\n"+
			"After each β it prints one JSON line {\"arch\",\"n\",\"beta\",\"f\",\"f_std\",\"e\",\"e_min\",\"s\",\"m_abs\",\n"+
			"\"steps\",\"params\",\"seconds\"} with the statistics of the -eval-samples evaluation batch (or, with\n"+
			"-eval-samples 0, the mean over the last -stats-batches training batches), plus \"f_exact\" and\n"+
			"\"rel_err\" = (f - f_exact)/|f_exact| when an exact reference exists (cw: any N; ising2d without\n"+
			"field: any L; others: N ≤ 26). With -estimate M it also draws M samples after each β and adds\n"+
			"unbiased estimates with error bars, as 'h2arnn estimate' computes them: \"f_nis\", \"f_nis_err\", \"ess\",\n"+
			"\"pareto_k\", \"e_nis\", \"e_nis_err\" (importance sampling), \"e_nmcmc\", \"e_nmcmc_err\", \"acceptance\",\n"+
			"\"tau_int\" (neural MCMC), also as stats.csv columns, and a third panel in free_energy.png.\n"+
			"\n"+
			"Everything goes into the run directory -out DIR (default runs/<date>-<time>-<arch>-n<N>):\n"+
			"stats.csv (one row per β), summary.json (configuration, versions, model source, final figures),\n"+
			"samples.npy (int8 ±1, [samples, N]) and overlaps.csv (P(q)) per -save-samples, checkpoint.json,\n"+
			"and the plots free_energy.png/.svg and overlaps.png/.svg. Ctrl-C or SIGTERM writes a checkpoint\n"+
			"and exits with status 130; 'h2arnn train -resume DIR' continues the run with its saved flags and\n"+
			"gives the same numbers, bit for bit, as an uninterrupted run. Progress goes to standard error.\n"+
			"Architectures: "+strings.Join(model.Archs(), ", ")+".", stderr)
	mf = addModelFlags(fs, true)
	tf = &trainFlags{}
	fs.StringVar(&tf.arch, "arch", "", "architecture (required): "+strings.Join(model.Archs(), "|"))
	fs.StringVar(&tf.label, "label", "", "name of the run in plot legends (default: the architecture)")
	fs.IntVar(&tf.k, "k", 1, "replica-symmetry-breaking steps of sk_krsb (0 = sk_rs)")
	fs.IntVar(&tf.depth, "depth", 2, "made: number of masked layers (net_depth)")
	fs.IntVar(&tf.width, "width", 1, "made: channels per spin in hidden layers (net_width)")
	fs.BoolVar(&tf.analyticInit, "analytic-init", false, "cw_inf: start from the analytic parameters at the first β instead of small random values")
	fs.StringVar(&tf.betaRange, "beta-range", fmt.Sprintf("%g,%g,%d", def.BetaStart, def.BetaEnd, def.BetaCount), "annealing schedule `start,end,count`: count inverse temperatures from start to end, all > 0")
	fs.IntVar(&tf.initSteps, "init-steps", def.InitSteps, "maximum optimiser steps at the first β")
	fs.IntVar(&tf.maxStep, "max-step", def.MaxStep, "maximum optimiser steps at every later β")
	fs.IntVar(&tf.batch, "batch", def.Batch, "samples per optimiser step (batch_size), at least 2")
	fs.Float64Var(&tf.lr, "lr", def.LR, "Adam learning rate")
	fs.Float64Var(&tf.stdLimit, "std-limit", def.StdLimit, "early stop at a β once the per-spin free-energy std of a batch falls below this (0: never)")
	fs.IntVar(&tf.statsBatches, "stats-batches", def.StatsBatches, "training batches averaged into the statistics of a β")
	fs.IntVar(&tf.evalSamples, "eval-samples", def.EvalSamples, "samples of the evaluation batch drawn after each β (0: report training statistics)")
	fs.IntVar(&tf.estimate, "estimate", 0, "after each β, draw this many samples M and add unbiased estimates (importance sampling and neural MCMC, as 'h2arnn estimate') to the JSON line and stats.csv (0: none)")
	fs.Uint64Var(&tf.trainSeed, "train-seed", 0, "seed of the parameter initialisation and of the training samples")
	fs.IntVar(&tf.workers, "workers", 0, "goroutines (0 = one per core); results do not depend on it")
	fs.StringVar(&tf.out, "out", "", "run `DIR` (created if missing; default runs/<date>-<time>-<arch>-n<N>); it must not hold another run")
	fs.IntVar(&tf.overlapBins, "overlap-bins", 100, "bins of the overlap histogram P(q) on [-1, 1] (0: none)")
	fs.IntVar(&tf.checkpointEvery, "checkpoint-every", 100, "also write DIR/checkpoint.json every this many steps (0: only at the end of each β and on interrupt)")
	fs.StringVar(&tf.saveSamples, "save-samples", "last", "evaluation samples and P(q) to keep: last (samples.npy, overlaps.csv of the last β), every (also samples_beta<β>.npy, overlaps_beta<β>.csv at each β) or none")
	fs.StringVar(&tf.resume, "resume", "", "continue the interrupted run in `DIR` from its checkpoint, with its saved flags (flags given too must agree)")
	fs.BoolVar(&tf.quiet, "quiet", false, "no progress lines on standard error")
	pf = addProfileFlags(fs)
	return fs, mf, tf, pf
}

func runTrain(args []string, e *env) (err error) {
	fs, mf, tf, pf := newTrainFlagSet(e.stderr)
	if err := fs.parse(args); err != nil {
		return err
	}
	var ck *checkpoint
	if tf.resume != "" {
		if ck, err = loadCheckpoint("-resume", tf.resume); err != nil {
			return err
		}
		if err := applySavedFlags(fs, ck.Flags, tf.resume); err != nil {
			return err
		}
		tf.out = tf.resume
	}
	cfg, m, net, err := tf.build(fs, mf)
	if err != nil {
		return err
	}
	sched := cfg.Schedule()
	mhash := modelHash(m)
	if ck != nil {
		if err := ck.restore(net, tf.arch, mhash, "-resume "+tf.resume); err != nil {
			return err
		}
		if ck.State.BetaIndex >= len(sched) {
			return usagef("-resume %s: the run is already complete (all %d β done); start a new run with another -out", tf.resume, len(sched))
		}
	}
	if tf.out == "" {
		tf.out = defaultRunDir(tf.arch, m.N, time.Now())
	}
	if ck == nil {
		if _, err := os.Stat(filepath.Join(tf.out, checkpointFile)); err == nil {
			return usagef("-out %s already holds a run (%s); continue it with -resume %s or give another -out", tf.out, checkpointFile, tf.out)
		}
	}
	if err := output.CheckWritable(tf.out); err != nil {
		return usagef("-out %s: %v; give a writable directory", tf.out, err)
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

	th, err := exactReference(m, sched, tf.workers)
	if err != nil {
		return err
	}
	refs := freeEnergies(th)
	tr, err := grad.NewTrainer(net, cfg)
	if err != nil {
		return usagef("%v; check the protocol flags with 'h2arnn train -h'", err)
	}
	defer tr.Close()
	r := &trainRun{e: e, tf: tf, mf: mf, fs: fs, cfg: cfg, sched: sched, m: m, net: net, tr: tr, refs: refs, modelSHA: mhash, started: time.Now()}
	statsPath := filepath.Join(tf.out, output.StatsFile)
	if ck != nil {
		if err := tr.SetState(ck.State); err != nil {
			return usagef("-resume %s: %v; the checkpoint does not belong to this configuration", tf.resume, err)
		}
		sw, rows, err := output.ResumeStats(statsPath, r.layout(), ck.State.BetaIndex)
		if err != nil {
			return usagef("-resume %s: %v", tf.resume, err)
		}
		r.stats = sw
		for _, row := range rows {
			r.results = append(r.results, r.fromRow(row))
		}
		r.resumes = ck.Resumes + 1
	} else {
		sw, err := output.CreateStats(statsPath, r.layout())
		if err != nil {
			return fmt.Errorf("creating %s: %v", statsPath, err)
		}
		r.stats = sw
	}
	defer r.stats.Close()
	return r.train()
}

// trainRun is one training run with its run directory.
type trainRun struct {
	e        *env
	tf       *trainFlags
	mf       *modelFlags
	fs       *flagSet
	cfg      grad.Config
	sched    []float64
	m        *model.Hamiltonian
	net      model.Net
	tr       *grad.Trainer
	refs     []float64 // exact f per β, nil without a reference
	modelSHA string
	stats    *output.StatsWriter
	results  []trainResult // every finished β, those of earlier sessions included
	resumes  int
	started  time.Time
	// lastCk is the position of the last checkpoint written.
	lastCk grad.State
}

func (r *trainRun) dir(name string) string { return filepath.Join(r.tf.out, name) }

// layout is the run's stats.csv layout.
func (r *trainRun) layout() output.StatsLayout {
	return output.StatsLayout{Exact: r.refs != nil, Estimate: r.tf.estimate > 0}
}

// estimate adds the unbiased estimates of -estimate to the result of β
// index j, from samples of the streams (train seed, StepID(j,
// EstimateStep)), which 'h2arnn estimate' reproduces.
func (r *trainRun) estimate(res *trainResult, j int) error {
	if r.tf.estimate == 0 {
		return nil
	}
	opt := mc.NetOptions{Samples: r.tf.estimate, Seed: r.tf.trainSeed, Step: grad.StepID(j, grad.EstimateStep), Workers: r.tf.workers, NIS: true, MCMC: true}
	est, err := mc.EstimateNet(r.net, res.Beta, opt)
	if err != nil {
		return fmt.Errorf("estimating at β %v: %v", res.Beta, err)
	}
	res.estimateColumns = newEstimateColumns(est)
	return nil
}

// fromRow rebuilds the result of a β finished before a resume from its
// stats.csv row.
func (r *trainRun) fromRow(row output.StatsRow) trainResult {
	res := trainResult{Arch: r.tf.arch, N: r.m.N, Beta: row.Beta, F: row.F, FStd: row.FStd, E: row.E, EMin: row.EMin,
		S: row.S, MAbs: row.MAbs, Steps: row.Steps, Params: r.net.ParamCount(), Seconds: row.Seconds}
	if row.HasExact {
		fx, rel := row.FExact, row.RelErr
		res.FExact, res.RelErr = &fx, &rel
	}
	res.estimateColumns = estimateColumnsOf(row)
	return res
}

func (r *trainRun) train() error {
	e, tf := r.e, r.tf
	prog := newProgress(e.stderr, tf.quiet, r.sched, r.limit, r.refs)
	if err := r.writeSummary("running", ""); err != nil {
		return err
	}
	// A checkpoint before the first step: there is always one to resume
	// from, and a directory that cannot take it fails now.
	if err := r.checkpoint(); err != nil {
		return err
	}
	interrupt := func(j, steps int, betaEnd bool) bool {
		return r.e.ctx.Err() != nil || (testStop != nil && testStop(j, steps, betaEnd))
	}
	r.tr.OnStep = func(j, steps int, st grad.Stats) error {
		prog.step(j, steps, st)
		if interrupt(j, steps, false) {
			if err := r.checkpoint(); err != nil {
				return err
			}
			return errInterrupted
		}
		if tf.checkpointEvery > 0 && steps%tf.checkpointEvery == 0 {
			return r.checkpoint()
		}
		return nil
	}
	r.tr.OnBeta = func(gr grad.Result) error {
		st := gr.Stats
		res := trainResult{Arch: tf.arch, N: r.m.N, Beta: gr.Beta, F: st.F, FStd: st.FStd, E: st.E, EMin: st.EMin,
			S: st.S, MAbs: st.MAbs, Steps: gr.Steps, Params: r.net.ParamCount(), Seconds: gr.Seconds}
		if r.refs != nil {
			ref := r.refs[gr.Index]
			rel := relErr(st.F, ref)
			res.FExact, res.RelErr = &ref, &rel
		}
		if err := r.estimate(&res, gr.Index); err != nil {
			return err
		}
		// Order matters for resuming: the row and the sample files of this
		// β first, then the checkpoint that says the β is done. A crash in
		// between repeats the β, and ResumeStats drops its row.
		if err := r.stats.Write(res.statsRow()); err != nil {
			return fmt.Errorf("writing %s: %v", output.StatsFile, err)
		}
		r.results = append(r.results, res)
		if err := r.saveSamples(gr); err != nil {
			return err
		}
		if err := r.checkpoint(); err != nil {
			return err
		}
		prog.betaDone(gr.Index, res)
		if err := e.emit(res); err != nil {
			return err
		}
		if interrupt(gr.Index, gr.Steps, true) {
			return errInterrupted
		}
		return nil
	}
	_, err := r.tr.Train()
	prog.finish()
	if errors.Is(err, errInterrupted) {
		if serr := r.writeSummary("interrupted", ""); serr != nil {
			return serr
		}
		return fmt.Errorf("%w: checkpoint at %s written to %s; continue with 'h2arnn train -resume %s'", errInterrupted, r.position(r.lastCk), r.dir(checkpointFile), tf.out)
	}
	if err != nil {
		msg := fmt.Sprintf("training stopped: %v; the last good checkpoint (%s) is kept in %s", err, r.position(r.lastCk), r.dir(checkpointFile))
		if serr := r.writeSummary("failed", msg); serr != nil {
			return fmt.Errorf("%s (and %v)", msg, serr)
		}
		return errors.New(msg)
	}
	if err := r.plot(); err != nil {
		return fmt.Errorf("plotting: %v; the data files in %s are complete", err, tf.out)
	}
	return r.writeSummary("complete", "")
}

// position describes a trainer position for messages.
func (r *trainRun) position(s grad.State) string {
	if s.BetaIndex >= len(r.sched) {
		return "all β done"
	}
	return fmt.Sprintf("β %v (index %d), %d steps done", r.sched[s.BetaIndex], s.BetaIndex, s.StepsDone)
}

func (r *trainRun) limit(j int) int {
	if j == 0 {
		return r.cfg.InitSteps
	}
	return r.cfg.MaxStep
}

// checkpoint writes DIR/checkpoint.json atomically from the trainer's
// current position.
func (r *trainRun) checkpoint() error {
	st := r.tr.State()
	ck := checkpoint{Format: checkpointFormat, Arch: r.tf.arch, N: r.m.N, ModelSHA256: r.modelSHA,
		Flags: savedFlags(r.fs), Resumes: r.resumes, State: st, Params: slices.Clone(r.net.Params())}
	if err := writeCheckpoint(r.dir(checkpointFile), &ck); err != nil {
		return err
	}
	r.lastCk = st
	return nil
}

// saveSamples writes the evaluation samples and their overlap histogram of
// a finished β as -save-samples asks.
func (r *trainRun) saveSamples(gr grad.Result) error {
	mode := r.tf.saveSamples
	bt := gr.Samples
	if mode == "none" || bt == nil {
		return nil
	}
	last := gr.Index == len(r.sched)-1
	writeNPY := func(name string) error {
		err := output.WriteFileAtomic(r.dir(name), func(w io.Writer) error { return output.WriteNPYInt8(w, bt.X, bt.B, bt.N) })
		if err != nil {
			return fmt.Errorf("writing %s: %v", name, err)
		}
		return nil
	}
	var hist []float64
	if r.tf.overlapBins > 0 && (mode == "every" || last) {
		hist = model.Overlaps(bt, r.tf.overlapBins, r.tf.workers)
	}
	if mode == "every" {
		if err := writeNPY(samplesFileFor(gr.Beta)); err != nil {
			return err
		}
		if hist != nil {
			if err := output.WriteOverlaps(r.tf.out, gr.Beta, hist); err != nil {
				return err
			}
		}
	}
	if last {
		if err := writeNPY(output.SamplesFile); err != nil {
			return err
		}
		if hist != nil && mode == "last" {
			if err := output.WriteOverlapsCSV(r.dir(output.OverlapsFile), hist); err != nil {
				return err
			}
		}
	}
	return nil
}

// samplesFileFor is the name of the samples file of one β with
// -save-samples every, with β written as in output.OverlapsFileFor.
func samplesFileFor(beta float64) string {
	b := strings.TrimSuffix(strings.TrimPrefix(output.OverlapsFileFor(beta), "overlaps_beta"), ".csv")
	return "samples_beta" + b + ".npy"
}

// plot draws the run's free energy and, if there are overlap histograms,
// P(q) at the last β into the run directory.
func (r *trainRun) plot() error {
	run, err := output.LoadRun(r.tf.out)
	if err != nil {
		return err
	}
	if err := output.PlotFreeEnergy([]output.Run{run}, r.dir("free_energy")); err != nil {
		return err
	}
	if len(run.Overlaps) > 0 {
		return output.PlotOverlaps([]output.Run{run}, r.sched[len(r.sched)-1], r.dir("overlaps"))
	}
	return nil
}

// writeSummary writes DIR/summary.json: configuration, versions, model
// source, the figures of every finished β and the run's status.
func (r *trainRun) writeSummary(status, msg string) error {
	tf, mf := r.tf, r.mf
	label := tf.label
	if label == "" {
		label = tf.arch
	}
	workers := tf.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	v := buildVersion()
	results := make([]map[string]any, len(r.results))
	for i, res := range r.results {
		results[i] = resultJSON(res)
	}
	src := map[string]any{"kind": r.m.Kind, "source": r.m.Source, "n": r.m.N, "sha256": r.modelSHA}
	if mf.couplings != "" {
		src["couplings"] = absPath(mf.couplings)
	}
	if mf.hfile != "" {
		src["fields"] = absPath(mf.hfile)
	}
	sum := map[string]any{
		"label": label, "arch": tf.arch, "n": r.m.N, "params": r.net.ParamCount(),
		"status": status, "started": r.started.UTC().Format(time.RFC3339), "updated": time.Now().UTC().Format(time.RFC3339),
		"resumes": r.resumes,
		"model":   src,
		"flags":   savedFlags(r.fs),
		"config":  allFlags(r.fs),
		"protocol": map[string]any{
			"schedule": r.sched, "init_steps": r.cfg.InitSteps, "max_step": r.cfg.MaxStep, "batch": r.cfg.Batch,
			"lr": r.cfg.LR, "std_limit": r.cfg.StdLimit, "stats_batches": r.cfg.StatsBatches, "eval_samples": r.cfg.EvalSamples,
			"chunk": grad.DefaultChunk, "k": tf.k, "depth": tf.depth, "width": tf.width, "analytic_init": tf.analyticInit,
			"overlap_bins": tf.overlapBins, "save_samples": tf.saveSamples, "checkpoint_every": tf.checkpointEvery,
		},
		"seeds":  map[string]any{"seed": mf.seed, "train_seed": tf.trainSeed},
		"module": v.Module, "module_version": v.Version, "go": v.Go, "os": v.OS, "cpu_arch": v.Arch,
		"kernels": v.Kernels, "available_kernels": v.AvailableKernels, "workers": workers,
		"results": results,
	}
	if len(results) > 0 {
		sum["final"] = results[len(results)-1]
	}
	if msg != "" {
		sum["error"] = msg
	}
	if err := output.WriteSummary(r.dir(output.SummaryFile), sum); err != nil {
		return fmt.Errorf("writing %s: %v", output.SummaryFile, err)
	}
	return nil
}

// resultJSON is a result as a JSON object, with non-finite numbers (e.g.
// the statistics of a β without steps nor evaluation) as null.
func resultJSON(res trainResult) map[string]any {
	fin := func(v float64) any {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil
		}
		return v
	}
	out := map[string]any{"beta": res.Beta, "f": fin(res.F), "f_std": fin(res.FStd), "e": fin(res.E), "e_min": fin(res.EMin),
		"s": fin(res.S), "m_abs": fin(res.MAbs), "steps": res.Steps, "seconds": res.Seconds}
	if res.FExact != nil {
		out["f_exact"], out["rel_err"] = fin(*res.FExact), fin(*res.RelErr)
	}
	if c := res.estimateColumns; c != nil {
		for k, v := range c.row().Values() {
			out[output.EstimateColumns[k]] = fin(v)
		}
	}
	return out
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// defaultRunDir is runs/<date>-<time>-<arch>-n<N> (UTC), with -2, -3, ...
// appended if that directory exists already.
func defaultRunDir(arch string, n int, now time.Time) string {
	base := filepath.Join("runs", fmt.Sprintf("%s-%s-n%d", now.UTC().Format("20060102-150405"), arch, n))
	dir := base
	for k := 2; ; k++ {
		if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
			return dir
		}
		dir = base + "-" + strconv.Itoa(k)
	}
}

// build validates the flags and builds the run's protocol, model and net
// (its parameters freshly initialised from -train-seed).
func (tf *trainFlags) build(fs *flagSet, mf *modelFlags) (grad.Config, *model.Hamiltonian, model.Net, error) {
	cfg, err := tf.config(fs, grad.DefaultConfig())
	if err != nil {
		return cfg, nil, nil, err
	}
	if tf.arch == "" {
		return cfg, nil, nil, usagef("no architecture given; give -arch, one of %s", strings.Join(model.Archs(), ", "))
	}
	m, err := mf.build(fs)
	if err != nil {
		return cfg, nil, nil, err
	}
	opts := model.ArchOptions{K: tf.k, Depth: tf.depth, Width: tf.width, Seed: tf.trainSeed, AnalyticInit: tf.analyticInit, Beta: cfg.Schedule()[0]}
	net, err := model.NewNet(tf.arch, m, opts)
	if err != nil {
		return cfg, nil, nil, usagef("-arch %s: %v", tf.arch, err)
	}
	return cfg, m, net, nil
}

// config validates the protocol flags, naming the flag at fault, and turns
// them into a grad.Config.
func (tf *trainFlags) config(fs *flagSet, def grad.Config) (grad.Config, error) {
	cfg := def
	parts := strings.Split(tf.betaRange, ",")
	if len(parts) != 3 {
		return cfg, usagef("-beta-range %q: give start,end,count, e.g. -beta-range 0.1,2.0,39", tf.betaRange)
	}
	start, err1 := parseBeta(strings.TrimSpace(parts[0]))
	end, err2 := parseBeta(strings.TrimSpace(parts[1]))
	count, err3 := strconv.Atoi(strings.TrimSpace(parts[2]))
	if err1 != nil || err2 != nil || err3 != nil || count < 1 {
		return cfg, usagef("-beta-range %q: give start,end,count with start, end > 0 finite and a whole count ≥ 1, e.g. 0.1,2.0,39", tf.betaRange)
	}
	cfg.BetaStart, cfg.BetaEnd, cfg.BetaCount = start, end, count
	switch {
	case tf.initSteps < 0:
		return cfg, usagef("-init-steps %d: give a number of steps ≥ 0", tf.initSteps)
	case tf.maxStep < 0:
		return cfg, usagef("-max-step %d: give a number of steps ≥ 0", tf.maxStep)
	case tf.batch < 2:
		return cfg, usagef("-batch %d: the baseline needs at least 2 samples per step; give -batch ≥ 2", tf.batch)
	case !(tf.lr > 0) || math.IsInf(tf.lr, 0):
		return cfg, usagef("-lr %v: give a positive finite learning rate such as 1e-3", tf.lr)
	case !(tf.stdLimit >= 0) || math.IsInf(tf.stdLimit, 0):
		return cfg, usagef("-std-limit %v: give a finite number ≥ 0 (0 never stops early)", tf.stdLimit)
	case tf.statsBatches < 1:
		return cfg, usagef("-stats-batches %d: give at least 1", tf.statsBatches)
	case tf.evalSamples < 0 || tf.evalSamples == 1:
		return cfg, usagef("-eval-samples %d: give 0 (no evaluation batch) or at least 2", tf.evalSamples)
	case tf.estimate < 0 || tf.estimate == 1:
		return cfg, usagef("-estimate %d: give 0 (no estimates) or at least 2 samples", tf.estimate)
	case tf.overlapBins < 0:
		return cfg, usagef("-overlap-bins %d: give a number of bins ≥ 1, or 0 for no histogram", tf.overlapBins)
	case tf.k < 0:
		return cfg, usagef("-k %d: give 0 (sk_rs) or more RSB steps", tf.k)
	case tf.depth < 1:
		return cfg, usagef("-depth %d: give at least 1 masked layer", tf.depth)
	case tf.width < 1:
		return cfg, usagef("-width %d: give at least 1 channel per spin", tf.width)
	case tf.checkpointEvery < 0:
		return cfg, usagef("-checkpoint-every %d: give a number of steps ≥ 1, or 0 for checkpoints only at the end of each β", tf.checkpointEvery)
	}
	switch tf.saveSamples {
	case "every", "last", "none":
	default:
		return cfg, usagef("-save-samples %q is not known; give -save-samples last, every or none", tf.saveSamples)
	}
	if err := checkWorkers(tf.workers); err != nil {
		return cfg, err
	}
	// Architecture knobs that the chosen net would silently ignore are
	// refused, so that a typo in -arch does not go unnoticed.
	if err := fs.refuseUnused(tf.arch, []flagUse{
		{"k", tf.arch == "sk_krsb", "-arch sk_krsb"},
		{"depth", tf.arch == "made", "-arch made"},
		{"width", tf.arch == "made", "-arch made"},
		{"analytic-init", tf.arch == "cw_inf", "-arch cw_inf"},
	}); err != nil {
		return cfg, err
	}
	cfg.InitSteps, cfg.MaxStep, cfg.Batch, cfg.LR = tf.initSteps, tf.maxStep, tf.batch, tf.lr
	cfg.StdLimit, cfg.StatsBatches, cfg.EvalSamples = tf.stdLimit, tf.statsBatches, tf.evalSamples
	cfg.Seed, cfg.Workers = tf.trainSeed, tf.workers
	return cfg, nil
}

// allFlags is the full configuration: every flag's value, given or
// default, except the profiling and -resume flags.
func allFlags(fs *flagSet) map[string]string {
	out := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		switch f.Name {
		case "cpuprofile", "memprofile", "trace", "resume":
			return
		}
		out[f.Name] = f.Value.String()
	})
	return out
}
