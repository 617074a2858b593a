package mc

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/h2arnn/h2arnn/model"
)

// Tempering is parallel tempering (replica exchange, Swendsen & Wang 1986;
// Hukushima & Nemoto 1996): R Metropolis chains of one model at increasing
// inverse temperatures β_0 < β_1 < … < β_{R-1}, one per slot. A Sweep sweeps
// every replica once and then proposes to exchange the configurations of
// neighbouring slots (r, r+1) with probability
//
//	min(1, exp((β_{r+1} - β_r)(E_{r+1} - E_r)))
//
// (SwapProbability), which keeps the product of the Boltzmann
// distributions stationary. Pairs with even r are proposed on even sweeps
// and pairs with odd r on odd ones, so that every proposal in a round is
// independent of the others. Hot replicas cross barriers and hand their
// configurations down the ladder; the slot at the largest β samples the
// target temperature.
type Tempering struct {
	chains []*Chain
	// sweeps counts the sweeps done (it fixes the parity of the next round).
	sweeps int64
	// tried[r], accepted[r] count the exchange proposals between slots r
	// and r+1.
	tried, accepted []int64
}

// NewTempering returns replicas of m at betas (strictly increasing, all
// finite and ≥ 0, at least two), each started from a configuration drawn
// uniformly with rngs[r] (len(rngs) = len(betas)).
func NewTempering(m *model.Hamiltonian, betas []float64, rngs []*rand.Rand) (*Tempering, error) {
	if len(betas) < 2 {
		return nil, errors.New("mc: parallel tempering needs at least two inverse temperatures")
	}
	if len(rngs) != len(betas) {
		return nil, fmt.Errorf("mc: %d random streams for %d replicas", len(rngs), len(betas))
	}
	t := &Tempering{tried: make([]int64, len(betas)-1), accepted: make([]int64, len(betas)-1)}
	for r, b := range betas {
		if r > 0 && !(b > betas[r-1]) {
			return nil, fmt.Errorf("mc: the β ladder must increase strictly (β[%d] = %v after %v)", r, b, betas[r-1])
		}
		c, err := NewChain(m, b, nil, rngs[r])
		if err != nil {
			return nil, err
		}
		t.chains = append(t.chains, c)
	}
	return t, nil
}

// Replicas returns the chains by slot: Replicas()[r] runs at β_r. The
// configurations move between slots; the chains (β, counters) stay.
func (t *Tempering) Replicas() []*Chain { return t.chains }

// Sweeps returns the number of sweeps done.
func (t *Tempering) Sweeps() int64 { return t.sweeps }

// SetSweeps sets the sweep counter (for resuming a saved run: it fixes the
// parity of the next exchange round).
func (t *Tempering) SetSweeps(s int64) { t.sweeps = s }

// SwapRates returns, for each neighbouring pair (r, r+1), the number of
// exchange proposals and of accepted ones.
func (t *Tempering) SwapRates() (tried, accepted []int64) {
	return append([]int64(nil), t.tried...), append([]int64(nil), t.accepted...)
}

// SetSwapCounts restores the exchange counters (for resuming a saved run).
func (t *Tempering) SetSwapCounts(tried, accepted []int64) error {
	if len(tried) != len(t.tried) || len(accepted) != len(t.accepted) {
		return fmt.Errorf("mc: %d/%d swap counters for %d pairs", len(tried), len(accepted), len(t.tried))
	}
	copy(t.tried, tried)
	copy(t.accepted, accepted)
	return nil
}

// SwapProbability is the acceptance probability of exchanging the
// configurations of two replicas at inverse temperatures b1, b2 with
// energies e1, e2: min(1, exp((b2 - b1)(e2 - e1))).
func SwapProbability(b1, e1, b2, e2 float64) float64 {
	return math.Min(1, math.Exp((b2-b1)*(e2-e1)))
}

// Sweep sweeps every replica once, replica r drawing from rngs[r], then
// runs one round of exchange proposals drawing from swap.
func (t *Tempering) Sweep(rngs []*rand.Rand, swap *rand.Rand) {
	for r, c := range t.chains {
		c.Sweep(rngs[r])
	}
	t.exchange(swap)
}

// exchange proposes swaps between the pairs (r, r+1) with r of the parity
// of the sweep counter, then advances the counter.
func (t *Tempering) exchange(rng *rand.Rand) {
	for r := int(t.sweeps & 1); r+1 < len(t.chains); r += 2 {
		a, b := t.chains[r], t.chains[r+1]
		t.tried[r]++
		p := SwapProbability(a.beta, a.e, b.beta, b.e)
		if p >= 1 || rng.Float64() < p {
			a.swap(b)
			t.accepted[r]++
		}
	}
	t.sweeps++
}

// GeometricLadder returns r ≥ 2 inverse temperatures spaced geometrically
// from lo to hi (0 < lo < hi), β_k = lo·(hi/lo)^{k/(r-1)}, with β_0 = lo and
// β_{r-1} = hi exactly: the usual first ladder for parallel tempering, whose
// neighbouring replicas exchange at similar rates where the specific heat
// varies slowly. It panics for arguments outside that range.
func GeometricLadder(lo, hi float64, r int) []float64 {
	if r < 2 || !(lo > 0) || !(hi > lo) || math.IsInf(hi, 0) {
		panic(fmt.Sprintf("mc: GeometricLadder(%v, %v, %d): need 0 < lo < hi finite and r ≥ 2", lo, hi, r))
	}
	out := make([]float64, r)
	for k := range out {
		out[k] = lo * math.Pow(hi/lo, float64(k)/float64(r-1))
	}
	out[0], out[r-1] = lo, hi
	return out
}
