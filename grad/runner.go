package grad

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/h2arnn/h2arnn"
	"github.com/h2arnn/h2arnn/model"
	"github.com/klauspost/cpuid/v2"
)

// DefaultChunk is the number of consecutive samples whose gradient
// contributions one goroutine sums into one pair of chunk accumulators.
// Results depend on the chunk size (it fixes the summation order) but never
// on the number of workers.
const DefaultChunk = 32

// accum is one chunk's pair of gradient accumulators.
type accum struct {
	a, c []float64
	// shift is the constant subtracted from every sample's coefficient in
	// a (see runner.reduce): a = Σ_b (coef_b - shift) g_b, c = Σ_b g_b.
	shift float64
}

// slot is the private scratch of one goroutine: a network worker, a
// reseedable random stream and a spin vector, and, when the worker is a
// model.BlockWorker, one stream, spin vector and per-sample numbers for
// every sample of a block.
type slot struct {
	w   model.Worker
	src *rand.PCG
	rng *rand.Rand
	x   []float64

	bw     model.BlockWorker // nil: samples one at a time
	gw     model.GradWorker  // nil: no GradBlock
	block  int               // samples per lockstep block (≤ bw.BlockSize())
	srcs   []*rand.PCG
	rngs   []*rand.Rand
	xs     [][]float64
	lq, e  []float64
	cA, cC []float64 // block coefficients; cC is all ones
}

// blocking says how a runner feeds model.BlockWorkers: size samples per
// lockstep block (≤ BlockSize(); ≤ 0 means BlockSize()), keeping their
// activations for BackwardBlock when keep.
type blocking struct {
	size int
	keep bool
}

// newSlot prepares one goroutine's scratch for net, with blocks as bl says.
func newSlot(net model.Net, bl blocking) *slot {
	n := net.Size()
	src := rand.NewPCG(0, 0)
	s := &slot{w: net.NewWorker(), src: src, rng: rand.New(src), x: make([]float64, n)}
	if bw, ok := s.w.(model.BlockWorker); ok && bw.BlockSize() > 1 {
		m := bw.BlockSize()
		s.bw = bw
		s.gw, _ = bw.(model.GradWorker)
		s.block = m
		if bl.size > 0 {
			s.block = min(bl.size, m)
		}
		for range s.block {
			src := rand.NewPCG(0, 0)
			s.srcs = append(s.srcs, src)
			s.rngs = append(s.rngs, rand.New(src))
			s.xs = append(s.xs, make([]float64, n))
		}
		m = s.block
		s.lq, s.e, s.cA, s.cC = make([]float64, m), make([]float64, m), make([]float64, m), make([]float64, m)
		for j := range s.cC {
			s.cC[j] = 1
		}
		// One block through the worker now, so that it allocates its lanes
		// (with activation space when keep) here and not in whichever step
		// first hands this goroutine a block.
		for _, x := range s.xs {
			for i := range x {
				x[i] = 1
			}
		}
		bw.ForwardBlock(nil, s.xs, s.lq, nil, bl.keep)
	}
	return s
}

// cacheBytes is the size of the last level of cache the estimators try to
// keep their working set in: the L3 as cpuid reports it (the L2 without
// one; 8 MiB when neither is known). A var so that tests can vary it.
var cacheBytes = func() int {
	for _, c := range []int{cpuid.CPU.Cache.L3, cpuid.CPU.Cache.L2} {
		if c > 0 {
			return c
		}
	}
	return 8 << 20
}()

// keptBlockSize returns the number of samples per lockstep block, a power of
// two ≤ maxBlock, for workers goroutines running a one-pass gradient of
// params parameters with blocks that keep kept bytes of activations per
// sample; 0 when the one-pass form should not be used. Its working set
// for blocks of m samples is what every sample touches: the parameters
// (shared, 8·params bytes) and, per worker, its chunk accumulators a and c
// (16·params) and its block's activations (m·kept).
//
// Blocks of m > 1 samples fetch each conditional's parameter and gradient
// rows once per block, but their activations crowd the cache: they are used
// when the working set fills at most a quarter of the cache. One sample per
// block is used up to onePassShare of it; beyond, two passes, whose second
// forward pass then costs less than the traffic of keeping activations.
//
// The model assumes one cache of cacheBytes shared by all workers (those
// beyond the CPUs the process may use take turns and do not count): right
// for one AMD CCX or one Intel socket, pessimistic where the workers are
// spread over several L3s.
func keptBlockSize(kept, params, maxBlock, workers int) int {
	sharing := max(1, min(workers, runtime.NumCPU()))
	workingSet := func(m int) int { return 8*params + sharing*(16*params+m*kept) }
	for m := maxBlock; m > 1; m /= 2 {
		if workingSet(m) <= cacheBytes/4 {
			return m
		}
	}
	num, den := onePassShare()
	if workingSet(1) <= cacheBytes*num/den {
		return 1
	}
	return 0
}

