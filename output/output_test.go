package output

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn/model"
)

func TestWriteNPYInt8(t *testing.T) {
	x := []int8{1, -1, 1, 1, -1, -1, 1, -1, 1, 1, 1, -1}
	var b bytes.Buffer
	if err := WriteNPYInt8(&b, x, 3, 4); err != nil {
		t.Fatal(err)
	}
	out := b.Bytes()
	if len(out) != 128+12 {
		t.Fatalf("%d bytes, want 140", len(out))
	}
	for k, v := range x {
		if int8(out[128+k]) != v {
			t.Fatalf("data byte %d = %d, want %d", k, int8(out[128+k]), v)
		}
	}
	for _, sh := range [][2]int{{3, 3}, {4, 4}, {-3, -4}, {0, 4}} {
		b.Reset()
		if err := WriteNPYInt8(&b, x, sh[0], sh[1]); err == nil || b.Len() != 0 {
			t.Errorf("shape %v for 12 values: err=%v, wrote %d bytes", sh, err, b.Len())
		}
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.txt")
	if err := os.WriteFile(path, []byte("old content\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A write function that fails half way must leave the old file intact
	// and no temporary file behind.
	boom := errors.New("boom")
	err := WriteFileAtomic(path, func(w io.Writer) error {
		w.Write([]byte("new but tru"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap the write error", err)
	}
	assertFile(t, path, "old content\n")
	assertOnlyFiles(t, dir, "f.txt")

	if err := WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write([]byte("new content\n"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, path, "new content\n")
	assertOnlyFiles(t, dir, "f.txt")
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}

	// A missing directory is an error that names the target.
	missing := filepath.Join(dir, "no", "such", "f.txt")
	if err := WriteFileAtomic(missing, func(io.Writer) error { return nil }); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing dir: err = %v", err)
	}
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Fatalf("%s holds %q, want %q", path, b, want)
	}
}

func assertOnlyFiles(t *testing.T, dir string, names ...string) {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range es {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Fatalf("%s holds %v, want %v", dir, got, names)
	}
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	nested := filepath.Join(dir, "a", "b")
	if err := CheckWritable(nested); err != nil {
		t.Fatal(err)
	}
	assertOnlyFiles(t, nested) // the probe is gone
	// A path below a regular file can never be a directory.
	file := filepath.Join(dir, "plain")
	os.WriteFile(file, nil, 0o644)
	if err := CheckWritable(filepath.Join(file, "sub")); err == nil || !strings.Contains(err.Error(), "cannot be created") {
		t.Errorf("dir below a file: err = %v", err)
	}
	if err := CheckWritable(""); err == nil {
		t.Error("empty name accepted")
	}
	// A read-only directory is refused (root may write anyway: skip then).
	ro := filepath.Join(dir, "ro")
	os.Mkdir(ro, 0o555)
	if f, err := os.CreateTemp(ro, "x"); err == nil {
		f.Close()
		os.Remove(f.Name())
		t.Log("running with permission to write read-only directories; skipping that case")
	} else if err := CheckWritable(ro); err == nil || !strings.Contains(err.Error(), "not writable") {
		t.Errorf("read-only dir: err = %v", err)
	}
}

// sameFloat compares bit patterns, except that any NaN equals any NaN.
func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Float64bits(a) == math.Float64bits(b)
}

func sameRow(a, b StatsRow) bool {
	fa := []float64{a.Beta, a.F, a.FStd, a.E, a.EMin, a.S, a.MAbs, a.Seconds}
	fb := []float64{b.Beta, b.F, b.FStd, b.E, b.EMin, b.S, b.MAbs, b.Seconds}
	for k := range fa {
		if !sameFloat(fa[k], fb[k]) {
			return false
		}
	}
	if a.Steps != b.Steps || (a.Exact == nil) != (b.Exact == nil) || (a.Estimates == nil) != (b.Estimates == nil) {
		return false
	}
	if a.Estimates != nil {
		ea, eb := a.Estimates.Values(), b.Estimates.Values()
		for k := range ea {
			if !sameFloat(ea[k], eb[k]) {
				return false
			}
		}
	}
	return a.Exact == nil || (sameFloat(a.FExact, b.FExact) && sameFloat(a.RelErr, b.RelErr))
}

func testRows() []StatsRow {
	rows := []StatsRow{
		{Beta: 0.1, Stats: model.Stats{F: -6.931471805599453, FStd: 1e-17, E: -0.05, EMin: -0.4, S: 0.69, MAbs: 0.17}, Steps: 5000, Seconds: 12.25},
		{Beta: 1.3000000000000003, Stats: model.Stats{F: -1.0 / 3, FStd: math.SmallestNonzeroFloat64, E: math.MaxFloat64, EMin: -math.MaxFloat64, S: math.NaN(), MAbs: math.Inf(1)}, Steps: 17, Seconds: math.Inf(-1)},
		{Beta: 2, Stats: model.Stats{F: -1.0000000000000002, FStd: 0, E: -0, EMin: -1, S: 2.2250738585072014e-308, MAbs: 1}, Steps: 1000, Seconds: 0.001},
	}
	rows[0].SetExact(-6.931471805599454)
	rows[2].SetExact(-1)
	rows[0].Estimates = &Estimates{FNIS: -6.9314718056, FNISErr: 1e-9, ESS: 0.97, ParetoK: 0.21, ENIS: -0.051, ENISErr: 2e-3, ENMCMC: -0.049, ENMCMCErr: 3e-3, Acceptance: 0.95, TauInt: 0.52}
	rows[2].Estimates = &Estimates{FNIS: -1.0000001, FNISErr: math.Inf(1), ESS: 5e-4, ParetoK: math.NaN(), ENIS: -1, ENISErr: 0, ENMCMC: -1, ENMCMCErr: 0, Acceptance: 0.01, TauInt: 40}
	return rows
}

func TestStatsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	for _, layout := range []StatsLayout{{}, {Exact: true}, {Estimate: true}, {Exact: true, Estimate: true}} {
		path := filepath.Join(dir, "stats.csv")
		w, err := CreateStats(path, layout)
		if err != nil {
			t.Fatal(err)
		}
		rows := testRows()
		for _, r := range rows {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Write(rows[0]); err == nil {
			t.Error("write after Close accepted")
		}
		got, hdr, err := ReadStats(path)
		if err != nil {
			t.Fatal(err)
		}
		wantHdr := "beta,f,f_std,e,e_min,s,m_abs,steps,seconds"
		if layout.Exact {
			wantHdr += ",f_exact,rel_err"
		}
		if layout.Estimate {
			wantHdr += ",f_nis,f_nis_err,ess,pareto_k,e_nis,e_nis_err,e_nmcmc,e_nmcmc_err,acceptance,tau_int"
		}
		if strings.Join(hdr, ",") != wantHdr {
			t.Errorf("header %v, want %s", hdr, wantHdr)
		}
		if len(got) != len(rows) {
			t.Fatalf("%d rows, want %d", len(got), len(rows))
		}
		for k := range rows {
			want := rows[k]
			if !layout.Exact {
				want.Exact = nil
			}
			if !layout.Estimate {
				want.Estimates = nil
			}
			if !sameRow(got[k], want) {
				t.Errorf("%+v row %d:\n got %+v\nwant %+v", layout, k, got[k], want)
			}
		}
		// The file is what pandas reads: the row without an exact value
		// or estimates has empty fields there; specials are spelt the
		// Python way.
		b, _ := os.ReadFile(path)
		lines := strings.Split(string(b), "\n")
		wantLine1 := "1.3000000000000003,-0.3333333333333333,5e-324,1.7976931348623157e+308,-1.7976931348623157e+308,nan,inf,17,-inf"
		if layout.Exact {
			wantLine1 += ",,"
		}
		if layout.Estimate {
			wantLine1 += ",,,,,,,,,,"
		}
		if lines[2] != wantLine1 {
			t.Errorf("row 1 written as\n%s\nwant\n%s", lines[2], wantLine1)
		}
		if layout.Estimate && !strings.HasSuffix(lines[3], ",-1.0000001,inf,0.0005,nan,-1,0,-1,0,0.01,40") {
			t.Errorf("row 2 written as\n%s", lines[3])
		}
	}
}

func TestSetExact(t *testing.T) {
	r := StatsRow{Stats: model.Stats{F: -1.1}}
	r.SetExact(-1)
	if r.Exact == nil || r.FExact != -1 || math.Abs(r.RelErr+0.1) > 1e-15 {
		t.Errorf("SetExact(-1) with F=-1.1: %+v, want rel_err -0.1 (below the bound)", r)
	}
	r = StatsRow{Stats: model.Stats{F: -0.9}}
	if r.SetExact(-1); math.Abs(r.RelErr-0.1) > 1e-15 {
		t.Errorf("SetExact(-1) with F=-0.9: rel_err %v, want +0.1 (above the bound)", r.RelErr)
	}
	r = StatsRow{Stats: model.Stats{F: 0.5}}
	if r.SetExact(0); !math.IsInf(r.RelErr, 1) {
		t.Errorf("f_exact=0: rel_err %v, want +Inf", r.RelErr)
	}
	r = StatsRow{Stats: model.Stats{F: 0}}
	if r.SetExact(0); r.RelErr != 0 {
		t.Errorf("f = f_exact = 0: rel_err %v, want 0", r.RelErr)
	}
}

func TestReadStatsErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ name, text, want string }{
		{"empty", "", "empty file"},
		{"no beta", "f,e\n1,2\n", `no "beta" column`},
		{"dup", "beta,f,f\n1,2,3\n", "appears twice"},
		{"short row", "beta,f,e\n1,2\n", ":2: 2 fields"},
		{"bad number", "beta,f\n1,2\n1,x\n", ":3: column f"},
		{"bad steps", "beta,f,steps\n1,2,1.5\n", "not a whole number"},
	}
	for _, c := range cases {
		path := filepath.Join(dir, "s.csv")
		os.WriteFile(path, []byte(c.text), 0o644)
		_, _, err := ReadStats(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: err = %v, want it to name the file and say %q", c.name, err, c.want)
		}
	}
	// Reordered and extra columns, CRLF and missing optional columns read.
	path := filepath.Join(dir, "s.csv")
	os.WriteFile(path, []byte("f,extra,beta\r\n-1.5,zz,0.5\r\n"), 0o644)
	rows, _, err := ReadStats(path)
	if err != nil || len(rows) != 1 || rows[0].Beta != 0.5 || rows[0].F != -1.5 || !math.IsNaN(rows[0].E) || rows[0].Exact != nil {
		t.Errorf("pandas-style file: %+v %v", rows, err)
	}
}

func TestResumeStats(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "stats.csv")
	w, err := CreateStats(path, StatsLayout{Exact: true, Estimate: true})
	if err != nil {
		t.Fatal(err)
	}
	rows := testRows()
	for _, r := range rows {
		w.Write(r)
	}
	w.Close()
	// A crash in the middle of a row leaves a partial line.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	f.Write([]byte("2.05,-1.2"))
	f.Close()
	before, _ := os.ReadFile(path)

	if _, _, err := ResumeStats(path, StatsLayout{Exact: true, Estimate: true}, 4); err == nil || !strings.Contains(err.Error(), "only 3 rows") {
		t.Errorf("keep 4 of 3: err = %v", err)
	}
	for _, other := range []StatsLayout{{}, {Exact: true}, {Estimate: true}} {
		if _, _, err := ResumeStats(path, other, 1); err == nil || !strings.Contains(err.Error(), "header") {
			t.Errorf("header mismatch %+v: err = %v", other, err)
		}
	}
	assertFile(t, path, string(before)) // failed resumes change nothing

	w, kept, err := ResumeStats(path, StatsLayout{Exact: true, Estimate: true}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 2 || !sameRow(kept[0], rows[0]) || !sameRow(kept[1], rows[1]) {
		t.Fatalf("kept %+v", kept)
	}
	extra := StatsRow{Beta: 1.35, Stats: model.Stats{F: -1.25}, Steps: 3}
	if err := w.Write(extra); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, _, err := ReadStats(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !sameRow(got[1], rows[1]) || got[2].Beta != 1.35 || got[2].Exact != nil {
		t.Errorf("after resume: %+v", got)
	}
}

func TestOverlapsFiles(t *testing.T) {
	dir := t.TempDir()
	hist := []float64{0, 0.5, 1.5, 0, 0.25, 1.75, 0, 0} // sums to 1 with width 0.25
	if err := WriteOverlaps(dir, 7, 39, hist); err != nil {
		t.Fatal(err)
	}
	assertOnlyFiles(t, dir, "overlaps.csv", "overlaps_b07.csv")
	b, _ := os.ReadFile(filepath.Join(dir, "overlaps_b07.csv"))
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 9 || lines[0] != "q_low,q_high,density" || lines[1] != "-1,-0.75,0" || lines[3] != "-0.5,-0.25,1.5" || lines[8] != "0.75,1,0" {
		t.Errorf("file:\n%s", b)
	}
	for _, name := range []string{"overlaps.csv", "overlaps_b07.csv"} {
		got, err := ReadOverlapsCSV(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for k := range hist {
			if got[k] != hist[k] {
				t.Fatalf("%s bin %d = %v, want %v", name, k, got[k], hist[k])
			}
		}
	}
	for _, bad := range [][]float64{nil, {1, -0.5}, {math.Inf(1), 0}} {
		if err := WriteOverlapsCSV(filepath.Join(dir, "bad.csv"), bad); err == nil {
			t.Errorf("histogram %v accepted", bad)
		}
	}
	assertOnlyFiles(t, dir, "overlaps.csv", "overlaps_b07.csv")
	// An undefined histogram (fewer than two samples) is stored as nan.
	nan := filepath.Join(t.TempDir(), "nan.csv")
	if err := WriteOverlapsCSV(nan, []float64{math.NaN(), math.NaN()}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, nan, "q_low,q_high,density\n-1,0,nan\n0,1,nan\n")
	if h, err := ReadOverlapsCSV(nan); err != nil || !math.IsNaN(h[1]) {
		t.Errorf("nan histogram read back as %v, %v", h, err)
	}
	for _, c := range []struct {
		k, count int
		want     string
	}{{0, 1, "samples_b0.npy"}, {9, 10, "samples_b9.npy"}, {3, 11, "samples_b03.npy"}, {10, 11, "samples_b10.npy"}, {7, 1000, "samples_b007.npy"}} {
		if got := PerBetaFile("samples", ".npy", c.k, c.count); got != c.want {
			t.Errorf("PerBetaFile(%d of %d) = %s, want %s", c.k, c.count, got, c.want)
		}
	}
	// Bins that are not equal bins on [-1, 1] are refused.
	os.WriteFile(filepath.Join(dir, "bad.csv"), []byte("q_low,q_high,density\n-1,0,1\n0,0.5,1\n"), 0o644)
	if _, err := ReadOverlapsCSV(filepath.Join(dir, "bad.csv")); err == nil || !strings.Contains(err.Error(), ":3:") {
		t.Errorf("unequal bins: err = %v", err)
	}
}

func TestSummaryAndLoadRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cw_n20")
	if err := CheckWritable(dir); err != nil {
		t.Fatal(err)
	}
	w, _ := CreateStats(filepath.Join(dir, StatsFile), StatsLayout{Exact: true})
	rows := testRows()
	for _, r := range rows {
		w.Write(r)
	}
	w.Close()
	// Without summary.json the label is the directory name.
	r, err := LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Label != "cw_n20" || len(r.Stats) != 3 || len(r.Overlaps) != 0 {
		t.Fatalf("%+v", r)
	}
	summary := map[string]any{"arch": "sk_1rsb", "n": 20, "beta_range": []float64{0.1, 2, 0.05}}
	if err := WriteSummary(filepath.Join(dir, SummaryFile), summary); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, SummaryFile))
	if !strings.HasPrefix(string(b), "{\n  \"arch\": \"sk_1rsb\",\n") || !strings.HasSuffix(string(b), "}\n") {
		t.Errorf("summary:\n%s", b)
	}
	// An undefined figure is written as null (None in Python), not refused.
	if err := WriteSummary(filepath.Join(dir, "nan.json"), map[string]float64{"f": math.NaN(), "g": math.Inf(-1), "h": 1.5}); err != nil {
		t.Error(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "nan.json")); string(b) != "{\n  \"f\": null,\n  \"g\": null,\n  \"h\": 1.5\n}\n" {
		t.Errorf("summary with NaN and -Inf:\n%s", b)
	}
	WriteOverlaps(dir, 1, 3, []float64{1, 0, 0, 1}) // files by index: β of rows 2 and 3
	WriteOverlaps(dir, 2, 3, []float64{0, 1, 1, 0})
	r, err = LoadRun(dir)
	if err != nil {
		t.Fatal(err)
	}
	if r.Label != "sk_1rsb" || len(r.Overlaps) != 2 || r.Overlaps[rows[1].Beta][0] != 1 || r.Overlaps[2][1] != 1 {
		t.Fatalf("label %q overlaps %v", r.Label, r.Overlaps)
	}
	// overlaps.csv alone is filed under the last β of the stats.
	os.Remove(filepath.Join(dir, "overlaps_b1.csv"))
	os.Remove(filepath.Join(dir, "overlaps_b2.csv"))
	if r, err = LoadRun(dir); err != nil || len(r.Overlaps) != 1 || r.Overlaps[2] == nil {
		t.Fatalf("overlaps.csv only: %v %v", r.Overlaps, err)
	}
	if _, err := LoadRun(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing run dir accepted")
	}
}
