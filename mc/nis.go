package mc

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/h2arnn/h2arnn/model"
)

// MinESS is the effective number of samples, (Σw)²/Σw², below which NIS
// and the weighted means are flagged unreliable. It is a rule of thumb, not
// a guarantee: with heavy-tailed weights the error bar can be too small at
// any ESS, but below about a hundred effective samples it is too small
// often enough to matter.
const MinESS = 100

// MaxParetoK is the largest tail shape k̂ (Weights.ParetoK) of M weights
// under which importance-sampling estimates are trusted: min(1 - 1/log₁₀ M,
// 0.7), the threshold of Vehtari et al. (2024) for plain importance
// sampling (with fewer samples a heavy tail has had less chance to show).
func MaxParetoK(m int) float64 {
	return math.Min(1-1/math.Log10(float64(m)), 0.7)
}

// JackknifeBlocks is the number of contiguous blocks of the jackknife
// check of ln Ẑ in ImportanceSampling (fewer if there are fewer samples).
const JackknifeBlocks = 20

// ErrFewSamples is returned when an estimate needs more samples than it
// was given (an error bar needs at least two).
var ErrFewSamples = errors.New("mc: at least two samples are needed for an estimate with an error bar")

// ErrNonFinite is returned for a sample whose ln q or energy is NaN or
// infinite: it has no importance weight.
var ErrNonFinite = errors.New("mc: non-finite ln q or energy")

// Weights are the importance weights of M samples, kept as their
// logarithms and as values scaled by the largest weight, so that nothing
// overflows or underflows as a whole: weights far below the largest one
// (e^{-745} of it) become 0 in the scaled form, which changes no estimate
// by more than that fraction. Build them with NewWeights; the fields are to
// be read, not modified.
type Weights struct {
	// LogW holds ln w_b = -βH(x_b) - ln q(x_b), in sample order.
	LogW []float64
	// Max is the largest ln w_b.
	Max float64
	// Scaled holds w_b/max_b w_b = exp(LogW[b] - Max) ∈ [0, 1].
	Scaled []float64
	// sum is Σ_b Scaled[b].
	sum float64
}

// NewWeights returns the weights w_b = exp(-β·energy[b] - logq[b]) of the
// samples with the given ln q (nats) and total energies H (not per spin)
// at inverse temperature β (finite, ≥ 0). It needs at least two samples
// (ErrFewSamples) and finite ln q, energies and ln w (ErrNonFinite, naming
// the sample).
func NewWeights(logq, energy []float64, beta float64) (*Weights, error) {
	if err := checkBeta(beta); err != nil {
		return nil, err
	}
	if len(logq) != len(energy) {
		return nil, fmt.Errorf("mc: %d values of ln q for %d energies", len(logq), len(energy))
	}
	m := len(logq)
	if m < 2 {
		return nil, fmt.Errorf("%w (got %d)", ErrFewSamples, m)
	}
	w := &Weights{LogW: make([]float64, m), Scaled: make([]float64, m), Max: math.Inf(-1)}
	for b := range m {
		lw, err := logWeight(beta, logq[b], energy[b])
		if err != nil {
			return nil, fmt.Errorf("%w, in sample %d", err, b)
		}
		w.LogW[b] = lw
		w.Max = math.Max(w.Max, lw)
	}
	for b, lw := range w.LogW {
		w.Scaled[b] = math.Exp(lw - w.Max)
		w.sum += w.Scaled[b]
	}
	return w, nil
}

// Len returns the number of samples M.
func (w *Weights) Len() int { return len(w.LogW) }

// LogMean returns ln((1/M) Σ_b w_b), i.e. ln Ẑ for Boltzmann weights,
// computed as Max + ln(Σ Scaled/M) (a log-sum-exp shifted by the largest
// term, so it neither overflows nor underflows).
func (w *Weights) LogMean() float64 {
	return w.Max + math.Log(w.sum/float64(w.Len()))
}

