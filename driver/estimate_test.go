package driver

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
)

// TestEstimateCommand: estimate on a train run reproduces the run's own
// -estimate figures of the last β bit for bit, gives one line per β of
// -beta all (trained_beta the last one), does not depend on -workers, leaves
// out the fields of a method not asked for, and refuses bad flags with one
// line and status 2.
// TestEstimateOverlapsCloseBetas: -overlaps with -beta all names its files
// by β index, so β closer than the 6 digits of a printed β do not
// overwrite each other (they did when files were named by β).
func TestEstimateOverlapsCloseBetas(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if st, _, errs := runCLI(tinyTrain(dir, "-beta-range", "1,1.000001,2", "-save-samples", "last")...); st != 0 {
		t.Fatalf("train: status %d %q", st, errs)
	}
	pq := filepath.Join(t.TempDir(), "pq")
	st, out, errs := runCLI("estimate", "-run", dir, "-samples", "64", "-beta", "all", "-method", "nis", "-overlaps", pq, "-overlap-bins", "4")
	if st != 0 {
		t.Fatalf("estimate: status %d %q", st, errs)
	}
	l := jsonLines(t, out)
	if len(l) != 2 {
		t.Fatalf("%d lines, want 2", len(l))
	}
	for k, want := range []string{"nis_overlaps_b0.csv", "nis_overlaps_b1.csv"} {
		if l[k]["overlaps"] != filepath.Join(pq, want) {
			t.Errorf("β index %d: overlaps %v, want %s", k, l[k]["overlaps"], want)
		}
		if _, err := output.ReadOverlapsCSV(filepath.Join(pq, want)); err != nil {
			t.Error(err)
		}
	}
}

func TestEstimateCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if st, _, errs := runCLI(tinyTrain(dir)...); st != 0 {
		t.Fatalf("train: status %d %q", st, errs)
	}
	rows, _, err := output.ReadStats(filepath.Join(dir, output.StatsFile))
	if err != nil {
		t.Fatal(err)
	}
	st, out, errs := runCLI("estimate", "-run", dir, "-samples", "64")
	if st != 0 || errs != "" {
		t.Fatalf("estimate: status %d %q", st, errs)
	}
	l := jsonLines(t, out)
	if len(l) != 1 {
		t.Fatalf("%d lines, want 1 (the trained β)", len(l))
	}
	e := rows[2].Estimates
	for k, v := range e.Values() {
		if got := num(t, l[0], output.EstimateColumns[k]); got != v {
			t.Errorf("%s = %v, train -estimate wrote %v", output.EstimateColumns[k], got, v)
		}
	}
	if num(t, l[0], "beta") != 1.5 || num(t, l[0], "trained_beta") != 1.5 || num(t, l[0], "samples") != 64 ||
		num(t, l[0], "f_exact") != rows[2].FExact || l[0]["nis_reliable"] != false || l[0]["local_sweeps"] != 0.0 {
		t.Errorf("line %v", l[0])
	}
	// f_var is the variational f of the same 64 samples: within a few of
	// its standard errors of the evaluation batch's.
	if d := math.Abs(num(t, l[0], "f_var") - rows[2].F); d > 5*num(t, l[0], "f_var_err") {
		t.Errorf("f_var %v ± %v, evaluation f %v", num(t, l[0], "f_var"), num(t, l[0], "f_var_err"), rows[2].F)
	}
	if rel := num(t, l[0], "rel_err_nis"); rel != output.RelErr(e.FNIS, rows[2].FExact) {
		t.Errorf("rel_err_nis %v", rel)
	}

	st, out1, _ := runCLI("estimate", "-run", dir, "-samples", "300", "-beta", "all", "-workers", "1", "-local-sweeps", "1")
	st2, out3, _ := runCLI("estimate", "-run", dir, "-samples", "300", "-beta", "all", "-workers", "3", "-local-sweeps", "1")
	if st != 0 || st2 != 0 || out1 != out3 {
		t.Errorf("-workers 1 and 3 differ:\n%s\n%s", out1, out3)
	}
	all := jsonLines(t, out1)
	if len(all) != 3 || num(t, all[0], "beta") != 0.5 || num(t, all[2], "beta") != 1.5 || num(t, all[0], "trained_beta") != 1.5 || num(t, all[1], "local_sweeps") != 1 {
		t.Errorf("-beta all: %v", all)
	}
	_, out, _ = runCLI("estimate", "-run", dir, "-samples", "300", "-beta", "1,0.5", "-method", "nis")
	nis := jsonLines(t, out)
	if len(nis) != 2 || num(t, nis[0], "beta") != 1 || nis[0]["e_nmcmc"] != nil || nis[0]["acceptance"] != nil || num(t, nis[1], "f_nis") != num(t, all[0], "f_nis") {
		t.Errorf("-method nis: %v", nis)
	}
	// The reweighted P(q): a normalised density on the asked bins.
	pq := filepath.Join(t.TempDir(), "pq")
	st, out, errs = runCLI("estimate", "-run", dir, "-samples", "300", "-overlaps", pq, "-overlap-bins", "10")
	if st != 0 {
		t.Fatalf("-overlaps: %q", errs)
	}
	l = jsonLines(t, out)
	if l[0]["overlaps"] != filepath.Join(pq, "nis_overlaps_b2.csv") { // β = 1.5 is index 2 of the schedule
		t.Errorf("overlaps field %v", l[0]["overlaps"])
	}
	h, err := output.ReadOverlapsCSV(filepath.Join(pq, "nis_overlaps_b2.csv"))
	sum := 0.0
	for _, v := range h {
		sum += v * 2 / 10
	}
	if err != nil || len(h) != 10 || math.Abs(sum-1) > 1e-12 {
		t.Errorf("reweighted P(q): %v %v, Σ density·width = %v", err, h, sum)
	}
	_, out, _ = runCLI("estimate", "-run", dir, "-samples", "300", "-beta", "1", "-method", "nmcmc")
	ch := jsonLines(t, out)
	if len(ch) != 1 || ch[0]["f_nis"] != nil || ch[0]["rel_err_nis"] != nil || num(t, ch[0], "acceptance") <= 0 || num(t, ch[0], "samples") != 300 {
		t.Errorf("-method nmcmc: %v", ch)
	}

	// Interrupted (the context cancelled): status 130, nothing printed.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var so, se bytes.Buffer
	if st := Main(ctx, []string{"estimate", "-run", dir, "-samples", "50"}, &so, &se); st != exitSignal || so.Len() != 0 || !strings.Contains(se.String(), "interrupted") {
		t.Errorf("cancelled: status %d, stdout %q, stderr %q", st, so.String(), se.String())
	}

	for _, bad := range [][]string{
		{"-samples", "100"},
		{"-run", dir, "-beta", "0.7"},
		{"-run", dir, "-beta", "x"},
		{"-run", dir, "-samples", "1"},
		{"-run", dir, "-method", "is"},
		{"-run", dir, "-local-sweeps", "-1"},
		{"-run", dir, "-local-sweeps", "2", "-method", "nis"},
		{"-run", dir, "-overlaps", t.TempDir(), "-method", "nmcmc"},
		{"-run", dir, "-overlaps", t.TempDir(), "-overlap-bins", "0"},
		{"-run", dir, "-workers", "-2"},
		{"-run", filepath.Join(dir, "nothing")},
		{"-run", dir, "extra"},
	} {
		st, out, errs := runCLI(append([]string{"estimate"}, bad...)...)
		if st != exitUsage || out != "" || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: status %d, stdout %q, stderr %q", bad, st, out, errs)
		}
		checkNoCrash(t, errs)
	}
}

