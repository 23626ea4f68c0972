//go:build amd64 && !purego

#include "textflag.h"

// AVX-512F versions of the exp-based elementwise loops (see
// elem512_amd64.go): 16 lanes per zmm, the same fast exp as the AVX2 loops
// (vec_amd64.s: range clamp, n = round(x·log2e), Cody-Waite reduction,
// degree-7 polynomial, 2^n by exponent bits, zero below lo), constants
// broadcast from single floats. Every loop handles n elements, n a
// multiple of 16.

// Constants, 4 bytes each: 0 log2e, 4 ln2hi, 8 ln2lo, 12 c7, 16 c6, 20 c5,
// 24 c4, 28 c3, 32 c2, 36 one, 40 lo (-87.3), 44 hi (88.37).
DATA expz<>+0(SB)/4, $0x3fb8aa3b // log2e
DATA expz<>+4(SB)/4, $0x3f317200 // ln2hi
DATA expz<>+8(SB)/4, $0x35bfbe8e // ln2lo
DATA expz<>+12(SB)/4, $0x39500d01 // c7
DATA expz<>+16(SB)/4, $0x3ab60b61 // c6
DATA expz<>+20(SB)/4, $0x3c088889 // c5
DATA expz<>+24(SB)/4, $0x3d2aaaab // c4
DATA expz<>+28(SB)/4, $0x3e2aaaab // c3
DATA expz<>+32(SB)/4, $0x3f000000 // c2
DATA expz<>+36(SB)/4, $0x3f800000 // one
DATA expz<>+40(SB)/4, $0xc2ae999a // lo
DATA expz<>+44(SB)/4, $0x42b0bd71 // hi
GLOBL expz<>(SB), RODATA|NOPTR, $48

// EXP16: Z3 = exp(Z0) for 16 lanes. Needs Z14 = lo, Z15 = hi, Z13 = one;
// clobbers Z1, Z2, K1; Z0 preserved.
#define EXP16 \
	VMAXPS            Z0, Z14, Z1; \
	VMINPS            Z1, Z15, Z1; \
	VMULPS.BCST       expz<>+0(SB), Z1, Z2; \
	VRNDSCALEPS       $0, Z2, Z2; \
	VFNMADD231PS.BCST expz<>+4(SB), Z2, Z1; \
	VFNMADD231PS.BCST expz<>+8(SB), Z2, Z1; \
	VBROADCASTSS      expz<>+12(SB), Z3; \
	VFMADD213PS.BCST  expz<>+16(SB), Z1, Z3; \
	VFMADD213PS.BCST  expz<>+20(SB), Z1, Z3; \
	VFMADD213PS.BCST  expz<>+24(SB), Z1, Z3; \
	VFMADD213PS.BCST  expz<>+28(SB), Z1, Z3; \
	VFMADD213PS.BCST  expz<>+32(SB), Z1, Z3; \
	VFMADD213PS       Z13, Z1, Z3; \
	VFMADD213PS       Z13, Z1, Z3; \
	VCVTPS2DQ         Z2, Z2; \
	VPSLLD            $23, Z2, Z2; \
	VPADDD            Z13, Z2, Z2; \
	VMULPS            Z2, Z3, Z3; \
	VCMPPS            $1, Z14, Z0, K1; \
	VPXORD            Z3, Z3, K1, Z3

#define EXPSETUP \
	VBROADCASTSS expz<>+40(SB), Z14; \
	VBROADCASTSS expz<>+44(SB), Z15; \
	VBROADCASTSS expz<>+36(SB), Z13

// SUM64Z: acc0/acc1 (8 float64 each) += the 16 floats of Z3. Clobbers Z5, Z6.
#define SUM64Z(acc0, acc1) \
	VCVTPS2PD      Y3, Z5; \
	VEXTRACTF64X4  $1, Z3, Y6; \
	VCVTPS2PD      Y6, Z6; \
	VADDPD         Z5, acc0, acc0; \
	VADDPD         Z6, acc1, acc1

