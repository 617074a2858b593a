package model

import (
	"math"
	"slices"

	"github.com/h2arnn/h2arnn/internal/fmath"
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
// (the paper's code).
//
// Analytic start at β = ArchOptions.Beta, for J_ij = J/N, h_i = h, with m*
// the stable root of m = tanh(β(Jm + h)) and R = N-1-i. Exactly (SPEC §2),
// logit q_i = 2βh + (2βJ/N) M_<i + ln ρ⁺_i - ln ρ⁻_i, where ρ±_i is the
// partition function of the R later spins with the extra field ±J/N from
// x_i, so to first order in 1/N ln ρ⁺_i - ln ρ⁻_i = (2βJ/N) ⟨M_>i⟩, the
// mean magnetisation of the later spins given the past. As N → ∞ the later
// spins sit in an ordered state of magnetisation ±|m*| per spin (the past
// and the future together form the whole system). Which state depends on
// whether the field has already selected one:
//
//	(A) no field, or one too weak to select a state: the later spins follow
//	    the past's sign, ⟨M_>i⟩ = R|m*| sgn(M_<i), giving
//	    b⁰ = 2βh,  ω⁰ = 2βJ/N,  ω¹_i = +2βJ (R/N)|m*|.
//	    ω¹ pulls x_i toward the past's sign, falls linearly to 0 at
//	    i = N-1, and vanishes in the paramagnet (m* = 0); at i = 0 the
//	    logit is 2βh, exact by symmetry when h = 0.
//	(B) a field that selects the state of sign sgn(h): ⟨M_>i⟩ = R m* for
//	    any past. The needed per-conditional bias 2βJ(R/N)m* cannot be
//	    stored (b⁰ is shared), but on the pasts that carry the weight
//	    (sgn(M_<i) = sgn(h), and i = 0) it is reproduced by
//	    b⁰ = 2β(h + J m*),  ω⁰ = 2βJ/N,  ω¹_i = -2βJ ((i+1)/N)|m*|,
//	    since then b⁰ + ω¹_i sgn(h) = 2βh + 2βJ m* (N-1-i)/N, and at i = 0
//	    the logit 2β(h + J m*) = 2 artanh(m*) is the mean-field one.
//
// (B) has the minus sign of the SPEC's "ω¹_i = -2βJ|m̃_i|" (with
// |m̃_i| = (i+1)|m*|/N, the past's magnetisation per spin of the system),
// but only because its b⁰ carries 2βJm*; with the SPEC's b⁰ = 2βh at h = 0
// that minus sign would push every spin against its past (TestCWInfAnalyticFreeEnergy measures it 0.28 relative off at
// N = 200, β = 1.5, against 1.7e-4 for (A)). Which of (A) and (B) is better
// at finite N depends on βN|h m*| (the log-odds of the two states is
// 2βN h m*), so NewCWInf computes the exact variational free energy of
// both (VariationalFreeEnergy, O(N²)) and keeps the lower; without a field
// only (A) is considered.
type CWInf struct {
	trainable
	hasField bool
}

func init() {
	registerArch("cw_inf", func(m *Hamiltonian, o ArchOptions) (Net, error) { return NewCWInf(m, o) })
}

// NewCWInf builds cw_inf for model m: random parameters from o.Seed or, with
// o.AnalyticInit, the analytic ones at o.Beta (Curie-Weiss models only).
func NewCWInf(m *Hamiltonian, o ArchOptions) (*CWInf, error) {
	if err := checkNetModel("cw_inf", m); err != nil {
		return nil, err
	}
	n := m.N
	hasField := slices.ContainsFunc(m.H, func(h float64) bool { return h != 0 })
	np := n + 1
	if hasField {
		np++
	}
	opts := ArchOptions{Seed: o.Seed, AnalyticInit: o.AnalyticInit, Beta: o.Beta}
	c := &CWInf{trainable: newTrainable(m, np, opts), hasField: hasField}
	if !o.AnalyticInit {
		normalFill(newInitRNG(o.Seed), c.p, 1/float64(n))
		return c, nil
	}
	if m.CW == nil {
		return nil, argErr("cw_inf", "Model", m.Kind, "the analytic start exists only for the Curie-Weiss model; start from random parameters instead")
	}
	if err := checkBeta("cw_inf", o.Beta); err != nil {
		return nil, err
	}
	beta, J, h := o.Beta, m.CW.J, m.CW.H
	mStar := math.Abs(CWMeanFieldM(*m.CW, beta))
	c.p[0] = 2 * beta * J / float64(n)
	setA := func() {
		for i := range n {
			c.p[1+i] = 2 * beta * J * float64(n-1-i) / float64(n) * mStar
		}
		if c.hasField {
			c.p[n+1] = 2 * beta * h
		}
	}
	setA()
	if c.hasField && mStar > 0 {
		fA, _ := c.VariationalFreeEnergy(beta)
		for i := range n {
			c.p[1+i] = -2 * beta * J * float64(i+1) / float64(n) * mStar
		}
		c.p[n+1] = 2 * beta * (h + J*math.Copysign(mStar, h))
		if fB, _ := c.VariationalFreeEnergy(beta); !(fB < fA) {
			setA()
		}
	}
	return c, nil
}

// VariationalFreeEnergy returns, for a Curie-Weiss model, the exact
// variational free energy per spin of the current parameters,
// F[q]/N = Σ_x q(x)(H(x) + ln q(x)/β)/N (SPEC §4), in the model's energy
// units: q depends on the past only through M_<i, so a dynamic program
// carries the distribution of the number of up spins through the N steps
// in O(N²) time and O(N) memory. It returns an error for other models
// (their H is not a function of M alone) and for β ≤ 0.
func (c *CWInf) VariationalFreeEnergy(beta float64) (float64, error) {
	if c.m.CW == nil {
		return 0, argErr("VariationalFreeEnergy", "Model", c.m.Kind, "the exact variational free energy of cw_inf needs a Curie-Weiss model")
	}
	if !(beta > 0) || !fmath.Finite(beta) {
		return 0, &ArgError{Func: "VariationalFreeEnergy", Arg: "Beta", Value: beta, Reason: "the free energy needs a finite inverse temperature > 0", Err: ErrInvalidBeta}
	}
	n := c.m.N
	w0, w1 := c.p[0], c.p[1:n+1]
	b0 := 0.0
	if c.hasField {
		b0 = c.p[n+1]
	}
	// prob[k] = probability that k of the first i spins are up.
	prob := make([]float64, n+1)
	next := make([]float64, n+1)
	prob[0] = 1
	lnq := 0.0 // Σ_i E[ln Q(x_i | x_<i)]
	for i := range n {
		clear(next[:i+2])
		for k := 0; k <= i; k++ {
			pk := prob[k]
			if pk == 0 {
				continue
			}
			M := float64(2*k - i)
			z := b0 + w0*M + w1[i]*sgn(M)
			up, down := fmath.Sigmoid(z), fmath.Sigmoid(-z)
			lnq += pk * (up*fmath.LogSigmoid(z) + down*fmath.LogSigmoid(-z))
			next[k+1] += pk * up
			next[k] += pk * down
		}
		prob, next = next, prob
	}
	energy := 0.0
	for k, pk := range prob {
		energy += pk * cwEnergy(*c.m.CW, n, float64(2*k-n))
	}
	return (energy + lnq/beta) / float64(n), nil
}

// Arch returns "cw_inf".
func (c *CWInf) Arch() string { return "cw_inf" }

// Clone returns a copy of the net with its own parameters.
func (c *CWInf) Clone() Net { return &CWInf{trainable: c.clone(), hasField: c.hasField} }

// NewWorker returns per-goroutine scratch.
func (c *CWInf) NewWorker() Worker {
	n := c.m.N
	w := &cwInfWorker{c: c, mp: make([]float64, n), dz: make([]float64, n)}
	w.baselineWorker = baselineWorker{c: w, et: newEnergyTracker(c.m)}
	return w
}

type cwInfWorker struct {
	baselineWorker
	c *CWInf
	// M = M_<i during a pass; mp[i] = M_<i and dz[i] = ∂ ln q(x)/∂ logit_i
	// of the last sample.
	M      float64
	mp, dz []float64
}

func (w *cwInfWorker) begin() { w.M = 0 }

func (w *cwInfWorker) logit(i int) float64 {
	c := w.c
	b0 := 0.0
	if c.hasField {
		b0 = c.p[c.m.N+1]
	}
	return b0 + c.p[0]*w.M + c.p[1+i]*sgn(w.M)
}

func (w *cwInfWorker) fix(i int, xi, z float64) {
	w.mp[i] = w.M
	w.dz[i] = dLogProb(xi, z)
	w.M += xi
}

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
