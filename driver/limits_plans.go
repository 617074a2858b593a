package driver

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/h2arnn/h2arnn/grad"
	"github.com/h2arnn/h2arnn/model"
)

// The memory and disk plans of each command that allocates: train, bench,
// sample, estimate, mcmc and fit (see limits.go for how they are used).

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
		{fmt.Sprintf("-samples %d", f.samples), "the overlaps of the samples", overlapBytes(f.samples, n, f.workers) * float64(min(bins, 1))},
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
