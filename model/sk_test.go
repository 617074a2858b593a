package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/h2arnn/h2arnn"
)

// skTestModel returns an SK instance with random, distinct fields so that
// the skip input h_i + F_i[i] is exercised.
func skTestModel(t testing.TB, n int, seed uint64) *Hamiltonian {
	t.Helper()
	m, err := SherringtonKirkpatrick(n, 1, 0, seed)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	for i := range m.H {
		m.H[i] = 0.4 * rng.NormFloat64()
	}
	return m
}

// skTestNet builds sk_krsb with every parameter redrawn from
// Normal(0, std), large enough that the log-sigmoids leave their linear range.
func skTestNet(t testing.TB, m *Hamiltonian, k int, train bool, std float64, seed uint64) *SK {
	t.Helper()
	s, err := NewSK(m, ArchOptions{K: k, TrainFirstLayer: train, Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 7))
	for j := range s.p {
		s.p[j] = std * rng.NormFloat64()
	}
	return s
}

func skRandomSpins(rng *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(1 - 2*rng.IntN(2))
	}
	return x
}

// skRefLogProb evaluates ln q(x) straight from SPEC §3 with scalar loops and
// math's functions, reading the parameters by the layout documented on SK
// (offsets recomputed here, not taken from the production helpers).
func skRefLogProb(s *SK, x []float64) float64 {
	n, k := s.m.N, s.k
	// ln σ(z) = -ln(1+e^{-z}), rewritten for z < 0 so that e^{-z} never overflows.
	lnSig := func(z float64) float64 {
		if z < 0 {
			return z - math.Log1p(math.Exp(z))
		}
		return -math.Log1p(math.Exp(-z))
	}
	// First layer.
	W := make([]float64, n*n)
	h := make([]float64, n)
	end := 0
	for i := range n {
		end += 2 + 2*(2*k+3)*(n-1-i)
	}
	if s.train {
		o := end
		for a := range n {
			for b := a + 1; b < n; b++ {
				W[a*n+b], W[b*n+a] = s.p[o], s.p[o]
				o++
			}
		}
		copy(h, s.p[o:o+n])
	} else {
		copy(W, s.m.J)
		copy(h, s.m.H)
	}
	logq, o := 0.0, 0
	for i := range n {
		r := n - 1 - i
		field := func(l int) float64 {
			v := 0.0
			for a := 0; a < i; a++ {
				v += W[a*n+l] * x[a]
			}
			return v
		}
		z := s.p[o]*(h[i]+field(i)) + s.p[o+1]
		o += 2
		// rows of 2R: the + chains of the later spins, then their - chains
		w := s.p[o : o+(k+2)*2*r]
		b := s.p[o+(k+2)*2*r : o+(2*k+3)*2*r]
		o += (2*k + 3) * 2 * r
		for sign := range 2 {
			for lp := range r {
				c := sign*r + lp
				y := field(i + 1 + lp)
				for j := 0; j <= k; j++ {
					y = lnSig(b[j*2*r+c] + w[j*2*r+c]*y)
				}
				z += w[(k+1)*2*r+c] * y
			}
		}
		if x[i] > 0 {
			logq += lnSig(z)
		} else {
			logq += lnSig(-z)
		}
	}
	return logq
}

// TestSKLogProbMatchesReference checks the kernel-based forward pass and the
// parameter layout against the scalar reference, for every kernel set.
func TestSKLogProbMatchesReference(t *testing.T) {
	defer h2arnn.SetKernels(h2arnn.Kernels())
	for _, ks := range h2arnn.AvailableKernels() {
		if err := h2arnn.SetKernels(ks); err != nil {
			t.Fatal(err)
		}
		for k := 0; k <= 3; k++ {
			for _, train := range []bool{false, true} {
				m := skTestModel(t, 9, uint64(10+k))
				s := skTestNet(t, m, k, train, 0.7, uint64(20+k))
				w := s.NewWorker()
				rng := rand.New(rand.NewPCG(1, 2))
				for range 5 {
					x := skRandomSpins(rng, 9)
					got, want := w.LogProb(x), skRefLogProb(s, x)
					if math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
						t.Fatalf("%s k=%d train=%v: LogProb %.17g, reference %.17g", ks, k, train, got, want)
					}
				}
			}
		}
	}
}

