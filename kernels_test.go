package h2arnn

import (
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/h2arnn/h2arnn/internal/fmath"
)

// forEachAsm runs f as a subtest for every assembly set compiled into this
// build, with that set active (restored afterwards). A set the CPU or OS
// lacks is a skipped subtest that says so, never a silent pass.
func forEachAsm(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	if len(compiled) == 0 {
		t.Skip("no assembly kernel set in this build (noasm tag or not amd64): only the generic set, which is the oracle")
	}
	forSets(t, false, f)
}

// forEachSet is forEachAsm with the generic set as well.
func forEachSet(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	forSets(t, true, f)
}

func forSets(t *testing.T, generic bool, f func(t *testing.T)) {
	old := active.Load()
	defer active.Store(old)
	for _, c := range compiled {
		t.Run(c.set.name, func(t *testing.T) {
			if !slices.Contains(available, c.set) {
				t.Skipf("kernel set %s not tested: this CPU or OS lacks %s", c.set.name, c.set.needs)
			}
			active.Store(c.set)
			f(t)
		})
	}
	if generic {
		t.Run("generic", func(t *testing.T) {
			active.Store(&genericKernels)
			f(t)
		})
	}
}

// ordered maps a float64 to an integer that is monotone in its value, so
// that the difference of two is their distance in ulps (0 and -0 coincide).
func ordered(x float64) int64 {
	b := math.Float64bits(x)
	if b>>63 != 0 {
		return -int64(b &^ (1 << 63))
	}
	return int64(b)
}

// ulpDiff is the distance in ulps between got and want; 0 when both are NaN
// or equal infinities, MaxInt64 when exactly one is NaN.
func ulpDiff(got, want float64) int64 {
	if math.IsNaN(got) || math.IsNaN(want) {
		if math.IsNaN(got) && math.IsNaN(want) {
			return 0
		}
		return math.MaxInt64
	}
	d := ordered(got) - ordered(want)
	if d < 0 {
		d = -d
	}
	return d
}

const guardVal = -1234.5678 // sentinel around output slices

// guarded returns a buffer with n elements at offset off, surrounded by
// guard values, and the slice itself.
func guarded(off, n int) (buf, s []float64) {
	buf = make([]float64, off+n+8)
	for i := range buf {
		buf[i] = guardVal
	}
	return buf, buf[off : off+n]
}

func checkGuards(t *testing.T, what string, buf []float64, off, n int) {
	t.Helper()
	for i, v := range buf {
		if (i < off || i >= off+n) && v != guardVal {
			t.Fatalf("%s: off=%d n=%d: guard at %d overwritten with %v", what, off, n, i, v)
		}
	}
}

// randIn is a random input mixing moderate values, large magnitudes and zeros.
func randIn(rng *rand.Rand) float64 {
	switch rng.IntN(8) {
	case 0:
		return (rng.Float64()*2 - 1) * 800
	case 1:
		return 0
	default:
		return rng.NormFloat64() * 5
	}
}

// TestUnaryVsGeneric checks the elementwise kernels against the generic twin
// on every length 0..67 and every start offset 0..7, with guard elements and
// in-place (aliased) use.
func TestUnaryVsGeneric(t *testing.T) {
	kernels := []struct {
		name   string
		get    func(s *kernelSet) func(dst, x []float64)
		maxUlp int64
		in     func(rng *rand.Rand) float64
	}{
		{"Exp", func(s *kernelSet) func(dst, x []float64) { return s.exp }, 2, randIn},
		{"Log1p", func(s *kernelSet) func(dst, x []float64) { return s.log1p }, 2, func(rng *rand.Rand) float64 { return math.Abs(randIn(rng)) - 0.5 }},
		{"LogSigmoid", func(s *kernelSet) func(dst, x []float64) { return s.logSigmoid }, 4, randIn},
		{"Sigmoid", func(s *kernelSet) func(dst, x []float64) { return s.sigmoid }, 4, randIn},
	}
	forEachAsm(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, kn := range kernels {
			f, ref := kn.get(active.Load()), kn.get(&genericKernels)
			for n := 0; n <= 67; n++ {
				for off := 0; off < 8; off++ {
					x := make([]float64, n)
					for i := range x {
						x[i] = kn.in(rng)
					}
					want := make([]float64, n)
					ref(want, x)
					buf, dst := guarded(off, n)
					f(dst, x)
					checkGuards(t, kn.name, buf, off, n)
					for i := range dst {
						if d := ulpDiff(dst[i], want[i]); d > kn.maxUlp {
							t.Fatalf("%s(%v) = %v, generic %v (%d ulp)", kn.name, x[i], dst[i], want[i], d)
						}
					}
					// in place
					_, y := guarded(off, n)
					copy(y, x)
					f(y, y)
					for i := range y {
						if y[i] != dst[i] && !(math.IsNaN(y[i]) && math.IsNaN(dst[i])) {
							t.Fatalf("%s in place differs at %d: %v vs %v", kn.name, i, y[i], dst[i])
						}
					}
				}
			}
		}
	})
}

