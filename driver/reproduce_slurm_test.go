package driver

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeSlurm puts sbatch, squeue and sacct scripts first on PATH: sbatch
// logs its arguments to the returned file and prints job id 42, squeue
// prints the content of DIR/squeue.txt, sacct fails as it does without
// accounting storage.
func fakeSlurm(t *testing.T) (bindir, sbatchLog string) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts")
	}
	bindir = t.TempDir()
	sbatchLog = filepath.Join(bindir, "sbatch.log")
	scripts := map[string]string{
		"sbatch": "#!/bin/sh\necho \"$@\" >> '" + sbatchLog + "'\necho 42\n",
		"squeue": "#!/bin/sh\ncat '" + filepath.Join(bindir, "squeue.txt") + "' 2>/dev/null\n",
		"sacct":  "#!/bin/sh\necho 'Slurm accounting storage is disabled' >&2\nexit 1\n",
	}
	for name, body := range scripts {
		if err := os.WriteFile(filepath.Join(bindir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bindir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return bindir, sbatchLog
}

func testBinary(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// TestReproduceSlurmSubmit drives the SLURM executor against fake
// scheduler commands: the script, its submission, -status from squeue, and
// a resubmission that leaves out the tasks still queued or running.
func TestReproduceSlurmSubmit(t *testing.T) {
	g := tinyCW()
	useGrid(t, g)
	bindir, sbatchLog := fakeSlurm(t)
	dir := t.TempDir()
	bin := testBinary(t)
	args := []string{"reproduce", "fig4", "-scale", "smoke", "-out", dir, "-executor", "slurm", "-bin", bin, "-workers", "2", "-jobs", "2",
		"-slurm-opt", "--partition=short", "-slurm-opt", "--time=1:00:00"}
	code, stdout, stderr := runCLI(append(args, "-print-only")...)
	if code != 0 {
		t.Fatalf("print-only: exit %d: %s", code, stderr)
	}
	if _, err := os.Stat(sbatchLog); err == nil {
		t.Fatal("-print-only called sbatch")
	}
	lines := jsonLines(t, stdout)
	script := filepath.Join(absPath(dir), slurmSubdir, "fig4.sh")
	if l := lines[1]; l["submitted"] != false || l["script"] != script || l["array"] != "0-2%2" || num(t, l, "tasks") != 3 {
		t.Errorf("print-only printed %v", l)
	}
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	mem := int(num(t, lines[0], "mem_mb"))
	for _, want := range []string{
		"#SBATCH --array=0-2%2\n", "#SBATCH --cpus-per-task=2\n", "#SBATCH --mem=" + strconv.Itoa(mem) + "M\n",
		"#SBATCH --partition=short\n#SBATCH --time=1:00:00\n", "bin=" + bin + "\n", "workers=2\n",
		"\n2) run t_made_21 train -model cw -n 6 -arch made -depth 2 -width 1 -label made_21 -train-seed 3 -beta-range 0.5,1.5,3 ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("script lacks %q:\n%s", want, text)
		}
	}
	if mem < 64 {
		t.Errorf("--mem %d MB", mem)
	}
	if probes, _ := filepath.Glob(filepath.Join(dir, ".probe-*")); len(probes) > 0 {
		t.Errorf("memory probes left behind: %v", probes)
	}

	code, stdout, stderr = runCLI(args...)
	if code != 0 {
		t.Fatalf("submit: exit %d: %s", code, stderr)
	}
	if l := jsonLines(t, stdout)[1]; l["submitted"] != true || l["job_id"] != "42" || l["array"] != "0-2%2" {
		t.Errorf("submission printed %v", l)
	}
	logged, _ := os.ReadFile(sbatchLog)
	if string(logged) != "--parsable "+script+"\n" {
		t.Errorf("sbatch called with %q", logged)
	}
	// Task 0 runs, 1 waits; 2 has left the queue without running.
	if err := os.WriteFile(filepath.Join(bindir, "squeue.txt"), []byte("42_0|RUNNING\n42_1|PENDING\n7_3|RUNNING\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = runCLI("reproduce", "-status", dir)
	st := jsonLines(t, stdout)
	if code != 0 || st[0]["status"] != "running" || st[0]["detail"] != "slurm job 42" || st[1]["status"] != "pending" || st[2]["status"] != "pending" {
		t.Errorf("status %s", stdout)
	}
	if !strings.Contains(st[3]["slurm"].(string), "accounting storage is disabled") {
		t.Errorf("status summary %v", st[3])
	}
	// A new submission leaves the queued tasks alone.
	code, stdout, stderr = runCLI(args...)
	if l := jsonLines(t, stdout)[1]; code != 0 || l["array"] != "2%2" || num(t, l, "queued") != 2 {
		t.Errorf("resubmission: exit %d %s %s", code, stdout, stderr)
	}
	var jobs []jobRecord
	b, _ = os.ReadFile(filepath.Join(dir, slurmSubdir, jobsFile))
	if err := json.Unmarshal(b, &jobs); err != nil || len(jobs) != 2 || !slices.Equal(jobs[1].Rows, []int{2}) {
		t.Errorf("jobs.json %s", b)
	}
	// Nothing left to submit.
	os.WriteFile(filepath.Join(bindir, "squeue.txt"), []byte("42_0|RUNNING\n42_1|PENDING\n42_2|RUNNING\n"), 0o644)
	code, stdout, _ = runCLI(args...)
	if l := jsonLines(t, stdout)[1]; code != 0 || l["submitted"] != false || num(t, l, "tasks") != 0 {
		t.Errorf("nothing to submit: %s", stdout)
	}
}

// TestSlurmScriptRuns runs the generated job script with bash, without
// SLURM, as array tasks do: a task starts its run, skips it once complete,
// and resumes it from a checkpoint.
func TestSlurmScriptRuns(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil || runtime.GOOS == "windows" {
		t.Skip("needs bash")
	}
	g := tinyCW()
	useGrid(t, g)
	dir := t.TempDir()
	if code, _, stderr := runCLI("reproduce", "fig4", "-scale", "smoke", "-out", dir, "-executor", "slurm", "-bin", testBinary(t), "-print-only"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	script := filepath.Join(dir, slurmSubdir, "fig4.sh")
	task := func(i string) string {
		cmd := exec.Command(bash, script)
		cmd.Env = append(os.Environ(), "SLURM_ARRAY_TASK_ID="+i, "SLURM_ARRAY_JOB_ID=7")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("task %s: %v: %s", i, err, out.String())
		}
		return out.String()
	}
	// Row 1 was interrupted before: the task resumes it.
	row := g.Rows[1]
	rd := filepath.Join(dir, runsSubdir, row.ID)
	interruptedTrain(t, row, rd, 1, 3)
	for _, i := range []string{"0", "1"} {
		if out := task(i); !strings.Contains(out, "task "+i+" of job 7") {
			t.Errorf("task %s printed %q", i, out)
		}
	}
	for k, r := range g.Rows[:2] {
		if s := readRunState(filepath.Join(dir, runsSubdir, r.ID)); !s.complete() {
			t.Errorf("task %d: run %s not complete: %+v", k, r.ID, s)
		}
	}
	ref := filepath.Join(t.TempDir(), "ref")
	trainRef(t, row, ref)
	sameRunFiles(t, ref, rd, 5)
	if out := task("0"); !strings.Contains(out, "already complete") {
		t.Errorf("a complete run's task printed %q", out)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, logsSubdir, row.ID+".err")); len(b) != 0 {
		t.Errorf("the run wrote to its stderr log: %s", b)
	}
	cmd := exec.Command(bash, script)
	cmd.Env = append(os.Environ(), "SLURM_ARRAY_TASK_ID=99")
	if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "no grid row 99") {
		t.Errorf("task 99: %v %s", err, out)
	}
}

// TestSlurmCluster starts a one-node SLURM cluster with
// scripts/slurm/start-cluster.sh, reproduces a small grid with a
// dependency (needsGrid) through it and checks that collect's CSV equals
// the local executor's, bit for bit but the timings (.ci/run does the same
// for the smoke grids of Figures 4 and 5). It needs root, the Debian
// packages slurm-wlm and munge, and the SLURM ports free.
func TestSlurmCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("SLURM test skipped in -short mode (starts daemons, about a minute)")
	}
	if os.Geteuid() != 0 {
		t.Skip("SLURM test skipped: needs root to start munged, slurmctld and slurmd")
	}
	for _, c := range []string{"munged", "slurmctld", "slurmd", "sbatch", "sinfo"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Skipf("SLURM test skipped: %s not found (apt-get install slurm-wlm munge)", c)
		}
	}
	if l, err := net.Listen("tcp", ":6817"); err != nil {
		t.Skip("SLURM test skipped: port 6817 is taken (is a slurmctld running?)")
	} else {
		l.Close()
	}
	useGrid(t, needsGrid())
	cluster := t.TempDir()
	out, err := exec.Command("../scripts/slurm/start-cluster.sh", cluster).CombinedOutput()
	t.Cleanup(func() { exec.Command("../scripts/slurm/stop-cluster.sh", cluster).Run() })
	if err != nil {
		t.Fatalf("start-cluster.sh: %v\n%s", err, out)
	}
	t.Setenv("SLURM_CONF", filepath.Join(cluster, "slurm.conf"))
	viaSlurm, local := t.TempDir(), t.TempDir()
	if code, _, stderr := runCLI("reproduce", "fig4", "-scale", "smoke", "-out", viaSlurm, "-executor", "slurm", "-bin", testBinary(t)); code != 0 {
		t.Fatalf("submit: exit %d: %s", code, stderr)
	}
	deadline := time.Now().Add(5 * time.Minute)
	for {
		_, stdout, _ := runCLI("reproduce", "-status", viaSlurm)
		lines := jsonLines(t, stdout)
		last := lines[len(lines)-1]
		if num(t, last, "done") == num(t, last, "runs") {
			break
		}
		if num(t, last, "failed") > 0 || time.Now().After(deadline) {
			t.Fatalf("the array did not complete: %s", stdout)
		}
		time.Sleep(time.Second)
	}
	if code, _, stderr := runCLI("reproduce", "fig4", "-scale", "smoke", "-out", local); code != 0 {
		t.Fatalf("local: exit %d: %s", code, stderr)
	}
	for _, d := range []string{viaSlurm, local} {
		if code, _, stderr := runCLI("collect", d); code != 0 {
			t.Fatalf("collect %s: exit %d: %s", d, code, stderr)
		}
	}
	a, b := csvNoColumn(t, filepath.Join(viaSlurm, tidyFile), "seconds"), csvNoColumn(t, filepath.Join(local, tidyFile), "seconds")
	if a != b || strings.Count(a, "\n") < 9 {
		t.Errorf("results.csv differs between the executors:\nslurm\n%s\nlocal\n%s", a, b)
	}
	x, _ := os.ReadFile(filepath.Join(viaSlurm, "fig4.csv"))
	y, _ := os.ReadFile(filepath.Join(local, "fig4.csv"))
	if !bytes.Equal(x, y) || len(x) == 0 {
		t.Error("fig4.csv differs between the executors")
	}
}

