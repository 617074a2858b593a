//go:build amd64 && !noasm

// AVX2+FMA kernels. The algorithms and their error bounds are documented in
// kernels_amd64.go; the Go twins are in kernels_generic.go. Every loop here
// handles a multiple of 4 float64 (one YMM); the Go wrappers do the tails.
// Go operand order is reversed from Intel's: VSUBPD b, a, d means d = a - b,
// VFMADD231PD m, a, d means d += a*m, VFMADD213PD m, a, d means d = a*d + m,
// VDIVPD b, a, d means d = a / b, VBLENDVPD mask, x, y, d means
// d = sign(mask) ? x : y, VMAXPD x, a, d returns x when either is NaN.

#include "textflag.h"

// Constant table ·kc (kernels_amd64.go): entry i at offset 32*i, 4 copies.
#define ONE ·kc+0(SB)
#define TWO ·kc+32(SB)
#define ZERO ·kc+64(SB)
#define ABSM ·kc+96(SB)
#define SIGNM ·kc+128(SB)
#define EXPMIN ·kc+160(SB)
#define EXPMAX ·kc+192(SB)
#define LOG2E ·kc+224(SB)
#define SHIFT ·kc+256(SB)
#define LN2HI ·kc+288(SB)
#define LN2LO ·kc+320(SB)
#define BIAS ·kc+352(SB)
#define SQRT2M1 ·kc+384(SB)
#define SQRT2 ·kc+416(SB)
#define HALF ·kc+448(SB)
#define TINY ·kc+480(SB)
#define INF ·kc+512(SB)
#define NAN ·kc+544(SB)
#define MINUSONE ·kc+576(SB)
#define MANT ·kc+608(SB)
#define MAGIC ·kc+640(SB)
#define MAGICB ·kc+672(SB)
#define NEGINF ·kc+704(SB)
#define E0 ·kc+736(SB)
#define E1 ·kc+768(SB)
#define E2 ·kc+800(SB)
#define E3 ·kc+832(SB)
#define E4 ·kc+864(SB)
#define E5 ·kc+896(SB)
#define E6 ·kc+928(SB)
#define E7 ·kc+960(SB)
#define E8 ·kc+992(SB)
#define E9 ·kc+1024(SB)
#define E10 ·kc+1056(SB)
#define E11 ·kc+1088(SB)
#define L0 ·kc+1120(SB)
#define L1 ·kc+1152(SB)
#define L2 ·kc+1184(SB)
#define L3 ·kc+1216(SB)
#define L4 ·kc+1248(SB)
#define L5 ·kc+1280(SB)
#define L6 ·kc+1312(SB)
#define L7 ·kc+1344(SB)
#define L8 ·kc+1376(SB)
#define L9 ·kc+1408(SB)
#define NEGHALF ·kc+1440(SB)

// CLAMP(X, T): X = min(1000, max(-1000, X)); NaN stays NaN. Clobbers T.
#define CLAMP(X, T) \
	VMOVUPD EXPMIN, T; \
	VMAXPD  X, T, X; \
	VMOVUPD EXPMAX, T; \
	VMINPD  X, T, X

// CLAMPLO(X, T): X = max(-1000, X); NaN stays NaN. Clobbers T.
#define CLAMPLO(X, T) \
	VMOVUPD EXPMIN, T; \
	VMAXPD  X, T, X

// EXPCORE(X, N, T, U, R2, R4, Q): X = exp(X) for X in [-1000, 1000] or NaN.
// Clobbers N, T, U, R2, R4, Q. The polynomial is evaluated as
// 1 + (r + r²·P(r)), so that its rounding errors are those of the small
// part, with P in Estrin form for a short dependency chain (the loops are
// otherwise latency-bound).
//
//	N = x*log2e + 1.5·2^52         // bits of N hold round(x*log2e) = n
//	T = N - 1.5·2^52               // n as float64
//	X = x - n*ln2hi - n*ln2lo      // r, |r| ≤ ln2/2 (the first FMA is exact)
//	U = Σ_{i=2..11} c_i r^(i-2)       // c_i ≈ 1/i!, see expPolyCoeffs
//	  = [(c2+c3r) + (c4+c5r)r²] + r⁴{[(c6+c7r) + (c8+c9r)r²] + r⁴(c10+c11r)}
//	U = 1 + (r + r²·U)
//	T = N>>1 (+1023) <<52          // 2^⌊n/2⌋ (the shifter's low 12 bits are 0)
//	N = N - N>>1 (+1023) <<52      // 2^⌈n/2⌉
//	X = U * T * N
#define EXPCORE(X, N, T, U, R2, R4, Q) \
	VMOVUPD      SHIFT, N; \
	VFMADD231PD  LOG2E, X, N; \
	VSUBPD       SHIFT, N, T; \
	VFNMADD231PD LN2HI, T, X; \
	VFNMADD231PD LN2LO, T, X; \
	VMULPD       X, X, R2; \
	VMULPD       R2, R2, R4; \
	VMOVUPD      E3, U; \
	VFMADD213PD  E2, X, U; \
	VMOVUPD      E5, T; \
	VFMADD213PD  E4, X, T; \
	VFMADD231PD  T, R2, U; \
	VMOVUPD      E7, T; \
	VFMADD213PD  E6, X, T; \
	VMOVUPD      E9, Q; \
	VFMADD213PD  E8, X, Q; \
	VFMADD231PD  Q, R2, T; \
	VMOVUPD      E11, Q; \
	VFMADD213PD  E10, X, Q; \
	VFMADD231PD  Q, R4, T; \
	VFMADD231PD  T, R4, U; \
	VFMADD213PD  X, R2, U; \
	VADDPD       ONE, U, U; \
	VPSRLQ       $1, N, T; \
	VPSUBQ       T, N, N; \
	VPADDQ       BIAS, T, T; \
	VPADDQ       BIAS, N, N; \
	VPSLLQ       $52, T, T; \
	VPSLLQ       $52, N, N; \
	VMULPD       T, U, U; \
	VMULPD       N, U, X

