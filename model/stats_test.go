package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func exBatch(n int, rows [][]int8, logq, energy []float64) *Batch {
	bt := &Batch{N: n, B: len(rows), LogQ: logq, Energy: energy}
	for _, r := range rows {
		bt.X = append(bt.X, r...)
	}
	return bt
}

func exClose(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

func TestBatchStatsHandMade(t *testing.T) {
	bt := exBatch(4, [][]int8{{1, 1, 1, 1}, {1, 1, -1, -1}, {-1, -1, -1, 1}},
		[]float64{-1, -2, -3}, []float64{-4, 0, 2})
	// β = 1/2: L = [-3, -2, -2], mean -7/3, population variance 2/9.
	got := BatchStats(bt, 0.5)
	want := Stats{F: -7.0 / 6, FStd: math.Sqrt2 / 6, E: -1.0 / 6, EMin: -1, S: 0.5, MAbs: 0.5}
	for _, c := range []struct {
		name string
		g, w float64
	}{{"F", got.F, want.F}, {"FStd", got.FStd, want.FStd}, {"E", got.E, want.E}, {"EMin", got.EMin, want.EMin}, {"S", got.S, want.S}, {"MAbs", got.MAbs, want.MAbs}} {
		if !exClose(c.g, c.w, 1e-15) {
			t.Errorf("%s = %.17g, want %.17g", c.name, c.g, c.w)
		}
	}
	// Exact-network batch: L_b = -ln Z for every sample, so FStd = 0 even
	// though the energies differ a lot.
	zero := exBatch(2, [][]int8{{1, 1}, {1, -1}, {-1, -1}}, []float64{-10 + 50, -10 - 25, -10 + 50}, []float64{-100, 50, -100})
	if s := BatchStats(zero, 0.5); s.FStd != 0 || s.F != -10.0/(0.5*2) {
		t.Errorf("zero-variance batch: %+v", s)
	}
	for _, s := range []Stats{BatchStats(nil, 1), BatchStats(&Batch{N: 3}, 1)} {
		if !math.IsNaN(s.F) || !math.IsNaN(s.FStd) || !math.IsNaN(s.E) || !math.IsNaN(s.EMin) || !math.IsNaN(s.S) || !math.IsNaN(s.MAbs) {
			t.Errorf("empty batch: %+v, want NaN", s)
		}
	}
}

// TestBatchStatsRandom compares with a direct two-pass evaluation.
func TestBatchStatsRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	n, b := 37, 501
	bt := &Batch{N: n, B: b, X: make([]int8, n*b), LogQ: make([]float64, b), Energy: make([]float64, b)}
	for i := range bt.X {
		bt.X[i] = int8(1 - 2*rng.IntN(2))
	}
	for i := range b {
		bt.LogQ[i] = -20 + rng.NormFloat64()
		bt.Energy[i] = -30 + 5*rng.NormFloat64()
	}
	beta := 1.3
	var sl, se, sq, sm float64
	emin := math.Inf(1)
	for i := range b {
		sl += bt.LogQ[i] + beta*bt.Energy[i]
		se += bt.Energy[i]
		sq += bt.LogQ[i]
		emin = math.Min(emin, bt.Energy[i])
		M := 0.0
		for j := range n {
			M += float64(bt.X[i*n+j])
		}
		sm += math.Abs(M)
	}
	mean := sl / float64(b)
	v := 0.0
	for i := range b {
		d := bt.LogQ[i] + beta*bt.Energy[i] - mean
		v += d * d
	}
	bn := beta * float64(n)
	got := BatchStats(bt, beta)
	if !exClose(got.F, mean/bn, 1e-13) || !exClose(got.FStd, math.Sqrt(v/float64(b))/bn, 1e-13) ||
		!exClose(got.E, se/float64(b)/float64(n), 1e-13) || got.EMin != emin/float64(n) ||
		!exClose(got.S, -sq/float64(b)/float64(n), 1e-13) || !exClose(got.MAbs, sm/float64(b)/float64(n), 1e-15) {
		t.Errorf("got %+v", got)
	}
}

func TestMeanStats(t *testing.T) {
	s := []Stats{
		{F: -1, FStd: 0.1, E: -2, EMin: -3, S: 0.5, MAbs: 0.2},
		{F: -2, FStd: 0.3, E: -1, EMin: -4, S: 0.3, MAbs: 0.6},
		{F: -3, FStd: 0.2, E: -3, EMin: -3.5, S: 0.1, MAbs: 0.4},
	}
	got := MeanStats(s)
	want := Stats{F: -2, FStd: 0.2, E: -2, EMin: -4, S: 0.3, MAbs: 0.4}
	if !exClose(got.F, want.F, 1e-15) || !exClose(got.FStd, want.FStd, 1e-15) || !exClose(got.E, want.E, 1e-15) ||
		got.EMin != want.EMin || !exClose(got.S, want.S, 1e-15) || !exClose(got.MAbs, want.MAbs, 1e-15) {
		t.Errorf("MeanStats = %+v, want %+v", got, want)
	}
	if one := MeanStats(s[1:2]); one != s[1] {
		t.Errorf("MeanStats of one = %+v, want %+v", one, s[1])
	}
	if e := MeanStats(nil); !math.IsNaN(e.F) || !math.IsNaN(e.EMin) {
		t.Errorf("MeanStats(nil) = %+v, want NaN", e)
	}
}

