//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA loops for the row and elementwise kernels (see vec_amd64.go).
// Every loop handles n elements, n a multiple of 8, with unaligned loads.

// Broadcast constants for the fast exp (8 copies each, 32 bytes apart):
//   0 log2e   32 ln2hi   64 ln2lo   96 c7   128 c6   160 c5   192 c4
//   224 c3    256 c2     288 one    320 lo (-87.3)   352 hi (88.37)
DATA expc<>+0(SB)/4, $0x3fb8aa3b
DATA expc<>+4(SB)/4, $0x3fb8aa3b
DATA expc<>+8(SB)/4, $0x3fb8aa3b
DATA expc<>+12(SB)/4, $0x3fb8aa3b
DATA expc<>+16(SB)/4, $0x3fb8aa3b
DATA expc<>+20(SB)/4, $0x3fb8aa3b
DATA expc<>+24(SB)/4, $0x3fb8aa3b
DATA expc<>+28(SB)/4, $0x3fb8aa3b
DATA expc<>+32(SB)/4, $0x3f317200
DATA expc<>+36(SB)/4, $0x3f317200
DATA expc<>+40(SB)/4, $0x3f317200
DATA expc<>+44(SB)/4, $0x3f317200
DATA expc<>+48(SB)/4, $0x3f317200
DATA expc<>+52(SB)/4, $0x3f317200
DATA expc<>+56(SB)/4, $0x3f317200
DATA expc<>+60(SB)/4, $0x3f317200
DATA expc<>+64(SB)/4, $0x35bfbe8e
DATA expc<>+68(SB)/4, $0x35bfbe8e
DATA expc<>+72(SB)/4, $0x35bfbe8e
DATA expc<>+76(SB)/4, $0x35bfbe8e
DATA expc<>+80(SB)/4, $0x35bfbe8e
DATA expc<>+84(SB)/4, $0x35bfbe8e
DATA expc<>+88(SB)/4, $0x35bfbe8e
DATA expc<>+92(SB)/4, $0x35bfbe8e
DATA expc<>+96(SB)/4, $0x39500d01
DATA expc<>+100(SB)/4, $0x39500d01
DATA expc<>+104(SB)/4, $0x39500d01
DATA expc<>+108(SB)/4, $0x39500d01
DATA expc<>+112(SB)/4, $0x39500d01
DATA expc<>+116(SB)/4, $0x39500d01
DATA expc<>+120(SB)/4, $0x39500d01
DATA expc<>+124(SB)/4, $0x39500d01
DATA expc<>+128(SB)/4, $0x3ab60b61
DATA expc<>+132(SB)/4, $0x3ab60b61
DATA expc<>+136(SB)/4, $0x3ab60b61
DATA expc<>+140(SB)/4, $0x3ab60b61
DATA expc<>+144(SB)/4, $0x3ab60b61
DATA expc<>+148(SB)/4, $0x3ab60b61
DATA expc<>+152(SB)/4, $0x3ab60b61
DATA expc<>+156(SB)/4, $0x3ab60b61
DATA expc<>+160(SB)/4, $0x3c088889
DATA expc<>+164(SB)/4, $0x3c088889
DATA expc<>+168(SB)/4, $0x3c088889
DATA expc<>+172(SB)/4, $0x3c088889
DATA expc<>+176(SB)/4, $0x3c088889
DATA expc<>+180(SB)/4, $0x3c088889
DATA expc<>+184(SB)/4, $0x3c088889
DATA expc<>+188(SB)/4, $0x3c088889
DATA expc<>+192(SB)/4, $0x3d2aaaab
DATA expc<>+196(SB)/4, $0x3d2aaaab
DATA expc<>+200(SB)/4, $0x3d2aaaab
DATA expc<>+204(SB)/4, $0x3d2aaaab
DATA expc<>+208(SB)/4, $0x3d2aaaab
DATA expc<>+212(SB)/4, $0x3d2aaaab
DATA expc<>+216(SB)/4, $0x3d2aaaab
DATA expc<>+220(SB)/4, $0x3d2aaaab
DATA expc<>+224(SB)/4, $0x3e2aaaab
DATA expc<>+228(SB)/4, $0x3e2aaaab
DATA expc<>+232(SB)/4, $0x3e2aaaab
DATA expc<>+236(SB)/4, $0x3e2aaaab
DATA expc<>+240(SB)/4, $0x3e2aaaab
DATA expc<>+244(SB)/4, $0x3e2aaaab
DATA expc<>+248(SB)/4, $0x3e2aaaab
DATA expc<>+252(SB)/4, $0x3e2aaaab
DATA expc<>+256(SB)/4, $0x3f000000
DATA expc<>+260(SB)/4, $0x3f000000
DATA expc<>+264(SB)/4, $0x3f000000
DATA expc<>+268(SB)/4, $0x3f000000
DATA expc<>+272(SB)/4, $0x3f000000
DATA expc<>+276(SB)/4, $0x3f000000
DATA expc<>+280(SB)/4, $0x3f000000
DATA expc<>+284(SB)/4, $0x3f000000
DATA expc<>+288(SB)/4, $0x3f800000
DATA expc<>+292(SB)/4, $0x3f800000
DATA expc<>+296(SB)/4, $0x3f800000
DATA expc<>+300(SB)/4, $0x3f800000
DATA expc<>+304(SB)/4, $0x3f800000
DATA expc<>+308(SB)/4, $0x3f800000
DATA expc<>+312(SB)/4, $0x3f800000
DATA expc<>+316(SB)/4, $0x3f800000
DATA expc<>+320(SB)/4, $0xc2ae999a
DATA expc<>+324(SB)/4, $0xc2ae999a
DATA expc<>+328(SB)/4, $0xc2ae999a
DATA expc<>+332(SB)/4, $0xc2ae999a
DATA expc<>+336(SB)/4, $0xc2ae999a
DATA expc<>+340(SB)/4, $0xc2ae999a
DATA expc<>+344(SB)/4, $0xc2ae999a
DATA expc<>+348(SB)/4, $0xc2ae999a
DATA expc<>+352(SB)/4, $0x42b0bd71
DATA expc<>+356(SB)/4, $0x42b0bd71
DATA expc<>+360(SB)/4, $0x42b0bd71
DATA expc<>+364(SB)/4, $0x42b0bd71
DATA expc<>+368(SB)/4, $0x42b0bd71
DATA expc<>+372(SB)/4, $0x42b0bd71
DATA expc<>+376(SB)/4, $0x42b0bd71
DATA expc<>+380(SB)/4, $0x42b0bd71
GLOBL expc<>(SB), RODATA|NOPTR, $384

