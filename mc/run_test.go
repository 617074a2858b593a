package mc

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"gonum.org/v1/gonum/stat/distuv"

	"github.com/h2arnn/h2arnn/model"
)

func newRun(t *testing.T, m *model.Hamiltonian, cfg RunConfig) *Run {
	t.Helper()
	r, err := NewRun(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func advanceAll(t *testing.T, r *Run, workers int) {
	t.Helper()
	if err := r.Advance(context.Background(), workers); err != nil {
		t.Fatal(err)
	}
	if !r.Done() {
		t.Fatal("Advance returned nil before the run was done")
	}
}

// TestRunSamplesBoltzmann: the kept samples of several chains, plain
// Metropolis and tempering, pass a χ² test against enumeration (N = 8 with
// fields) at the 1e-4 level, and the run's bookkeeping adds up.
func TestRunSamplesBoltzmann(t *testing.T) {
	m := skWithFields(t, 8, 21)
	for _, ladder := range [][]float64{{1.2}, {0.3, 0.7, 1.2}} {
		cfg := RunConfig{Betas: ladder, Chains: 3, Samples: 30001, Sweeps: 4, BurnIn: 30, Seed: 5}
		r := newRun(t, m, cfg)
		advanceAll(t, r, 2)
		x, rows := r.Samples()
		if rows != cfg.Samples || len(x) != rows*m.N {
			t.Fatalf("%d rows, %d spins", rows, len(x))
		}
		counts := make([]int, 1<<m.N)
		xf := make([]float64, m.N)
		for b := range rows {
			for i := range xf {
				xf[i] = float64(x[b*m.N+i])
			}
			counts[stateIndex(xf)]++
		}
		chi2, df := chiSquare(counts, boltzmann(m, ladder[len(ladder)-1]), rows)
		crit := distuv.ChiSquared{K: float64(df)}.Quantile(1 - 1e-4)
		t.Logf("ladder %v: χ² = %.1f with %d degrees of freedom (critical %.1f)", ladder, chi2, df, crit)
		if chi2 > crit {
			t.Errorf("ladder %v: χ² = %.1f > %.1f: the kept samples are not Boltzmann", ladder, chi2, crit)
		}
		p := r.Progress()
		want := int64(0)
		for c := range cfg.Chains {
			want += cfg.TotalSweeps(c)
			if got := len(r.ChainSamples(c)) / m.N; got != cfg.SamplesOf(c) {
				t.Errorf("chain %d kept %d samples, want %d", c, got, cfg.SamplesOf(c))
			}
		}
		if p.Sweeps != want || p.TotalSweeps != want {
			t.Errorf("progress %+v, want %d sweeps", p, want)
		}
		if cfg.SamplesOf(0) != 10001 || cfg.SamplesOf(2) != 10000 {
			t.Errorf("split of 30001 samples over 3 chains: %d, %d", cfg.SamplesOf(0), cfg.SamplesOf(2))
		}
		s := r.Summary()
		if len(s.Acceptance) != len(ladder) || len(s.SwapRate) != len(ladder)-1 {
			t.Fatalf("summary sizes %+v", s)
		}
		for k, a := range s.Acceptance {
			if !(a > 0 && a < 1) {
				t.Errorf("acceptance at β %v: %v", ladder[k], a)
			}
		}
		for k, a := range s.SwapRate {
			if !(a > 0 && a < 1) {
				t.Errorf("swap rate of pair %d: %v", k, a)
			}
		}
	}
}

// TestRunMeanEnergy: the pooled mean energy and |m| of a run agree with
// enumeration within 4 of their τ-corrected standard errors at several β,
// for plain Metropolis and for parallel tempering (SK N = 12, no field),
// and the chains agree with each other (R̂ < 1.05).
func TestRunMeanEnergy(t *testing.T) {
	m, err := model.SherringtonKirkpatrick(12, 1, 0, 7)
	if err != nil {
		t.Fatal(err)
	}
	betas := []float64{0.4, 1, 1.8}
	th, err := model.Enumerate(context.Background(), m, betas, 1)
	if err != nil {
		t.Fatal(err)
	}
	for k, beta := range betas {
		// <|q|> of two independent replicas, exactly: Σ P(x)P(y)|x·y|/N
		// with x·y = N - 2·popcount(x XOR y).
		p := boltzmann(m, beta)
		qExact := 0.0
		for x, px := range p {
			for y, py := range p {
				qExact += px * py * math.Abs(float64(m.N-2*bits.OnesCount(uint(x^y))))
			}
		}
		qExact /= float64(m.N)
		for _, ladder := range [][]float64{{beta}, {0.3 * beta, 0.55 * beta, 0.8 * beta, beta}} {
			r := newRun(t, m, RunConfig{Betas: ladder, Chains: 4, Samples: 20000, Sweeps: 2, BurnIn: 200, Seed: uint64(10 + k)})
			advanceAll(t, r, 0)
			s := r.Summary()
			if math.Abs(s.QAbs.Mean-qExact) > 4*s.QAbs.Err || !s.QAbs.Reliable {
				t.Errorf("β=%v, %d replicas: <|q|> = %.5f ± %.5f (τ %.2f), exact %.5f", beta, len(ladder), s.QAbs.Mean, s.QAbs.Err, s.QAbs.Tau, qExact)
			}
			t.Logf("β=%v ladder %d: e = %.5f ± %.5f (τ %.2f), exact %.5f; |m| = %.4f ± %.4f, exact %.4f; |q| = %.4f ± %.4f (τ %.2f), exact %.4f; R̂ %.4f %.4f",
				beta, len(ladder), s.E.Mean, s.E.Err, s.E.Tau, th[k].E, s.MAbs.Mean, s.MAbs.Err, th[k].MAbs, s.QAbs.Mean, s.QAbs.Err, s.QAbs.Tau, qExact, s.RHatE, s.RHatMAbs)
			if math.Abs(s.E.Mean-th[k].E) > 4*s.E.Err || !s.E.Reliable {
				t.Errorf("β=%v, %d replicas: e = %.5f ± %.5f, exact %.5f", beta, len(ladder), s.E.Mean, s.E.Err, th[k].E)
			}
			if math.Abs(s.MAbs.Mean-th[k].MAbs) > 4*s.MAbs.Err || !s.MAbs.Reliable {
				t.Errorf("β=%v, %d replicas: |m| = %.5f ± %.5f, exact %.5f", beta, len(ladder), s.MAbs.Mean, s.MAbs.Err, th[k].MAbs)
			}
			if !(s.RHatE < 1.05) || !(s.RHatMAbs < 1.05) {
				t.Errorf("β=%v: chains disagree, R̂ %v %v", beta, s.RHatE, s.RHatMAbs)
			}
		}
	}
}

// TestRunWorkersAndResume: the samples and every figure of a run are the
// same bits for any number of goroutines, and for a run interrupted at
// arbitrary sweeps, saved through JSON and resumed (several times).
func TestRunWorkersAndResume(t *testing.T) {
	m := skWithFields(t, 20, 4)
	for _, ladder := range [][]float64{{1.5}, {0.5, 1, 1.5}} {
		cfg := RunConfig{Betas: ladder, Chains: 3, Samples: 301, Sweeps: 7, BurnIn: 40, Seed: 9}
		ref := newRun(t, m, cfg)
		advanceAll(t, ref, 1)
		refX, _ := ref.Samples()
		refS := ref.Summary()
		refState, err := ref.State()
		if err != nil {
			t.Fatal(err)
		}
		for _, workers := range []int{2, 3} {
			r := newRun(t, m, cfg)
			advanceAll(t, r, workers)
			x, _ := r.Samples()
			if !slices.Equal(x, refX) || !sameSummary(r.Summary(), refS) {
				t.Errorf("ladder %v: %d workers differ from 1", ladder, workers)
			}
		}
		// Interrupt after a few hundred sweeps each time, through JSON.
		r := newRun(t, m, cfg)
		rounds := 0
		var calls atomic.Int64
		defer func() { testAfterSweep = nil }()
		for !r.Done() {
			ctx, cancel := context.WithCancel(context.Background())
			calls.Store(0)
			testAfterSweep = func() {
				if calls.Add(1) == 500 {
					cancel()
				}
			}
			err := r.Advance(ctx, 2)
			cancel()
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			st, err := r.State()
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(st)
			if err != nil {
				t.Fatal(err)
			}
			var back RunState
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if r, err = RestoreRun(m, &back); err != nil {
				t.Fatal(err)
			}
			rounds++
		}
		x, _ := r.Samples()
		if rounds < 4 {
			t.Errorf("only %d interruptions", rounds)
		}
		end, _ := r.State()
		if !slices.Equal(x, refX) || !sameSummary(r.Summary(), refS) || !sameState(end, refState) {
			t.Errorf("ladder %v: a run resumed %d times differs from an uninterrupted one", ladder, rounds)
		}
	}
}

func sameSummary(a, b Summary) bool {
	eq := func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) }
	eqs := func(x, y []float64) bool { return slices.EqualFunc(x, y, eq) }
	return a.E == b.E && a.MAbs == b.MAbs && eqs(a.ChainE, b.ChainE) && eqs(a.ChainMAbs, b.ChainMAbs) &&
		eq(a.RHatE, b.RHatE) && eq(a.RHatMAbs, b.RHatMAbs) && eqs(a.Acceptance, b.Acceptance) && eqs(a.SwapRate, b.SwapRate)
}

