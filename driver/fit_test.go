package driver

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn/internal/npy"
	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
)

// exactDataFile writes rows exact Boltzmann samples of SK N = n (seed) at
// beta to dir/name as int8 .npy and returns the path.
func exactDataFile(t *testing.T, dir, name string, n int, seed uint64, beta float64, rows int) string {
	t.Helper()
	m, err := model.SherringtonKirkpatrick(n, 1, 0, seed)
	if err != nil {
		t.Fatal(err)
	}
	net, err := model.NewNet("h2arnn", m, model.ArchOptions{Beta: beta})
	if err != nil {
		t.Fatal(err)
	}
	net.SetBeta(beta)
	bt := model.SampleBatch(net, rows, 1, 2)
	var b bytes.Buffer
	if err := npy.WriteInt8(&b, bt.X, rows, n); err != nil {
		t.Fatal(err)
	}
	return writeTemp(t, dir, name, b.String())
}

// fitCSVNoSeconds is fit.csv without its seconds column.
func fitCSVNoSeconds(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, output.FitFile))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	col := slices.Index(strings.Split(lines[0], ","), "seconds")
	for i, l := range lines {
		f := strings.Split(l, ",")
		lines[i] = strings.Join(slices.Delete(f, col, col+1), ",")
	}
	return strings.Join(lines, "\n")
}

// TestFitRunFiles: a fit with learned couplings and a plm fit of the same
// data write every file; fit.csv has one row per epoch; couplings.txt reads
// back as a model whose comparison with the truth is the one reported;
// 'h2arnn plot' of both draws the learning curves and both scatters.
func TestFitRunFiles(t *testing.T) {
	root := t.TempDir()
	data := exactDataFile(t, root, "x.npy", 9, 4, 1.2, 3000)
	netDir, plmDir := filepath.Join(root, "net"), filepath.Join(root, "plm")
	st, out, errs := runCLI("fit", "-data", data, "-arch", "sk_rs", "-learn-couplings", "-epochs", "6", "-batch", "50", "-lr", "0.02",
		"-model", "sk", "-seed", "4", "-quiet", "-out", netDir)
	if st != 0 || errs != "" {
		t.Fatalf("fit -quiet: status %d, stderr %q", st, errs)
	}
	res := jsonLines(t, out)[0]
	if num(t, res, "epochs") != 6 || num(t, res, "train_rows") != 2700 || num(t, res, "val_rows") != 300 || res["pseudo_likelihood"] != false {
		t.Errorf("result %v", res)
	}
	rows, pseudo, err := output.ReadFit(filepath.Join(netDir, output.FitFile))
	if err != nil || pseudo || len(rows) != 6 || rows[5].Epoch != 6 {
		t.Fatalf("fit.csv: %v %v %v", rows, pseudo, err)
	}
	if best := int(num(t, res, "best_epoch")); rows[best-1].PearsonAbs != num(t, res, "pearson_abs") {
		t.Errorf("fit.csv's r(|W|,|J|) at the best epoch %d is %v, the result's %v", best, rows[best-1].PearsonAbs, res["pearson_abs"])
	}
	for _, r := range rows {
		if !(r.TrainNLL > 0 && r.ValNLL > 0 && r.TrainNLL < math.Ln2 && r.Seconds > 0) {
			t.Errorf("fit.csv row %+v: NLL per spin must lie in (0, ln 2)", r)
		}
	}
	truth, _ := model.SherringtonKirkpatrick(9, 1, 0, 4)
	for _, dir := range []string{netDir} {
		learned, err := model.LoadCouplings(filepath.Join(dir, couplingsFile), filepath.Join(dir, fieldsFile), 9)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := model.CompareCouplings(learned.J, truth.J, 9)
		if c.PearsonAbs != num(t, res, "pearson_abs") || c.Pearson != num(t, res, "pearson") || c.RMSScaled != num(t, res, "rms_scaled") {
			t.Errorf("%s: couplings.txt gives %+v, the result line %v", dir, c, res)
		}
	}
	st, out, errs = runCLI("fit", "-data", data, "-arch", "plm", "-beta", "1.2", "-model", "sk", "-n", "9", "-seed", "4", "-out", plmDir)
	if st != 0 {
		t.Fatalf("plm: status %d %q", st, errs)
	}
	pres := jsonLines(t, out)[0]
	learned, err := model.LoadCouplings(filepath.Join(plmDir, couplingsFile), "", 9)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := model.CompareCouplings(learned.J, truth.J, 9)
	t.Logf("sk_rs: r(|W|,|J|) %.3f; plm: r %.3f, slope %.3f, rms %.3f", num(t, res, "pearson_abs"), c.Pearson, c.Slope, c.RMS)
	if pres["pseudo_likelihood"] != true || c.Pearson != num(t, pres, "pearson") || c.Pearson < 0.9 || math.Abs(c.Slope-1) > 0.2 {
		t.Errorf("plm result %v, couplings %+v", pres, c)
	}
	for dir, files := range map[string][]string{
		netDir: {"fit_curves.png", "fit_curves.svg", "couplings_vs_learned.png", "couplings_vs_learned.svg", "summary.json", "checkpoint.json"},
		plmDir: {"couplings_vs_learned.png", "couplings_vs_learned.svg", "fields.txt", "summary.json"},
	} {
		for _, f := range files {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("%s: no %s", dir, f)
			}
		}
	}
	prefix := filepath.Join(root, "cmp")
	st, out, errs = runCLI("plot", "-out", prefix, netDir, plmDir)
	if st != 0 {
		t.Fatalf("plot: status %d %q", st, errs)
	}
	files := jsonLines(t, out)[0]["files"].([]any)
	if len(files) != 4 {
		t.Errorf("plot wrote %v", files)
	}
	if st, _, errs := runCLI("plot", netDir, filepath.Join(root, "nothing")); st != exitUsage {
		t.Errorf("plot of a fit run and a non-run: status %d %q", st, errs)
	}
	if st, _, errs := runCLI("fit", "-resume", netDir); st != exitUsage || !strings.Contains(errs, "already complete") {
		t.Errorf("resuming a complete fit: status %d %q", st, errs)
	}
}

