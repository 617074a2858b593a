package model

import (
	"fmt"
	"math/rand/v2"
)

// OneP is the 1p architecture (SPEC §3): one weight per conditional acting
// on the magnetisation of the past,
//
//	logit q_i = w_i M_<i,   M_<i = Σ_{s<i} x_s,
//
// so q_0 = 1/2. Params() is [w_0, ..., w_{N-1}]. Initial weights are
// Normal(0, (1/N)²) from ArchOptions.Seed, like cw_inf's.
type OneP struct {
	trainable
}

func init() {
	registerArch("1p", func(m *Hamiltonian, o ArchOptions) (Net, error) { return NewOneP(m, o) })
}

// NewOneP builds 1p for model m with weights drawn from o.Seed.
func NewOneP(m *Hamiltonian, o ArchOptions) (*OneP, error) {
	if m == nil || m.N < 1 {
		return nil, fmt.Errorf("architecture 1p needs a model with at least one spin")
	}
	p := &OneP{trainable{m: m, p: make([]float64, m.N)}}
	normalFill(newInitRNG(o.Seed), p.p, 1/float64(m.N))
	return p, nil
}

// Arch returns "1p".
func (p *OneP) Arch() string { return "1p" }

// NewWorker returns per-goroutine scratch.
func (p *OneP) NewWorker() Worker {
	n := p.m.N
	return &onePWorker{p: p, et: newEnergyTracker(p.m), mp: make([]float64, n), dz: make([]float64, n)}
}

type onePWorker struct {
	p  *OneP
	et *energyTracker
	// mp[i] = M_<i and dz[i] = ∂ ln q(x)/∂ logit_i of the last sample.
	mp, dz []float64
}

// forward runs the conditionals in order; with rng non-nil it draws x and
// tracks its energy, otherwise it reads x. It records M_<i and ∂ln q/∂z_i for Backward and,
// when q is non-nil, the probabilities q_i. It returns ln q(x).
func (w *onePWorker) forward(rng *rand.Rand, x, q []float64) float64 {
	wt := w.p.p
	M, logq := 0.0, 0.0
	if rng != nil {
		w.et.reset()
	}
	for i := range x {
		z := wt[i] * M
		if q != nil {
			q[i] = sigmoid(z)
		}
		if rng != nil {
			xi, lp := drawSpin(rng, z)
			x[i] = xi
			logq += lp
		} else {
			logq += logProbOf(x[i], z)
		}
		w.mp[i] = M
		w.dz[i] = dLogProb(x[i], z)
		if rng != nil {
			w.et.push(i, x[i])
		}
		M += x[i]
	}
	return logq
}

func (w *onePWorker) Sample(rng *rand.Rand, x []float64) (logq, energy float64) {
	logq = w.forward(rng, x, nil)
	return logq, w.et.energy()
}

func (w *onePWorker) LogProb(x []float64) float64 { return w.forward(nil, x, nil) }

func (w *onePWorker) Conditionals(x []float64, q []float64) { w.forward(nil, x, q) }

// Backward adds c·∂ln q/∂w_i = c·(∂ln q/∂z_i)·M_<i for both accumulators.
func (w *onePWorker) Backward(cA float64, gA []float64, cC float64, gC []float64) {
	for i, d := range w.dz {
		g := d * w.mp[i]
		gA[i] += cA * g
		if gC != nil {
			gC[i] += cC * g
		}
	}
}
