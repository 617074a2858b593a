package driver

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/mc"
	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
)

// trainResult is one JSON line of `h2arnn train`, printed when a β is done:
// the run's record of that β (output.StatsRow) with the net it belongs to.
type trainResult struct {
	Arch   string `json:"arch"`
	N      int    `json:"n"`
	Params int    `json:"params"`
	output.StatsRow
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
	force                     bool
	maxMemory                 *memoryFlag
}

// runtimeFlags do not change a run's numbers: they are not saved with the
// configuration and may differ when a run is resumed. (-out is the run
// directory itself; -resume names it.)
var runtimeFlags = map[string]bool{
	"workers": true, "quiet": true, "checkpoint-every": true, "resume": true, "out": true, "force": true, "max-memory": true,
	"cpuprofile": true, "memprofile": true, "trace": true,
}

// forceUsage documents the -force flag of train, mcmc and fit.
const forceUsage = "write into a non-empty -out that holds no h2arnn run, replacing files of the run's names there (a directory holding a run is refused even so: -resume it or remove it)"

// testStop, if set (by tests only), is asked after every step (betaEnd
// false) and after every finished β (betaEnd true) whether to act as if an
// interrupt had arrived there.
var testStop func(j, steps int, betaEnd bool) bool

// newTrainFlagSet declares the flags of train; usage goes to stderr.
// sample and estimate use it too, to read back a run's saved flags.
func newTrainFlagSet(stderr io.Writer) (*flagSet, *modelFlags, *trainFlags, *profFlags) {
	def := grad.DefaultConfig()
	fs := newFlagSet("train", "-model cw|sk|ising2d|file -n N|-L L [model flags] -arch NAME [arch flags] [protocol flags] [-out DIR]\n       h2arnn train -resume DIR",
		"Trains the autoregressive net -arch on the Boltzmann distribution of the model with the paper's\n"+
			"annealing (SPEC §4): β on linspace(start, end, count), -init-steps Adam steps at the first β and up\n"+
			"to -max-step at every later one, stopping early once std(ln q + βH)/(βN) < -std-limit.\n"+
			"After each β it prints one JSON line {\"arch\",\"n\",\"params\",\"beta\",\"f\",\"f_std\",\"e\",\"e_min\",\"s\",\n"+
			"\"m_abs\",\"steps\",\"seconds\"} with the statistics of the -eval-samples evaluation batch (or, with\n"+
			"-eval-samples 0, the mean over the last -stats-batches training batches), plus \"f_exact\" and\n"+
			"\"rel_err\" = (f - f_exact)/|f_exact| when an exact reference exists (cw: any N; ising2d without\n"+
			"field: any L; others: N ≤ 26). With -estimate M it also draws M samples after each β and adds\n"+
			"unbiased estimates with error bars, as 'h2arnn estimate' computes them: \"f_nis\", \"f_nis_err\", \"ess\",\n"+
			"\"pareto_k\", \"e_nis\", \"e_nis_err\" (importance sampling), \"e_nmcmc\", \"e_nmcmc_err\", \"acceptance\",\n"+
			"\"tau_int\" (neural MCMC), also as stats.csv columns, and a third panel in free_energy.png.\n"+
			"\n"+
			"Everything goes into the run directory -out DIR (default runs/<date>-<time>-<arch>-n<N>):\n"+
			"stats.csv (one row per β), summary.json (configuration, versions, model source, final figures),\n"+
			"samples.npy (int8 ±1, [samples, N]) and overlaps.csv (P(q)) per -save-samples, net.h2arnn (the net\n"+
			"after the last finished β, which 'h2arnn sample -run DIR' draws from), checkpoint.h2arnn, and the\n"+
			"plots free_energy.png/.svg and overlaps.png/.svg. Ctrl-C or SIGTERM writes a checkpoint and exits\n"+
			"with status 130; 'h2arnn train -resume DIR' continues the run with its saved flags and gives the\n"+
			"same numbers, bit for bit, as an uninterrupted run; it also finishes a run stopped while its last files\n"+
			"were written (summary.json says \"complete\" only once the plots are written). A new run needs a new or\n"+
			"empty -out (see -force); a run directory is locked while a run or -resume works in it (DIR/.lock names\n"+
			"the holder), and a second one is refused. Progress goes to standard error.\n"+
			"Architectures: "+strings.Join(model.Archs(), ", ")+".", stderr)
	mf := addModelFlags(fs, true)
	tf := &trainFlags{}
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
	fs.StringVar(&tf.out, "out", "", "run `DIR` (created if missing; default runs/<date>-<time>-<arch>-n<N>); it must be new or empty (or see -force) and is locked while the run goes on")
	fs.BoolVar(&tf.force, "force", false, forceUsage)
	fs.IntVar(&tf.overlapBins, "overlap-bins", 100, "bins of the overlap histogram P(q) on [-1, 1] (0: none)")
	fs.IntVar(&tf.checkpointEvery, "checkpoint-every", 100, "also write DIR/"+checkpointFile+" every this many steps (0: only at the end of each β and on interrupt)")
	fs.StringVar(&tf.saveSamples, "save-samples", "last", "evaluation samples and P(q) to keep: last (samples.npy, overlaps.csv of the last β), every (also samples_b<k>.npy, overlaps_b<k>.csv at each β, k its index in the schedule from 0, zero-padded; its β in full precision is row k+1 of stats.csv), overlaps (as last, plus overlaps_b<k>.csv at each β) or none")
	fs.StringVar(&tf.resume, "resume", "", "continue the interrupted run in `DIR` from its checkpoint, with its saved flags (flags given too must agree)")
	fs.BoolVar(&tf.quiet, "quiet", false, "no progress lines on standard error")
	tf.maxMemory = addMemoryFlag(fs)
	return fs, mf, tf, addProfileFlags(fs)
}

