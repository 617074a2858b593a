package output

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/h2arnn/h2arnn/internal/fmath"
	"github.com/h2arnn/h2arnn/model"
)

// plotDir is where the plot tests write; set H2ARNN_PLOT_DIR to keep the
// figures for a look (they go to a temporary directory otherwise).
func plotDir(t *testing.T) string {
	if d := os.Getenv("H2ARNN_PLOT_DIR"); d != "" {
		if err := CheckWritable(d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// demoRuns returns three runs shaped like CW results: an exact one whose
// error is at float64 rounding (some exactly 0), one with an error peak near
// β = 1.2, and one without an exact reference.
func demoRuns() []Run {
	var runs []Run
	for k, name := range []string{"cw_n", "1p", "made"} {
		r := Run{Label: name, Overlaps: map[float64][]float64{}}
		for i := 0; i < 39; i++ {
			beta := 0.1 + 0.05*float64(i)
			exact := -math.Ln2/beta - 0.5*math.Max(0, math.Tanh(3*(beta-1)))
			var f float64
			switch k {
			case 0:
				f = exact * (1 + float64(i%3)*1e-16)
			case 1:
				f = exact * (1 - 0.02*math.Exp(-20*(beta-1.2)*(beta-1.2)) - 1e-5)
			case 2:
				f = exact * (1 - 0.004*math.Exp(-10*(beta-1.3)*(beta-1.3)) - 1e-4)
			}
			row := StatsRow{Beta: beta, Stats: model.Stats{F: f, FStd: math.Abs(f-exact) + 1e-6}, Steps: 1000}
			if k < 2 {
				row.SetExact(exact)
			}
			r.Stats = append(r.Stats, row)
		}
		for _, beta := range []float64{1.3, 2} {
			h := make([]float64, 100)
			sum := 0.0
			for b := range h {
				q := -1 + 0.02*(float64(b)+0.5)
				switch k {
				case 0, 2:
					h[b] = math.Exp(-(q-0.65)*(q-0.65)/0.01) + math.Exp(-(q+0.65)*(q+0.65)/0.01)
				case 1:
					h[b] = math.Exp(-q * q / 0.02)
				}
				sum += h[b] * 0.02
			}
			for b := range h {
				h[b] /= sum
			}
			r.Overlaps[beta] = h
		}
		runs = append(runs, r)
	}
	return runs
}

func checkImages(t *testing.T, pathNoExt string) {
	t.Helper()
	png, err := os.ReadFile(pathNoExt + ".png")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 10000 {
		t.Errorf("%s.png: %d bytes, starts %q", pathNoExt, len(png), png[:min(8, len(png))])
	}
	svg, err := os.ReadFile(pathNoExt + ".svg")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(svg, []byte("<?xml")) || !bytes.Contains(svg, []byte("<svg")) || !bytes.HasSuffix(bytes.TrimSpace(svg), []byte("</svg>")) {
		t.Errorf("%s.svg: %d bytes, starts %q", pathNoExt, len(svg), svg[:min(40, len(svg))])
	}
}

func TestPlotFreeEnergy(t *testing.T) {
	dir := plotDir(t)
	runs := demoRuns()
	if err := PlotFreeEnergy(runs, filepath.Join(dir, "free_energy")); err != nil {
		t.Fatal(err)
	}
	checkImages(t, filepath.Join(dir, "free_energy"))
	svg, _ := os.ReadFile(filepath.Join(dir, "free_energy.svg"))
	for _, want := range []string{"cw_n", "1p", "made", "exact", "Relative error", "1e-16", "1e-02"} {
		if !strings.Contains(string(svg), want) {
			t.Errorf("free_energy.svg lacks %q", want)
		}
	}
	// Without any exact reference the lower panel shows f_std.
	if err := PlotFreeEnergy(runs[2:], filepath.Join(dir, "free_energy_noexact")); err != nil {
		t.Fatal(err)
	}
	checkImages(t, filepath.Join(dir, "free_energy_noexact"))
	svg, _ = os.ReadFile(filepath.Join(dir, "free_energy_noexact.svg"))
	if !strings.Contains(string(svg), "std of per-sample") || strings.Contains(string(svg), "Relative error") {
		t.Error("no-exact plot does not show f_std in place of the relative error")
	}
	if err := PlotFreeEnergy(nil, filepath.Join(dir, "none")); err == nil {
		t.Error("plot of no runs accepted")
	}
	if err := PlotFreeEnergy([]Run{{Label: "x", Stats: []StatsRow{{Beta: 1, Stats: model.Stats{F: math.NaN()}}}}}, filepath.Join(dir, "none")); err == nil {
		t.Error("plot of only NaN rows accepted")
	}
	if _, err := os.Stat(filepath.Join(dir, "none.png")); err == nil {
		t.Error("failed plot left a file")
	}
}

// TestPlotNISPanel: with unbiased estimates the figure gets a third panel;
// its points are the variational and NIS free energies minus the exact one
// (minus the NIS one without an exact reference), with the NIS standard
// errors as bars, and rows without estimates are left out.
func TestPlotNISPanel(t *testing.T) {
	dir := plotDir(t)
	runs := demoRuns()
	for k := range runs {
		for i := range runs[k].Stats {
			if i%4 == 3 {
				continue
			}
			s := &runs[k].Stats[i]
			s.Estimates = &Estimates{}
			if s.Exact != nil {
				s.FNIS = s.F - 0.9*(s.F-s.FExact)
			} else {
				s.FNIS = s.F - 1e-3
			}
			s.FNISErr = 2e-4 + 1e-5*float64(i)
		}
	}
	v, n, e := nisGap(runs[1].Stats, true)
	if len(v) != 30 || len(n) != 30 || len(e) != 30 {
		t.Fatalf("%d, %d, %d points, want 30 (39 rows, every fourth without estimates)", len(v), len(n), len(e))
	}
	s := runs[1].Stats[5]
	if v[4].X != s.Beta || v[4].Y != s.F-s.FExact || n[4].Y != s.FNIS-s.FExact || e[4] != s.FNISErr {
		t.Errorf("point 4: %v %v ± %v, want β %v, %v, %v ± %v", v[4], n[4], e[4], s.Beta, s.F-s.FExact, s.FNIS-s.FExact, s.FNISErr)
	}
	if v, _, _ := nisGap(runs[2].Stats, true); len(v) != 0 {
		t.Errorf("a run without exact values gave %d gap points against the exact f", len(v))
	}
	v, n, _ = nisGap(runs[2].Stats, false)
	if len(v) != 30 || n[0].Y != 0 || math.Abs(v[0].Y-1e-3) > 1e-12 {
		t.Errorf("no exact reference: variational %v, NIS %v; want 1e-3 above 0", v[:1], n[:1])
	}
	var rows [][]StatsRow
	for _, r := range demoRuns() {
		rows = append(rows, r.Stats)
	}
	if p, err := nisPanel(rows, true); p != nil || err != nil {
		t.Errorf("runs without estimates gave a panel (%v)", err)
	}
	if err := PlotFreeEnergy(runs, filepath.Join(dir, "free_energy_nis")); err != nil {
		t.Fatal(err)
	}
	checkImages(t, filepath.Join(dir, "free_energy_nis"))
	svg, _ := os.ReadFile(filepath.Join(dir, "free_energy_nis.svg"))
	if !strings.Contains(string(svg), "NIS ±1 SE (bars) minus the exact f") {
		t.Error("free_energy_nis.svg has no NIS panel")
	}
	if err := PlotFreeEnergy(runs[2:], filepath.Join(dir, "free_energy_nis_noexact")); err != nil {
		t.Fatal(err)
	}
	svg, _ = os.ReadFile(filepath.Join(dir, "free_energy_nis_noexact.svg"))
	if !strings.Contains(string(svg), "above the NIS estimate") {
		t.Error("free_energy_nis_noexact.svg has no NIS panel relative to NIS")
	}
}

func TestPlotOverlaps(t *testing.T) {
	dir := plotDir(t)
	runs := demoRuns()
	runs = append(runs, Run{Label: "no overlaps"}, Run{Label: "undefined overlaps", Overlaps: map[float64][]float64{1.3: {math.NaN(), math.NaN()}}})
	if err := PlotOverlaps(runs, 1.31, filepath.Join(dir, "overlaps")); err != nil {
		t.Fatal(err)
	}
	checkImages(t, filepath.Join(dir, "overlaps"))
	svg, _ := os.ReadFile(filepath.Join(dir, "overlaps.svg"))
	if !strings.Contains(string(svg), "at β = 1.3<") || strings.Contains(string(svg), "no overlaps") || strings.Contains(string(svg), "undefined") {
		t.Error("title does not give the β used, or the legend lists a run without histograms")
	}
	// Runs stored at different β: each legend entry says which.
	runs[0].Overlaps = map[float64][]float64{0.5: runs[0].Overlaps[1.3]}
	if err := PlotOverlaps(runs, 1.31, filepath.Join(dir, "overlaps_mixed")); err != nil {
		t.Fatal(err)
	}
	svg, _ = os.ReadFile(filepath.Join(dir, "overlaps_mixed.svg"))
	if !strings.Contains(string(svg), "cw_n (β = 0.5)") || !strings.Contains(string(svg), "1p (β = 1.3)") {
		t.Error("mixed-β legend does not give each run's β")
	}
	if err := PlotOverlaps(runs[3:], 1.3, filepath.Join(dir, "none")); err == nil {
		t.Error("plot without any histogram accepted")
	}
}

func TestRunLabels(t *testing.T) {
	got := runLabels([]Run{{Label: "a", Dir: "x/a1"}, {Label: "a", Dir: "y/a2"}, {Label: "b"}, {}})
	want := []string{"a (x/a1)", "a (y/a2)", "b", "run 4"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("labels %q, want %q", got, want)
	}
	b, ok := nearestBeta(map[float64][]float64{1.3: nil, 1.35: nil, 2: nil}, 1.33)
	if !ok || b != 1.35 {
		t.Errorf("nearest to 1.33: %v", b)
	}
}

// checkSVG parses pathNoExt.svg as XML to the end, checks that no
// coordinate is NaN or infinite, and decodes pathNoExt.png.
func checkSVG(t *testing.T, pathNoExt string) string {
	t.Helper()
	b, err := os.ReadFile(pathNoExt + ".svg")
	if err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s.svg is not well-formed XML: %v", pathNoExt, err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			for _, a := range se.Attr {
				if strings.Contains(a.Value, "NaN") || strings.Contains(a.Value, "Inf") {
					t.Fatalf("%s.svg: <%s %s=%q>", pathNoExt, se.Name.Local, a.Name.Local, a.Value)
				}
			}
		}
	}
	f, err := os.Open(pathNoExt + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Fatalf("%s.png: %v", pathNoExt, err)
	}
	return string(b)
}

