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
