package model

import (
	"math/rand/v2"
)

// Net is one autoregressive network q(x) = Π_i q(x_i | x_<i) over N spins.
//
// A Net owns its parameters; all per-sample scratch lives in Workers, so one
// Net can be used by many goroutines at once as long as each has its own
// Worker and nobody changes the parameters meanwhile.
type Net interface {
	// Arch is the architecture name: "h2arnn", "cw_n", "cw_inf", "sk_rs",
	// "sk_krsb", "1p", "1l" or "made".
	Arch() string
	// Size is the number of spins N.
	Size() int
	// Model is the Hamiltonian whose Boltzmann distribution the net
	// approximates. Energies returned by workers are this model's.
	Model() *Hamiltonian
	// SetBeta tells the net the inverse temperature. Nets whose parameters
	// are fixed analytically (h2arnn, cw_n) recompute them; trainable nets
	// ignore it (β enters their training only through the loss).
	SetBeta(beta float64)
	// Params is the flat slice of trainable parameters (nil for nets with
	// none). Optimisers update it in place; its layout matches the gradient
	// slices given to Worker.Backward.
	Params() []float64
	// ParamCount is the number of parameters as the paper's tables count
	// them (for analytic nets, the fixed numbers too).
	ParamCount() int
	// NewWorker returns fresh scratch space for one goroutine.
	NewWorker() Worker
}

// Worker evaluates a Net on one sample at a time. It keeps the activations
// of the last sample it drew or evaluated so that Backward needs no second
// forward pass.
type Worker interface {
	// Sample draws one configuration by ancestral sampling into x (len N,
	// entries ±1) using rng, and returns ln q(x) and the energy H(x).
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
	if rng.Float64() < sigmoid(z) {
		return 1, logSigmoid(z)
	}
	return -1, logSigmoid(-z)
}

// logProbOf returns ln Q(x_i | x_<i) for the spin value x given logit z.
func logProbOf(x, z float64) float64 {
	if x > 0 {
		return logSigmoid(z)
	}
	return logSigmoid(-z)
}
