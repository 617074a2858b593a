package mc

import (
	"math"
	"math/cmplx"

	"gonum.org/v1/gonum/dsp/fourier"
	"gonum.org/v1/gonum/stat"
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
	c := autocovariance(x)
	if c == nil {
		return 0.5, 0, true
	}
	return sokalWindow(c, len(x)/4)
}

// sokalWindow sums the normalised autocorrelation c(t)/c(0) over lags
// 1..W with W the smallest lag such that W ≥ WindowFactor·τ(W), trying
// lags up to limit (see IntegratedTime).
func sokalWindow(c []float64, limit int) (tau float64, window int, ok bool) {
	tau = 0.5
	limit = min(limit, len(c)-1)
	for w := 1; w <= limit; w++ {
		tau += c[w] / c[0]
		if float64(w) >= WindowFactor*tau {
			return tau, w, true
		}
	}
	return tau, max(limit, 0), false
}

// autocovariance returns C(t) = Σ_{i<n-t} (x_i - x̄)(x_{i+t} - x̄)/n for
// t = 0..n-1, or nil for fewer than two values or zero variance.
// Zero-padding to at least 2n makes the circular FFT correlation equal the
// linear one.
func autocovariance(x []float64) []float64 {
	n := len(x)
	if n < 2 {
		return nil
	}
	mean := stat.Mean(x, nil)
	m := 1
	for m < 2*n {
		m <<= 1
	}
	y := make([]float64, m)
	for i, v := range x {
		y[i] = v - mean
	}
	fft := fourier.NewFFT(m)
	f := fft.Coefficients(nil, y)
	for k, v := range f {
		a := cmplx.Abs(v)
		f[k] = complex(a*a, 0)
	}
	acov := fft.Sequence(nil, f)
	if !(acov[0] > 0) {
		return nil
	}
	out := make([]float64, n)
	for t := range out {
		// fourier.FFT's Sequence is unnormalised: it returns m times the
		// inverse transform.
		out[t] = acov[t] / float64(m) / float64(n)
	}
	return out
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
// with Err = NaN (an error needs two values). It is ChainsMeanError of one
// chain.
func MeanError(x []float64) Estimate { return ChainsMeanError([][]float64{x}) }

// ChainsMeanError returns the mean of several independent runs of the same
// stationary process (chains), all values pooled, with its standard error
//
//	Err = √(2 τ_int var / n),
//
// n the total number of values, var their sample variance about the pooled
// mean (divided by n - 1; a spread between the chains' means therefore
// enlarges it), and τ_int from the chains' autocovariances averaged with
// weights n_c (so that every lag is estimated from all chains), windowed as
// in IntegratedTime with lags up to a quarter of the shortest chain of at
// least two values. Chains of one value carry no autocorrelation and are
// only pooled. Reliable is false when no window fits (see IntegratedTime).
// Empty input gives NaN in every field; one value in all gives Err = NaN.
func ChainsMeanError(chains [][]float64) Estimate {
	var pooled []float64
	var acov []float64
	weight, shortest := 0.0, math.MaxInt
	for _, x := range chains {
		pooled = append(pooled, x...)
		c := autocovariance(x)
		if c == nil {
			continue
		}
		shortest = min(shortest, len(x))
		if len(c) > len(acov) {
			acov = append(acov, make([]float64, len(c)-len(acov))...)
		}
		w := float64(len(x))
		for t, v := range c {
			acov[t] += w * v
		}
		weight += w
	}
	n := len(pooled)
	if n == 0 {
		return Estimate{Mean: math.NaN(), Err: math.NaN(), Tau: math.NaN()}
	}
	mean, variance := stat.MeanVariance(pooled, nil)
	if n == 1 {
		return Estimate{Mean: mean, Err: math.NaN(), Tau: 0.5}
	}
	tau, ok := 0.5, true
	if weight > 0 {
		tau, _, ok = sokalWindow(acov, shortest/4)
	}
	return Estimate{Mean: mean, Err: math.Sqrt(2 * tau * variance / float64(n)), Tau: tau, Reliable: ok}
}

// GelmanRubin returns the potential scale reduction factor R̂ of several
// chains of one quantity (Gelman & Rubin 1992): with W the mean of the
// chains' variances, B/n the variance of their means and n their mean
// length,
//
//	R̂ = √(((n-1)/n · W + B/n) / W).
//
// R̂ → 1 when the chains sample the same distribution; values above about
// 1.01–1.1 say that they have not yet mixed (e.g. each is stuck in its own
// valley). It is NaN for fewer than two chains or a chain of fewer than
// two values, 1 when every value of every chain is the same, and +Inf when
// each chain is constant but they differ.
func GelmanRubin(chains [][]float64) float64 {
	if len(chains) < 2 {
		return math.NaN()
	}
	means := make([]float64, len(chains))
	w, n := 0.0, 0.0
	for c, x := range chains {
		if len(x) < 2 {
			return math.NaN()
		}
		var v float64
		means[c], v = stat.MeanVariance(x, nil)
		w += v
		n += float64(len(x))
	}
	k := float64(len(chains))
	w /= k
	n /= k
	bn := stat.Variance(means, nil)
	switch {
	case w == 0 && bn == 0:
		return 1
	case w == 0:
		return math.Inf(1)
	}
	return math.Sqrt(((n-1)/n*w + bn) / w)
}
