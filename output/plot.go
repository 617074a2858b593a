package output

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/h2arnn/h2arnn/internal/fmath"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Axis labels, short enough to fit along a panel's height (gonum shrinks
// the data area to fit a longer one); the panel titles say the rest.
// Energies are per spin in units of the coupling scale J and β
// in units of 1/J, as in SPEC §1.
const (
	labelBeta   = "inverse temperature β  [1/J]"
	labelF      = "free energy per spin f  [J]"
	labelRelErr = "|f − f_exact| / |f_exact|"
	labelFStd   = "std of per-sample f  [J]"
)

// RelErrFloor is the smallest relative error the free-energy plot draws: a
// log axis cannot show 0, and below float64's resolution (2^-53) the error
// carries no information, so smaller values are drawn at the floor.
const RelErrFloor = 0x1p-53

// PlotFreeEnergy draws the free energy per spin f against β for every run
// (one colour per run, the legend shows Run.Label) and writes the figure as
// pathNoExt+".png" and pathNoExt+".svg", each atomically.
//
// The figure has two panels sharing the β axis, and a third one when some
// run has unbiased estimates (StatsRow.Estimates; see nisPanel). The upper one shows f, and
// the exact f as a thin black dashed line for runs that have it. The lower
// one, on a log axis, shows the relative error |f − f_exact|/|f_exact| of
// the runs with an exact reference (values below RelErrFloor drawn at it);
// if no run has one, it shows the standard deviation of the per-sample free
// energy instead, which is 0 for an exact network (values below the float64
// resolution 2^-53·|f| drawn at it). Runs with the same label
// are told apart by their directory name. Rows with a NaN or infinite f are
// skipped. It is an error if no run has a row to draw.
func PlotFreeEnergy(runs []Run, pathNoExt string) error {
	fig, err := freeEnergyData(runs)
	if err != nil {
		return err
	}
	nis, err := nisPanel(runs, fig.relErr)
	if err != nil {
		return err
	}
	return fig.save(pathNoExt, nis)
}

// feSeries is what the free-energy figure draws for run k.
type feSeries struct {
	k     int
	label string
	// f and exact are (β, f) and (β, f_exact); lower is (β, log10 of the
	// lower panel's value).
	f, exact, lower plotter.XYs
}

// feFigure is the free-energy figure as data: what PlotFreeEnergy draws.
type feFigure struct {
	series []feSeries
	// relErr says that the lower panel shows relative errors (else the
	// per-sample std).
	relErr bool
	// lo and hi are the extreme values of the lower panel (log10; lo = +Inf
	// when it has no point and is left out).
	lo, hi float64
}

// freeEnergyData computes the points of the free-energy figure of runs.
func freeEnergyData(runs []Run) (feFigure, error) {
	labels := runLabels(runs)
	fig := feFigure{lo: math.Inf(1), hi: math.Inf(-1)}
	for _, r := range runs {
		for _, s := range r.Stats {
			fig.relErr = fig.relErr || (s.Exact != nil && fmath.Finite(s.FExact))
		}
	}
	for k, r := range runs {
		sr := feSeries{k: k, label: labels[k]}
		for _, s := range r.Stats {
			if !fmath.Finite(s.Beta) || !fmath.Finite(s.F) {
				continue
			}
			sr.f = append(sr.f, plotter.XY{X: s.Beta, Y: s.F})
			switch {
			case fig.relErr && s.Exact != nil && fmath.Finite(s.FExact):
				sr.exact = append(sr.exact, plotter.XY{X: s.Beta, Y: s.FExact})
				// f_exact = 0 gives an infinite relative error, which no
				// axis can show.
				if e := math.Abs(RelErr(s.F, s.FExact)); fmath.Finite(e) {
					sr.lower = append(sr.lower, plotter.XY{X: s.Beta, Y: math.Log10(math.Max(e, RelErrFloor))})
				}
			case !fig.relErr && fmath.Finite(s.FStd) && s.FStd >= 0:
				// A spread below the float64 resolution of f itself is
				// zero in all but name; draw it at that resolution.
				floor := math.Max(RelErrFloor*math.Abs(s.F), math.SmallestNonzeroFloat64)
				sr.lower = append(sr.lower, plotter.XY{X: s.Beta, Y: math.Log10(math.Max(s.FStd, floor))})
			}
		}
		if len(sr.f) > 0 {
			fig.series = append(fig.series, sr)
		}
		for _, p := range sr.lower {
			fig.lo, fig.hi = math.Min(fig.lo, p.Y), math.Max(fig.hi, p.Y)
		}
	}
	if len(fig.series) == 0 {
		return fig, errors.New("plot free energy: no run has a row with a finite β and f")
	}
	return fig, nil
}

