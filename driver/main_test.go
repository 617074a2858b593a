package driver

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn"
	"github.com/h2arnn/h2arnn/internal/npy"
)

// runCLI runs the driver in-process and returns status, stdout and stderr.
func runCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	st := run(args, &out, &errb)
	return st, out.String(), errb.String()
}

// writeTemp writes content to name in dir and returns the path.
func writeTemp(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkNoCrash fails if any output looks like a Go panic or stack trace.
func checkNoCrash(t *testing.T, outs ...string) {
	t.Helper()
	for _, s := range outs {
		for _, bad := range []string{"panic", "goroutine", ".go:"} {
			if strings.Contains(s, bad) {
				t.Errorf("output contains %q: %s", bad, s)
			}
		}
	}
}

// TestBadInput walks bad flags and bad files: each must exit with status 2,
// print nothing on stdout and exactly one line on stderr that names the
// flag or the file:line at fault.
func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	good := writeTemp(t, dir, "good.txt", "0 1 0.5\n1 2 -0.25\n")
	files := map[string]string{
		"empty":     "",
		"comments":  "# nothing here\n\n",
		"fields2":   "0 1 1\n0 2\n",
		"fields4":   "0 1 1 1\n",
		"badnum":    "0 1 x1\n",
		"badidx":    "0 one 1\n",
		"negidx":    "0 1 1\n-2 1 1\n",
		"self":      "0 1 1\n2 2 1\n",
		"twice":     "0 1 1\n1 0 2\n",
		"nan":       "0 1 nan\n",
		"inf":       "0 1 +Inf\n",
		"bigidx":    "0 99999 1\n",
		"hbad":      "0 x\n",
		"htwice":    "0 1\n0 2\n",
		"hnan":      "1 NaN\n",
		"hnegative": "-1 2\n",
	}
	path := map[string]string{}
	for name, c := range files {
		path[name] = writeTemp(t, dir, name+".txt", c)
	}
	path["bad.npz"] = writeTemp(t, dir, "bad.npz", "PK\x03\x04 not really a zip archive")
	corruptRun := filepath.Join(dir, "corrupt")
	if err := os.Mkdir(corruptRun, 0o755); err != nil {
		t.Fatal(err)
	}
	writeTemp(t, corruptRun, checkpointFile, `{"format": 1, "arch": "1p", "params": [0.5, `)
	fileCase := func(name string) []string {
		return []string{"exact", "-model", "file", "-couplings", path[name], "-beta", "1"}
	}
	cases := []struct {
		args []string
		want string // substring the one stderr line must contain
	}{
		{nil, "no subcommand"},
		{[]string{"frobnicate"}, `"frobnicate"`},
		{[]string{"exact", "-bogus"}, "-bogus"},
		{[]string{"bench", "-model", "sk", "-n", "8", "-steps", "0"}, "-steps 0"},
		{[]string{"bench", "-model", "sk", "-n", "8", "-batch", "1"}, "-batch 1"},
		{[]string{"bench", "-model", "sk", "-n", "8", "-arch", "nope"}, "-arch nope"},
		{[]string{"bench", "-n", "8"}, "-model"},
		{[]string{"exact", "-model", "cw", "-n", "20", "-beta", "1", "extra"}, `"extra"`},
		{[]string{"exact", "-model", "cw", "-beta", "1"}, "-n"},
		{[]string{"exact", "-model", "cw", "-n", "0", "-beta", "1"}, "-n"},
		{[]string{"exact", "-model", "cw", "-n", "-3", "-beta", "1"}, "-n -3"},
		{[]string{"exact", "-model", "cw", "-n", "abc", "-beta", "1"}, "-n"},
		{[]string{"exact", "-model", "cw", "-n", "30000", "-beta", "1"}, "-n 30000"},
		{[]string{"exact", "-model", "cw", "-n", "20"}, "-beta"},
		{[]string{"exact", "-model", "cw", "-n", "20", "-beta", "abc"}, "-beta"},
		{[]string{"exact", "-model", "cw", "-n", "20", "-beta", "-1"}, "-beta -1"},
		{[]string{"exact", "-model", "cw", "-n", "20", "-beta", "0"}, "-beta 0"},
		{[]string{"exact", "-model", "cw", "-n", "20", "-beta", "NaN"}, "-beta"},
		{[]string{"exact", "-model", "cw", "-n", "20", "-beta", "inf"}, "-beta"},
		{[]string{"exact", "-model", "cw", "-n", "20", "-beta", "1,,2"}, "-beta"},
		{[]string{"exact", "-model", "cw", "-n", "20", "-beta", "0.5;1"}, "-beta"},
		{[]string{"exact", "-model", "cw", "-n", "20", "-J", "nan", "-beta", "1"}, "-J"},
		{[]string{"exact", "-model", "potts", "-n", "20", "-beta", "1"}, "-model"},
		{[]string{"exact", "-n", "20", "-beta", "1"}, "-model"},
		{[]string{"exact", "-model", "cw", "-n", "20", "-beta", "1", "-method", "magic"}, "-method"},
		{[]string{"exact", "-model", "sk", "-n", "40", "-beta", "1", "-method", "enumerate"}, "-method enumerate"},
		{[]string{"exact", "-model", "sk", "-n", "40", "-beta", "1"}, "N ≤ 32"},
		{[]string{"exact", "-model", "sk", "-n", "10", "-beta", "1", "-method", "analytic"}, "-method analytic"},
		{[]string{"exact", "-model", "sk", "-n", "10", "-beta", "1", "-method", "meanfield"}, "-method meanfield"},
		{[]string{"exact", "-model", "cw", "-n", "10", "-beta", "1", "-workers", "-1"}, "-workers"},
		{[]string{"exact", "-model", "cw", "-n", "10", "-beta", "1", "-couplings", good}, "-couplings"},
		{[]string{"exact", "-model", "file", "-beta", "1"}, "-couplings"},
		{[]string{"exact", "-model", "file", "-couplings", good, "-J", "2", "-beta", "1"}, "-J"},
		{[]string{"exact", "-model", "file", "-couplings", filepath.Join(dir, "missing.txt"), "-beta", "1"}, "missing.txt"},
		{[]string{"exact", "-model", "file", "-couplings", good, "-fields", filepath.Join(dir, "nofields.txt"), "-beta", "1"}, "nofields.txt"},
		{[]string{"exact", "-model", "file", "-couplings", good, "-n", "2", "-beta", "1"}, "DIR/good.txt:2:"},
		{[]string{"exact", "-model", "file", "-couplings", good, "-n", "30000", "-beta", "1"}, "-n 30000"},
		{fileCase("empty"), "empty.txt:1:"},
		{fileCase("comments"), "comments.txt:2:"},
		{fileCase("fields2"), "fields2.txt:2:"},
		{fileCase("fields4"), "fields4.txt:1:"},
		{fileCase("badnum"), "badnum.txt:1:"},
		{fileCase("badidx"), "badidx.txt:1:"},
		{fileCase("negidx"), "negidx.txt:2:"},
		{fileCase("self"), "self.txt:2:"},
		{fileCase("twice"), "twice.txt:2:"},
		{fileCase("nan"), "nan.txt:1:"},
		{fileCase("inf"), "inf.txt:1:"},
		{fileCase("bigidx"), "bigidx.txt:1:"},
		{[]string{"exact", "-model", "file", "-couplings", good, "-fields", path["hbad"], "-beta", "1"}, "hbad.txt:1:"},
		{[]string{"exact", "-model", "file", "-couplings", good, "-fields", path["htwice"], "-beta", "1"}, "htwice.txt:2:"},
		{[]string{"exact", "-model", "file", "-couplings", good, "-fields", path["hnan"], "-beta", "1"}, "hnan.txt:1:"},
		{[]string{"exact", "-model", "file", "-couplings", good, "-fields", path["hnegative"], "-beta", "1"}, "hnegative.txt:1:"},
		{[]string{"sample", "-model", "cw", "-n", "10", "-beta", "1"}, "-arch"},
		{[]string{"sample", "-model", "cw", "-n", "10", "-beta", "1", "-arch", "nope"}, "-arch nope"},
		{[]string{"sample", "-model", "sk", "-n", "10", "-beta", "1", "-arch", "cw_n"}, "-arch cw_n"},
		{[]string{"sample", "-model", "cw", "-n", "10", "-arch", "cw_n"}, "-beta"},
		{[]string{"sample", "-model", "cw", "-n", "10", "-beta", "1,2", "-arch", "cw_n"}, "one inverse temperature"},
		{[]string{"sample", "-model", "cw", "-n", "10", "-beta", "-2", "-arch", "cw_n"}, "-beta"},
		{[]string{"sample", "-model", "cw", "-n", "10", "-beta", "1", "-arch", "cw_n", "-samples", "0"}, "-samples"},
		{[]string{"sample", "-model", "cw", "-n", "10", "-beta", "1", "-arch", "cw_n", "-workers", "-2"}, "-workers"},
		{[]string{"sample", "-model", "cw", "-n", "10", "-beta", "1", "-arch", "cw_n", "-out", filepath.Join(dir, "no", "such", "dir.npy")}, "-out"},
		{[]string{"sample", "-model", "file", "-couplings", path["twice"], "-beta", "1", "-arch", "h2arnn"}, "twice.txt:2:"},
		{[]string{"train", "-model", "cw", "-n", "8"}, "-arch"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "nope"}, "-arch nope"},
		{[]string{"train", "-model", "sk", "-n", "8", "-arch", "cw_n"}, "-arch cw_n"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-beta-range", "0.1,2"}, "-beta-range"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-beta-range", "0.1,2,x"}, "-beta-range"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-beta-range", "-1,2,3"}, "-beta-range"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-beta-range", "0.1,2,0"}, "-beta-range"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-init-steps", "-1"}, "-init-steps"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-max-step", "-5"}, "-max-step"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-batch", "1"}, "-batch"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-lr", "0"}, "-lr"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-lr", "NaN"}, "-lr"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-std-limit", "-1"}, "-std-limit"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-stats-batches", "0"}, "-stats-batches"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-overlap-bins", "-1"}, "-overlap-bins"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-eval-samples", "1"}, "-eval-samples"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-workers", "-1"}, "-workers"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-k", "2"}, "-k"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "sk_krsb", "-k", "-1"}, "-k"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1l", "-depth", "3"}, "-depth"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "made", "-width", "0"}, "-width"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-analytic-init"}, "-analytic-init"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-train-seed", "x"}, "-train-seed"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-out", good}, "-out"},
		{[]string{"train", "-model", "file", "-couplings", path["self"], "-arch", "1p"}, "self.txt:2:"},
		{[]string{"instance", "-model", "sk", "-n", "10", "-field", "0.5"}, "-fields"},
		{[]string{"instance", "-model", "file", "-n", "10"}, "-model"},
		{[]string{"instance", "-model", "sk", "-n", "1"}, "-n 1"},
		{[]string{"instance", "-model", "sk", "-n", "5", "-out", filepath.Join(dir, "no", "such", "c.txt")}, "-out"},
		{[]string{"instance", "-model", "sk"}, "-n"},
		{[]string{"version", "extra"}, `"extra"`},
		{[]string{"train", "-resume", filepath.Join(dir, "nosuchrun")}, "-resume"},
		{[]string{"train", "-resume", dir}, "no " + checkpointFile},
		{[]string{"train", "-resume", corruptRun}, "not a valid checkpoint"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-save-samples", "bogus"}, "-save-samples"},
		{[]string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-checkpoint-every", "-1"}, "-checkpoint-every"},
		{[]string{"train", "-model", "file", "-couplings", path["bad.npz"], "-arch", "1p"}, "bad.npz"},
		{[]string{"exact", "-model", "file", "-couplings", path["bad.npz"], "-beta", "1"}, "bad.npz"},
		{[]string{"exact", "-model", "file", "-couplings", path["bad.npz"], "-fields", good, "-beta", "1"}, "-fields"},
		{[]string{"exact", "-model", "cw", "-n", "8", "-beta", "1", "-cpuprofile", filepath.Join(dir, "no", "such", "cpu.prof")}, "-cpuprofile"},
		{[]string{"exact", "-model", "cw", "-n", "8", "-beta", "1", "-memprofile", filepath.Join(dir, "no", "such", "mem.prof")}, "-memprofile"},
		{[]string{"sample", "-model", "cw", "-n", "8", "-beta", "1", "-arch", "cw_n", "-trace", filepath.Join(dir, "no", "such", "trace")}, "-trace"},
		{[]string{"sample", "-model", "cw", "-n", "10", "-beta", "1", "-arch", "cw_n", "-out", dir}, "-out"},
		{[]string{"plot"}, "no run directory"},
		{[]string{"plot", dir}, "stats.csv"},
		{[]string{"plot", filepath.Join(dir, "nosuchrun")}, "not a directory"},
		{[]string{"plot", "-beta", "-1", dir}, "-beta"},
		{[]string{"plot", "-bogus", dir}, "-bogus"},
		{[]string{"instance", "-model", "sk", "-n", "5", "-format", "csv"}, "-format"},
		{[]string{"instance", "-model", "sk", "-n", "5", "-format", "npz", "-out", filepath.Join(dir, "c.txt")}, "-format npz"},
		{[]string{"instance", "-model", "sk", "-n", "5", "-field", "1", "-format", "npz", "-fields", filepath.Join(dir, "h.txt")}, "-fields"},
	}
	for _, c := range cases {
		name := strings.Join(c.args, " ")
		name = strings.ReplaceAll(name, dir+string(filepath.Separator), "")
		t.Run(name, func(t *testing.T) {
			want := strings.ReplaceAll(c.want, "DIR/", dir+string(filepath.Separator))
			st, out, errs := runCLI(c.args...)
			checkNoCrash(t, out, errs)
			if st != exitUsage {
				t.Errorf("status %d, want %d; stderr %q", st, exitUsage, errs)
			}
			if out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
			if strings.Count(errs, "\n") != 1 || !strings.HasSuffix(errs, "\n") {
				t.Errorf("stderr is not exactly one line: %q", errs)
			}
			if !strings.HasPrefix(errs, "h2arnn") || !strings.Contains(errs, want) {
				t.Errorf("stderr %q does not contain %q", errs, want)
			}
		})
	}
}

