package main

// The kernels, each written once for both instruction sets. The numerical
// methods and their error bounds are documented in the h2arnn package
// (kernels_amd64.go); the comments here say what each block computes, as
// the Go it is equivalent to.

import (
	"fmt"

	"github.com/mmcloughlin/avo/operand"
	"github.com/mmcloughlin/avo/reg"
)

// tuning is what differs between the instruction sets beyond the
// instructions: how many vectors the loops interleave, and whether the
// ChainForward layer runs in two passes. Chosen by measurement on a Zen 5
// core (min-of-3000 timings, k = 2, R = 200; node/ns of ChainForward):
// AVX-512 one pass 0.97 (u=2), 1.10 (u=3), 1.15 (u=4); two passes 1.37
// (u=2), 1.40 (u=3), 1.44 (u=4); u > 4 does not fit the 32 registers.
// AVX2 two passes 0.60 (u=1), 0.65 (u=2), 0.68 (u=3); one pass 0.50 (u=2).
// Estrin's scheme for the polynomials instead of Horner's changed these by
// < 5 % either way and cost registers (u = 4 no longer fit), so the
// polynomials are Horner's.
type tuning struct {
	unary     int  // Exp, Log1p, LogSigmoid, Sigmoid, the sums of exponentials
	layer     int  // the ChainForward layer
	layerTwo  bool // the layer in two passes
	backward  int
	streaming int // Axpy, Dot
}

func (g *gen) tuning() tuning {
	if g.avx512 {
		return tuning{unary: 2, layer: 4, layerTwo: true, backward: 2, streaming: 4}
	}
	return tuning{unary: 2, layer: 3, layerTwo: true, backward: 1, streaming: 4}
}

// clamp sets x = min(hi, max(lo, x)) for the constants lo, hi; NaN stays NaN.
func (g *gen) clamp(x V, lo, hi C) {
	g.max(x, lo, x)
	if hi != "" {
		g.min(x, hi, x)
	}
}

// exp sets x = e^x for x in [-1000, 1000] or NaN.
//
//	n := x*log2e + 1.5·2^52           // round(x·log2 e) in the low mantissa bits
//	t := n - 1.5·2^52                 // as a float64
//	r := x - t*ln2hi - t*ln2lo        // |r| ≤ ln2/2 (+ rounding)
//	p := c2 + c3 r + ... + c11 r^9    // c_i ≈ 1/i!, kconst.ExpPoly
//	p = 1 + (r + r²·p)                // e^r
//	x = p·2^t                         // AVX-512: VSCALEFPD; AVX2: p·2^⌊t/2⌋·2^⌈t/2⌉
//
// The scaling rounds once, so that results below the normal range underflow
// gradually and correctly rounded from p, and overflow gives +Inf.
func (g *gen) exp(x V) {
	g.Comment("x = e^x: n = round(x·log2 e), r = x - n·ln2 (two FMAs), e^r = 1 + r + r²·P(r) (Horner), times 2^n")
	n, t := g.vecs(), g.vecs()
	g.mov(n, C("Shift"))
	g.fma231(n, x, C("Log2E"))
	g.sub(t, n, C("Shift"))
	g.fnma231(x, t, C("Ln2Hi"))
	g.fnma231(x, t, C("Ln2Lo"))
	p, r2 := g.vecs(), g.vecs()
	g.poly(p, x, "ExpC", 2, 11)
	g.mul(r2, x, x)
	g.fma213(p, r2, x)
	g.add(p, p, C("One"))
	if g.avx512 {
		for i := range x {
			g.VSCALEFPD(t[i], p[i], x[i])
		}
		g.count(1)
		return
	}
	// The low 12 bits of n hold the integer round(x·log2 e) = k; the two
	// factors 2^(k>>1) and 2^(k - k>>1) are built in the exponent field.
	for i := range x {
		g.VPSRLQ(operand.U8(1), n[i], t[i])
		g.VPSUBQ(t[i], n[i], n[i])
	}
	for i := range x {
		g.VPADDQ(g.cmem("Bias"), t[i], t[i])
		g.VPADDQ(g.cmem("Bias"), n[i], n[i])
	}
	for i := range x {
		g.VPSLLQ(operand.U8(52), t[i], t[i])
		g.VPSLLQ(operand.U8(52), n[i], n[i])
	}
	g.mul(p, p, t)
	g.mul(x, p, n)
}

