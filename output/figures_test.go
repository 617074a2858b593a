package output

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/h2arnn/h2arnn/internal/grid"
	"github.com/h2arnn/h2arnn/model"
)

// skRuns builds a Figure-5-like set of runs: nets "ref" and "net" on
// instances 1-3 at N = 10 (and "net" on one instance at N = 20), β = 1 and
// 2. ref has f = -1 everywhere, net f = -1 + 0.01·instance·β, so its
// relative difference to ref is 0.01·instance·β. Overlaps (4 bins) at β = 2
// are [i, 2i, 3i, 4i]/10 for instance i of both nets.
func skRuns() []GridRun {
	var runs []GridRun
	add := func(label string, n int, inst uint64, params int, f func(beta float64) float64) {
		r := GridRun{RunInfo: RunInfo{Figure: "fig5", ID: label, Model: "sk", N: n, Instance: inst, Label: label, Arch: label, TrainSeed: inst, Params: params},
			Run: Run{Overlaps: map[float64][]float64{}}}
		for _, b := range []float64{1, 2} {
			r.Run.Stats = append(r.Run.Stats, StatsRow{Beta: b, Stats: model.Stats{F: f(b), FStd: 0.1}, Steps: 7, Seconds: 1.5})
		}
		i := float64(inst)
		r.Run.Overlaps[2] = []float64{i / 10, 2 * i / 10, 3 * i / 10, 4 * i / 10}
		runs = append(runs, r)
	}
	for inst := uint64(1); inst <= 3; inst++ {
		add("ref", 10, inst, 300, func(float64) float64 { return -1 })
		add("net", 10, inst, 100, func(b float64) float64 { return -1 + 0.01*float64(inst)*b })
	}
	add("net", 20, 1, 400, func(float64) float64 { return -2 })
	return runs
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestTidy(t *testing.T) {
	runs := skRuns()
	rows := Tidy(runs, map[string]string{"fig5": "ref"})
	if len(rows) != 14 {
		t.Fatalf("%d rows", len(rows))
	}
	for _, r := range rows {
		switch {
		case r.Label == "ref" && (r.RelDiff != 0 || r.FRef != -1):
			t.Errorf("reference row %+v", r)
		case r.Label == "net" && r.N == 10 && (!near(r.RelDiff, 0.01*float64(r.Instance)*r.Beta) || r.FRef != -1):
			t.Errorf("row %+v: rel_diff %v", r, r.RelDiff)
		case r.N == 20 && !math.IsNaN(r.RelDiff):
			t.Errorf("N=20 has no reference, got rel_diff %v", r.RelDiff)
		}
		if !math.IsNaN(r.FExact) || !math.IsNaN(r.RelErr) {
			t.Errorf("no exact values given, got %v %v", r.FExact, r.RelErr)
		}
	}
	var b bytes.Buffer
	if err := WriteTidyCSV(&b, rows[:1]); err != nil {
		t.Fatal(err)
	}
	want := strings.Join(TidyColumns, ",") + "\nfig5,ref,sk,10,1,ref,ref,1,300,1,-1,0.1,0,0,0,0,7,1.5,nan,nan,-1,0\n"
	if b.String() != want {
		t.Errorf("CSV\n%s\nwant\n%s", b.String(), want)
	}
	if rows := Tidy(runs, nil); !math.IsNaN(rows[0].RelDiff) {
		t.Error("rel_diff without a reference")
	}
}

// points returns the points of the series name in panel.
func points(t *testing.T, f *Figure, panel, name string) []FigPoint {
	t.Helper()
	for _, s := range f.Series {
		if s.Panel == panel && s.Name == name {
			return s.Points
		}
	}
	t.Fatalf("no series %s in panel %s", name, panel)
	return nil
}

func TestPaperFigureInstances(t *testing.T) {
	runs := skRuns()
	rows := Tidy(runs, map[string]string{"fig5": "ref"})
	l := grid.Layout{PanelNs: []int{10}, OverlapN: 10, OverlapBeta: 1.9, Reference: "ref", FoldOverlaps: true}
	f := PaperFigure("fig5", rows, runs, l, []string{"ref", "net"})
	// A1: mean over instances 1-3 of 0.01·i·β = 0.02β, sample sd 0.01β,
	// 95 % half-width t(0.975, 2)·sd/√3; for 2 degrees of freedom the
	// Student-t quantile is (2p-1)/√(2p(1-p)).
	t975 := 0.95 / math.Sqrt(2*0.975*0.025)
	a := points(t, f, "A1", "net")
	if len(a) != 2 {
		t.Fatalf("A1 %v", a)
	}
	for _, p := range a {
		h := t975 * 0.01 * p.X / math.Sqrt(3)
		if !near(p.Y, 0.02*p.X) || !near(p.Lo, 0.02*p.X-h) || !near(p.Hi, 0.02*p.X+h) {
			t.Errorf("A1 point %+v, want %v ± %v", p, 0.02*p.X, h)
		}
	}
	if r := points(t, f, "A1", "ref"); r[0].Y != 0 || r[0].Lo != 0 || r[0].Hi != 0 {
		t.Errorf("reference against itself: %+v", r)
	}
	// B: parameters against N.
	b := points(t, f, "B", "net")
	if len(b) != 2 || b[0].X != 10 || b[0].Y != 100 || b[1].X != 20 || b[1].Y != 400 {
		t.Errorf("B %v", b)
	}
	// C: folded P(q) at the stored β nearest 1.9 (2): bins 2 and 3 of
	// [i, 2i, 3i, 4i]/10 averaged with their mirrors 1 and 0, i.e.
	// 2.5i/10 at q = 0.25 and 2.5i/10 at q = 0.75, mean over i = 1..3 0.5.
	c := points(t, f, "C", "net")
	if len(c) != 2 || c[0].X != 0.25 || c[1].X != 0.75 || !near(c[0].Y, 0.5) || !near(c[1].Y, 0.5) {
		t.Errorf("C %v", c)
	}
	h := t975 * 0.25 / math.Sqrt(3) // sd of 2.5i/10 over i = 1..3 is 0.25
	if !near(c[0].Hi-c[0].Y, h) {
		t.Errorf("C interval %v, want half-width %v", c[0], h)
	}
	for _, p := range f.Panels {
		if p.ID == "C" && p.Title != "N = 10, β = 2" {
			t.Errorf("C title %q", p.Title)
		}
	}
	l.FoldOverlaps = false
	if c := points(t, PaperFigure("fig5", rows, runs, l, []string{"net"}), "C", "net"); len(c) != 4 || c[0].X != -0.75 || !near(c[0].Y, 0.2) {
		t.Errorf("unfolded C %v", c)
	}
}

func TestPaperFigureScaling(t *testing.T) {
	// One instance, exact references: rel_err of β = 1, 2 is e and 3e at
	// N = 10, 2e and -4e at N = 20.
	var runs []GridRun
	for _, c := range []struct {
		n      int
		e1, e2 float64
	}{{10, 1e-3, 3e-3}, {20, 2e-3, -4e-3}} {
		r := GridRun{RunInfo: RunInfo{Figure: "fig4", Model: "cw", N: c.n, Label: "1p", Params: c.n}}
		for k, e := range []float64{c.e1, c.e2} {
			s := StatsRow{Beta: float64(k + 1), Stats: model.Stats{F: -1 + e}}
			s.SetExact(-1)
			r.Run.Stats = append(r.Run.Stats, s)
		}
		runs = append(runs, r)
	}
	rows := Tidy(runs, nil)
	f := PaperFigure("fig4", rows, runs, grid.Layout{PanelNs: []int{10, 20}, ScalingNets: []string{"1p"}, OverlapN: 20, OverlapBeta: 1}, []string{"1p"})
	if a := points(t, f, "A2", "1p"); len(a) != 2 || !near(a[1].Y, -4e-3) || !math.IsNaN(a[1].Lo) {
		t.Errorf("A2 %v", a)
	}
	mean, worst := points(t, f, "B", "1p mean"), points(t, f, "B", "1p max")
	if !near(mean[0].Y, 2e-3) || !near(mean[1].Y, 3e-3) || !near(worst[0].Y, 3e-3) || !near(worst[1].Y, 4e-3) || mean[1].X != 20 {
		t.Errorf("B mean %v max %v", mean, worst)
	}
	var b bytes.Buffer
	if err := f.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "panel,series,x,y,y_low,y_high\nA1,1p,1,0.0010000000000000009,nan,nan\n") {
		t.Errorf("figure CSV:\n%s", b.String())
	}
	// The drawing accepts it (no overlaps: an empty panel C).
	base := filepath.Join(t.TempDir(), "fig4")
	if err := f.Draw(base); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{".png", ".svg"} {
		if fi, err := os.Stat(base + ext); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", ext, err)
		}
	}
}