// TestSKBackwardFiniteDifferences compares Backward with a fourth-order
// central difference of LogProb (step 1e-3, truncation and rounding errors
// both ~1e-12) for every parameter. Criterion: |g - fd| ≤ 1e-6·|fd| + 1e-10,
// i.e. relative 1e-6 with an absolute floor (for gradients near 0) far below
// any gradient of interest but ~100× above the difference's own error.
func TestSKBackwardFiniteDifferences(t *testing.T) {
	defer h2arnn.SetKernels(h2arnn.Kernels())
	for _, ks := range h2arnn.AvailableKernels() {
		if err := h2arnn.SetKernels(ks); err != nil {
			t.Fatal(err)
		}
		for k := 0; k <= 3; k++ {
			for _, train := range []bool{false, true} {
				n := 6 + k
				m := skTestModel(t, n, uint64(30+k))
				s := skTestNet(t, m, k, train, 0.5, uint64(40+k))
				w := s.NewWorker()
				rng := rand.New(rand.NewPCG(uint64(k), 3))
				x := skRandomSpins(rng, n)
				w.LogProb(x)
				g := make([]float64, len(s.p))
				w.Backward(1, g, 0, nil)
				const step = 1e-3
				maxAbs, maxRel := 0.0, 0.0
				for j := range s.p {
					p0 := s.p[j]
					eval := func(d float64) float64 { s.p[j] = p0 + d; return w.LogProb(x) }
					fd := (-eval(2*step) + 8*eval(step) - 8*eval(-step) + eval(-2*step)) / (12 * step)
					s.p[j] = p0
					err := math.Abs(g[j] - fd)
					if err > 1e-6*math.Abs(fd)+1e-10 {
						t.Fatalf("%s k=%d train=%v param %d: Backward %.15g, finite difference %.15g", ks, k, train, j, g[j], fd)
					}
					maxAbs = math.Max(maxAbs, err)
					if math.Abs(fd) > 1e-3 {
						maxRel = math.Max(maxRel, err/math.Abs(fd))
					}
				}
				t.Logf("%s k=%d train=%v N=%d: %d params, max |g-fd| = %.2g, max |g-fd|/|fd| (|fd|>1e-3) = %.2g", ks, k, train, n, len(s.p), maxAbs, maxRel)

				// Both accumulators, added onto existing contents.
				base := rng.NormFloat64
				gA, gC := make([]float64, len(g)), make([]float64, len(g))
				bA, bC := make([]float64, len(g)), make([]float64, len(g))
				for j := range g {
					bA[j], bC[j] = base(), base()
				}
				copy(gA, bA)
				copy(gC, bC)
				w.LogProb(x)
				const cA, cC = 0.7, -1.3
				w.Backward(cA, gA, cC, gC)
				for j := range g {
					if math.Abs(gA[j]-bA[j]-cA*g[j]) > 1e-12*(math.Abs(cA*g[j])+math.Abs(bA[j])) ||
						math.Abs(gC[j]-bC[j]-cC*g[j]) > 1e-12*(math.Abs(cC*g[j])+math.Abs(bC[j])) {
						t.Fatalf("k=%d train=%v param %d: accumulators %v %v, want base+%v·%v", k, train, j, gA[j]-bA[j], gC[j]-bC[j], cA, g[j])
					}
				}

				// Backward after Sample equals Backward after LogProb of the same x.
				xs := make([]float64, n)
				w.Sample(rand.New(rand.NewPCG(5, uint64(k))), xs)
				gs := make([]float64, len(g))
				w.Backward(1, gs, 0, nil)
				w.LogProb(xs)
				gl := make([]float64, len(g))
				w.Backward(1, gl, 0, nil)
				for j := range gs {
					if gs[j] != gl[j] {
						t.Fatalf("k=%d train=%v param %d: gradient after Sample %v, after LogProb %v", k, train, j, gs[j], gl[j])
					}
				}
			}
		}
	}
}

