package model

import (
	"errors"
	"math"
	"math/big"
	"testing"

	"github.com/h2arnn/h2arnn/internal/fmath"
)

// exPrec is the working precision (bits) of the big-float references.
const exPrec = 320

// exBigExp returns e^x to about prec bits by the Taylor series of e^{x/2^s}
// with |x/2^s| < 2^-8, squared s times (each squaring doubles the relative
// error, so s + 32 guard bits are added to the working precision).
func exBigExp(x *big.Float, prec uint) *big.Float {
	s := 0
	if x.Sign() != 0 {
		s = max(0, x.MantExp(nil)+8)
	}
	wp := prec + uint(s) + 32
	r := new(big.Float).SetPrec(wp).SetMantExp(new(big.Float).SetPrec(wp).Set(x), -s)
	sum := new(big.Float).SetPrec(wp).SetInt64(1)
	term := new(big.Float).SetPrec(wp).SetInt64(1)
	for k := int64(1); ; k++ {
		term.Mul(term, r)
		term.Quo(term, new(big.Float).SetPrec(wp).SetInt64(k))
		if term.Sign() == 0 || term.MantExp(nil) < -int(wp)-4 {
			break
		}
		sum.Add(sum, term)
	}
	for range s {
		sum.Mul(sum, sum)
	}
	return sum
}

// exBigLog returns ln z as a float64 for z > 0, from z = mant·2^exp with
// mant ∈ [0.5, 1): ln z = ln(mant) + exp·ln 2, accurate to a few 1e-16
// relative (ample for the 1e-13 checks).
func exBigLog(z *big.Float) float64 {
	mant := new(big.Float)
	e := z.MantExp(mant)
	mf, _ := mant.Float64()
	return math.Log(mf) + float64(e)*math.Ln2
}

func TestExBigExp(t *testing.T) {
	for _, x := range []float64{0, 1e-3, -0.7, 1, 2.5, -30, 700, 1600} {
		got := exBigExp(new(big.Float).SetFloat64(x), exPrec)
		if want := math.Exp(x); !math.IsInf(want, 0) {
			g, _ := got.Float64()
			if math.Abs(g-want) > 2e-16*want {
				t.Errorf("exp(%g) = %v, want %v", x, g, want)
			}
		}
		if lg := exBigLog(got); math.Abs(lg-x) > 4e-16*math.Max(1, math.Abs(x)) {
			t.Errorf("ln exp(%g) = %.17g", x, lg)
		}
	}
	// e itself to 60 digits.
	e := exBigExp(new(big.Float).SetInt64(1), exPrec).Text('g', 60)
	if want := "2.71828182845904523536028747135266249775724709369995957496697"; e != want {
		t.Errorf("e = %s, want %s", e, want)
	}
}

// exCWBig is the independent high-precision Curie-Weiss reference: exact
// binomials as big.Int times big exponentials, summed at exPrec bits. It
// returns ln Z and the per-spin f, e, s, |m|.
func exCWBig(n int, p CWParams, beta float64) (lnZ, f, e, s, mabs float64) {
	fl := func(v float64) *big.Float { return new(big.Float).SetPrec(exPrec).SetFloat64(v) }
	in := func(v int64) *big.Float { return new(big.Float).SetPrec(exPrec).SetInt64(v) }
	bJ, bH, bB, bN := fl(p.J), fl(p.H), fl(beta), in(int64(n))
	Z, EH, EM := in(0), in(0), in(0)
	binom := big.NewInt(1)
	for k := 0; k <= n; k++ {
		M := int64(n - 2*k)
		// H = -J (M² - n)/(2n) - h M
		pair := in(M*M - int64(n))
		pair.Quo(pair, new(big.Float).Mul(in(2), bN))
		H := new(big.Float).SetPrec(exPrec).Mul(bJ, pair)
		H.Add(H, new(big.Float).SetPrec(exPrec).Mul(bH, in(M)))
		H.Neg(H)
		arg := new(big.Float).SetPrec(exPrec).Mul(bB, H)
		arg.Neg(arg)
		w := exBigExp(arg, exPrec)
		w.Mul(w, new(big.Float).SetPrec(exPrec).SetInt(binom))
		Z.Add(Z, w)
		EH.Add(EH, new(big.Float).SetPrec(exPrec).Mul(w, H))
		EM.Add(EM, new(big.Float).SetPrec(exPrec).Mul(w, in(max(M, -M))))
		// C(n, k+1) = C(n, k)(n-k)/(k+1), exact in integers.
		binom.Mul(binom, big.NewInt(int64(n-k)))
		binom.Quo(binom, big.NewInt(int64(k+1)))
	}
	EH.Quo(EH, Z)
	EM.Quo(EM, Z)
	lnZ = exBigLog(Z)
	meanH, _ := EH.Float64()
	meanM, _ := EM.Float64()
	nf := float64(n)
	// s = (β<H> + ln Z)/N: the big <H> keeps this accurate unless the two
	// terms nearly cancel (checked against the magnitude of ln Z below).
	return lnZ, -lnZ / (beta * nf), meanH / nf, (beta*meanH + lnZ) / nf, meanM / nf
}

