package grad

import (
	"encoding/json"
	"fmt"
	"io"
	"math"

	"github.com/h2arnn/h2arnn/internal/fmath"

	"github.com/h2arnn/h2arnn/internal/netfile"
	"github.com/h2arnn/h2arnn/model"
)

// Checkpoint file format: a checkpoint is a saved net (model.Save: header
// and parameters) followed by
//
//  3. a 1-D uint8 array holding a JSON object (checkpointSection): the
//     format name and version, the trainer's State without the optimiser's
//     moment vectors, the number of moment vectors that follow and their
//     SHA-256, and the caller's own JSON (Extra);
//  4. the optimiser's moment vectors (Adam's m and v; SGD's momentum buffer,
//     if any), each a 1-D little-endian float64 array of len(Params()).
//
// Since it begins with a net file, model.Load and model.ReadNet read the
// net of a checkpoint directly (numpy too: the first two numpy.load calls).
const (
	checkpointFormat  = "h2arnn checkpoint"
	checkpointVersion = 2 // version 1 was the JSON checkpoint.json of the command line
)

// checkpointSection is the JSON of part 3.
type checkpointSection struct {
	Format  string `json:"format"`
	Version int    `json:"version"`
	// State is the trainer's position; State.Opt.M and .V are the arrays
	// that follow (Moments of them, in that order), not in the JSON.
	State         State           `json:"state"`
	Moments       int             `json:"moments"`
	MomentsSHA256 string          `json:"moments_sha256"`
	Extra         json.RawMessage `json:"extra,omitempty"`
}

// Checkpoint is a training position read back by ReadCheckpoint: the net,
// the trainer's State and the caller's own data.
type Checkpoint struct {
	// Net is the saved net; Net.Net(m) rebuilds it on its model.
	Net *model.SavedNet
	// State is the trainer's position (Trainer.SetState takes it).
	State State
	// Extra is the caller's JSON given to WriteCheckpoint (nil if none).
	Extra json.RawMessage
}

// WriteCheckpoint writes everything a training run needs to continue bit
// for bit: net (model.Save), the trainer's position st (Trainer.State) and
// extra, the caller's own data (marshalled with encoding/json; nil for
// none), such as the settings that define the run. Write it atomically
// (temporary file and rename) so that a crash keeps the previous one.
func WriteCheckpoint(w io.Writer, net model.Net, st State, extra any) error {
	if err := model.Save(w, net); err != nil {
		return err
	}
	sec := checkpointSection{Format: checkpointFormat, Version: checkpointVersion, State: st}
	var moments [][]float64
	for _, v := range [][]float64{st.Opt.M, st.Opt.V} {
		if v != nil {
			moments = append(moments, v)
		}
	}
	sec.State.Opt.M, sec.State.Opt.V = nil, nil
	sec.Moments = len(moments)
	sec.MomentsSHA256 = netfile.Checksum(moments...)
	if extra != nil {
		b, err := json.Marshal(extra)
		if err != nil {
			return fmt.Errorf("grad: checkpoint: %w", err)
		}
		sec.Extra = b
	}
	if err := netfile.WriteJSON(w, sec); err != nil {
		return fmt.Errorf("grad: checkpoint: %w", err)
	}
	for _, v := range moments {
		if err := netfile.WriteFloats(w, v); err != nil {
			return fmt.Errorf("grad: checkpoint: %w", err)
		}
	}
	return nil
}

// A CheckpointError is a checkpoint that cannot be read: not a checkpoint,
// truncated, of another format version, or damaged (a checksum that does
// not match). Problems with the net at its start are *model.NetFileError.
type CheckpointError struct {
	Reason string
	Err    error
}

func (e *CheckpointError) Error() string {
	if e.Err != nil {
		return "grad: checkpoint: " + e.Reason + ": " + e.Err.Error()
	}
	return "grad: checkpoint: " + e.Reason
}

func (e *CheckpointError) Unwrap() error { return e.Err }

