//go:build amd64 && !purego

#include "textflag.h"

// Sinkhorn-Knopp lanes (see sinkhorn.go and conn_amd64.go): SinkLanes = 8
// float64 problems side by side, lane-minor, so the same element of 8
// tokens is 64 contiguous bytes. The AVX-512 loops hold all 8 lanes in one
// zmm; the AVX2 loops hold 4 (ymm) and are called once per half. Products
// and sums are separate instructions (no FMA), in the order of the Go
// loops, so every path computes the same bits. steps ≥ 1, n ≥ 1.
//
// Registers: SI base of m0 (forward) or g (backward), R15 m0 (backward),
// R8/R9 r and c of the current step, R10 its inv, R11 = n·64 (bytes of a
// block of n lane vectors), DX steps left, BX 0 when the step normalises
// columns (flips every step).

// func sinkStepsAVX512(m0, rv, cv, inv *float64, n, steps, colPar int, eps float64)
TEXT ·sinkStepsAVX512(SB), NOSPLIT, $0-64
	MOVQ m0+0(FP), SI
	MOVQ rv+8(FP), R8
	MOVQ cv+16(FP), R9
	MOVQ inv+24(FP), R10
	MOVQ n+32(FP), R11
	SHLQ $6, R11 // bytes per block of n lane vectors
	MOVQ steps+40(FP), DX
	MOVQ colPar+48(FP), BX // 0: this step normalises columns; flips every step
	VBROADCASTSD eps+56(FP), Z30
	MOVQ $0x3ff0000000000000, AX
	VPBROADCASTQ AX, Z31
	CMPQ R11, $256
	JEQ f4AVX512

fstepAVX512:
	LEAQ (R8)(R11*1), R14 // rn
	LEAQ (R9)(R11*1), R15 // cn
	TESTQ BX, BX
	JNZ frowAVX512
	XORQ DI, DI
fcoljAVX512:
	VPXORQ Z0, Z0, Z0
	LEAQ (SI)(DI*1), AX
	MOVQ R8, R12
	LEAQ (R8)(R11*1), R13
fcoliAVX512:
	VMOVUPD (R12), Z1
	VMULPD (AX), Z1, Z1
	VADDPD Z1, Z0, Z0
	ADDQ $64, R12
	ADDQ R11, AX
	CMPQ R12, R13
	JLT fcoliAVX512
	VMOVUPD (R9)(DI*1), Z2
	VMULPD Z0, Z2, Z3
	VADDPD Z30, Z3, Z3
	VDIVPD Z3, Z31, Z4
	VMOVUPD Z4, (R10)(DI*1)
	VMULPD Z4, Z2, Z5
	VMOVUPD Z5, (R15)(DI*1)
	ADDQ $64, DI
	CMPQ DI, R11
	JLT fcoljAVX512
	XORQ DI, DI
fcolcpAVX512:
	VMOVUPD (R8)(DI*1), Z0
	VMOVUPD Z0, (R14)(DI*1)
	ADDQ $64, DI
	CMPQ DI, R11
	JLT fcolcpAVX512
	JMP fnextAVX512
frowAVX512:
	XORQ DI, DI
	MOVQ SI, AX
frowiAVX512:
	VPXORQ Z0, Z0, Z0
	MOVQ R9, R12
	LEAQ (R9)(R11*1), R13
frowjAVX512:
	VMOVUPD (AX), Z1
	VMULPD (R12), Z1, Z1
	VADDPD Z1, Z0, Z0
	ADDQ $64, AX
	ADDQ $64, R12
	CMPQ R12, R13
	JLT frowjAVX512
	VMOVUPD (R8)(DI*1), Z2
	VMULPD Z0, Z2, Z3
	VADDPD Z30, Z3, Z3
	VDIVPD Z3, Z31, Z4
	VMOVUPD Z4, (R10)(DI*1)
	VMULPD Z4, Z2, Z5
	VMOVUPD Z5, (R14)(DI*1)
	ADDQ $64, DI
	CMPQ DI, R11
	JLT frowiAVX512
	XORQ DI, DI
frowcpAVX512:
	VMOVUPD (R9)(DI*1), Z0
	VMOVUPD Z0, (R15)(DI*1)
	ADDQ $64, DI
	CMPQ DI, R11
	JLT frowcpAVX512
