package driver

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/h2arnn/h2arnn/internal/grid"
	"github.com/h2arnn/h2arnn/output"
)

// asBinaryEnv makes the test binary act as the h2arnn command: the local
// executor and the calibration start os.Executable(), which in a test is
// this binary, with this variable set (children inherit the environment).
const asBinaryEnv = "H2ARNN_TEST_AS_BINARY"

func TestMain(m *testing.M) {
	if os.Getenv(asBinaryEnv) == "1" {
		// What cmd/h2arnn/main.go does.
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		go func() {
			<-ctx.Done()
			stop()
		}()
		os.Exit(Main(ctx, os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// tinyProtocol trains for a few milliseconds with an evaluation batch and
// P(q) at every β.
var tinyProtocol = grid.Protocol{BetaStart: 0.5, BetaEnd: 1.5, BetaCount: 3, InitSteps: 20, MaxStep: 10, Batch: 32,
	LR: 1e-2, StdLimit: 0, StatsBatches: 3, EvalSamples: 64, OverlapBins: 10}

// useGrid makes reproduce build g (with its figure renamed to the one
// asked) for the rest of the test, and the test binary act as h2arnn.
func useGrid(t *testing.T, g *grid.Grid) {
	t.Helper()
	t.Setenv(asBinaryEnv, "1")
	old := buildGrid
	buildGrid = func(fig, scale string) (*grid.Grid, error) {
		if _, err := old(fig, scale); err != nil {
			return nil, err
		}
		c := *g
		c.Figure, c.Scale = fig, scale
		c.Rows = slices.Clone(g.Rows)
		for i := range c.Rows {
			c.Rows[i].Figure = fig
		}
		return &c, nil
	}
	t.Cleanup(func() { buildGrid = old })
}

// tinyCW is a grid of three CW N = 6 runs.
func tinyCW() *grid.Grid {
	g := &grid.Grid{Figure: "fig4", Layout: grid.Layout{PanelNs: []int{6}, ScalingNets: []string{"1p"}, OverlapN: 6, OverlapBeta: 1}}
	for _, net := range []grid.Net{{Label: "1p", Arch: "1p"}, {Label: "cw_inf", Arch: "cw_inf"}, {Label: "made_21", Arch: "made", Depth: 2, Width: 1}} {
		g.Rows = append(g.Rows, grid.NewTrainRow("t_"+net.Label, "cw", 6, 0, net, 3, tinyProtocol))
	}
	return g
}

func mainCtx(ctx context.Context, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

// trainRef runs the row in-process without interruption into dir: the
// reference a reproduce run must equal bit for bit.
func trainRef(t *testing.T, r grid.Row, dir string) {
	t.Helper()
	args := append(append([]string{"train"}, r.Args...), "-out", dir, "-quiet")
	if code, _, stderr := runCLI(args...); code != 0 {
		t.Fatalf("reference train: exit %d: %s", code, stderr)
	}
}

func TestReproduceLocal(t *testing.T) {
	g := tinyCW()
	useGrid(t, g)
	dir := t.TempDir()
	code, stdout, stderr := runCLI("reproduce", "fig4", "-scale", "smoke", "-out", dir, "-jobs", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := jsonLines(t, stdout)
	if len(lines) != 1+3+1 {
		t.Fatalf("%d lines: %s", len(lines), stdout)
	}
	plan := lines[0]
	if num(t, plan, "runs") != 3 || num(t, plan, "to_run") != 3 || num(t, plan, "done") != 0 || !(num(t, plan, "cpu_hours") > 0) || plan["mem_mb"] != nil {
		t.Errorf("plan %v", plan)
	}
	for _, l := range lines[1:4] {
		if l["status"] != "done" || num(t, l, "exit") != 0 {
			t.Errorf("run line %v", l)
		}
		if runtime.GOOS == "linux" && !(num(t, l, "peak_rss_mb") > 1) {
			t.Errorf("no peak memory measured: %v", l)
		}
	}
	if last := lines[4]; num(t, last, "done") != 3 || num(t, last, "failed") != 0 {
		t.Errorf("summary %v", last)
	}
	// The runs are exactly the rows' train runs.
	ref := t.TempDir()
	for _, r := range g.Rows {
		trainRef(t, r, filepath.Join(ref, r.ID))
		sameRunFiles(t, filepath.Join(ref, r.ID), filepath.Join(dir, runsSubdir, r.ID), 5) // samples.npy, 3 overlaps_b<k>, overlaps.csv
	}
	// Again: nothing to do, no run touched.
	att := filepath.Join(dir, logsSubdir, g.Rows[0].ID+".json")
	before, _ := os.ReadFile(att)
	code, stdout, stderr = runCLI("reproduce", "fig4", "-out", dir, "-scale", "smoke")
	if code != 0 {
		t.Fatalf("second reproduce: exit %d: %s", code, stderr)
	}
	lines = jsonLines(t, stdout)
	if len(lines) != 2 || num(t, lines[0], "to_run") != 0 || num(t, lines[0], "done") != 3 || num(t, lines[0], "cpu_hours_left") != 0 {
		t.Errorf("second reproduce printed %s", stdout)
	}
	if after, _ := os.ReadFile(att); !bytes.Equal(before, after) {
		t.Errorf("a complete run was run again")
	}
	code, stdout, _ = runCLI("reproduce", "-status", dir)
	lines = jsonLines(t, stdout)
	if code != 0 || len(lines) != 4 || lines[0]["status"] != "done" || num(t, lines[0], "betas_done") != 3 || num(t, lines[3], "done") != 3 {
		t.Errorf("status: %s", stdout)
	}
	checkCollect(t, dir, g)
}

// checkCollect runs collect on dir and checks results.csv against the
// runs' stats.csv, and that the figure files exist.
func checkCollect(t *testing.T, dir string, g *grid.Grid) {
	t.Helper()
	code, stdout, stderr := runCLI("collect", dir)
	if code != 0 {
		t.Fatalf("collect: exit %d: %s", code, stderr)
	}
	res := jsonLines(t, stdout)
	if len(res) != 1 || num(t, res[0], "complete") != float64(len(g.Rows)) || num(t, res[0], "missing") != 0 {
		t.Errorf("collect printed %s", stdout)
	}
	for _, f := range []string{"results.csv", "fig4.png", "fig4.svg", "fig4.csv"} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, tidyFile))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(recs[0], output.TidyColumns) {
		t.Fatalf("header %v", recs[0])
	}
	col := func(name string) int { return slices.Index(recs[0], name) }
	k := 1
	for _, r := range g.Rows {
		stats, _, err := output.ReadStats(filepath.Join(dir, runsSubdir, r.ID, output.StatsFile))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range stats {
			rec := recs[k]
			k++
			if rec[col("run")] != r.ID || rec[col("net")] != r.Net.Label || rec[col("n")] != strconv.Itoa(r.N) {
				t.Fatalf("row %d: %v, want run %s", k, rec, r.ID)
			}
			for name, want := range map[string]float64{"beta": s.Beta, "f": s.F, "f_std": s.FStd, "e": s.E, "s": s.S, "m_abs": s.MAbs, "f_exact": s.FExact, "rel_err": s.RelErr} {
				if got := mustFloat(rec[col(name)]); math.Float64bits(got) != math.Float64bits(want) {
					t.Errorf("%s β=%v %s: %v, stats.csv %v", r.ID, s.Beta, name, got, want)
				}
			}
		}
	}
	if k != len(recs) {
		t.Errorf("%d rows, want %d", len(recs)-1, k-1)
	}
}

// interruptedTrain runs the row in-process into dir and interrupts it
// after step steps of β index j, leaving a checkpoint to resume.
func interruptedTrain(t *testing.T, r grid.Row, dir string, j, steps int) {
	t.Helper()
	testStop = func(jj, s int, betaEnd bool) bool { return jj == j && s == steps && !betaEnd }
	defer func() { testStop = nil }()
	if code, _, stderr := runCLI(append(append([]string{"train"}, r.Args...), "-out", dir, "-quiet")...); code != exitSignal {
		t.Fatalf("the interrupted train exited %d: %s", code, stderr)
	}
}

// TestReproduceResumesInterrupted: a run interrupted before reproduce
// starts is resumed from its checkpoint and ends bit for bit as an
// uninterrupted one.
func TestReproduceResumesInterrupted(t *testing.T) {
	g := tinyCW()
	useGrid(t, g)
	dir := t.TempDir()
	row := g.Rows[2]
	rd := filepath.Join(dir, runsSubdir, row.ID)
	interruptedTrain(t, row, rd, 1, 4)
	_, stdout, _ := runCLI("reproduce", "-status", dir)
	if stdout != "" {
		t.Fatalf("status without a grid file printed %s", stdout)
	}
	code, stdout, stderr := runCLI("reproduce", "fig4", "-scale", "smoke", "-out", dir, "-print-only")
	if code != 0 {
		t.Fatalf("print-only: exit %d %s", code, stderr)
	}
	lines := jsonLines(t, stdout)
	if num(t, lines[0], "resume") != 1 || len(lines) != 4 {
		t.Fatalf("print-only printed %s", stdout)
	}
	for _, l := range lines[1:] {
		var argv []string
		for _, a := range l["argv"].([]any) {
			argv = append(argv, a.(string))
		}
		if slices.Contains(argv, "-resume") != (l["id"] == row.ID) {
			t.Errorf("%v: argv %v", l["id"], argv)
		}
	}
	_, stdout, _ = runCLI("reproduce", "-status", dir)
	want := map[string]string{"t_1p": "pending", "t_cw_inf": "pending", "t_made_21": "interrupted"}
	for _, l := range jsonLines(t, stdout)[:3] {
		if l["status"] != want[l["id"].(string)] {
			t.Errorf("status %v, want %s", l, want[l["id"].(string)])
		}
	}
	if code, _, stderr := runCLI("reproduce", "fig4", "-scale", "smoke", "-out", dir); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	a := readAttempt(filepath.Join(dir, logsSubdir, row.ID+".json"))
	if a == nil || !slices.Contains(a.Argv, "-resume") || a.Status != "done" {
		t.Errorf("attempt %+v", a)
	}
	ref := filepath.Join(t.TempDir(), "ref")
	trainRef(t, row, ref)
	sameRunFiles(t, ref, rd, 5)
}

// TestReproduceInterrupt cancels reproduce while its runs train: each run
// gets one interrupt, writes a checkpoint and exits 130, reproduce exits
// 130, and the next reproduce completes them bit for bit.
func TestReproduceInterrupt(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("a Windows process cannot be interrupted, only killed")
	}
	p := tinyProtocol
	p.BetaCount, p.InitSteps = 2, 20000
	g := &grid.Grid{Figure: "fig4", Layout: grid.Layout{PanelNs: []int{8}, OverlapN: 8, OverlapBeta: 1}}
	for _, seed := range []uint64{1, 2} {
		g.Rows = append(g.Rows, grid.NewTrainRow("long"+strconv.Itoa(int(seed)), "cw", 8, 0, grid.Net{Label: "1p", Arch: "1p"}, seed, p))
	}
	useGrid(t, g)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result)
	go func() {
		c, o, e := mainCtx(ctx, "reproduce", "fig4", "-scale", "smoke", "-out", dir, "-jobs", "2")
		done <- result{c, o, e}
	}()
	deadline := time.Now().Add(time.Minute)
	for {
		running := 0
		for _, r := range g.Rows {
			if readRunState(filepath.Join(dir, runsSubdir, r.ID)).Summary == "running" {
				running++
			}
		}
		if running == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the runs did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	_, stdout, _ := runCLI("reproduce", "-status", dir)
	for _, l := range jsonLines(t, stdout)[:2] {
		if l["status"] != "running" {
			t.Errorf("status while running: %v", l)
		}
	}
	if code, _, stderr := runCLI("reproduce", "fig4", "-scale", "smoke", "-out", dir); code != exitUsage || !strings.Contains(stderr, "another 'h2arnn reproduce' works there") {
		t.Errorf("a second reproduce in the directory: exit %d: %s", code, stderr)
	}
	cancel()
	res := <-done
	if res.code != exitSignal || !strings.Contains(res.stderr, "2 runs checkpointed") {
		t.Fatalf("exit %d, stderr %s", res.code, res.stderr)
	}
	for _, r := range g.Rows {
		s := readRunState(filepath.Join(dir, runsSubdir, r.ID))
		if s.Summary != "interrupted" || !s.HasCheckpoint {
			t.Fatalf("%s after the interrupt: %+v", r.ID, s)
		}
		if a := readAttempt(filepath.Join(dir, logsSubdir, r.ID+".json")); a == nil || a.Exit != exitSignal || a.Status != "interrupted" {
			t.Errorf("attempt %+v", a)
		}
	}
	_, stdout, _ = runCLI("reproduce", "-status", dir)
	if l := jsonLines(t, stdout); l[0]["status"] != "interrupted" || num(t, l[2], "interrupted") != 2 {
		t.Errorf("status after the interrupt: %s", stdout)
	}
	if code, _, stderr := runCLI("reproduce", "fig4", "-scale", "smoke", "-out", dir); code != 0 {
		t.Fatalf("resume: exit %d: %s", code, stderr)
	}
	ref := filepath.Join(t.TempDir(), "ref")
	trainRef(t, g.Rows[0], ref)
	sameRunFiles(t, ref, filepath.Join(dir, runsSubdir, g.Rows[0].ID), 4)
}

// TestReproduceFailedRun: a run that fails is reported, the others finish,
// reproduce exits 1 and -status says which one failed and why.
func TestReproduceFailedRun(t *testing.T) {
	g := tinyCW()
	g.Rows[1] = grid.NewTrainRow("t_cw_inf", "cw", 6, 0, grid.Net{Label: "cw_inf", Arch: "no_such_net"}, 3, tinyProtocol)
	useGrid(t, g)
	dir := t.TempDir()
	code, stdout, stderr := runCLI("reproduce", "fig4", "-scale", "smoke", "-out", dir)
	if code != exitInternal || !strings.Contains(stderr, "1 of 3 runs failed (t_cw_inf)") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var failed map[string]any
	for _, l := range jsonLines(t, stdout) {
		if l["id"] == "t_cw_inf" {
			failed = l
		}
	}
	if failed == nil || failed["status"] != "failed" || num(t, failed, "exit") != exitUsage {
		t.Errorf("failed run line %v", failed)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, logsSubdir, "t_cw_inf.err")); !strings.Contains(string(b), "no_such_net") {
		t.Errorf("the run's stderr was not logged: %q", b)
	}
	_, stdout, _ = runCLI("reproduce", "-status", dir)
	lines := jsonLines(t, stdout)
	if lines[1]["status"] != "failed" || !strings.Contains(lines[1]["detail"].(string), "exit status 2") || num(t, lines[3], "done") != 2 {
		t.Errorf("status %s", stdout)
	}
}

func TestReproduceUsage(t *testing.T) {
	useGrid(t, tinyCW())
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"reproduce"}, "no figure given"},
		{[]string{"reproduce", "fig4"}, "no -out given"},
		{[]string{"reproduce", "fig9", "-out", dir}, "unknown figure"},
		{[]string{"reproduce", "fig4", "fig5", "-out", dir}, "give one figure"},
		{[]string{"reproduce", "fig4", "-out", dir, "-scale", "huge"}, "unknown scale"},
		{[]string{"reproduce", "fig4", "-out", dir, "-executor", "pbs"}, "-executor"},
		{[]string{"reproduce", "fig4", "-out", dir, "-workers", "0"}, "-workers 0"},
		{[]string{"reproduce", "fig4", "-out", dir, "-jobs", "-1"}, "-jobs -1"},
		{[]string{"reproduce", "fig4", "-out", dir, "-slurm-opt", "--partition=x"}, "only to -executor slurm"},
		{[]string{"reproduce", "fig4", "-out", dir, "-executor", "slurm", "-slurm-opt", "partition=x"}, "one sbatch option"},
		{[]string{"reproduce", "fig4", "-out", dir, "-bin", filepath.Join(dir, "nothing")}, "no such file"},
		{[]string{"reproduce", "-status", filepath.Join(dir, "nothing")}, "no such directory"},
		{[]string{"reproduce", "-status", dir}, "no grid_<figure>.json"},
		{[]string{"reproduce", "fig4", "-status", dir}, "-status takes only the directory"},
		{[]string{"collect"}, "give one reproduction directory"},
		{[]string{"collect", dir}, "holds no grid_<figure>.json"},
	} {
		code, stdout, stderr := runCLI(c.args...)
		if code != exitUsage || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, stdout %q, stderr %q (want %q)", c.args, code, stdout, stderr, c.msg)
		}
	}
	// One directory, one scale; one figure, one grid.
	if code, _, stderr := runCLI("reproduce", "fig4", "-scale", "smoke", "-out", dir, "-print-only"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if code, _, stderr := runCLI("reproduce", "fig5", "-scale", "small", "-out", dir, "-print-only"); code != exitUsage || !strings.Contains(stderr, "holds the smoke scale") {
		t.Errorf("another scale: exit %d: %s", code, stderr)
	}
	g := tinyCW()
	g.Rows[0].Args = append(g.Rows[0].Args, "-batch", "64")
	useGrid(t, g)
	if code, _, stderr := runCLI("reproduce", "fig4", "-scale", "smoke", "-out", dir, "-print-only"); code != exitUsage || !strings.Contains(stderr, "another grid") {
		t.Errorf("another grid: exit %d: %s", code, stderr)
	}
}

