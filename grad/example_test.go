package grad_test

import (
	"context"
	"fmt"
	"math"

	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/model"
)

// Train sk_1rsb on a small SK instance with a short annealing schedule and
// compare its variational free energy with the exact one from
// enumeration. Results are bit-for-bit the same on any number of cores.
func Example() {
	m, err := model.SherringtonKirkpatrick(12, 1, 0, 3)
	if err != nil {
		panic(err)
	}
	net, err := model.NewNet("sk_1rsb", m, model.ArchOptions{Seed: 1})
	if err != nil {
		panic(err)
	}
	cfg := grad.DefaultConfig()
	cfg.Betas = []float64{0.3, 0.6, 1.0}
	cfg.InitSteps, cfg.MaxStep, cfg.Batch, cfg.LR = 300, 200, 500, 1e-2
	cfg.EvalSamples, cfg.Seed = 5000, 1
	tr, err := grad.NewTrainer(net, cfg)
	if err != nil {
		panic(err)
	}
	defer tr.Close()
	tr.OnBeta = func(r grad.Result) error {
		exact, err := model.Enumerate(context.Background(), m, []float64{r.Beta}, 0)
		if err != nil {
			return err
		}
		rel := (r.Stats.F - exact[0].F) / math.Abs(exact[0].F)
		fmt.Printf("β = %.1f: f = %.4f (exact %.4f), within 1e-3: %v, above exact - 4 se: %v\n",
			r.Beta, r.Stats.F, exact[0].F, math.Abs(rel) < 1e-3,
			r.Stats.F > exact[0].F-4*r.Stats.FStd/math.Sqrt(float64(cfg.EvalSamples)))
		return nil
	}
	if _, err := tr.Train(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println("parameters:", net.ParamCount())
	// Output:
	// β = 0.3: f = -2.3834 (exact -2.3835), within 1e-3: true, above exact - 4 se: true
	// β = 0.6: f = -1.2935 (exact -1.2937), within 1e-3: true, above exact - 4 se: true
	// β = 1.0: f = -0.9040 (exact -0.9042), within 1e-3: true, above exact - 4 se: true
	// parameters: 684
}