// accuracy measures the max ulp error of f against ref (the reference
// function's values at xs). Where they differ by more than 2 ulp, the input
// is re-checked against exact, a correctly rounded big-float evaluation
// (math.Exp on amd64 overflows to +Inf slightly below ln(MaxFloat64), for
// instance); those inputs count in refWrong when f is within 1 ulp of the
// exact value, else in maxUlp.
func accuracy(f func(dst, x []float64), ref []float64, exact func(float64) float64, xs []float64) (maxUlp int64, worst float64, refWrong int) {
	got := make([]float64, len(xs))
	f(got, xs)
	for i, x := range xs {
		d := ulpDiff(got[i], ref[i])
		if d > 2 {
			if e := ulpDiff(got[i], exact(x)); e <= 1 {
				refWrong++
				d = e
			}
		}
		if d > maxUlp {
			maxUlp, worst = d, x
		}
	}
	return maxUlp, worst, refWrong
}

// exactError is the max ulp distance of f from exact, the correctly rounded
// values at xs.
func exactError(f func(dst, x []float64), exact, xs []float64) (maxUlp int64, worst float64) {
	got := make([]float64, len(xs))
	f(got, xs)
	for i, x := range xs {
		if d := ulpDiff(got[i], exact[i]); d > maxUlp {
			maxUlp, worst = d, x
		}
	}
	return maxUlp, worst
}

// references evaluates f at every x, and exact at the first n.
func references(xs []float64, f, exact func(float64) float64, n int) (ref, ex []float64) {
	ref, ex = make([]float64, len(xs)), make([]float64, n)
	for i, x := range xs {
		ref[i] = f(x)
	}
	for i := range ex {
		ex[i] = exact(xs[i])
	}
	return ref, ex
}

const bigPrec = 128

// bigLn2 is ln 2 to bigPrec bits from Σ_{j≥1} 1/(j·2^j).
func bigLn2() *big.Float {
	sum := new(big.Float).SetPrec(bigPrec)
	pow := new(big.Float).SetPrec(bigPrec).SetInt64(1)
	two := new(big.Float).SetPrec(bigPrec).SetInt64(2)
	for j := int64(1); j <= bigPrec+20; j++ {
		pow.Quo(pow, two)
		term := new(big.Float).SetPrec(bigPrec).Quo(pow, new(big.Float).SetPrec(bigPrec).SetInt64(j))
		sum.Add(sum, term)
	}
	return sum
}

var testLn2 = bigLn2()

// bigExpFloat is e^x to bigPrec bits (x finite, |x| ≤ 1000): x = n·ln2 + r,
// Taylor series of e^r, times 2^n.
func bigExpFloat(x float64) *big.Float {
	n := math.Round(x / math.Ln2)
	r := new(big.Float).SetPrec(bigPrec).SetFloat64(x)
	r.Sub(r, new(big.Float).SetPrec(bigPrec).Mul(testLn2, big.NewFloat(n)))
	sum := new(big.Float).SetPrec(bigPrec).SetInt64(1)
	term := new(big.Float).SetPrec(bigPrec).SetInt64(1)
	for i := int64(1); i < 36; i++ { // |r| ≤ 0.35: 0.35^36/36! < 2^-190
		term.Mul(term, r)
		term.Quo(term, new(big.Float).SetInt64(i))
		sum.Add(sum, term)
	}
	return sum.SetMantExp(sum, int(n))
}

// bigExp is e^x correctly rounded to float64.
func bigExp(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return math.Exp(x)
	}
	if x > 1000 {
		return math.Inf(1)
	}
	if x < -1000 {
		return 0
	}
	v, _ := bigExpFloat(x).Float64()
	return v
}

// bigLn1pSmall is ln(1+e) to bigPrec bits for e ∈ [0, 1]: 2 atanh(e/(2+e)),
// or e - e²/2 when e < 2^-70 (relative error < e²/3 < 2^-140).
func bigLn1pSmall(e *big.Float) *big.Float {
	if e.Sign() == 0 || e.MantExp(nil) < -70 {
		h := new(big.Float).SetPrec(bigPrec).Mul(e, e)
		h.Quo(h, big.NewFloat(2))
		return h.Sub(e, h)
	}
	t := new(big.Float).SetPrec(bigPrec).Add(e, big.NewFloat(2))
	t.Quo(e, t)
	t2 := new(big.Float).SetPrec(bigPrec).Mul(t, t)
	sum := new(big.Float).SetPrec(bigPrec)
	pow := new(big.Float).SetPrec(bigPrec).Set(t)
	for i := int64(0); i < 45; i++ { // t² ≤ 1/9: 9^-45 < 2^-140
		sum.Add(sum, new(big.Float).SetPrec(bigPrec).Quo(pow, new(big.Float).SetInt64(2*i+1)))
		pow.Mul(pow, t2)
	}
	return sum.Mul(sum, big.NewFloat(2))
}

// bigNegAbsExp is e^{-|z|} to bigPrec bits, 0 beyond |z| > 1000 (where it
// is far below the smallest subnormal).
func bigNegAbsExp(z float64) *big.Float {
	if math.Abs(z) > 1000 {
		return new(big.Float).SetPrec(bigPrec)
	}
	return bigExpFloat(-math.Abs(z))
}