func TestSymlog(t *testing.T) {
	const th = 1e-4
	for _, c := range []struct{ v, y float64 }{{0, 0}, {5e-5, 0.5}, {-1e-4, -1}, {1e-3, 2}, {-1e-2, -3}} {
		if got := symlog(c.v, th); !near(got, c.y) {
			t.Errorf("symlog(%v) = %v, want %v", c.v, got, c.y)
		}
		if back := symlogUnmap(c.y, th); !near(back, c.v) {
			t.Errorf("symlogUnmap(%v) = %v, want %v", c.y, back, c.v)
		}
	}
	var labels []string
	for _, tk := range (symlogTicks{th}).Ticks(-1.2, 3) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "0 1e-04 -1e-04 1e-03 1e-02" {
		t.Errorf("labels %s", got)
	}
}

func TestCouplingFigure(t *testing.T) {
	f := CouplingFigure("fig6", []CouplingPanel{{Label: "plm", AbsJ: []float64{0.1, 0.4}, AbsW: []float64{0.2, 0.3}, Intercept: 0.05, Slope: 0.5, R: 0.9}})
	pairs, line := points(t, f, "plm", "pairs"), points(t, f, "plm", "least squares")
	if len(pairs) != 2 || pairs[1].X != 0.4 || pairs[1].Y != 0.3 {
		t.Errorf("pairs %v", pairs)
	}
	if len(line) != 2 || line[0].X != 0 || line[0].Y != 0.05 || line[1].X != 0.4 || !near(line[1].Y, 0.25) {
		t.Errorf("line %v", line)
	}
}

