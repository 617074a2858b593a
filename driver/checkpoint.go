package driver

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
)

// checkpointFile is the checkpoint's name in a run directory, and netFile
// that of the net as trained up to the last finished β.
const (
	checkpointFile = "checkpoint.h2arnn"
	netFile        = "net.h2arnn"
)

// runExtra is what the command line adds to a training checkpoint
// (grad.WriteCheckpoint's extra): the flags that define the run and how
// often it was resumed. The net, the trainer's position (schedule index,
// steps done, recent statistics, optimiser moments and step count; the
// random streams are a pure function of the train seed, the β index and the
// step, so the position fixes them) and the checksums are grad's and
// model's.
type runExtra struct {
	// Flags are the flags given on the original command line that define
	// the run (not runtimeFlags), with file paths made absolute.
	Flags map[string]string `json:"flags"`
	// Resumes counts how often the run was resumed.
	Resumes int `json:"resumes"`
}

// checkpoint is a run directory's checkpoint as the driver uses it.
type checkpoint struct {
	*grad.Checkpoint
	runExtra
}

// writeCheckpoint stores the run's position at path atomically: a failed
// or interrupted write leaves the previous checkpoint intact.
func writeCheckpoint(path string, net model.Net, st grad.State, extra runExtra) error {
	err := output.WriteFileAtomic(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<16)
		if err := grad.WriteCheckpoint(bw, net, st, extra); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("writing %s: %v", filepath.Base(path), err)
	}
	return nil
}

// loadCheckpoint reads DIR/checkpoint.h2arnn. Every problem is a usage
// error naming the directory (flag is the flag that named it).
func loadCheckpoint(flag, dir string) (*checkpoint, error) {
	path := filepath.Join(dir, checkpointFile)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		if _, derr := os.Stat(dir); derr != nil {
			return nil, usagef("%s %s: no such directory; give the directory of a 'h2arnn train' run", flag, dir)
		}
		if b, jerr := os.ReadFile(filepath.Join(dir, jsonCheckpointFile)); jerr == nil {
			var v struct {
				Kind string `json:"kind"`
			}
			if json.Unmarshal(b, &v) == nil && v.Kind != "" {
				return nil, usagef("%s %s: that is an 'h2arnn %s' run; give the directory of a 'h2arnn train' run", flag, dir, v.Kind)
			}
			return nil, usagef("%s %s: the run was written by an older h2arnn (%s, format 1), which this version does not read; start a new run", flag, dir, jsonCheckpointFile)
		}
		return nil, usagef("%s %s: no %s in it; give the directory of a 'h2arnn train' run", flag, dir, checkpointFile)
	}
	if err != nil {
		return nil, usagef("%s %s: cannot read %s (%v)", flag, dir, checkpointFile, err)
	}
	defer f.Close()
	gc, err := grad.ReadCheckpoint(bufio.NewReader(f))
	if err != nil {
		return nil, &usageError{msg: fmt.Sprintf("%s %s: %s is not a valid checkpoint (%v)", flag, dir, checkpointFile, err), err: err}
	}
	ck := &checkpoint{Checkpoint: gc}
	if err := json.Unmarshal(gc.Extra, &ck.runExtra); err != nil || ck.Flags == nil || ck.Flags["arch"] == "" {
		return nil, usagef("%s %s: %s lacks the run's configuration", flag, dir, checkpointFile)
	}
	return ck, nil
}

// pathFlags hold file names, which are saved and compared as absolute paths
// so that a run can be resumed from any working directory.
var pathFlags = map[string]bool{"couplings": true, "fields": true}

// savedFlags returns the flags given on the command line that define the
// run: every flag set except runtimeFlags, by name.
func savedFlags(fs *flagSet) map[string]string {
	out := map[string]string{}
	fs.Visit(func(f *flag.Flag) {
		if runtimeFlags[f.Name] {
			return
		}
		v := f.Value.String()
		if pathFlags[f.Name] && v != "" {
			v = absPath(v)
		}
		out[f.Name] = v
	})
	return out
}

// applySavedFlags sets the flags of a resumed run from the saved ones.
// Flags also given on the command line must agree with the saved value (or
// with the default, for flags the original run did not give); runtimeFlags
// may differ.
func applySavedFlags(fs *flagSet, saved map[string]string, dir string) error {
	var err error
	fs.Visit(func(f *flag.Flag) {
		if err != nil || runtimeFlags[f.Name] {
			if f.Name == "out" && err == nil && absPath(f.Value.String()) != absPath(dir) {
				err = usagef("-out %s with -resume %s: a resumed run continues in its own directory; drop -out", f.Value, dir)
			}
			return
		}
		want, ok := saved[f.Name]
		if !ok {
			want = f.DefValue
		}
		got := f.Value.String()
		if pathFlags[f.Name] && got != "" {
			got = absPath(got)
		}
		if got != want {
			shown := want
			if !ok {
				shown = want + ", the default"
			}
			err = usagef("-%s %s contradicts the configuration saved in %s (-%s %s); drop it to resume the run as it was", f.Name, f.Value, dir, f.Name, shown)
		}
	})
	if err != nil {
		return err
	}
	names := make([]string, 0, len(saved))
	for name := range saved {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if fs.Lookup(name) == nil || runtimeFlags[name] {
			return usagef("-resume %s: the checkpoint names a flag -%s that '%s' does not have; it was written by another subcommand or version", dir, name, fs.Name())
		}
		if err := fs.Set(name, saved[name]); err != nil {
			return usagef("-resume %s: the saved -%s %q does not parse (%v)", dir, name, saved[name], err)
		}
	}
	return nil
}
