package driver

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/internal/decimal"
	"github.com/h2arnn/h2arnn/internal/par"
	"github.com/h2arnn/h2arnn/model"
)

// A command estimates the memory it will need from its flags before it
// allocates anything large, and refuses to start when the estimate exceeds a
// limit: by default the memory the machine has available now
// (availableMemory), or -max-memory. The estimate is the sum of the large
// allocations the command makes (the dense couplings, the net's parameters
// and the optimiser's copies of them, the sample buffers, histograms, the β
// schedule), read off the structures that make them; small per-goroutine
// scratch is left out. A refusal names the flag whose allocation is the
// largest, so that the user knows what to make smaller.

// memoryFlag is the -max-memory flag of a command that allocates.
type memoryFlag struct{ s string }

// addMemoryFlag registers -max-memory.
func addMemoryFlag(fs *flagSet) *memoryFlag {
	f := &memoryFlag{}
	fs.StringVar(&f.s, "max-memory", "", "refuse to start when the estimated memory of the command exceeds this `SIZE`: bytes, or a number with a unit B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. 8GiB; 0 = no limit (default: "+availableMemoryDoc+")")
	return f
}

// memLimit is the limit a command's estimate is held to.
type memLimit struct {
	bytes float64 // 0: no limit
	// source says where the limit comes from, for messages.
	source string
}

// limit returns the limit -max-memory sets, or the available memory.
func (f *memoryFlag) limit() (memLimit, error) {
	if f.s == "" {
		b, src := availableMemory()
		return memLimit{bytes: b, source: src}, nil
	}
	b, err := parseBytes(f.s)
	if err != nil {
		return memLimit{}, usagef("-max-memory %q: %v; give e.g. -max-memory 8GiB, or 0 for no limit", f.s, err)
	}
	return memLimit{bytes: b, source: "-max-memory " + f.s}, nil
}

// byteUnits are the units parseBytes accepts, lower case.
var byteUnits = map[string]float64{
	"": 1, "b": 1,
	"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12,
	"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
}

