package model

import (
	"fmt"
	"math/rand/v2"

	"github.com/h2arnn/h2arnn"
)

// OneL is the 1l architecture (SPEC §3): one masked dense layer,
//
//	logit q_i = b_i + Σ_{s<i} W_is x_s,
//
// i.e. MADE of depth 1. Params() is the N biases b_0..b_{N-1} followed by
// the strictly lower-triangular W row by row: W_is (s < i) sits at
// N + i(i-1)/2 + s. ParamCount is N(N+1)/2.
//
// Initialisation is MADE's (SPEC §3): PyTorch's default dense-layer bounds
// U(±1/√N) for b, and for W the same bound scaled by
// √(#entries / #unmasked) = √(2N/(N-1)).
type OneL struct {
	trainable
}

func init() {
	registerArch("1l", func(m *Hamiltonian, o ArchOptions) (Net, error) { return NewOneL(m, o) })
}

// NewOneL builds 1l for model m with parameters drawn from o.Seed.
func NewOneL(m *Hamiltonian, o ArchOptions) (*OneL, error) {
	if m == nil || m.N < 1 {
		return nil, fmt.Errorf("architecture 1l needs a model with at least one spin")
	}
	n := m.N
	l := &OneL{trainable{m: m, p: make([]float64, n*(n+1)/2)}}
	wb, bb := maskedInitBounds(n, n, n*(n-1)/2)
	rng := newInitRNG(o.Seed)
	uniformFill(rng, l.p[:n], bb)
	uniformFill(rng, l.p[n:], wb)
	return l, nil
}

// row returns W_i,0..W_i,i-1 within a parameter-shaped slice p.
func (l *OneL) row(p []float64, i int) []float64 {
	o := l.m.N + i*(i-1)/2
	return p[o : o+i]
}

// Arch returns "1l".
func (l *OneL) Arch() string { return "1l" }

// NewWorker returns per-goroutine scratch.
func (l *OneL) NewWorker() Worker {
	n := l.m.N
	return &oneLWorker{l: l, et: newEnergyTracker(l.m), x: make([]float64, n), dz: make([]float64, n)}
}

type oneLWorker struct {
	l  *OneL
	et *energyTracker
	// x is the last sample and dz[i] = ∂ ln q(x)/∂ logit_i.
	x, dz []float64
}

// forward runs the conditionals in order; with rng non-nil it draws x and
// tracks its energy, otherwise it reads x. It keeps x and ∂ln q/∂z_i for
// Backward and, when q is non-nil, sets the probabilities q_i. It returns
// ln q(x).
func (w *oneLWorker) forward(rng *rand.Rand, x, q []float64) float64 {
	l := w.l
	if rng != nil {
		w.et.reset()
	}
	logq := 0.0
	for i := range x {
		z := l.p[i] + h2arnn.Dot(l.row(l.p, i), w.x[:i])
		if q != nil {
			q[i] = sigmoid(z)
		}
		if rng != nil {
			xi, lp := drawSpin(rng, z)
			x[i] = xi
			logq += lp
			w.et.push(i, xi)
		} else {
			logq += logProbOf(x[i], z)
		}
		w.x[i] = x[i]
		w.dz[i] = dLogProb(x[i], z)
	}
	return logq
}

func (w *oneLWorker) Sample(rng *rand.Rand, x []float64) (logq, energy float64) {
	logq = w.forward(rng, x, nil)
	return logq, w.et.energy()
}

func (w *oneLWorker) LogProb(x []float64) float64 { return w.forward(nil, x, nil) }

func (w *oneLWorker) Conditionals(x []float64, q []float64) { w.forward(nil, x, q) }

// Backward adds c·∇ln q: ∂/∂b_i = d_i and ∂/∂W_is = d_i x_s, with
// d_i = ∂ln q/∂z_i.
func (w *oneLWorker) Backward(cA float64, gA []float64, cC float64, gC []float64) {
	l := w.l
	for i, d := range w.dz {
		gA[i] += cA * d
		h2arnn.Axpy(cA*d, w.x[:i], l.row(gA, i))
		if gC != nil {
			gC[i] += cC * d
			h2arnn.Axpy(cC*d, w.x[:i], l.row(gC, i))
		}
	}
}
