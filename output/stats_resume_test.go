package output

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestResumeStatsWithoutFinalNewline: a stats file whose last row, counted
// by the checkpoint, lost its final newline (an editor, a tool) is resumed:
// the row is kept, the newline added, and the next row goes on a line of its
// own. A last row that lacks fields is not a row and is refused, the file
// left as it was.
func TestResumeStatsWithoutFinalNewline(t *testing.T) {
	layout := StatsLayout{Exact: true, Estimate: true}
	path := filepath.Join(t.TempDir(), StatsFile)
	w, err := CreateStats(path, layout)
	if err != nil {
		t.Fatal(err)
	}
	rows := testRows()
	for _, r := range rows {
		w.Write(r)
	}
	w.Close()
	full, _ := os.ReadFile(path)
	stripped := bytes.TrimSuffix(full, []byte("\n"))
	cut := stripped[:bytes.LastIndexByte(stripped, ',')] // the last field gone
	empty := stripped[:bytes.LastIndexByte(stripped, ',')+1]
	for _, bad := range [][]byte{cut, empty} {
		os.WriteFile(path, bad, 0o644)
		if _, _, err := ResumeStats(path, layout, len(rows)); err == nil || !strings.Contains(err.Error(), "only 2 rows") {
			t.Errorf("a last row without all its fields: %v", err)
		}
		assertFile(t, path, string(bad))
	}
	os.WriteFile(path, stripped, 0o644)
	w, kept, err := ResumeStats(path, layout, len(rows))
	if err != nil || len(kept) != len(rows) || !sameRow(kept[2], rows[2]) {
		t.Fatalf("resume without the final newline: %v, %d rows", err, len(kept))
	}
	assertFile(t, path, string(full))
	if err := w.Write(rows[0]); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, _, err := ReadStats(path)
	if err != nil || len(got) != 4 || !sameRow(got[3], rows[0]) {
		t.Errorf("after appending: %v, %d rows", err, len(got))
	}
}

// TestResumeStatsNoRowKept: a run interrupted before its first β finished
// (its checkpoint counts no row) resumes with the header alone, the rows
// written after the checkpoint dropped; a negative count is refused, the
// file left as it was.
func TestResumeStatsNoRowKept(t *testing.T) {
	layout := StatsLayout{Estimate: true}
	path := filepath.Join(t.TempDir(), StatsFile)
	w, err := CreateStats(path, layout)
	if err != nil {
		t.Fatal(err)
	}
	rows := testRows()
	w.Write(rows[0])
	w.Close()
	full, _ := os.ReadFile(path)
	if _, _, err := ResumeStats(path, layout, -1); err == nil || !strings.Contains(err.Error(), "negative row count -1") {
		t.Errorf("keep -1: %v", err)
	}
	assertFile(t, path, string(full))
	w, kept, err := ResumeStats(path, layout, 0)
	if err != nil || len(kept) != 0 {
		t.Fatalf("keep 0: %v, %d rows", err, len(kept))
	}
	assertFile(t, path, string(full[:bytes.IndexByte(full, '\n')+1]))
	if err := w.Write(rows[1]); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if got, _, err := ReadStats(path); err != nil || len(got) != 1 || !sameRow(got[0], rows[1]) {
		t.Errorf("after appending: %v, %+v", err, got)
	}
}
