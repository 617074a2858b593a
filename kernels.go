// Package h2arnn holds the numerical kernels of the project: float64 vector
// routines and the fused row kernels that the autoregressive networks of the
// model package spend their time in. The kernels know nothing of spins or
// networks: slices of float64 in, float64 out.
//
// Every kernel has a pure-Go implementation (kernels_generic.go), which is the
// specification and the test oracle. On amd64 two assembly sets are compiled
// in, generated from one description (see kernels_amd64.go): "avx512"
// (AVX-512F/DQ/VL, 8 float64 per instruction) and "avx2" (AVX2+FMA, 4). The
// best set the CPU and operating system support is chosen when the package is
// initialised; the environment variable H2ARNN_KERNELS=generic|avx2|avx512
// chooses another, the build tag noasm leaves only the generic set, and
// SetKernels switches at any time. Kernels reports the set in use and
// KernelsError why it is not the one H2ARNN_KERNELS asked for; the package
// never writes to stderr itself.
//
// The sets agree to rounding, not bit for bit: each kernel's documentation
// states the accuracy every set guarantees, and the tests hold every set to
// it (and the assembly sets to their generic twin on every length 0..67 and
// alignment).
//
// Unless stated otherwise, slices passed together must have equal lengths; a
// kernel panics if they do not. Output slices may alias the matching input.
package h2arnn

