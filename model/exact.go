package model

import "math"

// Thermo holds the exact thermodynamics of one model at one inverse
// temperature β. Energies are in the units of the couplings, β in their
// inverse; all figures except LnZ are per spin.
type Thermo struct {
	Beta float64
	// LnZ is ln Z for the whole system (not per spin). NaN for N → ∞.
	LnZ float64
	// F = -ln Z/(βN) is the free energy per spin (-Inf at β = 0).
	F float64
	// E = <H>/N is the mean energy per spin.
	E float64
	// S = -<ln P>/N = β(E - F) is the entropy per spin (in nats).
	S float64
	// MAbs = <|Σ_i x_i|>/N is the mean absolute magnetisation per spin.
	MAbs float64
}

// CheckBeta returns nil for a finite β ≥ 0, the inverse temperatures every
// exact reference accepts, and otherwise an *ArgError matching
// ErrInvalidBeta: the error Enumerate, CWExact, CWMeanField and
// CWMagnetisation return for such a β.
func CheckBeta(beta float64) error { return checkBeta("CheckBeta", beta) }

// neumaier is a compensated (Kahan–Babuška–Neumaier) running sum: the value
// is s + c, with the rounding error of every addition kept in c, so that the
// error of a sum of n terms is O(ε) instead of O(nε).
type neumaier struct{ s, c float64 }

func (a *neumaier) add(v float64) {
	t := a.s + v
	if math.Abs(a.s) >= math.Abs(v) {
		a.c += (a.s - t) + v
	} else {
		a.c += (v - t) + a.s
	}
	a.s = t
}

func (a *neumaier) value() float64 { return a.s + a.c }

func (a *neumaier) scale(f float64) { a.s *= f; a.c *= f }

// lnBinomRow returns ln C(n, k) for k = 0..n. Each value is a compensated sum
// of ln((n-j+1)/j) for j = 1..k (one rounded quotient and one logarithm per
// term, mirrored by C(n,k) = C(n,n-k)), so its absolute error stays near
// √k·ε instead of the ε·ln(n!) ≈ ε·n ln n of differences of ln Γ.
func lnBinomRow(n int) []float64 {
	out := make([]float64, n+1)
	var acc neumaier
	for k := 1; 2*k <= n; k++ {
		acc.add(math.Log(float64(n-k+1) / float64(k)))
		out[k] = acc.value()
		out[n-k] = out[k]
	}
	if n%2 == 1 { // the middle pair k = (n±1)/2 was not reached above
		k := (n + 1) / 2
		acc.add(math.Log(float64(n-k+1) / float64(k)))
		out[k] = acc.value()
	}
	return out
}

// cwWeights returns, for k = 0..n (M = n-2k), the energies E_k = H(M) and the
// log-weights a_k = ln C(n,k) - βE_k of the Curie-Weiss magnetisation
// classes, together with amax = max_k a_k and the normaliser s0 = Σ_k e^{a_k-amax}
// (so ln Z = amax + ln s0) and the probabilities p_k = e^{a_k-amax}/s0.
func cwWeights(n int, p CWParams, beta float64) (lnC, en, a, prob []float64, amax, s0 float64) {
	lnC = lnBinomRow(n)
	en = make([]float64, n+1)
	a = make([]float64, n+1)
	amax = math.Inf(-1)
	for k := range n + 1 {
		M := float64(n - 2*k)
		en[k] = cwEnergy(p, n, M)
		a[k] = lnC[k] - beta*en[k]
		amax = math.Max(amax, a[k])
	}
	prob = make([]float64, n+1)
	var acc neumaier
	for k := range prob {
		prob[k] = math.Exp(a[k] - amax)
		acc.add(prob[k])
	}
	s0 = acc.value()
	for k := range prob {
		prob[k] /= s0
	}
	return lnC, en, a, prob, amax, s0
}

// checkCW returns the *ArgError of fn for an invalid Curie-Weiss reference
// query (n, p, β), or nil.
func checkCW(fn string, n int, p CWParams, beta float64) error {
	if err := checkSize(fn, n); err != nil {
		return err
	}
	if err := checkCWParams(fn, p.J, p.H); err != nil {
		return err
	}
	return checkBeta(fn, beta)
}

// CWExact returns the exact thermodynamics of the Curie-Weiss model of n
// spins (J_ij = p.J/n, h_i = p.H) at inverse temperature β, from the sum over
// the n+1 magnetisation classes of SPEC §1:
//
//	ln Z = ln Σ_{k=0..n} C(n,k) exp(-β H(M)),  M = n - 2k,
//	H(M) = -J (M² - n)/(2n) - h M.
//
// ln C(n,k) is accumulated with compensated summation (see lnBinomRow) and
// the sum is shifted by its largest term, so the result is accurate to a few
// ulps of ln Z for every 1 ≤ n ≤ MaxSpins. E, MAbs and S use the same
// weights (compensated sums); S is Σ_k p_k (ln C(n,k) - ln p_k) with p_k = P(M = n-2k), a sum of
// non-negative terms, so it keeps its relative accuracy when it is small.
//
// It returns an *ArgError for n outside [1, MaxSpins], a non-finite J or h,
// or a β that CheckBeta refuses (that one matches ErrInvalidBeta).
func CWExact(n int, p CWParams, beta float64) (Thermo, error) {
	if err := checkCW("CWExact", n, p, beta); err != nil {
		return Thermo{}, err
	}
	lnC, en, _, prob, amax, s0 := cwWeights(n, p, beta)
	lnZ := amax + math.Log(s0)
	// <H> = Σ p_k E_k summed directly: its error is then ε·<|H|>, whereas
	// shifting by the ground-state energy would cost ε·|E_min| when <H>
	// is near zero (high temperature).
	var eAcc, mAcc, sAcc neumaier
	for k, pk := range prob {
		if pk == 0 {
			continue
		}
		eAcc.add(pk * en[k])
		mAcc.add(pk * math.Abs(float64(n-2*k)))
		sAcc.add(pk * (lnC[k] - math.Log(pk)))
	}
	nf := float64(n)
	return Thermo{
		Beta: beta,
		LnZ:  lnZ,
		F:    -lnZ / (beta * nf),
		E:    eAcc.value() / nf,
		S:    sAcc.value() / nf,
		MAbs: mAcc.value() / nf,
	}, nil
}