// TestEstimateExactNets: a cw_n run (analytic parameters at every β) gives
// ESS/M = 1, f_nis = f_exact to 1e-12 and a chain accepting every proposal
// at every β of its schedule; a 2D Ising run is compared with Kaufman's
// formula.
func TestEstimateExactNets(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cwn")
	if st, _, errs := runCLI("train", "-model", "cw", "-n", "30", "-arch", "cw_n", "-beta-range", "0.5,1.5,3", "-eval-samples", "50", "-quiet", "-out", dir); st != 0 {
		t.Fatalf("train: %q", errs)
	}
	st, out, errs := runCLI("estimate", "-run", dir, "-beta", "all", "-samples", "500")
	if st != 0 {
		t.Fatalf("estimate: %q", errs)
	}
	for _, l := range jsonLines(t, out) {
		fx := num(t, l, "f_exact")
		if math.Abs(num(t, l, "f_nis")-fx) > 1e-12 || math.Abs(num(t, l, "ess")-1) > 1e-12 || num(t, l, "acceptance") != 1 || l["nis_reliable"] != true {
			t.Errorf("β %v: f_nis %v (exact %v), ess %v, acceptance %v", l["beta"], l["f_nis"], fx, l["ess"], l["acceptance"])
		}
		if want, _ := model.CWExact(30, model.CWParams{J: 1}, num(t, l, "beta")); fx != want.F || num(t, l, "e_exact") != want.E {
			t.Errorf("β %v: f_exact %v e_exact %v, CWExact %+v", l["beta"], fx, l["e_exact"], want)
		}
	}

	dir = filepath.Join(t.TempDir(), "ising")
	if st, _, errs := runCLI("train", "-model", "ising2d", "-L", "3", "-arch", "1l", "-beta-range", "0.44,0.44,1", "-init-steps", "30",
		"-batch", "200", "-lr", "0.02", "-eval-samples", "100", "-estimate", "2000", "-quiet", "-out", dir); st != 0 {
		t.Fatalf("train ising2d: %q", errs)
	}
	rows, _, err := output.ReadStats(filepath.Join(dir, output.StatsFile))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := model.Ising2DExact(model.Ising2DParams{Lx: 3, Ly: 3, J: 1}, 0.44)
	r := rows[0]
	if r.FExact != want.F || math.Abs(r.FNIS-want.F) > 4*r.FNISErr || math.Abs(r.ENMCMC-want.E) > 4*r.ENMCMCErr {
		t.Errorf("ising2d 3×3 β 0.44: f_exact %v, f_nis %v ± %v, e_nmcmc %v ± %v; Kaufman f %v e %v", r.FExact, r.FNIS, r.FNISErr, r.ENMCMC, r.ENMCMCErr, want.F, want.E)
	}
}

