package driver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/h2arnn/h2arnn/internal/grid"
	"github.com/h2arnn/h2arnn/output"
)

// A reproduction directory DIR holds:
//
//	grid_<figure>.json   the grid of each figure reproduced there (gridFile)
//	runs/<id>/           one ordinary run directory (train, mcmc, fit) per grid row
//	logs/<id>.out, .err  the run's standard output and error, appended across attempts
//	logs/<id>.json       the last local attempt (exit status, times, peak memory)
//	slurm/<figure>.sh    the job-array script; slurm/jobs.json the submitted jobs
//	.lock                held while a reproduce command works in DIR (output.LockDir)
const (
	runsSubdir  = "runs"
	logsSubdir  = "logs"
	slurmSubdir = "slurm"
)

// gridFile is grid_<figure>.json: the grid as it was when the reproduction
// started, so that collect reads what was run and a later version of the
// grid cannot silently mix with it.
type gridFile struct {
	Format int         `json:"format"`
	Figure string      `json:"figure"`
	Scale  string      `json:"scale"`
	Layout grid.Layout `json:"layout"`
	Rows   []grid.Row  `json:"rows"`
}

const gridFileFormat = 1

func gridFileName(figure string) string { return "grid_" + figure + ".json" }

func newGridFile(g *grid.Grid) *gridFile {
	return &gridFile{Format: gridFileFormat, Figure: g.Figure, Scale: g.Scale, Layout: g.Layout, Rows: g.Rows}
}

// readGridFiles reads every grid_<figure>.json of dir, in figure order.
func readGridFiles(dir string) ([]*gridFile, error) {
	names, err := filepath.Glob(filepath.Join(dir, "grid_*.json"))
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	var out []*gridFile
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var gf gridFile
		if err := json.Unmarshal(b, &gf); err != nil {
			return nil, usagef("%s is not a grid file (%v)", name, err)
		}
		if gf.Format != gridFileFormat {
			return nil, usagef("%s has format %d, this version reads format %d", name, gf.Format, gridFileFormat)
		}
		out = append(out, &gf)
	}
	return out, nil
}

// buildGrid returns the grid of a figure at a scale (tests replace it with
// smaller grids).
var buildGrid = grid.Build

// reproduceFlags are the flags of `h2arnn reproduce`.
type reproduceFlags struct {
	out, scale, executor, bin, status string
	jobs, workers                     int
	printOnly                         bool
	slurmOpts                         stringList
}