func TestOverlapsHandMade(t *testing.T) {
	bt := exBatch(4, [][]int8{{1, 1, 1, 1}, {1, 1, -1, -1}, {-1, -1, -1, 1}}, make([]float64, 3), make([]float64, 3))
	// q01 = 0, q02 = q12 = -1/2; bins of width 1/2 starting at -1.
	exEqualSlices(t, "hand-made", Overlaps(bt, 4, 1), []float64{0, 4.0 / 3, 2.0 / 3, 0})
	// q = +1 goes in the last bin, q = -1 in the first.
	ends := exBatch(3, [][]int8{{1, -1, 1}, {1, -1, 1}, {-1, 1, -1}}, make([]float64, 3), make([]float64, 3))
	exEqualSlices(t, "ends", Overlaps(ends, 2, 2), []float64{2.0 / 3, 1.0 / 3})
	exEqualSlices(t, "one bin", Overlaps(ends, 1, 2), []float64{0.5})
	// q exactly on an inner edge (q = 0 with bins = 2) goes up.
	edge := exBatch(2, [][]int8{{1, 1}, {1, -1}}, make([]float64, 2), make([]float64, 2))
	exEqualSlices(t, "edge", Overlaps(edge, 2, 1), []float64{0, 1})
	if Overlaps(bt, 0, 1) != nil {
		t.Error("bins = 0 should give nil")
	}
	single := exBatch(4, [][]int8{{1, 1, 1, 1}}, []float64{0}, []float64{0})
	if h := Overlaps(single, 3, 1); len(h) != 3 || !math.IsNaN(h[0]) {
		t.Errorf("one sample: %v, want 3 NaN", h)
	}
}

func exEqualSlices(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !exClose(got[i], want[i], 1e-15) {
			t.Errorf("%s: %v, want %v", what, got, want)
			return
		}
	}
}

// exNaiveOverlaps is the O(B²N) oracle: integer dot products s = N q and
// the bin j with -1 + 2j/bins ≤ s/N < -1 + 2(j+1)/bins, i.e.
// j = ⌊(s + N)·bins / (2N)⌋, clamped to the last bin for q = 1. With
// weights, pair (a, b) counts weights[a]·weights[b]; nil weights count 1.
func exNaiveOverlaps(bt *Batch, bins int, weights ...float64) []float64 {
	n := bt.N
	h := make([]float64, bins)
	total := 0.0
	for a := range bt.B {
		for b := a + 1; b < bt.B; b++ {
			s := 0
			for i := range n {
				s += int(bt.X[a*n+i]) * int(bt.X[b*n+i])
			}
			j := min((s+n)*bins/(2*n), bins-1)
			w := 1.0
			if weights != nil {
				w = weights[a] * weights[b]
			}
			h[j] += w
			total += w
		}
	}
	for j := range h {
		h[j] /= total * 2 / float64(bins)
	}
	return h
}

// TestWeightedOverlaps: against the naive oracle with random weights (to
// rounding), equal weights give Overlaps, nil weights are Overlaps, the
// result does not depend on the worker count (bit for bit), and weights
// that leave no pair give NaN.
func TestWeightedOverlaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, n := range []int{1, 5, 64, 65, 130} {
		bt := exRandomBatch(n, 61, 0.3, uint64(n))
		w := make([]float64, bt.B)
		for b := range w {
			w[b] = rng.ExpFloat64()
		}
		for _, bins := range []int{1, 7, 100} {
			want := exNaiveOverlaps(bt, bins, w...)
			got := WeightedOverlaps(bt, w, bins, 1)
			for j := range got {
				if !exClose(got[j], want[j], 1e-13) {
					t.Fatalf("N=%d bins=%d: bin %d %v, naive %v", n, bins, j, got[j], want[j])
				}
			}
			for _, workers := range []int{2, 3, 0} {
				if again := WeightedOverlaps(bt, w, bins, workers); !slices.Equal(again, got) {
					t.Fatalf("N=%d bins=%d workers=%d: %v, with 1 worker %v", n, bins, workers, again, got)
				}
			}
			equal := make([]float64, bt.B)
			for b := range equal {
				equal[b] = 0.25
			}
			plain := Overlaps(bt, bins, 2)
			for j, v := range WeightedOverlaps(bt, equal, bins, 2) {
				if !exClose(v, plain[j], 1e-13) {
					t.Fatalf("N=%d bins=%d: equal weights give bin %d = %v, Overlaps %v", n, bins, j, v, plain[j])
				}
			}
			if !slices.Equal(WeightedOverlaps(bt, nil, bins, 2), plain) {
				t.Fatalf("nil weights differ from Overlaps")
			}
		}
	}
	bt := exRandomBatch(10, 40, 0.3, 1)
	one := make([]float64, bt.B)
	one[7] = 1
	for _, v := range WeightedOverlaps(bt, one, 10, 2) {
		if !math.IsNaN(v) {
			t.Fatalf("one weighted sample: %v, want NaN (no pair has weight)", v)
		}
	}
}

