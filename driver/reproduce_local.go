package driver

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/h2arnn/h2arnn/output"
)

// The local executor runs each grid row as a child process of the h2arnn
// binary (`h2arnn train …`), not as a call of runTrain in this process:
//
//   - the child runs exactly the command line the SLURM script runs, so
//     both executors produce the same files, bit for bit;
//   - a run that crashes or runs out of memory takes only itself down, and
//     its memory goes back to the system when it ends;
//   - its exit status (0, 1, 2 or 130) is the train command's own, and the
//     operating system measures its CPU time and peak memory, which the
//     next SLURM submission uses for --mem;
//   - an interrupt is one SIGINT sent to each child, the same signal a
//     terminal sends to `h2arnn train`: it checkpoints and exits with 130.
//     Children run in their own process group so that Ctrl-C on the
//     terminal reaches them only through reproduce (a second SIGINT would
//     kill them before the checkpoint), and on Linux they receive SIGTERM
//     if reproduce itself dies, so that no orphan keeps writing a run
//     directory that a new reproduce would start again.

// killGrace is how long an interrupted child may take to write its
// checkpoint (it stops at the next step, which can take seconds for a large
// net, or after the evaluation batch) before it is killed; a killed run
// resumes from its last periodic checkpoint.
const killGrace = 2 * time.Minute

// attempt is DIR/logs/<id>.json: the last local attempt at a run.
type attempt struct {
	row        int      // index in the grid
	ID         string   `json:"id"`
	Status     string   `json:"status"`
	Exit       int      `json:"exit"`
	Argv       []string `json:"argv"`
	Started    string   `json:"started"`
	Seconds    float64  `json:"seconds"`
	CPUSeconds float64  `json:"cpu_seconds"`
	PeakRSSMB  float64  `json:"peak_rss_mb"`
}

func readAttempt(path string) *attempt {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var a attempt
	if json.Unmarshal(b, &a) != nil {
		return nil
	}
	return &a
}

// localSummary is the last JSON line of a local reproduction.
type localSummary struct {
	Figure      string  `json:"figure"`
	Scale       string  `json:"scale"`
	Runs        int     `json:"runs"`
	Done        int     `json:"done"`
	Failed      int     `json:"failed"`
	Interrupted int     `json:"interrupted"`
	NotStarted  int     `json:"not_started"`
	Seconds     float64 `json:"seconds"`
}

// local runs the rows todo, -jobs at a time, longest first, each once the
// rows it needs are complete.
func (p *reproduction) local(todo []int, states []runState, est *estimate) error {
	ctx := p.e.ctx
	t0 := time.Now()
	pending := est.longestFirst(todo)
	complete := map[string]bool{}
	for i, r := range p.g.Rows {
		complete[r.ID] = states[i].complete()
	}
	ready := func(i int) bool {
		for _, id := range p.g.Rows[i].Needs {
			if !complete[id] {
				return false
			}
		}
		return true
	}
	results := make(chan *attempt)
	running := 0
	sum := localSummary{Figure: p.g.Figure, Scale: p.g.Scale, Runs: len(p.g.Rows), Done: len(p.g.Rows) - len(todo)}
	var failed []string
	var emitErr error
	finished := 0
	for {
		for running < p.rf.jobs && ctx.Err() == nil {
			k := slices.IndexFunc(pending, ready)
			if k < 0 {
				break
			}
			i := pending[k]
			pending = slices.Delete(pending, k, k+1)
			running++
			go func() { results <- p.runLocal(i, states[i]) }()
		}
		if running == 0 {
			break
		}
		a := <-results
		running--
		if a.Status == "not_started" {
			pending = append(pending, a.row) // picked up just as the interrupt came
			continue
		}
		finished++
		switch a.Status {
		case "done":
			sum.Done++
			complete[a.ID] = true
		case "interrupted", "killed":
			sum.Interrupted++
		default:
			sum.Failed++
			failed = append(failed, a.ID)
		}
		fmt.Fprintf(p.e.stderr, "[%d/%d] %s %s in %.1f s (exit %d)\n", finished, len(todo), a.ID, a.Status, a.Seconds, a.Exit)
		line := map[string]any{"id": a.ID, "status": a.Status, "exit": a.Exit, "seconds": a.Seconds,
			"cpu_seconds": a.CPUSeconds, "peak_rss_mb": a.PeakRSSMB, "est_seconds": est.rowSeconds[a.row]}
		if err := p.e.emit(line); err != nil && emitErr == nil {
			emitErr = err
		}
	}
	sum.NotStarted = len(pending)
	sum.Seconds = time.Since(t0).Seconds()
	if err := p.e.emit(sum); err != nil && emitErr == nil {
		emitErr = err
	}
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%w: %d runs checkpointed, %d not started; run the same command again to resume them", errInterrupted, sum.Interrupted, sum.NotStarted)
	case emitErr != nil:
		return emitErr
	case len(failed) > 0:
		blocked := ""
		if len(pending) > 0 {
			blocked = fmt.Sprintf(", and %d runs that need them were not started", len(pending))
		}
		return fmt.Errorf("%d of %d runs failed (%s)%s; their messages are in %s/<id>.err, and 'h2arnn reproduce -status %s' lists them", len(failed), len(todo), strings.Join(failed, ", "), blocked, logsSubdir, p.dir)
	case sum.Interrupted > 0:
		return fmt.Errorf("%d runs were interrupted from outside; run the same command again to resume them", sum.Interrupted)
	}
	fmt.Fprintf(p.e.stderr, "all %d runs of %s are complete; draw the figures with 'h2arnn collect %s'\n", sum.Runs, p.g.Figure, p.dir)
	return nil
}