func exRel(got, want float64) float64 {
	if got == want {
		return 0
	}
	return math.Abs(got-want) / math.Abs(want)
}

func TestCWExactAgainstBigFloat(t *testing.T) {
	for _, n := range []int{20, 100, 1000} {
		for _, h := range []float64{0, 0.3} {
			for _, beta := range []float64{0.1, 0.5, 1, 1.3, 2} {
				p := CWParams{J: 1, H: h}
				lnZ, f, e, s, mabs := exCWBig(n, p, beta)
				got := mustCW(t, n, p, beta)
				if got.Beta != beta {
					t.Errorf("Beta = %v, want %v", got.Beta, beta)
				}
				if r := exRel(got.F, f); r > 1e-13 {
					t.Errorf("N=%d h=%g β=%g: f = %.17g, big %.17g (rel %.2g)", n, h, beta, got.F, f, r)
				}
				if r := exRel(got.LnZ, lnZ); r > 1e-13 {
					t.Errorf("N=%d h=%g β=%g: ln Z = %.17g, big %.17g (rel %.2g)", n, h, beta, got.LnZ, lnZ, r)
				}
				if r := exRel(got.E, e); r > 1e-13 {
					t.Errorf("N=%d h=%g β=%g: e = %.17g, big %.17g (rel %.2g)", n, h, beta, got.E, e, r)
				}
				if r := exRel(got.MAbs, mabs); r > 1e-13 {
					t.Errorf("N=%d h=%g β=%g: |m| = %.17g, big %.17g (rel %.2g)", n, h, beta, got.MAbs, mabs, r)
				}
				// The reference s carries an absolute error ~ε|ln Z|/N.
				if d := math.Abs(got.S - s); d > 1e-13*math.Max(math.Abs(s), math.Abs(lnZ)/float64(n)) {
					t.Errorf("N=%d h=%g β=%g: s = %.17g, big %.17g", n, h, beta, got.S, s)
				}
			}
		}
	}
}

func TestCWExactSmallAndLimits(t *testing.T) {
	// N = 1: Z = 2 cosh(βh), no pairs.
	got := mustCW(t, 1, CWParams{J: 1, H: 0.7}, 0.9)
	if want := math.Log(2 * math.Cosh(0.9*0.7)); exRel(got.LnZ, want) > 1e-15 {
		t.Errorf("N=1 ln Z = %v, want %v", got.LnZ, want)
	}
	if want := -0.7 * math.Tanh(0.63); exRel(got.E, want) > 1e-15 {
		t.Errorf("N=1 e = %v, want %v", got.E, want)
	}
	// β = 0: ln Z = N ln 2, s = ln 2, e = 0 for h = 0 (since <M²> = N), F = -Inf.
	z := mustCW(t, 50, CWParams{J: 1}, 0)
	if exRel(z.LnZ, 50*math.Ln2) > 1e-15 || exRel(z.S, math.Ln2) > 1e-15 || math.Abs(z.E) > 1e-16 || !math.IsInf(z.F, -1) {
		t.Errorf("β=0: %+v", z)
	}
	// Largest N: finite, and s within (0, ln 2].
	big := mustCW(t, MaxSpins, CWParams{J: 1}, 1.3)
	if !fmath.Finite(big.F) || big.S <= 0 || big.S > math.Ln2 || big.MAbs <= 0 || big.MAbs > 1 {
		t.Errorf("N=%d: %+v", MaxSpins, big)
	}
	// Invalid arguments give an *ArgError naming the argument; a bad β
	// matches ErrInvalidBeta, as Enumerate's does.
	for _, bad := range []struct {
		n    int
		p    CWParams
		beta float64
		arg  string
	}{{0, CWParams{J: 1}, 1, "N"}, {MaxSpins + 1, CWParams{J: 1}, 1, "N"}, {10, CWParams{J: math.NaN()}, 1, "J"},
		{10, CWParams{J: 1, H: math.Inf(1)}, 1, "H"}, {10, CWParams{J: 1}, -0.5, "Beta"}, {10, CWParams{J: 1}, math.NaN(), "Beta"},
		{10, CWParams{J: 1}, math.Inf(1), "Beta"}} {
		_, err1 := CWExact(bad.n, bad.p, bad.beta)
		_, err2 := CWMagnetisation(bad.n, bad.p, bad.beta)
		errs := []error{err1, err2}
		if bad.arg != "N" {
			_, err3 := CWMeanField(bad.p, bad.beta)
			errs = append(errs, err3)
		}
		for _, err := range errs {
			var ae *ArgError
			if !errors.As(err, &ae) || ae.Arg != bad.arg {
				t.Errorf("n=%d %+v β=%v: error %v, want an *ArgError for %s", bad.n, bad.p, bad.beta, err, bad.arg)
			}
			if errors.Is(err, ErrInvalidBeta) != (bad.arg == "Beta") {
				t.Errorf("n=%d %+v β=%v: errors.Is(%v, ErrInvalidBeta) = %v", bad.n, bad.p, bad.beta, err, !(bad.arg == "Beta"))
			}
		}
	}
}