// lnsig sets y = lnσ(z) = min(z,0) - ln(1+e) and, if s is not nil,
// s = σ(-z), given e = e^{-|z|} ∈ [0, 1].
//
//	t := e/(2+e)                  // ∈ [0, 1/3]
//	w := t*t                      // ≤ 1/9
//	l := e - t*(e - w*Q(w))       // ln(1+e) = 2 atanh t, Q: kconst.AtanhPoly(1/9)
//	y = min(z,0) - l
//	s = (z < 0 ? 1 : e)/(1+e)     // σ(-z)
//
// (Two divisions measured faster than one shared through
// q = 1/((1+e)(2+e)), which needs four more multiplications; the divider
// works beside the FMA pipes.)
func (g *gen) lnsig(z, e, y, s V) {
	g.Comment("y = min(z,0) - ln(1+e), ln(1+e) = e - t·(e - w·Q(w)) with t = e/(2+e), w = t²; s = (z < 0 ? 1 : e)/(1+e)")
	t, w := g.vecs(), g.vecs()
	g.add(t, e, C("Two"))
	g.div(t, e, t)
	if s != nil {
		u := g.vecs()
		g.add(u, e, C("One"))
		g.blend(s, g.signMask(z), C("One"), e)
		g.div(s, s, u)
	}
	g.mul(w, t, t)
	p := g.vecs()
	g.poly(p, w, "LnSigQ", 0, 9)
	g.fnma213(p, w, e)
	g.fnma213(p, t, e)
	g.min(y, z, C("Zero"))
	g.sub(y, y, p)
}

// paramAddr is the stack address of scalar parameter name.
func (g *gen) paramAddr(name string) operand.Mem {
	b, err := g.Param(name).Resolve()
	if err != nil {
		panic(err)
	}
	return b.Addr
}

// sliceArgs loads the base pointers of the named slice parameters and the
// length of the first.
func (g *gen) sliceArgs(names ...string) (ptrs []reg.GPVirtual, n reg.GPVirtual) {
	for _, nm := range names {
		ptrs = append(ptrs, g.Load(g.Param(nm).Base(), g.GP64()).(reg.GPVirtual))
	}
	n = g.Load(g.Param(names[0]).Len(), g.GP64()).(reg.GPVirtual)
	return ptrs, n
}

// elementwise emits func <name><ISA>(dst, x []float64): dst[i] = f(x[i]),
// f being what body computes from a block of x (in registers). The
// constants in keep stay in registers on AVX-512.
func (g *gen) elementwise(name, doc string, keep []C, body func(x V) V) {
	g.fn(name, "func(dst, x []float64)", doc+"; len(dst) ≥ len(x).")
	p, n := g.sliceArgs("x", "dst")
	if g.avx512 {
		g.keep(keep...)
	}
	g.loop(name, n, g.tuning().unary, p, func() {
		x := g.vecs()
		g.mov(x, Row{base: p[0]})
		g.store(Row{base: p[1]}, body(x))
	})
	g.end()
}

func (g *gen) genExp() {
	g.elementwise("exp", "for i := range x { dst[i] = e^x[i] } (see Exp)", []C{"ExpMin", "ExpMax"}, func(x V) V {
		g.clamp(x, "ExpMin", "ExpMax")
		g.exp(x)
		return x
	})
}

