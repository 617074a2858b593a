package model

import (
	"slices"

	"github.com/h2arnn/h2arnn"
)

// CWN is the cw_n architecture (SPEC §3): the exact autoregressive form of
// the Curie-Weiss Boltzmann distribution at finite N. Every conditional
// depends on the past only through M_<i = Σ_{s<i} x_s:
//
//	logit q_i = 2βh + (2βJ/N) M_<i + LSE_k(b⁺_ik + ω_ik M_<i) - LSE_k(b⁻_ik + ω_ik M_<i)
//
// with, for the R = N-1-i later spins and k = 0..R spins of them down,
//
//	b±_ik = ln C(R,k) + (βJ/(2N)) (R-2k)² + (R-2k)(βh ± βJ/N),   ω_ik = (βJ/N)(R-2k).
//
// The parameters are fixed analytically by SetBeta; nothing is trained.
// Samples satisfy ln q(x) + βH(x) = -ln Z exactly (to rounding).
type CWN struct {
	m    *Hamiltonian
	p    CWParams
	beta float64
	// bp, bm, w hold b⁺, b⁻ and ω of all conditionals back to back;
	// conditional i occupies [off[i], off[i]+R+1).
	bp, bm, w []float64
	off       []int
}

func init() {
	registerArch("cw_n", func(m *Hamiltonian, o ArchOptions) (Net, error) { return NewCWN(m, o.Beta) })
}

// NewCWN builds cw_n for a Curie-Weiss model at inverse temperature beta.
func NewCWN(m *Hamiltonian, beta float64) (*CWN, error) {
	if m.CW == nil {
		return nil, argErr("cw_n", "Model", m.Kind, "the architecture is exact only for the Curie-Weiss model")
	}
	n := m.N
	c := &CWN{m: m, p: *m.CW, off: make([]int, n)}
	total := 0
	for i := range n {
		c.off[i] = total
		total += n - i // R+1 = N-i terms
	}
	c.bp = make([]float64, total)
	c.bm = make([]float64, total)
	c.w = make([]float64, total)
	c.SetBeta(beta)
	return c, nil
}

// Arch returns "cw_n".
func (c *CWN) Arch() string { return "cw_n" }

// Size returns N.
func (c *CWN) Size() int { return c.m.N }

// Model returns the Curie-Weiss Hamiltonian.
func (c *CWN) Model() *Hamiltonian { return c.m }

// Params returns nil: cw_n has no trainable parameters.
func (c *CWN) Params() []float64 { return nil }

// ParamCount counts the numbers of the paper's Figure 2A network: for each
// conditional a weight and a bias per LSE input on both branches
// (4(R+1)), plus the shared skip weight and bias: 2N(N+1) + 2.
func (c *CWN) ParamCount() int { n := c.m.N; return 2*n*(n+1) + 2 }

// SetBeta recomputes every parameter for inverse temperature beta.
func (c *CWN) SetBeta(beta float64) {
	c.beta = beta
	n := c.m.N
	bj := beta * c.p.J / float64(n)
	bh := beta * c.p.H
	for i := range n {
		r := n - 1 - i
		o := c.off[i]
		for k := 0; k <= r; k++ {
			mm := float64(r - 2*k)
			base := lnBinom(r, k) + bj/2*mm*mm
			c.bp[o+k] = base + mm*(bh+bj)
			c.bm[o+k] = base + mm*(bh-bj)
			c.w[o+k] = bj * mm
		}
	}
}

// Beta returns the inverse temperature the parameters are set for.
func (c *CWN) Beta() float64 { return c.beta }

func (c *CWN) options() ArchOptions { return ArchOptions{Beta: c.beta} }

// Clone returns a copy of the net with its own parameters (SetBeta on one
// does not change the other).
func (c *CWN) Clone() Net {
	d := *c
	d.bp, d.bm, d.w = slices.Clone(c.bp), slices.Clone(c.bm), slices.Clone(c.w)
	return &d
}

// NewWorker returns per-goroutine scratch.
func (c *CWN) NewWorker() Worker {
	w := &cwnWorker{c: c}
	w.baselineWorker = baselineWorker{c: w, et: newEnergyTracker(c.m)}
	return w
}

type cwnWorker struct {
	baselineWorker
	c *CWN
	M float64 // M_<i during a pass
}

func (w *cwnWorker) begin()                   { w.M = 0 }
func (w *cwnWorker) fix(i int, xi, z float64) { w.M += xi }

// logit returns logit q_i given the past magnetisation M_<i.
func (w *cwnWorker) logit(i int) float64 {
	c := w.c
	n := c.m.N
	o, e := c.off[i], c.off[i]+n-i
	return 2*c.beta*(c.p.H+c.p.J/float64(n)*w.M) +
		h2arnn.LogSumExpAffine(c.bp[o:e], c.w[o:e], w.M) -
		h2arnn.LogSumExpAffine(c.bm[o:e], c.w[o:e], w.M)
}

// cwEnergy is H(x) of the Curie-Weiss model from the magnetisation M.
func cwEnergy(p CWParams, n int, M float64) float64 {
	return -p.J/float64(n)*(M*M-float64(n))/2 - p.H*M
}

// Backward does nothing: cw_n has no trainable parameters.
func (w *cwnWorker) Backward(float64, []float64, float64, []float64) {}