// TestEstimateTrainedBeta: the saved parameters of an interrupted run
// belong to the β it was training at, or to the one before when no step
// was taken at the next β yet.
func TestEstimateTrainedBeta(t *testing.T) {
	defer func() { testStop = nil }()
	for _, c := range []struct {
		j, steps int
		betaEnd  bool
		want     float64
	}{{1, 3, false, 1}, {0, 12, true, 0.5}, {0, 2, false, 0.5}} {
		dir := filepath.Join(t.TempDir(), "run")
		testStop = func(j, steps int, betaEnd bool) bool { return j == c.j && steps == c.steps && betaEnd == c.betaEnd }
		if st, _, errs := runCLI(tinyTrain(dir)...); st != exitSignal {
			t.Fatalf("status %d %q", st, errs)
		}
		testStop = nil
		st, out, errs := runCLI("estimate", "-run", dir, "-samples", "50")
		if st != 0 {
			t.Fatalf("%q", errs)
		}
		if l := jsonLines(t, out)[0]; num(t, l, "trained_beta") != c.want || num(t, l, "beta") != c.want {
			t.Errorf("stopped at β index %d step %d (end %v): trained_beta %v, want %v", c.j, c.steps, c.betaEnd, l["trained_beta"], c.want)
		}
	}
}

// TestIsing2DFlags: -model ising2d takes -L (and -J, -field), refuses the
// other models' flags, and its exact reference is Kaufman's formula, equal
// to enumeration.
func TestIsing2DFlags(t *testing.T) {
	st, outK, errs := runCLI("exact", "-model", "ising2d", "-L", "4", "-beta", "0.3,0.44,1")
	st2, outE, _ := runCLI("exact", "-model", "ising2d", "-L", "4", "-beta", "0.3,0.44,1", "-method", "enumerate")
	if st != 0 || st2 != 0 {
		t.Fatalf("status %d %d %q", st, st2, errs)
	}
	k, e := jsonLines(t, outK), jsonLines(t, outE)
	for i := range k {
		if k[i]["method"] != "kaufman" || k[i]["m_abs"] != nil || math.Abs(num(t, k[i], "f")-num(t, e[i], "f")) > 1e-13 || math.Abs(num(t, k[i], "e")-num(t, e[i], "e")) > 1e-12 {
			t.Errorf("kaufman %v, enumerate %v", k[i], e[i])
		}
	}
	// The instance written as a couplings file is the same model.
	path := filepath.Join(t.TempDir(), "is4.txt")
	if st, _, errs := runCLI("instance", "-model", "ising2d", "-L", "4", "-J", "0.7", "-out", path); st != 0 {
		t.Fatalf("instance: %q", errs)
	}
	_, outF, _ := runCLI("exact", "-model", "file", "-couplings", path, "-beta", "0.44")
	_, outK, _ = runCLI("exact", "-model", "ising2d", "-L", "4", "-J", "0.7", "-beta", "0.44")
	if f, k := jsonLines(t, outF)[0], jsonLines(t, outK)[0]; math.Abs(num(t, f, "f")-num(t, k, "f")) > 1e-13 {
		t.Errorf("instance file: f %v, Kaufman %v", f["f"], k["f"])
	}
	// In a field there is no formula: auto enumerates.
	if st, out, _ := runCLI("exact", "-model", "ising2d", "-L", "3", "-field", "0.1", "-beta", "1"); st != 0 || jsonLines(t, out)[0]["method"] != "enumerate" {
		t.Errorf("field: %d %s", st, out)
	}
	for _, bad := range [][]string{
		{"exact", "-model", "ising2d", "-beta", "1"},
		{"exact", "-model", "ising2d", "-L", "1", "-beta", "1"},
		{"exact", "-model", "ising2d", "-L", "4", "-n", "16", "-beta", "1"},
		{"exact", "-model", "ising2d", "-L", "4", "-seed", "3", "-beta", "1"},
		{"exact", "-model", "sk", "-n", "4", "-L", "4", "-beta", "1"},
		{"exact", "-model", "sk", "-n", "4", "-beta", "1", "-method", "kaufman"},
		{"exact", "-model", "ising2d", "-L", "3", "-field", "0.1", "-beta", "1", "-method", "kaufman"},
	} {
		st, out, errs := runCLI(bad...)
		if st != exitUsage || out != "" || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: status %d, stdout %q, stderr %q", bad, st, out, errs)
		}
	}
}
