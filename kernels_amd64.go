//go:build amd64 && !noasm

package h2arnn

// The assembly kernel sets, avx2 (AVX2+FMA, 4 float64 per vector) and avx512
// (AVX-512F/DQ/VL, 8 per vector), and their registration.
//
// Both are generated from one description of each kernel by the program in
// _gen (its own module, github.com/mmcloughlin/avo): kernels_amd64.s, their
// declarations in kernels_stubs_amd64.go and the constant table
// kernels_consts_amd64.go, whose values internal/kconst derives in exact
// arithmetic (TestConstTable recomputes them bit for bit). The two sets
// compute the same formulas; the AVX-512 code rebuilds 2^k·p with VSCALEFPD,
// splits log1p's argument with VGETEXPPD/VGETMANTPD, selects with opmask
// registers, loads constants as embedded broadcasts and, with 32 registers,
// interleaves more vectors per loop block (see _gen/kernels.go's tuning).
//
// Dispatch: compiled lists the sets best first; the first one the CPU and OS
// support, and that passes the start-up check (kernels.go), is used. On a
// Zen 5 core every avx512 kernel measured faster than (or, for Axpy and Dot
// on rows that do not fit L1, as fast as) its avx2 twin, so the avx512 set
// uses its own code throughout rather than borrowing avx2 kernels.
//
//go:generate go run -C _gen .
//
// Approximations (the error bounds are measured by kernels_test.go against
// correctly rounded big-float references):
//
//   - exp(x): x is clamped to [-1000, 1000] (NaN passes; ±Inf map to the
//     clamps, whose results are +Inf and 0); n = round(x·log2 e) by the
//     1.5·2^52 shifter; r = x - n·ln2hi - n·ln2lo with two FMAs (ln2hi + ln2lo
//     is ln 2 to ~106 bits), |r| ≤ ln2/2. e^r = 1 + (r + r²·P(r)), P of
//     degree 9 from kconst.ExpPoly (Chebyshev economization of the Taylor
//     series on [-0.35, 0.35]; error < 3.5e-18, i.e. < 0.05 ulp), by
//     Horner's rule. The result is p·2^n with one rounding (VSCALEFPD, or
//     p·2^⌊n/2⌋·2^⌈n/2⌉ on AVX2), so that overflow gives +Inf and results
//     below the normal range underflow gradually. Within 1 ulp of the
//     correctly rounded value.
//   - log1p(x): u = 1+x = 2^k·m, m ∈ [√2/2, √2), f = m-1 (exact),
//     t = f/(2+f), |t| ≤ 0.1716, w = t², ln(1+f) = 2·atanh t
//     = f - t·(f - w·Q(w)) with Q of degree 6 from kconst.AtanhPoly on
//     [0, 0.03] (relative error it adds < 2^-57); the rounding of u is
//     corrected by c = (x-(u-1))/u; result = k·ln2hi + (f + (c + k·ln2lo
//     - t·(f - w·Q))). Special cases by blends: |x| < 2^-54 → x (keeps ±0
//     and subnormals), -1 → -Inf, < -1 → NaN, +Inf → +Inf. Within 1 ulp of
//     the correctly rounded value.
//   - lnσ(z) and σ(-z) (ChainForward, LogSigmoid, Sigmoid): e = e^{-|z|} ∈
//     [0, 1] by the exp above, then ln(1+e) with no range split:
//     t = e/(2+e) ≤ 1/3, w = t² ≤ 1/9, ln(1+e) = e - t·(e - w·Q(w)) with Q
//     of degree 9 from kconst.AtanhPoly on [0, 1/9] (< 2^-57 relative);
//     lnσ(z) = min(z,0) - ln(1+e): ≈ z for z → -∞ (never -Inf for finite
//     z), ≈ -e^{-z} for z → +∞. σ(-z) = (z < 0 ? 1 : e)/(1+e) and
//     σ(z) = (z < 0 ? e : 1)/(1+e), one correctly rounded division each.
//     This replaced a √2 range split with a degree-8 series and a division
//     shared between t and σ through q = 1/((1+e)(2+e)): the split cost more
//     operations than the three extra polynomial terms, and the divider runs
//     beside the FMA pipes, so two divisions beat four more multiplications
//     (ChainForward on a Zen 5 core, min-of-3000 timings: 1.36 → 1.50 lnσ
//     nodes/ns with AVX-512, 0.65 → 0.70 with AVX2). Within 2 ulp of the
//     correctly rounded values.
//
// Loops process blocks of vectors, then single vectors, then the last
// len mod (4 or 8) elements as one masked vector (VMASKMOVPD or opmask
// registers: lanes past the slice read as 0, are never written and cannot
// fault), so every kernel is one assembly call with no Go-side tail. The
// ChainForward layer runs layer-major, one layer over the whole row after
// the other: within a layer the elements are independent, so the
// out-of-order core overlaps the long dependency chains (exp, division,
// polynomials) of successive vectors. Each layer runs in two passes (pre
// and e^{-|pre|} stored in the output rows, then lnσ and σ from them), each
// with a dependency chain short enough for the scheduler to overlap several
// blocks; the AVX2 loops interleave three vectors per block, the AVX-512
// ones four. (Measured alternatives are listed in _gen/kernels.go.)