// withTimeout fails the test if f does not return within a minute (a
// ticker looping forever is one of the failures looked for).
func withTimeout(t *testing.T, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("%s: still running after a minute", what)
	}
}

// TestPlotExtremeBetas: β all equal and huge (one β of 1e16, where
// gonum's widening of an empty axis by ±1 is lost to rounding and every
// coordinate was NaN), β distinct only in the last bit at 1e16 and β up
// to MaxFloat64 (where the ticker looped forever), one ordinary β, and f
// at ±1e300: every figure is drawn, with finite coordinates, and its data
// point inside the panel.
func TestPlotExtremeBetas(t *testing.T) {
	dir := plotDir(t)
	for _, c := range []struct {
		name  string
		betas []float64
		f     func(i int) float64
	}{
		{"equal_1e16", []float64{1e16}, func(int) float64 { return -0.5 }},
		{"next_1e16", []float64{1e16, math.Nextafter(1e16, 2e16)}, func(i int) float64 { return -0.5 - float64(i) }},
		{"to_max", []float64{1, math.MaxFloat64}, func(i int) float64 { return -0.5 - float64(i) }},
		{"one", []float64{1}, func(int) float64 { return -0.5 }},
		{"huge_f", []float64{1, 2}, func(i int) float64 { return []float64{-1e300, 1e300}[i] }},
		{"extreme_f", []float64{1, 2}, func(i int) float64 { return []float64{-math.MaxFloat64, math.MaxFloat64}[i] }},
	} {
		var r Run
		r.Label = c.name
		r.Overlaps = map[float64][]float64{c.betas[0]: {0.5, 1.5}}
		for i, b := range c.betas {
			row := StatsRow{Beta: b, Stats: model.Stats{F: c.f(i), FStd: 0.1}}
			row.SetExact(-0.75)
			r.Stats = append(r.Stats, row)
		}
		base := filepath.Join(dir, "extreme_"+c.name)
		withTimeout(t, c.name, func() {
			if err := PlotFreeEnergy([]Run{r}, base); err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			if err := PlotOverlaps([]Run{r}, c.betas[0], base+"_pq"); err != nil {
				t.Errorf("%s: P(q): %v", c.name, err)
			}
		})
		if t.Failed() {
			return
		}
		checkSVG(t, base)
		checkSVG(t, base+"_pq")
		// The axis the figure draws holds every β strictly inside.
		fig, _ := freeEnergyData([]Run{r})
		p := plot.New()
		if err := addLinePoints(p, fig.series[0].f, color.Black, 0, ""); err != nil {
			t.Fatal(err)
		}
		setDrawableRanges(p)
		for _, b := range c.betas {
			if x := p.X.Norm(b); !(x >= 0 && x <= 1) {
				t.Errorf("%s: β %v at %v of the axis [%v, %v]", c.name, b, x, p.X.Min, p.X.Max)
			}
		}
	}
}

