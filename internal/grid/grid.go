// Package grid holds the experiment grids of the paper's figures: which
// training runs (model, N, disorder instance, architecture, seeds,
// protocol) each figure needs, at three scales, and what the figure draws
// from them. A grid is data; running it is the business of the h2arnn
// reproduce command, drawing it that of h2arnn collect.
//
// Every number of the paper scale comes from the paper's public code,
// github.com/ocadni/h2arnn (commit 15bef8b), cited where it is used:
// its run scripts results/CW/run_cw.sh, run_many_cw.sh, results/SK/run_sk.sh,
// run_many_sk.sh, its result files results/CW/data and results/SK/data (one
// per N, seed and architecture), the notebooks that draw Figures 4 and 5
// (results/CW/CW_plots.ipynb, results/SK/SK_plots.ipynb), those that
// compute their overlap panels (results/CW/overlaps.ipynb,
// results/SK/overlaps.ipynb), and for Figure 6 results/SK/SK_MC.ipynb.
//
// Each row of a grid is one ordinary run of an h2arnn subcommand (train for
// Figures 4 and 5; mcmc, then fit, for Figure 6); Row.Command and Row.Args
// give its command line. The smaller scales keep the structure of the paper's grid (every
// architecture, several sizes, several instances) and shrink N, the number
// of instances and the training budget.
package grid

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Scales, from the cheapest.
const (
	// Smoke checks the machinery end to end in seconds (CI runs it).
	Smoke = "smoke"
	// Small shrinks N, instances and steps so that a figure takes well
	// under an hour on two cores; the figures keep the paper's shape.
	Small = "small"
	// Paper is the paper's protocol and grid.
	Paper = "paper"
)

// Scales returns the scale names, cheapest first.
func Scales() []string { return []string{Smoke, Small, Paper} }

// Figures returns the figure names Build accepts.
func Figures() []string { return []string{"fig4", "fig5", "fig6"} }

func joinScales() string { return strings.Join(Scales(), ", ") }

// Protocol is the training protocol of a run: the flags of `h2arnn train`
// that are not the model or the architecture (SPEC §4).
type Protocol struct {
	// BetaStart, BetaEnd, BetaCount: β on linspace(start, end, count).
	BetaStart float64 `json:"beta_start"`
	BetaEnd   float64 `json:"beta_end"`
	BetaCount int     `json:"beta_count"`
	// InitSteps is the step budget at the first β, MaxStep at every later one.
	InitSteps int `json:"init_steps"`
	MaxStep   int `json:"max_step"`
	// Batch is the number of samples per step.
	Batch int `json:"batch"`
	// LR is Adam's learning rate.
	LR float64 `json:"lr"`
	// StdLimit stops a β early once the per-spin free-energy std falls below it.
	StdLimit float64 `json:"std_limit"`
	// StatsBatches is the number of last batches averaged without an
	// evaluation batch.
	StatsBatches int `json:"stats_batches"`
	// EvalSamples is the size of the evaluation batch drawn after each β.
	EvalSamples int `json:"eval_samples"`
	// OverlapBins is the number of bins of P(q) on [-1, 1].
	OverlapBins int `json:"overlap_bins"`
}

// MaxSteps is the largest number of optimiser steps a run can take: the
// whole budget at every β (early stopping only shortens it).
func (p Protocol) MaxSteps() int { return p.InitSteps + (p.BetaCount-1)*p.MaxStep }

// Args returns the protocol as train flags. P(q) is kept at every β
// (-save-samples overlaps) because the figures draw it at a β inside the
// schedule, not at its end.
func (p Protocol) Args() []string {
	return []string{
		"-beta-range", fmtF(p.BetaStart) + "," + fmtF(p.BetaEnd) + "," + strconv.Itoa(p.BetaCount),
		"-init-steps", strconv.Itoa(p.InitSteps), "-max-step", strconv.Itoa(p.MaxStep),
		"-batch", strconv.Itoa(p.Batch), "-lr", fmtF(p.LR), "-std-limit", fmtF(p.StdLimit),
		"-stats-batches", strconv.Itoa(p.StatsBatches), "-eval-samples", strconv.Itoa(p.EvalSamples),
		"-overlap-bins", strconv.Itoa(p.OverlapBins), "-save-samples", "overlaps",
	}
}

