package driver

import (
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/mc"
	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
)

// estimatesOf picks the stats.csv figures (output.Estimates) out of an
// estimate made with both methods.
func estimatesOf(r mc.NetEstimate) *output.Estimates {
	n, c := r.NIS, r.MCMC
	return &output.Estimates{FNIS: n.F, FNISErr: n.FErr, ESS: n.ESS, ParetoK: n.ParetoK, ENIS: n.E, ENISErr: n.EErr,
		ENMCMC: c.E.Mean, ENMCMCErr: c.E.Err, Acceptance: c.Acceptance, TauInt: c.E.Tau}
}

// nisResult and nmcmcResult are the parts of an `h2arnn estimate` line that
// each method fills; a method not asked for leaves its part out.
type nisResult struct {
	FNIS        float64 `json:"f_nis"`
	FNISErr     float64 `json:"f_nis_err"`
	FNISErrJack float64 `json:"f_nis_err_jack"`
	ESS         float64 `json:"ess"`
	ParetoK     float64 `json:"pareto_k"`
	ENIS        float64 `json:"e_nis"`
	ENISErr     float64 `json:"e_nis_err"`
	MAbsNIS     float64 `json:"m_abs_nis"`
	MAbsNISErr  float64 `json:"m_abs_nis_err"`
	NISReliable bool    `json:"nis_reliable"`
}

type nmcmcResult struct {
	ENMCMC        float64 `json:"e_nmcmc"`
	ENMCMCErr     float64 `json:"e_nmcmc_err"`
	MAbsNMCMC     float64 `json:"m_abs_nmcmc"`
	MAbsNMCMCErr  float64 `json:"m_abs_nmcmc_err"`
	Acceptance    float64 `json:"acceptance"`
	TauInt        float64 `json:"tau_int"`
	LocalSweeps   int     `json:"local_sweeps"`
	NMCMCReliable bool    `json:"nmcmc_reliable"`
}

// estimateResult is one JSON line of `h2arnn estimate`: per spin, in units
// of J.
type estimateResult struct {
	Arch        string  `json:"arch"`
	N           int     `json:"n"`
	Beta        float64 `json:"beta"`
	TrainedBeta float64 `json:"trained_beta"`
	Samples     int     `json:"samples"`
	FVar        float64 `json:"f_var"`
	FVarErr     float64 `json:"f_var_err"`
	EVar        float64 `json:"e_var"`
	*nisResult
	*nmcmcResult
	// Overlaps is the file of the reweighted P(q) (-overlaps).
	Overlaps  string   `json:"overlaps,omitempty"`
	FExact    *float64 `json:"f_exact,omitempty"`
	EExact    *float64 `json:"e_exact,omitempty"`
	RelErrVar *float64 `json:"rel_err_var,omitempty"`
	RelErrNIS *float64 `json:"rel_err_nis,omitempty"`
}

// estimateHelp is the description of estimate in its -h.
const estimateHelp = "Loads the net of a 'h2arnn train' run and turns its samples into estimates under the Boltzmann\n" +
	"distribution that are exact in expectation, with error bars (package mc):\n" +
	"  nis    neural importance sampling: weights w = exp(-βH - ln q) give f_nis = -ln(mean w)/(βN)\n" +
	"         with its delta-method and block-jackknife errors, the relative effective sample size\n" +
	"         ess = (Σw)²/(M Σw²) and the reweighted e and |m|;\n" +
	"  nmcmc  neural MCMC: an independence Metropolis-Hastings chain with the net as proposal (the same\n" +
	"         M samples), with -local-sweeps Metropolis sweeps after each proposal: acceptance, e and\n" +
	"         |m| with errors corrected by the integrated autocorrelation time tau_int (in steps).\n" +
	"Prints one JSON line per β: {\"arch\",\"n\",\"beta\",\"trained_beta\",\"samples\",\"f_var\",\"f_var_err\",\n" +
	"\"e_var\", f_nis, f_nis_err, f_nis_err_jack, ess, pareto_k, e_nis, e_nis_err, m_abs_nis, m_abs_nis_err,\n" +
	"nis_reliable, e_nmcmc, e_nmcmc_err, m_abs_nmcmc, m_abs_nmcmc_err, acceptance, tau_int, local_sweeps,\n" +
	"nmcmc_reliable} (per spin, units of J; f_var is the variational f, an upper bound) and, when an\n" +
	"exact reference exists (cw, ising2d without field, N ≤ 26), f_exact, e_exact, rel_err_var and\n" +
	"rel_err_nis = (f - f_exact)/|f_exact|, and with -overlaps the file of the reweighted P(q),\n" +
	"\"overlaps\". Non-finite values are null.\n" +
	"\n" +
	"A run keeps only its final parameters (checkpoint.h2arnn), those trained at the last β (or, if the\n" +
	"run was interrupted, at the β it had reached): \"trained_beta\". The estimates are unbiased at any\n" +
	"β of the run's schedule all the same, since q gives every state a positive probability, but away\n" +
	"from trained_beta q fits P worse and ess falls. Nets with analytic parameters (cw_n, h2arnn) are\n" +
	"exact at every β. *_reliable is false when the effective sample size (ess·M, or M/(2 tau_int) for\n" +
	"the chain) is below 100, the two NIS errors disagree by more than 2×, or pareto_k, the fitted\n" +
	"tail shape of the weights (Vehtari et al. 2024), exceeds min(1 - 1/log10 M, 0.7): a heavy tail of\n" +
	"rare large weights makes ess look better than it is at small M. Do not trust the error bars\n" +
	"then. ln(mean w) is biased low (Jensen), so f_nis is biased high by about f_nis_err²·βN/2:\n" +
	"negligible when ess is large, not when it is small. A mode of P that q never samples cannot show\n" +
	"in any of these diagnostics.\n" +
	"With the same -samples and seed, the last β reproduces 'train -estimate' bit for bit; results do\n" +
	"not depend on -workers."

