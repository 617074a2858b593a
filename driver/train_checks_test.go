package driver

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
)

// TestCheckResumeSteps: the checkpoint's counters must agree with the
// finished rows and the position; each disagreement is named.
func TestCheckResumeSteps(t *testing.T) {
	cfg := grad.DefaultConfig()
	cfg.BetaStart, cfg.BetaEnd, cfg.BetaCount = 1, 3, 3 // β 1, 2, 3
	cfg.InitSteps, cfg.MaxStep, cfg.StdLimit = 10, 4, 0.5
	rows := []output.StatsRow{{Beta: 1, Steps: 10}, {Beta: 2, Steps: 3}}
	at := func(j, done int, opt int64) grad.State {
		return grad.State{BetaIndex: j, StepsDone: done, Opt: grad.OptimizerState{Steps: opt}}
	}
	recent := func(fstd float64) []grad.Stats { return []grad.Stats{{FStd: 9}, {FStd: fstd}} }
	for _, c := range []struct {
		name   string
		st     grad.State
		rows   []output.StatsRow
		params int
		want   string // "" = accepted
	}{
		{"current β", at(2, 2, 15), rows, 5, ""},
		{"optimiser ahead", at(2, 2, 16), rows, 5, "its optimiser has taken 16 steps, but the finished β took 13 and the current one 2"},
		{"optimiser behind", at(2, 2, 14), rows, 5, "taken 14 steps"},
		{"all done", at(3, 0, 13+4), append(rows, output.StatsRow{Beta: 3, Steps: 4}), 5, ""},
		{"all done, current steps not counted", at(3, 7, 17), append(rows, output.StatsRow{Beta: 3, Steps: 4}), 5, ""},
		{"wrong β", at(2, 0, 13), []output.StatsRow{{Beta: 1, Steps: 10}, {Beta: 2.5, Steps: 3}}, 5, "row 2 of stats.csv is at β 2.5, the schedule has β 2 there"},
		{"first β", at(0, 3, 3), nil, 5, ""},
	} {
		err := checkResumeSteps(c.st, c.rows, cfg, c.params)
		if (err == nil) != (c.want == "") || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want %q", c.name, err, c.want)
		}
	}

	// A β marked stopped: after its budget, or early on a batch below
	// -std-limit; a net without parameters stops at once.
	stopped := func(j, done int, early bool, rec []grad.Stats) grad.State {
		st := at(j, done, int64(13*min(j, 1)+done))
		if j == 1 {
			st.Opt.Steps = 10 + int64(done)
		}
		st.Stopped, st.EarlyStop, st.Recent = true, early, rec
		return st
	}
	for _, c := range []struct {
		name   string
		st     grad.State
		params int
		want   string
	}{
		{"budget used", stopped(1, 4, false, nil), 5, ""},
		{"budget not used", stopped(1, 3, false, nil), 5, "it says the β stopped after 3 of its 4 steps without an early stop"},
		{"first β budget", stopped(0, 10, false, nil), 5, ""},
		{"first β short", stopped(0, 9, false, nil), 5, "after 9 of its 10 steps"},
		{"no parameters", stopped(1, 0, false, nil), 0, ""},
		{"early below the limit", stopped(1, 2, true, recent(0.49)), 5, ""},
		{"early at the limit", stopped(1, 2, true, recent(0.5)), 5, "it says the β stopped early, but its last batch is not below -std-limit 0.5"},
		{"early without batches", stopped(1, 2, true, nil), 5, "stopped early"},
		{"early, NaN", stopped(1, 2, true, recent(nan())), 5, "stopped early"},
	} {
		err := checkResumeSteps(c.st, rows[:c.st.BetaIndex], cfg, c.params)
		if (err == nil) != (c.want == "") || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want %q", c.name, err, c.want)
		}
	}
	// Past the schedule, a stopped flag is not checked.
	st := at(3, 0, 17)
	st.Stopped = true
	if err := checkResumeSteps(st, append(rows, output.StatsRow{Beta: 3, Steps: 4}), cfg, 5); err != nil {
		t.Errorf("finished run marked stopped: %v", err)
	}
}

func nan() float64 { z := 0.0; return z / z }

