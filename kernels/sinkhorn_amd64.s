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