fnextAVX512:
	MOVQ R14, R8
	MOVQ R15, R9
	ADDQ R11, R10
	XORQ $1, BX
	DECQ DX
	JNZ fstepAVX512
	VZEROUPPER
	RET

// n = 4, everything in registers: M0[i,j] in Z(4i+j), r in Z16–Z19, c in
// Z20–Z23, Z29 zero, Z30 eps, Z31 one; the scalings are written out each
// step (they are the outputs) but never read back, which takes the
// store-to-load round trip off the step-to-step dependency chain. Same
// operations in the same order as the general loop (sums start from 0).
// R8/R9/R10 point at the step's output blocks (256 bytes each).

// F4COL: column step for the column whose M0 entries are m0..m3 and whose
// scaling register is c (updated), at byte offset off of the blocks.
#define F4COL(m0, m1, m2, m3, c, off) \
	VMULPD  Z16, m0, Z24; \
	VADDPD  Z24, Z29, Z25; \
	VMULPD  Z17, m1, Z24; \
	VADDPD  Z24, Z25, Z25; \
	VMULPD  Z18, m2, Z24; \
	VADDPD  Z24, Z25, Z25; \
	VMULPD  Z19, m3, Z24; \
	VADDPD  Z24, Z25, Z25; \
	VMULPD  Z25, c, Z26; \
	VADDPD  Z30, Z26, Z26; \
	VDIVPD  Z26, Z31, Z26; \
	VMOVUPD Z26, off(R10); \
	VMULPD  Z26, c, c; \
	VMOVUPD c, off(R9)

// F4ROW: row step for the row whose M0 entries are m0..m3 and whose
// scaling register is r (updated).
#define F4ROW(m0, m1, m2, m3, r, off) \
	VMULPD  Z20, m0, Z24; \
	VADDPD  Z24, Z29, Z25; \
	VMULPD  Z21, m1, Z24; \
	VADDPD  Z24, Z25, Z25; \
	VMULPD  Z22, m2, Z24; \
	VADDPD  Z24, Z25, Z25; \
	VMULPD  Z23, m3, Z24; \
	VADDPD  Z24, Z25, Z25; \
	VMULPD  Z25, r, Z26; \
	VADDPD  Z30, Z26, Z26; \
	VDIVPD  Z26, Z31, Z26; \
	VMOVUPD Z26, off(R10); \
	VMULPD  Z26, r, r; \
	VMOVUPD r, off(R8)

f4AVX512:
	VMOVUPD 0(SI), Z0
	VMOVUPD 64(SI), Z1
	VMOVUPD 128(SI), Z2
	VMOVUPD 192(SI), Z3
	VMOVUPD 256(SI), Z4
	VMOVUPD 320(SI), Z5
	VMOVUPD 384(SI), Z6
	VMOVUPD 448(SI), Z7
	VMOVUPD 512(SI), Z8
	VMOVUPD 576(SI), Z9
	VMOVUPD 640(SI), Z10
	VMOVUPD 704(SI), Z11
	VMOVUPD 768(SI), Z12
	VMOVUPD 832(SI), Z13
	VMOVUPD 896(SI), Z14
	VMOVUPD 960(SI), Z15
	VMOVUPD 0(R8), Z16
	VMOVUPD 64(R8), Z17
	VMOVUPD 128(R8), Z18
	VMOVUPD 192(R8), Z19
	VMOVUPD 0(R9), Z20
	VMOVUPD 64(R9), Z21
	VMOVUPD 128(R9), Z22
	VMOVUPD 192(R9), Z23
	VPXORQ  Z29, Z29, Z29

f4step:
	ADDQ  $256, R8
	ADDQ  $256, R9
	TESTQ BX, BX
	JNZ   f4row
	F4COL(Z0, Z4, Z8, Z12, Z20, 0)
	F4COL(Z1, Z5, Z9, Z13, Z21, 64)
	F4COL(Z2, Z6, Z10, Z14, Z22, 128)
	F4COL(Z3, Z7, Z11, Z15, Z23, 192)
	VMOVUPD Z16, 0(R8)
	VMOVUPD Z17, 64(R8)
	VMOVUPD Z18, 128(R8)
	VMOVUPD Z19, 192(R8)
	JMP     f4next

