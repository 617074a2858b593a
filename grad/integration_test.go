package grad

import (
	"math"
	"testing"

	"github.com/h2arnn/h2arnn/model"
)

// The tests in this file train the production architectures under (a
// shortened or the full) paper protocol. They take minutes, so
// `go test -short` skips them; run them with
//
//	go test ./grad -run 'TestSK1RSBMatchesEnumeration|TestCWInfPaperProtocol' -v -timeout 1h

// TestCWInfPaperProtocol trains cw_inf on the Curie-Weiss model N = 100
// (J = 1, h = 0) with the paper's protocol (DefaultConfig: 39 β from 0.1 to
// 2, 5000 + 1000 steps, batch 2000, Adam 1e-3, early stop at std 1e-4) and
// checks after each β, with the exact variational free energy F[q] of the
// trained parameters (an O(N²) dynamic program, no sampling noise):
//   - F[q] ≥ F (the variational bound) to rounding, against model.CWExact;
//   - the evaluation batch's f agrees with F[q] within 4 standard errors
//     (the trainer reports an unbiased estimate of its network's F[q]);
//   - F[q] is no worse than that of cw_inf's analytic N → ∞ parameters at
//     the same β (ArchOptions.AnalyticInit), an independent reference: the
//     trained net must at least find that solution.
//
// Measured (seed 1, about 17 minutes on two busy cores): relative error
// (F[q] - F)/|F| from 8e-9 at β = 0.1 up to 2.4e-3 at β = 1.1 (the
// transition), down to 6e-6 at β = 2; 1.8 to 40 times below the analytic
// parameters' error at every β; evaluation f within 1.7 se of F[q].
func TestCWInfPaperProtocol(t *testing.T) {
	if testing.Short() {
		t.Skip("trains cw_inf N=100 with the full paper protocol (minutes)")
	}
	const n = 100
	m, err := model.CurieWeiss(n, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	net, err := model.NewNet("cw_inf", m, model.ArchOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ci := net.(*model.CWInf)
	cfg := DefaultConfig()
	cfg.Seed = 1
	tr, err := NewTrainer(net, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	worst := 0.0
	tr.OnBeta = func(r Result) error {
		exact := model.CWExact(n, model.CWParams{J: 1}, r.Beta).F
		fq, err := ci.VariationalFreeEnergy(r.Beta)
		if err != nil {
			return err
		}
		rel := (fq - exact) / math.Abs(exact)
		worst = math.Max(worst, rel)
		se := r.Eval.FStd / math.Sqrt(float64(cfg.EvalSamples))
		t.Logf("β %.2f: F[q] %.7f, exact %.7f, rel %.2e; eval f %.7f (%.1f se); %d steps, %.0fs",
			r.Beta, fq, exact, rel, r.Eval.F, (r.Eval.F-fq)/se, r.Steps, r.Seconds)
		if fq < exact-1e-12*math.Abs(exact) {
			t.Errorf("β %v: F[q] = %.12g below the exact free energy %.12g", r.Beta, fq, exact)
		}
		if math.Abs(r.Eval.F-fq) > 4*se+1e-12 {
			t.Errorf("β %v: evaluation f %.9g differs from the exact F[q] %.9g by more than 4 se (%.2g)", r.Beta, r.Eval.F, fq, se)
		}
		an, err := model.NewNet("cw_inf", m, model.ArchOptions{AnalyticInit: true, Beta: r.Beta})
		if err != nil {
			return err
		}
		fa, err := an.(*model.CWInf).VariationalFreeEnergy(r.Beta)
		if err != nil {
			return err
		}
		if fq > fa {
			t.Errorf("β %v: trained F[q] %.9g is above the analytic parameters' %.9g (rel %.2e)", r.Beta, fq, fa, (fa-exact)/math.Abs(exact))
		}
		return nil
	}
	if _, err := tr.Train(); err != nil {
		t.Fatal(err)
	}
	t.Logf("worst relative error %.2e", worst)
}

// TestSK1RSBMatchesEnumeration trains sk_1rsb on one SK instance with
// N = 20 (J = 1, h = 0, seed 1) with a shortened annealing (β = 0.1, 0.2,
// ..., 1.5; 300 steps at the first β and 100 at every other; batch 1000;
// Adam lr 5e-3; about two minutes on two cores) and compares the
// evaluation batch's f with model.Enumerate:
//   - never below the exact f by more than 4 standard errors of the mean
//     (F[q] ≥ F);
//   - within 1e-3 relative at β = 0.5 and 1.0;
//   - within 2.5e-3 relative at β = 1.5. With this budget the error there
//     levels off at 1.6e-3 to 1.8e-3 (measured with lr 5e-3 and 2e-3, and
//     with up to 600 steps per β); 1e-3 at β = 1.5 would need the full
//     paper protocol (about an hour on two cores).
func TestSK1RSBMatchesEnumeration(t *testing.T) {
	if testing.Short() {
		t.Skip("trains sk_1rsb on N=20 for about two minutes")
	}
	m, err := model.SherringtonKirkpatrick(20, 1, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	net, err := model.NewNet("sk_1rsb", m, model.ArchOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.BetaStart, cfg.BetaEnd, cfg.BetaCount = 0.1, 1.5, 15
	cfg.InitSteps, cfg.MaxStep, cfg.Batch, cfg.LR = 300, 100, 1000, 5e-3
	cfg.EvalSamples, cfg.Seed = 10000, 1
	exact, err := model.Enumerate(m, cfg.Schedule(), 0)
	if err != nil {
		t.Fatal(err)
	}
	tol := map[int]float64{4: 1e-3, 9: 1e-3, 14: 2.5e-3} // β index → relative tolerance
	tr, err := NewTrainer(net, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.OnBeta = func(r Result) error {
		fx := exact[r.Index].F
		if math.Abs(exact[r.Index].Beta-r.Beta) > 1e-12 {
			t.Fatalf("schedule mismatch: %v vs %v", exact[r.Index].Beta, r.Beta)
		}
		rel := (r.Stats.F - fx) / math.Abs(fx)
		se := r.Stats.FStd / math.Sqrt(float64(cfg.EvalSamples))
		t.Logf("β %.2f: f %.6f ± %.1e, exact %.6f, rel %.2e, %.0fs", r.Beta, r.Stats.F, se, fx, rel, r.Seconds)
		if r.Stats.F < fx-4*se {
			t.Errorf("β %v: f %.7g below the exact %.7g by more than 4 se (%.2g)", r.Beta, r.Stats.F, fx, se)
		}
		if tl, ok := tol[r.Index]; ok && math.Abs(rel) > tl {
			t.Errorf("β %v: relative error %.3g > %g", r.Beta, rel, tl)
		}
		return nil
	}
	if _, err := tr.Train(); err != nil {
		t.Fatal(err)
	}
}
