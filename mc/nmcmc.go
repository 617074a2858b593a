package mc

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/h2arnn/h2arnn/model"
)

// LocalMoves are the optional single-spin-flip Metropolis sweeps that
// NeuralMCMC makes after every proposal. Independence proposals from q
// mix poorly where q misses a mode or a corner of P; local moves explore
// around the current state. Each kind of step satisfies detailed balance
// with respect to P on its own, so their alternation keeps P stationary.
type LocalMoves struct {
	// Sweeps is the number of Metropolis sweeps (N attempted flips each)
	// after every proposal; 0 means none.
	Sweeps int
	// Model is the Hamiltonian of the chain (the net's).
	Model *model.Hamiltonian
	// LogProb evaluates ln q of a configuration (±1 spins), which a state
	// reached by local moves needs for the next acceptance test: a
	// model.Worker of the proposal net (its LogProb method) serves.
	LogProb func(x []float64) float64
}

// MCMC is the result of a neural Markov chain at one β. Energies are per
// spin, in units of the couplings.
type MCMC struct {
	// Steps is the number of proposals made (M - 1 for M samples: the
	// chain starts at the first).
	Steps int
	// Acceptance is the fraction of proposals accepted.
	Acceptance float64
	// E = <H>/N and MAbs = <|Σ_i x_i|>/N over the chain's states, with
	// errors corrected by their integrated autocorrelation times (E.Tau is
	// τ_int of e in steps of the chain).
	E    Estimate
	MAbs Estimate
	// Reliable is false when the chain is too short for its correlations:
	// τ_int of e could not be estimated (E.Reliable), or the effective
	// number of independent states M/(2τ_int) is below MinESS.
	Reliable bool
}

// NeuralChain is an independence Metropolis–Hastings chain at inverse
// temperature β whose proposals come from an autoregressive net q (neural
// MCMC, Nicoli et al., Phys. Rev. E 101, 023304 (2020)). A proposal x'
// replaces the current state x with probability
//
//	min(1, w(x')/w(x)),   w(x) = exp(-βH(x) - ln q(x)),
//
// the Metropolis–Hastings ratio P(x')q(x)/(P(x)q(x')) of a proposal that does
// not depend on the current state. This satisfies detailed balance with
// respect to P(x) ∝ e^{-βH(x)} whatever q is, as long as q gives every state
// a positive probability; with an exact net every weight is the same and
// every proposal is accepted. After each proposal the optional local moves
// (LocalMoves) move the current state further.
type NeuralChain struct {
	beta float64
	// x is the current state, energy its H and lw its ln w.
	x      []int8
	energy float64
	lw     float64
	local  *LocalMoves
	chain  *Chain // local moves' Metropolis chain, nil without them

	proposed, accepted int64
}

// NewNeuralChain starts a chain at β (finite, ≥ 0) in the state x0 (N spins
// ±1) with its ln q and total energy H, which must be finite. local may be
// nil (no local moves); with local.Sweeps > 0 it needs the model (of N
// spins) and a LogProb, and it makes the first local sweeps now, with rng.
func NewNeuralChain(beta float64, x0 []int8, logq, energy float64, local *LocalMoves, rng *rand.Rand) (*NeuralChain, error) {
	if err := checkBeta(beta); err != nil {
		return nil, err
	}
	if len(x0) < 1 {
		return nil, errors.New("mc: a neural chain needs a state of at least one spin")
	}
	lw, err := logWeight(beta, logq, energy)
	if err != nil {
		return nil, fmt.Errorf("%w, in the first state", err)
	}
	c := &NeuralChain{beta: beta, x: slices.Clone(x0), energy: energy, lw: lw}
	if local != nil && local.Sweeps > 0 {
		if local.Model == nil || local.LogProb == nil || local.Model.N != len(x0) {
			return nil, errors.New("mc: local moves need the model of the samples and a LogProb of the net")
		}
		if c.chain, err = NewChain(local.Model, beta, x0, rng); err != nil {
			return nil, err
		}
		c.local = local
		c.moveLocally(rng)
	}
	return c, nil
}

