package driver

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
)

// dirFiles returns every file of dir (recursively) with its content, to
// show that a refused command wrote nothing.
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files[p] = string(b)
		return nil
	})
	return files
}

// refused asserts the outcome of a command that must be refused: status 2,
// nothing on stdout and one line on stderr containing every want.
func refused(t *testing.T, what string, st int, out, errs string, want ...string) {
	t.Helper()
	ok := st == exitUsage && out == "" && strings.Count(errs, "\n") == 1
	for _, w := range want {
		ok = ok && strings.Contains(errs, w)
	}
	if !ok {
		t.Errorf("%s: status %d stdout %q stderr %q, want status 2 and one line with %q", what, st, out, errs, want)
	}
}

// TestTrainLocksRunDir: while a run trains in a directory, a second run
// into it and a -resume of it are refused with who holds it, and write
// nothing; the first run is not disturbed and ends with the numbers of an
// undisturbed run.
func TestTrainLocksRunDir(t *testing.T) {
	root := t.TempDir()
	ref := filepath.Join(root, "ref")
	if st, _, errs := runCLI(tinyTrain(ref)...); st != 0 {
		t.Fatalf("reference run: %d %q", st, errs)
	}
	dir := filepath.Join(root, "run")
	paused, release := make(chan struct{}), make(chan struct{})
	testStop = func(j, steps int, betaEnd bool) bool {
		if j == 1 && steps == 3 && !betaEnd {
			close(paused)
			<-release
		}
		return false
	}
	defer func() { testStop = nil }()
	type result struct {
		st        int
		out, errs string
	}
	done := make(chan result)
	go func() {
		st, out, errs := runCLI(tinyTrain(dir)...)
		done <- result{st, out, errs}
	}()
	<-paused
	before := dirFiles(t, dir)
	st, out, errs := runCLI("train", "-resume", dir, "-quiet")
	refused(t, "-resume of a running run", st, out, errs, "-resume "+dir, "in use", "pid ")
	st, out, errs = runCLI(tinyTrain(dir)...)
	refused(t, "a second run into a running one", st, out, errs, "-out "+dir, "in use", "pid ")
	after := dirFiles(t, dir)
	close(release)
	first := <-done
	testStop = nil
	if !maps.Equal(before, after) {
		t.Error("a refused run changed the directory of the running one")
	}
	if first.st != 0 || len(jsonLines(t, first.out)) != 3 {
		t.Fatalf("the first run: status %d %q", first.st, first.errs)
	}
	sameRun(t, ref, dir)
	// A new run into an empty directory that another process has locked
	// (here: this one, through a second lock) is refused too.
	empty := filepath.Join(root, "empty")
	os.Mkdir(empty, 0o755)
	l, err := output.LockDir(empty)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	before = dirFiles(t, empty)
	st, out, errs = runCLI(tinyTrain(empty)...)
	refused(t, "a run into a locked directory", st, out, errs, "-out "+empty, "in use", "pid ")
	if !maps.Equal(before, dirFiles(t, empty)) {
		t.Error("a run refused by the lock wrote into the directory")
	}
}