// TestHelp checks that -h on the top level and on each subcommand prints a
// usage text to stderr that mentions every flag, and exits 0.
func TestHelp(t *testing.T) {
	st, out, errs := runCLI("-h")
	if st != 0 || out != "" {
		t.Fatalf("h2arnn -h: status %d stdout %q", st, out)
	}
	for _, c := range commands() {
		if !strings.Contains(errs, c.name) {
			t.Errorf("h2arnn -h does not list %s", c.name)
		}
		st, out, errs := runCLI(c.name, "-h")
		if st != 0 || out != "" || !strings.Contains(errs, "Usage: h2arnn "+c.name) {
			t.Errorf("%s -h: status %d stdout %q stderr %q", c.name, st, out, errs)
		}
	}
	_, _, errs = runCLI("exact", "-h")
	for _, f := range []string{"-model", "-n", "-J", "-field", "-seed", "-couplings", "-fields", "-beta", "-method", "-workers", "(default 1)"} {
		if !strings.Contains(errs, f) {
			t.Errorf("exact -h does not mention %s", f)
		}
	}
}

func TestRecoverPanic(t *testing.T) {
	// A nil stdout makes the subcommand's JSON encoder dereference nil: the
	// panic must become one line on stderr and status 1, without a trace.
	var errb bytes.Buffer
	st := run([]string{"version"}, nil, &errb)
	if st != exitInternal || strings.Count(errb.String(), "\n") != 1 || !strings.HasPrefix(errb.String(), "h2arnn version: internal error") {
		t.Fatalf("status %d stderr %q", st, errb.String())
	}
	checkNoCrash(t, strings.TrimPrefix(errb.String(), "h2arnn version: internal error: runtime error: invalid memory address or nil pointer dereference"))
}

