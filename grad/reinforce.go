package grad

import (
	"fmt"
	"runtime"

	"github.com/h2arnn/h2arnn/model"
)

// Reinforce is the score-function (REINFORCE) estimator of the gradient of
// the variational free energy βF[q] = Σ_x q(x)(ln q(x) + βH(x)) (SPEC §4)
// with the batch-mean baseline:
//
//	∇ ≈ (1/B) Σ_b (L_b - L̄) ∇ln q(x_b),   L_b = ln q(x_b) + βH(x_b).
//
// Two ways of forming the sum, chosen from the network's workers and the
// machine's cache:
//
//   - one pass (any model.Worker): each lockstep block of samples
//     (model.BlockWorker; one sample otherwise) is drawn keeping its
//     activations and its backward pass follows at once, added into two
//     accumulators (Σ (L_b - shift) g_b and Σ g_b, SPEC §4) because L̄ is
//     not known yet. The block (1, 2, 4 or 8 samples) is sized so that
//     the parameters and every worker's two accumulators and block
//     activations stay in the last-level cache (keptBlockSize);
//   - two passes (model.GradWorker, i.e. sk_krsb, when not even one
//     sample's activations fit beside the accumulators): the batch is drawn
//     first with nothing kept, then every sample is re-run conditional by
//     conditional with its coefficient L_b - L̄ known, adding each
//     conditional's gradient into one accumulator at once, in blocks of 8.
//     A second forward pass costs less than activations streamed through
//     DRAM, which is bound by memory bandwidth and does not scale with
//     cores.
//
// The one-pass form costs a forward pass plus a backward pass that reads
// every parameter's two accumulators once per block; the two-pass form two
// forward passes plus a backward pass with one accumulator. The README
// ("How the time is spent") gives both, measured.
//
// The two forms round differently (the tests hold them to 1e-12 of the
// largest component); block sizes change no bit. So that results do not
// depend on the number of workers, the form is chosen as if all the CPUs
// the process may use (runtime.NumCPU) shared the cache; only the block
// size follows the actual number of workers.
//
// Either way the memory for activations and gradients does not grow with B;
// only the batch itself (B·N int8 spins and 2B float64) is kept.
// Sample b of a call uses the random stream model.SampleRNG(seed, step, b),
// and partial sums are formed per chunk of consecutive samples and added in
// chunk order: for a given (seed, step), parameters and chunk size the
// gradient, the statistics and the batch are bit-for-bit the same for any
// number of workers.
//
// The expectation of this estimator is (1 - 1/B) times the exact gradient
// (the baseline is correlated with each sample); the factor does not change
// the direction.
//
// A Reinforce must not be used by several goroutines at once. Call Close to
// release its goroutines (they are also released when it is garbage).
type Reinforce struct {
	*reinforceState
}

type reinforceState struct {
	net model.Net
	n   int
	r   *runner

	// per call
	beta       float64
	seed, step uint64
	batch      *model.Batch
	loss       float64

	// the chunk bodies as method values, bound once (binding allocates)
	chunkFn, gradFn chunkBody
	// twoPass: draw the batch, then re-run it with GradBlock (see Reinforce)
	twoPass bool
}

// chooseKeptBlock is keptBlockSize; tests replace it to force a form or a
// block size.
var chooseKeptBlock = keptBlockSize

// NewReinforce prepares an estimator for net drawing batch samples per call
// on workers goroutines (≤ 0: GOMAXPROCS), with DefaultChunk samples per
// chunk. Every call stores its samples (int8 spins, ln q, energies: B·N
// bytes + 16·B), see Batch.
func NewReinforce(net model.Net, batch, workers int) (*Reinforce, error) {
	return NewReinforceChunk(net, batch, workers, DefaultChunk)
}

// NewReinforceChunk is NewReinforce with an explicit chunk size (> 0).
func NewReinforceChunk(net model.Net, batch, workers, chunk int) (*Reinforce, error) {
	if batch < 2 {
		return nil, fmt.Errorf("batch size %d: need at least 2 samples for the baseline and the std", batch)
	}
	if chunk <= 0 {
		return nil, fmt.Errorf("chunk size %d must be positive", chunk)
	}
	n := net.Size()
	s := &reinforceState{
		net: net, n: n,
		batch: &model.Batch{N: n, B: batch, X: make([]int8, batch*n), LogQ: make([]float64, batch), Energy: make([]float64, batch)},
	}
	workers = resolveWorkers(workers)
	p := len(net.Params())
	bl := blocking{keep: p > 0}
	if bw, ok := net.NewWorker().(model.BlockWorker); ok && p > 0 && bw.BlockSize() > 1 {
		kept, maxBlock := bw.KeptBytes(), bw.BlockSize()
		_, rerun := bw.(model.GradWorker)
		if rerun && chooseKeptBlock(kept, p, maxBlock, runtime.NumCPU()) == 0 {
			s.twoPass, bl.keep = true, false
		} else {
			// at least one sample, however little of it fits
			bl.size = max(1, chooseKeptBlock(kept, p, maxBlock, min(workers, runtime.NumCPU())))
		}
	}
	s.r = newRunner(net, workers, chunk, bl)
	s.chunkFn, s.gradFn = s.chunk, s.gradChunk
	r := &Reinforce{s}
	runtime.AddCleanup(r, func(s *reinforceState) { s.r.close() }, s)
	return r, nil
}

// Close stops the estimator's goroutines. It must not be used afterwards.
func (r *Reinforce) Close() { r.r.close() }

