package grad

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"testing"

	"github.com/h2arnn/h2arnn/model"
)

// TestReinforceMatchesExactGradient averages the batch estimator over many
// batches and compares it per component with the exact gradient of βF[q]
// from enumerating all 2^8 states. The batch-mean baseline makes the
// estimator's expectation exactly (1 - 1/B) times the gradient, which is what
// is compared (a wrong baseline or a wrong 1/B shows up as a bias).
func TestReinforceMatchesExactGradient(t *testing.T) {
	m, err := model.SherringtonKirkpatrick(8, 1, 0.2, 3)
	if err != nil {
		t.Fatal(err)
	}
	net := newLNet(m, 1, 0.5)
	const beta = 1.3
	bf, exact := exactVariational(net, beta)

	const B, K = 16, 6000
	est, err := NewReinforceChunk(net, B, 2, 5)
	if err != nil {
		t.Fatal(err)
	}
	defer est.Close()
	p := len(net.Params())
	g := make([]float64, p)
	sum := make([]float64, p)
	sum2 := make([]float64, p)
	var lsum, lsum2 float64
	for k := range K {
		st := est.Step(beta, 42, uint64(k), g)
		for i, v := range g {
			sum[i] += v
			sum2[i] += v * v
		}
		l := est.Loss()
		if d := st.F*beta*float64(m.N) - l; math.Abs(d) > 1e-12*math.Abs(l) {
			t.Fatalf("Stats.F·βN = %v, Loss = %v", st.F*beta*float64(m.N), l)
		}
		lsum += l
		lsum2 += l * l
	}
	chi2, maxZ := 0.0, 0.0
	for i := range p {
		mean := sum[i] / K
		se := math.Sqrt((sum2[i]/K - mean*mean) / (K - 1))
		z := (mean - (1-1.0/B)*exact[i]) / se
		chi2 += z * z
		maxZ = math.Max(maxZ, math.Abs(z))
		if math.Abs(z) > 4 {
			t.Errorf("component %d: estimate %.6g ± %.2g, expected (1-1/B)·exact = %.6g (z = %.2f)", i, mean, se, (1-1.0/B)*exact[i], z)
		}
	}
	// Σz² over p = 36 components is χ²(36); its 0.1% and 99.9% quantiles are
	// about 16.3 and 68.0. Too small means the errors are overestimated or
	// the comparison is vacuous.
	if chi2 < 16.3 || chi2 > 68 {
		t.Errorf("Σz² = %.1f over %d components, outside the χ² 99.8%% range [16.3, 68]", chi2, p)
	}
	t.Logf("gradient: Σz² = %.1f over %d components (expect ≈ %d), max |z| = %.2f", chi2, p, p, maxZ)

	lm := lsum / K
	lse := math.Sqrt((lsum2/K - lm*lm) / (K - 1))
	if z := (lm - bf) / lse; math.Abs(z) > 4 {
		t.Errorf("mean loss %.6g ± %.2g, exact βF[q] = %.6g (z = %.2f)", lm, lse, bf, z)
	}
}

