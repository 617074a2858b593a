package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// CWInf is the cw_inf architecture (SPEC §3), the N → ∞ limit of cw_n:
//
//	logit q_i = b⁰ + ω⁰ M_<i + ω¹_i sgn(M_<i),   M_<i = Σ_{s<i} x_s, sgn(0) = 0.
//
// Params() is [ω⁰, ω¹_0, ..., ω¹_{N-1}] followed by b⁰ when the model has a
// field (some h_i ≠ 0); without a field b⁰ is absent and fixed at 0, as in
// the paper's count N+1 (+1 if h ≠ 0).
//
// The architecture is defined for any model (it is then simply a small
// trainable baseline whose single bias b⁰ is shared by all spins), but the
// analytic start (ArchOptions.AnalyticInit) needs a Curie-Weiss model and
// is refused otherwise.
//
// Random start: every parameter Normal(0, (1/N)²) from ArchOptions.Seed
// (the paper's code). Analytic start at β = ArchOptions.Beta, for
// J_ij = J/N, h_i = h:
//
//	b⁰ = 2βh,   ω⁰ = 2βJ/N,   ω¹_i = 2βJ |m̃_i|,   |m̃_i| = (R/N)|m*|,   R = N-1-i.
//
// Derivation. Exactly (SPEC §2), logit q_i = 2βh + (2βJ/N) M_<i +
// ln ρ⁺_i - ln ρ⁻_i, and ρ±_i is the partition function of the R later
// spins with the extra field ±J/N from x_i, so to first order in 1/N
// ln ρ⁺_i - ln ρ⁻_i = (2βJ/N) ⟨M_>i⟩, the mean magnetisation of the later
// spins given the past. As N → ∞ those spins sit in the ordered state
// selected by the past, whose magnetisation per spin is the stable root m*
// of m = tanh(β(Jm + h)) (the past, itself at magnetisation m*, and the
// later spins together form the whole system), with the sign of M_<i:
// ⟨M_>i⟩ = R |m*| sgn(M_<i). Hence ω¹_i = 2βJ (R/N) |m*| = 2βJ|m̃_i| with
// m̃_i = ⟨M_>i⟩/N the later spins' magnetisation counted per spin of the
// whole system. It is positive for a ferromagnet (the later spins pull x_i
// toward the past's sign), falls linearly from ≈ 2βJ|m*| at i = 0 to 0 at
// i = N-1, and vanishes above the critical temperature (m* = 0). The
// SPEC's "ω¹_i = -2βJ|m̃_i|" carries a minus sign that this derivation
// does not give: for J > 0 a negative ω¹ would push each spin against the
// magnetisation of its past, and TestCWInfAnalyticFreeEnergy shows the
// sign above reaches the exact free energy within 1e-2 at N = 200, β = 1.5.
type CWInf struct {
	m        *Hamiltonian
	hasField bool
	p        []float64
}

func init() {
	registerArch("cw_inf", func(m *Hamiltonian, o ArchOptions) (Net, error) { return NewCWInf(m, o) })
}

// NewCWInf builds cw_inf for model m: random parameters from o.Seed or, with
// o.AnalyticInit, the analytic ones at o.Beta (Curie-Weiss models only).
func NewCWInf(m *Hamiltonian, o ArchOptions) (*CWInf, error) {
	if m == nil || m.N < 1 {
		return nil, fmt.Errorf("architecture cw_inf needs a model with at least one spin")
	}
	n := m.N
	c := &CWInf{m: m}
	for _, h := range m.H {
		if h != 0 {
			c.hasField = true
			break
		}
	}
	np := n + 1
	if c.hasField {
		np++
	}
	c.p = make([]float64, np)
	if !o.AnalyticInit {
		normalFill(newInitRNG(o.Seed), c.p, 1/float64(n))
		return c, nil
	}
	if m.CW == nil {
		return nil, fmt.Errorf("cw_inf: the analytic start exists only for the Curie-Weiss model (-model cw), this model is %q; start from random parameters instead", m.Kind)
	}
	if !finite(o.Beta) || o.Beta < 0 {
		return nil, fmt.Errorf("cw_inf: the analytic start needs a finite β ≥ 0, got %v", o.Beta)
	}
	beta, J, h := o.Beta, m.CW.J, m.CW.H
	mStar := math.Abs(cwMeanFieldRoot(beta, J, h))
	c.p[0] = 2 * beta * J / float64(n)
	for i := range n {
		r := n - 1 - i
		c.p[1+i] = 2 * beta * J * float64(r) / float64(n) * mStar
	}
	if c.hasField {
		c.p[n+1] = 2 * beta * h
	}
	return c, nil
}

