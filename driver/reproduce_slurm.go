package driver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/h2arnn/h2arnn/internal/slurm"
	"github.com/h2arnn/h2arnn/output"
)

// jobsFile, in DIR/slurm, lists the job arrays submitted for the directory.
const jobsFile = "jobs.json"

// jobRecord is one submitted job array.
type jobRecord struct {
	Figure    string `json:"figure"`
	JobID     string `json:"job_id"`
	Array     string `json:"array"`
	Rows      []int  `json:"rows"`
	Script    string `json:"script"`
	Submitted string `json:"submitted"`
}

func readJobs(dir string) []jobRecord {
	b, err := os.ReadFile(filepath.Join(dir, slurmSubdir, jobsFile))
	if err != nil {
		return nil
	}
	var js []jobRecord
	if json.Unmarshal(b, &js) != nil {
		return nil
	}
	return js
}

func writeJobs(dir string, js []jobRecord) error {
	b, err := json.MarshalIndent(js, "", "  ")
	if err != nil {
		return err
	}
	return output.WriteFileAtomic(filepath.Join(dir, slurmSubdir, jobsFile), func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
}

// slurmView is what squeue and sacct say about the jobs of a directory.
type slurmView struct {
	jobs   []jobRecord
	queue  map[string]map[int]slurm.TaskState // squeue: queued and running tasks
	finals map[string]map[int]slurm.TaskState // sacct: every task it remembers
}

// slurmTask is the scheduler's state of the latest task of a grid row.
type slurmTask struct {
	Job string
	slurm.TaskState
}

func (t *slurmTask) active() bool { return t.Active() }
func (t *slurmTask) failed() bool { return t.Failed() }

// task returns the state of the latest submitted task that ran row i of
// figure, or nil if the scheduler does not know it (never submitted, or
// forgotten and without accounting).
func (v *slurmView) task(figure string, i int) *slurmTask {
	if v == nil {
		return nil
	}
	for k := len(v.jobs) - 1; k >= 0; k-- {
		j := v.jobs[k]
		if j.Figure != figure || !slices.Contains(j.Rows, i) {
			continue
		}
		if st, ok := v.queue[j.JobID][i]; ok {
			return &slurmTask{j.JobID, st}
		}
		if st, ok := v.finals[j.JobID][i]; ok {
			return &slurmTask{j.JobID, st}
		}
		// Submitted but in neither: squeue has forgotten it (it ended)
		// and sacct is unavailable; the run directory must tell.
		return nil
	}
	return nil
}

// querySlurm asks squeue and sacct about the jobs recorded in dir. The
// message says what could not be asked ("" if all could, or if there are
// no jobs).
func querySlurm(dir string) (*slurmView, string) {
	jobs := readJobs(dir)
	if len(jobs) == 0 {
		return nil, ""
	}
	v := &slurmView{jobs: jobs}
	var msgs []string
	// squeue -u lists this user's jobs; naming the job ids instead fails
	// as a whole once one of them has left the controller's memory.
	args := []string{"-h", "-r", "-o", "%i|%T"}
	if u, err := user.Current(); err == nil {
		args = append(args, "-u", u.Username)
	}
	if out, err := schedulerOutput("squeue", args...); err != nil {
		msgs = append(msgs, err.Error())
	} else {
		v.queue = slurm.ParseStates(out)
	}
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.JobID
	}
	if out, err := schedulerOutput("sacct", "-n", "-P", "-X", "-j", strings.Join(ids, ","), "-o", "JobID,State,ExitCode"); err != nil {
		msgs = append(msgs, err.Error())
	} else {
		v.finals = slurm.ParseStates(out)
	}
	return v, strings.Join(msgs, "; ")
}

// schedulerOutput runs a SLURM client command and returns its standard
// output, or an error of one line.
func schedulerOutput(name string, args ...string) (string, error) {
	if _, err := exec.LookPath(name); err != nil {
		return "", fmt.Errorf("%s not found", name)
	}
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %v %s", name, err, oneLine(stderr.String()))
	}
	return stdout.String(), nil
}

