package driver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/internal/npy"
	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
)

// readNPY reads a whole .npy file.
func readNPY(t *testing.T, path string) *npy.Array {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, err := npy.ReadAll(f, 1<<24)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestSampleRun: sample -run draws from the net a train run saved (its
// checkpoint's; at the end of a run that of net.h2arnn too), on the run's
// model: the files hold the samples with their ln q (that of the loaded
// net) and H, in any chunking and for any worker count; β defaults to the
// run's last β.
func TestSampleRun(t *testing.T) {
	root := t.TempDir()
	run := filepath.Join(root, "run")
	if st, _, errs := runCLI(tinyTrain(run)...); st != 0 {
		t.Fatalf("train: %q", errs)
	}
	files := func(tag string) []string {
		return []string{"-out", filepath.Join(root, tag+"x.npy"), "-logq", filepath.Join(root, tag+"q.npy"), "-energy", filepath.Join(root, tag+"e.npy")}
	}
	st, out, errs := runCLI(append([]string{"sample", "-run", run, "-samples", "150", "-sample-seed", "4", "-workers", "1"}, files("a")...)...)
	if st != 0 {
		t.Fatalf("sample -run: %q", errs)
	}
	res := jsonLines(t, out)[0]
	if res["arch"] != "1l" || num(t, res, "n") != 10 || num(t, res, "beta") != 1.5 || num(t, res, "samples") != 150 || res["f_exact"] == nil {
		t.Errorf("result %v", res)
	}
	// Several chunks, two workers: the same files.
	defer func(c int) { sampleChunkBytes = c }(sampleChunkBytes)
	sampleChunkBytes = 640 // 64 samples of N = 10 per chunk
	if st, out2, errs := runCLI(append([]string{"sample", "-run", run, "-samples", "150", "-sample-seed", "4", "-workers", "2"}, files("b")...)...); st != 0 ||
		!reflect.DeepEqual(jsonNoSeconds(t, out2), jsonNoSeconds(t, out)) {
		t.Fatalf("chunked, 2 workers: %q %q", out2, errs)
	}
	for _, f := range []string{"x.npy", "q.npy", "e.npy"} {
		a, _ := os.ReadFile(filepath.Join(root, "a"+f))
		b, _ := os.ReadFile(filepath.Join(root, "b"+f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between one chunk and several, 1 and 2 workers", f)
		}
	}
	x, q, e := readNPY(t, filepath.Join(root, "ax.npy")), readNPY(t, filepath.Join(root, "aq.npy")), readNPY(t, filepath.Join(root, "ae.npy"))
	if !reflect.DeepEqual(x.Shape, []int{150, 10}) || x.Kind != 'i' || !reflect.DeepEqual(q.Shape, []int{150}) || !reflect.DeepEqual(e.Shape, []int{150}) {
		t.Fatalf("shapes %v %v %v", x.Shape, q.Shape, e.Shape)
	}
	spins, _ := x.Ints()
	lq, _ := q.Floats()
	en, _ := e.Floats()
	// The net of the run, loaded by hand: the ln q of the drawn samples.
	m, _ := model.SherringtonKirkpatrick(10, 1, 0, 2)
	f, _ := os.Open(filepath.Join(run, netFile))
	net, err := model.Load(bufio.NewReader(f), m)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	x8 := make([]int8, len(spins))
	for i, v := range spins {
		x8[i] = int8(v)
	}
	s := model.NewSampler(net, 1)
	defer s.Close()
	want := make([]float64, 150)
	s.LogProbBatch(want, x8)
	acc := model.NewStatsAccumulator(1.5, 10)
	acc.Add(x8, lq, en)
	for b := range want {
		xb := make([]float64, 10)
		for i := range xb {
			xb[i] = float64(x8[b*10+i])
		}
		if math.Abs(want[b]-lq[b]) > 1e-12 || math.Abs(m.Energy(xb)-en[b]) > 1e-12 {
			t.Fatalf("sample %d: ln q %v (net %v), H %v (model %v)", b, lq[b], want[b], en[b], m.Energy(xb))
		}
	}
	if st := acc.Stats(); st.F != num(t, res, "f") || st.E != num(t, res, "e") || st.MAbs != num(t, res, "m_abs") {
		t.Errorf("the line's statistics %v are not those of the files %+v", res, st)
	}
	// -beta sets the β of the statistics.
	if st, out, errs := runCLI("sample", "-run", run, "-samples", "20", "-beta", "0.5"); st != 0 || num(t, jsonLines(t, out)[0], "beta") != 0.5 {
		t.Errorf("-beta 0.5: %q %q", out, errs)
	}
	// The run fixes the model and the net: their flags are refused, and a
	// run without a finished β has no net yet.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"sample", "-run", run, "-model", "sk"}, "-model with -run"},
		{[]string{"sample", "-run", run, "-arch", "1l"}, "-arch with -run"},
		{[]string{"sample", "-run", filepath.Join(root, "nowhere")}, "no such directory"},
		{[]string{"sample", "-run", run, "-out", filepath.Join(run, netFile)}, "same file as the input"},
		{[]string{"sample", "-run", run, "-out", filepath.Join(run, checkpointFile)}, "same file as the input"},
		{[]string{"sample", "-model", "sk", "-n", "5", "-beta", "1"}, "give -run DIR"},
	} {
		st, out, errs := runCLI(c.args...)
		if st != exitUsage || out != "" || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("%v: status %d %q %q, want 2 and %q", c.args, st, out, errs, c.want)
		}
	}
}

// TestInterruptedCommands: exact and sample stop once their context is done
// and exit with status 130, leaving no output file.
func TestInterruptedCommands(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "x.npy")
	for _, args := range [][]string{
		{"exact", "-model", "sk", "-n", "30", "-beta", "1"},
		{"sample", "-model", "cw", "-n", "1000", "-arch", "cw_n", "-beta", "1", "-samples", "1000000", "-out", out},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		var stdout, stderr bytes.Buffer
		begin := time.Now()
		st := Main(ctx, args, &stdout, &stderr)
		cancel()
		if st != exitSignal || stdout.Len() != 0 || !strings.Contains(stderr.String(), "interrupted") {
			t.Errorf("%s: status %d stdout %q stderr %q, want 130", args[0], st, stdout.String(), stderr.String())
		}
		if d := time.Since(begin); d > 10*time.Second {
			t.Errorf("%s stopped %v after its context was done", args[0], d)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("an interrupted sample left its -out file")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("files left: %v", left)
	}
}

// TestTrainerGetsTheFlags: the trainer runs with what the flags say — the
// Adam state in the checkpoint holds -lr, the schedule holds -beta-range,
// the step counts -init-steps and -max-step.
func TestTrainerGetsTheFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if st, _, errs := runCLI(tinyTrain(dir, "-lr", "0.0125")...); st != 0 {
		t.Fatalf("%q", errs)
	}
	ck := readCheckpoint(t, dir)
	opt := ck.State.Opt
	// 12 + 8 + 8 steps at lr 0.0125 with PyTorch's Adam defaults.
	if opt.Kind != "adam" || opt.LR != 0.0125 || opt.Steps != 28 || opt.Beta1 != 0.9 || opt.Beta2 != 0.999 || opt.Eps != 1e-8 {
		t.Errorf("optimiser state %+v, want Adam at lr 0.0125 after 28 steps", opt)
	}
	if ck.State.BetaIndex != 3 || ck.Net.Beta != 1.5 {
		t.Errorf("position %+v, net β %v: want the end of a 3-β schedule ending at 1.5", ck.State, ck.Net.Beta)
	}
	// The parameters are what Adam at that rate makes of the same start.
	m, _ := model.SherringtonKirkpatrick(10, 1, 0, 2)
	net, _ := model.NewNet("1l", m, model.ArchOptions{Seed: 7})
	cfg := grad.DefaultConfig()
	cfg.BetaStart, cfg.BetaEnd, cfg.BetaCount = 0.5, 1.5, 3
	cfg.InitSteps, cfg.MaxStep, cfg.Batch, cfg.LR, cfg.StdLimit, cfg.StatsBatches, cfg.EvalSamples, cfg.Seed = 12, 8, 64, 0.0125, 0, 3, 128, 7
	tr, err := grad.NewTrainer(net, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if _, err := tr.Train(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(bitsOf(net.Params()), bitsOf(ck.Net.Params)) {
		t.Error("the run's parameters are not those of grad.Trainer with the flags' configuration")
	}
}

// TestTimeSteps: bench times the steps after the warm-up and divides by
// their number.
func TestTimeSteps(t *testing.T) {
	e := &env{ctx: context.Background()}
	const nap = 20 * time.Millisecond
	var calls []int
	sec, cpu, err := timeSteps(e, 3, func(s int) error {
		calls = append(calls, s)
		if s == 0 {
			time.Sleep(10 * nap) // the warm-up is not timed
		} else {
			time.Sleep(nap)
		}
		return nil
	})
	if err != nil || !reflect.DeepEqual(calls, []int{0, 1, 2, 3}) {
		t.Fatalf("calls %v, err %v", calls, err)
	}
	if sec < nap.Seconds() || sec > 5*nap.Seconds() {
		t.Errorf("%v s per step for steps of %v each (after a warm-up of %v)", sec, nap, 10*nap)
	}
	if cpu > sec {
		t.Errorf("%v processor seconds per sleeping step of %v s", cpu, sec)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := timeSteps(&env{ctx: ctx}, 3, func(int) error { return nil }); !errors.Is(err, errInterrupted) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestProgressETA: the time left counts the rest of this β's budget and the
// full budget of every later β, at the measured step rate.
func TestProgressETA(t *testing.T) {
	limit := func(j int) int { return []int{100, 40, 40, 40}[j] }
	p := newProgress(&bytes.Buffer{}, true, []float64{0.5, 1, 1.5, 2}, limit, nil)
	if got := p.remaining(1, 10); got != 30+40+40 {
		t.Errorf("remaining at β index 1 after 10 steps: %d, want 110", got)
	}
	if got := p.remaining(3, 50); got != 0 {
		t.Errorf("remaining past the budget: %d", got)
	}
	now := time.Now()
	p.begin, p.steps = now.Add(-20*time.Second), 40 // 2 steps/s
	if got := p.rate(1, 10, now); got != "  2 steps/s  ETA ≤ 55s" {
		t.Errorf("rate line %q", got)
	}
}

// TestUsageWrapsLibraryErrors: a library error becomes a usage error that
// names the flag, and errors.As still finds the library's error.
func TestUsageWrapsLibraryErrors(t *testing.T) {
	_, err := model.NewNet("sk_krsb", mustCW(t, 4), model.ArchOptions{K: -2})
	u := asUsage(err)
	var ae *model.ArgError
	var ue *usageError
	if !errors.As(u, &ue) || !errors.As(u, &ae) || ae.Arg != "K" || u.Error() != "-arch sk_krsb: -k -2: the number of RSB steps must be 0 (sk_rs) or more" {
		t.Errorf("asUsage(%v) = %v", err, u)
	}
	_, err = model.CWExact(4, model.CWParams{J: 1}, math.NaN())
	if u := asUsage(err); !errors.Is(u, model.ErrInvalidBeta) || !strings.HasPrefix(u.Error(), "-beta NaN:") {
		t.Errorf("asUsage(%v) = %v", err, u)
	}
	cfg := grad.DefaultConfig()
	cfg.Batch = 1
	var ce *grad.ConfigError
	if u := asUsage(cfg.Validate()); !errors.As(u, &ce) || !strings.HasPrefix(u.Error(), "-batch 1:") {
		t.Errorf("asUsage(Validate) = %v", u)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "-model", "sk", "-n", "6", "-arch", "sk_krsb", "-k", "-1", "-quiet"}, "-arch sk_krsb: -k -1:"},
		{[]string{"train", "-model", "sk", "-n", "6", "-arch", "cw_n", "-quiet"}, "-arch cw_n: -model sk:"},
		{[]string{"train", "-model", "cw", "-n", "6", "-arch", "1p", "-batch", "1", "-quiet"}, "-batch 1:"},
		{[]string{"train", "-model", "cw", "-n", "6", "-arch", "1p", "-lr", "-1", "-quiet"}, "-lr -1:"},
		{[]string{"exact", "-model", "cw", "-n", "0", "-beta", "1"}, "-n"},
		{[]string{"sample", "-model", "sk", "-n", "30", "-arch", "h2arnn", "-beta", "1"}, "-arch h2arnn: -n 30:"},
	} {
		st, _, errs := runCLI(c.args...)
		if st != exitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("%v: %d %q, want status 2 and %q", c.args, st, errs, c.want)
		}
	}
}

func mustCW(t *testing.T, n int) *model.Hamiltonian {
	t.Helper()
	m, err := model.CurieWeiss(n, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestSummaryNulls: summary.json writes an undefined figure as null.
func TestSummaryNulls(t *testing.T) {
	b, err := output.MarshalJSON(trainResult{Arch: "1p", StatsRow: output.StatsRow{Beta: 1, Stats: model.Stats{F: math.NaN()}}})
	if err != nil || !strings.Contains(string(b), `"f":null`) || !strings.HasPrefix(string(b), `{"arch":"1p","n":0,"params":0,"beta":1,`) {
		t.Errorf("%s %v", b, err)
	}
}

// TestOldCheckpointRefused: a run directory of the JSON checkpoint format
// (version 1) is refused with a message that says so, not misread.
func TestOldCheckpointRefused(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "checkpoint.json"), []byte(`{"format":1,"arch":"1p","params":[0.5]}`), 0o644)
	for _, args := range [][]string{{"train", "-resume", dir}, {"sample", "-run", dir}} {
		st, _, errs := runCLI(args...)
		if st != exitUsage || !strings.Contains(errs, "older h2arnn (checkpoint.json, format 1)") {
			t.Errorf("%v: %d %q", args, st, errs)
		}
	}
	// An mcmc or fit run is not a train run.
	os.WriteFile(filepath.Join(dir, "checkpoint.json"), []byte(`{"format":1,"kind":"mcmc"}`), 0o644)
	if st, _, errs := runCLI("sample", "-run", dir); st != exitUsage || !strings.Contains(errs, "that is an 'h2arnn mcmc' run") {
		t.Errorf("mcmc run: %d %q", st, errs)
	}
	// A damaged checkpoint says what is wrong with it.
	os.WriteFile(filepath.Join(dir, checkpointFile), []byte("\x93NUMPY garbage"), 0o644)
	if st, _, errs := runCLI("train", "-resume", dir); st != exitUsage || !strings.Contains(errs, "is not a valid checkpoint") {
		t.Errorf("damaged: %d %q", st, errs)
	}
}

// TestSampleRunEdges: an analytic net sampled from a run follows -beta (its
// parameters are β's); a run interrupted before its first step samples at
// its first β; one sample is enough; a run without -estimate has no
// estimate columns; summary.json records -workers.
func TestSampleRunEdges(t *testing.T) {
	root := t.TempDir()
	cwn := filepath.Join(root, "cwn")
	if st, _, errs := runCLI("train", "-model", "cw", "-n", "12", "-arch", "cw_n", "-beta-range", "1.3,1.3,1", "-eval-samples", "20",
		"-workers", "1", "-quiet", "-out", cwn); st != 0 {
		t.Fatalf("train cw_n: %q", errs)
	}
	st, out, errs := runCLI("sample", "-run", cwn, "-beta", "0.8", "-samples", "50")
	if st != 0 {
		t.Fatalf("sample: %q", errs)
	}
	if r := jsonLines(t, out)[0]; num(t, r, "beta") != 0.8 || math.Abs(num(t, r, "rel_err")) > 1e-12 || num(t, r, "f_std") > 1e-12 {
		t.Errorf("cw_n sampled at β 0.8: %v; want the exact f (its parameters set for 0.8)", r)
	}
	_, hdr, _ := output.ReadStats(filepath.Join(cwn, output.StatsFile))
	if !slices.Equal(hdr, slices.Concat(output.StatsColumns, output.ExactColumns)) {
		t.Errorf("stats.csv header without -estimate: %v", hdr)
	}
	b, _ := os.ReadFile(filepath.Join(cwn, output.SummaryFile))
	var sum map[string]any
	if json.Unmarshal(b, &sum) != nil || sum["workers"] != 1.0 {
		t.Errorf("summary workers %v, want -workers 1", sum["workers"])
	}
	// Interrupted before its first step: the checkpoint is at β index 0.
	early := filepath.Join(root, "early")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var so, se bytes.Buffer
	if st := Main(ctx, []string{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-beta-range", "0.5,1.5,3", "-quiet", "-out", early}, &so, &se); st != exitSignal {
		t.Fatalf("train with a cancelled context: %d %q", st, se.String())
	}
	st, out, errs = runCLI("sample", "-run", early, "-samples", "1")
	if st != 0 || num(t, jsonLines(t, out)[0], "beta") != 0.5 || num(t, jsonLines(t, out)[0], "samples") != 1 {
		t.Errorf("a run stopped before its first step: %d %q %q; want one sample at its first β 0.5", st, out, errs)
	}
}
