package driver

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn/output"
)

// TestCheckNewRunDir: what a new run may write into, and each refusal's
// words: the user's files (up to three named), a run of the same or
// another command, complete or not, a run going on, an unreadable
// checkpoint.
func TestCheckNewRunDir(t *testing.T) {
	root := t.TempDir()
	mk := func(name string, files map[string]string) string {
		t.Helper()
		dir := filepath.Join(root, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for f, content := range files {
			writeTemp(t, dir, f, content)
		}
		return dir
	}
	check := func(what, dir, cmd string, force bool, want ...string) {
		t.Helper()
		err := checkNewRunDir(dir, cmd, force)
		if len(want) == 0 {
			if err != nil {
				t.Errorf("%s: %v; want accepted", what, err)
			}
			return
		}
		if err == nil || !isUsage(err) {
			t.Errorf("%s: %v; want a usage error", what, err)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", what, err, w)
			}
		}
	}
	check("a new directory", filepath.Join(root, "new"), "train", false)
	check("an empty directory", mk("empty", nil), "train", false)
	check("a lock and a stale temporary file", mk("stale", map[string]string{output.LockFile: "", ".stats.csv" + output.TempSuffix + "7": "x"}), "train", false)
	three := mk("three", map[string]string{"a": "", "b": "", "c": ""})
	check("three files", three, "train", false, "-out "+three+" is not empty (a, b, c) and holds no h2arnn run", "-force")
	if err := checkNewRunDir(three, "train", false); strings.Contains(err.Error(), "…") {
		t.Errorf("three files are shown with an ellipsis: %v", err)
	}
	four := mk("four", map[string]string{"a": "", "b": "", "c": "", "d": ""})
	check("four files", four, "train", false, "(a, b, c, …)")
	check("four files, -force", four, "train", true)
	notDir := filepath.Join(three, "a")
	check("a file", notDir, "train", false, "-out "+notDir+": ", "give a new or empty directory")

	train := mk("train", map[string]string{checkpointFile: "x", output.SummaryFile: `{"status":"complete"}`})
	check("a complete train run", train, "train", true, "already holds a run, complete (nothing to resume)")
	check("a train run, mcmc", train, "mcmc", true, "not an 'h2arnn mcmc' one (its "+checkpointFile+" is of kind train)")
	writeTemp(t, train, output.SummaryFile, `{"status":"interrupted"}`)
	check("an interrupted train run", train, "train", true, "already holds a run ("+checkpointFile+"); continue it with -resume "+train)
	os.Remove(filepath.Join(train, output.SummaryFile))
	check("a train run without summary", train, "train", false, "continue it with -resume")

	mc := mk("mcmc", map[string]string{jsonCheckpointFile: `{"kind":"mcmc"}`, output.SummaryFile: `{"status":"complete"}`})
	check("a complete mcmc run", mc, "mcmc", false, "complete")
	check("an mcmc run, fit", mc, "fit", true, "its "+jsonCheckpointFile+" is of kind mcmc")
	for name, content := range map[string]string{"nokind": `{"kind":""}`, "garbage": `{`} {
		dir := mk(name, map[string]string{jsonCheckpointFile: content})
		check(name, dir, "mcmc", true, "is of kind unknown")
	}
	unreadable := mk("unreadable", nil)
	if err := os.Mkdir(filepath.Join(unreadable, jsonCheckpointFile), 0o755); err != nil {
		t.Fatal(err)
	}
	check("an unreadable checkpoint.json", unreadable, "fit", true, "is of kind unknown")

	// A run going on holds the lock: named whatever the command.
	l, err := output.LockDir(mc)
	if err != nil {
		t.Fatal(err)
	}
	check("a locked mcmc run", mc, "fit", true, "-out "+mc+": ", "wait for that run to end")
	l.Unlock()
	check("an unlocked mcmc run, its lock file left", mc, "fit", true, "is of kind mcmc")
}

// TestPrepareRunDir: -force into a directory of other files leaves their
// temporary-looking files alone; a new run into a free directory, or a
// resumed one, removes a killed writer's temporary files.
func TestPrepareRunDir(t *testing.T) {
	root := t.TempDir()
	stale := ".stats.csv" + output.TempSuffix + "99"
	for _, c := range []struct {
		name          string
		user          bool
		resume, force bool
		kept          bool
	}{
		{"new", false, false, false, false},
		{"force", true, false, true, true},
		{"force-empty", false, false, true, true},
		{"resume", true, true, false, false},
		{"resume-force", true, true, true, false},
	} {
		dir := filepath.Join(root, c.name)
		os.Mkdir(dir, 0o755)
		writeTemp(t, dir, stale, "x")
		if c.user {
			writeTemp(t, dir, "mine.txt", "the user's")
		}
		out := dir
		unlock, err := prepareRunDir(&out, "train", "x", 3, c.resume, c.force)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		unlock()
		if _, err := os.Stat(filepath.Join(dir, stale)); (err == nil) != c.kept {
			t.Errorf("%s: the temporary file kept %v; want %v", c.name, err == nil, c.kept)
		}
	}
}