// parseBytes parses a size: a decimal number (with an exponent if need be)
// followed by an optional unit of byteUnits, in any case. It returns the
// number of bytes, rounded down.
func parseBytes(s string) (float64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' })
	num, unit := s, ""
	// An exponent ("1e9") is part of the number, not a unit.
	for i >= 0 && (s[i] == 'e' || s[i] == 'E') && i+1 < len(s) && strings.ContainsRune("0123456789+-", rune(s[i+1])) {
		j := strings.IndexFunc(s[i+1:], func(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' })
		if j < 0 {
			i = -1
		} else {
			i += 1 + j
		}
	}
	if i >= 0 {
		num, unit = s[:i], strings.ToLower(s[i:])
	}
	mult, ok := byteUnits[unit]
	if !ok {
		return 0, fmt.Errorf("unknown unit %q (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", s[i:])
	}
	v, err := decimal.Parse(strings.TrimSpace(num))
	if err != nil || v < 0 {
		return 0, fmt.Errorf("not a size in bytes")
	}
	b := math.Floor(v * mult)
	if math.IsInf(b, 0) {
		return 0, fmt.Errorf("not a size in bytes")
	}
	return b, nil
}

// formatBytes writes a size in bytes for messages, in powers of 1000.
func formatBytes(b float64) string {
	switch {
	case b >= 1e12:
		return fmt.Sprintf("%.3g TB", b/1e12)
	case b >= 1e9:
		return fmt.Sprintf("%.3g GB", b/1e9)
	case b >= 1e6:
		return fmt.Sprintf("%.3g MB", b/1e6)
	case b >= 1e3:
		return fmt.Sprintf("%.3g kB", b/1e3)
	}
	return fmt.Sprintf("%.0f bytes", b)
}

// memItem is one large allocation of a command: its size in bytes, what
// it holds, and the flag that sets its size ("" if none does).
type memItem struct {
	flag, what string
	bytes      float64
}

// memPlan is the estimated memory of a command, item by item. Sizes are
// float64 so that absurd flags (-batch 1e18) cannot overflow the sum.
type memPlan []memItem

func (p memPlan) total() float64 {
	t := 0.0
	for _, it := range p {
		t += it.bytes
	}
	return t
}

// check refuses the plan if its total exceeds the limit: one line naming
// the flag of the largest item that has a flag (or, if none has one, the
// largest item), the estimate and the limit.
func (l memLimit) check(p memPlan) error {
	total := p.total()
	if l.bytes <= 0 || total <= l.bytes {
		return nil
	}
	var big memItem
	for _, it := range p {
		if it.flag != "" && it.bytes > big.bytes {
			big = it
		}
	}
	if big.flag == "" {
		for _, it := range p {
			if it.bytes > big.bytes {
				big = it
			}
		}
	}
	what := fmt.Sprintf("%s for %s", formatBytes(big.bytes), big.what)
	fix := "give smaller sizes"
	if big.flag != "" {
		what = big.flag + " (" + what + ")"
		fix = "make " + strings.Fields(big.flag)[0] + " smaller"
	}
	return usagef("%s: the command would need about %s of memory, more than the limit of %s (%s); %s, or raise the limit with -max-memory (0: no limit)",
		what, formatBytes(total), formatBytes(l.bytes), l.source, fix)
}

// Sizes of the large allocations, in bytes.

// denseModelBytes is the memory of a model of n spins: the dense N×N
// couplings and the N fields (model.Hamiltonian), whatever the model.
func denseModelBytes(n int) float64 {
	nf := float64(n)
	return 8*nf*nf + 8*nf
}

// netParams is the number of float64s of the net arch on n spins with the
// options o: its parameters, or, for the exact nets without trainable
// parameters, their tables. It mirrors the constructors' layouts (see the
// ParamCount docs in package model); an unknown arch counts 0.
func netParams(arch string, n int, o model.ArchOptions) float64 {
	nf := float64(n)
	tri := nf * (nf - 1) / 2
	switch {
	case strings.HasPrefix(arch, "sk_"):
		k := skSteps(arch, o)
		p := (2*k+3)*nf*(nf-1) + 2*nf
		if o.TrainFirstLayer {
			p += tri + nf
		}
		return p
	case arch == "made":
		d, w := float64(max(o.Depth, 1)), float64(max(o.Width, 1))
		if d == 1 {
			return tri + nf
		}
		// exclusive layer 1→w, d-2 inclusive w→w, inclusive w→1: rows of
		// i (exclusive) or i+1 (inclusive) inputs per input channel.
		p := w*tri + w*nf
		p += (d - 2) * (w*w*(tri+nf) + w*nf)
		p += w*(tri+nf) + nf
		return p + d - 1
	case arch == "1p", arch == "cw_inf":
		return nf + 2
	case arch == "1l":
		return nf * (nf + 1) / 2
	case arch == "cw_n":
		return 3 * nf * (nf + 1) / 2
	case arch == "h2arnn":
		return math.Ldexp(1, min(n, 62)) // Σ_r 2^r tables of the conditionals
	}
	return 0
}

// skSteps is the number k of replica-symmetry-breaking steps of the SK net
// arch: o.K for sk_krsb, 0 for sk_rs, k for sk_<k>rsb.
func skSteps(arch string, o model.ArchOptions) float64 {
	switch arch {
	case "sk_krsb":
		return float64(o.K)
	case "sk_rs":
		return 0
	}
	k, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(arch, "sk_"), "rsb"))
	if err != nil {
		return 0
	}
	return float64(k)
}

// trainerCopies is the number of parameter-sized float64 vectors a trainer
// with workers goroutines keeps besides the net's own: Adam's two moments,
// the gradient, the estimator's A and C sums and its workers+2 partial sums
// of A and of C (grad's runner).
func trainerCopies(workers int) float64 {
	w := float64(resolvedWorkers(workers))
	return 2 + 1 + 2 + 2*(w+2)
}

// batchBytes is the memory of a batch of b samples of n spins: int8 spins,
// float64 ln q and H, and the two float64 per-sample coefficients of the
// gradient.
func batchBytes(b, n int) float64 { return float64(b) * (float64(n) + 32) }

