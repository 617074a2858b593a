package kconst

import (
	"math"
	"math/big"
	"strings"
	"testing"
)

// TestLn2 checks the 256-bit ln 2 against its leading digits and the split
// against math.Ln2.
func TestLn2(t *testing.T) {
	const digits = "0.693147180559945309417232121458176568075500134360255254120680009493393621969694" // 78 digits ≈ 259 bits
	if got := Ln2().Text('f', 76); got[:72] != digits[:72] {                                          // 70 digits, away from the rounding of the last
		t.Errorf("Ln2 = %s, want %s", got, digits)
	}
	hi, lo := Ln2HiLo()
	if hi != math.Ln2 || lo == 0 || math.Abs(lo) > 0x1p-53*hi {
		t.Errorf("Ln2HiLo = %v, %v", hi, lo)
	}
}

// errorOn returns max |f(x) - p(x)| over n+1 evenly spaced points of [a, b],
// both evaluated in 200-bit arithmetic, with p's exact coefficients.
func errorOn(c []*big.Rat, f func(x *big.Float) *big.Float, a, b float64, n int) float64 {
	const prec = 200
	worst := 0.0
	for i := 0; i <= n; i++ {
		x := new(big.Float).SetPrec(prec).SetFloat64(a + (b-a)*float64(i)/float64(n))
		p := new(big.Float).SetPrec(prec)
		for j := len(c) - 1; j >= 0; j-- {
			p.Mul(p, x)
			p.Add(p, new(big.Float).SetPrec(prec).SetRat(c[j]))
		}
		d, _ := new(big.Float).SetPrec(prec).Sub(p, f(x)).Float64()
		worst = math.Max(worst, math.Abs(d))
	}
	return worst
}

func bigExpSeries(x *big.Float) *big.Float {
	sum := new(big.Float).SetPrec(x.Prec()).SetInt64(1)
	term := new(big.Float).SetPrec(x.Prec()).SetInt64(1)
	for i := int64(1); i < 60; i++ {
		term.Mul(term, x)
		term.Quo(term, new(big.Float).SetInt64(i))
		sum.Add(sum, term)
	}
	return sum
}

// atanhQ is Q(s) = Σ 2 s^i/(2i+3) for 0 ≤ s ≤ 1/9, summed to 200 bits.
func atanhQ(s *big.Float) *big.Float {
	sum := new(big.Float).SetPrec(s.Prec())
	pow := new(big.Float).SetPrec(s.Prec()).SetInt64(1)
	for i := int64(0); i < 70; i++ {
		sum.Add(sum, new(big.Float).SetPrec(s.Prec()).Quo(new(big.Float).Mul(pow, big.NewFloat(2)), new(big.Float).SetInt64(2*i+3)))
		pow.Mul(pow, s)
	}
	return sum
}

// TestPolynomials checks each fit against its function: the stated bound
// must hold where it is claimed (sampled), must be below what the kernels
// need, and must not be grossly pessimistic (which would hide a wrong fit).
// (Rounding the coefficients to float64 and evaluating in float64 add
// errors of their own, which the kernel tests measure end to end.)
func TestPolynomials(t *testing.T) {
	c, bound := ExpPoly(ExpDegree)
	b, _ := bound.Float64()
	if b > 0x1p-57 {
		t.Errorf("exp polynomial bound %g > 2^-57", b)
	}
	h, _ := ExpPolyHalfWidth.Float64()
	if h < math.Ln2/2 {
		t.Errorf("exp fitted on ±%v, narrower than ±ln2/2", h)
	}
	if e := errorOn(c, bigExpSeries, -h, h, 2000); e > b || e < b/64 {
		t.Errorf("exp polynomial: sampled error %g, bound %g", e, b)
	} else {
		t.Logf("exp degree %d on ±%v: sampled error %.3g, bound %.3g", ExpDegree, h, e, b)
	}
	for _, fit := range []struct {
		name string
		sMax *big.Rat
		deg  int
	}{{"log1p", Log1pQMax, Log1pQDegree}, {"lnσ", LnSigQMax, LnSigQDegree}} {
		q, bound := AtanhPoly(fit.sMax, fit.deg)
		b, _ := bound.Float64()
		s, _ := fit.sMax.Float64()
		if rel := s * b / 2; rel > 0x1p-57 {
			t.Errorf("%s: Q's error moves ln(1+f) by up to %g relative > 2^-57", fit.name, rel)
		}
		if e := errorOn(q, atanhQ, 0, s, 2000); e > b || e < b/64 {
			t.Errorf("%s: Q sampled error %g, bound %g", fit.name, e, b)
		} else {
			t.Logf("%s: Q degree %d on [0, %.4g]: sampled error %.3g, bound %.3g", fit.name, fit.deg, s, e, b)
		}
		// one degree less would not do
		if _, lower := AtanhPoly(fit.sMax, fit.deg-1); func() bool { l, _ := lower.Float64(); return s*l/2 < 0x1p-57 }() {
			t.Errorf("%s: degree %d would meet the bound too", fit.name, fit.deg-1)
		}
	}
	// the log1p range: |t| ≤ 3-2√2 means s ≤ 17-12√2 ≈ 0.029437 ≤ Log1pQMax
	if s, _ := Log1pQMax.Float64(); s < 17-12*math.Sqrt2 {
		t.Errorf("Log1pQMax %v below the reduced range", s)
	}
}