// TestSKSamplingDistribution draws many samples at N=4 and compares the
// empirical histogram of the 16 states with exp(LogProb) by a chi-square test
// (15 degrees of freedom, fixed seeds; the 0.1% critical value is 37.70).
// It also checks that the states' probabilities sum to 1 and that Sample's
// ln q and energy equal LogProb and the model's Energy.
func TestSKSamplingDistribution(t *testing.T) {
	const n, draws = 4, 200000
	for _, train := range []bool{false, true} {
		m := skTestModel(t, n, 50)
		s := skTestNet(t, m, 1, train, 0.9, 51)
		w := s.NewWorker()
		prob := make([]float64, 1<<n)
		total := 0.0
		for st := range prob {
			x := skStateSpins(st, n)
			prob[st] = math.Exp(w.LogProb(x))
			total += prob[st]
		}
		if math.Abs(total-1) > 1e-13 {
			t.Fatalf("train=%v: Σ_x q(x) = %.17g", train, total)
		}
		pmin, pmax := 1.0, 0.0
		for _, p := range prob {
			pmin, pmax = math.Min(pmin, p), math.Max(pmax, p)
		}
		if pmax/pmin < 3 {
			t.Fatalf("train=%v: q(x) nearly uniform (max/min %.3g): test would be weak", train, pmax/pmin)
		}
		counts := make([]float64, 1<<n)
		rng := rand.New(rand.NewPCG(52, 53))
		x := make([]float64, n)
		for d := range draws {
			lq, e := w.Sample(rng, x)
			st := 0
			for i, v := range x {
				if v < 0 {
					st |= 1 << i
				}
			}
			counts[st]++
			if d < 2000 {
				if want := m.Energy(x); math.Abs(e-want) > 1e-12*(1+math.Abs(want)) {
					t.Fatalf("train=%v: Sample energy %v, Energy(x) %v", train, e, want)
				}
				if want := math.Log(prob[st]); math.Abs(lq-want) > 1e-12*(1+math.Abs(want)) {
					t.Fatalf("train=%v: Sample ln q %v, LogProb %v", train, lq, want)
				}
			}
		}
		chi2 := 0.0
		for st, c := range counts {
			e := draws * prob[st]
			chi2 += (c - e) * (c - e) / e
		}
		t.Logf("train=%v: chi² = %.2f (15 dof), q range [%.4f, %.4f]", train, chi2, pmin, pmax)
		if chi2 > 37.70 {
			t.Fatalf("train=%v: chi² = %.2f > 37.70 (15 dof, p = 0.001)", train, chi2)
		}
	}
}

// skStateSpins maps state index st to spins: bit i set ⇔ x_i = -1.
func skStateSpins(st, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = float64(1 - 2*(st>>i&1))
	}
	return x
}

// TestSKConditionals checks Conditionals against the conditionals implied
// by LogProb: Q(x_i=+1 | x_<i) = Σ_{y: y_<i=x_<i, y_i=+1} q(y) / Σ_{y: y_<i=x_<i} q(y),
// summed over all 2^N states at N=5.
func TestSKConditionals(t *testing.T) {
	const n = 5
	for _, train := range []bool{false, true} {
		m := skTestModel(t, n, 60)
		s := skTestNet(t, m, 2, train, 0.8, 61)
		w := s.NewWorker()
		prob := make([]float64, 1<<n)
		for st := range prob {
			prob[st] = math.Exp(w.LogProb(skStateSpins(st, n)))
		}
		q := make([]float64, n)
		for st := range prob {
			w.Conditionals(skStateSpins(st, n), q)
			for i := range n {
				prefix := st & (1<<i - 1)
				num, den := 0.0, 0.0
				for o := range prob {
					if o&(1<<i-1) != prefix {
						continue
					}
					den += prob[o]
					if o>>i&1 == 0 {
						num += prob[o]
					}
				}
				if math.Abs(q[i]-num/den) > 1e-12 {
					t.Fatalf("train=%v state %d spin %d: Conditionals %.15g, from LogProb %.15g", train, st, i, q[i], num/den)
				}
			}
		}
	}
}