// TestDrawableRange: ranges gonum can draw are kept; empty ones and ones
// too narrow for their magnitude are widened to ±10 % (±1 around 0 and
// for subnormal values), ones wider than MaxFloat64 cut to ±MaxFloat64/2;
// non-finite and reversed ones are left to gonum.
func TestDrawableRange(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range []struct{ lo, hi, wantLo, wantHi float64 }{
		{1, 2, 1, 2},
		{-1, -1 + 1e-11, -1, -1 + 1e-11},
		{1e16, 1e16, 0.9e16, 1.1e16},
		{1e16, 1e16 + 2, 0.9e16, 1.1e16},
		{-3, -3, -3.3, -2.7},
		{0, 0, -1, 1},
		{5e-324, 5e-324, 5e-324 - 1, 5e-324 + 1},
		{1e-300, 1e-300, 0.9e-300, 1.1e-300},
		{inf, -inf, inf, -inf},
		{2, 1, 2, 1},
		{math.NaN(), 1, math.NaN(), 1},
		{-math.MaxFloat64, math.MaxFloat64, -math.MaxFloat64 / 2, math.MaxFloat64 / 2},
		{-math.MaxFloat64, 0, -math.MaxFloat64, 0},
	} {
		lo, hi := drawableRange(c.lo, c.hi)
		same := func(a, b float64) bool {
			return a == b || math.Abs(a-b) <= 1e-15*math.Abs(b) || (math.IsNaN(a) && math.IsNaN(b))
		}
		if !same(lo, c.wantLo) || !same(hi, c.wantHi) {
			t.Errorf("drawableRange(%v, %v) = [%v, %v], want [%v, %v]", c.lo, c.hi, lo, hi, c.wantLo, c.wantHi)
		}
	}
}

