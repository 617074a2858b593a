package h2arnn_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/h2arnn/h2arnn"
	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/model"
)

// Neural MCMC: train sk_1rsb on a small Sherrington-Kirkpatrick instance
// through the API, then use it as the proposal of an independence
// Metropolis–Hastings chain. A proposal x' ~ q replaces the state x with
// probability min(1, w(x')/w(x)), w = e^{-βH}/q, so the chain samples the
// Boltzmann distribution exactly, whatever the net's remaining error; the
// net only decides how often proposals are accepted. Proposals are drawn in
// blocks on all cores into buffers allocated once, from a snapshot of the
// net (Clone), so training could go on with net meanwhile.
func Example_neuralMCMC() {
	ctx := context.Background()
	const n, beta = 12, 1.0
	m, _ := model.SherringtonKirkpatrick(n, 1, 0, 3) // J = 1, h = 0, instance 3
	net, _ := model.NewNet("sk_1rsb", m, model.ArchOptions{Seed: 1})
	cfg := grad.DefaultConfig()
	cfg.Betas, cfg.InitSteps, cfg.Batch, cfg.LR, cfg.EvalSamples = []float64{beta}, 200, 256, 0.02, 0
	tr, _ := grad.NewTrainer(net, cfg)
	defer tr.Close()
	if _, err := tr.Train(ctx); err != nil {
		panic(err)
	}

	proposal := net.Clone()
	smp := model.NewSampler(proposal, 0) // 0: all cores; the chain is the same on any number
	defer smp.Close()
	const block, blocks = 2000, 10
	x, lnq, energy := make([]int8, block*n), make([]float64, block), make([]float64, block)
	rng := rand.New(rand.NewPCG(7, 7))
	lnw, e := math.Inf(-1), 0.0 // the chain's state: ln w and H
	accepted, sumE := 0, 0.0
	for k := range blocks {
		if err := smp.DrawInto(ctx, x, lnq, energy, 42, uint64(k), 0); err != nil {
			panic(err)
		}
		for b := range block {
			if lw := -beta*energy[b] - lnq[b]; math.Log(rng.Float64()) < lw-lnw {
				lnw, e = lw, energy[b]
				accepted++
			}
			sumE += e
		}
	}
	exact, _ := model.Enumerate(ctx, m, []float64{beta}, 0)
	fmt.Printf("acceptance %.2f\n", float64(accepted)/(block*blocks))
	fmt.Printf("e = %.2f, exact %.2f\n", sumE/(block*blocks)/n, exact[0].E)
	// Output:
	// acceptance 0.84
	// e = -0.37, exact -0.37
}

// A simulator that needs lnσ of a batch of logits, or the sk_krsb chain
// sum, calls the kernels directly; the fastest set this CPU supports was
// chosen at start-up (H2ARNN_KERNELS overrides it).
func Example() {
	z := []float64{-800, -1, 0, 1, 800}
	y := make([]float64, len(z))
	h2arnn.LogSigmoid(y, z)
	for i := range z {
		fmt.Printf("lnσ(%g) = %.6g\n", z[i], y[i])
	}
	// Output:
	// lnσ(-800) = -800
	// lnσ(-1) = -1.31326
	// lnσ(0) = -0.693147
	// lnσ(1) = -0.313262
	// lnσ(800) = 0
}

// ChainForward evaluates one sign's chains of an sk_krsb conditional: here
// k = 1 (two log-sigmoid layers) over R = 3 later spins with past fields f.
// ChainBackward then turns an upstream derivative into parameter gradients.
func ExampleChainForward() {
	const k, r = 1, 3
	f := []float64{0.5, -1, 2}
	w := []float64{ // rows j = 0, 1, 2 of length R: w_0, w_1, and the output weights w_2
		1, 1, 1,
		0.5, 0.5, 0.5,
		1, -1, 2,
	}
	b := []float64{0, 0, 0, 0.1, 0.1, 0.1} // b_0, b_1
	act := make([]float64, 2*(k+1)*r)
	sum := h2arnn.ChainForward(k, f, w, b, act)
	fmt.Printf("chain sum %.6f\n", sum)

	gw, gb := make([]float64, len(w)), make([]float64, len(b))
	h2arnn.ChainBackward(k, f, w, act, 1, 1, 0, gw, gb, nil, nil, nil)
	fmt.Printf("∂sum/∂w_2 = %.6f %.6f %.6f (= y_1)\n", gw[6], gw[7], gw[8])
	// Output:
	// chain sum -1.104402
	// ∂sum/∂w_2 = -0.764012 -1.009702 -0.675046 (= y_1)
}