// runEstimate prints unbiased estimates of the free energy and energy from
// the net of a train run.
func runEstimate(args []string, e *env) error {
	fs := newFlagSet("estimate", "-run DIR [-beta B[,B...]|all] [-samples 20000] [-method both|nis|nmcmc] [-local-sweeps 0] [-overlaps DIR] [-sample-seed S] [-workers 0]", estimateHelp, e.stderr)
	dir := fs.String("run", "", "run `DIR` written by 'h2arnn train' (required)")
	betaList := fs.String("beta", "", "β values of the run's schedule, comma-separated, or all (default: trained_beta, the β of the saved parameters)")
	samples := fs.Int("samples", 20000, "samples M drawn from the net per β (at least 2)")
	method := fs.String("method", "both", "nis|nmcmc|both")
	localSweeps := fs.Int("local-sweeps", 0, "Metropolis sweeps (N flip attempts each) after each proposal of the chain (nmcmc; 0: none)")
	sampleSeed := fs.Uint64("sample-seed", 0, "seed of the sampling streams (default: the run's -train-seed)")
	workers := fs.Int("workers", 0, "sampling goroutines (0 = one per core); results do not depend on it")
	overlaps := fs.String("overlaps", "", "also write the overlap distribution P(q) under the Boltzmann distribution, reweighted from the samples (pairs weighted by w_a·w_b; O(M²) pairs), to `DIR`/nis_overlaps_b<k>.csv, k the β's index in the run's schedule as in its per-β files (q_low,q_high,density; needs nis)")
	bins := fs.Int("overlap-bins", 100, "bins of -overlaps on [-1, 1]")
	maxMemory := addMemoryFlag(fs)
	pf := addProfileFlags(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	if *dir == "" {
		return usagef("no run given; give -run DIR, a directory written by 'h2arnn train'")
	}
	opt := mc.NetOptions{Samples: *samples, Workers: *workers, LocalSweeps: *localSweeps}
	switch *method {
	case "both":
		opt.NIS, opt.MCMC = true, true
	case "nis":
		opt.NIS = true
	case "nmcmc":
		opt.MCMC = true
	default:
		return usagef("-method %q is not known; give -method nis, nmcmc or both", *method)
	}
	switch {
	case *samples < 2:
		return usagef("-samples %d: an error bar needs at least 2 samples", *samples)
	case *localSweeps < 0:
		return usagef("-local-sweeps %d: give 0 or more sweeps", *localSweeps)
	case *localSweeps > 0 && !opt.MCMC:
		return usagef("-local-sweeps applies to the chain; use -method nmcmc or both, or drop it")
	case *overlaps != "" && !opt.NIS:
		return usagef("-overlaps reweights with the importance weights; use -method nis or both, or drop it")
	case *bins < 1:
		return usagef("-overlap-bins %d: give at least 1 bin", *bins)
	case fs.set("overlap-bins") && *overlaps == "":
		return usagef("-overlap-bins applies to the histogram of -overlaps DIR; give -overlaps or drop it")
	}
	if *overlaps != "" {
		if err := output.CheckWritable(*overlaps); err != nil {
			return usagef("-overlaps %s: %v; give a writable directory", *overlaps, err)
		}
		opt.OverlapBins = *bins
	}
	if err := checkWorkers(*workers); err != nil {
		return err
	}
	lim, err := maxMemory.limit()
	if err != nil {
		return err
	}
	// The samples alone, before the run's model is read: -samples 1e12
	// is refused at once.
	if err := lim.check(estimatePlan(*samples, 0, opt.OverlapBins, *workers)); err != nil {
		return err
	}
	run, err := loadRun("-run", *dir)
	if err != nil {
		return err
	}
	if err := lim.check(estimatePlan(*samples, run.m.N, opt.OverlapBins, *workers)); err != nil {
		return err
	}
	idx, err := run.betaIndices(*betaList)
	if err != nil {
		return err
	}
	opt.Seed = run.seed
	if fs.set("sample-seed") {
		opt.Seed = *sampleSeed
	}
	return withProfiles(pf, func() error { return run.estimate(e, idx, opt, *workers, *overlaps) })
}

// estimate prints the line of every schedule index in idx, and writes the
// reweighted P(q) into the directory overlaps if it is not empty.
func (r *savedRun) estimate(e *env, idx []int, opt mc.NetOptions, workers int, overlaps string) error {
	betas := make([]float64, len(idx))
	for k, j := range idx {
		betas[k] = r.sched[j]
	}
	refs, err := exactReference(e.ctx, r.m, betas, workers)
	if isInterrupt(err) {
		return errInterrupted
	}
	if err != nil {
		return err
	}
	for k, j := range idx {
		if e.ctx.Err() != nil {
			return errInterrupted
		}
		opt.Step = grad.StepID(j, grad.EstimateStep)
		est, err := mc.EstimateNet(e.ctx, r.net, betas[k], opt)
		if isInterrupt(err) {
			return errInterrupted
		}
		if err != nil {
			return fmt.Errorf("β %v: %v", betas[k], err)
		}
		var ref *model.Thermo
		if refs != nil {
			ref = &refs[k]
		}
		res := r.result(est, ref, opt.LocalSweeps)
		if overlaps != "" {
			res.Overlaps = filepath.Join(overlaps, output.PerBetaFile("nis_overlaps", ".csv", j, len(r.sched)))
			if err := output.WriteOverlapsCSV(res.Overlaps, est.Overlaps); err != nil {
				return err
			}
		}
		if err := e.emit(res); err != nil {
			return err
		}
	}
	return nil
}

// betaIndices parses -beta: empty for the trained β, "all" for the whole
// schedule, else β values that must be in the schedule.
func (r *savedRun) betaIndices(list string) ([]int, error) {
	switch strings.TrimSpace(list) {
	case "":
		return []int{r.trained}, nil
	case "all":
		idx := make([]int, len(r.sched))
		for j := range idx {
			idx[j] = j
		}
		return idx, nil
	}
	betas, err := parseBetas(list)
	if err != nil {
		return nil, err
	}
	var idx []int
	for _, b := range betas {
		j := -1
		for k, s := range r.sched {
			if s == b {
				j = k
			}
		}
		if j < 0 {
			return nil, usagef("-beta %v is not in the run's schedule (%v); give β values from it, or all", b, r.sched)
		}
		idx = append(idx, j)
	}
	return idx, nil
}

// result assembles the JSON line of one β.
func (r *savedRun) result(est mc.NetEstimate, ref *model.Thermo, sweeps int) estimateResult {
	v := est.Variational
	out := estimateResult{Arch: r.arch, N: r.m.N, Beta: est.Beta, TrainedBeta: r.sched[r.trained], FVar: float64(v.F), EVar: float64(v.E)}
	if n := est.NIS; n != nil {
		out.Samples = n.Samples
		out.nisResult = &nisResult{FNIS: float64(n.F), FNISErr: float64(n.FErr), FNISErrJack: float64(n.FErrJack), ESS: float64(n.ESS), ParetoK: float64(n.ParetoK),
			ENIS: float64(n.E), ENISErr: float64(n.EErr), MAbsNIS: float64(n.MAbs), MAbsNISErr: float64(n.MAbsErr), NISReliable: n.Reliable}
	}
	if c := est.MCMC; c != nil {
		out.Samples = c.Steps + 1
		out.nmcmcResult = &nmcmcResult{ENMCMC: float64(c.E.Mean), ENMCMCErr: float64(c.E.Err), MAbsNMCMC: float64(c.MAbs.Mean), MAbsNMCMCErr: float64(c.MAbs.Err),
			Acceptance: float64(c.Acceptance), TauInt: float64(c.E.Tau), LocalSweeps: sweeps, NMCMCReliable: c.Reliable}
	}
	out.FVarErr = float64(v.FStd / math.Sqrt(float64(out.Samples)))
	if ref != nil {
		fx, ex, rv := float64(ref.F), float64(ref.E), float64(output.RelErr(v.F, ref.F))
		out.FExact, out.EExact, out.RelErrVar = &fx, &ex, &rv
		if est.NIS != nil {
			rn := float64(output.RelErr(est.NIS.F, ref.F))
			out.RelErrNIS = &rn
		}
	}
	return out
}
