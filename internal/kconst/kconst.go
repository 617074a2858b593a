// Package kconst derives, in exact rational and 256-bit floating-point
// arithmetic, every constant the assembly kernels of package h2arnn read: the
// two-part split of ln 2, the coefficients of the exp and log1p polynomials
// and the masks, in the order of the table the assembly indexes.
//
// It is the generator of that table (the program in _gen writes
// kernels_consts_amd64.go from Table, as hexadecimal float literals) and the
// oracle of the test that recomputes the committed table bit for bit. The
// h2arnn package itself never imports it, so no process pays for math/big at
// start-up.
//
// Every polynomial is fitted here, from its Taylor series, by Chebyshev
// economization in exact rational arithmetic; nothing is copied from a
// published table. The bounds returned with each fit are rigorous bounds on
// the approximation error of the exact-coefficient polynomial; rounding the
// coefficients to float64 and evaluating in float64 adds the errors that the
// kernel tests measure against correctly rounded references.
package kconst

import (
	"math"
	"math/big"
)

// Ln2 returns ln 2 to 256 bits, from ln 2 = Σ_{j≥1} 1/(j·2^j).
func Ln2() *big.Float {
	const prec = 256
	sum := new(big.Float).SetPrec(prec)
	pow := new(big.Float).SetPrec(prec).SetInt64(1)
	two := new(big.Float).SetPrec(prec).SetInt64(2)
	for j := int64(1); j <= 300; j++ {
		pow.Quo(pow, two)
		sum.Add(sum, new(big.Float).SetPrec(prec).Quo(pow, new(big.Float).SetPrec(prec).SetInt64(j)))
	}
	return sum
}

// Ln2HiLo returns hi, the float64 nearest to ln 2, and lo, the float64
// nearest to ln 2 - hi: n·hi + n·lo carries ln 2 to ~106 bits. (hi has 53
// significant bits, so n·hi is exact only for small n; the kernels subtract
// it with an FMA, which needs no exact product.)
func Ln2HiLo() (hi, lo float64) {
	ln2 := Ln2()
	hi, _ = ln2.Float64()
	lo, _ = new(big.Float).SetPrec(256).Sub(ln2, big.NewFloat(hi)).Float64()
	return hi, lo
}

// ExpPolyHalfWidth is the half-width h of the interval [-h, h] the exp
// polynomial is fitted on: the reduced argument r = x - n·ln 2 has
// |r| ≤ ln2/2 ≈ 0.3466, and 0.35 leaves a margin for the rounding of n·ln 2.
var ExpPolyHalfWidth = big.NewRat(7, 20)

// ExpDegree is the degree of the exp polynomial: the smallest whose bound
// (ExpPoly) is below 0.05 ulp of 1.
const ExpDegree = 11

// ExpPoly returns c_0..c_deg of a near-minimax polynomial for e^r on [-h, h]
// (h = ExpPolyHalfWidth) and a bound on its absolute error there. It starts
// from the degree-24 Taylor polynomial and removes the top terms one at a
// time by Chebyshev economization: a_d r^d is replaced by a_d(r^d - S_d(r)),
// S_d(r) = h^d T_d(r/h)/2^(d-1) being the monic scaled Chebyshev polynomial,
// which moves the polynomial by at most |a_d| h^d/2^(d-1) on the interval.
// The bound adds those moves to the Taylor remainder (≤ 2 h^25/25!).
func ExpPoly(deg int) (c []*big.Rat, bound *big.Rat) {
	const m = 24
	a := make([]*big.Rat, m+1)
	fact := big.NewInt(1)
	for i := 0; i <= m; i++ {
		if i > 0 {
			fact.Mul(fact, big.NewInt(int64(i)))
		}
		a[i] = new(big.Rat).SetFrac(big.NewInt(1), fact)
	}
	fact.Mul(fact, big.NewInt(m+1))
	h := ExpPolyHalfWidth
	bound = new(big.Rat).Mul(big.NewRat(2, 1), new(big.Rat).Quo(ratPow(h, m+1), new(big.Rat).SetInt(fact)))
	// On [-h, h] the Chebyshev polynomial of degree d in r/h, made monic:
	// h^d T_d(r/h)/2^(d-1).
	monic := func(d int) []*big.Rat { return scaledMonic(chebyshev(d, false), h, d-1) }
	return economize(a, deg, monic, bound)
}

