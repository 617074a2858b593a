package grad

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/h2arnn/h2arnn/model"
)

func randomData(m, n int, seed uint64) []int8 {
	rng := rand.New(rand.NewPCG(seed, 3))
	d := make([]int8, m*n)
	for i := range d {
		d[i] = int8(2*rng.IntN(2) - 1)
	}
	return d
}

// exactNLLGrad is -(1/|rows|) Σ ∇ln q(x_r) and the mean NLL over the rows,
// summed plainly one row at a time.
func exactNLLGrad(net model.Net, data []int8, rows []int) ([]float64, float64) {
	n := net.Size()
	w := net.NewWorker()
	g := make([]float64, len(net.Params()))
	x := make([]float64, n)
	nll := 0.0
	for _, r := range rows {
		for i := range n {
			x[i] = float64(data[r*n+i])
		}
		nll -= w.LogProb(x)
		w.Backward(-1/float64(len(rows)), g, 0, nil)
	}
	return g, nll / float64(len(rows))
}

func closeSlices(t *testing.T, what string, got, want []float64, rel float64) {
	t.Helper()
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	if scale == 0 {
		t.Fatalf("%s: reference is all zeros, the comparison would be vacuous", what)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > rel*scale {
			t.Errorf("%s component %d: %v, want %v", what, i, got[i], want[i])
		}
	}
}