// overlapBytes is the memory of the overlap counts of b samples of n spins
// with workers goroutines: the packed spins and the per-goroutine integer
// counts over distances (the histogram itself is binsItem's).
func overlapBytes(b, n, workers int) float64 {
	w := float64(resolvedWorkers(workers))
	return float64(b)*8*math.Ceil(float64(n)/64) + (w+1)*8*float64(n+1)
}

// binsItem is the memory of the overlap histograms of -overlap-bins: a few
// float64 copies (density, row buffers, the CSV's values).
func binsItem(bins int) memItem {
	return memItem{fmt.Sprintf("-overlap-bins %d", bins), "the overlap histograms", 4 * 8 * float64(max(bins, 0))}
}

// estimateBytes is the memory of unbiased estimates from m samples of n
// spins (package mc): the batch, and about ten float64s per sample
// (weights, chain energies and magnetisations, their blocks).
func estimateBytes(m, n int) float64 { return float64(m) * (float64(n) + 16 + 80) }

// perBetaBytes is the memory each β of a schedule costs a training run:
// its β in the schedule copies, its exact reference, its row of
// statistics and its share of summary.json.
const perBetaBytes = 400

// resolvedWorkers is -workers with 0 resolved to one per core.
func resolvedWorkers(w int) int { return par.Workers(w) }

// fileItem is one file a command will write: the flag that names it (or
// sizes it), its path and its estimated size in bytes.
type fileItem struct {
	flag, path string
	bytes      float64
}

// existingDir is dir or its nearest ancestor that exists: a run directory
// not created yet will be on its parent's file system.
func existingDir(dir string) string {
	for {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return dir
		}
		dir = up
	}
}

// checkDisk refuses the files if, on any file system where the free space
// can be read (freeDisk), the files going there add up to more than it.
// sizeFlag is the flag that sets their size with its value (e.g.
// "-samples 100000000"), for the message.
func checkDisk(files []fileItem, sizeFlag string) error {
	type fsUse struct {
		need float64
		big  fileItem
	}
	byDir := map[string]*fsUse{}
	var order []string
	for _, f := range files {
		if f.path == "" || f.bytes <= 0 {
			continue
		}
		dir := existingDir(filepath.Dir(f.path))
		u := byDir[dir]
		if u == nil {
			u = &fsUse{}
			byDir[dir] = u
			order = append(order, dir)
		}
		u.need += f.bytes
		if f.bytes > u.big.bytes {
			u.big = f
		}
	}
	for _, dir := range order {
		u := byDir[dir]
		free, ok := freeDisk(dir)
		if ok && u.need > free {
			return usagef("%s: the output would take about %s (%s the largest file), more than the %s free on the file system of %s; reduce %s or write to another file system",
				sizeFlag, formatBytes(u.need), u.big.path, formatBytes(free), dir, strings.Fields(sizeFlag)[0])
		}
	}
	return nil
}

// knownN returns the number of spins the model flags fix before the model
// is built, or 0 when only the couplings file tells (or the flags are out
// of range, which building the model refuses without allocating).
func (mf *modelFlags) knownN() int {
	switch mf.model {
	case "cw", "sk", "file":
		if mf.n > 0 && mf.n <= model.MaxSpins {
			return mf.n
		}
	case "ising2d":
		if mf.side > 0 && mf.side <= model.MaxSpins && mf.side*mf.side <= model.MaxSpins {
			return mf.side * mf.side
		}
	}
	return 0
}

// baseItem is the memory of the program itself: the Go runtime, I/O
// buffers, the fonts and images of the plots (about 30 MB of peak RSS in
// a small train run, measured).
var baseItem = memItem{what: "the program itself (runtime, buffers, plots)", bytes: 32 << 20}

// modelItem is the memory of the dense model of n spins.
func modelItem(n int) memItem {
	return memItem{flag: fmt.Sprintf("-n %d", n), what: "the dense N×N couplings", bytes: denseModelBytes(n)}
}

