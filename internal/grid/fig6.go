package grid

import (
	"fmt"
	"strconv"
)

// Figure 6 is the learning-from-data experiment (SPEC §5): Monte Carlo
// samples of one SK instance at β = 2, then an sk_1rsb net whose first
// layer is learned by maximum likelihood on them, and |W| against |J|;
// pseudo-likelihood maximisation (plm) on the same samples is the
// inverse-Ising baseline. Each instance is three rows: the mcmc run, and
// two fit runs that need it.
//
// The paper's setting is results/SK/SK_MC.ipynb: N = 100, beta = 2,
// num_sample = 10000 samples, sample_every_swap = 200 (200 sweeps of N
// flip attempts between kept samples), one instance, sk_1rsb with
// learn_first_l (its first layer started from another random SK matrix
// divided by √N: small and random). Its m = 200 chains keep their first
// sample one sweep after a random start; we run mcmc's 4 chains with 2,000
// sweeps of burn-in, which the README's Figure 6 section checks for
// equilibrium (its notebook's samples are not in equilibrium). The fit
// settings are those the README's Figure 6 section measured: sk_1rsb with
// lr 0.003 for at most 150 epochs (patience 20), plm with its L2 penalty
// 0.001 at the samples' β.

// fig6Spec is Figure 6 at one scale.
type fig6Spec struct {
	n         int
	instances []uint64
	samples   int // kept over all chains
	sweeps    int // between kept samples
	burnIn    int // sweeps before the first
	epochs    int // at most, for the net
	patience  int
}

const (
	fig6Beta   = 2
	fig6Chains = 4
	// fig6ProbeShare is the share of a Figure 6 run that the calibration
	// runs as its probe (see Probe).
	fig6ProbeShare = 20
)

var fig6Specs = map[string]fig6Spec{
	Paper: {n: 100, instances: []uint64{1}, samples: 10000, sweeps: 200, burnIn: 2000, epochs: 150, patience: 20},
	Small: {n: 50, instances: []uint64{1}, samples: 5000, sweeps: 200, burnIn: 2000, epochs: 100, patience: 20},
	Smoke: {n: 12, instances: []uint64{1}, samples: 400, sweeps: 20, burnIn: 100, epochs: 5, patience: 0},
}

// Probe is a miniature of a run for the calibration: the same subcommand
// with Args (RunDir references name the probes of the rows needed), whose
// processor time times Factor estimates the run's (an upper bound by the
// probe's fixed costs, start-up and files, which Factor multiplies too).
type Probe struct {
	Args   []string `json:"args"`
	Factor float64  `json:"factor"`
}

func buildFig6(scale string) (*Grid, error) {
	sp, ok := fig6Specs[scale]
	if !ok {
		return nil, fmt.Errorf("unknown scale %q; give one of %s", scale, joinScales())
	}
	g := &Grid{Figure: "fig6", Scale: scale, Layout: Layout{Couplings: true}}
	itoa := strconv.Itoa
	// The probe keeps a twentieth of the samples (a whole number per
	// chain) and of the burn-in.
	probeSamples := max(fig6Chains, sp.samples/fig6ProbeShare/fig6Chains*fig6Chains)
	probeBurn := sp.burnIn / fig6ProbeShare
	probeEpochs := max(1, sp.epochs/fig6ProbeShare)
	for _, inst := range sp.instances {
		model := []string{"-model", "sk", "-n", itoa(sp.n), "-seed", strconv.FormatUint(inst, 10)}
		id := func(what string) string { return fmt.Sprintf("fig6_n%03d_i%02d_%s", sp.n, inst, what) }
		mc := Row{ID: id("mcmc"), Figure: "fig6", Command: "mcmc", Model: "sk", N: sp.n, Instance: inst, Net: Net{Label: "mcmc", Arch: "mcmc"}}
		sampling := []string{"-beta", itoa(fig6Beta), "-chains", itoa(fig6Chains), "-sweeps", itoa(sp.sweeps)}
		mc.Args = append(append(append([]string{}, model...), sampling...), "-samples", itoa(sp.samples), "-burn-in", itoa(sp.burnIn))
		mc.Probe = &Probe{
			Args:   append(append(append([]string{}, model...), sampling...), "-samples", itoa(probeSamples), "-burn-in", itoa(probeBurn)),
			Factor: float64(fig6Chains*sp.burnIn+sp.samples*sp.sweeps) / float64(fig6Chains*probeBurn+probeSamples*sp.sweeps),
		}
		net := Row{ID: id("sk_1rsb"), Figure: "fig6", Command: "fit", Needs: []string{mc.ID}, Model: "sk", N: sp.n, Instance: inst,
			Net: Net{Label: "sk_1rsb", Arch: "sk_1rsb"}}
		fitNet := []string{"-arch", "sk_1rsb", "-learn-couplings", "-lr", "0.003", "-label", "sk_1rsb"}
		net.Args = append(append(append([]string{"-data", RunDir(mc.ID)}, fitNet...), "-epochs", itoa(sp.epochs), "-patience", itoa(sp.patience)), model...)
		// Maximum likelihood costs in proportion to samples × epochs; the
		// probe never stops early (patience 0), the run may.
		net.Probe = &Probe{
			Args:   append(append(append([]string{"-data", RunDir(mc.ID)}, fitNet...), "-epochs", itoa(probeEpochs), "-patience", "0"), model...),
			Factor: float64(sp.samples*sp.epochs) / float64(probeSamples*probeEpochs),
		}
		plm := Row{ID: id("plm"), Figure: "fig6", Command: "fit", Needs: []string{mc.ID}, Model: "sk", N: sp.n, Instance: inst,
			Net: Net{Label: "plm", Arch: "plm"}}
		fitPLM := []string{"-arch", "plm", "-beta", itoa(fig6Beta), "-l2", "0.001", "-label", "plm"}
		plm.Args = append(append([]string{"-data", RunDir(mc.ID)}, fitPLM...), model...)
		// Each L-BFGS iteration of plm passes over the samples once.
		plm.Probe = &Probe{Args: plm.Args, Factor: float64(sp.samples) / float64(probeSamples)}
		g.Rows = append(g.Rows, mc, net, plm)
	}
	return g, nil
}