func TestVersion(t *testing.T) {
	st, out, errs := runCLI("version")
	if st != 0 || errs != "" {
		t.Fatalf("status %d stderr %q", st, errs)
	}
	var v versionInfo
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("not JSON: %q", out)
	}
	if v.Module != "github.com/h2arnn/h2arnn" || !strings.HasPrefix(v.Go, "go") || v.Kernels == "" || len(v.AvailableKernels) == 0 {
		t.Errorf("incomplete version line %+v", v)
	}
	if v.Kernels != h2arnn.Kernels() || !slices.Equal(v.AvailableKernels, h2arnn.AvailableKernels()) {
		t.Errorf("version reports kernels %q of %v, the package %q of %v", v.Kernels, v.AvailableKernels, h2arnn.Kernels(), h2arnn.AvailableKernels())
	}
	if err := h2arnn.KernelsError(); (err == nil) != (v.KernelsError == "") || (err != nil && v.KernelsError != err.Error()) {
		t.Errorf("kernels_error %q, the package's %v", v.KernelsError, err)
	}
}

func TestInstanceRoundTrip(t *testing.T) {
	dir := t.TempDir()
	st, out, errs := runCLI("instance", "-model", "sk", "-n", "12", "-seed", "5", "-field", "0.25", "-fields", filepath.Join(dir, "h.txt"))
	if st != 0 || errs != "" {
		t.Fatalf("status %d stderr %q", st, errs)
	}
	c := writeTemp(t, dir, "c.txt", out)
	// -out writes the same bytes as standard output.
	if st, _, errs := runCLI("instance", "-model", "sk", "-n", "12", "-seed", "5", "-out", filepath.Join(dir, "c2.txt")); st != 0 {
		t.Fatalf("instance -out: %q", errs)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "c2.txt")); string(b) != out {
		t.Errorf("-out file differs from standard output")
	}
	if n := strings.Count(out, "\n"); n != 1+12*11/2 {
		t.Errorf("%d lines, want a comment and 66 couplings", n)
	}
	_ = c
}