// stringList is a repeatable string flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, " ") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func runReproduce(args []string, e *env) error {
	fs := newFlagSet("reproduce", "fig4|fig5|fig6 -out DIR [-scale smoke|small|paper] [-executor local|slurm] [flags]\n       h2arnn reproduce -status DIR",
		"Runs the grid of runs behind one of the paper's figures (SPEC §5-6): fig4, Curie-Weiss (cw_n,\n"+
			"cw_inf, 1p, 1l, MADE depth 2 width 1 and 2; N = 20-200, and 400, 800 for the small nets); fig5,\n"+
			"Sherrington-Kirkpatrick (sk_rs, sk_1rsb, sk_2rsb, 1l, MADE depth 2 width 3 and depth 3 width 2;\n"+
			"N = 20-200, 10 instances); fig6, learning from data (Monte Carlo samples of SK N = 100 at β = 2 with\n"+
			"'h2arnn mcmc', then 'h2arnn fit' of sk_1rsb with learned couplings and of plm on them). -scale paper\n"+
			"is the paper's grid and protocol (hundreds of CPU hours for fig5), small shrinks N, instances and\n"+
			"steps to under an hour on two cores, smoke checks the machinery in seconds. Every run is an\n"+
			"ordinary run directory DIR/runs/<id> of train, mcmc or fit: invoking the same command again skips\n"+
			"the finished runs and resumes the interrupted ones from their checkpoints; a run that needs another\n"+
			"(a fit its samples) starts once that one is complete. Draw the figures with 'h2arnn collect DIR'.\n"+
			"\n"+
			"Before anything runs, a short calibration (one 'h2arnn bench' per kind of run, in processor time)\n"+
			"estimates the CPU hours (an upper bound: every β is assumed to take its full step budget) and, for\n"+
			"slurm, the memory (from a miniature run of each kind); the plan is printed as one JSON line\n"+
			"{\"figure\",\"scale\",\"runs\",\"done\",\"to_run\",\"cpu_hours\",\"cpu_hours_left\",...}.\n"+
			"\n"+
			"-executor local runs -jobs runs at a time on this machine, each a process of this binary with\n"+
			"-workers threads, longest first, and prints one JSON line per finished run {\"id\",\"status\",\"exit\",\n"+
			"\"seconds\",\"cpu_seconds\",\"peak_rss_mb\",\"est_seconds\"}; Ctrl-C checkpoints the running ones and exits\n"+
			"with status 130.\n"+
			"-executor slurm writes DIR/slurm/<figure>.sh, a job array with one task per run still to do\n"+
			"(--cpus-per-task = -workers, --mem and --time from the calibration, at most -jobs tasks at once,\n"+
			"rows that need other runs in a second array held by --dependency=afterok), and submits it with\n"+
			"sbatch; -print-only writes it without submitting (with -executor local it prints each run's command\n"+
			"line instead). 'h2arnn reproduce -status DIR' prints one JSON line per run {\"figure\",\"id\",\"status\",\n"+
			"\"betas_done\",\"betas\",\"detail\"} with status done, running, pending, interrupted or failed, read from\n"+
			"the run directories and, when present, squeue and sacct, then one line of totals.", e.stderr)
	var rf reproduceFlags
	fs.StringVar(&rf.out, "out", "", "reproduction `DIR` (created if missing); re-use it to resume")
	fs.StringVar(&rf.scale, "scale", grid.Small, "grid size: "+strings.Join(grid.Scales(), "|")+" (paper: the paper's protocol, hundreds of CPU hours)")
	fs.StringVar(&rf.executor, "executor", "local", "where the runs go: local (this machine) or slurm (a job array submitted with sbatch)")
	fs.IntVar(&rf.jobs, "jobs", 0, "runs at a time (local; 0 = cores / -workers) or the array's task limit %P (slurm; 0 = none)")
	fs.IntVar(&rf.workers, "workers", 1, "threads of each run (train -workers; results do not depend on it); slurm's --cpus-per-task")
	fs.BoolVar(&rf.printOnly, "print-only", false, "do not run: write the SLURM script without submitting it, or (local) print each run's command")
	fs.Var(&rf.slurmOpts, "slurm-opt", "extra sbatch `OPTION` for the script, e.g. --partition=short or --account=phys (repeatable)")
	fs.StringVar(&rf.bin, "bin", "", "the h2arnn `BINARY` the runs call (default: this executable); for slurm, its path on the compute nodes")
	fs.StringVar(&rf.status, "status", "", "print the state of every run of the reproduction in `DIR` and exit")
	pos, err := fs.parsePositional(args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("give one figure, not %q; run the command once per figure", strings.Join(pos, " "))
	}
	figure := ""
	if len(pos) == 1 {
		figure = pos[0]
	}
	if rf.status != "" {
		if figure != "" || rf.out != "" {
			return usagef("-status takes only the directory; drop %q and -out", figure)
		}
		return reproduceStatus(rf.status, e)
	}
	if figure == "" {
		return usagef("no figure given; give one of %s, e.g. 'h2arnn reproduce fig4 -out DIR'", strings.Join(grid.Figures(), ", "))
	}
	if rf.out == "" {
		return usagef("no -out given; give the reproduction directory, e.g. -out repro")
	}
	g, err := buildGrid(figure, rf.scale)
	if err != nil {
		return asUsage(err)
	}
	switch {
	case rf.executor != "local" && rf.executor != "slurm":
		return usagef("-executor %q is not known; give -executor local or slurm", rf.executor)
	case rf.workers < 1:
		return usagef("-workers %d: give at least 1 thread per run", rf.workers)
	case rf.jobs < 0:
		return usagef("-jobs %d: give a number of runs ≥ 1, or 0 for the default", rf.jobs)
	case len(rf.slurmOpts) > 0 && rf.executor != "slurm":
		return usagef("-slurm-opt applies only to -executor slurm; drop it or add -executor slurm")
	}
	for _, o := range rf.slurmOpts {
		if !strings.HasPrefix(o, "-") || strings.ContainsAny(o, "\n\r") {
			return usagef("-slurm-opt %q: give one sbatch option per flag, such as --partition=short", o)
		}
	}
	if rf.jobs == 0 && rf.executor == "local" {
		rf.jobs = max(1, runtime.NumCPU()/rf.workers)
	}
	bin, err := runsBinary(rf.bin, rf.executor == "slurm")
	if err != nil {
		return err
	}
	rf.bin = bin
	if err := os.MkdirAll(filepath.Join(rf.out, runsSubdir), 0o755); err != nil {
		return usagef("-out %s: %v; give a writable directory", rf.out, err)
	}
	if err := os.MkdirAll(filepath.Join(rf.out, logsSubdir), 0o755); err != nil {
		return usagef("-out %s: %v; give a writable directory", rf.out, err)
	}
	// One reproduce at a time in a directory: two would start the same runs.
	lock, err := output.LockDir(rf.out)
	if errors.Is(err, output.ErrLocked) {
		return usagef("-out %s: another 'h2arnn reproduce' works there (%v); wait for it or stop it first", rf.out, err)
	}
	if err != nil {
		return fmt.Errorf("-out %s: %v", rf.out, err)
	}
	defer lock.Unlock()
	gf, err := ensureGridFile(rf.out, g)
	if err != nil {
		return err
	}
	p := &reproduction{e: e, rf: &rf, g: gf, dir: rf.out}
	return p.run()
}