// bigLogSigmoid is lnσ(z) = min(z,0) - ln(1+e^{-|z|}) correctly rounded.
func bigLogSigmoid(z float64) float64 {
	if math.IsNaN(z) || math.IsInf(z, 0) {
		return fmath.LogSigmoid(z)
	}
	y := new(big.Float).SetPrec(bigPrec).SetFloat64(math.Min(z, 0))
	y.Sub(y, bigLn1pSmall(bigNegAbsExp(z)))
	v, _ := y.Float64()
	return v
}

// bigSigmoid is σ(z) = 1/(1+e^{-z}) correctly rounded.
func bigSigmoid(z float64) float64 {
	if math.IsNaN(z) || math.IsInf(z, 0) {
		return fmath.Sigmoid(z)
	}
	e := bigNegAbsExp(z)
	u := new(big.Float).SetPrec(bigPrec).Add(e, big.NewFloat(1))
	num := big.NewFloat(1)
	if z < 0 {
		num = e
	}
	v, _ := new(big.Float).SetPrec(bigPrec).Quo(num, u).Float64()
	return v
}

// bigLog1p is ln(1+x) correctly rounded to float64 (x > -1 finite):
// 1+x = 2^k·m exactly, m ∈ [√2/2, √2), ln m = 2atanh((m-1)/(m+1)).
func bigLog1p(x float64) float64 {
	if !(x > -1) || math.IsInf(x, 0) {
		return math.Log1p(x)
	}
	u := new(big.Float).SetPrec(2200).SetFloat64(x)
	u.Add(u, big.NewFloat(1))
	m := new(big.Float).SetPrec(2200)
	k := u.MantExp(m) // u = m·2^k, m ∈ [0.5, 1)
	if m.Cmp(big.NewFloat(math.Sqrt2/2)) < 0 {
		m.SetMantExp(m, 1)
		k--
	}
	num := new(big.Float).SetPrec(bigPrec).Sub(m, big.NewFloat(1))
	den := new(big.Float).SetPrec(bigPrec).Add(m, big.NewFloat(1))
	t := new(big.Float).SetPrec(bigPrec).Quo(num, den)
	t2 := new(big.Float).SetPrec(bigPrec).Mul(t, t)
	sum := new(big.Float).SetPrec(bigPrec)
	pow := new(big.Float).SetPrec(bigPrec).Set(t)
	for i := int64(0); i < 60; i++ { // t² ≤ 0.03: 0.03^60 < 2^-300
		term := new(big.Float).SetPrec(bigPrec).Quo(pow, new(big.Float).SetInt64(2*i+1))
		sum.Add(sum, term)
		pow.Mul(pow, t2)
	}
	sum.Mul(sum, big.NewFloat(2))
	sum.Add(sum, new(big.Float).SetPrec(bigPrec).Mul(testLn2, new(big.Float).SetInt64(int64(k))))
	v, _ := sum.Float64()
	return v
}

// expInputs is 10^7 inputs (10^6 with -short): random bit patterns (the
// whole double range incl. NaN, Inf, subnormals), uniform over the finite
// range of exp, small arguments, and the neighbourhoods of the edges.
func expInputs(short bool) []float64 {
	n := 10_000_000
	if short {
		n = 1_000_000
	}
	rng := rand.New(rand.NewPCG(3, 4))
	xs := make([]float64, 0, n+100)
	for len(xs) < n {
		switch rng.IntN(4) {
		case 0:
			xs = append(xs, math.Float64frombits(rng.Uint64()))
		case 1:
			xs = append(xs, -746+rng.Float64()*(710+746))
		case 2:
			xs = append(xs, (rng.Float64()*2-1)*math.Pow(10, -rng.Float64()*20))
		default:
			edge := []float64{709.782712893384, -745.1332191019411, -708.3964185322641, 0}[rng.IntN(4)]
			xs = append(xs, edge+(rng.Float64()*2-1)*1e-3)
		}
	}
	for _, v := range []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(),
		5e-324, -5e-324, 2.2250738585072014e-308, 709.782712893384, 709.7827128933841, 709.78,
		709.79, -745.13321910194110842, -745.1332191019412, -745.14, -708.39, -1000, 1000, 1e300, -1e300,
		math.MaxFloat64, -math.MaxFloat64, 1, -1, 0.5 * math.Ln2, -0.5 * math.Ln2} {
		xs = append(xs, v)
	}
	return xs
}

func log1pInputs(short bool) []float64 {
	n := 10_000_000
	if short {
		n = 1_000_000
	}
	rng := rand.New(rand.NewPCG(5, 6))
	xs := make([]float64, 0, n+100)
	for len(xs) < n {
		switch rng.IntN(5) {
		case 0:
			xs = append(xs, math.Float64frombits(rng.Uint64()))
		case 1:
			xs = append(xs, -1+rng.Float64()*11)
		case 2: // tiny and huge magnitudes
			xs = append(xs, math.Pow(10, -330+rng.Float64()*640))
		case 3: // near -1
			xs = append(xs, -1+math.Pow(10, -rng.Float64()*16))
		default: // around the √2 split and 0
			xs = append(xs, (rng.Float64()*2-1)*0.5)
		}
	}
	for _, v := range []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(),
		5e-324, -5e-324, 1e-300, -1e-300, 0x1p-54, -0x1p-54, 0x1p-53, math.Sqrt2 - 1, -1, -1 - 1e-16,
		-1.5, -1 + 0x1p-53, math.MaxFloat64, 1e308, 0x1p53, 1} {
		xs = append(xs, v)
	}
	return xs
}

