package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Tests shared by the trainable baselines cw_inf, 1p, 1l and made.

// blCase is one baseline network configuration under test.
type blCase struct {
	name  string
	build func(m *Hamiltonian) (Net, error)
}

// blModels returns the models the baselines are tested on at size n: a
// Curie-Weiss model without and with a field, and an SK instance with
// non-uniform fields (exercising the generic energy path).
func blModels(t *testing.T, n int) []*Hamiltonian {
	t.Helper()
	cw0, err := CurieWeiss(n, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	cwh, err := CurieWeiss(n, 1, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := SherringtonKirkpatrick(n, 1, 0, 11)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range sk.H {
		sk.H[i] = 0.5 * rng.NormFloat64()
	}
	return []*Hamiltonian{cw0, cwh, sk}
}

// blCases lists every baseline configuration: cw_inf, 1p, 1l, and made
// with depth 1, 2, 3 and width 1, 2, 3.
func blCases() []blCase {
	cs := []blCase{
		{"cw_inf", func(m *Hamiltonian) (Net, error) { return NewCWInf(m, ArchOptions{Seed: 1}) }},
		{"1p", func(m *Hamiltonian) (Net, error) { return NewOneP(m, ArchOptions{Seed: 2}) }},
		{"1l", func(m *Hamiltonian) (Net, error) { return NewOneL(m, ArchOptions{Seed: 3}) }},
	}
	for d := 1; d <= 3; d++ {
		for w := 1; w <= 3; w++ {
			if d == 1 && w > 1 {
				continue // depth 1 ignores the width
			}
			cs = append(cs, blCase{fmt.Sprintf("made_d%d_w%d", d, w), func(m *Hamiltonian) (Net, error) {
				return NewMADE(m, ArchOptions{Depth: d, Width: w, Seed: uint64(10*d + w)})
			}})
		}
	}
	return cs
}

// blRandomise overwrites the parameters of net with Normal(0, scale²)
// values, except MADE's PReLU slopes which become uniform in [-0.5, 1.5)
// (a slope may be negative or above 1), so that every code path is
// exercised away from the small initial values.
func blRandomise(net Net, seed uint64, scale float64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	p := net.Params()
	normalFill(rng, p, scale)
	if md, ok := net.(*MADE); ok {
		for k := range md.Depth() - 1 {
			p[md.SlopeIndex(k)] = 2*rng.Float64() - 0.5
		}
	}
}

// blRandomSpins fills x with random ±1.
func blRandomSpins(rng *rand.Rand, x []float64) {
	for i := range x {
		x[i] = float64(1 - 2*rng.IntN(2))
	}
}

// blForEach runs fn for every baseline configuration on every test model.
func blForEach(t *testing.T, n int, fn func(t *testing.T, net Net)) {
	for mi, m := range blModels(t, n) {
		for _, c := range blCases() {
			t.Run(fmt.Sprintf("%s/%s%d", c.name, m.Kind, mi), func(t *testing.T) {
				net, err := c.build(m)
				if err != nil {
					t.Fatal(err)
				}
				fn(t, net)
			})
		}
	}
}

// TestBaselineBackwardFD compares Backward with central finite differences
// of LogProb, parameter by parameter, at random parameters and spins.
// Criterion: |g_backward - g_fd| ≤ 1e-6 · max(|g_fd|, 1e-3), i.e. relative
// error 1e-6, absolute 1e-9 for gradients below 1e-3. With step 1e-5 the
// finite difference itself is good to ~1e-10 (truncation ~ step², rounding
// ~ 1e-16·|ln q|/step). Both accumulators are checked with different
// coefficients, Backward is checked to add (not overwrite), and a call
// with gC = nil must change gA the same way.
func TestBaselineBackwardFD(t *testing.T) {
	const n, step = 7, 1e-5
	blForEach(t, n, func(t *testing.T, net Net) {
		blRandomise(net, 21, 0.7)
		p := net.Params()
		w := net.NewWorker()
		rng := rand.New(rand.NewPCG(3, 4))
		x := make([]float64, n)
		for trial := range 3 {
			if trial == 0 {
				// A sample drawn by the net itself: Backward after Sample.
				w.Sample(rng, x)
			} else {
				blRandomSpins(rng, x)
				w.LogProb(x)
			}
			const cA, cC = 0.7, -1.3
			gA := make([]float64, len(p))
			gC := make([]float64, len(p))
			gN := make([]float64, len(p))
			for k := range gA {
				gA[k], gC[k], gN[k] = 0.25, -0.5, 0.25
			}
			w.Backward(cA, gA, cC, gC)
			w.Backward(cA, gN, 0, nil)
			for k := range p {
				orig := p[k]
				p[k] = orig + step
				up := w.LogProb(x)
				p[k] = orig - step
				down := w.LogProb(x)
				p[k] = orig
				fd := (up - down) / (2 * step)
				tol := 1e-6 * math.Max(math.Abs(fd), 1e-3)
				if got := (gA[k] - 0.25) / cA; math.Abs(got-fd) > tol {
					t.Fatalf("trial %d param %d/%d: gA gives %.12g, finite difference %.12g", trial, k, len(p), got, fd)
				}
				if got := (gC[k] + 0.5) / cC; math.Abs(got-fd) > tol {
					t.Fatalf("trial %d param %d: gC gives %.12g, finite difference %.12g", trial, k, got, fd)
				}
				if gN[k] != gA[k] {
					t.Fatalf("trial %d param %d: Backward with gC=nil gave gA %v, with gC %v", trial, k, gN[k], gA[k])
				}
			}
		}
	})
}

// TestBaselineSampleConsistency checks, for samples drawn at random
// parameters: ln q from Sample equals LogProb(x), the energy equals
// m.Energy(x), Σ_i ln Q(x_i|x_<i) from Conditionals equals LogProb, and
// each q_i is unchanged when the spins x_≥i are changed (autoregressive
// property, which catches a mask that lets a later spin in).
func TestBaselineSampleConsistency(t *testing.T) {
	const n = 9
	blForEach(t, n, func(t *testing.T, net Net) {
		blRandomise(net, 5, 0.5)
		m := net.Model()
		w := net.NewWorker()
		rng := rand.New(rand.NewPCG(8, 9))
		x := make([]float64, n)
		y := make([]float64, n)
		q := make([]float64, n)
		qy := make([]float64, n)
		for range 40 {
			logq, e := w.Sample(rng, x)
			if lp := w.LogProb(x); math.Abs(lp-logq) > 1e-12*(1+math.Abs(lp)) {
				t.Fatalf("Sample ln q %.17g, LogProb %.17g", logq, lp)
			}
			if ee := m.Energy(x); math.Abs(ee-e) > 1e-12*(1+math.Abs(ee)) {
				t.Fatalf("Sample energy %.17g, m.Energy %.17g", e, ee)
			}
			w.Conditionals(x, q)
			s := 0.0
			for i, qi := range q {
				if !(qi > 0 && qi < 1) {
					t.Fatalf("q_%d = %v outside (0,1)", i, qi)
				}
				if x[i] > 0 {
					s += math.Log(qi)
				} else {
					s += math.Log1p(-qi)
				}
			}
			if math.Abs(s-logq) > 1e-10*(1+math.Abs(logq)) {
				t.Fatalf("Σ ln conditionals %.17g, ln q %.17g", s, logq)
			}
			cut := rng.IntN(n)
			copy(y, x)
			blRandomSpins(rng, y[cut:])
			w.Conditionals(y, qy)
			for i := 0; i <= cut; i++ {
				if qy[i] != q[i] {
					t.Fatalf("q_%d changed from %v to %v when only spins ≥ %d changed", i, q[i], qy[i], cut)
				}
			}
		}
	})
}

// blEnumerate calls fn for each of the 2^n configurations.
func blEnumerate(n int, fn func(s int, x []float64)) {
	x := make([]float64, n)
	for s := 0; s < 1<<n; s++ {
		for i := range x {
			x[i] = float64(1 - 2*(s>>i&1))
		}
		fn(s, x)
	}
}

// TestBaselineNormalised checks Σ_x exp(ln q(x)) = 1 over all 2^6 states.
func TestBaselineNormalised(t *testing.T) {
	const n = 6
	blForEach(t, n, func(t *testing.T, net Net) {
		blRandomise(net, 17, 1)
		w := net.NewWorker()
		sum := 0.0
		blEnumerate(n, func(_ int, x []float64) { sum += math.Exp(w.LogProb(x)) })
		if math.Abs(sum-1) > 1e-12 {
			t.Fatalf("Σ_x q(x) = %.17g", sum)
		}
	})
}

// TestBaselineChiSquare draws 40000 samples at N = 4 (fixed seed) and
// compares the state counts with 40000·exp(LogProb) by Pearson's χ² with
// 15 degrees of freedom; 37.7 is its 0.999 quantile.
func TestBaselineChiSquare(t *testing.T) {
	const n, draws = 4, 40000
	blForEach(t, n, func(t *testing.T, net Net) {
		blRandomise(net, 23, 1)
		w := net.NewWorker()
		counts := make([]float64, 1<<n)
		bt := SampleBatch(net, draws, 77, 1)
		for b := range bt.B {
			s := 0
			for i := range n {
				if bt.X[b*n+i] < 0 {
					s |= 1 << i
				}
			}
			counts[s]++
		}
		chi2 := 0.0
		blEnumerate(n, func(s int, x []float64) {
			e := draws * math.Exp(w.LogProb(x))
			chi2 += (counts[s] - e) * (counts[s] - e) / e
		})
		if chi2 > 37.7 {
			t.Fatalf("χ² = %.2f > 37.7 (15 dof, p = 0.001)", chi2)
		}
	})
}

// TestBaselineNoAllocs checks that Sample followed by Backward allocates
// nothing once the worker exists.
func TestBaselineNoAllocs(t *testing.T) {
	const n = 20
	blForEach(t, n, func(t *testing.T, net Net) {
		w := net.NewWorker()
		rng := rand.New(rand.NewPCG(1, 2))
		x := make([]float64, n)
		gA := make([]float64, len(net.Params()))
		gC := make([]float64, len(net.Params()))
		if a := testing.AllocsPerRun(20, func() {
			w.Sample(rng, x)
			w.Backward(1, gA, 1, gC)
		}); a != 0 {
			t.Fatalf("Sample+Backward allocate %v times per run", a)
		}
	})
}

// TestBaselineRegistry checks that NewNet builds every baseline by name
// with the ArchOptions it reads, and the parameter counts of SPEC §3.
func TestBaselineRegistry(t *testing.T) {
	const n = 10
	cw0, _ := CurieWeiss(n, 1, 0)
	cwh, _ := CurieWeiss(n, 1, 0.2)
	for _, c := range []struct {
		name  string
		m     *Hamiltonian
		o     ArchOptions
		count int
	}{
		{"cw_inf", cw0, ArchOptions{}, n + 1},
		{"cw_inf", cwh, ArchOptions{AnalyticInit: true, Beta: 1.2}, n + 2},
		{"1p", cw0, ArchOptions{}, n},
		{"1l", cw0, ArchOptions{}, n * (n + 1) / 2},
		{"made", cw0, ArchOptions{Depth: 1}, n * (n + 1) / 2},
		{"made", cw0, ArchOptions{Depth: 3, Width: 2}, madeMaskCount(n, 3, 2)},
	} {
		net, err := NewNet(c.name, c.m, c.o)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if net.Arch() != c.name || net.Size() != n || net.Model() != c.m {
			t.Fatalf("%s: Arch %q Size %d", c.name, net.Arch(), net.Size())
		}
		if net.ParamCount() != c.count || len(net.Params()) != c.count {
			t.Fatalf("%s %+v: ParamCount %d, len(Params) %d, want %d", c.name, c.o, net.ParamCount(), len(net.Params()), c.count)
		}
	}
	for _, o := range []ArchOptions{{Depth: 0, Width: 2}, {Depth: 2, Width: 0}} {
		if _, err := NewNet("made", cw0, o); err == nil {
			t.Fatalf("made %+v accepted", o)
		}
	}
}

// TestBaselineSeeds checks that the initial parameters are a function of
// the seed: equal seeds give equal parameters, different seeds different.
func TestBaselineSeeds(t *testing.T) {
	m, _ := CurieWeiss(8, 1, 0)
	for _, name := range []string{"cw_inf", "1p", "1l", "made"} {
		o := ArchOptions{Depth: 2, Width: 2, Seed: 4}
		a, _ := NewNet(name, m, o)
		b, _ := NewNet(name, m, o)
		o.Seed = 5
		c, _ := NewNet(name, m, o)
		same, diff := true, false
		for k, v := range a.Params() {
			same = same && v == b.Params()[k]
			diff = diff || v != c.Params()[k]
		}
		if !same || !diff {
			t.Fatalf("%s: same seed equal %v, other seed different %v", name, same, diff)
		}
	}
}

// TestBaselineTinyN checks the edge sizes N = 1 and 2 (empty weight rows,
// a mask with no unmasked entry at N = 1): normalisation, sampling and a
// finite gradient.
func TestBaselineTinyN(t *testing.T) {
	for _, n := range []int{1, 2} {
		blForEach(t, n, func(t *testing.T, net Net) {
			blRandomise(net, 1, 1)
			w := net.NewWorker()
			sum := 0.0
			blEnumerate(n, func(_ int, x []float64) { sum += math.Exp(w.LogProb(x)) })
			if math.Abs(sum-1) > 1e-14 {
				t.Fatalf("N=%d: Σ q = %v", n, sum)
			}
			x := make([]float64, n)
			lq, e := w.Sample(rand.New(rand.NewPCG(1, 1)), x)
			if math.Abs(lq-w.LogProb(x)) > 1e-15 || math.Abs(e-net.Model().Energy(x)) > 1e-15 {
				t.Fatalf("N=%d: sample ln q %v energy %v", n, lq, e)
			}
			g := make([]float64, len(net.Params()))
			w.Backward(1, g, 0, nil)
			for k, v := range g {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					t.Fatalf("N=%d: gradient %d = %v", n, k, v)
				}
			}
		})
	}
}

// TestBaselineWorkersShareNothing draws the same batch on 1 and 3
// goroutines: the results must be identical bit for bit, which fails if
// workers share mutable state (run with -race to see the race itself).
func TestBaselineWorkersShareNothing(t *testing.T) {
	const n = 10
	blForEach(t, n, func(t *testing.T, net Net) {
		blRandomise(net, 2, 0.5)
		a := SampleBatch(net, 300, 4, 1)
		b := SampleBatch(net, 300, 4, 3)
		for k := range a.LogQ {
			if a.LogQ[k] != b.LogQ[k] || a.Energy[k] != b.Energy[k] {
				t.Fatalf("sample %d: 1 worker (%v, %v), 3 workers (%v, %v)", k, a.LogQ[k], a.Energy[k], b.LogQ[k], b.Energy[k])
			}
		}
	})
}
