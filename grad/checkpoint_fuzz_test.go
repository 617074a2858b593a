package grad

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/h2arnn/h2arnn/model"
)

// FuzzReadCheckpoint feeds arbitrary bytes to ReadCheckpoint (the seed
// corpus in testdata/fuzz holds valid checkpoints of a 1l net on SK N=5,
// and damaged ones). It must never panic; it either refuses with a
// *CheckpointError or *model.NetFileError, or returns a checkpoint whose
// state passes validateState and that survives a write and a second read
// unchanged, bit for bit.
func FuzzReadCheckpoint(f *testing.F) {
	net, st := validCheckpoint(f)
	var buf bytes.Buffer
	if err := WriteCheckpoint(&buf, net, st, map[string]string{"run": "fuzz"}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	m, _ := model.SherringtonKirkpatrick(5, 1, 0, 1)
	f.Fuzz(func(t *testing.T, b []byte) {
		ck, err := ReadCheckpoint(bytes.NewReader(b))
		if err != nil {
			if !errors.As(err, new(*CheckpointError)) && !errors.As(err, new(*model.NetFileError)) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if err := validateState(&ck.State, momentCount(ck.State.Opt)); err != nil {
			t.Fatalf("accepted an invalid state: %v", err)
		}
		n, err := ck.Net.Net(m)
		if err != nil {
			return // a valid net of another model or architecture
		}
		var out bytes.Buffer
		if err := WriteCheckpoint(&out, n, ck.State, ck.Extra); err != nil {
			t.Fatalf("rewriting an accepted checkpoint: %v", err)
		}
		again, err := ReadCheckpoint(&out)
		if err != nil {
			t.Fatalf("reading a rewritten checkpoint: %v", err)
		}
		if !reflect.DeepEqual(again.State, ck.State) || !slices.Equal(math64bits(again.Net.Params), math64bits(ck.Net.Params)) {
			t.Fatalf("the checkpoint changed in a write and a read:\n%+v\n%+v", ck.State, again.State)
		}
	})
}

// momentCount is the number of moment vectors WriteCheckpoint stores for o.
func momentCount(o OptimizerState) int {
	n := 0
	for _, v := range [][]float64{o.M, o.V} {
		if v != nil {
			n++
		}
	}
	return n
}
