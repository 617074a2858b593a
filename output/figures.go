package output

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/h2arnn/h2arnn/internal/grid"
)

// FigPoint is one point of a figure series: (X, Y) and, for a mean over
// instances, its 95 % interval [Lo, Hi] (NaN when there is none).
type FigPoint struct{ X, Y, Lo, Hi float64 }

// FigSeries is one line of one panel.
type FigSeries struct {
	// Panel is the panel's ID (see FigPanel).
	Panel string
	// Name is the legend entry; Net the label of the net drawn (it picks
	// the colour), Dashed draws the line dashed.
	Name, Net string
	Dashed    bool
	Points    []FigPoint
}

// FigPanel is one panel of a figure.
type FigPanel struct {
	// ID is "A1", "A2", ... (top row), "B" or "C" (bottom row).
	ID, Title, XLabel, YLabel string
	// XLog and YLog draw the axis logarithmically; SymLogY > 0 draws y
	// linearly within ±SymLogY and logarithmically outside, as the paper's
	// error panels do.
	XLog, YLog bool
	SymLogY    float64
	// Legend shows the panel's legend.
	Legend bool
}

// Figure is the data of one of the paper's figures, as drawn.
type Figure struct {
	Name, Title string
	Panels      []FigPanel
	Series      []FigSeries
	// Nets are the net labels in legend order; a net's colour is its
	// index here.
	Nets []string
}

// SymLogThreshold is where the paper's error axes switch from linear to
// logarithmic (matplotlib's symlog with linthresh 1e-4 in
// results/CW/CW_plots.ipynb and results/SK/SK_plots.ipynb).
const SymLogThreshold = 1e-4

// PaperFigure computes the panels of one of the paper's Figures 4 and 5
// from the tidy rows and runs of its grid, laid out as l says; nets gives
// the legend order. Panels:
//
//   - A1, A2, ...: for each N of l.PanelNs, the error of f against β per
//     net: (f - f_exact)/|f_exact| without a reference net, else
//     (f - f_ref)/|f_ref| against the net l.Reference of the same instance;
//     with several instances, their mean and its 95 % Student-t interval;
//   - B: with l.ScalingNets, the mean and the maximum over β of the
//     absolute error against N for those nets (Figure 4); without, the
//     number of parameters of every net against N (Figure 5);
//   - C: P(q) at N = l.OverlapN and the stored β nearest to l.OverlapBeta
//     (mean over instances with its interval), folded onto q ≥ 0 as
//     (P(q) + P(-q))/2 if l.FoldOverlaps.
//
// Points come in the order of β, N or q. A net without data in a panel has
// no series there.
func PaperFigure(name string, rows []TidyRow, runs []GridRun, l grid.Layout, nets []string) *Figure {
	f := &Figure{Name: name, Nets: nets}
	errName, errLabel := "relative error against the exact f", "(f − f_exact) / |f_exact|"
	if l.Reference != "" {
		errName, errLabel = "relative difference to "+l.Reference, "(f − f_"+l.Reference+") / |f_"+l.Reference+"|"
	}
	f.Title = name + ": " + errName
	errOf := func(r TidyRow) float64 {
		if l.Reference != "" {
			return r.RelDiff
		}
		return r.RelErr
	}
	for k, n := range l.PanelNs {
		id := "A" + strconv.Itoa(k+1)
		f.Panels = append(f.Panels, FigPanel{ID: id, Title: "N = " + strconv.Itoa(n), XLabel: labelBeta, YLabel: errLabel,
			SymLogY: SymLogThreshold})
		for _, net := range nets {
			byBeta := map[string][]float64{}
			var betas []float64
			for _, r := range rows {
				if r.N != n || r.Label != net || math.IsNaN(errOf(r)) {
					continue
				}
				key := betaKey(r.Beta)
				if _, ok := byBeta[key]; !ok {
					betas = append(betas, r.Beta)
				}
				byBeta[key] = append(byBeta[key], errOf(r))
			}
			slices.Sort(betas)
			s := FigSeries{Panel: id, Name: net, Net: net}
			for _, b := range betas {
				m, lo, hi := meanInterval(byBeta[betaKey(b)])
				s.Points = append(s.Points, FigPoint{X: b, Y: m, Lo: lo, Hi: hi})
			}
			if len(s.Points) > 0 {
				f.Series = append(f.Series, s)
			}
		}
	}
	if len(l.ScalingNets) > 0 {
		f.Panels = append(f.Panels, FigPanel{ID: "B", Title: "mean (solid) and maximum (dashed) over β", XLabel: "number of spins N",
			YLabel: "|" + errLabel + "|", XLog: true, YLog: true, Legend: true})
		for _, net := range l.ScalingNets {
			mean := FigSeries{Panel: "B", Name: net + " mean", Net: net}
			worst := FigSeries{Panel: "B", Name: net + " max", Net: net, Dashed: true}
			for _, n := range sizes(rows, net) {
				var abs []float64
				for _, r := range rows {
					if r.N == n && r.Label == net && !math.IsNaN(errOf(r)) {
						abs = append(abs, math.Abs(errOf(r)))
					}
				}
				if len(abs) == 0 {
					continue
				}
				mean.Points = append(mean.Points, FigPoint{X: float64(n), Y: stat.Mean(abs, nil), Lo: math.NaN(), Hi: math.NaN()})
				worst.Points = append(worst.Points, FigPoint{X: float64(n), Y: slices.Max(abs), Lo: math.NaN(), Hi: math.NaN()})
			}
			if len(mean.Points) > 0 {
				f.Series = append(f.Series, mean, worst)
			}
		}
	} else {
		f.Panels = append(f.Panels, FigPanel{ID: "B", Title: "size of the nets", XLabel: "number of spins N", YLabel: "parameters",
			XLog: true, YLog: true, Legend: true})
		for _, net := range nets {
			s := FigSeries{Panel: "B", Name: net, Net: net}
			for _, n := range sizes(rows, net) {
				for _, r := range rows {
					if r.N == n && r.Label == net && r.Params > 0 {
						s.Points = append(s.Points, FigPoint{X: float64(n), Y: float64(r.Params), Lo: math.NaN(), Hi: math.NaN()})
						break
					}
				}
			}
			if len(s.Points) > 0 {
				f.Series = append(f.Series, s)
			}
		}
	}
	c := FigPanel{ID: "C", XLabel: "overlap q", YLabel: "P(q)", Legend: true}
	usedBeta := math.NaN()
	for _, net := range nets {
		var hists [][]float64
		for _, r := range runs {
			if r.N != l.OverlapN || r.Label != net {
				continue
			}
			b, ok := nearestBeta(r.Run.Overlaps, l.OverlapBeta)
			if !ok || !drawable(r.Run.Overlaps[b]) {
				continue
			}
			h := r.Run.Overlaps[b]
			if len(hists) > 0 && len(h) != len(hists[0]) {
				continue // another binning cannot be averaged with the first
			}
			hists = append(hists, h)
			usedBeta = b
		}
		if len(hists) == 0 {
			continue
		}
		s := FigSeries{Panel: "C", Name: net, Net: net}
		nb := len(hists[0])
		for k := range nb {
			lo, hi := binEdges(k, nb)
			x := (lo + hi) / 2
			mirror := nb - 1 - k
			if l.FoldOverlaps && mirror > k {
				continue // q < 0: folded onto its mirror bin
			}
			vals := make([]float64, len(hists))
			for i, h := range hists {
				vals[i] = h[k]
				if l.FoldOverlaps {
					vals[i] = (h[k] + h[mirror]) / 2
				}
			}
			m, lo95, hi95 := meanInterval(vals)
			s.Points = append(s.Points, FigPoint{X: x, Y: m, Lo: lo95, Hi: hi95})
		}
		f.Series = append(f.Series, s)
	}
	c.Title = fmt.Sprintf("N = %d, β = %s", l.OverlapN, fmtG(usedBeta))
	if l.FoldOverlaps {
		c.XLabel, c.YLabel = "overlap q ≥ 0", "(P(q) + P(−q)) / 2"
	}
	f.Panels = append(f.Panels, c)
	return f
}

