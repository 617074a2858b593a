package grad

import (
	"bytes"
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn/model"
)

// validCheckpoint trains a small net for a few steps of its second β and
// returns the net and the trainer's state there.
func validCheckpoint(t testing.TB) (model.Net, State) {
	t.Helper()
	m, _ := model.SherringtonKirkpatrick(5, 1, 0, 1)
	net, _ := model.NewNet("1l", m, model.ArchOptions{Seed: 1})
	tr, err := NewTrainer(net, ckConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	tr.OnStep = func(j, steps int, st Stats) error {
		if j == 1 && steps == 3 {
			return errors.New("stop")
		}
		return nil
	}
	tr.Train(context.Background())
	st := tr.State()
	if st.BetaIndex != 1 || st.StepsDone != 3 || len(st.Recent) == 0 {
		t.Fatalf("state %+v", st)
	}
	return net, st
}

// TestCheckpointValuesValidated: a checkpoint whose trainer state was edited
// to values no trainer produces, its checksums made to match, is refused by
// ReadCheckpoint with a *CheckpointError naming the value; one field edited
// at a time.
func TestCheckpointValuesValidated(t *testing.T) {
	net, good := validCheckpoint(t)
	write := func(st State) []byte {
		var buf bytes.Buffer
		if err := WriteCheckpoint(&buf, net, st, nil); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	if _, err := ReadCheckpoint(bytes.NewReader(write(good))); err != nil {
		t.Fatalf("the unedited checkpoint: %v", err)
	}
	nan, inf := math.NaN(), math.Inf(1)
	for _, c := range []struct {
		name string
		edit func(*State)
		want string
	}{
		{"beta-index", func(s *State) { s.BetaIndex = -1 }, "β index"},
		{"steps-done", func(s *State) { s.StepsDone = -1 }, "steps done"},
		{"optimiser-steps-negative", func(s *State) { s.Opt.Steps = -1 }, "optimiser has taken"},
		{"optimiser-steps-below-position", func(s *State) { s.Opt.Steps = int64(s.StepsDone) - 1 }, "optimiser has taken"},
		{"beta-negative", func(s *State) { s.Beta = -1 }, "β -1 < 0"},
		{"seconds", func(s *State) { s.Seconds = -1 }, "seconds"},
		{"early-stop", func(s *State) { s.EarlyStop, s.Stopped = true, false }, "stopped early"},
		{"lr-zero", func(s *State) { s.Opt.LR = 0 }, "learning rate"},
		{"lr-negative", func(s *State) { s.Opt.LR = -1e-3 }, "learning rate"},
		{"beta1-two", func(s *State) { s.Opt.Beta1 = 2 }, "β₁"},
		{"beta1-one", func(s *State) { s.Opt.Beta1 = 1 }, "β₁"},
		{"beta1-negative", func(s *State) { s.Opt.Beta1 = -0.1 }, "β₁"},
		{"beta2-one", func(s *State) { s.Opt.Beta2 = 1 }, "β₂"},
		{"eps-zero", func(s *State) { s.Opt.Eps = 0 }, "ε"},
		{"kind", func(s *State) { s.Opt.Kind = "rmsprop" }, "rmsprop"},
		{"adam-one-moment", func(s *State) { s.Opt.V = nil }, "moment vectors"},
		{"first-moment", func(s *State) { s.Opt.M[2] = nan }, "first moment 2"},
		{"first-moment-inf", func(s *State) { s.Opt.M[0] = -inf }, "first moment 0"},
		{"second-moment-negative", func(s *State) { s.Opt.V[1] = -1e-9 }, "second moment 1"},
		{"second-moment-inf", func(s *State) { s.Opt.V[0] = inf }, "second moment 0"},
		{"sgd-two-moments", func(s *State) { s.Opt.Kind, s.Opt.Momentum = "sgd", 0.9 }, "moment vectors"},
		{"sgd-momentum", func(s *State) { s.Opt.Kind, s.Opt.V, s.Opt.Momentum = "sgd", nil, -1 }, "momentum"},
	} {
		st := good
		st.Opt.M = append([]float64(nil), good.Opt.M...)
		st.Opt.V = append([]float64(nil), good.Opt.V...)
		c.edit(&st)
		_, err := ReadCheckpoint(bytes.NewReader(write(st)))
		var ce *CheckpointError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want a *CheckpointError with %q", c.name, err, c.want)
		}
	}
	// Values at the edges of their ranges are fine: an SGD state without
	// momentum (no moment vector), one with momentum and its one moment
	// vector, β₁ = β₂ = 0, a complete run (β 0 past the schedule).
	for _, edit := range []func(*State){
		func(s *State) { s.Opt = NewSGD(len(net.Params()), 0.1, 0).State(); s.Opt.Steps = good.Opt.Steps },
		func(s *State) { s.Opt.Kind, s.Opt.Momentum, s.Opt.V = "sgd", 0.9, nil },
		func(s *State) { s.Opt.Beta1, s.Opt.Beta2 = 0, 0 },
		func(s *State) { *s = State{BetaIndex: 3, Opt: s.Opt} },
	} {
		st := good
		edit(&st)
		if _, err := ReadCheckpoint(bytes.NewReader(write(st))); err != nil {
			t.Errorf("a valid state refused: %v", err)
		}
	}
}
