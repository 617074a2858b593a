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

	perm []int     // Fisher-Yates scratch
	idx  []int     // rows of the current minibatch (capacity m)
	logq []float64 // capacity m
	// withGrad says whether the current run adds gradients (false in MeanNLL).
	withGrad bool
	src      *rand.PCG
	rng      *rand.Rand
	batch    int

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
	s := &likelihoodState{data: data, m: m, n: n, batch: batch, idx: make([]int, batch, m), logq: make([]float64, batch, m)}
	if batch < m {
		s.perm = make([]int, m)
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
	keep := s.withGrad && s.r.p > 0
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
	s.idx = s.idx[:s.batch]
	if s.perm == nil {
		for i := range s.idx {
			s.idx[i] = i
		}
	} else {
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
	return s.gradient(grad)
}

// gradient runs the rows in idx, writes the gradient of their mean
// negative log-likelihood into grad and returns that mean.
func (s *likelihoodState) gradient(grad []float64) float64 {
	s.withGrad = true
	b := len(s.idx)
	s.logq = s.logq[:b]
	s.r.run(b, s.chunkFn, accumA)
	fb := float64(b)
	for i := range grad {
		grad[i] = -s.r.A[i] / fb
	}
	return s.meanNLL()
}

// meanNLL is -mean(logq), summed in row order.
func (s *likelihoodState) meanNLL() float64 {
	nll := 0.0
	for _, v := range s.logq {
		nll -= v
	}
	return nll / float64(len(s.logq))
}

// StepRows is Step on the given data rows (each in [0, rows), repeats
// allowed, at most as many as the data set has): it writes the gradient of
// -(1/len(rows)) Σ_r ln q(x_r) into grad and returns that mean negative
// log-likelihood, summing in the order given. Callers that walk an epoch
// through a permutation of their own use it. It allocates nothing.
func (l *Likelihood) StepRows(rows []int, grad []float64) float64 {
	s := l.likelihoodState
	if len(grad) != s.r.p {
		panic(fmt.Sprintf("grad: gradient slice has length %d, want %d parameters", len(grad), s.r.p))
	}
	if len(rows) == 0 || len(rows) > s.m {
		panic(fmt.Sprintf("grad: %d rows for a data set of %d", len(rows), s.m))
	}
	s.idx = s.idx[:len(rows)]
	for k, r := range rows {
		if r < 0 || r >= s.m {
			panic(fmt.Sprintf("grad: row %d outside the data set of %d rows", r, s.m))
		}
		s.idx[k] = r
	}
	return s.gradient(grad)
}

// MeanNLL returns the mean negative log-likelihood -(1/m) Σ ln q(x_r) over
// every row of the data set (in nats per sample), without a gradient: a
// forward pass only, summed in row order, the same bits for any number of
// workers. It allocates nothing.
func (l *Likelihood) MeanNLL() float64 {
	s := l.likelihoodState
	s.idx = s.idx[:s.m]
	for k := range s.idx {
		s.idx[k] = k
	}
	s.logq = s.logq[:s.m]
	s.withGrad = false
	s.r.run(s.m, s.chunkFn, noAccum)
	return s.meanNLL()
}