// sizes returns the N at which net has rows, ascending.
func sizes(rows []TidyRow, net string) []int {
	var ns []int
	for _, r := range rows {
		if r.Label == net && !slices.Contains(ns, r.N) {
			ns = append(ns, r.N)
		}
	}
	slices.Sort(ns)
	return ns
}

// meanInterval returns the mean of vs and its 95 % confidence interval
// mean ± t(0.975, n-1)·s/√n (Student's t, s the sample standard
// deviation); with one value, the value and NaN bounds.
func meanInterval(vs []float64) (mean, lo, hi float64) {
	if len(vs) == 1 {
		return vs[0], math.NaN(), math.NaN()
	}
	m, sd := stat.MeanStdDev(vs, nil)
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(vs) - 1)}.Quantile(0.975)
	h := t * sd / math.Sqrt(float64(len(vs)))
	return m, m - h, m + h
}

// FigureColumns are the columns of a figure's CSV.
var FigureColumns = []string{"panel", "series", "x", "y", "y_low", "y_high"}

// WriteCSV writes the figure's points, one line per point (header
// FigureColumns; y_low and y_high nan without an interval).
func (f *Figure) WriteCSV(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString("panel,series,x,y,y_low,y_high\n")
	var b []byte
	for _, s := range f.Series {
		for _, p := range s.Points {
			b = append(b[:0], s.Panel...)
			b = append(append(append(b, ','), s.Name...), ',')
			b = append(appendFloats(b, p.X, p.Y, p.Lo, p.Hi), '\n')
			if _, err := bw.Write(b); err != nil {
				return err
			}
		}
	}
	return bw.Flush()
}

// CouplingFigure is the data of Figure 6 as PlotCouplings draws it: for
// each panel (one per estimator, the panel ID its label) the series
// "pairs" of (|J_ij|, |W_ij|) and the series "least squares" of the
// fitted line's two ends, at |J| = 0 and at the largest |J|.
func CouplingFigure(name string, panels []CouplingPanel) *Figure {
	f := &Figure{Name: name, Title: name + ": learned against true couplings"}
	nan := math.NaN()
	for _, pn := range panels {
		f.Panels = append(f.Panels, FigPanel{ID: pn.Label, Title: pn.Label, XLabel: "|J_ij|", YLabel: "|W_ij|"})
		pairs := FigSeries{Panel: pn.Label, Name: "pairs", Net: pn.Label}
		xmax := 0.0
		for k := range pn.AbsJ {
			pairs.Points = append(pairs.Points, FigPoint{X: pn.AbsJ[k], Y: pn.AbsW[k], Lo: nan, Hi: nan})
			xmax = math.Max(xmax, pn.AbsJ[k])
		}
		line := FigSeries{Panel: pn.Label, Name: "least squares", Net: pn.Label, Points: []FigPoint{
			{X: 0, Y: pn.Intercept, Lo: nan, Hi: nan}, {X: xmax, Y: pn.Intercept + pn.Slope*xmax, Lo: nan, Hi: nan}}}
		f.Series = append(f.Series, pairs, line)
	}
	return f
}
