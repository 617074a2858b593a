package output

import (
	"fmt"
	"image/color"
	"math"

	"github.com/h2arnn/h2arnn/internal/fmath"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// FitCurve is the learning curve of one fit run.
type FitCurve struct {
	Label string
	Rows  []FitRow
}

// PlotFitCurves draws the negative log-likelihood per spin against the
// epoch for every run, training rows dashed and held-out rows solid in the
// run's colour, and, in a second panel when some run has them, r(|W|, |J|)
// of its learned couplings against the epoch; it writes pathNoExt+".png"
// and ".svg". Rows with non-finite values are skipped; it is an error if
// nothing is left.
func PlotFitCurves(runs []FitCurve, pathNoExt string) error {
	ps, err := fitCurvePanels(runs)
	if err != nil {
		return err
	}
	return savePanels(ps, 6*vg.Inch, vg.Length(3*len(ps)+1)*vg.Inch, pathNoExt)
}

// fitCurvePanels builds the panels of PlotFitCurves: the NLL panel and, if
// some run has r(|W|, |J|), the correlation panel below it.
func fitCurvePanels(runs []FitCurve) ([]*plot.Plot, error) {
	p := newPlot("Learning curves: negative log-likelihood per spin", "epoch", "−ln q(x) / N  [nats]")
	pr := newPlot("Learned vs true couplings", "epoch", "r(|W|, |J|)")
	withR := 0
	drawn := 0
	// The first epochs' training NLL (of a net starting near uniform,
	// ln 2 per spin) would squeeze the rest into a line: the y axis ends at
	// the highest held-out value when there is one.
	yMax, yMin := math.Inf(-1), math.Inf(1)
	for k, r := range runs {
		var rs plotter.XYs
		for _, row := range r.Rows {
			if fmath.Finite(row.PearsonAbs) {
				rs = append(rs, plotter.XY{X: float64(row.Epoch), Y: row.PearsonAbs})
			}
		}
		if len(rs) > 0 {
			if err := addLinePoints(pr, rs, plotutil.Color(k), k, r.Label); err != nil {
				return nil, err
			}
			withR++
		}
		var train, val plotter.XYs
		for _, row := range r.Rows {
			if fmath.Finite(row.TrainNLL) {
				train = append(train, plotter.XY{X: float64(row.Epoch), Y: row.TrainNLL})
			}
			if fmath.Finite(row.ValNLL) {
				val = append(val, plotter.XY{X: float64(row.Epoch), Y: row.ValNLL})
				yMax = math.Max(yMax, row.ValNLL)
			}
			yMin = math.Min(yMin, math.Min(row.TrainNLL, row.ValNLL))
		}
		c := plotutil.Color(k)
		for _, s := range []struct {
			xy     plotter.XYs
			suffix string
			dashed bool
		}{{train, " (training)", true}, {val, " (held out)", false}} {
			if len(s.xy) == 0 {
				continue
			}
			l, err := plotter.NewLine(s.xy)
			if err != nil {
				return nil, fmt.Errorf("plot %s: %w", r.Label, err)
			}
			l.Color = c
			l.Width = vg.Points(1.2)
			if s.dashed {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
			}
			p.Add(l)
			p.Legend.Add(r.Label+s.suffix, l)
			drawn++
		}
	}
	if drawn == 0 {
		return nil, fmt.Errorf("no epoch with a finite negative log-likelihood to draw: %w", ErrNothingToDraw)
	}
	if fmath.Finite(yMax) && fmath.Finite(yMin) && yMax > yMin {
		p.Y.Min, p.Y.Max = yMin-0.05*(yMax-yMin), yMax+0.05*(yMax-yMin)
	}
	if withR == 0 {
		return []*plot.Plot{p}, nil
	}
	pr.Legend.Top, pr.Legend.Left = false, false
	return []*plot.Plot{p, pr}, nil
}

// CouplingPanel is one scatter of learned against true couplings.
type CouplingPanel struct {
	// Label names the estimator (the run's label or architecture).
	Label string
	// AbsJ and AbsW are |J_ij| and |W_ij| over the pairs i < j.
	AbsJ, AbsW []float64
	// Intercept and Slope are the least-squares line |W| = a + b|J| drawn
	// over the points, R the correlation coefficient shown in the title.
	Intercept, Slope, R float64
}

// PlotCouplings draws, for every panel, |W_ij| against |J_ij| with the
// least-squares line (the paper's Fig. 6), panels stacked vertically, and
// writes pathNoExt+".png" and ".svg".
func PlotCouplings(panels []CouplingPanel, pathNoExt string) error {
	ps, err := couplingPlots(panels)
	if err != nil {
		return err
	}
	return savePanels(ps, 6*vg.Inch, vg.Length(len(ps))*4.2*vg.Inch, pathNoExt)
}

// couplingPlots builds one panel of PlotCouplings per CouplingPanel.
func couplingPlots(panels []CouplingPanel) ([]*plot.Plot, error) {
	if len(panels) == 0 {
		return nil, fmt.Errorf("no couplings to draw: %w", ErrNothingToDraw)
	}
	ps := make([]*plot.Plot, 0, len(panels))
	for _, pn := range panels {
		if len(pn.AbsJ) == 0 || len(pn.AbsJ) != len(pn.AbsW) {
			return nil, fmt.Errorf("%s: %d true and %d learned couplings", pn.Label, len(pn.AbsJ), len(pn.AbsW))
		}
		p := newPlot(fmt.Sprintf("%s: learned vs true couplings, r(|W|, |J|) = %.3f", pn.Label, pn.R), "|J_ij|  (true)", "|W_ij|  (learned)")
		// The points fill the diagonal; the lower right corner is free.
		p.Legend.Top, p.Legend.Left = false, false
		pts := make(plotter.XYs, len(pn.AbsJ))
		xmax := 0.0
		for k := range pts {
			pts[k] = plotter.XY{X: pn.AbsJ[k], Y: pn.AbsW[k]}
			xmax = math.Max(xmax, pn.AbsJ[k])
		}
		s, err := plotter.NewScatter(pts)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", pn.Label, err)
		}
		s.Color = color.NRGBA{R: 31, G: 119, B: 180, A: 90}
		s.Shape = draw.CircleGlyph{}
		s.Radius = vg.Points(1.4)
		p.Add(s)
		p.Legend.Add(fmt.Sprintf("pairs i < j (%d)", len(pts)), s)
		if fmath.Finite(pn.Slope) && fmath.Finite(pn.Intercept) {
			l, err := plotter.NewLine(plotter.XYs{{X: 0, Y: pn.Intercept}, {X: xmax, Y: pn.Intercept + pn.Slope*xmax}})
			if err != nil {
				return nil, err
			}
			l.Color = color.RGBA{R: 214, G: 39, B: 40, A: 255}
			l.Width = vg.Points(1.5)
			p.Add(l)
			p.Legend.Add(fmt.Sprintf("least squares: |W| = %.3g + %.3g |J|", pn.Intercept, pn.Slope), l)
		}
		p.X.Min, p.Y.Min = 0, 0
		ps = append(ps, p)
	}
	return ps, nil
}
