package model

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// blockOneAtATime draws m samples of s one at a time (Sample, then Backward with
// coefficients cA[j], cC[j] into gA, gC) from the streams of (seed, j).
func blockOneAtATime(s *SK, m int, seed uint64, cA, cC []float64) (xs [][]float64, lq, e, gA, gC []float64) {
	n := s.Size()
	w := s.NewWorker()
	src := rand.NewPCG(0, 0)
	rng := rand.New(src)
	gA, gC = make([]float64, len(s.p)), make([]float64, len(s.p))
	for j := range m {
		SampleRNG(src, seed, 3, j)
		x := make([]float64, n)
		l, en := w.Sample(rng, x)
		w.Backward(cA[j], gA, cC[j], gC)
		xs, lq, e = append(xs, x), append(lq, l), append(e, en)
	}
	return
}

// blockRNGs returns m streams seeded as blockOneAtATime seeds its samples.
func blockRNGs(m int, seed uint64) []*rand.Rand {
	var rngs []*rand.Rand
	for j := range m {
		src := rand.NewPCG(0, 0)
		SampleRNG(src, seed, 3, j)
		rngs = append(rngs, rand.New(src))
	}
	return rngs
}

func sameBits(a, b []float64) int {
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return i
		}
	}
	return -1
}

// TestSKBlocksMatchOneSample checks the BlockWorker and GradWorker contracts
// bit for bit: a block drawn or evaluated in lockstep gives the samples,
// ln q, energies and gradient sums of the one-sample methods called in
// sample order, with and without kept activations, with a fixed and a
// trainable first layer, and GradBlock equals ForwardBlock + BackwardBlock.
func TestSKBlocksMatchOneSample(t *testing.T) {
	for _, n := range []int{1, 2, 7, 13} {
		for k := range 3 {
			for _, train := range []bool{false, true} {
				m := skTestModel(t, n, uint64(40+n))
				s := skTestNet(t, m, k, train, 0.7, uint64(50+k))
				w := s.NewWorker().(GradWorker)
				nb := min(5, w.BlockSize())
				if nb < 2 {
					t.Fatalf("N=%d k=%d: BlockSize %d, want ≥ 2 for a small net", n, k, w.BlockSize())
				}
				cA, cC := make([]float64, nb), make([]float64, nb)
				for j := range nb {
					cA[j], cC[j] = 0.3*float64(j)-0.5, 1+0.1*float64(j)
				}
				xs, lq, e, gA, gC := blockOneAtATime(s, nb, 11, cA, cC)
				name := func() string { return fmt.Sprintf("N=%d k=%d train=%v", n, k, train) }

				for _, keep := range []bool{true, false} {
					bx := make([][]float64, nb)
					for j := range bx {
						bx[j] = make([]float64, n)
					}
					blq, be := make([]float64, nb), make([]float64, nb)
					w.ForwardBlock(blockRNGs(nb, 11), bx, blq, be, keep)
					for j := range nb {
						if sameBits(bx[j], xs[j]) >= 0 || sameBits(blq[j:j+1], lq[j:j+1]) >= 0 || sameBits(be[j:j+1], e[j:j+1]) >= 0 {
							t.Fatalf("%s keep=%v sample %d: block (%v, %v), one at a time (%v, %v)", name(), keep, j, blq[j], be[j], lq[j], e[j])
						}
					}
					if !keep {
						continue
					}
					bA, bC := make([]float64, len(s.p)), make([]float64, len(s.p))
					w.BackwardBlock(cA, bA, cC, bC)
					if i := sameBits(bA, gA); i >= 0 {
						t.Fatalf("%s: BackwardBlock gA[%d] %v, one at a time %v", name(), i, bA[i], gA[i])
					}
					if i := sameBits(bC, gC); i >= 0 {
						t.Fatalf("%s: BackwardBlock gC[%d] %v, one at a time %v", name(), i, bC[i], gC[i])
					}
					// the kept activations survive a backward pass
					bA2, bC2 := make([]float64, len(s.p)), make([]float64, len(s.p))
					w.BackwardBlock(cA, bA2, cC, bC2)
					if i := sameBits(bA2, bA); i >= 0 {
						t.Fatalf("%s: second BackwardBlock gA[%d] %v, first %v", name(), i, bA2[i], bA[i])
					}
					if i := sameBits(bC2, bC); i >= 0 {
						t.Fatalf("%s: second BackwardBlock gC[%d] %v, first %v", name(), i, bC2[i], bC[i])
					}
				}

				// Evaluation of given samples, then GradBlock against it.
				tlq := make([]float64, nb)
				w.ForwardBlock(nil, xs, tlq, nil, true)
				if i := sameBits(tlq, lq); i >= 0 {
					t.Fatalf("%s: evaluated ln q[%d] %v, drawn %v", name(), i, tlq[i], lq[i])
				}
				want := make([]float64, len(s.p))
				w.BackwardBlock(cA, want, nil, nil)
				got, glq := make([]float64, len(s.p)), make([]float64, nb)
				w.GradBlock(xs, cA, got, glq)
				if i := sameBits(got, want); i >= 0 {
					t.Fatalf("%s: GradBlock g[%d] %v, ForwardBlock+BackwardBlock %v", name(), i, got[i], want[i])
				}
				if i := sameBits(glq, lq); i >= 0 {
					t.Fatalf("%s: GradBlock ln q[%d] %v, drawn %v", name(), i, glq[i], lq[i])
				}
				// and the one-sample Backward summed in the same order
				one := make([]float64, len(s.p))
				w1 := s.NewWorker()
				for j := range nb {
					w1.LogProb(xs[j])
					w1.Backward(cA[j], one, 0, nil)
				}
				if i := sameBits(got, one); i >= 0 {
					t.Fatalf("%s: GradBlock g[%d] %v, LogProb+Backward %v", name(), i, got[i], one[i])
				}
			}
		}
	}
}

