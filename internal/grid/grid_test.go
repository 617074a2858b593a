package grid

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn/grad"
)

// TestCounts pins the number of runs of every figure and scale: the paper's
// grids are 6 nets × 4 N + 3 nets × 2 N = 30 CW runs and 6 nets × 4 N × 10
// instances = 240 SK runs.
func TestCounts(t *testing.T) {
	want := map[string]map[string]int{
		"fig4": {Smoke: 6*2 + 3*1, Small: 6*3 + 3*2, Paper: 6*4 + 3*2},
		"fig5": {Smoke: 6 * 2 * 2, Small: 6 * 3 * 3, Paper: 6 * 4 * 10},
		"fig6": {Smoke: 3, Small: 3, Paper: 3},
	}
	for _, fig := range Figures() {
		for _, sc := range Scales() {
			g, err := Build(fig, sc)
			if err != nil {
				t.Fatal(err)
			}
			if len(g.Rows) != want[fig][sc] {
				t.Errorf("%s %s: %d runs, want %d", fig, sc, len(g.Rows), want[fig][sc])
			}
			ids := map[string]bool{}
			for _, r := range g.Rows {
				if ids[r.ID] {
					t.Errorf("%s %s: run id %s twice", fig, sc, r.ID)
				}
				ids[r.ID] = true
				if !strings.HasPrefix(r.ID, fig+"_") || r.Figure != fig {
					t.Errorf("%s %s: row %+v", fig, sc, r)
				}
			}
		}
	}
}

// TestPaperGrids checks that the paper scale has every N and net of the
// paper's run scripts and result files, with the paper's seeds.
func TestPaperGrids(t *testing.T) {
	type cell struct {
		n        int
		instance uint64
		label    string
	}
	cells := func(g *Grid) map[cell]Row {
		m := map[cell]Row{}
		for _, r := range g.Rows {
			m[cell{r.N, r.Instance, r.Net.Label}] = r
		}
		return m
	}
	g4, _ := Build("fig4", Paper)
	c4 := cells(g4)
	for _, n := range []int{20, 50, 100, 200, 400, 800} {
		for _, l := range []string{"cw_n", "cw_inf", "1p", "1l", "made_21", "made_22"} {
			_, ok := c4[cell{n, 0, l}]
			large := n > 200
			if ok != (!large || slices.Contains([]string{"cw_n", "cw_inf", "1p"}, l)) {
				t.Errorf("fig4 N=%d %s: present %v", n, l, ok)
			}
		}
	}
	if r := c4[cell{50, 0, "made_22"}]; r.Net.Arch != "made" || r.Net.Depth != 2 || r.Net.Width != 2 || r.TrainSeed != 0 || r.Model != "cw" {
		t.Errorf("fig4 MADE_22: %+v", r)
	}
	g5, _ := Build("fig5", Paper)
	c5 := cells(g5)
	for _, n := range []int{20, 50, 100, 200} {
		for inst := uint64(1); inst <= 10; inst++ {
			for _, l := range []string{"sk_rs", "sk_1rsb", "sk_2rsb", "1l", "made_23", "made_32"} {
				r, ok := c5[cell{n, inst, l}]
				if !ok || r.Model != "sk" || r.TrainSeed != inst {
					t.Errorf("fig5 N=%d instance %d %s: %+v", n, inst, l, r)
				}
			}
		}
	}
	if r := c5[cell{100, 3, "made_32"}]; r.Net.Depth != 3 || r.Net.Width != 2 {
		t.Errorf("fig5 MADE_32: %+v", r.Net)
	}
	if l := g5.Layout; l.Reference != "sk_2rsb" || l.OverlapN != 200 || l.OverlapBeta != 1.5 || !slices.Equal(l.PanelNs, []int{50, 100, 200}) {
		t.Errorf("fig5 layout %+v", l)
	}
	if l := g4.Layout; l.Reference != "" || l.OverlapN != 200 || l.OverlapBeta != 1.3 || !slices.Equal(l.ScalingNets, []string{"1p", "cw_inf"}) {
		t.Errorf("fig4 layout %+v", l)
	}
	for _, r := range append(g4.Rows, g5.Rows...) {
		if r.Protocol != PaperProtocol {
			t.Fatalf("%s: protocol %+v", r.ID, r.Protocol)
		}
	}
}

// TestPaperProtocolIsTrainDefault: the paper's protocol is also what
// `h2arnn train` does without protocol flags (grad.DefaultConfig).
func TestPaperProtocolIsTrainDefault(t *testing.T) {
	d := grad.DefaultConfig()
	p := PaperProtocol
	if p.BetaStart != d.BetaStart || p.BetaEnd != d.BetaEnd || p.BetaCount != d.BetaCount || p.InitSteps != d.InitSteps ||
		p.MaxStep != d.MaxStep || p.Batch != d.Batch || p.LR != d.LR || p.StdLimit != d.StdLimit ||
		p.StatsBatches != d.StatsBatches || p.EvalSamples != d.EvalSamples {
		t.Errorf("paper protocol %+v, train default %+v", p, d)
	}
	if p.MaxSteps() != 5000+38*1000 {
		t.Errorf("MaxSteps %d", p.MaxSteps())
	}
}

// TestOverlapBetaOnSchedule: the β of every overlap panel is a β of the
// schedule at the small and paper scales (the smoke schedule is too coarse
// and draws the nearest one).
func TestOverlapBetaOnSchedule(t *testing.T) {
	for _, fig := range []string{"fig4", "fig5"} {
		for _, sc := range []string{Small, Paper} {
			g, _ := Build(fig, sc)
			d := grad.DefaultConfig()
			p := g.Rows[0].Protocol
			d.BetaStart, d.BetaEnd, d.BetaCount = p.BetaStart, p.BetaEnd, p.BetaCount
			if !slices.Contains(d.Schedule(), g.Layout.OverlapBeta) {
				t.Errorf("%s %s: β %v not in %v", fig, sc, g.Layout.OverlapBeta, d.Schedule())
			}
			for _, n := range append(g.Layout.PanelNs, g.Layout.OverlapN) {
				if !slices.ContainsFunc(g.Rows, func(r Row) bool { return r.N == n }) {
					t.Errorf("%s %s: the figure draws N=%d, which has no run", fig, sc, n)
				}
			}
		}
	}
}