// Net is one architecture of a figure, as the paper names its variants.
type Net struct {
	// Label names the net in files and legends (e.g. "made_21": MADE of
	// depth 2 and width 1, the paper's MADE₂₁).
	Label string `json:"label"`
	// Arch is the -arch of train; Depth and Width are MADE's (0 otherwise).
	Arch  string `json:"arch"`
	Depth int    `json:"depth,omitempty"`
	Width int    `json:"width,omitempty"`
}

// Args returns the architecture flags of train.
func (n Net) Args() []string {
	a := []string{"-arch", n.Arch}
	if n.Arch == "made" {
		a = append(a, "-depth", strconv.Itoa(n.Depth), "-width", strconv.Itoa(n.Width))
	}
	return append(a, "-label", n.Label)
}

// Row is one run of a grid: an ordinary run directory of an h2arnn
// subcommand (train for Figures 4 and 5, mcmc and fit for Figure 6).
type Row struct {
	// ID names the run directory DIR/runs/<ID>; unique across figures.
	ID     string `json:"id"`
	Figure string `json:"figure"`
	// Command is the h2arnn subcommand that makes the run, Args its flags
	// without -out, -workers and -quiet (which say where and how, not
	// what, to run). An argument RunDir(id) stands for the run directory
	// of the row id.
	Command string   `json:"command"`
	Args    []string `json:"args"`
	// Needs are the rows whose runs must be complete before this one
	// starts (a fit needs its samples).
	Needs []string `json:"needs,omitempty"`
	// Probe, if set, is the calibration's miniature of the run; rows
	// without one (train) are calibrated with h2arnn bench.
	Probe *Probe `json:"probe,omitempty"`
	// Model is "cw" or "sk" (J = 1, h = 0 in both, as in the paper).
	Model string `json:"model"`
	N     int    `json:"n"`
	// Instance is the -seed of an SK instance (one seed, one disorder
	// realisation); 0 for CW, which has none.
	Instance  uint64   `json:"instance"`
	Net       Net      `json:"net"`
	TrainSeed uint64   `json:"train_seed"`
	Protocol  Protocol `json:"protocol"`
}

// NewTrainRow returns the row of a train run of net on a model (cw: no
// instance; sk: instance = -seed) of n spins.
func NewTrainRow(id, model string, n int, instance uint64, net Net, trainSeed uint64, p Protocol) Row {
	r := Row{ID: id, Command: "train", Model: model, N: n, Instance: instance, Net: net, TrainSeed: trainSeed, Protocol: p}
	r.Args = []string{"-model", model, "-n", strconv.Itoa(n)}
	if model == "sk" {
		r.Args = append(r.Args, "-seed", strconv.FormatUint(instance, 10))
	}
	r.Args = append(r.Args, net.Args()...)
	r.Args = append(r.Args, "-train-seed", strconv.FormatUint(trainSeed, 10))
	r.Args = append(r.Args, p.Args()...)
	return r
}

// runDirPrefix marks an argument that stands for a run directory.
const runDirPrefix = "@run:"

// RunDir returns the argument that stands for the run directory of the row
// id; the executors replace it with the directory's path.
func RunDir(id string) string { return runDirPrefix + id }

// RunDirID reports whether arg stands for a run directory, and of which row.
func RunDirID(arg string) (id string, ok bool) { return strings.CutPrefix(arg, runDirPrefix) }

