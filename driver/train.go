package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/model"
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
}

// trainFlags are the protocol flags of `h2arnn train`, named as in the
// paper's code (beta_range, max_step, batch_size, lr, net_depth, net_width).
type trainFlags struct {
	arch                      string
	k, depth, width           int
	betaRange                 string
	initSteps, maxStep, batch int
	lr, stdLimit              float64
	statsBatches, evalSamples int
	trainSeed                 uint64
	workers                   int
	out                       string
	overlapBins               int
	analyticInit              bool
}

func runTrain(args []string, e *env) error {
	def := grad.DefaultConfig()
	fs := newFlagSet("train", "-model cw|sk|file -n N [model flags] -arch NAME [arch flags] [protocol flags] [-out DIR]",
		"Trains the autoregressive net -arch on the Boltzmann distribution of the model with the paper's\n"+
			"annealing (SPEC §4): β on linspace(start, end, count), -init-steps Adam steps at the first β and up\n"+
			"to -max-step at every later one, stopping early once std(ln q + βH)/(βN) < -std-limit.\n"+
			"After each β it prints one JSON line {\"arch\",\"n\",\"beta\",\"f\",\"f_std\",\"e\",\"e_min\",\"s\",\"m_abs\",\n"+
			"\"steps\",\"params\",\"seconds\"} with the statistics of the -eval-samples evaluation batch (or, with\n"+
			"-eval-samples 0, the mean over the last -stats-batches training batches), plus \"f_exact\" and\n"+
			"\"rel_err\" = (f - f_exact)/|f_exact| when an exact reference exists (cw: any N; others: N ≤ 26).\n"+
			"Architectures: "+strings.Join(model.Archs(), ", ")+".", e.stderr)
	mf := addModelFlags(fs, true)
	var tf trainFlags
	fs.StringVar(&tf.arch, "arch", "", "architecture (required): "+strings.Join(model.Archs(), "|"))
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
	fs.Uint64Var(&tf.trainSeed, "train-seed", 0, "seed of the parameter initialisation and of the training samples")
	fs.IntVar(&tf.workers, "workers", 0, "goroutines (0 = one per core); results do not depend on it")
	fs.StringVar(&tf.out, "out", "", "also write stats.csv, summary.json, and from the last evaluation batch samples.npy and overlaps.csv, into this `DIR`")
	fs.IntVar(&tf.overlapBins, "overlap-bins", 100, "bins of the overlap histogram P(q) on [-1, 1] written to DIR/overlaps.csv from the last evaluation batch (0: none)")
	if err := fs.parse(args); err != nil {
		return err
	}
	cfg, err := tf.config(fs, def)
	if err != nil {
		return err
	}
	if tf.arch == "" {
		return usagef("no architecture given; give -arch, one of %s", strings.Join(model.Archs(), ", "))
	}
	m, err := mf.build(fs)
	if err != nil {
		return err
	}
	sched := cfg.Schedule()
	opts := model.ArchOptions{K: tf.k, Depth: tf.depth, Width: tf.width, Seed: tf.trainSeed, AnalyticInit: tf.analyticInit, Beta: sched[0]}
	net, err := model.NewNet(tf.arch, m, opts)
	if err != nil {
		return usagef("-arch %s: %v", tf.arch, err)
	}
	refs, err := exactFs(m, sched, tf.workers)
	if err != nil {
		return err
	}
	var files *runFiles
	if tf.out != "" {
		if files, err = openRunFiles(tf.out); err != nil {
			return err
		}
		defer files.close()
	}
	tr, err := grad.NewTrainer(net, cfg)
	if err != nil {
		return usagef("%v; check the protocol flags with 'h2arnn train -h'", err)
	}
	defer tr.Close()
	tr.OnStep = func(j, steps int, st grad.Stats) error {
		if interrupted.Load() {
			return errInterrupted
		}
		return nil
	}
	var results []trainResult
	tr.OnBeta = func(r grad.Result) error {
		st := r.Stats
		res := trainResult{Arch: tf.arch, N: m.N, Beta: r.Beta, F: st.F, FStd: st.FStd, E: st.E, EMin: st.EMin,
			S: st.S, MAbs: st.MAbs, Steps: r.Steps, Params: net.ParamCount(), Seconds: r.Seconds}
		if refs != nil {
			ref := refs[r.Index]
			rel := relErr(st.F, ref)
			res.FExact, res.RelErr = &ref, &rel
		}
		results = append(results, res)
		if files != nil {
			if err := files.addRow(res); err != nil {
				return err
			}
		}
		return e.emit(res)
	}
	out, err := tr.Train()
	if errors.Is(err, errInterrupted) {
		return err
	}
	if err != nil {
		return fmt.Errorf("training stopped: %v", err)
	}
	if files != nil {
		if last := out[len(out)-1]; last.Samples != nil {
			p := filepath.Join(tf.out, "samples.npy")
			if err := saveNpyInt8(p, last.Samples.X, last.Samples.B, last.Samples.N); err != nil {
				return fmt.Errorf("writing %s: %v", p, err)
			}
			if tf.overlapBins > 0 {
				if err := writeOverlaps(filepath.Join(tf.out, "overlaps.csv"), model.Overlaps(last.Samples, tf.overlapBins, tf.workers)); err != nil {
					return err
				}
			}
		}
		sum := map[string]any{
			"model": m.Kind, "source": m.Source, "n": m.N, "arch": tf.arch, "params": net.ParamCount(),
			"k": tf.k, "depth": tf.depth, "width": tf.width, "analytic_init": tf.analyticInit,
			"beta_range": tf.betaRange, "init_steps": tf.initSteps, "max_step": tf.maxStep, "batch": tf.batch,
			"lr": tf.lr, "std_limit": tf.stdLimit, "stats_batches": tf.statsBatches, "eval_samples": tf.evalSamples,
			"train_seed": tf.trainSeed, "version": buildVersion(), "results": results,
		}
		if err := writeJSONFile(filepath.Join(tf.out, "summary.json"), sum); err != nil {
			return err
		}
	}
	return nil
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
	case tf.overlapBins < 0:
		return cfg, usagef("-overlap-bins %d: give a number of bins ≥ 1, or 0 for no histogram", tf.overlapBins)
	case tf.k < 0:
		return cfg, usagef("-k %d: give 0 (sk_rs) or more RSB steps", tf.k)
	case tf.depth < 1:
		return cfg, usagef("-depth %d: give at least 1 masked layer", tf.depth)
	case tf.width < 1:
		return cfg, usagef("-width %d: give at least 1 channel per spin", tf.width)
	}
	if err := checkWorkers(tf.workers); err != nil {
		return cfg, err
	}
	// Architecture knobs that the chosen net would silently ignore are
	// refused, so that a typo in -arch does not go unnoticed.
	for _, c := range []struct {
		flag string
		ok   bool
		use  string
	}{
		{"k", tf.arch == "sk_krsb", "-arch sk_krsb"},
		{"depth", tf.arch == "made", "-arch made"},
		{"width", tf.arch == "made", "-arch made"},
		{"analytic-init", tf.arch == "cw_inf", "-arch cw_inf"},
	} {
		if fs.set(c.flag) && !c.ok {
			return cfg, usagef("-%s applies only to %s, not -arch %q; drop it", c.flag, c.use, tf.arch)
		}
	}
	cfg.InitSteps, cfg.MaxStep, cfg.Batch, cfg.LR = tf.initSteps, tf.maxStep, tf.batch, tf.lr
	cfg.StdLimit, cfg.StatsBatches, cfg.EvalSamples = tf.stdLimit, tf.statsBatches, tf.evalSamples
	cfg.Seed, cfg.Workers = tf.trainSeed, tf.workers
	return cfg, nil
}