f4row:
	F4ROW(Z0, Z1, Z2, Z3, Z16, 0)
	F4ROW(Z4, Z5, Z6, Z7, Z17, 64)
	F4ROW(Z8, Z9, Z10, Z11, Z18, 128)
	F4ROW(Z12, Z13, Z14, Z15, Z19, 192)
	VMOVUPD Z20, 0(R9)
	VMOVUPD Z21, 64(R9)
	VMOVUPD Z22, 128(R9)
	VMOVUPD Z23, 192(R9)

f4next:
	ADDQ $256, R10
	XORQ $1, BX
	DECQ DX
	JNZ  f4step
	VZEROUPPER
	RET

// func sinkBackAVX512(dg, m0, rv, cv, inv *float64, n, steps, colPar int)
TEXT ·sinkBackAVX512(SB), NOSPLIT, $0-64
	MOVQ dg+0(FP), SI
	MOVQ m0+8(FP), R15
	MOVQ n+40(FP), R11
	SHLQ $6, R11
	MOVQ steps+48(FP), DX
	MOVQ DX, AX
	IMULQ R11, AX // steps·n·64
	MOVQ rv+16(FP), R8
	ADDQ AX, R8 // r after the last step
	MOVQ cv+24(FP), R9
	ADDQ AX, R9
	MOVQ inv+32(FP), R10
	ADDQ AX, R10
	SUBQ R11, R10 // inv of the last step
	MOVQ DX, BX
	DECQ BX
	ANDQ $1, BX
	XORQ colPar+56(FP), BX // 0: step normalises columns
	CMPQ R11, $256
	JEQ b4AVX512
bstepAVX512:
	TESTQ BX, BX
	JNZ browAVX512
	XORQ DI, DI
bcoljAVX512:
	VPXORQ Z0, Z0, Z0
	LEAQ (SI)(DI*1), AX
	LEAQ (R15)(DI*1), R14
	MOVQ R8, R12
	LEAQ (R8)(R11*1), R13
bcoliAVX512:
	VMOVUPD (AX), Z1
	VMULPD (R12), Z1, Z1
	VMULPD (R14), Z1, Z1
	VADDPD Z1, Z0, Z0
	ADDQ $64, R12
	ADDQ R11, AX
	ADDQ R11, R14
	CMPQ R12, R13
	JLT bcoliAVX512
	VMULPD (R9)(DI*1), Z0, Z0
	VMOVUPD (R10)(DI*1), Z2
	LEAQ (SI)(DI*1), AX
	MOVQ R8, R12
bcoli2AVX512:
	VMOVUPD (AX), Z1
	VSUBPD Z0, Z1, Z1
	VMULPD Z2, Z1, Z1
	VMOVUPD Z1, (AX)
	ADDQ $64, R12
	ADDQ R11, AX
	CMPQ R12, R13
	JLT bcoli2AVX512
	ADDQ $64, DI
	CMPQ DI, R11
	JLT bcoljAVX512
	JMP bnextAVX512
browAVX512:
	XORQ DI, DI
	MOVQ SI, AX
	MOVQ R15, R14
browiAVX512:
	VPXORQ Z0, Z0, Z0
	MOVQ R9, R12
	LEAQ (R9)(R11*1), R13
browjAVX512:
	VMOVUPD (AX), Z1
	VMULPD (R14), Z1, Z1
	VMULPD (R12), Z1, Z1
	VADDPD Z1, Z0, Z0
	ADDQ $64, AX
	ADDQ $64, R14
	ADDQ $64, R12
	CMPQ R12, R13
	JLT browjAVX512
	VMULPD (R8)(DI*1), Z0, Z0
	VMOVUPD (R10)(DI*1), Z2
	SUBQ R11, AX
	MOVQ R9, R12
browj2AVX512:
	VMOVUPD (AX), Z1
	VSUBPD Z0, Z1, Z1
	VMULPD Z2, Z1, Z1
	VMOVUPD Z1, (AX)
	ADDQ $64, AX
	ADDQ $64, R12
	CMPQ R12, R13
	JLT browj2AVX512
	ADDQ $64, DI
	CMPQ DI, R11
	JLT browiAVX512
bnextAVX512:
	SUBQ R11, R8
	SUBQ R11, R9
	SUBQ R11, R10
	XORQ $1, BX
	DECQ DX
	JNZ bstepAVX512
	VZEROUPPER
	RET

