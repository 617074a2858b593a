package driver

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
)

// checkpointFile is the checkpoint's name in a run directory.
const checkpointFile = "checkpoint.json"

// checkpointFormat is the version of the checkpoint layout.
const checkpointFormat = 1

// checkpoint is everything a resumed run needs to continue bit for bit: the
// flags that define the run, the trainer's position (schedule index, steps
// done, recent statistics, optimiser moments and step count; the random
// streams are a pure function of the train seed, the β index and the step,
// so the position fixes them) and the parameters.
//
// It is JSON: encoding/json writes every float64 in the shortest form that
// parses back to the same bits, so the encoding is exact, and training
// stops before any non-finite number could reach it.
type checkpoint struct {
	Format int    `json:"format"`
	Arch   string `json:"arch"`
	N      int    `json:"n"`
	// ModelSHA256 fingerprints the couplings and fields (see modelHash), so
	// that a changed couplings file is caught on resume.
	ModelSHA256 string `json:"model_sha256"`
	// Flags are the flags given on the original command line that define
	// the run (not runtimeFlags), with file paths made absolute.
	Flags map[string]string `json:"flags"`
	// Resumes counts how often the run was resumed.
	Resumes int        `json:"resumes"`
	State   grad.State `json:"state"`
	Params  []float64  `json:"params"`
}

// writeCheckpoint stores ck at path atomically: a failed or interrupted
// write leaves the previous checkpoint intact.
func writeCheckpoint(path string, ck *checkpoint) error {
	b, err := json.Marshal(ck)
	if err != nil {
		return fmt.Errorf("writing %s: %v", filepath.Base(path), err)
	}
	err = output.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
	if err != nil {
		return fmt.Errorf("writing %s: %v", filepath.Base(path), err)
	}
	return nil
}

// loadCheckpoint reads DIR/checkpoint.json. Every problem is a usage error
// naming the flag that gave the directory (e.g. "-resume") and the
// directory.
func loadCheckpoint(flagName, dir string) (*checkpoint, error) {
	path := filepath.Join(dir, checkpointFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if _, derr := os.Stat(dir); derr != nil {
			return nil, usagef("%s %s: no such directory; give a run directory written by 'h2arnn train'", flagName, dir)
		}
		return nil, usagef("%s %s: no %s in it; give a run directory written by 'h2arnn train'", flagName, dir, checkpointFile)
	}
	if err != nil {
		return nil, usagef("%s %s: cannot read %s (%v)", flagName, dir, checkpointFile, err)
	}
	var ck checkpoint
	if err := json.Unmarshal(b, &ck); err != nil {
		return nil, usagef("%s %s: %s is not a valid checkpoint (%v)", flagName, dir, checkpointFile, err)
	}
	if ck.Format != checkpointFormat {
		return nil, usagef("%s %s: %s has format %d, this version reads format %d", flagName, dir, checkpointFile, ck.Format, checkpointFormat)
	}
	if ck.Flags == nil || ck.Arch == "" {
		return nil, usagef("%s %s: %s lacks the run's configuration", flagName, dir, checkpointFile)
	}
	for _, p := range ck.Params {
		if math.IsNaN(p) || math.IsInf(p, 0) {
			return nil, usagef("%s %s: %s holds non-finite parameters", flagName, dir, checkpointFile)
		}
	}
	return &ck, nil
}

// restore checks that the checkpoint belongs to net, built as -arch arch
// (its model's hash mhash, the architecture and the parameter count), and
// copies its parameters into net. what names the run for messages, e.g.
// "-resume DIR".
func (ck *checkpoint) restore(net model.Net, arch, mhash, what string) error {
	if ck.ModelSHA256 != mhash {
		return usagef("%s: the model differs from the one the run was trained on (a couplings or fields file changed?); restore it or start a new run", what)
	}
	if len(ck.Params) != len(net.Params()) || ck.Arch != arch {
		return usagef("%s: the checkpoint holds %d parameters of %s, the net %s has %d; the checkpoint does not belong to this configuration", what, len(ck.Params), ck.Arch, arch, len(net.Params()))
	}
	copy(net.Params(), ck.Params)
	return nil
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

// modelHash is the SHA-256 of N, the couplings and the fields as
// little-endian float64 bits.
func modelHash(m *model.Hamiltonian) string {
	h := sha256.New()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(m.N))
	h.Write(b[:])
	for _, vs := range [][]float64{m.J, m.H} {
		for _, v := range vs {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
			h.Write(b[:])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
