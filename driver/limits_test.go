package driver

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn/internal/npy"
	"github.com/h2arnn/h2arnn/model"
)

func TestParseBytes(t *testing.T) {
	for s, want := range map[string]float64{
		"0": 0, "1": 1, "512": 512, "8GiB": 8 << 30, "8gib": 8 << 30, "1.5KiB": 1536, "2MB": 2e6, "3 GB": 3e9,
		"1e9": 1e9, "1e3KB": 1e6, "1TiB": 1 << 40, "10B": 10,
	} {
		if got, err := parseBytes(s); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", "-1", "GiB", "8XB", "0x10", "1e400", "8 GiB GiB", "1_000"} {
		if got, err := parseBytes(s); err == nil {
			t.Errorf("parseBytes(%q) = %v; want an error", s, got)
		}
	}
}

// allocatedBy returns the bytes the Go heap allocated while f ran.
func allocatedBy(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// TestSizeFlagsRefusedBeforeAllocating: every size flag of the commands
// that allocate is held to -max-memory before anything large is built: one
// line naming the flag, status 2, no files, and less than 64 MB allocated
// on the way (each of these took gigabytes or crashed before).
func TestSizeFlagsRefusedBeforeAllocating(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "run")
	train := []string{"train", "-model", "sk", "-n", "50", "-quiet", "-out", out, "-max-memory", "1GiB"}
	cases := []struct {
		args []string
		flag string
	}{
		{append(slicesConcat(train, "-arch", "sk_krsb"), "-beta-range", "1,2,1000000000"), "-beta-range"},
		{append(slicesConcat(train, "-arch", "sk_krsb"), "-batch", "1000000000"), "-batch"},
		{append(slicesConcat(train, "-arch", "sk_krsb"), "-eval-samples", "1000000000"), "-eval-samples"},
		{append(slicesConcat(train, "-arch", "sk_krsb"), "-estimate", "1000000000"), "-estimate"},
		{append(slicesConcat(train, "-arch", "sk_krsb"), "-k", "1000000"), "-k"},
		{append(slicesConcat(train, "-arch", "made"), "-depth", "1000000"), "-depth"},
		{append(slicesConcat(train, "-arch", "made"), "-width", "1000000"), "-width"},
		{append(slicesConcat(train, "-arch", "1p"), "-overlap-bins", "1000000000"), "-overlap-bins"},
		{[]string{"train", "-model", "cw", "-n", "20000", "-arch", "1p", "-quiet", "-out", out, "-max-memory", "1GiB"}, "-n 20000"},
		{[]string{"bench", "-model", "sk", "-n", "50", "-batch", "1000000000", "-max-memory", "1GiB"}, "-batch"},
		{[]string{"bench", "-model", "sk", "-n", "50", "-k", "1000000", "-max-memory", "1GiB"}, "-k"},
		{[]string{"sample", "-model", "cw", "-n", "20000", "-arch", "cw_n", "-beta", "1", "-max-memory", "1GiB"}, "-n 20000"},
		{[]string{"estimate", "-run", dir, "-samples", "1000000000000", "-max-memory", "1GiB"}, "-samples"},
		{[]string{"mcmc", "-model", "sk", "-n", "20", "-beta", "1", "-temperatures", "100000000", "-quiet", "-out", out, "-max-memory", "1GiB"}, "-temperatures"},
		{[]string{"mcmc", "-model", "sk", "-n", "20", "-beta", "1", "-chains", "10000000", "-samples", "10000000", "-quiet", "-out", out, "-max-memory", "1GiB"}, "-chains"},
	}
	for _, c := range cases {
		var st int
		var so, se string
		alloc := allocatedBy(func() { st, so, se = runCLI(c.args...) })
		if st != exitUsage || so != "" || strings.Count(se, "\n") != 1 || !strings.Contains(se, c.flag) || !strings.Contains(se, "-max-memory") {
			t.Errorf("%v: status %d, stdout %q, stderr %q; want status 2 and one line naming %s and -max-memory", c.args, st, so, se, c.flag)
		}
		if alloc > 64<<20 {
			t.Errorf("%v: %d MB allocated before the refusal", c.args, alloc>>20)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("%v: the refused run created %s", c.args, out)
		}
	}
	// The same flags within the limit are not refused for their size.
	if st, _, se := runCLI("train", "-model", "sk", "-n", "8", "-arch", "sk_krsb", "-beta-range", "1,2,2", "-init-steps", "1", "-max-step", "1", "-batch", "8", "-eval-samples", "8", "-quiet", "-out", out, "-max-memory", "1GiB"); st != exitOK {
		t.Errorf("a small run with -max-memory 1GiB: %d %q", st, se)
	}
	if st, _, se := runCLI("train", "-model", "sk", "-n", "8", "-arch", "1p", "-max-memory", "8 parsecs"); st != exitUsage || !strings.Contains(se, "-max-memory") {
		t.Errorf("-max-memory with an unknown unit: %d %q", st, se)
	}
}

func slicesConcat(a []string, b ...string) []string { return append(append([]string(nil), a...), b...) }

