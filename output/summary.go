package output

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteSummary writes v as indented JSON (two spaces, a final newline) to
// path, atomically (see WriteFileAtomic). NaN and infinite floats cannot be
// written in JSON: marshal them yourself (e.g. as null) or the call fails
// and leaves any previous file in place. LoadRun reads the "label" and
// "arch" string fields of the top-level object to name the run.
func WriteSummary(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("summary %s: %w", path, err)
	}
	b = append(b, '\n')
	return WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

func dirOf(path string) string { return filepath.Dir(path) }

// ReadSummary decodes the summary.json of run directory dir into v.
func ReadSummary(dir string, v any) error {
	b, err := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", filepath.Join(dir, SummaryFile), err)
	}
	return nil
}
