package grad

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/h2arnn/h2arnn/internal/fmath"
	"github.com/h2arnn/h2arnn/model"
)

// Config is the annealing protocol of SPEC §4. Zero values are not
// defaults: start from DefaultConfig.
type Config struct {
	// BetaStart, BetaEnd, BetaCount: the schedule linspace(start, end, count).
	BetaStart, BetaEnd float64
	BetaCount          int
	// Betas, if non-empty, replaces the linspace schedule (each β > 0).
	Betas []float64
	// InitSteps is the maximum number of steps at the first β, MaxStep at
	// every later one.
	InitSteps, MaxStep int
	// Batch is the number of samples per step.
	Batch int
	// LR is Adam's learning rate.
	LR float64
	// StdLimit stops training at a β early once the per-spin free-energy
	// std std(L)/(βN) of a step's batch falls below it (0: never).
	StdLimit float64
	// StatsBatches is how many of the last batches at a β are averaged
	// into its reported statistics.
	StatsBatches int
	// EvalSamples > 0 draws, after training at each β, one evaluation batch
	// of that size whose statistics are reported instead (0 = none).
	EvalSamples int
	// Seed is the training seed: step s at β index j draws sample b from
	// model.SampleRNG(Seed, StepID(j, s), b).
	Seed uint64
	// Workers is the number of goroutines (≤ 0: GOMAXPROCS). Results do not
	// depend on it.
	Workers int
	// Chunk is the number of samples per gradient chunk (≤ 0: DefaultChunk).
	// Results depend on it (it fixes the summation order).
	Chunk int
}

// DefaultConfig returns the paper's protocol: β on linspace(0.1, 2.0, 39),
// 5000 steps at the first β and up to 1000 at every other, batch 2000,
// Adam lr 1e-3, early stop at per-spin std 1e-4, statistics over the last
// 20 batches and a 20,000-sample evaluation batch.
func DefaultConfig() Config {
	return Config{
		BetaStart: 0.1, BetaEnd: 2.0, BetaCount: 39,
		InitSteps: 5000, MaxStep: 1000, Batch: 2000, LR: 1e-3,
		StdLimit: 1e-4, StatsBatches: 20, EvalSamples: 20000,
	}
}

// Schedule returns the β values in training order: Betas if given, else
// BetaCount values evenly spaced from BetaStart to BetaEnd (both included),
// each rounded to 12 significant digits.
func (c Config) Schedule() []float64 {
	if len(c.Betas) > 0 {
		return slices.Clone(c.Betas)
	}
	if c.BetaCount == 1 {
		return []float64{c.BetaStart}
	}
	out := make([]float64, max(c.BetaCount, 0))
	for i := range out {
		k := float64(c.BetaCount - 1)
		v := (c.BetaStart*(k-float64(i)) + c.BetaEnd*float64(i)) / k
		// Round to 12 significant digits so that the intended decimal values
		// come out (1.1, not 1.0999999999999999) in every file and message;
		// the change is below 1e-12 relative.
		out[i], _ = strconv.ParseFloat(strconv.FormatFloat(v, 'g', 12, 64), 64)
	}
	return out
}

// maxSteps bounds InitSteps and MaxStep so that StepID stays injective.
const maxSteps = 1<<31 - 1

// evalStep is the step number of a β's evaluation batch in StepID.
const evalStep = 1<<32 - 1

// EstimateStep is the step number, in StepID, of the batch that a driver
// draws after a β to estimate with importance sampling (the driver's
// train -estimate): distinct from every training step (≤ maxSteps) and
// from the evaluation batch.
const EstimateStep = 1<<32 - 2

// StepID is the step argument of model.SampleRNG for step s at β index j:
// j in the high 32 bits, s in the low ones. The evaluation batch at β index
// j uses s = 2³²-1 and an estimation batch s = EstimateStep.
func StepID(j, s int) uint64 { return uint64(j)<<32 | uint64(uint32(s)) }

// A ConfigError is a Config field outside its domain. Field is the field's
// name ("Batch", "LR", ...), so that a caller can say it in its own terms.
type ConfigError struct {
	Field  string
	Value  any
	Reason string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("grad: Config.%s = %v: %s", e.Field, e.Value, e.Reason)
}