// TestExpAccuracy: Exp within 2 ulp of math.Exp over 10^7 inputs (10^6
// with -short), within 1 ulp of the correctly rounded value on 20,000.
func TestExpAccuracy(t *testing.T) {
	testAccuracy(t, "Exp", Exp, math.Exp, bigExp, expInputs(testing.Short()))
}

// TestLog1pAccuracy: Log1p within 2 ulp of math.Log1p over 10^7 inputs
// (10^6 with -short), within 1 ulp of the correctly rounded value on 20,000.
func TestLog1pAccuracy(t *testing.T) {
	testAccuracy(t, "Log1p", Log1p, math.Log1p, bigLog1p, log1pInputs(testing.Short()))
}

func testAccuracy(t *testing.T, name string, f func(dst, x []float64), ref, exact func(float64) float64, xs []float64) {
	const nExact = 20000
	refs, exacts := references(xs, ref, exact, nExact)
	forEachAsm(t, func(t *testing.T) {
		m, w, rw := accuracy(f, refs, exact, xs)
		t.Logf("%s: %d inputs, max error %d ulp (at x=%v); %d inputs where the math package is > 2 ulp off and %s within 1 ulp of exact", name, len(xs), m, w, rw, name)
		if m > 2 {
			t.Errorf("%s max error %d ulp > 2 at x=%v", name, m, w)
		}
		if m, w := exactError(f, exacts, xs[:nExact]); m > 1 {
			t.Errorf("%s: %d ulp from the correctly rounded value at x=%v", name, m, w)
		} else {
			t.Logf("%s: max error %d ulp from the correctly rounded value over %d inputs", name, m, nExact)
		}
	})
}

// sigmoidInputs is n arguments of lnσ and σ: moderate, wide, small and
// huge magnitudes, both signs, and the values where the evaluation changes
// regime.
func sigmoidInputs(n int) []float64 {
	rng := rand.New(rand.NewPCG(11, 12))
	xs := []float64{0, math.Copysign(0, -1), 5e-324, -5e-324, 1e-300, 1, -1, 36, -36, 37.5, -745.2, 745.2,
		708, -708, 1000, -1000, 1e300, -1e300, math.Ln2, -math.Ln2}
	for len(xs) < n {
		switch rng.IntN(4) {
		case 0:
			xs = append(xs, rng.NormFloat64()*3)
		case 1:
			xs = append(xs, (rng.Float64()*2-1)*50)
		case 2:
			xs = append(xs, (rng.Float64()*2-1)*math.Pow(10, -rng.Float64()*20))
		default:
			xs = append(xs, (rng.Float64()*2-1)*800)
		}
	}
	return xs
}

// lnsigUlp and sigUlp are the documented accuracies of LogSigmoid and
// Sigmoid (every set), and of ChainForward's lnσ and σ(-pre) activations.
const (
	lnsigUlp = 2
	sigUlp   = 2
)

// TestSigmoidAccuracy holds LogSigmoid and Sigmoid of every set, and the
// activations of ChainForward, to their documented ulp bounds against
// correctly rounded big-float values (10^4 inputs, 2·10^5 with
// H2ARNN_LONG_TESTS=1).
func TestSigmoidAccuracy(t *testing.T) {
	n := 10_000
	if os.Getenv("H2ARNN_LONG_TESTS") != "" {
		n = 200_000
	}
	xs := sigmoidInputs(n)
	wantY, wantS, wantSNeg := make([]float64, len(xs)), make([]float64, len(xs)), make([]float64, len(xs))
	for i, x := range xs {
		wantY[i], wantS[i], wantSNeg[i] = bigLogSigmoid(x), bigSigmoid(x), bigSigmoid(-x)
	}
	worst := func(got, want []float64) (m int64, at float64) {
		for i := range got {
			if d := ulpDiff(got[i], want[i]); d > m {
				m, at = d, xs[i]
			}
		}
		return m, at
	}
	forEachSet(t, func(t *testing.T) {
		got := make([]float64, len(xs))
		LogSigmoid(got, xs)
		if m, at := worst(got, wantY); m > lnsigUlp {
			t.Errorf("LogSigmoid: %d ulp at z=%v (bound %d)", m, at, lnsigUlp)
		} else {
			t.Logf("LogSigmoid: max %d ulp from the correctly rounded value over %d inputs", m, len(xs))
		}
		Sigmoid(got, xs)
		if m, at := worst(got, wantS); m > sigUlp {
			t.Errorf("Sigmoid: %d ulp at z=%v (bound %d)", m, at, sigUlp)
		} else {
			t.Logf("Sigmoid: max %d ulp from the correctly rounded value over %d inputs", m, len(xs))
		}
		// k = 0, w_0 = 1, b_0 = 0: pre = f exactly, act = lnσ(f), σ(-f)
		r := len(xs)
		w, b, act := make([]float64, 2*r), make([]float64, r), make([]float64, 2*r)
		for i := range r {
			w[i] = 1
		}
		ChainForward(0, xs, w, b, act)
		if m, at := worst(act[:r], wantY); m > lnsigUlp {
			t.Errorf("ChainForward lnσ: %d ulp at z=%v (bound %d)", m, at, lnsigUlp)
		}
		if m, at := worst(act[r:], wantSNeg); m > sigUlp {
			t.Errorf("ChainForward σ(-pre): %d ulp at z=%v (bound %d)", m, at, sigUlp)
		} else {
			t.Logf("ChainForward σ(-pre): max %d ulp over %d inputs", m, len(xs))
		}
	})
}

