package driver

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/h2arnn/h2arnn/mc"
	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
)

// mcmcResult is the JSON line of `h2arnn mcmc`. Energies and magnetisations
// are per spin; τ_int is in units of kept samples.
type mcmcResult struct {
	Model      string    `json:"model"`
	N          int       `json:"n"`
	Beta       float64   `json:"beta"`
	Ladder     []float64 `json:"ladder"`
	Chains     int       `json:"chains"`
	Samples    int       `json:"samples"`
	Sweeps     int       `json:"sweeps"`
	BurnIn     int       `json:"burn_in"`
	E          float64   `json:"e"`
	EErr       float64   `json:"e_err"`
	ETau       float64   `json:"e_tau_int"`
	MAbs       float64   `json:"m_abs"`
	MAbsErr    float64   `json:"m_abs_err"`
	MAbsTau    float64   `json:"m_abs_tau_int"`
	QAbs       *float64  `json:"q_abs"`
	QAbsErr    *float64  `json:"q_abs_err"`
	QAbsTau    *float64  `json:"q_abs_tau_int"`
	TauOK      bool      `json:"tau_reliable"`
	RHatE      *float64  `json:"r_hat_e"`
	RHatMAbs   *float64  `json:"r_hat_m_abs"`
	Acceptance []float64 `json:"acceptance"`
	SwapRates  []float64 `json:"swap_rates"`
	// PQAsymmetry is model.OverlapAsymmetry of the samples' P(q).
	PQAsymmetry *float64 `json:"pq_asymmetry"`
	EExact      *float64 `json:"e_exact,omitempty"`
	MAbsExact   *float64 `json:"m_abs_exact,omitempty"`
	Seconds     float64  `json:"seconds"`
}

// mcmcCheckpoint is DIR/checkpoint.json of an mcmc run: the run's flags and
// the exact position of every chain (mc.RunState, samples included).
type mcmcCheckpoint struct {
	Format      int               `json:"format"`
	Kind        string            `json:"kind"` // "mcmc"
	N           int               `json:"n"`
	ModelSHA256 string            `json:"model_sha256"`
	Flags       map[string]string `json:"flags"`
	Resumes     int               `json:"resumes"`
	// Seconds is the wall-clock time of the sessions before this one.
	Seconds float64      `json:"seconds"`
	State   *mc.RunState `json:"state"`
}

const mcmcKind = "mcmc"

// mcmcFlags are the flags of `h2arnn mcmc` beyond the model's.
type mcmcFlags struct {
	beta, temperatures string
	betaMin            float64
	samples, sweeps    int
	burnIn, chains     int
	chainSeed          uint64
	workers            int
	out, resume        string
	checkpointEvery    time.Duration
	overlapBins        int
	quiet, force       bool
	maxMemory          *memoryFlag
}

// testMCMCStop, if set (by tests only), is asked after every periodic
// checkpoint k = 1, 2, … whether to act as if an interrupt had arrived.
var testMCMCStop func(k int) bool

