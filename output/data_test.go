package output

import (
	"encoding/json"
	"image/png"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"

	"github.com/h2arnn/h2arnn/model"
)

// xyEqual reports whether two point lists are the same to the bit.
func xyEqual(a, b plotter.XYs) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i].X) != math.Float64bits(b[i].X) || math.Float64bits(a[i].Y) != math.Float64bits(b[i].Y) {
			return false
		}
	}
	return true
}

// TestFreeEnergyData: the free-energy figure draws f against β, the exact
// f against β, and log10 of the relative error (floored at RelErrFloor)
// against β; a row with a NaN f is left out.
func TestFreeEnergyData(t *testing.T) {
	rows := []StatsRow{
		{Beta: 0.5, Stats: model.Stats{F: -1.5, FStd: 0.1}},
		{Beta: 1, Stats: model.Stats{F: math.NaN()}},
		{Beta: 1.5, Stats: model.Stats{F: -0.8, FStd: 0.2}},
		{Beta: 2, Stats: model.Stats{F: -0.7, FStd: 0.3}},
	}
	rows[0].SetExact(-1.6)
	rows[2].SetExact(-0.8) // error 0: drawn at the floor
	rows[3].SetExact(-0.75)
	other := []StatsRow{{Beta: 0.7, Stats: model.Stats{F: -1.1, FStd: 0.05}}}
	fig, err := freeEnergyData([]Run{{Label: "a", Stats: rows}, {Label: "none"}, {Label: "b", Stats: other}})
	if err != nil {
		t.Fatal(err)
	}
	if !fig.relErr || len(fig.series) != 2 {
		t.Fatalf("relErr %v, %d series; want relative errors and the 2 runs with rows", fig.relErr, len(fig.series))
	}
	a, b := fig.series[0], fig.series[1]
	if a.k != 0 || a.label != "a" || b.k != 2 || b.label != "b" {
		t.Errorf("series (%d %q), (%d %q): want runs 0 and 2 with their labels", a.k, a.label, b.k, b.label)
	}
	wantF := plotter.XYs{{X: 0.5, Y: -1.5}, {X: 1.5, Y: -0.8}, {X: 2, Y: -0.7}}
	wantExact := plotter.XYs{{X: 0.5, Y: -1.6}, {X: 1.5, Y: -0.8}, {X: 2, Y: -0.75}}
	wantLower := plotter.XYs{{X: 0.5, Y: math.Log10(0.1 / 1.6)}, {X: 1.5, Y: math.Log10(RelErrFloor)}, {X: 2, Y: math.Log10(0.05 / 0.75)}}
	if !xyEqual(a.f, wantF) {
		t.Errorf("f points %v, want (β, f) %v", a.f, wantF)
	}
	if !xyEqual(a.exact, wantExact) {
		t.Errorf("exact points %v, want (β, f_exact) %v", a.exact, wantExact)
	}
	for i := range wantLower {
		if len(a.lower) != len(wantLower) || a.lower[i].X != wantLower[i].X || math.Abs(a.lower[i].Y-wantLower[i].Y) > 1e-12 {
			t.Fatalf("relative-error points %v, want (β, log10|rel_err|) %v", a.lower, wantLower)
		}
	}
	if len(b.exact) != 0 || len(b.lower) != 0 || !xyEqual(b.f, plotter.XYs{{X: 0.7, Y: -1.1}}) {
		t.Errorf("run without exact f: %+v", b)
	}
	// Without any reference the lower panel is log10 of f_std.
	fig, err = freeEnergyData([]Run{{Stats: other}})
	if err != nil || fig.relErr || !xyEqual(fig.series[0].lower, plotter.XYs{{X: 0.7, Y: math.Log10(0.05)}}) {
		t.Errorf("f_std panel: %v %+v", err, fig)
	}
}