// TestFitResumeAndWorkers: a fit interrupted at arbitrary steps (epoch
// ends included) and resumed gives the same fit.csv (but seconds), result
// and couplings as an uninterrupted one, which is the same with 1 or 2
// workers.
func TestFitResumeAndWorkers(t *testing.T) {
	root := t.TempDir()
	data := exactDataFile(t, root, "x.npy", 8, 2, 1, 1200)
	base := []string{"fit", "-data", data, "-arch", "sk_1rsb", "-learn-couplings", "-init-scale", "0.05", "-epochs", "5",
		"-batch", "64", "-lr", "0.01", "-val", "0.2", "-patience", "3", "-model", "sk", "-seed", "2", "-quiet"}
	ref := filepath.Join(root, "ref")
	st, refOut, errs := runCLI(append(base, "-workers", "1", "-out", ref)...)
	if st != 0 {
		t.Fatalf("status %d %q", st, errs)
	}
	want := jsonNoSeconds(t, refOut)
	refCouplings, _ := os.ReadFile(filepath.Join(ref, couplingsFile))
	defer func() { testFitStop = nil }()
	for k, stops := range [][][2]int{{{1, 3}}, {{2, 15}, {4, 1}}} {
		dir := filepath.Join(root, "run"+string(rune('a'+k)))
		args := append(base, "-workers", "2", "-out", dir)
		for _, s := range stops {
			testFitStop = func(epoch, step int) bool { return epoch == s[0] && step == s[1] }
			st, out, errs := runCLI(args...)
			if st != exitSignal || out != "" || !strings.Contains(errs, "-resume "+dir) {
				t.Fatalf("stop %v: status %d %q %q", s, st, out, errs)
			}
			args = []string{"fit", "-resume", dir, "-quiet"}
		}
		testFitStop = nil
		if st, _, errs := runCLI("fit", "-resume", dir, "-lr", "0.5"); st != exitUsage || !strings.Contains(errs, "-lr") {
			t.Errorf("resume with another -lr: %d %q", st, errs)
		}
		st, out, errs := runCLI("fit", "-resume", dir)
		if st != 0 {
			t.Fatalf("resume: status %d %q", st, errs)
		}
		if got := jsonNoSeconds(t, out); !reflect.DeepEqual(got, want) {
			t.Errorf("stops %v: result\n got %v\nwant %v", stops, got, want)
		}
		if fitCSVNoSeconds(t, dir) != fitCSVNoSeconds(t, ref) {
			t.Errorf("stops %v: fit.csv differs:\n%s\nwant\n%s", stops, fitCSVNoSeconds(t, dir), fitCSVNoSeconds(t, ref))
		}
		c, _ := os.ReadFile(filepath.Join(dir, couplingsFile))
		if !bytes.Equal(c, refCouplings) {
			t.Errorf("stops %v: couplings.txt differs", stops)
		}
	}
}

