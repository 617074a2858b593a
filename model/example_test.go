package model_test

import (
	"context"
	"fmt"
	"math"

	"github.com/h2arnn/h2arnn/model"
)

// The cw_n network is the exact autoregressive form of the Curie-Weiss
// Boltzmann distribution: every sample it draws has ln q(x) + βH(x) =
// -ln Z, so the variational free energy of any batch equals the exact one
// with zero spread.
func Example() {
	const n, beta = 100, 1.2
	m, err := model.CurieWeiss(n, 1, 0)
	if err != nil {
		panic(err)
	}
	exact, err := model.CWExact(n, model.CWParams{J: 1}, beta)
	if err != nil {
		panic(err)
	}
	net, err := model.NewNet("cw_n", m, model.ArchOptions{})
	if err != nil {
		panic(err)
	}
	net.SetBeta(beta)
	bt := model.SampleBatch(net, 1000, 1, 0) // seed 1, all cores
	st := model.BatchStats(bt, beta)
	fmt.Printf("exact f = %.10f\n", exact.F)
	fmt.Printf("cw_n  f = %.10f, spread below 1e-12: %v\n", st.F, st.FStd < 1e-12)
	fmt.Printf("parameters: %d\n", net.ParamCount())
	// Output:
	// exact f = -0.6040040146
	// cw_n  f = -0.6040040146, spread below 1e-12: true
	// parameters: 20202
}

// Enumerate gives the exact thermodynamics of any model with N ≤ 32 spins
// at several temperatures in one pass over the 2^N states.
func ExampleEnumerate() {
	m, err := model.SherringtonKirkpatrick(16, 1, 0, 7) // J = 1, h = 0, instance seed 7
	if err != nil {
		panic(err)
	}
	th, err := model.Enumerate(context.Background(), m, []float64{0.5, 1, 2}, 0)
	if err != nil {
		panic(err)
	}
	for _, t := range th {
		fmt.Printf("β = %.1f: f = %.6f, e = %.6f, s = %.6f, S = β(E-F) holds: %v\n",
			t.Beta, t.F, t.E, t.S, math.Abs(t.S-t.Beta*(t.E-t.F)) < 1e-12)
	}
	// Output:
	// β = 0.5: f = -1.495428, e = -0.217588, s = 0.638920, S = β(E-F) holds: true
	// β = 1.0: f = -0.902285, e = -0.387086, s = 0.515199, S = β(E-F) holds: true
	// β = 2.0: f = -0.687605, e = -0.527799, s = 0.319612, S = β(E-F) holds: true
}