// TestExactBeforeTheMatrix: exact decides from the flags whether it can
// answer, and the formulas never build the N×N couplings (at N = 20000,
// 3.2 GB and half a minute before).
func TestExactBeforeTheMatrix(t *testing.T) {
	for _, c := range []struct {
		args []string
		st   int
		want string
	}{
		{[]string{"-model", "sk", "-n", "20000"}, exitUsage, "-n 20000"},
		{[]string{"-model", "file", "-couplings", "nonexistent.txt", "-n", "20000"}, exitUsage, "-n 20000"},
		{[]string{"-model", "cw", "-n", "20000"}, exitOK, `"method":"analytic"`},
		{[]string{"-model", "cw", "-n", "100000", "-method", "meanfield"}, exitOK, `"n":100000`},
		{[]string{"-model", "cw", "-n", "100000"}, exitUsage, "-method meanfield"},
		{[]string{"-model", "ising2d", "-L", "141"}, exitOK, `"method":"kaufman"`},
		{[]string{"-model", "ising2d", "-L", "141", "-field", "0.5"}, exitUsage, "-n 19881"},
		{[]string{"-model", "cw", "-n", "20", "-seed", "5"}, exitUsage, "-seed"},
	} {
		var st int
		var so, se string
		alloc := allocatedBy(func() { st, so, se = runCLI(append(append([]string{"exact"}, c.args...), "-beta", "0.5")...) })
		if st != c.st || !strings.Contains(so+se, c.want) || strings.Count(so+se, "\n") != 1 {
			t.Errorf("exact %v: status %d, %q %q; want status %d and %q", c.args, st, so, se, c.st, c.want)
		}
		if alloc > 64<<20 {
			t.Errorf("exact %v: %d MB allocated", c.args, alloc>>20)
		}
	}
}

