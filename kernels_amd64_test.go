//go:build amd64 && !noasm

package h2arnn

import (
	"math"
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
