//go:build amd64 && !noasm

package h2arnn

// AVX2+FMA kernels (kernels_amd64.s) and their registration.
//
// Dispatch: registerAsm runs in a package-level variable initialiser, i.e.
// before kernels.go's init picks the active set, and prepends the avx2 set to
// available when cpuid reports AVX2 and FMA3 (with OS support for YMM state,
// which cpuid checks through XGETBV). No AVX-512 set is registered: the
// machine this was developed on (a virtualised AMD EPYC, family 25 model 1)
// does not expose AVX-512 in cpuid, so such code could not be tested here.
//
// Approximations (all coefficients are computed in kcValues below from exact
// rationals, rounded once to float64; nothing is copied from a table):
//
//   - exp(x): x is clamped to [-1000, 1000] (NaN passes through; ±Inf map to
//     the clamps, whose results are +Inf and 0), n = round(x·log2 e) by the
//     1.5·2^52 shifter, r = x - n·ln2hi - n·ln2lo with two FMAs (ln2hi is ln 2
//     rounded to float64, so the first FMA is exact for |n| ≤ 1443; ln2lo is
//     the float64 nearest to ln 2 - ln2hi, from the 256-bit series
//     ln 2 = Σ 1/(j·2^j)), |r| ≤ ln2/2. exp(r) is a degree-11 polynomial
//     from Chebyshev economization of the degree-24 Taylor series on
//     [-0.35, 0.35] in exact rational arithmetic (expPolyCoeffs; error bound
//     3.5e-18, i.e. < 0.05 ulp; c_0 and c_1 round to exactly 1), evaluated
//     as 1 + (r + r²·P(r)) with P in Estrin form. The result is
//     scaled by 2^⌊n/2⌋·2^⌈n/2⌉: two exact multiplies that give overflow to
//     +Inf and gradual underflow with a single rounding.
//     Measured (TestExpAccuracy): ≤ 1 ulp from the correctly rounded value
//     (big-float oracle), ≤ 2 ulp from math.Exp over 10^7 inputs (math.Exp on
//     amd64 itself errs by 1 ulp, and returns +Inf for x slightly below
//     ln(MaxFloat64), where this kernel is within 1 ulp of the exact value).
//   - log1p(x), general: u = 1+x, u = 2^k·m with m ∈ [√2/2, √2) from the
//     exponent bits, f = m-1 (exact), t = f/(2+f), |t| ≤ 0.1716, s = t²,
//     log(1+f) = 2·atanh(t) = f - t·(f - s·Q(s)) with
//     Q(s) = Σ_{i=1..9} 2s^(i-1)/(2i+1) (Taylor series of atanh, truncation
//     ≈ 2.4e-17 relative); the rounding of u is corrected by
//     c = (x-(u-1))/u; result = k·ln2hi + (f + (c + k·ln2lo - t·(f - s·Q))).
//     Special cases by blends: |x| < 2^-54 → x (keeps ±0 and subnormals),
//     -1 → -Inf, < -1 → NaN, +Inf → +Inf.
//     Measured (TestLog1pAccuracy): ≤ 1 ulp from math.Log1p over 10^7
//     inputs and from the correctly rounded value.
//   - lnσ(z) and σ(-z) in the chain and in LogSigmoid: e = exp(-|z|) ∈ [0,1]
//     and log1p(e) with no special cases: f = e (e ≤ √2-1) or f = (e-1)/2
//     plus ln 2 (1+e = 2(1+f)), so that |t| = |f/(2+f)| ≤ 0.1716 in both
//     branches, and log1p(f) = f - t·(f - s·Q(s)) as above. One division
//     q = 1/((1+e)·d), d = e+2 or e+3, gives both t = a·(1+e)·q (a = e or
//     e-1) and 1/(1+e) = q·d, so σ(-z) = 1/(1+e) (z < 0) or e/(1+e) (z ≥ 0).
//     lnσ(z) = min(z,0) - log1p(e): ≈ z for z → -∞, ≈ -e^{-z} for z → +∞.
//     Measured: within 4 ulp of the generic twin (TestUnaryVsGeneric).
//
// ChainForward runs layer-major: layer j over the whole row, then layer j+1
// (lnsigLayerAsm), each layer in two passes (pre and e^{-|pre|}, then lnσ
// and σ). Within a layer the elements are independent, so the out-of-order
// core overlaps the ~60-cycle dependency chains (exp, division, polynomials)
// of successive vectors; with the layers nested inside the element loop it
// could not, and ran 2.2× slower. Both passes work on two vectors at a time
// with their instructions interleaved one by one (EXPCORE2, LNSIG2): with
// one vector per iteration the FP schedulers fill with ops still waiting on
// the same chain (measured: pass 2 interleaved made the chain forward 1.22×
// faster). ChainBackward is one fused pass (plain arithmetic, short chains).
// Measured on the development machine (Zen 3, 2.8 GHz, FMA peak 45.5
// GFLOP/s per core): k=2, R=200, forward ≈ 0.30 and backward ≈ 0.9 lnσ
// nodes/ns — see bench_test.go and the README's performance table.
//
// Tails: the assembly loops process multiples of 4 elements. The chain
// layers finish a row with one masked vector (VMASKMOVPD: lanes past the
// row read as 0, are never written, and cannot fault), so a whole layer is
// one call; the elementwise kernels run the last len%4 elements through the
// same assembly on a zero-padded 4-element copy; the backward tail is scalar
// Go.

