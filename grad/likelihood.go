package grad

import (
	"fmt"
	"math/rand/v2"
	"runtime"

	"github.com/h2arnn/h2arnn/model"
)

// Likelihood estimates the gradient of the mean negative log-likelihood
// -(1/m) Σ_b ln q(x_b) of a data set of ±1 samples (SPEC §5), over the whole
// data set or over a minibatch drawn from it. Like Reinforce it runs each
// sample's backward pass right after its forward pass, sums per chunk and
// adds chunks in order, so results are bit-for-bit independent of the number
// of workers. A Likelihood must not be used by several goroutines at once;
// Close releases its goroutines.
type Likelihood struct {
	*likelihoodState
}

type likelihoodState struct {
	data []int8 // rows of n spins
	m, n int
	r    *runner

	perm  []int // Fisher-Yates scratch
	idx   []int // rows of the current minibatch
	logq  []float64
	src   *rand.PCG
	rng   *rand.Rand
	batch int

	chunkFn chunkBody // s.chunk, bound once (binding allocates)
}

// NewLikelihood prepares an estimator for net over data, which holds rows of
// net.Size() spins (±1, row-major). batch is the minibatch size; batch ≤ 0
// or ≥ the number of rows means the full data set in row order.
func NewLikelihood(net model.Net, data []int8, batch, workers int) (*Likelihood, error) {
	n := net.Size()
	if n == 0 || len(data) == 0 || len(data)%n != 0 {
		return nil, fmt.Errorf("data has %d spins, not a positive multiple of N = %d", len(data), n)
	}
	for i, v := range data {
		if v != 1 && v != -1 {
			return nil, fmt.Errorf("data row %d spin %d is %d, want ±1", i/n, i%n, v)
		}
	}
	m := len(data) / n
	if batch <= 0 || batch > m {
		batch = m
	}
	s := &likelihoodState{data: data, m: m, n: n, batch: batch, idx: make([]int, batch), logq: make([]float64, batch)}
	if batch < m {
		s.perm = make([]int, m)
	}
	for i := range s.idx {
		s.idx[i] = i
	}
	s.src = rand.NewPCG(0, 0)
	s.rng = rand.New(s.src)
	workers = resolveWorkers(workers)
	p := len(net.Params())
	bl := blocking{keep: p > 0}
	if bw, ok := net.NewWorker().(model.BlockWorker); ok && p > 0 {
		// blocks whose activations stay in cache; when even one sample's do
		// not, BlockSize() (0) as before
		bl.size = chooseKeptBlock(bw.KeptBytes(), p, bw.BlockSize(), workers)
	}
	s.r = newRunner(net, workers, DefaultChunk, bl)
	s.chunkFn = s.chunk
	l := &Likelihood{s}
	runtime.AddCleanup(l, func(s *likelihoodState) { s.r.close() }, s)
	return l, nil
}

// Close stops the estimator's goroutines. It must not be used afterwards.
func (l *Likelihood) Close() { l.r.close() }

// BatchSize is the number of rows per Step.
func (l *Likelihood) BatchSize() int { return l.batch }

// chunk adds ∇ln q of data rows idx[lo:hi] into acc.a, in blocks when the
// worker supports them (the same bits either way).
func (s *likelihoodState) chunk(sl *slot, acc *accum, lo, hi int) {
	keep := s.r.p > 0
	if sl.bw == nil {
		for b := lo; b < hi; b++ {
			s.load(b, sl.x)
			s.logq[b] = sl.w.LogProb(sl.x)
			if keep {
				sl.w.Backward(1, acc.a, 0, nil)
			}
		}
		return
	}
	for b0 := lo; b0 < hi; b0 += len(sl.xs) {
		m := min(len(sl.xs), hi-b0)
		for j := range m {
			s.load(b0+j, sl.xs[j])
		}
		sl.bw.ForwardBlock(nil, sl.xs[:m], s.logq[b0:b0+m], nil, keep)
		if keep {
			// cC is all ones: the coefficient of every data row is 1.
			sl.bw.BackwardBlock(sl.cC[:m], acc.a, nil, nil)
		}
	}
}

// load copies data row idx[b] into x as ±1 float64.
func (s *likelihoodState) load(b int, x []float64) {
	row := s.data[s.idx[b]*s.n : (s.idx[b]+1)*s.n]
	for i, v := range row {
		x[i] = float64(v)
	}
}

// Indices returns the data rows used by the last Step, in the order they
// were summed (valid until the next Step).
func (l *Likelihood) Indices() []int { return l.idx }

// Step writes the gradient of -(1/B) Σ_b ln q(x_b) over one minibatch into
// grad (len(net.Params())) and returns that mean negative log-likelihood.
// The minibatch is B distinct rows chosen uniformly at random, a pure
// function of (seed, step); with the full data set seed and step are unused.
// It allocates nothing.
func (l *Likelihood) Step(seed, step uint64, grad []float64) float64 {
	s := l.likelihoodState
	if len(grad) != s.r.p {
		panic(fmt.Sprintf("grad: gradient slice has length %d, want %d parameters", len(grad), s.r.p))
	}
	if s.perm != nil {
		// Partial Fisher-Yates from the identity: the first B entries are a
		// uniform random B-subset in random order.
		for i := range s.perm {
			s.perm[i] = i
		}
		model.SampleRNG(s.src, seed, step, -1)
		for i := range s.batch {
			j := i + s.rng.IntN(s.m-i)
			s.perm[i], s.perm[j] = s.perm[j], s.perm[i]
		}
		copy(s.idx, s.perm[:s.batch])
	}
	s.r.run(s.batch, s.chunkFn, accumA)
	fb := float64(s.batch)
	for i := range grad {
		grad[i] = -s.r.A[i] / fb
	}
	nll := 0.0
	for _, v := range s.logq {
		nll -= v
	}
	return nll / fb
}
