package driver

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/h2arnn/h2arnn/internal/npy"
	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
)

// readSamples reads an int8 samples.npy of shape (rows, n).
func readSamples(t *testing.T, path string, n int) []int8 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := npy.ReadAll(f, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if a.Kind != 'i' || a.ItemSize != 1 || len(a.Shape) != 2 || a.Shape[1] != n {
		t.Fatalf("%s: dtype %c%d shape %v, want int8 (·, %d)", path, a.Kind, a.ItemSize, a.Shape, n)
	}
	x := make([]int8, len(a.Raw))
	for k, b := range a.Raw {
		x[k] = int8(b)
	}
	return x
}

// boltzmannProbs returns P(x) at beta for every configuration of m, indexed
// by the bits of x (bit i set ⇔ x_i = +1).
func boltzmannProbs(m *model.Hamiltonian, beta float64) []float64 {
	n := m.N
	p := make([]float64, 1<<n)
	x := make([]float64, n)
	z := 0.0
	for s := range p {
		for i := range x {
			x[i] = float64(2*(s>>i&1) - 1)
		}
		p[s] = math.Exp(-beta * m.Energy(x))
		z += p[s]
	}
	for s := range p {
		p[s] /= z
	}
	return p
}

// TestMCMCAgainstEnumeration: on SK N = 10 with a field, plain Metropolis
// and parallel tempering give samples.npy whose configuration histogram
// passes a χ² test against enumeration (level 1e-4, cells with fewer than
// 5 expected pooled) and e, |m| within 4 reported standard errors of the
// exact values the command prints beside them.
func TestMCMCAgainstEnumeration(t *testing.T) {
	const n = 10
	m, err := model.SherringtonKirkpatrick(n, 1, 0.15, 6)
	if err != nil {
		t.Fatal(err)
	}
	for _, ladder := range [][]string{nil, {"-temperatures", "0.3,0.8,1.6"}, {"-temperatures", "5", "-beta-min", "0.2"}} {
		dir := filepath.Join(t.TempDir(), "run")
		args := append([]string{"mcmc", "-model", "sk", "-n", "10", "-seed", "6", "-field", "0.15", "-beta", "1.6",
			"-samples", "30000", "-sweeps", "3", "-burn-in", "50", "-chains", "3", "-overlap-bins", "0", "-quiet", "-out", dir}, ladder...)
		st, out, errs := runCLI(args...)
		if st != 0 {
			t.Fatalf("%v: status %d %q", ladder, st, errs)
		}
		res := jsonLines(t, out)[0]
		for _, key := range []string{"e", "m_abs"} {
			got, se, exact := num(t, res, key), num(t, res, key+"_err"), num(t, res, key+"_exact")
			if math.Abs(got-exact) > 4*se || se <= 0 {
				t.Errorf("%v: %s = %v ± %v, exact %v", ladder, key, got, se, exact)
			}
		}
		if res["tau_reliable"] != true || num(t, res, "r_hat_e") > 1.05 {
			t.Errorf("%v: τ reliable %v, R̂ %v", ladder, res["tau_reliable"], res["r_hat_e"])
		}
		wantRates := 0
		if ladder != nil {
			wantRates = len(res["ladder"].([]any)) - 1
		}
		if len(res["swap_rates"].([]any)) != wantRates || len(res["acceptance"].([]any)) != wantRates+1 {
			t.Errorf("%v: acceptance %v swap rates %v", ladder, res["acceptance"], res["swap_rates"])
		}
		x := readSamples(t, filepath.Join(dir, output.SamplesFile), n)
		rows := len(x) / n
		counts := make([]int, 1<<n)
		for b := range rows {
			s := 0
			for i := range n {
				if x[b*n+i] > 0 {
					s |= 1 << i
				}
			}
			counts[s]++
		}
		p := boltzmannProbs(m, 1.6)
		chi2, cells := 0.0, 0
		var poolObs, poolExp float64
		for s, c := range counts {
			e := p[s] * float64(rows)
			if e < 5 {
				poolObs += float64(c)
				poolExp += e
				continue
			}
			chi2 += (float64(c) - e) * (float64(c) - e) / e
			cells++
		}
		chi2 += (poolObs - poolExp) * (poolObs - poolExp) / poolExp
		crit := distuv.ChiSquared{K: float64(cells)}.Quantile(1 - 1e-4)
		t.Logf("%v: χ² = %.1f on %d degrees of freedom (critical %.1f); e %v ± %v", ladder, chi2, cells, crit, res["e"], res["e_err"])
		if chi2 > crit {
			t.Errorf("%v: χ² = %.1f > %.1f", ladder, chi2, crit)
		}
		if ladder != nil && ladder[1] == "5" {
			lad := res["ladder"].([]any)
			if len(lad) != 5 || lad[0] != 0.2 || lad[4] != 1.6 || math.Abs(lad[2].(float64)-math.Sqrt(0.2*1.6)) > 1e-15 {
				t.Errorf("geometric ladder %v", lad)
			}
		}
	}
}

