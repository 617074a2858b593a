package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestOnePFormula checks the conditionals against SPEC §3 written out:
// q_i = σ(w_i Σ_{s<i} x_s), so q_0 = 1/2 whatever w_0 is.
func TestOnePFormula(t *testing.T) {
	const n = 12
	m, _ := CurieWeiss(n, 1, 0)
	net, err := NewOneP(m, ArchOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	blRandomise(net, 4, 1)
	w := net.NewWorker()
	rng := rand.New(rand.NewPCG(2, 2))
	x, q := make([]float64, n), make([]float64, n)
	for range 10 {
		blRandomSpins(rng, x)
		w.Conditionals(x, q)
		for i := range n {
			M := 0.0
			for s := range i {
				M += x[s]
			}
			if want := 1 / (1 + math.Exp(-net.Params()[i]*M)); math.Abs(q[i]-want) > 1e-15 {
				t.Fatalf("q_%d = %v, want %v", i, q[i], want)
			}
		}
		if q[0] != 0.5 {
			t.Fatalf("q_0 = %v", q[0])
		}
	}
}
