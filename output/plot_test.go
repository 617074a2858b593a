package output

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
	v, n, e := nisGap(runs[1], true)
	if len(v) != 30 || len(n) != 30 || len(e) != 30 {
		t.Fatalf("%d, %d, %d points, want 30 (39 rows, every fourth without estimates)", len(v), len(n), len(e))
	}
	s := runs[1].Stats[5]
	if v[4].X != s.Beta || v[4].Y != s.F-s.FExact || n[4].Y != s.FNIS-s.FExact || e[4] != s.FNISErr {
		t.Errorf("point 4: %v %v ± %v, want β %v, %v, %v ± %v", v[4], n[4], e[4], s.Beta, s.F-s.FExact, s.FNIS-s.FExact, s.FNISErr)
	}
	if v, _, _ := nisGap(runs[2], true); len(v) != 0 {
		t.Errorf("a run without exact values gave %d gap points against the exact f", len(v))
	}
	v, n, _ = nisGap(runs[2], false)
	if len(v) != 30 || n[0].Y != 0 || math.Abs(v[0].Y-1e-3) > 1e-12 {
		t.Errorf("no exact reference: variational %v, NIS %v; want 1e-3 above 0", v[:1], n[:1])
	}
	if p, err := nisPanel(demoRuns(), true); p != nil || err != nil {
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
