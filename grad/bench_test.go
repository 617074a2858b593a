package grad

import (
	"testing"

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