import (
	"math"

	"github.com/klauspost/cpuid/v2"
)

var avx2Kernels = kernelSet{
	name:       "avx2",
	needs:      "AVX2 and FMA3",
	exp:        expAVX2,
	log1p:      log1pAVX2,
	logSigmoid: logSigmoidAVX2,
	sigmoid:    sigmoidAVX2,
	logSumExp:  func(x []float64) float64 { return logSumExpWith(x, sumExpAVX2) },
	axpy:       axpyAVX2,
	dot:        dotAVX2,
	chainFwd: func(k int, f, w, b, act []float64) float64 {
		return chainForwardLayers(k, f, w, b, act, lnsigLayerAVX2, dotAVX2)
	},
	chainBwd: chainBwdAVX2,
	lseAffine: func(b, w []float64, m float64) float64 {
		return lseAffineWith(b, w, m, maxAffineAVX2, sumExpAffineAVX2)
	},
	peak:       fmaPeakAVX2,
	peakFlops:  24 * 4,
	lnsigFlops: lnsigFlopsAVX2,
}

var avx512Kernels = kernelSet{
	name:       "avx512",
	needs:      "AVX-512F, AVX-512DQ and AVX-512VL with the OS saving ZMM state",
	exp:        expAVX512,
	log1p:      log1pAVX512,
	logSigmoid: logSigmoidAVX512,
	sigmoid:    sigmoidAVX512,
	logSumExp:  func(x []float64) float64 { return logSumExpWith(x, sumExpAVX512) },
	axpy:       axpyAVX512,
	dot:        dotAVX512,
	chainFwd: func(k int, f, w, b, act []float64) float64 {
		return chainForwardLayers(k, f, w, b, act, lnsigLayerAVX512, dotAVX512)
	},
	chainBwd: chainBwdAVX512,
	lseAffine: func(b, w []float64, m float64) float64 {
		return lseAffineWith(b, w, m, maxAffineAVX512, sumExpAffineAVX512)
	},
	peak:       fmaPeakAVX512,
	peakFlops:  24 * 8,
	lnsigFlops: lnsigFlopsAVX512,
}

// compiled lists the assembly sets of this build, best first, with whether
// the CPU and OS support each (cpuid checks the OS's XSAVE state through
// XGETBV: no AVX-512 without ZMM and opmask state, no AVX2 without YMM).
var compiled = []struct {
	set *kernelSet
	ok  func() bool
}{
	{&avx512Kernels, func() bool {
		return cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3, cpuid.AVX512F, cpuid.AVX512DQ, cpuid.AVX512VL)
	}},
	{&avx2Kernels, func() bool { return cpuid.CPU.Supports(cpuid.AVX2, cpuid.FMA3) }},
}

// logSumExpWith finds the maximum in Go (with the generic NaN/Inf rules) and
// sums the shifted exponentials with the assembly.
func logSumExpWith(x []float64, sumExp func(x []float64, shift float64) float64) float64 {
	m := maxNaN(x)
	if isInfOrNaN(m) {
		return m // also -Inf for len(x) == 0
	}
	return m + math.Log(sumExp(x, m))
}

// lseAffineWith is LogSumExpAffine from the assembly's maximum and sum, the
// NaN and Inf rules being those of the generic set.
func lseAffineWith(b, w []float64, m float64, maxAff func(b, w []float64, m float64) float64, sumExp func(b, w []float64, m, shift float64) float64) float64 {
	mx := maxAff(b, w, m)
	if isInfOrNaN(mx) {
		return mx
	}
	return mx + math.Log(sumExp(b, w, m, mx))
}

// chainForwardLayers runs the layers one after the other over the whole row
// (see the file comment), then sums w_{k+1}·y_k.
func chainForwardLayers(k int, f, w, b, act []float64, layer func(in, w, b, y, s []float64), dot func(x, y []float64) float64) float64 {
	r := len(f)
	if r == 0 {
		return 0
	}
	for j := 0; j <= k; j++ {
		in := f
		if j > 0 {
			in = act[(j-1)*r : j*r]
		}
		layer(in, w[j*r:(j+1)*r], b[j*r:(j+1)*r], act[j*r:(j+1)*r], act[(k+1+j)*r:(k+2+j)*r])
	}
	return dot(act[k*r:(k+1)*r], w[(k+1)*r:])
}
