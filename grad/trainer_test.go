package grad

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn/model"
)

func TestDefaultSchedule(t *testing.T) {
	s := DefaultConfig().Schedule()
	if len(s) != 39 || s[0] != 0.1 || s[38] != 2.0 {
		t.Fatalf("schedule has %d values from %v to %v, want 39 from 0.1 to 2.0", len(s), s[0], s[len(s)-1])
	}
	for i := range s {
		// Every value is the nearest float64 to its decimal 0.1 + 0.05 i.
		want, _ := strconv.ParseFloat(fmt.Sprintf("%.2f", 0.1+0.05*float64(i)), 64)
		if s[i] != want {
			t.Errorf("β %d is %v, want %v", i, s[i], want)
		}
	}
	c := DefaultConfig()
	c.BetaStart, c.BetaEnd, c.BetaCount = 2, 1, 3
	if got := c.Schedule(); !slices.Equal(got, []float64{2, 1.5, 1}) {
		t.Errorf("decreasing schedule %v", got)
	}
	c.BetaCount = 1
	if got := c.Schedule(); !slices.Equal(got, []float64{2}) {
		t.Errorf("one-value schedule %v", got)
	}
}

func TestConfigValidation(t *testing.T) {
	m := chain(4, 1)
	net := newLNet(m, 1, 0.1)
	bad := []struct {
		field string
		set   func(*Config)
	}{
		{"BetaCount", func(c *Config) { c.BetaCount = 0 }},
		{"Betas", func(c *Config) { c.Betas = []float64{0.5, 0} }},
		{"Betas", func(c *Config) { c.Betas = []float64{math.NaN()} }},
		{"BetaStart", func(c *Config) { c.BetaStart = -1 }},
		{"BetaEnd", func(c *Config) { c.BetaEnd = math.Inf(1) }},
		{"Batch", func(c *Config) { c.Batch = 1 }},
		{"LR", func(c *Config) { c.LR = 0 }},
		{"StatsBatches", func(c *Config) { c.StatsBatches = 0 }},
		{"MaxStep", func(c *Config) { c.MaxStep = -1 }},
		{"InitSteps", func(c *Config) { c.InitSteps = 1 << 31 }},
		{"EvalSamples", func(c *Config) { c.EvalSamples = 1 }},
		{"StdLimit", func(c *Config) { c.StdLimit = math.NaN() }},
		{"StdLimit", func(c *Config) { c.StdLimit = math.Inf(1) }},
	}
	for _, b := range bad {
		c := DefaultConfig()
		b.set(&c)
		tr, err := NewTrainer(net, c)
		if err == nil {
			tr.Close()
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != b.field || !strings.Contains(err.Error(), "Config."+b.field) {
			t.Errorf("bad %s: error %v, want a *ConfigError naming it", b.field, err)
		}
	}
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("the default configuration is refused: %v", err)
	}
}

// chainConfig is a small protocol for the chain model at a single β.
func chainConfig(beta float64, steps int) Config {
	c := DefaultConfig()
	c.Betas = []float64{beta}
	c.InitSteps, c.MaxStep = steps, steps
	c.Batch = 200
	c.LR = 0.02
	c.StdLimit = 0
	c.EvalSamples = 4000
	c.Seed = 77
	c.Workers = 2
	return c
}