// jsonLines decodes every line of out into maps.
func jsonLines(t *testing.T, out string) []map[string]any {
	t.Helper()
	var res []map[string]any
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("stdout line is not JSON: %q", l)
		}
		res = append(res, m)
	}
	return res
}

func num(t *testing.T, m map[string]any, key string) float64 {
	t.Helper()
	v, ok := m[key].(float64)
	if !ok || math.IsNaN(v) {
		t.Fatalf("field %q missing or not a number in %v", key, m)
	}
	return v
}

func TestExactAnalyticMatchesEnumerate(t *testing.T) {
	args := []string{"exact", "-model", "cw", "-n", "20", "-J", "1", "-field", "0.1", "-beta", "0.3,1,1.7"}
	st, outA, errs := runCLI(append(args, "-method", "analytic")...)
	if st != 0 || errs != "" {
		t.Fatalf("analytic: status %d %q", st, errs)
	}
	st, outE, errs := runCLI(append(args, "-method", "enumerate", "-workers", "2")...)
	if st != 0 || errs != "" {
		t.Fatalf("enumerate: status %d %q", st, errs)
	}
	st, outAuto, _ := runCLI(args...)
	if st != 0 || outAuto != outA {
		t.Errorf("auto for cw differs from analytic:\n%s\n%s", outAuto, outA)
	}
	a, e := jsonLines(t, outA), jsonLines(t, outE)
	if len(a) != 3 || len(e) != 3 {
		t.Fatalf("want 3 lines each, got %d and %d", len(a), len(e))
	}
	for k := range a {
		if a[k]["method"] != "analytic" || e[k]["method"] != "enumerate" || a[k]["model"] != "cw" || num(t, a[k], "n") != 20 {
			t.Errorf("line %d labels: %v / %v", k, a[k], e[k])
		}
		if num(t, a[k], "beta") != num(t, e[k], "beta") {
			t.Fatalf("β order differs")
		}
		for _, key := range []string{"f", "e", "s", "m_abs"} {
			x, y := num(t, a[k], key), num(t, e[k], key)
			if math.Abs(x-y) > 1e-12*math.Abs(x) {
				t.Errorf("β=%v %s: analytic %v enumerate %v", num(t, a[k], "beta"), key, x, y)
			}
		}
	}
	// Mean field: N → ∞, f = -ln 2/β below the transition at h = 0.
	st, out, errs := runCLI("exact", "-model", "cw", "-n", "50", "-beta", "0.5", "-method", "meanfield")
	if st != 0 {
		t.Fatalf("meanfield: %q", errs)
	}
	mfl := jsonLines(t, out)[0]
	if f := num(t, mfl, "f"); math.Abs(f+math.Ln2/0.5) > 1e-12 || num(t, mfl, "n") != 50 || mfl["method"] != "meanfield" {
		t.Errorf("meanfield line %v, want f = %v", mfl, -math.Ln2/0.5)
	}
}

