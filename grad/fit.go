package grad

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/h2arnn/h2arnn/model"
)

// FitConfig is the protocol of maximum-likelihood fitting (Fitter).
type FitConfig struct {
	// Epochs is the largest number of passes over the training rows.
	Epochs int
	// Batch is the number of rows per Adam step; the last step of an epoch
	// takes the rows left over (fewer). Batch ≥ the number of training rows
	// means one full-batch step per epoch.
	Batch int
	// LR is Adam's learning rate (β₁, β₂ and ε as NewAdam).
	LR float64
	// Patience stops the fit after this many epochs in a row without a
	// lower validation NLL (early stopping); 0 never stops early. It needs
	// validation rows.
	Patience int
	// Seed fixes the order of the training rows in every epoch.
	Seed uint64
	// Workers is the number of goroutines (≤ 0: GOMAXPROCS); results do not
	// depend on it.
	Workers int
}

func (c *FitConfig) validate(hasVal bool) error {
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("%d epochs; at least one is needed", c.Epochs)
	case c.Batch < 1:
		return fmt.Errorf("batch of %d rows; at least one is needed", c.Batch)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("learning rate %v; a positive finite number is needed", c.LR)
	case c.Patience < 0:
		return fmt.Errorf("patience %d; give 0 (never stop early) or more epochs", c.Patience)
	case c.Patience > 0 && !hasVal:
		return errors.New("early stopping needs validation rows")
	}
	return nil
}

// Epoch is the record of one finished epoch of a Fitter.
type Epoch struct {
	// Epoch counts from 1.
	Epoch int
	// TrainNLL is the mean negative log-likelihood per sample (nats) of the
	// training rows as the epoch's steps saw them: the mean of the
	// minibatch NLLs weighted by their rows, the parameters moving during
	// the epoch (as PyTorch training loops report it).
	TrainNLL float64
	// ValNLL is the mean negative log-likelihood per sample of the
	// validation rows with the parameters at the epoch's end (NaN without
	// validation rows).
	ValNLL float64
	// Steps is the number of optimiser steps taken so far, in all epochs.
	Steps int64
	// Seconds is the wall-clock time of the epoch (sessions summed if it
	// was interrupted and resumed).
	Seconds float64
	// Best says that ValNLL is the lowest so far.
	Best bool
}

// FitState is the checkpointable position of a Fitter: with the
// parameters and the same configuration and data it continues bit for bit.
type FitState struct {
	// Epochs is the number of finished epochs; Steps the number of steps of
	// the unfinished one, TrainSum the sum of its minibatch NLLs times
	// their row counts and Seconds its time so far.
	Epochs   int     `json:"epochs"`
	Steps    int     `json:"steps"`
	TrainSum float64 `json:"train_sum"`
	Seconds  float64 `json:"seconds"`
	// BestEpoch is the epoch (from 1) of the lowest validation NLL so far
	// (0: none), BestVal that NLL and Best the parameters then.
	BestEpoch int       `json:"best_epoch"`
	BestVal   float64   `json:"best_val"`
	Best      []float64 `json:"best,omitempty"`
	// Stopped says that early stopping ended the fit.
	Stopped bool           `json:"stopped"`
	Opt     OptimizerState `json:"opt"`
}

// Fitter trains a net by maximum likelihood on data (SPEC §5): Adam on
// the mean negative log-likelihood -(1/B) Σ_b ln q(x_b) of minibatches
// that walk each epoch through a fresh random permutation of the training
// rows, the NLL of held-out validation rows after every epoch, and early
// stopping on it. The permutation of epoch e is a pure function of
// (Seed, e) and the gradients are bit-for-bit independent of the number of
// workers (Likelihood), so a fit is reproducible on any machine and, from a
// State, resumable exactly.
type Fitter struct {
	net        model.Net
	cfg        FitConfig
	train, val *Likelihood
	nTrain     int
	opt        *Adam
	grad       []float64
	perm, rows []int
	st         FitState
	permSrc    *rand.PCG
	permRNG    *rand.Rand

	// OnStep, if set, is called after every optimiser step with the epoch
	// (from 1) and the step within it (from 1). A non-nil error stops Fit,
	// which returns it; State() then gives the position after the step.
	OnStep func(epoch, step int) error
	// OnEpoch, if set, is called after every epoch with its record and the
	// parameters at the epoch's end; State() then gives the position at
	// the start of the next epoch (Stopped set if early stopping ends the
	// fit). A non-nil error stops Fit.
	OnEpoch func(Epoch) error
}