func runTrain(args []string, e *env) error {
	fs, mf, tf, pf := newTrainFlagSet(e.stderr)
	if err := fs.parse(args); err != nil {
		return err
	}
	var ck *checkpoint
	if tf.resume != "" {
		c, unlock, err := lockCheckpoint(tf.resume)
		if err != nil {
			return err
		}
		defer unlock()
		ck = c
		if err := applySavedFlags(fs, ck.Flags, tf.resume); err != nil {
			return err
		}
		tf.out = tf.resume
	}
	// Sizes first: building the schedule, the model or the net of absurd
	// flags would take minutes or all the memory before refusing them.
	if err := tf.checkSizes(fs, mf); err != nil {
		return err
	}
	cfg, err := tf.config(fs)
	if err != nil {
		return err
	}
	m, err := mf.build(fs)
	if err != nil {
		return err
	}
	if err := tf.checkMemory(m.N); err != nil { // N of a couplings file is known now
		return err
	}
	net, err := tf.buildNet(m, cfg.Schedule(), ck)
	if err != nil {
		return err
	}
	if err := checkEvaluates(cfg, net); err != nil {
		return err
	}
	if ck == nil {
		// A new run: -out checked (nothing written into a directory that is
		// refused), created and locked.
		unlock, err := prepareRunDir(&tf.out, "train", tf.arch, m.N, false, tf.force)
		if err != nil {
			return err
		}
		defer unlock()
	}
	return withProfiles(pf, func() error {
		r, err := newTrainRun(e, fs, mf, tf, cfg, m, net, ck)
		if err != nil {
			return err
		}
		defer r.close()
		return r.train()
	})
}

