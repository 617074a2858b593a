// Package slurm writes SLURM job-array scripts for a grid of h2arnn runs and
// reads the scheduler's answers (sbatch --parsable, squeue, sacct). It knows
// nothing of the runs themselves: a task is an id and a command line.
//
// The script of a grid has one case per grid row, selected by
// SLURM_ARRAY_TASK_ID, so that the array index of a task is the row's index
// in the grid and a re-submission can name just the rows still to run
// (--array=3,7-9). Each case calls the shell function run, which makes a
// task idempotent: it skips a run directory whose summary.json says the run
// is complete, resumes one that holds a checkpoint with `-resume`, and
// otherwise starts the run. The h2arnn process replaces the shell (exec), so
// the SIGTERM that SLURM sends at the time limit or on scancel reaches it
// directly and it writes a checkpoint before it exits.
package slurm

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Task is one grid row: its array index, the name of its run directory,
// the h2arnn subcommand and the flags that start it (without -out,
// -workers and -quiet). An argument RunsVar+id is written as the run
// directory of id ("$runs"/id).
type Task struct {
	Index   int
	ID      string
	Command string
	Args    []string
}

// RunsVar starts a Task argument that names a run directory.
const RunsVar = "$runs/"

// Script is a job-array script.
type Script struct {
	// JobName is #SBATCH --job-name.
	JobName string
	// Comment is written on the lines after #!/bin/bash, each prefixed "# ".
	Comment []string
	// Bin is the absolute path of the h2arnn binary on the compute nodes.
	Bin string
	// RunsDir holds the run directories (<RunsDir>/<id>); LogsDir the
	// standard output and error of each run (<id>.out, <id>.err, appended
	// across attempts) and SLURM's own messages (slurm_<job>_<task>.out).
	RunsDir, LogsDir string
	// Array is the --array value (see ArraySpec).
	Array string
	// CPUs is --cpus-per-task, also the -workers of every run.
	CPUs int
	// MemMB is --mem in megabytes.
	MemMB int
	// Time is --time.
	Time time.Duration
	// Extra are further sbatch options (e.g. "--partition=short"), written
	// as #SBATCH lines after the generated ones, so that where sbatch takes
	// the last occurrence of an option they override it.
	Extra []string
	// Tasks are all rows of the grid; the array selects which run.
	Tasks []Task
}

