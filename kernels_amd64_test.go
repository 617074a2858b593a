//go:build amd64 && !noasm

package h2arnn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/h2arnn/h2arnn/internal/kconst"
)

// TestConstTable recomputes the constant table of the assembly with
// internal/kconst (exact rational and 256-bit arithmetic) and compares it
// bit for bit with the generated kernels_consts_amd64.go: every row, all
// four copies, at the index the assembly reads it from. A failure means the
// generated files are stale: run go generate.
func TestConstTable(t *testing.T) {
	table := kconst.Table()
	if len(table) != len(kcNames) || kcNumbers+kcMasks != len(table) {
		t.Fatalf("kconst has %d constants, the generated table %d+%d (names %d): run go generate", len(table), kcNumbers, kcMasks, len(kcNames))
	}
	numbers := 0
	for _, e := range table {
		loc, ok := kcNames[e.Name]
		if !ok || loc.mask != e.Mask {
			t.Fatalf("constant %s (mask %v) is not in the generated table as such: run go generate", e.Name, e.Mask)
		}
		want := math.Float64bits(e.Val)
		for i := range 4 {
			var got uint64
			if e.Mask {
				got = kcMask[loc.row][i]
			} else {
				got = math.Float64bits(kc[loc.row][i])
			}
			if got != want {
				t.Errorf("kc%s copy %d: %#016x, kconst computes %#016x (%s): run go generate", e.Name, i, got, want, e.Doc)
			}
		}
		if !e.Mask {
			if loc.row != numbers {
				t.Errorf("kc%s at row %d, kconst's order puts it at %d", e.Name, loc.row, numbers)
			}
			numbers++
		}
	}
}

// TestMaxAffine checks the assembly maximum of LogSumExpAffine against the
// loop it replaces (with the same single rounding of b + w·m) on every
// length 0..67: all terms negative (a tail lane counted as 0 would show),
// NaNs (skipped), +Inf and -Inf.
func TestMaxAffine(t *testing.T) {
	for _, c := range []struct {
		set *kernelSet
		f   func(b, w []float64, m float64) float64
	}{{&avx512Kernels, maxAffineAVX512}, {&avx2Kernels, maxAffineAVX2}} {
		t.Run(c.set.name, func(t *testing.T) {
			if !slices.Contains(available, c.set) {
				t.Skipf("kernel set %s not tested: this CPU or OS lacks %s", c.set.name, c.set.needs)
			}
			rng := rand.New(rand.NewPCG(13, 14))
			for n := 0; n <= 67; n++ {
				for variant := range 4 {
					b, w := make([]float64, n), make([]float64, n)
					for i := range b {
						b[i], w[i] = -1-math.Abs(rng.NormFloat64()), rng.NormFloat64()
					}
					if n > 0 {
						switch variant {
						case 1:
							b[rng.IntN(n)] = math.NaN()
						case 2:
							b[rng.IntN(n)] = math.Inf(1)
						case 3:
							for i := range b {
								b[i] = math.Inf(-1)
							}
						}
					}
					m := rng.NormFloat64()
					want := math.Inf(-1)
					for i := range b {
						if v := math.FMA(w[i], m, b[i]); v > want {
							want = v
						}
					}
					if got := c.f(b, w, m); got != want {
						t.Fatalf("n=%d variant %d: %v, want %v", n, variant, got, want)
					}
				}
			}
		})
	}
}
