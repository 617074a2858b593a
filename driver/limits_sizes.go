package driver

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/h2arnn/h2arnn/internal/par"
	"github.com/h2arnn/h2arnn/model"
)

// The sizes of the large allocations the commands make, in bytes, read
// off the structures that make them (see limits.go for how they are used).

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