// TestNiceTicksExtreme: ranges up to ±MaxFloat64 get at most 11 finite,
// distinctly labelled ticks; ranges too narrow for their magnitude one
// label; long labels are spread out so that they do not run together.
func TestNiceTicksExtreme(t *testing.T) {
	for _, c := range []struct {
		lo, hi float64
		labels int // 0: between 2 and 11
	}{
		{1, math.MaxFloat64, 0},
		{-math.MaxFloat64, math.MaxFloat64, 0},
		{1e16, 1e16 + 2, 1},
		{0, 5e-324, 1},
		{1e16, 1e16 + 1e5, 0},
		{0.9e16, 1.1e16, 5},
	} {
		var ts []plot.Tick
		withTimeout(t, fmt.Sprintf("Ticks(%v, %v)", c.lo, c.hi), func() { ts = niceTicks{}.Ticks(c.lo, c.hi) })
		labels, _ := tickSet(ts)
		text := map[string]bool{}
		chars := 0
		for v, l := range labels {
			// A label may sit a rounding error (1e-9 of a step) outside.
			if slack := 1e-10 * (c.hi/2 - c.lo/2); !fmath.Finite(v) || v < c.lo-slack || v > c.hi+slack {
				t.Errorf("[%v, %v]: tick at %v", c.lo, c.hi, v)
			}
			text[l] = true
			chars += len(l)
		}
		n := len(labels)
		if (c.labels == 0 && (n < 2 || n > 11)) || (c.labels > 0 && n != c.labels) || len(text) != n || chars > maxTickText {
			t.Errorf("[%v, %v]: labels %v (%d characters)", c.lo, c.hi, labels, chars)
		}
	}
}