func sameState(a, b *RunState) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestRunRejects(t *testing.T) {
	m := skWithFields(t, 6, 1)
	good := RunConfig{Betas: []float64{0.5, 1}, Chains: 2, Samples: 10, Sweeps: 3, BurnIn: 2, Seed: 1}
	for _, mod := range []func(c *RunConfig){
		func(c *RunConfig) { c.Betas = nil },
		func(c *RunConfig) { c.Betas = []float64{1, 0.5} },
		func(c *RunConfig) { c.Betas = []float64{math.NaN()} },
		func(c *RunConfig) { c.Chains = 0 },
		func(c *RunConfig) { c.Samples = 1 },
		func(c *RunConfig) { c.Sweeps = 0 },
		func(c *RunConfig) { c.BurnIn = -1 },
	} {
		c := good
		mod(&c)
		if _, err := NewRun(m, c); err == nil {
			t.Errorf("configuration %+v accepted", c)
		}
	}
	r := newRun(t, m, good)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Advance(ctx, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Advance: %v", err)
	}
	advanceAll(t, r, 1)
	st, _ := r.State()
	if _, err := RestoreRun(m, st); err != nil {
		t.Fatalf("own state refused: %v", err)
	}
	for name, mod := range map[string]func(s *RunState){
		"other N":         func(s *RunState) { s.N++ },
		"chain missing":   func(s *RunState) { s.Chains = s.Chains[:1] },
		"too many sweeps": func(s *RunState) { s.Chains[0].Sweeps += 100 },
		"sample lost":     func(s *RunState) { s.Chains[0].Samples = s.Chains[0].Samples[1:] },
		"bad spin":        func(s *RunState) { s.Chains[1].Replicas[0].Spins[2] = 0 },
		"stray bits":      func(s *RunState) { s.Chains[1].Samples[len(s.Chains[1].Samples)-1] |= 0x80 },
		"wrong field":     func(s *RunState) { s.Chains[0].Replicas[1].Fields[0] += 0.5 },
		"wrong energy":    func(s *RunState) { s.Chains[0].Replicas[0].Energy += 0.5 },
		"replica lost":    func(s *RunState) { s.Chains[0].Replicas = s.Chains[0].Replicas[:1] },
		"bad stream":      func(s *RunState) { s.Chains[0].Replicas[0].RNG = []byte("x") },
		"bad counters":    func(s *RunState) { s.Chains[0].Replicas[0].Accepted = s.Chains[0].Replicas[0].Attempted + 1 },
		"swap counters":   func(s *RunState) { s.Chains[0].SwapTried = nil },
	} {
		c, _ := r.State()
		mod(c)
		if _, err := RestoreRun(m, c); err == nil {
			t.Errorf("%s: tampered state accepted", name)
		}
	}
}