func runMCMC(args []string, e *env) error {
	fs := newFlagSet("mcmc", "-model cw|sk|file -n N [model flags] -beta B [-temperatures R|B1,...,B] [-samples 10000] [-sweeps 200] [-chains 4] [-out DIR]\n       h2arnn mcmc -resume DIR",
		"Samples the Boltzmann distribution exp(-βH)/Z with Markov chain Monte Carlo: single-spin-flip Metropolis\n"+
			"with incrementally kept local fields (a sweep is N flip attempts at random sites), or, with\n"+
			"-temperatures, parallel tempering over a β ladder ending at -beta (one Metropolis sweep per replica,\n"+
			"then exchanges between neighbouring β). -chains independent chains (each its own ensemble with\n"+
			"tempering) run in parallel from random starts, each with its own random streams, so the results are\n"+
			"the same bits for any -workers. Each chain makes -burn-in sweeps, then keeps its configuration at\n"+
			"-beta every -sweeps sweeps; the -samples kept configurations are split evenly over the chains.\n"+
			"\n"+
			"Prints one JSON line: per spin e = <H>/N and m_abs = <|Σx|>/N with standard errors corrected by\n"+
			"their integrated autocorrelation times (e_tau_int, m_abs_tau_int, in kept samples; tau_reliable is\n"+
			"false when a series is too short for its τ), q_abs = <|q|> of the samples that the chains 2k and\n"+
			"2k+1 keep at the same step (the spin-glass overlap, the slow mode of a glassy chain: its τ_int says\n"+
			"how independent successive samples really are; null with one chain), the Gelman-Rubin R̂ of e and\n"+
			"m_abs over the chains (≈ 1 when they agree; null with one chain), the acceptance rate at every β\n"+
			"of the ladder, the exchange rates of neighbouring pairs, pq_asymmetry (total variation between\n"+
			"P(q) of the samples and its mirror q → -q: ≈ 0 for an equilibrated model without fields), and\n"+
			"e_exact, m_abs_exact when an exact reference exists (cw: any N; ising2d: any L; other models:\n"+
			"N ≤ 26).\n"+
			"\n"+
			"Everything goes into the run directory -out DIR (default runs/<date>-<time>-mcmc-n<N>):\n"+
			"samples.npy (int8 ±1, [samples, N], chain after chain, each chain's in the order kept; read it\n"+
			"with numpy.load or give it to 'h2arnn fit -data'), overlaps.csv (P(q)), summary.json and\n"+
			"checkpoint.json, rewritten every -checkpoint-every. Ctrl-C or SIGTERM saves the chains and exits\n"+
			"with status 130; 'h2arnn mcmc -resume DIR' continues and gives the same samples, bit for bit, as\n"+
			"an uninterrupted run. Progress goes to standard error.", e.stderr)
	mf := addModelFlags(fs, true)
	mf.seedUsed = true // the default -chain-seed
	var f mcmcFlags
	fs.StringVar(&f.beta, "beta", "", "inverse temperature β > 0 of the samples (required)")
	fs.StringVar(&f.temperatures, "temperatures", "", "parallel tempering: R, a count (R inverse temperatures spaced geometrically from -beta-min to -beta), or the ladder `B1,B2,...,B` itself (increasing, ending at -beta); empty: plain Metropolis")
	fs.Float64Var(&f.betaMin, "beta-min", 0.5, "smallest β of a ladder given as a count -temperatures R")
	fs.IntVar(&f.samples, "samples", 10000, "configurations to keep, over all chains")
	fs.IntVar(&f.sweeps, "sweeps", 200, "sweeps (N flip attempts each, per replica) between kept configurations of a chain")
	fs.IntVar(&f.burnIn, "burn-in", 2000, "sweeps of every chain before its first interval")
	fs.IntVar(&f.chains, "chains", 4, "independent chains, run in parallel; the samples are split over them")
	fs.Uint64Var(&f.chainSeed, "chain-seed", 0, "seed of the chains' random streams (default: the value of -seed)")
	fs.IntVar(&f.workers, "workers", 0, "goroutines running chains (0 = one per core); results do not depend on it")
	fs.StringVar(&f.out, "out", "", "run `DIR` (created if missing; default runs/<date>-<time>-mcmc-n<N>); it must be new or empty (or see -force) and is locked while the run goes on")
	fs.BoolVar(&f.force, "force", false, forceUsage)
	fs.StringVar(&f.resume, "resume", "", "continue the interrupted run in `DIR` with its saved flags (flags given too must agree)")
	fs.DurationVar(&f.checkpointEvery, "checkpoint-every", time.Minute, "write DIR/checkpoint.json at this wall-clock interval (0: only at the end and on interrupt)")
	fs.IntVar(&f.overlapBins, "overlap-bins", 100, "bins of the overlap histogram P(q) on [-1, 1] (0: none)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress lines on standard error")
	f.maxMemory = addMemoryFlag(fs)
	pf := addProfileFlags(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	var ck *mcmcCheckpoint
	if f.resume != "" {
		var err error
		if ck, err = loadMCMCCheckpoint(f.resume); err != nil {
			return err
		}
		if err := applySavedFlags(fs, ck.Flags, f.resume); err != nil {
			return err
		}
		f.out = f.resume
	}
	// Sizes first: a ladder of 10⁸ replicas took gigabytes, and minutes
	// deaf to Ctrl-C, before the run started.
	if err := f.checkMemory(mf, mf.knownN()); err != nil {
		return err
	}
	cfg, err := f.config(fs, mf)
	if err != nil {
		return err
	}
	m, err := mf.build(fs)
	if err != nil {
		return err
	}
	if err := f.checkMemory(nil, m.N); err != nil {
		return err
	}
	if int64(cfg.Samples)*int64(m.N) > maxSampleBytes {
		return usagef("-samples %d of N = %d spins would take %.3g GB; keep samples·N ≤ %.3g·10⁹", cfg.Samples, m.N, float64(cfg.Samples)*float64(m.N)/1e9, maxSampleBytes/1e9)
	}
	mhash := m.Hash()
	var run *mc.Run
	if ck != nil {
		if ck.ModelSHA256 != mhash {
			return usagef("-resume %s: the model differs from the one the run sampled (a couplings or fields file changed?); restore it or start a new run", f.resume)
		}
		if run, err = mc.RestoreRun(m, ck.State); err != nil {
			return usagef("-resume %s: %v", f.resume, err)
		}
		if run.Done() {
			return usagef("-resume %s: the run is already complete; start a new run with another -out", f.resume)
		}
	} else if run, err = mc.NewRun(m, cfg); err != nil {
		return usagef("%v", err)
	}
	unlock, err := prepareRunDir(&f.out, mcmcKind, "mcmc", m.N, ck != nil, f.force)
	if err != nil {
		return err
	}
	defer unlock()
	r := &mcmcRun{e: e, f: &f, mf: mf, fs: fs, m: m, run: run, modelSHA: mhash, started: time.Now()}
	if ck != nil {
		r.resumes, r.before = ck.Resumes+1, ck.Seconds
	}
	return withProfiles(pf, r.sample)
}

// maxSampleBytes bounds the kept samples of one mcmc run (int8 spins).
const maxSampleBytes = 1 << 32

// config validates the flags and turns them into an mc.RunConfig.
func (f *mcmcFlags) config(fs *flagSet, mf *modelFlags) (mc.RunConfig, error) {
	var cfg mc.RunConfig
	if strings.TrimSpace(f.beta) == "" {
		return cfg, usagef("no inverse temperature given; give -beta B with B > 0")
	}
	if strings.Contains(f.beta, ",") {
		return cfg, usagef("-beta %q: mcmc samples one inverse temperature; give a ladder with -temperatures", f.beta)
	}
	beta, err := parseBeta(f.beta)
	if err != nil {
		return cfg, err
	}
	ladder, err := f.ladder(fs, beta)
	if err != nil {
		return cfg, err
	}
	switch {
	case f.chains < 1:
		return cfg, usagef("-chains %d: give at least 1 chain", f.chains)
	case f.samples < f.chains:
		return cfg, usagef("-samples %d with -chains %d: every chain must keep at least one configuration; give -samples ≥ -chains", f.samples, f.chains)
	case f.sweeps < 1:
		return cfg, usagef("-sweeps %d: give at least 1 sweep between kept configurations", f.sweeps)
	case f.burnIn < 0:
		return cfg, usagef("-burn-in %d: give a number of sweeps ≥ 0", f.burnIn)
	case f.checkpointEvery < 0:
		return cfg, usagef("-checkpoint-every %v: give a duration such as 1m, or 0 for checkpoints only at the end", f.checkpointEvery)
	case f.overlapBins < 0:
		return cfg, usagef("-overlap-bins %d: give a number of bins ≥ 1, or 0 for no histogram", f.overlapBins)
	}
	if err := checkWorkers(f.workers); err != nil {
		return cfg, err
	}
	seed := mf.seed
	if fs.set("chain-seed") {
		seed = f.chainSeed
	}
	return mc.RunConfig{Betas: ladder, Chains: f.chains, Samples: f.samples, Sweeps: f.sweeps, BurnIn: f.burnIn, Seed: seed}, nil
}

// ladder turns -temperatures into the β ladder ending at beta.
func (f *mcmcFlags) ladder(fs *flagSet, beta float64) ([]float64, error) {
	spec := strings.TrimSpace(f.temperatures)
	if fs.set("beta-min") && (spec == "" || strings.Contains(spec, ",")) {
		return nil, usagef("-beta-min applies only to a ladder given as a count, -temperatures R; drop it")
	}
	if spec == "" {
		return []float64{beta}, nil
	}
	if !strings.Contains(spec, ",") {
		r, err := strconv.Atoi(spec)
		if err != nil || r < 1 {
			return nil, usagef("-temperatures %q: give a count R ≥ 2 of inverse temperatures or the ladder B1,B2,...,B itself", spec)
		}
		if r == 1 {
			return []float64{beta}, nil
		}
		if !(f.betaMin > 0) || !(f.betaMin < beta) {
			return nil, usagef("-beta-min %v: the ladder needs 0 < -beta-min < -beta (%v)", f.betaMin, beta)
		}
		return mc.GeometricLadder(f.betaMin, beta, r), nil
	}
	out, err := parseBetas(spec)
	if err != nil {
		return nil, err
	}
	for k := 1; k < len(out); k++ {
		if !(out[k] > out[k-1]) {
			return nil, usagef("-temperatures %q: the ladder must increase strictly (%v after %v)", spec, out[k], out[k-1])
		}
	}
	if out[len(out)-1] != beta {
		return nil, usagef("-temperatures %q: the ladder must end at -beta %v, the temperature of the samples", spec, beta)
	}
	return out, nil
}

// loadMCMCCheckpoint reads DIR/checkpoint.json of an mcmc run.
func loadMCMCCheckpoint(dir string) (*mcmcCheckpoint, error) {
	var ck mcmcCheckpoint
	if err := readRunCheckpoint(dir, "mcmc", &ck); err != nil {
		return nil, err
	}
	if ck.Kind != mcmcKind {
		return nil, usagef("-resume %s: %s is not an mcmc run's (resume a training run with 'h2arnn train -resume')", dir, jsonCheckpointFile)
	}
	if ck.Format != jsonCheckpointFormat {
		return nil, usagef("-resume %s: %s has format %d, this version reads format %d", dir, jsonCheckpointFile, ck.Format, jsonCheckpointFormat)
	}
	if ck.Flags == nil || ck.State == nil {
		return nil, usagef("-resume %s: %s lacks the run's configuration", dir, jsonCheckpointFile)
	}
	return &ck, nil
}

// mcmcRun is one sampling run with its run directory.
type mcmcRun struct {
	e        *env
	f        *mcmcFlags
	mf       *modelFlags
	fs       *flagSet
	m        *model.Hamiltonian
	run      *mc.Run
	modelSHA string
	resumes  int
	before   float64 // seconds of earlier sessions
	started  time.Time
	result   *mcmcResult
}

func (r *mcmcRun) dir(name string) string { return filepath.Join(r.f.out, name) }

func (r *mcmcRun) seconds() float64 { return r.before + time.Since(r.started).Seconds() }

// sample advances the chains to the end, with periodic checkpoints and
// progress, then writes the samples, P(q), the summary and the result line.
func (r *mcmcRun) sample() error {
	if err := r.writeSummary("running", ""); err != nil {
		return err
	}
	if err := r.checkpoint(); err != nil {
		return err
	}
	stopProgress := r.showProgress()
	periodic := 0
	for {
		ctx, cancel := r.e.ctx, context.CancelFunc(func() {})
		if r.f.checkpointEvery > 0 {
			ctx, cancel = context.WithTimeout(r.e.ctx, r.f.checkpointEvery)
		}
		err := r.run.Advance(ctx, r.f.workers)
		cancel()
		if err == nil {
			break
		}
		interrupted := r.e.ctx.Err() != nil
		if !interrupted {
			periodic++
			interrupted = testMCMCStop != nil && testMCMCStop(periodic)
		}
		if err := r.checkpoint(); err != nil {
			stopProgress()
			return err
		}
		if interrupted {
			stopProgress()
			if serr := r.writeSummary("interrupted", ""); serr != nil {
				return serr
			}
			return fmt.Errorf("%w: chains saved to %s; continue with 'h2arnn mcmc -resume %s'", errInterrupted, r.dir(jsonCheckpointFile), r.f.out)
		}
	}
	stopProgress()
	return r.finish()
}

// showProgress prints the run's position on standard error until the
// returned function is called.
func (r *mcmcRun) showProgress() (stop func()) {
	p := newProgress(r.e.stderr, r.f.quiet, nil, nil, nil)
	if p.off {
		return func() {}
	}
	every := plainEvery
	if p.tty {
		every = liveEvery
	}
	start := r.run.Progress().Sweeps
	begin := time.Now()
	line := func() string {
		pr := r.run.Progress()
		s := fmt.Sprintf("mcmc: %d of %d sweeps (%.1f%%)", pr.Sweeps, pr.TotalSweeps, 100*float64(pr.Sweeps)/float64(pr.TotalSweeps))
		if el := time.Since(begin).Seconds(); el > 0 && pr.Sweeps > start {
			rate := float64(pr.Sweeps-start) / el
			eta := time.Duration(float64(pr.TotalSweeps-pr.Sweeps) / rate * float64(time.Second)).Round(time.Second)
			s += fmt.Sprintf("  %.3g sweeps/s  ETA %s", rate, eta)
		}
		return s
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				p.print(line(), true)
				return
			case <-t.C:
				p.print(line(), false)
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// checkpoint writes DIR/checkpoint.json atomically from the run's position.
func (r *mcmcRun) checkpoint() error {
	st, err := r.run.State()
	if err != nil {
		return err
	}
	ck := mcmcCheckpoint{Format: jsonCheckpointFormat, Kind: mcmcKind, N: r.m.N, ModelSHA256: r.modelSHA,
		Flags: savedFlags(r.fs), Resumes: r.resumes, Seconds: r.seconds(), State: st}
	return writeRunCheckpoint(r.dir(jsonCheckpointFile), &ck)
}

// finish writes the files of a complete run and prints its result.
func (r *mcmcRun) finish() error {
	x, rows := r.run.Samples()
	n := r.m.N
	if err := output.WriteFileAtomic(r.dir(output.SamplesFile), func(w io.Writer) error {
		return output.WriteNPYInt8(w, x, rows, n)
	}); err != nil {
		return fmt.Errorf("writing %s: %v", output.SamplesFile, err)
	}
	cfg := r.run.Config()
	beta := cfg.Betas[len(cfg.Betas)-1]
	s := r.run.Summary()
	res := &mcmcResult{Model: r.m.Source, N: n, Beta: beta, Ladder: cfg.Betas, Chains: cfg.Chains, Samples: rows,
		Sweeps: cfg.Sweeps, BurnIn: cfg.BurnIn, E: s.E.Mean, EErr: s.E.Err, ETau: s.E.Tau,
		MAbs: s.MAbs.Mean, MAbsErr: s.MAbs.Err, MAbsTau: s.MAbs.Tau, TauOK: s.E.Reliable && s.MAbs.Reliable && (cfg.Chains < 2 || s.QAbs.Reliable),
		QAbs: finiteOrNil(s.QAbs.Mean), QAbsErr: finiteOrNil(s.QAbs.Err), QAbsTau: finiteOrNil(s.QAbs.Tau),
		RHatE: finiteOrNil(s.RHatE), RHatMAbs: finiteOrNil(s.RHatMAbs), Acceptance: s.Acceptance, SwapRates: s.SwapRate}
	if res.SwapRates == nil {
		res.SwapRates = []float64{}
	}
	if r.f.overlapBins > 0 {
		counts := model.OverlapCounts(&model.Batch{N: n, B: rows, X: x}, r.f.workers)
		if err := output.WriteOverlapsCSV(r.dir(output.OverlapsFile), model.OverlapDensity(counts, r.f.overlapBins)); err != nil {
			return err
		}
		res.PQAsymmetry = finiteOrNil(model.OverlapAsymmetry(counts))
	}
	th, err := exactReference(r.e.ctx, r.m, []float64{beta}, r.f.workers)
	if err != nil {
		return err
	}
	if th != nil {
		res.EExact, res.MAbsExact = finiteOrNil(th[0].E), finiteOrNil(th[0].MAbs)
	}
	// The final checkpoint says the run is complete (a -resume refuses it).
	if err := r.checkpoint(); err != nil {
		return err
	}
	res.Seconds = r.seconds()
	r.result = res
	if err := r.writeSummary("complete", ""); err != nil {
		return err
	}
	return r.e.emit(res)
}

// finiteOrNil returns &v for a finite v and nil (JSON null) otherwise.
func finiteOrNil(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// writeSummary writes DIR/summary.json: configuration, versions, model
// source, the result and per-chain figures once complete, and the status.
func (r *mcmcRun) writeSummary(status, msg string) error {
	cfg := r.run.Config()
	sum := runSummary{kind: mcmcKind, fs: r.fs, started: r.started, resumes: r.resumes, workers: r.f.workers}.fields(status)
	sum["n"], sum["model"], sum["seconds"] = r.m.N, modelSource(r.m, r.mf, r.modelSHA), r.seconds()
	sum["protocol"] = map[string]any{"ladder": cfg.Betas, "chains": cfg.Chains, "samples": cfg.Samples, "sweeps": cfg.Sweeps,
		"burn_in": cfg.BurnIn, "chain_seed": cfg.Seed, "samples_per_chain": samplesPerChain(cfg),
		"samples_order": "chain after chain, each chain's in the order kept"}
	if r.result != nil {
		s := r.run.Summary()
		sum["result"] = r.result
		sum["chains"] = map[string]any{"e": s.ChainE, "m_abs": s.ChainMAbs}
	}
	return writeSummaryFile(r.f.out, sum, msg)
}

func samplesPerChain(cfg mc.RunConfig) []int {
	out := make([]int, cfg.Chains)
	for c := range out {
		out[c] = cfg.SamplesOf(c)
	}
	return out
}