// CWMagnetisation returns the exact distribution of the magnetisation of the
// Curie-Weiss model of n spins at β: element k is P(M = n - 2k), k = 0..n,
// and the elements sum to 1 (to rounding). Invalid arguments give the
// errors of CWExact.
func CWMagnetisation(n int, p CWParams, beta float64) ([]float64, error) {
	if err := checkCW("CWMagnetisation", n, p, beta); err != nil {
		return nil, err
	}
	_, _, _, prob, _, _ := cwWeights(n, p, beta)
	return prob, nil
}

// cwEntropy is S(m) = -((1+m)/2) ln((1+m)/2) - ((1-m)/2) ln((1-m)/2), the
// entropy per spin at magnetisation m ∈ [-1, 1], with 0 ln 0 = 0.
func cwEntropy(m float64) float64 {
	xlogx := func(x float64) float64 {
		if x <= 0 {
			return 0
		}
		return x * math.Log(x)
	}
	return -xlogx((1+m)/2) - xlogx((1-m)/2)
}

// CWMeanFieldM returns the N → ∞ magnetisation per spin of the Curie-Weiss
// model: the stable, lowest free-energy solution of m = tanh(β(Jm + h)) (for
// h = 0 and a ferromagnet, the non-negative one of the symmetric pair), for
// finite J, h and β ≥ 0. It is the one mean-field solver of the package
// (CWMeanField and cw_inf's analytic start use it).
//
// The root is found by bisection on g(m) = m - tanh(β(Jm + h)) rather than by
// iterating the map, whose convergence becomes arbitrarily slow at the
// critical point (the map's slope tends to 1 there):
//
//   - J ≥ 0: by the symmetry (m, h) → (-m, -h) take h ≥ 0. The global minimum
//     of the Landau free energy has the sign of h and is the largest root.
//     On (0, 1], tanh(β(Jm + h)) is increasing and concave, so g is convex
//     with g(1) > 0 and g ≤ 0 near 0: it changes sign once there, at the
//     largest root (which is 0 when βJ ≤ 1 and h = 0: then g ≥ 0 on [0, 1]
//     and the bracket shrinks onto 0).
//   - J < 0: g is strictly increasing on [-1, 1] with g(-1) < 0 < g(1), so
//     its only root is bracketed by [-1, 1].
func CWMeanFieldM(p CWParams, beta float64) float64 {
	g := func(m, h float64) float64 { return m - math.Tanh(beta*(p.J*m+h)) }
	lo, hi, h, sign := -1.0, 1.0, p.H, 1.0
	if p.J >= 0 {
		lo = 0
		if h < 0 {
			h, sign = -h, -1
		}
	}
	for range 200 { // 2^-200 is far below the float64 resolution of [-1, 1]
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			break
		}
		if g(mid, h) < 0 {
			lo = mid
		} else {
			hi = mid
		}
	}
	m := lo + (hi-lo)/2
	if math.Abs(g(hi, h)) < math.Abs(g(m, h)) {
		m = hi
	}
	if p.J >= 0 && lo == 0 && math.Abs(g(0, h)) <= math.Abs(g(m, h)) {
		m = 0
	}
	return sign * m
}

// CWMeanField returns the N → ∞ thermodynamics of the Curie-Weiss model at
// inverse temperature β (SPEC §1): m solves m = tanh(β(Jm + h)) at the
// stable root of lowest free energy (see CWMeanFieldM for how it is found),
// and per spin
//
//	F = -(S(m)/β + J m²/2 + h m),  E = -(J m²/2 + h m),  S = S(m),  MAbs = |m|.
//
// LnZ is NaN (Z has no finite-N meaning here). For h = 0 below the
// transition m = 0 and F = -ln 2/β; above it the two roots ±m are
// degenerate and MAbs = |m|. At β = 0, F = -Inf. A non-finite J or h, or a
// β that CheckBeta refuses, gives an *ArgError (the latter matching
// ErrInvalidBeta).
func CWMeanField(p CWParams, beta float64) (Thermo, error) {
	if err := checkCWParams("CWMeanField", p.J, p.H); err != nil {
		return Thermo{}, err
	}
	if err := checkBeta("CWMeanField", beta); err != nil {
		return Thermo{}, err
	}
	m := CWMeanFieldM(p, beta)
	e := -(p.J*m*m/2 + p.H*m)
	s := cwEntropy(m)
	return Thermo{
		Beta: beta,
		LnZ:  math.NaN(),
		F:    e - s/beta,
		E:    e,
		S:    s,
		MAbs: math.Abs(m),
	}, nil
}
