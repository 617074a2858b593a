package model

import (
	"context"
	"errors"
	"math"
	"testing"
)

// TestIsing2DLattice: every spin has four bonds of strength J (two to the
// same neighbour on a side of length 2), the field is uniform, and the
// energy of the all-up state is -2NJ - Nh.
func TestIsing2DLattice(t *testing.T) {
	for _, sz := range [][2]int{{2, 2}, {2, 3}, {3, 3}, {4, 5}, {6, 6}} {
		lx, ly := sz[0], sz[1]
		m, err := Ising2D(lx, ly, 0.7, 0.2)
		if err != nil {
			t.Fatal(err)
		}
		n := lx * ly
		if m.N != n || m.Kind != "ising2d" || m.Ising2D == nil || *m.Ising2D != (Ising2DParams{lx, ly, 0.7, 0.2}) {
			t.Fatalf("%dx%d: N %d kind %q params %+v", lx, ly, m.N, m.Kind, m.Ising2D)
		}
		for i := range n {
			sum, nonzero := 0.0, 0
			for j, v := range m.Row(i) {
				if v != m.Coupling(j, i) {
					t.Fatalf("%dx%d: J not symmetric at (%d,%d)", lx, ly, i, j)
				}
				if v != 0 {
					sum += v
					nonzero++
				}
			}
			wantNeighbours := 4
			if lx == 2 {
				wantNeighbours--
			}
			if ly == 2 {
				wantNeighbours--
			}
			if math.Abs(sum-4*0.7) > 1e-15 || nonzero != wantNeighbours || m.Row(i)[i] != 0 || m.H[i] != 0.2 {
				t.Fatalf("%dx%d: spin %d has Σ_j J_ij = %v over %d neighbours (want 2.8 over %d)", lx, ly, i, sum, nonzero, wantNeighbours)
			}
		}
		up := make([]float64, n)
		for i := range up {
			up[i] = 1
		}
		if e := m.Energy(up); math.Abs(e-(-2*0.7-0.2)*float64(n)) > 1e-12 {
			t.Errorf("%dx%d: all-up energy %v", lx, ly, e)
		}
	}
	for _, sz := range [][2]int{{1, 4}, {4, 1}, {0, 0}, {-2, 3}} {
		if _, err := Ising2D(sz[0], sz[1], 1, 0); err == nil {
			t.Errorf("%v accepted", sz)
		}
	}
	if _, err := Ising2D(200, 200, 1, 0); err == nil {
		t.Error("40,000 spins accepted")
	}
	if _, err := Ising2D(3, 3, math.NaN(), 0); err == nil {
		t.Error("NaN coupling accepted")
	}
}

// TestKaufmanAgainstEnumeration: Kaufman's formula gives ln Z and the
// energy of every torus from 2 × 2 to 4 × 5, odd sides included, at β on
// both sides of the critical point and at it, as enumeration of all 2^N
// states does (ln Z to 1e-13 relative, E to 1e-11); the antiferromagnet on
// even sides too.
func TestKaufmanAgainstEnumeration(t *testing.T) {
	betaC := math.Log(1+math.Sqrt2) / 2
	betas := []float64{0.05, 0.3, betaC, 0.6, 1.5, 4}
	for _, sz := range [][2]int{{2, 2}, {2, 3}, {3, 2}, {3, 3}, {2, 5}, {3, 4}, {4, 3}, {4, 4}, {3, 5}, {4, 5}, {5, 4}} {
		for _, j := range []float64{1, -0.8, 1.3} {
			lx, ly := sz[0], sz[1]
			if j < 0 && (lx%2 == 1 || ly%2 == 1) {
				continue
			}
			m, err := Ising2D(lx, ly, j, 0)
			if err != nil {
				t.Fatal(err)
			}
			th, err := Enumerate(context.Background(), m, betas, 1)
			if err != nil {
				t.Fatal(err)
			}
			for k, beta := range betas {
				got, err := Ising2DExact(*m.Ising2D, beta)
				if err != nil {
					t.Fatal(err)
				}
				want := th[k]
				if math.Abs(got.LnZ-want.LnZ) > 1e-13*math.Abs(want.LnZ) || math.Abs(got.F-want.F) > 1e-13*math.Abs(want.F) {
					t.Errorf("%dx%d J=%v β=%v: ln Z %.16g, enumeration %.16g", lx, ly, j, beta, got.LnZ, want.LnZ)
				}
				if math.Abs(got.E-want.E) > 1e-11 || math.Abs(got.S-want.S) > 1e-11 {
					t.Errorf("%dx%d J=%v β=%v: E %.16g S %.16g, enumeration %.16g %.16g", lx, ly, j, beta, got.E, got.S, want.E, want.S)
				}
			}
		}
	}
}

