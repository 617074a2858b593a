// Package h2arnn holds the numerical kernels of the project: float64 vector
// routines and the fused row kernels that the autoregressive networks of the
// model package spend their time in. The kernels know nothing of spins or
// networks: slices of float64 in, float64 out.
//
// Every kernel has a pure-Go implementation (kernels_generic.go), which is the
// specification and the test oracle, and on amd64 an AVX2+FMA assembly
// implementation (kernels_amd64.s) chosen once at start-up from cpuid. The
// set in use is reported by Kernels and can be forced with the environment
// variable H2ARNN_KERNELS=generic|avx2 or with the build tag noasm. (An
// AVX-512 set is planned; the name "avx512" is reserved for it and is
// refused with a clear error while no such set is registered.)
//
// Unless stated otherwise, slices passed together must have equal lengths; a
// kernel panics if they do not. Output slices may alias the matching input.
package h2arnn

import (
	"fmt"
	"os"
)

// kernelSet is one implementation of every kernel. The generic set is always
// available; architecture files register faster ones.
type kernelSet struct {
	name       string
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
}

// available lists the kernel sets this binary can run on this CPU, best first.
// The generic set is always last.
var available = []*kernelSet{&genericKernels}

// active is the kernel set in use.
var active = &genericKernels

func init() {
	want := os.Getenv("H2ARNN_KERNELS")
	if want == "" {
		active = available[0]
		return
	}
	if err := SetKernels(want); err != nil {
		fmt.Fprintf(os.Stderr, "h2arnn: H2ARNN_KERNELS=%q: %v; using %s\n", want, err, available[0].name)
		active = available[0]
	}
}

// Kernels returns the name of the kernel set in use: "avx2" or "generic".
func Kernels() string { return active.name }

// AvailableKernels returns the names of the kernel sets usable on this CPU and
// build, best first; "generic" is always present.
func AvailableKernels() []string {
	names := make([]string, len(available))
	for i, s := range available {
		names[i] = s.name
	}
	return names
}

// SetKernels selects the kernel set by name. It is meant for start-up and for
// tests; it must not be called while kernels run on other goroutines.
func SetKernels(name string) error {
	for _, s := range available {
		if s.name == name {
			active = s
			return nil
		}
	}
	return fmt.Errorf("kernel set %q not available on this CPU/build (available: %v)", name, AvailableKernels())
}

func checkLen(a, b int) {
	if a != b {
		panic(fmt.Sprintf("h2arnn: slice lengths differ: %d != %d", a, b))
	}
}

// Exp sets dst[i] = math.Exp(x[i]) for every i, to within 2 ulp, with
// math.Exp's special cases (Exp(+Inf)=+Inf, Exp(-Inf)=0, NaN→NaN, overflow
// to +Inf above ~709.78, gradual underflow to subnormals and 0).
func Exp(dst, x []float64) { checkLen(len(dst), len(x)); active.exp(dst, x) }

// Log1p sets dst[i] = math.Log1p(x[i]) for every i, to within 2 ulp, with
// math.Log1p's special cases (-1→-Inf, < -1→NaN, +Inf→+Inf, NaN→NaN, ±0→±0).
func Log1p(dst, x []float64) { checkLen(len(dst), len(x)); active.log1p(dst, x) }

// LogSigmoid sets dst[i] = ln σ(x[i]) = -ln(1+e^{-x[i]}), evaluated as
// min(x,0) - log1p(exp(-|x|)) so that it is accurate in both tails:
// ≈ x for x → -∞ (never -Inf for finite x) and ≈ -e^{-x} for x → +∞.
func LogSigmoid(dst, x []float64) { checkLen(len(dst), len(x)); active.logSigmoid(dst, x) }

// Sigmoid sets dst[i] = σ(x[i]) = 1/(1+e^{-x[i]}), evaluated from e^{-|x|} so
// that σ(x) for x → -∞ is the tiny e^{x} rather than 0 from cancellation.
func Sigmoid(dst, x []float64) { checkLen(len(dst), len(x)); active.sigmoid(dst, x) }

// LogSumExp returns ln Σ_i e^{x[i]}, shifted by the maximum so that it never
// overflows; -Inf for an empty slice or all -Inf; +Inf if any x is +Inf; NaN
// if any x is NaN.
func LogSumExp(x []float64) float64 { return active.logSumExp(x) }

// Axpy sets y[i] += alpha*x[i] for every i.
func Axpy(alpha float64, x, y []float64) { checkLen(len(x), len(y)); active.axpy(alpha, x, y) }

// Dot returns Σ_i x[i]*y[i]. The summation order of the assembly versions
// differs from a plain loop, so results agree to rounding, not bit for bit.
func Dot(x, y []float64) float64 { checkLen(len(x), len(y)); return active.dot(x, y) }

// LogSumExpAffine returns ln Σ_k exp(b[k] + w[k]*m), computed stably (shifted
// by the maximum term). It is the building block of the cw_n conditionals.
func LogSumExpAffine(b, w []float64, m float64) float64 {
	checkLen(len(b), len(w))
	return active.lseAffine(b, w, m)
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
func ChainForward(k int, f, w, b, act []float64) float64 {
	r := len(f)
	if k < 0 || len(w) != (k+2)*r || len(b) != (k+1)*r || len(act) != 2*(k+1)*r {
		panic(fmt.Sprintf("h2arnn: ChainForward: k=%d R=%d len(w)=%d len(b)=%d len(act)=%d", k, r, len(w), len(b), len(act)))
	}
	return active.chainFwd(k, f, w, b, act)
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
	active.chainBwd(k, f, w, act, g, cA, cC, gwA, gbA, gwC, gbC, df)
}
