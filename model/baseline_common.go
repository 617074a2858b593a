package model

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/h2arnn/h2arnn/internal/fmath"
)

// Shared pieces of the trainable baseline architectures cw_inf, 1p, 1l and
// made: parameter initialisation, the derivative of ln Q(x_i | x_<i) with
// respect to the logit, and energy bookkeeping during ancestral sampling.

// initStream is the second PCG word of every initialisation stream, so that
// ArchOptions.Seed alone fixes the initial parameters of an architecture.
const initStream = 0x1217a3f5c0de0001

// newInitRNG returns the random stream that initialises parameters for seed.
func newInitRNG(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, initStream))
}

// dLogProb returns ∂/∂z ln Q(x | z) for a spin x = ±1 with logit z:
// σ(-z) = 1-σ(z) for x = +1 and -σ(z) for x = -1, each evaluated without
// cancellation.
func dLogProb(x, z float64) float64 {
	if x > 0 {
		return fmath.Sigmoid(-z)
	}
	return -fmath.Sigmoid(z)
}

// sgn is the sign function with sgn(0) = 0 (SPEC §3).
func sgn(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// energyTracker accumulates H(x) while the spins of one sample are fixed in
// order 0..N-1. For Curie-Weiss models it needs only the magnetisation, O(1)
// per spin; for any other model it keeps the recurrent past field of SPEC
// §2, one AXPY of length N-1-i per spin.
type energyTracker struct {
	cw *CWParams
	n  int
	M  float64
	pf *pastField
}

func newEnergyTracker(m *Hamiltonian) *energyTracker {
	if m.CW != nil {
		return &energyTracker{cw: m.CW, n: m.N}
	}
	return &energyTracker{n: m.N, pf: newPastField(m)}
}

// reset starts a new sample.
func (e *energyTracker) reset() {
	e.M = 0
	if e.pf != nil {
		e.pf.reset()
	}
}

// push fixes spin i to xi.
func (e *energyTracker) push(i int, xi float64) {
	e.M += xi
	if e.pf != nil {
		e.pf.push(i, xi)
	}
}

// energy returns H(x) once all N spins have been pushed.
func (e *energyTracker) energy() float64 {
	if e.pf != nil {
		return e.pf.energy
	}
	return cwEnergy(*e.cw, e.n, e.M)
}

// uniformFill sets every entry of p to a value drawn uniformly from
// [-bound, bound).
func uniformFill(rng *rand.Rand, p []float64, bound float64) {
	for k := range p {
		p[k] = bound * (2*rng.Float64() - 1)
	}
}

// normalFill sets every entry of p to a Normal(0, std²) draw.
func normalFill(rng *rand.Rand, p []float64, std float64) {
	for k := range p {
		p[k] = std * rng.NormFloat64()
	}
}

// maskedInitBounds returns the uniform bounds of a masked dense layer's
// weights and biases: PyTorch's default Linear initialisation
// U(±1/√fanIn) for both, with the weights scaled by
// √(#entries / #unmasked entries) so that the masked layer keeps the
// output variance of the dense one (SPEC §3). A layer without unmasked
// entries keeps the unscaled bound.
func maskedInitBounds(fanIn, fanOut, unmasked int) (wBound, bBound float64) {
	bBound = 1 / math.Sqrt(float64(fanIn))
	wBound = bBound
	if unmasked > 0 {
		wBound *= math.Sqrt(float64(fanIn) * float64(fanOut) / float64(unmasked))
	}
	return wBound, bBound
}

// trainable is what every trainable baseline (cw_inf, 1p, 1l, made) holds in
// common — its model, its flat parameter slice, the options it was built
// with and the last β it was told — and the Net methods that only read
// them. β enters these nets through the training loss alone, so SetBeta
// only records it; ParamCount is the number of trainable parameters.
type trainable struct {
	m    *Hamiltonian
	p    []float64
	opts ArchOptions
	beta float64
}

// newTrainable returns the common part of a baseline with np parameters,
// built with options opts (only those that define the net; see Save).
func newTrainable(m *Hamiltonian, np int, opts ArchOptions) trainable {
	return trainable{m: m, p: make([]float64, np), opts: opts, beta: opts.Beta}
}

// Size returns N.
func (t *trainable) Size() int { return t.m.N }

// Model returns the Hamiltonian the net approximates.
func (t *trainable) Model() *Hamiltonian { return t.m }

// SetBeta records β (Beta returns it, Save stores it) and changes nothing
// else: β enters only through the training loss (cw_inf's analytic start is
// taken once, at construction).
func (t *trainable) SetBeta(beta float64) { t.beta = beta }

// Beta returns the β of the last SetBeta, or ArchOptions.Beta before any.
func (t *trainable) Beta() float64 { return t.beta }

// Params returns the flat trainable parameters (the layout is each net's).
func (t *trainable) Params() []float64 { return t.p }

// ParamCount returns len(Params()).
func (t *trainable) ParamCount() int { return len(t.p) }

func (t *trainable) options() ArchOptions { return t.opts }

// clone returns a copy with its own parameters.
func (t *trainable) clone() trainable {
	c := *t
	c.p = slices.Clone(t.p)
	return c
}

// conditionals is what a baseline's worker computes spin by spin; the
// shared loop of baselineWorker does the rest (drawing or reading each spin,
// ln q, the conditionals and the energy).
type conditionals interface {
	// begin starts a new configuration.
	begin()
	// logit returns the logit of Q(x_i = +1 | x_<i), given the spins passed
	// to fix since begin.
	logit(i int) float64
	// fix records spin i's value xi, and its logit z, for the next logits
	// and for Backward.
	fix(i int, xi, z float64)
}

// baselineWorker implements Sample, LogProb and Conditionals of a Worker on
// top of a conditionals (the worker that embeds it).
type baselineWorker struct {
	c  conditionals
	et *energyTracker
}

// forward runs the conditionals in order. With rng non-nil it draws x and
// tracks its energy, otherwise it reads x; with q non-nil it sets q_i. It
// returns ln q(x).
func (w *baselineWorker) forward(rng *rand.Rand, x, q []float64) float64 {
	w.c.begin()
	if rng != nil {
		w.et.reset()
	}
	logq := 0.0
	for i := range x {
		z := w.c.logit(i)
		if q != nil {
			q[i] = fmath.Sigmoid(z)
		}
		if rng != nil {
			xi, lp := drawSpin(rng, z)
			x[i] = xi
			logq += lp
			w.et.push(i, xi)
		} else {
			logq += logProbOf(x[i], z)
		}
		w.c.fix(i, x[i], z)
	}
	return logq
}

// Sample implements Worker.
func (w *baselineWorker) Sample(rng *rand.Rand, x []float64) (logq, energy float64) {
	logq = w.forward(rng, x, nil)
	return logq, w.et.energy()
}

// LogProb implements Worker.
func (w *baselineWorker) LogProb(x []float64) float64 { return w.forward(nil, x, nil) }

// Conditionals implements Worker.
func (w *baselineWorker) Conditionals(x []float64, q []float64) { w.forward(nil, x, q) }