// save draws the figure, with the NIS panel nis below if it is not nil,
// and writes it as PNG and SVG.
func (fig feFigure) save(pathNoExt string, nis *plot.Plot) error {
	top := newPlot("Variational free energy", labelBeta, labelF)
	// f falls steeply as -ln2/β at small β, so the lower right corner is
	// the one place the curves leave free for the legend.
	top.Legend.Top = false
	bottom := newPlot("Relative error against the exact free energy", labelBeta, labelRelErr)
	bottom.Legend = plot.NewLegend() // the upper panel's legend serves both
	if !fig.relErr {
		bottom.Title.Text = "Spread of the per-sample free energy (0 for an exact network)"
		bottom.Y.Label.Text = labelFStd
	}
	exactLegend := false
	for _, sr := range fig.series {
		c := plotutil.Color(sr.k)
		if err := addLinePoints(top, sr.f, c, sr.k, sr.label); err != nil {
			return err
		}
		if len(sr.exact) > 0 {
			l, err := plotter.NewLine(sr.exact)
			if err != nil {
				return err
			}
			l.Color = color.Black
			l.Width = vg.Points(0.7)
			l.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
			top.Add(l)
			if !exactLegend {
				top.Legend.Add("exact", l)
				exactLegend = true
			}
		}
		if len(sr.lower) > 0 {
			if err := addLinePoints(bottom, sr.lower, c, sr.k, ""); err != nil {
				return err
			}
		}
	}
	panels := []*plot.Plot{top}
	if !math.IsInf(fig.lo, 1) {
		setLogY(bottom, fig.lo, fig.hi)
		panels = append(panels, bottom)
	}
	if nis != nil {
		panels = append(panels, nis)
	}
	// All panels show the same β range so that they read as one figure.
	xmin, xmax := top.X.Min, top.X.Max
	for _, p := range panels[1:] {
		xmin, xmax = math.Min(xmin, p.X.Min), math.Max(xmax, p.X.Max)
	}
	for _, p := range panels {
		p.X.Min, p.X.Max = xmin, xmax
	}
	h := 4 * vg.Inch
	if len(panels) > 1 {
		h = vg.Length(3*len(panels)+1) * vg.Inch
	}
	return savePanels(panels, 6*vg.Inch, h, pathNoExt)
}

// nisGap returns, for the rows of r with unbiased estimates (Estimates,
// finite f, FNIS and FNISErr), the variational and the NIS free energies
// minus a reference with the NIS standard error: the reference is the exact
// f when exact is true (rows without one are skipped), else the NIS value
// itself, so that the variational gap shows above an NIS line at zero.
func nisGap(r Run, exact bool) (variational, nis plotter.XYs, nisErr []float64) {
	for _, s := range r.Stats {
		if s.Estimates == nil || !fmath.Finite(s.Beta) || !fmath.Finite(s.F) || !fmath.Finite(s.FNIS) || !fmath.Finite(s.FNISErr) {
			continue
		}
		ref := s.FNIS
		if exact {
			if s.Exact == nil || !fmath.Finite(s.FExact) {
				continue
			}
			ref = s.FExact
		}
		variational = append(variational, plotter.XY{X: s.Beta, Y: s.F - ref})
		nis = append(nis, plotter.XY{X: s.Beta, Y: s.FNIS - ref})
		nisErr = append(nisErr, s.FNISErr)
	}
	return variational, nis, nisErr
}

// xyErrors is a series of points with symmetric vertical error bars.
type xyErrors struct {
	plotter.XYs
	plotter.YErrors
}

