package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/h2arnn/h2arnn"
	"github.com/h2arnn/h2arnn/internal/fmath"
)

// SK is the sk_rs / sk_krsb architecture of SPEC §3: for conditional i,
// with R = N-1-i later spins and the past field F_i[l] = Σ_{s<i} W_sl x_s,
//
//	logit q_i = w⁰_i (h_i + F_i[i]) + b⁰_i + Σ_{±} chain±_i(F_i[i+1:N]),
//
// where each chain± is a sum over the later spins l of k+1 nested
// log-sigmoids with per-spin scalar weights and biases, evaluated by the
// kernel h2arnn.ChainForward (its doc comment gives the exact formula and
// the row layout). W, h are the first layer: the model's couplings and
// fields (fixed, the default) or trainable parameters (learning from data,
// SPEC §5).
//
// Parameter layout of Params(): for i = 0..N-1, contiguous blocks
//
//	[w⁰_i, b⁰_i, w ((k+2)·2R), b ((k+1)·2R)]
//
// where the + and - chains are one row of 2R chains in the layout of
// h2arnn.ChainForward over the input (F_i[i+1:N], F_i[i+1:N]): w[j*2R+l'] is
// w_j of the + chain of later spin i+1+l' and w[j*2R+R+l'] that of its -
// chain (the same for b). Both signs in one row halve the kernel calls
// and row tails per conditional. Then, only with a trainable first layer, the
// N(N-1)/2 couplings W_sl, s < l, row-major upper triangle (row s holds
// l = s+1..N-1 contiguously), then the N fields h.
//
// ParamCount = len(Params()) = (2k+3)·N(N-1) + 2N, plus N(N-1)/2 + N with a
// trainable first layer. The fixed first layer (the model's J and h) is not
// counted. SPEC §3's table gives ≈ 2(2k+3)·N²/2 = (2k+3)N², the leading term
// of the same count.
//
// Initialisation (as the paper's public code, torch.randn/N): every trainable
// number is Normal(mean 0, standard deviation 1/N), drawn in Params() order
// from math/rand/v2 PCG(o.Seed, skInitStream); a trainable first layer
// starts with W_sl ~ Normal(0, std o.FirstLayerStd, default 1/N) (same
// stream, continuing) and h = 0.
type SK struct {
	m     *Hamiltonian
	k     int
	train bool
	p     []float64
	opts  ArchOptions
	beta  float64
	// condOff[i] is the offset of conditional i's block in p; condOff[N] is
	// where the first layer starts (= len(p) when it is fixed).
	condOff []int
}

// skMaxFloats bounds the float64s one SK and one worker may need (16 GB).
const skMaxFloats = 2 << 30

// skInitStream is the second PCG word of the sk_krsb initialisation stream.
const skInitStream = 0x5c0ffee15eed0005

func init() {
	registerArch("sk_rs", func(m *Hamiltonian, o ArchOptions) (Net, error) {
		o.K = 0
		return NewSK(m, o)
	})
	registerArch("sk_krsb", func(m *Hamiltonian, o ArchOptions) (Net, error) { return NewSK(m, o) })
	for k := 1; k <= 3; k++ {
		registerArch(fmt.Sprintf("sk_%drsb", k), func(m *Hamiltonian, o ArchOptions) (Net, error) {
			o.K = k
			return NewSK(m, o)
		})
	}
}

