package driver

import (
	"context"
	"errors"

	"github.com/h2arnn/h2arnn/model"
)

// maxRefEnumerate is the largest N for which sample, train and estimate
// compute an exact reference by enumeration for models without a formula
// (2^26 states take about a second).
const maxRefEnumerate = 26

// refCheckEvery is how many β of the Curie-Weiss reference exactReference
// computes between looks at its context.
const refCheckEvery = 1024

// exactReference returns the exact thermodynamics of m at every β when a
// reference is cheap, else nil: the analytic sum for cw models (any N),
// Kaufman's formula for the 2D Ising model without field (any L), and
// enumeration, which visits the states once for all β, for any other model
// of N ≤ maxRefEnumerate spins. This is the one policy of every subcommand
// that reports f_exact. It stops with ctx's error once ctx is done.
func exactReference(ctx context.Context, m *model.Hamiltonian, betas []float64, workers int) ([]model.Thermo, error) {
	out := make([]model.Thermo, len(betas))
	switch {
	case m.CW != nil:
		for k, b := range betas {
			// A long schedule at large N takes minutes: look at ctx every
			// refCheckEvery β (about a second at N = 20000).
			if err := ctx.Err(); err != nil && k%refCheckEvery == refCheckEvery-1 {
				return nil, err
			}
			var err error
			if out[k], err = model.CWExact(m.N, *m.CW, b); err != nil {
				return nil, err
			}
		}
		return out, nil
	case m.Ising2D != nil:
		var err error
		for k, b := range betas {
			if out[k], err = model.Ising2DExact(*m.Ising2D, b); err != nil {
				break
			}
		}
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, model.ErrNoExactFormula) {
			return nil, err
		}
	}
	if m.N > maxRefEnumerate {
		return nil, nil
	}
	return model.Enumerate(ctx, m, betas, workers)
}

// freeEnergies returns the F of each Thermo (nil for nil).
func freeEnergies(th []model.Thermo) []float64 {
	if th == nil {
		return nil
	}
	out := make([]float64, len(th))
	for k, t := range th {
		out[k] = t.F
	}
	return out
}
