package mc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/h2arnn/h2arnn/model"
)

// NetOptions say what EstimateNet computes and from which random streams.
type NetOptions struct {
	// Samples is the number M of samples drawn from the net (≥ 2).
	Samples int
	// Seed and Step select the random streams: sample b is drawn with
	// model.SampleRNG(Seed, Step, b), and the chain's acceptance tests and
	// local moves use the stream of the index -1 (2⁶⁴-1), which no sample
	// uses.
	Seed, Step uint64
	// Workers is the number of sampling goroutines (≤ 0: GOMAXPROCS). The
	// results do not depend on it.
	Workers int
	// NIS and MCMC select the estimators (at least one).
	NIS, MCMC bool
	// LocalSweeps is the number of Metropolis sweeps after every proposal
	// of the chain (see LocalMoves); 0 for none.
	LocalSweeps int
	// OverlapBins > 0 also estimates P(q) under P (WeightedOverlaps) on
	// that many bins; it needs NIS.
	OverlapBins int
}

// NetEstimate is what EstimateNet returns. Figures are per spin.
type NetEstimate struct {
	Beta float64
	// Variational holds the plain statistics of the samples under q
	// (model.BatchStats): F is the variational free energy, an upper bound
	// on the true one up to its sampling error FStd/√M.
	Variational model.Stats
	// NIS and MCMC are nil unless asked for.
	NIS  *NIS
	MCMC *MCMC
	// Overlaps is the reweighted P(q), nil unless asked for.
	Overlaps []float64
}

// EstimateNet draws opt.Samples samples from net at inverse temperature β
// (> 0; it calls net.SetBeta(β), which matters for the nets whose
// parameters are analytic) and returns the variational statistics and the
// asked-for unbiased estimates. The same M samples serve every estimator:
// NIS weights them, and the chain takes them as its proposals in order.
// Results are a pure function of the parameters, β and opt except
// opt.Workers. The drawing stops once ctx is done, and EstimateNet returns
// ctx's error.
func EstimateNet(ctx context.Context, net model.Net, beta float64, opt NetOptions) (NetEstimate, error) {
	if !(beta > 0) || math.IsInf(beta, 0) {
		return NetEstimate{}, fmt.Errorf("%w: β = %v, and a free energy per spin needs β > 0", ErrBeta, beta)
	}
	switch {
	case opt.Samples < 2:
		return NetEstimate{}, fmt.Errorf("%w (asked for %d)", ErrFewSamples, opt.Samples)
	case !opt.NIS && !opt.MCMC:
		return NetEstimate{}, errors.New("mc: no estimator asked for: set NIS, MCMC or both")
	case opt.LocalSweeps < 0:
		return NetEstimate{}, fmt.Errorf("mc: %d local sweeps; give 0 or more", opt.LocalSweeps)
	case opt.OverlapBins > 0 && !opt.NIS:
		return NetEstimate{}, errors.New("mc: the reweighted P(q) needs the NIS weights; set NIS too")
	}
	net.SetBeta(beta)
	smp := model.NewSampler(net, opt.Workers)
	bt, err := smp.Draw(ctx, nil, opt.Samples, opt.Seed, opt.Step)
	smp.Close()
	if err != nil {
		return NetEstimate{}, err
	}
	out := NetEstimate{Beta: beta, Variational: model.BatchStats(bt, beta)}
	if opt.NIS {
		r, w, err := importanceSampling(bt, beta)
		if err != nil {
			return NetEstimate{}, err
		}
		out.NIS = &r
		if opt.OverlapBins > 0 {
			out.Overlaps = WeightedOverlaps(bt, w, opt.OverlapBins, opt.Workers)
		}
	}
	if opt.MCMC {
		src := rand.NewPCG(0, 0)
		model.SampleRNG(src, opt.Seed, opt.Step, -1)
		var local *LocalMoves
		if opt.LocalSweeps > 0 {
			local = &LocalMoves{Sweeps: opt.LocalSweeps, Model: net.Model(), LogProb: net.NewWorker().LogProb}
		}
		r, err := NeuralMCMC(bt, beta, rand.New(src), local)
		if err != nil {
			return NetEstimate{}, err
		}
		out.MCMC = &r
	}
	return out, nil
}