// TestNewRunNeedsEmptyDir: a new run refuses a non-empty -out that holds no
// run of ours unless -force, and one that holds a run (train, mcmc) always;
// nothing is written when it refuses. An empty directory, or one holding
// only the lock file and stale temporary files, is fine.
func TestNewRunNeedsEmptyDir(t *testing.T) {
	root := t.TempDir()
	user := filepath.Join(root, "user")
	os.Mkdir(user, 0o755)
	for _, name := range []string{output.StatsFile, output.SummaryFile, output.SamplesFile} {
		writeTemp(t, user, name, "the user's own "+name+"\n")
	}
	before := dirFiles(t, user)
	st, out, errs := runCLI(tinyTrain(user)...)
	refused(t, "a directory of the user's files", st, out, errs, "-out "+user, "not empty", "-force")
	if after := dirFiles(t, user); !maps.Equal(before, after) {
		t.Errorf("a refused run changed the directory: %v", slices.Sorted(maps.Keys(after)))
	}
	// -force writes the run there.
	if st, _, errs := runCLI(tinyTrain(user, "-force")...); st != 0 {
		t.Fatalf("-force: status %d %q", st, errs)
	}
	if rows, _, err := output.ReadStats(filepath.Join(user, output.StatsFile)); err != nil || len(rows) != 3 {
		t.Errorf("-force: stats.csv %v, %d rows", err, len(rows))
	}
	// A directory holding a run: refused even with -force.
	before = dirFiles(t, user)
	st, out, errs = runCLI(tinyTrain(user, "-force")...)
	refused(t, "-force into a complete train run", st, out, errs, "already holds a run, complete")
	os.WriteFile(filepath.Join(user, output.SummaryFile), []byte(`{"status": "interrupted"}`), 0o644)
	before = dirFiles(t, user)
	st, out, errs = runCLI(tinyTrain(user, "-force")...)
	refused(t, "-force into an interrupted train run", st, out, errs, "already holds a run", "-resume "+user)
	mc := filepath.Join(root, "mcmc")
	os.Mkdir(mc, 0o755)
	writeTemp(t, mc, jsonCheckpointFile, `{"kind":"mcmc"}`)
	st, out, errs = runCLI(tinyTrain(mc, "-force")...)
	refused(t, "-force into an mcmc run", st, out, errs, "-out "+mc, "mcmc")
	if !maps.Equal(before, dirFiles(t, user)) || len(dirFiles(t, mc)) != 1 {
		t.Error("a refused run wrote files")
	}
	// Only a lock file and a killed writer's temporary file: a new run.
	scratch := filepath.Join(root, "scratch")
	os.Mkdir(scratch, 0o755)
	writeTemp(t, scratch, output.LockFile, "")
	writeTemp(t, scratch, ".stats.csv"+output.TempSuffix+"123", "x")
	if st, _, errs := runCLI(tinyTrain(scratch)...); st != 0 {
		t.Errorf("a directory with only a lock and a temporary file: status %d %q", st, errs)
	}
	if _, err := os.Stat(filepath.Join(scratch, ".stats.csv"+output.TempSuffix+"123")); err == nil {
		t.Error("the new run left the stale temporary file")
	}
}

// TestInterruptWhileFinishing: an interrupt while a β's files are written
// (its estimates drawn; at the last β too) or while the final plots and
// summary are written leaves a run that -resume finishes, with the files
// and numbers of an uninterrupted run; so does a run killed after its
// last β but before its plots and summary.
func TestInterruptWhileFinishing(t *testing.T) {
	root := t.TempDir()
	ref := filepath.Join(root, "ref")
	st, refOut, errs := runCLI(tinyTrain(ref)...)
	if st != 0 {
		t.Fatalf("uninterrupted: status %d %q", st, errs)
	}
	want := jsonNoSeconds(t, refOut)
	defer func() { testInterruptAt, testStop = nil, nil }()
	cases := []struct {
		name  string
		stage string
		j     int
		// step: interrupt at this step of the last β instead (evaluation).
		step int
	}{
		{"estimate-middle-beta", "finish", 1, 0},
		{"estimate-last-beta", "finish", 2, 0},
		{"evaluation-last-beta", "", 2, 8},
		{"final-files", "final", 3, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(root, c.name)
			if c.stage != "" {
				testInterruptAt = func(stage string, j int) bool { return stage == c.stage && j == c.j }
			} else {
				testStop = func(j, steps int, betaEnd bool) bool { return j == c.j && steps == c.step && !betaEnd }
			}
			st, out, errs := runCLI(tinyTrain(dir)...)
			testInterruptAt, testStop = nil, nil
			if st != exitSignal || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "-resume "+dir) {
				t.Fatalf("interrupted: status %d stderr %q", st, errs)
			}
			got := jsonNoSeconds(t, out)
			if s := summaryStatus(t, dir); s != "interrupted" {
				t.Errorf("summary status %q after the interrupt", s)
			}
			resumeMatches(t, ref, dir, got, want, "-quiet")
		})
	}
	// Killed (no chance to write anything) after the last β's checkpoint,
	// before the plots and the summary: the summary still says running.
	dir := filepath.Join(root, "killed")
	if st, _, errs := runCLI(tinyTrain(dir)...); st != 0 {
		t.Fatalf("%q", errs)
	}
	for _, f := range []string{"free_energy.png", "free_energy.svg", "overlaps.png", "overlaps.svg"} {
		os.Remove(filepath.Join(dir, f))
	}
	b, _ := os.ReadFile(filepath.Join(dir, output.SummaryFile))
	os.WriteFile(filepath.Join(dir, output.SummaryFile), bytes.Replace(b, []byte(`"status": "complete"`), []byte(`"status": "running"`), 1), 0o644)
	if s := summaryStatus(t, dir); s != "running" {
		t.Fatalf("status %q", s)
	}
	st, out, errs := runCLI("train", "-resume", dir, "-quiet")
	if st != 0 || out != "" {
		t.Fatalf("resume of a run killed before its final files: status %d %q %q", st, out, errs)
	}
	sameRun(t, ref, dir)
	checkComplete(t, dir)
}

