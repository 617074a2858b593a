package mc_test

import (
	"context"
	"fmt"

	"github.com/h2arnn/h2arnn/mc"
	"github.com/h2arnn/h2arnn/model"
)

// EstimateNet turns a net's samples into unbiased estimates. The exact
// Curie-Weiss net cw_n gives every sample the same importance weight, so
// the effective sample size is M and the estimated free energy is exact.
func ExampleEstimateNet() {
	m, _ := model.CurieWeiss(50, 1, 0)
	net, _ := model.NewNet("cw_n", m, model.ArchOptions{})
	r, err := mc.EstimateNet(context.Background(), net, 1.2, mc.NetOptions{Samples: 2000, Seed: 1, NIS: true, MCMC: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	exact, _ := model.CWExact(50, *m.CW, 1.2)
	fmt.Printf("f_nis %.10f, exact %.10f\n", r.NIS.F, exact.F)
	fmt.Printf("ESS/M %.3f, reliable %v, chain acceptance %.3f\n", r.NIS.ESS, r.NIS.Reliable, r.MCMC.Acceptance)
	// Output:
	// f_nis -0.6104331046, exact -0.6104331046
	// ESS/M 1.000, reliable true, chain acceptance 1.000
}

// ImportanceSampling works on any samples with their ln q and energies,
// e.g. a simulator's own: here a batch drawn from an untrained 1l net on
// an SK instance of 12 spins, whose weights are far from equal.
func ExampleImportanceSampling() {
	m, _ := model.SherringtonKirkpatrick(12, 1, 0, 1)
	net, _ := model.NewNet("1l", m, model.ArchOptions{Seed: 1})
	bt := model.SampleBatch(net, 20000, 1, 0)
	r, err := mc.ImportanceSampling(bt, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	th, _ := model.Enumerate(context.Background(), m, []float64{1}, 0)
	z := (r.F - th[0].F) / r.FErr
	fmt.Printf("f_nis within 2 standard errors of exact: %v; ESS/M %.2f, reliable %v\n", z*z < 4, r.ESS, r.Reliable)
	// Output:
	// f_nis within 2 standard errors of exact: true; ESS/M 0.03, reliable true
}