// LogMeanErr returns the delta-method standard error of LogMean,
// s_w/(√M·w̄) with s_w the sample standard deviation of the weights (divided
// by M - 1) and w̄ their mean. It is computed about the mean (two passes),
// so equal weights give 0 up to rounding (≈ 1e-17), not the cancellation
// error of a one-pass formula.
func (w *Weights) LogMeanErr() float64 {
	m := float64(w.Len())
	mean := w.sum / m
	ss := 0.0
	for _, v := range w.Scaled {
		ss += (v - mean) * (v - mean)
	}
	return math.Sqrt(ss/(m-1)/m) / mean
}

// ESS returns the relative effective sample size (Σw)²/(M·Σw²), between 1/M
// (one weight dominates) and 1 (all weights equal, as for an exact net).
func (w *Weights) ESS() float64 {
	s2 := 0.0
	for _, v := range w.Scaled {
		s2 += v * v
	}
	return w.sum * w.sum / (float64(w.Len()) * s2)
}

// Mean returns the self-normalised importance-sampling estimate of the
// mean of an observable, μ = Σ_b w_b o_b / Σ_b w_b, with its delta-method
// standard error √(Σ_b w_b² (o_b - μ)²)/Σ_b w_b. obs has one value per
// sample. The error is computed about μ, so an observable equal on every
// sample has error 0 up to rounding.
func (w *Weights) Mean(obs []float64) (mean, err float64) {
	if len(obs) != w.Len() {
		panic(fmt.Sprintf("mc: Weights.Mean: %d values for %d samples", len(obs), w.Len()))
	}
	for b, v := range w.Scaled {
		mean += v * obs[b]
	}
	mean /= w.sum
	ss := 0.0
	for b, v := range w.Scaled {
		d := v * (obs[b] - mean)
		ss += d * d
	}
	return mean, math.Sqrt(ss) / w.sum
}

// Jackknife splits the samples into k contiguous blocks (sizes differing
// by at most one; 2 ≤ k ≤ M, else ErrFewSamples) and returns the
// jackknife estimate of ln((1/M) Σ w) with its bias removed to first
// order, k·θ - (k-1)·mean_j θ_(j), and its jackknife standard error
// √((k-1)/k · Σ_j (θ_(j) - mean θ_(j))²), where θ_(j) is LogMean without
// block j. For independent samples the error agrees with LogMeanErr up to
// its own statistical fluctuation (relative √(1/(2(k-1)))); a large
// disagreement flags weights too heavy-tailed for either to be trusted.
// When leaving out some block leaves no weight at all (every weight outside
// it vanished against the largest), the jackknife cannot say anything: it
// returns LogMean unchanged with an error of +Inf.
func (w *Weights) Jackknife(k int) (logMean, err float64, e error) {
	m := w.Len()
	if k < 2 || k > m {
		return math.NaN(), math.NaN(), fmt.Errorf("%w: a jackknife over %d blocks of %d samples", ErrFewSamples, k, m)
	}
	theta := w.LogMean()
	// Block sums, then each leave-one-out sum from the other blocks' sums
	// (not by subtraction, which would cancel when one block dominates).
	block := make([]float64, k)
	for j := range k {
		for _, v := range w.Scaled[j*m/k : (j+1)*m/k] {
			block[j] += v
		}
	}
	partial := make([]float64, k)
	for j := range k {
		rest := 0.0
		for i, s := range block {
			if i != j {
				rest += s
			}
		}
		if rest == 0 {
			return theta, math.Inf(1), nil
		}
		size := (j+1)*m/k - j*m/k
		partial[j] = w.Max + math.Log(rest/float64(m-size))
	}
	pm := 0.0
	for _, p := range partial {
		pm += p
	}
	pm /= float64(k)
	ss := 0.0
	for _, p := range partial {
		ss += (p - pm) * (p - pm)
	}
	kf := float64(k)
	return kf*theta - (kf-1)*pm, math.Sqrt((kf - 1) / kf * ss), nil
}