// genLog1p: the general log1p.
//
//	u := 1 + x
//	k, m := exponent and mantissa of u, m ∈ [1, 2)     // AVX-512: VGETEXPPD, VGETMANTPD
//	if m > √2 { m /= 2; k++ }                          // m ∈ [√2/2, √2)
//	f := m - 1; t := f/(2+f); w := t*t                 // |t| ≤ 0.1716
//	lo := (x - (u-1))/u + k*ln2lo - t*(f - w*Q(w))      // the first term corrects the rounding of u
//	r := k*ln2hi + (f + lo)
//	special cases: |x| < 2^-54 → x; +Inf → +Inf; -1 → -Inf; < -1 → NaN
func (g *gen) genLog1p() {
	g.elementwise("log1p", "for i := range x { dst[i] = ln(1+x[i]) } (see Log1p)", nil, func(xv V) V {
		u := g.vecs()
		g.add(u, xv, C("One"))
		k, m := g.vecs(), g.vecs()
		if g.avx512 {
			for i := range u {
				g.VGETEXPPD(u[i], k[i])
				g.VGETMANTPD(operand.U8(0), u[i], m[i]) // interval [1,2), sign of u
			}
			big := g.cmp(cmpGT, m, C("Sqrt2"))
			for i := range m {
				g.VMULPD_BCST(g.cmem("Half"), m[i], big.k[i], m[i])
				g.VADDPD_BCST(g.cmem("One"), k[i], big.k[i], k[i])
			}
		} else {
			for i := range u {
				g.VPSRLQ(operand.U8(52), u[i], k[i])
				g.VPOR(g.cmem("Magic"), k[i], k[i])
			}
			g.sub(k, k, C("MagicBias")) // exponent - 1023 as float64
			g.and(m, u, C("Mant"))
			g.or(m, m, C("One"))
			big := g.cmp(cmpGT, m, C("Sqrt2"))
			h, one := g.vecs(), g.vecs()
			g.mul(h, m, C("Half"))
			g.and(h, h, V(big.y))
			g.sub(m, m, h)
			g.and(one, V(big.y), C("One"))
			g.add(k, k, one)
		}
		f, t, c := g.vecs(), g.vecs(), g.vecs()
		g.sub(f, m, C("One"))
		g.add(t, f, C("Two"))
		g.div(t, f, t)
		g.sub(c, u, C("One"))
		g.sub(c, xv, c)
		g.div(c, c, u)
		g.fma231(c, k, C("Ln2Lo"))
		w, q := g.vecs(), g.vecs()
		g.mul(w, t, t)
		g.poly(q, w, "Log1pQ", 0, 6)
		g.fnma213(q, w, f)
		g.fnma231(c, t, q)
		r := g.vecs()
		g.add(r, f, c)
		g.fma231(r, k, C("Ln2Hi"))
		a := g.vecs()
		g.and(a, xv, C("Abs"))
		g.blend(r, g.cmp(cmpLT, a, C("Tiny")), xv, r)
		g.blend(r, g.cmp(cmpEQ, xv, C("Inf")), C("Inf"), r)
		g.blend(r, g.cmp(cmpEQ, xv, C("MinusOne")), C("NegInf"), r)
		g.blend(r, g.cmp(cmpLT, xv, C("MinusOne")), C("NaN"), r)
		return r
	})
}

// expNegAbs sets e = e^{-|z|} (z kept).
func (g *gen) expNegAbs(z V) V {
	g.Comment("e = e^{-|z|}, the argument clamped to ≥ -1000")
	e := g.vecs()
	g.or(e, z, C("Sign")) // -|z|
	g.clamp(e, "ExpMin", "")
	g.exp(e)
	return e
}

func (g *gen) genLogSigmoid() {
	g.elementwise("logSigmoid", "for i := range x { dst[i] = lnσ(x[i]) } (see LogSigmoid)", []C{"ExpMin", "One"}, func(z V) V {
		y := g.vecs()
		g.lnsig(z, g.expNegAbs(z), y, nil)
		return y
	})
}

// genSigmoid: e := e^{-|x|}; dst = (x < 0 ? e : 1)/(1+e) (one division).
func (g *gen) genSigmoid() {
	g.elementwise("sigmoid", "for i := range x { dst[i] = σ(x[i]) } (see Sigmoid)", []C{"ExpMin", "One"}, func(z V) V {
		e := g.expNegAbs(z)
		u, a := g.vecs(), g.vecs()
		g.add(u, e, C("One"))
		g.blend(a, g.signMask(z), e, C("One"))
		g.div(a, a, u)
		return a
	})
}

// genSumExp: Σ e^{x[i]-shift} (x[i]-shift ≤ 0 is expected; clamped anyway).
func (g *gen) genSumExp(affine bool) {
	if affine {
		g.fn("sumExpAffine", "func(b, w []float64, m, shift float64) float64",
			"Returns Σ_i e^{b[i] + w[i]*m - shift} (b[i] + w[i]*m by one FMA); len(w) ≥ len(b).")
	} else {
		g.fn("sumExp", "func(x []float64, shift float64) float64",
			"Returns Σ_i e^{x[i] - shift}.")
	}
	var ptrs []reg.GPVirtual
	var n reg.GPVirtual
	if affine {
		ptrs, n = g.sliceArgs("b", "w")
	} else {
		ptrs, n = g.sliceArgs("x")
	}
	shift, m := g.vec(), g.vec()
	g.VBROADCASTSD(g.paramAddr("shift"), shift)
	if affine {
		g.VBROADCASTSD(g.paramAddr("m"), m)
	}
	if g.avx512 {
		g.keep("ExpMin", "ExpMax")
	}
	u := g.tuning().unary
	g.u = u
	acc := g.vecs()
	for i := range acc {
		g.VXORPD(acc[i], acc[i], acc[i])
	}
	g.loop("sumexp", n, u, ptrs, func() {
		v := g.vecs()
		g.mov(v, Row{base: ptrs[0]})
		if affine {
			g.fma231(v, m, Row{base: ptrs[1]})
		}
		g.sub(v, v, shift)
		g.clamp(v, "ExpMin", "ExpMax")
		g.exp(v)
		if g.tail {
			g.addTail(acc[:1], v)
		} else {
			g.add(acc[:len(v)], acc[:len(v)], v)
		}
	})
	g.Store(g.hsum(acc), g.ReturnIndex(0))
	g.end()
}