// EXP8: Y3 = exp(Y0) for 8 lanes (fast exp, same algorithm as expf).
// Needs Y14 = lo, Y15 = hi; clobbers Y1, Y2, Y4; Y0 preserved.
#define EXP8 \
	VMAXPS       Y0, Y14, Y1; \
	VMINPS       Y1, Y15, Y1; \
	VMULPS       expc<>+0(SB), Y1, Y2; \
	VROUNDPS     $0, Y2, Y2; \
	VFNMADD231PS expc<>+32(SB), Y2, Y1; \
	VFNMADD231PS expc<>+64(SB), Y2, Y1; \
	VMOVUPS      expc<>+96(SB), Y3; \
	VFMADD213PS  expc<>+128(SB), Y1, Y3; \
	VFMADD213PS  expc<>+160(SB), Y1, Y3; \
	VFMADD213PS  expc<>+192(SB), Y1, Y3; \
	VFMADD213PS  expc<>+224(SB), Y1, Y3; \
	VFMADD213PS  expc<>+256(SB), Y1, Y3; \
	VFMADD213PS  expc<>+288(SB), Y1, Y3; \
	VFMADD213PS  expc<>+288(SB), Y1, Y3; \
	VCVTPS2DQ    Y2, Y2; \
	VPSLLD       $23, Y2, Y2; \
	VPADDD       expc<>+288(SB), Y2, Y2; \
	VMULPS       Y2, Y3, Y3; \
	VCMPPS       $1, Y14, Y0, Y4; \
	VANDNPS      Y3, Y4, Y3

// SUM64: acc0/acc1 (4 x float64 each) += the 8 floats of Y3. Clobbers Y5, Y6.
#define SUM64(acc0, acc1) \
	VCVTPS2PD    X3, Y5; \
	VEXTRACTF128 $1, Y3, X6; \
	VCVTPS2PD    X6, Y6; \
	VADDPD       Y5, acc0, acc0; \
	VADDPD       Y6, acc1, acc1

// func axpyAVX2(alpha float32, x, y *float32, n int)
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y15
	MOVQ         x+8(FP), SI
	MOVQ         y+16(FP), DI
	MOVQ         n+24(FP), CX

axpy32:
	CMPQ        CX, $32
	JLT         axpy8
	VMOVUPS     (SI), Y0
	VMOVUPS     32(SI), Y1
	VMOVUPS     64(SI), Y2
	VMOVUPS     96(SI), Y3
	VFMADD213PS (DI), Y15, Y0
	VFMADD213PS 32(DI), Y15, Y1
	VFMADD213PS 64(DI), Y15, Y2
	VFMADD213PS 96(DI), Y15, Y3
	VMOVUPS     Y0, (DI)
	VMOVUPS     Y1, 32(DI)
	VMOVUPS     Y2, 64(DI)
	VMOVUPS     Y3, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         axpy32