// NIS is the result of neural importance sampling at one β. Free energies
// and energies are per spin, in units of the couplings.
type NIS struct {
	// Samples is M.
	Samples int
	// LnZ is ln Ẑ (the whole system, not per spin) and LnZErr its
	// delta-method standard error; LnZJack and LnZErrJack are the block
	// jackknife's bias-corrected value and standard error (LnZ and +Inf
	// when a block held all the weight; see Weights.Jackknife).
	LnZ        float64
	LnZErr     float64
	LnZJack    float64
	LnZErrJack float64
	// F = -LnZ/(βN) with standard errors FErr (delta method) and FErrJack
	// (jackknife). F is biased high by about FErr²·βN/2 (see ImportanceSampling
	// on Jensen's inequality).
	F        float64
	FErr     float64
	FErrJack float64
	// ESS is the relative effective sample size (Σw)²/(M·Σw²).
	ESS float64
	// ParetoK is the tail shape k̂ of the weights (Weights.ParetoK; NaN
	// when undefined): above MaxParetoK(M) the error bars are not to be
	// trusted however large ESS looks.
	ParetoK float64
	// E = <H>/N and MAbs = <|Σ_i x_i|>/N, self-normalised, with standard
	// errors.
	E       float64
	EErr    float64
	MAbs    float64
	MAbsErr float64
	// Reliable is false when the effective number of samples ESS·M is
	// below MinESS, the jackknife and delta-method errors of ln Ẑ differ by
	// more than a factor 2, or ParetoK exceeds MaxParetoK(M): the error
	// bars are then not to be trusted.
	Reliable bool
}

// ImportanceSampling returns the NIS estimates from the samples of bt
// (drawn from q, with their ln q and total energies) at inverse temperature
// β > 0 (β = 0 has no free energy per spin; an error). It needs at least two
// samples and finite ln q and energies (see NewWeights). Degenerate but
// valid inputs give documented values: when all weights but one vanish
// against the largest, ESS = 1/M, the errors are of order one in ln Ẑ and
// Reliable is false.
//
// Neural importance sampling (NIS) turns samples x_b ~ q of an
// autoregressive net into estimates under the Boltzmann distribution
// P(x) = e^{-βH(x)}/Z that are exact in expectation, whatever q is (every
// net here gives every configuration a positive probability). With the
// importance weights
//
//	w_b = e^{-βH(x_b)} / q(x_b) = exp(-βH(x_b) - ln q(x_b)),
//
// E_q[w] = Z, so Ẑ = (1/M) Σ_b w_b estimates the partition function without
// bias, and a self-normalised mean Σ_b w_b O(x_b) / Σ_b w_b estimates <O>
// under P (consistently; its bias is O(1/M)). How much q differs from P
// shows in the spread of the weights, summarised by the relative effective
// sample size ESS/M = (Σw)²/(M·Σw²) ∈ [1/M, 1]: 1 for an exact net (all
// weights equal), 1/M when one weight dominates.
//
// ln Ẑ is biased low. Since ln is concave, Jensen's inequality gives
// E[ln Ẑ] ≤ ln E[Ẑ] = ln Z, and to second order in the relative spread of
// the weights
//
//	E[ln Ẑ] - ln Z ≈ -Var(w)/(2M w̄²) = -(1/(ESS/M) - 1)/(2M) ≈ -σ²/2,
//
// with σ the standard error of ln Ẑ (NIS.LnZErr). The free energy F_NIS =
// -ln Ẑ/(βN) is therefore biased high (towards the variational value) by
// about σ²/(2βN): negligible against its error bar σ/(βN) while σ ≪ 1, but
// comparable to it when the weights are heavy-tailed and the effective
// sample size is small, which is also when σ itself, estimated from the
// same weights, is too small (a large weight that was not drawn cannot
// show in the spread). A small ESS therefore means: do not trust the error
// bar. NIS.Reliable encodes this rule of thumb (see MinESS), and the
// block jackknife gives an independent error and a bias-corrected value
// to compare with.
func ImportanceSampling(bt *model.Batch, beta float64) (NIS, error) {
	r, _, err := importanceSampling(bt, beta)
	return r, err
}