// TestChainsMeanError: for independent AR(1) chains the pooled error
// matches the exact standard error of the mean, a single chain gives
// MeanError's figures, and chains of one value are pooled as independent.
func TestChainsMeanError(t *testing.T) {
	const phi, n, chains = 0.8, 20000, 5
	rng := rand.New(rand.NewPCG(3, 3))
	series := make([][]float64, chains)
	for c := range series {
		x := make([]float64, n)
		x[0] = rng.NormFloat64() / math.Sqrt(1-phi*phi) // stationary start
		for i := 1; i < n; i++ {
			x[i] = phi*x[i-1] + rng.NormFloat64()
		}
		series[c] = x
	}
	est := ChainsMeanError(series)
	wantTau := (1 + phi) / (2 * (1 - phi))
	wantErr := math.Sqrt(1 / (1 - phi*phi) * (1 + phi) / (1 - phi) / (n * chains))
	t.Logf("τ %.3f (exact %.3f), err %.5f (exact %.5f)", est.Tau, wantTau, est.Err, wantErr)
	if !est.Reliable || math.Abs(est.Tau-wantTau) > 0.1*wantTau || math.Abs(est.Err-wantErr) > 0.1*wantErr {
		t.Errorf("pooled estimate %+v, want τ %.3f, err %.5f", est, wantTau, wantErr)
	}
	if math.Abs(est.Mean) > 4*wantErr {
		t.Errorf("mean %v, want 0 ± %v", est.Mean, wantErr)
	}
	if a, b := ChainsMeanError(series[:1]), MeanError(series[0]); a != b {
		t.Errorf("one chain %+v, MeanError %+v", a, b)
	}
	ones := [][]float64{{1}, {3}, {2}, {6}}
	if e := ChainsMeanError(ones); e.Mean != 3 || e.Tau != 0.5 || !e.Reliable || math.Abs(e.Err-math.Sqrt((4+0+1+9)/3.0/4)) > 1e-15 {
		t.Errorf("chains of one value: %+v", e)
	}
}