// Validate returns a *ConfigError for the first field outside its domain, or
// nil. NewTrainer calls it.
func (c Config) Validate() error {
	bad := func(field string, v any, format string, a ...any) error {
		return &ConfigError{Field: field, Value: v, Reason: fmt.Sprintf(format, a...)}
	}
	sched := c.Schedule()
	if len(sched) == 0 {
		return bad("BetaCount", c.BetaCount, "the schedule is empty: give at least one β")
	}
	for _, b := range sched {
		if !(b > 0) || math.IsInf(b, 0) {
			field := "Betas"
			if len(c.Betas) == 0 {
				field = "BetaStart"
				if b != c.BetaStart {
					field = "BetaEnd"
				}
			}
			return bad(field, b, "every β of the schedule must be positive and finite")
		}
	}
	switch {
	case c.InitSteps < 0 || c.InitSteps > maxSteps:
		return bad("InitSteps", c.InitSteps, "give a number of steps in [0, %d]", maxSteps)
	case c.MaxStep < 0 || c.MaxStep > maxSteps:
		return bad("MaxStep", c.MaxStep, "give a number of steps in [0, %d]", maxSteps)
	case c.Batch < 2:
		return bad("Batch", c.Batch, "the baseline and the std need at least 2 samples per step")
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return bad("LR", c.LR, "the learning rate must be positive and finite, such as 1e-3")
	case !(c.StdLimit >= 0) || math.IsInf(c.StdLimit, 0):
		return bad("StdLimit", c.StdLimit, "give a finite number ≥ 0 (0 never stops early)")
	case c.StatsBatches < 1:
		return bad("StatsBatches", c.StatsBatches, "average at least 1 batch")
	case c.EvalSamples < 0 || c.EvalSamples == 1:
		return bad("EvalSamples", c.EvalSamples, "give 0 (no evaluation batch) or at least 2 samples")
	}
	return nil
}

// StepLimit is the step budget at schedule index j: InitSteps at the first
// β, MaxStep at every later one.
func (c Config) StepLimit(j int) int {
	if j == 0 {
		return c.InitSteps
	}
	return c.MaxStep
}

// Result is what the trainer reports for one β.
type Result struct {
	// Index is the position of Beta in the schedule.
	Index int
	Beta  float64
	// Stats are the reported figures: those of the evaluation batch when
	// EvalSamples > 0, otherwise Train.
	Stats Stats
	// Train is the mean over the last StatsBatches training batches (EMin
	// is their minimum); NaNs if no step was taken.
	Train Stats
	// Eval is the evaluation batch's statistics (zero without one).
	Eval Stats
	// Steps is the number of optimiser steps taken at this β, and
	// EarlyStop says whether the std criterion ended them.
	Steps     int
	EarlyStop bool
	// Seconds is the wall time spent at this β, evaluation included.
	Seconds float64
	// Samples is the evaluation batch (nil without one). It is reused: it
	// is valid during the OnBeta callback, and only the last Result that
	// Train returns keeps it.
	Samples *model.Batch
}

// State is the trainer's position, enough (with net.Params()) to resume a
// run bit for bit. Between steps it says that StepsDone steps have been
// taken at schedule index BetaIndex; Stopped means training at that β is
// over (early stop or step limit) and its evaluation comes next.
type State struct {
	BetaIndex int     `json:"beta_index"`
	Beta      float64 `json:"beta"`
	StepsDone int     `json:"steps_done"`
	Stopped   bool    `json:"stopped"`
	EarlyStop bool    `json:"early_stop"`
	// Recent holds the statistics of the last (up to StatsBatches) steps at
	// this β, oldest first.
	Recent []Stats `json:"recent"`
	// Seconds already spent at this β.
	Seconds float64        `json:"seconds"`
	Opt     OptimizerState `json:"optimizer"`
}

// Trainer runs the annealing protocol on one network.
type Trainer struct {
	net   model.Net
	cfg   Config
	sched []float64
	opt   Optimizer
	est   *Reinforce
	grad  []float64

	// OnStep, if set, is called after every optimiser step with the β index,
	// the number of steps done at that β and the step's batch statistics.
	// State() called from it gives the position after this step. A non-nil
	// error stops Train, which returns it.
	OnStep func(j, steps int, st Stats) error
	// OnBeta, if set, is called when a β is finished; State() called from it
	// gives the position at the start of the next β. A non-nil error stops
	// Train, which returns it.
	OnBeta func(r Result) error

	pos     State // current position; Recent is a ring (see ring*)
	ring    []Stats
	ringLen int
	ringPos int // index of the oldest entry
	evalBt  *model.Batch
	sampler *model.Sampler
	// mark is when the time of the current β was last added to pos.Seconds.
	mark time.Time
}