// runsBinary returns the absolute path of the binary the runs call. The
// default is this executable, which must be the h2arnn command (or a
// program that hands its arguments to driver.Main). A binary that 'go run'
// built lives in a temporary directory that disappears when the command
// ends, which a job array that runs later cannot use.
func runsBinary(flagValue string, forLater bool) (string, error) {
	bin := flagValue
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", fmt.Errorf("cannot find this executable (%v); give -bin PATH of the h2arnn binary", err)
		}
		bin = exe
		if forLater && strings.Contains(filepath.ToSlash(exe), "/go-build") {
			return "", usagef("this h2arnn is a temporary binary of 'go run' (%s), gone before the jobs start; install it ('go install ./cmd/h2arnn') or give -bin PATH", exe)
		}
	} else if fi, err := os.Stat(bin); err != nil || fi.IsDir() {
		return "", usagef("-bin %s: no such file; give the path of the h2arnn binary", bin)
	}
	return absPath(bin), nil
}

// ensureGridFile writes DIR/grid_<figure>.json for a new reproduction, or
// checks that the one there is the same grid.
func ensureGridFile(dir string, g *grid.Grid) (*gridFile, error) {
	gf := newGridFile(g)
	files, err := readGridFiles(dir)
	if err != nil {
		return nil, err
	}
	for _, old := range files {
		if old.Scale != g.Scale {
			return nil, usagef("%s holds the %s scale of %s; a directory holds one scale, give another -out for -scale %s", dir, old.Scale, old.Figure, g.Scale)
		}
		if old.Figure == g.Figure && !reflect.DeepEqual(old, gf) {
			return nil, usagef("%s holds another grid of %s at scale %s (written by another version of h2arnn?); give another -out", filepath.Join(dir, gridFileName(g.Figure)), g.Figure, g.Scale)
		}
		if old.Figure == g.Figure {
			return old, nil
		}
	}
	b, err := json.MarshalIndent(gf, "", "  ")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, gridFileName(g.Figure))
	err = output.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(append(b, '\n'))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("writing %s: %v", path, err)
	}
	return gf, nil
}

