package output

import (
	"cmp"
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/h2arnn/h2arnn/internal/fmath"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
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
// are told apart by their directory name. Each run's rows are drawn in the
// order of β; rows with a NaN or infinite β or f are skipped, and of rows
// with the same β only the last one in file order is drawn (FreeEnergyNotes
// says what was left out). It is an error wrapping ErrNothingToDraw if no
// run has a row to draw; then nothing is written.
func PlotFreeEnergy(runs []Run, pathNoExt string) error {
	fig, err := freeEnergyData(runs)
	if err != nil {
		return err
	}
	nis, err := nisPanel(fig.rows, fig.relErr)
	if err != nil {
		return err
	}
	return fig.save(pathNoExt, nis)
}

// FreeEnergyNotes returns what PlotFreeEnergy(runs, ...) leaves out, one
// line per run and kind (e.g. `run "1p": 2 rows with a non-finite β or f
// not drawn`), or nil when it draws every row.
func FreeEnergyNotes(runs []Run) []string {
	fig, _ := freeEnergyData(runs)
	return fig.notes
}

// ErrNothingToDraw is wrapped by the errors of the plot functions when the
// data leave nothing to draw (no run with a drawable row or histogram).
var ErrNothingToDraw = errors.New("nothing to draw")

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
	// rows are the drawable rows of each run (see drawnRows), notes what
	// the figure leaves out.
	rows  [][]StatsRow
	notes []string
}

// drawnRows returns the rows of stats a figure draws against β: those with
// a finite β and f, in the order of β, the last one in file order of rows
// with the same β (a later row is a later evaluation of that β). It also
// returns how many rows were left out for a non-finite β or f (bad) and as
// repeats of a β (repeated).
func drawnRows(stats []StatsRow) (rows []StatsRow, bad, repeated int) {
	for _, s := range stats {
		if fmath.Finite(s.Beta) && fmath.Finite(s.F) {
			rows = append(rows, s)
		}
	}
	bad = len(stats) - len(rows)
	slices.SortStableFunc(rows, func(a, b StatsRow) int { return cmp.Compare(a.Beta, b.Beta) })
	out := rows[:0]
	for i, s := range rows {
		if i+1 < len(rows) && rows[i+1].Beta == s.Beta {
			continue
		}
		out = append(out, s)
	}
	return out, bad, len(rows) - len(out)
}

// nisDrawable reports whether the NIS panel can draw row s: it has
// estimates with a finite f_nis and a finite, non-negative standard error.
func nisDrawable(s StatsRow) bool {
	return s.Estimates != nil && fmath.Finite(s.FNIS) && fmath.Finite(s.FNISErr) && s.FNISErr >= 0
}

// addNote appends `run "label": n what` to notes if n > 0, with row made
// plural for n > 1.
func addNote(notes []string, label string, n int, what string) []string {
	if n == 0 {
		return notes
	}
	row := "row"
	if n > 1 {
		row = "rows"
	}
	return append(notes, fmt.Sprintf("run %s: %d %s %s", strconv.Quote(label), n, row, what))
}