import (
	"math"
	"math/big"

	"github.com/klauspost/cpuid/v2"
)

// Indices into kc, the constant table the assembly reads (each entry is one
// YMM worth: four copies). The assembly's #define offsets are index·32 and
// must be kept in step with these numbers.
const (
	kcOne      = 0
	kcTwo      = 1
	kcZero     = 2
	kcAbs      = 3  // bits 0x7FFF_FFFF_FFFF_FFFF
	kcSign     = 4  // bits 0x8000_0000_0000_0000
	kcExpMin   = 5  // -1000
	kcExpMax   = 6  // +1000
	kcLog2E    = 7  // log2 e
	kcShift    = 8  // 1.5·2^52
	kcLn2Hi    = 9  // ln 2 rounded to float64
	kcLn2Lo    = 10 // ln 2 - ln2Hi
	kcBias     = 11 // integer 1023 (exponent bias) as raw bits
	kcSqrt2m1  = 12 // √2 - 1
	kcSqrt2    = 13 // √2
	kcHalf     = 14 // 0.5
	kcTiny     = 15 // 2^-54
	kcInf      = 16 // +Inf
	kcNaN      = 17 // quiet NaN
	kcMinusOne = 18 // -1
	kcMant     = 19 // bits 0x000F_FFFF_FFFF_FFFF
	kcMagic    = 20 // 2^52 (bits 0x4330_0000_0000_0000)
	kcMagicB   = 21 // 2^52 + 1023
	kcNegInf   = 22 // -Inf
	kcExp0     = 23 // exp polynomial coefficient i = 0..11 at kcExp0+i
	kcExpDeg   = 11
	kcLog0     = kcExp0 + kcExpDeg + 1 // 2/(2i+1) for i = 0..9 at kcLog0+i
	kcLogDeg   = 9
	kcNegHalf  = kcLog0 + kcLogDeg + 1 // -0.5
	kcN        = kcNegHalf + 1
)

// tailMask[t] has the sign bit set in its first t lanes: the VMASKMOVPD
// mask for a vector holding the last t = n%4 elements of a row.
var tailMask = [4][4]uint64{
	{0, 0, 0, 0},
	{1 << 63, 0, 0, 0},
	{1 << 63, 1 << 63, 0, 0},
	{1 << 63, 1 << 63, 1 << 63, 0},
}

// kc is read by the assembly (·kc+off(SB)); filled by kcInit before any
// kernel runs (package variable initialisation).
var kc [kcN][4]float64

// ln2Big returns ln 2 to 256 bits from ln 2 = Σ_{j≥1} 1/(j·2^j).
func ln2Big() *big.Float {
	const prec = 256
	sum := new(big.Float).SetPrec(prec)
	pow := new(big.Float).SetPrec(prec).SetInt64(1)
	for j := int64(1); j <= 300; j++ {
		pow.Quo(pow, big.NewFloat(2).SetPrec(prec))
		term := new(big.Float).SetPrec(prec).Quo(pow, new(big.Float).SetPrec(prec).SetInt64(j))
		sum.Add(sum, term)
	}
	return sum
}

// expPolyH is the half-width of the interval the exp polynomial is fitted
// on; it contains the reduced argument range [-ln2/2, ln2/2] with margin.
var expPolyH = big.NewRat(7, 20)