// ReadCheckpoint reads a checkpoint written by WriteCheckpoint from r. It
// needs no model: rebuild the net with Checkpoint.Net.Net(m), which checks
// that m is the model the net was trained on, and restore the position with
// Trainer.SetState.
func ReadCheckpoint(r io.Reader) (*Checkpoint, error) {
	sn, err := model.ReadNet(r)
	if err != nil {
		return nil, err
	}
	var sec checkpointSection
	if err := netfile.ReadJSON(r, &sec, "trainer section"); err != nil {
		return nil, &CheckpointError{Reason: "a net file without a readable trainer section", Err: err}
	}
	if err := sec.validate(); err != nil {
		return nil, err
	}
	p := len(sn.Params)
	moments := make([][]float64, sec.Moments)
	for k := range moments {
		if moments[k], err = netfile.ReadFloats(r, p, "optimiser state"); err != nil {
			return nil, &CheckpointError{Reason: "truncated or damaged optimiser state", Err: err}
		}
	}
	if sum := netfile.Checksum(moments...); sum != sec.MomentsSHA256 {
		return nil, &CheckpointError{Reason: "the optimiser state does not match its checksum: the file is damaged"}
	}
	st := sec.State
	if len(moments) > 0 {
		st.Opt.M = moments[0]
	}
	if len(moments) > 1 {
		st.Opt.V = moments[1]
	}
	if err := validateState(&st, len(moments)); err != nil {
		return nil, err
	}
	return &Checkpoint{Net: sn, State: st, Extra: sec.Extra}, nil
}

// validateState checks the values of a checkpoint's State that hold for
// any configuration, so that an edited or damaged checkpoint whose
// checksums were made to match is refused rather than trained on: counters
// ≥ 0 (the optimiser's at least the steps done at the current β), β and
// seconds ≥ 0, the optimiser's hyper-parameters in their ranges (learning
// rate > 0; Adam: β₁, β₂ in [0, 1), ε > 0; SGD: momentum ≥ 0) and its
// moment vectors finite, as many as its kind keeps (Adam's second moment
// ≥ 0). The JSON section cannot hold NaN or infinities (encoding/json
// refuses them); the moment vectors can. What depends on the configuration
// (the β of the schedule, the step budget, the learning rate given) is the
// caller's to check (Trainer.SetState does part of it).
func validateState(st *State, moments int) error {
	bad := func(format string, a ...any) error {
		return &CheckpointError{Reason: "invalid trainer state: " + fmt.Sprintf(format, a...)}
	}
	o := &st.Opt
	switch {
	case st.BetaIndex < 0:
		return bad("β index %d < 0", st.BetaIndex)
	case st.StepsDone < 0:
		return bad("%d steps done < 0", st.StepsDone)
	case o.Steps < int64(st.StepsDone):
		return bad("the optimiser has taken %d steps, fewer than the %d done at this β", o.Steps, st.StepsDone)
	case st.Beta < 0:
		return bad("β %v < 0", st.Beta)
	case st.Seconds < 0:
		return bad("seconds %v < 0", st.Seconds)
	case st.EarlyStop && !st.Stopped:
		return bad("stopped early but not stopped")
	case o.LR <= 0:
		return bad("learning rate %v is not > 0", o.LR)
	}
	switch o.Kind {
	case "adam":
		switch {
		case o.Beta1 < 0 || o.Beta1 >= 1:
			return bad("Adam β₁ %v is not in [0, 1)", o.Beta1)
		case o.Beta2 < 0 || o.Beta2 >= 1:
			return bad("Adam β₂ %v is not in [0, 1)", o.Beta2)
		case o.Eps <= 0:
			return bad("Adam ε %v is not > 0", o.Eps)
		case moments != 2:
			return bad("Adam state with %d moment vectors, not 2", moments)
		}
	case "sgd":
		switch {
		case o.Momentum < 0:
			return bad("SGD momentum %v < 0", o.Momentum)
		case moments > 1:
			return bad("SGD state with %d moment vectors, not 0 or 1", moments)
		}
	default:
		return bad("optimiser %q; want adam or sgd", o.Kind)
	}
	for i, x := range o.M {
		if !fmath.Finite(x) {
			return bad("the optimiser's first moment %d is %v", i, x)
		}
	}
	for i, x := range o.V {
		if !(x >= 0) || math.IsInf(x, 0) {
			return bad("Adam's second moment %d is %v, not a finite number ≥ 0", i, x)
		}
	}
	return nil
}

// validate checks the trainer section's values before the arrays are read.
// (The position itself is checked against the configuration by
// Trainer.SetState.)
func (s *checkpointSection) validate() error {
	switch {
	case s.Format != checkpointFormat:
		return &CheckpointError{Reason: fmt.Sprintf("format %q, want %q: a net file, not a checkpoint", s.Format, checkpointFormat)}
	case s.Version != checkpointVersion:
		return &CheckpointError{Reason: fmt.Sprintf("format version %d; this version of h2arnn reads version %d", s.Version, checkpointVersion)}
	case s.Moments < 0 || s.Moments > 2:
		return &CheckpointError{Reason: fmt.Sprintf("%d optimiser moment vectors; an optimiser has at most 2", s.Moments)}
	}
	return nil
}
