package h2arnn_test

// End-to-end benchmarks of the reference workload: sk_krsb on one
// SK instance (N = 200, seed 1) with batches of 2000, on all cores, next to
// the kernel benchmarks of bench_test.go so that one run shows both. The
// README's performance table is produced by
//
//	go test -run '^$' -bench 'TrainStep|Sample' -count 6 . | tee new.txt
//	benchstat new.txt

import (
	"context"
	"fmt"
	"testing"

	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/internal/cputime"
	"github.com/h2arnn/h2arnn/model"
)

const (
	benchN     = 200
	benchBatch = 2000
)

func benchModel(b *testing.B) *model.Hamiltonian {
	m, err := model.SherringtonKirkpatrick(benchN, 1, 0, 1)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func benchSK(b *testing.B, k int) model.Net {
	net, err := model.NewSK(benchModel(b), model.ArchOptions{K: k, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	return net
}

// BenchmarkTrainStep is one training step (REINFORCE over 2000 samples +
// Adam) of sk_krsb, k = 0, 1, 2, at N = 200, in the form grad.Reinforce
// chooses for this machine (grad's BenchmarkReinforceForms times every form).
func BenchmarkTrainStep(b *testing.B) {
	for k := range 3 {
		b.Run(fmt.Sprintf("k=%d", k), func(b *testing.B) {
			net := benchSK(b, k)
			est, err := grad.NewReinforce(net, benchBatch, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer est.Close()
			g := make([]float64, len(net.Params()))
			opt := grad.NewAdam(len(g))
			est.Step(1, 1, 0, g) // lanes and accumulators allocated outside the timing
			b.ReportAllocs()
			b.ResetTimer()
			cpu := cputime.Process()
			for i := range b.N {
				est.Step(1, 1, uint64(i+1), g)
				opt.Step(net.Params(), g)
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/step")
			if cpu >= 0 {
				b.ReportMetric((cputime.Process()-cpu).Seconds()/float64(b.N), "cpu-s/step")
			}
		})
	}
}

// BenchmarkSample draws 2000 samples (model.Sampler.Draw, all cores) from
// sk_krsb, k = 0, 1, 2, and from the exact cw_n on a Curie-Weiss model, all
// at N = 200.
func BenchmarkSample(b *testing.B) {
	nets := map[string]func() model.Net{
		"cw_n": func() model.Net {
			m, err := model.CurieWeiss(benchN, 1, 0)
			if err != nil {
				b.Fatal(err)
			}
			net, err := model.NewNet("cw_n", m, model.ArchOptions{})
			if err != nil {
				b.Fatal(err)
			}
			net.SetBeta(1)
			return net
		},
	}
	for k := range 3 {
		nets[fmt.Sprintf("sk_k=%d", k)] = func() model.Net { return benchSK(b, k) }
	}
	for _, name := range []string{"sk_k=0", "sk_k=1", "sk_k=2", "cw_n"} {
		b.Run(name, func(b *testing.B) {
			net := nets[name]()
			s := model.NewSampler(net, 0)
			defer s.Close()
			ctx := context.Background()
			bt, _ := s.Draw(ctx, nil, benchBatch, 1, 0)
			b.ResetTimer()
			cpu := cputime.Process()
			for i := range b.N {
				s.Draw(ctx, bt, benchBatch, 1, uint64(i+1))
			}
			b.ReportMetric(float64(b.N*benchBatch)/b.Elapsed().Seconds(), "samples/s")
			if cpu >= 0 {
				b.ReportMetric(float64(b.N*benchBatch)/(cputime.Process()-cpu).Seconds(), "samples/cpu-s")
			}
		})
	}
}