// TestPlotSkippedRows: non-finite β or f are left out, a repeated β is
// drawn once with its last row, rows in any order are drawn in the order
// of β, and each kind of row left out is said once per run; the lower and
// NIS panels say what they cannot draw.
func TestPlotSkippedRows(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	row := func(beta, f, fstd float64) StatsRow {
		return StatsRow{Beta: beta, Stats: model.Stats{F: f, FStd: fstd}}
	}
	a := []StatsRow{row(2, -0.8, 0.1), row(1, -1, 0.1), row(nan, -1, 0.1), row(1.5, inf, 0.1), row(inf, -2, 0.1),
		row(1, -1.1, 0.1), row(0, -3, -1), row(3, nan, 0.1)}
	b := []StatsRow{row(1, -1, 0.1), row(2, -0.9, 0.1)}
	b[0].SetExact(0) // relative error undefined
	b[1].SetExact(-0.8)
	b[1].Estimates = &Estimates{FNIS: -0.85, FNISErr: nan}
	runs := []Run{{Label: "a", Stats: a}, {Label: "b\x01", Stats: b}}
	fig, err := freeEnergyData(runs)
	if err != nil {
		t.Fatal(err)
	}
	if want := (plotter.XYs{{X: 0, Y: -3}, {X: 1, Y: -1.1}, {X: 2, Y: -0.8}}); !xyEqual(fig.series[0].f, want) {
		t.Errorf("run a: %v, want %v", fig.series[0].f, want)
	}
	want := []string{
		`run "a": 4 rows with a non-finite β or f not drawn`,
		`run "a": 1 row repeating an earlier β not drawn (the last row of each β is)`,
		`run "b\x01": 1 row with an undefined relative error (f_exact 0 or not finite) not drawn in the lower panel`,
		`run "b\x01": 1 row with undefined NIS estimates not drawn in the NIS panel`,
	}
	if got := FreeEnergyNotes(runs); !slices.Equal(got, want) {
		t.Errorf("notes\n%q\nwant\n%q", got, want)
	}
	// Without a reference the lower panel shows f_std; β = 0 has -1.
	if got := FreeEnergyNotes(runs[:1]); !slices.Contains(got, `run "a": 1 row with an undefined f_std (negative or not finite) not drawn in the lower panel`) {
		t.Errorf("notes %q lack the negative f_std", got)
	}
	if got := FreeEnergyNotes(demoRuns()); got != nil {
		t.Errorf("clean runs: notes %q", got)
	}
	dir := plotDir(t)
	if err := PlotFreeEnergy(runs, filepath.Join(dir, "skipped")); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, filepath.Join(dir, "skipped"))
	if err := PlotFreeEnergy([]Run{{Stats: a[2:5]}}, filepath.Join(dir, "none")); !errors.Is(err, ErrNothingToDraw) {
		t.Errorf("only non-finite rows: %v, want ErrNothingToDraw", err)
	}
}

// TestPlotOverlapNotes: a run whose nearest histogram is undefined is
// named once; a NaN β (or a NaN key) matches no histogram, whatever the
// map order.
func TestPlotOverlapNotes(t *testing.T) {
	runs := []Run{
		{Label: "a", Overlaps: map[float64][]float64{1: {1, 1}}},
		{Label: "b", Overlaps: map[float64][]float64{1: {nan(), nan()}}},
		{Label: "c"},
	}
	if got, want := OverlapsNotes(runs, 1), []string{`run "b": P(q) at β = 1 is undefined (NaN) or empty, not drawn`}; !slices.Equal(got, want) {
		t.Errorf("notes %q, want %q", got, want)
	}
	if err := PlotOverlaps(runs, math.NaN(), filepath.Join(t.TempDir(), "pq")); !errors.Is(err, ErrNothingToDraw) {
		t.Errorf("β NaN: %v", err)
	}
	m := map[float64][]float64{nan(): {1}, 1: {1}, nan(): {1}, 3: {1}}
	for range 50 {
		if b, ok := nearestBeta(m, 1.4); !ok || b != 1 {
			t.Fatalf("nearest to 1.4 among NaN, NaN, 1, 3: %v %v", b, ok)
		}
	}
}

