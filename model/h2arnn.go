package model

import (
	"math"
	"math/bits"
	"math/rand/v2"

	"github.com/h2arnn/h2arnn/internal/fmath"
)

// MaxExactNet is the largest N the exact h2arnn network accepts: its second
// layer has 2^(N-1-i) units per conditional, so memory and time per sample
// grow as 2^N.
const MaxExactNet = 24

// ExactNet is the h2arnn network of SPEC §2: the exact autoregressive form of
// the Boltzmann distribution of any pairwise model,
//
//	logit q_i = 2β(h_i + F_i) + ln ρ⁺_i - ln ρ⁻_i,    F_l = Σ_{s<i} J_sl x_s,
//	ρ±_i = Σ_c exp( β Σ_{l>i} (±J_il + F_l) x^c_l + β E^c_i ),
//	E^c_i = Σ_{l>i} h_l x^c_l + Σ_{i<l<l'} J_ll' x^c_l x^c_l',
//
// where c runs over the 2^R configurations of the R = N-1-i later spins.
// E^c_i is precomputed for each conditional in Gray-code order; for a
// sample, the linear term is then updated in O(1) per configuration as the
// Gray code flips one later spin at a time.
type ExactNet struct {
	m    *Hamiltonian
	beta float64
	// inner[i][t] is E^c_i for the t-th configuration of the Gray code over
	// the later spins of conditional i (bit b of the code set ⇔ x_{i+1+b} = -1).
	inner [][]float64
}

func init() {
	registerArch("h2arnn", func(m *Hamiltonian, o ArchOptions) (Net, error) { return NewExactNet(m, o.Beta) })
}

// NewExactNet builds the exact network for m (N ≤ MaxExactNet).
func NewExactNet(m *Hamiltonian, beta float64) (*ExactNet, error) {
	if m.N > MaxExactNet {
		return nil, argErr("h2arnn", "N", m.N, "the exact net is exponentially wide and limited to N ≤ %d (MaxExactNet); use a smaller model or a polynomial architecture (cw_n, sk_krsb, ...)", MaxExactNet)
	}
	e := &ExactNet{m: m, beta: beta, inner: make([][]float64, m.N)}
	n := m.N
	local := make([]float64, n) // h_l + Σ_{l' later} J_ll' x_l' for the current configuration
	x := make([]float64, n)
	for i := range n {
		r := n - 1 - i
		tab := make([]float64, 1<<r)
		// Start from all later spins +1.
		en := 0.0
		for l := i + 1; l < n; l++ {
			x[l] = 1
		}
		for l := i + 1; l < n; l++ {
			s := m.H[l]
			for lp := i + 1; lp < n; lp++ {
				s += m.J[l*n+lp] * x[lp]
			}
			local[l] = s
			en += m.H[l] * x[l]
			for lp := l + 1; lp < n; lp++ {
				en += m.J[l*n+lp] * x[l] * x[lp]
			}
		}
		tab[0] = en
		for t := 1; t < len(tab); t++ {
			l := i + 1 + bits.TrailingZeros(uint(t))
			// Flipping x_l changes E by -2 x_l (h_l + Σ_{l'≠l} J_ll' x_l').
			en -= 2 * x[l] * local[l]
			x[l] = -x[l]
			row := m.J[l*n : (l+1)*n]
			for lp := i + 1; lp < n; lp++ {
				local[lp] += 2 * row[lp] * x[l]
			}
			tab[t] = en
		}
		e.inner[i] = tab
	}
	return e, nil
}

// Arch returns "h2arnn".
func (e *ExactNet) Arch() string { return "h2arnn" }

// Size returns N.
func (e *ExactNet) Size() int { return e.m.N }

// Model returns the Hamiltonian.
func (e *ExactNet) Model() *Hamiltonian { return e.m }

// SetBeta sets the inverse temperature (the tables do not depend on it).
func (e *ExactNet) SetBeta(beta float64) { e.beta = beta }

