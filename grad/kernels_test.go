package grad

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn"
	"github.com/h2arnn/h2arnn/model"
)

// TestTrainingSameWithEveryKernelSet trains sk_1rsb (the chain kernels,
// with the one-pass and the two-pass REINFORCE), made (Dot/Axpy) and 1l
// briefly with every kernel set this CPU and build offer (avx512, avx2),
// and checks that parameters and reported statistics agree with the generic
// set to 1e-12 relative: the assembly changes rounding, not results.
func TestTrainingSameWithEveryKernelSet(t *testing.T) {
	sets := h2arnn.AvailableKernels()
	if len(sets) < 2 {
		t.Skipf("only the kernel set %v in this build/CPU: no assembly set to compare with the generic one", sets)
	}
	t.Logf("comparing %v with the generic set", sets[:len(sets)-1])
	defer h2arnn.SetKernels(h2arnn.Kernels())
	m, err := model.SherringtonKirkpatrick(12, 1, 0.1, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"sk_1rsb", "sk_1rsb two-pass", "made", "1l"} {
		type outcome struct {
			params []float64
			stats  []Stats
		}
		run := func(set string) outcome {
			if err := h2arnn.SetKernels(set); err != nil {
				t.Fatal(err)
			}
			name, two := arch, false
			if n, ok := strings.CutSuffix(arch, " two-pass"); ok {
				name, two = n, true
			}
			forceTwoPass(t, two)
			net, err := model.NewNet(name, m, model.ArchOptions{Depth: 2, Width: 2, Seed: 3})
			if err != nil {
				t.Fatal(err)
			}
			cfg := DefaultConfig()
			cfg.Betas = []float64{0.5, 1.2}
			cfg.InitSteps, cfg.MaxStep, cfg.Batch, cfg.LR = 15, 10, 64, 1e-2
			cfg.StatsBatches, cfg.EvalSamples, cfg.Seed, cfg.Workers = 5, 200, 7, 2
			tr, err := NewTrainer(net, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer tr.Close()
			res, err := tr.Train(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var o outcome
			o.params = append(o.params, net.Params()...)
			for _, r := range res {
				o.stats = append(o.stats, r.Stats, r.Train)
			}
			return o
		}
		ref := run("generic")
		for _, set := range sets {
			if set == "generic" {
				continue
			}
			got := run(set)
			for i := range ref.params {
				if d := math.Abs(got.params[i] - ref.params[i]); d > 1e-12*math.Max(1, math.Abs(ref.params[i])) {
					t.Fatalf("%s with %s: parameter %d = %.17g, generic %.17g", arch, set, i, got.params[i], ref.params[i])
				}
			}
			for k := range ref.stats {
				a, b := got.stats[k], ref.stats[k]
				for _, pair := range [][2]float64{{a.F, b.F}, {a.FStd, b.FStd}, {a.E, b.E}, {a.S, b.S}, {a.MAbs, b.MAbs}} {
					if d := math.Abs(pair[0] - pair[1]); d > 1e-12*math.Max(1e-3, math.Abs(pair[1])) {
						t.Fatalf("%s with %s: statistics %+v, generic %+v", arch, set, a, b)
					}
				}
			}
		}
	}
}
