package cputime

import (
	"testing"
	"time"
)

// TestProcessGrows checks that CPU time advances while the process
// computes, where the OS reports it, and never goes back.
func TestProcessGrows(t *testing.T) {
	t0 := Process()
	if t0 < 0 {
		t.Skip("this OS does not report CPU time here")
	}
	x := 1.0
	for Process()-t0 < 20*time.Millisecond {
		for range 1 << 16 {
			x = x*1.0000001 + 1e-9
		}
	}
	if x == 0 {
		t.Fatal("unreachable")
	}
	if t1 := Process(); t1 < t0 {
		t.Fatalf("CPU time went back from %v to %v", t0, t1)
	}
}