// TestBigReferences checks the big-float oracles themselves against math.
func TestBigReferences(t *testing.T) {
	for _, x := range []float64{-700, -20, -1, -1e-10, 0, 1e-300, 0.3, 1, 10, 300, 709} {
		if d := ulpDiff(bigExp(x), math.Exp(x)); d > 1 {
			t.Errorf("bigExp(%v) = %v, math.Exp %v", x, bigExp(x), math.Exp(x))
		}
	}
	for _, x := range []float64{-0.999, -0.5, -1e-10, 1e-300, 0.3, 0.5, 1, 10, 1e300} {
		if d := ulpDiff(bigLog1p(x), math.Log1p(x)); d > 1 {
			t.Errorf("bigLog1p(%v) = %v, math.Log1p %v", x, bigLog1p(x), math.Log1p(x))
		}
	}
	// lnσ and σ from their definitions in float64, where those are accurate
	for _, z := range []float64{-700, -30, -2, -0.5, 0, 0.5, 2, 30, 700} {
		y := -math.Log1p(math.Exp(-z))
		if z < 0 {
			y = z - math.Log1p(math.Exp(z))
		}
		if d := ulpDiff(bigLogSigmoid(z), y); d > 2 {
			t.Errorf("bigLogSigmoid(%v) = %v, float64 %v", z, bigLogSigmoid(z), y)
		}
		if d := ulpDiff(bigSigmoid(z), 1/(1+math.Exp(-z))); d > 2 && z > -30 {
			t.Errorf("bigSigmoid(%v) = %v, float64 %v", z, bigSigmoid(z), 1/(1+math.Exp(-z)))
		}
	}
	if bigLogSigmoid(0) != -math.Ln2 || bigSigmoid(0) != 0.5 || bigSigmoid(-700) != math.Exp(-700)/(1+math.Exp(-700)) {
		t.Errorf("bigLogSigmoid(0) = %v, bigSigmoid(0) = %v", bigLogSigmoid(0), bigSigmoid(0))
	}
}

// TestSpecialValues checks the documented special cases bit for bit
// (including the sign of zero), in every set.
func TestSpecialValues(t *testing.T) {
	negZero := math.Copysign(0, -1)
	cases := []struct {
		name string
		f    func(dst, x []float64)
		x    float64
		want float64
	}{
		{"Exp", Exp, 0, 1}, {"Exp", Exp, negZero, 1}, {"Exp", Exp, math.Inf(1), math.Inf(1)},
		{"Exp", Exp, math.Inf(-1), 0}, {"Exp", Exp, math.NaN(), math.NaN()}, {"Exp", Exp, 5e-324, 1},
		{"Exp", Exp, 709.79, math.Inf(1)}, {"Exp", Exp, -746, 0}, {"Exp", Exp, 1e300, math.Inf(1)},
		{"Exp", Exp, -1e300, 0}, {"Exp", Exp, -745.13, 5e-324},
		{"Log1p", Log1p, 0, 0}, {"Log1p", Log1p, negZero, negZero}, {"Log1p", Log1p, -1, math.Inf(-1)},
		{"Log1p", Log1p, -1.5, math.NaN()}, {"Log1p", Log1p, math.Inf(-1), math.NaN()},
		{"Log1p", Log1p, math.Inf(1), math.Inf(1)}, {"Log1p", Log1p, math.NaN(), math.NaN()},
		{"Log1p", Log1p, 5e-324, 5e-324}, {"Log1p", Log1p, -5e-324, -5e-324}, {"Log1p", Log1p, 1e-300, 1e-300},
		{"LogSigmoid", LogSigmoid, -1e300, -1e300}, {"LogSigmoid", LogSigmoid, math.Inf(-1), math.Inf(-1)},
		{"LogSigmoid", LogSigmoid, math.Inf(1), 0}, {"LogSigmoid", LogSigmoid, 0, -math.Ln2},
		{"LogSigmoid", LogSigmoid, math.NaN(), math.NaN()},
		{"Sigmoid", Sigmoid, 0, 0.5}, {"Sigmoid", Sigmoid, math.Inf(1), 1}, {"Sigmoid", Sigmoid, math.Inf(-1), 0},
		{"Sigmoid", Sigmoid, 1e300, 1}, {"Sigmoid", Sigmoid, -1e300, 0}, {"Sigmoid", Sigmoid, math.NaN(), math.NaN()},
	}
	forEachSet(t, func(t *testing.T) {
		for _, c := range cases {
			for _, n := range []int{1, 4, 5, 8, 9, 17, 33} { // tails, single vectors, blocks
				x := make([]float64, n)
				for i := range x {
					x[i] = c.x
				}
				dst := make([]float64, n)
				c.f(dst, x)
				for i, got := range dst {
					same := math.Float64bits(got) == math.Float64bits(c.want) || (math.IsNaN(got) && math.IsNaN(c.want))
					if !same {
						t.Errorf("%s(%v) = %v, want %v (n=%d, i=%d)", c.name, c.x, got, c.want, n, i)
					}
				}
			}
		}
	})
}