// netItems is the memory of the net arch on n spins with options o: its
// parameters (or tables), the trainer's copies of them when trained with
// workers goroutines (trained), and the activations an SK worker keeps for
// the gradient (≈ 2(k+1)N² floats each, model.NewSK's bound). The item
// names the flag that makes the net large.
func netItems(arch string, n int, o model.ArchOptions, workers int, trained bool) memPlan {
	p := netParams(arch, n, o)
	flag := fmt.Sprintf("-n %d", n)
	switch {
	case arch == "sk_krsb" && 2*o.K >= 3:
		flag = fmt.Sprintf("-k %d", o.K)
	case arch == "made" && o.Width > 1 && o.Width >= o.Depth:
		flag = fmt.Sprintf("-width %d", o.Width)
	case arch == "made" && o.Depth > 2:
		flag = fmt.Sprintf("-depth %d", o.Depth)
	}
	plan := memPlan{{flag, "the parameters of -arch " + arch, 8 * p}}
	if trained {
		plan = append(plan, memItem{flag, "the optimiser's and the gradient's copies of the parameters", 8 * p * trainerCopies(workers)})
		if strings.HasPrefix(arch, "sk_") {
			k, nf := skSteps(arch, o), float64(n)
			plan = append(plan, memItem{flag, "the activations of the gradient", 8 * 2 * (k + 1) * nf * nf * float64(resolvedWorkers(workers))})
		}
	}
	return plan
}

// checkNetSpec refuses, before any model or net is built, an architecture
// that cannot be built on the model the flags describe: an unknown name,
// cw_n on anything but cw, h2arnn above model.MaxExactNet spins. n is the
// model's N if the flags fix it (knownN), else 0.
func checkNetSpec(arch, kind string, n int) error {
	if arch == "" || !slices.Contains(model.Archs(), arch) {
		return nil // NewNet says what the known ones are
	}
	switch {
	case arch == "cw_n" && kind != "cw":
		return usagef("-arch cw_n: -model %s: the architecture is exact only for the Curie-Weiss model; use -model cw", kind)
	case arch == "h2arnn" && n > model.MaxExactNet:
		return usagef("-arch h2arnn: -n %d: the exact net is exponentially wide and limited to N ≤ %d; use a smaller model or a polynomial architecture (cw_n, sk_krsb, ...)", n, model.MaxExactNet)
	}
	return nil
}

// memPlan is the memory of a training run on n spins (0 if not known
// yet: the model's and the net's items are then 0).
func (tf *trainFlags) memPlan(n int) memPlan {
	o := model.ArchOptions{K: tf.k, Depth: tf.depth, Width: tf.width}
	plan := memPlan{baseItem, modelItem(n)}
	plan = append(plan, netItems(tf.arch, n, o, tf.workers, true)...)
	bins := 0
	if tf.saveSamples != "none" {
		bins = tf.overlapBins
	}
	count := 0
	if cfg, err := tf.scheduleConfig(grad.DefaultConfig()); err == nil {
		count = cfg.BetaCount
	}
	return append(plan,
		memItem{fmt.Sprintf("-batch %d", tf.batch), "the training batch", batchBytes(tf.batch, n)},
		memItem{fmt.Sprintf("-eval-samples %d", tf.evalSamples), "the evaluation batch and its overlaps", batchBytes(tf.evalSamples, n) + overlapBytes(tf.evalSamples, n, tf.workers)},
		memItem{fmt.Sprintf("-estimate %d", tf.estimate), "the samples of the estimates", estimateBytes(tf.estimate, n)},
		memItem{"-beta-range " + tf.betaRange, "the β schedule and its statistics", perBetaBytes * float64(count)},
		binsItem(bins),
	)
}