func nan() float64 { return math.NaN() }

// TestPlotLabelsXML: labels with control characters, invalid UTF-8, XML
// specials and characters XML forbids give well-formed SVG and a readable
// PNG in every figure, the control characters written as escapes.
func TestPlotLabelsXML(t *testing.T) {
	dir := plotDir(t)
	nasty := "a\x01b\x7f<&>\"'\xff\xfe\ufffe\t\r\nend"
	runs := demoRuns()
	runs[0].Label = nasty
	runs[1].Label, runs[1].Dir = "dup", "dir\x1b[31m"
	runs[2].Label, runs[2].Dir = "dup", "other"
	base := filepath.Join(dir, "labels")
	if err := PlotFreeEnergy(runs, base); err != nil {
		t.Fatal(err)
	}
	svg := checkSVG(t, base)
	for _, want := range []string{`a\x01b\x7f&lt;&amp;&gt;`, "\ufffd\ufffd\\ufffe\\t\\r", "end", `dup (dir\x1b[31m)`} {
		if !strings.Contains(svg, want) {
			t.Errorf("free_energy.svg lacks %q", want)
		}
	}
	if err := PlotOverlaps(runs, 1.3, base+"_pq"); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, base+"_pq")
	rows := []FitRow{{Epoch: 1, TrainNLL: 0.7, ValNLL: 0.71, PearsonAbs: 0.5}, {Epoch: 2, TrainNLL: 0.6, ValNLL: 0.65, PearsonAbs: 0.6}}
	if err := PlotFitCurves([]FitCurve{{Label: nasty, Rows: rows}}, base+"_fit"); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, base+"_fit")
	if err := PlotCouplings([]CouplingPanel{{Label: nasty, AbsJ: []float64{0.1, 0.2}, AbsW: []float64{0.1, 0.3}, Slope: 2}}, base+"_cp"); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, base+"_cp")
	f := CouplingFigure(nasty, []CouplingPanel{{Label: nasty, AbsJ: []float64{0.1, 0.2}, AbsW: []float64{0.1, 0.3}, Slope: 2}})
	if err := f.Draw(base + "_fig"); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, base+"_fig")
	if got := plotText("plain β ≥ 0"); got != "plain β ≥ 0" {
		t.Errorf("plotText changed a plain label: %q", got)
	}
}

// TestFigureLogAxisNoPoint: a log-log panel whose every value is 0 (an
// exact net's error) has no point to draw, which must not stop the figure.
func TestFigureLogAxisNoPoint(t *testing.T) {
	f := &Figure{Name: "fig4", Title: "t", Nets: []string{"cw_n"},
		Panels: []FigPanel{{ID: "A1"}, {ID: "B", XLog: true, YLog: true, Legend: true}},
		Series: []FigSeries{{Panel: "B", Name: "cw_n mean", Net: "cw_n", Points: []FigPoint{{X: 10, Y: 0, Lo: nan(), Hi: nan()}, {X: 20, Y: 0, Lo: nan(), Hi: nan()}}}}}
	base := filepath.Join(t.TempDir(), "fig")
	if err := f.Draw(base); err != nil {
		t.Fatal(err)
	}
	checkSVG(t, base)
}

// TestSaveFigurePanic: a panic while drawing is an error naming the file,
// and nothing is written.
func TestSaveFigurePanic(t *testing.T) {
	base := filepath.Join(t.TempDir(), "fig")
	err := saveFigure(vg.Inch, vg.Inch, base, func(draw.Canvas) { panic("boom") })
	if err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), base+".png") {
		t.Errorf("err %v", err)
	}
	if names, _ := filepath.Glob(base + "*"); len(names) != 0 {
		t.Errorf("files written: %v", names)
	}
}

