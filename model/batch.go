package model

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"

	"github.com/h2arnn/h2arnn/internal/par"
)

// Batch holds B samples of N spins drawn from a Net.
type Batch struct {
	N, B int
	// X holds the spins row-major: X[b*N+i] = x_i of sample b, ±1.
	X []int8
	// LogQ[b] = ln q(x_b) and Energy[b] = H(x_b) (total, not per spin).
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

// Sampler draws samples from one Net, and evaluates ln q of given ones, on a
// fixed set of goroutines, into slices the caller owns. Its results depend
// only on the net's parameters and the random streams, never on the number
// of workers: sample j of a draw for (seed, step, first) always uses the
// stream SampleRNG(seed, step, first+j). After the first call of each kind
// a call allocates nothing.
//
// A Sampler reads the net's parameters at every call, so it follows the net
// (or the Clone it was given) as they change between calls. It must not be
// used by several goroutines at once, nor while the net's parameters
// change. Close releases its goroutines (they are also released when the
// Sampler is garbage).
type Sampler struct {
	*samplerState
}

type samplerState struct {
	net   Net
	n     int
	pool  *par.Pool
	slots []*sampleSlot
	// block is the number of samples per task: the workers' BlockSize when
	// they are BlockWorkers (samples run in lockstep), else 1.
	block int

	// the arguments of the current call
	done         <-chan struct{}
	x            []int8
	logq, energy []float64
	seed, step   uint64
	first        int

	// the loop bodies as method values, bound once (binding allocates)
	drawFn, probFn func(slot, c int)
}

// sampleSlot is one goroutine's scratch: a network worker and, for a block
// of m samples, m reseedable streams, spin vectors and result slots.
type sampleSlot struct {
	w      Worker
	bw     BlockWorker // nil: one sample at a time
	srcs   []*rand.PCG
	rngs   []*rand.Rand
	xs     [][]float64
	lq, en []float64
}

// NewSampler prepares workers goroutines' scratch for net (workers ≤ 0
// means GOMAXPROCS).
func NewSampler(net Net, workers int) *Sampler {
	s := &samplerState{net: net, n: net.Size(), pool: par.NewPool(workers), block: 1}
	for range s.pool.Workers() {
		sl := &sampleSlot{w: net.NewWorker()}
		if bw, ok := sl.w.(BlockWorker); ok && bw.BlockSize() > 1 {
			sl.bw = bw
			s.block = bw.BlockSize()
		}
		for range s.block {
			src := rand.NewPCG(0, 0)
			sl.srcs = append(sl.srcs, src)
			sl.rngs = append(sl.rngs, rand.New(src))
			sl.xs = append(sl.xs, make([]float64, s.n))
		}
		sl.lq, sl.en = make([]float64, s.block), make([]float64, s.block)
		s.slots = append(s.slots, sl)
	}
	s.drawFn, s.probFn = s.drawTask, s.probTask
	smp := &Sampler{s}
	runtime.AddCleanup(smp, func(p *par.Pool) { p.Close() }, s.pool)
	return smp
}

// Workers returns the number of goroutines the sampler uses.
func (s *Sampler) Workers() int { return s.pool.Workers() }

// Close stops the sampler's goroutines. It must not be used afterwards.
func (s *Sampler) Close() { s.pool.Close() }

// DrawInto draws m = len(logq) samples into buffers the caller owns: x
// (m·N int8 spins ±1, row-major), logq (ln q of each sample) and energy (its
// total energy H, not per spin; energy may be nil). Sample j uses the
// random stream SampleRNG(seed, step, first+j), so drawing M samples in
// chunks (first = 0, c, 2c, ...) gives the same samples as one call.
// Workers that are BlockWorkers draw blocks of samples in lockstep without
// keeping activations; the samples are the same.
//
// Between blocks of samples it checks ctx: once ctx is done it stops and
// returns ctx's error, with the buffers partly written. It panics if the
// buffers' lengths do not match.
func (s *Sampler) DrawInto(ctx context.Context, x []int8, logq, energy []float64, seed, step uint64, first int) error {
	m := len(logq)
	if len(x) != m*s.n || (energy != nil && len(energy) != m) {
		panic(fmt.Sprintf("model: DrawInto: %d spins, %d energies for %d samples of N = %d", len(x), len(energy), m, s.n))
	}
	s.done, s.x, s.logq, s.energy, s.seed, s.step, s.first = ctx.Done(), x, logq, energy, seed, step, first
	s.pool.For((m+s.block-1)/s.block, s.drawFn)
	s.x, s.logq, s.energy = nil, nil, nil
	return ctx.Err()
}

// drawTask draws the samples of block c of the current DrawInto.
func (s *samplerState) drawTask(slot, c int) {
	select {
	case <-s.done:
		return
	default:
	}
	sl := s.slots[slot]
	lo := c * s.block
	m := min(s.block, len(s.logq)-lo)
	for j := range m {
		SampleRNG(sl.srcs[j], s.seed, s.step, s.first+lo+j)
	}
	if sl.bw != nil {
		sl.bw.ForwardBlock(sl.rngs[:m], sl.xs[:m], sl.lq[:m], sl.en[:m], false)
	} else {
		sl.lq[0], sl.en[0] = sl.w.Sample(sl.rngs[0], sl.xs[0])
	}
	for j := range m {
		b := lo + j
		s.logq[b] = sl.lq[j]
		if s.energy != nil {
			s.energy[b] = sl.en[j]
		}
		row := s.x[b*s.n : (b+1)*s.n]
		for i, v := range sl.xs[j] {
			row[i] = int8(v)
		}
	}
}

// LogProbBatch sets dst[b] = ln q(x_b) for the m = len(dst) configurations
// x_b given as int8 rows of x (m·N spins ±1, row-major), on the sampler's
// goroutines. Each value has the bits of Worker.LogProb. It panics if the
// lengths do not match.
func (s *Sampler) LogProbBatch(dst []float64, x []int8) {
	m := len(dst)
	if len(x) != m*s.n {
		panic(fmt.Sprintf("model: LogProbBatch: %d spins for %d configurations of N = %d", len(x), m, s.n))
	}
	s.x, s.logq = x, dst
	s.pool.For((m+s.block-1)/s.block, s.probFn)
	s.x, s.logq = nil, nil
}

// probTask evaluates block c of the current LogProbBatch.
func (s *samplerState) probTask(slot, c int) {
	sl := s.slots[slot]
	lo := c * s.block
	m := min(s.block, len(s.logq)-lo)
	for j := range m {
		row := s.x[(lo+j)*s.n : (lo+j+1)*s.n]
		for i, v := range row {
			sl.xs[j][i] = float64(v)
		}
	}
	if sl.bw != nil {
		sl.bw.ForwardBlock(nil, sl.xs[:m], s.logq[lo:lo+m], nil, false)
		return
	}
	s.logq[lo] = sl.w.LogProb(sl.xs[0])
}

// Draw fills bt (reallocating it if its shape differs) with n samples for
// (seed, step), sample b from the stream SampleRNG(seed, step, b), and
// returns it; see DrawInto. Once ctx is done it returns ctx's error.
func (s *Sampler) Draw(ctx context.Context, bt *Batch, n int, seed, step uint64) (*Batch, error) {
	if bt == nil || bt.N != s.n || bt.B != n {
		bt = &Batch{N: s.n, B: n, X: make([]int8, n*s.n), LogQ: make([]float64, n), Energy: make([]float64, n)}
	}
	return bt, s.DrawInto(ctx, bt.X, bt.LogQ, bt.Energy, seed, step, 0)
}

// SampleBatch draws n samples from net with the given seed (step 0) on
// workers goroutines (≤ 0: GOMAXPROCS): sample b from the stream
// SampleRNG(seed, 0, b). It is the one-call form of NewSampler and Draw,
// without cancellation.
func SampleBatch(net Net, n int, seed uint64, workers int) *Batch {
	s := NewSampler(net, workers)
	defer s.Close()
	bt, _ := s.Draw(context.Background(), nil, n, seed, 0)
	return bt
}
