package model

import (
	"math"
	"math/rand/v2"

	"github.com/h2arnn/h2arnn/internal/fmath"
)

// Net is one autoregressive network q(x) = Π_i q(x_i | x_<i) over N spins.
//
// A Net owns its parameters; all per-sample scratch lives in Workers, so one
// Net can be used by many goroutines at once as long as each has its own
// Worker and nobody changes the parameters meanwhile.
type Net interface {
	// Arch is the architecture name as NewNet accepts it: "h2arnn", "cw_n",
	// "cw_inf", "sk_rs", "sk_<k>rsb" for k ≥ 1 (e.g. "sk_1rsb"; NewNet
	// also accepts "sk_krsb" with ArchOptions.K), "1p", "1l" or "made".
	Arch() string
	// Size is the number of spins N.
	Size() int
	// Model is the Hamiltonian whose Boltzmann distribution the net
	// approximates. Energies returned by workers are this model's.
	Model() *Hamiltonian
	// SetBeta tells the net the inverse temperature. Nets whose parameters
	// are fixed analytically (h2arnn, cw_n) recompute them; trainable nets
	// only record it (β enters their training only through the loss; the
	// trainer sets the β it trains at, and Save stores it).
	SetBeta(beta float64)
	// Beta returns the β of the last SetBeta (before any, the one the net
	// was built with, ArchOptions.Beta).
	Beta() float64
	// Params is the flat slice of trainable parameters (nil for nets with
	// none). Optimisers update it in place; its layout matches the gradient
	// slices given to Worker.Backward.
	Params() []float64
	// ParamCount is the number of parameters as the paper's tables count
	// them (for analytic nets, the fixed numbers too).
	ParamCount() int
	// NewWorker returns fresh scratch space for one goroutine.
	NewWorker() Worker
	// Clone returns a deep copy: the same architecture on the same model
	// with its own parameters (and β), so that one can keep sampling from
	// a snapshot while the other is trained. Refresh a snapshot without
	// allocating by copying: copy(snap.Params(), net.Params()) (and
	// snap.SetBeta(net.Beta()) for the analytic nets).
	Clone() Net
}

// Worker evaluates a Net on one sample at a time. It keeps the activations
// of the last sample it drew or evaluated so that Backward needs no second
// forward pass.
type Worker interface {
	// Sample draws one configuration by ancestral sampling into x (len N,
	// entries ±1) using rng, and returns ln q(x) (nats) and the total
	// energy H(x) of the model (not per spin: Stats.E = mean H / N).
	Sample(rng *rand.Rand, x []float64) (logq, energy float64)
	// LogProb returns ln q(x) of the given configuration (entries ±1).
	LogProb(x []float64) float64
	// Conditionals sets q[i] = Q(x_i = +1 | x_<i) for the configuration x.
	Conditionals(x []float64, q []float64)
	// Backward adds cA·∇θ ln q(x) into gA and, when gC is non-nil,
	// cC·∇θ ln q(x) into gC, for the x of the last Sample or LogProb call.
	// gA and gC have len(Params()). Nets without parameters do nothing.
	Backward(cA float64, gA []float64, cC float64, gC []float64)
}

// BlockWorker is a Worker that can also run several samples in lockstep,
// conditional by conditional, so that each conditional's parameters (and,
// in BackwardBlock, its gradient rows) are fetched once per block rather
// than once per sample. Results are bit-for-bit those of the one-sample
// methods. ForwardBlock and BackwardBlock overwrite what Sample, LogProb and
// Conditionals keep for Backward.
type BlockWorker interface {
	Worker
	// BlockSize is the most samples ForwardBlock takes at once (≥ 1).
	BlockSize() int
	// KeptBytes is the memory one sample's activations take when kept
	// (ForwardBlock with keep). Callers use it to size blocks so that their
	// activations stay in cache, and to choose between keeping activations
	// and GradWorker.GradBlock.
	KeptBytes() int
	// ForwardBlock runs m = len(xs) ≤ BlockSize() samples. With rngs
	// non-nil (len m) it draws xs[j] with rngs[j] exactly as
	// Sample(rngs[j], xs[j]) would and sets energy[j] = H(xs[j]); with rngs
	// nil it evaluates the given xs[j] as LogProb would and leaves energy
	// alone (it may be nil). It sets logq[j] = ln q(xs[j]). With keep it
	// keeps the activations for BackwardBlock; without, it keeps nothing
	// (faster when only samples are wanted).
	ForwardBlock(rngs []*rand.Rand, xs [][]float64, logq, energy []float64, keep bool)
	// BackwardBlock adds Σ_j cA[j]·∇θ ln q(xs[j]) into gA and, when gC is
	// non-nil, Σ_j cC[j]·∇θ ln q(xs[j]) into gC, for the samples of the last
	// ForwardBlock with keep. Every parameter's sum is formed in sample
	// order, so the result equals Backward after each sample in turn.
	BackwardBlock(cA []float64, gA []float64, cC []float64, gC []float64)
}

// GradWorker is a BlockWorker that can also add the gradient of given
// samples without storing their activations: it re-runs each sample's
// forward pass conditional by conditional and adds that conditional's
// gradient right away, so the working set is one conditional's parameters,
// gradient and activations instead of a whole sample's activations. It
// costs a second forward pass and wins wherever keeping activations would
// spill them out of the last-level cache.
type GradWorker interface {
	BlockWorker
	// GradBlock adds Σ_j c[j]·∇θ ln q(xs[j]) into g for m = len(xs) ≤
	// BlockSize() given samples, and sets logq[j] = ln q(xs[j]). Every
	// parameter's sum is formed in sample order: the result equals
	// ForwardBlock(nil, xs, logq, nil, true) then BackwardBlock(c, g, nil,
	// nil). It overwrites what the other methods keep for a backward pass.
	GradBlock(xs [][]float64, c, g, logq []float64)
}

// SampleRNG seeds r for sample index of step, so that every sample of every
// step has its own reproducible random stream regardless of which goroutine
// draws it: the stream is PCG(seed, mix(step, index)).
func SampleRNG(src *rand.PCG, seed, step uint64, index int) {
	src.Seed(seed, splitmix64(step*0x9e3779b97f4a7c15^uint64(index)+0x632be59bd9b4e019))
}

// splitmix64 is the finaliser of SplitMix64 (Steele, Lea, Flood 2014): a
// bijective mixer that turns structured inputs into well spread stream ids.
func splitmix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// drawSpin returns +1 with probability σ(z) and -1 otherwise, together with
// ln of the probability of the drawn value, computed without cancellation.
func drawSpin(rng *rand.Rand, z float64) (x, logp float64) {
	e, sp, _ := fmath.Sigmoids(z)
	return drawFrom(rng, z, e, sp)
}

// drawFrom is drawSpin given e = e^{-|z|} and σ(z) from sigmoids.
func drawFrom(rng *rand.Rand, z, e, sp float64) (x, logp float64) {
	if rng.Float64() < sp {
		return 1, math.Min(z, 0) - math.Log1p(e)
	}
	return -1, math.Min(-z, 0) - math.Log1p(e)
}

// logProbOf returns ln Q(x_i | x_<i) for the spin value x given logit z.
func logProbOf(x, z float64) float64 {
	if x > 0 {
		return fmath.LogSigmoid(z)
	}
	return fmath.LogSigmoid(-z)
}