// TestInstanceFileExact: an instance written by `instance` and read back by
// -model file gives exactly the numbers of -model sk with the same seed.
func TestInstanceFileExact(t *testing.T) {
	dir := t.TempDir()
	cp, hp := filepath.Join(dir, "c.txt"), filepath.Join(dir, "h.txt")
	sk := []string{"-n", "14", "-seed", "11", "-J", "1.2", "-field", "0.3"}
	if st, _, errs := runCLI(append([]string{"instance", "-model", "sk", "-out", cp, "-fields", hp}, sk...)...); st != 0 {
		t.Fatalf("instance: %q", errs)
	}
	betas := []string{"-beta", "0.4,1.1,2"}
	st, outSK, errs := runCLI(append(append([]string{"exact", "-model", "sk"}, sk...), betas...)...)
	if st != 0 {
		t.Fatalf("exact sk: %q", errs)
	}
	st, outFile, errs := runCLI(append([]string{"exact", "-model", "file", "-couplings", cp, "-fields", hp}, betas...)...)
	if st != 0 {
		t.Fatalf("exact file: %q", errs)
	}
	a, b := jsonLines(t, outSK), jsonLines(t, outFile)
	if len(a) != 3 || len(b) != 3 {
		t.Fatalf("lines: %d %d", len(a), len(b))
	}
	for k := range a {
		if b[k]["model"] != "file" || a[k]["model"] != "sk" || b[k]["method"] != "enumerate" {
			t.Errorf("labels %v %v", a[k], b[k])
		}
		for _, key := range []string{"n", "beta", "f", "e", "s", "m_abs"} {
			if num(t, a[k], key) != num(t, b[k], key) {
				t.Errorf("%s: sk %v file %v", key, a[k][key], b[k][key])
			}
		}
	}
	// Without the fields file the field is lost, so f must differ: the
	// comparison above is able to fail.
	_, outNoH, _ := runCLI(append([]string{"exact", "-model", "file", "-couplings", cp}, betas...)...)
	if c := jsonLines(t, outNoH); num(t, c[0], "f") == num(t, a[0], "f") {
		t.Error("dropping the fields file did not change f")
	}
}