// TestFitBadInput: bad data files and bad flags give one line and status 2.
func TestFitBadInput(t *testing.T) {
	dir := t.TempDir()
	good := exactDataFile(t, dir, "good.npy", 6, 1, 1, 50)
	f64 := func(shape string, v ...float64) string {
		var b []byte
		dict := "{'descr': '<f8', 'fortran_order': False, 'shape': " + shape + ", }"
		b = append(b, "\x93NUMPY\x01\x00"...)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(dict)+1))
		b = append(b, dict...)
		b = append(b, '\n')
		for _, x := range v {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
		}
		return string(b)
	}
	files := map[string]string{
		"empty":  writeTemp(t, dir, "empty.npy", ""),
		"text":   writeTemp(t, dir, "text.npy", "0 1 0.5\n1 2 1\n"),
		"1d":     writeTemp(t, dir, "1d.npy", f64("(4,)", 1, -1, 1, 1)),
		"values": writeTemp(t, dir, "values.npy", f64("(2, 2)", 1, -1, 2, 1)),
		"zeros":  writeTemp(t, dir, "zeros.npy", f64("(2, 2)", 1, 0, 1, 1)),
		"nan":    writeTemp(t, dir, "nan.npy", f64("(2, 2)", 1, -1, 1, math.NaN())),
		"short":  writeTemp(t, dir, "short.npy", f64("(3, 2)", 1, -1, 1)),
	}
	out := filepath.Join(dir, "out")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-arch", "1l"}, "-data"},
		{[]string{"-data", good}, "-arch"},
		{[]string{"-data", files["empty"], "-arch", "1l"}, "empty"},
		{[]string{"-data", files["text"], "-arch", "1l"}, "not a .npy"},
		{[]string{"-data", files["1d"], "-arch", "1l"}, "shape"},
		{[]string{"-data", files["values"], "-arch", "1l"}, "sample 1, spin 0 is 2"},
		{[]string{"-data", files["zeros"], "-arch", "1l"}, "2*x - 1"},
		{[]string{"-data", files["nan"], "-arch", "1l"}, "NaN"},
		{[]string{"-data", files["short"], "-arch", "1l"}, "truncated"},
		{[]string{"-data", filepath.Join(dir, "none.npy"), "-arch", "1l"}, "none.npy"},
		{[]string{"-data", dir, "-arch", "1l"}, "samples.npy"},
		{[]string{"-data", good, "-arch", "h2arnn"}, "-arch"},
		{[]string{"-data", good, "-arch", "sk_1rsb"}, "-learn-couplings"},
		{[]string{"-data", good, "-arch", "1l", "-learn-couplings"}, "-learn-couplings"},
		{[]string{"-data", good, "-arch", "1l", "-l2", "0.1"}, "-l2"},
		{[]string{"-data", good, "-arch", "plm", "-lr", "0.1"}, "-lr"},
		{[]string{"-data", good, "-arch", "sk_1rsb", "-learn-couplings", "-init-scale", "-1"}, "-init-scale"},
		{[]string{"-data", good, "-arch", "1l", "-val", "1"}, "-val"},
		{[]string{"-data", good, "-arch", "1l", "-val", "0", "-patience", "3"}, "-patience"},
		{[]string{"-data", good, "-arch", "1l", "-model", "sk", "-n", "7"}, "N = 7"},
		{[]string{"-data", good, "-arch", "1l", "-seed", "3"}, "-model"},
		{[]string{"-data", good, "-arch", "1l", "-epochs", "0"}, "-epochs"},
	} {
		st, stdout, errs := runCLI(append([]string{"fit", "-quiet", "-out", out}, c.args...)...)
		if st != exitUsage || stdout != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: status %d stdout %q stderr %q (want one line with %q)", c.args, st, stdout, errs, c.want)
		}
		checkNoCrash(t, errs)
	}
}