// NewFitter prepares a fit of net on the training rows train and the
// validation rows val (±1 spins, rows of net.Size(); val may be empty).
func NewFitter(net model.Net, train, val []int8, cfg FitConfig) (*Fitter, error) {
	if len(net.Params()) == 0 {
		return nil, fmt.Errorf("architecture %s has no trainable parameters", net.Arch())
	}
	if err := cfg.validate(len(val) > 0); err != nil {
		return nil, err
	}
	n := net.Size()
	batch := min(cfg.Batch, len(train)/max(n, 1))
	tl, err := NewLikelihood(net, train, batch, cfg.Workers)
	if err != nil {
		return nil, fmt.Errorf("training rows: %w", err)
	}
	f := &Fitter{net: net, cfg: cfg, train: tl, nTrain: len(train) / n, opt: NewAdam(len(net.Params())),
		grad: make([]float64, len(net.Params())), st: FitState{BestVal: math.Inf(1)}}
	f.opt.LR = cfg.LR
	if len(val) > 0 {
		if f.val, err = NewLikelihood(net, val, 0, cfg.Workers); err != nil {
			tl.Close()
			return nil, fmt.Errorf("validation rows: %w", err)
		}
	}
	f.perm = make([]int, f.nTrain)
	f.permSrc = rand.NewPCG(0, 0)
	f.permRNG = rand.New(f.permSrc)
	f.st.Opt = f.opt.State()
	return f, nil
}

// Close releases the goroutines of the fitter's estimators.
func (f *Fitter) Close() {
	f.train.Close()
	if f.val != nil {
		f.val.Close()
	}
}

// State returns a deep copy of the fitter's position.
func (f *Fitter) State() FitState {
	st := f.st
	st.Best = slices.Clone(f.st.Best)
	st.Opt = f.opt.State()
	if st.BestEpoch == 0 {
		st.BestVal = 0 // +Inf in memory; JSON has no infinity
	}
	return st
}

// SetState restores a State saved by a fitter of the same net,
// configuration and data (the parameters are restored by the caller).
func (f *Fitter) SetState(st FitState) error {
	steps := f.stepsPerEpoch()
	switch {
	case st.Epochs < 0 || st.Epochs > f.cfg.Epochs:
		return fmt.Errorf("fit state at epoch %d of %d", st.Epochs, f.cfg.Epochs)
	case st.Steps < 0 || st.Steps > steps:
		return fmt.Errorf("fit state at step %d of an epoch of %d", st.Steps, steps)
	case st.BestEpoch < 0 || st.BestEpoch > st.Epochs || (st.BestEpoch > 0) != (st.Best != nil):
		return fmt.Errorf("fit state has best epoch %d with %d parameters", st.BestEpoch, len(st.Best))
	case st.Best != nil && len(st.Best) != len(f.net.Params()):
		return fmt.Errorf("fit state keeps %d best parameters, the net has %d", len(st.Best), len(f.net.Params()))
	}
	if err := f.opt.SetState(st.Opt); err != nil {
		return err
	}
	if f.opt.LR != f.cfg.LR {
		return fmt.Errorf("fit state has learning rate %v, the configuration %v", f.opt.LR, f.cfg.LR)
	}
	f.st = st
	f.st.Best = slices.Clone(st.Best)
	if st.BestEpoch == 0 {
		f.st.BestVal = math.Inf(1)
	}
	return nil
}

// Best returns the parameters at the lowest validation NLL so far and its
// epoch (nil, 0 before the first epoch or without validation rows).
func (f *Fitter) Best() ([]float64, int) { return f.st.Best, f.st.BestEpoch }

// NLL returns the mean negative log-likelihood per sample (nats) of the
// training rows and of the validation rows (NaN without) at the current
// parameters, by forward passes over all of them.
func (f *Fitter) NLL() (train, val float64) {
	train, val = f.train.MeanNLL(), math.NaN()
	if f.val != nil {
		val = f.val.MeanNLL()
	}
	return train, val
}

// Done reports whether the fit has run all its epochs or stopped early.
func (f *Fitter) Done() bool { return f.st.Stopped || f.st.Epochs >= f.cfg.Epochs }

func (f *Fitter) stepsPerEpoch() int {
	b := f.train.BatchSize()
	return (f.nTrain + b - 1) / b
}