// NewSK builds sk_krsb with k = o.K ≥ 0 steps of replica-symmetry breaking
// for model m, with a trainable first layer when o.TrainFirstLayer, and
// parameters initialised from o.Seed (see SK).
func NewSK(m *Hamiltonian, o ArchOptions) (*SK, error) {
	if err := checkNetModel("sk_krsb", m); err != nil {
		return nil, err
	}
	if o.K < 0 {
		return nil, argErr("sk_krsb", "K", o.K, "the number of RSB steps must be 0 (sk_rs) or more")
	}
	n, k := m.N, o.K
	// Parameters plus one worker's activations are ≈ (2k+3)N² + 2(k+1)N²
	// floats; refuse sizes that cannot be allocated rather than panic.
	if need := (4*float64(k) + 5) * float64(n) * float64(n); need > skMaxFloats {
		return nil, argErr("sk_krsb", "N", n, "with K = %d the net needs about %.3g GB per worker; use a smaller N or K", k, need*8/1e9)
	}
	s := &SK{m: m, k: k, train: o.TrainFirstLayer, condOff: make([]int, n+1), beta: o.Beta,
		opts: ArchOptions{K: k, TrainFirstLayer: o.TrainFirstLayer, FirstLayerStd: o.FirstLayerStd, Seed: o.Seed, Beta: o.Beta}}
	off := 0
	for i := range n {
		s.condOff[i] = off
		off += 2 + 2*(2*k+3)*(n-1-i)
	}
	s.condOff[n] = off
	if s.train {
		off += n*(n-1)/2 + n
	}
	s.p = make([]float64, off)
	if !(o.FirstLayerStd >= 0) || math.IsInf(o.FirstLayerStd, 0) {
		return nil, argErr("sk_krsb", "FirstLayerStd", o.FirstLayerStd, "the initial first-layer scale must be finite and ≥ 0")
	}
	rng := rand.New(rand.NewPCG(o.Seed, skInitStream))
	std := 1 / float64(n)
	wStd := std
	if o.FirstLayerStd > 0 {
		wStd = o.FirstLayerStd
	}
	end := s.condOff[n] + n*(n-1)/2 // h of a trainable first layer stays 0
	for j := 0; j < end && j < len(s.p); j++ {
		if j == s.condOff[n] {
			std = wStd
		}
		s.p[j] = std * rng.NormFloat64()
	}
	return s, nil
}

// K returns the number of RSB steps k (0 for sk_rs).
func (s *SK) K() int { return s.k }

// TrainsFirstLayer reports whether the first layer (W, h) is trainable.
func (s *SK) TrainsFirstLayer() bool { return s.train }

// Arch returns "sk_rs" for k = 0 and "sk_<k>rsb" otherwise.
func (s *SK) Arch() string {
	if s.k == 0 {
		return "sk_rs"
	}
	return fmt.Sprintf("sk_%drsb", s.k)
}

// Size returns N.
func (s *SK) Size() int { return s.m.N }

// Model returns the Hamiltonian.
func (s *SK) Model() *Hamiltonian { return s.m }

// SetBeta records β (Beta returns it, Save stores it) and changes nothing
// else: β enters sk_krsb only through the training loss (the 2β of the
// exact form is learned by w⁰_i).
func (s *SK) SetBeta(beta float64) { s.beta = beta }

// Beta returns the β of the last SetBeta, or ArchOptions.Beta before any.
func (s *SK) Beta() float64 { return s.beta }

func (s *SK) options() ArchOptions { return s.opts }

// Clone returns a copy of the net with its own parameters.
func (s *SK) Clone() Net {
	c := *s
	c.p = slices.Clone(s.p)
	return &c
}

// Params returns the flat trainable parameters in the layout documented on SK.
func (s *SK) Params() []float64 { return s.p }

// ParamCount returns len(Params()); see SK for the formula.
func (s *SK) ParamCount() int { return len(s.p) }

// Conditional returns views into p (a Params()-shaped slice: the parameters
// or a gradient) of conditional i's numbers: w⁰_i and b⁰_i as the
// one-element slices w0 and b0, and the chain rows w, b of both signs (see
// SK) in the layout of h2arnn.ChainForward with 2R = 2(N-1-i) chains.
func (s *SK) Conditional(p []float64, i int) (w0, b0, w, b []float64) {
	o := s.condOff[i]
	r2 := 2 * (s.m.N - 1 - i)
	nw := (s.k + 2) * r2
	w0 = p[o : o+1]
	b0 = p[o+1 : o+2]
	w = p[o+2 : o+2+nw]
	b = p[o+2+nw : o+2+nw+(s.k+1)*r2]
	return
}

// couplingRow returns, within a Params()-shaped slice p, the trainable
// couplings W_{s,s+1..N-1} (length N-1-s). Only with a trainable first layer.
func (s *SK) couplingRow(p []float64, r int) []float64 {
	n := s.m.N
	o := s.condOff[n] + r*(n-1) - r*(r-1)/2
	return p[o : o+n-1-r]
}

// fields returns the trainable fields h within a Params()-shaped slice p.
// Only with a trainable first layer.
func (s *SK) fields(p []float64) []float64 {
	n := s.m.N
	o := s.condOff[n] + n*(n-1)/2
	return p[o : o+n]
}

