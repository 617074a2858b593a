package driver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/h2arnn/h2arnn/output"
)

// The run directories of mcmc and fit keep their state in a JSON
// checkpoint of their own kind (a "kind" field says whose it is), written
// and read by the two functions below; train's checkpoint has its own
// code in checkpoint.go.

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
	path := filepath.Join(dir, checkpointFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if _, derr := os.Stat(dir); derr != nil {
			return usagef("-resume %s: no such directory; give the run directory of an interrupted 'h2arnn %s'", dir, cmd)
		}
		return usagef("-resume %s: no %s in it; give the run directory of an interrupted 'h2arnn %s'", dir, checkpointFile, cmd)
	}
	if err != nil {
		return usagef("-resume %s: cannot read %s (%v)", dir, checkpointFile, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return usagef("-resume %s: %s is not a valid checkpoint (%v)", dir, checkpointFile, err)
	}
	return nil
}

// lockRunDir takes the exclusive lock of run directory dir for the whole
// run, so that two runs never write into one directory; a resumed run also
// clears the temporary files a killed one left. The lock is released by the
// returned function (or by the end of the process).
func lockRunDir(dir string, resume bool) (unlock func(), err error) {
	l, err := output.LockDir(dir)
	if errors.Is(err, output.ErrLocked) {
		return nil, usagef("-out %s: %v; wait for that run to end or give another directory", dir, err)
	}
	if err != nil {
		return nil, err
	}
	if resume {
		if _, err := output.RemoveStaleTemps(dir); err != nil {
			l.Unlock()
			return nil, err
		}
	}
	return func() { l.Unlock() }, nil
}