// Step proposes the state x (drawn from q, with its ln q and total energy,
// which must be finite) and then makes the local sweeps, all with rng. It
// reports whether the proposal was accepted. The uniform number of the
// acceptance test is drawn only when the ratio is below 1, as in Chain.
func (c *NeuralChain) Step(x []int8, logq, energy float64, rng *rand.Rand) (bool, error) {
	if len(x) != len(c.x) {
		return false, fmt.Errorf("mc: proposal of %d spins for a chain of %d", len(x), len(c.x))
	}
	lw, err := logWeight(c.beta, logq, energy)
	if err != nil {
		return false, fmt.Errorf("%w, in the proposal", err)
	}
	c.proposed++
	ok := false
	if d := lw - c.lw; d >= 0 || rng.Float64() < math.Exp(d) {
		copy(c.x, x)
		c.energy, c.lw = energy, lw
		c.accepted++
		ok = true
		if c.chain != nil {
			if err := c.chain.SetState(x); err != nil {
				return false, err
			}
		}
	}
	c.moveLocally(rng)
	return ok, nil
}

// moveLocally makes the local sweeps (if any) from the current state and
// takes their end as the new current state.
func (c *NeuralChain) moveLocally(rng *rand.Rand) {
	if c.chain == nil {
		return
	}
	for range c.local.Sweeps {
		c.chain.Sweep(rng)
	}
	// Exact energy and fields again (the sweeps update them incrementally),
	// then ln q of where the sweeps went.
	c.chain.Resync()
	c.chain.State(c.x)
	c.energy = c.chain.Energy()
	c.lw = -c.beta*c.energy - c.local.LogProb(c.chain.Spins())
}

// State returns the current configuration (the chain's own slice: read it,
// do not modify it).
func (c *NeuralChain) State() []int8 { return c.x }

// Energy returns H of the current configuration (total, not per spin).
func (c *NeuralChain) Energy() float64 { return c.energy }

// Acceptance returns the number of proposals made and accepted.
func (c *NeuralChain) Acceptance() (proposed, accepted int64) { return c.proposed, c.accepted }

// NeuralMCMC runs a NeuralChain at β over the samples of bt (drawn from q)
// as proposals, in order: it starts at sample 0 and proposes samples
// 1..M-1, with the acceptance tests and local moves (local may be nil)
// drawing from rng. The states after each step, the first one included,
// form the series of energies and |magnetisations| whose means are
// returned with τ-corrected errors.
//
// The chain starts from a sample of q rather than of P; the bias this
// leaves in the means is of order τ/M, below the statistical error
// √(2τ var/M) for any chain long enough to estimate τ (Estimate.Reliable).
//
// Errors: fewer than two samples (ErrFewSamples), a non-finite ln q or
// energy (ErrNonFinite), an invalid β (ErrBeta), or local moves without a
// model or a LogProb.
func NeuralMCMC(bt *model.Batch, beta float64, rng *rand.Rand, local *LocalMoves) (MCMC, error) {
	if err := checkBeta(beta); err != nil {
		return MCMC{}, err
	}
	if bt == nil || bt.B < 2 || bt.N < 1 {
		return MCMC{}, fmt.Errorf("%w (a chain needs at least two proposals of at least one spin)", ErrFewSamples)
	}
	n := bt.N
	for b := range bt.B {
		if _, err := logWeight(beta, bt.LogQ[b], bt.Energy[b]); err != nil {
			return MCMC{}, fmt.Errorf("%w, in sample %d", err, b)
		}
	}
	c, err := NewNeuralChain(beta, bt.X[:n], bt.LogQ[0], bt.Energy[0], local, rng)
	if err != nil {
		return MCMC{}, err
	}
	es, ms := make([]float64, bt.B), make([]float64, bt.B)
	for t := range bt.B {
		if t > 0 {
			if _, err := c.Step(bt.X[t*n:(t+1)*n], bt.LogQ[t], bt.Energy[t], rng); err != nil {
				return MCMC{}, err
			}
		}
		s := 0
		for _, v := range c.x {
			s += int(v)
		}
		es[t] = c.energy / float64(n)
		ms[t] = math.Abs(float64(s)) / float64(n)
	}
	r := MCMC{
		Steps:      bt.B - 1,
		Acceptance: float64(c.accepted) / float64(c.proposed),
		E:          MeanError(es),
		MAbs:       MeanError(ms),
	}
	r.Reliable = r.E.Reliable && float64(bt.B)/(2*r.E.Tau) >= MinESS
	return r, nil
}