func TestLikelihoodFullData(t *testing.T) {
	m, _ := model.SherringtonKirkpatrick(9, 1, 0, 2)
	net := newLNet(m, 5, 0.4)
	const rows = 77
	data := randomData(rows, 9, 1)
	l, err := NewLikelihood(net, data, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.BatchSize() != rows {
		t.Fatalf("BatchSize %d, want all %d rows", l.BatchSize(), rows)
	}
	g := make([]float64, len(net.Params()))
	nll := l.Step(0, 0, g)
	all := make([]int, rows)
	for i := range all {
		all[i] = i
	}
	want, wantNLL := exactNLLGrad(net, data, all)
	closeSlices(t, "full-data gradient", g, want, 1e-13)
	if math.Abs(nll-wantNLL) > 1e-13*math.Abs(wantNLL) {
		t.Errorf("NLL %v, want %v", nll, wantNLL)
	}
	if !slices.Equal(l.Indices(), all) {
		t.Errorf("full data used rows %v", l.Indices())
	}
}

func TestLikelihoodMinibatch(t *testing.T) {
	m, _ := model.SherringtonKirkpatrick(7, 1, 0.3, 4)
	net := newLNet(m, 6, 0.4)
	const rows, B = 120, 45
	data := randomData(rows, 7, 2)
	p := len(net.Params())
	var ref [][]int
	var refG [][]float64
	for _, workers := range []int{1, 2, 5} {
		l, err := NewLikelihood(net, data, B, workers)
		if err != nil {
			t.Fatal(err)
		}
		for step := range 3 {
			g := make([]float64, p)
			nll := l.Step(9, uint64(step), g)
			idx := slices.Clone(l.Indices())
			if workers == 1 {
				seen := map[int]bool{}
				for _, r := range idx {
					if r < 0 || r >= rows || seen[r] {
						t.Fatalf("step %d: minibatch rows %v are not distinct rows of the data", step, idx)
					}
					seen[r] = true
				}
				want, wantNLL := exactNLLGrad(net, data, idx)
				closeSlices(t, "minibatch gradient", g, want, 1e-13)
				if math.Abs(nll-wantNLL) > 1e-13*math.Abs(wantNLL) {
					t.Errorf("NLL %v, want %v", nll, wantNLL)
				}
				ref = append(ref, idx)
				refG = append(refG, g)
				continue
			}
			if !slices.Equal(idx, ref[step]) || !slices.Equal(math64bits(g), math64bits(refG[step])) {
				t.Errorf("%d workers, step %d: minibatch or gradient differs from 1 worker", workers, step)
			}
		}
		l.Close()
	}
	if slices.Equal(ref[0], ref[1]) {
		t.Error("steps 0 and 1 drew the same minibatch")
	}
	// Every row should be drawn about equally often over many steps.
	l, _ := NewLikelihood(net, data, B, 2)
	defer l.Close()
	counts := make([]int, rows)
	g := make([]float64, p)
	const steps = 400
	for s := range steps {
		l.Step(1, uint64(s), g)
		for _, r := range l.Indices() {
			counts[r]++
		}
	}
	exp := float64(steps*B) / rows
	chi2 := 0.0
	for _, c := range counts {
		chi2 += (float64(c) - exp) * (float64(c) - exp) / exp
	}
	// Sampling without replacement shrinks the variance by (1 - B/rows), so
	// the statistic is ≈ (1-B/rows)·χ²(119): mean ≈ 74; 99.9% bounds ≈ [40, 120].
	if chi2 < 40 || chi2 > 120 {
		t.Errorf("row counts χ² = %.1f, outside [40, 120]", chi2)
	}
	allocs := testing.AllocsPerRun(10, func() { l.Step(1, 3, g) })
	if allocs != 0 {
		t.Errorf("%v allocations per minibatch step", allocs)
	}
}

func TestLikelihoodRejectsBadData(t *testing.T) {
	m, _ := model.SherringtonKirkpatrick(4, 1, 0, 1)
	net := newLNet(m, 1, 0.1)
	for _, d := range [][]int8{nil, {1, 1, 1}, {1, -1, 0, 1}, {1, 1, 1, 2}} {
		if _, err := NewLikelihood(net, d, 0, 1); err == nil {
			t.Errorf("data %v accepted", d)
		}
	}
}

// TestLikelihoodTrainingFitsData fits the 1l net to samples of a chain
// (which 1l represents exactly) and checks that the mean NLL reaches the
// entropy of the source distribution.
func TestLikelihoodTrainingFitsData(t *testing.T) {
	m := chain(6, 3)
	const beta = 1.0
	// Draw exact Boltzmann samples by enumeration + inverse CDF.
	var states [][]float64
	var cdf []float64
	lnZ := exactLnZ(m, beta)
	acc, entropy := 0.0, 0.0
	enumerate(6, func(x []float64) {
		lp := -beta*m.Energy(x) - lnZ
		acc += math.Exp(lp)
		entropy -= math.Exp(lp) * lp
		states = append(states, slices.Clone(x))
		cdf = append(cdf, acc)
	})
	rng := rand.New(rand.NewPCG(4, 4))
	const rows = 4000
	data := make([]int8, 0, rows*6)
	nllTrue := 0.0 // NLL of the data under the true Boltzmann distribution
	for range rows {
		u := rng.Float64() * acc
		k, _ := slices.BinarySearch(cdf, u)
		x := states[min(k, len(states)-1)]
		nllTrue += (beta*m.Energy(x) + lnZ) / rows
		for _, v := range x {
			data = append(data, int8(v))
		}
	}
	net := newLNet(m, 2, 0.1)
	l, err := NewLikelihood(net, data, 200, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	full, _ := NewLikelihood(net, data, 0, 2)
	defer full.Close()
	g := make([]float64, len(net.Params()))
	opt := NewAdam(len(g))
	opt.LR = 0.05
	start := full.Step(0, 0, g)
	for s := range 500 {
		l.Step(8, uint64(s), g)
		opt.Step(net.Params(), g)
	}
	// Finish on the full data with a smaller rate to converge.
	opt.LR = 0.005
	for range 500 {
		full.Step(0, 0, g)
		opt.Step(net.Params(), g)
	}
	nll := full.Step(0, 0, g)
	// The model can represent the source exactly, so the fitted NLL on the
	// training data is at most the true distribution's, and below it only by
	// overfitting, O(#params/(2·rows)) ≈ 3e-3.
	t.Logf("NLL: start %.5f, trained %.5f, true distribution %.5f, source entropy %.5f", start, nll, nllTrue, entropy)
	if nll > nllTrue+1e-4 || nll < nllTrue-0.01 {
		t.Errorf("trained NLL %.5f, true distribution's NLL on the data %.5f", nll, nllTrue)
	}
}