// genMaxAffine: the shift of LogSumExpAffine,
//
//	mx := -Inf
//	for i := range b {
//		if t := b[i] + w[i]*m; t > mx { mx = t }   // one FMA; NaNs skipped
//	}
//	return mx
func (g *gen) genMaxAffine() {
	g.fn("maxAffine", "func(b, w []float64, m float64) float64",
		"Returns the largest b[i] + w[i]*m (one FMA each), skipping NaNs; -Inf for an empty b; len(w) ≥ len(b).")
	ptrs, n := g.sliceArgs("b", "w")
	m := g.vec()
	g.VBROADCASTSD(g.paramAddr("m"), m)
	u := g.tuning().streaming
	g.u = u
	acc := g.vecs()
	g.mov(acc, C("NegInf"))
	g.loop("maxaff", n, u, ptrs, func() {
		v := g.vecs()
		g.mov(v, Row{base: ptrs[0]})
		g.fma231(v, m, Row{base: ptrs[1]})
		if g.tail {
			g.maxTail(acc[:len(v)], v)
		} else {
			g.max(acc[:len(v)], v, acc[:len(v)]) // acc when either is NaN
		}
	})
	g.Store(g.hmax(acc), g.ReturnIndex(0))
	g.end()
}

func (g *gen) genAxpy() {
	g.fn("axpy", "func(alpha float64, x, y []float64)",
		"for i := range x { y[i] += alpha*x[i] } (one FMA each); len(y) ≥ len(x).")
	p, n := g.sliceArgs("x", "y")
	x, y := p[0], p[1]
	alpha := g.vec()
	g.VBROADCASTSD(g.paramAddr("alpha"), alpha)
	g.loop("axpy", n, g.tuning().streaming, p, func() {
		v := g.vecs()
		g.mov(v, Row{base: y})
		g.fma231(v, alpha, Row{base: x})
		g.store(Row{base: y}, v)
	})
	g.end()
}

func (g *gen) genDot() {
	g.fn("dot", "func(x, y []float64) float64",
		"Returns Σ_i x[i]*y[i], accumulated in one FMA chain per lane and vector of a block; len(y) ≥ len(x).")
	p, n := g.sliceArgs("x", "y")
	x, y := p[0], p[1]
	u := g.tuning().streaming
	g.u = u
	acc := g.vecs()
	for i := range acc {
		g.VXORPD(acc[i], acc[i], acc[i])
	}
	g.loop("dot", n, u, p, func() {
		v := g.vecs()
		g.mov(v, Row{base: x})
		g.fma231(acc[:len(v)], v, Row{base: y}) // masked loads give 0 in the tail
	})
	g.Store(g.hsum(acc), g.ReturnIndex(0))
	g.end()
}

