package model

import (
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
	if err := checkNetModel("1l", m); err != nil {
		return nil, err
	}
	n := m.N
	l := &OneL{newTrainable(m, n*(n+1)/2, ArchOptions{Seed: o.Seed, Beta: o.Beta})}
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

// Clone returns a copy of the net with its own parameters.
func (l *OneL) Clone() Net { return &OneL{l.clone()} }

// NewWorker returns per-goroutine scratch.
func (l *OneL) NewWorker() Worker {
	n := l.m.N
	w := &oneLWorker{l: l, x: make([]float64, n), dz: make([]float64, n)}
	w.baselineWorker = baselineWorker{c: w, et: newEnergyTracker(l.m)}
	return w
}

type oneLWorker struct {
	baselineWorker
	l *OneL
	// x is the last sample and dz[i] = ∂ ln q(x)/∂ logit_i.
	x, dz []float64
}

func (w *oneLWorker) begin() {}
func (w *oneLWorker) logit(i int) float64 {
	return w.l.p[i] + h2arnn.Dot(w.l.row(w.l.p, i), w.x[:i])
}
func (w *oneLWorker) fix(i int, xi, z float64) {
	w.x[i] = xi
	w.dz[i] = dLogProb(xi, z)
}

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