// n = 4 with g in registers (g[i,j] in Z(4i+j)), Z29 zero; M0, r, c and
// inv are read from memory (off the dependency chain), g is loaded once
// and stored once. Same operations in the same order as the general loop.

// B4COL: column step for the column held in g0..g3, whose M0 entries are
// at byte offsets o0..o3 of R15 (its r, c, inv offset is o0).
#define B4COL(g0, g1, g2, g3, o0, o1, o2, o3) \
	VMULPD  0(R8), g0, Z16; \
	VMULPD  o0(R15), Z16, Z16; \
	VADDPD  Z16, Z29, Z17; \
	VMULPD  64(R8), g1, Z16; \
	VMULPD  o1(R15), Z16, Z16; \
	VADDPD  Z16, Z17, Z17; \
	VMULPD  128(R8), g2, Z16; \
	VMULPD  o2(R15), Z16, Z16; \
	VADDPD  Z16, Z17, Z17; \
	VMULPD  192(R8), g3, Z16; \
	VMULPD  o3(R15), Z16, Z16; \
	VADDPD  Z16, Z17, Z17; \
	VMULPD  o0(R9), Z17, Z17; \
	VMOVUPD o0(R10), Z18; \
	VSUBPD  Z17, g0, g0; \
	VMULPD  Z18, g0, g0; \
	VSUBPD  Z17, g1, g1; \
	VMULPD  Z18, g1, g1; \
	VSUBPD  Z17, g2, g2; \
	VMULPD  Z18, g2, g2; \
	VSUBPD  Z17, g3, g3; \
	VMULPD  Z18, g3, g3

// B4ROW: row step for the row held in g0..g3, whose M0 entries are at byte
// offsets o0..o3 of R15; its r and inv are at offset ri.
#define B4ROW(g0, g1, g2, g3, o0, o1, o2, o3, ri) \
	VMULPD  o0(R15), g0, Z16; \
	VMULPD  0(R9), Z16, Z16; \
	VADDPD  Z16, Z29, Z17; \
	VMULPD  o1(R15), g1, Z16; \
	VMULPD  64(R9), Z16, Z16; \
	VADDPD  Z16, Z17, Z17; \
	VMULPD  o2(R15), g2, Z16; \
	VMULPD  128(R9), Z16, Z16; \
	VADDPD  Z16, Z17, Z17; \
	VMULPD  o3(R15), g3, Z16; \
	VMULPD  192(R9), Z16, Z16; \
	VADDPD  Z16, Z17, Z17; \
	VMULPD  ri(R8), Z17, Z17; \
	VMOVUPD ri(R10), Z18; \
	VSUBPD  Z17, g0, g0; \
	VMULPD  Z18, g0, g0; \
	VSUBPD  Z17, g1, g1; \
	VMULPD  Z18, g1, g1; \
	VSUBPD  Z17, g2, g2; \
	VMULPD  Z18, g2, g2; \
	VSUBPD  Z17, g3, g3; \
	VMULPD  Z18, g3, g3

b4AVX512:
	VMOVUPD 0(SI), Z0
	VMOVUPD 64(SI), Z1
	VMOVUPD 128(SI), Z2
	VMOVUPD 192(SI), Z3
	VMOVUPD 256(SI), Z4
	VMOVUPD 320(SI), Z5
	VMOVUPD 384(SI), Z6
	VMOVUPD 448(SI), Z7
	VMOVUPD 512(SI), Z8
	VMOVUPD 576(SI), Z9
	VMOVUPD 640(SI), Z10
	VMOVUPD 704(SI), Z11
	VMOVUPD 768(SI), Z12
	VMOVUPD 832(SI), Z13
	VMOVUPD 896(SI), Z14
	VMOVUPD 960(SI), Z15
	VPXORQ  Z29, Z29, Z29

b4step:
	TESTQ BX, BX
	JNZ   b4row
	B4COL(Z0, Z4, Z8, Z12, 0, 256, 512, 768)
	B4COL(Z1, Z5, Z9, Z13, 64, 320, 576, 832)
	B4COL(Z2, Z6, Z10, Z14, 128, 384, 640, 896)
	B4COL(Z3, Z7, Z11, Z15, 192, 448, 704, 960)
	JMP b4next

