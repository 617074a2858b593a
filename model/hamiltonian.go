// Package model holds the physics and the networks: pairwise spin
// Hamiltonians, their exact references, and the autoregressive architectures
// (forward, ancestral sampling, per-sample backward). It never imports the
// grad or driver packages.
//
// Spins are float64 values ±1 in computations (so that they feed the vector
// kernels directly) and int8 in stored samples.
package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/h2arnn/h2arnn/internal/fmath"
)

// Hamiltonian is H(x) = -Σ_{i<j} J_ij x_i x_j - Σ_i h_i x_i with a dense
// symmetric coupling matrix with zero diagonal.
type Hamiltonian struct {
	N int
	// J is the N×N coupling matrix, row-major: J[i*N+j] = J_ij = J_ji, J_ii = 0.
	J []float64
	// H holds the external fields h_i.
	H []float64
	// Kind is "cw", "sk", "ising2d" or "file".
	Kind string
	// Source says where the instance came from (parameters, seed or file
	// names) so that runs can record it.
	Source string
	// CW is set for Curie-Weiss models: J_ij = CW.J/N, h_i = CW.H. The exact
	// finite-N and N → ∞ references apply only then.
	CW *CWParams
	// Ising2D is set for the 2D Ising model on a torus (model.Ising2D);
	// its exact reference is Ising2DExact.
	Ising2D *Ising2DParams
}

// CWParams are the two numbers of a Curie-Weiss model.
type CWParams struct{ J, H float64 }

// NewHamiltonian returns an empty (all-zero) model of n spins.
func NewHamiltonian(n int) *Hamiltonian {
	return &Hamiltonian{N: n, J: make([]float64, n*n), H: make([]float64, n)}
}

// Coupling returns J_ij.
func (m *Hamiltonian) Coupling(i, j int) float64 { return m.J[i*m.N+j] }

// SetCoupling sets J_ij = J_ji = v.
func (m *Hamiltonian) SetCoupling(i, j int, v float64) {
	m.J[i*m.N+j] = v
	m.J[j*m.N+i] = v
}

// Row returns row i of J (a view, not a copy).
func (m *Hamiltonian) Row(i int) []float64 { return m.J[i*m.N : (i+1)*m.N] }

// CurieWeiss returns the Curie-Weiss model J_ij = j/n for every pair, h_i = h.
func CurieWeiss(n int, j, h float64) (*Hamiltonian, error) {
	if err := checkSize("CurieWeiss", n); err != nil {
		return nil, err
	}
	if err := checkCWParams("CurieWeiss", j, h); err != nil {
		return nil, err
	}
	m := NewHamiltonian(n)
	for a := 0; a < n; a++ {
		for b := 0; b < n; b++ {
			if a != b {
				m.J[a*n+b] = j / float64(n)
			}
		}
		m.H[a] = h
	}
	m.Kind = "cw"
	m.Source = fmt.Sprintf("cw n=%d J=%g h=%g", n, j, h)
	m.CW = &CWParams{J: j, H: h}
	return m, nil
}

// SherringtonKirkpatrick returns one SK instance: J_ij ~ Normal(0, j²/n)
// i.i.d. for i<j and h_i = h.
//
// The instance is a pure function of (n, j, seed) on every machine: the
// random stream is Go's math/rand/v2 PCG seeded with (seed, 0x5eed5eed5eed5eed),
// and the couplings are j/√n · NormFloat64() drawn for the pairs in row-major
// order (i = 0..n-1, then j = i+1..n-1).
func SherringtonKirkpatrick(n int, j, h float64, seed uint64) (*Hamiltonian, error) {
	if err := checkSize("SherringtonKirkpatrick", n); err != nil {
		return nil, err
	}
	if err := checkCWParams("SherringtonKirkpatrick", j, h); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed5eed5eed5eed))
	m := NewHamiltonian(n)
	scale := j / math.Sqrt(float64(n))
	for a := 0; a < n; a++ {
		for b := a + 1; b < n; b++ {
			m.SetCoupling(a, b, scale*rng.NormFloat64())
		}
		m.H[a] = h
	}
	m.Kind = "sk"
	m.Source = fmt.Sprintf("sk n=%d J=%g h=%g seed=%d", n, j, h, seed)
	return m, nil
}

// MaxSpins bounds N for every model so that the dense N×N matrix stays a
// reasonable allocation (20000² float64 = 3.2 GB).
const MaxSpins = 20000

// checkSize returns fn's *ArgError for a number of spins outside
// [1, MaxSpins], or nil.
func checkSize(fn string, n int) error {
	if n <= 0 {
		return argErr(fn, "N", n, "the number of spins must be at least 1")
	}
	if n > MaxSpins {
		return argErr(fn, "N", n, "at most %d spins are supported (the couplings are a dense N×N matrix)", MaxSpins)
	}
	return nil
}

// checkCWParams returns fn's *ArgError for a non-finite coupling scale j or
// field h, or nil.
func checkCWParams(fn string, j, h float64) error {
	if !fmath.Finite(j) {
		return argErr(fn, "J", j, "the coupling scale must be a finite number")
	}
	if !fmath.Finite(h) {
		return argErr(fn, "H", h, "the field must be a finite number")
	}
	return nil
}

// Energy returns H(x) for one configuration of ±1 spins.
func (m *Hamiltonian) Energy(x []float64) float64 {
	e := 0.0
	for i := 0; i < m.N; i++ {
		row := m.J[i*m.N : i*m.N+i]
		s := m.H[i]
		for j, v := range row {
			s += v * x[j]
		}
		e -= x[i] * s
	}
	return e
}

// Energies returns H of each of the len(x)/N configurations stored
// row-major in x (int8 spins ±1).
func (m *Hamiltonian) Energies(x []int8) []float64 {
	n := m.N
	out := make([]float64, len(x)/n)
	buf := make([]float64, n)
	for b := range out {
		for i := 0; i < n; i++ {
			buf[i] = float64(x[b*n+i])
		}
		out[b] = m.Energy(buf)
	}
	return out
}