// freeEnergyData computes the points of the free-energy figure of runs.
func freeEnergyData(runs []Run) (feFigure, error) {
	labels := runLabels(runs)
	fig := feFigure{lo: math.Inf(1), hi: math.Inf(-1), rows: make([][]StatsRow, len(runs))}
	for k, r := range runs {
		var bad, repeated int
		fig.rows[k], bad, repeated = drawnRows(r.Stats)
		fig.notes = addNote(fig.notes, labels[k], bad, "with a non-finite β or f not drawn")
		fig.notes = addNote(fig.notes, labels[k], repeated, "repeating an earlier β not drawn (the last row of each β is)")
		for _, s := range fig.rows[k] {
			fig.relErr = fig.relErr || (s.Exact != nil && fmath.Finite(s.FExact))
		}
	}
	for k, rows := range fig.rows {
		sr := feSeries{k: k, label: labels[k]}
		noLower, noNIS := 0, 0
		for _, s := range rows {
			sr.f = append(sr.f, plotter.XY{X: s.Beta, Y: s.F})
			if s.Estimates != nil && !nisDrawable(s) {
				noNIS++
			}
			switch {
			case fig.relErr && s.Exact != nil:
				// f_exact = 0 gives an infinite relative error, which no
				// axis can show.
				e := math.Abs(RelErr(s.F, s.FExact))
				if !fmath.Finite(s.FExact) || !fmath.Finite(e) {
					noLower++
					continue
				}
				sr.exact = append(sr.exact, plotter.XY{X: s.Beta, Y: s.FExact})
				sr.lower = append(sr.lower, plotter.XY{X: s.Beta, Y: math.Log10(math.Max(e, RelErrFloor))})
			case !fig.relErr && !(fmath.Finite(s.FStd) && s.FStd >= 0):
				noLower++
			case !fig.relErr:
				// A spread below the float64 resolution of f itself is
				// zero in all but name; draw it at that resolution.
				floor := math.Max(RelErrFloor*math.Abs(s.F), math.SmallestNonzeroFloat64)
				sr.lower = append(sr.lower, plotter.XY{X: s.Beta, Y: math.Log10(math.Max(s.FStd, floor))})
			}
		}
		what := "with an undefined relative error (f_exact 0 or not finite) not drawn in the lower panel"
		if !fig.relErr {
			what = "with an undefined f_std (negative or not finite) not drawn in the lower panel"
		}
		fig.notes = addNote(fig.notes, sr.label, noLower, what)
		fig.notes = addNote(fig.notes, sr.label, noNIS, "with undefined NIS estimates not drawn in the NIS panel")
		if len(sr.f) > 0 {
			fig.series = append(fig.series, sr)
		}
		for _, p := range sr.lower {
			fig.lo, fig.hi = math.Min(fig.lo, p.Y), math.Max(fig.hi, p.Y)
		}
	}
	if len(fig.series) == 0 {
		return fig, fmt.Errorf("plot free energy: no run has a row with a finite β and f: %w", ErrNothingToDraw)
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

// nisGap returns, for the rows with unbiased estimates (see nisDrawable),
// the variational and the NIS free energies minus a reference with the NIS
// standard error: the reference is the exact f when exact is true (rows
// without one are skipped), else the NIS value itself, so that the
// variational gap shows above an NIS line at zero.
func nisGap(rows []StatsRow, exact bool) (variational, nis plotter.XYs, nisErr []float64) {
	for _, s := range rows {
		if !nisDrawable(s) {
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

// nisPanel returns the panel "variational vs NIS vs exact" of the runs'
// drawable rows (rows[k] those of run k, see drawnRows), or nil if no
// run has unbiased estimates: per run, the variational f (line, the run's
// colour) and the NIS estimate (its glyph with ±1 standard error bars),
// both minus the exact f when some run has an exact reference (exact; then
// the black zero line is the exact value), else minus the NIS value (the
// variational f's height above the NIS estimate). So that the error bars
// of runs at the same β do not hide each other, run k's NIS points are
// drawn shifted along β by (k - (runs-1)/2)·1 % of the β range.
func nisPanel(rows [][]StatsRow, exact bool) (*plot.Plot, error) {
	title, ylabel := "Variational (line) and NIS ±1 SE (bars) minus the exact f", "f − f_exact  [J]"
	if !exact {
		title, ylabel = "Variational f above the NIS estimate (bars: NIS ±1 SE)", "f − f_NIS  [J]"
	}
	p := newPlot(title, labelBeta, ylabel)
	p.Legend = plot.NewLegend() // the upper panel's legend serves all
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, rs := range rows {
		for _, s := range rs {
			lo, hi = math.Min(lo, s.Beta), math.Max(hi, s.Beta)
		}
	}
	drawn := false
	for k, rs := range rows {
		v, n, errs := nisGap(rs, exact)
		if len(v) == 0 {
			continue
		}
		shift := nisShift(k, len(rows), lo, hi)
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

// nisShift is how far along β nisPanel draws the NIS points of run k of
// runs, for a β range [lo, hi]: (k - (runs-1)/2) · 1 % of the range, so
// that the runs' points sit side by side, centred on their β.
func nisShift(k, runs int, lo, hi float64) float64 {
	return (float64(k) - float64(runs-1)/2) * 0.01 * (hi - lo)
}

// OverlapsNotes returns what PlotOverlaps(runs, beta, ...) leaves out: one
// line per run whose histogram nearest to beta is undefined, or nil.
func OverlapsNotes(runs []Run, beta float64) []string {
	fig, _ := overlapsData(runs, beta)
	return fig.notes
}

// PlotOverlaps draws the overlap distribution P(q) of every run that has
// one, at the stored β nearest to beta (the title gives the β drawn if it is
// the same for all runs, else the legend gives each run's), as a step line over the histogram's
// bins, and writes pathNoExt+".png" and pathNoExt+".svg" atomically. Runs
// without overlap histograms, or whose nearest one is undefined (NaN), are
// skipped (OverlapsNotes says which); it is an error wrapping
// ErrNothingToDraw if none is left, or if beta is NaN.
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
	// notes say which runs' histograms are left out.
	notes []string
}

// overlapsData computes the points of the overlap figure of runs at the
// stored β nearest to beta.
func overlapsData(runs []Run, beta float64) (pqFigure, error) {
	labels := runLabels(runs)
	// used[k] is the β drawn for run k, NaN if it has no histogram.
	used := make([]float64, len(runs))
	same := true // all runs drawn at one β: say it once, in the title
	first := math.NaN()
	var notes []string
	for k, r := range runs {
		used[k] = math.NaN()
		b, ok := nearestBeta(r.Overlaps, beta)
		if ok && !drawable(r.Overlaps[b]) {
			notes = append(notes, fmt.Sprintf("run %s: P(q) at β = %s is undefined (NaN) or empty, not drawn", strconv.Quote(labels[k]), fmtG(b)))
		}
		if ok && drawable(r.Overlaps[b]) {
			used[k] = b
			if math.IsNaN(first) {
				first = b
			}
			same = same && math.Abs(b-first) <= 1e-6
		}
	}
	fig := pqFigure{title: "Overlap distribution", notes: notes}
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
		return fig, fmt.Errorf("plot overlaps: no run has an overlap histogram near β = %s: %w", fmtG(beta), ErrNothingToDraw)
	}
	if fig.top > 0 {
		fig.yMax = 1.25 * fig.top
	}
	return fig, nil
}

// save draws the figure and writes it as PNG and SVG.
func (fig pqFigure) save(pathNoExt string) error {
	p, err := fig.plot()
	if err != nil {
		return err
	}
	return savePanels([]*plot.Plot{p}, 6*vg.Inch, 4*vg.Inch, pathNoExt)
}

// plot builds the figure's one panel: q over [-1, 1], the density from 0
// to yMax (or what gonum chooses without one).
func (fig pqFigure) plot() (*plot.Plot, error) {
	p := newPlot(fig.title, "overlap q of two samples  (x·y / N)", "probability density P(q)")
	p.X.Min, p.X.Max = -1, 1
	p.X.Tick.Marker = niceTicks{}
	p.Y.Min = 0
	for _, sr := range fig.series {
		l, err := plotter.NewLine(sr.steps)
		if err != nil {
			return nil, fmt.Errorf("plot overlaps: run %s: %w", sr.label, err)
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
	return p, nil
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
	for _, p := range ps {
		setDrawableRanges(p)
	}
	return saveFigure(w, h, pathNoExt, func(dc draw.Canvas) {
		rows := make([][]*plot.Plot, len(ps))
		for i, p := range ps {
			rows[i] = []*plot.Plot{p}
		}
		tiles := draw.Tiles{Rows: len(ps), Cols: 1, PadY: vg.Points(6),
			PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
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
	})
}

// saveFigure paints a w×h figure with paint, once as PNG and once as SVG,
// and then writes pathNoExt+".png" and pathNoExt+".svg", each atomically.
// Every string drawn goes through plotText, so that any label gives
// well-formed SVG. A panic while painting (inside gonum) is returned as an
// error, and then no file is written.
func saveFigure(w, h vg.Length, pathNoExt string, paint func(draw.Canvas)) error {
	formats := []string{"png", "svg"}
	canvases := make([]vg.CanvasWriterTo, len(formats))
	for i, format := range formats {
		c, err := draw.NewFormattedCanvas(w, h, format)
		if err != nil {
			return err
		}
		if err := paintCanvas(textSafeCanvas{c}, paint); err != nil {
			return fmt.Errorf("drawing %s.%s: %v", pathNoExt, format, err)
		}
		canvases[i] = c
	}
	for i, c := range canvases {
		if err := WriteFileAtomic(pathNoExt+"."+formats[i], func(wr io.Writer) error {
			_, err := c.WriteTo(wr)
			return err
		}); err != nil {
			return err
		}
	}
	return nil
}

// paintCanvas calls paint on c and turns a panic into an error: a figure
// is a by-product of a run, and a drawing library's failure on odd data
// must not take the rest of the run down with it.
func paintCanvas(c vg.CanvasSizer, paint func(draw.Canvas)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("internal error in the plotting library: %v", r)
		}
	}()
	paint(draw.New(c))
	return nil
}

// textSafeCanvas is a canvas whose FillString draws plotText(s): gonum's
// SVG writer escapes <, &, > and quotes but copies control characters and
// invalid UTF-8 as they are, which makes the file unreadable as XML.
type textSafeCanvas struct{ vg.CanvasSizer }

func (c textSafeCanvas) FillString(f font.Face, pt vg.Point, s string) {
	c.CanvasSizer.FillString(f, pt, plotText(s))
}

// plotText returns s with every byte of invalid UTF-8 replaced by U+FFFD
// and every rune that is a control character or not allowed in XML 1.0
// (U+FFFE, U+FFFF) written as its Go escape (\x01, \t, \uffff), so
// that the label reads the same in the SVG and the PNG and says what it
// holds.
func plotText(s string) string {
	ok := func(r rune) bool {
		return !unicode.IsControl(r) && r != 0xFFFE && r != 0xFFFF
	}
	if utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool { return !ok(r) }) {
		return s
	}
	var b strings.Builder
	for _, r := range s { // an invalid byte comes as utf8.RuneError, U+FFFD
		if ok(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r)
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}

// setDrawableRanges widens each axis of p whose range gonum cannot draw
// (see drawableRange).
func setDrawableRanges(p *plot.Plot) {
	p.X.Min, p.X.Max = drawableRange(p.X.Min, p.X.Max)
	p.Y.Min, p.Y.Max = drawableRange(p.Y.Min, p.Y.Max)
}

// minRelWidth is the narrowest axis range drawableRange leaves alone,
// relative to the magnitude of its ends: ticks at 1/10 of it are still
// distinct multiples below 2^53 and labelled with at most 14 digits.
const minRelWidth = 1e-12

// drawableRange returns an axis range that gonum can draw for the data
// range [lo, hi]: [lo, hi] itself when it is wider than minRelWidth of its
// magnitude; else (all values the same, e.g. one β of 1e16, where gonum's
// own widening by ±1 is lost to rounding and every coordinate becomes
// NaN) the range ±10 % around its centre, or [-1, 1] around 0. A range
// whose width overflows float64 (which makes gonum's ticker loop forever)
// is cut to ±MaxFloat64/2: values beyond fall outside the panel. Non-finite
// or reversed ranges are returned as they are; gonum resets those itself.
func drawableRange(lo, hi float64) (float64, float64) {
	if !fmath.Finite(lo) || !fmath.Finite(hi) || lo > hi {
		return lo, hi
	}
	if math.IsInf(hi-lo, 0) {
		return math.Max(lo, -math.MaxFloat64/2), math.Min(hi, math.MaxFloat64/2)
	}
	if hi-lo > minRelWidth*math.Max(math.Abs(lo), math.Abs(hi)) {
		return lo, hi
	}
	c := lo/2 + hi/2
	d := math.Abs(c) / 10
	if !(c+d > c) { // 0, or so small that ±10 % is lost to rounding
		d = 1
	}
	return c - d, c + d
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
// 10 labels (fewer, with a larger step, when their text would be longer
// than maxTickText characters in all), with an unlabelled minor tick half
// way between them, each label with enough digits to tell it from its
// neighbours. An empty range, or one too narrow for its magnitude to be
// split into distinct steps, gets one label; a non-finite one none.
type niceTicks struct{}

// maxTickText is the most characters of tick labels niceTicks puts along
// an axis: about what a 6-inch panel holds without labels running
// together.
const maxTickText = 64

func (niceTicks) Ticks(lo, hi float64) []plot.Tick {
	if !fmath.Finite(lo) || !fmath.Finite(hi) {
		return nil
	}
	one := []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'g', 6, 64)}}
	// Half the width: hi-lo itself overflows for ends of opposite signs
	// near ±MaxFloat64.
	half := hi/2 - lo/2
	if !(half > 0) {
		// gonum's own ticker panics on an empty range; one label says it all
		return one
	}
	base := math.Pow(10, math.Floor(math.Log10(half/5)))
	var best []plot.Tick
	for _, m := range []float64{1, 2, 5, 10, 20} {
		step := m * base
		if half/step > 5 {
			continue // more than 10 steps
		}
		ts, labels, text := ticksAt(lo, hi, step)
		if labels < 2 {
			break // too narrow to split, or the step outgrew the range
		}
		best = ts
		if text <= maxTickText {
			break
		}
	}
	if best == nil {
		return one
	}
	return best
}

// ticksAt returns the ticks of niceTicks for the multiples of step in
// [lo, hi], how many are labelled and the number of characters of their
// labels; no ticks if the multiples are not distinct float64 values (or
// step underflowed to 0).
func ticksAt(lo, hi, step float64) (ts []plot.Tick, labels, text int) {
	first, last := math.Ceil(lo/step-1e-9), math.Floor(hi/step+1e-9)
	if !(step > 0) || !(last-first <= 10) || first+1 == first {
		return nil, 0, 0
	}
	digits := 6
	if r := math.Max(math.Abs(lo), math.Abs(hi)) / step; r >= 1e5 {
		digits = min(17, 2+int(math.Log10(r)))
	}
	for i := first; i <= last; i++ {
		v := i * step
		if math.Abs(v) < 1e-9*step {
			v = 0 // no "-0" label
		}
		t := plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'g', digits, 64)}
		labels++
		text += len(t.Label)
		ts = append(ts, t)
		if h := v + step/2; h <= hi {
			ts = append(ts, plot.Tick{Value: h})
		}
	}
	if len(ts) > 0 && ts[0].Value-step/2 >= lo {
		ts = append(ts, plot.Tick{Value: ts[0].Value - step/2})
	}
	return ts, labels, text
}