// FirstLayer returns copies of the first layer in use: W (N×N row-major,
// symmetric, zero diagonal) and the fields h. With a fixed first layer
// these are the model's J and h; with a trainable one, the current
// parameters (SPEC §5 compares |W| with |J|).
func (s *SK) FirstLayer() (W, h []float64) {
	n := s.m.N
	if !s.train {
		return append([]float64(nil), s.m.J...), append([]float64(nil), s.m.H...)
	}
	W = make([]float64, n*n)
	for r := range n {
		for j, v := range s.couplingRow(s.p, r) {
			l := r + 1 + j
			W[r*n+l] = v
			W[l*n+r] = v
		}
	}
	return W, append([]float64(nil), s.fields(s.p)...)
}

// NewWorker returns per-goroutine scratch for one sample (one skLane: the
// past field, the logit derivatives and, once a forward pass keeps them for
// Backward, the activations of KeptBytes). The worker is also a
// BlockWorker; lanes for further samples of a block are allocated on first
// use.
func (s *SK) NewWorker() Worker {
	n, k := s.m.N, s.k
	r := max(n-1, 0)
	w := &skWorker{s: s, row: make([]float64, 4*(k+1)*r), frow: make([]float64, 2*r)}
	if s.train {
		w.dfrow = make([]float64, 2*r)
	}
	w.lanes = []*skLane{w.newLane()}
	return w
}

// skMaxBlock is the number of samples a block holds. Eight samples share
// each conditional's parameter and gradient rows while they are in L1/L2;
// a lane without kept activations is only a few N-long vectors.
const skMaxBlock = 8

// BlockSize returns skMaxBlock. Lanes are allocated on first use; a lane
// used with keep also holds one sample's activations (see KeptBytes).
func (w *skWorker) BlockSize() int { return skMaxBlock }

// KeptBytes implements BlockWorker: a lane's chain activations,
// 4(k+1)·N(N-1)/2 float64s (1.9 MB for k = 2, N = 200), and with a trainable
// first layer its chain inputs, N(N-1) float64s more.
func (w *skWorker) KeptBytes() int {
	n, k := w.s.m.N, w.s.k
	per := 4 * (k + 1)
	if w.s.train {
		per += 2
	}
	return 8 * per * (n * (n - 1) / 2)
}

func (w *skWorker) newLane() *skLane {
	s := w.s
	n := s.m.N
	l := &skLane{
		pf:    newPastField(s.m),
		delta: make([]float64, n),
		xin:   make([]float64, n),
		x:     make([]float64, n),
	}
	if s.train {
		l.F = make([]float64, n)
		l.acc = make([]float64, n)
	} else {
		l.F = l.pf.F
	}
	return l
}

// skWorker evaluates an SK on one sample (lane 0) or on a block of samples
// in lockstep (one lane each).
type skWorker struct {
	s     *SK
	lanes []*skLane
	// row and frow hold one conditional's activations and chain input when
	// a forward pass keeps nothing for Backward (pure sampling); dfrow is
	// the chains' input gradient in backChains (trainable first layer).
	row, frow, dfrow []float64
	// blockLen is the number of lanes the last ForwardBlock with keep filled.
	blockLen int
	// c1 holds Backward's two coefficients as slices for backward.
	c1 [2]float64
}

// skLane is the state of one sample: its past fields, and what Backward
// needs of its forward pass.
type skLane struct {
	// pf is the model's past field (energy during sampling). With a fixed
	// first layer F aliases pf.F; with a trainable one F is the net's own
	// past field Σ_{s<i} W_sl x_s built from the parameters.
	pf *pastField
	F  []float64
	// fin holds, for conditional i at offset 2·triOff(i), the chain input
	// (F_i[i+1:N], F_i[i+1:N]) as it was when conditional i was evaluated;
	// only with a trainable first layer (with a fixed one the backward pass
	// rebuilds it, see backward).
	fin []float64
	// act holds, for conditional i at 4(k+1)·triOff(i), the ChainForward
	// activations of the + chains then the - chains (2(k+1)R each).
	act []float64
	// delta[i] = ∂ ln q/∂z_i, xin[i] = h_i + F_i[i] (the skip input), x the
	// sample.
	delta, xin, x []float64
	// acc is Backward's scratch for the first-layer gradient.
	acc []float64
	// logq accumulates ln q(x) during the forward pass.
	logq float64
}