// Layout is what a figure draws from its grid.
type Layout struct {
	// PanelNs are the sizes of the panels A1, A2, ... (error against β).
	PanelNs []int `json:"panel_ns"`
	// ScalingNets are the labels whose mean and maximum error panel B
	// draws against N (Figure 4); empty for Figure 5, whose panel B shows
	// the number of parameters of every net.
	ScalingNets []string `json:"scaling_nets,omitempty"`
	// OverlapN and OverlapBeta select the P(q) of panel C.
	OverlapN    int     `json:"overlap_n"`
	OverlapBeta float64 `json:"overlap_beta"`
	// Reference is the label of the net the errors are taken against
	// ("sk_2rsb" for Figure 5), or "" for the exact free energy.
	Reference string `json:"reference,omitempty"`
	// FoldOverlaps draws P(q) on q ≥ 0 as (P(q) + P(-q))/2, as the paper
	// does for SK (h = 0 makes P symmetric).
	FoldOverlaps bool `json:"fold_overlaps,omitempty"`
	// Couplings marks Figure 6: |W| against |J| of the fit rows, instead
	// of the panels above.
	Couplings bool `json:"couplings,omitempty"`
}

// Grid is the set of runs behind one figure at one scale.
type Grid struct {
	Figure, Scale string
	Rows          []Row
	Layout        Layout
}

// Labels returns the net labels of the grid in the order of the figure's
// legend (the order of first appearance).
func (g *Grid) Labels() []string {
	var out []string
	for _, r := range g.Rows {
		if !slices.Contains(out, r.Net.Label) {
			out = append(out, r.Net.Label)
		}
	}
	return out
}

// spec is a figure at one scale before expansion into rows.
type spec struct {
	model string
	// sizes get every net; extraSizes only extraNets.
	sizes, extraSizes []int
	nets              []Net
	extraNets         []string
	instances         []uint64
	protocol          Protocol
	layout            Layout
}

// The architectures of Figure 4 (results/CW/run_many_cw.sh: net_spec
// CWARNN, CWARNN_inf, 1Par, SL, MADE_21, MADE_22; run.py maps MADE_21 and
// MADE_22 to net_depth 2 with net_width 1 and 2) and of Figure 5
// (results/SK/run_many_sk.sh: SK_0rsb, SK_1rsb, SK_2rsb, SL, MADE_23,
// MADE_32; run.py: depth 2 width 3 and depth 3 width 2). SL is the single
// masked layer, our 1l; 1Par our 1p.
var (
	cwNets = []Net{
		{Label: "cw_n", Arch: "cw_n"},
		{Label: "cw_inf", Arch: "cw_inf"},
		{Label: "1p", Arch: "1p"},
		{Label: "1l", Arch: "1l"},
		{Label: "made_21", Arch: "made", Depth: 2, Width: 1},
		{Label: "made_22", Arch: "made", Depth: 2, Width: 2},
	}
	skNets = []Net{
		{Label: "sk_rs", Arch: "sk_rs"},
		{Label: "sk_1rsb", Arch: "sk_1rsb"},
		{Label: "sk_2rsb", Arch: "sk_2rsb"},
		{Label: "1l", Arch: "1l"},
		{Label: "made_23", Arch: "made", Depth: 2, Width: 3},
		{Label: "made_32", Arch: "made", Depth: 3, Width: 2},
	}
	// The nets the paper also ran at N = 400 and 800: its result files
	// results/CW/data/N400_* and N800_* hold 1Par, CWARNN and CWARNN_inf
	// (and the exact references) only.
	cwLargeNets = []string{"cw_n", "cw_inf", "1p"}
)

