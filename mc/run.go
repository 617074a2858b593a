package mc

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync/atomic"

	"github.com/h2arnn/h2arnn/internal/par"
	"github.com/h2arnn/h2arnn/model"
)

// RunConfig describes a sampling run: Chains independent Markov chains on
// one model, each keeping configurations at the target inverse temperature
// Betas[len(Betas)-1].
//
// With one β a chain is a single-spin-flip Metropolis Chain. With two or
// more, a chain is a parallel-tempering ensemble (Tempering) over the
// ladder Betas, which must increase strictly, and the kept configurations
// are those of its last slot.
//
// A chain first makes BurnIn sweeps (a sweep is N attempted flips per
// replica, followed by one exchange round with tempering), then keeps one
// configuration every Sweeps sweeps: sample k of a chain (k = 0, 1, …) is
// its configuration after BurnIn + (k+1)·Sweeps sweeps. The Samples kept
// configurations are split over the chains as evenly as possible, the first
// Samples mod Chains chains keeping one more.
type RunConfig struct {
	Betas   []float64
	Chains  int
	Samples int
	Sweeps  int
	BurnIn  int
	// Seed fixes every random stream: replica r of chain c draws from a
	// PCG seeded by model.SampleRNG(src, Seed, c, r), and the exchange
	// moves of chain c from one seeded by model.SampleRNG(src, Seed, c, -1).
	// Results are therefore a pure function of the configuration, whatever
	// the number of goroutines that run the chains.
	Seed uint64
}

// ErrRunConfig is wrapped by the errors of an invalid RunConfig.
var ErrRunConfig = errors.New("mc: invalid run configuration")

func (c *RunConfig) validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrRunConfig, fmt.Sprintf(format, a...))
	}
	switch {
	case len(c.Betas) == 0:
		return bad("no inverse temperature")
	case c.Chains < 1:
		return bad("%d chains; at least one is needed", c.Chains)
	case c.Samples < c.Chains:
		return bad("%d samples for %d chains; every chain must keep at least one", c.Samples, c.Chains)
	case c.Sweeps < 1:
		return bad("%d sweeps between samples; at least one is needed", c.Sweeps)
	case c.BurnIn < 0:
		return bad("negative burn-in %d", c.BurnIn)
	}
	for r, b := range c.Betas {
		if err := checkBeta(b); err != nil {
			return err
		}
		if r > 0 && !(b > c.Betas[r-1]) {
			return bad("the β ladder must increase strictly (β[%d] = %v after %v)", r, b, c.Betas[r-1])
		}
	}
	return nil
}

// SamplesOf returns the number of configurations chain c keeps.
func (c *RunConfig) SamplesOf(chain int) int {
	k := c.Samples / c.Chains
	if chain < c.Samples%c.Chains {
		k++
	}
	return k
}

// TotalSweeps returns the number of sweeps chain c makes in the whole run.
func (c *RunConfig) TotalSweeps(chain int) int64 {
	return int64(c.BurnIn) + int64(c.SamplesOf(chain))*int64(c.Sweeps)
}

// Run is a checkpointable sampling run (RunConfig): Advance moves its
// chains forward in parallel, State and RestoreRun save and restore it
// exactly, so that a run interrupted at any sweep and resumed gives the
// same samples, bit for bit, as one that was never interrupted.
type Run struct {
	m      *model.Hamiltonian
	cfg    RunConfig
	chains []*runChain
	// samples holds the kept configurations, chain after chain: rows
	// [offset(c), offset(c) + SamplesOf(c)) are chain c's in the order kept.
	samples []int8
}

// runChain is one chain of a Run: a Metropolis chain (len(reps) == 1) or a
// tempering ensemble, with its streams, position and kept samples.
type runChain struct {
	reps []*Chain // by slot; the last slot is at the target β
	pt   *Tempering
	srcs []*rand.PCG
	rngs []*rand.Rand
	// swapSrc, swap drive the exchange moves (nil without tempering).
	swapSrc *rand.PCG
	swap    *rand.Rand

	// sweeps is the number of sweeps done (read by Progress while Advance
	// runs); kept the number of samples kept.
	sweeps atomic.Int64
	kept   int
	target int
	rows   []int8 // target·N spins, this chain's part of Run.samples
	// e and mAbs are H/N and |Σx|/N of each kept sample.
	e, mAbs []float64
}

// NewRun prepares a run on m: every replica starts from a configuration
// drawn uniformly from its own stream.
func NewRun(m *model.Hamiltonian, cfg RunConfig) (*Run, error) {
	if m == nil || m.N < 1 {
		return nil, errors.New("mc: the model has no spins")
	}
	cfg.Betas = append([]float64(nil), cfg.Betas...)
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &Run{m: m, cfg: cfg, samples: make([]int8, cfg.Samples*m.N)}
	off := 0
	for c := range cfg.Chains {
		ch, err := r.newChain(c, off)
		if err != nil {
			return nil, err
		}
		off += ch.target * m.N
		r.chains = append(r.chains, ch)
	}
	return r, nil
}

