package grad

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/h2arnn/h2arnn/internal/cputime"
	"github.com/h2arnn/h2arnn/model"
)

// benchNet builds arch for an SK instance of n spins.
func benchNet(b *testing.B, arch string, n int) model.Net {
	m, err := model.SherringtonKirkpatrick(n, 1, 0, 1)
	if err != nil {
		b.Fatal(err)
	}
	net, err := model.NewNet(arch, m, model.ArchOptions{Seed: 1, Depth: 2, Width: 1})
	if err != nil {
		b.Fatal(err)
	}
	return net
}

// BenchmarkTrainStep is one training step (REINFORCE over a batch of 256
// samples + Adam) of sk_2rsb on N = 100 with all cores; it reports samples
// per second.
func BenchmarkTrainStep(b *testing.B) {
	net := benchNet(b, "sk_2rsb", 100)
	const batch = 256
	est, err := NewReinforce(net, batch, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer est.Close()
	g := make([]float64, len(net.Params()))
	opt := NewAdam(len(g))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		est.Step(1, 1, uint64(i), g)
		opt.Step(net.Params(), g)
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkLikelihoodStep is one likelihood gradient over 256 rows for
// sk_1rsb with a trainable first layer on N = 100.
func BenchmarkLikelihoodStep(b *testing.B) {
	m, _ := model.SherringtonKirkpatrick(100, 1, 0, 1)
	net, err := model.NewNet("sk_1rsb", m, model.ArchOptions{Seed: 1, TrainFirstLayer: true})
	if err != nil {
		b.Fatal(err)
	}
	data := model.SampleBatch(net, 1024, 2, 0).X
	l, err := NewLikelihood(net, data, 256, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	g := make([]float64, len(net.Params()))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		l.Step(1, uint64(i), g)
	}
	b.ReportMetric(float64(b.N*256)/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkReinforceForms times one REINFORCE step (no optimiser) of
// sk_krsb, k = 0, 1, 2, on an SK instance of N = 200 spins with batches of
// 2000 on all cores, in every form: "rerun" (two passes: the batch drawn
// keeping nothing, then every sample re-run by GradBlock), "keep=m" (one
// pass: blocks of m samples keep their activations for BackwardBlock) and
// "auto" (the estimator's choice); and "draw", drawing the same batch with
// model.Sampler, the reference the step is compared with. Block sizes give
// the same gradient bits and the two forms agree to rounding
// (TestReinforceBlocksAgree); only their speed differs. Besides wall-clock
// seconds it reports CPU seconds per step, which move much less on a shared
// machine.
//
//	go test -run '^$' -bench ReinforceForms -count 6 ./grad
func BenchmarkReinforceForms(b *testing.B) {
	const n, batch = 200, 2000
	for k := range 3 {
		arch := fmt.Sprintf("sk_%drsb", k)
		if k == 0 {
			arch = "sk_rs"
		}
		net := benchNet(b, arch, n)
		b.Run(fmt.Sprintf("k=%d/draw", k), func(b *testing.B) {
			s := model.NewSampler(net, 0)
			defer s.Close()
			ctx := context.Background()
			bt, _ := s.Draw(ctx, nil, batch, 1, 0)
			b.ResetTimer()
			cpu := cputime.Process()
			for i := range b.N {
				s.Draw(ctx, bt, batch, 1, uint64(i+1))
			}
			reportStep(b, cpu)
		})
		for _, form := range []string{"auto", "rerun", "keep=1", "keep=2", "keep=4", "keep=8"} {
			b.Run(fmt.Sprintf("k=%d/%s", k, form), func(b *testing.B) {
				if form != "auto" {
					m := 0
					fmt.Sscanf(form, "keep=%d", &m)
					old := chooseKeptBlock
					chooseKeptBlock = func(_, _, _, _ int) int { return m }
					defer func() { chooseKeptBlock = old }()
				}
				est, err := NewReinforce(net, batch, 0)
				if err != nil {
					b.Fatal(err)
				}
				defer est.Close()
				g := make([]float64, len(net.Params()))
				est.Step(1, 1, 0, g) // lanes and accumulators allocated outside the timing
				b.ResetTimer()
				cpu := cputime.Process()
				for i := range b.N {
					est.Step(1, 1, uint64(i+1), g)
				}
				reportStep(b, cpu)
			})
		}
	}
}

// reportStep reports the wall-clock and, where the OS gives it, the CPU
// seconds per operation since the CPU time was cpu.
func reportStep(b *testing.B, cpu time.Duration) {
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/step")
	if cpu >= 0 {
		b.ReportMetric((cputime.Process()-cpu).Seconds()/float64(b.N), "cpu-s/step")
	}
}
