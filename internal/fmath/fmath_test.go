package fmath

import (
	"math"
	"testing"
)

func TestFinite(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want bool
	}{{0, true}, {-1e308, true}, {math.SmallestNonzeroFloat64, true}, {math.NaN(), false}, {math.Inf(1), false}, {math.Inf(-1), false}} {
		if got := Finite(c.v); got != c.want {
			t.Errorf("Finite(%v) = %v, want %v", c.v, got, c.want)
		}
	}
}

// The logistic functions against their definitions where those are exact
// enough, and in the tails where the naive forms fail.
func TestLogistic(t *testing.T) {
	for _, z := range []float64{-30, -2.5, -1, -1e-9, 0, 1e-9, 0.5, 1, 3, 30} {
		want := 1 / (1 + math.Exp(-z))
		if got := Sigmoid(z); math.Abs(got-want) > 2e-16*want {
			t.Errorf("Sigmoid(%v) = %v, want %v", z, got, want)
		}
		if got, w := LogSigmoid(z), math.Log(want); math.Abs(got-w) > 4e-16*math.Max(1, math.Abs(w)) {
			t.Errorf("LogSigmoid(%v) = %v, want %v", z, got, w)
		}
		e, sp, sm := Sigmoids(z)
		if e != math.Exp(-math.Abs(z)) || sp != Sigmoid(z) || sm != Sigmoid(-z) {
			t.Errorf("Sigmoids(%v) = %v, %v, %v; want e^-|z| and the bits of Sigmoid(±z)", z, e, sp, sm)
		}
		if lp := math.Min(z, 0) - math.Log1p(e); lp != LogSigmoid(z) {
			t.Errorf("min(z,0) - log1p(e) = %v, LogSigmoid(%v) = %v: not the same bits", lp, z, LogSigmoid(z))
		}
	}
	if LogSigmoid(-800) != -800 || LogSigmoid(800) != 0 || Sigmoid(-800) != 0 || Sigmoid(800) != 1 {
		t.Errorf("tails: LogSigmoid(∓800) = %v, %v; Sigmoid(∓800) = %v, %v", LogSigmoid(-800), LogSigmoid(800), Sigmoid(-800), Sigmoid(800))
	}
	if _, sp, sm := Sigmoids(0); sp != 0.5 || sm != 0.5 {
		t.Errorf("Sigmoids(0) = %v, %v, want 0.5, 0.5", sp, sm)
	}
}
