package output

import (
	"fmt"
	"image/color"
	"math"
	"slices"
	"strconv"

	"github.com/h2arnn/h2arnn/internal/fmath"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// okabeIto is the colour-blind-safe palette of the paper's figures
// (results/CW/CW_plots.ipynb), one colour per net in legend order.
var okabeIto = []color.RGBA{
	{0xE6, 0x9F, 0x00, 0xff}, {0x56, 0xB4, 0xE9, 0xff}, {0x00, 0x9E, 0x73, 0xff}, {0xF0, 0xE4, 0x42, 0xff},
	{0x00, 0x72, 0xB2, 0xff}, {0xD5, 0x5E, 0x00, 0xff}, {0xCC, 0x79, 0xA7, 0xff},
}

func netColor(k int) color.RGBA { return okabeIto[k%len(okabeIto)] }

// Draw writes the figure as pathNoExt+".png" and ".svg" (atomically), in
// the paper's layout: the A panels side by side in the top row, B and C in
// the bottom row.
func (f *Figure) Draw(pathNoExt string) error {
	top, bottom, err := f.rows()
	if err != nil {
		return err
	}
	const w, h = 11 * vg.Inch, 7.5 * vg.Inch
	return saveFigure(w, h, pathNoExt, func(dc draw.Canvas) {
		tf := plot.New().Title.TextStyle
		tf.XAlign = draw.XCenter
		title, areas := figureLayout(dc)
		dc.FillText(tf, title, f.Title)
		for r, row := range [][]*plot.Plot{top, bottom} {
			if len(row) == 0 {
				continue
			}
			tiles := draw.Tiles{Rows: 1, Cols: len(row), PadX: vg.Points(10), PadTop: vg.Points(4),
				PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8)}
			cs := plot.Align([][]*plot.Plot{row}, tiles, areas[r])
			for k, p := range row {
				p.Draw(cs[0][k])
			}
		}
	})
}

// rows builds the panels of the figure: the A panels (top row) and the
// others (bottom row), in the order of f.Panels, with drawable ranges.
func (f *Figure) rows() (top, bottom []*plot.Plot, err error) {
	for _, pn := range f.Panels {
		p, err := f.panel(pn)
		if err != nil {
			return nil, nil, err
		}
		setDrawableRanges(p)
		if pn.ID[0] == 'A' {
			top = append(top, p)
		} else {
			bottom = append(bottom, p)
		}
	}
	return top, bottom, nil
}

// figureLayout returns where a figure on c has its title (the centre of
// its baseline, a quarter inch below the top) and the areas of its two rows
// of panels, which share the height below half an inch equally.
func figureLayout(c draw.Canvas) (title vg.Point, rows [2]draw.Canvas) {
	title = vg.Point{X: (c.Min.X + c.Max.X) / 2, Y: c.Max.Y - 0.25*vg.Inch}
	half := (c.Max.Y - c.Min.Y - 0.5*vg.Inch) / 2
	for r := range rows {
		rows[r] = c
		rows[r].Max.Y = c.Min.Y + vg.Length(2-r)*half
		rows[r].Min.Y = rows[r].Max.Y - half
	}
	return title, rows
}