// buildNet builds the net -arch on m, or takes it from the checkpoint of a
// resumed run (which must be that net, on that model).
func (tf *trainFlags) buildNet(m *model.Hamiltonian, sched []float64, ck *checkpoint) (model.Net, error) {
	if tf.arch == "" {
		return nil, usagef("no architecture given; give -arch, one of %s", strings.Join(model.Archs(), ", "))
	}
	opts := model.ArchOptions{K: tf.k, Depth: tf.depth, Width: tf.width, Seed: tf.trainSeed, AnalyticInit: tf.analyticInit, Beta: sched[0]}
	net, err := model.NewNet(tf.arch, m, opts)
	if err != nil {
		return nil, asUsage(err)
	}
	if ck == nil {
		return net, nil
	}
	saved, err := ck.Net.Net(m)
	var mm *model.ModelMismatchError
	switch {
	case errors.As(err, &mm):
		return nil, &usageError{msg: fmt.Sprintf("-resume %s: the model differs from the one the run was trained on (%v; a couplings or fields file changed?); restore it or start a new run", tf.resume, mm), err: err}
	case err != nil:
		return nil, &usageError{msg: fmt.Sprintf("-resume %s: %v", tf.resume, err), err: err}
	case saved.Arch() != net.Arch() || len(saved.Params()) != len(net.Params()):
		return nil, usagef("-resume %s: the checkpoint holds %d parameters of %s, the net %s has %d; the checkpoint does not belong to this configuration", tf.resume, len(saved.Params()), saved.Arch(), net.Arch(), len(net.Params()))
	case ck.State.BetaIndex >= len(sched) && runComplete(tf.resume):
		return nil, usagef("-resume %s: the run is already complete (all β done); start a new run with another -out", tf.resume)
	}
	return saved, nil
}

// runComplete reports whether the summary.json of the run in dir says it
// is complete. train writes that status last, after the plots, so that a
// run stopped while its final files were written is resumed to write them.
func runComplete(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, output.SummaryFile))
	if err != nil {
		return false
	}
	var sum struct {
		Status string `json:"status"`
	}
	return json.Unmarshal(b, &sum) == nil && sum.Status == "complete"
}

// lockCheckpoint locks the run directory dir of 'train -resume' for the
// whole run and reads its checkpoint. The checkpoint is read once before
// locking, so that a directory that is no train run is refused without a
// lock file written into it, and again under the lock: the run continues
// from what the lock protects, not from what another process may have
// replaced meanwhile.
func lockCheckpoint(dir string) (*checkpoint, func(), error) {
	if _, err := loadCheckpoint("-resume", dir); err != nil {
		return nil, nil, err
	}
	unlock, err := lockRunDir("-resume", dir, true)
	if err != nil {
		return nil, nil, err
	}
	ck, err := loadCheckpoint("-resume", dir)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	return ck, unlock, nil
}

// checkEvaluates refuses a configuration that would report a β from
// nothing: without an evaluation batch (-eval-samples 0) the statistics of a
// β are the mean of its training batches, so a trainable net needs steps at
// every β (a net without parameters evaluates a batch of -batch samples
// instead).
func checkEvaluates(cfg grad.Config, net model.Net) error {
	// len(Params()), not ParamCount(): the exact nets count their fixed
	// numbers there, but train nothing.
	if cfg.EvalSamples > 0 || len(net.Params()) == 0 {
		return nil
	}
	switch {
	case cfg.InitSteps == 0:
		return usagef("-init-steps 0 with -eval-samples 0: the first β would have neither training batches nor an evaluation batch to report; give -init-steps ≥ 1 or -eval-samples ≥ 2")
	case cfg.MaxStep == 0 && len(cfg.Schedule()) > 1:
		return usagef("-max-step 0 with -eval-samples 0: the β after the first would have neither training batches nor an evaluation batch to report; give -max-step ≥ 1 or -eval-samples ≥ 2")
	}
	return nil
}

// trainRun is one training run with its run directory.
type trainRun struct {
	e     *env
	tf    *trainFlags
	mf    *modelFlags
	fs    *flagSet
	cfg   grad.Config
	sched []float64
	m     *model.Hamiltonian
	net   model.Net
	tr    *grad.Trainer
	refs  []float64 // exact f per β, nil without a reference
	stats *output.StatsWriter
	rows  []output.StatsRow // every finished β, those of earlier sessions included
	// finished counts the β whose files (row, samples, net, checkpoint)
	// are all written: the trainer may be past a β whose files an
	// interrupt cut short.
	finished int
	resumes  int
	started  time.Time
	// lastCk is the position of the last checkpoint written.
	lastCk grad.State
	// ctx is the training's context: the command's, cancelled also by
	// testStop.
	ctx context.Context
}

