package model

import (
	"errors"
	"fmt"
	"math"

	"github.com/h2arnn/h2arnn/internal/fmath"
)

// Ising2DParams are the numbers of a two-dimensional Ising model on an
// Lx × Ly torus: nearest-neighbour couplings J and a uniform field H.
type Ising2DParams struct {
	Lx, Ly int
	J, H   float64
}

// Ising2D returns the Ising model on the lx × ly square lattice with
// periodic boundaries (a torus): spin i = y·lx + x (row-major, 0 ≤ x < lx,
// 0 ≤ y < ly) is coupled with strength j to its right neighbour
// ((x+1) mod lx, y) and to the one below (x, (y+1) mod ly), and feels the
// field h:
//
//	H(x) = -j Σ_<ij> x_i x_j - h Σ_i x_i,
//
// with 2·lx·ly bonds. Each side must be at least 2. On a side of length 2
// the two neighbours along it are the same spin, reached by two bonds, so
// that pair's coupling is 2j: the torus's bond count, as Kaufman's formula
// (Ising2DExact) has it.
func Ising2D(lx, ly int, j, h float64) (*Hamiltonian, error) {
	if lx < 2 || ly < 2 {
		return nil, argErr("Ising2D", "L", min(lx, ly), "a %d × %d torus; each side must be at least 2", lx, ly)
	}
	if lx > MaxSpins || ly > MaxSpins || lx*ly > MaxSpins {
		return nil, argErr("Ising2D", "L", max(lx, ly), "a %d × %d torus has more than the %d spins supported (the couplings are a dense N×N matrix)", lx, ly, MaxSpins)
	}
	if err := checkCWParams("Ising2D", j, h); err != nil {
		return nil, err
	}
	n := lx * ly
	m := NewHamiltonian(n)
	for y := range ly {
		for x := range lx {
			i := y*lx + x
			for _, k := range []int{y*lx + (x+1)%lx, ((y+1)%ly)*lx + x} {
				m.J[i*n+k] += j
				m.J[k*n+i] += j
			}
			m.H[i] = h
		}
	}
	m.Kind = "ising2d"
	m.Source = fmt.Sprintf("ising2d L=%dx%d J=%g h=%g", lx, ly, j, h)
	m.Ising2D = &Ising2DParams{Lx: lx, Ly: ly, J: j, H: h}
	return m, nil
}

// ErrNoExactFormula is returned by Ising2DExact for a model that Kaufman's
// formula does not cover.
var ErrNoExactFormula = errors.New("no exact finite-size formula")

// Ising2DExact returns the exact thermodynamics of the Ising model on the
// Lx × Ly torus without field (p.H = 0) at inverse temperature β, by
// Kaufman's formula (B. Kaufman, Phys. Rev. 76, 1232 (1949); in the form of
// P. D. Beale, Phys. Rev. Lett. 76, 78 (1996)): with K = βJ, m = Ly rows
// and n = Lx columns,
//
//	Z = ½ (2 sinh 2K)^{mn/2} (Z₁ + Z₂ + Z₃ + Z₄),
//	Z₁ = Π_{r=0}^{n-1} 2 cosh(m γ_{2r+1}/2),   Z₂ = Π_{r=0}^{n-1} 2 sinh(m γ_{2r+1}/2),
//	Z₃ = Π_{r=0}^{n-1} 2 cosh(m γ_{2r}/2),     Z₄ = Π_{r=0}^{n-1} 2 sinh(m γ_{2r}/2),
//	cosh γ_k = cosh 2K coth 2K - cos(πk/n)  (γ_k > 0 for k ≥ 1),
//	γ₀ = 2K + ln tanh K,
//
// where γ₀ changes sign at the critical point sinh 2K = 1, so Z₄ < 0 above
// it (K small). The sum is evaluated as a signed log-sum-exp of the four
// terms' logarithms, and γ_k by acosh(1 + δ) with
// δ = (s-1)²/s + 2 sin²(πk/2n), s = sinh 2K, which has no cancellation near
// the critical point; ln Z is accurate to a few ulps for any size. The
// energy is -∂ ln Z/∂β from the analytic derivative of the same terms, and
// S = β(E - F). MAbs is NaN: the formula says nothing about the
// magnetisation.
//
// The formula holds for every Lx, Ly ≥ 2, odd sides included (the tests
// check it against enumeration for every shape up to 4 × 5). For J < 0
// (antiferromagnet) on a lattice with both sides even, the sublattice flip
// maps the model onto the ferromagnet with |J|, with the same Z and E; with
// an odd side the antiferromagnet is frustrated and the formula does not
// apply. A field, or J < 0 with an odd side, gives ErrNoExactFormula;
// J = 0 gives the free spins' Z = 2^N. A β that CheckBeta refuses gives
// an *ArgError matching ErrInvalidBeta, as every exact reference does.
func Ising2DExact(p Ising2DParams, beta float64) (Thermo, error) {
	if err := checkBeta("Ising2DExact", beta); err != nil {
		return Thermo{}, err
	}
	if p.Lx < 2 || p.Ly < 2 || !fmath.Finite(p.J) || !fmath.Finite(p.H) {
		return Thermo{}, argErr("Ising2DExact", "Model", fmt.Sprintf("%d×%d J=%v h=%v", p.Lx, p.Ly, p.J, p.H), "not a valid 2D Ising torus")
	}
	if p.H != 0 {
		return Thermo{}, fmt.Errorf("%w for the 2D Ising model in a field (h = %v)", ErrNoExactFormula, p.H)
	}
	if p.J < 0 && (p.Lx%2 == 1 || p.Ly%2 == 1) {
		return Thermo{}, fmt.Errorf("%w for the frustrated antiferromagnet on a %d × %d torus (an odd side)", ErrNoExactFormula, p.Lx, p.Ly)
	}
	nSpins := float64(p.Lx * p.Ly)
	j := math.Abs(p.J)
	k := beta * j
	var lnZ, dlnZ float64 // ln Z and ∂ ln Z/∂K
	if k == 0 {
		lnZ = nSpins * math.Ln2
	} else {
		lnZ, dlnZ = kaufman(p.Ly, p.Lx, k)
	}
	t := Thermo{Beta: beta, LnZ: lnZ, F: -lnZ / (beta * nSpins), E: -j * dlnZ / nSpins, MAbs: math.NaN()}
	t.S = beta * (t.E - t.F)
	if beta == 0 {
		t.S = math.Ln2 // β(E - F) is 0·∞ there; all 2^N states are equally likely
	}
	return t, nil
}