// mustCW is CWExact for arguments the test knows to be valid.
func mustCW(t testing.TB, n int, p CWParams, beta float64) Thermo {
	t.Helper()
	th, err := CWExact(n, p, beta)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

// mustMF is CWMeanField for arguments the test knows to be valid.
func mustMF(t testing.TB, p CWParams, beta float64) Thermo {
	t.Helper()
	th, err := CWMeanField(p, beta)
	if err != nil {
		t.Fatal(err)
	}
	return th
}

func TestCheckBeta(t *testing.T) {
	for _, b := range []float64{0, 1e-300, 1, 2, 1e6} {
		if err := CheckBeta(b); err != nil {
			t.Errorf("CheckBeta(%v) = %v", b, err)
		}
	}
	for _, b := range []float64{-1e-300, -1, math.NaN(), math.Inf(1), math.Inf(-1)} {
		if err := CheckBeta(b); !errors.Is(err, ErrInvalidBeta) {
			t.Errorf("CheckBeta(%v) = %v, want an error matching ErrInvalidBeta", b, err)
		}
	}
}

func TestCWMagnetisation(t *testing.T) {
	for _, h := range []float64{0, 0.3, -0.2} {
		for _, beta := range []float64{0.5, 1, 1.7} {
			n := 40
			p := CWParams{J: 1, H: h}
			pm, err := CWMagnetisation(n, p, beta)
			if err != nil {
				t.Fatal(err)
			}
			if len(pm) != n+1 {
				t.Fatalf("len = %d, want %d", len(pm), n+1)
			}
			sum, mabs := 0.0, 0.0
			for k, v := range pm {
				if v < 0 {
					t.Fatalf("P[%d] = %v < 0", k, v)
				}
				sum += v
				mabs += v * math.Abs(float64(n-2*k)) / float64(n)
			}
			if math.Abs(sum-1) > 1e-14 {
				t.Errorf("h=%g β=%g: Σ P = %v", h, beta, sum)
			}
			if r := exRel(mabs, mustCW(t, n, p, beta).MAbs); r > 1e-14 {
				t.Errorf("h=%g β=%g: |m| from the distribution differs from CWExact by %.2g", h, beta, r)
			}
			// P(M) ∝ C(n,k) e^{-βH(M)}: the ratio of neighbours is known exactly.
			for k := 0; k < n; k++ {
				M0, M1 := float64(n-2*k), float64(n-2*k-2)
				want := math.Log(float64(n-k)/float64(k+1)) - beta*(cwEnergy(p, n, M1)-cwEnergy(p, n, M0))
				if d := math.Log(pm[k+1]/pm[k]) - want; math.Abs(d) > 1e-12 {
					t.Fatalf("h=%g β=%g: ln P[%d]/P[%d] off by %.2g", h, beta, k+1, k, d)
				}
			}
			if h == 0 {
				for k := range pm {
					if exRel(pm[k], pm[n-k]) > 1e-14 {
						t.Fatalf("β=%g: P not symmetric at k=%d", beta, k)
					}
				}
			}
		}
	}
}

func TestLnBinomRow(t *testing.T) {
	for _, n := range []int{1, 2, 3, 7, 60, 61, 1000} {
		row := lnBinomRow(n)
		c := big.NewInt(1)
		for k := 0; k <= n; k++ {
			want := exBigLog(new(big.Float).SetPrec(exPrec).SetInt(c))
			if d := math.Abs(row[k] - want); d > 1e-15*math.Max(1, want) {
				t.Errorf("ln C(%d,%d) = %.17g, want %.17g", n, k, row[k], want)
			}
			c.Mul(c, big.NewInt(int64(n-k)))
			c.Quo(c, big.NewInt(int64(k+1)))
		}
	}
}

func TestCWMeanField(t *testing.T) {
	for _, p := range []CWParams{{1, 0}, {1, 0.3}, {1, -0.3}, {0.5, 0.1}, {-1, 0.4}, {2, 0}} {
		for _, beta := range []float64{0.1, 0.5, 0.99, 1, 1.01, 1.3, 2, 10} {
			r := mustMF(t, p, beta)
			m := CWMeanFieldM(p, beta)
			if math.Abs(m-math.Tanh(beta*(p.J*m+p.H))) > 1e-14 {
				t.Errorf("J=%g h=%g β=%g: m=%v does not solve m = tanh(β(Jm+h))", p.J, p.H, beta, m)
			}
			if p.H != 0 && m*p.H < 0 {
				t.Errorf("J=%g h=%g β=%g: m=%v against the field", p.J, p.H, beta, m)
			}
			if !math.IsNaN(r.LnZ) || r.MAbs != math.Abs(m) || r.Beta != beta {
				t.Errorf("J=%g h=%g β=%g: %+v", p.J, p.H, beta, r)
			}
			if d := r.S - beta*(r.E-r.F); math.Abs(d) > 1e-14 {
				t.Errorf("J=%g h=%g β=%g: s - β(e-f) = %v", p.J, p.H, beta, d)
			}
			// The chosen root minimises the Landau free energy over m.
			phi := func(m float64) float64 { return -(cwEntropy(m)/beta + p.J*m*m/2 + p.H*m) }
			for i := -1000; i <= 1000; i++ {
				if v := phi(float64(i) / 1000); v < r.F-1e-14 {
					t.Fatalf("J=%g h=%g β=%g: φ(%g) = %v below f = %v", p.J, p.H, beta, float64(i)/1000, v, r.F)
				}
			}
		}
	}
	// Paramagnet: m = 0 and f = -ln 2/β for βJ ≤ 1, h = 0.
	for _, beta := range []float64{0.1, 0.5, 0.9, 1} {
		r := mustMF(t, CWParams{J: 1}, beta)
		if r.MAbs != 0 || exRel(r.F, -math.Ln2/beta) > 1e-15 || r.E != 0 {
			t.Errorf("β=%g: %+v, want m=0, f=%v", beta, r, -math.Ln2/beta)
		}
	}
	// Ferromagnet just above the transition: m² ≈ 3(β-1) (Landau).
	r := mustMF(t, CWParams{J: 1}, 1.0001)
	if want := math.Sqrt(3 * 0.0001); math.Abs(r.MAbs-want) > 1e-5*want*100 {
		t.Errorf("β=1.0001: |m| = %v, want ≈ %v", r.MAbs, want)
	}
}

// TestCWExactApproachesMeanField: f_N → f_∞ with corrections O(ln N / N),
// so the distance must shrink with N and be small at N = 20000.
func TestCWExactApproachesMeanField(t *testing.T) {
	for _, p := range []CWParams{{1, 0}, {1, 0.3}} {
		for _, beta := range []float64{0.5, 1.3, 2} {
			inf := mustMF(t, p, beta)
			prev := math.Inf(1)
			for _, n := range []int{100, 1000, 5000, 20000} {
				d := math.Abs(mustCW(t, n, p, beta).F - inf.F)
				if d >= prev {
					t.Errorf("J=%g h=%g β=%g: |f_N - f_∞| = %.3g at N=%d, not below %.3g", p.J, p.H, beta, d, n, prev)
				}
				prev = d
			}
			if prev > 5e-4 {
				t.Errorf("J=%g h=%g β=%g: |f_20000 - f_∞| = %.3g", p.J, p.H, beta, prev)
			}
			if d := math.Abs(mustCW(t, 20000, p, beta).MAbs - inf.MAbs); d > 1e-2 {
				t.Errorf("J=%g h=%g β=%g: |m| at N=20000 differs from the mean field by %.3g", p.J, p.H, beta, d)
			}
		}
	}
}