// TestOverlapsData: P(q) is drawn as a step through both edges of every
// bin at the bin's density, at the stored β nearest to the one asked.
func TestOverlapsData(t *testing.T) {
	runs := []Run{
		{Label: "a", Overlaps: map[float64][]float64{1: {0.2, 1.8}, 2: {1, 1}}},
		{Label: "b", Overlaps: map[float64][]float64{1.1: {0.5, 0.75, 0.75, 1}}},
	}
	fig, err := overlapsData(runs, 1.04)
	if err != nil {
		t.Fatal(err)
	}
	want := []plotter.XYs{
		{{X: -1, Y: 0.2}, {X: 0, Y: 0.2}, {X: 0, Y: 1.8}, {X: 1, Y: 1.8}},
		{{X: -1, Y: 0.5}, {X: -0.5, Y: 0.5}, {X: -0.5, Y: 0.75}, {X: 0, Y: 0.75}, {X: 0, Y: 0.75}, {X: 0.5, Y: 0.75}, {X: 0.5, Y: 1}, {X: 1, Y: 1}},
	}
	if len(fig.series) != 2 {
		t.Fatalf("%d series", len(fig.series))
	}
	for k, s := range fig.series {
		if !xyEqual(s.steps, want[k]) {
			t.Errorf("run %d: steps %v, want %v", k, s.steps, want[k])
		}
	}
	if fig.top != 1.8 || fig.series[0].label != "a (β = 1)" || fig.series[1].label != "b (β = 1.1)" || fig.title != "Overlap distribution" {
		t.Errorf("top %v, labels %q %q, title %q", fig.top, fig.series[0].label, fig.series[1].label, fig.title)
	}
	fig, _ = overlapsData(runs[:1], 1.9)
	if fig.title != "Overlap distribution at β = 2" || !xyEqual(fig.series[0].steps, plotter.XYs{{X: -1, Y: 1}, {X: 0, Y: 1}, {X: 0, Y: 1}, {X: 1, Y: 1}}) {
		t.Errorf("one run at β 2: %+v", fig)
	}
}

// TestMarshalJSON: MarshalJSON writes what encoding/json writes — field
// names, omitempty, "-", embedded structs and pointers, maps, slices,
// Marshalers — except that a non-finite float is null, not an error.
func TestMarshalJSON(t *testing.T) {
	type inner struct {
		A float64 `json:"a"`
		B int     `json:"b,omitempty"`
		C string  // shadowed by the outer C
	}
	type opt struct {
		X float64 `json:"x"`
	}
	type outer struct {
		Name string `json:"name"`
		inner
		*opt
		C      string            `json:"C"`
		Hidden int               `json:"-"`
		low    int               //nolint:unused // unexported: left out
		M      map[string]any    `json:"m"`
		S      []float64         `json:"s,omitempty"`
		R      json.RawMessage   `json:"r"`
		P      *float64          `json:"p"`
		Row    StatsRow          `json:"row"`
		Tags   map[string]string `json:"tags,omitempty"`
		Pair   [2]float64        `json:"pair"`
		Bytes  []byte            `json:"bytes"`
		Ptrs   []*Exact          `json:"ptrs"`
	}
	half := 0.5
	for _, v := range []outer{
		{Name: "<&>", inner: inner{A: 1e-7, B: 3, C: "x"}, C: "y", M: map[string]any{"z": 1, "a": []int{1, 2}}, S: []float64{1.5, -2},
			R: json.RawMessage(`{"k":[1,2]}`), P: &half, Row: StatsRow{Beta: 1, Stats: model.Stats{F: -1}, Exact: &Exact{FExact: -1.5, RelErr: 0.25}},
			Pair: [2]float64{1, 2}, Bytes: []byte("ab"), Ptrs: []*Exact{nil, {FExact: 1}}},
		{opt: &opt{X: 3}, R: json.RawMessage(`null`), Row: StatsRow{Beta: 2}},
	} {
		got, err := MarshalJSON(v)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(v)
		if strings.ReplaceAll(string(want), `\u003c\u0026\u003e`, "<&>") != string(got) {
			t.Errorf("MarshalJSON\n%s\nencoding/json\n%s", got, want)
		}
	}
	got, err := MarshalJSON(StatsRow{Beta: 1, Stats: model.Stats{F: math.NaN(), FStd: math.Inf(1), E: math.Inf(-1)}})
	want := `{"beta":1,"f":null,"f_std":null,"e":null,"e_min":0,"s":0,"m_abs":0,"steps":0,"seconds":0}`
	if err != nil || string(got) != want {
		t.Errorf("non-finite figures: %s (%v), want %s", got, err, want)
	}
	if _, err := MarshalJSON(map[int]float64{1: 2}); err == nil {
		t.Error("a map with int keys accepted")
	}
}