import (
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// kernelSet is one implementation of every kernel. The generic set is always
// available; architecture files register faster ones.
type kernelSet struct {
	name       string
	needs      string // what the CPU and OS must support, for messages
	exp        func(dst, x []float64)
	log1p      func(dst, x []float64)
	logSigmoid func(dst, x []float64)
	sigmoid    func(dst, x []float64)
	logSumExp  func(x []float64) float64
	axpy       func(alpha float64, x, y []float64)
	dot        func(x, y []float64) float64
	chainFwd   func(k int, f, w, b, act []float64) float64
	chainBwd   func(k int, f, w, act []float64, g, cA, cC float64, gwA, gbA, gwC, gbC, df []float64)
	lseAffine  func(b, w []float64, m float64) float64

	// peak runs iters iterations of an FMA loop at the set's vector width,
	// peakFlops flops each (nil for the generic set); lnsigFlops is the
	// floating-point operation count of one lnσ node of ChainForward.
	peak       func(iters int)
	peakFlops  int
	lnsigFlops int
}

// available lists the kernel sets this binary can run on this CPU, best
// first; the generic set is last. It is fixed once the package is
// initialised.
var available []*kernelSet

// active is the kernel set in use. Every kernel loads it once per call, so
// SetKernels may run concurrently with kernels (a call in flight finishes
// with the set it started with).
var active atomic.Pointer[kernelSet]

// kernelsErr says why the set in use is not the one H2ARNN_KERNELS named,
// or which set the CPU supports but failed its start-up check.
var kernelsErr error

// failedCheck holds the sets that failed their start-up check.
var failedCheck = map[string]error{}

func init() {
	available = append(available, &genericKernels)
	var notes []string
	for i := len(compiled) - 1; i >= 0; i-- { // best first
		c := compiled[i]
		if !c.ok() {
			continue
		}
		if err := selfCheck(c.set); err != nil {
			failedCheck[c.set.name] = err
			notes = append(notes, fmt.Sprintf("kernel set %q failed its start-up check (%v) and is not used", c.set.name, err))
			continue
		}
		available = append([]*kernelSet{c.set}, available...)
	}
	active.Store(available[0])
	if want := os.Getenv("H2ARNN_KERNELS"); want != "" {
		if err := SetKernels(want); err != nil {
			notes = append(notes, fmt.Sprintf("H2ARNN_KERNELS=%q: %v; using %q", want, err, available[0].name))
		}
	}
	if len(notes) > 0 {
		kernelsErr = errors.New(strings.Join(notes, "; "))
	}
}

// selfCheck runs every kernel of s on a few vectors (long enough for the
// assembly's blocks, single vectors and masked tails) and compares the
// results with the generic set's, to 1e-13 relative: a known-answer test
// that keeps a set off a machine that claims the instructions but computes
// them wrongly. It takes a few microseconds.
func selfCheck(s *kernelSet) error {
	const n = 19
	var x, pos, y, want, got [n]float64
	for i := range n {
		x[i] = float64(i-n/2) * 1.75 // -15.75 .. 15.75
		pos[i] = float64(i) * 0.37
		y[i] = float64(i%5) - 1.5
	}
	x[0], x[n-1] = -700, 709 // near the ends of exp's normal range
	close := func(a, b float64) bool {
		return a == b || (!isInfOrNaN(a) && !isInfOrNaN(b) && math.Abs(a-b) <= 1e-13*math.Max(math.Abs(a), math.Abs(b)))
	}
	same := func(what string) error {
		for i := range n {
			if !close(got[i], want[i]) {
				return fmt.Errorf("%s: element %d is %v, the generic set's %v", what, i, got[i], want[i])
			}
		}
		return nil
	}
	g := &genericKernels
	for _, k := range []struct {
		name   string
		f, ref func(dst, x []float64)
		in     []float64
	}{
		{"Exp", s.exp, g.exp, x[:]}, {"Log1p", s.log1p, g.log1p, pos[:]},
		{"LogSigmoid", s.logSigmoid, g.logSigmoid, x[:]}, {"Sigmoid", s.sigmoid, g.sigmoid, x[:]},
	} {
		k.ref(want[:], k.in)
		k.f(got[:], k.in)
		if err := same(k.name); err != nil {
			return err
		}
	}
	want, got = y, y
	g.axpy(0.5, x[1:n-1], want[1:n-1])
	s.axpy(0.5, x[1:n-1], got[1:n-1])
	if err := same("Axpy"); err != nil {
		return err
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"Dot", s.dot(x[:], y[:]), g.dot(x[:], y[:])},
		{"LogSumExp", s.logSumExp(x[1 : n-1]), g.logSumExp(x[1 : n-1])},
		{"LogSumExpAffine", s.lseAffine(x[1:n-1], y[1:n-1], 0.5), g.lseAffine(x[1:n-1], y[1:n-1], 0.5)},
	} {
		if !close(c.got, c.want) {
			return fmt.Errorf("%s is %v, the generic set's %v", c.name, c.got, c.want)
		}
	}
	// a chain with k = 1 over r = n-2 spins: forward, then backward into
	// both accumulators and df
	const k, r = 1, n - 2
	w, b := make([]float64, (k+2)*r), make([]float64, (k+1)*r)
	for i := range w {
		w[i] = float64(i%7)*0.3 - 0.8
	}
	for i := range b {
		b[i] = float64(i%3) - 1
	}
	f := x[1 : n-1]
	act, actRef := make([]float64, 2*(k+1)*r), make([]float64, 2*(k+1)*r)
	if sg, sr := s.chainFwd(k, f, w, b, act), g.chainFwd(k, f, w, b, actRef); !close(sg, sr) {
		return fmt.Errorf("ChainForward is %v, the generic set's %v", sg, sr)
	}
	grads := func(set *kernelSet) []float64 { // gwA, gwC, gbA, gbC, df in one slice
		gs := make([]float64, 2*(k+2)*r+2*(k+1)*r+r)
		gw, gb, df := gs[:2*(k+2)*r], gs[2*(k+2)*r:len(gs)-r], gs[len(gs)-r:]
		set.chainBwd(k, f, w, actRef, 0.7, 1, -0.5, gw[:(k+2)*r], gb[:(k+1)*r], gw[(k+2)*r:], gb[(k+1)*r:], df)
		return gs
	}
	for _, c := range []struct {
		name      string
		got, want []float64
	}{{"ChainForward", act, actRef}, {"ChainBackward", grads(s), grads(g)}} {
		for i := range c.got {
			if !close(c.got[i], c.want[i]) {
				return fmt.Errorf("%s: output %d is %v, the generic set's %v", c.name, i, c.got[i], c.want[i])
			}
		}
	}
	return nil
}

// Kernels returns the name of the kernel set in use: "avx512", "avx2" or
// "generic".
func Kernels() string { return active.Load().name }

// KernelsError returns nil, or the reason why the kernel set in use is not
// the one the environment variable H2ARNN_KERNELS named (an unknown name, a
// set this build does not contain, one the CPU or operating system does not
// support) or why a set the CPU supports is not used (it gave wrong results
// in the known-answer check run when the package is initialised). The best
// available set is used instead. A command-line tool should print it (the
// h2arnn command does, as one line on stderr, and `h2arnn version` reports
// it in its JSON line).
func KernelsError() error { return kernelsErr }

// AvailableKernels returns the names of the kernel sets usable on this CPU and
// build, best first; "generic" is always present and last.
func AvailableKernels() []string {
	names := make([]string, len(available))
	for i, s := range available {
		names[i] = s.name
	}
	return names
}