axpy8:
	CMPQ        CX, $8
	JLT         axpydone
	VMOVUPS     (SI), Y0
	VFMADD213PS (DI), Y15, Y0
	VMOVUPS     Y0, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         axpy8

axpydone:
	VZEROUPPER
	RET

// func scaleAVX2(alpha float32, x *float32, n int)
TEXT ·scaleAVX2(SB), NOSPLIT, $0-24
	VBROADCASTSS alpha+0(FP), Y15
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), CX

scale32:
	CMPQ    CX, $32
	JLT     scale8
	VMULPS  (SI), Y15, Y0
	VMULPS  32(SI), Y15, Y1
	VMULPS  64(SI), Y15, Y2
	VMULPS  96(SI), Y15, Y3
	VMOVUPS Y0, (SI)
	VMOVUPS Y1, 32(SI)
	VMOVUPS Y2, 64(SI)
	VMOVUPS Y3, 96(SI)
	ADDQ    $128, SI
	SUBQ    $32, CX
	JMP     scale32

scale8:
	CMPQ    CX, $8
	JLT     scaledone
	VMULPS  (SI), Y15, Y0
	VMOVUPS Y0, (SI)
	ADDQ    $32, SI
	SUBQ    $8, CX
	JMP     scale8

scaledone:
	VZEROUPPER
	RET

// func addAVX2(dst, a, b *float32, n int)
TEXT ·addAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ n+24(FP), CX

add32:
	CMPQ    CX, $32
	JLT     add8
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VADDPS  (DX), Y0, Y0
	VADDPS  32(DX), Y1, Y1
	VADDPS  64(DX), Y2, Y2
	VADDPS  96(DX), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ    $128, SI
	ADDQ    $128, DX
	ADDQ    $128, DI
	SUBQ    $32, CX
	JMP     add32

add8:
	CMPQ    CX, $8
	JLT     adddone
	VMOVUPS (SI), Y0
	VADDPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     add8

adddone:
	VZEROUPPER
	RET

// func dotAVX2(x, y *float32, n int) float32
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ   x+0(FP), SI
	MOVQ   y+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dot32:
	CMPQ        CX, $32
	JLT         dot8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         dot32

dot8:
	CMPQ        CX, $8
	JLT         dotdone
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         dot8

dotdone:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+24(FP)
	RET

