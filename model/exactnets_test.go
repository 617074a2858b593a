package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveLnZ sums exp(-βH) over all 2^N states directly (the test oracle for
// small N, independent of every production code path but Energy).
func naiveLnZ(m *Hamiltonian, beta float64) float64 {
	n := m.N
	x := make([]float64, n)
	lnZ := math.Inf(-1)
	for s := 0; s < 1<<n; s++ {
		for i := range x {
			x[i] = float64(1 - 2*(s>>i&1))
		}
		lnZ = logAddExp(lnZ, -beta*m.Energy(x))
	}
	return lnZ
}

// cwLnZ is ln Z of the Curie-Weiss model from the magnetisation sum of
// SPEC §1, written independently of the cw_n parameters.
func cwLnZ(n int, p CWParams, beta float64) float64 {
	lnZ := math.Inf(-1)
	for k := 0; k <= n; k++ {
		M := float64(n - 2*k)
		lnZ = logAddExp(lnZ, lnBinom(n, k)+beta*p.J*(M*M-float64(n))/(2*float64(n))+beta*p.H*M)
	}
	return lnZ
}

// checkZeroVariance asserts ln q(x) + βH(x) = -ln Z for every sample of a
// batch drawn from net, and that LogProb and m.Energy agree with what
// sampling returned.
func checkZeroVariance(t *testing.T, net Net, beta, lnZ float64, samples int, tol float64) {
	t.Helper()
	bt := SampleBatch(net, samples, 7, 2)
	w := net.NewWorker()
	for b := range bt.B {
		L := bt.LogQ[b] + beta*bt.Energy[b]
		if rel := math.Abs(L+lnZ) / math.Abs(lnZ); rel > tol {
			t.Fatalf("%s sample %d: ln q + βH = %.17g, want -ln Z = %.17g (rel %.3g)", net.Arch(), b, L, -lnZ, rel)
		}
		x := bt.Sample(b)
		if e := net.Model().Energy(x); math.Abs(e-bt.Energy[b]) > 1e-12*(1+math.Abs(e)) {
			t.Fatalf("sample %d: energy from sampling %v, Energy(x) %v", b, bt.Energy[b], e)
		}
		if lq := w.LogProb(x); math.Abs(lq-bt.LogQ[b]) > 1e-12*(1+math.Abs(lq)) {
			t.Fatalf("sample %d: ln q from sampling %v, LogProb %v", b, bt.LogQ[b], lq)
		}
	}
}

func TestCWNZeroVarianceN200(t *testing.T) {
	const n, beta = 200, 1.3
	m, _ := CurieWeiss(n, 1, 0)
	net, err := NewCWN(m, beta)
	if err != nil {
		t.Fatal(err)
	}
	lnZ := cwLnZ(n, *m.CW, beta)
	checkZeroVariance(t, net, beta, lnZ, 500, 1e-11)
	bt := SampleBatch(net, 2000, 3, 2)
	mean, sq := 0.0, 0.0
	for b := range bt.B {
		f := (bt.LogQ[b] + beta*bt.Energy[b]) / (beta * n)
		mean += f
		sq += f * f
	}
	mean /= float64(bt.B)
	std := math.Sqrt(math.Max(0, sq/float64(bt.B)-mean*mean))
	fExact := -lnZ / (beta * n)
	if std/math.Abs(mean) > 1e-12 || math.Abs(mean-fExact)/math.Abs(fExact) > 1e-12 {
		t.Fatalf("f = %.17g ± %.3g, exact %.17g", mean, std, fExact)
	}
}

func TestCWNWithField(t *testing.T) {
	for _, beta := range []float64{0.1, 0.7, 1, 2} {
		m, _ := CurieWeiss(30, 1.2, -0.3)
		net, _ := NewCWN(m, beta)
		checkZeroVariance(t, net, beta, cwLnZ(30, *m.CW, beta), 200, 1e-12)
	}
}

func TestCWNRejectsOtherModels(t *testing.T) {
	m, _ := SherringtonKirkpatrick(10, 1, 0, 1)
	if _, err := NewNet("cw_n", m, ArchOptions{Beta: 1}); err == nil {
		t.Fatal("cw_n accepted an SK model")
	}
}

// TestCWNMagnetisationChiSquare compares the histogram of M from 10^5 cw_n
// samples at N=20, β=1.3 with the exact P(M) by a chi-square test.
func TestCWNMagnetisationChiSquare(t *testing.T) {
	const n, beta, samples = 20, 1.3, 100000
	m, _ := CurieWeiss(n, 1, 0)
	net, _ := NewCWN(m, beta)
	bt := SampleBatch(net, samples, 2024, 2)
	counts := make([]float64, n+1)
	for b := range bt.B {
		M := 0
		for _, v := range bt.X[b*n : (b+1)*n] {
			M += int(v)
		}
		counts[(n-M)/2]++
	}
	lnZ := cwLnZ(n, *m.CW, beta)
	chi2, dof := 0.0, -1
	pool, poolExp := 0.0, 0.0
	for k := 0; k <= n; k++ {
		M := float64(n - 2*k)
		p := math.Exp(lnBinom(n, k) + beta*(M*M-n)/(2*n) - lnZ)
		exp := p * samples
		pool += counts[k]
		poolExp += exp
		if poolExp >= 5 { // pool sparse tail bins so every expected count is ≥ 5
			chi2 += (pool - poolExp) * (pool - poolExp) / poolExp
			dof++
			pool, poolExp = 0, 0
		}
	}
	if poolExp > 0 { // the last, still sparse, pooled bin
		chi2 += (pool - poolExp) * (pool - poolExp) / poolExp
		dof++
	}
	// 99.9% quantile of chi-square: Wilson-Hilferty approximation.
	k := float64(dof)
	q := k * math.Pow(1-2/(9*k)+3.09*math.Sqrt(2/(9*k)), 3)
	if chi2 > q {
		t.Fatalf("chi2 = %.2f with %d dof exceeds the 99.9%% quantile %.2f", chi2, dof, q)
	}
	t.Logf("chi2 = %.2f, dof = %d, 99.9%% quantile %.2f", chi2, dof, q)
}

func TestExactNetSK14(t *testing.T) {
	m, _ := SherringtonKirkpatrick(14, 1, 0, 11)
	for _, beta := range []float64{0.5, 1.5} {
		net, err := NewExactNet(m, beta)
		if err != nil {
			t.Fatal(err)
		}
		checkZeroVariance(t, net, beta, naiveLnZ(m, beta), 300, 1e-11)
	}
}

func TestExactNetWithFields(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	m := NewHamiltonian(11)
	for i := range m.N {
		for j := i + 1; j < m.N; j++ {
			if rng.Float64() < 0.6 {
				m.SetCoupling(i, j, rng.NormFloat64())
			}
		}
		m.H[i] = rng.NormFloat64() * 0.7
	}
	m.Kind = "file"
	net, _ := NewExactNet(m, 1.1)
	checkZeroVariance(t, net, 1.1, naiveLnZ(m, 1.1), 300, 1e-11)
}

// TestExactNetMatchesCWN checks the two exact networks give the same
// conditionals on the Curie-Weiss model.
func TestExactNetMatchesCWN(t *testing.T) {
	m, _ := CurieWeiss(12, 1, 0.2)
	ex, _ := NewExactNet(m, 1.4)
	cw, _ := NewCWN(m, 1.4)
	we, wc := ex.NewWorker(), cw.NewWorker()
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, 12)
	qe, qc := make([]float64, 12), make([]float64, 12)
	for range 20 {
		for i := range x {
			x[i] = float64(2*rng.IntN(2) - 1)
		}
		we.Conditionals(x, qe)
		wc.Conditionals(x, qc)
		for i := range qe {
			if math.Abs(qe[i]-qc[i]) > 1e-13 {
				t.Fatalf("conditional %d: h2arnn %v, cw_n %v", i, qe[i], qc[i])
			}
		}
	}
}

func TestExactNetLimit(t *testing.T) {
	m := NewHamiltonian(MaxExactNet + 1)
	if _, err := NewExactNet(m, 1); err == nil {
		t.Fatal("accepted N above the limit")
	}
}

func TestSamplerWorkerIndependence(t *testing.T) {
	m, _ := CurieWeiss(40, 1, 0)
	net, _ := NewCWN(m, 1.2)
	a := SampleBatch(net, 300, 9, 1)
	b := SampleBatch(net, 300, 9, 3)
	for i := range a.X {
		if a.X[i] != b.X[i] {
			t.Fatal("samples depend on the worker count")
		}
	}
	for i := range a.LogQ {
		if a.LogQ[i] != b.LogQ[i] || a.Energy[i] != b.Energy[i] {
			t.Fatal("log-probabilities depend on the worker count")
		}
	}
}