// runState is what a run directory says about its run.
type runState struct {
	// Summary is the status in summary.json: running, interrupted, failed,
	// complete, or "" if there is none.
	Summary       string
	HasCheckpoint bool
	// BetasDone counts the rows of stats.csv.
	BetasDone int
}

func (s runState) complete() bool { return s.Summary == "complete" }

func readRunState(dir string) runState {
	var s runState
	if b, err := os.ReadFile(filepath.Join(dir, output.SummaryFile)); err == nil {
		var v struct {
			Status string `json:"status"`
		}
		if json.Unmarshal(b, &v) == nil {
			s.Summary = v.Status
		}
	}
	for _, name := range []string{checkpointFile, jsonCheckpointFile} { // train's; fit's and mcmc's
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			s.HasCheckpoint = true
		}
	}
	if rows, _, err := output.ReadStats(filepath.Join(dir, output.StatsFile)); err == nil {
		s.BetasDone = len(rows)
	}
	return s
}

// runArgv returns the command line (without the binary) that advances the
// run of row, whose directory dir is in state s: resume it from its
// checkpoint, or start it, with the run directories of the rows it names
// under runs.
func runArgv(row grid.Row, dir string, s runState, workers int, runs string) []string {
	tail := []string{"-workers", strconv.Itoa(workers), "-quiet"}
	if s.HasCheckpoint {
		return append([]string{row.Command, "-resume", dir}, tail...)
	}
	a := []string{row.Command}
	for _, arg := range row.Args {
		if id, ok := grid.RunDirID(arg); ok {
			arg = filepath.Join(runs, id)
		}
		a = append(a, arg)
	}
	a = append(a, "-out", dir)
	return append(a, tail...)
}

// reproduction is one invocation of reproduce on a figure.
type reproduction struct {
	e   *env
	rf  *reproduceFlags
	g   *gridFile
	dir string
}

func (p *reproduction) runDir(id string) string { return filepath.Join(p.dir, runsSubdir, id) }
func (p *reproduction) logPath(id, ext string) string {
	return filepath.Join(p.dir, logsSubdir, id+ext)
}

// planResult is the JSON line printed before anything runs.
type planResult struct {
	Figure        string  `json:"figure"`
	Scale         string  `json:"scale"`
	Dir           string  `json:"dir"`
	Executor      string  `json:"executor"`
	Runs          int     `json:"runs"`
	Done          int     `json:"done"`
	ToRun         int     `json:"to_run"`
	Resume        int     `json:"resume"`
	CPUHours      float64 `json:"cpu_hours"`
	CPUHoursLeft  float64 `json:"cpu_hours_left"`
	Jobs          int     `json:"jobs"`
	Workers       int     `json:"workers"`
	WallHoursLeft float64 `json:"wall_hours_left,omitempty"`
	MemMB         int     `json:"mem_mb,omitempty"`
	CalibSeconds  float64 `json:"calibration_seconds"`
}