// csvNoColumn returns a CSV file without the named column.
func csvNoColumn(t *testing.T, path, name string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	col := slices.Index(strings.Split(lines[0], ","), name)
	if col < 0 {
		t.Fatalf("%s has no column %s", path, name)
	}
	for i, l := range lines {
		f := strings.Split(l, ",")
		lines[i] = strings.Join(slices.Delete(f, col, col+1), ",")
	}
	return strings.Join(lines, "\n")
}

// TestReproduceSlurmNeeds: rows that need others go into a second array,
// held by SLURM until the first has succeeded.
func TestReproduceSlurmNeeds(t *testing.T) {
	useGrid(t, needsGrid())
	_, sbatchLog := fakeSlurm(t)
	dir := t.TempDir()
	args := []string{"reproduce", "fig4", "-scale", "smoke", "-out", dir, "-executor", "slurm", "-bin", testBinary(t)}
	code, stdout, stderr := runCLI(append(args, "-print-only")...)
	if code != 0 {
		t.Fatalf("print-only: exit %d: %s", code, stderr)
	}
	script := filepath.Join(absPath(dir), slurmSubdir, "fig4.sh")
	l := jsonLines(t, stdout)[1]
	if cmds, _ := l["commands"].([]any); len(cmds) != 2 || cmds[1] != "sbatch --array=1 --dependency=afterok:<job id of the first> --kill-on-invalid-dep=yes "+script {
		t.Errorf("print-only commands %v", l["commands"])
	}
	b, _ := os.ReadFile(script)
	if !strings.Contains(string(b), "#SBATCH --array=0,2\n") || !strings.Contains(string(b), `-label "$runs"/t_1p -train-seed`) {
		t.Errorf("script:\n%s", b)
	}
	code, stdout, stderr = runCLI(args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	logged, _ := os.ReadFile(sbatchLog)
	want := "--parsable " + script + "\n--parsable --array=1 --dependency=afterok:42 --kill-on-invalid-dep=yes " + script + "\n"
	if string(logged) != want {
		t.Errorf("sbatch calls\n%s\nwant\n%s", logged, want)
	}
	if l := jsonLines(t, stdout)[1]; l["job_id"] != "42" || l["dependent_job_id"] != "42" || l["dependent_array"] != "1" {
		t.Errorf("submission %v", l)
	}
}
