package driver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
)

// The run directories of mcmc and fit keep their state in a JSON
// checkpoint of their own kind (a "kind" field says whose it is), written
// and read by the two functions below; train's checkpoint is a net file
// with the trainer's state (checkpoint.go).
const (
	jsonCheckpointFile   = "checkpoint.json"
	jsonCheckpointFormat = 1
)

// writeRunCheckpoint stores v as JSON at path atomically: a failed or
// interrupted write leaves the previous checkpoint intact.
func writeRunCheckpoint(path string, v any) error {
	b, err := json.Marshal(v)
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

// readRunCheckpoint decodes DIR/checkpoint.json into v for the -resume of
// subcommand cmd. Every problem is a usage error naming the directory.
func readRunCheckpoint(dir, cmd string, v any) error {
	path := filepath.Join(dir, jsonCheckpointFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if _, derr := os.Stat(dir); derr != nil {
			return usagef("-resume %s: no such directory; give the run directory of an interrupted 'h2arnn %s'", dir, cmd)
		}
		return usagef("-resume %s: no %s in it; give the run directory of an interrupted 'h2arnn %s'", dir, jsonCheckpointFile, cmd)
	}
	if err != nil {
		return usagef("-resume %s: cannot read %s (%v)", dir, jsonCheckpointFile, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return usagef("-resume %s: %s is not a valid checkpoint (%v)", dir, jsonCheckpointFile, err)
	}
	return nil
}

// prepareRunDir readies the run directory *out of a run of subcommand cmd
// (default runs/<date>-<time>-<name>-n<N> when empty): a new run must be
// allowed to write there (checkNewRunDir, with -force as force; checked
// before anything is written and again under the lock); the directory is
// created, checked for writing and locked for the whole run (see
// lockRunDir).
func prepareRunDir(out *string, cmd, name string, n int, resume, force bool) (unlock func(), err error) {
	if *out == "" {
		*out = defaultRunDir(name, n, time.Now())
	}
	if !resume {
		if err := checkNewRunDir(*out, cmd, force); err != nil {
			return nil, err
		}
	}
	if err := output.CheckWritable(*out); err != nil {
		return nil, usagef("-out %s: %v; give a writable directory", *out, err)
	}
	flag := "-out"
	if resume {
		flag = "-resume"
	}
	// Temporary files a killed run left go, unless -force let the run into
	// a directory of other files, which are not for us to judge.
	if unlock, err = lockRunDir(flag, *out, resume || !force); err != nil {
		return nil, err
	}
	if !resume {
		// Again under the lock: a run that started and ended since the
		// first look has left its files.
		if err := checkNewRunDir(*out, cmd, force); err != nil {
			unlock()
			return nil, err
		}
	}
	return unlock, nil
}

// lockRunDir takes the exclusive lock of run directory dir (named by the
// flag flagName) for the whole run, so that two runs never write into one
// directory; with clean it also removes the temporary files a killed run
// left (output.RemoveStaleTemps). The lock is released by the returned
// function (or by the end of the process).
func lockRunDir(flagName, dir string, clean bool) (unlock func(), err error) {
	l, err := output.LockDir(dir)
	if errors.Is(err, output.ErrLocked) {
		return nil, usagef("%s %s: %v; wait for that run to end or give another directory", flagName, dir, err)
	}
	if err != nil {
		return nil, err
	}
	if clean {
		if _, err := output.RemoveStaleTemps(dir); err != nil {
			l.Unlock()
			return nil, err
		}
	}
	return func() { l.Unlock() }, nil
}

// runSummary holds what the summary.json of an mcmc or fit run says about
// the run itself; the subcommand adds its protocol and results.
type runSummary struct {
	kind    string
	fs      *flagSet
	started time.Time
	resumes int
	workers int
}

// fields returns the shared fields: kind, status, times, resumes, the
// flags given and all of them, versions and the number of workers.
func (s runSummary) fields(status string) map[string]any {
	workers := s.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	v := buildVersion()
	return map[string]any{
		"kind": s.kind, "status": status, "started": s.started.UTC().Format(time.RFC3339),
		"updated": time.Now().UTC().Format(time.RFC3339), "resumes": s.resumes,
		"flags": savedFlags(s.fs), "config": allFlags(s.fs),
		"module": v.Module, "module_version": v.Version, "go": v.Go, "os": v.OS, "cpu_arch": v.Arch,
		"kernels": v.Kernels, "workers": workers,
	}
}

// modelSource describes a model for a summary: its kind and source, N, the
// fingerprint and the absolute paths of its files.
func modelSource(m *model.Hamiltonian, mf *modelFlags, sha string) map[string]any {
	src := map[string]any{"kind": m.Kind, "source": m.Source, "n": m.N, "sha256": sha}
	if mf.couplings != "" {
		src["couplings"] = absPath(mf.couplings)
	}
	if mf.hfile != "" {
		src["fields"] = absPath(mf.hfile)
	}
	return src
}

// writeSummaryFile writes sum (with "error": msg unless msg is empty) to
// dir/summary.json.
func writeSummaryFile(dir string, sum map[string]any, msg string) error {
	if msg != "" {
		sum["error"] = msg
	}
	if err := output.WriteSummary(filepath.Join(dir, output.SummaryFile), sum); err != nil {
		return fmt.Errorf("writing %s: %v", output.SummaryFile, err)
	}
	return nil
}

// checkNewRunDir makes sure that a new run of subcommand cmd may write into
// dir, the directory its -out names. "A run of ours" is a directory holding
// the checkpoint of an h2arnn run: checkpoint.h2arnn (train) or
// checkpoint.json (mcmc, fit; its "kind" says which). The directory is free
// if it does not exist or holds nothing but the lock file and temporary
// files a killed run left (output.DirContents). A directory holding a run
// is refused, also with force: continue it with -resume, or remove it
// yourself. A directory holding anything else is refused unless force, so
// that a user's own stats.csv, summary.json or samples.npy are never
// replaced unasked. It writes nothing.
func checkNewRunDir(dir, cmd string, force bool) error {
	names, err := output.DirContents(dir)
	if err != nil {
		return usagef("-out %s: %v; give a new or empty directory", dir, err)
	}
	if len(names) == 0 {
		return nil
	}
	kind, file := runKind(dir)
	if kind != "" {
		if err := checkNotRunning(dir); err != nil {
			return err
		}
	}
	switch {
	case kind == cmd && runComplete(dir):
		return usagef("-out %s already holds a run, complete (nothing to resume); give another -out", dir)
	case kind == cmd:
		return usagef("-out %s already holds a run (%s); continue it with -resume %s or give another -out", dir, file, dir)
	case kind != "":
		return usagef("-out %s already holds a run that is not an 'h2arnn %s' one (its %s is of kind %s); give another -out", dir, cmd, file, kind)
	}
	if force {
		return nil
	}
	shown := names
	if len(shown) > 3 {
		shown = append(shown[:3:3], "…")
	}
	return usagef("-out %s is not empty (%s) and holds no h2arnn run; give a new or empty directory, or -force to write the run's files into it, replacing files of the same names", dir, strings.Join(shown, ", "))
}

// checkNotRunning says who holds the lock of run directory dir, if a live
// process does: the run there is going on. It writes nothing into a
// directory without a lock file.
func checkNotRunning(dir string) error {
	if _, err := os.Stat(filepath.Join(dir, output.LockFile)); err != nil {
		return nil
	}
	l, err := output.LockDir(dir)
	if errors.Is(err, output.ErrLocked) {
		return usagef("-out %s: %v; wait for that run to end or give another directory", dir, err)
	}
	if err == nil {
		l.Unlock()
	}
	return nil
}

// runKind says whose run directory dir is: "train" if it holds
// checkpoint.h2arnn, the "kind" of its checkpoint.json ("mcmc", "fit";
// "unknown" if it cannot be read or names none), or "" if it holds neither;
// file is the checkpoint's name.
func runKind(dir string) (kind, file string) {
	if _, err := os.Stat(filepath.Join(dir, checkpointFile)); err == nil {
		return "train", checkpointFile
	}
	b, err := os.ReadFile(filepath.Join(dir, jsonCheckpointFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", ""
		}
		return "unknown", jsonCheckpointFile
	}
	var v struct {
		Kind string `json:"kind"`
	}
	if json.Unmarshal(b, &v) != nil || v.Kind == "" {
		return "unknown", jsonCheckpointFile
	}
	return v.Kind, jsonCheckpointFile
}
