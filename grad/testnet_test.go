package grad

import (
	"math"
	"math/rand/v2"

	"github.com/h2arnn/h2arnn/model"
)

// lnet is a test network of the 1l kind: logit_i = b_i + Σ_{s<i} W_is x_s.
// Parameters: b_0..b_{N-1}, then the rows of W below the diagonal
// (W_is at N + i(i-1)/2 + s). It is written independently of package model
// so that grad's tests do not depend on the production architectures.
type lnet struct {
	m *model.Hamiltonian
	n int
	p []float64
}

func newLNet(m *model.Hamiltonian, seed uint64, scale float64) *lnet {
	n := m.N
	l := &lnet{m: m, n: n, p: make([]float64, n+n*(n-1)/2)}
	rng := rand.New(rand.NewPCG(seed, 99))
	for i := range l.p {
		l.p[i] = scale * rng.NormFloat64()
	}
	return l
}

func (l *lnet) Arch() string              { return "test1l" }
func (l *lnet) Size() int                 { return l.n }
func (l *lnet) Model() *model.Hamiltonian { return l.m }
func (l *lnet) SetBeta(float64)           {}
func (l *lnet) Beta() float64             { return 0 }
func (l *lnet) Clone() model.Net          { return l.clone() }
func (l *lnet) Params() []float64         { return l.p }
func (l *lnet) ParamCount() int           { return len(l.p) }
func (l *lnet) NewWorker() model.Worker {
	return &lworker{l: l, x: make([]float64, l.n), z: make([]float64, l.n)}
}
func (l *lnet) off(i int) int          { return l.n + i*(i-1)/2 }
func (l *lnet) clone() *lnet           { c := *l; c.p = append([]float64(nil), l.p...); return &c }
func testSigmoid(z float64) float64    { return 1 / (1 + math.Exp(-z)) }
func testLogSigmoid(z float64) float64 { return math.Min(z, 0) - math.Log1p(math.Exp(-math.Abs(z))) }
func (w *lworker) logit(i int) float64 {
	return w.l.p[i] + dotPrefix(w.l.p[w.l.off(i):w.l.off(i)+i], w.x)
}
func dotPrefix(a, x []float64) (s float64) {
	for k, v := range a {
		s += v * x[k]
	}
	return
}

type lworker struct {
	l    *lnet
	x, z []float64
}

func (w *lworker) Sample(rng *rand.Rand, x []float64) (logq, energy float64) {
	for i := range w.l.n {
		z := w.logit(i)
		w.z[i] = z
		if rng.Float64() < testSigmoid(z) {
			w.x[i] = 1
			logq += testLogSigmoid(z)
		} else {
			w.x[i] = -1
			logq += testLogSigmoid(-z)
		}
	}
	copy(x, w.x)
	return logq, w.l.m.Energy(x)
}

func (w *lworker) LogProb(x []float64) (logq float64) {
	copy(w.x, x)
	for i := range w.l.n {
		z := w.logit(i)
		w.z[i] = z
		logq += testLogSigmoid(z * w.x[i])
	}
	return logq
}

func (w *lworker) Conditionals(x []float64, q []float64) {
	w.LogProb(x)
	for i, z := range w.z {
		q[i] = testSigmoid(z)
	}
}

func (w *lworker) Backward(cA float64, gA []float64, cC float64, gC []float64) {
	for i := range w.l.n {
		// d ln σ(x z)/dz = x σ(-x z)
		d := w.x[i] * testSigmoid(-w.x[i]*w.z[i])
		o := w.l.off(i)
		gA[i] += cA * d
		for s := range i {
			gA[o+s] += cA * d * w.x[s]
		}
		if gC != nil {
			gC[i] += cC * d
			for s := range i {
				gC[o+s] += cC * d * w.x[s]
			}
		}
	}
}

// enumerate calls fn for every configuration of n spins.
func enumerate(n int, fn func(x []float64)) {
	x := make([]float64, n)
	for c := 0; c < 1<<n; c++ {
		for i := range n {
			x[i] = float64(2*((c>>i)&1) - 1)
		}
		fn(x)
	}
}

// exactLnZ is ln Σ_x exp(-βH(x)) by enumeration.
func exactLnZ(m *model.Hamiltonian, beta float64) float64 {
	var terms []float64
	enumerate(m.N, func(x []float64) { terms = append(terms, -beta*m.Energy(x)) })
	mx := math.Inf(-1)
	for _, t := range terms {
		mx = math.Max(mx, t)
	}
	s := 0.0
	for _, t := range terms {
		s += math.Exp(t - mx)
	}
	return mx + math.Log(s)
}

// exactVariational returns βF[q] = Σ q (ln q + βH) and its exact gradient
// Σ q (ln q + βH) ∇ln q by enumerating every state.
func exactVariational(net model.Net, beta float64) (float64, []float64) {
	w := net.NewWorker()
	p := len(net.Params())
	g := make([]float64, p)
	gl := make([]float64, p)
	bf := 0.0
	enumerate(net.Size(), func(x []float64) {
		lq := w.LogProb(x)
		q := math.Exp(lq)
		l := lq + beta*net.Model().Energy(x)
		bf += q * l
		clear(gl)
		w.Backward(1, gl, 0, nil)
		for i := range g {
			g[i] += q * l * gl[i]
		}
	})
	return bf, g
}

// chain returns an open chain of n spins with couplings J_{i,i+1} of random
// sign and size in [0.5, 1.5] and fields in [-0.3, 0.3]. Its Boltzmann
// distribution is a Markov chain in index order, so P(x_i | x_<i) is a
// logistic function of x_{i-1}: the 1l test net can represent it exactly.
func chain(n int, seed uint64) *model.Hamiltonian {
	rng := rand.New(rand.NewPCG(seed, 7))
	m := model.NewHamiltonian(n)
	for i := 0; i+1 < n; i++ {
		v := 0.5 + rng.Float64()
		if rng.IntN(2) == 0 {
			v = -v
		}
		m.SetCoupling(i, i+1, v)
	}
	for i := range n {
		m.H[i] = 0.6*rng.Float64() - 0.3
	}
	m.Kind = "file"
	return m
}