// TestSamplerBlocksMatchOneSample checks that Sampler.Draw, which draws
// sk_krsb samples in blocks without keeping activations, gives the samples
// that Sample draws one at a time from the same streams.
func TestSamplerBlocksMatchOneSample(t *testing.T) {
	m := skTestModel(t, 30, 5)
	s := skTestNet(t, m, 2, false, 0.5, 6)
	const B = 37 // not a multiple of the block size
	bt, _ := NewSampler(s, 2).Draw(context.Background(), nil, B, 9, 4)
	w := s.NewWorker()
	src := rand.NewPCG(0, 0)
	rng := rand.New(src)
	x := make([]float64, 30)
	for b := range B {
		SampleRNG(src, 9, 4, b)
		lq, e := w.Sample(rng, x)
		if lq != bt.LogQ[b] || e != bt.Energy[b] {
			t.Fatalf("sample %d: Draw (%v, %v), Sample (%v, %v)", b, bt.LogQ[b], bt.Energy[b], lq, e)
		}
		for i, v := range x {
			if int8(v) != bt.X[b*30+i] {
				t.Fatalf("sample %d spin %d differs", b, i)
			}
		}
	}
}

// TestSKBlockNoAllocs asserts that the block methods allocate nothing once
// the lanes exist.
func TestSKBlockNoAllocs(t *testing.T) {
	m := skTestModel(t, 20, 70)
	s := skTestNet(t, m, 2, false, 0.3, 71)
	w := s.NewWorker().(GradWorker)
	nb := w.BlockSize()
	rngs := blockRNGs(nb, 1)
	xs := make([][]float64, nb)
	for j := range xs {
		xs[j] = make([]float64, 20)
	}
	lq, e, c := make([]float64, nb), make([]float64, nb), make([]float64, nb)
	g := make([]float64, len(s.p))
	run := func() {
		w.ForwardBlock(rngs, xs, lq, e, false)
		w.ForwardBlock(rngs, xs, lq, e, true)
		w.BackwardBlock(c, g, c, g)
		w.GradBlock(xs, c, g, lq)
	}
	run()
	if a := testing.AllocsPerRun(20, run); a != 0 {
		t.Fatalf("block methods allocate %v times per run", a)
	}
}