// checkSizes refuses, before anything is built, flags whose net cannot be
// built on the model (checkNetSpec), flags the run would ignore, or flags
// whose estimated memory (memPlan, on
// the N the model flags fix, if they do) exceeds the limit. For a couplings
// file that gives N itself it sets the largest N the limit admits
// (limitFileN).
func (tf *trainFlags) checkSizes(fs *flagSet, mf *modelFlags) error {
	if err := checkNetSpec(tf.arch, mf.model, mf.knownN()); err != nil {
		return err
	}
	// Flags that the run would accept and ignore.
	switch {
	case fs.set("overlap-bins") && tf.overlapBins > 0 && tf.evalSamples == 0:
		return usagef("-overlap-bins: the histogram is of the evaluation samples, and -eval-samples 0 draws none; drop -overlap-bins or give -eval-samples M")
	case fs.set("save-samples") && tf.saveSamples != "none" && tf.evalSamples == 0:
		return usagef("-save-samples %s: -eval-samples 0 draws no samples to keep; drop -save-samples or give -eval-samples M", tf.saveSamples)
	}
	if err := tf.checkMemory(mf.knownN()); err != nil {
		return err
	}
	lim, err := tf.maxMemory.limit()
	if err != nil {
		return err
	}
	limitFileN(mf, tf.arch, lim, tf.memPlan)
	return nil
}

// limitFileN bounds the N of a couplings file that gives N itself (-model
// file without -n) before it is read: to what the net arch accepts, and to
// the largest N whose plan fits the memory limit, so that a 13-byte file
// naming spin 19999 is refused before its 3.2 GB matrix is allocated.
func limitFileN(mf *modelFlags, arch string, lim memLimit, plan func(n int) memPlan) {
	if mf == nil || mf.model != "file" || mf.knownN() > 0 {
		return
	}
	if arch == "h2arnn" {
		mf.limitN(model.MaxExactNet, fmt.Sprintf("-arch h2arnn is exponentially wide and limited to N ≤ %d", model.MaxExactNet))
	}
	if n := maxSpinsWithin(lim, plan); n < model.MaxSpins {
		mf.limitN(n, fmt.Sprintf("within the memory limit of %s (%s) the command fits at most %d spins (the couplings alone are a dense N×N matrix of 8·N² bytes, whatever the number of lines); raise -max-memory", formatBytes(lim.bytes), lim.source, n))
	}
}

