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

// TestOverlapOffsetsSpread: the subsample's partner offsets are the ones
// MaxOverlapPairs documents, K = max(⌊cap/B⌋, 1) offsets spread evenly from
// 1 to ⌊(B-1)/2⌋ (1 + j·(⌊(B-1)/2⌋-1)/(K-1) rounded down); every pair is
// counted up to exactly cap pairs, the subsample from one pair more.
func TestOverlapOffsetsSpread(t *testing.T) {
	for _, c := range []struct {
		b, cap int
		want   []int
	}{
		{1001, 3 * 1001, []int{1, 250, 500}},
		{101, 5 * 101, []int{1, 13, 25, 37, 50}},
		{101, 100, []int{1}}, // ⌊100/101⌋ = 0 partners raised to 1
		{6, 14, []int{1, 2}}, // B even: ⌊5/2⌋ = 2
	} {
		var off []int
		withPairCap(t, c.cap, func() { off = overlapOffsets(c.b) })
		if !slices.Equal(off, c.want) {
			t.Errorf("B=%d cap=%d: offsets %v, want %v", c.b, c.cap, off, c.want)
		}
	}
	const b, pairs = 1001, 1001 * 1000 / 2
	withPairCap(t, pairs, func() {
		if off := overlapOffsets(b); off != nil {
			t.Errorf("B=%d, cap = its %d pairs: offsets %v, want every pair", b, pairs, off[:min(len(off), 3)])
		}
	})
	withPairCap(t, pairs-1, func() {
		if off := overlapOffsets(b); len(off) != 499 || off[0] != 1 || off[498] != 500 {
			t.Errorf("B=%d, cap one below its pairs: %d offsets; want 499 from 1 to 500", b, len(off))
		}
	})
}

// TestOverlapSubsampleCountsExact: over the subsample, OverlapCounts and
// WeightedOverlaps count exactly the pairs (a, (a+d) mod B), a < B-1, d
// among the offsets, at Hamming distances counted spin by spin: with
// N = 130 spins, three 64-bit words a sample.
func TestOverlapSubsampleCountsExact(t *testing.T) {
	const b, n, bins = 150, 130, 13
	bt := biasedBatch(b, n, 0.6)
	weights := make([]float64, b)
	for i := range weights {
		weights[i] = float64(1 + i%5)
	}
	withPairCap(t, 4*b, func() {
		off := overlapOffsets(b)
		if len(off) != 4 {
			t.Fatalf("offsets %v, want 4", off)
		}
		want := make([]int64, n+1)
		wantW := make([]float64, bins)
		total := 0.0
		for a := range b - 1 {
			for _, d := range off {
				c := (a + d) % b
				dist := 0
				for i := range n {
					if bt.X[a*n+i] != bt.X[c*n+i] {
						dist++
					}
				}
				want[dist]++
				wantW[overlapBin(dist, n, bins)] += weights[a] * weights[c]
				total += weights[a] * weights[c]
			}
		}
		for j := range wantW {
			wantW[j] /= total * 2.0 / bins
		}
		if got := OverlapCounts(bt, 2); !slices.Equal(got, want) {
			t.Errorf("OverlapCounts over the subsample:\n%v\nwant\n%v", got, want)
		}
		got := WeightedOverlaps(bt, weights, bins, 2)
		for j := range got {
			if math.Abs(got[j]-wantW[j]) > 1e-12*math.Max(1, wantW[j]) {
				t.Fatalf("WeightedOverlaps over the subsample:\n%v\nwant\n%v", got, wantW)
			}
		}
	})
}