// resumeMatches resumes the tinyTrain run in dir (with flags) to its end
// and asserts that the JSON lines of its interrupted sessions (got) and of
// the resumed one are want, that it ends with the files and numbers of the
// uninterrupted run ref, and that it is complete (checkComplete).
func resumeMatches(t *testing.T, ref, dir string, got, want []map[string]any, flags ...string) {
	t.Helper()
	st, out, errs := runCLI(append([]string{"train", "-resume", dir}, flags...)...)
	if st != 0 {
		t.Fatalf("resume: status %d %q", st, errs)
	}
	got = append(got, jsonNoSeconds(t, out)...)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("JSON lines\n got %v\nwant %v", got, want)
	}
	sameRun(t, ref, dir)
	checkComplete(t, dir)
}

func summaryStatus(t *testing.T, dir string) string {
	t.Helper()
	var sum struct {
		Status string `json:"status"`
	}
	b, err := os.ReadFile(filepath.Join(dir, output.SummaryFile))
	if err != nil || json.Unmarshal(b, &sum) != nil {
		t.Fatalf("summary.json: %v", err)
	}
	return sum.Status
}

// checkComplete asserts that dir holds a complete run: plots, summary
// "complete" with every β, and that -resume then says it is complete.
func checkComplete(t *testing.T, dir string) {
	t.Helper()
	for _, f := range []string{"free_energy.png", "free_energy.svg", "overlaps.png", "overlaps.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("no %s", f)
		}
	}
	if s := summaryStatus(t, dir); s != "complete" {
		t.Errorf("summary status %q", s)
	}
	st, out, errs := runCLI("train", "-resume", dir)
	refused(t, "resuming a complete run", st, out, errs, "already complete")
}

// TestTrainEvaluatesSomething: flags that would report a β from no batch
// at all (no steps and no evaluation batch) are refused before anything is
// written.
func TestTrainEvaluatesSomething(t *testing.T) {
	root := t.TempDir()
	base := []string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-quiet", "-eval-samples", "0"}
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"-init-steps", "0", "-max-step", "0"}, "-init-steps 0"},
		{[]string{"-init-steps", "0", "-max-step", "5", "-beta-range", "1,1,1"}, "-init-steps 0"},
		{[]string{"-init-steps", "5", "-max-step", "0", "-beta-range", "0.5,1,2"}, "-max-step 0"},
	} {
		dir := filepath.Join(root, "run")
		st, out, errs := runCLI(slices.Concat(base, c.flags, []string{"-out", dir})...)
		refused(t, strings.Join(c.flags, " "), st, out, errs, c.want, "-eval-samples")
		if _, err := os.Stat(dir); err == nil {
			t.Errorf("%v: the refused run created %s", c.flags, dir)
		}
	}
	// What is fine: no steps but an evaluation batch; no steps after the
	// first β with a single β. (Every architecture of the command line has
	// parameters; a net without evaluates a batch of -batch samples.)
	for k, flags := range [][]string{
		{"-init-steps", "0", "-max-step", "0", "-eval-samples", "16"},
		{"-init-steps", "3", "-max-step", "0", "-beta-range", "1,1,1"},
	} {
		dir := filepath.Join(root, "ok", string(rune('a'+k)))
		if st, out, errs := runCLI(slices.Concat(base, flags, []string{"-out", dir})...); st != 0 || strings.Contains(out, "NaN") || strings.Contains(out, "null") {
			t.Errorf("%v: status %d %q %q", flags, st, out, errs)
		}
	}
}