// SetKernels selects the kernel set by name ("avx512", "avx2" or "generic")
// for every later kernel call in the process. It is safe to call at any
// time, also while kernels run on other goroutines. It returns an error
// naming what is missing when this build or CPU cannot run that set.
func SetKernels(name string) error {
	for _, s := range available {
		if s.name == name {
			active.Store(s)
			return nil
		}
	}
	if err, ok := failedCheck[name]; ok {
		return fmt.Errorf("kernel set %q failed its start-up check on this machine (%v)", name, err)
	}
	for _, c := range compiled {
		if c.set.name == name {
			return fmt.Errorf("kernel set %q needs %s, which this CPU or operating system does not provide (available: %s)",
				name, c.set.needs, strings.Join(AvailableKernels(), ", "))
		}
	}
	if name == "avx2" || name == "avx512" {
		return fmt.Errorf("kernel set %q is not in this build (assembly only on amd64 without the noasm tag; available: %s)",
			name, strings.Join(AvailableKernels(), ", "))
	}
	return fmt.Errorf("no kernel set %q (the sets are avx512, avx2 and generic; available here: %s)",
		name, strings.Join(AvailableKernels(), ", "))
}

// FMAPeak measures the float64 fused multiply-add throughput of one core at
// the vector width of the kernel set in use, in GFLOP/s: the best rate of
// repeated short runs of twelve independent FMA chains, for about d. It is
// the compute ceiling against which kernel throughput is reported (see
// LnSigmoidFlops); it returns 0 for the generic set, which has no such loop.
func FMAPeak(d time.Duration) float64 {
	s := active.Load()
	if s.peak == nil {
		return 0
	}
	const iters = 1 << 12
	best := 0.0
	for start := time.Now(); ; {
		t0 := time.Now()
		s.peak(iters)
		if r := float64(s.peakFlops*iters) / float64(time.Since(t0).Nanoseconds()); r > best {
			best = r
		}
		if time.Since(start) >= d {
			return best
		}
	}
}

// LnSigmoidFlops returns the number of floating-point operations the kernel
// set in use executes per lnσ node of ChainForward (a fused multiply-add
// counts 2; compares, blends, logic and integer operations 0), as counted
// by the generator of the assembly; 0 for the generic set.
func LnSigmoidFlops() int { return active.Load().lnsigFlops }

func checkLen(a, b int) {
	if a != b {
		panic(fmt.Sprintf("h2arnn: slice lengths differ: %d != %d", a, b))
	}
}

// Exp sets dst[i] = e^{x[i]} for every i:
//
//	for i := range x {
//		dst[i] = math.Exp(x[i])
//	}
//
// Special cases are as for math.Exp: Exp(+Inf) = +Inf, Exp(-Inf) = 0,
// Exp(NaN) = NaN; results overflow to +Inf for x > ln(MaxFloat64) ≈ 709.78
// and underflow gradually to subnormals and 0 below -708.4. The assembly
// sets are within 1 ulp of the correctly rounded e^x; the generic set is
// math.Exp (which on amd64 returns +Inf up to ~1e-3 below ln(MaxFloat64)).
func Exp(dst, x []float64) { checkLen(len(dst), len(x)); active.Load().exp(dst, x) }

// Log1p sets dst[i] = ln(1 + x[i]) for every i:
//
//	for i := range x {
//		dst[i] = math.Log1p(x[i])
//	}
//
// Special cases are as for math.Log1p: Log1p(±0) = ±0, Log1p(-1) = -Inf,
// Log1p(x < -1) = NaN, Log1p(+Inf) = +Inf, Log1p(NaN) = NaN; tiny x
// (subnormals included) give x. The assembly sets are within 1 ulp of the
// correctly rounded value; the generic set is math.Log1p.
func Log1p(dst, x []float64) { checkLen(len(dst), len(x)); active.Load().log1p(dst, x) }

// LogSigmoid sets dst[i] = ln σ(x[i]) = -ln(1 + e^{-x[i]}) for every i,
// evaluated so that it is accurate in both tails:
//
//	for i, z := range x {
//		dst[i] = math.Min(z, 0) - math.Log1p(math.Exp(-math.Abs(z)))
//	}
//
// LogSigmoid(z) ≈ z for z → -∞ (never -Inf for finite z) and ≈ -e^{-z} for
// z → +∞ (not 0 until e^{-z} underflows). Special cases:
// LogSigmoid(-Inf) = -Inf, LogSigmoid(+Inf) = 0, LogSigmoid(NaN) = NaN.
// Every set is within 2 ulp of the correctly rounded value.
func LogSigmoid(dst, x []float64) { checkLen(len(dst), len(x)); active.Load().logSigmoid(dst, x) }

