package driver

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/h2arnn/h2arnn/internal/npy"

	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/mc"
	"github.com/h2arnn/h2arnn/model"
	"github.com/h2arnn/h2arnn/output"
)

// tinyTrain is a few-millisecond training run on SK N=10 with a trainable
// net: three β, early stopping off so that every β takes its full budget,
// an evaluation batch, unbiased estimates from 64 samples and samples and
// overlaps at every β.
func tinyTrain(dir string, extra ...string) []string {
	a := []string{"train", "-model", "sk", "-n", "10", "-seed", "2", "-arch", "1l", "-beta-range", "0.5,1.5,3",
		"-init-steps", "12", "-max-step", "8", "-batch", "64", "-std-limit", "0", "-stats-batches", "3",
		"-eval-samples", "128", "-estimate", "64", "-train-seed", "7", "-checkpoint-every", "5", "-save-samples", "every",
		"-overlap-bins", "20", "-quiet", "-out", dir}
	return append(a, extra...)
}

// statsNoSeconds returns stats.csv with the wall-clock column removed: the
// only column that may differ between two runs of the same configuration.
func statsNoSeconds(t *testing.T, dir string) string {
	t.Helper()
	return csvNoColumn(t, filepath.Join(dir, output.StatsFile), "seconds")
}

func readCheckpoint(t *testing.T, dir string) *checkpoint {
	t.Helper()
	ck, err := loadCheckpoint("-resume", dir)
	if err != nil {
		t.Fatal(err)
	}
	return ck
}

// jsonNoSeconds decodes stdout lines and drops the wall-clock field.
func jsonNoSeconds(t *testing.T, out string) []map[string]any {
	t.Helper()
	if out == "" {
		return nil
	}
	ls := jsonLines(t, out)
	for _, l := range ls {
		delete(l, "seconds")
	}
	return ls
}

// sameRun asserts that the run in dir ended exactly like the one in ref:
// stats.csv (but seconds), the final parameters and optimiser state, and
// every samples and overlaps file byte for byte (8 of them, as tinyTrain
// writes).
func sameRun(t *testing.T, ref, dir string) {
	t.Helper()
	sameRunFiles(t, ref, dir, 8) // 3 samples_b<k>, samples.npy, 3 overlaps_b<k>, overlaps.csv
}

// sameRunFiles is sameRun for runs with files samples and overlaps files.
func sameRunFiles(t *testing.T, ref, dir string, files int) {
	t.Helper()
	if a, b := statsNoSeconds(t, ref), statsNoSeconds(t, dir); a != b {
		t.Errorf("stats.csv differs:\nuninterrupted\n%s\nresumed\n%s", a, b)
	}
	a, b := readCheckpoint(t, ref), readCheckpoint(t, dir)
	if !slices.Equal(bitsOf(a.Net.Params), bitsOf(b.Net.Params)) {
		t.Error("final parameters differ")
	}
	a.State.Seconds, b.State.Seconds = 0, 0
	if !reflect.DeepEqual(a.State, b.State) {
		t.Errorf("final trainer state differs: index %d step %d Adam step %d vs index %d step %d Adam step %d",
			a.State.BetaIndex, a.State.StepsDone, a.State.Opt.Steps, b.State.BetaIndex, b.State.StepsDone, b.State.Opt.Steps)
	}
	names, _ := filepath.Glob(filepath.Join(ref, "*"))
	n := 0
	for _, p := range names {
		base := filepath.Base(p)
		if !strings.HasPrefix(base, "samples") && !strings.HasPrefix(base, "overlaps") || filepath.Ext(base) == ".png" || filepath.Ext(base) == ".svg" {
			continue
		}
		n++
		x, _ := os.ReadFile(p)
		y, err := os.ReadFile(filepath.Join(dir, base))
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs (%v)", base, err)
		}
	}
	if n != files {
		t.Errorf("%d samples/overlaps files compared, want %d", n, files)
	}
}

func bitsOf(x []float64) []uint64 {
	out := make([]uint64, len(x))
	for i, v := range x {
		out[i] = math.Float64bits(v)
	}
	return out
}

