package driver

import (
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/h2arnn/h2arnn/model"
)

// TestNetParamsMatchTheNets: the memory plan counts exactly the
// parameters the constructors allocate, for every trainable architecture
// and the options that change its size; the exact nets count their tables.
func TestNetParamsMatchTheNets(t *testing.T) {
	const n = 7
	m := model.NewHamiltonian(n)
	for _, c := range []struct {
		arch string
		o    model.ArchOptions
	}{
		{"sk_rs", model.ArchOptions{}},
		{"sk_1rsb", model.ArchOptions{}},
		{"sk_2rsb", model.ArchOptions{}},
		{"sk_krsb", model.ArchOptions{K: 3}},
		{"sk_krsb", model.ArchOptions{K: 1, TrainFirstLayer: true}},
		{"made", model.ArchOptions{Depth: 1, Width: 1}},
		{"made", model.ArchOptions{Depth: 2, Width: 1}},
		{"made", model.ArchOptions{Depth: 2, Width: 3}},
		{"made", model.ArchOptions{Depth: 4, Width: 2}},
		{"1l", model.ArchOptions{}},
	} {
		net, err := model.NewNet(c.arch, m, c.o)
		if err != nil {
			t.Fatalf("%s %+v: %v", c.arch, c.o, err)
		}
		if got, want := netParams(c.arch, n, c.o), float64(len(net.Params())); got != want {
			t.Errorf("netParams(%s, %d, %+v) = %v; the net has %v parameters", c.arch, n, c.o, got, want)
		}
	}
	// 1p and cw_inf are counted as N+2, a bound on their N and N+1.
	for _, arch := range []string{"1p", "cw_inf"} {
		net, err := model.NewNet(arch, m, model.ArchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := netParams(arch, n, model.ArchOptions{}); got != n+2 || got < float64(len(net.Params())) {
			t.Errorf("netParams(%s, %d) = %v; want N+2, at least the net's %d", arch, n, got, len(net.Params()))
		}
	}
	// The exact nets: cw_n's three triangular tables, h2arnn's 2^N.
	for _, c := range []struct {
		arch string
		n    int
		want float64
	}{
		{"cw_n", 7, 84}, {"h2arnn", 5, 32}, {"h2arnn", 70, math.Ldexp(1, 62)}, {"unknown", 7, 0},
		{"sk_xrsb", 7, 3*7*6 + 14},
	} {
		if got := netParams(c.arch, c.n, model.ArchOptions{}); got != c.want {
			t.Errorf("netParams(%s, %d) = %v; want %v", c.arch, c.n, got, c.want)
		}
	}
}

// TestPlanSizes: the sizes of the allocations, exact, as their doc
// comments state them.
func TestPlanSizes(t *testing.T) {
	eq := func(what string, got, want float64) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v; want %v", what, got, want)
		}
	}
	eq("denseModelBytes(3)", denseModelBytes(3), 8*9+8*3)
	eq("trainerCopies(3)", trainerCopies(3), 2+1+2+2*5)
	eq("batchBytes(10, 4)", batchBytes(10, 4), 10*(4+32))
	eq("overlapBytes(10, 65, 3)", overlapBytes(10, 65, 3), 10*8*2+4*8*66)
	eq("overlapBytes(10, 64, 1)", overlapBytes(10, 64, 1), 10*8*1+2*8*65)
	eq("estimateBytes(10, 4)", estimateBytes(10, 4), 10*(4+96))
	eq("mcmcReplicaBytes(10)", mcmcReplicaBytes(10), 1200+2048)
	if it := binsItem(5); it.bytes != 160 || it.flag != "-overlap-bins 5" {
		t.Errorf("binsItem(5) = %+v", it)
	}
	eq("binsItem(-3)", binsItem(-3).bytes, 0)

	p := estimatePlan(32, 4, 10, 1)
	if len(p) != 3 || p[1].bytes != 3200 || p[1].flag != "-samples 32" || p[2].bytes != 8*10*(2+2)+32*8+2*8*5 || p[2].flag != "-overlap-bins 10" {
		t.Errorf("estimatePlan(32, 4, 10, 1) = %+v", p)
	}
	eq("estimatePlan(33, ...) histograms", estimatePlan(33, 4, 10, 1)[2].bytes, 8*10*(3+2)+33*8+2*8*5)
	if p := estimatePlan(32, 4, 0, 1); len(p) != 2 {
		t.Errorf("estimatePlan without bins = %+v; want no histogram item", p)
	}

	// sample keeps one chunk of sampleChunkBytes of spins, a multiple of 64
	// samples (at least 64), never more than -samples.
	defer func(c int) { sampleChunkBytes = c }(sampleChunkBytes)
	sampleChunkBytes = 10000
	for _, c := range []struct{ samples, n, chunk int }{
		{1000, 10, 960}, {1000, 1000, 64}, {50, 10, 50}, {1000, 0, 1000},
	} {
		it := sampleChunkItem(c.samples, c.n)
		eq("sampleChunkItem", it.bytes, batchBytes(c.chunk, c.n))
	}
}