func exRandomBatch(n, b int, bias float64, seed uint64) *Batch {
	rng := rand.New(rand.NewPCG(seed, 1))
	bt := &Batch{N: n, B: b, X: make([]int8, n*b), LogQ: make([]float64, b), Energy: make([]float64, b)}
	for s := range b {
		// Half the samples lean +1 and half -1, so q is spread out.
		p := 0.5 + bias*float64(1-2*(s%2))
		for i := range n {
			if rng.Float64() < p {
				bt.X[s*n+i] = 1
			} else {
				bt.X[s*n+i] = -1
			}
		}
	}
	return bt
}

func TestOverlapsAgainstNaive(t *testing.T) {
	for _, n := range []int{1, 2, 5, 63, 64, 65, 128, 130, 192, 200, 256, 300} {
		bt := exRandomBatch(n, 157, 0.3, uint64(n))
		for _, bins := range []int{1, 7, 100} {
			want := exNaiveOverlaps(bt, bins)
			ref := Overlaps(bt, bins, 1)
			exEqualSlices(t, "random", ref, want)
			sum := 0.0
			for _, d := range ref {
				sum += d * 2 / float64(bins)
			}
			if math.Abs(sum-1) > 1e-14 {
				t.Errorf("N=%d bins=%d: Σ density·width = %v", n, bins, sum)
			}
			for _, w := range []int{2, 3, 7, 0} {
				got := Overlaps(bt, bins, w)
				for j := range got {
					if got[j] != ref[j] {
						t.Fatalf("N=%d bins=%d workers=%d: %v, with 1 worker %v", n, bins, w, got, ref)
					}
				}
			}
		}
	}
}

// BenchmarkOverlaps20000x200 is the paper's final-estimate size:
// 2·10^8 pairs of 200 spins.
func BenchmarkOverlaps20000x200(b *testing.B) {
	bt := exRandomBatch(200, 20000, 0.3, 1)
	for b.Loop() {
		Overlaps(bt, 100, 0)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(20000*19999/2), "ns/pair")
}

// TestOverlapCountsAndAsymmetry: the exact counts of a hand-made batch, the
// symmetry of the counts of a batch closed under x → -x, and the asymmetry
// of lopsided distributions.
func TestOverlapCountsAndAsymmetry(t *testing.T) {
	// Rows ++++, +++-, --++: distances 1, 2, 3 (q = 1/2, 0, -1/2).
	bt := &Batch{N: 4, B: 3, X: []int8{1, 1, 1, 1, 1, 1, 1, -1, -1, -1, 1, 1}}
	if got := OverlapCounts(bt, 2); !slices.Equal(got, []int64{0, 1, 1, 1, 0}) {
		t.Errorf("counts %v", got)
	}
	if a := OverlapAsymmetry([]int64{0, 1, 1, 1, 0}); a != 0 {
		t.Errorf("symmetric counts: asymmetry %v", a)
	}
	if a := OverlapAsymmetry([]int64{4, 0, 0, 0, 0}); a != 1 {
		t.Errorf("all at q = 1: asymmetry %v", a)
	}
	if a := OverlapAsymmetry([]int64{3, 0, 2, 0, 1}); math.Abs(a-2.0/6) > 1e-15 {
		t.Errorf("asymmetry %v, want |3-1|/6", a)
	}
	if !math.IsNaN(OverlapAsymmetry(nil)) || !math.IsNaN(OverlapAsymmetry([]int64{0, 0})) {
		t.Error("no pairs: asymmetry is not NaN")
	}
	// A batch and its mirror image together: every pair at distance d has a
	// partner at N - d, except the pairs (x, -x) at distance N, whose
	// partners would be the excluded self-pairs.
	rng := rand.New(rand.NewPCG(2, 2))
	const n, rows = 7, 40
	x := make([]int8, 2*rows*n)
	for k := range rows * n {
		x[k] = int8(2*rng.IntN(2) - 1)
		x[rows*n+k] = -x[k]
	}
	sym := &Batch{N: n, B: 2 * rows, X: x}
	counts := OverlapCounts(sym, 3)
	var total int64
	for d, c := range counts {
		total += c
		if d > 0 && d < n && c != counts[n-d] {
			t.Errorf("mirror-closed batch: counts %v are not symmetric", counts)
		}
	}
	if a, want := OverlapAsymmetry(counts), float64(counts[n]-counts[0])/float64(total); a != want || counts[n]-counts[0] != rows {
		t.Errorf("mirror-closed batch: asymmetry %v, want %v; counts %v", a, want, counts)
	}
	if !slices.Equal(OverlapDensity(counts, 10), Overlaps(sym, 10, 1)) {
		t.Error("OverlapDensity of the counts differs from Overlaps")
	}
	if OverlapCounts(&Batch{N: n, B: 1, X: x[:n]}, 1) != nil {
		t.Error("one sample has overlap counts")
	}
}