b4row:
	B4ROW(Z0, Z1, Z2, Z3, 0, 64, 128, 192, 0)
	B4ROW(Z4, Z5, Z6, Z7, 256, 320, 384, 448, 64)
	B4ROW(Z8, Z9, Z10, Z11, 512, 576, 640, 704, 128)
	B4ROW(Z12, Z13, Z14, Z15, 768, 832, 896, 960, 192)

b4next:
	SUBQ $256, R8
	SUBQ $256, R9
	SUBQ $256, R10
	XORQ $1, BX
	DECQ DX
	JNZ  b4step
	VMOVUPD Z0, 0(SI)
	VMOVUPD Z1, 64(SI)
	VMOVUPD Z2, 128(SI)
	VMOVUPD Z3, 192(SI)
	VMOVUPD Z4, 256(SI)
	VMOVUPD Z5, 320(SI)
	VMOVUPD Z6, 384(SI)
	VMOVUPD Z7, 448(SI)
	VMOVUPD Z8, 512(SI)
	VMOVUPD Z9, 576(SI)
	VMOVUPD Z10, 640(SI)
	VMOVUPD Z11, 704(SI)
	VMOVUPD Z12, 768(SI)
	VMOVUPD Z13, 832(SI)
	VMOVUPD Z14, 896(SI)
	VMOVUPD Z15, 960(SI)
	VZEROUPPER
	RET

// func sinkStepsAVX2(m0, rv, cv, inv *float64, n, steps, colPar int, eps float64)
TEXT ·sinkStepsAVX2(SB), NOSPLIT, $0-64
	MOVQ m0+0(FP), SI
	MOVQ rv+8(FP), R8
	MOVQ cv+16(FP), R9
	MOVQ inv+24(FP), R10
	MOVQ n+32(FP), R11
	SHLQ $6, R11 // bytes per block of n lane vectors
	MOVQ steps+40(FP), DX
	MOVQ colPar+48(FP), BX // 0: this step normalises columns; flips every step
	VBROADCASTSD eps+56(FP), Y14
	MOVQ $0x3ff0000000000000, AX
	MOVQ AX, X15
	VPBROADCASTQ X15, Y15

fstepAVX2:
	LEAQ (R8)(R11*1), R14 // rn
	LEAQ (R9)(R11*1), R15 // cn
	TESTQ BX, BX
	JNZ frowAVX2
	XORQ DI, DI
fcoljAVX2:
	VXORPD Y0, Y0, Y0
	LEAQ (SI)(DI*1), AX
	MOVQ R8, R12
	LEAQ (R8)(R11*1), R13
fcoliAVX2:
	VMOVUPD (R12), Y1
	VMULPD (AX), Y1, Y1
	VADDPD Y1, Y0, Y0
	ADDQ $64, R12
	ADDQ R11, AX
	CMPQ R12, R13
	JLT fcoliAVX2
	VMOVUPD (R9)(DI*1), Y2
	VMULPD Y0, Y2, Y3
	VADDPD Y14, Y3, Y3
	VDIVPD Y3, Y15, Y4
	VMOVUPD Y4, (R10)(DI*1)
	VMULPD Y4, Y2, Y5
	VMOVUPD Y5, (R15)(DI*1)
	ADDQ $64, DI
	CMPQ DI, R11
	JLT fcoljAVX2
	XORQ DI, DI
fcolcpAVX2:
	VMOVUPD (R8)(DI*1), Y0
	VMOVUPD Y0, (R14)(DI*1)
	ADDQ $64, DI
	CMPQ DI, R11
	JLT fcolcpAVX2
	JMP fnextAVX2
frowAVX2:
	XORQ DI, DI
	MOVQ SI, AX
frowiAVX2:
	VXORPD Y0, Y0, Y0
	MOVQ R9, R12
	LEAQ (R9)(R11*1), R13
frowjAVX2:
	VMOVUPD (AX), Y1
	VMULPD (R12), Y1, Y1
	VADDPD Y1, Y0, Y0
	ADDQ $64, AX
	ADDQ $64, R12
	CMPQ R12, R13
	JLT frowjAVX2
	VMOVUPD (R8)(DI*1), Y2
	VMULPD Y0, Y2, Y3
	VADDPD Y14, Y3, Y3
	VDIVPD Y3, Y15, Y4
	VMOVUPD Y4, (R10)(DI*1)
	VMULPD Y4, Y2, Y5
	VMOVUPD Y5, (R14)(DI*1)
	ADDQ $64, DI
	CMPQ DI, R11
	JLT frowiAVX2
	XORQ DI, DI