// editCheckpoint rewrites the checkpoint of the tinyTrain run in dir with
// edit applied to its state, checksums recomputed: what a careful editor
// (or a bug) would leave.
func editCheckpoint(t *testing.T, dir string, edit func(*grad.State)) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, checkpointFile))
	if err != nil {
		t.Fatal(err)
	}
	ck, err := grad.ReadCheckpoint(bufio.NewReader(f))
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	m, _ := model.SherringtonKirkpatrick(10, 1, 0, 2)
	net, err := ck.Net.Net(m)
	if err != nil {
		t.Fatal(err)
	}
	edit(&ck.State)
	err = output.WriteFileAtomic(filepath.Join(dir, checkpointFile), func(w io.Writer) error {
		return grad.WriteCheckpoint(w, net, ck.State, ck.Extra)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestResumeRefusesEditedCheckpoint: a checkpoint whose values were edited
// (checksums made to match) is refused on -resume with one line, and the
// run directory is left as it was; the unedited one resumes.
func TestResumeRefusesEditedCheckpoint(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	testStop = func(j, steps int, betaEnd bool) bool { return j == 1 && steps == 3 && !betaEnd }
	st, _, errs := runCLI(tinyTrain(dir)...)
	testStop = nil
	if st != exitSignal {
		t.Fatalf("status %d %q", st, errs)
	}
	orig := dirFiles(t, dir)
	restore := func() {
		for p, b := range orig {
			os.WriteFile(p, []byte(b), 0o644)
		}
	}
	for _, c := range []struct {
		name string
		edit func(*grad.State)
		want string
	}{
		{"lr", func(s *grad.State) { s.Opt.LR = 0.002 }, "learning rate"},
		{"beta1", func(s *grad.State) { s.Opt.Beta1 = 0.8 }, "β₁"},
		{"beta1-out-of-range", func(s *grad.State) { s.Opt.Beta1 = 2 }, "β₁"},
		{"beta2", func(s *grad.State) { s.Opt.Beta2 = 1 }, "β₂"},
		{"eps", func(s *grad.State) { s.Opt.Eps = 0 }, "ε"},
		{"optimiser-steps", func(s *grad.State) { s.Opt.Steps++ }, "steps"},
		{"steps-done", func(s *grad.State) { s.StepsDone++ }, "steps"},
		{"negative-steps", func(s *grad.State) { s.StepsDone, s.Opt.Steps = -1, -1 }, "steps"},
		{"stopped", func(s *grad.State) { s.Stopped = true }, "stopped"},
		{"early-stop", func(s *grad.State) { s.Stopped, s.EarlyStop = true, true }, "std-limit"},
		{"beta-index", func(s *grad.State) { s.BetaIndex, s.Beta = 2, 1.5 }, "rows"},
		{"beta-index-past-end", func(s *grad.State) { s.BetaIndex = 7 }, "β index"},
		{"beta", func(s *grad.State) { s.Beta = 1.25 }, "β"},
		{"moment", func(s *grad.State) { s.Opt.V[0] = -1 }, "second moment"},
		{"seconds", func(s *grad.State) { s.Seconds = -1 }, "seconds"},
	} {
		editCheckpoint(t, dir, c.edit)
		edited := dirFiles(t, dir)
		st, out, errs := runCLI("train", "-resume", dir, "-quiet")
		refused(t, c.name, st, out, errs, "-resume "+dir, c.want)
		if !maps.Equal(edited, dirFiles(t, dir)) {
			t.Errorf("%s: the refused resume changed the directory", c.name)
		}
		restore()
	}
	// stats.csv edited: a row's β or steps no longer the run's.
	stats := filepath.Join(dir, output.StatsFile)
	for _, c := range []struct{ old, new, want string }{{"\n0.5,", "\n0.55,", "β 0.55"}, {",12,", ",11,", "steps"}} {
		b := orig[stats]
		if !strings.Contains(b, c.old) {
			t.Fatalf("stats.csv lacks %q: %s", c.old, b)
		}
		// A row after the checkpoint's position, which a resume drops.
		edited := strings.Replace(b, c.old, c.new, 1) + "1,-0.5,0,0,0,0,0,8,0.1\n"
		os.WriteFile(stats, []byte(edited), 0o644)
		before := dirFiles(t, dir)
		st, out, errs := runCLI("train", "-resume", dir, "-quiet")
		refused(t, "stats.csv "+c.new, st, out, errs, "-resume "+dir, c.want)
		if !maps.Equal(before, dirFiles(t, dir)) {
			t.Errorf("stats.csv %s: the refused resume changed the directory", c.new)
		}
		restore()
	}
	if st, _, errs := runCLI("train", "-resume", dir, "-quiet"); st != 0 {
		t.Errorf("the unedited checkpoint: status %d %q", st, errs)
	}
}

// TestResumeCleansUp: the temporary files a killed run leaves (from
// output.WriteFileAtomic) are removed by -resume, and a stats.csv whose
// last row lost its final newline still resumes; the run ends as an
// uninterrupted one.
func TestResumeCleansUp(t *testing.T) {
	root := t.TempDir()
	ref := filepath.Join(root, "ref")
	st, refOut, errs := runCLI(tinyTrain(ref)...)
	if st != 0 {
		t.Fatalf("uninterrupted: status %d %q", st, errs)
	}
	dir := filepath.Join(root, "run")
	testStop = func(j, steps int, betaEnd bool) bool { return j == 1 && betaEnd }
	st, out, errs := runCLI(tinyTrain(dir)...)
	testStop = nil
	if st != exitSignal {
		t.Fatalf("status %d %q", st, errs)
	}
	temps := []string{".checkpoint.h2arnn" + output.TempSuffix + "4242", ".stats.csv" + output.TempSuffix + "17", ".samples.npy" + output.TempSuffix + "99"}
	for _, name := range temps {
		writeTemp(t, dir, name, "partial")
	}
	stats := filepath.Join(dir, output.StatsFile)
	b, _ := os.ReadFile(stats)
	if !bytes.HasSuffix(b, []byte("\n")) {
		t.Fatal("stats.csv without a final newline already")
	}
	os.WriteFile(stats, bytes.TrimSuffix(b, []byte("\n")), 0o644)
	resumeMatches(t, ref, dir, jsonNoSeconds(t, out), jsonNoSeconds(t, refOut), "-quiet")
	for _, name := range temps {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s left after the resume", name)
		}
	}
	// Killed after the first checkpoint, before stats.csv and summary.json
	// existed: -resume starts them.
	dir = filepath.Join(root, "early")
	testStop = func(j, steps int, betaEnd bool) bool { return j == 0 && steps == 3 }
	st, out, errs = runCLI(tinyTrain(dir)...)
	testStop = nil
	if st != exitSignal || out != "" {
		t.Fatalf("status %d %q", st, errs)
	}
	os.Remove(filepath.Join(dir, output.StatsFile))
	os.Remove(filepath.Join(dir, output.SummaryFile))
	resumeMatches(t, ref, dir, nil, jsonNoSeconds(t, refOut), "-quiet")
}

// TestSaveSamplesCloseBetas: with -save-samples every, β closer than the 6
// digits the file names once held get files of their own, named by β
// index; each samples file is the evaluation batch of its β (one per β,
// all different), and LoadRun files each histogram under its β in full
// precision.
func TestSaveSamplesCloseBetas(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	args := slices.Concat(tinyTrain(dir), []string{"-beta-range", "1,1.000001,3", "-estimate", "0"})
	if st, _, errs := runCLI(args...); st != 0 {
		t.Fatalf("status %d %q", st, errs)
	}
	rows, _, err := output.ReadStats(filepath.Join(dir, output.StatsFile))
	if err != nil || len(rows) != 3 || rows[1].Beta != 1.0000005 {
		t.Fatalf("stats: %v %+v", err, rows)
	}
	seen := map[string]bool{}
	for k := range 3 {
		b, err := os.ReadFile(filepath.Join(dir, output.PerBetaFile("samples", ".npy", k, 3)))
		if err != nil || seen[string(b)] {
			t.Errorf("samples of β index %d: %v, or the same as another β's", k, err)
		}
		seen[string(b)] = true
		if _, err := os.Stat(filepath.Join(dir, output.PerBetaFile("overlaps", ".csv", k, 3))); err != nil {
			t.Errorf("overlaps of β index %d: %v", k, err)
		}
	}
	last, _ := os.ReadFile(filepath.Join(dir, output.SamplesFile))
	if !seen[string(last)] {
		t.Error("samples.npy is not the last β's samples")
	}
	run, err := output.LoadRun(dir)
	if err != nil || len(run.Overlaps) != 3 {
		t.Fatalf("LoadRun: %v, %d histograms", err, len(run.Overlaps))
	}
	for _, r := range rows {
		if run.Overlaps[r.Beta] == nil {
			t.Errorf("no histogram under β %v", r.Beta)
		}
	}
}

// TestMCMCAndFitNeedEmptyDir: mcmc and fit, like train, refuse a -out
// holding a user's files unless -force, and a directory holding a run of
// another subcommand always, without writing into it.
func TestMCMCAndFitNeedEmptyDir(t *testing.T) {
	root := t.TempDir()
	data := exactDataFile(t, root, "x.npy", 9, 4, 1.2, 500)
	cmds := map[string][]string{
		"mcmc": {"mcmc", "-model", "sk", "-n", "10", "-seed", "6", "-beta", "1.6", "-samples", "200", "-sweeps", "1", "-burn-in", "5", "-chains", "2", "-quiet"},
		"fit":  {"fit", "-data", data, "-arch", "plm", "-beta", "1.2", "-model", "sk", "-n", "9", "-seed", "4", "-quiet"},
	}
	trainRun := filepath.Join(root, "train")
	if st, _, errs := runCLI(tinyTrain(trainRun)...); st != 0 {
		t.Fatalf("train: %q", errs)
	}
	for name, args := range cmds {
		user := filepath.Join(root, name+"-user")
		os.Mkdir(user, 0o755)
		writeTemp(t, user, output.SamplesFile, "the user's own samples\n")
		writeTemp(t, user, output.SummaryFile, "{}\n")
		before := dirFiles(t, user)
		st, out, errs := runCLI(slices.Concat(args, []string{"-out", user})...)
		refused(t, name+" into a directory of the user's files", st, out, errs, "-out "+user, "not empty", "-force")
		if !maps.Equal(before, dirFiles(t, user)) {
			t.Errorf("%s: a refused run changed the directory", name)
		}
		if st, _, errs := runCLI(slices.Concat(args, []string{"-out", user, "-force"})...); st != 0 {
			t.Errorf("%s -force: status %d %q", name, st, errs)
		}
		before = dirFiles(t, trainRun)
		st, out, errs = runCLI(slices.Concat(args, []string{"-out", trainRun, "-force"})...)
		refused(t, name+" into a train run", st, out, errs, "-out "+trainRun, "not an 'h2arnn "+name+"' one")
		if !maps.Equal(before, dirFiles(t, trainRun)) {
			t.Errorf("%s: a refused run changed the train run", name)
		}
	}
}
