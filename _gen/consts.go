package main

import (
	"bytes"
	"fmt"
	"go/format"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"github.com/h2arnn/h2arnn/internal/kconst"
)

// writeConsts writes the constant table the assembly reads and, for the
// test that recomputes it, the table's names. Numbers are hexadecimal float
// literals (exact); masks, NaN, ±Inf and -0, which are no Go constants, are
// bit patterns. flops is the floating-point operation count of one lnσ node
// of the ChainForward layer, per instruction set.
func writeConsts(dir, warning string, table []kconst.Entry, flops map[string]int) error {
	var b, t bytes.Buffer
	fmt.Fprintf(&b, "// %s\n\n//go:build amd64 && !noasm\n\npackage h2arnn\n\n", warning)
	fmt.Fprintf(&b, "// Indices into kc (numbers) and kcMask (bit patterns); the assembly\n")
	fmt.Fprintf(&b, "// addresses row i as ·kc+const_kc<Name>*32(SB) through go_asm.h.\nconst (\n")
	var nums, masks []kconst.Entry
	for _, e := range table {
		if e.Mask {
			masks = append(masks, e)
		} else {
			nums = append(nums, e)
		}
	}
	for i, e := range nums {
		fmt.Fprintf(&b, "kc%s = %d // %s\n", e.Name, i, e.Doc)
	}
	fmt.Fprintf(&b, "kcNumbers = %d\n\n", len(nums))
	for i, e := range masks {
		fmt.Fprintf(&b, "kc%s = %d // %s\n", e.Name, i, e.Doc)
	}
	fmt.Fprintf(&b, "kcMasks = %d\n)\n\n", len(masks))
	fmt.Fprintf(&b, "// kc holds each number four times: one YMM register (the AVX-512 code\n")
	fmt.Fprintf(&b, "// broadcasts the first copy).\nvar kc = [kcNumbers][4]float64{\n")
	for _, e := range nums {
		if math.IsInf(e.Val, 0) || math.IsNaN(e.Val) || (e.Val == 0 && math.Signbit(e.Val)) {
			return fmt.Errorf("%s = %v is no Go constant: make it a mask", e.Name, e.Val)
		}
		v := strconv.FormatFloat(e.Val, 'x', -1, 64)
		fmt.Fprintf(&b, "kc%s: {%s, %[2]s, %[2]s, %[2]s},\n", e.Name, v)
	}
	fmt.Fprintf(&b, "}\n\n// kcMask holds the bit patterns, four times each.\nvar kcMask = [kcMasks][4]uint64{\n")
	for _, e := range masks {
		v := fmt.Sprintf("%#016x", math.Float64bits(e.Val))
		fmt.Fprintf(&b, "kc%s: {%s, %[2]s, %[2]s, %[2]s},\n", e.Name, v)
	}
	fmt.Fprintf(&b, "}\n\n// Floating-point operations per lnσ node of lnsigLayer<ISA> (an FMA\n")
	fmt.Fprintf(&b, "// counts 2; compares, blends, logic and integer operations 0), counted\n// by the generator.\nconst (\n")
	fmt.Fprintf(&b, "lnsigFlopsAVX2 = %d\nlnsigFlopsAVX512 = %d\n)\n", flops["AVX2"], flops["AVX512"])

	fmt.Fprintf(&t, "// %s\n\n//go:build amd64 && !noasm\n\npackage h2arnn\n\n", warning)
	fmt.Fprintf(&t, "// kcNames maps each constant's name in internal/kconst to its row.\n")
	fmt.Fprintf(&t, "var kcNames = map[string]struct{ mask bool; row int }{\n")
	for _, e := range table {
		fmt.Fprintf(&t, "%q: {%v, kc%s},\n", e.Name, e.Mask, e.Name)
	}
	fmt.Fprintf(&t, "}\n")
	for name, buf := range map[string]*bytes.Buffer{"kernels_consts_amd64.go": &b, "kernels_consts_amd64_test.go": &t} {
		src, err := format.Source(buf.Bytes())
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
			return err
		}
	}
	return nil
}