// genLayer: one ChainForward layer,
//
//	for l := range in {
//		pre := b[l] + w[l]*in[l]          // one FMA
//		e := e^{-|pre|}
//		y[l], s[l] = lnσ(pre), σ(-pre)    // see lnsig
//	}
//
// either in one pass or (layerTwo) in two: pre and e stored in y and s,
// then read back; each pass has a shorter dependency chain per vector.
func (g *gen) genLayer() (flopsPerVector int) {
	g.fn("lnsigLayer", "func(in, w, b, y, s []float64)",
		"One ChainForward layer over len(in) elements: y[l], s[l] = lnσ(pre), σ(-pre) with pre = b[l] + w[l]*in[l] (one FMA); the other slices are at least as long as in.")
	p, n := g.sliceArgs("in", "w", "b", "y", "s")
	in, w, b, y, s := p[0], p[1], p[2], p[3], p[4]
	if g.avx512 {
		g.keep("ExpMin", "One")
	}
	tu := g.tuning()
	flops := 0
	pre := func() V {
		g.Comment("pre = b + w·in (one FMA)")
		z := g.vecs()
		g.mov(z, Row{base: b})
		g.fma231(z, Row{base: w}, Row{base: in})
		return z
	}
	if !tu.layerTwo {
		g.loop("layer", n, tu.layer, p, func() {
			if g.u == 1 && !g.tail {
				g.flops = &flops
			}
			z := pre()
			e := g.expNegAbs(z)
			yv, sv := g.vecs(), g.vecs()
			g.lnsig(z, e, yv, sv)
			g.store(Row{base: y}, yv)
			g.store(Row{base: s}, sv)
			g.flops = nil
		})
		g.end()
		return flops
	}
	g.loop("layerexp", n, tu.layer, p, func() {
		if g.u == 1 && !g.tail {
			g.flops = &flops
		}
		z := pre()
		g.store(Row{base: y}, z)
		e := g.expNegAbs(z)
		g.store(Row{base: s}, e)
		g.flops = nil
	})
	// pass 2 from the start of the rows again
	g.Load(g.Param("y").Base(), y)
	g.Load(g.Param("s").Base(), s)
	g.loop("layerlog", n, tu.layer, []reg.GPVirtual{y, s}, func() {
		if g.u == 1 && !g.tail {
			g.flops = &flops
		}
		z, e := g.vecs(), g.vecs()
		g.mov(z, Row{base: y})
		g.mov(e, Row{base: s})
		yv, sv := g.vecs(), g.vecs()
		g.lnsig(z, e, yv, sv)
		g.store(Row{base: y}, yv)
		g.store(Row{base: s}, sv)
		g.flops = nil
	})
	g.end()
	return flops
}