// TestResumeBitForBit interrupts a run at several points (during the first
// β, mid-β, at the last step of a β before its evaluation, right after a β,
// twice in a row) and resumes it: every resumed run must end with the
// files and parameters of the uninterrupted one, and the JSON lines of the
// interrupted and resumed sessions together must be those of one session.
func TestResumeBitForBit(t *testing.T) {
	root := t.TempDir()
	ref := filepath.Join(root, "ref")
	st, refOut, errs := runCLI(tinyTrain(ref)...)
	if st != 0 || errs != "" {
		t.Fatalf("uninterrupted: status %d %q", st, errs)
	}
	want := jsonNoSeconds(t, refOut)
	if len(want) != 3 {
		t.Fatalf("%d result lines", len(want))
	}
	type stop struct {
		j, steps int
		betaEnd  bool
	}
	cases := []struct {
		name  string
		stops []stop
	}{
		{"first-beta", []stop{{0, 3, false}}},
		{"at-checkpoint-step", []stop{{0, 5, false}}},
		{"mid-beta", []stop{{1, 3, false}}},
		{"last-step-before-eval", []stop{{1, 8, false}}},
		{"beta-boundary", []stop{{0, 12, true}}},
		{"last-beta-boundary", []stop{{1, 8, true}}},
		{"twice", []stop{{0, 7, false}, {2, 2, false}}},
	}
	defer func() { testStop = nil }()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(root, c.name)
			var got []map[string]any
			args := tinyTrain(dir)
			for k, s := range c.stops {
				testStop = func(j, steps int, betaEnd bool) bool {
					return j == s.j && steps == s.steps && betaEnd == s.betaEnd
				}
				st, out, errs := runCLI(args...)
				if st != exitSignal || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "interrupted") || !strings.Contains(errs, "-resume "+dir) {
					t.Fatalf("stop %d: status %d stderr %q", k, st, errs)
				}
				got = append(got, jsonNoSeconds(t, out)...)
				ck := readCheckpoint(t, dir)
				wantIdx, wantSteps := s.j, s.steps
				if s.betaEnd {
					wantIdx, wantSteps = s.j+1, 0
				}
				if ck.State.BetaIndex != wantIdx || ck.State.StepsDone != wantSteps {
					t.Fatalf("stop %d: checkpoint at index %d step %d, want %d %d", k, ck.State.BetaIndex, ck.State.StepsDone, wantIdx, wantSteps)
				}
				var sum map[string]any
				b, _ := os.ReadFile(filepath.Join(dir, output.SummaryFile))
				if err := json.Unmarshal(b, &sum); err != nil || sum["status"] != "interrupted" {
					t.Fatalf("summary after interrupt: %v %v", err, sum["status"])
				}
				args = []string{"train", "-resume", dir, "-quiet"}
			}
			testStop = nil
			resumeMatches(t, ref, dir, got, want, "-workers", "1")
			var sum map[string]any
			b, _ := os.ReadFile(filepath.Join(dir, output.SummaryFile))
			if err := json.Unmarshal(b, &sum); err != nil || sum["resumes"] != float64(len(c.stops)) || len(sum["results"].([]any)) != 3 {
				t.Errorf("summary after resume: %v resumes %v", err, sum["resumes"])
			}
		})
	}
}

// TestResumeFlags: flags given with -resume must agree with the saved run;
// runtime flags may differ.
func TestResumeFlags(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	testStop = func(j, steps int, betaEnd bool) bool { return j == 1 && steps == 2 }
	st, _, errs := runCLI(tinyTrain(dir)...)
	testStop = nil
	if st != exitSignal {
		t.Fatalf("status %d %q", st, errs)
	}
	before, _ := os.ReadFile(filepath.Join(dir, checkpointFile))
	for _, bad := range [][]string{
		{"-lr", "0.01"},         // a default the run kept
		{"-n", "12"},            // a flag the run gave
		{"-arch", "1p"},         //
		{"-model", "cw"},        //
		{"-out", dir + "-else"}, // a resumed run stays in its directory
	} {
		st, out, errs := runCLI(append([]string{"train", "-resume", dir}, bad...)...)
		if st != exitUsage || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, bad[0]) {
			t.Errorf("%v: status %d stderr %q", bad, st, errs)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(dir, checkpointFile)); !bytes.Equal(before, after) {
		t.Error("a refused resume changed the checkpoint")
	}
	// Agreeing flags and runtime flags are accepted.
	st, out, errs := runCLI("train", "-resume", dir, "-n", "10", "-arch", "1l", "-lr", "0.001", "-workers", "3", "-checkpoint-every", "0", "-out", dir)
	if st != 0 || len(jsonLines(t, out)) != 2 {
		t.Fatalf("resume with agreeing flags: status %d %q", st, errs)
	}
	// A new run into a directory holding a (now complete) run is refused.
	if st, _, errs := runCLI(tinyTrain(dir)...); st != exitUsage || !strings.Contains(errs, "already holds a run, complete") {
		t.Errorf("second run into the same -out: status %d %q", st, errs)
	}
}

