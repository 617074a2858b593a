package h2arnn_test

import (
	"fmt"

	"github.com/h2arnn/h2arnn"
)

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