// cwMeanFieldRoot returns the stable solution of m = tanh(β(Jm + h)), the
// N → ∞ magnetisation of the Curie-Weiss model (SPEC §1), by bisection of
// g(m) = m - tanh(β(Jm + h)), which is positive at m = 1.
//
// For J > 0 and h ≥ 0, g is convex on [0, 1] (tanh is concave for positive
// arguments) and negative just right of 0 whenever a positive root exists
// (h > 0, or h = 0 with βJ > 1), so bisection with g(0) treated as
// negative converges to the largest root, the stable one; when no
// positive root exists (h = 0, βJ ≤ 1) it converges to 0. Fields h < 0
// follow by the symmetry m → -m. For J ≤ 0, g is increasing and the root
// is unique in [-1, 1].
func cwMeanFieldRoot(beta, J, h float64) float64 {
	if h == 0 && beta*J <= 1 {
		return 0 // the only root; bisection would stop at 2⁻²⁰⁰ instead
	}
	if J > 0 && h < 0 {
		return -cwMeanFieldRoot(beta, J, -h)
	}
	lo, hi := 0.0, 1.0
	if J <= 0 {
		lo = -1
	}
	for range 200 {
		mid := (lo + hi) / 2
		if mid == lo || mid == hi {
			break
		}
		if mid-math.Tanh(beta*(J*mid+h)) < 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// Arch returns "cw_inf".
func (c *CWInf) Arch() string { return "cw_inf" }

// Size returns N.
func (c *CWInf) Size() int { return c.m.N }

// Model returns the Hamiltonian.
func (c *CWInf) Model() *Hamiltonian { return c.m }

// SetBeta does nothing: the parameters are trained (β enters through the
// loss); the analytic start is taken once, at construction.
func (c *CWInf) SetBeta(float64) {}

// Params returns [ω⁰, ω¹_0..ω¹_{N-1}] and, with a field, b⁰.
func (c *CWInf) Params() []float64 { return c.p }

// ParamCount returns N+1, plus 1 when the model has a field.
func (c *CWInf) ParamCount() int { return len(c.p) }

// NewWorker returns per-goroutine scratch.
func (c *CWInf) NewWorker() Worker {
	n := c.m.N
	return &cwInfWorker{c: c, et: newEnergyTracker(c.m), mp: make([]float64, n), dz: make([]float64, n)}
}

type cwInfWorker struct {
	c  *CWInf
	et *energyTracker
	// mp[i] = M_<i and dz[i] = ∂ ln q(x)/∂ logit_i of the last sample.
	mp, dz []float64
}

// forward runs the conditionals in order; with rng non-nil it draws x and
// tracks its energy, otherwise it reads x. It records M_<i and ∂ln q/∂z_i
// for Backward and, when q is non-nil, the probabilities q_i. It returns
// ln q(x).
func (w *cwInfWorker) forward(rng *rand.Rand, x, q []float64) float64 {
	c := w.c
	n := c.m.N
	w0, w1 := c.p[0], c.p[1:n+1]
	b0 := 0.0
	if c.hasField {
		b0 = c.p[n+1]
	}
	if rng != nil {
		w.et.reset()
	}
	M, logq := 0.0, 0.0
	for i := range x {
		z := b0 + w0*M + w1[i]*sgn(M)
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
		w.mp[i] = M
		w.dz[i] = dLogProb(x[i], z)
		M += x[i]
	}
	return logq
}

func (w *cwInfWorker) Sample(rng *rand.Rand, x []float64) (logq, energy float64) {
	logq = w.forward(rng, x, nil)
	return logq, w.et.energy()
}

func (w *cwInfWorker) LogProb(x []float64) float64 { return w.forward(nil, x, nil) }

func (w *cwInfWorker) Conditionals(x []float64, q []float64) { w.forward(nil, x, q) }

// Backward adds c·∇ln q: ∂/∂ω⁰ = Σ_i d_i M_<i, ∂/∂ω¹_i = d_i sgn(M_<i),
// ∂/∂b⁰ = Σ_i d_i, with d_i = ∂ln q/∂z_i.
func (w *cwInfWorker) Backward(cA float64, gA []float64, cC float64, gC []float64) {
	n := w.c.m.N
	s0, sb := 0.0, 0.0
	for i, d := range w.dz {
		s0 += d * w.mp[i]
		sb += d
		g := d * sgn(w.mp[i])
		gA[1+i] += cA * g
		if gC != nil {
			gC[1+i] += cC * g
		}
	}
	gA[0] += cA * s0
	if gC != nil {
		gC[0] += cC * s0
	}
	if w.c.hasField {
		gA[n+1] += cA * sb
		if gC != nil {
			gC[n+1] += cC * sb
		}
	}
}