// TestRunFiles reads every file of a run directory back and checks it
// against the JSON lines and the configuration.
func TestRunFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	st, out, errs := runCLI(tinyTrain(dir, "-label", "one layer")...)
	if st != 0 {
		t.Fatalf("status %d %q", st, errs)
	}
	lines := jsonLines(t, out)
	rows, header, err := output.ReadStats(filepath.Join(dir, output.StatsFile))
	if err != nil || len(rows) != 3 || !slices.Equal(header, slices.Concat(output.StatsColumns, output.ExactColumns, output.EstimateColumns)) {
		t.Fatalf("stats.csv: %v, %d rows, header %v", err, len(rows), header)
	}
	for k, r := range rows {
		l := lines[k]
		if r.Beta != num(t, l, "beta") || r.F != num(t, l, "f") || r.FStd != num(t, l, "f_std") || r.E != num(t, l, "e") ||
			r.EMin != num(t, l, "e_min") || r.S != num(t, l, "s") || r.MAbs != num(t, l, "m_abs") ||
			float64(r.Steps) != num(t, l, "steps") || r.Seconds != num(t, l, "seconds") ||
			r.Exact == nil || r.FExact != num(t, l, "f_exact") || r.RelErr != num(t, l, "rel_err") || r.Estimates == nil {
			t.Errorf("row %d %+v differs from JSON line %v", k, r, l)
		}
		for c, v := range r.Estimates.Values() {
			if v != num(t, l, output.EstimateColumns[c]) {
				t.Errorf("row %d: %s %v, JSON line %v", k, output.EstimateColumns[c], v, l[output.EstimateColumns[c]])
			}
		}
	}
	// The exact column is the enumeration of the same instance.
	m, _ := model.SherringtonKirkpatrick(10, 1, 0, 2)
	th, _ := model.Enumerate(context.Background(), m, []float64{0.5, 1, 1.5}, 1)
	for k := range rows {
		if rows[k].FExact != th[k].F {
			t.Errorf("β %v: f_exact %v, enumeration %v", rows[k].Beta, rows[k].FExact, th[k].F)
		}
	}
	var sum map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, output.SummaryFile))
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	mdl, _ := sum["model"].(map[string]any)
	seeds, _ := sum["seeds"].(map[string]any)
	flags, _ := sum["flags"].(map[string]any)
	final, _ := sum["final"].(map[string]any)
	config, _ := sum["config"].(map[string]any)
	if config["lr"] != "0.001" || config["init-steps"] != "12" || config["label"] != "one layer" || config["workers"] != "0" {
		t.Errorf("summary config %v", config)
	}
	if sum["label"] != "one layer" || sum["arch"] != "1l" || sum["status"] != "complete" || sum["go"] != runtime.Version() ||
		sum["kernels"] == "" || sum["module"] != "github.com/h2arnn/h2arnn" || sum["workers"] == nil ||
		mdl["kind"] != "sk" || mdl["source"] != m.Source || mdl["sha256"] != m.Hash() ||
		seeds["seed"] != 2.0 || seeds["train_seed"] != 7.0 || flags["lr"] != nil || flags["init-steps"] != "12" ||
		final["f"] != num(t, lines[2], "f") || final["f_nis"] != num(t, lines[2], "f_nis") || final["tau_int"] != num(t, lines[2], "tau_int") {
		t.Errorf("summary.json: %s", b)
	}
	// LoadRun names the run by its label and finds every histogram.
	run, err := output.LoadRun(dir)
	if err != nil || run.Label != "one layer" || len(run.Overlaps) != 3 {
		t.Errorf("LoadRun: %v label %q, %d histograms", err, run.Label, len(run.Overlaps))
	}
	// The last evaluation batch: samples.npy, its overlaps, byte for byte
	// what the trainer drew (same net, same stream).
	ck := readCheckpoint(t, dir)
	net, err := ck.Net.Net(m)
	if err != nil || net.Arch() != "1l" || net.Beta() != 1.5 {
		t.Fatalf("the checkpoint's net: %v", err)
	}
	bt, _ := model.NewSampler(net, 1).Draw(context.Background(), nil, 128, 7, grad.StepID(2, 1<<32-1))
	got, _ := os.ReadFile(filepath.Join(dir, output.SamplesFile))
	wantNPY := npy.AppendHeader(nil, "|i1", []int{128, 10})
	for _, v := range bt.X {
		wantNPY = append(wantNPY, byte(v))
	}
	if !bytes.Equal(got, wantNPY) {
		t.Errorf("samples.npy (%d bytes) is not the last evaluation batch (%d bytes)", len(got), len(wantNPY))
	}
	// The estimates of the last β: mc.EstimateNet on the final net with the
	// stream (train seed, StepID(2, EstimateStep)).
	est, err := mc.EstimateNet(context.Background(), net, 1.5, mc.NetOptions{Samples: 64, Seed: 7, Step: grad.StepID(2, grad.EstimateStep), Workers: 1, NIS: true, MCMC: true})
	if err != nil {
		t.Fatal(err)
	}
	if e := rows[2].Estimates; e.FNIS != est.NIS.F || e.FNISErr != est.NIS.FErr || e.ESS != est.NIS.ESS || e.ENIS != est.NIS.E ||
		e.ENISErr != est.NIS.EErr || e.ENMCMC != est.MCMC.E.Mean || e.ENMCMCErr != est.MCMC.E.Err || e.Acceptance != est.MCMC.Acceptance || e.TauInt != est.MCMC.E.Tau {
		t.Errorf("estimates of the last β %+v, mc.EstimateNet %+v %+v", e, *est.NIS, *est.MCMC)
	}
	ov, err := output.ReadOverlapsCSV(filepath.Join(dir, output.OverlapsFile))
	if err != nil || !slices.Equal(ov, model.Overlaps(bt, 20, 1)) {
		t.Errorf("overlaps.csv: %v %v", err, ov)
	}
	for k := range 3 {
		name := fmt.Sprintf("samples_b%d.npy", k)
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("per-β samples: %v", err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "samples_b2.npy")); !bytes.Equal(b, wantNPY) {
		t.Error("samples_b2.npy is not the last evaluation batch")
	}
	// -save-samples none writes no samples; last writes only samples.npy.
	for _, c := range []struct {
		mode string
		want []string
	}{{"none", nil}, {"last", []string{"overlaps.csv", "samples.npy"}}} {
		d := filepath.Join(t.TempDir(), c.mode)
		if st, _, errs := runCLI(tinyTrain(d, "-save-samples", c.mode)...); st != 0 {
			t.Fatalf("%s: %q", c.mode, errs)
		}
		var got []string
		for _, pat := range []string{"samples*", "overlaps*.csv"} {
			g, _ := filepath.Glob(filepath.Join(d, pat))
			for _, p := range g {
				got = append(got, filepath.Base(p))
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("-save-samples %s wrote %v, want %v", c.mode, got, c.want)
		}
	}
}