// TestKaufmanLimits: at β = 0 the spins are free (F = -ln2/β, E = 0,
// S = ln 2); at large L the free energy per spin approaches Onsager's
// infinite-lattice value away from β_c (within 1e-9 at L = 64), once the
// ordered phase's twofold degeneracy, which adds ln 2 to ln Z of a finite
// torus, is taken off above β_c; the energy
// agrees with a central difference of ln Z on a lattice too large to
// enumerate; and a field or a frustrated antiferromagnet has no formula.
func TestKaufmanLimits(t *testing.T) {
	p := Ising2DParams{Lx: 6, Ly: 6, J: 1}
	th, err := Ising2DExact(p, 0)
	if err != nil || th.E != 0 || math.Abs(th.S-math.Ln2) > 1e-15 || th.LnZ != 36*math.Ln2 {
		t.Errorf("β = 0: %+v, %v", th, err)
	}
	betaC := math.Log(1+math.Sqrt2) / 2
	for _, beta := range []float64{0.2, 0.3, 0.6, 1} {
		th, err := Ising2DExact(Ising2DParams{Lx: 64, Ly: 64, J: 1}, beta)
		if err != nil {
			t.Fatal(err)
		}
		f := th.F
		if beta > betaC {
			f += math.Ln2 / (beta * 64 * 64)
		}
		if on := onsagerF(beta); math.Abs(f-on) > 1e-9 {
			t.Errorf("β=%v: f(64×64) = %.12f, Onsager %.12f", beta, f, on)
		}
	}
	for _, beta := range []float64{0.3, 0.44, 0.7} {
		q := Ising2DParams{Lx: 7, Ly: 9, J: 1.1}
		th, _ := Ising2DExact(q, beta)
		const h = 1e-5
		up, _ := Ising2DExact(q, beta+h)
		dn, _ := Ising2DExact(q, beta-h)
		fd := -(up.LnZ - dn.LnZ) / (2 * h) / 63
		if math.Abs(th.E-fd) > 1e-7 {
			t.Errorf("7×9 β=%v: E %.12f, central difference %.12f", beta, th.E, fd)
		}
	}
	// At β = 0.4406867935097715 (= β_c rounded) γ₀ = 2K + ln tanh K is
	// exactly 0 in float64, so Z₄ = 0; ln Z and E must still be finite and
	// continuous with their neighbours a few ulps away.
	bc := 0.4406867935097715
	if 2*bc+math.Log(math.Tanh(bc)) != 0 {
		t.Fatal("test design: γ₀ is not 0 at the chosen β_c")
	}
	at, _ := Ising2DExact(p, bc)
	for _, b := range []float64{bc * (1 - 1e-14), bc * (1 + 1e-14)} {
		near, _ := Ising2DExact(p, b)
		if math.Abs(near.LnZ-at.LnZ) > 1e-11 || math.Abs(near.E-at.E) > 1e-11 {
			t.Errorf("β_c: ln Z %v, E %v; at β = %v: %v, %v", at.LnZ, at.E, b, near.LnZ, near.E)
		}
	}
	for _, q := range []Ising2DParams{{Lx: 4, Ly: 4, J: 1, H: 0.1}, {Lx: 3, Ly: 4, J: -1}} {
		if _, err := Ising2DExact(q, 1); !errors.Is(err, ErrNoExactFormula) {
			t.Errorf("%+v: %v", q, err)
		}
	}
	for _, b := range []float64{-1, math.NaN()} {
		if _, err := Ising2DExact(p, b); !errors.Is(err, ErrInvalidBeta) {
			t.Errorf("β=%v: %v, want an error matching ErrInvalidBeta", b, err)
		}
	}
}

// onsagerF is Onsager's free energy per spin of the infinite square-lattice
// ferromagnet (J = 1) at β, by a trapezoidal rule in its double integral's
// reduced one-dimensional form:
//
//	-βf = ln(2 cosh 2β) + (1/2π) ∫_0^π ln((1 + √(1 - κ² sin²θ))/2) dθ,
//	κ = 2 sinh 2β / cosh² 2β.
func onsagerF(beta float64) float64 {
	kappa := 2 * math.Sinh(2*beta) / math.Pow(math.Cosh(2*beta), 2)
	const steps = 20000
	sum := 0.0
	for i := 0; i <= steps; i++ {
		th := math.Pi * float64(i) / steps
		s := math.Sin(th)
		v := math.Log((1 + math.Sqrt(1-kappa*kappa*s*s)) / 2)
		if i == 0 || i == steps {
			v /= 2
		}
		sum += v
	}
	integral := sum * math.Pi / steps
	return -(math.Log(2*math.Cosh(2*beta)) + integral/(2*math.Pi)) / beta
}