// expPolyCoeffs returns c_0..c_deg of a near-minimax polynomial for e^r on
// [-h, h] (h = expPolyH), and a bound on its error there. It starts from the
// degree-24 Taylor polynomial and removes its top terms one at a time by
// Chebyshev economization: the term a_d r^d is replaced by a_d(r^d - S_d(r)),
// S_d(r) = h^d T_d(r/h)/2^(d-1) being the monic scaled Chebyshev
// polynomial, which changes the polynomial by at most |a_d| h^d/2^(d-1) on
// the interval. All arithmetic is exact (big.Rat); the bound adds the Taylor
// remainder (≤ 2 h^25/25!).
func expPolyCoeffs(deg int) (c []*big.Rat, bound *big.Rat) {
	const m = 24
	h := expPolyH
	a := make([]*big.Rat, m+1)
	fact := big.NewInt(1)
	for i := 0; i <= m; i++ {
		if i > 0 {
			fact.Mul(fact, big.NewInt(int64(i)))
		}
		a[i] = new(big.Rat).SetFrac(big.NewInt(1), fact)
	}
	fact.Mul(fact, big.NewInt(m+1))
	hPow := func(n int) *big.Rat {
		p := big.NewRat(1, 1)
		for range n {
			p.Mul(p, h)
		}
		return p
	}
	bound = new(big.Rat).Mul(big.NewRat(2, 1), new(big.Rat).Quo(hPow(m+1), new(big.Rat).SetInt(fact)))
	// Chebyshev polynomials T_0..T_m as integer coefficient slices.
	cheb := [][]*big.Int{{big.NewInt(1)}, {big.NewInt(0), big.NewInt(1)}}
	for n := 2; n <= m; n++ {
		t := make([]*big.Int, n+1)
		for i := range t {
			t[i] = new(big.Int)
		}
		for i, v := range cheb[n-1] { // 2x T_{n-1}
			t[i+1].Add(t[i+1], new(big.Int).Lsh(v, 1))
		}
		for i, v := range cheb[n-2] { // - T_{n-2}
			t[i].Sub(t[i], v)
		}
		cheb = append(cheb, t)
	}
	for d := m; d > deg; d-- {
		ad := new(big.Rat).Set(a[d])
		scale := new(big.Rat).SetFrac(big.NewInt(1), new(big.Int).Lsh(big.NewInt(1), uint(d-1)))
		for i, t := range cheb[d] {
			// coefficient of r^i in S_d: t_i h^(d-i) / 2^(d-1)
			s := new(big.Rat).Mul(new(big.Rat).SetInt(t), hPow(d-i))
			s.Mul(s, scale)
			a[i].Sub(a[i], s.Mul(s, ad))
		}
		e := new(big.Rat).Abs(ad)
		e.Mul(e, hPow(d))
		bound.Add(bound, e.Mul(e, scale))
	}
	return a[:deg+1], bound
}

// kcValues computes every constant of the table (one value each).
func kcValues() [kcN]float64 {
	var v [kcN]float64
	v[kcOne] = 1
	v[kcTwo] = 2
	v[kcZero] = 0
	v[kcAbs] = math.Float64frombits(1<<63 - 1)
	v[kcSign] = math.Float64frombits(1 << 63)
	v[kcExpMin] = -1000
	v[kcExpMax] = 1000
	v[kcLog2E] = math.Log2E
	v[kcShift] = 1.5 * (1 << 52)
	ln2 := ln2Big()
	hi, _ := ln2.Float64()
	lo, _ := new(big.Float).SetPrec(256).Sub(ln2, big.NewFloat(hi)).Float64()
	v[kcLn2Hi] = hi
	v[kcLn2Lo] = lo
	v[kcBias] = math.Float64frombits(1023)
	v[kcSqrt2m1] = math.Sqrt2 - 1
	v[kcSqrt2] = math.Sqrt2
	v[kcHalf] = 0.5
	v[kcTiny] = 0x1p-54
	v[kcInf] = math.Inf(1)
	v[kcNaN] = math.NaN()
	v[kcMinusOne] = -1
	v[kcMant] = math.Float64frombits(1<<52 - 1)
	v[kcMagic] = 1 << 52
	v[kcMagicB] = 1<<52 + 1023
	v[kcNegInf] = math.Inf(-1)
	c, _ := expPolyCoeffs(kcExpDeg)
	for i := 0; i <= kcExpDeg; i++ {
		v[kcExp0+i], _ = c[i].Float64()
	}
	for i := 0; i <= kcLogDeg; i++ {
		v[kcLog0+i], _ = big.NewRat(2, int64(2*i+1)).Float64()
	}
	v[kcNegHalf] = -0.5
	return v
}

