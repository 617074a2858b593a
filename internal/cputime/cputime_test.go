package cputime

import (
	"runtime"
	"testing"
)

// TestSecondsGrows checks that CPU time advances while the process
// computes (where the OS reports it) and never goes back.
func TestSecondsGrows(t *testing.T) {
	t0 := Seconds()
	if runtime.GOOS == "windows" || runtime.GOOS == "plan9" || runtime.GOOS == "js" || runtime.GOOS == "wasip1" {
		if t0 != 0 {
			t.Fatalf("Seconds() = %v on %s, want 0", t0, runtime.GOOS)
		}
		t.Skip("no CPU time on " + runtime.GOOS)
	}
	x := 1.0
	for Seconds()-t0 < 0.02 {
		for range 1 << 16 {
			x = x*1.0000001 + 1e-9
		}
	}
	if x == 0 {
		t.Fatal("unreachable")
	}
	if t1 := Seconds(); t1 < t0 {
		t.Fatalf("CPU time went back from %v to %v", t0, t1)
	}
}