// newChain builds chain c, whose samples start at element off of r.samples.
func (r *Run) newChain(c, off int) (*runChain, error) {
	cfg, n := &r.cfg, r.m.N
	ch := &runChain{target: cfg.SamplesOf(c)}
	ch.rows = r.samples[off : off+ch.target*n]
	ch.e = make([]float64, 0, ch.target)
	ch.mAbs = make([]float64, 0, ch.target)
	for rep := range cfg.Betas {
		src := rand.NewPCG(0, 0)
		model.SampleRNG(src, cfg.Seed, uint64(c), rep)
		ch.srcs = append(ch.srcs, src)
		ch.rngs = append(ch.rngs, rand.New(src))
	}
	if len(cfg.Betas) == 1 {
		chain, err := NewChain(r.m, cfg.Betas[0], nil, ch.rngs[0])
		if err != nil {
			return nil, err
		}
		ch.reps = []*Chain{chain}
		return ch, nil
	}
	pt, err := NewTempering(r.m, cfg.Betas, ch.rngs)
	if err != nil {
		return nil, err
	}
	ch.pt, ch.reps = pt, pt.Replicas()
	ch.swapSrc = rand.NewPCG(0, 0)
	model.SampleRNG(ch.swapSrc, cfg.Seed, uint64(c), -1)
	ch.swap = rand.New(ch.swapSrc)
	return ch, nil
}

// Config returns the run's configuration.
func (r *Run) Config() RunConfig {
	c := r.cfg
	c.Betas = append([]float64(nil), c.Betas...)
	return c
}

// Model returns the model the run samples.
func (r *Run) Model() *model.Hamiltonian { return r.m }

// Done reports whether every chain has kept all its samples.
func (r *Run) Done() bool {
	for _, ch := range r.chains {
		if ch.kept < ch.target {
			return false
		}
	}
	return true
}

// Progress is how far a run has come.
type Progress struct {
	// Sweeps done and to do in total, over all chains (with tempering a
	// sweep moves every replica of an ensemble once).
	Sweeps, TotalSweeps int64
}

// Progress returns the run's position. It may be called while Advance runs
// (from another goroutine); the figures are then a recent snapshot.
func (r *Run) Progress() Progress {
	var p Progress
	for c, ch := range r.chains {
		p.Sweeps += ch.sweeps.Load()
		p.TotalSweeps += r.cfg.TotalSweeps(c)
	}
	return p
}

