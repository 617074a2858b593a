package driver

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/h2arnn/h2arnn/internal/grid"
)

// calibBatch is the batch of the calibration's bench runs (or the grid's
// batch if smaller): the cost of a step is proportional to the batch, so a
// small one measures the same rate in less time.
const calibBatch = 100

// memMargin and memSlackMB make --mem from the measured peak memory
// (margin × peak + slack): the Go heap of a long run wanders above the
// peak of a short one (garbage waiting for the collector), and a task over
// its --mem is killed.
const (
	memMargin  = 1.5
	memSlackMB = 32
)

// estimate is the calibration's answer for a grid.
type estimate struct {
	// rowCPU is the estimated processor time of each grid row, as an upper
	// bound: every β at its full step budget; rowSeconds its wall time with
	// -workers threads if they divide the work perfectly.
	rowCPU, rowSeconds []float64
	// cpuHours is for all rows, cpuHoursLeft for the rows still to run.
	cpuHours, cpuHoursLeft float64
	// memMB is the --mem of the rows still to run (0 if not probed).
	memMB       int
	calibration time.Duration
	workers     int
}

// benchKey identifies the rows whose step costs the same: the disorder
// instance and the seeds do not change it.
type benchKey struct {
	model, arch  string
	n            int
	depth, width int
	batch        int
}

// estimate calibrates the grid: every kind of train run with one `h2arnn
// bench` (sequentially, so that they do not slow each other down), every
// row with a Probe by running the probe. With probeMemory (for --mem) it
// also measures the peak memory of each kind of train run still to do with
// a miniature run (probeTrainMemory).
func (p *reproduction) estimate(todo []int, probeMemory bool) (est *estimate, err error) {
	t0 := time.Now()
	rows := p.g.Rows
	est = &estimate{rowCPU: make([]float64, len(rows)), rowSeconds: make([]float64, len(rows)), workers: p.rf.workers}
	// warn reports a calibration that the run's own command refused: the
	// run will fail and say why, the others go on.
	warn := func(err error, what string) error {
		if !isUsage(err) {
			return err
		}
		fmt.Fprintf(p.e.stderr, "h2arnn reproduce: %v; its runs are left out of the %s\n", err, what)
		return nil
	}
	benches := map[benchKey]benchResult{}
	memProbes := map[benchKey]float64{}
	scratch := "" // the probes' run directories, removed at the end
	defer func() {
		if scratch != "" {
			os.RemoveAll(scratch)
		}
	}()
	peak := 0.0
	for i, r := range rows {
		left := slices.Contains(todo, i)
		mem := 0.0 // estimated peak memory of the row in MB
		if r.Probe != nil {
			if scratch == "" {
				if scratch, err = os.MkdirTemp(p.dir, ".probe-"); err != nil {
					return nil, err
				}
			}
			args := slices.Clone(r.Probe.Args)
			for k, a := range args {
				if id, ok := grid.RunDirID(a); ok {
					args[k] = filepath.Join(scratch, id)
				}
			}
			cpu, mb, err := p.probe(r.ID, append(append([]string{r.Command}, args...), "-out", filepath.Join(scratch, r.ID)))
			if err := warn(err, "estimate"); err != nil {
				return nil, err
			}
			est.rowCPU[i], mem = cpu*r.Probe.Factor, mb
		} else {
			pr := r.Protocol
			k := benchKey{r.Model, r.Net.Arch, r.N, r.Net.Depth, r.Net.Width, min(pr.Batch, calibBatch)}
			b, ok := benches[k]
			if !ok {
				if b, err = p.bench(k); err != nil {
					if err := warn(err, "estimate"); err != nil {
						return nil, err
					}
				}
				benches[k] = b
			}
			est.rowCPU[i] = rowCPUSeconds(pr, b, k.batch)
			if left && probeMemory {
				mb, ok := memProbes[k]
				if !ok {
					if mb, err = p.probeTrainMemory(r, k.batch); err != nil {
						if err := warn(err, "memory estimate"); err != nil {
							return nil, err
						}
					}
					memProbes[k] = mb
				}
				// The probe held k.batch training and probeEval evaluation
				// samples; the run holds its own batches (spins, ln q, H,
				// and the packed copy of the overlaps; twice N+16 bytes a
				// sample covers them).
				mem = mb + float64(pr.Batch+pr.EvalSamples)*2*float64(r.N+16)/(1<<20)
			}
		}
		est.rowSeconds[i] = est.rowCPU[i] / float64(p.rf.workers)
		est.cpuHours += est.rowCPU[i] / 3600
		if !left {
			continue
		}
		est.cpuHoursLeft += est.rowCPU[i] / 3600
		peak = math.Max(peak, mem)
		// A measured peak of an earlier local attempt of the same run
		// counts too.
		if a := readAttempt(p.logPath(r.ID, ".json")); a != nil {
			peak = math.Max(peak, a.PeakRSSMB)
		}
	}
	if probeMemory && peak > 0 {
		est.memMB = int(math.Ceil((memMargin*peak+memSlackMB)/64)) * 64
	}
	est.calibration = time.Since(t0)
	return est, nil
}

func isUsage(err error) bool {
	var ue *usageError
	return errors.As(err, &ue)
}

// probeEval is the evaluation batch of a memory probe.
const probeEval = 64