// importanceSampling is ImportanceSampling that also returns the weights.
func importanceSampling(bt *model.Batch, beta float64) (NIS, *Weights, error) {
	if bt == nil || bt.N < 1 {
		return NIS{}, nil, fmt.Errorf("%w (no samples of at least one spin)", ErrFewSamples)
	}
	if !(beta > 0) {
		return NIS{}, nil, fmt.Errorf("%w: β = %v, and the free energy -ln Z/(βN) needs β > 0", ErrBeta, beta)
	}
	w, err := NewWeights(bt.LogQ, bt.Energy, beta)
	if err != nil {
		return NIS{}, nil, err
	}
	r := NIS{Samples: w.Len(), LnZ: w.LogMean(), LnZErr: w.LogMeanErr(), ESS: w.ESS()}
	r.LnZJack, r.LnZErrJack, err = w.Jackknife(min(JackknifeBlocks, w.Len()))
	if err != nil {
		return NIS{}, nil, err
	}
	scale := -1 / (beta * float64(bt.N))
	r.F, r.FErr, r.FErrJack = scale*r.LnZ, -scale*r.LnZErr, -scale*r.LnZErrJack
	e, mabs := perSpin(bt)
	r.E, r.EErr = w.Mean(e)
	r.MAbs, r.MAbsErr = w.Mean(mabs)
	r.ParetoK = w.ParetoK()
	r.Reliable = r.ESS*float64(r.Samples) >= MinESS && agree(r.LnZErr, r.LnZErrJack) && !(r.ParetoK > MaxParetoK(r.Samples))
	return r, w, nil
}

// agree reports whether two standard errors of ln Ẑ are within a factor 2
// of each other. Errors below 1e-10 nats are rounding, not statistics (an
// exact net's weights differ only in their last bits), and agree with each
// other.
func agree(a, b float64) bool {
	const rounding = 1e-10
	if a < rounding && b < rounding {
		return true
	}
	return a <= 2*b && b <= 2*a
}

// perSpin returns H(x_b)/N and |Σ_i x_{b,i}|/N of every sample of bt.
func perSpin(bt *model.Batch) (e, mabs []float64) {
	e, mabs = make([]float64, bt.B), make([]float64, bt.B)
	n := float64(bt.N)
	for b := range bt.B {
		e[b] = bt.Energy[b] / n
		s := 0
		for _, v := range bt.X[b*bt.N : (b+1)*bt.N] {
			s += int(v)
		}
		mabs[b] = math.Abs(float64(s)) / n
	}
	return e, mabs
}