// triOff returns Σ_{i'<i} (N-1-i'), the offset of conditional i's rows of
// length R = N-1-i in a concatenation over conditionals.
func (w *skWorker) triOff(i int) int {
	return i*(w.s.m.N-1) - i*(i-1)/2
}

// begin resets lane l for a new forward pass.
func (w *skWorker) begin(l *skLane) {
	l.pf.reset()
	if w.s.train {
		clear(l.F)
	}
	l.logq = 0
}

// cond evaluates conditional i on lane l. With rng non-nil it draws x[i]
// (and tracks the model energy), otherwise it reads x[i]. When keep is
// set it stores what Backward needs; otherwise the activations go to the
// worker's row scratch. When q is non-nil it sets q[i] = σ(z_i).
func (w *skWorker) cond(l *skLane, i int, rng *rand.Rand, x, q []float64, keep bool) {
	f, a := w.rowBuffers(l, i, keep)
	w.setSpin(l, i, w.logit(l, i, f, a), rng, x, q)
	w.advance(l, i, rng != nil)
}

// rowBuffers returns the chain input and the activation space of
// conditional i on lane l: with keep, the lane's stored activations
// (allocated on first use) and, with a trainable first layer, stored chain
// input; otherwise the worker's row scratch. The input is the past field on
// the later spins twice, once for the + and once for the - chains.
func (w *skWorker) rowBuffers(l *skLane, i int, keep bool) (f, a []float64) {
	n, k := w.s.m.N, w.s.k
	r := n - 1 - i
	f, a = w.frow[:2*r], w.row[:4*(k+1)*r]
	if keep {
		tri := n * (n - 1) / 2
		if l.act == nil {
			l.act = make([]float64, 4*(k+1)*tri)
		}
		to := w.triOff(i)
		a = l.act[4*(k+1)*to : 4*(k+1)*(to+r)]
		if w.s.train {
			if l.fin == nil {
				l.fin = make([]float64, 2*tri)
			}
			f = l.fin[2*to : 2*(to+r)]
		}
	}
	w.chainInput(l, i, f)
	return f, a
}

// chainInput writes conditional i's chain input (F[i+1:N], F[i+1:N]) of
// lane l into f.
func (w *skWorker) chainInput(l *skLane, i int, f []float64) {
	r := len(f) / 2
	copy(f, l.F[i+1:])
	copy(f[r:], l.F[i+1:])
}

// logit returns z_i of lane l from the chain input f, writing the chains'
// activations into a.
func (w *skWorker) logit(l *skLane, i int, f, a []float64) float64 {
	s := w.s
	w0, b0, wc, bc := s.Conditional(s.p, i)
	h := s.m.H
	if s.train {
		h = s.fields(s.p)
	}
	xin := h[i] + l.F[i]
	l.xin[i] = xin
	return w0[0]*xin + b0[0] + h2arnn.ChainForward(s.k, f, wc, bc, a)
}

// setSpin draws (rng non-nil) or reads x[i] given the logit z, adds its
// log-probability to the lane and keeps δ_i = ∂ln q/∂z_i.
func (w *skWorker) setSpin(l *skLane, i int, z float64, rng *rand.Rand, x, q []float64) {
	// one exponential for the draw, ln Q and δ (the bits of drawSpin,
	// logProbOf and sigmoid)
	e, sp, sm := fmath.Sigmoids(z)
	if q != nil {
		q[i] = sp
	}
	var xi, lp float64
	if rng != nil {
		xi, lp = drawFrom(rng, z, e, sp)
		x[i] = xi
	} else {
		xi = x[i]
		lp = math.Min(xi*z, 0) - math.Log1p(e)
	}
	l.logq += lp
	l.x[i] = xi
	if xi > 0 {
		l.delta[i] = sm
	} else {
		l.delta[i] = -sp
	}
}

// advance adds spin i to the lane's past fields (and, when drawing or with
// a fixed first layer, to the model energy).
func (w *skWorker) advance(l *skLane, i int, drawing bool) {
	s := w.s
	xi := l.x[i]
	if !s.train {
		l.pf.push(i, xi) // also advances F, which aliases pf.F
		return
	}
	if r := s.m.N - 1 - i; r > 0 {
		h2arnn.Axpy(xi, s.couplingRow(s.p, i), l.F[i+1:])
	}
	if drawing {
		l.pf.push(i, xi)
	}
}