func kcInit() bool {
	v := kcValues()
	for i, x := range v {
		kc[i] = [4]float64{x, x, x, x}
	}
	return true
}

var _ = kcInit()

var avx2Kernels = kernelSet{
	name:       "avx2",
	exp:        expAVX2,
	log1p:      log1pAVX2,
	logSigmoid: logSigmoidAVX2,
	sigmoid:    sigmoidAVX2,
	logSumExp:  logSumExpAVX2,
	axpy:       axpyAVX2,
	dot:        dotAVX2,
	chainFwd:   chainForwardAVX2,
	chainBwd:   chainBackwardAVX2,
	lseAffine:  lseAffineAVX2,
}

// hasAVX2 reports whether the CPU and OS support the avx2 set.
func hasAVX2() bool { return cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3) }

// registerAsm prepends the assembly sets to available. It runs during
// package variable initialisation, before kernels.go's init chooses active.
func registerAsm() bool {
	if hasAVX2() {
		available = append([]*kernelSet{&avx2Kernels}, available...)
	}
	return true
}

var _ = registerAsm()

// Assembly, n a multiple of 4 (n ≥ 0). Pointers may be to any float64.

//go:noescape
func expAsm(dst, x *float64, n int)

//go:noescape
func log1pAsm(dst, x *float64, n int)

//go:noescape
func logSigmoidAsm(dst, x *float64, n int)

//go:noescape
func sigmoidAsm(dst, x *float64, n int)

// sumExpAsm returns Σ exp(x[i] - shift); x[i]-shift ≤ 0 expected.
//
//go:noescape
func sumExpAsm(x *float64, n int, shift float64) float64

// sumExpAffineAsm returns Σ exp(b[i] + w[i]·m - shift) (b+w·m by one FMA).
//
//go:noescape
func sumExpAffineAsm(b, w *float64, n int, m, shift float64) float64

// axpyAsm: y[i] += alpha·x[i] (FMA); dotAsm: Σ x[i]·y[i] in 4×4 partial sums.
//
//go:noescape
func axpyAsm(alpha float64, x, y *float64, n int)

//go:noescape
func dotAsm(x, y *float64, n int) float64

// lnsigLayerAsm is one ChainForward layer over n ≥ 1 elements:
// y[l], s[l] = lnσ(pre), σ(-pre) with pre = b[l] + w[l]*in[l] (one FMA).
// The last n%4 elements go through masked loads and stores (tailMask), so
// nothing past element n-1 is read or written.
//
//go:noescape
func lnsigLayerAsm(n int, in, w, b, y, s *float64)

// chainBwdAsm is ChainBackward (without the C accumulators when gwC is nil,
// without df when df is nil) over n elements of rows of stride elements.
//
//go:noescape
func chainBwdAsm(k, n, stride int, f, w, act *float64, grad, cA, cC float64, gwA, gbA, gwC, gbC, df *float64)

// fmaPeakAsm runs iters iterations of 12 independent VFMADD231PD chains on
// YMM registers (12·4·2 = 96 flops per iteration).
//
//go:noescape
func fmaPeakAsm(iters int)

// fmaPeak runs the FMA-peak loop; flops per iteration, and whether available.
func fmaPeak(iters int) (flopsPerIter int, ok bool) {
	if !hasAVX2() {
		return 0, false
	}
	fmaPeakAsm(iters)
	return 96, true
}

// unary applies an elementwise assembly kernel, the tail through a
// zero-padded 4-element buffer.
func unary(dst, x []float64, f func(dst, x *float64, n int)) {
	n := len(x)
	n4 := n &^ 3
	if n4 > 0 {
		f(&dst[0], &x[0], n4)
	}
	if n4 < n {
		var buf [4]float64
		copy(buf[:], x[n4:])
		f(&buf[0], &buf[0], 4)
		copy(dst[n4:], buf[:n-n4])
	}
}

func expAVX2(dst, x []float64)        { unary(dst, x, expAsm) }
func log1pAVX2(dst, x []float64)      { unary(dst, x, log1pAsm) }
func logSigmoidAVX2(dst, x []float64) { unary(dst, x, logSigmoidAsm) }
func sigmoidAVX2(dst, x []float64)    { unary(dst, x, sigmoidAsm) }

func axpyAVX2(alpha float64, x, y []float64) {
	n := len(x)
	n4 := n &^ 3
	if n4 > 0 {
		axpyAsm(alpha, &x[0], &y[0], n4)
	}
	for i := n4; i < n; i++ {
		y[i] = math.FMA(alpha, x[i], y[i])
	}
}