// nisPanel returns the panel "variational vs NIS vs exact", or nil if no
// run has unbiased estimates: per run, the variational f (line, the run's
// colour) and the NIS estimate (its glyph with ±1 standard error bars),
// both minus the exact f when some run has an exact reference (exact; then
// the black zero line is the exact value), else minus the NIS value (the
// variational f's height above the NIS estimate). So that the error bars
// of runs at the same β do not hide each other, run k's NIS points are
// drawn shifted along β by (k - (runs-1)/2)·1 % of the β range.
func nisPanel(runs []Run, exact bool) (*plot.Plot, error) {
	title, ylabel := "Variational (line) and NIS ±1 SE (bars) minus the exact f", "f − f_exact  [J]"
	if !exact {
		title, ylabel = "Variational f above the NIS estimate (bars: NIS ±1 SE)", "f − f_NIS  [J]"
	}
	p := newPlot(title, labelBeta, ylabel)
	p.Legend = plot.NewLegend() // the upper panel's legend serves all
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range runs {
		for _, s := range r.Stats {
			if fmath.Finite(s.Beta) {
				lo, hi = math.Min(lo, s.Beta), math.Max(hi, s.Beta)
			}
		}
	}
	drawn := false
	for k, r := range runs {
		v, n, errs := nisGap(r, exact)
		if len(v) == 0 {
			continue
		}
		shift := (float64(k) - float64(len(runs)-1)/2) * 0.01 * (hi - lo)
		n = slices.Clone(n)
		for i := range n {
			n[i].X += shift
		}
		drawn = true
		c := plotutil.Color(k)
		l, err := plotter.NewLine(v)
		if err != nil {
			return nil, err
		}
		l.Color = c
		l.Dashes = plotutil.Dashes(k)
		sc, err := plotter.NewScatter(n)
		if err != nil {
			return nil, err
		}
		sc.Color = c
		sc.Shape = plotutil.Shape(k)
		sc.Radius = vg.Points(2.5)
		ye := make(plotter.YErrors, len(errs))
		for i, e := range errs {
			ye[i].Low, ye[i].High = e, e
		}
		bars, err := plotter.NewYErrorBars(xyErrors{n, ye})
		if err != nil {
			return nil, err
		}
		bars.Color = c
		p.Add(l, sc, bars)
	}
	if !drawn {
		return nil, nil
	}
	zero := plotter.NewFunction(func(float64) float64 { return 0 })
	zero.Color = color.Black
	zero.Width = vg.Points(0.7)
	zero.Dashes = []vg.Length{vg.Points(3), vg.Points(2)}
	p.Add(zero)
	return p, nil
}

// PlotOverlaps draws the overlap distribution P(q) of every run that has
// one, at the stored β nearest to beta (the title gives the β drawn if it is
// the same for all runs, else the legend gives each run's), as a step line over the histogram's
// bins, and writes pathNoExt+".png" and pathNoExt+".svg" atomically. Runs
// without overlap histograms, or whose nearest one is undefined (NaN), are
// skipped; it is an error if none is left.
func PlotOverlaps(runs []Run, beta float64, pathNoExt string) error {
	fig, err := overlapsData(runs, beta)
	if err != nil {
		return err
	}
	return fig.save(pathNoExt)
}

// pqSeries is the P(q) step line of run k.
type pqSeries struct {
	k     int
	label string
	// steps passes through both edges of every bin at the bin's density.
	steps plotter.XYs
}

// pqFigure is the overlap figure as data: what PlotOverlaps draws.
type pqFigure struct {
	title  string
	series []pqSeries
	// top is the highest density drawn, yMax the top of the axis (room for
	// the legend above the peaks; 0 leaves it to gonum).
	top, yMax float64
}