// EXPCORE2: EXPCORE on two vectors, instruction by instruction
// interleaved so that the out-of-order scheduler always holds ready work
// from two independent dependency chains.
#define EXPCORE2(Xa, Na, Ta, Ua, R2a, R4a, Qa, Xb, Nb, Tb, Ub, R2b, R4b, Qb) \
	VMOVUPD      SHIFT, Na; \
	VMOVUPD      SHIFT, Nb; \
	VFMADD231PD  LOG2E, Xa, Na; \
	VFMADD231PD  LOG2E, Xb, Nb; \
	VSUBPD       SHIFT, Na, Ta; \
	VSUBPD       SHIFT, Nb, Tb; \
	VFNMADD231PD LN2HI, Ta, Xa; \
	VFNMADD231PD LN2HI, Tb, Xb; \
	VFNMADD231PD LN2LO, Ta, Xa; \
	VFNMADD231PD LN2LO, Tb, Xb; \
	VMULPD       Xa, Xa, R2a; \
	VMULPD       Xb, Xb, R2b; \
	VMULPD       R2a, R2a, R4a; \
	VMULPD       R2b, R2b, R4b; \
	VMOVUPD      E3, Ua; \
	VMOVUPD      E3, Ub; \
	VFMADD213PD  E2, Xa, Ua; \
	VFMADD213PD  E2, Xb, Ub; \
	VMOVUPD      E5, Ta; \
	VMOVUPD      E5, Tb; \
	VFMADD213PD  E4, Xa, Ta; \
	VFMADD213PD  E4, Xb, Tb; \
	VFMADD231PD  Ta, R2a, Ua; \
	VFMADD231PD  Tb, R2b, Ub; \
	VMOVUPD      E7, Ta; \
	VMOVUPD      E7, Tb; \
	VFMADD213PD  E6, Xa, Ta; \
	VFMADD213PD  E6, Xb, Tb; \
	VMOVUPD      E9, Qa; \
	VMOVUPD      E9, Qb; \
	VFMADD213PD  E8, Xa, Qa; \
	VFMADD213PD  E8, Xb, Qb; \
	VFMADD231PD  Qa, R2a, Ta; \
	VFMADD231PD  Qb, R2b, Tb; \
	VMOVUPD      E11, Qa; \
	VMOVUPD      E11, Qb; \
	VFMADD213PD  E10, Xa, Qa; \
	VFMADD213PD  E10, Xb, Qb; \
	VFMADD231PD  Qa, R4a, Ta; \
	VFMADD231PD  Qb, R4b, Tb; \
	VFMADD231PD  Ta, R4a, Ua; \
	VFMADD231PD  Tb, R4b, Ub; \
	VFMADD213PD  Xa, R2a, Ua; \
	VFMADD213PD  Xb, R2b, Ub; \
	VADDPD       ONE, Ua, Ua; \
	VADDPD       ONE, Ub, Ub; \
	VPSRLQ       $1, Na, Ta; \
	VPSRLQ       $1, Nb, Tb; \
	VPSUBQ       Ta, Na, Na; \
	VPSUBQ       Tb, Nb, Nb; \
	VPADDQ       BIAS, Ta, Ta; \
	VPADDQ       BIAS, Tb, Tb; \
	VPADDQ       BIAS, Na, Na; \
	VPADDQ       BIAS, Nb, Nb; \
	VPSLLQ       $52, Ta, Ta; \
	VPSLLQ       $52, Tb, Tb; \
	VPSLLQ       $52, Na, Na; \
	VPSLLQ       $52, Nb, Nb; \
	VMULPD       Ta, Ua, Ua; \
	VMULPD       Tb, Ub, Ub; \
	VMULPD       Na, Ua, Xa; \
	VMULPD       Nb, Ub, Xb

// ATANHQE(S, P, S2, T1, T2): P = Σ_{i=1..9} 2 s^(i-1)/(2i+1) (so that
// 2atanh t = 2t + t*s*P for s = t²) in Estrin form:
// [(L1+L2s) + (L3+L4s)s²] + [(L5+L6s) + (L7+L8s)s² + L9s⁴]s⁴. Clobbers S2, T1, T2.
#define ATANHQE(S, P, S2, T1, T2) \
	VMULPD      S, S, S2; \
	VMOVUPD     L2, P; \
	VFMADD213PD L1, S, P; \
	VMOVUPD     L4, T1; \
	VFMADD213PD L3, S, T1; \
	VFMADD231PD T1, S2, P; \
	VMOVUPD     L6, T1; \
	VFMADD213PD L5, S, T1; \
	VMOVUPD     L8, T2; \
	VFMADD213PD L7, S, T2; \
	VFMADD231PD T2, S2, T1; \
	VMULPD      S2, S2, S2; \
	VFMADD231PD L9, S2, T1; \
	VFMADD231PD T1, S2, P

