package mc

import (
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"
)

// WindowFactor is Sokal's c: the summation window W of IntegratedTime is the
// smallest lag with W ≥ c·τ(W). With c = 6 the truncation bias, of order
// exp(-c), is below a quarter percent for a single exponential decay, and
// the statistical error of τ grows only as √(W/n).
const WindowFactor = 6

// IntegratedTime returns the integrated autocorrelation time of the series
// x, in units of its spacing,
//
//	τ_int = 1/2 + Σ_{t=1..W} ρ(t),
//
// with ρ the normalised autocorrelation function (computed by FFT in
// O(n log n)) and W chosen by Sokal's automatic windowing (WindowFactor).
// With this convention independent samples have τ_int = 1/2 and the
// variance of the mean of n correlated samples is 2τ_int·var/n.
//
// ok is false when no window up to n/4 satisfies the criterion: the series
// is too short for its correlations (τ is then the value at W = n/4, a
// lower bound in practice) and errors built on it are not trustworthy. A
// series with fewer than two values or zero variance gives τ = 1/2,
// window 0 and ok true (nothing is correlated).
func IntegratedTime(x []float64) (tau float64, window int, ok bool) {
	rho := autocorrelation(x)
	if rho == nil {
		return 0.5, 0, true
	}
	tau = 0.5
	limit := len(x) / 4
	for w := 1; w <= limit; w++ {
		tau += rho[w]
		if float64(w) >= WindowFactor*tau {
			return tau, w, true
		}
	}
	return tau, limit, false
}

// autocorrelation returns ρ(t) = C(t)/C(0) for t = 0..n-1, with C(t) the
// autocovariance Σ_{i<n-t} (x_i - x̄)(x_{i+t} - x̄)/n, or nil for fewer
// than two values or zero variance. Zero-padding to at least 2n makes the
// circular FFT correlation equal the linear one.
func autocorrelation(x []float64) []float64 {
	n := len(x)
	if n < 2 {
		return nil
	}
	mean := 0.0
	for _, v := range x {
		mean += v
	}
	mean /= float64(n)
	m := 1
	for m < 2*n {
		m <<= 1
	}
	y := make([]float64, m)
	for i, v := range x {
		y[i] = v - mean
	}
	fft := fourier.NewFFT(m)
	c := fft.Coefficients(nil, y)
	for k, v := range c {
		a := cmplx.Abs(v)
		c[k] = complex(a*a, 0)
	}
	acov := fft.Sequence(nil, c)
	if !(acov[0] > 0) {
		return nil
	}
	rho := make([]float64, n)
	for t := range rho {
		rho[t] = acov[t] / acov[0]
	}
	return rho
}

// Estimate is the mean of a correlated series with its standard error.
type Estimate struct {
	// Mean is the sample mean.
	Mean float64 `json:"mean"`
	// Err is the standard error of Mean corrected for autocorrelation,
	// √(2 τ_int var / n), var the sample variance (divided by n - 1).
	Err float64 `json:"err"`
	// Tau is τ_int of the series (IntegratedTime), in samples.
	Tau float64 `json:"tau_int"`
	// Reliable is false when the series was too short for its τ_int
	// (IntegratedTime's ok): Err is then an underestimate.
	Reliable bool `json:"reliable"`
}

// MeanError returns the mean of x with its τ-corrected standard error. An
// empty series gives NaN in every field; a single value gives its value
// with Err = NaN (an error needs two values).
func MeanError(x []float64) Estimate {
	n := len(x)
	if n == 0 {
		return Estimate{Mean: math.NaN(), Err: math.NaN(), Tau: math.NaN()}
	}
	mean := 0.0
	for _, v := range x {
		mean += v
	}
	mean /= float64(n)
	if n == 1 {
		return Estimate{Mean: mean, Err: math.NaN(), Tau: 0.5}
	}
	ss := 0.0
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	tau, _, ok := IntegratedTime(x)
	return Estimate{Mean: mean, Err: math.Sqrt(2 * tau * ss / float64(n-1) / float64(n)), Tau: tau, Reliable: ok}
}