// TestTrainerConvergesToExact trains the 1l test net on a chain, which it
// can represent exactly, and checks that the variational free energy falls
// from its start to the exact f = -ln Z/(βN) and is never significantly
// below it (F[q] ≥ F is a theorem).
func TestTrainerConvergesToExact(t *testing.T) {
	const n, beta = 8, 1.0
	m := chain(n, 5)
	fExact := -exactLnZ(m, beta) / (beta * n)
	net := newLNet(m, 3, 0.1)
	tr, err := NewTrainer(net, chainConfig(beta, 1500))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var first Stats
	tr.OnStep = func(j, steps int, st Stats) error {
		if steps == 1 {
			first = st
		}
		return nil
	}
	res, err := tr.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Steps != 1500 || res[0].EarlyStop {
		t.Fatalf("results %+v", res)
	}
	r := res[0]
	se := r.Eval.FStd / math.Sqrt(4000)
	t.Logf("f exact %.6f; first batch %.6f; trained: eval %.6f ± %.1e (std %.2e), train mean %.6f", fExact, first.F, r.Eval.F, se, r.Eval.FStd, r.Train.F)
	if r.Stats != r.Eval {
		t.Error("reported stats are not the evaluation batch's")
	}
	if r.Samples == nil || r.Samples.B != 4000 || r.Samples.N != n {
		t.Fatalf("evaluation batch not kept: %+v", r.Samples)
	}
	if r.Eval.F < fExact-4*se {
		t.Errorf("trained f %.6f is below the exact %.6f by more than 4 standard errors", r.Eval.F, fExact)
	}
	if gap0, gap := first.F-fExact, r.Eval.F-fExact; gap > gap0/50 || gap > 1e-3*math.Abs(fExact) {
		t.Errorf("f gap to exact: start %.3g, trained %.3g; want a 50-fold reduction and < 1e-3 relative", gap0, gap)
	}
	// The exact free energy is reached only if the per-sample spread of
	// L = ln q + βH has collapsed too (it is zero for q = P).
	if r.Eval.FStd > 0.05*first.FStd {
		t.Errorf("std of f fell only from %.3g to %.3g", first.FStd, r.Eval.FStd)
	}
}