func (p *reproduction) run() error {
	rf := p.rf
	states := make([]runState, len(p.g.Rows))
	var todo []int
	plan := planResult{Figure: p.g.Figure, Scale: p.g.Scale, Dir: p.dir, Executor: rf.executor, Runs: len(p.g.Rows), Jobs: rf.jobs, Workers: rf.workers}
	for i, r := range p.g.Rows {
		states[i] = readRunState(p.runDir(r.ID))
		if states[i].complete() {
			plan.Done++
			continue
		}
		todo = append(todo, i)
		if states[i].HasCheckpoint {
			plan.Resume++
		}
	}
	plan.ToRun = len(todo)
	est, err := p.estimate(todo, rf.executor == "slurm")
	if err != nil {
		return err
	}
	plan.CPUHours, plan.CPUHoursLeft, plan.MemMB, plan.CalibSeconds = est.cpuHours, est.cpuHoursLeft, est.memMB, est.calibration.Seconds()
	if rf.executor == "local" {
		plan.WallHoursLeft = est.wallHours(todo, rf.jobs)
	}
	mem := ""
	if plan.MemMB > 0 {
		mem = fmt.Sprintf(", %d MB per run", plan.MemMB)
	}
	fmt.Fprintf(p.e.stderr, "h2arnn reproduce %s (%s): %d runs, %d done, %d to run (%d to resume); estimated %.3g CPU hours in all, %.3g left (an upper bound: no early stopping)%s; calibration took %.1f s\n",
		plan.Figure, plan.Scale, plan.Runs, plan.Done, plan.ToRun, plan.Resume, plan.CPUHours, plan.CPUHoursLeft, mem, plan.CalibSeconds)
	if err := p.e.emit(plan); err != nil {
		return err
	}
	if rf.executor == "slurm" {
		return p.slurm(todo, est)
	}
	if rf.printOnly {
		for _, i := range todo {
			r := p.g.Rows[i]
			argv := append([]string{rf.bin}, runArgv(r, p.runDir(r.ID), states[i], rf.workers, filepath.Join(p.dir, runsSubdir))...)
			if err := p.e.emit(map[string]any{"id": r.ID, "argv": argv, "est_seconds": est.rowSeconds[i]}); err != nil {
				return err
			}
		}
		return nil
	}
	return p.local(todo, states, est)
}

// reproduceStatus prints the state of every run in dir.
func reproduceStatus(dir string, e *env) error {
	files, err := readGridFiles(dir)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			return usagef("-status %s: no such directory", dir)
		}
		return usagef("-status %s: no grid_<figure>.json in it; give a directory written by 'h2arnn reproduce'", dir)
	}
	// A local reproduce holds the lock while its runs work.
	localActive := false
	if l, err := output.LockDir(dir); errors.Is(err, output.ErrLocked) {
		localActive = true
	} else if err == nil {
		l.Unlock()
	}
	sched, schedErr := querySlurm(dir)
	counts := map[string]int{}
	for _, gf := range files {
		p := &reproduction{e: e, g: gf, dir: dir}
		for i, r := range gf.Rows {
			s := readRunState(p.runDir(r.ID))
			st, detail := rowStatus(s, localActive, sched.task(gf.Figure, i), readAttempt(p.logPath(r.ID, ".json")))
			counts[st]++
			line := map[string]any{"figure": gf.Figure, "id": r.ID, "status": st}
			if r.Command == "train" {
				line["betas_done"], line["betas"] = s.BetasDone, r.Protocol.BetaCount
			}
			if detail != "" {
				line["detail"] = detail
			}
			if err := e.emit(line); err != nil {
				return err
			}
		}
	}
	total := map[string]any{"dir": dir, "runs": 0}
	n := 0
	for _, k := range []string{"done", "running", "pending", "interrupted", "failed"} {
		total[k] = counts[k]
		n += counts[k]
	}
	total["runs"] = n
	if schedErr != "" {
		total["slurm"] = schedErr
	}
	return e.emit(total)
}

// rowStatus combines what is known of a run into one of done, running,
// pending, interrupted or failed, with a detail for the last two.
func rowStatus(s runState, localActive bool, slurm *slurmTask, last *attempt) (status, detail string) {
	switch {
	case s.complete():
		return "done", ""
	case slurm != nil && slurm.active():
		if slurm.State == "PENDING" {
			return "pending", "slurm job " + slurm.Job
		}
		return "running", "slurm job " + slurm.Job
	case localActive && s.Summary == "running":
		return "running", ""
	case s.Summary == "failed":
		return "failed", "summary.json says failed; see its \"error\""
	}
	if slurm != nil && slurm.failed() {
		return "failed", fmt.Sprintf("slurm job %s: %s, exit %d", slurm.Job, slurm.State, slurm.Exit)
	}
	if slurm == nil && last != nil && last.Exit != 0 && last.Exit != exitSignal {
		return "failed", fmt.Sprintf("exit status %d; see logs/%s.err", last.Exit, last.ID)
	}
	if s.HasCheckpoint {
		return "interrupted", ""
	}
	return "pending", ""
}