// ATANHQ(S, P): P = Σ_{i=1..9} 2 s^(i-1)/(2i+1) (so 2atanh t = 2t + t*s*P).
#define ATANHQ(S, P) \
	VMOVUPD     L9, P; \
	VFMADD213PD L8, S, P; \
	VFMADD213PD L7, S, P; \
	VFMADD213PD L6, S, P; \
	VFMADD213PD L5, S, P; \
	VFMADD213PD L4, S, P; \
	VFMADD213PD L3, S, P; \
	VFMADD213PD L2, S, P; \
	VFMADD213PD L1, S, P

// LNSIG(Z, E, Y, S, A, B, C, D, F, G, H, ONEV): given Z = z and
// E = e^{-|z|} in [0,1], Y = lnσ(z) = min(z,0) - log1p(e) and S = σ(-z).
// ONEV holds 1.0. Clobbers A, B, C, D, F, G, H; E is kept.
//
// log1p(e) = off + log1p(f) with f = e (e ≤ √2-1, off = 0) or
// f = (e-1)/2 (off = ln2, since 1+e = 2(1+f)); either way |f/(2+f)| ≤ 0.1716.
// log1p(f) = f - t*(f - s*Q(s)), t = f/(2+f) = a/d, s = t², which keeps the
// rounding errors of t in the small correction term only.
//
//	A = e > √2-1                        // mask
//	B = A&1;  C = A&ln2;  H = 1 - A&0.5 // offsets and the halving factor
//	A = e - B                           // a: e or e-1
//	H = a*H                             // f (exact)
//	Y = e + 2 + B                       // d = 2(2+f)/... : e+2 or e+3
//	B = 1 + e                           // u
//	S = 1/(u*d)                         // the only division
//	A = a*u*S                           // t = a/d
//	S = S*d                             // 1/u = 1/(1+e)
//	Y = f - t*(f - s*Q(s))              // log1p(e) - C
//	S = z<0 ? S : e*S                   // σ(-z)
//	Y = (min(z,0) - C) - Y              // (as LNSIG2, to the same bits)
#define LNSIG(Z, E, Y, S, A, B, C, D, F, G, H, ONEV) \
	VCMPPD       $0x1E, SQRT2M1, E, A; \
	VANDPD       ONE, A, B; \
	VANDPD       LN2HI, A, C; \
	VANDPD       HALF, A, A; \
	VSUBPD       A, ONEV, H; \
	VSUBPD       B, E, A; \
	VMULPD       H, A, H; \
	VADDPD       TWO, E, Y; \
	VADDPD       B, Y, Y; \
	VADDPD       ONEV, E, B; \
	VMULPD       Y, B, S; \
	VDIVPD       S, ONEV, S; \
	VMULPD       B, A, A; \
	VMULPD       S, A, A; \
	VMULPD       Y, S, S; \
	VMULPD       A, A, B; \
	ATANHQE(B, Y, D, F, G); \
	VFNMADD213PD H, B, Y; \
	VFNMADD213PD H, A, Y; \
	VMULPD       E, S, A; \
	VBLENDVPD    Z, S, A, S; \
	VMINPD       ZERO, Z, B; \
	VSUBPD       C, B, B; \
	VSUBPD       Y, B, Y