func TestKnownN(t *testing.T) {
	for _, c := range []struct {
		mf   modelFlags
		want int
	}{
		{modelFlags{model: "cw", n: 5}, 5},
		{modelFlags{model: "sk", n: model.MaxSpins}, model.MaxSpins},
		{modelFlags{model: "file", n: model.MaxSpins + 1}, 0},
		{modelFlags{model: "file"}, 0},
		{modelFlags{model: "ising2d", side: 3}, 9},
		{modelFlags{model: "ising2d", side: 141}, 141 * 141},
		{modelFlags{model: "ising2d", side: 142}, 0},
		{modelFlags{model: "ising2d", side: 0, n: 5}, 0},
		{modelFlags{model: "other", n: 5}, 0},
	} {
		if got := c.mf.knownN(); got != c.want {
			t.Errorf("knownN(%+v) = %d; want %d", c.mf, got, c.want)
		}
	}
}

// TestNetItems: the item names the flag that makes the net large, and a
// trained net counts the trainer's copies and an SK net its activations.
func TestNetItems(t *testing.T) {
	for _, c := range []struct {
		arch string
		o    model.ArchOptions
		flag string
	}{
		{"sk_krsb", model.ArchOptions{K: 2}, "-k 2"},
		{"sk_krsb", model.ArchOptions{K: 1}, "-n 9"},
		{"sk_2rsb", model.ArchOptions{K: 5}, "-n 9"},
		{"made", model.ArchOptions{Depth: 3, Width: 3}, "-width 3"},
		{"made", model.ArchOptions{Depth: 2, Width: 2}, "-width 2"},
		{"made", model.ArchOptions{Depth: 4, Width: 3}, "-depth 4"},
		{"made", model.ArchOptions{Depth: 3, Width: 1}, "-depth 3"},
		{"made", model.ArchOptions{Depth: 2, Width: 1}, "-n 9"},
		{"1p", model.ArchOptions{Depth: 5, Width: 5}, "-n 9"},
	} {
		p := netItems(c.arch, 9, c.o, 2, false)
		if len(p) != 1 || p[0].flag != c.flag || p[0].bytes != 8*netParams(c.arch, 9, c.o) {
			t.Errorf("netItems(%s, %+v) = %+v; want one item of flag %q", c.arch, c.o, p, c.flag)
		}
	}
	o := model.ArchOptions{K: 2}
	p := netItems("sk_krsb", 9, o, 3, true)
	params := netParams("sk_krsb", 9, o)
	if len(p) != 3 || p[1].bytes != 8*params*trainerCopies(3) || p[2].bytes != 8*2*3*81*3 || p[2].flag != "-k 2" {
		t.Errorf("trained sk_krsb items = %+v", p)
	}
	if p := netItems("made", 9, model.ArchOptions{Depth: 2, Width: 2}, 3, true); len(p) != 2 {
		t.Errorf("trained made items = %+v; want the parameters and their copies", p)
	}
}

func TestReplicas(t *testing.T) {
	for spec, want := range map[string]int{"": 1, "  ": 1, "1,2,3": 3, "0.5, 1": 2, "4": 4, " 5 ": 5, "1": 1, "0": 0, "-2": 0, "x": 0} {
		if got := (&mcmcFlags{temperatures: spec}).replicas(); got != want {
			t.Errorf("replicas(%q) = %d; want %d", spec, got, want)
		}
	}
}