// Beta returns the inverse temperature the net is set for.
func (e *ExactNet) Beta() float64 { return e.beta }

func (e *ExactNet) options() ArchOptions { return ArchOptions{Beta: e.beta} }

// Clone returns a copy of the net (SetBeta on one does not change the other;
// the β-independent tables are shared, read-only).
func (e *ExactNet) Clone() Net {
	c := *e
	return &c
}

// Params returns nil: the exact network has no trainable parameters.
func (e *ExactNet) Params() []float64 { return nil }

// ParamCount counts, per conditional, the 2^R·R second-layer weights and
// 2·2^R biases of both ρ branches plus the skip weight and bias, and the
// first layer's N(N-1)/2 couplings and N fields.
func (e *ExactNet) ParamCount() int {
	n := e.m.N
	c := n*(n-1)/2 + n
	for i := range n {
		r := n - 1 - i
		c += (1<<r)*(r+2) + 2
	}
	return c
}

// NewWorker returns per-goroutine scratch.
func (e *ExactNet) NewWorker() Worker {
	return &exactWorker{e: e, pf: newPastField(e.m), xc: make([]float64, e.m.N)}
}

type exactWorker struct {
	e  *ExactNet
	pf *pastField
	xc []float64 // the later configuration being enumerated
}

// logit returns the exact logit of conditional i given the past fields pf.F.
func (w *exactWorker) logit(i int) float64 {
	e, m := w.e, w.e.m
	n, beta := m.N, w.e.beta
	F := w.pf.F
	row := m.J[i*n : (i+1)*n]
	// Linear terms Σ_l (F_l ± J_il) x_l for all later spins up.
	sp, sm := 0.0, 0.0
	for l := i + 1; l < n; l++ {
		w.xc[l] = 1
		sp += F[l] + row[l]
		sm += F[l] - row[l]
	}
	tab := e.inner[i]
	// Online log-sum-exp of a_t = β(s±_t + E_t) for both branches.
	mp, mm := math.Inf(-1), math.Inf(-1)
	zp, zm := 0.0, 0.0
	for t := range tab {
		if t > 0 {
			l := i + 1 + bits.TrailingZeros(uint(t))
			x := w.xc[l]
			sp -= 2 * x * (F[l] + row[l])
			sm -= 2 * x * (F[l] - row[l])
			w.xc[l] = -x
		}
		ap, am := beta*(sp+tab[t]), beta*(sm+tab[t])
		if ap > mp {
			zp = zp*math.Exp(mp-ap) + 1
			mp = ap
		} else {
			zp += math.Exp(ap - mp)
		}
		if am > mm {
			zm = zm*math.Exp(mm-am) + 1
			mm = am
		} else {
			zm += math.Exp(am - mm)
		}
	}
	return 2*beta*w.pf.local(i) + (mp + math.Log(zp)) - (mm + math.Log(zm))
}

func (w *exactWorker) Sample(rng *rand.Rand, x []float64) (logq, energy float64) {
	w.pf.reset()
	for i := range x {
		xi, lp := drawSpin(rng, w.logit(i))
		x[i] = xi
		logq += lp
		w.pf.push(i, xi)
	}
	return logq, w.pf.energy
}

func (w *exactWorker) LogProb(x []float64) float64 {
	w.pf.reset()
	logq := 0.0
	for i, xi := range x {
		logq += logProbOf(xi, w.logit(i))
		w.pf.push(i, xi)
	}
	return logq
}

func (w *exactWorker) Conditionals(x []float64, q []float64) {
	w.pf.reset()
	for i, xi := range x {
		q[i] = fmath.Sigmoid(w.logit(i))
		w.pf.push(i, xi)
	}
}

// Backward does nothing: the exact network has no trainable parameters.
func (w *exactWorker) Backward(float64, []float64, float64, []float64) {}
