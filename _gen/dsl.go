package main

// A small vocabulary over avo's instruction builders, so that every kernel
// is written once and emitted for both instruction sets:
//
//   - A value V is held in u vector registers, one per vector of an
//     interleaved block: every operation is emitted u times in a row, one
//     instruction per vector, which interleaves u independent dependency
//     chains instruction by instruction (what the hand-written EXPCORE2 and
//     LNSIG2 macros did for u = 2).
//   - An operand is a V, a single register (the same for every vector of a
//     block), a constant of the table (C, by name) or a row of float64 in
//     memory (Row). Constants are full-width loads on AVX2 and embedded
//     broadcasts ({1to8}) on AVX-512; rows are masked loads and stores in a
//     row's tail.
//   - Masks are YMM registers (AVX2: sign bits, for VBLENDVPD) or opmask
//     registers (AVX-512).
//
// Registers are virtual: avo allocates them.

import (
	"fmt"

	"github.com/mmcloughlin/avo/build"
	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// isa is one target instruction set.
type isa struct {
	name   string // suffix of the generated functions: "AVX2" or "AVX512"
	avx512 bool
	lanes  int // float64 per vector register
}

var (
	avx2   = isa{name: "AVX2", lanes: 4}
	avx512 = isa{name: "AVX512", avx512: true, lanes: 8}
)

// vb is the size of one vector in bytes.
func (a isa) vb() int { return 8 * a.lanes }

// V is one value in u vector registers.
type V []reg.VecVirtual

// C names a constant of the table (the Go constant kc<Name> indexes it).
type C string

// Row is a row of float64 in memory: vector i of a block is at
// base + index + disp + i*vb.
type Row struct {
	base  reg.Register
	index reg.Register // may be nil
	disp  int
}

// M is a mask, one per vector of a block.
type M struct {
	y V                   // AVX2: all-ones or all-zeros lanes
	k []reg.OpmaskVirtual // AVX-512
}

// gen emits the code of one function.
type gen struct {
	*build.Context
	isa
	consts map[string]bool // which table names are masks (kcMask) rather than numbers (kc)

	u     int  // vectors per block of the code being emitted
	tail  bool // emitting the masked tail: rows are loaded and stored through the mask
	maskY reg.VecVirtual
	maskK reg.OpmaskVirtual
	label string // prefix for labels inside a loop body (unique per emitted copy)

	cregs map[C]reg.VecVirtual // constants kept in registers for the whole function
	flops *int                 // if set, counts floating-point operations per vector
}

// vecs allocates a value of u registers.
func (g *gen) vecs() V {
	v := make(V, g.u)
	for i := range v {
		if g.avx512 {
			v[i] = g.ZMM()
		} else {
			v[i] = g.YMM()
		}
	}
	return v
}

func (g *gen) vec() reg.VecVirtual {
	if g.avx512 {
		return g.ZMM()
	}
	return g.YMM()
}

// count adds n floating-point operations per vector to the flop counter.
func (g *gen) count(n int) {
	if g.flops != nil {
		*g.flops += n
	}
}

// cmem is the memory operand of constant c: the first of its four copies.
func (g *gen) cmem(c C) operand.Mem {
	table, ok := g.consts[string(c)]
	if !ok {
		panic(fmt.Sprintf("unknown constant %q", c))
	}
	sym := "·kc"
	if table {
		sym = "·kcMask"
	}
	// The offset is taken from go_asm.h, which the compiler writes from the
	// package's constants: row kc<Name> of 32 bytes.
	return operand.Mem{Symbol: operand.Symbol{Name: sym + "+const_kc" + string(c) + "*32"}, Base: reg.StaticBase}
}

// keep loads constant c into a register for the whole function. It must be
// called before the first loop, so that the register is set on every path.
func (g *gen) keep(cs ...C) {
	for _, c := range cs {
		r := g.vec()
		g.broadcast(c, r)
		g.cregs[c] = r
	}
}

// broadcast loads constant c into every lane of r.
func (g *gen) broadcast(c C, r reg.VecVirtual) {
	if g.avx512 {
		g.VBROADCASTSD(g.cmem(c), r)
	} else {
		g.VMOVUPD(g.cmem(c), r)
	}
}

// rowMem is the address of vector i of row r.
func (g *gen) rowMem(r Row, i int) operand.Mem {
	m := operand.Mem{Base: r.base, Disp: r.disp + i*g.vb()}
	if r.index != nil {
		m.Index, m.Scale = r.index, 1
	}
	return m
}

// src resolves operand x for vector i as an instruction's memory-capable
// source; bcst reports an AVX-512 broadcast constant (the _BCST form).
func (g *gen) src(x any, i int) (op operand.Op, bcst bool) {
	switch x := x.(type) {
	case V:
		return x[i], false
	case reg.VecVirtual:
		return x, false
	case C:
		if r, ok := g.cregs[x]; ok {
			return r, false
		}
		return g.cmem(x), g.avx512
	case Row:
		if g.tail {
			return g.load(x, i), false
		}
		return g.rowMem(x, i), false
	}
	panic(fmt.Sprintf("operand %T", x))
}

// reg resolves operand x for vector i into a register (loading constants
// and rows into a fresh one).
func (g *gen) reg(x any, i int) reg.VecVirtual {
	switch x := x.(type) {
	case V:
		return x[i]
	case reg.VecVirtual:
		return x
	case C:
		if r, ok := g.cregs[x]; ok {
			return r
		}
		r := g.vec()
		g.broadcast(x, r)
		return r
	case Row:
		return g.load(x, i)
	}
	panic(fmt.Sprintf("operand %T", x))
}

// load reads vector i of row r into a new register (masked in the tail:
// lanes past the row read as 0 and cannot fault).
func (g *gen) load(r Row, i int) reg.VecVirtual {
	v := g.vec()
	switch {
	case !g.tail:
		g.VMOVUPD(g.rowMem(r, i), v)
	case g.avx512:
		g.VMOVUPD_Z(g.rowMem(r, i), g.maskK, v)
	default:
		g.VMASKMOVPD(g.rowMem(r, i), g.maskY, v)
	}
	return v
}

// store writes v to row r (masked in the tail).
func (g *gen) store(r Row, v V) {
	for i := range v {
		switch {
		case !g.tail:
			g.VMOVUPD(v[i], g.rowMem(r, i))
		case g.avx512:
			g.VMOVUPD(v[i], g.maskK, g.rowMem(r, i))
		default:
			g.VMASKMOVPD(v[i], g.maskY, g.rowMem(r, i))
		}
	}
}

// mov sets dst = x.
func (g *gen) mov(dst V, x any) {
	for i := range dst {
		switch x := x.(type) {
		case C:
			if r, ok := g.cregs[x]; ok {
				g.VMOVAPD(r, dst[i])
			} else {
				g.broadcast(x, dst[i])
			}
		case Row:
			if g.tail {
				g.VMOVAPD(g.load(x, i), dst[i])
			} else {
				g.VMOVUPD(g.rowMem(x, i), dst[i])
			}
		default:
			g.VMOVAPD(g.reg(x, i), dst[i])
		}
	}
}

type emit3 func(ops ...operand.Op)

// op3 emits dst = a OP b for every vector, b being the memory-capable
// operand (Go assembler order: OP b, a, dst).
func (g *gen) op3(plain, bcst emit3, flops int, dst V, a, b any) {
	for i := range dst {
		s, isB := g.src(b, i)
		ra := g.reg(a, i)
		if isB {
			bcst(s, ra, dst[i])
		} else {
			plain(s, ra, dst[i])
		}
	}
	g.count(flops)
}

func (g *gen) add(dst V, a, b any) { g.op3(g.VADDPD, g.VADDPD_BCST, 1, dst, a, b) }
func (g *gen) sub(dst V, a, b any) { g.op3(g.VSUBPD, g.VSUBPD_BCST, 1, dst, a, b) }
func (g *gen) mul(dst V, a, b any) { g.op3(g.VMULPD, g.VMULPD_BCST, 1, dst, a, b) }
func (g *gen) div(dst V, a, b any) { g.op3(g.VDIVPD, g.VDIVPD_BCST, 1, dst, a, b) }
func (g *gen) and(dst V, a, b any) { g.op3(g.VANDPD, g.VANDPD_BCST, 0, dst, a, b) }
func (g *gen) or(dst V, a, b any)  { g.op3(g.VORPD, g.VORPD_BCST, 0, dst, a, b) }

// min sets dst = a < b ? a : b, and b when either is NaN.
func (g *gen) min(dst V, a, b any) { g.op3(g.VMINPD, g.VMINPD_BCST, 1, dst, a, b) }

// max sets dst = a > b ? a : b, and b when either is NaN.
func (g *gen) max(dst V, a, b any) { g.op3(g.VMAXPD, g.VMAXPD_BCST, 1, dst, a, b) }

// fma231 sets acc += a*b; fma213 sets x = a*x + c; fnma231 sets
// acc -= a*b; fnma213 sets x = c - a*x (each with one rounding).
func (g *gen) fma231(acc V, a, b any) {
	g.op3(g.VFMADD231PD, g.VFMADD231PD_BCST, 2, acc, a, b)
}
func (g *gen) fma213(x V, a, c any) { g.op3(g.VFMADD213PD, g.VFMADD213PD_BCST, 2, x, a, c) }
func (g *gen) fnma231(acc V, a, b any) {
	g.op3(g.VFNMADD231PD, g.VFNMADD231PD_BCST, 2, acc, a, b)
}
func (g *gen) fnma213(x V, a, c any) { g.op3(g.VFNMADD213PD, g.VFNMADD213PD_BCST, 2, x, a, c) }

// Comparison predicates of VCMPPD (ordered, quiet: false for NaN).
const (
	cmpEQ = 0x00 // a == b
	cmpLT = 0x11 // a < b
	cmpGE = 0x1D // a >= b
	cmpGT = 0x1E // a > b
)

// cmp returns the mask a PRED b.
func (g *gen) cmp(pred uint8, a, b any) M {
	var m M
	for i := 0; i < g.u; i++ {
		s, isB := g.src(b, i)
		ra := g.reg(a, i)
		if g.avx512 {
			k := g.K()
			if isB {
				g.VCMPPD_BCST(operand.U8(pred), s, ra, k)
			} else {
				g.VCMPPD(operand.U8(pred), s, ra, k)
			}
			m.k = append(m.k, k)
		} else {
			y := g.YMM()
			g.VCMPPD(operand.U8(pred), s, ra, y)
			m.y = append(m.y, y)
		}
	}
	return m
}

// signMask returns the mask of the lanes of x whose sign bit is set.
func (g *gen) signMask(x V) M {
	if !g.avx512 {
		return M{y: x} // VBLENDVPD reads the sign bit itself
	}
	var m M
	for i := range x {
		k := g.K()
		g.VPMOVQ2M(x[i], k)
		m.k = append(m.k, k)
	}
	return m
}

// blend sets dst = m ? t : f lane by lane.
func (g *gen) blend(dst V, m M, t, f any) {
	for i := range dst {
		s, isB := g.src(t, i)
		rf := g.reg(f, i)
		switch {
		case !g.avx512:
			g.VBLENDVPD(m.y[i], s, rf, dst[i])
		case isB:
			g.VBLENDMPD_BCST(s, rf, m.k[i], dst[i])
		default:
			g.VBLENDMPD(s, rf, m.k[i], dst[i])
		}
	}
}

// addTail sets acc += x in the lanes of the row's tail mask only (the
// others keep acc), for sums over a row whose tail lanes hold junk.
func (g *gen) addTail(acc, x V) {
	for i := range acc {
		if g.avx512 {
			g.VADDPD(x[i], acc[i], g.maskK, acc[i])
		} else {
			g.VANDPD(g.maskY, x[i], x[i])
			g.VADDPD(x[i], acc[i], acc[i])
		}
	}
	g.count(1)
}

// maxTail sets acc = max(acc, x) in the lanes of the row's tail mask only
// (acc where x is NaN).
func (g *gen) maxTail(acc, x V) {
	for i := range acc {
		if g.avx512 {
			g.VMAXPD(acc[i], x[i], g.maskK, acc[i])
		} else {
			ninf := g.reg(C("NegInf"), i)
			g.VBLENDVPD(g.maskY, x[i], ninf, x[i])
			g.VMAXPD(acc[i], x[i], acc[i])
		}
	}
}

// hsum returns an XMM register whose low lane is the sum of every lane of
// every register of acc (the registers are clobbered).
func (g *gen) hsum(acc V) reg.VecVirtual { return g.hreduce(acc, g.VADDPD, g.VADDSD) }

// hmax is hsum with max for sum (acc holds no NaN).
func (g *gen) hmax(acc V) reg.VecVirtual { return g.hreduce(acc, g.VMAXPD, g.VMAXSD) }

func (g *gen) hreduce(acc V, packed, scalar emit3) reg.VecVirtual {
	for len(acc) > 1 {
		h := len(acc) / 2
		for i := 0; i < h; i++ {
			packed(acc[i+h], acc[i], acc[i])
		}
		if len(acc)%2 == 1 {
			packed(acc[len(acc)-1], acc[0], acc[0])
		}
		acc = acc[:h]
	}
	y := acc[0].AsY().(reg.VecVirtual)
	if g.avx512 {
		hi := g.YMM()
		g.VEXTRACTF64X4(operand.U8(1), acc[0], hi)
		packed(hi, y, y)
	}
	x, hi := y.AsX().(reg.VecVirtual), g.XMM()
	g.VEXTRACTF128(operand.U8(1), y, hi)
	packed(hi, x, x)
	g.VPERMILPD(operand.U8(1), x, hi)
	scalar(hi, x, x)
	return x
}

// poly sets p = Σ_{i=lo..hi} c_i x^(i-lo) with the constants name<i>, by
// Horner's rule: hi-lo FMAs in one dependency chain, whose latency the
// interleaved vectors of a block and the out-of-order core hide.
func (g *gen) poly(p, x V, name string, lo, hi int) {
	g.mov(p, C(fmt.Sprintf("%s%d", name, hi)))
	for i := hi - 1; i >= lo; i-- {
		g.fma213(p, x, C(fmt.Sprintf("%s%d", name, i)))
	}
}