// WeightedOverlaps returns the overlap distribution P(q) under the
// Boltzmann distribution estimated from the samples of bt with weights w:
// the density histogram of model.Overlaps with every pair (a, b) counted
// with weight w_a·w_b. Cost O(M²·N/64), shared among workers goroutines;
// the result does not depend on their number.
func WeightedOverlaps(bt *model.Batch, w *Weights, bins, workers int) []float64 {
	return model.WeightedOverlaps(bt, w.Scaled, bins, workers)
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// logWeight returns ln w = -βH - ln q of one sample, or ErrNonFinite if ln q,
// H or ln w itself (βH can overflow) is not finite.
func logWeight(beta, logq, energy float64) (float64, error) {
	lw := -beta*energy - logq
	if !isFinite(logq) || !isFinite(energy) || !isFinite(lw) {
		return 0, fmt.Errorf("%w: ln q = %v, H = %v, ln w = -βH - ln q = %v at β = %v", ErrNonFinite, logq, energy, lw, beta)
	}
	return lw, nil
}

// ParetoK returns k̂, the estimated shape of the generalised Pareto
// distribution fitted to the largest weights (Pareto-smoothed importance
// sampling's diagnostic: Vehtari, Simpson, Gelman, Yao & Gabry, JMLR 25
// (2024) 1-58). The upper tail of the weights decays as w^{-1/k}: for
// k < 1/2 their variance is finite and the central limit theorem, hence
// the error bars, hold for moderate M; for k ≥ 1/2 it is infinite and the
// error bars are too small in most runs; for k ≥ 1 even the mean converges
// arbitrarily slowly. This sees what the effective sample size cannot: a
// heavy tail of rare large weights that M samples have not yet drawn
// enough of, which inflates ESS/M at small M.
//
// The tail is the ⌈min(M/5, 3√M)⌉ largest weights, their exceedances over
// the next largest one; the shape is the profile-likelihood estimate of
// Zhang & Stephens (Technometrics 51 (2009) 316) with the weakly informative
// prior of Vehtari et al. (shrinking k̂ towards 1/2 by 10 pseudo-samples).
// It is NaN when the tail has fewer than 5 weights (M < 25) or when its
// weights are equal to within 1e-10 of the largest (an exact net, whose
// weights differ only by rounding: there is no tail to fit).
func (w *Weights) ParetoK() float64 {
	m := w.Len()
	tail := int(math.Ceil(math.Min(0.2*float64(m), 3*math.Sqrt(float64(m)))))
	if tail < 5 || tail >= m {
		return math.NaN()
	}
	sorted := slices.Clone(w.Scaled)
	slices.Sort(sorted)
	cut := sorted[m-tail-1]
	x := sorted[m-tail:]
	for i := range x {
		x[i] -= cut
	}
	if x[len(x)-1] <= 1e-10 {
		return math.NaN()
	}
	return gpdShape(x)
}

// gpdShape is the Zhang-Stephens estimate of the shape k of a generalised
// Pareto distribution from exceedances x ≥ 0 sorted ascending (see
// ParetoK), or NaN if they are all 0.
func gpdShape(x []float64) float64 {
	n := len(x)
	nf := float64(n)
	xmax := x[n-1]
	if !(xmax > 0) {
		return math.NaN()
	}
	// The grid of θ = -k/σ values scales with the first quartile; on a
	// discrete state space ties can make it 0, so take the smallest
	// positive exceedance then.
	q := x[int(nf/4+0.5)-1]
	if q == 0 {
		i, _ := slices.BinarySearch(x, math.SmallestNonzeroFloat64)
		q = x[i]
	}
	grid := 30 + int(math.Sqrt(nf))
	theta := make([]float64, grid)
	ll := make([]float64, grid) // profile log-likelihood at each θ
	for j := range theta {
		theta[j] = 1/xmax + (1-math.Sqrt(float64(grid)/(float64(j+1)-0.5)))/(3*q)
		k := meanLog1p(x, -theta[j])
		ll[j] = nf * (math.Log(-theta[j]/k) - k - 1)
	}
	// Posterior mean of θ with weights ∝ exp(ll), normalised without
	// overflow: w_j = 1/Σ_i exp(ll_i - ll_j).
	var post, norm float64
	for j := range theta {
		s := 0.0
		for _, l := range ll {
			s += math.Exp(l - ll[j])
		}
		wj := 1 / s
		post += wj * theta[j]
		norm += wj
	}
	post /= norm
	k := meanLog1p(x, -post)
	const priorN, priorK = 10, 0.5
	return (nf*k + priorN*priorK) / (nf + priorN)
}

// meanLog1p returns the mean of ln(1 + a·x_i).
func meanLog1p(x []float64, a float64) float64 {
	s := 0.0
	for _, v := range x {
		s += math.Log1p(a * v)
	}
	return s / float64(len(x))
}