// PaperProtocol is the training protocol of the paper (SPEC §4), as its run
// scripts give it (results/CW/run_cw.sh and results/SK/run_sk.sh, both the
// same): beta_range 0.1 2 39, lr 0.001, max_step 1000, batch_size 2000,
// std_fe_limit 1e-4, batch_iter 20; init_steps 5000 is the default of
// python_lib/run.py, which the scripts do not override. The evaluation
// batch of 20,000 samples is the one the paper's overlap notebooks draw
// (nets[...].sample(20000) in results/*/overlaps.ipynb), and P(q) uses
// their 50 bins on [-1, 1] (np.histogram(..., bins=50, range=[-1, 1])).
var PaperProtocol = Protocol{
	BetaStart: 0.1, BetaEnd: 2, BetaCount: 39,
	InitSteps: 5000, MaxStep: 1000, Batch: 2000, LR: 1e-3, StdLimit: 1e-4,
	StatsBatches: 20, EvalSamples: 20000, OverlapBins: 50,
}

// smallProtocol keeps the paper's β range with a step of 0.1 (so that the
// β of the overlap panels, 1.3 and 1.5, are on it) and trains for a tenth
// of its steps at a quarter of its batch, with a larger learning rate so
// that the nets still get near convergence in that budget. How much larger
// was measured on this budget (one run each, N = 50 SK instance 1, N = 100
// and 400 CW): for SK, lr 1e-2 keeps the paper's ordering (sk_2rsb lowest
// f from β = 0.9 on, by about 1e-3 relative over 1l, as in the README's
// reduced SK protocol), while at 3e-3 the deeper nets have not caught up
// with 1l; for CW, 1e-2 makes 1l at N = 100 unstable at high temperature
// (rel_err 8e-3 at β = 0.4, 1e-7 at 3e-3) and 1p at N = 400 worse
// (max rel_err 0.11 against 0.042), so Figure 4 uses 3e-3.
var smallProtocol = Protocol{
	BetaStart: 0.1, BetaEnd: 2, BetaCount: 20,
	InitSteps: 500, MaxStep: 100, Batch: 500, LR: 1e-2, StdLimit: 1e-4,
	StatsBatches: 20, EvalSamples: 5000, OverlapBins: 50,
}

// smallCWProtocol is smallProtocol with the learning rate 3e-3 of Figure 4.
var smallCWProtocol = func() Protocol { p := smallProtocol; p.LR = 3e-3; return p }()

// smokeProtocol exercises every part of a run (annealing over several β,
// early-stop test, evaluation batch, per-β P(q)) in a fraction of a second.
var smokeProtocol = Protocol{
	BetaStart: 0.5, BetaEnd: 2, BetaCount: 4,
	InitSteps: 30, MaxStep: 10, Batch: 64, LR: 1e-2, StdLimit: 1e-4,
	StatsBatches: 5, EvalSamples: 256, OverlapBins: 50,
}

