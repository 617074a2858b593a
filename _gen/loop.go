package main

import (
	"fmt"

	"github.com/mmcloughlin/avo/attr"
	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// fn starts function <name><ISA> with a Go signature and doc lines.
func (g *gen) fn(name, sig string, doc ...string) {
	g.Function(name + g.name)
	g.Attributes(attr.NOSPLIT)
	g.SignatureExpr(sig)
	g.Doc(doc...)
	g.Pragma("noescape")
	g.cregs = map[C]reg.VecVirtual{}
	g.u, g.tail, g.flops = 1, false, nil
}

// end returns from the function (clearing the upper vector state first).
func (g *gen) end() {
	g.VZEROUPPER()
	g.RET()
}

// loop emits a loop over n elements (n in a register, ≥ 0): blocks of u
// vectors, then single vectors, then one masked vector for the last
// n mod lanes elements. body emits the work on g.u vectors at the current
// positions of the row pointers ptrs, which advance after each block.
// name makes the labels unique within the function.
func (g *gen) loop(name string, n reg.GPVirtual, u int, ptrs []reg.GPVirtual, body func()) {
	cnt := g.GP64()
	g.MOVQ(n, cnt)
	lbl := func(s string) string { return fmt.Sprintf("%s_%s", name, s) }
	step := func(u int) {
		for _, p := range ptrs {
			g.ADDQ(operand.U32(u*g.vb()), p)
		}
		g.SUBQ(operand.U32(u*g.lanes), cnt)
	}
	if u > 1 {
		g.Label(lbl("block"))
		g.CMPQ(cnt, operand.U32(u*g.lanes))
		g.JB(operand.LabelRef(lbl("single")))
		g.u, g.label = u, lbl("b")
		body()
		step(u)
		g.JMP(operand.LabelRef(lbl("block")))
	}
	g.Label(lbl("single"))
	g.CMPQ(cnt, operand.U32(g.lanes))
	g.JB(operand.LabelRef(lbl("tail")))
	g.u, g.label = 1, lbl("s")
	body()
	step(1)
	g.JMP(operand.LabelRef(lbl("single")))

	g.Label(lbl("tail"))
	g.TESTQ(cnt, cnt)
	g.JZ(operand.LabelRef(lbl("done")))
	g.setTailMask(cnt)
	g.tail, g.label = true, lbl("t")
	body()
	g.tail = false
	g.Label(lbl("done"))
}

// setTailMask sets the mask of the first cnt (1..lanes-1) lanes, from a
// table of masks in the assembly file's read-only data.
func (g *gen) setTailMask(cnt reg.GPVirtual) {
	p := g.GP64()
	if g.avx512 {
		g.LEAQ(tailMaskK, p)
		g.maskK = g.K()
		g.KMOVB(operand.Mem{Base: p, Index: cnt, Scale: 1}, g.maskK)
		return
	}
	g.LEAQ(tailMaskY, p)
	off := g.GP64()
	g.MOVQ(cnt, off)
	g.SHLQ(operand.U8(5), off)
	g.maskY = g.YMM()
	g.VMOVUPD(operand.Mem{Base: p, Index: off, Scale: 1}, g.maskY)
}

// The tail-mask tables: for t = 0..3, four quadwords whose first t are
// all ones (AVX2, VMASKMOVPD reads their sign bits); for t = 0..7, the
// byte with the low t bits set (AVX-512, KMOVB).
var tailMaskY, tailMaskK operand.Mem

func tailMaskData(c *build.Context) {
	tailMaskY = c.StaticGlobal("tailmaskY")
	c.DataAttributes(attr.RODATA | attr.NOPTR)
	for t := 0; t < 4; t++ {
		for l := 0; l < 4; l++ {
			v := uint64(0)
			if l < t {
				v = ^uint64(0)
			}
			c.AddDatum(32*t+8*l, operand.U64(v))
		}
	}
	tailMaskK = c.StaticGlobal("tailmaskK")
	c.DataAttributes(attr.RODATA | attr.NOPTR)
	for t := 0; t < 8; t++ {
		c.AddDatum(t, operand.U8(1<<t-1))
	}
}