// needsGrid is tinyCW with t_cw_inf needing t_1p, and t_made_21 labelled
// with t_1p's run directory (an argument that names a run directory).
func needsGrid() *grid.Grid {
	g := tinyCW()
	g.Rows[1].Needs = []string{"t_1p"}
	r := &g.Rows[2]
	k := slices.Index(r.Args, "-label")
	r.Args[k+1] = grid.RunDir("t_1p")
	return g
}

// TestReproduceNeeds: a row starts only once the rows it needs are
// complete, and not at all if one of them fails; run-directory arguments
// become paths.
func TestReproduceNeeds(t *testing.T) {
	g := needsGrid()
	useGrid(t, g)
	dir := t.TempDir()
	code, stdout, stderr := runCLI("reproduce", "fig4", "-scale", "smoke", "-out", dir, "-jobs", "3")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var order []string
	for _, l := range jsonLines(t, stdout)[1:4] {
		order = append(order, l["id"].(string))
	}
	if slices.Index(order, "t_1p") > slices.Index(order, "t_cw_inf") {
		t.Errorf("t_cw_inf finished before the run it needs: %v", order)
	}
	b, _ := os.ReadFile(filepath.Join(dir, runsSubdir, "t_made_21", output.SummaryFile))
	if want := `"label": "` + filepath.Join(dir, runsSubdir, "t_1p") + `"`; !strings.Contains(string(b), want) {
		t.Errorf("summary.json lacks %s", want)
	}

	g.Rows[0] = grid.NewTrainRow("t_1p", "cw", 6, 0, grid.Net{Label: "1p", Arch: "no_such_net"}, 3, tinyProtocol)
	dir = t.TempDir()
	code, stdout, stderr = runCLI("reproduce", "fig4", "-scale", "smoke", "-out", dir, "-jobs", "3")
	if code != exitInternal || !strings.Contains(stderr, "1 runs that need them were not started") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := jsonLines(t, stdout)
	if last := lines[len(lines)-1]; num(t, last, "not_started") != 1 || num(t, last, "failed") != 1 || num(t, last, "done") != 1 {
		t.Errorf("summary %v", last)
	}
	if _, err := os.Stat(filepath.Join(dir, runsSubdir, "t_cw_inf")); err == nil {
		t.Error("the run that needs a failed one was started")
	}
}

