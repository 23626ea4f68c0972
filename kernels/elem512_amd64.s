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