// TestSampleNPY: sample -out writes the header and then exactly the spins
// the sampler draws, one byte per spin.
func TestSampleNPY(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.npy")
	st, _, errs := runCLI("sample", "-model", "cw", "-n", "7", "-arch", "cw_n", "-beta", "1.2", "-samples", "5", "-seed", "3", "-out", p)
	if st != 0 {
		t.Fatalf("%q", errs)
	}
	b, _ := os.ReadFile(p)
	// NumPy 1.0 header: magic, version, length 118 little-endian, the dict
	// padded with spaces to 127 bytes, '\n'; data from byte 128.
	head := "\x93NUMPY\x01\x00v\x00{'descr': '|i1', 'fortran_order': False, 'shape': (5, 7), }"
	head += strings.Repeat(" ", 127-len(head)) + "\n"
	m, _ := model.CurieWeiss(7, 1, 0)
	net, _ := model.NewNet("cw_n", m, model.ArchOptions{Beta: 1.2})
	net.SetBeta(1.2)
	bt := model.SampleBatch(net, 5, 3, 1)
	want := []byte(head)
	for _, v := range bt.X {
		want = append(want, byte(v))
	}
	if !bytes.Equal(b, want) {
		t.Errorf("file\n%q\nwant\n%q", b, want)
	}
}