// TestReinforceWorkerIndependence checks that gradient, statistics and
// batch are bit-for-bit the same with 1, 2 and 5 workers, including a
// batch that is not a multiple of the chunk size.
func TestReinforceWorkerIndependence(t *testing.T) {
	m, err := model.SherringtonKirkpatrick(12, 1, 0, 5)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := model.NewSK(m, model.ArchOptions{K: 1, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	// 1l samples one at a time; sk_1rsb in blocks, with either gradient form.
	t.Run("1l", func(t *testing.T) { checkWorkerIndependence(t, m, newLNet(m, 2, 0.3)) })
	for _, two := range []bool{false, true} {
		t.Run(fmt.Sprintf("sk_1rsb/two-pass=%v", two), func(t *testing.T) {
			forceTwoPass(t, two)
			checkWorkerIndependence(t, m, sk)
		})
	}
}

// TestReinforceBlocksAgree checks that the gradient, the statistics and
// the batch are bit-for-bit the same whether the one-pass form keeps blocks
// of 1, 2, 3, 4 or 8 samples, with 1 and 3 workers, and agree with the
// two-pass form to rounding, for sk_krsb with a fixed and a trainable first
// layer: the block size is a matter of speed only.
func TestReinforceBlocksAgree(t *testing.T) {
	m, err := model.SherringtonKirkpatrick(12, 1, 0.1, 9)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		k     int
		train bool
	}{{1, false}, {2, false}, {1, true}} {
		net, err := model.NewSK(m, model.ArchOptions{K: tc.k, TrainFirstLayer: tc.train, Seed: 4})
		if err != nil {
			t.Fatal(err)
		}
		for i := range net.Params() {
			net.Params()[i] *= 30 // leave the near-linear start
		}
		name := fmt.Sprintf("%s train=%v", net.Arch(), tc.train)
		step := func(block, workers int) ([]float64, Stats, model.Batch) {
			forceKeptBlock(t, func(int) int { return block })
			est, err := NewReinforce(net, 203, workers)
			if err != nil {
				t.Fatal(err)
			}
			defer est.Close()
			if est.TwoPass() != (block == 0) {
				t.Fatalf("%s block %d: TwoPass() = %v", name, block, est.TwoPass())
			}
			g := make([]float64, len(net.Params()))
			st := est.Step(0.8, 3, 5, g)
			bt := est.Batch()
			return g, st, model.Batch{N: bt.N, B: bt.B, X: slices.Clone(bt.X), LogQ: slices.Clone(bt.LogQ), Energy: slices.Clone(bt.Energy)}
		}
		ref, refSt, refBt := step(1, 1)
		scale := 0.0
		for _, v := range ref {
			scale = math.Max(scale, math.Abs(v))
		}
		if scale == 0 {
			t.Fatalf("%s: zero gradient, the comparison is vacuous", name)
		}
		for _, block := range []int{0, 1, 2, 3, 4, 8} {
			for _, workers := range []int{1, 3} {
				g, st, bt := step(block, workers)
				if block == 0 {
					for i := range g {
						if math.Abs(g[i]-ref[i]) > 1e-12*scale {
							t.Fatalf("%s, two passes, %d workers: component %d = %v, one pass %v", name, workers, i, g[i], ref[i])
						}
					}
				} else if !slices.Equal(math64bits(g), math64bits(ref)) {
					t.Errorf("%s block %d, %d workers: gradient differs from blocks of 1", name, block, workers)
				}
				if st != refSt {
					t.Errorf("%s block %d, %d workers: stats %+v, blocks of 1 %+v", name, block, workers, st, refSt)
				}
				if !slices.Equal(bt.X, refBt.X) || !slices.Equal(math64bits(bt.LogQ), math64bits(refBt.LogQ)) || !slices.Equal(math64bits(bt.Energy), math64bits(refBt.Energy)) {
					t.Errorf("%s block %d, %d workers: batch differs from blocks of 1", name, block, workers)
				}
			}
		}
	}
}

// TestReinforceFormIgnoresWorkers checks that the choice between one and
// two passes, which changes rounding, does not depend on the number of
// workers, whatever the cache size, while the block size may.
func TestReinforceFormIgnoresWorkers(t *testing.T) {
	old := cacheBytes
	t.Cleanup(func() { cacheBytes = old })
	m, err := model.SherringtonKirkpatrick(30, 1, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	net, err := model.NewSK(m, model.ArchOptions{K: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[bool]bool{}
	for cache := 64 << 10; cache <= 64<<20; cache *= 2 {
		cacheBytes = cache
		var forms []bool
		for _, workers := range []int{1, 2, 7} {
			est, err := NewReinforce(net, 16, workers)
			if err != nil {
				t.Fatal(err)
			}
			forms = append(forms, est.TwoPass())
			est.Close()
		}
		if forms[0] != forms[1] || forms[0] != forms[2] {
			t.Errorf("cache %d B: TwoPass() with 1, 2, 7 workers = %v", cache, forms)
		}
		seen[forms[0]] = true
	}
	if !seen[true] || !seen[false] {
		t.Errorf("the cache sizes tried never switched the form (%v): the test is vacuous", seen)
	}
}

func checkWorkerIndependence(t *testing.T, m *model.Hamiltonian, net model.Net) {
	p := len(net.Params())
	type out struct {
		g  []float64
		st Stats
		bt model.Batch
	}
	var ref *out
	for _, workers := range []int{1, 2, 5} {
		est, err := NewReinforce(net, 203, workers)
		if err != nil {
			t.Fatal(err)
		}
		if est.Workers() != workers {
			t.Fatalf("Workers() = %d, want %d", est.Workers(), workers)
		}
		g := make([]float64, p)
		var o out
		for step := range uint64(3) {
			o.st = est.Step(0.7, 11, step, g)
		}
		bt := est.Batch()
		o.g, o.bt = g, model.Batch{N: bt.N, B: bt.B, X: slices.Clone(bt.X), LogQ: slices.Clone(bt.LogQ), Energy: slices.Clone(bt.Energy)}
		est.Close()
		if ref == nil {
			ref = &o
			continue
		}
		if !slices.Equal(math64bits(o.g), math64bits(ref.g)) {
			t.Errorf("%d workers: gradient differs from 1 worker", workers)
		}
		if o.st != ref.st {
			t.Errorf("%d workers: stats %+v, 1 worker %+v", workers, o.st, ref.st)
		}
		if !slices.Equal(o.bt.X, ref.bt.X) || !slices.Equal(math64bits(o.bt.LogQ), math64bits(ref.bt.LogQ)) || !slices.Equal(math64bits(o.bt.Energy), math64bits(ref.bt.Energy)) {
			t.Errorf("%d workers: batch differs from 1 worker", workers)
		}
	}
	// The kept batch is the one the statistics describe.
	if st := model.BatchStats(&ref.bt, 0.7); st != ref.st {
		t.Errorf("BatchStats of the kept batch %+v, Step returned %+v", st, ref.st)
	}
	// Energies are the model's.
	for b := 0; b < ref.bt.B; b += 37 {
		if e := m.Energy(ref.bt.Sample(b)); e != ref.bt.Energy[b] {
			t.Errorf("sample %d: energy %v, model says %v", b, ref.bt.Energy[b], e)
		}
	}
}

func math64bits(v []float64) []uint64 {
	out := make([]uint64, len(v))
	for i, x := range v {
		out[i] = math.Float64bits(x)
	}
	return out
}

// TestReinforceGradientIsBatchFormula checks one batch's gradient against
// the direct formula (1/B) Σ (L_b - L̄) ∇ln q(x_b) recomputed from the kept
// samples with a fresh worker, one sample at a time: for 1l (one pass, two
// accumulators) and for sk_krsb, whose workers are model.GradWorkers (two
// passes: draw the batch, then re-run each sample with its coefficient),
// with a fixed and with a trainable first layer.
func TestReinforceGradientIsBatchFormula(t *testing.T) {
	m, err := model.SherringtonKirkpatrick(10, 1, 0.1, 8)
	if err != nil {
		t.Fatal(err)
	}
	sk := func(k int, train bool) model.Net {
		net, err := model.NewSK(m, model.ArchOptions{K: k, TrainFirstLayer: train, Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		for i := range net.Params() {
			net.Params()[i] *= 40 // leave the near-linear start
		}
		return net
	}
	for _, tc := range []struct {
		name string
		net  model.Net
	}{
		{"1l", newLNet(m, 4, 0.4)},
		{"sk_2rsb", sk(2, false)},
		{"sk_1rsb first layer", sk(1, true)},
	} {
		for _, two := range []bool{false, true} {
			if two && tc.name == "1l" {
				continue // not a GradWorker
			}
			t.Run(fmt.Sprintf("%s/two-pass=%v", tc.name, two), func(t *testing.T) {
				forceTwoPass(t, two)
				checkBatchFormula(t, tc.net)
			})
		}
	}
}

// forceTwoPass makes Reinforce estimators created during the test use the
// two-pass form (on) or the one-pass form with blocks of BlockSize() (off)
// for model.GradWorkers, whatever the size of their samples and the cache.
func forceTwoPass(t *testing.T, on bool) {
	forceKeptBlock(t, func(maxBlock int) int {
		if on {
			return 0
		}
		return maxBlock
	})
}

// forceKeptBlock makes estimators created during the test take
// size(BlockSize()) as the one-pass block size (0: two passes) instead of
// keptBlockSize's choice.
func forceKeptBlock(t *testing.T, size func(maxBlock int) int) {
	old := chooseKeptBlock
	chooseKeptBlock = func(_, _, maxBlock, _ int) int { return size(maxBlock) }
	t.Cleanup(func() { chooseKeptBlock = old })
}

func checkBatchFormula(t *testing.T, net model.Net) {
	const beta, B = 0.9, 100
	est, err := NewReinforce(net, B, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer est.Close()
	p := len(net.Params())
	g := make([]float64, p)
	est.Step(beta, 5, 17, g)
	bt := est.Batch()
	w := net.NewWorker()
	lbar := 0.0
	for b := range B {
		lbar += bt.LogQ[b] + beta*bt.Energy[b]
	}
	lbar /= B
	want := make([]float64, p)
	for b := range B {
		x := bt.Sample(b)
		if lq := w.LogProb(x); math.Abs(lq-bt.LogQ[b]) > 1e-12 {
			t.Fatalf("sample %d: stored ln q %v, recomputed %v", b, bt.LogQ[b], lq)
		}
		w.Backward((bt.LogQ[b]+beta*bt.Energy[b]-lbar)/B, want, 0, nil)
	}
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(v))
	}
	if scale == 0 {
		t.Fatal("zero gradient: the check would be vacuous")
	}
	for i := range want {
		if math.Abs(g[i]-want[i]) > 1e-12*scale {
			t.Errorf("component %d: %v, direct formula %v", i, g[i], want[i])
		}
	}
	if math.Abs(est.Loss()-lbar) > 1e-13*math.Abs(lbar) {
		t.Errorf("Loss %v, direct mean %v", est.Loss(), lbar)
	}
}

// TestReinforceNoAllocs checks that a training step (estimate + Adam)
// allocates nothing after the first.
func TestReinforceNoAllocs(t *testing.T) {
	m, err := model.SherringtonKirkpatrick(10, 1, 0, 1)
	if err != nil {
		t.Fatal(err)
	}
	sk, err := model.NewSK(m, model.ArchOptions{K: 2, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		net     model.Net
		workers int
		two     bool
	}{{newLNet(m, 3, 0.2), 1, false}, {newLNet(m, 3, 0.2), 3, false}, {sk, 1, false}, {sk, 3, false}, {sk, 1, true}, {sk, 3, true}} {
		net, workers := tc.net, tc.workers
		old := chooseKeptBlock
		if tc.two {
			chooseKeptBlock = func(_, _, _, _ int) int { return 0 }
		}
		est, err := NewReinforce(net, 150, workers)
		chooseKeptBlock = old
		if err != nil {
			t.Fatal(err)
		}
		g := make([]float64, len(net.Params()))
		opt := NewAdam(len(g))
		step := uint64(0)
		allocs := testing.AllocsPerRun(20, func() {
			est.Step(1, 1, step, g)
			opt.Step(net.Params(), g)
			step++
		})
		est.Close()
		if allocs != 0 {
			t.Errorf("%s, %d workers, two-pass %v: %v allocations per step, want 0", net.Arch(), workers, tc.two, allocs)
		}
	}
}

func TestReinforceRejectsTinyBatch(t *testing.T) {
	m, _ := model.SherringtonKirkpatrick(4, 1, 0, 1)
	if _, err := NewReinforce(newLNet(m, 1, 0.1), 1, 1); err == nil {
		t.Error("batch of 1 accepted")
	}
}

// TestKeptBlockSize checks the cache model that sizes one-pass blocks: the
// largest power-of-two block whose working set (parameters, two
// accumulators and the block's activations per worker) fills at most a
// quarter of the cache, one sample up to onePassShare of it, 0 beyond, and
// workers beyond the CPUs not counted.
func TestKeptBlockSize(t *testing.T) {
	old := cacheBytes
	t.Cleanup(func() { cacheBytes = old })
	const kept, params = 1000, 100
	// one worker and m samples: 8·100 + 16·100 + 1000·m bytes; one sample
	// fits from the smallest cache whose share holds 3400 bytes
	num, den := onePassShare()
	if num <= 0 || num >= den || 4*num < den {
		t.Fatalf("onePassShare %d/%d: want a fraction in [1/4, 1)", num, den)
	}
	one := (3400*den + num - 1) / num
	for _, tc := range []struct{ cache, want int }{
		{4 * (2400 + 8000), 8},
		{4*(2400+8000) - 4, 4},
		{4 * (2400 + 4000), 4},
		{4 * (2400 + 2000), 2},
		{4*(2400+2000) - 4, 1},
		{one, 1},
		{one - 1, 0},
		{1 << 30, 8},
	} {
		cacheBytes = tc.cache
		if got := keptBlockSize(kept, params, 8, 1); got != tc.want {
			t.Errorf("cache %d B: block %d, want %d", tc.cache, got, tc.want)
		}
	}
	cacheBytes = 4 * (2400 + 2000)
	if got := keptBlockSize(kept, params, 1, 1); got != 1 {
		t.Errorf("BlockSize 1: block %d, want 1", got)
	}
	// two workers share the cache: 800 + 2·(1600 + 1000·m)
	cacheBytes = 4 * (800 + 2*(1600+2000))
	cpus := runtime.NumCPU()
	want := 2
	if cpus < 2 {
		want = 4 // the second worker waits for the first
	}
	if got := keptBlockSize(kept, params, 8, 2); got != want {
		t.Errorf("2 workers on %d CPUs: block %d, want %d", cpus, got, want)
	}
	if a, b := keptBlockSize(kept, params, 8, cpus), keptBlockSize(kept, params, 8, 100*cpus); a != b {
		t.Errorf("%d workers: block %d; %d workers on %d CPUs: block %d", cpus, a, 100*cpus, cpus, b)
	}
}
