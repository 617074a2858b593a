package mc

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/model"
)

// poorNet returns a net of architecture arch trained on m with only steps
// Adam steps (batch 500, lr 0.01) at each of 8 β annealed from 0.2 to β:
// clearly better than its random start, clearly short of P.
func poorNet(t testing.TB, m *model.Hamiltonian, arch string, beta float64, steps int) model.Net {
	t.Helper()
	net, err := model.NewNet(arch, m, model.ArchOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	cfg := grad.DefaultConfig()
	cfg.BetaStart, cfg.BetaEnd, cfg.BetaCount = 0.2, beta, 8
	cfg.InitSteps, cfg.MaxStep, cfg.Batch, cfg.LR, cfg.EvalSamples, cfg.StdLimit = steps, steps, 500, 0.01, 0, 0
	cfg.Seed = 4
	tr, err := grad.NewTrainer(net, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := tr.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	return net
}

// TestExactNetsGiveConstantWeights: for the exact nets (cw_n on Curie-Weiss
// N = 60, h2arnn on an SK instance with fields, N = 12) every sample has
// ln q + βH = -ln Z, so every weight is the same: ESS/M = 1 and the NIS free
// energy equals the exact one to 1e-12, with a zero error; the chain accepts
// every proposal. The reweighted energy is then the plain sample mean:
// within 4 standard errors of the exact energy.
func TestExactNetsGiveConstantWeights(t *testing.T) {
	cw, err := model.CurieWeiss(60, 1, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	sk := skWithFields(t, 12, 7)
	for _, tc := range []struct {
		arch string
		m    *model.Hamiltonian
		beta float64
	}{{"cw_n", cw, 0.6}, {"cw_n", cw, 1.4}, {"h2arnn", sk, 0.8}, {"h2arnn", sk, 2}} {
		var exact model.Thermo
		if tc.m.CW != nil {
			var err error
			if exact, err = model.CWExact(tc.m.N, *tc.m.CW, tc.beta); err != nil {
				t.Fatal(err)
			}
		} else {
			th, err := model.Enumerate(context.Background(), tc.m, []float64{tc.beta}, 1)
			if err != nil {
				t.Fatal(err)
			}
			exact = th[0]
		}
		net, err := model.NewNet(tc.arch, tc.m, model.ArchOptions{Beta: tc.beta})
		if err != nil {
			t.Fatal(err)
		}
		r, err := EstimateNet(context.Background(), net, tc.beta, NetOptions{Samples: 2000, Seed: 1, NIS: true, MCMC: true, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		nis, ch := r.NIS, r.MCMC
		t.Logf("%s β=%v: F_NIS - F = %.1e ± %.1e, ESS/M - 1 = %.1e, acceptance %v", tc.arch, tc.beta, nis.F-exact.F, nis.FErr, nis.ESS-1, ch.Acceptance)
		if math.Abs(nis.F-exact.F) > 1e-12*math.Max(1, math.Abs(exact.F)) {
			t.Errorf("%s β=%v: F_NIS %.15g, exact %.15g", tc.arch, tc.beta, nis.F, exact.F)
		}
		if math.Abs(nis.ESS-1) > 1e-12 || nis.FErr > 1e-12 || !nis.Reliable {
			t.Errorf("%s β=%v: ESS/M %.15g, error %v, reliable %v", tc.arch, tc.beta, nis.ESS, nis.FErr, nis.Reliable)
		}
		if ch.Acceptance != 1 || ch.Steps != 1999 {
			t.Errorf("%s β=%v: chain accepted %v of %d proposals", tc.arch, tc.beta, ch.Acceptance, ch.Steps)
		}
		if math.Abs(nis.E-exact.E) > 4*nis.EErr || math.Abs(nis.E-r.Variational.E) > 1e-12 {
			t.Errorf("%s β=%v: e_NIS %.6f ± %.6f, sample mean %.6f, exact %.6f", tc.arch, tc.beta, nis.E, nis.EErr, r.Variational.E, exact.E)
		}
		if math.Abs(ch.E.Mean-exact.E) > 4*ch.E.Err || math.Abs(nis.MAbs-exact.MAbs) > 4*nis.MAbsErr {
			t.Errorf("%s β=%v: e_MCMC %.6f ± %.6f, |m| %.6f ± %.6f; exact %.6f, %.6f", tc.arch, tc.beta, ch.E.Mean, ch.E.Err, nis.MAbs, nis.MAbsErr, exact.E, exact.MAbs)
		}
	}
}

// coverageBound is the smallest number of successes out of trials that
// the coverage tests accept, and the probability that a correct estimator
// with the given true coverage falls below it.
func coverageBound(trials int, minFraction, coverage float64) (need int, pFail float64) {
	need = int(math.Ceil(minFraction * float64(trials)))
	return need, distuv.Binomial{N: float64(trials), P: coverage}.CDF(float64(need - 1))
}

// TestNISCoverage: on an SK instance of N = 16 spins and a deliberately poor
// sk_1rsb net (20 Adam steps at each of 8 β up to 1.5: f_var is 3 % above
// the exact f), 40 independent NIS estimates of F at β = 1.5 (M = 2000
// samples each) and 40 independent chains' e lie within 2 of their
// standard errors of the exact values (enumeration) at least 85 % of the
// time. For an estimator whose error bars are right the coverage is
// 95.4 %; the probability that it scores fewer than 34 of 40 is computed
// below (binomial: 0.2 %), so a failure means the error bars are too small
// (or the estimator biased), not bad luck.
//
// A net trained half as long misses modes of P: its NIS estimates cover
// the exact F far less often (about half of them), and then most of them
// must be flagged unreliable (effective sample size below MinESS). Its
// chains miss too (14 of 40 cover), and their flag, which looks at τ_int,
// catches fewer than half: a chain that never leaves the modes q proposes
// can look well mixed.
func TestNISCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("80 NIS estimates and 40 chains (a few seconds)")
	}
	const n, beta, trials, samples = 16, 1.5, 40, 2000
	m, err := model.SherringtonKirkpatrick(n, 1, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	th, err := model.Enumerate(context.Background(), m, []float64{beta}, 1)
	if err != nil {
		t.Fatal(err)
	}
	exact := th[0]
	need, pFail := coverageBound(trials, 0.85, 0.954)
	if pFail > 0.01 {
		t.Fatalf("test design: P(fewer than %d of %d | coverage 0.954) = %.3g", need, trials, pFail)
	}
	for _, steps := range []int{20, 10} {
		net := poorNet(t, m, "sk_1rsb", beta, steps)
		inF, inE, unreliable, unreliableChains := 0, 0, 0, 0
		var ess, gap, acc, tau float64
		for k := range trials {
			r, err := EstimateNet(context.Background(), net, beta, NetOptions{Samples: samples, Seed: 11, Step: uint64(k), NIS: true, MCMC: true})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(r.NIS.F-exact.F) <= 2*r.NIS.FErr {
				inF++
			}
			if math.Abs(r.MCMC.E.Mean-exact.E) <= 2*r.MCMC.E.Err {
				inE++
			}
			if !r.NIS.Reliable {
				unreliable++
			}
			if !r.MCMC.Reliable {
				unreliableChains++
			}
			ess += r.NIS.ESS / trials
			gap += (r.Variational.F - exact.F) / math.Abs(exact.F) / trials
			acc += r.MCMC.Acceptance / trials
			tau += r.MCMC.E.Tau / trials
		}
		t.Logf("%d steps per β: (f_var - f)/|f| = %.2e, mean ESS/M %.3f, acceptance %.3f, τ_int(e) %.2f", steps, gap, ess, acc, tau)
		t.Logf("F within 2 SE: %d of %d (%d flagged unreliable); e (chain) within 2 SE: %d of %d (%d flagged unreliable); need %d, P(fail | correct) = %.2g",
			inF, trials, unreliable, inE, trials, unreliableChains, need, pFail)
		if steps == 10 {
			// The chains' flag sees long correlations, not the modes
			// that q never proposes: it is not asserted.
			if inF >= need || unreliable < trials/2 {
				t.Errorf("too poor a net: %d of %d NIS estimates within 2 SE, %d flagged unreliable; want fewer than %d and at least half flagged",
					inF, trials, unreliable, need)
			}
			continue
		}
		if unreliable+unreliableChains > 0 {
			t.Errorf("%d NIS estimates and %d chains flagged unreliable with ESS/M %.2f", unreliable, unreliableChains, ess)
		}
		if gap < 0.01 || ess > 0.9 {
			t.Errorf("the net is not poor enough to test anything: gap %.2g, ESS/M %.2f", gap, ess)
		}
		if inF < need {
			t.Errorf("NIS free energy: %d of %d within 2 SE of exact, want ≥ %d", inF, trials, need)
		}
		if inE < need {
			t.Errorf("NMCMC energy: %d of %d within 2 SE of exact, want ≥ %d", inE, trials, need)
		}
	}
}

// TestNeuralMCMCStationary: the states of the independence chain, with and
// without local sweeps, pass a χ² test against the Boltzmann distribution
// (enumeration) at N = 10 with a poor 1l net as the proposal, at a level
// (1e-4) that a correct chain fails once in 10,000 seeds. States are kept
// every 10th step so that they are nearly independent (τ_int ≈ 1-2 steps
// here).
func TestNeuralMCMCStationary(t *testing.T) {
	m := skWithFields(t, 10, 13)
	const beta = 1.2
	net := poorNet(t, m, "1l", beta, 5)
	p := boltzmann(m, beta)
	for _, sweeps := range []int{0, 1} {
		const kept, spacing = 20000, 10
		bt := model.SampleBatch(net, kept*spacing+1, uint64(21+sweeps), 2)
		var local *LocalMoves
		if sweeps > 0 {
			local = &LocalMoves{Sweeps: sweeps, Model: m, LogProb: net.NewWorker().LogProb}
		}
		rng := rand.New(rand.NewPCG(5, uint64(sweeps)))
		n := m.N
		c, err := NewNeuralChain(beta, bt.X[:n], bt.LogQ[0], bt.Energy[0], local, rng)
		if err != nil {
			t.Fatal(err)
		}
		counts := make([]int, 1<<n)
		for b := 1; b < bt.B; b++ {
			if _, err := c.Step(bt.X[b*n:(b+1)*n], bt.LogQ[b], bt.Energy[b], rng); err != nil {
				t.Fatal(err)
			}
			if b%spacing == 0 {
				s := 0
				for i, v := range c.State() {
					if v > 0 {
						s |= 1 << i
					}
				}
				counts[s]++
			}
		}
		chi2, df := chiSquare(counts, p, kept)
		crit := distuv.ChiSquared{K: float64(df)}.Quantile(1 - 1e-4)
		prop, acc := c.Acceptance()
		t.Logf("local sweeps %d: acceptance %.3f, χ² = %.1f with %d degrees of freedom (critical %.1f)", sweeps, float64(acc)/float64(prop), chi2, df, crit)
		if chi2 > crit {
			t.Errorf("local sweeps %d: χ² = %.1f > %.1f: the chain does not sample exp(-βH)", sweeps, chi2, crit)
		}
		if acc == prop || acc == 0 {
			t.Errorf("local sweeps %d: %d of %d accepted; the proposal should be imperfect", sweeps, acc, prop)
		}
		// The proposals themselves are not Boltzmann samples: the same test
		// on them fails, so the χ² test has the power to see q.
		raw := make([]int, 1<<n)
		for b := 1; b <= kept; b++ {
			s := 0
			for i, v := range bt.X[b*spacing*n : (b*spacing+1)*n] {
				if v > 0 {
					s |= 1 << i
				}
			}
			raw[s]++
		}
		chi2q, dfq := chiSquare(raw, p, kept)
		if chi2q < (distuv.ChiSquared{K: float64(dfq)}).Quantile(1-1e-4) {
			t.Errorf("the proposals pass the test too (χ² %.1f with %d dof): the net is too good to test the chain", chi2q, dfq)
		}
	}
}

// TestDegenerateInputs: too few samples and non-finite inputs are errors;
// weights of which all but one vanish give the documented values (ESS = 1/M,
// an error of one nat on ln Ẑ, an infinite jackknife error, not reliable)
// and no NaN.
func TestDegenerateInputs(t *testing.T) {
	one := &model.Batch{N: 2, B: 1, X: []int8{1, 1}, LogQ: []float64{-1}, Energy: []float64{-1}}
	if _, err := ImportanceSampling(one, 1); !errors.Is(err, ErrFewSamples) {
		t.Errorf("M = 1: %v", err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	if _, err := NeuralMCMC(one, 1, rng, nil); !errors.Is(err, ErrFewSamples) {
		t.Errorf("chain of one: %v", err)
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		bt := &model.Batch{N: 2, B: 3, X: []int8{1, 1, 1, -1, -1, -1}, LogQ: []float64{-1, -2, -1}, Energy: []float64{-1, bad, 1}}
		if _, err := ImportanceSampling(bt, 1); !errors.Is(err, ErrNonFinite) {
			t.Errorf("energy %v: %v", bad, err)
		}
		if _, err := NeuralMCMC(bt, 1, rng, nil); !errors.Is(err, ErrNonFinite) {
			t.Errorf("chain, energy %v: %v", bad, err)
		}
		bt.Energy[1], bt.LogQ[2] = 0, bad
		if _, err := ImportanceSampling(bt, 1); !errors.Is(err, ErrNonFinite) {
			t.Errorf("ln q %v: %v", bad, err)
		}
	}
	huge := &model.Batch{N: 2, B: 2, X: []int8{1, 1, 1, -1}, LogQ: []float64{-1, -2}, Energy: []float64{-1, -math.MaxFloat64}}
	if _, err := ImportanceSampling(huge, 2); !errors.Is(err, ErrNonFinite) {
		t.Errorf("βH overflowing: %v", err)
	}
	ok := &model.Batch{N: 2, B: 2, X: []int8{1, 1, 1, -1}, LogQ: []float64{-1, -2}, Energy: []float64{-1, 1}}
	for _, b := range []float64{0, -1, math.NaN(), math.Inf(1)} {
		if _, err := ImportanceSampling(ok, b); !errors.Is(err, ErrBeta) {
			t.Errorf("β = %v: %v", b, err)
		}
		if _, err := NeuralMCMC(ok, b, rng, nil); b != 0 && !errors.Is(err, ErrBeta) {
			t.Errorf("chain, β = %v: %v", b, err)
		}
	}
	// One sample carries all the weight: the others are e^{-1000} of it,
	// below the float64 range.
	const M = 50
	bt := &model.Batch{N: 4, B: M, X: make([]int8, 4*M), LogQ: make([]float64, M), Energy: make([]float64, M)}
	for b := range M {
		for i := range 4 {
			bt.X[b*4+i] = 1
		}
		bt.LogQ[b] = -3
		bt.Energy[b] = 1000
	}
	bt.Energy[17] = -4
	r, err := ImportanceSampling(bt, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("one weight: %+v", r)
	if r.ESS != 1.0/M || math.Abs(r.LnZErr-1) > 1e-12 || !math.IsInf(r.LnZErrJack, 1) || r.Reliable {
		t.Errorf("ESS %v (want 1/%d), ln Z error %v (want 1), jackknife %v (want +Inf), reliable %v", r.ESS, M, r.LnZErr, r.LnZErrJack, r.Reliable)
	}
	if want := 4 + 3 - math.Log(M); math.Abs(r.LnZ-want) > 1e-14 || r.LnZJack != r.LnZ {
		t.Errorf("ln Ẑ %v, jackknife %v, want %v", r.LnZ, r.LnZJack, want)
	}
	for name, v := range map[string]float64{"F": r.F, "FErr": r.FErr, "E": r.E, "EErr": r.EErr, "MAbs": r.MAbs, "MAbsErr": r.MAbsErr} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("%s = %v", name, v)
		}
	}
	if r.E != -1 || r.EErr != 0 {
		t.Errorf("e = %v ± %v, want the dominant sample's -1 ± 0", r.E, r.EErr)
	}
}

// TestWeightsByHand checks the estimators on four weights small enough to
// follow on paper.
func TestWeightsByHand(t *testing.T) {
	// ln w = -βH - ln q with β = 1: weights e^0, e^{ln 2}, e^{ln 3}, e^{ln 2}
	// scaled by e^5: 1, 2, 3, 2 times e^5.
	logq := []float64{-5, -5 - math.Log(2), -5 - math.Log(3), -5 - math.Log(2)}
	energy := []float64{0, 0, 0, 0}
	w, err := NewWeights(logq, energy, 1)
	if err != nil {
		t.Fatal(err)
	}
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-14*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %.16g, want %.16g", name, got, want)
		}
	}
	near("LogMean", w.LogMean(), 5+math.Log(2))
	// Weights 1,2,3,2 (× e^5): mean 2, sample variance 2/3.
	near("LogMeanErr", w.LogMeanErr(), math.Sqrt(2.0/3/4)/2)
	near("ESS", w.ESS(), 64.0/(4*18))
	mean, se := w.Mean([]float64{1, 0, 1, 0})
	near("Mean", mean, 0.5)
	// √(Σ w²(o-μ)²)/Σw = √(1+4+9+4)/2/8
	near("Mean err", se, math.Sqrt(18)/2/8)
	// Jackknife over 4 blocks of one: leave-one-out means 7/3, 2, 5/3, 2.
	jm, jse, err := w.Jackknife(4)
	if err != nil {
		t.Fatal(err)
	}
	loo := []float64{math.Log(7.0 / 3), math.Log(2), math.Log(5.0 / 3), math.Log(2)}
	lm := (loo[0] + loo[1] + loo[2] + loo[3]) / 4
	ss := 0.0
	for _, v := range loo {
		ss += (v - lm) * (v - lm)
	}
	near("Jackknife", jm, 5+4*math.Log(2)-3*lm)
	near("Jackknife err", jse, math.Sqrt(0.75*ss))
	if _, _, err := w.Jackknife(5); !errors.Is(err, ErrFewSamples) {
		t.Errorf("5 blocks of 4 samples: %v", err)
	}
}

// TestEstimateNetWorkers: the estimates do not depend on the number of
// sampling goroutines, bit for bit, with local moves and P(q) too.
func TestEstimateNetWorkers(t *testing.T) {
	m := skWithFields(t, 9, 2)
	net := poorNet(t, m, "1l", 1, 5)
	var ref NetEstimate
	for k, w := range []int{1, 2, 5} {
		r, err := EstimateNet(context.Background(), net, 1, NetOptions{Samples: 700, Seed: 3, Step: 9, Workers: w, NIS: true, MCMC: true, LocalSweeps: 1, OverlapBins: 20})
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			ref = r
			continue
		}
		if !reflect.DeepEqual(r, ref) {
			t.Errorf("workers %d: %+v\nwith 1: %+v", w, r, ref)
		}
	}
}

// TestWeightedOverlapsReweights: at N = 8 the overlap distribution
// reweighted from a poor net's samples approaches the exact P(q) under the
// Boltzmann distribution (all 2^8 × 2^8 pairs enumerated): its total
// variation distance from it is a small fraction of that of the plain
// histogram of the net's samples, which is what q alone gives.
func TestWeightedOverlapsReweights(t *testing.T) {
	m := skWithFields(t, 8, 4)
	const beta, bins = 1.5, 8
	net := poorNet(t, m, "1l", beta, 5)
	p := boltzmann(m, beta)
	exact := make([]float64, bins)
	for a, pa := range p {
		for b, pb := range p {
			d := bitsDiffer(a, b)
			exact[min((m.N-d)*bins/m.N, bins-1)] += pa * pb
		}
	}
	r, err := EstimateNet(context.Background(), net, beta, NetOptions{Samples: 5000, Seed: 2, NIS: true, OverlapBins: bins})
	if err != nil {
		t.Fatal(err)
	}
	bt := model.SampleBatch(net, 5000, 2, 0)
	plain := model.Overlaps(bt, bins, 0)
	tv := func(h []float64) float64 {
		s := 0.0
		for j, v := range h {
			s += math.Abs(v*2/bins - exact[j])
		}
		return s / 2
	}
	t.Logf("ESS/M %.3f; total variation from exact P(q): reweighted %.4f, plain %.4f", r.NIS.ESS, tv(r.Overlaps), tv(plain))
	if tv(r.Overlaps) > 0.2*tv(plain) || tv(plain) < 0.05 {
		t.Errorf("reweighted P(q) is %.4f from exact, the net's own %.4f", tv(r.Overlaps), tv(plain))
	}
}

// bitsDiffer is the number of spins in which configurations a and b
// (bit i set ⇔ x_i = +1) differ.
func bitsDiffer(a, b int) int {
	d := 0
	for x := a ^ b; x != 0; x &= x - 1 {
		d++
	}
	return d
}

// TestParetoK: the tail shape fitted to weights drawn from generalised
// Pareto distributions of known shape ξ (and from the exponential, ξ = 0,
// and the uniform, ξ = -1) is within 0.1 of ξ with M = 20,000 weights
// (a tail of 425: the estimate's standard error is about (1+ξ)/√425 ≈ 0.07
// at ξ = 0.5); equal weights and too few weights give NaN.
func TestParetoK(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	const m = 20000
	for _, xi := range []float64{-1, 0, 0.3, 0.5, 0.8, 1.2} {
		logq, energy := make([]float64, m), make([]float64, m)
		for b := range m {
			u := rng.Float64()
			x := -math.Log1p(-u) // ξ = 0
			if xi != 0 {
				x = (math.Pow(1-u, -xi) - 1) / xi
			}
			logq[b] = -math.Log(x + 1e-300) // w = x (β H = 0)
		}
		w, err := NewWeights(logq, energy, 1)
		if err != nil {
			t.Fatal(err)
		}
		k := w.ParetoK()
		t.Logf("ξ = %v: k̂ = %.3f", xi, k)
		if math.Abs(k-xi) > 0.1 {
			t.Errorf("ξ = %v: k̂ = %.3f", xi, k)
		}
	}
	equal := make([]float64, 500)
	for _, lq := range [][]float64{equal, equal[:20]} {
		w, _ := NewWeights(lq, lq, 1)
		if k := w.ParetoK(); !math.IsNaN(k) {
			t.Errorf("%d equal weights: k̂ = %v, want NaN", len(lq), k)
		}
	}
	if MaxParetoK(100) != 0.5 || MaxParetoK(20000) != 0.7 {
		t.Errorf("MaxParetoK(100) = %v, (20000) = %v", MaxParetoK(100), MaxParetoK(20000))
	}
}