// genBackward: ChainBackward over the chains of rows of len(f) elements
// (act holds the k+1 rows y_j, then the k+1 rows σ_j = σ(-pre_j)):
//
//	for l := range f {
//		d := g*y_k[l]; gwA_{k+1}[l] += cA*d; gwC_{k+1}[l] += cC*d
//		delta := g*w_{k+1}[l]
//		for j := k; j >= 0; j-- {
//			dp := delta*σ_j[l]; in := y_{j-1}[l] (f[l] for j = 0)
//			gbA_j[l] += cA*dp; gwA_j[l] += (cA*dp)*in     // and the same into gbC, gwC
//			delta = dp*w_j[l]
//		}
//		df[l] += delta
//	}
//
// The C accumulators are skipped when gwC is nil, df when df is nil: four
// copies of the loop, one per case.
func (g *gen) genBackward() {
	g.fn("chainBwd", "func(k int, f, w, act []float64, grad, cA, cC float64, gwA, gbA, gwC, gbC, df []float64)",
		"ChainBackward for len(f) chains (see there); gwC, gbC and df may be nil.")
	ptrs, n := g.sliceArgs("f", "w", "act", "gwA", "gbA")
	f, w, act, gwA, gbA := ptrs[0], ptrs[1], ptrs[2], ptrs[3], ptrs[4]
	gwC := g.Load(g.Param("gwC").Base(), g.GP64()).(reg.GPVirtual)
	df := g.Load(g.Param("df").Base(), g.GP64()).(reg.GPVirtual)
	stride := g.GP64()
	g.MOVQ(n, stride)
	g.SHLQ(operand.U8(3), stride) // row stride in bytes
	kp1 := g.Load(g.Param("k"), g.GP64()).(reg.GPVirtual)
	g.INCQ(kp1)
	g.IMULQ(stride, kp1) // (k+1)·stride
	sig := g.GP64()      // σ rows: act + (k+1)·stride
	g.LEAQ(operand.Mem{Base: act, Index: kp1, Scale: 1}, sig)
	g.SUBQ(stride, act) // y_{j-1} = act + j·stride
	grad, cA, cC := g.vec(), g.vec(), g.vec()
	g.VBROADCASTSD(g.paramAddr("grad"), grad)
	g.VBROADCASTSD(g.paramAddr("cA"), cA)
	g.VBROADCASTSD(g.paramAddr("cC"), cC)

	u := g.tuning().backward
	for variant := 0; variant < 4; variant++ {
		withC, withDf := variant&1 != 0, variant&2 != 0
		name := fmt.Sprintf("bwd%d", variant)
		// dispatch: this copy runs if (gwC != nil) == withC and (df != nil) == withDf
		next := fmt.Sprintf("bwd%d_skip", variant)
		g.TESTQ(gwC, gwC)
		if withC {
			g.JZ(operand.LabelRef(next))
		} else {
			g.JNZ(operand.LabelRef(next))
		}
		g.TESTQ(df, df)
		if withDf {
			g.JZ(operand.LabelRef(next))
		} else {
			g.JNZ(operand.LabelRef(next))
		}
		rows := []reg.GPVirtual{f, w, act, sig, gwA, gbA}
		var gbC reg.GPVirtual
		if withC {
			gbC = g.Load(g.Param("gbC").Base(), g.GP64()).(reg.GPVirtual)
			rows = append(rows, gwC, gbC)
		}
		if withDf {
			rows = append(rows, df)
		}
		g.loop(name, n, u, rows, func() {
			row := g.GP64() // j·stride
			g.MOVQ(kp1, row)
			at := func(base reg.GPVirtual) Row { return Row{base: base, index: row} }
			g.Comment("output layer: d = g·y_k; gwA_{k+1} += cA·d (and gwC); delta = g·w_{k+1}")
			d := g.vecs()
			g.mul(d, grad, at(act))
			acc := g.vecs()
			g.mov(acc, at(gwA))
			g.fma231(acc, d, cA)
			g.store(at(gwA), acc)
			if withC {
				g.mov(acc, at(gwC))
				g.fma231(acc, d, cC)
				g.store(at(gwC), acc)
			}
			delta := g.vecs()
			g.mul(delta, grad, at(w))
			// layers k..0: the loop runs with row = j·stride for j = k..1, then j = 0 follows
			layer := func(in Row) {
				g.Comment("layer j: dp = delta·σ_j; gbA_j += cA·dp; gwA_j += cA·dp·in (and C); delta = dp·w_j")
				dp, a := g.vecs(), g.vecs()
				g.mul(dp, delta, at(sig))
				inv := g.vecs()
				g.mov(inv, in)
				g.mul(a, dp, cA)
				g.mov(acc, at(gbA))
				g.add(acc, acc, a)
				g.store(at(gbA), acc)
				g.mov(acc, at(gwA))
				g.fma231(acc, a, inv)
				g.store(at(gwA), acc)
				if withC {
					g.mul(a, dp, cC)
					g.mov(acc, at(gbC))
					g.add(acc, acc, a)
					g.store(at(gbC), acc)
					g.mov(acc, at(gwC))
					g.fma231(acc, a, inv)
					g.store(at(gwC), acc)
				}
				g.mul(delta, dp, at(w))
			}
			top, last := g.label+"_layer", g.label+"_first"
			g.SUBQ(stride, row)
			g.JZ(operand.LabelRef(last))
			g.Label(top)
			layer(at(act))
			g.SUBQ(stride, row)
			g.JNZ(operand.LabelRef(top))
			g.Label(last)
			layer(Row{base: f})
			if withDf {
				g.mov(acc, Row{base: df})
				g.add(acc, acc, delta)
				g.store(Row{base: df}, acc)
			}
		})
		g.JMP(operand.LabelRef("bwd_done"))
		g.Label(next)
	}
	g.Label("bwd_done")
	g.end()
}

// genFMAPeak: iters iterations of 12 independent FMA chains (12 vectors,
// two flops per lane each).
func (g *gen) genFMAPeak() {
	g.fn("fmaPeak", "func(iters int)",
		fmt.Sprintf("Runs iters iterations of 12 independent %d-lane VFMADD231PD chains: %d flops per iteration.", g.lanes, 24*g.lanes))
	cnt := g.Load(g.Param("iters"), g.GP64()).(reg.GPVirtual)
	g.u = 12
	acc := g.vecs()
	for i := range acc {
		g.VXORPD(acc[i], acc[i], acc[i])
	}
	a, b := g.vec(), g.vec()
	g.broadcast("One", a)
	g.broadcast("Half", b)
	g.TESTQ(cnt, cnt)
	g.JZ(operand.LabelRef("peak_done"))
	g.Label("peak_loop")
	for i := range acc {
		g.VFMADD231PD(a, b, acc[i])
	}
	g.DECQ(cnt)
	g.JNZ(operand.LabelRef("peak_loop"))
	g.Label("peak_done")
	g.end()
}
