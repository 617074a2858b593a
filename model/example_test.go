package model_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

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

// Save writes a net (its architecture, options, β, the hash of its model
// and its parameters, bit for bit); Load rebuilds it, but only on the model
// it was saved with.
func ExampleSave() {
	m, _ := model.SherringtonKirkpatrick(10, 1, 0, 5)
	net, _ := model.NewNet("sk_2rsb", m, model.ArchOptions{Seed: 1})
	net.SetBeta(1.5)

	var file bytes.Buffer // an os.File in practice
	if err := model.Save(&file, net); err != nil {
		panic(err)
	}
	saved := bytes.Clone(file.Bytes())
	got, err := model.Load(&file, m)
	if err != nil {
		panic(err)
	}
	fmt.Println(got.Arch(), got.Size(), got.Beta(), got.ParamCount(), slices.Equal(got.Params(), net.Params()))

	other, _ := model.SherringtonKirkpatrick(10, 1, 0, 6) // another instance
	_, err = model.Load(bytes.NewReader(saved), other)
	var mismatch *model.ModelMismatchError
	fmt.Println(errors.As(err, &mismatch))
	// Output:
	// sk_2rsb 10 1.5 650 true
	// true
}

// LogProbBatch evaluates ln q of many configurations, given as int8 rows,
// on all cores and into the caller's slice; DrawInto draws into caller
// slices. Neither allocates after its first call.
func ExampleSampler_LogProbBatch() {
	m, _ := model.CurieWeiss(20, 1, 0)
	net, _ := model.NewNet("cw_n", m, model.ArchOptions{Beta: 1.2})
	smp := model.NewSampler(net, 0)
	defer smp.Close()

	const count = 4
	x := make([]int8, count*m.N)
	lnq, energy := make([]float64, count), make([]float64, count)
	if err := smp.DrawInto(context.Background(), x, lnq, energy, 1, 0, 0); err != nil {
		panic(err)
	}
	again := make([]float64, count)
	smp.LogProbBatch(again, x)
	exact, _ := model.CWExact(m.N, *m.CW, 1.2)
	for b := range count {
		// cw_n is exact: ln q(x) + βH(x) = -ln Z for every x.
		fmt.Println(again[b] == lnq[b], math.Abs(lnq[b]+1.2*energy[b]+exact.LnZ) < 1e-12)
	}
	// Output:
	// true true
	// true true
	// true true
	// true true
}

// Clone gives a snapshot with its own parameters: a sampler on the snapshot
// keeps proposing from it while the original is trained; copying the
// parameters refreshes it without allocating.
func ExampleNet_clone() {
	m, _ := model.SherringtonKirkpatrick(8, 1, 0, 1)
	net, _ := model.NewNet("1l", m, model.ArchOptions{Seed: 1})
	snap := net.Clone()
	net.Params()[0] += 1 // a training step
	fmt.Println(snap.Params()[0] == net.Params()[0])
	copy(snap.Params(), net.Params()) // refresh the snapshot
	fmt.Println(snap.Params()[0] == net.Params()[0])
	// Output:
	// false
	// true
}