// func sumSquaresAVX2(x *float32, n int) float64   (n multiple of 16)
TEXT ·sumSquaresAVX2(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3

ss16:
	CMPQ        CX, $16
	JLT         ssdone
	VCVTPS2PD   (SI), Y4
	VCVTPS2PD   16(SI), Y5
	VCVTPS2PD   32(SI), Y6
	VCVTPS2PD   48(SI), Y7
	VFMADD231PD Y4, Y4, Y0
	VFMADD231PD Y5, Y5, Y1
	VFMADD231PD Y6, Y6, Y2
	VFMADD231PD Y7, Y7, Y3
	ADDQ        $64, SI
	SUBQ        $16, CX
	JMP         ss16

ssdone:
	VADDPD       Y1, Y0, Y0
	VADDPD       Y3, Y2, Y2
	VADDPD       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VHADDPD      X0, X0, X0
	VZEROUPPER
	MOVSD        X0, ret+16(FP)
	RET

// func maxAVX2(x *float32, n int) float32
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ    x+0(FP), SI
	MOVQ    n+8(FP), CX
	VMOVUPS (SI), Y0
	VMOVAPS Y0, Y1
	VMOVAPS Y0, Y2
	VMOVAPS Y0, Y3
	ADDQ    $32, SI
	SUBQ    $8, CX

max32:
	CMPQ   CX, $32
	JLT    max8
	VMAXPS (SI), Y0, Y0
	VMAXPS 32(SI), Y1, Y1
	VMAXPS 64(SI), Y2, Y2
	VMAXPS 96(SI), Y3, Y3
	ADDQ   $128, SI
	SUBQ   $32, CX
	JMP    max32

max8:
	CMPQ   CX, $8
	JLT    maxdone
	VMAXPS (SI), Y0, Y0
	ADDQ   $32, SI
	SUBQ   $8, CX
	JMP    max8

maxdone:
	VMAXPS       Y1, Y0, Y0
	VMAXPS       Y3, Y2, Y2
	VMAXPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0x4e, X0, X1
	VMAXPS       X1, X0, X0
	VPERMILPS    $0xb1, X0, X1
	VMAXPS       X1, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+16(FP)
	RET

// func mulScaledAVX2(out, x, w *float32, n int, s float32)
TEXT ·mulScaledAVX2(SB), NOSPLIT, $0-36
	MOVQ         out+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         w+16(FP), DX
	MOVQ         n+24(FP), CX
	VBROADCASTSS s+32(FP), Y15

ms16:
	CMPQ    CX, $16
	JLT     ms8
	VMULPS  (SI), Y15, Y0
	VMULPS  32(SI), Y15, Y1
	VMULPS  (DX), Y0, Y0
	VMULPS  32(DX), Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	ADDQ    $64, SI
	ADDQ    $64, DX
	ADDQ    $64, DI
	SUBQ    $16, CX
	JMP     ms16

ms8:
	CMPQ    CX, $8
	JLT     msdone
	VMULPS  (SI), Y15, Y0
	VMULPS  (DX), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     ms8

msdone:
	VZEROUPPER
	RET

// func expAffineSumAVX2(dst, src *float32, n int, a, b float32) float64
TEXT ·expAffineSumAVX2(SB), NOSPLIT, $0-40
	MOVQ         dst+0(FP), DI
	MOVQ         src+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS a+24(FP), Y8
	VBROADCASTSS b+28(FP), Y9
	VMOVUPS      expc<>+320(SB), Y14
	VMOVUPS      expc<>+352(SB), Y15
	VXORPD       Y12, Y12, Y12
	VXORPD       Y13, Y13, Y13
	TESTQ        DI, DI
	JZ           eans

eas:
	CMPQ        CX, $8
	JLT         eadone
	VMOVUPS     (SI), Y0
	VFMSUB213PS Y9, Y8, Y0
	EXP8
	VMOVUPS     Y3, (DI)
	SUM64(Y12, Y13)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         eas

eans:
	CMPQ        CX, $8
	JLT         eadone
	VMOVUPS     (SI), Y0
	VFMSUB213PS Y9, Y8, Y0
	EXP8
	SUM64(Y12, Y13)
	ADDQ        $32, SI
	SUBQ        $8, CX
	JMP         eans

eadone:
	VADDPD       Y13, Y12, Y12
	VEXTRACTF128 $1, Y12, X13
	VADDPD       X13, X12, X12
	VHADDPD      X12, X12, X12
	VZEROUPPER
	MOVSD        X12, ret+32(FP)
	RET

// func swigluAVX2(out, gate, up *float32, n int)
// out = g*u / (1 + exp(-g))
TEXT ·swigluAVX2(SB), NOSPLIT, $0-32
	MOVQ    out+0(FP), DI
	MOVQ    gate+8(FP), SI
	MOVQ    up+16(FP), DX
	MOVQ    n+24(FP), CX
	VMOVUPS expc<>+320(SB), Y14
	VMOVUPS expc<>+352(SB), Y15
	VXORPS  Y13, Y13, Y13

sw8:
	CMPQ    CX, $8
	JLT     swdone
	VMOVUPS (SI), Y7
	VSUBPS  Y7, Y13, Y0
	EXP8
	VADDPS  expc<>+288(SB), Y3, Y3
	VMULPS  (DX), Y7, Y4
	VDIVPS  Y3, Y4, Y4
	VMOVUPS Y4, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     sw8

swdone:
	VZEROUPPER
	RET

// func swigluBackAVX2(dg, du, dout, gate, up *float32, n int)
// s = 1/(1+exp(-g)); dg = (dout*s)*u*(g*(1-s)+1); du = (dout*s)*g.
// All inputs of a block are loaded before its outputs are stored, so dg/du
// may alias gate/up.
TEXT ·swigluBackAVX2(SB), NOSPLIT, $0-48
	MOVQ    dg+0(FP), DI
	MOVQ    du+8(FP), R8
	MOVQ    dout+16(FP), BX
	MOVQ    gate+24(FP), SI
	MOVQ    up+32(FP), DX
	MOVQ    n+40(FP), CX
	VMOVUPS expc<>+320(SB), Y14
	VMOVUPS expc<>+352(SB), Y15
	VXORPS  Y13, Y13, Y13

swb8:
	CMPQ        CX, $8
	JLT         swbdone
	VMOVUPS     (SI), Y7
	VMOVUPS     (DX), Y8
	VMOVUPS     (BX), Y9
	VSUBPS      Y7, Y13, Y0
	EXP8
	VADDPS      expc<>+288(SB), Y3, Y3
	VMOVUPS     expc<>+288(SB), Y10
	VDIVPS      Y3, Y10, Y10
	VMOVUPS     expc<>+288(SB), Y11
	VSUBPS      Y10, Y11, Y11
	VFMADD213PS expc<>+288(SB), Y7, Y11
	VMULPS      Y10, Y9, Y12
	VMULPS      Y7, Y12, Y4
	VMULPS      Y8, Y12, Y12
	VMULPS      Y11, Y12, Y12
	VMOVUPS     Y12, (DI)
	VMOVUPS     Y4, (R8)
	ADDQ        $32, SI
	ADDQ        $32, DX
	ADDQ        $32, BX
	ADDQ        $32, DI
	ADDQ        $32, R8
	SUBQ        $8, CX
	JMP         swb8

swbdone:
	VZEROUPPER
	RET

// func adamwAVX2(p, grad, m, v *float32, n int, h adamHyper)
// h is passed by value (so the Go caller's copy does not escape through the
// dispatch table's function value): lr, lrwd, b1, ob1, b2, ob2, bc1, bc2,
// eps (float32), decay (int32, nonzero: apply weight decay).
TEXT ·adamwAVX2(SB), NOSPLIT, $0-80
	MOVQ         p+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         m+16(FP), DX
	MOVQ         v+24(FP), BX
	MOVQ         n+32(FP), CX
	VBROADCASTSS h_lr+40(FP), Y7
	VBROADCASTSS h_lrwd+44(FP), Y8
	VBROADCASTSS h_b1+48(FP), Y9
	VBROADCASTSS h_ob1+52(FP), Y10
	VBROADCASTSS h_b2+56(FP), Y11
	VBROADCASTSS h_ob2+60(FP), Y12
	VBROADCASTSS h_bc1+64(FP), Y13
	VBROADCASTSS h_bc2+68(FP), Y14
	VBROADCASTSS h_eps+72(FP), Y15
	MOVL         h_decay+76(FP), R9

adam8:
	CMPQ         CX, $8
	JLT          adamdone
	VMOVUPS      (SI), Y0
	VMOVUPS      (DI), Y1
	TESTL        R9, R9
	JZ           adamnodecay
	VFNMADD231PS Y1, Y8, Y1

adamnodecay:
	VMULPS       Y0, Y10, Y2
	VFMADD231PS  (DX), Y9, Y2
	VMULPS       Y0, Y0, Y3
	VMULPS       Y3, Y12, Y3
	VFMADD231PS  (BX), Y11, Y3
	VMOVUPS      Y2, (DX)
	VMOVUPS      Y3, (BX)
	VDIVPS       Y13, Y2, Y2
	VDIVPS       Y14, Y3, Y3
	VSQRTPS      Y3, Y3
	VADDPS       Y15, Y3, Y3
	VMULPS       Y7, Y2, Y2
	VDIVPS       Y3, Y2, Y2
	VSUBPS       Y2, Y1, Y1
	VMOVUPS      Y1, (DI)
	ADDQ         $32, SI
	ADDQ         $32, DI
	ADDQ         $32, DX
	ADDQ         $32, BX
	SUBQ         $8, CX
	JMP          adam8

adamdone:
	VZEROUPPER
	RET

// func ropeAVX2(a, b, c, s *float32, n int, dir float32)
// (a, b) <- (a*c - b*(dir*s), b*c + a*(dir*s)), dir = +1 or -1.
TEXT ·ropeAVX2(SB), NOSPLIT, $0-44
	MOVQ         a+0(FP), DI
	MOVQ         b+8(FP), SI
	MOVQ         c+16(FP), DX
	MOVQ         s+24(FP), BX
	MOVQ         n+32(FP), CX
	VBROADCASTSS dir+40(FP), Y15

rope8:
	CMPQ         CX, $8
	JLT          ropedone
	VMOVUPS      (DI), Y0
	VMOVUPS      (SI), Y1
	VMOVUPS      (DX), Y2
	VMULPS       (BX), Y15, Y3
	VMULPS       Y2, Y0, Y4
	VFNMADD231PS Y3, Y1, Y4
	VMULPS       Y2, Y1, Y5
	VFMADD231PS  Y3, Y0, Y5
	VMOVUPS      Y4, (DI)
	VMOVUPS      Y5, (SI)
	ADDQ         $32, DI
	ADDQ         $32, SI
	ADDQ         $32, DX
	ADDQ         $32, BX
	SUBQ         $8, CX
	JMP          rope8

ropedone:
	VZEROUPPER
	RET

// func rmsBackAVX2(dx, dw, dy, x, w *float32, n int, rs, c float32)
// dx += rs*w*dy - c*x; dw += dy*x*rs.
TEXT ·rmsBackAVX2(SB), NOSPLIT, $0-56
	MOVQ         dx+0(FP), DI
	MOVQ         dw+8(FP), R8
	MOVQ         dy+16(FP), BX
	MOVQ         x+24(FP), SI
	MOVQ         w+32(FP), DX
	MOVQ         n+40(FP), CX
	VBROADCASTSS rs+48(FP), Y14
	VBROADCASTSS c+52(FP), Y15

rmsb8:
	CMPQ         CX, $8
	JLT          rmsbdone
	VMOVUPS      (BX), Y0
	VMOVUPS      (SI), Y1
	VMULPS       Y14, Y0, Y2
	VMULPS       (DX), Y2, Y3
	VFNMADD231PS Y1, Y15, Y3
	VADDPS       (DI), Y3, Y3
	VMOVUPS      Y3, (DI)
	VFMADD213PS  (R8), Y1, Y2
	VMOVUPS      Y2, (R8)
	ADDQ         $32, DI
	ADDQ         $32, R8
	ADDQ         $32, BX
	ADDQ         $32, SI
	ADDQ         $32, DX
	SUBQ         $8, CX
	JMP          rmsb8

rmsbdone:
	VZEROUPPER
	RET

// func dot3AVX2(a, b, c *float32, n int) float32   sum(a*b*c)
TEXT ·dot3AVX2(SB), NOSPLIT, $0-36
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DX
	MOVQ   c+16(FP), BX
	MOVQ   n+24(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1

d3_16:
	CMPQ        CX, $16
	JLT         d3_8
	VMOVUPS     (SI), Y2
	VMOVUPS     32(SI), Y3
	VMULPS      (DX), Y2, Y2
	VMULPS      32(DX), Y3, Y3
	VFMADD231PS (BX), Y2, Y0
	VFMADD231PS 32(BX), Y3, Y1
	ADDQ        $64, SI
	ADDQ        $64, DX
	ADDQ        $64, BX
	SUBQ        $16, CX
	JMP         d3_16

d3_8:
	CMPQ        CX, $8
	JLT         d3done
	VMOVUPS     (SI), Y2
	VMULPS      (DX), Y2, Y2
	VFMADD231PS (BX), Y2, Y0
	ADDQ        $32, SI
	ADDQ        $32, DX
	ADDQ        $32, BX
	SUBQ        $8, CX
	JMP         d3_8

d3done:
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+32(FP)
	RET

// Float64 exponential for the Sinkhorn lanes on the avx2 path
// (sinkExpAVX2): the algorithm of sinkExpAVX512 (elem512_amd64.s: clamp to
// [−746, 710], k = round(x·log2e), two-part ln2 reduction with FMAs,
// degree-13 Taylor polynomial) with 4 lanes per ymm. 2^k has no VSCALEFPD
// here: k is split as k1 = floor(k/2), k2 = k − k1, each 2^ki built in the
// exponent bits (ki + 1023 via the 0x1.8p52 shift), and p·2^k1 (exact)
// ·2^k2 rounds once, so subnormal results, the underflow to 0 and the
// overflow to +Inf are as with VSCALEFPD.
//
// Constants, 4 copies each (32 bytes apart): 0 lo, 32 hi, 64 log2e, 96 ln2hi, 128 ln2lo, 160 1/2!, 192 1/3!, 224 1/4!, 256 1/5!, 288 1/6!, 320 1/7!, 352 1/8!, 384 1/9!, 416 1/10!, 448 1/11!, 480 1/12!, 512 1/13!, 544 one, 576 half, 608 magic 0x1.8p52.
DATA expd4<>+0(SB)/8, $0xc087500000000000 // lo
DATA expd4<>+8(SB)/8, $0xc087500000000000
DATA expd4<>+16(SB)/8, $0xc087500000000000
DATA expd4<>+24(SB)/8, $0xc087500000000000
DATA expd4<>+32(SB)/8, $0x4086300000000000 // hi
DATA expd4<>+40(SB)/8, $0x4086300000000000
DATA expd4<>+48(SB)/8, $0x4086300000000000
DATA expd4<>+56(SB)/8, $0x4086300000000000
DATA expd4<>+64(SB)/8, $0x3ff71547652b82fe // log2e
DATA expd4<>+72(SB)/8, $0x3ff71547652b82fe
DATA expd4<>+80(SB)/8, $0x3ff71547652b82fe
DATA expd4<>+88(SB)/8, $0x3ff71547652b82fe
DATA expd4<>+96(SB)/8, $0x3fe62e42fefa39ef // ln2hi
DATA expd4<>+104(SB)/8, $0x3fe62e42fefa39ef
DATA expd4<>+112(SB)/8, $0x3fe62e42fefa39ef
DATA expd4<>+120(SB)/8, $0x3fe62e42fefa39ef
DATA expd4<>+128(SB)/8, $0x3c7abc9e3b39803f // ln2lo
DATA expd4<>+136(SB)/8, $0x3c7abc9e3b39803f
DATA expd4<>+144(SB)/8, $0x3c7abc9e3b39803f
DATA expd4<>+152(SB)/8, $0x3c7abc9e3b39803f
DATA expd4<>+160(SB)/8, $0x3fe0000000000000 // 1/2!
DATA expd4<>+168(SB)/8, $0x3fe0000000000000
DATA expd4<>+176(SB)/8, $0x3fe0000000000000
DATA expd4<>+184(SB)/8, $0x3fe0000000000000
DATA expd4<>+192(SB)/8, $0x3fc5555555555555 // 1/3!
DATA expd4<>+200(SB)/8, $0x3fc5555555555555
DATA expd4<>+208(SB)/8, $0x3fc5555555555555
DATA expd4<>+216(SB)/8, $0x3fc5555555555555
DATA expd4<>+224(SB)/8, $0x3fa5555555555555 // 1/4!
DATA expd4<>+232(SB)/8, $0x3fa5555555555555
DATA expd4<>+240(SB)/8, $0x3fa5555555555555
DATA expd4<>+248(SB)/8, $0x3fa5555555555555
DATA expd4<>+256(SB)/8, $0x3f81111111111111 // 1/5!
DATA expd4<>+264(SB)/8, $0x3f81111111111111
DATA expd4<>+272(SB)/8, $0x3f81111111111111
DATA expd4<>+280(SB)/8, $0x3f81111111111111
DATA expd4<>+288(SB)/8, $0x3f56c16c16c16c17 // 1/6!
DATA expd4<>+296(SB)/8, $0x3f56c16c16c16c17
DATA expd4<>+304(SB)/8, $0x3f56c16c16c16c17
DATA expd4<>+312(SB)/8, $0x3f56c16c16c16c17
DATA expd4<>+320(SB)/8, $0x3f2a01a01a01a01a // 1/7!
DATA expd4<>+328(SB)/8, $0x3f2a01a01a01a01a
DATA expd4<>+336(SB)/8, $0x3f2a01a01a01a01a
DATA expd4<>+344(SB)/8, $0x3f2a01a01a01a01a
DATA expd4<>+352(SB)/8, $0x3efa01a01a01a01a // 1/8!
DATA expd4<>+360(SB)/8, $0x3efa01a01a01a01a
DATA expd4<>+368(SB)/8, $0x3efa01a01a01a01a
DATA expd4<>+376(SB)/8, $0x3efa01a01a01a01a
DATA expd4<>+384(SB)/8, $0x3ec71de3a556c734 // 1/9!
DATA expd4<>+392(SB)/8, $0x3ec71de3a556c734
DATA expd4<>+400(SB)/8, $0x3ec71de3a556c734
DATA expd4<>+408(SB)/8, $0x3ec71de3a556c734
DATA expd4<>+416(SB)/8, $0x3e927e4fb7789f5c // 1/10!
DATA expd4<>+424(SB)/8, $0x3e927e4fb7789f5c
DATA expd4<>+432(SB)/8, $0x3e927e4fb7789f5c
DATA expd4<>+440(SB)/8, $0x3e927e4fb7789f5c
DATA expd4<>+448(SB)/8, $0x3e5ae64567f544e4 // 1/11!
DATA expd4<>+456(SB)/8, $0x3e5ae64567f544e4
DATA expd4<>+464(SB)/8, $0x3e5ae64567f544e4
DATA expd4<>+472(SB)/8, $0x3e5ae64567f544e4
DATA expd4<>+480(SB)/8, $0x3e21eed8eff8d898 // 1/12!
DATA expd4<>+488(SB)/8, $0x3e21eed8eff8d898
DATA expd4<>+496(SB)/8, $0x3e21eed8eff8d898
DATA expd4<>+504(SB)/8, $0x3e21eed8eff8d898
DATA expd4<>+512(SB)/8, $0x3de6124613a86d09 // 1/13!
DATA expd4<>+520(SB)/8, $0x3de6124613a86d09
DATA expd4<>+528(SB)/8, $0x3de6124613a86d09
DATA expd4<>+536(SB)/8, $0x3de6124613a86d09
DATA expd4<>+544(SB)/8, $0x3ff0000000000000 // one
DATA expd4<>+552(SB)/8, $0x3ff0000000000000
DATA expd4<>+560(SB)/8, $0x3ff0000000000000
DATA expd4<>+568(SB)/8, $0x3ff0000000000000
DATA expd4<>+576(SB)/8, $0x3fe0000000000000 // half
DATA expd4<>+584(SB)/8, $0x3fe0000000000000
DATA expd4<>+592(SB)/8, $0x3fe0000000000000
DATA expd4<>+600(SB)/8, $0x3fe0000000000000
DATA expd4<>+608(SB)/8, $0x4338000000000000 // magic 0x1.8p52
DATA expd4<>+616(SB)/8, $0x4338000000000000
DATA expd4<>+624(SB)/8, $0x4338000000000000
DATA expd4<>+632(SB)/8, $0x4338000000000000
GLOBL expd4<>(SB), RODATA|NOPTR, $640

// EXPPD4: Y3 = exp(Y1) for 4 float64 lanes; needs Y8 lo, Y9 hi, Y10 log2e,
// Y11 ln2hi, Y12 ln2lo, Y13 one, Y14 half, Y15 magic. Clobbers Y1, Y2, Y4,
// Y5.
#define EXPPD4 \
	VMAXPD       Y1, Y8, Y1; \
	VMINPD       Y1, Y9, Y1; \
	VMULPD       Y10, Y1, Y2; \
	VROUNDPD     $0, Y2, Y2; \
	VFNMADD231PD Y11, Y2, Y1; \
	VFNMADD231PD Y12, Y2, Y1; \
	VMOVUPD      expd4<>+512(SB), Y3; \
	VFMADD213PD  expd4<>+480(SB), Y1, Y3; \
	VFMADD213PD  expd4<>+448(SB), Y1, Y3; \
	VFMADD213PD  expd4<>+416(SB), Y1, Y3; \
	VFMADD213PD  expd4<>+384(SB), Y1, Y3; \
	VFMADD213PD  expd4<>+352(SB), Y1, Y3; \
	VFMADD213PD  expd4<>+320(SB), Y1, Y3; \
	VFMADD213PD  expd4<>+288(SB), Y1, Y3; \
	VFMADD213PD  expd4<>+256(SB), Y1, Y3; \
	VFMADD213PD  expd4<>+224(SB), Y1, Y3; \
	VFMADD213PD  expd4<>+192(SB), Y1, Y3; \
	VFMADD213PD  expd4<>+160(SB), Y1, Y3; \
	VFMADD213PD  Y13, Y1, Y3; \
	VFMADD213PD  Y13, Y1, Y3; \
	VMULPD       Y14, Y2, Y4; \
	VROUNDPD     $1, Y4, Y4; \
	VSUBPD       Y4, Y2, Y2; \
	VADDPD       Y15, Y4, Y4; \
	VADDPD       Y15, Y2, Y2; \
	VPSLLQ       $52, Y4, Y4; \
	VPSLLQ       $52, Y2, Y2; \
	VPADDQ       Y13, Y4, Y4; \
	VPADDQ       Y13, Y2, Y2; \
	VMULPD       Y4, Y3, Y3; \
	VMULPD       Y2, Y3, Y3

// func sinkExpAVX2(m *float64, n int)
// sinkExpAVX512 with two ymm (lanes 0–3, 4–7) per element.
TEXT ·sinkExpAVX2(SB), NOSPLIT, $0-16
	MOVQ    m+0(FP), DI
	MOVQ    n+8(FP), CX
	VMOVUPD expd4<>+0(SB), Y8
	VMOVUPD expd4<>+32(SB), Y9
	VMOVUPD expd4<>+64(SB), Y10
	VMOVUPD expd4<>+96(SB), Y11
	VMOVUPD expd4<>+128(SB), Y12
	VMOVUPD expd4<>+544(SB), Y13
	VMOVUPD expd4<>+576(SB), Y14
	VMOVUPD expd4<>+608(SB), Y15
	MOVQ    CX, R8
	SHLQ    $6, R8
	MOVQ    CX, R9

se2col:
	VMOVUPD (DI), Y0
	VMOVUPD 32(DI), Y6
	LEAQ    (DI)(R8*1), DX
	MOVQ    CX, R10
	DECQ    R10

se2max:
	TESTQ  R10, R10
	JZ     se2exp0
	VMAXPD (DX), Y0, Y0
	VMAXPD 32(DX), Y6, Y6
	ADDQ   R8, DX
	DECQ   R10
	JMP    se2max

se2exp0:
	MOVQ DI, DX
	MOVQ CX, R10

se2exp:
	VMOVUPD (DX), Y1
	VSUBPD  Y0, Y1, Y1
	EXPPD4
	VMOVUPD Y3, (DX)
	VMOVUPD 32(DX), Y1
	VSUBPD  Y6, Y1, Y1
	EXPPD4
	VMOVUPD Y3, 32(DX)
	ADDQ    R8, DX
	DECQ    R10
	JNZ     se2exp
	ADDQ    $64, DI
	DECQ    R9
	JNZ     se2col
	VZEROUPPER
	RET