// NewTrainer prepares a trainer for net with Adam (cfg.LR). The network's
// parameters are used as they are (already initialised).
func NewTrainer(net model.Net, cfg Config) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	p := len(net.Params())
	t := &Trainer{net: net, cfg: cfg, sched: cfg.Schedule(), grad: make([]float64, p), ring: make([]Stats, cfg.StatsBatches)}
	adam := NewAdam(p)
	adam.LR = cfg.LR
	t.opt = adam
	if p > 0 {
		est, err := NewReinforceChunk(net, cfg.Batch, cfg.Workers, chunkOr(cfg.Chunk))
		if err != nil {
			return nil, err
		}
		t.est = est
	}
	t.pos.Beta = t.sched[0]
	return t, nil
}

func chunkOr(c int) int {
	if c <= 0 {
		return DefaultChunk
	}
	return c
}

// SetOptimizer replaces Adam (before Train; the optimiser must be sized for
// len(net.Params())).
func (t *Trainer) SetOptimizer(o Optimizer) { t.opt = o }

// Schedule returns the β values of the run.
func (t *Trainer) Schedule() []float64 { return slices.Clone(t.sched) }

// Close releases the trainer's goroutines.
func (t *Trainer) Close() {
	if t.est != nil {
		t.est.Close()
	}
	if t.sampler != nil {
		t.sampler.Close()
	}
}

// State returns a deep copy of the trainer's position.
func (t *Trainer) State() State {
	s := t.pos
	s.Recent = make([]Stats, t.ringLen)
	for i := range t.ringLen {
		s.Recent[i] = t.ring[(t.ringPos+i)%len(t.ring)]
	}
	s.Opt = t.opt.State()
	return s
}

// SetState restores a position saved by State (the caller restores the
// network's parameters). It checks that the state fits this configuration.
func (t *Trainer) SetState(s State) error {
	if s.BetaIndex < 0 || s.BetaIndex > len(t.sched) {
		return fmt.Errorf("state at β index %d, the schedule has %d values", s.BetaIndex, len(t.sched))
	}
	if s.BetaIndex < len(t.sched) && s.Beta != t.sched[s.BetaIndex] {
		return fmt.Errorf("state at β %v, the schedule has β %v at index %d", s.Beta, t.sched[s.BetaIndex], s.BetaIndex)
	}
	if s.StepsDone < 0 || s.StepsDone > t.cfg.StepLimit(s.BetaIndex) {
		return fmt.Errorf("state has %d steps done at β index %d, the limit is %d", s.StepsDone, s.BetaIndex, t.cfg.StepLimit(s.BetaIndex))
	}
	if len(s.Recent) > len(t.ring) {
		return fmt.Errorf("state holds %d recent statistics, StatsBatches is %d", len(s.Recent), len(t.ring))
	}
	if err := t.opt.SetState(s.Opt); err != nil {
		return err
	}
	t.pos = s
	t.pos.Recent = nil
	t.pos.Opt = OptimizerState{}
	t.ringPos, t.ringLen = 0, len(s.Recent)
	copy(t.ring, s.Recent)
	return nil
}

func (t *Trainer) push(st Stats) {
	if t.ringLen < len(t.ring) {
		t.ring[(t.ringPos+t.ringLen)%len(t.ring)] = st
		t.ringLen++
		return
	}
	t.ring[t.ringPos] = st
	t.ringPos = (t.ringPos + 1) % len(t.ring)
}

func (t *Trainer) recentMean() Stats {
	s := make([]Stats, t.ringLen)
	for i := range t.ringLen {
		s[i] = t.ring[(t.ringPos+i)%len(t.ring)]
	}
	return model.MeanStats(s)
}