// overlapsData computes the points of the overlap figure of runs at the
// stored β nearest to beta.
func overlapsData(runs []Run, beta float64) (pqFigure, error) {
	labels := runLabels(runs)
	// used[k] is the β drawn for run k, NaN if it has no histogram.
	used := make([]float64, len(runs))
	same := true // all runs drawn at one β: say it once, in the title
	first := math.NaN()
	for k, r := range runs {
		used[k] = math.NaN()
		if b, ok := nearestBeta(r.Overlaps, beta); ok && drawable(r.Overlaps[b]) {
			used[k] = b
			if math.IsNaN(first) {
				first = b
			}
			same = same && math.Abs(b-first) <= 1e-6
		}
	}
	fig := pqFigure{title: "Overlap distribution"}
	if same && !math.IsNaN(first) {
		fig.title += " at β = " + fmtG(first)
	}
	for k, r := range runs {
		b := used[k]
		if math.IsNaN(b) {
			continue
		}
		hist := r.Overlaps[b]
		// A step line through both edges of every bin draws the histogram
		// as flat tops, which reads better than bars when runs overlap.
		sr := pqSeries{k: k, label: labels[k], steps: make(plotter.XYs, 0, 2*len(hist))}
		if !same {
			sr.label += " (β = " + fmtG(b) + ")"
		}
		for i, d := range hist {
			lo, hi := binEdges(i, len(hist))
			sr.steps = append(sr.steps, plotter.XY{X: lo, Y: d}, plotter.XY{X: hi, Y: d})
			fig.top = math.Max(fig.top, d)
		}
		fig.series = append(fig.series, sr)
	}
	if len(fig.series) == 0 {
		return fig, errors.New("plot overlaps: no run has an overlap histogram")
	}
	if fig.top > 0 {
		fig.yMax = 1.25 * fig.top
	}
	return fig, nil
}

// save draws the figure and writes it as PNG and SVG.
func (fig pqFigure) save(pathNoExt string) error {
	p := newPlot(fig.title, "overlap q of two samples  (x·y / N)", "probability density P(q)")
	p.X.Min, p.X.Max = -1, 1
	p.X.Tick.Marker = niceTicks{}
	p.Y.Min = 0
	for _, sr := range fig.series {
		l, err := plotter.NewLine(sr.steps)
		if err != nil {
			return fmt.Errorf("plot overlaps: run %s: %w", sr.label, err)
		}
		l.Color = plotutil.Color(sr.k)
		l.Dashes = plotutil.Dashes(sr.k)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(sr.label, l)
	}
	if fig.yMax > 0 {
		p.Y.Max = fig.yMax
	}
	return savePanels([]*plot.Plot{p}, 6*vg.Inch, 4*vg.Inch, pathNoExt)
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Legend.Top = true
	p.X.Tick.Marker = niceTicks{}
	p.Add(plotter.NewGrid())
	return p
}

// addLinePoints adds a line with markers in colour c, glyph and dashes of
// series k, and a legend entry unless label is empty.
func addLinePoints(p *plot.Plot, xy plotter.XYs, c color.Color, k int, label string) error {
	l, s, err := plotter.NewLinePoints(xy)
	if err != nil {
		return fmt.Errorf("plot %s: %w", label, err)
	}
	l.Color = c
	l.Dashes = plotutil.Dashes(k)
	s.Color = c
	s.Shape = plotutil.Shape(k)
	s.Radius = vg.Points(2.5)
	p.Add(l, s)
	if label != "" {
		p.Legend.Add(label, l, s)
	}
	return nil
}

// setLogY prepares p for values plotted as their base-10 logarithm
// (gonum's own LogScale misplaces the y label's glyph box, which squeezes
// the panel): a linear axis spanning the whole decades around the
// exponents [lo, hi], with ticks labelled as the powers of ten they stand
// for.
func setLogY(p *plot.Plot, lo, hi float64) {
	a, b := math.Floor(lo), math.Ceil(hi)
	if b <= a {
		b = a + 1
	}
	p.Y.Min, p.Y.Max = a, b
	p.Y.Tick.Marker = decadeTicks{}
}

// decadeTicks is the ticker of an axis of base-10 exponents. It labels
// whole exponents e as "1e-07" (every one, or every other or sparser when
// there are more than 10) and, when the range spans at most 6 decades, puts
// unlabelled minor ticks at 2..9 times each power.
type decadeTicks struct{}

