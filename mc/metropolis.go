// Package mc samples the Boltzmann distribution P(x) ∝ exp(-βH(x)) of a
// pairwise spin model (model.Hamiltonian) with Markov chain Monte Carlo, and
// turns the resulting correlated series into estimates with honest error
// bars:
//
//   - Chain: single-spin-flip Metropolis at one β with incrementally kept
//     local fields (O(N) per accepted flip, O(1) per rejected one);
//   - Tempering: parallel tempering (replica exchange) over a ladder of β,
//     for low temperatures where single flips do not cross between valleys;
//   - Run: a checkpointable sampling run of several independent chains
//     (either kind) in parallel, keeping configurations every few sweeps,
//     with a State that restores it exactly (the `h2arnn mcmc` command is
//     this type plus flags and files);
//   - IntegratedTime, MeanError and ChainsMeanError: the integrated
//     autocorrelation time of a series (Sokal's automatic window) and the
//     standard error of a mean corrected by it, for one chain or pooled over
//     several; GelmanRubin: whether several chains agree;
//   - ImportanceSampling, NeuralMCMC and EstimateNet: estimates under the
//     Boltzmann distribution from the samples of an autoregressive net q
//     that are exact in expectation whatever q is, with error bars: neural
//     importance sampling (ln Z, F, e, |m|, P(q) reweighted by
//     w = e^{-βH}/q, and the effective sample size) and neural MCMC (an
//     independence Metropolis–Hastings chain with q as the proposal,
//     optionally mixed with local sweeps). See nis.go for the bias of ln Ẑ
//     at small effective sample sizes.
//
// Every chain draws from a caller-owned *rand.Rand, so results are a pure
// function of the caller's seeding: Run gives each chain and replica its
// own stream, which makes runs independent of the number of goroutines.
package mc

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/h2arnn/h2arnn"
	"github.com/h2arnn/h2arnn/model"
)

// Chain is a single-spin-flip Metropolis chain on one model at inverse
// temperature Beta. A sweep is N attempted flips at sites chosen uniformly
// at random; a flip of spin i changes the energy by ΔE = 2 x_i φ_i, with the
// local field φ_i = h_i + Σ_j J_ij x_j, and is accepted with probability
// min(1, exp(-β ΔE)). This proposal is symmetric, so the chain satisfies
// detailed balance with respect to exp(-βH)/Z.
//
// The local fields and the energy are updated incrementally: an accepted
// flip costs one AXPY over row i of J. Rounding errors of the updates
// accumulate slowly (≈ 1e-16 relative per flip); Resync recomputes both
// exactly, and the kept samples of package users are taken right after it.
type Chain struct {
	m    *model.Hamiltonian
	beta float64
	// x holds the spins (±1), phi the local fields, e the energy H(x).
	x, phi []float64
	e      float64

	attempted, accepted int64
}

// ErrBeta is returned for an inverse temperature that is negative, NaN or
// infinite. (β = 0 is allowed: the chain then samples uniformly.)
var ErrBeta = errors.New("mc: inverse temperature must be finite and non-negative")

func checkBeta(beta float64) error {
	if !(beta >= 0) || math.IsInf(beta, 0) {
		return fmt.Errorf("%w (got %v)", ErrBeta, beta)
	}
	return nil
}

// NewChain returns a chain on m at beta starting from x0 (N spins ±1), or
// from a configuration drawn uniformly with rng when x0 is nil.
func NewChain(m *model.Hamiltonian, beta float64, x0 []int8, rng *rand.Rand) (*Chain, error) {
	if m == nil || m.N < 1 {
		return nil, errors.New("mc: the model has no spins")
	}
	if err := checkBeta(beta); err != nil {
		return nil, err
	}
	c := &Chain{m: m, beta: beta, x: make([]float64, m.N), phi: make([]float64, m.N)}
	if x0 == nil {
		for i := range c.x {
			c.x[i] = 1
			if rng.Uint64()&1 == 0 {
				c.x[i] = -1
			}
		}
		c.Resync()
		return c, nil
	}
	if err := c.SetState(x0); err != nil {
		return nil, err
	}
	return c, nil
}

// SetState moves the chain to configuration x (N spins ±1) and recomputes
// its local fields and energy. The acceptance counters are kept.
func (c *Chain) SetState(x []int8) error {
	if len(x) != c.m.N {
		return fmt.Errorf("mc: configuration of %d spins for a model of %d", len(x), c.m.N)
	}
	for i, v := range x {
		if v != 1 && v != -1 {
			return fmt.Errorf("mc: spin %d is %d, want ±1", i, v)
		}
		c.x[i] = float64(v)
	}
	c.Resync()
	return nil
}

// Resync recomputes the local fields and the energy from the spins, which
// removes the rounding accumulated by incremental updates. O(N²).
func (c *Chain) Resync() {
	m := c.m
	for i := range c.phi {
		c.phi[i] = m.H[i] + h2arnn.Dot(m.Row(i), c.x)
	}
	c.e = m.Energy(c.x)
}

// Beta returns the chain's inverse temperature.
func (c *Chain) Beta() float64 { return c.beta }

// Energy returns H(x) of the current configuration (total, not per spin).
func (c *Chain) Energy() float64 { return c.e }

// Magnetization returns Σ_i x_i of the current configuration.
func (c *Chain) Magnetization() int {
	s := 0.0
	for _, v := range c.x {
		s += v
	}
	return int(s)
}

// State copies the current configuration into dst (len N) as int8 spins.
func (c *Chain) State(dst []int8) {
	for i, v := range c.x {
		dst[i] = int8(v)
	}
}

// Spins returns the current configuration as ±1 float64 values. The slice
// is the chain's own: read it, do not modify it.
func (c *Chain) Spins() []float64 { return c.x }

// Acceptance returns the number of attempted and accepted flips so far.
func (c *Chain) Acceptance() (attempted, accepted int64) { return c.attempted, c.accepted }

// Sweep makes N Metropolis flip attempts at uniformly random sites and
// returns the number accepted.
func (c *Chain) Sweep(rng *rand.Rand) int {
	n := c.m.N
	acc := 0
	for range n {
		if c.attempt(rng.IntN(n), rng) {
			acc++
		}
	}
	c.attempted += int64(n)
	c.accepted += int64(acc)
	return acc
}

// attempt proposes flipping spin i and reports whether it was accepted.
func (c *Chain) attempt(i int, rng *rand.Rand) bool {
	de := 2 * c.x[i] * c.phi[i]
	// Downhill moves are always taken; uphill ones with exp(-βΔE). The
	// uniform draw is made only when needed, as is usual; the stream is
	// still a pure function of the seed.
	if de > 0 && rng.Float64() >= math.Exp(-c.beta*de) {
		return false
	}
	c.flip(i, de)
	return true
}

// flip flips spin i whose flip changes the energy by de, updating the
// local fields of every other spin (J_ii = 0 leaves φ_i alone).
func (c *Chain) flip(i int, de float64) {
	c.x[i] = -c.x[i]
	h2arnn.Axpy(2*c.x[i], c.m.Row(i), c.phi)
	c.e += de
}

// swap exchanges the configurations (with their fields and energies) of
// two chains on the same model; their β and counters stay.
func (c *Chain) swap(d *Chain) {
	c.x, d.x = d.x, c.x
	c.phi, d.phi = d.phi, c.phi
	c.e, d.e = d.e, c.e
}