// panel builds one panel's plot. Log and symlog axes are drawn as linear
// axes over transformed values (as PlotFreeEnergy does), with tick labels
// in the original units.
func (f *Figure) panel(pn FigPanel) (*plot.Plot, error) {
	p := newPlot(pn.ID+"  "+pn.Title, pn.XLabel, pn.YLabel)
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(8)
	tx, ty := identity, identity
	switch {
	case pn.YLog:
		ty = math.Log10
	case pn.SymLogY > 0:
		ty = func(v float64) float64 { return symlog(v, pn.SymLogY) }
	}
	if pn.XLog {
		tx = math.Log10
	}
	ylo, yhi := math.Inf(1), math.Inf(-1)
	var xs []float64
	for _, s := range f.Series {
		if s.Panel != pn.ID {
			continue
		}
		k := slices.Index(f.Nets, s.Net)
		col := netColor(max(k, 0))
		var line, band plotter.XYs
		var upper plotter.XYs
		for _, pt := range s.Points {
			x, y := tx(pt.X), ty(pt.Y)
			if !fmath.Finite(x) || !fmath.Finite(y) {
				continue // 0 on a log axis
			}
			line = append(line, plotter.XY{X: x, Y: y})
			ylo, yhi = math.Min(ylo, y), math.Max(yhi, y)
			if !slices.Contains(xs, pt.X) {
				xs = append(xs, pt.X)
			}
			if lo, hi := ty(pt.Lo), ty(pt.Hi); fmath.Finite(lo) && fmath.Finite(hi) {
				band = append(band, plotter.XY{X: x, Y: lo})
				upper = append(upper, plotter.XY{X: x, Y: hi})
				ylo, yhi = math.Min(ylo, lo), math.Max(yhi, hi)
			}
		}
		if len(line) == 0 {
			continue
		}
		if len(band) > 1 {
			slices.Reverse(upper)
			poly, err := plotter.NewPolygon(append(band, upper...))
			if err != nil {
				return nil, err
			}
			// color.RGBA is premultiplied: a translucent fill needs NRGBA.
			poly.Color = color.NRGBA{R: col.R, G: col.G, B: col.B, A: 0x38}
			poly.LineStyle.Width = 0
			p.Add(poly)
		}
		l, err := plotter.NewLine(line)
		if err != nil {
			return nil, fmt.Errorf("figure %s panel %s series %s: %w", f.Name, pn.ID, s.Name, err)
		}
		l.Color = col
		l.Width = vg.Points(1.3)
		if s.Dashed {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(2)}
		}
		p.Add(l)
		if pn.Legend {
			p.Legend.Add(s.Name, l)
		}
	}
	if math.IsInf(ylo, 1) {
		ylo, yhi = 0, 1
	}
	switch {
	case pn.YLog:
		setLogY(p, ylo, yhi)
	case pn.SymLogY > 0:
		// The paper's error panels run from 0 (or the lowest value) up,
		// the linear part around 0 included.
		p.Y.Min, p.Y.Max = math.Min(ylo, 0), math.Max(yhi, 1)
		p.Y.Min -= 0.05 * (p.Y.Max - p.Y.Min)
		p.Y.Max += 0.15 * (p.Y.Max - p.Y.Min) // room for the legend
		p.Y.Tick.Marker = symlogTicks{pn.SymLogY}
	default:
		p.Y.Max = yhi + 0.15*(yhi-ylo)
	}
	if pn.XLog && len(xs) > 0 { // none when every y is 0 on a log axis
		slices.Sort(xs)
		p.X.Tick.Marker = valueTicks(xs)
		lo, hi := math.Log10(xs[0]), math.Log10(xs[len(xs)-1])
		pad := math.Max(0.05*(hi-lo), 0.05)
		p.X.Min, p.X.Max = lo-pad, hi+pad
	}
	return p, nil
}

func identity(v float64) float64 { return v }

// symlog maps v to the axis of matplotlib's symlog scale (linscale 1): v/t
// within [-t, t], ±(1 + log10(|v|/t)) outside, so that each decade beyond
// the threshold t takes as much room as the linear part on either side of 0.
func symlog(v, t float64) float64 {
	if math.Abs(v) <= t {
		return v / t
	}
	return math.Copysign(1+math.Log10(math.Abs(v)/t), v)
}

// symlogUnmap inverts symlog.
func symlogUnmap(y, t float64) float64 {
	if math.Abs(y) <= 1 {
		return y * t
	}
	return math.Copysign(t*math.Pow(10, math.Abs(y)-1), y)
}

// symlogTicks labels a symlog axis with threshold T: 0, ±T and every decade
// beyond, with minor ticks at 2..9 times each decade.
type symlogTicks struct{ T float64 }

func (s symlogTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	add := func(y float64, label bool) {
		if y < min || y > max {
			return
		}
		t := plot.Tick{Value: y}
		if label {
			v := symlogUnmap(y, s.T)
			t.Label = "0"
			if v != 0 {
				t.Label = strconv.FormatFloat(v, 'e', 0, 64)
			}
		}
		ts = append(ts, t)
	}
	add(0, true)
	lim := math.Max(math.Abs(min), math.Abs(max))
	for e := 1.0; e <= lim+1e-9; e++ {
		for _, sign := range []float64{1, -1} {
			add(sign*e, true)
			if e+1 <= lim+1 {
				for m := 2; m < 10; m++ {
					add(sign*(e+math.Log10(float64(m))), false)
				}
			}
		}
	}
	return ts
}

// valueTicks labels a log10 axis at the given values (e.g. the sizes N).
type valueTicks []float64

func (v valueTicks) Ticks(min, max float64) []plot.Tick {
	var ts []plot.Tick
	for _, x := range v {
		if l := math.Log10(x); l >= min && l <= max {
			ts = append(ts, plot.Tick{Value: l, Label: strconv.FormatFloat(x, 'g', -1, 64)})
		}
	}
	return ts
}