// runLocal runs one row as a child process and records the attempt in
// DIR/logs/<id>.json.
func (p *reproduction) runLocal(i int, s runState) *attempt {
	row := p.g.Rows[i]
	dir := p.runDir(row.ID)
	argv := runArgv(row, dir, s, p.rf.workers, filepath.Join(p.dir, runsSubdir))
	a := &attempt{row: i, ID: row.ID, Argv: append([]string{p.rf.bin}, argv...), Exit: -1, Started: time.Now().UTC().Format(time.RFC3339)}
	fail := func(err error) *attempt {
		a.Status = "failed"
		fmt.Fprintf(p.e.stderr, "h2arnn reproduce: %s: %v\n", row.ID, err)
		return a
	}
	stdout, err := openAppend(p.logPath(row.ID, ".out"))
	if err != nil {
		return fail(err)
	}
	defer stdout.Close()
	stderr, err := openAppend(p.logPath(row.ID, ".err"))
	if err != nil {
		return fail(err)
	}
	defer stderr.Close()
	cmd := exec.CommandContext(p.e.ctx, p.rf.bin, argv...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Cancel = func() error { return interruptChild(cmd.Process) }
	cmd.WaitDelay = killGrace
	prepareChild(cmd)
	t0 := time.Now()
	runErr := runChild(cmd)
	a.Seconds = time.Since(t0).Seconds()
	if ps := cmd.ProcessState; ps != nil {
		a.Exit = ps.ExitCode()
		a.CPUSeconds = (ps.UserTime() + ps.SystemTime()).Seconds()
		a.PeakRSSMB = childPeakRSSMB(ps)
	}
	switch {
	case cmd.ProcessState == nil && p.e.ctx.Err() != nil:
		a.Status = "not_started"
		return a
	case a.Exit == exitOK && readRunState(dir).complete():
		a.Status = "done"
	case a.Exit == exitSignal:
		a.Status = "interrupted"
	case a.Exit == -1 && cmd.ProcessState != nil:
		a.Status = "killed" // by a signal: ours after killGrace, or another's
	default:
		a.Status = "failed"
		if cmd.ProcessState == nil {
			fmt.Fprintf(p.e.stderr, "h2arnn reproduce: %s: %v\n", row.ID, runErr)
		}
	}
	b, _ := json.MarshalIndent(a, "", "  ")
	if err := output.WriteFileAtomic(p.logPath(row.ID, ".json"), func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	}); err != nil {
		fmt.Fprintf(p.e.stderr, "h2arnn reproduce: %s: %v\n", row.ID, err)
	}
	return a
}

func openAppend(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
}