// onePassShare is the fraction num/den of the cache up to which keeping one
// sample's activations beats two passes. The faster the kernels' forward
// pass, the cheaper the second pass against the memory traffic of keeping,
// which does not change with the kernels. Measured on a 2-core Zen 5 with a
// 32 MiB L3 shared with other work (CPU seconds per step, medians of 4 to 6
// runs; working set in % of the L3; one sample per block vs two passes):
//
//	avx512, B = 256:   sk_1rsb N = 150 (18 %) 0.0280 vs 0.0304, N = 200 (33 %) 0.0479 vs 0.0509,
//	                   N = 250 (51 %) 0.0763 vs 0.0764; sk_2rsb N = 150 (26 %) 0.0399 vs 0.0411,
//	                   N = 200 (47 %) 0.0703 vs 0.0705, N = 250 (73 %) 0.124 vs 0.109
//	avx2, B = 256:     sk_1rsb N = 250 (51 %) 0.133 vs 0.163, N = 300 (74 %) 0.218 vs 0.228,
//	                   N = 350 (100 %) 0.378 vs 0.306; sk_2rsb N = 250 (73 %) 0.214 vs 0.229,
//	                   N = 300 (105 %) 0.408 vs 0.330
//
// and, for the blocks, N = 200, B = 2000, blocks of 1, 2, 4, 8 and two
// passes: avx2 sk_rs (19, 23, 31, 47 %) 0.354, 0.347, 0.345, 0.390, 0.449;
// avx2 sk_2rsb (46, 58, 82, 130 %) 0.885, 0.972, 1.133, 1.222, 1.124; avx512
// sk_rs 0.255, 0.224, 0.229, 0.258, 0.267; avx512 sk_2rsb 0.600, 0.629,
// 0.814, 1.026, 0.597.
func onePassShare() (num, den int) {
	if h2arnn.Kernels() == "avx512" {
		return 1, 2
	}
	return 3, 4
}

// chunkBody processes samples [lo, hi) (global indices, one chunk) on slot
// s, adding their contributions into acc (nil in mode noAccum). In mode
// accumAC it sets acc.shift from sample lo before adding anything.
type chunkBody func(s *slot, acc *accum, lo, hi int)

// runMode says which accumulators a run fills and reduces.
type runMode int

const (
	// accumAC fills both a (shifted coefficients) and c (unit coefficients).
	accumAC runMode = iota
	// accumA fills a only; A = Σ_c a_c and C is left zero.
	accumA
	// noAccum gives the body no accumulator and reduces nothing.
	noAccum
)

// runner runs a chunkBody over samples [0, n) on a fixed set of goroutines
// and reduces the per-chunk accumulators into (A, C) in chunk order, so the
// sums are bit-for-bit independent of the number of goroutines.
//
// Memory is O(workers × params): a pool of workers+2 accumulators (pairs
// in mode accumAC) is recycled; a finished chunk waits in a ring until
// every earlier chunk has been added (the two spares let a goroutine that
// finishes ahead of a slow earlier chunk go on working instead of waiting).
// Goroutines are started once and parked between runs, so a run after the
// first in a given mode allocates nothing.
type runner struct {
	p     int // number of parameters
	chunk int
	slots []*slot

	// A and C are the reduced totals of the last run:
	// A = Σ_c (a_c + (shift_c - Shift0) c_c), C = Σ_c c_c. C and the
	// chunks' c exist only once a run in mode accumAC has needed them.
	A, C   []float64
	Shift0 float64

	// run state
	body       chunkBody
	mode       runMode
	n, nchunks int
	next       atomic.Int64
	free       chan *accum
	ring       []*accum // ring[c % len(ring)] holds finished chunk c
	ringIdx    []int
	mu         sync.Mutex
	reducing   bool
	done       int // chunks already added into A, C
	start      []chan struct{}
	wg         sync.WaitGroup
	closed     bool
}