// forward runs every conditional of lane 0 in order (see cond), keeping
// the activations for Backward, and returns ln q(x).
func (w *skWorker) forward(rng *rand.Rand, x, q []float64) float64 {
	l := w.lanes[0]
	w.begin(l)
	for i := range w.s.m.N {
		w.cond(l, i, rng, x, q, true)
	}
	return l.logq
}

// Sample draws x by ancestral sampling and returns ln q(x) and the model
// energy H(x), the latter accumulated from the model's past field.
func (w *skWorker) Sample(rng *rand.Rand, x []float64) (logq, energy float64) {
	logq = w.forward(rng, x, nil)
	return logq, w.lanes[0].pf.energy
}

// LogProb returns ln q(x) and keeps the activations for Backward.
func (w *skWorker) LogProb(x []float64) float64 { return w.forward(nil, x, nil) }

// Conditionals sets q[i] = Q(x_i = +1 | x_<i) and keeps the activations
// for Backward.
func (w *skWorker) Conditionals(x []float64, q []float64) { w.forward(nil, x, q) }

// beginBlock returns the first m lanes, allocating missing ones, each reset
// for a new forward pass.
func (w *skWorker) beginBlock(m int) []*skLane {
	for len(w.lanes) < m {
		w.lanes = append(w.lanes, w.newLane())
	}
	lanes := w.lanes[:m]
	for _, l := range lanes {
		w.begin(l)
	}
	return lanes
}

// ForwardBlock implements BlockWorker: the samples advance conditional by
// conditional together, so each conditional's parameters are read once per
// block; each sample's arithmetic is exactly that of Sample or LogProb.
func (w *skWorker) ForwardBlock(rngs []*rand.Rand, xs [][]float64, logq, energy []float64, keep bool) {
	m := len(xs)
	lanes := w.beginBlock(m)
	for i := range w.s.m.N {
		for j, l := range lanes {
			var rng *rand.Rand
			if rngs != nil {
				rng = rngs[j]
			}
			w.cond(l, i, rng, xs[j], nil, keep)
		}
	}
	for j, l := range lanes {
		logq[j] = l.logq
		if energy != nil {
			energy[j] = l.pf.energy
		}
	}
	w.blockLen = 0
	if keep {
		w.blockLen = m
	}
}

// GradBlock implements GradWorker: conditional by conditional, each lane
// evaluates the conditional into the worker's row scratch and adds its
// gradient at once (backChains), in lane order. With a trainable first layer
// the coupling gradient needs every conditional of a sample (see
// backChains), so it runs ForwardBlock with keep and BackwardBlock instead.
func (w *skWorker) GradBlock(xs [][]float64, c, g, logq []float64) {
	if w.s.train {
		w.ForwardBlock(nil, xs, logq, nil, true)
		w.BackwardBlock(c, g, nil, nil)
		return
	}
	m := len(xs)
	lanes := w.beginBlock(m)
	for i := range w.s.m.N {
		for j, l := range lanes {
			f, a := w.rowBuffers(l, i, false)
			w.setSpin(l, i, w.logit(l, i, f, a), nil, xs[j], nil)
			w.backChains(l, i, f, a, c[j], g, 0, nil)
			w.advance(l, i, false)
		}
	}
	for j, l := range lanes {
		logq[j] = l.logq
	}
	w.blockLen = 0
}

// Backward adds cA·∇ln q(x) into gA and, when gC is non-nil, cC·∇ln q(x)
// into gC, for the x of the last Sample, LogProb or Conditionals call (see
// backChains for the formulas).
func (w *skWorker) Backward(cA float64, gA []float64, cC float64, gC []float64) {
	w.c1[0], w.c1[1] = cA, cC
	w.backward(w.lanes[:1], w.c1[:1], gA, w.c1[1:], gC)
}

// BackwardBlock implements BlockWorker: conditional by conditional, each
// sample of the last ForwardBlock with keep adds its gradient rows in
// sample order, so every parameter's sum is formed in the same order as
// calling Backward after each sample, while the gradient rows stay in
// cache.
func (w *skWorker) BackwardBlock(cA []float64, gA []float64, cC []float64, gC []float64) {
	w.backward(w.lanes[:w.blockLen], cA, gA, cC, gC)
}