func (decadeTicks) Ticks(min, max float64) []plot.Tick {
	a := int(math.Floor(min + 1e-9))
	b := int(math.Ceil(max - 1e-9))
	step := 1 + (b-a)/10
	var ts []plot.Tick
	for e := a; e <= b; e++ {
		t := plot.Tick{Value: float64(e)}
		if (e-a)%step == 0 {
			t.Label = strconv.FormatFloat(math.Pow(10, float64(e)), 'e', 0, 64)
		}
		ts = append(ts, t)
		if b-a <= 6 && e < b {
			for m := 2; m < 10; m++ {
				ts = append(ts, plot.Tick{Value: float64(e) + math.Log10(float64(m))})
			}
		}
	}
	return ts
}

// savePanels stacks the plots vertically, aligned, on a w×h canvas and
// writes it as PNG and SVG.
func savePanels(ps []*plot.Plot, w, h vg.Length, pathNoExt string) error {
	for _, format := range []string{"png", "svg"} {
		c, err := draw.NewFormattedCanvas(w, h, format)
		if err != nil {
			return err
		}
		rows := make([][]*plot.Plot, len(ps))
		for i, p := range ps {
			rows[i] = []*plot.Plot{p}
		}
		tiles := draw.Tiles{Rows: len(ps), Cols: 1, PadY: vg.Points(6),
			PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
		dc := draw.New(c)
		// plot.Align lines up the data areas horizontally (so the β axes
		// of stacked panels coincide) but also moves them vertically in a
		// way that leaves a wide gap between panels; take its horizontal
		// extent and the plain tile's vertical one.
		cs := plot.Align(rows, tiles, dc)
		for i, p := range ps {
			tile := tiles.At(dc, 0, i)
			tile.Min.X, tile.Max.X = cs[i][0].Min.X, cs[i][0].Max.X
			p.Draw(tile)
		}
		if err := WriteFileAtomic(pathNoExt+"."+format, func(wr io.Writer) error {
			_, err := c.WriteTo(wr)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// runLabels returns the legend label of each run: Run.Label (or "run k" if
// empty), followed by the directory's name when several runs share a label.
func runLabels(runs []Run) []string {
	out := make([]string, len(runs))
	count := map[string]int{}
	for k, r := range runs {
		out[k] = r.Label
		if out[k] == "" {
			out[k] = "run " + strconv.Itoa(k+1)
		}
		count[out[k]]++
	}
	for k, r := range runs {
		if count[out[k]] > 1 {
			if r.Dir != "" {
				out[k] += " (" + r.Dir + ")"
			} else {
				out[k] += " #" + strconv.Itoa(k+1)
			}
		}
	}
	return out
}

// drawable reports whether a histogram has bins and only finite densities
// (NaN marks an undefined one, which is skipped).
func drawable(hist []float64) bool {
	for _, d := range hist {
		if !fmath.Finite(d) {
			return false
		}
	}
	return len(hist) > 0
}

func fmtG(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// niceTicks labels multiples of a step 1, 2 or 5 × 10^k chosen to give 5 to
// 10 labels, with an unlabelled minor tick half way between them. An empty
// range gets one label, a non-finite one none.
type niceTicks struct{}

func (niceTicks) Ticks(min, max float64) []plot.Tick {
	if !fmath.Finite(min) || !fmath.Finite(max) {
		return nil
	}
	if !(max > min) {
		// gonum's own ticker panics on an empty range; one label says it all
		return []plot.Tick{{Value: min, Label: strconv.FormatFloat(min, 'g', 6, 64)}}
	}
	step := math.Pow(10, math.Floor(math.Log10((max-min)/10)))
	for _, m := range []float64{1, 2, 5, 10} {
		if (max-min)/(m*step) <= 10 {
			step *= m
			break
		}
	}
	var ts []plot.Tick
	for i := math.Ceil(min/step - 1e-9); i*step <= max+1e-9*step; i++ {
		v := i * step
		if math.Abs(v) < 1e-9*step {
			v = 0 // no "-0" label
		}
		ts = append(ts, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', 6, 64)})
		if h := v + step/2; h <= max {
			ts = append(ts, plot.Tick{Value: h})
		}
	}
	if len(ts) > 0 && ts[0].Value-step/2 >= min {
		ts = append(ts, plot.Tick{Value: ts[0].Value - step/2})
	}
	return ts
}