// TestFigurePanels: the A panels form the top row and the others the
// bottom one; each panel's axes span its data as documented: symlog error
// panels from 0 (or below) with 5 % under and 15 % above, log-log panels
// ±5 % of the decades of N (at least 0.05) with N as tick labels, linear
// panels 15 % of the span above the highest value; bands need two points; series of
// other panels and series without a drawable point are left out.
func TestFigurePanels(t *testing.T) {
	nan := math.NaN()
	f := &Figure{Name: "fig", Title: "t", Nets: []string{"a", "b"},
		Panels: []FigPanel{
			{ID: "A1", SymLogY: 1e-4, Legend: true}, {ID: "B", XLog: true, YLog: true}, {ID: "A2"}, {ID: "C"},
		},
		Series: []FigSeries{
			{Panel: "A1", Net: "a", Name: "a", Points: []FigPoint{{X: 1, Y: 1e-3, Lo: 5e-5, Hi: 1e-2}, {X: 2, Y: 1e-2, Lo: nan, Hi: nan}, {X: 3, Y: -1e-3, Lo: nan, Hi: nan}}},
			{Panel: "B", Net: "b", Name: "b", Points: []FigPoint{{X: 10, Y: 1e-3, Lo: nan, Hi: nan}, {X: 1000, Y: 5e-2, Lo: nan, Hi: nan}, {X: 100, Y: 0, Lo: nan, Hi: nan}}},
			{Panel: "C", Net: "a", Name: "band of one", Points: []FigPoint{{X: 0.5, Y: 2, Lo: 1, Hi: 3}, {X: 1, Y: 4, Lo: nan, Hi: nan}}},
			{Panel: "C", Net: "b", Name: "nothing drawable", Points: []FigPoint{{X: nan, Y: 100, Lo: nan, Hi: nan}}},
			{Panel: "X", Net: "a", Name: "elsewhere", Points: []FigPoint{{X: -5, Y: -100, Lo: nan, Hi: nan}}},
		}}
	top, bottom, err := f.rows()
	if err != nil {
		t.Fatal(err)
	}
	if len(top) != 2 || len(bottom) != 2 || !strings.HasPrefix(top[1].Title.Text, "A2") || !strings.HasPrefix(bottom[0].Title.Text, "B") {
		t.Fatalf("rows: %d top, %d bottom", len(top), len(bottom))
	}
	a1, b, c := top[0], bottom[0], bottom[1]
	// A1: symlog values 1e-3 → 2, 1e-2 → 3, -1e-3 → -2, band 5e-5 → 0.5;
	// range [-2, 3] widened by 5 % of it below, then 15 % of the new span
	// above.
	lo, hi := -2-0.05*5, 3.0
	hi += 0.15 * (hi - lo)
	if !near(a1.Y.Min, lo) || !near(a1.Y.Max, hi) || a1.X.Min != 1 || a1.X.Max != 3 {
		t.Errorf("A1 axes x [%v, %v], y [%v, %v]; want x [1, 3], y [%v, %v]", a1.X.Min, a1.X.Max, a1.Y.Min, a1.Y.Max, lo, hi)
	}
	// B: N from 10 to 1000 (two decades, padded by 0.1; N = 100 has y = 0,
	// not drawable on a log axis), y from 1e-3 to 5e-2 in whole decades.
	if !near(b.X.Min, 0.9) || !near(b.X.Max, 3.1) || b.Y.Min != -3 || b.Y.Max != -1 {
		t.Errorf("B axes x [%v, %v], y [%v, %v]", b.X.Min, b.X.Max, b.Y.Min, b.Y.Max)
	}
	var labels []string
	for _, tk := range b.X.Tick.Marker.Ticks(b.X.Min, b.X.Max) {
		labels = append(labels, tk.Label)
	}
	if strings.Join(labels, " ") != "10 1000" {
		t.Errorf("B x labels %q", labels)
	}
	// C: a band of one point is no band, so y starts at the line's 2; the
	// top is 15 % of the span of values and band ends [1, 4] above 4.
	if c.Y.Min != 2 || !near(c.Y.Max, 4+0.15*3) || c.X.Min != 0.5 || c.X.Max != 1 {
		t.Errorf("C axes x [%v, %v], y [%v, %v]", c.X.Min, c.X.Max, c.Y.Min, c.Y.Max)
	}
	// Both rows are drawn: every panel's title is in the SVG.
	base := filepath.Join(t.TempDir(), "fig")
	if err := f.Draw(base); err != nil {
		t.Fatal(err)
	}
	svg, _ := os.ReadFile(base + ".svg")
	for _, id := range []string{">A1  <", ">A2  <", ">B  <", ">C  <"} {
		if !strings.Contains(string(svg), id) {
			t.Errorf("figure lacks the panel title %q", id)
		}
	}
	if netColor(0) != okabeIto[0] || netColor(8) != okabeIto[1] || netColor(len(okabeIto)) != okabeIto[0] {
		t.Error("net colours do not cycle through the palette")
	}
}