func TestTrainerEarlyStop(t *testing.T) {
	const n, beta, limit = 8, 1.0, 5e-3
	m := chain(n, 5)
	net := newLNet(m, 3, 0.1)
	cfg := chainConfig(beta, 3000)
	cfg.StdLimit = limit
	cfg.EvalSamples = 0
	tr, err := NewTrainer(net, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var stds []float64
	tr.OnStep = func(j, steps int, st Stats) error {
		stds = append(stds, st.FStd)
		return nil
	}
	res, err := tr.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if !r.EarlyStop || r.Steps >= 3000 || r.Steps != len(stds) {
		t.Fatalf("early stop %v after %d steps (%d callbacks)", r.EarlyStop, r.Steps, len(stds))
	}
	for i, s := range stds[:len(stds)-1] {
		if s < limit {
			t.Fatalf("step %d had std %.3g < %.3g but training went on", i+1, s, limit)
		}
	}
	if last := stds[len(stds)-1]; last >= limit {
		t.Errorf("stopped at std %.3g ≥ %.3g", last, limit)
	}
	if r.Samples != nil || r.Stats != r.Train {
		t.Error("without evaluation the reported stats must be the training mean")
	}
	// The reported training stats average the last StatsBatches batches.
	want := 0.0
	for _, s := range stds[len(stds)-cfg.StatsBatches:] {
		want += s
	}
	want /= float64(cfg.StatsBatches)
	if math.Abs(r.Train.FStd-want) > 1e-12*want {
		t.Errorf("mean std of the last %d batches %.6g, reported %.6g", cfg.StatsBatches, want, r.Train.FStd)
	}
	t.Logf("early stop after %d steps", r.Steps)
}

func TestTrainerCallbackStop(t *testing.T) {
	m := chain(6, 2)
	stop := errors.New("stop here")
	cfg := chainConfig(1, 100)
	cfg.Betas = []float64{0.5, 1}
	tr, err := NewTrainer(newLNet(m, 1, 0.1), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.OnStep = func(j, steps int, st Stats) error {
		if steps == 5 {
			return stop
		}
		return nil
	}
	res, err := tr.Train(context.Background())
	if !errors.Is(err, stop) || len(res) != 0 {
		t.Fatalf("Train returned %v with %d results, want the callback's error and none", err, len(res))
	}
	if s := tr.State(); s.BetaIndex != 0 || s.StepsDone != 5 || len(s.Recent) != 5 || s.Opt.Steps != 5 {
		t.Errorf("state after stop: index %d, steps %d, %d recent, %d optimiser steps", s.BetaIndex, s.StepsDone, len(s.Recent), s.Opt.Steps)
	}

	tr2, _ := NewTrainer(newLNet(m, 1, 0.1), cfg)
	defer tr2.Close()
	calls := 0
	tr2.OnBeta = func(r Result) error { calls++; return stop }
	res, err = tr2.Train(context.Background())
	if !errors.Is(err, stop) || len(res) != 1 || calls != 1 {
		t.Fatalf("OnBeta stop: %v, %d results, %d calls", err, len(res), calls)
	}
	if s := tr2.State(); s.BetaIndex != 1 || s.StepsDone != 0 || s.Beta != 1 {
		t.Errorf("state after β 0 is done: %+v, want the start of β index 1", s)
	}
}

// TestTrainerResumeBitForBit interrupts a three-β run in the middle of the
// second β, restores state and parameters into a fresh network and trainer
// (with another worker count) and checks that the rest of the run is
// bit-for-bit the uninterrupted one.
func TestTrainerResumeBitForBit(t *testing.T) {
	m, _ := model.SherringtonKirkpatrick(9, 1, 0.1, 6)
	cfg := DefaultConfig()
	cfg.Betas = []float64{0.5, 1.0, 1.5}
	cfg.InitSteps, cfg.MaxStep, cfg.Batch = 30, 20, 64
	cfg.StatsBatches, cfg.EvalSamples, cfg.Seed, cfg.Workers = 4, 100, 3, 2
	cfg.LR = 0.01

	ref := newLNet(m, 8, 0.2)
	tr, _ := NewTrainer(ref, cfg)
	full, err := tr.Train(context.Background())
	tr.Close()
	if err != nil {
		t.Fatal(err)
	}

	net := newLNet(m, 8, 0.2)
	tr, _ = NewTrainer(net, cfg)
	var saved State
	var savedParams []float64
	stop := errors.New("checkpoint")
	tr.OnStep = func(j, steps int, st Stats) error {
		if j == 1 && steps == 7 {
			saved, savedParams = tr.State(), slices.Clone(net.Params())
			return stop
		}
		return nil
	}
	first, err := tr.Train(context.Background())
	tr.Close()
	if !errors.Is(err, stop) || len(first) != 1 {
		t.Fatalf("interrupted run: %v, %d results", err, len(first))
	}

	resumed := newLNet(m, 99, 1) // different initialisation, overwritten below
	copy(resumed.Params(), savedParams)
	cfg.Workers = 3
	tr, _ = NewTrainer(resumed, cfg)
	defer tr.Close()
	// The state goes through JSON, as a checkpoint file would take it: every
	// field that matters must be exported and survive the round trip.
	js, err := json.Marshal(saved)
	if err != nil {
		t.Fatal(err)
	}
	var loaded State
	if err := json.Unmarshal(js, &loaded); err != nil {
		t.Fatal(err)
	}
	if err := tr.SetState(loaded); err != nil {
		t.Fatal(err)
	}
	rest, err := tr.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(math64bits(resumed.Params()), math64bits(ref.Params())) {
		t.Error("resumed run ends with different parameters")
	}
	got := append(first, rest...)
	for i := range full {
		a, b := full[i], got[i]
		if a.Stats != b.Stats || a.Train != b.Train || a.Steps != b.Steps || a.Beta != b.Beta {
			t.Errorf("β index %d: uninterrupted %+v / %+v, resumed %+v / %+v", i, a.Stats, a.Train, b.Stats, b.Train)
		}
	}
	// SetState rejects states that do not fit the configuration.
	bad := saved
	bad.Beta = 0.7
	if err := tr.SetState(bad); err == nil {
		t.Error("state with a β not in the schedule accepted")
	}
	bad = saved
	bad.StepsDone = 21
	if err := tr.SetState(bad); err == nil {
		t.Error("state beyond the step limit accepted")
	}
}

func TestTrainerNonFinite(t *testing.T) {
	m := chain(5, 1)
	net := newLNet(m, 1, 0.1)
	cfg := chainConfig(0.8, 10)
	cfg.Betas = []float64{0.3, 0.8}
	cfg.InitSteps = 3
	tr, _ := NewTrainer(net, cfg)
	defer tr.Close()
	tr.OnStep = func(j, steps int, st Stats) error {
		if j == 1 && steps == 2 {
			net.Params()[0] = math.NaN() // corrupts the next step at β 0.8
		}
		return nil
	}
	res, err := tr.Train(context.Background())
	if err == nil || !strings.Contains(err.Error(), "β 0.8") || !strings.Contains(err.Error(), "step 2") {
		t.Fatalf("error %v, want one naming β 0.8 and step 2", err)
	}
	if len(res) != 1 {
		t.Errorf("%d results before the failure, want 1", len(res))
	}
}

// TestTrainerExactNet: a network without parameters is only evaluated, and
// for cw_n every sample has ln q + βH = -ln Z.
func TestTrainerExactNet(t *testing.T) {
	const n = 12
	m, _ := model.CurieWeiss(n, 1, 0)
	net, err := model.NewNet("cw_n", m, model.ArchOptions{Beta: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Betas = []float64{0.5, 1.2}
	cfg.EvalSamples = 0
	cfg.Batch = 300
	tr, err := NewTrainer(net, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.OnBeta = func(r Result) error {
		// The evaluation batch is available to the callback at every β.
		if r.Samples == nil || r.Samples.B != 300 || r.Samples.N != n {
			t.Errorf("β %v: evaluation batch %v", r.Beta, r.Samples)
		}
		return nil
	}
	res, err := tr.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Samples != nil || res[1].Samples == nil {
		t.Fatalf("%d results; only the last should keep its batch", len(res))
	}
	for _, r := range res {
		f := -exactLnZ(m, r.Beta) / (r.Beta * n)
		if r.Steps != 0 {
			t.Errorf("β %v: %d steps for a net without parameters", r.Beta, r.Steps)
		}
		if math.Abs(r.Stats.F-f) > 1e-12*math.Abs(f) || r.Stats.FStd > 1e-12 {
			t.Errorf("β %v: f %.15g ± %.2g, exact %.15g", r.Beta, r.Stats.F, r.Stats.FStd, f)
		}
	}
}

// TestTrainerBudgetEdges: a budget of 0 steps takes none; -std-limit 0
// never stops early, even for a batch without spread; State() inside the
// callback of a β's last step says the β is stopped; SetState accepts the
// first and the past-the-end positions and nothing beyond.
func TestTrainerBudgetEdges(t *testing.T) {
	one, _ := model.CurieWeiss(1, 1, 0) // one spin, no field: L = ln q + βH is the same for every sample
	net, _ := model.NewNet("1p", one, model.ArchOptions{Seed: 1})
	cfg := DefaultConfig()
	cfg.Betas, cfg.InitSteps, cfg.MaxStep, cfg.Batch, cfg.EvalSamples, cfg.StdLimit = []float64{1, 2}, 0, 5, 8, 0, 0
	tr, err := NewTrainer(net, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var stoppedAtLast []bool
	tr.OnStep = func(j, steps int, st Stats) error {
		if st.FStd != 0 {
			t.Errorf("a one-spin batch has f_std %v", st.FStd)
		}
		if steps == cfg.StepLimit(j) {
			stoppedAtLast = append(stoppedAtLast, tr.State().Stopped)
		}
		return nil
	}
	res, err := tr.Train(context.Background())
	if err != nil || len(res) != 2 {
		t.Fatalf("%v, %d results", err, len(res))
	}
	if res[0].Steps != 0 || res[1].Steps != 5 || res[1].EarlyStop {
		t.Errorf("steps %d and %d (early stop %v); want 0 (budget 0) and 5 (f_std 0 does not stop with -std-limit 0)", res[0].Steps, res[1].Steps, res[1].EarlyStop)
	}
	if len(stoppedAtLast) != 1 || !stoppedAtLast[0] {
		t.Errorf("State().Stopped at the last step of a β: %v, want [true]", stoppedAtLast)
	}
	for _, c := range []struct {
		s  State
		ok bool
	}{
		{State{BetaIndex: 0, Beta: 1, Opt: NewAdam(1).State()}, true},
		{State{BetaIndex: 2, Opt: NewAdam(1).State()}, true},
		{State{BetaIndex: 3, Opt: NewAdam(1).State()}, false},
		{State{BetaIndex: -1, Opt: NewAdam(1).State()}, false},
	} {
		if err := tr.SetState(c.s); (err == nil) != c.ok {
			t.Errorf("SetState at index %d: %v, want accepted %v", c.s.BetaIndex, err, c.ok)
		}
	}
}