func dotAVX2(x, y []float64) float64 {
	n := len(x)
	n4 := n &^ 3
	s := 0.0
	if n4 > 0 {
		s = dotAsm(&x[0], &y[0], n4)
	}
	for i := n4; i < n; i++ {
		s = math.FMA(x[i], y[i], s)
	}
	return s
}

// logSumExpAVX2 finds the maximum in Go (with the generic NaN/Inf rules) and
// sums the shifted exponentials in assembly; the tail is padded with -Inf.
func logSumExpAVX2(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		if v > m || v != v {
			m = v
		}
	}
	if math.IsInf(m, 0) || m != m {
		return m // also -Inf for len(x) == 0
	}
	n := len(x)
	n4 := n &^ 3
	s := 0.0
	if n4 > 0 {
		s = sumExpAsm(&x[0], n4, m)
	}
	if n4 < n {
		buf := [4]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1), math.Inf(-1)}
		copy(buf[:], x[n4:])
		s += sumExpAsm(&buf[0], 4, m)
	}
	return m + math.Log(s)
}

func lseAffineAVX2(b, w []float64, m float64) float64 {
	mx := math.Inf(-1)
	for i := range b {
		if t := b[i] + w[i]*m; t > mx {
			mx = t
		}
	}
	if math.IsInf(mx, 0) {
		return mx
	}
	n := len(b)
	n4 := n &^ 3
	s := 0.0
	if n4 > 0 {
		s = sumExpAffineAsm(&b[0], &w[0], n4, m, mx)
	}
	if n4 < n {
		bb := [4]float64{math.Inf(-1), math.Inf(-1), math.Inf(-1), math.Inf(-1)}
		var ww [4]float64
		copy(bb[:], b[n4:])
		copy(ww[:], w[n4:])
		s += sumExpAffineAsm(&bb[0], &ww[0], 4, m, mx)
	}
	return mx + math.Log(s)
}

// chainForwardAVX2 runs the layers one after the other over the whole row
// (see lnsigLayerAsm for why), then sums w_{k+1}·y_k with the dot kernel.
func chainForwardAVX2(k int, f, w, b, act []float64) float64 {
	r := len(f)
	if r == 0 {
		return 0
	}
	for j := 0; j <= k; j++ {
		in := f
		if j > 0 {
			in = act[(j-1)*r : j*r]
		}
		lnsigLayerAsm(r, &in[0], &w[j*r], &b[j*r], &act[j*r], &act[(k+1+j)*r])
	}
	return dotAVX2(w[(k+1)*r:], act[k*r:(k+1)*r])
}

func chainBackwardAVX2(k int, f, w, act []float64, g, cA, cC float64, gwA, gbA, gwC, gbC, df []float64) {
	r := len(f)
	n4 := r &^ 3
	if n4 > 0 {
		var pgwC, pgbC, pdf *float64
		if gwC != nil {
			pgwC, pgbC = &gwC[0], &gbC[0]
		}
		if df != nil {
			pdf = &df[0]
		}
		chainBwdAsm(k, n4, r, &f[0], &w[0], &act[0], g, cA, cC, &gwA[0], &gbA[0], pgwC, pgbC, pdf)
	}
	// The last r%4 elements: the backward pass is plain arithmetic, so the
	// tail uses the scalar loop (with the assembly's FMA rounding).
	for l := n4; l < r; l++ {
		d := g * act[k*r+l]
		gwA[(k+1)*r+l] = math.FMA(cA, d, gwA[(k+1)*r+l])
		if gwC != nil {
			gwC[(k+1)*r+l] = math.FMA(cC, d, gwC[(k+1)*r+l])
		}
		delta := g * w[(k+1)*r+l]
		for j := k; j >= 0; j-- {
			dpre := delta * act[(k+1+j)*r+l]
			in := f[l]
			if j > 0 {
				in = act[(j-1)*r+l]
			}
			a := cA * dpre
			gbA[j*r+l] += a
			gwA[j*r+l] = math.FMA(a, in, gwA[j*r+l])
			if gwC != nil {
				c := cC * dpre
				gbC[j*r+l] += c
				gwC[j*r+l] = math.FMA(c, in, gwC[j*r+l])
			}
			delta = dpre * w[j*r+l]
		}
		if df != nil {
			df[l] += delta
		}
	}
}