// kaufman returns ln Z and ∂ ln Z/∂K of the ferromagnetic Ising model on an
// m × n torus at coupling K = βJ > 0 (see Ising2DExact).
func kaufman(m, n int, k float64) (lnZ, dlnZ float64) {
	s := math.Sinh(2 * k)
	mf := float64(m)
	// Each Z_i is a product of factors f = 2 cosh(mγ/2) or 2 sinh(mγ/2);
	// l[i] sums ln f and d[i] sums ∂ ln f/∂K = (mγ'/2)·tanh or coth(mγ/2)
	// for Z₁, Z₂, Z₃, which are positive. Z₄'s factor 2 sinh(mγ₀/2) has the
	// sign of γ₀ and vanishes at the critical point, so Z₄ is kept as that
	// factor times the rest, rest4 = ln Π_{r≥1} f with d4 = ∂rest4/∂K.
	var l, d [3]float64
	var rest4, d4 float64
	var g0, g0p float64 // γ₀ and ∂γ₀/∂K
	for kk := range 2 * n {
		var g, gp float64 // γ_k and ∂γ_k/∂K
		if kk == 0 {
			g = 2*k + math.Log(math.Tanh(k))
			gp = 2 + 2/s
			g0, g0p = g, gp
		} else {
			half := math.Sin(math.Pi * float64(kk) / float64(2*n))
			delta := (s-1)*(s-1)/s + 2*half*half
			g = math.Log1p(delta + math.Sqrt(delta*(delta+2))) // acosh(1 + δ)
			// cosh γ = s + 1/s - cos θ: sinh γ · γ' = (1 - 1/s²)·2 cosh 2K.
			gp = 2 * math.Cosh(2*k) * (1 - 1/(s*s)) / math.Sinh(g)
		}
		x := mf * g / 2
		lc, ls := logCosh2(x), logSinh2(x)
		dc, ds := mf*gp/2*math.Tanh(x), mf*gp/2/math.Tanh(x) // ds is ±Inf only for γ₀ = 0, unused
		if kk%2 == 1 {
			l[0] += lc
			d[0] += dc
			l[1] += ls
			d[1] += ds
			continue
		}
		l[2] += lc
		d[2] += dc
		if kk > 0 {
			rest4 += ls
			d4 += ds
		}
	}
	// The sum, scaled by e^{-lmax} with lmax = max ln Z₁..₃ (Z₃ ≥ |Z₄|
	// factor by factor, so nothing overflows): sum = Σ Z_i e^{-lmax} and
	// dsum = Σ ∂Z_i/∂K e^{-lmax}.
	lmax := math.Max(math.Max(l[0], l[1]), l[2])
	var sum, dsum float64
	for i := range 3 {
		v := math.Exp(l[i] - lmax)
		sum += v
		dsum += v * d[i]
	}
	// Z₄ = 2 sinh(x₀) e^{rest4} (x₀ = mγ₀/2, sign of γ₀; exp(-Inf) = 0 at
	// γ₀ = 0), and ∂Z₄/∂K = Z₄·d4 + m γ₀' cosh(x₀) e^{rest4}.
	x0 := mf * g0 / 2
	v4 := math.Copysign(math.Exp(logSinh2(x0)+rest4-lmax), g0)
	sum += v4
	dsum += v4*d4 + mf*g0p*math.Exp(logCosh2(x0)-math.Ln2+rest4-lmax)
	mnHalf := mf * float64(n) / 2
	lnZ = -math.Ln2 + mnHalf*math.Log(2*s) + lmax + math.Log(sum)
	dlnZ = mf*float64(n)/math.Tanh(2*k) + dsum/sum
	return lnZ, dlnZ
}

// logCosh2 returns ln(2 cosh x) without overflow.
func logCosh2(x float64) float64 {
	a := math.Abs(x)
	return a + math.Log1p(math.Exp(-2*a))
}

// logSinh2 returns ln|2 sinh x| without overflow (-Inf at x = 0).
func logSinh2(x float64) float64 {
	a := math.Abs(x)
	return a + math.Log1p(-math.Exp(-2*a))
}
