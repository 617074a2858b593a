package output

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFitRowsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, FitFile)
	w, err := CreateRows(path, FitHeader(false, true))
	if err != nil {
		t.Fatal(err)
	}
	want := []FitRow{
		{Epoch: 1, TrainNLL: 0.61, ValNLL: 0.6, Seconds: 1.5, PearsonAbs: 0.25},
		{Epoch: 2, TrainNLL: 0.5, ValNLL: math.NaN(), Seconds: 1.25, PearsonAbs: 0.5},
		{Epoch: 3, TrainNLL: 0.45, ValNLL: 0.47, Seconds: 1, PearsonAbs: 0.75},
	}
	for _, r := range want {
		if err := w.WriteFitRow(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Write(1, 2); err == nil {
		t.Error("a row of 2 values accepted for 5 columns")
	}
	w.Close()
	if err := w.Write(1, 2, 3, 4, 5); err == nil {
		t.Error("write after Close accepted")
	}
	got, pseudo, err := ReadFit(path)
	if err != nil || pseudo || len(got) != 3 {
		t.Fatalf("ReadFit: %v %v %v", got, pseudo, err)
	}
	for k := range want {
		a, b := got[k], want[k]
		if a.Epoch != b.Epoch || a.TrainNLL != b.TrainNLL || a.Seconds != b.Seconds || a.PearsonAbs != b.PearsonAbs ||
			(a.ValNLL != b.ValNLL && !(math.IsNaN(a.ValNLL) && math.IsNaN(b.ValNLL))) {
			t.Errorf("row %d: %+v, want %+v", k, a, b)
		}
	}
	// Resume keeps the header and the first two rows, then appends.
	w, err = ResumeRows(path, FitHeader(false, true), 2)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteFitRow(FitRow{Epoch: 3, TrainNLL: 0.4, ValNLL: 0.41, Seconds: 2, PearsonAbs: 0.8})
	w.Close()
	got, _, _ = ReadFit(path)
	if len(got) != 3 || got[2].TrainNLL != 0.4 || got[1].Epoch != 2 {
		t.Errorf("after resume: %+v", got)
	}
	if _, err := ResumeRows(path, FitHeader(false, true), 4); err == nil {
		t.Error("resume past the rows accepted")
	}
	if _, err := ResumeRows(path, FitHeader(true, false), 1); err == nil {
		t.Error("resume with another header accepted")
	}
	// A pseudo-likelihood file as pandas may rewrite it: quoted, reordered.
	pl := filepath.Join(dir, "pl.csv")
	os.WriteFile(pl, []byte("\"seconds\",\"val_pseudo_nll\",\"epoch\",\"train_pseudo_nll\"\n\"3.5\",\"0.2\",\"1\",\"0.19\"\n"), 0o644)
	got, pseudo, err = ReadFit(pl)
	if err != nil || !pseudo || len(got) != 1 || got[0].ValNLL != 0.2 || got[0].TrainNLL != 0.19 || !math.IsNaN(got[0].PearsonAbs) {
		t.Errorf("pandas-written pseudo file: %+v %v %v", got, pseudo, err)
	}
	for name, content := range map[string]string{
		"empty":     "",
		"no column": "epoch,train_nll,seconds\n1,2,3\n",
		"bad value": "epoch,train_nll,val_nll,seconds\n1,x,2,3\n",
		"bad epoch": "epoch,train_nll,val_nll,seconds\n1.5,1,2,3\n",
		"short row": "epoch,train_nll,val_nll,seconds\n1,1,2\n",
	} {
		p := filepath.Join(dir, "bad.csv")
		os.WriteFile(p, []byte(content), 0o644)
		if _, _, err := ReadFit(p); err == nil || !strings.Contains(err.Error(), "bad.csv") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestFitPlots(t *testing.T) {
	dir := t.TempDir()
	rows := []FitRow{{1, 0.6, 0.61, 1, 0.3}, {2, 0.5, 0.52, 1, 0.6}, {3, 0.45, 0.5, 1, math.NaN()}}
	curves := filepath.Join(dir, "curves")
	if err := PlotFitCurves([]FitCurve{{Label: "sk_1rsb", Rows: rows}}, curves); err != nil {
		t.Fatal(err)
	}
	if err := PlotFitCurves([]FitCurve{{Label: "x", Rows: []FitRow{{1, math.NaN(), math.NaN(), 1, math.NaN()}}}}, curves); err == nil {
		t.Error("a curve without finite values drawn")
	}
	sc := filepath.Join(dir, "scatter")
	panel := CouplingPanel{Label: "plm", AbsJ: []float64{0.1, 0.2, 0.3}, AbsW: []float64{0.12, 0.18, 0.33}, Intercept: 0.01, Slope: 1, R: 0.98}
	if err := PlotCouplings([]CouplingPanel{panel, panel}, sc); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{curves + ".png", curves + ".svg", sc + ".png", sc + ".svg"} {
		if fi, err := os.Stat(f); err != nil || fi.Size() < 1000 {
			t.Errorf("%s: %v", f, err)
		}
	}
	svg, _ := os.ReadFile(sc + ".svg")
	if !strings.Contains(string(svg), "r(|W|, |J|) = 0.980") || !strings.Contains(string(svg), "pairs i &lt; j (3)") {
		t.Error("the scatter's title or legend is missing from the SVG")
	}
	if err := PlotCouplings(nil, sc); err == nil {
		t.Error("no panels drawn")
	}
	if err := PlotCouplings([]CouplingPanel{{Label: "bad", AbsJ: []float64{1}, AbsW: nil}}, sc); err == nil {
		t.Error("mismatched panel drawn")
	}
}

// TestFitPanels: the NLL panel's y axis spans the finite NLL values up to
// the highest held-out one, padded by 5 %; the correlation panel is there
// only when some run has r(|W|, |J|); PlotFitCurves is 4 inches high with
// one panel and 7 with two, PlotCouplings 4.2 inches per panel; the least
// squares line runs from (0, a) to (max |J|, a + b·max |J|).
func TestFitPanels(t *testing.T) {
	nan := math.NaN()
	rows := []FitRow{{1, 0.9, 0.7, 1, nan}, {2, 0.5, 0.6, 1, 0.4}, {3, 0.4, 0.55, 1, 0.6}}
	ps, err := fitCurvePanels([]FitCurve{{Label: "a", Rows: rows}})
	if err != nil || len(ps) != 2 {
		t.Fatalf("%d panels, %v", len(ps), err)
	}
	if lo, hi := 0.4-0.05*0.3, 0.7+0.05*0.3; math.Abs(ps[0].Y.Min-lo) > 1e-12 || math.Abs(ps[0].Y.Max-hi) > 1e-12 {
		t.Errorf("NLL axis [%v, %v], want [%v, %v]", ps[0].Y.Min, ps[0].Y.Max, lo, hi)
	}
	if ps[1].Y.Min != 0.4 || ps[1].Y.Max != 0.6 || ps[1].X.Min != 2 {
		t.Errorf("r axis x from %v, y [%v, %v]", ps[1].X.Min, ps[1].Y.Min, ps[1].Y.Max)
	}
	for k := range rows {
		rows[k].PearsonAbs = nan
	}
	if ps, err := fitCurvePanels([]FitCurve{{Label: "a", Rows: rows}}); err != nil || len(ps) != 1 {
		t.Errorf("without r: %d panels, %v", len(ps), err)
	}
	dir := t.TempDir()
	height := func(name string) int {
		_, h := pngSize(t, filepath.Join(dir, name+".png"))
		return h
	}
	PlotFitCurves([]FitCurve{{Label: "a", Rows: rows}}, filepath.Join(dir, "one"))
	rows[1].PearsonAbs = 0.5
	PlotFitCurves([]FitCurve{{Label: "a", Rows: rows}}, filepath.Join(dir, "two"))
	panel := CouplingPanel{Label: "plm", AbsJ: []float64{0.1, 0.4}, AbsW: []float64{0.1, 0.2}, Intercept: 0.05, Slope: 2}
	PlotCouplings([]CouplingPanel{panel, panel}, filepath.Join(dir, "cp"))
	if h1, h2, hc := height("one"), height("two"), height("cp"); h1 != 4*96 || h2 != 7*96 || math.Abs(float64(hc)-2*4.2*96) > 1 {
		t.Errorf("heights %d, %d, %d pixels; want 384, 672, 806", h1, h2, hc)
	}
	cps, err := couplingPlots([]CouplingPanel{panel})
	if err != nil {
		t.Fatal(err)
	}
	// The line's top, 0.05 + 2·0.4, is above every point.
	if p := cps[0]; p.X.Min != 0 || p.X.Max != 0.4 || p.Y.Min != 0 || math.Abs(p.Y.Max-0.85) > 1e-15 {
		t.Errorf("couplings axes x [%v, %v], y [%v, %v]", p.X.Min, p.X.Max, p.Y.Min, p.Y.Max)
	}
}
