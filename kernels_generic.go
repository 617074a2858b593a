package h2arnn

import (
	"math"

	"github.com/h2arnn/h2arnn/internal/fmath"
)

// genericKernels is the pure-Go kernel set: the reference semantics of every
// kernel, the implementation on platforms without assembly and under the
// noasm build tag, and the oracle the assembly is tested against.
var genericKernels = kernelSet{
	name:       "generic",
	exp:        expGeneric,
	log1p:      log1pGeneric,
	logSigmoid: logSigmoidGeneric,
	sigmoid:    sigmoidGeneric,
	logSumExp:  logSumExpGeneric,
	axpy:       axpyGeneric,
	dot:        dotGeneric,
	chainFwd:   chainForwardGeneric,
	chainBwd:   chainBackwardGeneric,
	lseAffine:  lseAffineGeneric,
}

func expGeneric(dst, x []float64) {
	for i, v := range x {
		dst[i] = math.Exp(v)
	}
}

func log1pGeneric(dst, x []float64) {
	for i, v := range x {
		dst[i] = math.Log1p(v)
	}
}

// The scalar lnσ and σ are fmath's, which the networks use too: the
// generic kernels apply them element by element.

func logSigmoidGeneric(dst, x []float64) {
	for i, v := range x {
		dst[i] = fmath.LogSigmoid(v)
	}
}

func sigmoidGeneric(dst, x []float64) {
	for i, v := range x {
		dst[i] = fmath.Sigmoid(v)
	}
}

// maxNaN returns the largest element of x, NaN if any is NaN, -Inf if x is
// empty.
func maxNaN(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		if v > m || v != v {
			m = v
		}
	}
	return m
}

// maxAffine returns the largest b[i] + w[i]*m (NaNs are skipped: they reach
// the sum instead).
func maxAffine(b, w []float64, m float64) float64 {
	mx := math.Inf(-1)
	for i := range b {
		if t := b[i] + w[i]*m; t > mx {
			mx = t
		}
	}
	return mx
}

func isInfOrNaN(x float64) bool { return math.IsInf(x, 0) || x != x }

func logSumExpGeneric(x []float64) float64 {
	m := maxNaN(x)
	if isInfOrNaN(m) {
		return m // also -Inf for len(x) == 0
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

func axpyGeneric(alpha float64, x, y []float64) {
	for i, v := range x {
		y[i] += alpha * v
	}
}

func dotGeneric(x, y []float64) float64 {
	s := 0.0
	for i, v := range x {
		s += v * y[i]
	}
	return s
}

func lseAffineGeneric(b, w []float64, m float64) float64 {
	mx := maxAffine(b, w, m)
	if isInfOrNaN(mx) {
		return mx
	}
	s := 0.0
	for i := range b {
		s += math.Exp(b[i] + w[i]*m - mx)
	}
	return mx + math.Log(s)
}

func chainForwardGeneric(k int, f, w, b, act []float64) float64 {
	r := len(f)
	sum := 0.0
	for l := 0; l < r; l++ {
		in := f[l]
		for j := 0; j <= k; j++ {
			z := b[j*r+l] + w[j*r+l]*in
			e := math.Exp(-math.Abs(z))
			y := math.Min(z, 0) - math.Log1p(e)
			s := e / (1 + e) // σ(-z) for z ≥ 0
			if z < 0 {
				s = 1 / (1 + e)
			}
			act[j*r+l] = y
			act[(k+1+j)*r+l] = s
			in = y
		}
		sum += w[(k+1)*r+l] * in
	}
	return sum
}

func chainBackwardGeneric(k int, f, w, act []float64, g, cA, cC float64, gwA, gbA, gwC, gbC, df []float64) {
	r := len(f)
	for l := 0; l < r; l++ {
		// ∂/∂w_{k+1} = y_k; the upstream derivative into y_k is g·w_{k+1}.
		d := g * act[k*r+l]
		gwA[(k+1)*r+l] += cA * d
		if gwC != nil {
			gwC[(k+1)*r+l] += cC * d
		}
		delta := g * w[(k+1)*r+l]
		for j := k; j >= 0; j-- {
			dpre := delta * act[(k+1+j)*r+l]
			in := f[l]
			if j > 0 {
				in = act[(j-1)*r+l]
			}
			gbA[j*r+l] += cA * dpre
			gwA[j*r+l] += cA * dpre * in
			if gwC != nil {
				gbC[j*r+l] += cC * dpre
				gwC[j*r+l] += cC * dpre * in
			}
			delta = dpre * w[j*r+l]
		}
		if df != nil {
			df[l] += delta
		}
	}
}
