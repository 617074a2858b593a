package model

import "math"

// logSigmoid is ln σ(z) = min(z,0) - log1p(e^{-|z|}), accurate in both tails.
func logSigmoid(z float64) float64 {
	return math.Min(z, 0) - math.Log1p(math.Exp(-math.Abs(z)))
}

// sigmoid is σ(z) = 1/(1+e^{-z}) evaluated from e^{-|z|}.
func sigmoid(z float64) float64 {
	e := math.Exp(-math.Abs(z))
	if z >= 0 {
		return 1 / (1 + e)
	}
	return e / (1 + e)
}

// logAddExp returns ln(e^a + e^b) without overflow.
func logAddExp(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	if math.IsInf(a, -1) {
		return a
	}
	return a + math.Log1p(math.Exp(b-a))
}

// lnBinom returns ln C(n, k) via math.Lgamma.
func lnBinom(n, k int) float64 {
	a, _ := math.Lgamma(float64(n + 1))
	b, _ := math.Lgamma(float64(k + 1))
	c, _ := math.Lgamma(float64(n - k + 1))
	return a - b - c
}