// TestNonFiniteStops: an overflowing model makes the loss NaN at the first
// step: status 1, one line naming β and step, and the checkpoint written
// before training is intact.
func TestNonFiniteStops(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	st, out, errs := runCLI("train", "-model", "cw", "-n", "8", "-J", "1e308", "-field", "1e308", "-arch", "1p",
		"-beta-range", "1,1,1", "-init-steps", "5", "-batch", "64", "-quiet", "-out", dir)
	checkNoCrash(t, out, errs)
	if st != exitInternal || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "non-finite") ||
		!strings.Contains(errs, "β 1") || !strings.Contains(errs, "step 0") || !strings.Contains(errs, checkpointFile) {
		t.Fatalf("status %d stdout %q stderr %q", st, out, errs)
	}
	ck := readCheckpoint(t, dir)
	if ck.State.BetaIndex != 0 || ck.State.StepsDone != 0 {
		t.Errorf("checkpoint at %+v", ck.State)
	}
	var sum map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, output.SummaryFile))
	if json.Unmarshal(b, &sum) != nil || sum["status"] != "failed" || !strings.Contains(sum["error"].(string), "non-finite") {
		t.Errorf("summary: %s", b)
	}
}

// TestProgress: without -quiet and with stderr not a terminal, train
// prints one plain line per finished β (standard output keeps only JSON).
func TestProgress(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	args := slices.DeleteFunc(tinyTrain(dir), func(s string) bool { return s == "-quiet" })
	st, out, errs := runCLI(args...)
	if st != 0 {
		t.Fatalf("%q", errs)
	}
	jsonLines(t, out)
	ls := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
	if len(ls) != 3 {
		t.Fatalf("stderr %q", errs)
	}
	for k, l := range ls {
		if !strings.HasPrefix(l, "β ") || !strings.Contains(l, "done") || !strings.Contains(l, "rel_err") || (k < 2) != strings.Contains(l, "ETA") {
			t.Errorf("progress line %q", l)
		}
	}
}

// TestPlotTwoRuns overlays two architectures.
func TestPlotTwoRuns(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	if st, _, errs := runCLI(tinyTrain(a)...); st != 0 {
		t.Fatal(errs)
	}
	args := tinyTrain(b)
	args[slices.Index(args, "1l")] = "1p"
	if st, _, errs := runCLI(args...); st != 0 {
		t.Fatal(errs)
	}
	prefix := filepath.Join(root, "cmp")
	// Flags after the directories work too.
	st, out, errs := runCLI("plot", a, b, "-out", prefix, "-beta", "1")
	if st != 0 {
		t.Fatalf("status %d %q", st, errs)
	}
	r := jsonLines(t, out)[0]
	if r["beta"] != 1.0 || len(r["files"].([]any)) != 4 {
		t.Errorf("plot line %v", r)
	}
	for _, f := range []string{"cmp_free_energy", "cmp_overlaps"} {
		png, err1 := os.ReadFile(filepath.Join(root, f+".png"))
		svg, err2 := os.ReadFile(filepath.Join(root, f+".svg"))
		if err1 != nil || err2 != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || !bytes.Contains(svg, []byte("<svg")) ||
			!bytes.Contains(svg, []byte(">1l<")) || !bytes.Contains(svg, []byte(">1p<")) {
			t.Errorf("%s: %v %v, %d png bytes; svg legend names both runs: %v", f, err1, err2, len(png), bytes.Contains(svg, []byte(">1p<")))
		}
	}
}

