package model

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// biasedBatch returns b independent samples of n spins, each +1 with
// probability p: a P(q) with weight away from q = 0.
func biasedBatch(b, n int, p float64) *Batch {
	rng := rand.New(rand.NewPCG(7, 11))
	bt := &Batch{N: n, B: b, X: make([]int8, b*n), LogQ: make([]float64, b), Energy: make([]float64, b)}
	for i := range bt.X {
		bt.X[i] = -1
		if rng.Float64() < p {
			bt.X[i] = 1
		}
	}
	return bt
}

// withPairCap runs f with the pair cap lowered to c.
func withPairCap(t *testing.T, c int, f func()) {
	t.Helper()
	old := overlapPairCap
	overlapPairCap = c
	defer func() { overlapPairCap = old }()
	f()
}

func TestOverlapSubsampleAgreesWithAllPairs(t *testing.T) {
	const b, n, bins = 3000, 40, 20
	bt := biasedBatch(b, n, 0.7)
	full := Overlaps(bt, bins, 2)
	fullCounts := OverlapCounts(bt, 2)
	var sub, sub1 []float64
	var subCounts []int64
	withPairCap(t, 60000, func() {
		if overlapOffsets(b) == nil {
			t.Fatal("no subsample at 4.5e6 pairs with a cap of 60000")
		}
		sub = Overlaps(bt, bins, 3)
		sub1 = Overlaps(bt, bins, 1)
		subCounts = OverlapCounts(bt, 3)
	})
	if !slices.Equal(sub, sub1) {
		t.Errorf("the subsampled histogram depends on the worker count:\n%v\n%v", sub, sub1)
	}
	var pairs, all int64
	for d := range subCounts {
		pairs += subCounts[d]
		all += fullCounts[d]
	}
	k := int64(60000 / b)
	if all != b*(b-1)/2 || pairs != (b-1)*k { // rows a < b-1 each with k partners
		t.Fatalf("pairs counted: %d of %d; want %d, the subsample of %d partners per row", pairs, all, (b-1)*k, k)
	}
	// Each bin's density: the subsample's sampling error is that of a
	// binomial over its pairs, plus the samples' own (each sample is in
	// about 2k pairs: a variance up to 4p(1-p)/B).
	w := 2.0 / bins
	for j := range full {
		p := full[j] * w
		sigma := math.Sqrt(p*(1-p)*(1/float64(pairs)+4/float64(b))) / w
		if d := math.Abs(sub[j] - full[j]); d > 5*sigma+1e-12 {
			t.Errorf("bin %d: subsample %.5f, all pairs %.5f: |diff| %.2g > 5σ = %.2g", j, sub[j], full[j], d, 5*sigma)
		}
	}
}

func TestOverlapOffsetsDistinctPairs(t *testing.T) {
	for _, b := range []int{5, 6, 101, 1000, 1001} {
		withPairCap(t, min(3*b, b*(b-1)/2-1), func() {
			off := overlapOffsets(b)
			if off == nil {
				t.Fatalf("B=%d: no subsample", b)
			}
			seen := map[[2]int]bool{}
			for a := range b - 1 {
				for _, d := range off {
					c := (a + d) % b
					key := [2]int{min(a, c), max(a, c)}
					if a == c || seen[key] {
						t.Fatalf("B=%d offsets %v: pair %v twice or with itself", b, off, key)
					}
					seen[key] = true
				}
			}
		})
	}
	if overlapOffsets(23170) != nil || overlapOffsets(23171) == nil {
		t.Errorf("the cap 2^28 is crossed between 23,170 and 23,171 samples")
	}
}

func TestOverlapsContextStops(t *testing.T) {
	bt := biasedBatch(500, 64, 0.5)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if h, err := OverlapsContext(ctx, bt, 10, 2); err == nil || h != nil {
		t.Errorf("cancelled context: %v, %v; want nil and its error", h, err)
	}
	if h, err := OverlapsContext(context.Background(), bt, 10, 2); err != nil || !slices.Equal(h, Overlaps(bt, 10, 1)) {
		t.Errorf("OverlapsContext %v, %v; want Overlaps", h, err)
	}
}

func TestWeightedOverlapsSubsampleUnitWeights(t *testing.T) {
	bt := biasedBatch(600, 30, 0.6)
	ones := make([]float64, bt.B)
	for i := range ones {
		ones[i] = 1
	}
	withPairCap(t, 6000, func() {
		u, w := Overlaps(bt, 12, 2), WeightedOverlaps(bt, ones, 12, 3)
		for j := range u {
			if math.Abs(u[j]-w[j]) > 1e-12*math.Max(1, u[j]) {
				t.Fatalf("unit weights over the subsample: %v, counts give %v", w, u)
			}
		}
	})
}