// Advance moves every unfinished chain forward until it has kept all its
// samples or ctx is done, running the chains on up to workers goroutines
// (≤ 0: GOMAXPROCS). Chains are independent and check ctx between sweeps,
// so a cancelled Advance leaves each chain at the end of a sweep: State
// then saves a position from which Advance continues exactly. It returns
// nil once the run is Done, else ctx's error.
//
// A driver that wants periodic checkpoints calls Advance with a context
// that expires after the interval, saves State, and calls it again.
func (r *Run) Advance(ctx context.Context, workers int) error {
	par.For(workers, len(r.chains), func(_, c int) { r.advanceChain(ctx, c) })
	if r.Done() {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.New("mc: run stopped before its end") // not reached
}

// advanceChain runs chain c until it is finished or ctx is done.
func (r *Run) advanceChain(ctx context.Context, c int) {
	ch := r.chains[c]
	done := ctx.Done()
	burnIn, every := int64(r.cfg.BurnIn), int64(r.cfg.Sweeps)
	for ch.kept < ch.target {
		select {
		case <-done:
			return
		default:
		}
		if ch.pt != nil {
			ch.pt.Sweep(ch.rngs, ch.swap)
		} else {
			ch.reps[0].Sweep(ch.rngs[0])
		}
		s := ch.sweeps.Add(1)
		if s > burnIn && (s-burnIn)%every == 0 {
			r.keep(ch)
		}
		if testAfterSweep != nil {
			testAfterSweep()
		}
	}
}

// testAfterSweep, if set (by tests only), is called after every sweep of
// every chain, from the goroutine running it.
var testAfterSweep func()

// keep stores the configuration of a chain's target slot as its next
// sample. The slot's fields and energy are recomputed first (Resync), so
// that the recorded energy is exactly model.Hamiltonian.Energy of the
// stored spins and rounding never accumulates into kept figures.
func (r *Run) keep(ch *runChain) {
	n := r.m.N
	c := ch.reps[len(ch.reps)-1]
	c.Resync()
	row := ch.rows[ch.kept*n : (ch.kept+1)*n]
	c.State(row)
	ch.e = append(ch.e, c.Energy()/float64(n))
	ch.mAbs = append(ch.mAbs, math.Abs(float64(c.Magnetization()))/float64(n))
	ch.kept++
}

// Samples returns the kept configurations as int8 ±1 rows of N spins,
// chain after chain (each chain's in the order kept), and the number of
// rows. Before the run is Done, rows of chains that have not kept all
// their samples yet are zero. The slice is the run's own: do not modify it.
func (r *Run) Samples() (x []int8, rows int) { return r.samples, r.cfg.Samples }

// ChainSamples returns the rows chain c has kept so far (a view).
func (r *Run) ChainSamples(c int) []int8 {
	ch := r.chains[c]
	return ch.rows[:ch.kept*r.m.N]
}

// Summary is what a run's kept samples say about the target distribution.
type Summary struct {
	// E and MAbs are the energy per spin H/N and the absolute
	// magnetisation per spin |Σ_i x_i|/N of the kept samples, pooled over
	// the chains (ChainsMeanError), with τ_int in units of kept samples.
	E, MAbs Estimate
	// QAbs is the absolute overlap |q_ab| = |Σ_i x^a_i x^b_i|/N of the
	// samples two independent chains kept at the same position, over the
	// disjoint pairs of chains (0, 1), (2, 3), …: the spin-glass order
	// parameter, and the slow mode of a glassy chain, so that its τ_int
	// (in kept samples) says how far apart kept samples really are where
	// the energy's may not. NaN fields with fewer than two chains.
	QAbs Estimate
	// ChainE and ChainMAbs are each chain's own means.
	ChainE, ChainMAbs []float64
	// RHatE and RHatMAbs are the Gelman-Rubin potential scale reduction
	// factors of the two series (GelmanRubin); NaN with one chain.
	RHatE, RHatMAbs float64
	// Acceptance[r] is the fraction of accepted flips at Betas[r], over
	// every chain.
	Acceptance []float64
	// SwapRate[r] is the fraction of accepted exchanges between Betas[r]
	// and Betas[r+1], over every chain (nil without tempering).
	SwapRate []float64
}

// pairOverlaps returns the series |q_ab(t)| of the disjoint chain pairs
// (2k, 2k+1), over the positions both have kept.
func (r *Run) pairOverlaps() [][]float64 {
	n := r.m.N
	var out [][]float64
	for c := 0; c+1 < len(r.chains); c += 2 {
		a, b := r.chains[c], r.chains[c+1]
		q := make([]float64, min(a.kept, b.kept))
		for t := range q {
			dot := 0
			for i, v := range a.rows[t*n : (t+1)*n] {
				dot += int(v) * int(b.rows[t*n+i])
			}
			q[t] = math.Abs(float64(dot)) / float64(n)
		}
		out = append(out, q)
	}
	return out
}

// Summary computes the run's figures from the samples kept so far.
func (r *Run) Summary() Summary {
	var s Summary
	es := make([][]float64, len(r.chains))
	ms := make([][]float64, len(r.chains))
	for c, ch := range r.chains {
		es[c], ms[c] = ch.e, ch.mAbs
		s.ChainE = append(s.ChainE, MeanError(ch.e).Mean)
		s.ChainMAbs = append(s.ChainMAbs, MeanError(ch.mAbs).Mean)
	}
	s.E, s.MAbs = ChainsMeanError(es), ChainsMeanError(ms)
	s.QAbs = ChainsMeanError(r.pairOverlaps())
	s.RHatE, s.RHatMAbs = GelmanRubin(es), GelmanRubin(ms)
	nb := len(r.cfg.Betas)
	att, acc := make([]int64, nb), make([]int64, nb)
	var tried, swapped []int64
	if nb > 1 {
		tried, swapped = make([]int64, nb-1), make([]int64, nb-1)
	}
	for _, ch := range r.chains {
		for k, c := range ch.reps {
			a, b := c.Acceptance()
			att[k] += a
			acc[k] += b
		}
		if ch.pt != nil {
			t, a := ch.pt.SwapRates()
			for k := range t {
				tried[k] += t[k]
				swapped[k] += a[k]
			}
		}
	}
	ratio := func(a, b int64) float64 {
		if b == 0 {
			return math.NaN()
		}
		return float64(a) / float64(b)
	}
	for k := range att {
		s.Acceptance = append(s.Acceptance, ratio(acc[k], att[k]))
	}
	for k := range tried {
		s.SwapRate = append(s.SwapRate, ratio(swapped[k], tried[k]))
	}
	return s
}