// Write writes the script.
func (s *Script) Write(w io.Writer) error {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	for _, c := range s.Comment {
		b.WriteString(strings.TrimRight("# "+c, " ") + "\n")
	}
	sb := func(opt string) { b.WriteString("#SBATCH " + opt + "\n") }
	sb("--job-name=" + s.JobName)
	sb("--array=" + s.Array)
	sb("--ntasks=1")
	sb("--cpus-per-task=" + strconv.Itoa(s.CPUs))
	sb("--mem=" + strconv.Itoa(s.MemMB) + "M")
	sb("--time=" + FormatTime(s.Time))
	out := s.LogsDir + "/slurm_%A_%a.out"
	if strings.ContainsAny(out, " \t") {
		// sbatch reads #SBATCH lines with shell-like double quotes.
		out = `"` + out + `"`
	}
	sb("--output=" + out)
	for _, e := range s.Extra {
		sb(e)
	}
	fmt.Fprintf(&b, `
set -u
bin=%s
runs=%s
logs=%s
workers=%d

# run ID COMMAND FLAGS...: skip the run if DIR/runs/ID is complete, resume it
# if it holds a checkpoint (train's checkpoint.h2arnn, fit's and mcmc's
# checkpoint.json), else start it with 'h2arnn COMMAND FLAGS'; its
# output is appended to logs/ID.out and logs/ID.err.
run() {
	id=$1
	cmd=$2
	shift 2
	dir="$runs/$id"
	if grep -qs '"status": "complete"' "$dir/summary.json"; then
		echo "$id: already complete"
		exit 0
	fi
	mkdir -p "$logs"
	echo "$id: task $SLURM_ARRAY_TASK_ID of job $SLURM_ARRAY_JOB_ID on $(hostname)"
	if [ -f "$dir/checkpoint.h2arnn" ] || [ -f "$dir/checkpoint.json" ]; then
		exec "$bin" "$cmd" -resume "$dir" -workers "$workers" -quiet >>"$logs/$id.out" 2>>"$logs/$id.err"
	fi
	exec "$bin" "$cmd" "$@" -out "$dir" -workers "$workers" -quiet >>"$logs/$id.out" 2>>"$logs/$id.err"
}

case "$SLURM_ARRAY_TASK_ID" in
`, Quote(s.Bin), Quote(s.RunsDir), Quote(s.LogsDir), s.CPUs)
	for _, t := range s.Tasks {
		q := make([]string, len(t.Args))
		for i, a := range t.Args {
			q[i] = Quote(a)
			if id, ok := strings.CutPrefix(a, RunsVar); ok {
				q[i] = `"$runs"/` + Quote(id)
			}
		}
		fmt.Fprintf(&b, "%d) run %s %s %s ;;\n", t.Index, Quote(t.ID), Quote(t.Command), strings.Join(q, " "))
	}
	b.WriteString("*) echo \"no grid row $SLURM_ARRAY_TASK_ID in this script\" >&2; exit 2 ;;\nesac\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// Quote returns s as one shell word: unchanged if it holds only characters
// that need no quoting, else in single quotes.
func Quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./,=:+%@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// ArraySpec returns the --array value for the task indices: sorted,
// consecutive runs written as ranges ("0-4,7,9-11"), followed by "%P" when
// parallel > 0 (at most P tasks at a time). It is empty for no indices.
func ArraySpec(indices []int, parallel int) string {
	idx := slices.Clone(indices)
	slices.Sort(idx)
	idx = slices.Compact(idx)
	var parts []string
	for i := 0; i < len(idx); {
		j := i
		for j+1 < len(idx) && idx[j+1] == idx[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(idx[i]))
		} else {
			parts = append(parts, strconv.Itoa(idx[i])+"-"+strconv.Itoa(idx[j]))
		}
		i = j + 1
	}
	s := strings.Join(parts, ",")
	if s != "" && parallel > 0 {
		s += "%" + strconv.Itoa(parallel)
	}
	return s
}

// FormatTime writes d as SLURM's days-hours:minutes:seconds, rounded up to
// a whole minute, at least one minute.
func FormatTime(d time.Duration) string {
	m := int64((d + time.Minute - 1) / time.Minute)
	if m < 1 {
		m = 1
	}
	return fmt.Sprintf("%d-%02d:%02d:00", m/(24*60), m/60%24, m%60)
}

// ParseJobID reads the job id from the output of sbatch --parsable
// ("<id>" or "<id>;<cluster>").
func ParseJobID(out string) (string, error) {
	s := strings.TrimSpace(out)
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	if _, err := strconv.ParseUint(s, 10, 64); err != nil {
		return "", fmt.Errorf("sbatch printed %q, not a job id", strings.TrimSpace(out))
	}
	return s, nil
}

// TaskState is what the scheduler says of one array task.
type TaskState struct {
	// State is squeue's or sacct's state name (PENDING, RUNNING,
	// COMPLETED, FAILED, TIMEOUT, CANCELLED, OUT_OF_MEMORY, ...).
	State string
	// Exit is the task's exit status (sacct's ExitCode before the colon),
	// -1 if not given.
	Exit int
}

// ParseStates reads "<jobid>_<task>|<STATE>[|<exit>:<signal>]" lines, as
// printed by `squeue -h -r -o %i|%T` and
// `sacct -n -P -X -o JobID,State,ExitCode`, into a map from job id to task
// index to state. Lines of other shapes (a job that is not an array, an
// unexpanded range "123_[4-9]", sacct's step lines) are skipped; sacct's
// "CANCELLED by 0" becomes "CANCELLED".
func ParseStates(out string) map[string]map[int]TaskState {
	res := map[string]map[int]TaskState{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) < 2 {
			continue
		}
		job, task, ok := strings.Cut(f[0], "_")
		if !ok {
			continue
		}
		k, err := strconv.Atoi(task)
		if err != nil {
			continue
		}
		st := TaskState{Exit: -1}
		if w := strings.Fields(f[1]); len(w) > 0 {
			st.State = w[0]
		}
		if len(f) > 2 {
			code, _, _ := strings.Cut(f[2], ":")
			if v, err := strconv.Atoi(code); err == nil {
				st.Exit = v
			}
		}
		if res[job] == nil {
			res[job] = map[int]TaskState{}
		}
		res[job][k] = st
	}
	return res
}

// Active reports whether the task is queued or running: submitting it
// again would run the same directory twice.
func (t TaskState) Active() bool {
	switch t.State {
	case "PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING", "STAGE_OUT":
		return true
	}
	return false
}

// Failed reports whether the task ended in a failure that a resubmission
// would not cure by itself: an error exit (not 130, the interrupt that the
// time limit and scancel cause) or a kill for lack of memory.
func (t TaskState) Failed() bool {
	switch t.State {
	case "OUT_OF_MEMORY", "BOOT_FAIL", "NODE_FAIL":
		return true
	case "FAILED":
		return t.Exit != 130
	}
	return false
}
