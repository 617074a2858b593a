package output

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	}
	half := 0.5
	for _, v := range []outer{
		{Name: "<&>", inner: inner{A: 1e-7, B: 3, C: "x"}, C: "y", M: map[string]any{"z": 1, "a": []int{1, 2}}, S: []float64{1.5, -2},
			R: json.RawMessage(`{"k":[1,2]}`), P: &half, Row: StatsRow{Beta: 1, Stats: model.Stats{F: -1}, Exact: &Exact{FExact: -1.5, RelErr: 0.25}}},
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