// TestMCMCPlan: the replicas' item names -temperatures only when the
// ladder is longer than there are chains.
func TestMCMCPlan(t *testing.T) {
	f := &mcmcFlags{temperatures: "3", chains: 2, samples: 10, overlapBins: 4, workers: 1}
	p := f.memPlan(5)
	if len(p) != 6 || p[2].bytes != 10*(2*5+56) || p[3].flag != "-temperatures 3" || p[3].bytes != 2*3*mcmcReplicaBytes(5) ||
		p[4].bytes != overlapBytes(10, 5, 1) || p[5].bytes != 4*4*8 {
		t.Errorf("mcmc memPlan = %+v", p)
	}
	f.chains = 3
	if p := f.memPlan(5); p[3].flag != "-chains 3" {
		t.Errorf("with as many chains as replicas the item names %q; want -chains 3", p[3].flag)
	}
	f.overlapBins = 0
	if p := f.memPlan(5); p[4].bytes != 0 {
		t.Errorf("without a histogram the overlaps cost %v", p[4].bytes)
	}
	f.chains, f.samples = 0, -5
	if p := f.memPlan(5); p[2].bytes != 0 || p[3].bytes != 3*mcmcReplicaBytes(5) {
		t.Errorf("-chains 0 -samples -5 plan = %+v; want one chain and no samples", p)
	}
}

