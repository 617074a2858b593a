package driver

import (
	"errors"
	"fmt"
	"io"

	"github.com/h2arnn/h2arnn/model"
)

// savedRun is a train run read back from its directory, as sample -run and
// estimate -run use it.
type savedRun struct {
	// net is the checkpoint's net: the one at the end of the run, or where
	// it was interrupted; m its model, rebuilt from the run's flags.
	net  model.Net
	arch string
	m    *model.Hamiltonian
	// sched is the run's β schedule and seed its -train-seed.
	sched []float64
	seed  uint64
	// trained is the schedule index of the β at which the net's parameters
	// were trained (the last one trained, for a run interrupted in between
	// two β).
	trained int
	// inputs are the files the run's model was read from (none for cw and
	// sk), which no output may overwrite.
	inputs []string
}

// loadRun rebuilds the net of the train run in dir from its checkpoint: the
// flags saved in it define the model, the net is the checkpoint's (its
// model checked by hash). flagName names the flag that gave dir, for
// messages.
func loadRun(flagName, dir string) (*savedRun, error) {
	ck, err := loadCheckpoint(flagName, dir)
	if err != nil {
		return nil, err
	}
	fs, mf, tf, _ := newTrainFlagSet(io.Discard)
	if err := applySavedFlags(fs, ck.Flags, dir); err != nil {
		return nil, err
	}
	cfg, err := tf.config(fs)
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("%s %s: the run's saved configuration does not hold (%v)", flagName, dir, err), err: err}
	}
	m, err := mf.build(fs)
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("%s %s: the run's model cannot be rebuilt (%v)", flagName, dir, err), err: err}
	}
	net, err := ck.Net.Net(m)
	var mm *model.ModelMismatchError
	switch {
	case errors.As(err, &mm):
		return nil, &usageError{msg: fmt.Sprintf("%s %s: the model differs from the one the run was trained on (%v; a couplings or fields file changed?)", flagName, dir, mm), err: err}
	case err != nil:
		return nil, &usageError{msg: fmt.Sprintf("%s %s: %v", flagName, dir, err), err: err}
	}
	sched := cfg.Schedule()
	// The parameters belong to the β being trained, or, with no step
	// taken there yet (or the run complete), to the one before.
	trained := min(ck.State.BetaIndex, len(sched)-1)
	if ck.State.BetaIndex < len(sched) && ck.State.StepsDone == 0 && ck.State.BetaIndex > 0 {
		trained--
	}
	return &savedRun{net: net, arch: tf.arch, m: m, sched: sched, seed: tf.trainSeed, trained: trained, inputs: []string{mf.couplings, mf.hfile}}, nil
}