// permute sets f.perm to the row order of epoch e (from 0): a Fisher-Yates
// shuffle from PCG seeded by model.SampleRNG(Seed, e, -2).
func (f *Fitter) permute(e int) {
	for i := range f.perm {
		f.perm[i] = i
	}
	model.SampleRNG(f.permSrc, f.cfg.Seed, uint64(e), -2)
	f.permRNG.Shuffle(len(f.perm), func(i, j int) { f.perm[i], f.perm[j] = f.perm[j], f.perm[i] })
}

// ErrDiverged is wrapped by Fit's error when the NLL or a gradient is no
// longer finite.
var ErrDiverged = errors.New("fit diverged")

// Fit runs epochs until the fit is Done, ctx is cancelled (checked before
// every step: Fit returns ctx.Err() and State() is the position after the
// last step) or a callback returns an error. Once done, with validation
// rows, the parameters are those of the best epoch.
func (f *Fitter) Fit(ctx context.Context) error {
	params := f.net.Params()
	steps, b := f.stepsPerEpoch(), f.train.BatchSize()
	for !f.Done() {
		e := f.st.Epochs
		f.permute(e)
		start := time.Now()
		for f.st.Steps < steps {
			if err := ctx.Err(); err != nil {
				f.st.Seconds += time.Since(start).Seconds()
				return err
			}
			k := f.st.Steps
			rows := f.perm[k*b : min((k+1)*b, f.nTrain)]
			nll := f.train.StepRows(rows, f.grad)
			if err := f.checkFinite(nll, e, k); err != nil {
				f.st.Seconds += time.Since(start).Seconds()
				return err
			}
			f.opt.Step(params, f.grad)
			f.st.TrainSum += nll * float64(len(rows))
			f.st.Steps++
			if f.OnStep != nil {
				if err := f.OnStep(e+1, f.st.Steps); err != nil {
					f.st.Seconds += time.Since(start).Seconds()
					return err
				}
			}
		}
		rec := Epoch{Epoch: e + 1, TrainNLL: f.st.TrainSum / float64(f.nTrain), ValNLL: math.NaN(), Steps: f.opt.T}
		if f.val != nil {
			rec.ValNLL = f.val.MeanNLL()
			if math.IsNaN(rec.ValNLL) {
				return fmt.Errorf("%w: validation NLL is NaN after epoch %d", ErrDiverged, e+1)
			}
			if rec.ValNLL < f.st.BestVal {
				rec.Best = true
				f.st.BestEpoch, f.st.BestVal = e+1, rec.ValNLL
				f.st.Best = append(f.st.Best[:0], params...)
			}
		}
		rec.Seconds = f.st.Seconds + time.Since(start).Seconds()
		f.st.Epochs, f.st.Steps, f.st.TrainSum, f.st.Seconds = e+1, 0, 0, 0
		if f.cfg.Patience > 0 && f.st.Epochs-f.st.BestEpoch >= f.cfg.Patience {
			f.st.Stopped = true
		}
		if f.OnEpoch != nil {
			if err := f.OnEpoch(rec); err != nil {
				return err
			}
		}
	}
	// Done (now, or already when resumed from a finished state): the best
	// epoch's parameters are the result. OnEpoch saw the last epoch's.
	if f.st.Best != nil {
		copy(params, f.st.Best)
	}
	return nil
}

// checkFinite refuses a non-finite NLL or gradient before it reaches the
// parameters.
func (f *Fitter) checkFinite(nll float64, e, k int) error {
	bad := math.IsNaN(nll) || math.IsInf(nll, 0)
	for _, g := range f.grad {
		bad = bad || math.IsNaN(g) || math.IsInf(g, 0)
	}
	if bad {
		return fmt.Errorf("%w at epoch %d, step %d (minibatch NLL %v): lower the learning rate", ErrDiverged, e+1, k+1, nll)
	}
	return nil
}

// SplitRows splits the rows 0..m-1 reproducibly into validation rows (a
// fraction frac of them, rounded to the nearest whole row) and training
// rows, both in increasing order. The validation rows are the first of a
// Fisher-Yates shuffle from PCG seeded by model.SampleRNG(seed, 0, -3).
// frac must be in [0, 1).
func SplitRows(m int, frac float64, seed uint64) (train, val []int) {
	k := int(math.Round(frac * float64(m)))
	perm := make([]int, m)
	for i := range perm {
		perm[i] = i
	}
	src := rand.NewPCG(0, 0)
	model.SampleRNG(src, seed, 0, -3)
	rand.New(src).Shuffle(m, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
	val = slices.Clone(perm[:k])
	train = slices.Clone(perm[k:])
	slices.Sort(val)
	slices.Sort(train)
	return train, val
}
