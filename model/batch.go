package model

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

// Batch holds B samples of N spins drawn from a Net.
type Batch struct {
	N, B int
	// X holds the spins row-major: X[b*N+i] = x_i of sample b, ±1.
	X []int8
	// LogQ[b] = ln q(x_b) and Energy[b] = H(x_b).
	LogQ, Energy []float64
}

// Sample returns row b of X as a new ±1 float64 slice.
func (bt *Batch) Sample(b int) []float64 {
	x := make([]float64, bt.N)
	for i := range x {
		x[i] = float64(bt.X[b*bt.N+i])
	}
	return x
}

// Sampler draws batches from one Net on a fixed set of goroutines. Its
// results depend only on (seed, step) and the parameters, never on the
// number of workers: sample b of a step always uses the stream
// SampleRNG(seed, step, b).
type Sampler struct {
	net     Net
	workers []*sampleWorker
}

type sampleWorker struct {
	w   Worker
	src *rand.PCG
	rng *rand.Rand
	x   []float64

	// block scratch, allocated on the first Draw with a BlockWorker
	srcs []*rand.PCG
	rngs []*rand.Rand
	xs   [][]float64
}

// NewSampler prepares workers goroutines' scratch for net (workers ≤ 0
// means GOMAXPROCS).
func NewSampler(net Net, workers int) *Sampler {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	s := &Sampler{net: net}
	for range workers {
		src := rand.NewPCG(0, 0)
		s.workers = append(s.workers, &sampleWorker{w: net.NewWorker(), src: src, rng: rand.New(src), x: make([]float64, net.Size())})
	}
	return s
}

// Workers returns the number of goroutines the sampler uses.
func (s *Sampler) Workers() int { return len(s.workers) }

// spread runs fn(slot, sw, c) for every c in [0, n), spread over the
// sampler's goroutines (each taking the next c in turn), and returns when
// every call has returned.
func (s *Sampler) spread(n int, fn func(slot int, sw *sampleWorker, c int)) {
	parallelFor(n, len(s.workers), func(slot, c int) { fn(slot, s.workers[slot], c) })
}

// parallelFor calls fn(w, c) for every c in [0, n) from workers goroutines
// (w is the goroutine's index, 0 ≤ w < workers), each claiming the next c
// in turn, and returns when all calls have returned. Which goroutine gets
// which c varies from run to run: callers make their results independent
// of it (per-c outputs, or integer sums).
func parallelFor(n, workers int, fn func(w, c int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				c := int(next.Add(1) - 1)
				if c >= n {
					return
				}
				fn(w, c)
			}
		}()
	}
	wg.Wait()
}

// ForEach runs fn for every sample index b in [0, n), spread over the
// sampler's goroutines; before the call the worker's rng is seeded with
// SampleRNG(seed, step, b). fn receives the worker's Net worker, rng and a
// scratch spin vector of length N. It returns when every call has returned.
func (s *Sampler) ForEach(n int, seed, step uint64, fn func(slot int, w Worker, rng *rand.Rand, x []float64, b int)) {
	s.spread(n, func(slot int, sw *sampleWorker, b int) {
		SampleRNG(sw.src, seed, step, b)
		fn(slot, sw.w, sw.rng, sw.x, b)
	})
}

// Draw fills bt (reallocating it if its shape differs) with n samples for
// (seed, step). Workers that are BlockWorkers draw blocks of samples in
// lockstep without keeping activations; the samples are the same.
func (s *Sampler) Draw(bt *Batch, n int, seed, step uint64) *Batch {
	N := s.net.Size()
	if bt == nil || bt.N != N || bt.B != n {
		bt = &Batch{N: N, B: n, X: make([]int8, n*N), LogQ: make([]float64, n), Energy: make([]float64, n)}
	}
	store := func(b int, x []float64) {
		row := bt.X[b*N : (b+1)*N]
		for i, v := range x {
			row[i] = int8(v)
		}
	}
	bw, ok := s.workers[0].w.(BlockWorker)
	if !ok || bw.BlockSize() < 2 {
		s.ForEach(n, seed, step, func(_ int, w Worker, rng *rand.Rand, x []float64, b int) {
			bt.LogQ[b], bt.Energy[b] = w.Sample(rng, x)
			store(b, x)
		})
		return bt
	}
	m := bw.BlockSize()
	s.spread((n+m-1)/m, func(_ int, sw *sampleWorker, c int) {
		for len(sw.xs) < m {
			src := rand.NewPCG(0, 0)
			sw.srcs, sw.rngs, sw.xs = append(sw.srcs, src), append(sw.rngs, rand.New(src)), append(sw.xs, make([]float64, N))
		}
		lo, hi := c*m, min((c+1)*m, n)
		for j := range hi - lo {
			SampleRNG(sw.srcs[j], seed, step, lo+j)
		}
		sw.w.(BlockWorker).ForwardBlock(sw.rngs[:hi-lo], sw.xs[:hi-lo], bt.LogQ[lo:hi], bt.Energy[lo:hi], false)
		for j := range hi - lo {
			store(lo+j, sw.xs[j])
		}
	})
	return bt
}

// SampleBatch draws n samples from net with the given seed (step 0) on
// workers goroutines (≤ 0: GOMAXPROCS).
func SampleBatch(net Net, n int, seed uint64, workers int) *Batch {
	return NewSampler(net, workers).Draw(nil, n, seed, 0)
}