// TestSampleExactNets: the exact nets sample with zero variance of
// ln q + βH, so f equals f_exact to rounding; the .npy file holds the
// samples; results do not depend on the number of workers.
func TestSampleExactNets(t *testing.T) {
	dir := t.TempDir()
	cases := [][]string{
		{"-model", "cw", "-n", "30", "-field", "0.2", "-arch", "cw_n", "-beta", "1.3"},
		{"-model", "sk", "-n", "10", "-seed", "3", "-arch", "h2arnn", "-beta", "1.5"},
	}
	for _, c := range cases {
		npyPath := filepath.Join(dir, c[len(c)-3]+".npy")
		args := append(append([]string{"sample"}, c...), "-samples", "300", "-seed", "9", "-workers", "2", "-out", npyPath)
		st, out, errs := runCLI(args...)
		if st != 0 || errs != "" {
			t.Fatalf("%v: status %d %q", c, st, errs)
		}
		r := jsonLines(t, out)[0]
		n := int(num(t, r, "n"))
		if r["arch"] != c[len(c)-3] || num(t, r, "samples") != 300 || num(t, r, "beta") != mustFloat(c[len(c)-1]) {
			t.Errorf("labels %v", r)
		}
		f, fx := num(t, r, "f"), num(t, r, "f_exact")
		if math.Abs(f-fx) > 1e-12*math.Abs(fx) || num(t, r, "f_std") > 1e-12 || math.Abs(num(t, r, "rel_err")) > 1e-12 {
			t.Errorf("%v: f %v f_exact %v f_std %v rel_err %v", c, f, fx, r["f_std"], r["rel_err"])
		}
		if s, e := num(t, r, "s"), num(t, r, "e"); s <= 0 || e < num(t, r, "e_min") || math.Abs(num(t, r, "beta")*(e-f)-s) > 1e-9 {
			t.Errorf("%v: inconsistent e %v e_min %v s %v", c, e, r["e_min"], s)
		}
		b, err := os.ReadFile(npyPath)
		if err != nil {
			t.Fatal(err)
		}
		h := npy.AppendHeader(nil, "|i1", []int{300, n})
		if !bytes.Equal(b[:len(h)], h) || len(b) != len(h)+300*n {
			t.Fatalf("npy file: %d bytes", len(b))
		}
		for _, v := range b[len(h):] {
			if v != 1 && v != 0xff {
				t.Fatalf("npy holds %d, not a ±1 spin", int8(v))
			}
		}
		// Same seed, one worker: identical output line.
		args1 := append(append([]string{"sample"}, c...), "-samples", "300", "-seed", "9", "-workers", "1")
		if _, out1, _ := runCLI(args1...); !reflect.DeepEqual(jsonNoSeconds(t, out1), jsonNoSeconds(t, out)) {
			t.Errorf("1 worker %q differs from 2 workers %q", out1, out)
		}
	}
	// cw has its analytic reference at any N, beyond enumeration.
	st, out, errs := runCLI("sample", "-model", "cw", "-n", "40", "-arch", "cw_n", "-beta", "1", "-samples", "10")
	if st != 0 {
		t.Fatalf("%q", errs)
	}
	if r := jsonLines(t, out)[0]; r["f_exact"] == nil {
		t.Errorf("cw at N=40 lacks f_exact: %v", r)
	}
}