// TestTrainPlans: train's memory and disk plans item by item.
func TestTrainPlans(t *testing.T) {
	tf := &trainFlags{arch: "1p", betaRange: "1,2,5", batch: 10, evalSamples: 20, estimate: 30, workers: 1, overlapBins: 7, saveSamples: "last", out: "somewhere"}
	p := tf.memPlan(4)
	want := []float64{baseItem.bytes, denseModelBytes(4), 8 * 6, 8 * 6 * trainerCopies(1), batchBytes(10, 4), batchBytes(20, 4) + overlapBytes(20, 4, 1), estimateBytes(30, 4), 5 * perBetaBytes, 7 * 32}
	if len(p) != len(want) {
		t.Fatalf("train memPlan = %+v", p)
	}
	for i := range want {
		if p[i].bytes != want[i] {
			t.Errorf("train memPlan item %d (%s) = %v; want %v", i, p[i].flag, p[i].bytes, want[i])
		}
	}
	tf.saveSamples = "none"
	if p := tf.memPlan(4); p[len(p)-1].bytes != 0 {
		t.Errorf("-save-samples none still counts the histograms: %+v", p[len(p)-1])
	}
	tf.betaRange = "bad"
	if p := tf.memPlan(4); p[len(p)-2].bytes != 0 {
		t.Errorf("a malformed -beta-range counts %v", p[len(p)-2].bytes)
	}

	tf.betaRange = "1,2,5"
	for _, c := range []struct {
		save                       string
		samples, bins, stats, ckpt float64
		flag                       string
	}{
		{"last", 20 * 4, 7 * 40, 5 * 400, 8 * 6 * 5, "-overlap-bins 7"},
		{"every", 5 * 20 * 4, 5 * 7 * 40, 5 * 400, 8 * 6 * 5, "-overlap-bins 7"},
		{"overlaps", 20 * 4, 5 * 7 * 40, 5 * 400, 8 * 6 * 5, "-overlap-bins 7"},
		{"none", 0, 0, 5 * 400, 8 * 6 * 5, "-eval-samples 20 with -save-samples none"},
	} {
		tf.saveSamples = c.save
		files, flag := tf.diskPlan(4)
		got := []float64{files[0].bytes, files[1].bytes, files[2].bytes, files[3].bytes}
		if want := []float64{c.samples, c.bins, c.stats, c.ckpt}; !equalFloats(got, want) || flag != c.flag ||
			files[0].path != filepath.Join("somewhere", "samples.npy") || files[3].path != filepath.Join("somewhere", checkpointFile) {
			t.Errorf("-save-samples %s: diskPlan = %+v, %q; want sizes %v and %q", c.save, files, flag, want, c.flag)
		}
	}
	tf.overlapBins, tf.saveSamples = 2, "last" // 80 bytes of histogram, as many as of samples
	if _, flag := tf.diskPlan(4); flag != "-eval-samples 20 with -save-samples last" {
		t.Errorf("with as large samples as histograms the refusal names %q", flag)
	}
	tf.out, tf.saveSamples, tf.evalSamples = "", "last", -3
	if files, _ := tf.diskPlan(4); files[0].path != filepath.Join("runs", "samples.npy") || files[0].bytes != 0 {
		t.Errorf("without -out, -eval-samples -3: %+v", files[0])
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestMemLimitCheck: the refusal names the flag of the largest item that
// has one (even when an item without a flag is larger), else the largest
// item; a plan exactly at the limit, and any plan without a limit, passes.
func TestMemLimitCheck(t *testing.T) {
	plan := memPlan{{"", "the runtime", 500}, {"-a 1", "the a's", 100}, {"-b 2", "the b's", 300}, {"-c 3", "the c's", 200}}
	if err := (memLimit{bytes: 1100, source: "test"}).check(plan); err != nil {
		t.Errorf("a plan at the limit is refused: %v", err)
	}
	if err := (memLimit{bytes: 0}).check(plan); err != nil {
		t.Errorf("no limit refuses: %v", err)
	}
	if err := (memLimit{bytes: -1}).check(plan); err != nil {
		t.Errorf("a negative limit refuses: %v", err)
	}
	err := (memLimit{bytes: 1099, source: "the test's limit"}).check(plan)
	want := "-b 2 (300 bytes for the b's): the command would need about 1.1 kB of memory, more than the limit of 1.1 kB (the test's limit); make -b smaller, or raise the limit with -max-memory (0: no limit)"
	if err == nil || err.Error() != want || !isUsage(err) {
		t.Errorf("check = %v; want usage error %q", err, want)
	}
	// Of two largest items, the first is named.
	err = (memLimit{bytes: 10, source: "s"}).check(memPlan{{"-a 1", "the a's", 7}, {"-b 2", "the b's", 7}})
	if err == nil || !strings.HasPrefix(err.Error(), "-a 1 (") {
		t.Errorf("check of two equal flagged items = %v; want -a 1 named", err)
	}
	err = (memLimit{bytes: 10, source: "s"}).check(memPlan{{"", "the a's", 7}, {"", "the b's", 7}})
	if err == nil || !strings.HasPrefix(err.Error(), "7 bytes for the a's:") {
		t.Errorf("check of two equal items without flags = %v; want the a's named", err)
	}
	err = (memLimit{bytes: 10, source: "s"}).check(memPlan{{"", "x", 5}, {"", "the y's", 7}, {"", "z", 6}})
	want = "7 bytes for the y's: the command would need about 18 bytes of memory, more than the limit of 10 bytes (s); give smaller sizes, or raise the limit with -max-memory (0: no limit)"
	if err == nil || err.Error() != want {
		t.Errorf("check without flags = %v; want %q", err, want)
	}
}

func TestFormatBytes(t *testing.T) {
	for b, want := range map[float64]string{
		0: "0 bytes", 999: "999 bytes", 1e3: "1 kB", 1500: "1.5 kB", 1e6: "1 MB", 2.5e6: "2.5 MB",
		1e9: "1 GB", 1e12: "1 TB", 3.2e15: "3.2e+03 TB",
	} {
		if got := formatBytes(b); got != want {
			t.Errorf("formatBytes(%v) = %q; want %q", b, got, want)
		}
	}
}

// TestParseBytesErrors: a unit is the trailing letters, of either case,
// and is named when unknown; a number that is no size says so.
func TestParseBytesErrors(t *testing.T) {
	for s, want := range map[string]string{
		"1a": `unknown unit "a"`, "1z": `unknown unit "z"`, "1A": `unknown unit "A"`, "1Z": `unknown unit "Z"`,
		"1`": "not a size", "1{": "not a size", "1@": "not a size", "1[": "not a size",
		"-1": "not a size", "1e308TiB": "not a size",
	} {
		if _, err := parseBytes(s); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("parseBytes(%q) = %v; want an error with %q", s, err, want)
		}
	}
	for s, want := range map[string]float64{"0.9": 0, "1.9": 1, " 2 kib ": 2048, "0B": 0} {
		if got, err := parseBytes(s); err != nil || got != want {
			t.Errorf("parseBytes(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if l, err := (&memoryFlag{s: "2KB"}).limit(); err != nil || l.bytes != 2000 || l.source != "-max-memory 2KB" {
		t.Errorf("-max-memory 2KB: %+v, %v", l, err)
	}
	if _, err := (&memoryFlag{s: "2 parsecs"}).limit(); err == nil || !isUsage(err) || !strings.Contains(err.Error(), `-max-memory "2 parsecs"`) {
		t.Errorf("-max-memory 2 parsecs: %v", err)
	}
}

func TestExistingDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		dir: dir, filepath.Join(dir, "a", "b", "c"): dir, filepath.Join(file, "x"): dir, string(filepath.Separator): string(filepath.Separator),
	} {
		if got := existingDir(in); got != want {
			t.Errorf("existingDir(%q) = %q; want %q", in, got, want)
		}
	}
}

// freeDiskOrSkip returns the free bytes of dir's file system, or skips the
// test where they cannot be read or are implausible.
func freeDiskOrSkip(t *testing.T, dir string) float64 {
	t.Helper()
	free, ok := freeDisk(dir)
	if !ok {
		t.Skip("the free space of a file system is not read on this OS")
	}
	if free < 1e6 || free > 1e17 {
		t.Skip("implausible free space")
	}
	return free
}

// TestCheckDisk: the files going to one file system are added up; the
// refusal names the size flag, the total, the largest file and the
// directory; files without a path or size are left out.
func TestCheckDisk(t *testing.T) {
	dir := t.TempDir()
	free := freeDiskOrSkip(t, dir)
	a, b := filepath.Join(dir, "new", "a.npy"), filepath.Join(dir, "b.npy")
	if err := checkDisk([]fileItem{{"-x", a, 0.7 * free}}, "-x 5"); err != nil {
		t.Errorf("one file within the free space is refused: %v", err)
	}
	err := checkDisk([]fileItem{{"-x", b, 0.5 * free}, {"-x", a, 0.7 * free}, {"-y", "", 10 * free}, {"-z", b, -10 * free}}, "-x 5")
	if err == nil || !isUsage(err) {
		t.Fatalf("two files that together exceed the free space: %v", err)
	}
	for _, s := range []string{"-x 5: the output would take about ", "(" + a + " the largest file)", "free on the file system of " + dir + "; reduce -x or"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("refusal %q lacks %q", err, s)
		}
	}
	// Of two largest files, the first is named.
	if err := checkDisk([]fileItem{{"-x", b, 0.6 * free}, {"-x", a, 0.6 * free}}, "-x 5"); err == nil || !strings.Contains(err.Error(), "("+b+" the largest file)") {
		t.Errorf("two files of one size: %v; want %s named", err, b)
	}
	if err := checkDisk([]fileItem{{"-y", "", 10 * free}, {"-z", b, 0}}, "-y 1"); err != nil {
		t.Errorf("files without a path or size are counted: %v", err)
	}
}