// TestReproduceFig6 runs the smoke grid of Figure 6 (mcmc, then the two
// fits that need its samples) and collects |W| against |J|.
func TestReproduceFig6(t *testing.T) {
	t.Setenv(asBinaryEnv, "1")
	dir := t.TempDir()
	code, stdout, stderr := runCLI("reproduce", "fig6", "-scale", "smoke", "-out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	lines := jsonLines(t, stdout)
	if len(lines) != 5 || lines[1]["id"] != "fig6_n012_i01_mcmc" || !(num(t, lines[0], "cpu_hours") > 0) {
		t.Fatalf("printed %s", stdout)
	}
	code, stdout, stderr = runCLI("collect", dir)
	if code != 0 {
		t.Fatalf("collect: exit %d: %s", code, stderr)
	}
	res := jsonLines(t, stdout)[0]
	r, _ := res["pearson_abs"].(map[string]any)
	if res["figure"] != "fig6" || num(t, res, "complete") != 3 || len(r) != 2 || r["plm"] == nil || r["sk_1rsb"] == nil {
		t.Fatalf("collect printed %s", stdout)
	}
	b, err := os.ReadFile(filepath.Join(dir, "fig6.csv"))
	if err != nil {
		t.Fatal(err)
	}
	// 66 pairs i < j of 12 spins and the line's two ends, per estimator.
	for _, est := range []string{"plm", "sk_1rsb"} {
		if n := strings.Count(string(b), "\n"+est+",pairs,"); n != 66 {
			t.Errorf("%s: %d pairs in fig6.csv", est, n)
		}
		if n := strings.Count(string(b), "\n"+est+",least squares,"); n != 2 {
			t.Errorf("%s: %d line ends in fig6.csv", est, n)
		}
	}
	for _, f := range []string{"fig6.png", "fig6.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, tidyFile)); err != nil {
		t.Error("no results.csv (empty for Figure 6, but written)")
	}
}