// BatchSize is the number of samples per call.
func (r *Reinforce) BatchSize() int { return r.batch.B }

// TwoPass reports whether Step forms the gradient in two passes (draw the
// batch, then re-run every sample) rather than one; see Reinforce.
func (r *Reinforce) TwoPass() bool { return r.twoPass }

// Workers is the number of goroutines used.
func (r *Reinforce) Workers() int { return len(r.r.slots) }

// chunk draws samples [lo, hi) and accumulates (L_b - shift) ∇ln q and
// ∇ln q (one pass, mode accumAC), in blocks when the worker supports them
// (the same bits whatever the block size). Without parameters, or as the
// first of two passes (mode noAccum), it only draws.
func (s *reinforceState) chunk(sl *slot, acc *accum, lo, hi int) {
	keep := acc != nil
	if sl.bw == nil {
		for b := lo; b < hi; b++ {
			model.SampleRNG(sl.src, s.seed, s.step, b)
			lq, e := sl.w.Sample(sl.rng, sl.x)
			l := s.record(b, lq, e, sl.x)
			if keep {
				if b == lo {
					acc.shift = l
				}
				sl.w.Backward(l-acc.shift, acc.a, 1, acc.c)
			}
		}
		return
	}
	for b0 := lo; b0 < hi; b0 += sl.block {
		m := min(sl.block, hi-b0)
		for j := range m {
			model.SampleRNG(sl.srcs[j], s.seed, s.step, b0+j)
		}
		sl.bw.ForwardBlock(sl.rngs[:m], sl.xs[:m], sl.lq[:m], sl.e[:m], keep)
		for j := range m {
			sl.cA[j] = s.record(b0+j, sl.lq[j], sl.e[j], sl.xs[j])
		}
		if keep {
			if b0 == lo {
				acc.shift = sl.cA[0]
			}
			for j := range m {
				sl.cA[j] -= acc.shift
			}
			sl.bw.BackwardBlock(sl.cA[:m], acc.a, sl.cC[:m], acc.c)
		}
	}
}

// gradChunk is the second pass of the two-pass estimator (mode accumA):
// with the batch drawn and L̄ known, it adds (L_b - L̄) ∇ln q(x_b) for the
// samples [lo, hi) of the batch through GradWorker.GradBlock.
func (s *reinforceState) gradChunk(sl *slot, acc *accum, lo, hi int) {
	bt := s.batch
	for b0 := lo; b0 < hi; b0 += sl.block {
		m := min(sl.block, hi-b0)
		for j := range m {
			b := b0 + j
			row := bt.X[b*s.n : (b+1)*s.n]
			for i, v := range row {
				sl.xs[j][i] = float64(v)
			}
			sl.cA[j] = bt.LogQ[b] + s.beta*bt.Energy[b] - s.loss
		}
		sl.gw.GradBlock(sl.xs[:m], sl.cA[:m], acc.a, sl.lq[:m])
	}
}

// record stores sample b (ln q = lq, energy e, spins x) in the batch and
// returns L_b = lq + βe.
func (s *reinforceState) record(b int, lq, e float64, x []float64) float64 {
	s.batch.LogQ[b], s.batch.Energy[b] = lq, e
	row := s.batch.X[b*s.n : (b+1)*s.n]
	for i, v := range x {
		row[i] = int8(v)
	}
	return lq + s.beta*e
}

// Step draws one batch at inverse temperature beta (> 0) with the streams of
// (seed, step), writes the gradient estimate of βF[q] with respect to
// net.Params() into grad (len(net.Params())), and returns the batch's
// statistics (model.BatchStats of the batch). It allocates nothing.
func (r *Reinforce) Step(beta float64, seed, step uint64, grad []float64) Stats {
	s := r.reinforceState
	if len(grad) != s.r.p {
		panic(fmt.Sprintf("grad: gradient slice has length %d, want %d parameters", len(grad), s.r.p))
	}
	s.beta, s.seed, s.step = beta, seed, step
	bt := s.batch
	twoPass := s.twoPass
	switch {
	case twoPass:
		s.r.run(bt.B, s.chunkFn, noAccum)
	case s.r.p > 0:
		s.r.run(bt.B, s.chunkFn, accumAC)
	default:
		s.r.run(bt.B, s.chunkFn, noAccum)
	}
	st := model.BatchStats(bt, beta)
	sl := 0.0
	for b := range bt.LogQ {
		sl += bt.LogQ[b] + beta*bt.Energy[b]
	}
	fb := float64(bt.B)
	s.loss = sl / fb
	if s.r.p == 0 {
		return st
	}
	if twoPass {
		// A = Σ (L_b - L̄) g_b directly.
		s.r.run(bt.B, s.gradFn, accumA)
		for i := range grad {
			grad[i] = s.r.A[i] / fb
		}
		return st
	}
	// A = Σ (L_b - Shift0) g_b, so Σ (L_b - L̄) g_b = A - (L̄ - Shift0) C.
	d := s.loss - s.r.Shift0
	for i := range grad {
		grad[i] = (s.r.A[i] - d*s.r.C[i]) / fb
	}
	return st
}

// Loss returns L̄ = mean_b(ln q + βH) of the last Step: the estimate of βF[q].
func (r *Reinforce) Loss() float64 { return r.loss }

// Batch returns the samples of the last Step. It is overwritten by the next
// Step.
func (r *Reinforce) Batch() *model.Batch { return r.batch }
