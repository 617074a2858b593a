// Package fmath holds the scalar floating-point helpers that the kernels,
// the networks, the trainer and the output files share, so that each has
// one definition: the finiteness test and the scalar logistic functions.
package fmath

import "math"

// Finite reports whether v is neither NaN nor ±Inf.
func Finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// LogSigmoid is ln σ(z) = min(z, 0) - log1p(e^{-|z|}), accurate in both
// tails (no overflow, no cancellation): ln σ(-800) = -800, ln σ(800) = 0.
func LogSigmoid(z float64) float64 {
	return math.Min(z, 0) - math.Log1p(math.Exp(-math.Abs(z)))
}

// Sigmoid is σ(z) = 1/(1+e^{-z}), evaluated from e^{-|z|} so that it is
// exact in both tails (σ(-800) is the subnormal-free 0, never NaN).
func Sigmoid(z float64) float64 {
	e := math.Exp(-math.Abs(z))
	if z >= 0 {
		return 1 / (1 + e)
	}
	return e / (1 + e)
}

// Sigmoids returns e = e^{-|z|}, σ(z) and σ(-z) from one exponential, with
// the bits of Sigmoid(z) and Sigmoid(-z); ln σ(±z) = min(±z, 0) - log1p(e)
// then has the bits of LogSigmoid(±z).
func Sigmoids(z float64) (e, sp, sm float64) {
	e = math.Exp(-math.Abs(z))
	a, b := 1/(1+e), e/(1+e)
	sp, sm = b, a
	if z >= 0 {
		sp = a
	}
	if -z < 0 {
		sm = b
	}
	return e, sp, sm
}