// newTrainRun computes the exact references, prepares the trainer (at the
// checkpoint's position when resuming) and opens stats.csv.
func newTrainRun(e *env, fs *flagSet, mf *modelFlags, tf *trainFlags, cfg grad.Config, m *model.Hamiltonian, net model.Net, ck *checkpoint) (*trainRun, error) {
	sched := cfg.Schedule()
	th, err := exactReference(e.ctx, m, sched, tf.workers)
	if err != nil {
		if isInterrupt(err) {
			return nil, errInterrupted
		}
		return nil, err
	}
	refs := freeEnergies(th)
	tr, err := grad.NewTrainer(net, cfg)
	if err != nil {
		return nil, asUsage(err)
	}
	r := &trainRun{e: e, tf: tf, mf: mf, fs: fs, cfg: cfg, sched: sched, m: m, net: net, tr: tr, refs: refs, started: time.Now()}
	statsPath := filepath.Join(tf.out, output.StatsFile)
	if ck == nil {
		// The checkpoint comes first: a directory with any file of the
		// run in it holds a checkpoint to resume from, and one that cannot
		// take it fails now.
		if err := r.checkpoint(); err != nil {
			tr.Close()
			return nil, err
		}
		if r.stats, err = output.CreateStats(statsPath, r.layout()); err != nil {
			tr.Close()
			return nil, fmt.Errorf("creating %s: %v", statsPath, err)
		}
		return r, nil
	}
	if err := checkResumeState(ck, tr, cfg); err != nil {
		tr.Close()
		return nil, usagef("-resume %s: %v; the checkpoint was edited or does not belong to this run", tf.resume, err)
	}
	if err := tr.SetState(ck.State); err != nil {
		tr.Close()
		return nil, usagef("-resume %s: %v; the checkpoint does not belong to this configuration", tf.resume, err)
	}
	// stats.csv is checked against the checkpoint before ResumeStats drops
	// the rows after it: a refused resume changes nothing.
	keep := ck.State.BetaIndex
	fresh := keep == 0 && !fileExists(statsPath) // stopped between the first checkpoint and stats.csv
	var rows []output.StatsRow
	if !fresh {
		if rows, err = output.ResumedStats(statsPath, r.layout(), keep); err != nil {
			tr.Close()
			return nil, usagef("-resume %s: %v", tf.resume, err)
		}
	}
	if err := checkResumeSteps(ck.State, rows, cfg, len(net.Params())); err != nil {
		tr.Close()
		return nil, usagef("-resume %s: %v; the checkpoint or %s was edited", tf.resume, err, output.StatsFile)
	}
	if fresh {
		r.stats, err = output.CreateStats(statsPath, r.layout())
	} else {
		r.stats, r.rows, err = output.ResumeStats(statsPath, r.layout(), keep)
	}
	if err != nil {
		tr.Close()
		return nil, fmt.Errorf("-resume %s: %v", tf.resume, err)
	}
	r.finished = keep
	r.resumes = ck.Resumes + 1
	r.lastCk = ck.State
	return r, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// checkResumeState checks the checkpoint's optimiser settings against the
// ones this run's trainer was built with (tr, fresh from cfg): a resumed run
// continues with -lr, and with Adam's β₁, β₂ and ε, not with what a file
// says, and an edited file is refused rather than silently obeyed.
func checkResumeState(ck *checkpoint, tr *grad.Trainer, cfg grad.Config) error {
	got, want := ck.State.Opt, tr.State().Opt
	switch {
	case got.Kind != want.Kind:
		return fmt.Errorf("its optimiser is %q, the run uses %q", got.Kind, want.Kind)
	case got.LR != cfg.LR || got.LR != want.LR:
		return fmt.Errorf("its learning rate is %v, the run's -lr is %v", got.LR, cfg.LR)
	case got.Beta1 != want.Beta1 || got.Beta2 != want.Beta2 || got.Eps != want.Eps || got.Momentum != want.Momentum:
		return fmt.Errorf("its optimiser settings (β₁ %v, β₂ %v, ε %v, momentum %v) are not the run's (%v, %v, %v, %v)",
			got.Beta1, got.Beta2, got.Eps, got.Momentum, want.Beta1, want.Beta2, want.Eps, want.Momentum)
	}
	return nil
}

// checkResumeSteps checks that the checkpoint's counters agree with the
// position and the finished β: the optimiser has taken one step per
// training step, so its count is the steps of the finished β (the steps
// column of their rows) plus the steps done at the current β; those rows
// are the schedule's first β values; and a β whose steps are marked
// stopped has used its budget, or stopped early on a batch below
// -std-limit, if the net has params > 0 trainable parameters (one without
// is stopped at once and only evaluates).
func checkResumeSteps(st grad.State, rows []output.StatsRow, cfg grad.Config, params int) error {
	sched := cfg.Schedule()
	if st.BetaIndex < len(sched) && st.Stopped && params > 0 {
		switch {
		case st.EarlyStop && (len(st.Recent) == 0 || !(st.Recent[len(st.Recent)-1].FStd < cfg.StdLimit)):
			return fmt.Errorf("it says the β stopped early, but its last batch is not below -std-limit %v", cfg.StdLimit)
		case !st.EarlyStop && st.StepsDone < cfg.StepLimit(st.BetaIndex):
			return fmt.Errorf("it says the β stopped after %d of its %d steps without an early stop", st.StepsDone, cfg.StepLimit(st.BetaIndex))
		}
	}
	var steps int64
	for k, row := range rows {
		if row.Beta != sched[k] {
			return fmt.Errorf("row %d of %s is at β %v, the schedule has β %v there", k+1, output.StatsFile, row.Beta, sched[k])
		}
		steps += int64(row.Steps)
	}
	if st.BetaIndex < len(sched) {
		steps += int64(st.StepsDone)
	}
	if st.Opt.Steps != steps {
		return fmt.Errorf("its optimiser has taken %d steps, but the finished β took %d and the current one %d", st.Opt.Steps, steps-int64(st.StepsDone), st.StepsDone)
	}
	return nil
}

func (r *trainRun) close() {
	r.tr.Close()
	r.stats.Close()
}

func (r *trainRun) dir(name string) string { return filepath.Join(r.tf.out, name) }

// layout is the run's stats.csv layout.
func (r *trainRun) layout() output.StatsLayout {
	return output.StatsLayout{Exact: r.refs != nil, Estimate: r.tf.estimate > 0}
}

// estimate adds the unbiased estimates of -estimate to the row of β index
// j, from samples of the streams (train seed, StepID(j, EstimateStep)),
// which 'h2arnn estimate' reproduces.
func (r *trainRun) estimate(row *output.StatsRow, j int) error {
	if r.tf.estimate == 0 {
		return nil
	}
	opt := mc.NetOptions{Samples: r.tf.estimate, Seed: r.tf.trainSeed, Step: grad.StepID(j, grad.EstimateStep), Workers: r.tf.workers, NIS: true, MCMC: true}
	est, err := mc.EstimateNet(r.ctx, r.net, row.Beta, opt)
	if err != nil {
		return fmt.Errorf("estimating at β %v: %w", row.Beta, err)
	}
	row.Estimates = estimatesOf(est)
	return nil
}

// result is the JSON line of a finished β.
func (r *trainRun) result(row output.StatsRow) trainResult {
	return trainResult{Arch: r.tf.arch, N: r.m.N, Params: r.net.ParamCount(), StatsRow: row}
}

func (r *trainRun) train() error {
	prog := newProgress(r.e.stderr, r.tf.quiet, r.sched, r.cfg.StepLimit, r.refs)
	if err := r.writeSummary("running", ""); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(r.e.ctx)
	defer cancel()
	r.ctx = ctx
	r.tr.OnStep = func(j, steps int, st grad.Stats) error {
		prog.step(j, steps, st)
		if testStop != nil && testStop(j, steps, false) {
			cancel()
		}
		if r.tf.checkpointEvery > 0 && steps%r.tf.checkpointEvery == 0 {
			return r.checkpoint()
		}
		return nil
	}
	r.tr.OnBeta = func(gr grad.Result) error {
		if testInterruptAt != nil && testInterruptAt("finish", gr.Index) {
			cancel()
		}
		row, err := r.finishBeta(gr)
		if err != nil {
			return err
		}
		prog.betaDone(gr.Index, row)
		if testStop != nil && testStop(gr.Index, gr.Steps, true) {
			cancel()
		}
		return r.e.emit(r.result(row))
	}
	_, err := r.tr.Train(ctx)
	prog.finish()
	return r.end(err, cancel)
}

// finishBeta writes the files of a finished β. Order matters for resuming:
// the row, the sample files and the net of this β first, then the
// checkpoint that says the β is done. A crash in between repeats the β,
// and ResumeStats drops its row.
func (r *trainRun) finishBeta(gr grad.Result) (output.StatsRow, error) {
	row := output.StatsRow{Beta: gr.Beta, Stats: gr.Stats, Steps: gr.Steps, Seconds: gr.Seconds}
	if r.refs != nil {
		row.SetExact(r.refs[gr.Index])
	}
	if err := r.estimate(&row, gr.Index); err != nil {
		return row, err
	}
	if err := r.stats.Write(row); err != nil {
		return row, fmt.Errorf("writing %s: %v", output.StatsFile, err)
	}
	r.rows = append(r.rows, row)
	if err := r.saveSamples(gr); err != nil {
		return row, err
	}
	if err := output.WriteFileAtomic(r.dir(netFile), func(w io.Writer) error { return model.Save(w, r.net) }); err != nil {
		return row, fmt.Errorf("writing %s: %v", netFile, err)
	}
	if err := r.checkpoint(); err != nil {
		return row, err
	}
	r.finished++
	return row, nil
}

// testInterruptAt, if set (by tests only), is asked before the files of
// β index j are written (stage "finish") and before the final files of the
// run (stage "final", j = len(schedule)) whether to act as if an interrupt
// had arrived there.
var testInterruptAt func(stage string, j int) bool

// end finishes the run after Train returned err: the checkpoint and
// summary of an interrupted or failed run, or the plots and summary of a
// complete one (cancel is the training context's, for testInterruptAt).
func (r *trainRun) end(err error, cancel func()) error {
	switch {
	case isInterrupt(err):
		// Stopped while the files of a finished β were written, the
		// trainer is past that β already: the last checkpoint written
		// stays, and the resumed run repeats what follows it.
		if r.tr.State().BetaIndex == r.finished {
			if err := r.checkpoint(); err != nil {
				return err
			}
		}
		if serr := r.writeSummary("interrupted", ""); serr != nil {
			return serr
		}
		return fmt.Errorf("%w: checkpoint at %s written to %s; continue with 'h2arnn train -resume %s'", errInterrupted, r.position(r.lastCk), r.dir(checkpointFile), r.tf.out)
	case err != nil:
		msg := fmt.Sprintf("training stopped: %v; the last good checkpoint (%s) is kept in %s", err, r.position(r.lastCk), r.dir(checkpointFile))
		if serr := r.writeSummary("failed", msg); serr != nil {
			return fmt.Errorf("%s (and %v)", msg, serr)
		}
		return errors.New(msg)
	}
	if testInterruptAt != nil && testInterruptAt("final", len(r.sched)) {
		cancel()
	}
	if err := r.plot(); err != nil {
		// The figures are the one thing missing: say so in summary.json
		// too, which would otherwise still say "running".
		msg := fmt.Sprintf("plotting: %v; the data files in %s are complete: fix the cause and run 'h2arnn train -resume %s' or 'h2arnn plot %s'", err, r.tf.out, r.tf.out, r.tf.out)
		if serr := r.writeSummary("failed", msg); serr != nil {
			return fmt.Errorf("%s (and %v)", msg, serr)
		}
		return errors.New(msg)
	}
	// The run is complete only once its last files are written: an
	// interrupt that came meanwhile leaves it to -resume, which writes them.
	if r.ctx.Err() != nil {
		if serr := r.writeSummary("interrupted", ""); serr != nil {
			return serr
		}
		return fmt.Errorf("%w while the final files were written; finish them with 'h2arnn train -resume %s'", errInterrupted, r.tf.out)
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

// checkpoint writes DIR/checkpoint.h2arnn atomically from the trainer's
// current position.
func (r *trainRun) checkpoint() error {
	st := r.tr.State()
	if err := writeCheckpoint(r.dir(checkpointFile), r.net, st, runExtra{Flags: savedFlags(r.fs), Resumes: r.resumes}); err != nil {
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
	// P(q) of every β costs one pass over the sample pairs and a small
	// file, samples of every β a file of samples × N bytes each: "overlaps"
	// keeps the first without the second.
	perBeta := mode == "every" || mode == "overlaps"
	var hist []float64
	if r.tf.overlapBins > 0 && (perBeta || last) {
		var err error
		if hist, err = model.OverlapsContext(r.ctx, bt, r.tf.overlapBins, r.tf.workers); err != nil {
			return err
		}
	}
	if perBeta {
		if mode == "every" {
			if err := writeNPY(output.PerBetaFile("samples", ".npy", gr.Index, len(r.sched))); err != nil {
				return err
			}
		}
		if hist != nil {
			if err := output.WriteOverlaps(r.tf.out, gr.Index, len(r.sched), hist); err != nil {
				return err
			}
		}
	}
	if last {
		if err := writeNPY(output.SamplesFile); err != nil {
			return err
		}
		if hist != nil && !perBeta {
			if err := output.WriteOverlapsCSV(r.dir(output.OverlapsFile), hist); err != nil {
				return err
			}
		}
	}
	return nil
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
	v := buildVersion()
	src := map[string]any{"kind": r.m.Kind, "source": r.m.Source, "n": r.m.N, "sha256": r.m.Hash()}
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
		"kernels": v.Kernels, "available_kernels": v.AvailableKernels, "workers": runtime.GOMAXPROCS(0),
		"results": r.rows,
	}
	if tf.workers > 0 {
		sum["workers"] = tf.workers
	}
	if len(r.rows) > 0 {
		sum["final"] = r.rows[len(r.rows)-1]
	}
	if msg != "" {
		sum["error"] = msg
	}
	if err := output.WriteSummary(r.dir(output.SummaryFile), sum); err != nil {
		return fmt.Errorf("writing %s: %v", output.SummaryFile, err)
	}
	return nil
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

// scheduleConfig sets the schedule of cfg from -beta-range.
func (tf *trainFlags) scheduleConfig(cfg grad.Config) (grad.Config, error) {
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
	return cfg, nil
}

// config turns the protocol flags into a grad.Config, validated by
// grad.Config.Validate (its errors name the flag at fault), and checks the
// flags that are the driver's own.
func (tf *trainFlags) config(fs *flagSet) (grad.Config, error) {
	cfg, err := tf.scheduleConfig(grad.DefaultConfig())
	if err != nil {
		return cfg, err
	}
	cfg.InitSteps, cfg.MaxStep, cfg.Batch, cfg.LR = tf.initSteps, tf.maxStep, tf.batch, tf.lr
	cfg.StdLimit, cfg.StatsBatches, cfg.EvalSamples = tf.stdLimit, tf.statsBatches, tf.evalSamples
	cfg.Seed, cfg.Workers = tf.trainSeed, tf.workers
	if err := cfg.Validate(); err != nil {
		return cfg, asUsage(err)
	}
	switch {
	case tf.estimate < 0 || tf.estimate == 1:
		return cfg, usagef("-estimate %d: give 0 (no estimates) or at least 2 samples", tf.estimate)
	case tf.overlapBins < 0:
		return cfg, usagef("-overlap-bins %d: give a number of bins ≥ 1, or 0 for no histogram", tf.overlapBins)
	case tf.checkpointEvery < 0:
		return cfg, usagef("-checkpoint-every %d: give a number of steps ≥ 1, or 0 for checkpoints only at the end of each β", tf.checkpointEvery)
	}
	switch tf.saveSamples {
	case "every", "last", "overlaps", "none":
	default:
		return cfg, usagef("-save-samples %q is not known; give -save-samples last, every, overlaps or none", tf.saveSamples)
	}
	if err := checkWorkers(tf.workers); err != nil {
		return cfg, err
	}
	// Architecture knobs that the chosen net would silently ignore are
	// refused, so that a typo in -arch does not go unnoticed.
	if err := fs.refuseUnused(tf.arch, archKnobs(tf.arch)); err != nil {
		return cfg, err
	}
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