func TestArgs(t *testing.T) {
	g, _ := Build("fig5", Smoke)
	var r Row
	for _, x := range g.Rows {
		if x.Net.Label == "made_32" && x.N == 12 && x.Instance == 2 {
			r = x
		}
	}
	got := strings.Join(r.Args, " ")
	want := "-model sk -n 12 -seed 2 -arch made -depth 3 -width 2 -label made_32 -train-seed 2 -beta-range 0.5,2,4 " +
		"-init-steps 30 -max-step 10 -batch 64 -lr 0.01 -std-limit 0.0001 -stats-batches 5 -eval-samples 256 -overlap-bins 50 -save-samples overlaps"
	if got != want {
		t.Errorf("args\n got %s\nwant %s", got, want)
	}
	if r.ID != "fig5_n012_i02_made_32" || r.Command != "train" || len(r.Needs) != 0 {
		t.Errorf("id %s", r.ID)
	}
	g4, _ := Build("fig4", Smoke)
	if a := strings.Join(g4.Rows[0].Args, " "); !strings.HasPrefix(a, "-model cw -n 8 -arch cw_n -label cw_n -train-seed 0 ") {
		t.Errorf("fig4 args %s", a)
	}
}

// TestProtocolArgsExact: numbers go to the command line in the shortest
// form that parses back to the same float64.
func TestProtocolArgsExact(t *testing.T) {
	p := Protocol{BetaStart: 0.15, BetaEnd: 1.0625, BetaCount: 7, LR: 0.0125, StdLimit: 1.5e-5}
	got := strings.Join(p.Args()[:2], " ") + " " + strings.Join(p.Args()[8:12], " ")
	if got != "-beta-range 0.15,1.0625,7 -lr 0.0125 -std-limit 1.5e-05" {
		t.Errorf("args %s", got)
	}
}

func TestRunDir(t *testing.T) {
	if id, ok := RunDirID(RunDir("fig6_mcmc")); !ok || id != "fig6_mcmc" {
		t.Errorf("RunDirID(RunDir) = %q, %v", id, ok)
	}
	if _, ok := RunDirID("-data"); ok {
		t.Error("an ordinary argument taken for a run directory")
	}
}

func TestBuildErrors(t *testing.T) {
	for _, c := range [][2]string{{"fig7", Small}, {"fig4", "huge"}, {"", ""}} {
		if _, err := Build(c[0], c[1]); err == nil {
			t.Errorf("Build(%q, %q) succeeded", c[0], c[1])
		}
	}
}

func TestLabels(t *testing.T) {
	g, _ := Build("fig4", Small)
	got := fmt.Sprint(g.Labels())
	if got != "[cw_n cw_inf 1p 1l made_21 made_22]" {
		t.Errorf("labels %s", got)
	}
}

// TestFig6 checks the paper's Figure 6 grid (results/SK/SK_MC.ipynb): one
// mcmc run of SK N = 100 at β = 2 with 10,000 samples 200 sweeps apart,
// and the two fits that need it, with probes a twentieth of their size.
func TestFig6(t *testing.T) {
	g, err := Build("fig6", Paper)
	if err != nil {
		t.Fatal(err)
	}
	mc, net, plm := g.Rows[0], g.Rows[1], g.Rows[2]
	want := "-model sk -n 100 -seed 1 -beta 2 -chains 4 -sweeps 200 -samples 10000 -burn-in 2000"
	if mc.Command != "mcmc" || strings.Join(mc.Args, " ") != want || len(mc.Needs) != 0 {
		t.Errorf("mcmc row %s %v needs %v", mc.Command, mc.Args, mc.Needs)
	}
	want = "-data @run:fig6_n100_i01_mcmc -arch sk_1rsb -learn-couplings -lr 0.003 -label sk_1rsb -epochs 150 -patience 20 -model sk -n 100 -seed 1"
	if net.Command != "fit" || strings.Join(net.Args, " ") != want || !slices.Equal(net.Needs, []string{mc.ID}) {
		t.Errorf("sk_1rsb row %s %v needs %v", net.Command, net.Args, net.Needs)
	}
	if plm.Command != "fit" || !slices.Contains(plm.Args, "plm") || !slices.Equal(plm.Needs, []string{mc.ID}) || plm.Net.Label != "plm" {
		t.Errorf("plm row %+v", plm)
	}
	// Probes: 500 samples (10,000/20), 100 sweeps of burn-in, 7 epochs.
	if p := mc.Probe; !strings.HasSuffix(strings.Join(p.Args, " "), "-samples 500 -burn-in 100") || p.Factor != (4*2000.+10000*200)/(4*100.+500*200) {
		t.Errorf("mcmc probe %+v", p)
	}
	if p := net.Probe; !slices.Contains(p.Args, "7") || p.Factor != 10000*150./(500*7) {
		t.Errorf("fit probe %+v", p)
	}
	if p := plm.Probe; p.Factor != 20 || !slices.Equal(p.Args, plm.Args) {
		t.Errorf("plm probe %+v", p)
	}
	if !g.Layout.Couplings {
		t.Error("fig6 layout")
	}
	if _, err := Build("fig6", "huge"); err == nil {
		t.Error("unknown scale accepted")
	}
}