// TestChebyshev checks T_5 and T*_2 against their closed forms.
func TestChebyshev(t *testing.T) {
	want := []int64{0, 5, 0, -20, 0, 16}
	for i, c := range chebyshev(5, false) {
		if c.Int64() != want[i] {
			t.Fatalf("T_5 coefficient %d = %v, want %d", i, c, want[i])
		}
	}
	want = []int64{1, -8, 8} // T_2(2x-1) = 2(2x-1)² - 1 = 8x² - 8x + 1
	for i, c := range chebyshev(2, true) {
		if c.Int64() != want[i] {
			t.Fatalf("T*_2 coefficient %d = %v, want %d", i, c, want[i])
		}
	}
}

// TestTable checks the table's layout rules: names unique, numbers before
// masks, every non-mask a finite number that is not -0 (the generator writes
// them as Go constants).
func TestTable(t *testing.T) {
	seen := map[string]bool{}
	masks := false
	for _, e := range Table() {
		if seen[e.Name] {
			t.Errorf("%s twice", e.Name)
		}
		seen[e.Name] = true
		if e.Mask {
			masks = true
		} else if masks {
			t.Errorf("number %s after the masks", e.Name)
		}
		if !e.Mask && (math.IsInf(e.Val, 0) || math.IsNaN(e.Val) || (e.Val == 0 && math.Signbit(e.Val))) {
			t.Errorf("%s = %v must be a mask", e.Name, e.Val)
		}
	}
}

// TestTableValues checks every entry of Table against its definition: the
// fitted coefficients are the fits' (rounded once), the other numbers and
// the masks are what their documentation says.
func TestTableValues(t *testing.T) {
	want := map[string]float64{
		"One": 1, "Two": 2, "Half": 0.5, "Zero": 0, "MinusOne": -1, "ExpMin": -1000, "ExpMax": 1000,
		"Log2E": math.Log2E, "Shift": 0x1.8p52, "Ln2Hi": math.Ln2, "Sqrt2": math.Sqrt2, "Tiny": 0x1p-54,
		"Magic": 0x1p52, "MagicBias": 0x1p52 + 1023,
		"Sign": math.Float64frombits(0x8000_0000_0000_0000), "Abs": math.Float64frombits(0x7FFF_FFFF_FFFF_FFFF),
		"Mant": math.Float64frombits(0x000F_FFFF_FFFF_FFFF), "Bias": math.Float64frombits(1023),
		"NaN": math.Float64frombits(0x7FF8_0000_0000_0001), "Inf": math.Inf(1), "NegInf": math.Inf(-1),
	}
	_, lo := Ln2HiLo()
	want["Ln2Lo"] = lo
	fits := []struct {
		prefix string
		first  int
		c      []*big.Rat
	}{{"ExpC", 2, nil}, {"Log1pQ", 0, nil}, {"LnSigQ", 0, nil}}
	fits[0].c, _ = ExpPoly(ExpDegree)
	fits[0].c = fits[0].c[2:]
	fits[1].c, _ = AtanhPoly(Log1pQMax, Log1pQDegree)
	fits[2].c, _ = AtanhPoly(LnSigQMax, LnSigQDegree)
	for _, f := range fits {
		for i, c := range f.c {
			want[f.prefix+itoa(f.first+i)], _ = c.Float64()
		}
	}
	masks := map[string]bool{"Sign": true, "Abs": true, "Mant": true, "Bias": true, "NaN": true, "Inf": true, "NegInf": true}
	table := Table()
	if len(table) != len(want) {
		t.Errorf("%d entries, want %d", len(table), len(want))
	}
	for _, e := range table {
		w, ok := want[e.Name]
		if !ok {
			t.Errorf("unexpected entry %s", e.Name)
			continue
		}
		if math.Float64bits(e.Val) != math.Float64bits(w) || e.Mask != masks[e.Name] {
			t.Errorf("%s = %v (%#x, mask %v), want %v (%#x, mask %v)", e.Name, e.Val, math.Float64bits(e.Val), e.Mask, w, math.Float64bits(w), masks[e.Name])
		}
	}
	// the generated file's comments name the coefficients
	for _, e := range table {
		if e.Name == "ExpC11" && !strings.Contains(e.Doc, "r^11") || e.Name == "LnSigQ9" && !strings.Contains(e.Doc, "2/21") {
			t.Errorf("%s: doc %q", e.Name, e.Doc)
		}
	}
}
