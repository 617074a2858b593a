package output

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteSummary writes v as indented JSON (two spaces, a final newline) to
// path, atomically (see WriteFileAtomic), through MarshalJSON: NaN and
// infinite floats are written as null. LoadRun reads the "label" and
// "arch" string fields of the top-level object to name the run.
func WriteSummary(path string, v any) error {
	raw, err := MarshalJSON(v)
	if err != nil {
		return fmt.Errorf("summary %s: %w", path, err)
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return fmt.Errorf("summary %s: %w", path, err)
	}
	b := append(buf.Bytes(), '\n')
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
