package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestOneLFormula checks the conditionals against SPEC §3 written out,
// q_i = σ(b_i + Σ_{s<i} W_is x_s), with b = Params()[:N] and W_is at
// N + i(i-1)/2 + s.
func TestOneLFormula(t *testing.T) {
	const n = 12
	m, _ := SherringtonKirkpatrick(n, 1, 0, 3)
	net, err := NewOneL(m, ArchOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	blRandomise(net, 4, 1)
	p := net.Params()
	w := net.NewWorker()
	rng := rand.New(rand.NewPCG(2, 2))
	x, q := make([]float64, n), make([]float64, n)
	for range 10 {
		blRandomSpins(rng, x)
		w.Conditionals(x, q)
		for i := range n {
			z := p[i]
			for s := range i {
				z += p[n+i*(i-1)/2+s] * x[s]
			}
			if want := 1 / (1 + math.Exp(-z)); math.Abs(q[i]-want) > 1e-15 {
				t.Fatalf("q_%d = %v, want %v", i, q[i], want)
			}
		}
	}
}

// TestOneLInit checks the initial bounds: biases within ±1/√N, weights
// within ±√(2/(N-1)) = (1/√N)·√(N²/(N(N-1)/2)), each bound nearly reached.
func TestOneLInit(t *testing.T) {
	const n = 40
	m, _ := CurieWeiss(n, 1, 0)
	net, _ := NewOneL(m, ArchOptions{Seed: 8})
	p := net.Params()
	maxB, maxW := 0.0, 0.0
	for k, v := range p {
		if k < n {
			maxB = math.Max(maxB, math.Abs(v))
		} else {
			maxW = math.Max(maxW, math.Abs(v))
		}
	}
	bb, wb := 1/math.Sqrt(n), math.Sqrt(2.0/(n-1))
	if maxB > bb || maxB < 0.9*bb || maxW > wb || maxW < 0.95*wb {
		t.Fatalf("max |b| %v (bound %v), max |W| %v (bound %v)", maxB, bb, maxW, wb)
	}
}