func TestGelmanRubin(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	draw := func(mean float64) []float64 {
		x := make([]float64, 5000)
		for i := range x {
			x[i] = mean + rng.NormFloat64()
		}
		return x
	}
	same := GelmanRubin([][]float64{draw(0), draw(0), draw(0)})
	apart := GelmanRubin([][]float64{draw(0), draw(0), draw(2)})
	t.Logf("R̂ same %.5f, apart %.3f", same, apart)
	// For equal chains R̂ - 1 is O(1/n); two units apart in three chains
	// give R̂ ≈ √(1 + 4/3) ≈ 1.5.
	if math.Abs(same-1) > 2e-3 || math.Abs(apart-math.Sqrt(1+4.0/3)) > 0.05 {
		t.Errorf("R̂ %v (same), %v (apart)", same, apart)
	}
	if !math.IsNaN(GelmanRubin([][]float64{{1, 2}})) || !math.IsNaN(GelmanRubin([][]float64{{1, 2}, {3}})) {
		t.Error("R̂ of one chain or of a one-value chain is not NaN")
	}
	if GelmanRubin([][]float64{{1, 1}, {1, 1}}) != 1 || !math.IsInf(GelmanRubin([][]float64{{1, 1}, {2, 2}}), 1) {
		t.Error("constant chains")
	}
}

func TestGeometricLadder(t *testing.T) {
	l := GeometricLadder(0.5, 2, 5)
	want := []float64{0.5, 0.5 * math.Sqrt2, 1, 2 / math.Sqrt2, 2}
	for k := range want {
		if math.Abs(l[k]-want[k]) > 1e-15 {
			t.Fatalf("ladder %v, want %v", l, want)
		}
	}
	if l[0] != 0.5 || l[4] != 2 {
		t.Error("the ends are not exact")
	}
	for _, bad := range []func(){func() { GeometricLadder(1, 1, 3) }, func() { GeometricLadder(0, 1, 3) }, func() { GeometricLadder(0.5, 1, 1) }} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("a bad ladder did not panic")
				}
			}()
			bad()
		}()
	}
}