// TestSKTinySizes covers N = 1 and 2, where the last conditionals have no
// later spins (empty chains): probabilities sum to 1 and Backward matches a
// finite difference.
func TestSKTinySizes(t *testing.T) {
	for n := 1; n <= 2; n++ {
		for _, train := range []bool{false, true} {
			m := skTestModel(t, n, 90)
			s := skTestNet(t, m, 2, train, 0.8, 91)
			w := s.NewWorker()
			total := 0.0
			for st := range 1 << n {
				total += math.Exp(w.LogProb(skStateSpins(st, n)))
			}
			if math.Abs(total-1) > 1e-14 {
				t.Fatalf("N=%d train=%v: Σ_x q(x) = %.17g", n, train, total)
			}
			x := skStateSpins(1, n)
			w.LogProb(x)
			g := make([]float64, len(s.p))
			w.Backward(1, g, 0, nil)
			for j := range s.p {
				p0 := s.p[j]
				s.p[j] = p0 + 1e-5
				up := w.LogProb(x)
				s.p[j] = p0 - 1e-5
				fd := (up - w.LogProb(x)) / 2e-5
				s.p[j] = p0
				if math.Abs(g[j]-fd) > 1e-6*math.Abs(fd)+1e-9 {
					t.Fatalf("N=%d train=%v param %d: Backward %v, finite difference %v", n, train, j, g[j], fd)
				}
			}
		}
	}
}

// TestSKSamplerWorkers checks that batches drawn on 1 and 3 goroutines are
// identical (workers share no scratch) and consistent with LogProb.
func TestSKSamplerWorkers(t *testing.T) {
	m := skTestModel(t, 12, 95)
	for _, train := range []bool{false, true} {
		s := skTestNet(t, m, 1, train, 0.5, 96)
		a := SampleBatch(s, 64, 9, 1)
		b := SampleBatch(s, 64, 9, 3)
		w := s.NewWorker()
		for i := range a.B {
			if a.LogQ[i] != b.LogQ[i] || a.Energy[i] != b.Energy[i] {
				t.Fatalf("train=%v sample %d: 1 worker (%v, %v), 3 workers (%v, %v)", train, i, a.LogQ[i], a.Energy[i], b.LogQ[i], b.Energy[i])
			}
			x := a.Sample(i)
			if lq := w.LogProb(x); math.Abs(lq-a.LogQ[i]) > 1e-12*(1+math.Abs(lq)) {
				t.Fatalf("train=%v sample %d: ln q %v, LogProb %v", train, i, a.LogQ[i], lq)
			}
		}
		for j := range a.X {
			if a.X[j] != b.X[j] {
				t.Fatalf("train=%v: spins differ between 1 and 3 workers", train)
			}
		}
	}
}

// TestSKNoAllocs asserts that Sample and Backward allocate nothing.
func TestSKNoAllocs(t *testing.T) {
	for _, train := range []bool{false, true} {
		m := skTestModel(t, 20, 70)
		s := skTestNet(t, m, 2, train, 0.3, 71)
		w := s.NewWorker()
		rng := rand.New(rand.NewPCG(1, 1))
		x := make([]float64, 20)
		gA, gC := make([]float64, len(s.p)), make([]float64, len(s.p))
		allocs := testing.AllocsPerRun(50, func() {
			w.Sample(rng, x)
			w.Backward(0.3, gA, -0.2, gC)
			w.Backward(0.3, gA, 0, nil)
		})
		if allocs != 0 {
			t.Fatalf("train=%v: Sample+Backward allocate %v times per run", train, allocs)
		}
	}
}

