package model

import (
	"context"
	"math"
	"math/bits"

	"github.com/h2arnn/h2arnn"
	"github.com/h2arnn/h2arnn/internal/par"
)

// MaxEnumerate is the largest N that Enumerate accepts: it visits all 2^N
// states, which at N = 32 is 4.3·10^9 states (minutes on a few cores).
const MaxEnumerate = 32

// enumMaxLowBits bounds the number of low spins enumerated by one task's
// Gray code: a task visits 2^lowBits states from a freshly computed start,
// so rounding drift of the incrementally updated energy is reset every
// 2^lowBits flips, and the task's energies fit in small, cache-resident buffers.
const enumMaxLowBits = 10

// enumMaxChunks bounds the number of chunks (units of work handed to
// goroutines, each a run of consecutive tasks). It is fixed, independent of
// the worker count, so the partial sums and the order in which they are
// combined are too.
const enumMaxChunks = 256

// Enumerate computes the exact thermodynamics of m at every β in betas by
// visiting all 2^N states once (N ≤ MaxEnumerate):
//
//	ln Z(β) = ln Σ_x e^{-βH(x)},  <H>, <|Σ_i x_i|> under P_β,
//
// and returns one Thermo per β, in the order given. Each β must pass
// CheckBeta, else an *ArgError matching ErrInvalidBeta is returned; the
// couplings and fields are assumed finite. Every 2^L states each goroutine
// checks ctx: once ctx is done Enumerate returns ctx's error (within
// milliseconds).
//
// Method. State bits are split into N-L high bits, fixed per task, and
// L = min(10, ⌈N/2⌉) low bits that a task walks in Gray-code order, so that
// each step flips one spin x_l, the energy changes in O(1) by 2 x_l g_l
// from the maintained local fields g_i = h_i + Σ_j J_ij x_j, and the fields
// are updated in O(N). Every task restarts from energies and fields computed
// from scratch, so the rounding drift of the incremental energies is reset
// every 2^L flips. A task first stores its 2^L energies; then for each β it
// sums the weights e^{-β(E - E₀)} relative to its own lowest energy E₀ (all
// ≤ 1, so nothing overflows), directly over blocks of 32 states and with
// compensation across blocks. Task sums are folded into per-chunk
// compensated accumulators whose reference energy is the lowest seen so far
// (the running log-sum-exp: rescaling by e^{-βΔE} when it drops), and the
// fixed set of chunk results is folded in chunk order. The answer therefore
// does not depend on workers (≤ 0 means GOMAXPROCS), and the summation
// error does not grow with the number of states: the tests find agreement
// with independent references to 1e-13 (random models) and 1e-12 (CW).
//
// Cost: about 2^N·(N + c·len(betas)) floating-point operations, dominated
// by one exponential per state and β. Measured on the 2-core development
// machine while it was shared with other jobs: 90–130 ns per state with 3–5 β
// on one core, so N = 24 with 5 β takes ≈ 1.5 s of CPU time (≈ 0.8 s on two
// free cores); N = 28 with 3 β took 34 s on one core, and N = 32 with 3 β
// 6.6 minutes on one core (≈ 3–4 on two).
func Enumerate(ctx context.Context, m *Hamiltonian, betas []float64, workers int) ([]Thermo, error) {
	if m == nil {
		return nil, argErr("Enumerate", "Model", nil, "no model given")
	}
	n := m.N
	if n < 1 || n > MaxEnumerate {
		return nil, argErr("Enumerate", "N", n, "exhaustive enumeration visits 2^N states and is limited to 1 ≤ N ≤ %d (MaxEnumerate)", MaxEnumerate)
	}
	if len(m.J) != n*n || len(m.H) != n {
		return nil, argErr("Enumerate", "Model", m.Kind, "a model of N = %d spins has %d couplings and %d fields, want %d and %d", n, len(m.J), len(m.H), n*n, n)
	}
	for _, b := range betas {
		if err := checkBeta("Enumerate", b); err != nil {
			return nil, err
		}
	}
	if len(betas) == 0 {
		return []Thermo{}, nil
	}
	low := min(enumMaxLowBits, (n+1)/2)
	tasks := uint64(1) << (n - low)
	chunks := min(tasks, enumMaxChunks)
	perChunk := tasks / chunks // both are powers of two

	done := ctx.Done()
	results := make([]enumAcc, chunks)
	states := make([]*enumState, par.Workers(workers))
	par.For(workers, int(chunks), func(slot, c int) {
		if states[slot] == nil {
			states[slot] = newEnumState(m, low, betas)
		}
		st := states[slot]
		acc := newEnumAcc(len(betas))
		for t := uint64(c) * perChunk; t < uint64(c+1)*perChunk; t++ {
			select {
			case <-done:
				return
			default:
			}
			st.runTask(t)
			acc.fold(betas, st.e0, st.s0, st.s1, st.s2, st.s3)
		}
		results[c] = acc
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	total := newEnumAcc(len(betas))
	for c := range results {
		r := &results[c]
		total.foldAcc(betas, r)
	}
	out := make([]Thermo, len(betas))
	nf := float64(n)
	for j, beta := range betas {
		s0 := total.s0[j].value()
		s1 := total.s1[j].value()
		s2 := total.s2[j].value()
		s3 := total.s3[j].value()
		// ln Z = -β E_ref + ln s0 with s0 = Σ e^{-β(E-E_ref)} ≥ 1.
		lnZ := -beta*total.eref + math.Log(s0)
		out[j] = Thermo{
			Beta: beta,
			LnZ:  lnZ,
			F:    -lnZ / (beta * nf),
			E:    s3 / s0 / nf,
			// -<ln P> = β<H> + ln Z = β s1/s0 + ln s0: both terms ≥ 0.
			S:    (beta*s1/s0 + math.Log(s0)) / nf,
			MAbs: s2 / s0 / nf,
		}
	}
	return out, nil
}

// enumAcc accumulates, for each β, relative to the reference energy eref
// (the lowest energy folded in so far):
//
//	s0 = Σ w,  s1 = Σ w (E - eref),  s2 = Σ w |M|,  s3 = Σ w E,
//	w = e^{-β(E - eref)}.
//
// s1 gives the entropy without cancellation at low temperature, s3 the
// energy without cancellation against eref at high temperature.
type enumAcc struct {
	empty          bool
	eref           float64
	s0, s1, s2, s3 []neumaier
}

func newEnumAcc(nb int) enumAcc {
	return enumAcc{empty: true, s0: make([]neumaier, nb), s1: make([]neumaier, nb), s2: make([]neumaier, nb), s3: make([]neumaier, nb)}
}

// fold adds a set of sums taken relative to the energy e0.
func (a *enumAcc) fold(betas []float64, e0 float64, s0, s1, s2, s3 []float64) {
	if a.empty {
		a.empty = false
		a.eref = e0
	}
	if e0 < a.eref {
		a.rebase(betas, e0)
	}
	d := e0 - a.eref // ≥ 0
	for j, beta := range betas {
		f := math.Exp(-beta * d)
		a.s0[j].add(f * s0[j])
		a.s1[j].add(f * (s1[j] + d*s0[j]))
		a.s2[j].add(f * s2[j])
		a.s3[j].add(f * s3[j])
	}
}

// foldAcc adds another accumulator.
func (a *enumAcc) foldAcc(betas []float64, b *enumAcc) {
	if b.empty {
		return
	}
	if a.empty {
		a.empty = false
		a.eref = b.eref
	}
	if b.eref < a.eref {
		a.rebase(betas, b.eref)
	}
	d := b.eref - a.eref
	for j, beta := range betas {
		f := math.Exp(-beta * d)
		// Add both halves of b's compensated sums, each rescaled.
		a.s0[j].add(f * b.s0[j].s)
		a.s0[j].add(f * b.s0[j].c)
		a.s1[j].add(f * (b.s1[j].s + d*b.s0[j].s))
		a.s1[j].add(f * (b.s1[j].c + d*b.s0[j].c))
		a.s2[j].add(f * b.s2[j].s)
		a.s2[j].add(f * b.s2[j].c)
		a.s3[j].add(f * b.s3[j].s)
		a.s3[j].add(f * b.s3[j].c)
	}
}

// rebase moves the reference energy down to e (< eref), rescaling the sums.
func (a *enumAcc) rebase(betas []float64, e float64) {
	d := a.eref - e // > 0
	for j, beta := range betas {
		f := math.Exp(-beta * d)
		// Σ w'(E - e) = f (Σ w (E - eref) + d Σ w).
		a.s1[j].add(d * a.s0[j].s)
		a.s1[j].add(d * a.s0[j].c)
		a.s0[j].scale(f)
		a.s1[j].scale(f)
		a.s2[j].scale(f)
		a.s3[j].scale(f)
	}
	a.eref = e
}

// enumState is one goroutine's scratch for running tasks.
type enumState struct {
	m     *Hamiltonian
	low   int
	betas []float64
	x, g  []float64
	// Per state of the task: energy, |M|, and per-β scratch.
	en, mabs, arg, w []float64
	// The task's results: lowest energy e0 and, per β, the sums of
	// w = e^{-β(E-e0)}, w·(E-e0), w·|M| and w·E.
	e0             float64
	s0, s1, s2, s3 []float64
}

func newEnumState(m *Hamiltonian, low int, betas []float64) *enumState {
	size := 1 << low
	nb := len(betas)
	return &enumState{
		m: m, low: low, betas: betas,
		x: make([]float64, m.N), g: make([]float64, m.N),
		en: make([]float64, size), mabs: make([]float64, size),
		arg: make([]float64, size), w: make([]float64, size),
		s0: make([]float64, nb), s1: make([]float64, nb), s2: make([]float64, nb), s3: make([]float64, nb),
	}
}

// runTask enumerates the 2^low states whose high bits are the bits of t
// (bit i of a state set ⇔ x_i = -1) and fills e0, s0, s1, s2, s3.
func (st *enumState) runTask(t uint64) {
	m, n, low := st.m, st.m.N, st.low
	x, g := st.x, st.g
	M := 0
	for i := range n {
		x[i] = 1
		if i >= low && t>>(i-low)&1 == 1 {
			x[i] = -1
		}
		M += int(x[i])
	}
	// Fields and energy from scratch: g_i = h_i + Σ_j J_ij x_j and
	// H = -Σ_i x_i (h_i + Σ_{j<i} J_ij x_j).
	e := 0.0
	for i := range n {
		row := m.J[i*n : (i+1)*n]
		below := 0.0
		for j := range i {
			below += row[j] * x[j]
		}
		above := 0.0
		for j := i + 1; j < n; j++ {
			above += row[j] * x[j]
		}
		g[i] = m.H[i] + below + above
		e -= x[i] * (m.H[i] + below)
	}
	en, mabs := st.en, st.mabs
	en[0], mabs[0] = e, math.Abs(float64(M))
	e0 := e
	for s := 1; s < len(en); s++ {
		l := bits.TrailingZeros(uint(s))
		xl := x[l]
		// Flipping x_l changes H by 2 x_l g_l (old x_l); g_l itself does
		// not depend on x_l, and every other g_j moves by -2 J_jl x_l.
		e += 2 * xl * g[l]
		x[l] = -xl
		M -= 2 * int(xl)
		h2arnn.Axpy(-2*xl, m.J[l*n:(l+1)*n], g)
		en[s], mabs[s] = e, math.Abs(float64(M))
		e0 = math.Min(e0, e)
	}
	st.e0 = e0
	arg, w := st.arg, st.w
	for j, beta := range st.betas {
		for s, v := range en {
			arg[s] = -beta * (v - e0)
		}
		expNonPos(w, arg)
		// Four sums in one pass, each over blocks of enumBlock states with
		// plain additions (independent chains, so the loop is not
		// latency-bound), and the block sums added with compensation: the
		// error is O(enumBlock·ε) relative instead of O(2^low·ε).
		var a0, a1, a2, a3 neumaier
		for b := 0; b < len(en); b += enumBlock {
			var b0, b1, b2, b3 float64
			for s := b; s < min(b+enumBlock, len(en)); s++ {
				ws := w[s]
				b0 += ws
				b1 += ws * (en[s] - e0)
				b2 += ws * mabs[s]
				b3 += ws * en[s]
			}
			a0.add(b0)
			a1.add(b1)
			a2.add(b2)
			a3.add(b3)
		}
		st.s0[j], st.s1[j], st.s2[j], st.s3[j] = a0.value(), a1.value(), a2.value(), a3.value()
	}
}

// enumBlock is the number of states summed directly before a compensated
// addition.
const enumBlock = 32

// Constants of expNonPos: ln 2 split so that k·ln2Hi is exact for |k| < 2^11,
// and the round-to-nearest shifter 1.5·2^52.
const (
	expLn2Hi   = 6.93147180369123816490e-01 // ln 2 rounded to 32 significant bits
	expLn2Lo   = 1.90821492927058770002e-10 // ln 2 - expLn2Hi
	expLog2e   = 1.44269504088896338700e+00 // 1/ln 2
	expShifter = 6755399441055744.0         // 1.5·2^52
)

// expNonPos sets dst[i] = e^{x[i]} for x[i] ≤ 0 (the weights e^{-β(E-E₀)}
// of Enumerate), a branch-light scalar loop several times faster than
// math.Exp that the compiler pipelines across elements.
//
// Method: k = round(x/ln 2), r = x - k ln 2 ∈ [-ln2/2, ln2/2] (two-part ln 2,
// exact product), e^r by its Taylor polynomial of degree 13 (truncation
// error < 2^-57 relative on that interval) in Estrin form, times 2^k built
// from the exponent bits (in two steps below 2^-1022 so that subnormal
// results round once). Measured error ≤ 1 ulp over [-745, 0] (see
// TestExpNonPos); x < -745.2 gives 0, NaN gives NaN. Positive x are outside
// the contract.
func expNonPos(dst, x []float64) {
	dst = dst[:len(x)]
	for i, v := range x {
		if v < -745.2 {
			dst[i] = 0
			continue
		}
		kf := (v*expLog2e + expShifter) - expShifter
		r := (v - kf*expLn2Hi) - kf*expLn2Lo
		// e^r = 1 + r + r²·q(r), q(r) = Σ_{j=0..11} r^j/(j+2)!, by Estrin's
		// scheme: a shallow dependency tree instead of Horner's chain of 12
		// multiply-adds, so that successive elements overlap in the pipeline.
		r2 := r * r
		r4 := r2 * r2
		r8 := r4 * r4
		q01 := 1.0/2 + r*(1.0/6)
		q23 := 1.0/24 + r*(1.0/120)
		q45 := 1.0/720 + r*(1.0/5040)
		q67 := 1.0/40320 + r*(1.0/362880)
		q89 := 1.0/3628800 + r*(1.0/39916800)
		qab := 1.0/479001600 + r*(1.0/6227020800)
		q := (q01 + r2*q23) + r4*(q45+r2*q67) + r8*(q89+r2*qab)
		p := (r + r2*q) + 1 // the leading terms 1 + r are added last, exactly
		k := int64(kf)
		if k >= -1022 {
			dst[i] = p * math.Float64frombits(uint64(k+1023)<<52)
		} else {
			dst[i] = p * math.Float64frombits(uint64(k+1023+60)<<52) * 0x1p-60
		}
	}
}