// specs gives every figure at every scale.
var specs = map[string]map[string]spec{
	"fig4": {
		// results/CW/run_many_cw.sh loops N over 20 50 100 200 and the six
		// nets; the result files add N = 400, 800 for cw_n, cw_inf and 1p.
		// run_cw.sh: seed=0 (CW has no disorder: the seed only seeds the
		// initialisation). CW_plots.ipynb draws panels a-c at Ns[1:4] =
		// 50, 100, 200, panel d (mean and max error against N) for 1Par
		// and CWARNN_inf over all six sizes; the caption puts P(q) at
		// N = 200, β = 1.3 (the notebooks load the nets of β = 1.2; we
		// follow the caption).
		Paper: {
			model: "cw", sizes: []int{20, 50, 100, 200}, extraSizes: []int{400, 800},
			nets: cwNets, extraNets: cwLargeNets, instances: []uint64{0}, protocol: PaperProtocol,
			layout: Layout{PanelNs: []int{50, 100, 200}, ScalingNets: []string{"1p", "cw_inf"}, OverlapN: 200, OverlapBeta: 1.3},
		},
		Small: {
			model: "cw", sizes: []int{20, 50, 100}, extraSizes: []int{200, 400},
			nets: cwNets, extraNets: cwLargeNets, instances: []uint64{0}, protocol: smallCWProtocol,
			layout: Layout{PanelNs: []int{20, 50, 100}, ScalingNets: []string{"1p", "cw_inf"}, OverlapN: 100, OverlapBeta: 1.3},
		},
		Smoke: {
			model: "cw", sizes: []int{8, 12}, extraSizes: []int{16},
			nets: cwNets, extraNets: cwLargeNets, instances: []uint64{0}, protocol: smokeProtocol,
			layout: Layout{PanelNs: []int{8, 12}, ScalingNets: []string{"1p", "cw_inf"}, OverlapN: 12, OverlapBeta: 1.3},
		},
	},
	"fig5": {
		// results/SK/run_many_sk.sh loops N over 20 50 100 200 and the six
		// nets; the result files results/SK/data hold seeds 1 to 10 of
		// each (SK_plots.ipynb: seeds = [1, ..., 10]). run.py seeds the
		// disorder and the initialisation with the same seed, so the
		// training seed is the instance's. SK_plots.ipynb draws panels
		// a-c at N = 50, 100, 200 as the relative difference to SK_2rsb,
		// averaged over the seeds with seaborn's 95 % interval, panel d
		// the number of parameters for N > 20, and panel e P(q) at
		// N = 200, β = 1.5, averaged over instances and folded onto q ≥ 0.
		Paper: {
			model: "sk", sizes: []int{20, 50, 100, 200}, nets: skNets, instances: seq(1, 10), protocol: PaperProtocol,
			layout: Layout{PanelNs: []int{50, 100, 200}, OverlapN: 200, OverlapBeta: 1.5, Reference: "sk_2rsb", FoldOverlaps: true},
		},
		Small: {
			model: "sk", sizes: []int{20, 50, 100}, nets: skNets, instances: seq(1, 3), protocol: smallProtocol,
			layout: Layout{PanelNs: []int{20, 50, 100}, OverlapN: 100, OverlapBeta: 1.5, Reference: "sk_2rsb", FoldOverlaps: true},
		},
		Smoke: {
			model: "sk", sizes: []int{8, 12}, nets: skNets, instances: seq(1, 2), protocol: smokeProtocol,
			layout: Layout{PanelNs: []int{8, 12}, OverlapN: 12, OverlapBeta: 1.5, Reference: "sk_2rsb", FoldOverlaps: true},
		},
	},
}

func seq(lo, hi uint64) []uint64 {
	var out []uint64
	for i := lo; i <= hi; i++ {
		out = append(out, i)
	}
	return out
}

// Build returns the grid of figure at scale. Rows come in the order N,
// instance, net; the SLURM array index of a row is its index here.
func Build(figure, scale string) (*Grid, error) {
	if figure == "fig6" {
		return buildFig6(scale)
	}
	byScale, ok := specs[figure]
	if !ok {
		return nil, fmt.Errorf("unknown figure %q; give one of %s", figure, strings.Join(Figures(), ", "))
	}
	sp, ok := byScale[scale]
	if !ok {
		return nil, fmt.Errorf("unknown scale %q; give one of %s", scale, joinScales())
	}
	g := &Grid{Figure: figure, Scale: scale, Layout: sp.layout}
	add := func(n int, nets []Net) {
		for _, inst := range sp.instances {
			for _, net := range nets {
				id := fmt.Sprintf("%s_n%03d_%s", figure, n, net.Label)
				if sp.model == "sk" {
					id = fmt.Sprintf("%s_n%03d_i%02d_%s", figure, n, inst, net.Label)
				}
				r := NewTrainRow(id, sp.model, n, inst, net, inst, sp.protocol)
				r.Figure = figure
				g.Rows = append(g.Rows, r)
			}
		}
	}
	for _, n := range sp.sizes {
		add(n, sp.nets)
	}
	var large []Net
	for _, net := range sp.nets {
		if slices.Contains(sp.extraNets, net.Label) {
			large = append(large, net)
		}
	}
	for _, n := range sp.extraSizes {
		add(n, large)
	}
	return g, nil
}

func fmtF(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
