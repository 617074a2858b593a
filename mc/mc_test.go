package mc

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/h2arnn/h2arnn/model"
)

// boltzmann returns P(x) for every configuration of m at beta, indexed by
// the bits of x (bit i set ⇔ x_i = +1), by brute force.
func boltzmann(m *model.Hamiltonian, beta float64) []float64 {
	n := m.N
	p := make([]float64, 1<<n)
	x := make([]float64, n)
	emin := math.Inf(1)
	es := make([]float64, len(p))
	for s := range p {
		for i := range x {
			x[i] = -1
			if s>>i&1 == 1 {
				x[i] = 1
			}
		}
		es[s] = m.Energy(x)
		emin = math.Min(emin, es[s])
	}
	z := 0.0
	for s, e := range es {
		p[s] = math.Exp(-beta * (e - emin))
		z += p[s]
	}
	for s := range p {
		p[s] /= z
	}
	return p
}

func stateIndex(x []float64) int {
	s := 0
	for i, v := range x {
		if v > 0 {
			s |= 1 << i
		}
	}
	return s
}

// chiSquare returns Pearson's statistic of counts against probabilities p
// for len(counts) total draws and its degrees of freedom, pooling the
// cells whose expected count is below 5 into one.
func chiSquare(counts []int, p []float64, total int) (chi2 float64, df int) {
	var poolObs, poolExp float64
	cells := 0
	for s, c := range counts {
		exp := p[s] * float64(total)
		if exp < 5 {
			poolObs += float64(c)
			poolExp += exp
			continue
		}
		d := float64(c) - exp
		chi2 += d * d / exp
		cells++
	}
	if poolExp > 0 {
		d := poolObs - poolExp
		chi2 += d * d / poolExp
		cells++
	}
	return chi2, cells - 1
}

// skWithFields is an SK instance with fields, so that no symmetry helps.
func skWithFields(t *testing.T, n int, seed uint64) *model.Hamiltonian {
	m, err := model.SherringtonKirkpatrick(n, 1, 0, seed)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	for i := range m.H {
		m.H[i] = 0.3 * rng.NormFloat64()
	}
	return m
}

// TestMetropolisSamplesBoltzmann: the histogram of configurations kept
// every few sweeps passes a χ² test against enumeration at N = 8, at a
// level (1e-4) that a correct sampler fails once in 10,000 seeds.
func TestMetropolisSamplesBoltzmann(t *testing.T) {
	m := skWithFields(t, 8, 3)
	for _, beta := range []float64{0.5, 1.5} {
		rng := rand.New(rand.NewPCG(1, uint64(beta*10)))
		c, err := NewChain(m, beta, nil, rng)
		if err != nil {
			t.Fatal(err)
		}
		const samples, spacing = 40000, 5
		counts := make([]int, 1<<m.N)
		for range 100 {
			c.Sweep(rng)
		}
		for range samples {
			for range spacing {
				c.Sweep(rng)
			}
			counts[stateIndex(c.Spins())]++
		}
		chi2, df := chiSquare(counts, boltzmann(m, beta), samples)
		crit := distuv.ChiSquared{K: float64(df)}.Quantile(1 - 1e-4)
		t.Logf("β=%v: χ² = %.1f with %d degrees of freedom (critical %.1f)", beta, chi2, df, crit)
		if chi2 > crit {
			t.Errorf("β=%v: χ² = %.1f > %.1f: the chain does not sample exp(-βH)", beta, chi2, crit)
		}
		att, acc := c.Acceptance()
		if att != int64((samples*spacing+100)*m.N) || acc <= 0 || acc >= att {
			t.Errorf("acceptance counters %d/%d", acc, att)
		}
	}
}

