package plm

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/h2arnn/h2arnn/model"
)

// instance is SK N = n at J = 1 with random fields.
func instance(t *testing.T, n int, seed uint64) *model.Hamiltonian {
	t.Helper()
	m, err := model.SherringtonKirkpatrick(n, 1, 0, seed)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 5))
	for i := range m.H {
		m.H[i] = 0.3 * rng.NormFloat64()
	}
	return m
}

// exactSamples draws M exact Boltzmann samples with the exact h2arnn net.
func exactSamples(t *testing.T, m *model.Hamiltonian, beta float64, rows int, seed uint64) []int8 {
	t.Helper()
	net, err := model.NewNet("h2arnn", m, model.ArchOptions{Beta: beta})
	if err != nil {
		t.Fatal(err)
	}
	net.SetBeta(beta)
	return model.SampleBatch(net, rows, seed, 2).X
}

// TestGradient: the analytic gradient of ℓ_i equals central differences.
func TestGradient(t *testing.T) {
	const n = 6
	m := instance(t, n, 1)
	x, _ := toFloat(exactSamples(t, m, 1, 300, 1))
	r := newRegression(x, n, Config{Lambda: 0.05})
	rng := rand.New(rand.NewPCG(2, 2))
	for i := range n {
		r.spin = i
		for k := range r.lastX {
			r.lastX[k] = math.NaN()
		}
		w := make([]float64, n)
		for k := range w {
			w[k] = rng.NormFloat64()
		}
		r.eval(w)
		g := slices.Clone(r.g)
		for k := range w {
			w0 := w[k]
			const h = 1e-5
			w[k] = w0 + h
			fp := r.eval(w)
			w[k] = w0 - h
			fm := r.eval(w)
			w[k] = w0
			fd := (fp - fm) / (2 * h)
			if math.Abs(g[k]-fd) > 1e-8 {
				t.Errorf("spin %d component %d: gradient %.12g, difference %.12g", i, k, g[k], fd)
			}
		}
	}
}

// TestRecoversCouplings: from 50,000 exact samples of SK N = 8 with
// fields at β = 1, PLM (λ = 1e-4) recovers J and h to an RMS error below
// 0.015 (the estimator's statistical error, which falls as 1/√M: measured
// 0.020 and 0.018 from 10,000 samples, 0.0068 and 0.0070 from 100,000;
// J itself has standard deviation 1/√8 ≈ 0.35), and 10 times more data
// gives a smaller error.
func TestRecoversCouplings(t *testing.T) {
	const n, beta = 8, 1.0
	m := instance(t, n, 3)
	data := exactSamples(t, m, beta, 50000, 2)
	errsJ := map[int]float64{}
	for _, rows := range []int{5000, 50000} {
		res, err := Fit(context.Background(), data[:rows*n], n, Config{Lambda: 1e-4, Beta: beta, Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		rmsJ, rmsH := 0.0, 0.0
		for i := range n {
			for j := i + 1; j < n; j++ {
				d := res.J[i*n+j] - m.Coupling(i, j)
				rmsJ += d * d
			}
			rmsH += (res.H[i] - m.H[i]) * (res.H[i] - m.H[i])
			if !res.Converged[i] || res.Iterations[i] == 0 {
				t.Errorf("spin %d: converged %v after %d iterations", i, res.Converged[i], res.Iterations[i])
			}
			if res.J[i*n+i] != 0 {
				t.Errorf("J_%d%d = %v", i, i, res.J[i*n+i])
			}
		}
		rmsJ = math.Sqrt(rmsJ / (n * (n - 1) / 2))
		rmsH = math.Sqrt(rmsH / n)
		errsJ[rows] = rmsJ
		t.Logf("M = %d: RMS error J %.4f, h %.4f", rows, rmsJ, rmsH)
		if rows == 50000 && (rmsJ > 0.015 || rmsH > 0.015) {
			t.Errorf("M = %d: RMS error J %.4f, h %.4f; want < 0.015", rows, rmsJ, rmsH)
		}
	}
	if !(errsJ[50000] < errsJ[5000]) {
		t.Errorf("10× more data did not reduce the error: %v", errsJ)
	}
}

// TestWorkersAndBeta: the result is the same bits for any number of
// workers; β only rescales the reported couplings; the fitted couplings
// predict held-out spins better than zero couplings, and on the fitted
// data (λ = 0) at least as well as the true ones.
func TestWorkersAndBeta(t *testing.T) {
	const n = 7
	m := instance(t, n, 4)
	data := exactSamples(t, m, 1.5, 6000, 3)
	train, held := data[:5000*n], data[5000*n:]
	ref, err := Fit(context.Background(), train, n, Config{Beta: 1.5, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []int{2, 5} {
		res, err := Fit(context.Background(), train, n, Config{Beta: 1.5, Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(bits(res.J), bits(ref.J)) || !slices.Equal(bits(res.H), bits(ref.H)) {
			t.Errorf("%d workers differ from 1", w)
		}
	}
	unit, _ := Fit(context.Background(), train, n, Config{Workers: 2})
	for k := range unit.J {
		if math.Abs(unit.J[k]-1.5*ref.J[k]) > 1e-12 {
			t.Fatalf("J at β = 1 is not 1.5 × J at β = 1.5: %v vs %v", unit.J[k], ref.J[k])
		}
	}
	zero := make([]float64, n*n)
	fitHeld := PseudoNLL(ref.J, ref.H, 1.5, held, n)
	zeroHeld := PseudoNLL(zero, ref.H, 1.5, held, n)
	fitTrain := PseudoNLL(ref.J, ref.H, 1.5, train, n)
	trueTrain := PseudoNLL(m.J, m.H, 1.5, train, n)
	t.Logf("pseudo-NLL per spin: held out %.5f (zero couplings %.5f); training %.5f (true model %.5f)", fitHeld, zeroHeld, fitTrain, trueTrain)
	if !(fitHeld < zeroHeld-0.05) || !(fitTrain <= trueTrain+1e-3) {
		t.Error("the fitted couplings do not predict the spins")
	}
}

func bits(v []float64) []uint64 {
	out := make([]uint64, len(v))
	for k, x := range v {
		out[k] = math.Float64bits(x)
	}
	return out
}

func TestRejects(t *testing.T) {
	ok := []int8{1, -1, 1, 1, -1, -1}
	for _, c := range []struct {
		data []int8
		n    int
		cfg  Config
	}{
		{nil, 3, Config{}},
		{ok, 1, Config{}},
		{ok, 4, Config{}},
		{[]int8{1, 0, 1, 1, -1, -1}, 3, Config{}},
		{ok, 3, Config{Lambda: -1}},
		{ok, 3, Config{Lambda: math.NaN()}},
		{ok, 3, Config{Beta: -1}},
	} {
		if _, err := Fit(context.Background(), c.data, c.n, c.cfg); err == nil {
			t.Errorf("%v n=%d %+v accepted", c.data, c.n, c.cfg)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Fit(ctx, ok, 3, Config{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}