// TestSigmoidTails: the tails are the tiny values, not 0 or cancellation
// noise: lnσ(z) ≈ -e^{-z} for large z, σ(z) ≈ e^{z} for very negative z,
// compared with math.Exp within a few ulp (the relative corrections e^{-z}
// are below an ulp there).
func TestSigmoidTails(t *testing.T) {
	forEachAsm(t, func(t *testing.T) {
		for z := 40.0; z < 740; z += 7.3 {
			y, s := make([]float64, 1), make([]float64, 1)
			LogSigmoid(y, []float64{z})
			Sigmoid(s, []float64{-z})
			e := math.Exp(-z)
			if d := ulpDiff(y[0], -e); d > 4 {
				t.Errorf("LogSigmoid(%v) = %v, want ≈ %v (%d ulp)", z, y[0], -e, d)
			}
			if d := ulpDiff(s[0], e); d > 4 {
				t.Errorf("Sigmoid(%v) = %v, want ≈ %v (%d ulp)", -z, s[0], e, d)
			}
			LogSigmoid(y, []float64{-z})
			if d := ulpDiff(y[0], -z-e); d > 4 {
				t.Errorf("LogSigmoid(%v) = %v, want ≈ %v", -z, y[0], -z-e)
			}
		}
	})
}

func relClose(got, want, scale, tol float64) bool {
	if math.IsNaN(want) || math.IsInf(want, 0) {
		return got == want || (math.IsNaN(got) && math.IsNaN(want))
	}
	// a few ulps always pass: near subnormal results tol*scale underflows
	return math.Abs(got-want) <= tol*scale || ulpDiff(got, want) <= 4
}

// TestReductionsVsGeneric: Axpy, Dot, LogSumExp, LogSumExpAffine on every
// length 0..67 and offset 0..7 (guards around Axpy's y).
func TestReductionsVsGeneric(t *testing.T) {
	forEachAsm(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		for n := 0; n <= 67; n++ {
			for off := 0; off < 8; off++ {
				x, y0 := make([]float64, n), make([]float64, n)
				for i := range x {
					x[i], y0[i] = rng.NormFloat64()*3, rng.NormFloat64()
				}
				alpha := rng.NormFloat64()
				want := append([]float64(nil), y0...)
				axpyGeneric(alpha, x, want)
				buf, y := guarded(off, n)
				copy(y, y0)
				Axpy(alpha, x, y)
				checkGuards(t, "Axpy", buf, off, n)
				for i := range y {
					if !relClose(y[i], want[i], math.Abs(alpha*x[i])+math.Abs(y0[i]), 1e-15) {
						t.Fatalf("Axpy n=%d i=%d: %v vs %v", n, i, y[i], want[i])
					}
				}
				scale := 0.0
				for i := range x {
					scale += math.Abs(x[i] * y0[i])
				}
				if d, w := Dot(x, y0), dotGeneric(x, y0); !relClose(d, w, scale, 1e-14) {
					t.Fatalf("Dot n=%d: %v vs %v", n, d, w)
				}
				if l, w := LogSumExp(x), logSumExpGeneric(x); !relClose(l, w, 1+math.Abs(w), 1e-14) {
					t.Fatalf("LogSumExp n=%d: %v vs %v", n, l, w)
				}
				m := rng.NormFloat64()
				if l, w := LogSumExpAffine(x, y0, m), lseAffineGeneric(x, y0, m); !relClose(l, w, 1+math.Abs(w), 1e-14) {
					t.Fatalf("LogSumExpAffine n=%d: %v vs %v", n, l, w)
				}
			}
		}
		// special values of the reductions
		inf, nan := math.Inf(1), math.NaN()
		for _, x := range [][]float64{{}, {math.Inf(-1)}, {1, inf, 2}, {1, nan, 2}, {math.Inf(-1), 3, 1, 2, 5}, {-1e308, 1e308, 0, 0, 0}} {
			if l, w := LogSumExp(x), logSumExpGeneric(x); !relClose(l, w, 1+math.Abs(w), 1e-14) {
				t.Errorf("LogSumExp(%v) = %v, want %v", x, l, w)
			}
		}
	})
}

// chainData is one random chain problem with R spins and k+1 layers.
type chainData struct {
	k, r    int
	f, w, b []float64
}

func newChain(rng *rand.Rand, k, r int) chainData {
	c := chainData{k: k, r: r, f: make([]float64, r), w: make([]float64, (k+2)*r), b: make([]float64, (k+1)*r)}
	for i := range c.f {
		c.f[i] = rng.NormFloat64() * 2
	}
	for i := range c.w {
		c.w[i] = rng.NormFloat64() * 1.5
	}
	for i := range c.b {
		c.b[i] = rng.NormFloat64()
	}
	// a few extreme pre-activations: deep tails of lnσ
	if r > 3 {
		c.b[1] = 800
		c.b[2] = -900
		c.w[3] = 300
	}
	return c
}