// TestInstanceNPZ: an .npz instance read back with -model file gives the
// numbers of -model sk; -format and the .npz extension agree; stdout and
// -out hold the same bytes.
func TestInstanceNPZ(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sk.npz")
	if st, _, errs := runCLI("instance", "-model", "sk", "-n", "9", "-seed", "4", "-out", p); st != 0 {
		t.Fatal(errs)
	}
	st, out, errs := runCLI("instance", "-model", "sk", "-n", "9", "-seed", "4", "-format", "npz")
	if b, _ := os.ReadFile(p); st != 0 || out != string(b) || !strings.HasPrefix(out, "PK") {
		t.Fatalf("stdout npz differs from -out (%q)", errs)
	}
	_, a, _ := runCLI("exact", "-model", "sk", "-n", "9", "-seed", "4", "-beta", "0.7,1.9")
	_, f, errs := runCLI("exact", "-model", "file", "-couplings", p, "-beta", "0.7,1.9")
	la, lf := jsonLines(t, a), jsonLines(t, f)
	if len(lf) != 2 {
		t.Fatalf("%q", errs)
	}
	for k := range la {
		if num(t, la[k], "f") != num(t, lf[k], "f") || num(t, lf[k], "n") != 9 {
			t.Errorf("β %v: sk %v npz %v", la[k]["beta"], la[k]["f"], lf[k]["f"])
		}
	}
	// The run summary records where the model came from.
	run := filepath.Join(dir, "run")
	if st, _, errs := runCLI("train", "-model", "file", "-couplings", p, "-arch", "1p", "-beta-range", "1,1,1", "-init-steps", "2",
		"-batch", "16", "-eval-samples", "0", "-quiet", "-out", run); st != 0 {
		t.Fatal(errs)
	}
	var sum map[string]any
	b, _ := os.ReadFile(filepath.Join(run, output.SummaryFile))
	if json.Unmarshal(b, &sum) != nil || sum["model"].(map[string]any)["couplings"] != p {
		t.Errorf("summary model: %v", sum["model"])
	}
}

// TestProfiles: every computing subcommand writes the three profiles, also
// when train is interrupted.
func TestProfiles(t *testing.T) {
	dir := t.TempDir()
	prof := func(name string) []string {
		return []string{"-cpuprofile", filepath.Join(dir, name+".cpu"), "-memprofile", filepath.Join(dir, name+".mem"), "-trace", filepath.Join(dir, name+".trace")}
	}
	testStop = func(j, steps int, betaEnd bool) bool { return j == 1 && steps == 1 }
	defer func() { testStop = nil }()
	for _, c := range []struct {
		name string
		args []string
		st   int
	}{
		{"exact", []string{"exact", "-model", "cw", "-n", "10", "-beta", "1"}, 0},
		{"sample", []string{"sample", "-model", "cw", "-n", "10", "-arch", "cw_n", "-beta", "1", "-samples", "10"}, 0},
		{"train", tinyTrain(filepath.Join(dir, "run")), exitSignal},
	} {
		st, _, errs := runCLI(append(c.args, prof(c.name)...)...)
		if st != c.st {
			t.Fatalf("%s: status %d %q", c.name, st, errs)
		}
		for _, ext := range []string{".cpu", ".mem", ".trace"} {
			if fi, err := os.Stat(filepath.Join(dir, c.name+ext)); err != nil || fi.Size() == 0 {
				t.Errorf("%s%s: %v", c.name, ext, err)
			}
		}
	}
}