// slurm writes the job-array script of the rows still to run (leaving out
// those an earlier submission has queued or running) and submits it.
func (p *reproduction) slurm(todo []int, est *estimate) error {
	view, _ := querySlurm(p.dir)
	var submit []int
	queued := 0
	for _, i := range todo {
		if t := view.task(p.g.Figure, i); t != nil && t.active() {
			queued++
			continue
		}
		submit = append(submit, i)
	}
	res := map[string]any{"figure": p.g.Figure, "tasks": len(submit), "queued": queued, "submitted": false}
	if len(submit) == 0 {
		fmt.Fprintf(p.e.stderr, "nothing to submit: %d runs complete, %d queued or running\n", len(p.g.Rows)-len(todo), queued)
		return p.e.emit(res)
	}
	if !p.rf.printOnly {
		if _, err := exec.LookPath("sbatch"); err != nil {
			return usagef("sbatch not found: run this on a SLURM login node, or add -print-only to only write the script")
		}
	}
	dir := absPath(p.dir)
	s := &slurm.Script{
		JobName: "h2arnn-" + p.g.Figure,
		Comment: []string{
			fmt.Sprintf("h2arnn reproduce %s -scale %s: the %d runs of the grid in %s.", p.g.Figure, p.g.Scale, len(p.g.Rows), gridFileName(p.g.Figure)),
			"Array task i runs grid row i: 'h2arnn train FLAGS -out RUNS/ID', skipped if complete,",
			"resumed from its checkpoint if interrupted. Written by h2arnn " + buildVersion().Version + "; running",
			"'h2arnn reproduce' again writes and submits a new script for the rows not yet complete.",
		},
		Bin: p.rf.bin, RunsDir: filepath.Join(dir, runsSubdir), LogsDir: filepath.Join(dir, logsSubdir),
		Array: slurm.ArraySpec(submit, p.rf.jobs), CPUs: p.rf.workers, MemMB: est.memMB, Time: est.timeLimit(submit),
		Extra: p.rf.slurmOpts,
	}
	for i, r := range p.g.Rows {
		s.Tasks = append(s.Tasks, slurm.Task{Index: i, ID: r.ID, Args: r.Args})
	}
	if err := os.MkdirAll(filepath.Join(p.dir, slurmSubdir), 0o755); err != nil {
		return fmt.Errorf("creating %s: %v", filepath.Join(p.dir, slurmSubdir), err)
	}
	path := filepath.Join(dir, slurmSubdir, p.g.Figure+".sh")
	if err := output.WriteFileAtomic(path, s.Write); err != nil {
		return err
	}
	if err := os.Chmod(path, 0o755); err != nil {
		return err
	}
	res["script"], res["array"], res["mem_mb"], res["time"] = path, s.Array, s.MemMB, slurm.FormatTime(s.Time)
	if p.rf.printOnly {
		fmt.Fprintf(p.e.stderr, "wrote %s; submit it with 'sbatch %s'\n", path, path)
		return p.e.emit(res)
	}
	out, err := exec.CommandContext(p.e.ctx, "sbatch", "--parsable", path).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("sbatch %s: %v: %s", path, err, oneLine(string(ee.Stderr)))
		}
		return fmt.Errorf("sbatch %s: %v", path, err)
	}
	job, err := slurm.ParseJobID(string(out))
	if err != nil {
		return err
	}
	jobs := append(readJobs(p.dir), jobRecord{Figure: p.g.Figure, JobID: job, Array: s.Array, Rows: submit, Script: path,
		Submitted: time.Now().UTC().Format(time.RFC3339)})
	if err := writeJobs(p.dir, jobs); err != nil {
		return fmt.Errorf("job %s is submitted, but recording it failed: %v", job, err)
	}
	res["job_id"], res["submitted"] = job, true
	fmt.Fprintf(p.e.stderr, "submitted job array %s (%d tasks); follow it with 'h2arnn reproduce -status %s', then draw the figures with 'h2arnn collect %s'\n", job, len(submit), p.dir, p.dir)
	return p.e.emit(res)
}