// TestCheckEvaluates: a β must report something: training batches or an
// evaluation batch (a net without parameters always evaluates one).
func TestCheckEvaluates(t *testing.T) {
	m := model.NewHamiltonian(4)
	trained, err := model.NewNet("1p", m, model.ArchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cw, err := model.CurieWeiss(4, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	fixed, err := model.NewNet("cw_n", cw, model.ArchOptions{Beta: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg := grad.DefaultConfig()
	cfg.BetaStart, cfg.BetaEnd, cfg.BetaCount = 1, 2, 2
	for _, c := range []struct {
		eval, init, max, count int
		net                    model.Net
		want                   string
	}{
		{0, 1, 1, 2, trained, ""},
		{1, 0, 0, 2, trained, ""},
		{0, 0, 1, 2, trained, "-init-steps 0 with -eval-samples 0"},
		{0, 1, 0, 2, trained, "-max-step 0 with -eval-samples 0"},
		{0, 1, 0, 1, trained, ""},
		{0, 0, 0, 2, fixed, ""},
	} {
		cfg.EvalSamples, cfg.InitSteps, cfg.MaxStep, cfg.BetaCount = c.eval, c.init, c.max, c.count
		err := checkEvaluates(cfg, c.net)
		if (err == nil) != (c.want == "") || err != nil && (!strings.Contains(err.Error(), c.want) || !isUsage(err)) {
			t.Errorf("%+v: %v; want %q", c, err, c.want)
		}
	}
}

// TestResumeExactNetInterruptedWhileEvaluating: a net without trainable
// parameters (cw_n) is stopped at once at every β and only evaluates a
// batch of -batch samples when -eval-samples is 0; a run interrupted in
// that batch resumes (it was refused as an edited checkpoint, and
// -init-steps 0 was refused for it).
func TestResumeExactNetInterruptedWhileEvaluating(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	args := []string{"train", "-model", "cw", "-n", "8", "-arch", "cw_n", "-eval-samples", "0", "-batch", "64", "-beta-range", "1,2,2", "-quiet", "-out", out}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the first evaluation batch is interrupted
	var so, se bytes.Buffer
	if st := Main(ctx, args, &so, &se); st != exitSignal || !fileExists(filepath.Join(out, checkpointFile)) {
		t.Fatalf("interrupted run: status %d, %q", st, se.String())
	}
	st, stdout, stderr := runCLI("train", "-resume", out, "-quiet")
	if st != exitOK || strings.Count(stdout, "\n") != 2 {
		t.Errorf("resume: status %d, %q %q", st, stdout, stderr)
	}
}

// TestCheckResumeState: a resumed run continues with its own -lr and
// Adam's settings; a checkpoint that says otherwise is refused, naming
// what differs.
func TestCheckResumeState(t *testing.T) {
	net, err := model.NewNet("1p", model.NewHamiltonian(4), model.ArchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := grad.DefaultConfig()
	cfg.LR = 0.01
	tr, err := grad.NewTrainer(net, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	want := tr.State().Opt
	for _, c := range []struct {
		name string
		edit func(o *grad.OptimizerState)
		lr   float64
		msg  string
	}{
		{"same", func(o *grad.OptimizerState) {}, 0.01, ""},
		{"kind", func(o *grad.OptimizerState) { o.Kind = "sgd" }, 0.01, `its optimiser is "sgd", the run uses "adam"`},
		{"lr", func(o *grad.OptimizerState) { o.LR = 0.02 }, 0.01, "its learning rate is 0.02, the run's -lr is 0.01"},
		{"-lr", func(o *grad.OptimizerState) {}, 0.02, "its learning rate is 0.01, the run's -lr is 0.02"},
		{"lr and -lr", func(o *grad.OptimizerState) { o.LR = 0.02 }, 0.02, "its learning rate is 0.02"},
		{"beta1", func(o *grad.OptimizerState) { o.Beta1 = 0.5 }, 0.01, "its optimiser settings (β₁ 0.5, β₂"},
		{"beta2", func(o *grad.OptimizerState) { o.Beta2 = 0.5 }, 0.01, "its optimiser settings"},
		{"eps", func(o *grad.OptimizerState) { o.Eps = 0.5 }, 0.01, "ε 0.5"},
		{"momentum", func(o *grad.OptimizerState) { o.Momentum = 0.5 }, 0.01, "momentum 0.5"},
	} {
		ck := &checkpoint{Checkpoint: &grad.Checkpoint{}}
		ck.State.Opt = want
		c.edit(&ck.State.Opt)
		cfg.LR = c.lr
		err := checkResumeState(ck, tr, cfg)
		if (err == nil) != (c.msg == "") || err != nil && !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %v; want %q", c.name, err, c.msg)
		}
	}
}