// LNSIG2: pass 2 of lnsigLayerAsm on the two vectors at (R9)(AX*1) and
// 32(R9)(AX*1) (pre, replaced by lnσ(pre)) and (R10)(AX*1), 32(R10)(AX*1)
// (e = exp(-|pre|), replaced by σ(-pre)); Y15 holds 1.0. The arithmetic of
// LNSIG, rearranged to need seven registers per vector (pre and e are
// re-read from memory, and min(pre,0) - off is parked in y while the
// polynomial runs) so that two vectors fit in the sixteen YMM registers and
// their instructions can be interleaved one by one: a single vector per
// iteration leaves the FP pipes idle behind its ~60-cycle dependency chain.
//
//	y = (min(pre,0) - off) - (f - t*(f - s*Q(s)))   (see LNSIG for off, f, t, s, Q)
//	s = pre<0 ? 1/u : e/u,  u = 1+e
#define LNSIG2 \
	VMOVUPD (R10)(AX*1), Y6; \
	VMOVUPD 32(R10)(AX*1), Y13; \
	VCMPPD $0x1E, SQRT2M1, Y6, Y0; \
	VCMPPD $0x1E, SQRT2M1, Y13, Y7; \
	VANDPD ONE, Y0, Y1; \
	VANDPD ONE, Y7, Y8; \
	VANDPD NEGHALF, Y0, Y2; \
	VANDPD NEGHALF, Y7, Y9; \
	VADDPD Y15, Y2, Y2; \
	VADDPD Y15, Y9, Y9; \
	VANDPD LN2HI, Y0, Y0; \
	VANDPD LN2HI, Y7, Y7; \
	VMOVUPD (R9)(AX*1), Y3; \
	VMOVUPD 32(R9)(AX*1), Y10; \
	VMINPD ZERO, Y3, Y5; \
	VMINPD ZERO, Y10, Y12; \
	VSUBPD Y0, Y5, Y5; \
	VSUBPD Y7, Y12, Y12; \
	VMOVUPD Y5, (R9)(AX*1); \
	VMOVUPD Y12, 32(R9)(AX*1); \
	VSUBPD Y1, Y6, Y0; \
	VSUBPD Y8, Y13, Y7; \
	VMULPD Y2, Y0, Y2; \
	VMULPD Y9, Y7, Y9; \
	VADDPD TWO, Y6, Y5; \
	VADDPD TWO, Y13, Y12; \
	VADDPD Y1, Y5, Y5; \
	VADDPD Y8, Y12, Y12; \
	VADDPD Y15, Y6, Y1; \
	VADDPD Y15, Y13, Y8; \
	VMULPD Y5, Y1, Y4; \
	VMULPD Y12, Y8, Y11; \
	VDIVPD Y4, Y15, Y4; \
	VDIVPD Y11, Y15, Y11; \
	VMULPD Y1, Y0, Y0; \
	VMULPD Y8, Y7, Y7; \
	VMULPD Y4, Y0, Y0; \
	VMULPD Y11, Y7, Y7; \
	VMULPD Y5, Y4, Y4; \
	VMULPD Y12, Y11, Y11; \
	VMULPD Y6, Y4, Y5; \
	VMULPD Y13, Y11, Y12; \
	VBLENDVPD Y3, Y4, Y5, Y4; \
	VBLENDVPD Y10, Y11, Y12, Y11; \
	VMOVUPD Y4, (R10)(AX*1); \
	VMOVUPD Y11, 32(R10)(AX*1); \
	VMULPD Y0, Y0, Y1; \
	VMULPD Y7, Y7, Y8; \
	VMULPD Y1, Y1, Y4; \
	VMULPD Y8, Y8, Y11; \
	VMOVUPD L2, Y3; \
	VMOVUPD L2, Y10; \
	VFMADD213PD L1, Y1, Y3; \
	VFMADD213PD L1, Y8, Y10; \
	VMOVUPD L4, Y5; \
	VMOVUPD L4, Y12; \
	VFMADD213PD L3, Y1, Y5; \
	VFMADD213PD L3, Y8, Y12; \
	VFMADD231PD Y5, Y4, Y3; \
	VFMADD231PD Y12, Y11, Y10; \
	VMOVUPD L6, Y5; \
	VMOVUPD L6, Y12; \
	VFMADD213PD L5, Y1, Y5; \
	VFMADD213PD L5, Y8, Y12; \
	VMOVUPD L8, Y6; \
	VMOVUPD L8, Y13; \
	VFMADD213PD L7, Y1, Y6; \
	VFMADD213PD L7, Y8, Y13; \
	VFMADD231PD Y6, Y4, Y5; \
	VFMADD231PD Y13, Y11, Y12; \
	VMULPD Y4, Y4, Y4; \
	VMULPD Y11, Y11, Y11; \
	VFMADD231PD L9, Y4, Y5; \
	VFMADD231PD L9, Y11, Y12; \
	VFMADD231PD Y5, Y4, Y3; \
	VFMADD231PD Y12, Y11, Y10; \
	VFNMADD213PD Y2, Y1, Y3; \
	VFNMADD213PD Y9, Y8, Y10; \
	VFNMADD213PD Y2, Y0, Y3; \
	VFNMADD213PD Y9, Y7, Y10; \
	VMOVUPD (R9)(AX*1), Y4; \
	VMOVUPD 32(R9)(AX*1), Y11; \
	VSUBPD Y3, Y4, Y3; \
	VSUBPD Y10, Y11, Y10; \
	VMOVUPD Y3, (R9)(AX*1); \
	VMOVUPD Y10, 32(R9)(AX*1)

// HSUM(Y, X, XT) leaves the sum of the 4 lanes of Y in the low lane of X
// (X is Y's low half). Clobbers XT.
#define HSUM(Y, X, XT) \
	VEXTRACTF128 $1, Y, XT; \
	VADDPD       XT, X, X; \
	VPERMILPD    $1, X, XT; \
	VADDSD       XT, X, X