// backward adds Σ_j cA[j]·∇ln q(x_j) into gA (and Σ_j cC[j]·∇ln q(x_j)
// into gC when non-nil) for the samples of lanes, from their kept
// activations, conditional by conditional and lane by lane within each
// conditional, so that every parameter's sums are formed in lane order.
//
// With a fixed first layer every parameter belongs to one conditional, so
// the conditionals are visited in forward order and each one's chain input
// is rebuilt from the sample: the past field is pushed again spin by spin
// in the order of the forward pass, which gives it the bits the forward
// pass saw, at the cost of one row of J per conditional instead of storing
// 2R floats. A trainable first layer needs the conditionals in reverse
// order (see backChains) and reads the stored inputs.
func (w *skWorker) backward(lanes []*skLane, cA, gA, cC, gC []float64) {
	n, k := w.s.m.N, w.s.k
	coefC := func(j int) float64 {
		if gC == nil {
			return 0
		}
		return cC[j]
	}
	if w.s.train {
		for _, l := range lanes {
			clear(l.acc)
		}
		for i := n - 1; i >= 0; i-- {
			r, to := n-1-i, w.triOff(i)
			for j, l := range lanes {
				w.backChains(l, i, l.fin[2*to:2*(to+r)], l.act[4*(k+1)*to:4*(k+1)*(to+r)], cA[j], gA, coefC(j), gC)
			}
		}
		return
	}
	for _, l := range lanes {
		l.pf.reset()
	}
	for i := range n {
		r, to := n-1-i, w.triOff(i)
		f := w.frow[:2*r]
		for j, l := range lanes {
			w.chainInput(l, i, f)
			w.backChains(l, i, f, l.act[4*(k+1)*to:4*(k+1)*(to+r)], cA[j], gA, coefC(j), gC)
			l.pf.push(i, l.x[i])
		}
	}
}

// backChains adds conditional i's share of cA·∇ln q(x) into gA (and
// cC·∇ln q(x) into gC when non-nil) for lane l, given the conditional's
// chain input f and activations a. With δ_i = ∂ln q/∂z_i: ∂/∂w⁰_i =
// δ_i x¹_i', ∂/∂b⁰_i = δ_i, the chains by h2arnn.ChainBackward. With a
// trainable first layer, D_i[l] = ∂ln q/∂F_i[l] (l = i: δ_i w⁰_i; l > i: the
// chains' df) gives ∂/∂h_i = δ_i w⁰_i and, since F_i[l] = Σ_{s<i} W_sl x_s,
// ∂/∂W_sl = x_s Σ_{s<i≤l} D_i[l]: with rows visited from i = N-1 down,
// l.acc[l] holds Σ_{i'>i} D_{i'}[l] when row i of W is emitted.
func (w *skWorker) backChains(l *skLane, i int, f, a []float64, cA float64, gA []float64, cC float64, gC []float64) {
	s := w.s
	k := s.k
	r := len(f) / 2
	d := l.delta[i]
	w0, _, wc, _ := s.Conditional(s.p, i)
	var df []float64
	if s.train {
		if r > 0 {
			xs := l.x[i]
			h2arnn.Axpy(cA*xs, l.acc[i+1:], s.couplingRow(gA, i))
			if gC != nil {
				h2arnn.Axpy(cC*xs, l.acc[i+1:], s.couplingRow(gC, i))
			}
		}
		df = w.dfrow[:2*r]
		clear(df)
	}
	gw0A, gb0A, gwA, gbA := s.Conditional(gA, i)
	gw0A[0] += cA * d * l.xin[i]
	gb0A[0] += cA * d
	if gC != nil {
		gw0C, gb0C, gwC, gbC := s.Conditional(gC, i)
		gw0C[0] += cC * d * l.xin[i]
		gb0C[0] += cC * d
		h2arnn.ChainBackward(k, f, wc, a, d, cA, cC, gwA, gbA, gwC, gbC, df)
	} else {
		h2arnn.ChainBackward(k, f, wc, a, d, cA, 0, gwA, gbA, nil, nil, df)
	}
	if s.train {
		// both chains of later spin l feed on F_i[l]
		acc := l.acc[i+1:]
		for j := range r {
			acc[j] += df[j]
			acc[j] += df[r+j]
		}
		dh := d * w0[0] // ∂ln q/∂(h_i + F_i[i])
		l.acc[i] += dh
		s.fields(gA)[i] += cA * dh
		if gC != nil {
			s.fields(gC)[i] += cC * dh
		}
	}
}