// TestReadStatsCSV: a stats file re-saved by pandas (quoted fields) reads,
// and errors give the file's own line numbers, blank lines counted.
func TestReadStatsCSV(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "stats.csv")
	os.WriteFile(path, []byte("\"beta\",\"f\",\"steps\",\"f_exact\",\"rel_err\"\n\"0.5\",\"-1.25\",\"10\",\"-1.5\",\"0.5\"\n\n\"1\",\"-0.5\",\"3\",\"\",\"\"\n"), 0o644)
	rows, hdr, err := ReadStats(path)
	if err != nil || len(rows) != 2 || strings.Join(hdr, ",") != "beta,f,steps,f_exact,rel_err" {
		t.Fatalf("quoted file: %v %v %v", rows, hdr, err)
	}
	if rows[0].Beta != 0.5 || rows[0].F != -1.25 || rows[0].Steps != 10 || rows[0].Exact == nil || rows[0].FExact != -1.5 ||
		rows[1].Exact != nil || rows[1].Steps != 3 {
		t.Errorf("rows %+v %+v", rows[0], rows[1])
	}
	os.WriteFile(path, []byte("beta,f\n1,2\n\n\n3,x\n"), 0o644)
	if _, _, err := ReadStats(path); err == nil || !strings.Contains(err.Error(), path+":5: column f") {
		t.Errorf("bad number on line 5 after blank lines: %v", err)
	}
	os.WriteFile(path, []byte("beta,f\n1,\"2\n"), 0o644)
	if _, _, err := ReadStats(path); err == nil || !strings.Contains(err.Error(), path+":2") {
		t.Errorf("unterminated quote: %v", err)
	}
	ov := filepath.Join(dir, "ov.csv")
	os.WriteFile(ov, []byte("\"q_low\",\"q_high\",\"density\"\n\n\"-1\",\"0\",\"0.25\"\n-0.5,1,1.75\n"), 0o644)
	if _, err := ReadOverlapsCSV(ov); err == nil || !strings.Contains(err.Error(), ov+":4: bin") {
		t.Errorf("bad bin on line 4 after a blank line: %v", err)
	}
	os.WriteFile(ov, []byte("\"q_low\",\"q_high\",\"density\"\n\"-1\",\"0\",\"0.25\"\n0,1,1.75\n"), 0o644)
	if h, err := ReadOverlapsCSV(ov); err != nil || len(h) != 2 || h[1] != 1.75 {
		t.Errorf("quoted overlaps: %v %v", h, err)
	}
}

// tickSet splits ticks into labelled (value → label) and minor values.
func tickSet(ts []plot.Tick) (map[float64]string, []float64) {
	labels := map[float64]string{}
	var minor []float64
	for _, t := range ts {
		if t.Label != "" {
			labels[t.Value] = t.Label
		} else {
			minor = append(minor, t.Value)
		}
	}
	slices.Sort(minor)
	return labels, minor
}

// closeTo reports whether got holds the values of want, in order, each
// within 1e-9.
func closeTo(got, want []float64) bool {
	return len(got) == len(want) && !slices.ContainsFunc(got, func(v float64) bool {
		k := slices.Index(got, v)
		return math.Abs(v-want[k]) > 1e-9
	})
}

// TestNiceTicks: labels at multiples of 1, 2 or 5 × 10^k, 5 to 10 of them,
// a minor tick half way between labels and below the first one, "0" for
// zero, one label for an empty range (gonum's ticker panics there).
func TestNiceTicks(t *testing.T) {
	for _, c := range []struct {
		min, max       float64
		labels, minors []float64
		text           []string
	}{
		{0.1, 2, []float64{0.2, 0.4, 0.6, 0.8, 1, 1.2, 1.4, 1.6, 1.8, 2}, []float64{0.1, 0.3, 0.5, 0.7, 0.9, 1.1, 1.3, 1.5, 1.7, 1.9},
			[]string{"0.2", "0.4", "0.6", "0.8", "1", "1.2", "1.4", "1.6", "1.8", "2"}},
		{-1, 1, []float64{-1, -0.8, -0.6, -0.4, -0.2, 0, 0.2, 0.4, 0.6, 0.8, 1}, []float64{-0.9, -0.7, -0.5, -0.3, -0.1, 0.1, 0.3, 0.5, 0.7, 0.9},
			[]string{"-1", "-0.8", "-0.6", "-0.4", "-0.2", "0", "0.2", "0.4", "0.6", "0.8", "1"}},
		{3, 40, []float64{5, 10, 15, 20, 25, 30, 35, 40}, []float64{7.5, 12.5, 17.5, 22.5, 27.5, 32.5, 37.5},
			[]string{"5", "10", "15", "20", "25", "30", "35", "40"}},
		{-0.35, -0.3, []float64{-0.35, -0.345, -0.34, -0.335, -0.33, -0.325, -0.32, -0.315, -0.31, -0.305, -0.3},
			[]float64{-0.3475, -0.3425, -0.3375, -0.3325, -0.3275, -0.3225, -0.3175, -0.3125, -0.3075, -0.3025},
			[]string{"-0.35", "-0.345", "-0.34", "-0.335", "-0.33", "-0.325", "-0.32", "-0.315", "-0.31", "-0.305", "-0.3"}},
	} {
		labels, minor := tickSet(niceTicks{}.Ticks(c.min, c.max))
		vals := slices.Sorted(maps.Keys(labels))
		var text []string
		for _, v := range vals {
			text = append(text, labels[v])
		}
		if !closeTo(vals, c.labels) || !slices.Equal(text, c.text) || !closeTo(minor, c.minors) {
			t.Errorf("[%v, %v]: labels %v %q, minor %v; want %v %q, %v", c.min, c.max, vals, text, minor, c.labels, c.text, c.minors)
		}
	}
	if got := (niceTicks{}).Ticks(1e16, 1e16); !reflect.DeepEqual(got, []plot.Tick{{Value: 1e16, Label: "1e+16"}}) {
		t.Errorf("empty range: %v, want one label", got)
	}
	if got := (niceTicks{}).Ticks(math.NaN(), 1); got != nil {
		t.Errorf("NaN range: %v, want no tick", got)
	}
}