// func expAsm(dst, x *float64, n int)
// for i := range n { dst[i] = math.Exp(x[i]) }
TEXT ·expAsm(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	SHLQ $3, CX
	XORQ AX, AX
	TESTQ CX, CX
	JZ   expdone

	MOVQ CX, DX
	ANDQ $-64, DX // bytes in whole 8-element blocks
	JZ   exp4

exploop:
	// two independent vectors per step for instruction-level parallelism
	VMOVUPD (SI)(AX*1), Y0
	VMOVUPD 32(SI)(AX*1), Y4
	CLAMP(Y0, Y1)
	CLAMP(Y4, Y5)
	EXPCORE2(Y0, Y1, Y2, Y3, Y8, Y9, Y10, Y4, Y5, Y6, Y7, Y11, Y12, Y13)
	VMOVUPD Y0, (DI)(AX*1)
	VMOVUPD Y4, 32(DI)(AX*1)
	ADDQ $64, AX
	CMPQ AX, DX
	JB   exploop

exp4:
	CMPQ AX, CX
	JAE  expdone
	VMOVUPD (SI)(AX*1), Y0
	CLAMP(Y0, Y1)
	EXPCORE(Y0, Y1, Y2, Y3, Y9, Y10, Y11)
	VMOVUPD Y0, (DI)(AX*1)

expdone:
	VZEROUPPER
	RET

// func log1pAsm(dst, x *float64, n int)
// for i := range n { dst[i] = math.Log1p(x[i]) }
//
//	U = 1 + x
//	K = exponent(U) - 1023;  M = mantissa(U) in [1,2)
//	if M > √2 { M /= 2; K++ }
//	f = M-1; t = f/(2+f)
//	lo = (x - (U-1))/U + K*ln2lo - t*(f - t²*Q(t²))   // c corrects the rounding of U
//	result = K*ln2hi + (f + lo)
//	special cases by blends (tiny, +Inf, -1, < -1)
TEXT ·log1pAsm(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	SHLQ $3, CX
	XORQ AX, AX
	TESTQ CX, CX
	JZ   log1pdone

log1ploop:
	VMOVUPD (SI)(AX*1), Y0
	VADDPD  ONE, Y0, Y1
	VPSRLQ  $52, Y1, Y2
	VPOR    MAGIC, Y2, Y2
	VSUBPD  MAGICB, Y2, Y2
	VANDPD  MANT, Y1, Y3
	VORPD   ONE, Y3, Y3
	VCMPPD  $0x1E, SQRT2, Y3, Y4
	VMULPD  HALF, Y3, Y5
	VANDPD  Y4, Y5, Y5
	VSUBPD  Y5, Y3, Y3
	VANDPD  ONE, Y4, Y4
	VADDPD  Y4, Y2, Y2
	VSUBPD  ONE, Y3, Y3
	// Y7 = t = f/(2+f); Y5 = c + k*ln2lo
	VADDPD  TWO, Y3, Y5
	VDIVPD  Y5, Y3, Y7
	VSUBPD  ONE, Y1, Y5
	VSUBPD  Y5, Y0, Y5
	VDIVPD  Y1, Y5, Y5
	VFMADD231PD  LN2LO, Y2, Y5
	// log(1+f) = 2atanh(t) = f - t*(f - s*Q(s)), s = t² (since 2t = f - t*f)
	VMULPD  Y7, Y7, Y4
	ATANHQ(Y4, Y6)
	VFNMADD213PD Y3, Y4, Y6
	VFNMADD231PD Y6, Y7, Y5
	// Y6 = k*ln2hi + (f + lo)
	VADDPD       Y5, Y3, Y6
	VFMADD231PD  LN2HI, Y2, Y6
	// |x| < 2^-54 → x (±0, subnormals: log1p(x) rounds to x)
	VANDPD    ABSM, Y0, Y4
	VCMPPD    $0x11, TINY, Y4, Y4
	VBLENDVPD Y4, Y0, Y6, Y6
	// x == +Inf → +Inf
	VCMPPD    $0x00, INF, Y0, Y4
	VBLENDVPD Y4, INF, Y6, Y6
	// x == -1 → -Inf
	VCMPPD    $0x00, MINUSONE, Y0, Y4
	VBLENDVPD Y4, NEGINF, Y6, Y6
	// x < -1 → NaN
	VCMPPD    $0x11, MINUSONE, Y0, Y4
	VBLENDVPD Y4, NAN, Y6, Y6
	VMOVUPD   Y6, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JB   log1ploop

log1pdone:
	VZEROUPPER
	RET

// func logSigmoidAsm(dst, x *float64, n int)
// for i := range n { dst[i] = logSigmoid1(x[i]) }
TEXT ·logSigmoidAsm(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	SHLQ $3, CX
	XORQ AX, AX
	VMOVUPD ONE, Y8
	TESTQ CX, CX
	JZ   lsdone

lsloop:
	// Y0 = z; Y1 = e^{-|z|}
	VMOVUPD (SI)(AX*1), Y0
	VANDPD  ABSM, Y0, Y1
	VXORPD  SIGNM, Y1, Y1
	CLAMPLO(Y1, Y2)
	EXPCORE(Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	LNSIG(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y9, Y10, Y11, Y8)
	VMOVUPD Y2, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JB   lsloop

lsdone:
	VZEROUPPER
	RET

// func sigmoidAsm(dst, x *float64, n int)
// for i := range n { e := exp(-|x|); dst[i] = x >= 0 ? 1/(1+e) : e/(1+e) }
TEXT ·sigmoidAsm(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
	SHLQ $3, CX
	XORQ AX, AX
	VMOVUPD ONE, Y8
	TESTQ CX, CX
	JZ   sigdone

sigloop:
	VMOVUPD (SI)(AX*1), Y0
	VANDPD  ABSM, Y0, Y1
	VXORPD  SIGNM, Y1, Y1
	CLAMPLO(Y1, Y2)
	EXPCORE(Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	// Y2 = 1+e; Y3 = 1/(1+e); Y4 = e/(1+e); pick by the sign of x
	VADDPD    Y8, Y1, Y2
	VDIVPD    Y2, Y8, Y3
	VDIVPD    Y2, Y1, Y4
	VBLENDVPD Y0, Y4, Y3, Y3
	VMOVUPD   Y3, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JB   sigloop

sigdone:
	VZEROUPPER
	RET

// func sumExpAsm(x *float64, n int, shift float64) float64
// s := 0.0; for i := range n { s += exp(x[i] - shift) }; return s
TEXT ·sumExpAsm(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	SHLQ $3, CX
	VBROADCASTSD shift+16(FP), Y7
	VXORPD Y8, Y8, Y8
	XORQ AX, AX
	TESTQ CX, CX
	JZ   sedone

seloop:
	VMOVUPD (SI)(AX*1), Y0
	VSUBPD  Y7, Y0, Y0
	CLAMP(Y0, Y1)
	EXPCORE(Y0, Y1, Y2, Y3, Y9, Y10, Y11)
	VADDPD  Y0, Y8, Y8
	ADDQ $32, AX
	CMPQ AX, CX
	JB   seloop

sedone:
	HSUM(Y8, X8, X1)
	VMOVSD X8, ret+24(FP)
	VZEROUPPER
	RET

// func sumExpAffineAsm(b, w *float64, n int, m, shift float64) float64
// s := 0.0; for i := range n { s += exp(b[i] + w[i]*m - shift) }; return s
TEXT ·sumExpAffineAsm(SB), NOSPLIT, $0-48
	MOVQ b+0(FP), SI
	MOVQ w+8(FP), DI
	MOVQ n+16(FP), CX
	SHLQ $3, CX
	VBROADCASTSD m+24(FP), Y6
	VBROADCASTSD shift+32(FP), Y7
	VXORPD Y8, Y8, Y8
	XORQ AX, AX
	TESTQ CX, CX
	JZ   seadone

sealoop:
	VMOVUPD     (SI)(AX*1), Y0
	VFMADD231PD (DI)(AX*1), Y6, Y0
	VSUBPD      Y7, Y0, Y0
	CLAMP(Y0, Y1)
	EXPCORE(Y0, Y1, Y2, Y3, Y9, Y10, Y11)
	VADDPD      Y0, Y8, Y8
	ADDQ $32, AX
	CMPQ AX, CX
	JB   sealoop

seadone:
	HSUM(Y8, X8, X1)
	VMOVSD X8, ret+40(FP)
	VZEROUPPER
	RET

// func axpyAsm(alpha float64, x, y *float64, n int)
// for i := range n { y[i] += alpha * x[i] }   (one FMA per element)
TEXT ·axpyAsm(SB), NOSPLIT, $0-32
	VBROADCASTSD alpha+0(FP), Y0
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
	SHLQ $3, CX
	XORQ AX, AX
	TESTQ CX, CX
	JZ   axpydone

axpyloop:
	VMOVUPD     (DI)(AX*1), Y1
	VFMADD231PD (SI)(AX*1), Y0, Y1
	VMOVUPD     Y1, (DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, CX
	JB   axpyloop

axpydone:
	VZEROUPPER
	RET

// func dotAsm(x, y *float64, n int) float64
// Σ x[i]*y[i] in four 4-lane partial sums (16 elements per step), then 4.
TEXT ·dotAsm(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	SHLQ $3, CX
	XORQ AX, AX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	MOVQ CX, DX
	ANDQ $-128, DX // bytes in whole 16-element blocks
	JZ   dot4

dot16:
	VMOVUPD     (SI)(AX*1), Y4
	VMOVUPD     32(SI)(AX*1), Y5
	VMOVUPD     64(SI)(AX*1), Y6
	VMOVUPD     96(SI)(AX*1), Y7
	VFMADD231PD (DI)(AX*1), Y4, Y0
	VFMADD231PD 32(DI)(AX*1), Y5, Y1
	VFMADD231PD 64(DI)(AX*1), Y6, Y2
	VFMADD231PD 96(DI)(AX*1), Y7, Y3
	ADDQ $128, AX
	CMPQ AX, DX
	JB   dot16

dot4:
	CMPQ AX, CX
	JAE  dotsum
	VMOVUPD     (SI)(AX*1), Y4
	VFMADD231PD (DI)(AX*1), Y4, Y0
	ADDQ $32, AX
	JMP  dot4

dotsum:
	VADDPD Y1, Y0, Y0
	VADDPD Y3, Y2, Y2
	VADDPD Y2, Y0, Y0
	HSUM(Y0, X0, X1)
	VMOVSD X0, ret+24(FP)
	VZEROUPPER
	RET

// func lnsigLayerAsm(n int, in, w, b, y, s *float64)
// One layer of ChainForward over n elements:
//
//	for l := range n {
//		pre := b[l] + w[l]*in[l]       // one FMA
//		y[l], s[l] = lnσ(pre), σ(-pre)
//	}
//
// The layers of a chain are run one after the other over the whole row
// (layer-major), and each layer in two passes: (1) pre and e = exp(-|pre|),
// stored in y and s; (2) lnσ and σ from them. Each pass has independent
// iterations with a dependency chain short enough for the out-of-order
// window to hold several of them; the single fused loop is bounded by its
// ~120-cycle chain per vector instead of by the FP pipes.
TEXT ·lnsigLayerAsm(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	ANDQ $-4, CX
	SHLQ $3, CX   // bytes in whole vectors; the last n%4 elements are the masked tail
	MOVQ in+8(FP), SI
	MOVQ w+16(FP), DI
	MOVQ b+24(FP), R8
	MOVQ y+32(FP), R9
	MOVQ s+40(FP), R10
	VMOVUPD ONE, Y15
	XORQ  AX, AX
	TESTQ CX, CX
	JZ    layertail

	MOVQ CX, DX
	ANDQ $-64, DX // bytes in whole 8-element blocks
	JZ   layerexp4

layerexp:
	// pass 1, two vectors per step: y = pre = b + w*in; s = e = exp(max(-1000, -|pre|))
	VMOVUPD     (DI)(AX*1), Y2
	VMOVUPD     32(DI)(AX*1), Y9
	VMOVUPD     (R8)(AX*1), Y0
	VMOVUPD     32(R8)(AX*1), Y8
	VFMADD231PD (SI)(AX*1), Y2, Y0
	VFMADD231PD 32(SI)(AX*1), Y9, Y8
	VMOVUPD     Y0, (R9)(AX*1)
	VMOVUPD     Y8, 32(R9)(AX*1)
	VANDPD      ABSM, Y0, Y1
	VANDPD      ABSM, Y8, Y8
	VXORPD      SIGNM, Y1, Y1
	VXORPD      SIGNM, Y8, Y8
	CLAMPLO(Y1, Y2)
	CLAMPLO(Y8, Y9)
	EXPCORE2(Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y11, Y12, Y13, Y14)
	VMOVUPD Y1, (R10)(AX*1)
	VMOVUPD Y8, 32(R10)(AX*1)
	ADDQ $64, AX
	CMPQ AX, DX
	JB   layerexp

layerexp4:
	CMPQ AX, CX
	JAE  layerexp4done
	VMOVUPD     (DI)(AX*1), Y2
	VMOVUPD     (R8)(AX*1), Y0
	VFMADD231PD (SI)(AX*1), Y2, Y0
	VMOVUPD     Y0, (R9)(AX*1)
	VANDPD      ABSM, Y0, Y1
	VXORPD      SIGNM, Y1, Y1
	CLAMPLO(Y1, Y2)
	EXPCORE(Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	VMOVUPD Y1, (R10)(AX*1)

layerexp4done:
	XORQ AX, AX

	CMPQ DX, $0
	JE   layerlog4

layerlog:
	// pass 2, two vectors per step: y, s = lnσ(pre), σ(-pre) from pre (in y) and e (in s)
	LNSIG2
	ADDQ $64, AX
	CMPQ AX, DX
	JB   layerlog

layerlog4:
	CMPQ AX, CX
	JAE  layertail
	VMOVUPD (R9)(AX*1), Y0
	VMOVUPD (R10)(AX*1), Y1
	LNSIG(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y15)
	VMOVUPD Y2, (R9)(AX*1)
	VMOVUPD Y3, (R10)(AX*1)
	ADDQ $32, AX

layertail:
	// the last n%4 elements in one vector: masked loads (the lanes past n
	// read as 0 and cannot fault), both passes in registers, masked stores
	MOVQ n+0(FP), R11
	ANDQ $3, R11
	JZ   layerdone
	SHLQ $5, R11
	LEAQ ·tailMask(SB), R12
	VMOVUPD     (R12)(R11*1), Y14
	VMASKMOVPD  (SI)(AX*1), Y14, Y2
	VMASKMOVPD  (DI)(AX*1), Y14, Y3
	VMASKMOVPD  (R8)(AX*1), Y14, Y0
	VFMADD231PD Y3, Y2, Y0
	VANDPD      ABSM, Y0, Y1
	VXORPD      SIGNM, Y1, Y1
	CLAMPLO(Y1, Y2)
	EXPCORE(Y1, Y2, Y3, Y4, Y5, Y6, Y7)
	LNSIG(Y0, Y1, Y2, Y3, Y4, Y5, Y6, Y7, Y8, Y9, Y10, Y15)
	VMASKMOVPD  Y2, Y14, (R9)(AX*1)
	VMASKMOVPD  Y3, Y14, (R10)(AX*1)

layerdone:
	VZEROUPPER
	RET

// Chain backward registers. GPRs: SI f, DI w, R8 act - stride (so that
// y_{j-1} is at R8 + j*stride), R9 σ rows (act + (k+1)*stride), R10 gwA,
// R11 gbA, R12 gwC (0: none), R13 gbC, DX df (0: none), BX stride bytes,
// CX = j*stride bytes (the row offset), AX elements left. Every row pointer
// advances by 32 bytes per 4 elements.
#define BDELTA Y0
#define BDP Y1
#define BIN Y2
#define BTA Y3
#define BTB Y4
#define BG Y10
#define BCA Y11
#define BCC Y12

// BWDA(INADDR): one layer j (CX = j*stride) into the A accumulators.
//
//	dp := delta*σ_j; in := INADDR
//	gbA_j += cA*dp; gwA_j += (cA*dp)*in
#define BWDA(INADDR) \
	VMULPD      (R9)(CX*1), BDELTA, BDP; \
	VMOVUPD     INADDR, BIN; \
	VMULPD      BCA, BDP, BTA; \
	VADDPD      (R11)(CX*1), BTA, BTB; \
	VMOVUPD     BTB, (R11)(CX*1); \
	VMOVUPD     (R10)(CX*1), BTB; \
	VFMADD231PD BIN, BTA, BTB; \
	VMOVUPD     BTB, (R10)(CX*1)

// BWDC: the same layer into the C accumulators: gbC_j += cC*dp; gwC_j += (cC*dp)*in
#define BWDC \
	VMULPD      BCC, BDP, BTA; \
	VADDPD      (R13)(CX*1), BTA, BTB; \
	VMOVUPD     BTB, (R13)(CX*1); \
	VMOVUPD     (R12)(CX*1), BTB; \
	VFMADD231PD BIN, BTA, BTB; \
	VMOVUPD     BTB, (R12)(CX*1)

// func chainBwdAsm(k, n, stride int, f, w, act *float64, grad, cA, cC float64, gwA, gbA, gwC, gbC, df *float64)
//
//	for l := 0; l < n; l += 4 {
//		d := g*y_k; gwA_{k+1} += cA*d; gwC_{k+1} += cC*d
//		delta := g*w_{k+1}
//		for j := k; j >= 0; j-- { BWDA; BWDC; delta = dp*w_j }   // in = y_{j-1}, or f for j = 0
//		df += delta
//	}
TEXT ·chainBwdAsm(SB), NOSPLIT, $0-112
	MOVQ  n+8(FP), AX
	MOVQ  stride+16(FP), BX
	SHLQ  $3, BX
	MOVQ  f+24(FP), SI
	MOVQ  w+32(FP), DI
	MOVQ  act+40(FP), R8
	MOVQ  k+0(FP), CX
	INCQ  CX
	IMULQ BX, CX
	LEAQ  (R8)(CX*1), R9
	SUBQ  BX, R8
	VBROADCASTSD grad+48(FP), BG
	VBROADCASTSD cA+56(FP), BCA
	VBROADCASTSD cC+64(FP), BCC
	MOVQ  gwA+72(FP), R10
	MOVQ  gbA+80(FP), R11
	MOVQ  gwC+88(FP), R12
	MOVQ  gbC+96(FP), R13
	MOVQ  df+104(FP), DX
	TESTQ AX, AX
	JZ    bwddone

bwdloop:
	// CX = (k+1)*stride: row k+1 of w/gw, row k of y (through R8)
	MOVQ  k+0(FP), CX
	INCQ  CX
	IMULQ BX, CX
	// d = g*y_k; gwA_{k+1} += cA*d
	VMULPD      (R8)(CX*1), BG, BTA
	VMOVUPD     (R10)(CX*1), BTB
	VFMADD231PD BCA, BTA, BTB
	VMOVUPD     BTB, (R10)(CX*1)
	TESTQ R12, R12
	JZ    bwdnoc0
	// gwC_{k+1} += cC*d
	VMOVUPD     (R12)(CX*1), BTB
	VFMADD231PD BCC, BTA, BTB
	VMOVUPD     BTB, (R12)(CX*1)

bwdnoc0:
	// delta = g*w_{k+1}
	VMULPD (DI)(CX*1), BG, BDELTA
	SUBQ   BX, CX
	JZ     bwdlast

bwdlayer:
	// layers j = k..1: in = y_{j-1}
	BWDA((R8)(CX*1))
	TESTQ R12, R12
	JZ    bwdnoc1
	BWDC

bwdnoc1:
	VMULPD (DI)(CX*1), BDP, BDELTA
	SUBQ   BX, CX
	JNZ    bwdlayer

bwdlast:
	// layer 0: in = f
	BWDA((SI))
	TESTQ R12, R12
	JZ    bwdnoc2
	BWDC
	ADDQ  $32, R12
	ADDQ  $32, R13

bwdnoc2:
	VMULPD (DI), BDP, BDELTA
	TESTQ  DX, DX
	JZ     bwdnodf
	// df += delta
	VADDPD  (DX), BDELTA, BTA
	VMOVUPD BTA, (DX)
	ADDQ    $32, DX

bwdnodf:
	ADDQ $32, SI
	ADDQ $32, DI
	ADDQ $32, R8
	ADDQ $32, R9
	ADDQ $32, R10
	ADDQ $32, R11
	SUBQ $4, AX
	JNZ  bwdloop

bwddone:
	VZEROUPPER
	RET

// func fmaPeakAsm(iters int)
// 12 independent accumulator chains of VFMADD231PD on YMM: 96 flops/iteration.
TEXT ·fmaPeakAsm(SB), NOSPLIT, $0-8
	MOVQ   iters+0(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3
	VXORPD Y4, Y4, Y4
	VXORPD Y5, Y5, Y5
	VXORPD Y6, Y6, Y6
	VXORPD Y7, Y7, Y7
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9
	VXORPD Y10, Y10, Y10
	VXORPD Y11, Y11, Y11
	VMOVUPD ONE, Y12
	VMOVUPD HALF, Y13
	TESTQ  CX, CX
	JZ     peakdone

peakloop:
	VFMADD231PD Y12, Y13, Y0
	VFMADD231PD Y12, Y13, Y1
	VFMADD231PD Y12, Y13, Y2
	VFMADD231PD Y12, Y13, Y3
	VFMADD231PD Y12, Y13, Y4
	VFMADD231PD Y12, Y13, Y5
	VFMADD231PD Y12, Y13, Y6
	VFMADD231PD Y12, Y13, Y7
	VFMADD231PD Y12, Y13, Y8
	VFMADD231PD Y12, Y13, Y9
	VFMADD231PD Y12, Y13, Y10
	VFMADD231PD Y12, Y13, Y11
	DECQ CX
	JNZ  peakloop

peakdone:
	VZEROUPPER
	RET