func TestMaxSpinsWithin(t *testing.T) {
	couplings := func(n int) memPlan { return memPlan{modelItem(n)} }
	for _, c := range []struct {
		lim  float64
		want int
	}{
		{0, model.MaxSpins}, {-1, model.MaxSpins}, {denseModelBytes(model.MaxSpins), model.MaxSpins},
		{denseModelBytes(model.MaxSpins) - 1, model.MaxSpins - 1}, {denseModelBytes(100), 100}, {denseModelBytes(100) - 1, 99},
		{denseModelBytes(1), 1}, {1, 0},
	} {
		if got := maxSpinsWithin(memLimit{bytes: c.lim}, couplings); got != c.want {
			t.Errorf("maxSpinsWithin(%v) = %d; want %d", c.lim, got, c.want)
		}
	}
}

// TestLimitFileN: only a couplings file without -n is bounded, by the
// exact net's limit and by the memory limit, whichever is smaller.
func TestLimitFileN(t *testing.T) {
	couplings := func(n int) memPlan { return memPlan{modelItem(n)} }
	lim := memLimit{bytes: denseModelBytes(100), source: "src"}
	mf := &modelFlags{model: "file"}
	limitFileN(mf, "1p", lim, couplings)
	if mf.maxN != 100 || !strings.Contains(mf.maxWhy, "at most 100 spins") || !strings.Contains(mf.maxWhy, "(src)") {
		t.Errorf("file, 1p: maxN %d %q", mf.maxN, mf.maxWhy)
	}
	mf = &modelFlags{model: "file"}
	limitFileN(mf, "h2arnn", lim, couplings)
	if mf.maxN != model.MaxExactNet || !strings.Contains(mf.maxWhy, "-arch h2arnn") {
		t.Errorf("file, h2arnn: maxN %d %q", mf.maxN, mf.maxWhy)
	}
	mf = &modelFlags{model: "file"}
	limitFileN(mf, "1p", memLimit{}, couplings)
	if mf.maxN != 0 {
		t.Errorf("file without a limit: maxN %d", mf.maxN)
	}
	for _, mf := range []*modelFlags{{model: "file", n: 500}, {model: "sk"}} {
		limitFileN(mf, "h2arnn", lim, couplings)
		if mf.maxN != 0 {
			t.Errorf("%+v is bounded", mf)
		}
	}
	limitFileN(nil, "h2arnn", lim, couplings) // no model flags: nothing to do
}