// probeTrainMemory runs a train row as a miniature run (one β, one step at
// batch, a small evaluation batch, in a scratch directory) and returns its
// peak resident memory in MB, or 0 where the OS does not report it. A
// whole run needs more than its training step: the checkpoints (JSON of
// every parameter and Adam moment), the statistics, the figures drawn at
// the end; the probe goes through all of them once.
func (p *reproduction) probeTrainMemory(row grid.Row, batch int) (float64, error) {
	dir, err := os.MkdirTemp(p.dir, ".probe-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	args := append([]string{row.Command}, row.Args...)
	args = append(args, "-beta-range", "1,1,1", "-init-steps", "1", "-max-step", "0", "-batch", strconv.Itoa(batch),
		"-eval-samples", strconv.Itoa(probeEval), "-out", filepath.Join(dir, "run"))
	_, mb, err := p.probe(row.ID, args)
	return mb, err
}

// probe runs the h2arnn command line args (-workers and -quiet added) and
// returns the processor seconds and the peak memory in MB it used (0
// where the OS does not report them).
func (p *reproduction) probe(id string, args []string) (cpu, peakMB float64, err error) {
	args = append(args, "-workers", strconv.Itoa(p.rf.workers), "-quiet")
	cmd := exec.CommandContext(p.e.ctx, p.rf.bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err = cmd.Run()
	switch {
	case p.e.ctx.Err() != nil:
		return 0, 0, fmt.Errorf("%w during the calibration", errInterrupted)
	case err != nil && cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == exitUsage:
		return 0, 0, &usageError{msg: fmt.Sprintf("calibration of %s: %s", id, oneLine(stderr.String()))}
	case err != nil:
		return 0, 0, fmt.Errorf("calibration %s %v: %v: %s", p.rf.bin, args, err, oneLine(stderr.String()))
	}
	ps := cmd.ProcessState
	return (ps.UserTime() + ps.SystemTime()).Seconds(), math.Max(childPeakRSSMB(ps), 0), nil
}

// rowCPUSeconds is the processor time of a run of protocol pr from a
// calibration b at batch calib: every step of the budget at the run's
// batch (a step costs in proportion to its batch) and an evaluation batch
// at every β. The processor time per step and sample is what a busy
// machine changes least; without it (an OS that does not report it) the
// wall-clock times stand in.
func rowCPUSeconds(pr grid.Protocol, b benchResult, calib int) float64 {
	step, sample := b.CPUSecPerStep, b.CPUSecPerSample
	if step < 0 || sample < 0 {
		step, sample = b.SecPerStep*float64(b.Workers), 0
		if b.SamplesPerSec > 0 {
			sample = float64(b.Workers) / b.SamplesPerSec
		}
	}
	train := float64(pr.MaxSteps()) * step * float64(pr.Batch) / float64(calib)
	eval := float64(pr.BetaCount) * float64(pr.EvalSamples) * sample
	return train + eval
}

// bench runs one calibration: `h2arnn bench` of the kind k with two timed
// steps.
func (p *reproduction) bench(k benchKey) (benchResult, error) {
	args := []string{"bench", "-model", k.model, "-n", strconv.Itoa(k.n), "-arch", k.arch,
		"-batch", strconv.Itoa(k.batch), "-steps", "2", "-workers", strconv.Itoa(p.rf.workers)}
	if k.arch == "made" {
		args = append(args, "-depth", strconv.Itoa(k.depth), "-width", strconv.Itoa(k.width))
	}
	cmd := exec.CommandContext(p.e.ctx, p.rf.bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if p.e.ctx.Err() != nil {
			return benchResult{}, fmt.Errorf("%w during the calibration", errInterrupted)
		}
		msg := fmt.Sprintf("calibration %s %v: %v: %s", p.rf.bin, args, err, oneLine(stderr.String()))
		if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == exitUsage {
			return benchResult{}, &usageError{msg: msg}
		}
		return benchResult{}, errors.New(msg)
	}
	var b benchResult
	if err := json.Unmarshal(stdout.Bytes(), &b); err != nil {
		return benchResult{}, fmt.Errorf("calibration %s %v printed %q, not a bench result (is -bin an h2arnn binary?)", p.rf.bin, args, oneLine(stdout.String()))
	}
	return b, nil
}

// wallHours is the time the rows take on jobs parallel slots, each row
// going to the slot that frees up first, longest rows first (the order the
// local executor starts them in).
func (est *estimate) wallHours(rows []int, jobs int) float64 {
	order := est.longestFirst(rows)
	slots := make([]float64, max(jobs, 1))
	for _, i := range order {
		k := slices.Index(slots, slices.Min(slots))
		slots[k] += est.rowSeconds[i]
	}
	return slices.Max(slots) / 3600
}

// longestFirst returns rows sorted by decreasing estimated time (grid
// order among equals).
func (est *estimate) longestFirst(rows []int) []int {
	out := slices.Clone(rows)
	slices.SortStableFunc(out, func(a, b int) int {
		switch {
		case est.rowSeconds[a] > est.rowSeconds[b]:
			return -1
		case est.rowSeconds[a] < est.rowSeconds[b]:
			return 1
		}
		return 0
	})
	return out
}

// timeLimit is the --time of a job array over rows: twice the longest
// estimate (the machines of a cluster differ from this one, and the
// estimate is from a few steps) plus ten minutes for start-up and the
// final files. A task that hits it is sent SIGTERM, checkpoints, and is
// resumed by the next reproduce.
func (est *estimate) timeLimit(rows []int) time.Duration {
	longest := 0.0
	for _, i := range rows {
		longest = math.Max(longest, est.rowSeconds[i])
	}
	return time.Duration(2*longest*float64(time.Second)) + 10*time.Minute
}