// resolveWorkers returns the number of goroutines for a workers argument
// (≤ 0: GOMAXPROCS).
func resolveWorkers(workers int) int {
	if workers <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return workers
}

// newRunner prepares workers goroutines (≤ 0: GOMAXPROCS) for net, feeding
// block workers as bl says (see newSlot).
func newRunner(net model.Net, workers, chunk int, bl blocking) *runner {
	workers = resolveWorkers(workers)
	if chunk <= 0 {
		chunk = DefaultChunk
	}
	p := len(net.Params())
	r := &runner{p: p, chunk: chunk, A: make([]float64, p)}
	for range workers {
		r.slots = append(r.slots, newSlot(net, bl))
	}
	k := workers + 2
	r.free = make(chan *accum, k)
	for range k {
		r.free <- &accum{a: make([]float64, p)} // c on the first accumAC run
	}
	r.ring = make([]*accum, k)
	r.ringIdx = make([]int, k)
	if workers > 1 {
		r.start = make([]chan struct{}, workers)
		for i, s := range r.slots {
			ch := make(chan struct{})
			r.start[i] = ch
			go func() {
				for range ch {
					r.work(s)
					r.wg.Done()
				}
			}()
		}
	}
	return r
}

// close stops the parked goroutines. The runner must not be used afterwards.
func (r *runner) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.closed = true
	for _, ch := range r.start {
		close(ch)
	}
}

// run calls body on the chunks of samples [0, n) and, unless mode is
// noAccum, leaves the reduced sums in A, C, Shift0.
func (r *runner) run(n int, body chunkBody, mode runMode) {
	if r.closed {
		panic("grad: estimator used after Close")
	}
	clear(r.A)
	if mode == accumAC && r.C == nil {
		r.C = make([]float64, r.p)
	}
	clear(r.C)
	r.Shift0 = 0
	r.body, r.mode = body, mode
	r.n = n
	r.nchunks = (n + r.chunk - 1) / r.chunk
	r.next.Store(0)
	r.done = 0
	if len(r.slots) == 1 {
		r.work(r.slots[0])
		return
	}
	r.wg.Add(len(r.slots))
	for _, ch := range r.start {
		ch <- struct{}{}
	}
	r.wg.Wait()
}

// work is one goroutine's loop: take a free accumulator, then the next
// chunk index (in this order, so that at most len(ring) chunks are in flight
// and their ring slots are distinct), fill it, hand it to the reducer.
func (r *runner) work(s *slot) {
	for {
		var acc *accum
		if r.mode != noAccum {
			acc = <-r.free
		}
		c := int(r.next.Add(1) - 1)
		if c >= r.nchunks {
			if acc != nil {
				r.free <- acc
			}
			return
		}
		if acc != nil {
			clear(acc.a)
			if r.mode == accumAC {
				if acc.c == nil {
					acc.c = make([]float64, r.p)
				}
				clear(acc.c)
			}
			acc.shift = 0
		}
		r.body(s, acc, c*r.chunk, min((c+1)*r.chunk, r.n))
		if acc != nil {
			r.finish(c, acc)
		}
	}
}

// finish parks chunk c's accumulator in the ring and, unless another
// goroutine is already reducing, adds every consecutive finished chunk into
// the totals in chunk order. The additions run outside the lock.
func (r *runner) finish(c int, acc *accum) {
	k := len(r.ring)
	r.mu.Lock()
	r.ring[c%k] = acc
	r.ringIdx[c%k] = c
	if r.reducing {
		r.mu.Unlock()
		return
	}
	r.reducing = true
	for {
		i := r.done % k
		a := r.ring[i]
		if a == nil || r.ringIdx[i] != r.done {
			break
		}
		r.ring[i] = nil
		first := r.done == 0
		r.mu.Unlock()
		r.add(a, first)
		r.free <- a
		r.mu.Lock()
		r.done++
	}
	r.reducing = false
	r.mu.Unlock()
}

// add folds one chunk into the totals. The first chunk's shift becomes the
// common reference Shift0; later chunks are re-referenced to it, which keeps
// every term of A of the size of the spread of the coefficients rather than
// of their mean.
func (r *runner) add(a *accum, first bool) {
	if first {
		r.Shift0 = a.shift
	}
	h2arnn.Axpy(1, a.a, r.A)
	if r.mode != accumAC {
		return
	}
	if d := a.shift - r.Shift0; d != 0 {
		h2arnn.Axpy(d, a.c, r.A)
	}
	h2arnn.Axpy(1, a.c, r.C)
}