// TestDecadeTicks: every whole exponent labelled (every third one beyond
// 20 decades), minor ticks at 2..9 × 10^e only over at most 6 decades.
func TestDecadeTicks(t *testing.T) {
	labels, minor := tickSet(decadeTicks{}.Ticks(-7.3, -1.2))
	if len(labels) != 8 || labels[-8] != "1e-08" || labels[-1] != "1e-01" || len(minor) != 0 {
		t.Errorf("[-7.3, -1.2]: labels %v, minor %v", labels, minor)
	}
	labels, minor = tickSet(decadeTicks{}.Ticks(-3.5, -1))
	var want []float64
	for e := -4; e < -1; e++ {
		for m := 2; m < 10; m++ {
			want = append(want, float64(e)+math.Log10(float64(m)))
		}
	}
	if len(labels) != 4 || labels[-4] != "1e-04" || labels[-2] != "1e-02" || !closeTo(minor, want) {
		t.Errorf("[-3.5, -1]: labels %v, minor %v, want minor %v", labels, minor, want)
	}
	labels, _ = tickSet(decadeTicks{}.Ticks(-20, 0))
	if len(labels) != 7 || labels[-20] != "1e-20" || labels[-17] != "1e-17" || labels[-2] != "1e-02" || labels[-1] != "" {
		t.Errorf("[-20, 0]: labels %v, want every third exponent from -20", labels)
	}
	p := plot.New()
	setLogY(p, -3.5, -1.2)
	if p.Y.Min != -4 || p.Y.Max != -1 {
		t.Errorf("setLogY(-3.5, -1.2): [%v, %v]", p.Y.Min, p.Y.Max)
	}
	setLogY(p, -3, -3)
	if p.Y.Min != -3 || p.Y.Max != -2 {
		t.Errorf("setLogY(-3, -3): [%v, %v], want one decade", p.Y.Min, p.Y.Max)
	}
}

// pngSize returns the width and height in pixels of the PNG file path.
func pngSize(t *testing.T, path string) (int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := png.DecodeConfig(f)
	if err != nil {
		t.Fatal(err)
	}
	return c.Width, c.Height
}

// TestFigureSizes: the free-energy figure is 6 × 7 inches with its lower
// panel and 6 × 4 without one (no point to draw there); P(q) is 6 × 4 with
// room above its highest peak.
func TestFigureSizes(t *testing.T) {
	dir := t.TempDir()
	size := func(name string) (int, int) { return pngSize(t, filepath.Join(dir, name+".png")) }
	withLower := []StatsRow{{Beta: 1, Stats: model.Stats{F: -1, FStd: 0.1}}, {Beta: 2, Stats: model.Stats{F: -0.8, FStd: 0.01}}}
	noLower := []StatsRow{{Beta: 1, Stats: model.Stats{F: -1, FStd: math.NaN()}}}
	fig, _ := freeEnergyData([]Run{{Stats: withLower}})
	if math.Abs(fig.lo+2) > 1e-12 || math.Abs(fig.hi+1) > 1e-12 {
		t.Errorf("lower panel range [%v, %v], want log10 of the stds [-2, -1]", fig.lo, fig.hi)
	}
	fig, _ = freeEnergyData([]Run{{Stats: noLower}})
	if !math.IsInf(fig.lo, 1) {
		t.Errorf("no lower point: range starts at %v", fig.lo)
	}
	PlotFreeEnergy([]Run{{Stats: withLower}}, filepath.Join(dir, "two"))
	PlotFreeEnergy([]Run{{Stats: noLower}}, filepath.Join(dir, "one"))
	if w, h := size("two"); w != 6*96 || h != 7*96 {
		t.Errorf("two panels: %d × %d pixels, want 576 × 672", w, h)
	}
	if w, h := size("one"); w != 6*96 || h != 4*96 {
		t.Errorf("one panel: %d × %d pixels, want 576 × 384", w, h)
	}
	svg, _ := os.ReadFile(filepath.Join(dir, "one.svg"))
	if strings.Contains(string(svg), ">exact<") {
		t.Error("a figure without an exact reference has an 'exact' legend entry")
	}
	pq, _ := overlapsData([]Run{{Overlaps: map[float64][]float64{1: {0.5, 1.5}}}}, 1)
	if pq.yMax != 1.25*1.5 {
		t.Errorf("P(q) axis top %v, want 1.25 × the highest density", pq.yMax)
	}
	PlotOverlaps([]Run{{Overlaps: map[float64][]float64{1: {0.5, 1.5}}}}, 1, filepath.Join(dir, "pq"))
	if w, h := size("pq"); w != 6*96 || h != 4*96 {
		t.Errorf("P(q): %d × %d pixels", w, h)
	}
}