// AtanhQ(s) = Σ_{i≥0} 2 s^i/(2i+3) is the series with
//
//	2·atanh(t) = 2t + t·s·Q(s),  s = t²,
//
// which is how the kernels evaluate ln(1+f) = 2·atanh(f/(2+f)):
// with t = f/(2+f) (so 2t = f - t·f), ln(1+f) = f - t·(f - s·Q(s)).
//
// Log1pQMax is the largest s of the log1p kernel: its reduced argument
// f = m-1, m ∈ [√2/2, √2), gives |t| ≤ 3-2√2 ≈ 0.17157, s ≤ 0.029437.
// LnSigQMax is the largest s of the lnσ kernels: they take ln(1+e) for
// e = exp(-|z|) ∈ [0, 1] without a range split, so t = e/(2+e) ≤ 1/3.
var (
	Log1pQMax = big.NewRat(3, 100)
	LnSigQMax = big.NewRat(1, 9)
)

// Degrees of the two Q fits: the smallest for which the error they add to
// ln(1+f), relative, is below 2^-57 (see AtanhPoly's bound).
const (
	Log1pQDegree = 6
	LnSigQDegree = 9
)

// AtanhPoly returns the coefficients q_0..q_deg of a near-minimax polynomial
// for AtanhQ on [0, sMax] and a bound on its absolute error there. It
// economizes the Taylor series truncated after 60 terms (remainder
// ≤ 2 sMax^61/(125(1-sMax)), added to the bound) with the shifted
// Chebyshev polynomials T_d(2s/sMax - 1), whose monic forms have maximum
// sMax^d/2^(2d-1) on [0, sMax]. An error δ in Q moves ln(1+f) by t·s·δ, i.e.
// by at most sMax·δ/2 relative to ln(1+f) ≈ 2t.
func AtanhPoly(sMax *big.Rat, deg int) (q []*big.Rat, bound *big.Rat) {
	const m = 60
	a := make([]*big.Rat, m+1)
	for i := range a {
		a[i] = big.NewRat(2, int64(2*i+3))
	}
	// Taylor remainder: Σ_{i>m} 2 s^i/(2i+3) ≤ 2 sMax^(m+1) / ((2m+5)(1-sMax)).
	bound = new(big.Rat).Mul(big.NewRat(2, 2*m+5), ratPow(sMax, m+1))
	bound.Quo(bound, new(big.Rat).Sub(big.NewRat(1, 1), sMax))
	// T*_d(x) = T_d(2x-1) has leading coefficient 2^(2d-1); with x = s/sMax,
	// the monic form in s is sMax^d T*_d(s/sMax)/2^(2d-1).
	monic := func(d int) []*big.Rat { return scaledMonic(chebyshev(d, true), sMax, 2*d-1) }
	return economize(a, deg, monic, bound)
}

// economize lowers the polynomial a (coefficients of x^0..x^m, modified in
// place) to degree deg: for d = m..deg+1 it subtracts a_d times the monic
// polynomial monic(d) (coefficients 0..d, then its maximum modulus on the
// interval), which cancels the x^d term, and adds |a_d|·max to bound.
func economize(a []*big.Rat, deg int, monic func(d int) []*big.Rat, bound *big.Rat) ([]*big.Rat, *big.Rat) {
	for d := len(a) - 1; d > deg; d-- {
		ad := new(big.Rat).Set(a[d])
		s := monic(d)
		for i := 0; i <= d; i++ {
			a[i].Sub(a[i], new(big.Rat).Mul(ad, s[i]))
		}
		bound.Add(bound, new(big.Rat).Mul(new(big.Rat).Abs(ad), s[d+1]))
	}
	return a[:deg+1], bound
}

// scaledMonic returns the coefficients of h^d·t(x/h)/2^e, t being a
// polynomial of degree d with integer coefficients t_i (lowest first) and
// leading coefficient 2^e, followed by its maximum modulus h^d/2^e on the
// interval where |t| ≤ 1.
func scaledMonic(t []*big.Int, h *big.Rat, e int) []*big.Rat {
	d := len(t) - 1
	scale := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Lsh(big.NewInt(1), uint(e)))
	s := make([]*big.Rat, 0, d+2)
	for i, ti := range t {
		c := new(big.Rat).Mul(new(big.Rat).SetInt(ti), ratPow(h, d-i))
		s = append(s, c.Mul(c, scale))
	}
	return append(s, new(big.Rat).Mul(ratPow(h, d), scale))
}

// chebyshev returns the integer coefficients of T_n(x), or with shifted set
// of T*_n(x) = T_n(2x-1), lowest power first.
func chebyshev(n int, shifted bool) []*big.Int {
	x := []*big.Int{big.NewInt(0), big.NewInt(1)} // the argument: x or 2x-1
	if shifted {
		x = []*big.Int{big.NewInt(-1), big.NewInt(2)}
	}
	prev, cur := []*big.Int{big.NewInt(1)}, x
	if n == 0 {
		return prev
	}
	for k := 1; k < n; k++ {
		next := make([]*big.Int, len(cur)+1)
		for i := range next {
			next[i] = new(big.Int)
		}
		for i, c := range cur { // 2·arg·T_k
			for j, xa := range x {
				next[i+j].Add(next[i+j], new(big.Int).Mul(new(big.Int).Lsh(c, 1), xa))
			}
		}
		for i, c := range prev { // - T_{k-1}
			next[i].Sub(next[i], c)
		}
		prev, cur = cur, next
	}
	return cur
}