// Sigmoid sets dst[i] = σ(x[i]) = 1/(1 + e^{-x[i]}) for every i, evaluated
// from e^{-|x|} so that σ(x) for x → -∞ is the tiny e^x rather than 0 from
// cancellation:
//
//	for i, z := range x {
//		e := math.Exp(-math.Abs(z))
//		if z >= 0 {
//			dst[i] = 1 / (1 + e)
//		} else {
//			dst[i] = e / (1 + e)
//		}
//	}
//
// Special cases: Sigmoid(+Inf) = 1, Sigmoid(-Inf) = 0, Sigmoid(NaN) = NaN.
// Every set is within 2 ulp of the correctly rounded value.
func Sigmoid(dst, x []float64) { checkLen(len(dst), len(x)); active.Load().sigmoid(dst, x) }

// LogSumExp returns ln Σ_i e^{x[i]}, shifted by the maximum m so that it
// never overflows:
//
//	m + math.Log(Σ_i math.Exp(x[i]-m))
//
// It returns -Inf for an empty slice or all -Inf, +Inf if any x is +Inf and
// NaN if any x is NaN. The assembly sets sum in a different order from the
// loop: results agree to a few ulp of the sum.
func LogSumExp(x []float64) float64 { return active.Load().logSumExp(x) }

// Axpy sets y[i] += alpha*x[i] for every i. The assembly sets round once per
// element (a fused multiply-add), the generic set twice.
func Axpy(alpha float64, x, y []float64) {
	checkLen(len(x), len(y))
	active.Load().axpy(alpha, x, y)
}

// Dot returns Σ_i x[i]*y[i]. The summation order of the assembly sets
// differs from a plain loop, so results agree to rounding, not bit for bit.
func Dot(x, y []float64) float64 { checkLen(len(x), len(y)); return active.Load().dot(x, y) }

// LogSumExpAffine returns ln Σ_k exp(b[k] + w[k]*m), computed stably (shifted
// by the maximum term, as LogSumExp). It is the building block of the cw_n
// conditionals.
func LogSumExpAffine(b, w []float64, m float64) float64 {
	checkLen(len(b), len(w))
	return active.Load().lseAffine(b, w, m)
}

// ChainForward evaluates R = len(f) independent sk_krsb chains, chain l fed
// by f[l], and returns the sum of their outputs. (model.SK passes both signs
// of a conditional at once: 2R chains over its R later spins, the input
// being their past fields twice.) With k+1 log-sigmoid layers and per-chain
// parameters laid out in rows of length R (w[j*R+l] is w_j of chain l,
// j = 0..k+1; b[j*R+l] is b_j, j = 0..k):
//
//	pre_0 = b_0 + w_0*f[l];   y_0 = lnσ(pre_0)
//	pre_j = b_j + w_j*y_{j-1}; y_j = lnσ(pre_j)      j = 1..k
//	return Σ_l w_{k+1}[l] * y_k[l]
//
// act (length 2(k+1)R) receives what ChainBackward needs: y_j at act[j*R:],
// and σ(-pre_j) (the derivative of lnσ at pre_j) at act[(k+1+j)*R:].
// y_j and σ(-pre_j) are within 2 ulp of the correctly rounded values for
// the computed pre_j, which the assembly sets round once (a fused
// multiply-add) and the generic set twice.
func ChainForward(k int, f, w, b, act []float64) float64 {
	r := len(f)
	if k < 0 || len(w) != (k+2)*r || len(b) != (k+1)*r || len(act) != 2*(k+1)*r {
		panic(fmt.Sprintf("h2arnn: ChainForward: k=%d R=%d len(w)=%d len(b)=%d len(act)=%d", k, r, len(w), len(b), len(act)))
	}
	return active.Load().chainFwd(k, f, w, b, act)
}

// ChainBackward back-propagates g = ∂L/∂(chain sum) through the chains whose
// forward pass filled act. With d = g·∂(chain sum)/∂θ for each parameter θ it
// adds cA·d into gwA/gbA and, when gwC is non-nil, cC·d into gwC/gbC (the two
// accumulators of the batch-mean baseline identity, SPEC §4). When df is
// non-nil it adds g·∂(chain sum)/∂f[l] into df[l] (needed when the first
// layer trains). Layouts are those of ChainForward.
func ChainBackward(k int, f, w, act []float64, g, cA, cC float64, gwA, gbA, gwC, gbC, df []float64) {
	r := len(f)
	if k < 0 || len(w) != (k+2)*r || len(act) != 2*(k+1)*r || len(gwA) != (k+2)*r || len(gbA) != (k+1)*r ||
		(gwC != nil && (len(gwC) != (k+2)*r || len(gbC) != (k+1)*r)) || (df != nil && len(df) != r) {
		panic(fmt.Sprintf("h2arnn: ChainBackward: inconsistent lengths for k=%d R=%d", k, r))
	}
	active.Load().chainBwd(k, f, w, act, g, cA, cC, gwA, gbA, gwC, gbC, df)
}
