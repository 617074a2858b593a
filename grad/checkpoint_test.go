package grad

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/h2arnn/h2arnn/model"
)

// ckConfig is a three-β protocol on a small SK instance, quick enough for
// -short, with an evaluation batch after every β.
func ckConfig() Config {
	cfg := DefaultConfig()
	cfg.Betas = []float64{0.5, 1.0, 1.5}
	cfg.InitSteps, cfg.MaxStep, cfg.Batch = 12, 9, 64
	cfg.StatsBatches, cfg.EvalSamples, cfg.Seed, cfg.Workers = 3, 100, 3, 2
	cfg.LR = 0.01
	return cfg
}

// TestCheckpointCancelResume stops training through its context at a point
// of the schedule, writes a checkpoint, reads it back into a fresh net and
// trainer (another worker count) and finishes the run: the result must be
// the uninterrupted run's, bit for bit. The stops are mid-β, after the last
// step of a β (its evaluation batch is then cancelled and redone), and
// right after a β.
func TestCheckpointCancelResume(t *testing.T) {
	m, _ := model.SherringtonKirkpatrick(8, 1, 0.1, 6)
	newNet := func() model.Net {
		net, err := model.NewNet("sk_1rsb", m, model.ArchOptions{Seed: 4})
		if err != nil {
			t.Fatal(err)
		}
		return net
	}
	ref := newNet()
	tr, _ := NewTrainer(ref, ckConfig())
	full, err := tr.Train(context.Background())
	tr.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, stop := range []struct {
		j, steps int
		betaEnd  bool
	}{{1, 4, false}, {1, 9, false}, {0, 12, true}} {
		net := newNet()
		tr, _ := NewTrainer(net, ckConfig())
		ctx, cancel := context.WithCancel(context.Background())
		tr.OnStep = func(j, steps int, st Stats) error {
			if !stop.betaEnd && j == stop.j && steps == stop.steps {
				cancel()
			}
			return nil
		}
		tr.OnBeta = func(r Result) error {
			if stop.betaEnd && r.Index == stop.j {
				cancel()
			}
			return nil
		}
		first, err := tr.Train(ctx)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("stop %+v: Train returned %v, want context.Canceled", stop, err)
		}
		var buf bytes.Buffer
		if err := WriteCheckpoint(&buf, net, tr.State(), map[string]any{"run": "test"}); err != nil {
			t.Fatal(err)
		}
		tr.Close()
		cancel()

		ck, err := ReadCheckpoint(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if string(ck.Extra) != `{"run":"test"}` || ck.State.BetaIndex != stop.j+boolInt(stop.betaEnd) {
			t.Errorf("stop %+v: extra %s, position %+v", stop, ck.Extra, ck.State)
		}
		resumed, err := ck.Net.Net(m)
		if err != nil {
			t.Fatal(err)
		}
		cfg := ckConfig()
		cfg.Workers = 3
		tr, _ = NewTrainer(resumed, cfg)
		if err := tr.SetState(ck.State); err != nil {
			t.Fatal(err)
		}
		rest, err := tr.Train(context.Background())
		tr.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(math64bits(resumed.Params()), math64bits(ref.Params())) {
			t.Errorf("stop %+v: the resumed run ends with other parameters", stop)
		}
		got := append(first, rest...)
		if len(got) != len(full) {
			t.Fatalf("stop %+v: %d results, want %d", stop, len(got), len(full))
		}
		for i := range full {
			if a, b := full[i], got[i]; a.Stats != b.Stats || a.Train != b.Train || a.Steps != b.Steps {
				t.Errorf("stop %+v, β index %d: uninterrupted %+v, resumed %+v", stop, i, a.Stats, b.Stats)
			}
		}
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestCheckpointDamaged: a checkpoint whose optimiser state was altered, or
// of another version, is refused with a *CheckpointError; a net file alone
// is not a checkpoint.
func TestCheckpointDamaged(t *testing.T) {
	m, _ := model.SherringtonKirkpatrick(5, 1, 0, 1)
	net, _ := model.NewNet("1l", m, model.ArchOptions{Seed: 1})
	tr, _ := NewTrainer(net, ckConfig())
	defer tr.Close()
	tr.OnStep = func(j, steps int, st Stats) error {
		if steps == 3 {
			return errors.New("stop")
		}
		return nil
	}
	tr.Train(context.Background())
	var buf bytes.Buffer
	if err := WriteCheckpoint(&buf, net, tr.State(), nil); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	if ck, err := ReadCheckpoint(bytes.NewReader(good)); err != nil || ck.State.StepsDone != 3 || ck.State.Opt.Steps != 3 ||
		len(ck.State.Opt.M) != len(net.Params()) || ck.Extra != nil {
		t.Fatalf("good checkpoint: %v %+v", err, ck)
	}
	bad := slices.Clone(good)
	bad[len(bad)-5] ^= 1 // in Adam's v
	if _, err := ReadCheckpoint(bytes.NewReader(bad)); !errors.As(err, new(*CheckpointError)) {
		t.Errorf("altered moment: %v, want a *CheckpointError", err)
	}
	var netOnly bytes.Buffer
	model.Save(&netOnly, net)
	if _, err := ReadCheckpoint(&netOnly); !errors.As(err, new(*CheckpointError)) {
		t.Errorf("a net file read as a checkpoint: %v", err)
	}
	// The net of a checkpoint is a net file: model.Load reads it directly.
	if got, err := model.Load(bytes.NewReader(good), m); err != nil || !slices.Equal(math64bits(got.Params()), math64bits(net.Params())) {
		t.Errorf("model.Load of a checkpoint: %v", err)
	}
	var sec checkpointSection
	_ = json.Unmarshal([]byte(`{}`), &sec)
	sec.Format, sec.Version = checkpointFormat, 1
	if err := sec.validate(); err == nil {
		t.Error("version 1 accepted")
	}
}

// TestResultSecondsCoverTraining: a β's Seconds is the wall time of its
// steps (callbacks included) and its evaluation, not the evaluation alone.
func TestResultSecondsCoverTraining(t *testing.T) {
	m := chain(5, 1)
	net := newLNet(m, 1, 0.1)
	cfg := chainConfig(0.8, 10)
	cfg.EvalSamples = 16
	tr, _ := NewTrainer(net, cfg)
	defer tr.Close()
	const nap = 3 * time.Millisecond
	tr.OnStep = func(j, steps int, st Stats) error {
		time.Sleep(nap)
		return nil
	}
	res, err := tr.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if min := float64(res[0].Steps) * nap.Seconds(); res[0].Steps != 10 || res[0].Seconds < min {
		t.Errorf("%d steps of at least %v each in %v s", res[0].Steps, nap, res[0].Seconds)
	}
	if math.IsNaN(res[0].Seconds) {
		t.Error("NaN seconds")
	}
}