// TestChainVsGeneric: ChainForward/ChainBackward against the generic twin for
// k = 0..3 and 8, every R = 0..67, offsets 0..7, with guards around act and
// every accumulator, with and without the C accumulators and df.
func TestChainVsGeneric(t *testing.T) {
	forEachAsm(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		for _, k := range []int{0, 1, 2, 3, 8} {
			for r := 0; r <= 67; r++ {
				off := r % 8
				if k == 2 {
					off = rng.IntN(8)
				}
				c := newChain(rng, k, r)
				na := 2 * (k + 1) * r
				wantAct := make([]float64, na)
				wantSum := chainForwardGeneric(k, c.f, c.w, c.b, wantAct)
				abuf, act := guarded(off, na)
				sum := ChainForward(k, c.f, c.w, c.b, act)
				checkGuards(t, "ChainForward act", abuf, off, na)
				// Forward error model: the assembly evaluates pre = b + w*in with
				// one FMA (the generic twin rounds twice), and lnσ, σ to a few
				// ulp; an error δ in pre moves y by σ(-pre)·δ and σ(-pre) by
				// σ(1-σ)·δ. errY[l] bounds |Δy_j|/tol layer by layer.
				errY := make([]float64, r)
				for j := 0; j <= k; j++ {
					for l := 0; l < r; l++ {
						in, inErr := c.f[l], 0.0
						if j > 0 {
							in, inErr = wantAct[(j-1)*r+l], errY[l]
						}
						wj, bj := c.w[j*r+l], c.b[j*r+l]
						preErr := math.Abs(bj) + math.Abs(wj*in) + math.Abs(wj)*inErr
						y, sg := wantAct[j*r+l], wantAct[(k+1+j)*r+l]
						ey := math.Abs(y) + sg*preErr
						es := sg + sg*(1-sg)*preErr
						if gy := act[j*r+l]; !relClose(gy, y, ey, 1e-14) {
							t.Fatalf("k=%d R=%d: y_%d[%d] = %v, generic %v (bound %.3g)", k, r, j, l, gy, y, 1e-14*ey)
						}
						if gs := act[(k+1+j)*r+l]; !relClose(gs, sg, es, 1e-14) {
							t.Fatalf("k=%d R=%d: σ_%d[%d] = %v, generic %v (bound %.3g)", k, r, j, l, gs, sg, 1e-14*es)
						}
						errY[l] = ey
					}
				}
				scale := 0.0
				for l := 0; l < r; l++ {
					scale += math.Abs(c.w[(k+1)*r+l]) * (math.Abs(wantAct[k*r+l]) + errY[l])
				}
				if !relClose(sum, wantSum, scale, 1e-14) {
					t.Fatalf("k=%d R=%d: ChainForward %v, generic %v", k, r, sum, wantSum)
				}
				// backward from the same (generic) activations, so that only
				// the backward arithmetic is compared
				g, cA, cC := rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()
				for variant := 0; variant < 4; variant++ {
					withC, withDf := variant&1 != 0, variant&2 != 0
					init := func(n int) []float64 {
						s := make([]float64, n)
						for i := range s {
							s[i] = rng.NormFloat64()
						}
						return s
					}
					gwA0, gbA0, gwC0, gbC0, df0 := init((k+2)*r), init((k+1)*r), init((k+2)*r), init((k+1)*r), init(r)
					mk := func(src []float64, use bool) (buf, s []float64) {
						if !use {
							return nil, nil
						}
						buf, s = guarded(off, len(src))
						copy(s, src)
						return buf, s
					}
					ref := func(src []float64, use bool) []float64 {
						if !use {
							return nil
						}
						return append([]float64(nil), src...)
					}
					rwA, rbA, rwC, rbC, rdf := ref(gwA0, true), ref(gbA0, true), ref(gwC0, withC), ref(gbC0, withC), ref(df0, withDf)
					chainBackwardGeneric(k, c.f, c.w, wantAct, g, cA, cC, rwA, rbA, rwC, rbC, rdf)
					bwA, wA := mk(gwA0, true)
					bbA, bA := mk(gbA0, true)
					bwC, wC := mk(gwC0, withC)
					bbC, bC := mk(gbC0, withC)
					bdf, df := mk(df0, withDf)
					ChainBackward(k, c.f, c.w, wantAct, g, cA, cC, wA, bA, wC, bC, df)
					for _, p := range []struct {
						name      string
						buf, got  []float64
						want, was []float64
					}{{"gwA", bwA, wA, rwA, gwA0}, {"gbA", bbA, bA, rbA, gbA0}, {"gwC", bwC, wC, rwC, gwC0}, {"gbC", bbC, bC, rbC, gbC0}, {"df", bdf, df, rdf, df0}} {
						if p.buf == nil {
							continue
						}
						checkGuards(t, "ChainBackward "+p.name, p.buf, off, len(p.got))
						for i := range p.got {
							// scale: the accumulated value and the increment
							sc := math.Abs(p.want[i]) + math.Abs(p.want[i]-p.was[i])
							if !relClose(p.got[i], p.want[i], sc, 1e-14) {
								t.Fatalf("k=%d R=%d variant=%d: %s[%d] = %v, generic %v", k, r, variant, p.name, i, p.got[i], p.want[i])
							}
						}
					}
				}
			}
		}
	})
}