func ratPow(x *big.Rat, n int) *big.Rat {
	p := big.NewRat(1, 1)
	for range n {
		p.Mul(p, x)
	}
	return p
}

// Entry is one constant of the kernels' table.
type Entry struct {
	Name string  // identifier suffix: the table index is kc<Name>
	Doc  string  // what it is, for the generated file
	Val  float64 // the value (for a mask, the float64 with those bits)
	Mask bool    // a bit pattern used by logical or integer instructions
}

// Table returns the constants in table order: numbers first, then masks
// (bit patterns, and the values that are no Go constant: NaN, ±Inf), which
// the generator writes as integers.
func Table() []Entry {
	hi, lo := Ln2HiLo()
	e := []Entry{
		{Name: "One", Doc: "1", Val: 1},
		{Name: "Two", Doc: "2", Val: 2},
		{Name: "Half", Doc: "0.5", Val: 0.5},
		{Name: "Zero", Doc: "0", Val: 0},
		{Name: "MinusOne", Doc: "-1", Val: -1},
		{Name: "ExpMin", Doc: "-1000: exp's argument clamp (e^-1000 underflows to 0)", Val: -1000},
		{Name: "ExpMax", Doc: "1000: exp's argument clamp (e^1000 overflows to +Inf)", Val: 1000},
		{Name: "Log2E", Doc: "log2 e, rounded", Val: math.Log2E},
		{Name: "Shift", Doc: "1.5·2^52: x + Shift rounds x to an integer held in the low mantissa bits", Val: 1.5 * (1 << 52)},
		{Name: "Ln2Hi", Doc: "ln 2 rounded to float64", Val: hi},
		{Name: "Ln2Lo", Doc: "ln 2 - Ln2Hi, rounded", Val: lo},
		{Name: "Sqrt2", Doc: "√2, rounded: log1p's split of the mantissa range", Val: math.Sqrt2},
		{Name: "Tiny", Doc: "2^-54: below it in magnitude, log1p(x) rounds to x", Val: 0x1p-54},
		{Name: "Magic", Doc: "2^52: or-ed into an integer's bits, gives 2^52 + integer", Val: 1 << 52},
		{Name: "MagicBias", Doc: "2^52 + 1023: removes Magic and the exponent bias", Val: 1<<52 + 1023},
	}
	c, _ := ExpPoly(ExpDegree)
	for i := 2; i <= ExpDegree; i++ {
		v, _ := c[i].Float64()
		e = append(e, Entry{Name: "ExpC" + itoa(i), Doc: "exp polynomial, coefficient of r^" + itoa(i) + " (≈ 1/" + itoa(i) + "!)", Val: v})
	}
	q, _ := AtanhPoly(Log1pQMax, Log1pQDegree)
	for i, r := range q {
		v, _ := r.Float64()
		e = append(e, Entry{Name: "Log1pQ" + itoa(i), Doc: "log1p's Q(s) on [0, 0.03], coefficient of s^" + itoa(i) + " (≈ 2/" + itoa(2*i+3) + ")", Val: v})
	}
	q, _ = AtanhPoly(LnSigQMax, LnSigQDegree)
	for i, r := range q {
		v, _ := r.Float64()
		e = append(e, Entry{Name: "LnSigQ" + itoa(i), Doc: "lnσ's Q(s) on [0, 1/9], coefficient of s^" + itoa(i) + " (≈ 2/" + itoa(2*i+3) + ")", Val: v})
	}
	return append(e,
		Entry{Name: "Sign", Doc: "the sign bit", Val: math.Float64frombits(1 << 63), Mask: true},
		Entry{Name: "Abs", Doc: "all bits but the sign", Val: math.Float64frombits(1<<63 - 1), Mask: true},
		Entry{Name: "Mant", Doc: "the 52 mantissa bits", Val: math.Float64frombits(1<<52 - 1), Mask: true},
		Entry{Name: "Bias", Doc: "the integer 1023, the exponent bias", Val: math.Float64frombits(1023), Mask: true},
		Entry{Name: "NaN", Doc: "a quiet NaN", Val: math.Float64frombits(0x7FF8_0000_0000_0001), Mask: true},
		Entry{Name: "Inf", Doc: "+Inf", Val: math.Inf(1), Mask: true},
		Entry{Name: "NegInf", Doc: "-Inf", Val: math.Inf(-1), Mask: true},
	)
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