// maxSpinsWithin returns the largest N ≤ model.MaxSpins whose plan fits
// the limit (0 if none does; model.MaxSpins without a limit). Every plan
// grows with N, so a bisection finds it.
func maxSpinsWithin(lim memLimit, plan func(n int) memPlan) int {
	if lim.bytes <= 0 || plan(model.MaxSpins).total() <= lim.bytes {
		return model.MaxSpins
	}
	lo, hi := 0, model.MaxSpins // plan(lo) fits (or lo = 0), plan(hi) does not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if plan(mid).total() <= lim.bytes {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}

// checkMemory holds the estimated memory of the run on n spins (memPlan)
// to the limit of -max-memory and, once n is known, the files of the run
// (diskPlan) to the free space of the run directory's file system.
func (tf *trainFlags) checkMemory(n int) error {
	lim, err := tf.maxMemory.limit()
	if err != nil {
		return err
	}
	if err := lim.check(tf.memPlan(n)); err != nil {
		return err
	}
	if n <= 0 {
		return nil
	}
	files, sizeFlag := tf.diskPlan(n)
	return checkDisk(files, sizeFlag)
}

// diskPlan is the size of the files a training run on n spins writes into
// its directory (the default one's parent, runs, if -out is not given),
// and the flag that makes them large: samples.npy (and one per β with
// -save-samples every), the overlap histograms, stats.csv and summary.json
// (a row per β), and the net and checkpoint (parameters, Adam's moments).
func (tf *trainFlags) diskPlan(n int) ([]fileItem, string) {
	dir := tf.out
	if dir == "" {
		dir = "runs"
	}
	count := 0
	if cfg, err := tf.scheduleConfig(grad.DefaultConfig()); err == nil {
		count = cfg.BetaCount
	}
	perBeta := 0.0 // files of every β besides the last
	if tf.saveSamples == "every" || tf.saveSamples == "overlaps" {
		perBeta = float64(count - 1)
	}
	sampleFiles := float64(max(tf.evalSamples, 0)) * float64(n) // the last β's samples.npy
	switch tf.saveSamples {
	case "none":
		sampleFiles = 0
	case "every":
		sampleFiles *= perBeta + 1
	}
	bins := 0.0
	if tf.saveSamples != "none" {
		bins = float64(max(tf.overlapBins, 0)) * 40 * (perBeta + 1)
	}
	p := netParams(tf.arch, n, model.ArchOptions{K: tf.k, Depth: tf.depth, Width: tf.width})
	files := []fileItem{
		{"-eval-samples", filepath.Join(dir, "samples.npy"), sampleFiles},
		{"-overlap-bins", filepath.Join(dir, "overlaps.csv"), bins},
		{"-beta-range", filepath.Join(dir, "stats.csv"), 400 * float64(count)},
		{"-out", filepath.Join(dir, checkpointFile), 8 * p * 5},
	}
	sizeFlag := fmt.Sprintf("-eval-samples %d with -save-samples %s", tf.evalSamples, tf.saveSamples)
	if bins > sampleFiles {
		sizeFlag = fmt.Sprintf("-overlap-bins %d", tf.overlapBins)
	}
	return files, sizeFlag
}

// memPlan is the memory of bench on n spins: the model, the net with the
// trainer's copies, and two batches (the gradient's and the sampler's).
func (bf *benchFlags) memPlan(n int) memPlan {
	plan := memPlan{baseItem, modelItem(n)}
	plan = append(plan, netItems(bf.arch, n, model.ArchOptions{K: bf.k, Depth: bf.depth, Width: bf.width}, bf.workers, true)...)
	return append(plan, memItem{fmt.Sprintf("-batch %d", bf.batch), "two batches of samples", 2 * batchBytes(bf.batch, n)})
}

// checkMemory holds the estimated memory of bench on n spins (memPlan) to
// the limit, and bounds the N of a couplings file to it (limitFileN).
func (bf *benchFlags) checkMemory(mf *modelFlags, n int) error {
	lim, err := bf.maxMemory.limit()
	if err != nil {
		return err
	}
	limitFileN(mf, bf.arch, lim, bf.memPlan)
	return lim.check(bf.memPlan(n))
}

// sampleChunkItem is the memory of sample's chunk buffers on n spins
// (sampleChunkBytes of spins, and their ln q and H).
func sampleChunkItem(samples, n int) memItem {
	chunk := min(samples, max(64, sampleChunkBytes/max(n, 1)/64*64))
	return memItem{fmt.Sprintf("-samples %d", samples), "the chunk of samples in memory", batchBytes(chunk, n)}
}

// checkSizes holds sample's estimated memory on n spins (the model, the
// net's tables, one chunk of samples) to the limit, and the sizes of the
// output files to the free space of their file systems. With the model
// flags mf (nil once the net is built) it bounds the N of a couplings file
// (limitFileN).
func (sf *sampleFlags) checkSizes(mf *modelFlags, arch string, n int) error {
	lim, err := sf.maxMemory.limit()
	if err != nil {
		return err
	}
	plan := func(n int) memPlan {
		p := memPlan{baseItem, modelItem(n), sampleChunkItem(sf.samples, n)}
		return append(p, netItems(arch, n, model.ArchOptions{}, sf.workers, false)...)
	}
	limitFileN(mf, arch, lim, plan)
	if err := lim.check(plan(n)); err != nil {
		return err
	}
	m := float64(sf.samples)
	return checkDisk([]fileItem{
		{"-out", sf.out, m*float64(n) + npyHeaderBytes},
		{"-logq", sf.logq, 8*m + npyHeaderBytes},
		{"-energy", sf.energy, 8*m + npyHeaderBytes},
	}, fmt.Sprintf("-samples %d", sf.samples))
}

// npyHeaderBytes bounds the header of an .npy file.
const npyHeaderBytes = 128

// estimatePlan is the memory of estimate with m samples of n spins per β
// and, if bins > 0, the reweighted overlap histogram: its packed spins and
// the per-block histograms of model.WeightedOverlaps.
func estimatePlan(m, n, bins, workers int) memPlan {
	plan := memPlan{baseItem, {fmt.Sprintf("-samples %d", m), "the samples and their weights", estimateBytes(m, n)}}
	if bins > 0 {
		blocks := math.Ceil(float64(m) / 16) // model.WeightedOverlaps' blocks of 16 rows
		plan = append(plan, memItem{fmt.Sprintf("-overlap-bins %d", bins), "the reweighted overlap histograms", 8*float64(bins)*(blocks+2) + overlapBytes(m, n, workers)})
	}
	return plan
}

// replicas is the number of replicas per chain that -temperatures asks
// for: a count R, or the length of a ladder (1 without tempering; 0 if
// the flag is malformed, which config refuses).
func (f *mcmcFlags) replicas() int {
	spec := strings.TrimSpace(f.temperatures)
	switch {
	case spec == "":
		return 1
	case strings.Contains(spec, ","):
		return strings.Count(spec, ",") + 1
	}
	r, err := strconv.Atoi(spec)
	if err != nil || r < 1 {
		return 0
	}
	return r
}

// memPlan is the memory of an mcmc run on n spins: the kept samples (and
// a copy, as the files are written) with their energies and
// magnetisations (also as JSON in the checkpoint), every replica's spins and local
// fields (two float64 per spin) with its state, the ladder's exchange
// counters, and the overlap histogram.
func (f *mcmcFlags) memPlan(n int) memPlan {
	r, chains := float64(f.replicas()), float64(max(f.chains, 1))
	flag := fmt.Sprintf("-chains %d", f.chains)
	if r > chains {
		flag = "-temperatures " + f.temperatures
	}
	bins := max(f.overlapBins, 0)
	return memPlan{
		baseItem, modelItem(n),
		{fmt.Sprintf("-samples %d", f.samples), "the kept samples", float64(max(f.samples, 0)) * (2*float64(n) + 56)},
		{flag, "the replicas of the chains and their JSON checkpoint", chains * r * mcmcReplicaBytes(n)},
		{fmt.Sprintf("-samples %d", f.samples), "the overlaps of the samples", overlapBytes(f.samples, n, f.workers) * b2f(bins > 0)},
		binsItem(bins),
	}
}

// mcmcReplicaBytes is the memory one replica of n spins costs an mcmc run:
// its spins and local fields (16 bytes a spin), their copy in the run's
// state (about 28) and their JSON text in checkpoint.json with the
// encoder's buffer growth (3 × about 24), and its ladder entries in the
// state and summary.json. Measured: 2.52 GB peak RSS for 4 chains × 50,000
// replicas of 100 spins, 120 bytes a spin and replica.
func mcmcReplicaBytes(n int) float64 { return 120*float64(n) + 2048 }

// b2f is 1 for true, 0 for false.
func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// checkMemory holds the estimated memory of the mcmc run on n spins
// (memPlan) to the limit and, with the model flags mf, bounds the N of a
// couplings file to it (limitFileN).
func (f *mcmcFlags) checkMemory(mf *modelFlags, n int) error {
	lim, err := f.maxMemory.limit()
	if err != nil {
		return err
	}
	limitFileN(mf, "", lim, f.memPlan)
	return lim.check(f.memPlan(n))
}

// checkMemory holds the estimated memory of a fit of rows samples of n
// spins to the limit: the samples (as read, and split into training and
// held-out rows), the comparison model, and the net with its optimiser's
// and gradient's copies (plm's regressions are small).
func (f *fitFlags) checkMemory(mf *modelFlags, rows, n int) error {
	lim, err := f.maxMemory.limit()
	if err != nil {
		return err
	}
	plan := memPlan{baseItem, {"-data " + f.data, "the samples", 3 * float64(rows) * float64(n)}}
	if mf.model != "" {
		plan = append(plan, modelItem(n))
	}
	if f.arch != plmArch {
		o := model.ArchOptions{K: f.k, Depth: f.depth, Width: f.width, TrainFirstLayer: f.learnCouplings}
		plan = append(plan, netItems(f.arch, n, o, f.workers, true)...)
	}
	return lim.check(plan)
}