// TestTemperingSamplesEveryTemperature: with replica exchange each slot
// samples its own β (χ² as above), and the mean energy at each β agrees
// with enumeration within 4 τ-corrected standard errors.
func TestTemperingSamplesEveryTemperature(t *testing.T) {
	m := skWithFields(t, 8, 5)
	betas := []float64{0.4, 0.9, 1.5, 2.2}
	rngs := make([]*rand.Rand, len(betas))
	for r := range rngs {
		rngs[r] = rand.New(rand.NewPCG(7, uint64(r)))
	}
	swap := rand.New(rand.NewPCG(7, 100))
	pt, err := NewTempering(m, betas, rngs)
	if err != nil {
		t.Fatal(err)
	}
	const samples = 30000
	counts := make([][]int, len(betas))
	energies := make([][]float64, len(betas))
	for r := range counts {
		counts[r] = make([]int, 1<<m.N)
	}
	for range 200 {
		pt.Sweep(rngs, swap)
	}
	for range samples {
		for range 3 {
			pt.Sweep(rngs, swap)
		}
		for r, c := range pt.Replicas() {
			counts[r][stateIndex(c.Spins())]++
			energies[r] = append(energies[r], c.Energy())
		}
	}
	th, err := model.Enumerate(context.Background(), m, betas, 1)
	if err != nil {
		t.Fatal(err)
	}
	for r, beta := range betas {
		chi2, df := chiSquare(counts[r], boltzmann(m, beta), samples)
		crit := distuv.ChiSquared{K: float64(df)}.Quantile(1 - 1e-4)
		if chi2 > crit {
			t.Errorf("slot %d (β=%v): χ² = %.1f > %.1f", r, beta, chi2, crit)
		}
		est := MeanError(energies[r])
		want := th[r].E * float64(m.N)
		if math.Abs(est.Mean-want) > 4*est.Err || !est.Reliable {
			t.Errorf("β=%v: <H> = %.5f ± %.5f (τ %.2f), exact %.5f", beta, est.Mean, est.Err, est.Tau, want)
		}
	}
	tried, acc := pt.SwapRates()
	for r := range tried {
		if tried[r] == 0 || acc[r] == 0 || acc[r] > tried[r] {
			t.Errorf("pair %d: %d of %d exchanges accepted", r, acc[r], tried[r])
		}
	}
	// Even and odd pairs alternate: pair 0 and 2 on even sweeps, pair 1 on odd.
	if tried[0] != tried[2] || tried[0]+tried[1] != pt.Sweeps() {
		t.Errorf("proposals per pair %v over %d sweeps", tried, pt.Sweeps())
	}
}