// exactFs returns the exact free energy per spin at every β of the
// schedule when a reference is cheap (see exactF), else nil. Enumeration
// visits the states once for all β.
func exactFs(m *model.Hamiltonian, betas []float64, workers int) ([]float64, error) {
	out := make([]float64, len(betas))
	switch {
	case m.CW != nil:
		for k, b := range betas {
			out[k] = model.CWExact(m.N, *m.CW, b).F
		}
	case m.N <= maxRefEnumerate:
		th, err := model.Enumerate(m, betas, workers)
		if err != nil {
			return nil, err
		}
		for k, t := range th {
			out[k] = t.F
		}
	default:
		return nil, nil
	}
	return out, nil
}

// runFiles are the files a training run writes into -out DIR.
type runFiles struct {
	stats *os.File
	w     *bufio.Writer
}

func openRunFiles(dir string) (*runFiles, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, usagef("-out %s: cannot create the directory (%v); give a writable path", dir, err)
	}
	f, err := os.Create(filepath.Join(dir, "stats.csv"))
	if err != nil {
		return nil, usagef("-out %s: cannot create stats.csv (%v); give a writable directory", dir, err)
	}
	rf := &runFiles{stats: f, w: bufio.NewWriter(f)}
	rf.w.WriteString("beta,f,f_std,e,e_min,s,m_abs,steps,seconds,f_exact,rel_err\n")
	return rf, rf.w.Flush()
}

// addRow appends one β to stats.csv and flushes it, so that a long run can
// be followed (and survives an interruption) row by row. Numbers are
// written in full precision; f_exact and rel_err are empty without a
// reference.
func (rf *runFiles) addRow(r trainResult) error {
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	row := []string{g(r.Beta), g(r.F), g(r.FStd), g(r.E), g(r.EMin), g(r.S), g(r.MAbs), strconv.Itoa(r.Steps), g(r.Seconds), "", ""}
	if r.FExact != nil {
		row[9], row[10] = g(*r.FExact), g(*r.RelErr)
	}
	rf.w.WriteString(strings.Join(row, ",") + "\n")
	if err := rf.w.Flush(); err != nil {
		return fmt.Errorf("writing stats.csv: %v", err)
	}
	return nil
}

func (rf *runFiles) close() { rf.stats.Close() }

// writeJSONFile writes v as indented JSON through a temporary file renamed
// into place.
func writeJSONFile(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	return os.Rename(tmp, path)
}

// writeOverlaps writes the P(q) density histogram as CSV rows
// q_low,q_high,density over equal bins of [-1, 1].
func writeOverlaps(path string, density []float64) error {
	var b strings.Builder
	b.WriteString("q_low,q_high,density\n")
	w := 2 / float64(len(density))
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for j, d := range density {
		b.WriteString(g(-1+float64(j)*w) + "," + g(-1+float64(j+1)*w) + "," + g(d) + "\n")
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing %s: %v", path, err)
	}
	return os.Rename(tmp, path)
}