// TestFigureLayout: the title is centred a quarter inch below the top; the
// two rows of panels share the height below half an inch equally.
func TestFigureLayout(t *testing.T) {
	c := draw.Canvas{Rectangle: vg.Rectangle{Min: vg.Point{X: 1, Y: 2}, Max: vg.Point{X: 11, Y: 2 + 7.5*72}}}
	title, rows := figureLayout(c)
	if title.X != 6 || title.Y != 2+7.25*72 {
		t.Errorf("title at %v", title)
	}
	want := [2][2]vg.Length{{2 + 3.5*72, 2 + 7*72}, {2, 2 + 3.5*72}}
	for r := range rows {
		if rows[r].Min.Y != want[r][0] || rows[r].Max.Y != want[r][1] || rows[r].Min.X != 1 || rows[r].Max.X != 11 {
			t.Errorf("row %d: %v, want y [%v, %v]", r, rows[r].Rectangle, want[r][0], want[r][1])
		}
	}
}

// TestFigureTicks: symlog ticks at 0, ±each decade (ends included) with
// eight minor ticks inside every decade; value ticks at the values within
// the range, ends included, labelled as written.
func TestFigureTicks(t *testing.T) {
	var major, minor []float64
	var labels []string
	for _, tk := range (symlogTicks{1e-4}).Ticks(-1, 3) {
		if tk.Label == "" {
			minor = append(minor, tk.Value)
		} else {
			major = append(major, tk.Value)
			labels = append(labels, tk.Label)
		}
	}
	if !slices.Equal(major, []float64{0, 1, -1, 2, 3}) || strings.Join(labels, " ") != "0 1e-04 -1e-04 1e-03 1e-02" {
		t.Errorf("symlog majors %v %q", major, labels)
	}
	var want []float64
	for e := 1.0; e < 3; e++ {
		for m := 2; m < 10; m++ {
			want = append(want, e+math.Log10(float64(m)))
		}
	}
	if !closeTo(minor, want) {
		t.Errorf("symlog minors %v, want %v", minor, want)
	}
	var vals []float64
	labels = nil
	for _, tk := range (valueTicks{10, 100, 1000}).Ticks(1, 2) {
		vals = append(vals, tk.Value)
		labels = append(labels, tk.Label)
	}
	if !slices.Equal(vals, []float64{1, 2}) || strings.Join(labels, " ") != "10 100" {
		t.Errorf("value ticks %v %q", vals, labels)
	}
}
