package driver

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// wellFormedSVG fails unless path is well-formed XML without a NaN or
// infinite coordinate.
func wellFormedSVG(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for d := xml.NewDecoder(bytes.NewReader(b)); ; {
		if _, err := d.Token(); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}
	if bytes.Contains(b, []byte("NaN")) || bytes.Contains(b, []byte("Inf")) {
		t.Errorf("%s has a NaN or infinite coordinate", path)
	}
}

// TestTrainPlotsOneHugeBeta (issue 16 item 13): a schedule of one β of
// 1e16 (where gonum lost the axis to rounding: NaN coordinates, formerly a
// panic) and a label with a control character, invalid UTF-8 and XML
// specials give a complete run with well-formed figures.
func TestTrainPlotsOneHugeBeta(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	st, _, errs := runCLI("train", "-model", "cw", "-n", "6", "-arch", "1p", "-beta-range", "1e16,1e16,1",
		"-init-steps", "5", "-max-step", "5", "-batch", "50", "-eval-samples", "50", "-quiet", "-out", dir, "-label", "a\x01<b>&\xff")
	if st != 0 || errs != "" {
		t.Fatalf("status %d, stderr %q", st, errs)
	}
	var sum struct{ Status string }
	if b, err := os.ReadFile(filepath.Join(dir, "summary.json")); err != nil || json.Unmarshal(b, &sum) != nil || sum.Status != "complete" {
		t.Errorf("summary.json: %v, status %q", err, sum.Status)
	}
	wellFormedSVG(t, filepath.Join(dir, "free_energy.svg"))
	wellFormedSVG(t, filepath.Join(dir, "overlaps.svg"))
}

// TestPlotSaysWhatItSkips (item 13): 'plot' on a stats.csv with non-finite
// and repeated rows draws the rest, says once per run and kind what it
// left out, and exits 0; a file with nothing drawable is refused with one
// line and status 2, writing nothing.
func TestPlotSaysWhatItSkips(t *testing.T) {
	run := filepath.Join(t.TempDir(), "run")
	os.Mkdir(run, 0o755)
	writeTemp(t, run, "stats.csv", "beta,f,f_std\n0.5,-1.5,0.1\n1,nan,0.1\n1.5,-1,0.1\n1.5,-1.1,0.1\ninf,-1,0.1\n2,-inf,0.1\n")
	writeTemp(t, run, "summary.json", `{"label":"mine"}`)
	prefix := filepath.Join(t.TempDir(), "fig")
	st, out, errs := runCLI("plot", "-out", prefix, run)
	if st != 0 {
		t.Fatalf("status %d, stderr %q", st, errs)
	}
	want := "h2arnn plot: run \"mine\": 3 rows with a non-finite β or f not drawn\n" +
		"h2arnn plot: run \"mine\": 1 row repeating an earlier β not drawn (the last row of each β is)\n"
	if errs != want {
		t.Errorf("stderr\n%s\nwant\n%s", errs, want)
	}
	if !strings.Contains(out, `"files":["`+prefix+`_free_energy.png","`+prefix+`_free_energy.svg"]`) {
		t.Errorf("stdout %q", out)
	}
	wellFormedSVG(t, prefix+"_free_energy.svg")

	bad := filepath.Join(t.TempDir(), "bad")
	os.Mkdir(bad, 0o755)
	writeTemp(t, bad, "stats.csv", "beta,f\n1,nan\nnan,1\n")
	prefix = filepath.Join(t.TempDir(), "none")
	st, out, errs = runCLI("plot", "-out", prefix, bad)
	if st != exitUsage || out != "" || strings.Count(errs, "\n") != 2 || !strings.Contains(errs, "nothing to draw") {
		t.Errorf("nothing drawable: status %d, stdout %q, stderr %q", st, out, errs)
	}
	if names, _ := filepath.Glob(prefix + "*"); len(names) != 0 {
		t.Errorf("a refused plot wrote %v", names)
	}
}

// TestTrainPlotFailureSaysSo (item 13): when the figures cannot be written
// (here free_energy.png is a directory) the run exits 1 with one line,
// summary.json says "failed" with the reason instead of "running", and
// once the cause is gone -resume draws the figures and completes the run.
func TestTrainPlotFailureSaysSo(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.MkdirAll(filepath.Join(dir, "free_energy.png"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeTemp(t, filepath.Join(dir, "free_energy.png"), "keep", "x")
	args := []string{"train", "-model", "cw", "-n", "6", "-arch", "1p", "-beta-range", "1,2,2",
		"-init-steps", "5", "-max-step", "5", "-batch", "50", "-eval-samples", "50", "-quiet", "-out", dir, "-force"}
	st, _, errs := runCLI(args...)
	if st != exitInternal || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "plotting") || !strings.Contains(errs, "free_energy.png") {
		t.Fatalf("status %d, stderr %q", st, errs)
	}
	var sum struct{ Status, Error string }
	read := func() {
		b, err := os.ReadFile(filepath.Join(dir, "summary.json"))
		if err != nil || json.Unmarshal(b, &sum) != nil {
			t.Fatalf("summary.json: %v", err)
		}
	}
	read()
	if sum.Status != "failed" || !strings.Contains(sum.Error, "free_energy.png") {
		t.Errorf("summary.json status %q, error %q; want failed, naming the figure", sum.Status, sum.Error)
	}
	// The one line on stderr is summary.json's error: the summary was written.
	if want := "h2arnn train: " + sum.Error + "\n"; errs != want {
		t.Errorf("stderr %q; want %q", errs, want)
	}
	os.RemoveAll(filepath.Join(dir, "free_energy.png"))
	if st, _, errs := runCLI("train", "-resume", dir, "-quiet"); st != 0 {
		t.Fatalf("resume: status %d, %q", st, errs)
	}
	read()
	wellFormedSVG(t, filepath.Join(dir, "free_energy.svg"))
	if sum.Status != "complete" {
		t.Errorf("after -resume: status %q", sum.Status)
	}
}