// TestMetropolisMeanEnergy: plain Metropolis at several β gives <H> within
// 4 τ-corrected standard errors of enumeration (N = 12, no fields).
func TestMetropolisMeanEnergy(t *testing.T) {
	m, err := model.SherringtonKirkpatrick(12, 1, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	betas := []float64{0.3, 1, 1.6}
	th, err := model.Enumerate(context.Background(), m, betas, 1)
	if err != nil {
		t.Fatal(err)
	}
	for k, beta := range betas {
		rng := rand.New(rand.NewPCG(11, uint64(k)))
		c, _ := NewChain(m, beta, nil, rng)
		for range 200 {
			c.Sweep(rng)
		}
		e := make([]float64, 0, 40000)
		for range cap(e) {
			c.Sweep(rng)
			e = append(e, c.Energy())
		}
		est := MeanError(e)
		want := th[k].E * float64(m.N)
		t.Logf("β=%v: <H> = %.4f ± %.4f (τ_int %.2f sweeps), exact %.4f", beta, est.Mean, est.Err, est.Tau, want)
		if math.Abs(est.Mean-want) > 4*est.Err || !est.Reliable {
			t.Errorf("β=%v: <H> = %.5f ± %.5f, exact %.5f", beta, est.Mean, est.Err, want)
		}
	}
}

// TestSwapDetailedBalance: on a two-replica toy (N = 2, every joint state
// enumerated) the exchange move satisfies π(a,b)·P((a,b)→(b,a)) =
// π(b,a)·P((b,a)→(a,b)) with π the product of the two Boltzmann
// distributions; and Tempering accepts at the rate SwapProbability gives.
func TestSwapDetailedBalance(t *testing.T) {
	m := model.NewHamiltonian(2)
	m.SetCoupling(0, 1, 0.7)
	m.H[0], m.H[1] = 0.2, -0.5
	b1, b2 := 0.3, 1.7
	p1, p2 := boltzmann(m, b1), boltzmann(m, b2)
	x := make([]float64, 2)
	energy := func(s int) float64 {
		for i := range x {
			x[i] = float64(2*(s>>i&1) - 1)
		}
		return m.Energy(x)
	}
	for a := range 4 {
		for b := range 4 {
			fwd := p1[a] * p2[b] * SwapProbability(b1, energy(a), b2, energy(b))
			bwd := p1[b] * p2[a] * SwapProbability(b1, energy(b), b2, energy(a))
			if math.Abs(fwd-bwd) > 1e-15 {
				t.Errorf("states (%d,%d): flux %v vs %v", a, b, fwd, bwd)
			}
		}
	}
	// The move itself: a hot replica holding the higher energy hands it
	// down at rate exp(Δβ ΔE) < 1.
	rngs := []*rand.Rand{rand.New(rand.NewPCG(1, 1)), rand.New(rand.NewPCG(1, 2))}
	pt, err := NewTempering(m, []float64{b1, b2}, rngs)
	if err != nil {
		t.Fatal(err)
	}
	hot, cold := pt.Replicas()[0], pt.Replicas()[1]
	swap := rand.New(rand.NewPCG(1, 3))
	const trials = 20000
	swaps := 0
	for range trials {
		hot.SetState([]int8{1, -1}) // E = 0.7 - 0.2 - 0.5 = 0
		cold.SetState([]int8{1, 1}) // E = -0.7 - 0.2 + 0.5 = -0.4
		pt.SetSweeps(0)
		pt.exchange(swap)
		if hot.Spins()[1] == 1 {
			swaps++
		}
	}
	want := SwapProbability(b1, 0, b2, -0.4)
	if want > 0.6 || want < 0.5 {
		t.Fatalf("SwapProbability %v, want exp(-1.4·0.4) = 0.571", want)
	}
	got := float64(swaps) / trials
	if se := math.Sqrt(want * (1 - want) / trials); math.Abs(got-want) > 5*se {
		t.Errorf("exchange rate %.4f, SwapProbability %.4f ± %.4f", got, want, se)
	}
}

// TestIntegratedTimeAR1: for the AR(1) process x_t = φ x_{t-1} + ε_t,
// ρ(t) = φ^t and τ_int = (1+φ)/(2(1-φ)).
func TestIntegratedTimeAR1(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	for _, phi := range []float64{0, 0.5, 0.9} {
		const n = 200000
		x := make([]float64, n)
		for i := 1; i < n; i++ {
			x[i] = phi*x[i-1] + rng.NormFloat64()
		}
		tau, w, ok := IntegratedTime(x)
		want := (1 + phi) / (2 * (1 - phi))
		// Sokal's variance of τ: 2(2W+1)/n · τ².
		sd := want * math.Sqrt(2*float64(2*w+1)/n)
		t.Logf("φ=%v: τ_int %.3f (window %d), exact %.3f ± %.3f", phi, tau, w, want, sd)
		if !ok || math.Abs(tau-want) > 4*sd+want*math.Exp(-WindowFactor) {
			t.Errorf("φ=%v: τ_int %.3f (ok %v), want %.3f ± %.3f", phi, tau, ok, want, sd)
		}
		// The corrected error of the mean matches the exact variance of
		// the mean of a stationary AR(1): var·(1+φ)/(1-φ)/n.
		est := MeanError(x)
		exactVar := 1 / (1 - phi*phi)
		wantErr := math.Sqrt(exactVar * (1 + phi) / (1 - phi) / n)
		if math.Abs(est.Err-wantErr) > 0.1*wantErr {
			t.Errorf("φ=%v: error %.5f, want %.5f", phi, est.Err, wantErr)
		}
	}
	// Too short for its correlations: not ok.
	x := make([]float64, 40)
	for i := range x {
		x[i] = float64(i)
	}
	if _, _, ok := IntegratedTime(x); ok {
		t.Error("a linear trend of 40 points gave a trustworthy τ")
	}
	if tau, w, ok := IntegratedTime([]float64{3, 3, 3}); tau != 0.5 || w != 0 || !ok {
		t.Errorf("constant series: τ %v window %d ok %v", tau, w, ok)
	}
	if e := MeanError(nil); !math.IsNaN(e.Mean) || !math.IsNaN(e.Err) {
		t.Errorf("empty series: %+v", e)
	}
	if e := MeanError([]float64{2}); e.Mean != 2 || !math.IsNaN(e.Err) {
		t.Errorf("one value: %+v", e)
	}
}

// TestIncrementalEnergy: after many sweeps the incrementally kept energy
// and local fields agree with a recomputation to rounding.
func TestIncrementalEnergy(t *testing.T) {
	m := skWithFields(t, 50, 9)
	rng := rand.New(rand.NewPCG(2, 2))
	c, _ := NewChain(m, 0.8, nil, rng)
	for range 2000 {
		c.Sweep(rng)
	}
	e := c.Energy()
	phi := append([]float64(nil), c.phi...)
	c.Resync()
	if math.Abs(e-c.Energy()) > 1e-10*math.Max(1, math.Abs(e)) {
		t.Errorf("incremental energy %.15g, recomputed %.15g", e, c.Energy())
	}
	for i := range phi {
		if math.Abs(phi[i]-c.phi[i]) > 1e-10 {
			t.Fatalf("φ_%d incremental %.15g, recomputed %.15g", i, phi[i], c.phi[i])
		}
	}
	st := make([]int8, m.N)
	c.State(st)
	mag := 0
	for _, v := range st {
		mag += int(v)
	}
	if mag != c.Magnetization() {
		t.Errorf("magnetisation %d, state sums to %d", c.Magnetization(), mag)
	}
}

func TestRejects(t *testing.T) {
	m := model.NewHamiltonian(3)
	rng := rand.New(rand.NewPCG(1, 1))
	for _, b := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := NewChain(m, b, nil, rng); !errors.Is(err, ErrBeta) {
			t.Errorf("β=%v: %v", b, err)
		}
	}
	if _, err := NewChain(m, 1, []int8{1, 1}, rng); err == nil {
		t.Error("2 spins accepted for a model of 3")
	}
	if _, err := NewChain(m, 1, []int8{1, 0, 1}, rng); err == nil {
		t.Error("spin 0 accepted")
	}
	if _, err := NewChain(model.NewHamiltonian(0), 1, nil, rng); err == nil {
		t.Error("empty model accepted")
	}
	rngs := []*rand.Rand{rng, rng}
	for _, betas := range [][]float64{{1}, {1, 1}, {2, 1}} {
		if _, err := NewTempering(m, betas, rngs[:len(betas)]); err == nil {
			t.Errorf("ladder %v accepted", betas)
		}
	}
	if _, err := NewTempering(m, []float64{1, 2}, rngs[:1]); err == nil {
		t.Error("one stream for two replicas accepted")
	}
	pt, _ := NewTempering(m, []float64{1, 2}, rngs)
	if err := pt.SetSwapCounts([]int64{1, 2}, []int64{1}); err == nil {
		t.Error("wrong number of swap counters accepted")
	}
	if err := pt.SetSwapCounts([]int64{5}, []int64{3}); err != nil {
		t.Fatal(err)
	}
	if tr, ac := pt.SwapRates(); tr[0] != 5 || ac[0] != 3 {
		t.Errorf("restored counters %v %v", tr, ac)
	}
}