// TestSKArchAndLayout checks the registry names, the options' validation,
// ParamCount's formula, the initialisation and FirstLayer.
func TestSKArchAndLayout(t *testing.T) {
	m := skTestModel(t, 8, 80)
	cases := []struct {
		name string
		k    int // value of ArchOptions.K passed in
		want string
	}{
		{"sk_rs", 3, "sk_rs"},
		{"sk_krsb", 0, "sk_rs"},
		{"sk_krsb", 2, "sk_2rsb"},
		{"sk_krsb", 5, "sk_5rsb"},
		{"sk_1rsb", 0, "sk_1rsb"},
		{"sk_2rsb", 7, "sk_2rsb"},
		{"sk_3rsb", 0, "sk_3rsb"},
	}
	for _, c := range cases {
		for _, train := range []bool{false, true} {
			net, err := NewNet(c.name, m, ArchOptions{K: c.k, TrainFirstLayer: train, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			if net.Arch() != c.want {
				t.Fatalf("%s K=%d: Arch %q, want %q", c.name, c.k, net.Arch(), c.want)
			}
			k := net.(*SK).K()
			n := 8
			want := (2*k+3)*n*(n-1) + 2*n
			if train {
				want += n*(n-1)/2 + n
			}
			if net.ParamCount() != want || len(net.Params()) != want {
				t.Fatalf("%s: ParamCount %d, len(Params) %d, want %d", net.Arch(), net.ParamCount(), len(net.Params()), want)
			}
		}
	}
	if _, err := NewNet("sk_krsb", m, ArchOptions{K: -1}); err == nil {
		t.Fatal("K = -1 accepted")
	}
	if _, err := NewNet("sk_krsb", m, ArchOptions{K: 1 << 30}); err == nil {
		t.Fatal("absurd K accepted")
	}

	// Initialisation: deterministic in the seed, Normal(0, std 1/N), h = 0.
	const n = 60
	big := skTestModel(t, n, 81)
	a, _ := NewSK(big, ArchOptions{K: 1, TrainFirstLayer: true, Seed: 5})
	b, _ := NewSK(big, ArchOptions{K: 1, TrainFirstLayer: true, Seed: 5})
	c, _ := NewSK(big, ArchOptions{K: 1, TrainFirstLayer: true, Seed: 6})
	same, diff := true, false
	for j := range a.p {
		same = same && a.p[j] == b.p[j]
		diff = diff || a.p[j] != c.p[j]
	}
	if !same || !diff {
		t.Fatalf("initialisation not a function of the seed (same %v, differs %v)", same, diff)
	}
	checkStd := func(what string, v []float64, tol float64) {
		t.Helper()
		mean, sq := 0.0, 0.0
		for _, x := range v {
			mean += x
			sq += x * x
		}
		mean /= float64(len(v))
		std := math.Sqrt(sq/float64(len(v)) - mean*mean)
		if math.Abs(std*n-1) > tol || math.Abs(mean) > 5/(n*math.Sqrt(float64(len(v)))) {
			t.Fatalf("%s: %d numbers with mean %.3g, std %.4g; want Normal(0, std %.4g)", what, len(v), mean, std, 1.0/n)
		}
	}
	end := a.condOff[n]
	checkStd("conditionals", a.p[:end], 0.03)
	checkStd("first-layer W", a.p[end:end+n*(n-1)/2], 0.1)
	for _, v := range a.fields(a.p) {
		if v != 0 {
			t.Fatal("trainable fields must start at 0")
		}
	}
	// FirstLayerStd scales W alone: the conditionals are drawn first from
	// the same stream and keep their bits.
	wide, _ := NewSK(big, ArchOptions{K: 1, TrainFirstLayer: true, Seed: 5, FirstLayerStd: 0.3})
	for j := range end {
		if wide.p[j] != a.p[j] {
			t.Fatal("FirstLayerStd changed a conditional's initial parameter")
		}
	}
	for j := end; j < end+n*(n-1)/2; j++ {
		if math.Abs(wide.p[j]-0.3*n*a.p[j]) > 1e-15 {
			t.Fatalf("W[%d] = %v with std 0.3, %v with 1/N", j-end, wide.p[j], a.p[j])
		}
	}
	for _, bad := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := NewSK(big, ArchOptions{TrainFirstLayer: true, FirstLayerStd: bad}); err == nil {
			t.Errorf("FirstLayerStd %v accepted", bad)
		}
	}

	// FirstLayer: the model's with a fixed first layer, the documented
	// upper-triangle layout with a trainable one.
	fixed, _ := NewSK(m, ArchOptions{K: 1})
	W, h := fixed.FirstLayer()
	for j := range W {
		if W[j] != m.J[j] {
			t.Fatal("fixed FirstLayer W differs from the model's J")
		}
	}
	for j := range h {
		if h[j] != m.H[j] {
			t.Fatal("fixed FirstLayer h differs from the model's h")
		}
	}
	tr := skTestNet(t, m, 1, true, 1, 82)
	W, h = tr.FirstLayer()
	o := tr.condOff[8]
	for s := range 8 {
		if W[s*8+s] != 0 {
			t.Fatal("FirstLayer diagonal not zero")
		}
		for l := s + 1; l < 8; l++ {
			if W[s*8+l] != tr.p[o] || W[l*8+s] != tr.p[o] {
				t.Fatalf("FirstLayer W[%d,%d] = %v / %v, parameter %v", s, l, W[s*8+l], W[l*8+s], tr.p[o])
			}
			o++
		}
	}
	for i := range h {
		if h[i] != tr.p[o+i] {
			t.Fatal("FirstLayer h is not the trailing N parameters")
		}
	}
}

// BenchmarkSKSampleBackward measures one sample and its backward pass at
// N=200, k=2 with a fixed first layer.
func BenchmarkSKSampleBackward(b *testing.B) {
	const n = 200
	m, err := SherringtonKirkpatrick(n, 1, 0, 1)
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewSK(m, ArchOptions{K: 2, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	w := s.NewWorker()
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, n)
	gA, gC := make([]float64, len(s.p)), make([]float64, len(s.p))
	b.ReportAllocs()
	for b.Loop() {
		w.Sample(rng, x)
		w.Backward(0.5, gA, 1, gC)
	}
	b.ReportMetric(float64(s.ParamCount()), "params")
}

// TestSKFirstLayerGauge: a learned first layer is defined only up to a sign
// and a scale per column: multiplying the couplings W_sl (s < l) of one
// spin l and its field h_l by c, and dividing by c the skip weight w⁰_l
// and the first weight w_0 of every chain that reads spin l's field,
// leaves q unchanged — which is why only |W| up to per-column scales can
// be compared with J.
func TestSKFirstLayerGauge(t *testing.T) {
	const n, k = 7, 1
	m := skTestModel(t, n, 3)
	s := skTestNet(t, m, k, true, 0.6, 4)
	w := s.NewWorker()
	rng := rand.New(rand.NewPCG(1, 1))
	xs := make([][]float64, 20)
	before := make([]float64, len(xs))
	for b := range xs {
		xs[b] = skRandomSpins(rng, n)
		before[b] = w.LogProb(xs[b])
	}
	for _, c := range []float64{-1, 2.5, -0.3} {
		l := 4
		p := append([]float64(nil), s.p...)
		for r := range l {
			s.couplingRow(s.p, r)[l-r-1] *= c
		}
		s.fields(s.p)[l] *= c
		w0, _, _, _ := s.Conditional(s.p, l)
		w0[0] /= c
		for i := range l {
			_, _, wc, _ := s.Conditional(s.p, i)
			r := n - 1 - i
			wc[l-i-1] /= c   // w_0 of the + chain of spin l
			wc[r+l-i-1] /= c // and of its - chain
		}
		for b, x := range xs {
			if got := w.LogProb(x); math.Abs(got-before[b]) > 1e-12 {
				t.Fatalf("c = %v: ln q changed from %v to %v", c, before[b], got)
			}
		}
		changed := false
		for j := range p {
			changed = changed || p[j] != s.p[j]
		}
		if !changed {
			t.Fatal("the transformation changed nothing")
		}
		copy(s.p, p)
	}
}