// TestSignalBinary builds the command and sends it a real SIGINT while it
// trains: it must write a checkpoint and exit with status 130, and -resume
// must accept the directory. Skipped with -short (it links a binary).
func TestSignalBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("links the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "h2arnn")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/h2arnn").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v %s", err, out)
	}
	run := filepath.Join(dir, "run")
	cmd := exec.Command(bin, "train", "-model", "cw", "-n", "8", "-arch", "1p", "-beta-range", "1,2,2", "-init-steps", "100000000",
		"-batch", "16", "-std-limit", "0", "-checkpoint-every", "0", "-workers", "1", "-out", run)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// summary.json appears just before the first step.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(run, output.SummaryFile)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the run did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	// A second process into the same directory, a new run or a -resume,
	// is refused by the first one's lock, names it and writes nothing.
	before := dirFiles(t, run)
	holder := fmt.Sprintf("pid %d ", cmd.Process.Pid)
	for _, args := range [][]string{cmd.Args[1:], {"train", "-resume", run}} {
		second := exec.Command(bin, args...)
		var serr bytes.Buffer
		second.Stderr = &serr
		second.Run()
		if code := second.ProcessState.ExitCode(); code != exitUsage || !strings.Contains(serr.String(), holder) || strings.Count(serr.String(), "\n") != 1 {
			t.Errorf("%v while the first run trains: exit %d, stderr %q, want 2 and %q", args[:2], code, serr.String(), holder)
		}
	}
	if !maps.Equal(before, dirFiles(t, run)) {
		t.Error("a refused second process changed the run directory")
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if cmd.ProcessState.ExitCode() != exitSignal {
		t.Fatalf("exit %v, stderr %q", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "-resume "+run) {
		t.Errorf("stderr %q", stderr.String())
	}
	ck := readCheckpoint(t, run)
	if ck.State.BetaIndex != 0 || ck.State.StepsDone < 1 {
		t.Errorf("checkpoint at %+v, want steps done at the first β", ck.State)
	}
	// exact and sample stop within about a second of the first SIGINT or
	// SIGTERM, with status 130 and no partial output file.
	out := filepath.Join(dir, "x.npy")
	for _, c := range []struct {
		sig  syscall.Signal
		args []string
	}{
		{syscall.SIGINT, []string{"exact", "-model", "sk", "-n", "31", "-beta", "1", "-workers", "1"}},
		{syscall.SIGTERM, []string{"sample", "-model", "cw", "-n", "2000", "-arch", "cw_n", "-beta", "1", "-samples", "1000000", "-out", out}},
	} {
		cmd := exec.Command(bin, c.args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		sent := time.Now()
		cmd.Process.Signal(c.sig)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%s ignored %v", c.args[0], c.sig)
		}
		if code := cmd.ProcessState.ExitCode(); code != exitSignal || !strings.Contains(stderr.String(), "interrupted") {
			t.Errorf("%s after %v: exit %d, stderr %q", c.args[0], c.sig, code, stderr.String())
		}
		t.Logf("%s stopped %v after %v", c.args[0], time.Since(sent).Round(time.Millisecond), c.sig)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("the interrupted sample left its -out file")
	}
}

// TestDefaultRunDir: without -out, train creates runs/<date>-<time>-<arch>-n<N>
// in the working directory, and a second run in the same second gets its
// own directory.
func TestDefaultRunDir(t *testing.T) {
	t.Chdir(t.TempDir())
	args := []string{"train", "-model", "cw", "-n", "6", "-arch", "1p", "-beta-range", "1,1,1", "-init-steps", "3", "-batch", "16", "-eval-samples", "0", "-quiet"}
	for k := range 2 {
		if st, _, errs := runCLI(args...); st != 0 {
			t.Fatalf("run %d: %q", k, errs)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join("runs", "*-1p-n6*"))
	if len(dirs) != 2 {
		t.Fatalf("run directories %v", dirs)
	}
	for _, d := range dirs {
		if _, err := time.Parse("20060102-150405", filepath.Base(d)[:15]); err != nil {
			t.Errorf("%s does not start with a timestamp", d)
		}
		if rows, _, err := output.ReadStats(filepath.Join(d, output.StatsFile)); err != nil || len(rows) != 1 {
			t.Errorf("%s: %v", d, err)
		}
	}
}

// TestCheckpointWriteFailure: a checkpoint that cannot be written (here a
// NaN parameter, which a net file refuses to hold) leaves the previous one
// intact.
func TestCheckpointWriteFailure(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, checkpointFile)
	m, _ := model.CurieWeiss(4, 1, 0)
	net, _ := model.NewNet("1p", m, model.ArchOptions{})
	good := []float64{0.1, -2.5e-300, 3, math.SmallestNonzeroFloat64}
	copy(net.Params(), good)
	extra := runExtra{Flags: map[string]string{"arch": "1p", "n": "4"}}
	st := grad.State{Opt: grad.NewAdam(len(good)).State()}
	if err := writeCheckpoint(p, net, st, extra); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(p)
	net.Params()[2] = math.NaN()
	if err := writeCheckpoint(p, net, st, extra); err == nil {
		t.Fatal("NaN parameter written")
	}
	after, _ := os.ReadFile(p)
	if !bytes.Equal(before, after) {
		t.Error("failed write changed the checkpoint")
	}
	// The encoding is exact: parameters come back bit for bit.
	ck := readCheckpoint(t, dir)
	if !slices.Equal(bitsOf(ck.Net.Params), bitsOf(good)) || ck.Flags["n"] != "4" {
		t.Errorf("read back %v, flags %v", ck.Net.Params, ck.Flags)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 1 {
		t.Errorf("temporary files left: %v", left)
	}
}