// func expAffineSumAVX512(dst, src *float32, n int, a, b float32) float64
TEXT ·expAffineSumAVX512(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Z8
	VBROADCASTSS b+28(FP), Z9
	EXPSETUP
	VPXORQ       Z11, Z11, Z11
	VPXORQ       Z12, Z12, Z12
	TESTQ        DI, DI
	JZ           zeans

zeas:
	CMPQ        CX, $16
	JLT         zeadone
	VMOVUPS     (SI), Z0
	VFMSUB213PS Z9, Z8, Z0
	EXP16
	VMOVUPS     Z3, (DI)
	SUM64Z(Z11, Z12)
	ADDQ        $64, SI
	ADDQ        $64, DI
	SUBQ        $16, CX
	JMP         zeas

zeans:
	CMPQ        CX, $16
	JLT         zeadone
	VMOVUPS     (SI), Z0
	VFMSUB213PS Z9, Z8, Z0
	EXP16
	SUM64Z(Z11, Z12)
	ADDQ        $64, SI
	SUBQ        $16, CX
	JMP         zeans

zeadone:
	VADDPD        Z12, Z11, Z11
	VEXTRACTF64X4 $1, Z11, Y12
	VADDPD        Y12, Y11, Y11
	VEXTRACTF128  $1, Y11, X12
	VADDPD        X12, X11, X11
	VHADDPD       X11, X11, X11
	VZEROUPPER
	MOVSD         X11, ret+32(FP)
	RET

// func swigluAVX512(out, gate, up *float32, n int)
// out = g*u / (1 + exp(-g))
TEXT ·swigluAVX512(SB), NOSPLIT, $0-32
	MOVQ   out+0(FP), DI
	MOVQ   gate+8(FP), SI
	MOVQ   up+16(FP), DX
	MOVQ   n+24(FP), CX
	EXPSETUP
	VPXORD Z12, Z12, Z12

zsw:
	CMPQ    CX, $16
	JLT     zswdone
	VMOVUPS (SI), Z7
	VSUBPS  Z7, Z12, Z0
	EXP16
	VADDPS  Z13, Z3, Z3
	VMULPS  (DX), Z7, Z4
	VDIVPS  Z3, Z4, Z4
	VMOVUPS Z4, (DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     zsw

zswdone:
	VZEROUPPER
	RET

// func swigluBackAVX512(dg, du, dout, gate, up *float32, n int)
// s = 1/(1+exp(-g)); dg = (dout*s)*u*(g*(1-s)+1); du = (dout*s)*g.
// All inputs of a block are loaded before its outputs are stored, so dg/du
// may alias gate/up.
TEXT ·swigluBackAVX512(SB), NOSPLIT, $0-48
	MOVQ   dg+0(FP), DI
	MOVQ   du+8(FP), R8
	MOVQ   dout+16(FP), BX
	MOVQ   gate+24(FP), SI
	MOVQ   up+32(FP), DX
	MOVQ   n+40(FP), CX
	EXPSETUP
	VPXORD Z12, Z12, Z12

zswb:
	CMPQ        CX, $16
	JLT         zswbdone
	VMOVUPS     (SI), Z7
	VMOVUPS     (DX), Z8
	VMOVUPS     (BX), Z9
	VSUBPS      Z7, Z12, Z0
	EXP16
	VADDPS      Z13, Z3, Z3
	VDIVPS      Z3, Z13, Z10
	VSUBPS      Z10, Z13, Z11
	VFMADD213PS Z13, Z7, Z11
	VMULPS      Z10, Z9, Z4
	VMULPS      Z7, Z4, Z5
	VMULPS      Z8, Z4, Z4
	VMULPS      Z11, Z4, Z4
	VMOVUPS     Z4, (DI)
	VMOVUPS     Z5, (R8)
	ADDQ        $64, SI
	ADDQ        $64, DX
	ADDQ        $64, BX
	ADDQ        $64, DI
	ADDQ        $64, R8
	SUBQ        $16, CX
	JMP         zswb

zswbdone:
	VZEROUPPER
	RET

// Float64 exponential for the Sinkhorn lanes (sinkExpAVX512): 8 lanes per
// zmm. x is clamped to [lo, hi] = [-746, 710] (NaN propagates: the clamps
// keep the input operand on NaN), k = round(x·log2e), r = x − k·ln2 with
// ln2 split in two doubles and each product subtracted by a fused
// multiply-add (|r| ≤ ln2/2, error ~2^-54·|r|), exp(r) by the degree-13
// Taylor polynomial in Horner form (truncation < 1e-17 relative), and
// 2^k applied by VSCALEFPD, which rounds gradual underflow correctly, gives
// 0 below about −745.2 and +Inf above about 709.8. Measured error ≤ 1 ulp
// against a 200-bit reference (TestSinkhornExpAccuracy).
//
// Constants, 8 bytes each: 0 lo, 8 hi, 16 log2e, 24 ln2hi, 32 ln2lo, then
// 1/k! for k = 2…13 at 40 + 8·(k−2), and 136 one.
DATA expd<>+0(SB)/8, $0xc087500000000000   // lo -746
DATA expd<>+8(SB)/8, $0x4086300000000000   // hi 710
DATA expd<>+16(SB)/8, $0x3ff71547652b82fe  // log2e
DATA expd<>+24(SB)/8, $0x3fe62e42fefa39ef  // ln2hi (ln2 rounded to double)
DATA expd<>+32(SB)/8, $0x3c7abc9e3b39803f  // ln2lo = ln2 − ln2hi
DATA expd<>+40(SB)/8, $0x3fe0000000000000  // 1/2!
DATA expd<>+48(SB)/8, $0x3fc5555555555555  // 1/3!
DATA expd<>+56(SB)/8, $0x3fa5555555555555  // 1/4!
DATA expd<>+64(SB)/8, $0x3f81111111111111  // 1/5!
DATA expd<>+72(SB)/8, $0x3f56c16c16c16c17  // 1/6!
DATA expd<>+80(SB)/8, $0x3f2a01a01a01a01a  // 1/7!
DATA expd<>+88(SB)/8, $0x3efa01a01a01a01a  // 1/8!
DATA expd<>+96(SB)/8, $0x3ec71de3a556c734  // 1/9!
DATA expd<>+104(SB)/8, $0x3e927e4fb7789f5c // 1/10!
DATA expd<>+112(SB)/8, $0x3e5ae64567f544e4 // 1/11!
DATA expd<>+120(SB)/8, $0x3e21eed8eff8d898 // 1/12!
DATA expd<>+128(SB)/8, $0x3de6124613a86d09 // 1/13!
DATA expd<>+136(SB)/8, $0x3ff0000000000000 // one
GLOBL expd<>(SB), RODATA|NOPTR, $144

// EXPPDSETUP loads the constants: Z14 lo, Z15 hi, Z16 log2e, Z17 ln2hi,
// Z18 ln2lo, Z19…Z30 1/2! … 1/13!, Z31 one.
#define EXPPDSETUP \
	VBROADCASTSD expd<>+0(SB), Z14; \
	VBROADCASTSD expd<>+8(SB), Z15; \
	VBROADCASTSD expd<>+16(SB), Z16; \
	VBROADCASTSD expd<>+24(SB), Z17; \
	VBROADCASTSD expd<>+32(SB), Z18; \
	VBROADCASTSD expd<>+40(SB), Z19; \
	VBROADCASTSD expd<>+48(SB), Z20; \
	VBROADCASTSD expd<>+56(SB), Z21; \
	VBROADCASTSD expd<>+64(SB), Z22; \
	VBROADCASTSD expd<>+72(SB), Z23; \
	VBROADCASTSD expd<>+80(SB), Z24; \
	VBROADCASTSD expd<>+88(SB), Z25; \
	VBROADCASTSD expd<>+96(SB), Z26; \
	VBROADCASTSD expd<>+104(SB), Z27; \
	VBROADCASTSD expd<>+112(SB), Z28; \
	VBROADCASTSD expd<>+120(SB), Z29; \
	VBROADCASTSD expd<>+128(SB), Z30; \
	VBROADCASTSD expd<>+136(SB), Z31

// EXPPD: Z3 = exp(Z1) for 8 float64 lanes (constants from EXPPDSETUP).
// Clobbers Z1, Z2.
#define EXPPD \
	VMAXPD       Z1, Z14, Z1; \
	VMINPD       Z1, Z15, Z1; \
	VMULPD       Z16, Z1, Z2; \
	VRNDSCALEPD  $0, Z2, Z2; \
	VFNMADD231PD Z17, Z2, Z1; \
	VFNMADD231PD Z18, Z2, Z1; \
	VMOVAPD      Z30, Z3; \
	VFMADD213PD  Z29, Z1, Z3; \
	VFMADD213PD  Z28, Z1, Z3; \
	VFMADD213PD  Z27, Z1, Z3; \
	VFMADD213PD  Z26, Z1, Z3; \
	VFMADD213PD  Z25, Z1, Z3; \
	VFMADD213PD  Z24, Z1, Z3; \
	VFMADD213PD  Z23, Z1, Z3; \
	VFMADD213PD  Z22, Z1, Z3; \
	VFMADD213PD  Z21, Z1, Z3; \
	VFMADD213PD  Z20, Z1, Z3; \
	VFMADD213PD  Z19, Z1, Z3; \
	VFMADD213PD  Z31, Z1, Z3; \
	VFMADD213PD  Z31, Z1, Z3; \
	VSCALEFPD    Z2, Z3, Z3

// func sinkExpAVX512(m *float64, n int)
// m holds an n×n matrix of 8 lanes, lane-minor (element e at m[8e:8e+8]).
// For every column j, per lane: mx = max_i m[i,j]; m[i,j] = exp(m[i,j] − mx).
TEXT ·sinkExpAVX512(SB), NOSPLIT, $0-16
	MOVQ m+0(FP), DI
	MOVQ n+8(FP), CX
	EXPPDSETUP
	MOVQ CX, R8
	SHLQ $6, R8  // row stride in bytes (n elements of 64 bytes)
	MOVQ CX, R9  // columns left

secol:
	VMOVUPD (DI), Z0
	LEAQ    (DI)(R8*1), DX
	MOVQ    CX, R10
	DECQ    R10

semax:
	TESTQ  R10, R10
	JZ     seexp0
	VMAXPD (DX), Z0, Z0
	ADDQ   R8, DX
	DECQ   R10
	JMP    semax

seexp0:
	MOVQ DI, DX
	MOVQ CX, R10

seexp:
	VMOVUPD (DX), Z1
	VSUBPD  Z0, Z1, Z1
	EXPPD
	VMOVUPD Z3, (DX)
	ADDQ    R8, DX
	DECQ    R10
	JNZ     seexp
	ADDQ    $64, DI
	DECQ    R9
	JNZ     secol
	VZEROUPPER
	RET

// func ropeRowsAVX512(x *float32, rows, stride, heads, hd int, c, s *float32, dir float32)
// For every row r < rows and head h < heads, with a = x + r·stride + h·hd,
// b = a + hd/2, cr = c + r·hd/2, sr = s + r·hd/2 and i < hd/2:
// (a[i], b[i]) ← (a[i]·cr[i] − b[i]·(dir·sr[i]), b[i]·cr[i] + a[i]·(dir·sr[i])).
// 16 pairs per zmm, the last hd/2 mod 16 under a mask (nothing outside
// the pairs is read or written). rows, heads ≥ 1, hd ≥ 2 even.
TEXT ·ropeRowsAVX512(SB), NOSPLIT, $0-60
	MOVQ         x+0(FP), DI
	MOVQ         rows+8(FP), R8
	MOVQ         stride+16(FP), R9
	SHLQ         $2, R9                 // row stride, bytes
	MOVQ         heads+24(FP), R10
	MOVQ         hd+32(FP), R11
	MOVQ         c+40(FP), DX
	MOVQ         s+48(FP), BX
	VBROADCASTSS dir+56(FP), Z15
	MOVQ         R11, R12
	SHLQ         $1, R12                // half·4: half-head, bytes
	SHLQ         $2, R11                // hd, bytes
	MOVQ         R11, CX
	SHRQ         $1, CX
	SHRQ         $2, CX                 // half
	ANDQ         $15, CX
	MOVL         $1, AX
	SHLL         CX, AX
	DECL         AX
	KMOVW        AX, K1                 // tail mask: half mod 16 lanes
	MOVQ         R12, AX
	ANDQ         $-64, AX               // bytes covered by full zmm

rrrow:
	MOVQ DI, SI
	MOVQ R10, CX

rrhead:
	LEAQ (SI)(R12*1), R14
	XORQ R13, R13

rrchunk:
	CMPQ         R13, AX
	JGE          rrtail
	VMOVUPS      (SI)(R13*1), Z0
	VMOVUPS      (R14)(R13*1), Z1
	VMOVUPS      (DX)(R13*1), Z2
	VMULPS       (BX)(R13*1), Z15, Z3
	VMULPS       Z2, Z0, Z4
	VFNMADD231PS Z3, Z1, Z4
	VMULPS       Z2, Z1, Z5
	VFMADD231PS  Z3, Z0, Z5
	VMOVUPS      Z4, (SI)(R13*1)
	VMOVUPS      Z5, (R14)(R13*1)
	ADDQ         $64, R13
	JMP          rrchunk

rrtail:
	KORTESTW     K1, K1
	JZ           rrnext
	VMOVUPS.Z    (SI)(R13*1), K1, Z0
	VMOVUPS.Z    (R14)(R13*1), K1, Z1
	VMOVUPS.Z    (DX)(R13*1), K1, Z2
	VMOVUPS.Z    (BX)(R13*1), K1, Z3
	VMULPS       Z3, Z15, Z3
	VMULPS       Z2, Z0, Z4
	VFNMADD231PS Z3, Z1, Z4
	VMULPS       Z2, Z1, Z5
	VFMADD231PS  Z3, Z0, Z5
	VMOVUPS      Z4, K1, (SI)(R13*1)
	VMOVUPS      Z5, K1, (R14)(R13*1)

rrnext:
	ADDQ R11, SI
	DECQ CX
	JNZ  rrhead
	ADDQ R9, DI
	ADDQ R12, DX
	ADDQ R12, BX
	DECQ R8
	JNZ  rrrow
	VZEROUPPER
	RET

// TAILMASK16: K1 = the low (n mod 16) bits, for a masked last chunk of a
// row of n float32 (n in reg; clobbers CX, AX).
#define TAILMASK16(reg) \
	MOVQ  reg, CX; \
	ANDQ  $15, CX; \
	MOVL  $1, AX; \
	SHLL  CX, AX; \
	DECL  AX; \
	KMOVW AX, K1

// SQ16(off, a0, a1): a0 += squares of floats off..off+7 of SI, a1 of
// off+8..off+15, in float64. Clobbers Z4, Z5.
#define SQ16(off, a0, a1) \
	VCVTPS2PD   off(SI), Z4; \
	VCVTPS2PD   off+32(SI), Z5; \
	VFMADD231PD Z4, Z4, a0; \
	VFMADD231PD Z5, Z5, a1

// HSUMPD(z, y, x, t): x = the sum of z's 8 float64 lanes (t scratch).
#define HSUMPD(z, y, x, ty, tx) \
	VEXTRACTF64X4 $1, z, ty; \
	VADDPD        ty, y, y; \
	VEXTRACTF128  $1, y, tx; \
	VADDPD        tx, x, x; \
	VPERMILPD     $1, x, tx; \
	VADDSD        tx, x, x

// HSUMPS(z, y, x, ty, tx): x = the sum of z's 16 float32 lanes.
#define HSUMPS(z, y, x, ty, tx) \
	VEXTRACTF64X4 $1, z, ty; \
	VADDPS        ty, y, y; \
	VEXTRACTF128  $1, y, tx; \
	VADDPS        tx, x, x; \
	VPERMILPD     $1, x, tx; \
	VADDPS        tx, x, x; \
	VMOVSHDUP     x, tx; \
	VADDSS        tx, x, x

// func sumSquaresAVX512(x *float32, n int) float64
// n a positive multiple of 16. Squares exact in float64, 32 lanes (four
// zmm accumulators), added pairwise at the end.
TEXT ·sumSquaresAVX512(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VXORPD Z0, Z0, Z0
	VXORPD Z1, Z1, Z1
	VXORPD Z2, Z2, Z2
	VXORPD Z3, Z3, Z3

zss32:
	CMPQ CX, $32
	JLT  zss16
	SQ16(0, Z0, Z1)
	SQ16(64, Z2, Z3)
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  zss32

zss16:
	CMPQ CX, $16
	JLT  zssdone
	SQ16(0, Z0, Z1)

zssdone:
	VADDPD Z2, Z0, Z0
	VADDPD Z3, Z1, Z1
	VADDPD Z1, Z0, Z0
	HSUMPD(Z0, Y0, X0, Y1, X1)
	VZEROUPPER
	MOVSD  X0, ret+16(FP)
	RET

// func rmsNormAVX512(out, rstd, in, w *float32, rows, dim int, dimf, eps float64)
// Per row r: ss = Σ in[r,j]² (float64, 32 lanes, then a masked tail of
// dim mod 16), rstd[r] = float32(1/sqrt(ss/dimf + eps)),
// out[r,j] = (in[r,j]·rstd[r])·w[j]. out may alias in (a row is summed
// before it is written). rows, dim ≥ 1.
TEXT ·rmsNormAVX512(SB), NOSPLIT, $0-64
	MOVQ         out+0(FP), DI
	MOVQ         rstd+8(FP), R8
	MOVQ         in+16(FP), SI
	MOVQ         w+24(FP), DX
	MOVQ         rows+32(FP), R9
	MOVQ         dim+40(FP), R10
	VMOVSD       dimf+48(FP), X10
	VMOVSD       eps+56(FP), X11
	MOVQ         $0x3ff0000000000000, AX
	VMOVQ        AX, X12                // 1.0
	TAILMASK16(R10)
	MOVQ         R10, R11
	ANDQ         $-16, R11              // full 16-chunks, elements

rnrow:
	VXORPD Z0, Z0, Z0
	VXORPD Z1, Z1, Z1
	VXORPD Z2, Z2, Z2
	VXORPD Z3, Z3, Z3
	MOVQ   SI, BX                       // row start
	MOVQ   R11, CX

rn32:
	CMPQ CX, $32
	JLT  rn16
	SQ16(0, Z0, Z1)
	SQ16(64, Z2, Z3)
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  rn32

rn16:
	CMPQ CX, $16
	JLT  rntail
	SQ16(0, Z0, Z1)
	ADDQ $64, SI

rntail:
	KORTESTW      K1, K1
	JZ            rnsum
	VMOVUPS.Z     (SI), K1, Z6
	VCVTPS2PD     Y6, Z4
	VEXTRACTF64X4 $1, Z6, Y7
	VCVTPS2PD     Y7, Z5
	VFMADD231PD   Z4, Z4, Z2
	VFMADD231PD   Z5, Z5, Z3

rnsum:
	VADDPD    Z2, Z0, Z0
	VADDPD    Z3, Z1, Z1
	VADDPD    Z1, Z0, Z0
	HSUMPD(Z0, Y0, X0, Y1, X1)
	VDIVSD    X10, X0, X0
	VADDSD    X11, X0, X0
	VSQRTSD   X0, X0, X0
	VDIVSD    X0, X12, X0
	VCVTSD2SS X0, X0, X0
	VMOVSS    X0, (R8)
	VBROADCASTSS X0, Z8
	MOVQ      BX, SI
	XORQ      CX, CX                    // byte offset in the row
	MOVQ      R11, AX
	SHLQ      $2, AX

rnmul:
	CMPQ    CX, AX
	JGE     rnmtail
	VMULPS  (SI)(CX*1), Z8, Z0
	VMULPS  (DX)(CX*1), Z0, Z0
	VMOVUPS Z0, (DI)(CX*1)
	ADDQ    $64, CX
	JMP     rnmul

rnmtail:
	KORTESTW  K1, K1
	JZ        rnnext
	VMOVUPS.Z (SI)(CX*1), K1, Z0
	VMOVUPS.Z (DX)(CX*1), K1, Z1
	VMULPS    Z0, Z8, Z0
	VMULPS    Z1, Z0, Z0
	VMOVUPS   Z0, K1, (DI)(CX*1)

rnnext:
	LEAQ (SI)(R10*4), SI
	LEAQ (DI)(R10*4), DI
	ADDQ $4, R8
	DECQ R9
	JNZ  rnrow
	VZEROUPPER
	RET

// func rmsNormBackAVX512(din, dw, dout, in, w, rstd *float32, rows, dim int, dimf float32)
// Per row r with rs = rstd[r]: d = Σ_j dout·w·in (float32, 32 lanes, then
// the masked tail), c = ((rs·rs)·rs)/dimf·d, then
// din[r,j] += (dout·rs)·w − c·in and dw[j] += (dout·rs)·in (fused).
// rows, dim ≥ 1.
TEXT ·rmsNormBackAVX512(SB), NOSPLIT, $0-68
	MOVQ   din+0(FP), DI
	MOVQ   dw+8(FP), R8
	MOVQ   dout+16(FP), BX
	MOVQ   in+24(FP), SI
	MOVQ   w+32(FP), DX
	MOVQ   rstd+40(FP), R12
	MOVQ   rows+48(FP), R9
	MOVQ   dim+56(FP), R10
	VMOVSS dimf+64(FP), X10
	TAILMASK16(R10)
	MOVQ   R10, R11
	ANDQ   $-16, R11
	SHLQ   $2, R11                      // full chunks, bytes

rbrow:
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	XORQ   CX, CX

rbd32:
	LEAQ        64(CX), AX
	CMPQ        AX, R11
	JGE         rbd16
	VMOVUPS     (BX)(CX*1), Z2
	VMOVUPS     64(BX)(CX*1), Z3
	VMULPS      (DX)(CX*1), Z2, Z2
	VMULPS      64(DX)(CX*1), Z3, Z3
	VFMADD231PS (SI)(CX*1), Z2, Z0
	VFMADD231PS 64(SI)(CX*1), Z3, Z1
	ADDQ        $128, CX
	JMP         rbd32

rbd16:
	CMPQ        CX, R11
	JGE         rbdtail
	VMOVUPS     (BX)(CX*1), Z2
	VMULPS      (DX)(CX*1), Z2, Z2
	VFMADD231PS (SI)(CX*1), Z2, Z0
	ADDQ        $64, CX

rbdtail:
	KORTESTW    K1, K1
	JZ          rbdsum
	VMOVUPS.Z   (BX)(CX*1), K1, Z2
	VMOVUPS.Z   (DX)(CX*1), K1, Z3
	VMOVUPS.Z   (SI)(CX*1), K1, Z4
	VMULPS      Z3, Z2, Z2
	VFMADD231PS Z4, Z2, Z1

rbdsum:
	VADDPS       Z1, Z0, Z0
	HSUMPS(Z0, Y0, X0, Y1, X1)
	VMOVSS       (R12), X2              // rs
	VMULSS       X2, X2, X3
	VMULSS       X2, X3, X3
	VDIVSS       X10, X3, X3
	VMULSS       X0, X3, X3             // c
	VBROADCASTSS X2, Z14
	VBROADCASTSS X3, Z15
	XORQ         CX, CX

rbupd:
	CMPQ         CX, R11
	JGE          rbutail
	VMULPS       (BX)(CX*1), Z14, Z2    // dy·rs
	VMULPS       (DX)(CX*1), Z2, Z3
	VMOVUPS      (SI)(CX*1), Z1
	VFNMADD231PS Z1, Z15, Z3
	VADDPS       (DI)(CX*1), Z3, Z3
	VMOVUPS      Z3, (DI)(CX*1)
	VFMADD213PS  (R8)(CX*1), Z1, Z2
	VMOVUPS      Z2, (R8)(CX*1)
	ADDQ         $64, CX
	JMP          rbupd

rbutail:
	KORTESTW     K1, K1
	JZ           rbnext
	VMOVUPS.Z    (BX)(CX*1), K1, Z2
	VMOVUPS.Z    (DX)(CX*1), K1, Z4
	VMOVUPS.Z    (SI)(CX*1), K1, Z1
	VMOVUPS.Z    (DI)(CX*1), K1, Z5
	VMOVUPS.Z    (R8)(CX*1), K1, Z6
	VMULPS       Z2, Z14, Z2
	VMULPS       Z4, Z2, Z3
	VFNMADD231PS Z1, Z15, Z3
	VADDPS       Z5, Z3, Z3
	VMOVUPS      Z3, K1, (DI)(CX*1)
	VFMADD213PS  Z6, Z1, Z2
	VMOVUPS      Z2, K1, (R8)(CX*1)

rbnext:
	LEAQ (DI)(R10*4), DI
	LEAQ (BX)(R10*4), BX
	LEAQ (SI)(R10*4), SI
	ADDQ $4, R12
	DECQ R9
	JNZ  rbrow
	VZEROUPPER
	RET

// func adamwAVX512(p, grad, m, v *float32, n int, h adamHyper)
// adamwAVX2 in zmm: n a positive multiple of 16, the same operations.
TEXT ·adamwAVX512(SB), NOSPLIT, $0-80
	MOVQ         p+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         m+16(FP), DX
	MOVQ         v+24(FP), BX
	MOVQ         n+32(FP), CX
	VBROADCASTSS h_lr+40(FP), Z7
	VBROADCASTSS h_lrwd+44(FP), Z8
	VBROADCASTSS h_b1+48(FP), Z9
	VBROADCASTSS h_ob1+52(FP), Z10
	VBROADCASTSS h_b2+56(FP), Z11
	VBROADCASTSS h_ob2+60(FP), Z12
	VBROADCASTSS h_bc1+64(FP), Z13
	VBROADCASTSS h_bc2+68(FP), Z14
	VBROADCASTSS h_eps+72(FP), Z15
	MOVL         h_decay+76(FP), R9

zadam:
	CMPQ         CX, $16
	JLT          zadamdone
	VMOVUPS      (SI), Z0
	VMOVUPS      (DI), Z1
	TESTL        R9, R9
	JZ           zadamnodecay
	VFNMADD231PS Z1, Z8, Z1

zadamnodecay:
	VMULPS      Z0, Z10, Z2
	VFMADD231PS (DX), Z9, Z2
	VMULPS      Z0, Z0, Z3
	VMULPS      Z3, Z12, Z3
	VFMADD231PS (BX), Z11, Z3
	VMOVUPS     Z2, (DX)
	VMOVUPS     Z3, (BX)
	VDIVPS      Z13, Z2, Z2
	VDIVPS      Z14, Z3, Z3
	VSQRTPS     Z3, Z3
	VADDPS      Z15, Z3, Z3
	VMULPS      Z7, Z2, Z2
	VDIVPS      Z3, Z2, Z2
	VSUBPS      Z2, Z1, Z1
	VMOVUPS     Z1, (DI)
	ADDQ        $64, SI
	ADDQ        $64, DI
	ADDQ        $64, DX
	ADDQ        $64, BX
	SUBQ        $16, CX
	JMP         zadam

zadamdone:
	VZEROUPPER
	RET
