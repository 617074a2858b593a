package model

import (
	"math"
	"testing"

	"github.com/h2arnn/h2arnn/internal/fmath"
)

// blCWLnZ is ln Z of the Curie-Weiss model by the log-binomial sum of
// SPEC §1, with its own log-sum-exp (no production code but lnBinom).
func blCWLnZ(n int, J, h, beta float64) float64 {
	terms := make([]float64, n+1)
	mx := math.Inf(-1)
	for k := range terms {
		M := float64(n - 2*k)
		terms[k] = lnBinom(n, k) + beta*J*(M*M-float64(n))/(2*float64(n)) + beta*h*M
		mx = math.Max(mx, terms[k])
	}
	s := 0.0
	for _, v := range terms {
		s += math.Exp(v - mx)
	}
	return mx + math.Log(s)
}

// cwInfExactF returns the variational free energy per spin
// F[q]/N = E_q[ln q + βH]/(βN) of cw_inf on its Curie-Weiss model,
// exactly: q depends on the past only through M_<i, so a dynamic program
// over the number of up spins carries the distribution of M_<i through
// the N steps in O(N²).
func cwInfExactF(c *CWInf, beta float64) float64 {
	n := c.m.N
	p := c.Params()
	b0 := 0.0
	if c.hasField {
		b0 = p[n+1]
	}
	prob := make([]float64, n+1)
	next := make([]float64, n+1)
	prob[0] = 1
	eLnQ := 0.0
	for i := range n {
		clear(next)
		for k := 0; k <= i; k++ {
			if prob[k] == 0 {
				continue
			}
			M := float64(2*k - i)
			z := b0 + p[0]*M + p[1+i]*sgn(M)
			qp, qm := fmath.Sigmoid(z), fmath.Sigmoid(-z)
			eLnQ += prob[k] * (qp*fmath.LogSigmoid(z) + qm*fmath.LogSigmoid(-z))
			next[k+1] += prob[k] * qp
			next[k] += prob[k] * qm
		}
		prob, next = next, prob
	}
	eH := 0.0
	for k, pk := range prob {
		eH += pk * cwEnergy(*c.m.CW, n, float64(2*k-n))
	}
	return (eLnQ + beta*eH) / (beta * float64(n))
}