// TestKnobsWithoutMeaningRefused: bench refuses architecture flags the
// net ignores, as train does (one check, archKnobs); a disorder seed is
// refused for the Curie-Weiss model wherever it would be ignored; train
// refuses histogram and sample-file flags when it evaluates no samples,
// and estimate -overlap-bins without -overlaps.
func TestKnobsWithoutMeaningRefused(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "-model", "cw", "-n", "8", "-arch", "1p", "-k", "3"},
		{"bench", "-model", "cw", "-n", "8", "-arch", "1p", "-depth", "3"},
		{"bench", "-model", "cw", "-n", "8", "-arch", "1p", "-width", "3"},
		{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-k", "3"},
		{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-seed", "3"},
		{"bench", "-model", "cw", "-n", "8", "-arch", "1p", "-seed", "3"},
		{"instance", "-model", "cw", "-n", "8", "-seed", "3"},
		{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-eval-samples", "0", "-overlap-bins", "10"},
		{"train", "-model", "cw", "-n", "8", "-arch", "1p", "-eval-samples", "0", "-save-samples", "every"},
		{"estimate", "-run", ".", "-overlap-bins", "10"},
	} {
		st, so, se := runCLI(args...)
		flag := args[len(args)-2]
		if st != exitUsage || so != "" || strings.Count(se, "\n") != 1 || !strings.Contains(se, flag) {
			t.Errorf("%v: %d %q %q; want status 2 and one line naming %s", args, st, so, se, flag)
		}
	}
	// sample and mcmc use -seed as the default seed of their streams.
	if st, _, se := runCLI("sample", "-model", "cw", "-n", "8", "-arch", "cw_n", "-beta", "1", "-samples", "4", "-seed", "3"); st != exitOK {
		t.Errorf("sample -model cw -seed 3: %d %q", st, se)
	}
}

// TestSampleRefusesOutputBeyondTheDisk: -samples whose files would not fit
// on the file system is refused before sampling. (Free space is read
// where the OS reports it; elsewhere the check is skipped.)
func TestSampleRefusesOutputBeyondTheDisk(t *testing.T) {
	dir := t.TempDir()
	free, ok := freeDisk(dir)
	if !ok {
		t.Skip("the free space of a file system is not read on this OS")
	}
	m := int(free/2000) + 1000 // more spins than bytes free
	if m <= 0 || free > 1e15 {
		t.Skip("implausible free space")
	}
	outFile := filepath.Join(dir, "x.npy")
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := Main(ctx, []string{"sample", "-model", "cw", "-n", "2000", "-arch", "cw_n", "-beta", "1", "-samples", strconv.Itoa(m), "-out", outFile}, &stdout, &stderr)
	if st != exitUsage || !strings.Contains(stderr.String(), "-samples") || !strings.Contains(stderr.String(), "free") {
		t.Errorf("sample of %d × 2000 spins into %s with %.3g bytes free: %d %q", m, dir, free, st, stderr.String())
	}
	if _, err := os.Stat(outFile); err == nil {
		t.Errorf("the refused sample created %s", outFile)
	}
}

// TestFileNBoundedBeforeReading: a 13-byte couplings file naming spin
// 19999 (N = 20000, a 3.2 GB dense matrix) is refused before the matrix is
// allocated wherever the command cannot use that N: an enumeration, the
// exact net, a memory limit. The message says why.
func TestFileNBoundedBeforeReading(t *testing.T) {
	dir := t.TempDir()
	big := writeTemp(t, dir, "big.txt", "0 19999 0.5\n")
	out := filepath.Join(dir, "run")
	for _, c := range []struct {
		args []string
		why  string
	}{
		{[]string{"exact", "-model", "file", "-couplings", big, "-beta", "1"}, "-method enumerate"},
		{[]string{"sample", "-model", "file", "-couplings", big, "-arch", "h2arnn", "-beta", "1"}, "-arch h2arnn"},
		{[]string{"train", "-model", "file", "-couplings", big, "-arch", "1p", "-max-memory", "1GiB", "-quiet", "-out", out}, "-max-memory"},
		{[]string{"bench", "-model", "file", "-couplings", big, "-arch", "1p", "-max-memory", "1GiB"}, "8·N² bytes"},
	} {
		var st int
		var so, se string
		alloc := allocatedBy(func() { st, so, se = runCLI(c.args...) })
		if st != exitUsage || so != "" || strings.Count(se, "\n") != 1 || !strings.Contains(se, "19999") || !strings.Contains(se, c.why) {
			t.Errorf("%v: %d %q %q; want status 2 and one line naming spin 19999 and %q", c.args, st, so, se, c.why)
		}
		if alloc > 64<<20 {
			t.Errorf("%v: %d MB allocated before the refusal", c.args, alloc>>20)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("the refused train created %s", out)
	}
	// Within the limit the same file is read (N = 20000 fits 8 GiB).
	var lim memLimit
	lim.bytes = 8 << 30
	if n := maxSpinsWithin(lim, func(n int) memPlan { return memPlan{modelItem(n)} }); n != model.MaxSpins {
		t.Errorf("maxSpinsWithin(8 GiB) for the couplings alone = %d; want %d", n, model.MaxSpins)
	}
	lim.bytes = 1e9
	if n := maxSpinsWithin(lim, func(n int) memPlan { return memPlan{modelItem(n)} }); denseModelBytes(n) > 1e9 || denseModelBytes(n+1) <= 1e9 {
		t.Errorf("maxSpinsWithin(1 GB) = %d: not the largest N whose couplings fit", n)
	}
}

// TestTrainRefusesFilesBeyondTheDisk: -save-samples every with samples
// whose files would not fit on the run directory's file system is refused
// before the run starts (the directory is not created).
func TestTrainRefusesFilesBeyondTheDisk(t *testing.T) {
	dir := t.TempDir()
	free, ok := freeDisk(dir)
	if !ok {
		t.Skip("the free space of a file system is not read on this OS")
	}
	const n, eval = 100, 10000 // 1 MB of samples per β
	count := int(free/(n*eval)) + 10
	if count > 1e7 {
		t.Skip("implausible free space")
	}
	out := filepath.Join(dir, "run")
	st, so, se := runCLI("train", "-model", "sk", "-n", strconv.Itoa(n), "-arch", "1p", "-beta-range", "1,2,"+strconv.Itoa(count),
		"-eval-samples", strconv.Itoa(eval), "-save-samples", "every", "-quiet", "-out", out)
	if st != exitUsage || so != "" || strings.Count(se, "\n") != 1 || !strings.Contains(se, "-eval-samples") || !strings.Contains(se, "free") {
		t.Errorf("train writing %d × %d MB into %s with %.3g bytes free: %d %q %q", count, n*eval>>20, dir, free, st, so, se)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("the refused run created %s", out)
	}
}

// TestFitRefusesBeforeWriting: fit refuses, before the data are read, an
// sk net with neither a model nor -learn-couplings; a net beyond
// -max-memory once the data give N; and a net the library cannot build,
// without leaving a run directory behind.
func TestFitRefusesBeforeWriting(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "x.npy")
	f, err := os.Create(data)
	if err != nil {
		t.Fatal(err)
	}
	w, err := npy.NewWriter(f, "|i1", 10, 200)
	if err == nil {
		x := make([]int8, 2000)
		for k := range x {
			x[k] = int8(1 - 2*(k%3%2))
		}
		err = w.WriteInt8s(x)
	}
	if err == nil {
		err = w.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "fit")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-data", filepath.Join(dir, "missing.npy"), "-arch", "sk_krsb"}, "-learn-couplings"},
		{[]string{"-data", data, "-arch", "made", "-width", "100000", "-max-memory", "1GiB"}, "-width 100000"},
		{[]string{"-data", data, "-arch", "made", "-depth", "3", "-width", "300", "-max-memory", "0"}, "-arch made"},
	} {
		st, so, se := runCLI(append(append([]string{"fit"}, c.args...), "-quiet", "-out", out)...)
		if st != exitUsage || so != "" || strings.Count(se, "\n") != 1 || !strings.Contains(se, c.want) {
			t.Errorf("fit %v: %d %q %q; want status 2 and one line with %q", c.args, st, so, se, c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("fit %v: the refused run left %s", c.args, out)
		}
	}
}