// TestLoadRunDetails: the label falls back to the architecture, then the
// directory; overlaps.csv is filed under the last β only when no per-β file
// holds that β and there is a row; nearestBeta takes the smaller β on a tie.
func TestLoadRunDetails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "myrun")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, StatsFile), []byte("beta,f\n"), 0o644)
	WriteOverlapsCSV(filepath.Join(dir, OverlapsFile), []float64{0.5, 1.5})
	WriteSummary(filepath.Join(dir, SummaryFile), map[string]string{"label": "", "arch": "made"})
	r, err := LoadRun(dir)
	if err != nil || r.Label != "made" || len(r.Overlaps) != 0 {
		t.Errorf("no rows: label %q, overlaps %v, %v; want the arch as label and no histogram", r.Label, r.Overlaps, err)
	}
	os.WriteFile(filepath.Join(dir, StatsFile), []byte("beta,f\n1,-1\n2,-0.5\n"), 0o644)
	WriteOverlapsCSV(filepath.Join(dir, "overlaps_b1.csv"), []float64{1, 1})
	WriteOverlapsCSV(filepath.Join(dir, "overlaps_b2.csv"), []float64{7, 7})     // no row 3: a β not finished
	WriteOverlapsCSV(filepath.Join(dir, "overlaps_b0.old.csv"), []float64{7, 7}) // not one of ours
	os.Remove(filepath.Join(dir, SummaryFile))
	r, err = LoadRun(dir)
	if err != nil || r.Label != "myrun" || len(r.Overlaps) != 1 || r.Overlaps[2][0] != 1 {
		t.Errorf("label %q, overlaps %v, %v; want the directory's name and the per-β file's histogram at β 2", r.Label, r.Overlaps, err)
	}
	os.Remove(filepath.Join(dir, "overlaps_b1.csv"))
	WriteOverlapsCSV(filepath.Join(dir, "overlaps_b0.csv"), []float64{1, 1})
	r, _ = LoadRun(dir)
	if len(r.Overlaps) != 2 || r.Overlaps[2][0] != 0.5 || r.Overlaps[1][0] != 1 {
		t.Errorf("overlaps %v: want overlaps.csv under the last β 2 and the per-β file under 1", r.Overlaps)
	}
	for _, c := range []struct{ beta, want float64 }{{2, 1}, {2.5, 3}, {0, 1}, {3.1, 3}} {
		if b, ok := nearestBeta(map[float64][]float64{1: nil, 3: nil}, c.beta); !ok || b != c.want {
			t.Errorf("nearest to %v among {1, 3}: %v, want %v", c.beta, b, c.want)
		}
	}
	if _, ok := nearestBeta(nil, 1); ok {
		t.Error("nearest β of no histogram")
	}
	// ResumeStats keeping no row leaves the header.
	path := filepath.Join(dir, "resume.csv")
	w, _ := CreateStats(path, StatsLayout{})
	w.Write(StatsRow{Beta: 1})
	w.Close()
	w, rows, err := ResumeStats(path, StatsLayout{}, 0)
	if err != nil || len(rows) != 0 {
		t.Fatalf("keep 0: %v %v", rows, err)
	}
	w.Close()
	if b, _ := os.ReadFile(path); string(b) != "beta,f,f_std,e,e_min,s,m_abs,steps,seconds\n" {
		t.Errorf("after keeping 0 rows: %q", b)
	}
}