// TestPlotDetails pins what the figures' smaller rules say: an NIS error
// of 0 is drawn and a negative one is not; a zero f_std is drawn at 2^-53·|f|;
// NIS points of k runs sit side by side around their β; the P(q) panel
// spans q ∈ [-1, 1] and densities from 0 to yMax; an empty histogram is not
// drawable; runs with one label and no directory are numbered.
func TestPlotDetails(t *testing.T) {
	s := StatsRow{Beta: 1, Stats: model.Stats{F: -2}, Estimates: &Estimates{FNIS: -2, FNISErr: 0}}
	if !nisDrawable(s) {
		t.Error("an NIS error of 0 is not drawn")
	}
	s.FNISErr = -1e-300
	if nisDrawable(s) {
		t.Error("a negative NIS error is drawn")
	}
	fig, err := freeEnergyData([]Run{{Stats: []StatsRow{{Beta: 1, Stats: model.Stats{F: -2, FStd: 0}}}}})
	if err != nil || len(fig.series[0].lower) != 1 || fig.series[0].lower[0].Y != math.Log10(RelErrFloor*2) {
		t.Errorf("zero f_std drawn at %v (%v), want log10(2^-53·2)", fig.series[0].lower, err)
	}
	if a, b, c := nisShift(0, 3, 1, 3), nisShift(1, 3, 1, 3), nisShift(3, 4, 0, 1); a != -0.02 || b != 0 || c != 0.015 {
		t.Errorf("NIS shifts %v %v %v, want -0.02, 0, 0.015", a, b, c)
	}
	pq, err := overlapsData([]Run{{Overlaps: map[float64][]float64{1: {0.5, 1.5}}}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pq.plot()
	if err != nil || p.X.Min != -1 || p.X.Max != 1 || p.Y.Min != 0 || p.Y.Max != 1.25*1.5 {
		t.Errorf("P(q) axes x [%v, %v], y [%v, %v] (%v)", p.X.Min, p.X.Max, p.Y.Min, p.Y.Max, err)
	}
	if drawable(nil) || drawable([]float64{}) || !drawable([]float64{0}) {
		t.Error("drawable: an empty histogram drawn or a zero one not")
	}
	if got := runLabels([]Run{{Label: "a"}, {Label: "a"}}); got[0] != "a #1" || got[1] != "a #2" {
		t.Errorf("labels %q", got)
	}
	if got := plotText("x\uffff\u0085"); got != `x\uffff\u0085` {
		t.Errorf("plotText: %q", got)
	}
}

// TestTicksAtTheEnds: a minor tick exactly at either end of the range is
// kept; minor decade ticks stop at the top decade and appear over at most
// 6 decades.
func TestTicksAtTheEnds(t *testing.T) {
	_, minor := tickSet(niceTicks{}.Ticks(0, 1.1))
	if !slices.Contains(minor, 1.1) {
		t.Errorf("[0, 1.1]: minor ticks %v lack 1.1", minor)
	}
	_, minor = tickSet(niceTicks{}.Ticks(-0.1, 1))
	if !slices.Contains(minor, -0.1) {
		t.Errorf("[-0.1, 1]: minor ticks %v lack -0.1", minor)
	}
	labels, minor := tickSet(decadeTicks{}.Ticks(-6, 0))
	if len(labels) != 7 || len(minor) != 6*8 || slices.Max(minor) > 0 {
		t.Errorf("[-6, 0]: %d labels, %d minor ticks up to %v; want 7 and 48 below 0", len(labels), len(minor), slices.Max(minor))
	}
	if _, minor := tickSet(decadeTicks{}.Ticks(-7, 0)); len(minor) != 0 {
		t.Errorf("[-7, 0]: %d minor ticks, want none over 7 decades", len(minor))
	}
}

// TestSaveFigureWriteError: a figure that cannot be written is an error.
func TestSaveFigureWriteError(t *testing.T) {
	base := filepath.Join(t.TempDir(), "missing", "fig")
	if err := saveFigure(vg.Inch, vg.Inch, base, func(draw.Canvas) {}); err == nil {
		t.Error("a figure in a missing directory reported written")
	}
}
