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

	"github.com/h2arnn/h2arnn/internal/grid"
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
// those an earlier submission has queued or running) and submits it: one
// array for the rows that can start now and, if some rows need runs not
// yet complete, a second array of the same script that SLURM holds until
// the jobs making those runs have succeeded (--dependency=afterok).
func (p *reproduction) slurm(todo []int, est *estimate) error {
	view, _ := querySlurm(p.dir)
	index := map[string]int{}
	for i, r := range p.g.Rows {
		index[r.ID] = i
	}
	active := map[int]string{} // row → job id of its queued or running task
	var submit []int
	for _, i := range todo {
		if t := view.task(p.g.Figure, i); t != nil && t.active() {
			active[i] = t.Job
			continue
		}
		submit = append(submit, i)
	}
	complete := func(i int) bool { return !slices.Contains(todo, i) }
	var now, later []int // rows that can start now, rows that need others first
	for _, i := range submit {
		if slices.ContainsFunc(p.g.Rows[i].Needs, func(id string) bool { return !complete(index[id]) }) {
			later = append(later, i)
		} else {
			now = append(now, i)
		}
	}
	res := map[string]any{"figure": p.g.Figure, "tasks": len(submit), "queued": len(active), "submitted": false}
	if len(submit) == 0 {
		fmt.Fprintf(p.e.stderr, "nothing to submit: %d runs complete, %d queued or running\n", len(p.g.Rows)-len(todo), len(active))
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
			"Array task i runs grid row i: 'h2arnn COMMAND FLAGS -out RUNS/ID', skipped if complete,",
			"resumed from its checkpoint if interrupted. Written by h2arnn " + buildVersion().Version + "; running",
			"'h2arnn reproduce' again writes and submits a new script for the rows not yet complete.",
		},
		Bin: p.rf.bin, RunsDir: filepath.Join(dir, runsSubdir), LogsDir: filepath.Join(dir, logsSubdir),
		CPUs: p.rf.workers, MemMB: est.memMB, Time: est.timeLimit(submit), Extra: p.rf.slurmOpts,
	}
	for i, r := range p.g.Rows {
		args := slices.Clone(r.Args)
		for k, a := range args {
			if id, ok := grid.RunDirID(a); ok {
				args[k] = slurm.RunsVar + id
			}
		}
		s.Tasks = append(s.Tasks, slurm.Task{Index: i, ID: r.ID, Command: r.Command, Args: args})
	}
	nowSpec, laterSpec := slurm.ArraySpec(now, p.rf.jobs), slurm.ArraySpec(later, p.rf.jobs)
	s.Array = nowSpec
	if s.Array == "" {
		s.Array = laterSpec
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
	// The jobs the later rows wait for: this submission's first array if
	// it makes one of their needs, and the earlier jobs running others.
	needsNow := false
	var waitFor []string
	for _, i := range later {
		for _, id := range p.g.Rows[i].Needs {
			k := index[id]
			needsNow = needsNow || slices.Contains(now, k)
			if j, ok := active[k]; ok && !slices.Contains(waitFor, j) {
				waitFor = append(waitFor, j)
			}
		}
	}
	laterArgs := func(first string) []string {
		deps := slices.Clone(waitFor)
		if needsNow {
			deps = append([]string{first}, deps...)
		}
		a := []string{"--array=" + laterSpec}
		if len(deps) > 0 {
			a = append(a, "--dependency=afterok:"+strings.Join(deps, ":"), "--kill-on-invalid-dep=yes")
		}
		return append(a, path)
	}
	if p.rf.printOnly {
		cmds := []string{"sbatch " + path}
		if len(now) > 0 && len(later) > 0 {
			cmds = append(cmds, "sbatch "+strings.Join(laterArgs("<job id of the first>"), " "))
		}
		res["commands"] = cmds
		fmt.Fprintf(p.e.stderr, "wrote %s; submit it with '%s'\n", path, strings.Join(cmds, "', then '"))
		return p.e.emit(res)
	}
	jobs := readJobs(p.dir)
	submitArray := func(rows []int, spec string, args ...string) (string, error) {
		out, err := exec.CommandContext(p.e.ctx, "sbatch", append([]string{"--parsable"}, args...)...).Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return "", fmt.Errorf("sbatch %s: %v: %s", strings.Join(args, " "), err, oneLine(string(ee.Stderr)))
			}
			return "", fmt.Errorf("sbatch %s: %v", strings.Join(args, " "), err)
		}
		job, err := slurm.ParseJobID(string(out))
		if err != nil {
			return "", err
		}
		jobs = append(jobs, jobRecord{Figure: p.g.Figure, JobID: job, Array: spec, Rows: rows, Script: path,
			Submitted: time.Now().UTC().Format(time.RFC3339)})
		if err := writeJobs(p.dir, jobs); err != nil {
			return "", fmt.Errorf("job %s is submitted, but recording it failed: %v", job, err)
		}
		return job, nil
	}
	first := ""
	if len(now) > 0 {
		job, err := submitArray(now, nowSpec, path)
		if err != nil {
			return err
		}
		first = job
		res["job_id"] = job
	}
	if len(later) > 0 {
		job, err := submitArray(later, laterSpec, laterArgs(first)...)
		if err != nil {
			return err
		}
		res["dependent_job_id"], res["dependent_array"] = job, laterSpec
		if first == "" {
			res["job_id"] = job
		}
	}
	res["submitted"] = true
	fmt.Fprintf(p.e.stderr, "submitted %d tasks; follow them with 'h2arnn reproduce -status %s', then draw the figures with 'h2arnn collect %s'\n", len(submit), p.dir, p.dir)
	return p.e.emit(res)
}