frowcpAVX2:
	VMOVUPD (R9)(DI*1), Y0
	VMOVUPD Y0, (R15)(DI*1)
	ADDQ $64, DI
	CMPQ DI, R11
	JLT frowcpAVX2
fnextAVX2:
	MOVQ R14, R8
	MOVQ R15, R9
	ADDQ R11, R10
	XORQ $1, BX
	DECQ DX
	JNZ fstepAVX2
	VZEROUPPER
	RET

// func sinkBackAVX2(dg, m0, rv, cv, inv *float64, n, steps, colPar int)
TEXT ·sinkBackAVX2(SB), NOSPLIT, $0-64
	MOVQ dg+0(FP), SI
	MOVQ m0+8(FP), R15
	MOVQ n+40(FP), R11
	SHLQ $6, R11
	MOVQ steps+48(FP), DX
	MOVQ DX, AX
	IMULQ R11, AX // steps·n·64
	MOVQ rv+16(FP), R8
	ADDQ AX, R8 // r after the last step
	MOVQ cv+24(FP), R9
	ADDQ AX, R9
	MOVQ inv+32(FP), R10
	ADDQ AX, R10
	SUBQ R11, R10 // inv of the last step
	MOVQ DX, BX
	DECQ BX
	ANDQ $1, BX
	XORQ colPar+56(FP), BX // 0: step normalises columns
bstepAVX2:
	TESTQ BX, BX
	JNZ browAVX2
	XORQ DI, DI
bcoljAVX2:
	VXORPD Y0, Y0, Y0
	LEAQ (SI)(DI*1), AX
	LEAQ (R15)(DI*1), R14
	MOVQ R8, R12
	LEAQ (R8)(R11*1), R13
bcoliAVX2:
	VMOVUPD (AX), Y1
	VMULPD (R12), Y1, Y1
	VMULPD (R14), Y1, Y1
	VADDPD Y1, Y0, Y0
	ADDQ $64, R12
	ADDQ R11, AX
	ADDQ R11, R14
	CMPQ R12, R13
	JLT bcoliAVX2
	VMULPD (R9)(DI*1), Y0, Y0
	VMOVUPD (R10)(DI*1), Y2
	LEAQ (SI)(DI*1), AX
	MOVQ R8, R12
bcoli2AVX2:
	VMOVUPD (AX), Y1
	VSUBPD Y0, Y1, Y1
	VMULPD Y2, Y1, Y1
	VMOVUPD Y1, (AX)
	ADDQ $64, R12
	ADDQ R11, AX
	CMPQ R12, R13
	JLT bcoli2AVX2
	ADDQ $64, DI
	CMPQ DI, R11
	JLT bcoljAVX2
	JMP bnextAVX2
browAVX2:
	XORQ DI, DI
	MOVQ SI, AX
	MOVQ R15, R14
browiAVX2:
	VXORPD Y0, Y0, Y0
	MOVQ R9, R12
	LEAQ (R9)(R11*1), R13
browjAVX2:
	VMOVUPD (AX), Y1
	VMULPD (R14), Y1, Y1
	VMULPD (R12), Y1, Y1
	VADDPD Y1, Y0, Y0
	ADDQ $64, AX
	ADDQ $64, R14
	ADDQ $64, R12
	CMPQ R12, R13
	JLT browjAVX2
	VMULPD (R8)(DI*1), Y0, Y0
	VMOVUPD (R10)(DI*1), Y2
	SUBQ R11, AX
	MOVQ R9, R12
browj2AVX2:
	VMOVUPD (AX), Y1
	VSUBPD Y0, Y1, Y1
	VMULPD Y2, Y1, Y1
	VMOVUPD Y1, (AX)
	ADDQ $64, AX
	ADDQ $64, R12
	CMPQ R12, R13
	JLT browj2AVX2
	ADDQ $64, DI
	CMPQ DI, R11
	JLT browiAVX2
bnextAVX2:
	SUBQ R11, R8
	SUBQ R11, R9
	SUBQ R11, R10
	XORQ $1, BX
	DECQ DX
	JNZ bstepAVX2
	VZEROUPPER
	RET
