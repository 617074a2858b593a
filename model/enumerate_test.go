package model

import (
	"context"
	"flag"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// exNaive is the direct oracle: every state's energy by Hamiltonian.Energy,
// then max-shifted sums. It returns ln Z, f, e, s, |m| per spin.
func exNaive(m *Hamiltonian, beta float64) Thermo {
	n := m.N
	x := make([]float64, n)
	en := make([]float64, 1<<n)
	ma := make([]float64, 1<<n)
	emin := math.Inf(1)
	for s := range en {
		M := 0.0
		for i := range n {
			x[i] = 1 - 2*float64(s>>i&1)
			M += x[i]
		}
		en[s] = m.Energy(x)
		ma[s] = math.Abs(M)
		emin = math.Min(emin, en[s])
	}
	// Compensated sums, so that the oracle's own rounding stays O(ε) for
	// the 2^19 terms of the largest case.
	var az, azh, azd, azm neumaier
	for s, e := range en {
		w := math.Exp(-beta * (e - emin))
		az.add(w)
		azh.add(w * e)
		azd.add(w * (e - emin))
		azm.add(w * ma[s])
	}
	z, zh, zd, zm := az.value(), azh.value(), azd.value(), azm.value()
	lnZ := -beta*emin + math.Log(z)
	nf := float64(n)
	// s = -Σ p ln p with ln p = -β(E - E_min) - ln z: written this way it
	// does not cancel when s is tiny (β<H> ≈ -ln Z at low temperature).
	return Thermo{Beta: beta, LnZ: lnZ, F: -lnZ / (beta * nf), E: zh / z / nf, S: (beta*zd/z + math.Log(z)) / nf, MAbs: zm / z / nf}
}

// exRandomModel returns a dense model with Normal couplings of std j and
// Normal fields of std h.
func exRandomModel(n int, j, h float64, seed uint64) *Hamiltonian {
	rng := rand.New(rand.NewPCG(seed, 77))
	m := NewHamiltonian(n)
	for a := range n {
		for b := a + 1; b < n; b++ {
			m.SetCoupling(a, b, j*rng.NormFloat64())
		}
		m.H[a] = h * rng.NormFloat64()
	}
	return m
}

func exCheckThermo(t *testing.T, what string, got, want Thermo, tol float64) {
	t.Helper()
	if got.Beta != want.Beta {
		t.Errorf("%s: Beta = %v, want %v", what, got.Beta, want.Beta)
	}
	for _, c := range []struct {
		name      string
		g, w, tol float64
	}{
		{"ln Z", got.LnZ, want.LnZ, tol},
		{"f", got.F, want.F, tol},
		{"e", got.E, want.E, tol},
		{"s", got.S, want.S, tol},
		{"|m|", got.MAbs, want.MAbs, tol},
	} {
		if r := exRel(c.g, c.w); !(r <= c.tol) {
			t.Errorf("%s: %s = %.17g, want %.17g (rel %.3g > %.1g)", what, c.name, c.g, c.w, r, c.tol)
		}
	}
}

func TestEnumerateMatchesCWExact(t *testing.T) {
	betas := []float64{0.1, 0.5, 1, 1.3, 2}
	for _, h := range []float64{0, 0.3} {
		m, err := CurieWeiss(20, 1, h)
		if err != nil {
			t.Fatal(err)
		}
		got, err := Enumerate(context.Background(), m, betas, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, beta := range betas {
			exCheckThermo(t, "CW N=20 h="+ftoa(h)+" β="+ftoa(beta), got[i], mustCW(t, 20, CWParams{J: 1, H: h}, beta), 1e-12)
		}
	}
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func TestEnumerateMatchesNaive(t *testing.T) {
	betas := []float64{0, 0.3, 1, 2.5}
	for seed := range uint64(12) {
		n := 1 + int(seed%10)
		m := exRandomModel(n, 1/math.Sqrt(float64(n)), 0.5, seed)
		got, err := Enumerate(context.Background(), m, betas, 3)
		if err != nil {
			t.Fatal(err)
		}
		for i, beta := range betas {
			want := exNaive(m, beta)
			if beta == 0 {
				// f = -Inf on both sides; compare the rest.
				if !math.IsInf(got[i].F, -1) {
					t.Errorf("N=%d β=0: f = %v, want -Inf", n, got[i].F)
				}
				got[i].F, want.F = 0, 0
				// <H> = 0 exactly at β = 0 (every coupling and field term
				// averages to zero), so compare e absolutely.
				if math.Abs(got[i].E) > 1e-15 {
					t.Errorf("N=%d β=0: e = %v, want 0", n, got[i].E)
				}
				got[i].E, want.E = 0, 0
				if exRel(got[i].LnZ, float64(n)*math.Ln2) > 1e-15 {
					t.Errorf("N=%d β=0: ln Z = %v, want N ln 2", n, got[i].LnZ)
				}
			}
			exCheckThermo(t, "random N="+strconv.Itoa(n)+" β="+ftoa(beta), got[i], want, 1e-13)
		}
	}
}

// TestEnumerateManyTasks: at N = 19 there are 512 tasks in 256 chunks, so
// task sums are folded within chunks (with rebasing to lower energies) and
// chunks folded together; compare with the direct oracle.
func TestEnumerateManyTasks(t *testing.T) {
	m := exRandomModel(19, 1/math.Sqrt(19), 0.3, 42)
	betas := []float64{0.4, 1.7}
	got, err := Enumerate(context.Background(), m, betas, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, beta := range betas {
		exCheckThermo(t, "random N=19 β="+ftoa(beta), got[i], exNaive(m, beta), 1e-13)
	}
}

// TestEnumerateWorkerIndependence: the chunking and the order of the
// reduction are fixed, so every worker count gives the same bits.
func TestEnumerateWorkerIndependence(t *testing.T) {
	betas := []float64{0.2, 1, 3}
	for _, n := range []int{7, 10, 16} {
		m := exRandomModel(n, 1/math.Sqrt(float64(n)), 0.2, uint64(100+n))
		ref, err := Enumerate(context.Background(), m, betas, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []int{2, 3, 7, 0} {
			got, err := Enumerate(context.Background(), m, betas, w)
			if err != nil {
				t.Fatal(err)
			}
			for i := range betas {
				if got[i] != ref[i] {
					t.Errorf("N=%d workers=%d β=%g: %+v, with 1 worker %+v", n, w, betas[i], got[i], ref[i])
				}
			}
		}
	}
}

// TestEnumerateStrongCouplings: energies of order 100 at β = 5 put the
// weights 500 e-folds apart; the incremental Gray-code energies and the
// rescaled sums must still match the direct oracle.
func TestEnumerateStrongCouplings(t *testing.T) {
	m := exRandomModel(12, 10, 3, 5)
	betas := []float64{0.01, 5}
	got, err := Enumerate(context.Background(), m, betas, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, beta := range betas {
		exCheckThermo(t, "strong β="+ftoa(beta), got[i], exNaive(m, beta), 1e-12)
	}
}

func TestEnumerateErrors(t *testing.T) {
	m33 := NewHamiltonian(33)
	if _, err := Enumerate(context.Background(), m33, []float64{1}, 1); err == nil || !strings.Contains(err.Error(), "32") {
		t.Errorf("N=33: error %v, want one naming the limit 32", err)
	}
	m := exRandomModel(4, 1, 1, 1)
	for _, b := range []float64{-0.1, math.NaN(), math.Inf(1)} {
		if _, err := Enumerate(context.Background(), m, []float64{1, b}, 1); err == nil {
			t.Errorf("β=%v accepted", b)
		}
	}
	if _, err := Enumerate(context.Background(), nil, []float64{1}, 1); err == nil {
		t.Error("nil model accepted")
	}
	bad := NewHamiltonian(4)
	bad.J = bad.J[:3]
	if _, err := Enumerate(context.Background(), bad, []float64{1}, 1); err == nil {
		t.Error("inconsistent model accepted")
	}
	if r, err := Enumerate(context.Background(), m, nil, 1); err != nil || len(r) != 0 {
		t.Errorf("no β: %v, %v", r, err)
	}
}

// exLongRequested reports whether the -run pattern names the test
// explicitly: the long checks run only then.
func exLongRequested(name string) bool {
	f := flag.Lookup("test.run")
	return f != nil && strings.Contains(f.Value.String(), name)
}

func exEnumerateCW(t *testing.T, n int) {
	betas := []float64{0.3, 1, 1.5}
	m, err := CurieWeiss(n, 1, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	got, err := Enumerate(context.Background(), m, betas, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("N=%d: %d β in %v", n, len(betas), time.Since(start))
	for i, beta := range betas {
		exCheckThermo(t, "CW N="+strconv.Itoa(n)+" β="+ftoa(beta), got[i], mustCW(t, n, CWParams{J: 1, H: 0.1}, beta), 1e-12)
	}
}

// TestEnumerateLong checks N = 28 against CWExact (about half a minute of
// CPU time). It runs only when named: go test ./model -run TestEnumerateLong$
func TestEnumerateLong(t *testing.T) {
	if !exLongRequested("TestEnumerateLong") {
		t.Skip("long (30 s): run it by name with -run TestEnumerateLong$")
	}
	exEnumerateCW(t, 28)
}

// TestEnumerateLong32 checks the largest size, N = 32, against CWExact
// (6.6 minutes on one shared core, 3 β). It runs only when named:
// go test ./model -run TestEnumerateLong32 -timeout 1h
func TestEnumerateLong32(t *testing.T) {
	if !exLongRequested("TestEnumerateLong32") {
		t.Skip("long (minutes): run it by name with -run TestEnumerateLong32")
	}
	exEnumerateCW(t, 32)
}

func BenchmarkEnumerateN20(b *testing.B) { exBenchEnumerate(b, 20) }
func BenchmarkEnumerateN24(b *testing.B) { exBenchEnumerate(b, 24) }

func exBenchEnumerate(b *testing.B, n int) {
	m := exRandomModel(n, 1/math.Sqrt(float64(n)), 0, 1)
	betas := []float64{0.5, 1, 1.5, 2, 2.5}
	for b.Loop() {
		if _, err := Enumerate(context.Background(), m, betas, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(uint64(1)<<n), "ns/state")
}

// TestExpNonPos: against e^x correctly rounded from the big-float series,
// at most 1 ulp on [-745.2, 0] (bits distance, so subnormals count too).
func TestExpNonPos(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	xs := []float64{0, -0x1p-60, -1e-300, -0.5 * math.Ln2, -math.Ln2, -1, -700, -708.39, -708.4, -709.8, -720, -740, -745, -745.13, -745.2, -745.3, -800, math.Inf(-1)}
	for range 4000 {
		xs = append(xs, -745.2*rng.Float64())
	}
	for range 1000 {
		xs = append(xs, -rng.Float64())
	}
	got := make([]float64, len(xs))
	expNonPos(got, xs)
	worst := uint64(0)
	for i, x := range xs {
		want := 0.0
		if !math.IsInf(x, -1) && x > -800 {
			want, _ = exBigExp(new(big.Float).SetFloat64(x), 120).Float64()
		}
		d := math.Float64bits(got[i]) - math.Float64bits(want)
		if math.Float64bits(want) > math.Float64bits(got[i]) {
			d = math.Float64bits(want) - math.Float64bits(got[i])
		}
		worst = max(worst, d)
		if d > 1 {
			t.Errorf("exp(%v) = %v, want %v (%d ulp)", x, got[i], want, d)
		}
	}
	t.Logf("worst error %d ulp over %d points", worst, len(xs))
	nan := []float64{math.NaN()}
	expNonPos(nan, nan)
	if !math.IsNaN(nan[0]) {
		t.Errorf("exp(NaN) = %v", nan[0])
	}
}