// Train runs the schedule from the current position (the start, or the one
// given to SetState) to the end and returns one Result per β trained in
// this call. For a network without parameters it only evaluates (Steps = 0;
// with EvalSamples = 0 the evaluation batch has Batch samples).
//
// It checks ctx before every step, and the evaluation batch checks it
// between blocks of samples: once ctx is done, Train returns the results
// so far and ctx's error (errors.Is(err, context.Canceled)), and the
// trainer is at a position between steps (State) from which a later Train
// continues exactly as if it had not stopped.
//
// A non-finite loss or gradient ends it with an error naming β and step;
// an error from a callback ends it and is returned (wrapped in nothing).
func (t *Trainer) Train(ctx context.Context) ([]Result, error) {
	var results []Result
	for t.pos.BetaIndex < len(t.sched) {
		j := t.pos.BetaIndex
		beta := t.sched[j]
		t.net.SetBeta(beta)
		t.mark = time.Now()
		if err := t.steps(ctx, j, beta); err != nil {
			t.tick()
			return results, err
		}
		r, err := t.evaluate(ctx, j, beta)
		if err != nil {
			return results, err
		}
		// Advance before the callback so that State() inside it resumes at
		// the next β.
		t.pos = State{BetaIndex: j + 1}
		if j+1 < len(t.sched) {
			t.pos.Beta = t.sched[j+1]
		}
		t.ringLen, t.ringPos = 0, 0
		for i := range results {
			results[i].Samples = nil
		}
		results = append(results, r)
		if t.OnBeta != nil {
			if err := t.OnBeta(r); err != nil {
				return results, err
			}
		}
	}
	return results, nil
}

// tick adds the wall time since the last tick (or the start of the β in
// this call) to the position's Seconds.
func (t *Trainer) tick() {
	now := time.Now()
	t.pos.Seconds += now.Sub(t.mark).Seconds()
	t.mark = now
}

// steps takes the optimiser steps at schedule index j until the step budget
// or the early stop ends them, or ctx is done (its error is returned).
func (t *Trainer) steps(ctx context.Context, j int, beta float64) error {
	params := t.net.Params()
	lim := t.cfg.StepLimit(j)
	if len(params) == 0 {
		t.pos.Stopped = true
	}
	for !t.pos.Stopped {
		if t.pos.StepsDone >= lim {
			t.pos.Stopped = true
			break
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		s := t.pos.StepsDone
		st := t.est.Step(beta, t.cfg.Seed, StepID(j, s), t.grad)
		if !fmath.Finite(t.est.Loss()) {
			return fmt.Errorf("non-finite loss %v at β %v (index %d), step %d", t.est.Loss(), beta, j, s)
		}
		if !allFinite(t.grad) {
			return fmt.Errorf("non-finite gradient at β %v (index %d), step %d", beta, j, s)
		}
		t.opt.Step(params, t.grad)
		t.push(st)
		t.pos.StepsDone = s + 1
		if st.FStd < t.cfg.StdLimit {
			t.pos.Stopped, t.pos.EarlyStop = true, true
		} else if t.pos.StepsDone >= lim {
			t.pos.Stopped = true
		}
		t.tick()
		if t.OnStep != nil {
			if err := t.OnStep(j, t.pos.StepsDone, st); err != nil {
				return err
			}
		}
	}
	return nil
}

// evaluate forms the Result of schedule index j once its steps are done:
// the mean of the recent training statistics and, if configured, those of
// an evaluation batch. Seconds covers the whole β, this evaluation included.
func (t *Trainer) evaluate(ctx context.Context, j int, beta float64) (Result, error) {
	r := Result{Index: j, Beta: beta, Steps: t.pos.StepsDone, EarlyStop: t.pos.EarlyStop}
	r.Train = t.recentMean()
	r.Stats = r.Train
	n := t.cfg.EvalSamples
	if n == 0 && len(t.net.Params()) == 0 {
		n = t.cfg.Batch
	}
	if n > 0 {
		if t.sampler == nil {
			t.sampler = model.NewSampler(t.net, t.cfg.Workers)
		}
		var err error
		t.evalBt, err = t.sampler.Draw(ctx, t.evalBt, n, t.cfg.Seed, StepID(j, evalStep))
		if err != nil {
			t.tick()
			return r, err
		}
		r.Eval = model.BatchStats(t.evalBt, beta)
		r.Stats = r.Eval
		r.Samples = t.evalBt
	}
	t.tick()
	r.Seconds = t.pos.Seconds
	return r, nil
}