func TestCheckNetSpec(t *testing.T) {
	for _, c := range []struct {
		arch, kind string
		n          int
		want       string
	}{
		{"cw_n", "sk", 10, "-arch cw_n: -model sk"},
		{"cw_n", "cw", 10, ""},
		{"h2arnn", "sk", model.MaxExactNet, ""},
		{"h2arnn", "sk", model.MaxExactNet + 1, "-n 25"},
		{"nonsense", "sk", 10, ""},
		{"", "sk", 10, ""},
	} {
		err := checkNetSpec(c.arch, c.kind, c.n)
		if (c.want == "") != (err == nil) || err != nil && (!strings.Contains(err.Error(), c.want) || !isUsage(err)) {
			t.Errorf("checkNetSpec(%s, %s, %d) = %v; want %q", c.arch, c.kind, c.n, err, c.want)
		}
	}
}

// TestSampleFilesHeldToTheDisk: each of sample's files (8 bytes a sample
// for -logq and -energy) is held to the free space of its file system.
func TestSampleFilesHeldToTheDisk(t *testing.T) {
	dir := t.TempDir()
	free := freeDiskOrSkip(t, dir)
	m := int(free/8) + 1000
	path := filepath.Join(dir, "x.npy")
	for _, sf := range []*sampleFlags{{samples: m, logq: path}, {samples: m, energy: path}} {
		sf.maxMemory = &memoryFlag{s: "0"}
		err := sf.checkSizes(nil, "1p", 1)
		if err == nil || !isUsage(err) || !strings.Contains(err.Error(), "-samples ") || !strings.Contains(err.Error(), path) {
			t.Errorf("-logq %q -energy %q with %d samples and %.3g bytes free: %v", sf.logq, sf.energy, m, free, err)
		}
		sf.samples = int(free/8) / 2
		if err := sf.checkSizes(nil, "1p", 1); err != nil {
			t.Errorf("%d samples with %.3g bytes free: %v", sf.samples, free, err)
		}
	}
}

// TestFitAndBenchMemory: fit counts its samples three times (read, split
// into training and held-out rows), the comparison model if one is given
// and the trained net; bench two batches. A plan exactly at -max-memory
// passes, a byte less is refused naming the largest flag.
func TestFitAndBenchMemory(t *testing.T) {
	limit := func(b float64) *memoryFlag { return &memoryFlag{s: strconv.FormatFloat(b, 'f', 0, 64)} }
	const rows, n = 1000, 40
	samples := 3.0 * rows * n
	net := func(arch string, workers int) float64 {
		return memPlan(netItems(arch, n, model.ArchOptions{}, workers, true)).total()
	}
	for _, c := range []struct {
		model, arch string
		need        float64
		flag        string
	}{
		{"", plmArch, samples, "-data d.npy"},
		{"sk", plmArch, samples + denseModelBytes(n), "-data d.npy"},
		{"", "1l", samples + net("1l", 2), "-data d.npy"},
	} {
		need := baseItem.bytes + c.need
		f := &fitFlags{data: "d.npy", arch: c.arch, workers: 2, maxMemory: limit(need)}
		mf := &modelFlags{model: c.model}
		if err := f.checkMemory(mf, rows, n); err != nil {
			t.Errorf("fit -model %q -arch %s at the limit: %v", c.model, c.arch, err)
		}
		f.maxMemory = limit(need - 1)
		if err := f.checkMemory(mf, rows, n); err == nil || !strings.HasPrefix(err.Error(), c.flag+" (") {
			t.Errorf("fit -model %q -arch %s a byte over the limit: %v; want %s named", c.model, c.arch, err, c.flag)
		}
	}

	bf := &benchFlags{arch: "1l", batch: 10000, workers: 2}
	need := baseItem.bytes + denseModelBytes(n) + net("1l", 2) + 2*batchBytes(10000, n)
	bf.maxMemory = limit(need)
	if err := bf.checkMemory(&modelFlags{model: "sk", n: n}, n); err != nil {
		t.Errorf("bench at the limit: %v", err)
	}
	bf.maxMemory = limit(need - 1)
	if err := bf.checkMemory(&modelFlags{model: "sk", n: n}, n); err == nil || !strings.Contains(err.Error(), "-batch 10000 (") {
		t.Errorf("bench a byte over the limit: %v", err)
	}
}