// TestKernelsSelection: SetKernels accepts every available set and rejects
// the others with a message that names what is missing.
func TestKernelsSelection(t *testing.T) {
	old := active.Load()
	defer active.Store(old)
	for _, n := range AvailableKernels() {
		if err := SetKernels(n); err != nil || Kernels() != n {
			t.Fatalf("SetKernels(%q): %v, active %q", n, err, Kernels())
		}
	}
	av := AvailableKernels()
	if av[len(av)-1] != "generic" {
		t.Fatalf("generic is not last: %v", av)
	}
	before := Kernels()
	for _, c := range []struct{ name, want string }{
		{"nonesuch", `no kernel set "nonesuch"`},
		{"avx512", "AVX-512F"},
		{"avx2", "AVX2 and FMA3"},
	} {
		if slices.Contains(av, c.name) {
			continue
		}
		err := SetKernels(c.name)
		if err == nil {
			t.Fatalf("SetKernels(%q) accepted a set that is not available (%v)", c.name, av)
		}
		if len(compiled) == 0 && c.name != "nonesuch" {
			c.want = "not in this build"
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("SetKernels(%q): %q does not say %q", c.name, err, c.want)
		}
		if Kernels() != before {
			t.Errorf("a failed SetKernels(%q) changed the set to %q", c.name, Kernels())
		}
	}
}

// TestKernelsEnv: at start-up the set named by H2ARNN_KERNELS is active and
// KernelsError is nil, or, for a name this build or CPU cannot run, the best
// available set with KernelsError saying why. Run the package with
// H2ARNN_KERNELS=generic|avx2|avx512 (and with -tags noasm) to exercise the
// paths; on an AVX-512 machine, H2ARNN_KERNELS=avx512 must select avx512.
func TestKernelsEnv(t *testing.T) {
	want := os.Getenv("H2ARNN_KERNELS")
	switch {
	case want == "":
		want = AvailableKernels()[0]
		if err := KernelsError(); err != nil {
			t.Errorf("KernelsError() = %v without H2ARNN_KERNELS", err)
		}
	case slices.Contains(AvailableKernels(), want):
		if err := KernelsError(); err != nil {
			t.Errorf("KernelsError() = %v for an available set", err)
		}
	default:
		err := KernelsError()
		if err == nil || !strings.Contains(err.Error(), "H2ARNN_KERNELS=") {
			t.Errorf("H2ARNN_KERNELS=%q is not available, but KernelsError() = %v", want, err)
		}
		t.Logf("H2ARNN_KERNELS=%q not available: %v", want, err)
		want = AvailableKernels()[0]
	}
	if Kernels() != want {
		t.Fatalf("active kernel set %q, want %q (available %v)", Kernels(), want, AvailableKernels())
	}
}

// TestSelfCheck: every available set passes the start-up check, and the
// check catches a set with one wrong kernel.
func TestSelfCheck(t *testing.T) {
	for _, s := range available {
		if err := selfCheck(s); err != nil {
			t.Errorf("%s: %v", s.name, err)
		}
	}
	off := func(f func(dst, x []float64)) func(dst, x []float64) {
		return func(dst, x []float64) {
			f(dst, x)
			dst[len(dst)-1] *= 1 + 1e-12 // one element, the last
		}
	}
	for _, broken := range []func(*kernelSet){
		func(s *kernelSet) { s.exp = off(s.exp) },
		func(s *kernelSet) { s.logSigmoid = off(s.logSigmoid) },
		func(s *kernelSet) { s.dot = func(x, y []float64) float64 { return dotGeneric(x[1:], y[1:]) } },
		func(s *kernelSet) {
			bwd := s.chainBwd
			s.chainBwd = func(k int, f, w, act []float64, g, cA, cC float64, gwA, gbA, gwC, gbC, df []float64) {
				bwd(k, f, w, act, g, cA, cC, gwA, gbA, gwC, gbC, df)
				gbC[0] += 1e-9
			}
		},
	} {
		s := *available[0]
		broken(&s)
		if err := selfCheck(&s); err == nil {
			t.Errorf("the check passed a broken %s set", s.name)
		} else {
			t.Logf("caught: %v", err)
		}
	}
}

// TestSetKernelsConcurrent switches the set while kernels run on other
// goroutines; run with -race, it shows that the choice is race-free.
func TestSetKernelsConcurrent(t *testing.T) {
	old := active.Load()
	defer active.Store(old)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			x, y := []float64{0.5, -1, 2}, make([]float64, 3)
			for {
				select {
				case <-stop:
					return
				default:
					LogSigmoid(y, x)
					if math.Abs(y[0]-fmath.LogSigmoid(0.5)) > 1e-15 {
						t.Errorf("LogSigmoid(0.5) = %v", y[0])
						return
					}
				}
			}
		}()
	}
	for i := range 200 {
		av := AvailableKernels()
		if err := SetKernels(av[i%len(av)]); err != nil {
			t.Error(err)
		}
	}
	close(stop)
	wg.Wait()
}