func mustFloat(s string) float64 {
	var v float64
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		panic(err)
	}
	return v
}

// TestTrainSmoke runs a short annealing on a tiny model: one JSON line per
// β with the protocol's fields, a variational f not below the exact one by
// more than the evaluation noise, and the run files in -out.
func TestTrainSmoke(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	st, out, errs := runCLI("train", "-model", "cw", "-n", "8", "-arch", "1p", "-beta-range", "0.5,1.5,3",
		"-init-steps", "40", "-max-step", "10", "-batch", "100", "-eval-samples", "400", "-train-seed", "4", "-workers", "2", "-out", dir, "-quiet")
	if st != 0 || errs != "" {
		t.Fatalf("status %d stderr %q", st, errs)
	}
	lines := jsonLines(t, out)
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3", len(lines))
	}
	for k, r := range lines {
		if b := num(t, r, "beta"); math.Abs(b-[]float64{0.5, 1, 1.5}[k]) > 1e-15 {
			t.Errorf("line %d beta %v", k, b)
		}
		steps := num(t, r, "steps")
		if (k == 0 && steps != 40) || (k > 0 && (steps < 1 || steps > 10)) || num(t, r, "params") != 8 || r["arch"] != "1p" {
			t.Errorf("line %d: %v", k, r)
		}
		// F[q] ≥ F: the evaluation mean may dip below only by noise
		// (5 standard errors of 400 samples).
		f, fx, sd := num(t, r, "f"), num(t, r, "f_exact"), num(t, r, "f_std")
		if f < fx-5*sd/math.Sqrt(400) || math.Abs(num(t, r, "rel_err")-(f-fx)/math.Abs(fx)) > 1e-15 {
			t.Errorf("β=%v: f %v below exact %v (std %v)", r["beta"], f, fx, sd)
		}
	}
	csv, err := os.ReadFile(filepath.Join(dir, "stats.csv"))
	if err != nil || strings.Count(string(csv), "\n") != 4 || !strings.HasPrefix(string(csv), "beta,f,f_std,e,e_min,s,m_abs,steps,seconds") {
		t.Errorf("stats.csv: %v %q", err, csv)
	}
	data, err := os.ReadFile(filepath.Join(dir, "samples.npy"))
	if h := npy.AppendHeader(nil, "|i1", []int{400, 8}); err != nil || len(data) != len(h)+400*8 || !bytes.Equal(data[:len(h)], h) {
		t.Errorf("samples.npy: %v, %d bytes", err, len(data))
	}
	ov, err := os.ReadFile(filepath.Join(dir, "overlaps.csv"))
	if err != nil || strings.Count(string(ov), "\n") != 101 || !strings.HasPrefix(string(ov), "q_low,q_high,density\n-1,-0.98,") {
		t.Errorf("overlaps.csv: %v %.80q", err, ov)
	} else {
		// A density: Σ density · width = 1.
		total := 0.0
		for _, l := range strings.Split(strings.TrimSpace(string(ov)), "\n")[1:] {
			parts := strings.Split(l, ",")
			total += mustFloat(parts[2]) * (mustFloat(parts[1]) - mustFloat(parts[0]))
		}
		if math.Abs(total-1) > 1e-9 {
			t.Errorf("overlaps.csv integrates to %v", total)
		}
	}
	var sum map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err := json.Unmarshal(b, &sum); err != nil || sum["arch"] != "1p" || len(sum["results"].([]any)) != 3 {
		t.Errorf("summary.json: %v %v", err, sum)
	}

	// An exact net needs no training: it is only evaluated, and its f is
	// exact (zero-variance estimator).
	st, out, errs = runCLI("train", "-model", "cw", "-n", "12", "-arch", "cw_n", "-beta-range", "0.7,1.3,2", "-eval-samples", "50", "-quiet", "-out", filepath.Join(t.TempDir(), "cwn"))
	if st != 0 {
		t.Fatalf("cw_n: %q", errs)
	}
	for _, r := range jsonLines(t, out) {
		if math.Abs(num(t, r, "rel_err")) > 1e-12 || num(t, r, "steps") != 0 {
			t.Errorf("cw_n: %v", r)
		}
	}
}

// TestNonFiniteResult: an overflowing model gives one line and status 1,
// never a half-written JSON line.
func TestNonFiniteResult(t *testing.T) {
	st, out, errs := runCLI("exact", "-model", "cw", "-n", "20", "-J", "1e308", "-beta", "1")
	checkNoCrash(t, out, errs)
	if st != exitInternal || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "not a finite number") {
		t.Fatalf("status %d stdout %q stderr %q", st, out, errs)
	}
}