// TestCWInfAnalyticFreeEnergy: with the analytic start at β = 1.5, N = 200
// (J = 1, h = 0), the free energy estimated from 20000 samples,
// mean(ln q + βH)/(βN), is within 1e-2 relative of the exact f, agrees
// with the exact variational F[q]/N of the dynamic program within 5
// standard errors, and F[q] ≥ F (variational bound). It also shows that
// the opposite sign of ω¹ (the "-2βJ|m̃|" of the SPEC text) is much worse.
func TestCWInfAnalyticFreeEnergy(t *testing.T) {
	const n, beta, draws = 200, 1.5, 20000
	m, _ := CurieWeiss(n, 1, 0)
	c, err := NewCWInf(m, ArchOptions{AnalyticInit: true, Beta: beta, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	fExact := -blCWLnZ(n, 1, 0, beta) / (beta * n)
	cwInfCheckSampledF(t, c, beta, draws, fExact)
	fq := cwInfExactF(c, beta)
	for i := range n {
		c.p[1+i] = -c.p[1+i]
	}
	fNeg := cwInfExactF(c, beta)
	t.Logf("with ω¹ negated: F[q]/N %.10f (rel %.2e)", fNeg, (fNeg-fExact)/math.Abs(fExact))
	if fNeg-fExact < 3*(fq-fExact) {
		t.Fatalf("negated ω¹ gives F[q]/N %.10f, not clearly worse than %.10f", fNeg, fq)
	}
}

// TestCWInfAnalyticFreeEnergyField repeats the check with a field,
// h = 0.2 at β = 1.2, N = 200, where the field selects the magnetised
// state (start (B)).
func TestCWInfAnalyticFreeEnergyField(t *testing.T) {
	const n, beta, h, draws = 200, 1.2, 0.2, 20000
	m, _ := CurieWeiss(n, 1, h)
	c, err := NewCWInf(m, ArchOptions{AnalyticInit: true, Beta: beta, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	cwInfCheckSampledF(t, c, beta, draws, -blCWLnZ(n, 1, h, beta)/(beta*n))
}

// cwInfCheckSampledF asserts that the free energy per spin estimated from
// draws samples of c, mean(ln q + βH)/(βN), is within 1e-2 relative of
// fExact, that it agrees with the exact F[q]/N of the test's dynamic
// program within 5 standard errors, and that F[q] ≥ F.
func cwInfCheckSampledF(t *testing.T, c *CWInf, beta float64, draws int, fExact float64) {
	t.Helper()
	n := c.Size()
	fq := cwInfExactF(c, beta)
	bt := SampleBatch(c, draws, 5, 2)
	mean, sq := 0.0, 0.0
	for b := range bt.B {
		f := (bt.LogQ[b] + beta*bt.Energy[b]) / (beta * float64(n))
		mean += f
		sq += f * f
	}
	mean /= float64(draws)
	se := math.Sqrt((sq/float64(draws) - mean*mean) / float64(draws))
	t.Logf("f exact %.10f, F[q]/N exact %.10f (rel %.2e), samples %.10f ± %.1e (rel %.2e)",
		fExact, fq, (fq-fExact)/math.Abs(fExact), mean, se, (mean-fExact)/math.Abs(fExact))
	if rel := math.Abs(mean-fExact) / math.Abs(fExact); rel > 1e-2 {
		t.Fatalf("sampled f %.8f vs exact %.8f: relative error %.3g > 1e-2", mean, fExact, rel)
	}
	if fq < fExact-1e-12 {
		t.Fatalf("F[q]/N = %.12f below the exact f %.12f", fq, fExact)
	}
	if math.Abs(mean-fq) > 5*se {
		t.Fatalf("sampled f %.10f differs from the exact F[q]/N %.10f by more than 5 standard errors (%.2e)", mean, fq, se)
	}
}

// TestCWInfAnalyticValues checks the analytic parameters against their
// formulas and the mean-field root against its equation and stability.
func TestCWInfAnalyticValues(t *testing.T) {
	for _, c := range []struct{ beta, J, h float64 }{
		{1.5, 1, 0}, {0.5, 1, 0}, {1, 1, 0}, {1.3, 1, 0.2}, {1.3, 1, -0.2}, {0.8, 1, 0.1}, {1.2, -1, 0.3},
	} {
		m := CWMeanFieldM(CWParams{J: c.J, H: c.h}, c.beta)
		if r := m - math.Tanh(c.beta*(c.J*m+c.h)); math.Abs(r) > 1e-14 {
			t.Fatalf("%+v: m = %v, residual %v", c, m, r)
		}
		// Stable: slope of the right-hand side below 1, and m on the side of h.
		if s := c.beta * c.J * (1 - m*m); s >= 1 && m != 0 {
			t.Fatalf("%+v: root m = %v is unstable (slope %v)", c, m, s)
		}
		if c.J > 0 && c.h != 0 && m*c.h <= 0 {
			t.Fatalf("%+v: root m = %v is not on the side of the field", c, m)
		}
	}
	if m := CWMeanFieldM(CWParams{J: 1, H: 0}, 0.7); m != 0 {
		t.Fatalf("paramagnet m = %v, want 0", m)
	}
	if m := CWMeanFieldM(CWParams{J: 1, H: 0}, 1.5); math.Abs(m-0.8585596366401104) > 1e-15 { // reference: 10⁵ fixed-point steps in Python
		t.Fatalf("β=1.5 m = %v, want 0.8585596366401104", m)
	}
	const n, beta = 50, 1.4
	// Without a field the start is (A) exactly.
	mdl0, _ := CurieWeiss(n, 1.1, 0)
	c0, err := NewCWInf(mdl0, ArchOptions{AnalyticInit: true, Beta: beta})
	if err != nil {
		t.Fatal(err)
	}
	ms0 := CWMeanFieldM(CWParams{J: 1.1, H: 0}, beta)
	p0 := c0.Params()
	if len(p0) != n+1 || p0[0] != 2*beta*1.1/n {
		t.Fatalf("h=0: ω⁰ %v, len %d", p0[0], len(p0))
	}
	for i := range n {
		if want := 2 * beta * 1.1 * float64(n-1-i) / n * ms0; math.Abs(p0[1+i]-want) > 1e-15 {
			t.Fatalf("h=0: ω¹_%d = %v, want %v", i, p0[1+i], want)
		}
	}
	// With a field: (A) or (B), whichever has the lower exact F[q]
	// (computed here by the test's own dynamic program).
	for _, h := range []float64{0.25, -0.25, 0.001} {
		mdl, _ := CurieWeiss(n, 1.1, h)
		c, err := NewCWInf(mdl, ArchOptions{AnalyticInit: true, Beta: beta})
		if err != nil {
			t.Fatal(err)
		}
		ms := math.Abs(CWMeanFieldM(CWParams{J: 1.1, H: h}, beta))
		a, b := make([]float64, n+2), make([]float64, n+2)
		a[0], b[0] = 2*beta*1.1/n, 2*beta*1.1/n
		for i := range n {
			a[1+i] = 2 * beta * 1.1 * float64(n-1-i) / n * ms
			b[1+i] = -2 * beta * 1.1 * float64(i+1) / n * ms
		}
		a[n+1], b[n+1] = 2*beta*h, 2*beta*(h+1.1*math.Copysign(ms, h))
		got := append([]float64(nil), c.Params()...)
		fOf := func(p []float64) float64 { copy(c.p, p); return cwInfExactF(c, beta) }
		fA, fB := fOf(a), fOf(b)
		want := a
		if fB < fA {
			want = b
		}
		for k := range got {
			if math.Abs(got[k]-want[k]) > 1e-15 {
				t.Fatalf("h=%v: param %d = %v, want %v (F_A %.10f, F_B %.10f)", h, k, got[k], want[k], fA, fB)
			}
		}
		t.Logf("h=%v: F[q]/N (A) %.10f, (B) %.10f, exact f %.10f", h, fA, fB, -blCWLnZ(n, 1.1, h, beta)/(beta*n))
		fw := fOf(want) // leaves c.p = want
		if fv, err := c.VariationalFreeEnergy(beta); err != nil || math.Abs(fv-fw) > 1e-13 {
			t.Fatalf("VariationalFreeEnergy %v (%v), test program %v", fv, err, fw)
		}
	}
	sk, _ := SherringtonKirkpatrick(n, 1, 0, 1)
	if _, err := NewCWInf(sk, ArchOptions{AnalyticInit: true, Beta: 1}); err == nil {
		t.Fatal("analytic cw_inf accepted an SK model")
	}
	c, err := NewCWInf(sk, ArchOptions{Seed: 1})
	if err != nil || c.ParamCount() != n+1 {
		t.Fatalf("random cw_inf on SK: %v, %d params", err, c.ParamCount())
	}
	if _, err := c.VariationalFreeEnergy(1); err == nil {
		t.Fatal("VariationalFreeEnergy accepted an SK model")
	}
}