// TestMCMCWorkersAndResume: a run gives the same samples and result with
// 1 or 2 workers, and when interrupted at periodic checkpoints and resumed
// twice; a complete run cannot be resumed.
func TestMCMCWorkersAndResume(t *testing.T) {
	root := t.TempDir()
	base := []string{"mcmc", "-model", "sk", "-n", "20", "-seed", "2", "-beta", "1.2", "-temperatures", "3", "-beta-min", "0.6",
		"-samples", "3000", "-sweeps", "20", "-burn-in", "100", "-chains", "3", "-quiet"}
	ref := filepath.Join(root, "ref")
	st, refOut, errs := runCLI(append(base, "-workers", "1", "-out", ref)...)
	if st != 0 {
		t.Fatalf("status %d %q", st, errs)
	}
	want := jsonNoSeconds(t, refOut)
	refX, _ := os.ReadFile(filepath.Join(ref, output.SamplesFile))
	refPQ, _ := os.ReadFile(filepath.Join(ref, output.OverlapsFile))

	dir := filepath.Join(root, "resumed")
	defer func() { testMCMCStop = nil }()
	args := append(base, "-workers", "2", "-checkpoint-every", "1ms", "-out", dir)
	for k := range 2 {
		testMCMCStop = func(c int) bool { return c == 3 }
		st, out, errs := runCLI(args...)
		if st != exitSignal || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "-resume "+dir) {
			t.Fatalf("interruption %d: status %d stdout %q stderr %q", k, st, out, errs)
		}
		args = []string{"mcmc", "-resume", dir, "-checkpoint-every", "1ms", "-quiet"}
	}
	testMCMCStop = nil
	st, out, errs := runCLI("mcmc", "-resume", dir, "-workers", "2")
	if st != 0 {
		t.Fatalf("resume: status %d %q", st, errs)
	}
	if got := jsonNoSeconds(t, out); !reflect.DeepEqual(got, want) {
		t.Errorf("resumed result\n got %v\nwant %v", got, want)
	}
	x, _ := os.ReadFile(filepath.Join(dir, output.SamplesFile))
	pq, _ := os.ReadFile(filepath.Join(dir, output.OverlapsFile))
	if !bytes.Equal(x, refX) || !bytes.Equal(pq, refPQ) {
		t.Error("samples or P(q) of the resumed run differ from the uninterrupted one")
	}
	if !strings.Contains(errs, "sweeps") {
		t.Errorf("no progress on stderr: %q", errs)
	}
	if st, _, errs := runCLI("mcmc", "-resume", dir); st != exitUsage || !strings.Contains(errs, "already complete") {
		t.Errorf("resuming a complete run: status %d %q", st, errs)
	}
	if st, _, errs := runCLI("mcmc", "-resume", dir, "-beta", "1.3"); st != exitUsage || !strings.Contains(errs, "-beta") {
		t.Errorf("resume with another -beta: status %d %q", st, errs)
	}
	if st, _, errs := runCLI(append(base, "-out", ref)...); st != exitUsage || !strings.Contains(errs, "already holds a run") {
		t.Errorf("second run into one directory: status %d %q", st, errs)
	}
}

// TestMCMCBadFlags: every bad flag gives status 2 and one line naming it.
func TestMCMCBadFlags(t *testing.T) {
	dir := t.TempDir()
	model := []string{"mcmc", "-model", "sk", "-n", "8", "-out", filepath.Join(dir, "x"), "-quiet"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "-beta"},
		{[]string{"-beta", "0"}, "-beta"},
		{[]string{"-beta", "1,2"}, "-temperatures"},
		{[]string{"-beta", "1", "-temperatures", "0.5,2"}, "end at -beta"},
		{[]string{"-beta", "1", "-temperatures", "0.5,0.4,1"}, "increase"},
		{[]string{"-beta", "1", "-temperatures", "x"}, "-temperatures"},
		{[]string{"-beta", "1", "-temperatures", "4", "-beta-min", "2"}, "-beta-min"},
		{[]string{"-beta", "1", "-beta-min", "0.2"}, "-beta-min"},
		{[]string{"-beta", "1", "-samples", "3", "-chains", "4"}, "-samples"},
		{[]string{"-beta", "1", "-chains", "0"}, "-chains"},
		{[]string{"-beta", "1", "-sweeps", "0"}, "-sweeps"},
		{[]string{"-beta", "1", "-burn-in", "-1"}, "-burn-in"},
		{[]string{"-beta", "1", "-checkpoint-every", "-1s"}, "-checkpoint-every"},
		{[]string{"-beta", "1", "-workers", "-1"}, "-workers"},
		{[]string{"-beta", "1", "-samples", "1000000000000"}, "-samples"},
	} {
		st, out, errs := runCLI(append(model, c.args...)...)
		if st != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: status %d stdout %q stderr %q (want a line naming %s)", c.args, st, out, errs, c.want)
		}
		checkNoCrash(t, errs)
	}
	if st, _, errs := runCLI("mcmc", "-resume", filepath.Join(dir, "none")); st != exitUsage || !strings.Contains(errs, "no such directory") {
		t.Errorf("resume of nothing: %d %q", st, errs)
	}
	// A directory another run holds is refused, for mcmc and for fit.
	busy := filepath.Join(dir, "busy")
	os.Mkdir(busy, 0o755)
	l, err := output.LockDir(busy)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	data := exactDataFile(t, dir, "x.npy", 5, 1, 1, 20)
	for _, args := range [][]string{
		{"mcmc", "-model", "sk", "-n", "5", "-beta", "1", "-samples", "8", "-quiet", "-out", busy},
		{"fit", "-data", data, "-arch", "1l", "-epochs", "1", "-quiet", "-out", busy},
	} {
		if st, _, errs := runCLI(args...); st != exitUsage || !strings.Contains(errs, "in use") || strings.Count(errs, "\n") != 1 {
			t.Errorf("%s into a locked directory: status %d %q", args[0], st, errs)
		}
	}
}
