//go:build amd64 && !purego

#include "textflag.h"

// φ projection loops (see proj.go), AVX-512F. Every output element is one
// FMA chain in the documented order (k ascending; cs term then j
// ascending; t ascending).

// func projFwdAVX512(out *float32, ldo int, x *float32, ldx, t int, phiT *float32, nc, p int)
//
// Four tokens at a time; per input k the row k of φᵀ (32 floats: Z0, Z1;
// for p ≤ 24 only 24: Z0, Y1) and four broadcasts of x_t[k], eight
// accumulators (Z2–Z9, or Z and Y). The outputs are stored under the masks
// K1 (lanes < min(p, 16)) and K2 (lanes < p−16).
TEXT ·projFwdAVX512(SB), NOSPLIT, $0-64
	MOVQ p+56(FP), CX
	MOVQ $1, DX
	SHLQ CX, DX
	DECQ DX
	KMOVW DX, K1
	SHRQ $16, DX
	KMOVW DX, K2
	MOVQ out+0(FP), DI
	MOVQ ldo+8(FP), R8
	SHLQ $2, R8
	MOVQ x+16(FP), SI
	MOVQ ldx+24(FP), R9
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R10
	MOVQ t+32(FP), R13
	MOVQ phiT+40(FP), R11
	MOVQ nc+48(FP), R12
	TESTQ R13, R13
	JLE fdone
	TESTQ R12, R12
	JLE fdone
	CMPQ p+56(FP), $24
	JLE narrow
fgroup:
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	MOVQ SI, BX
	MOVQ R11, DX
	MOVQ R12, R14
fk:
	VMOVUPS (DX), Z0
	VMOVUPS 64(DX), Z1
	VFMADD231PS.BCST (BX), Z0, Z2
	VFMADD231PS.BCST (BX), Z1, Z3
	VFMADD231PS.BCST (BX)(R9*1), Z0, Z4
	VFMADD231PS.BCST (BX)(R9*1), Z1, Z5
	VFMADD231PS.BCST (BX)(R9*2), Z0, Z6
	VFMADD231PS.BCST (BX)(R9*2), Z1, Z7
	VFMADD231PS.BCST (BX)(R10*1), Z0, Z8
	VFMADD231PS.BCST (BX)(R10*1), Z1, Z9
	ADDQ $4, BX
	ADDQ $128, DX
	DECQ R14
	JNZ fk
	VMOVUPS Z2, K1, (DI)
	VMOVUPS Z3, K2, 64(DI)
	VMOVUPS Z4, K1, (DI)(R8*1)
	VMOVUPS Z5, K2, 64(DI)(R8*1)
	LEAQ (DI)(R8*2), BX
	VMOVUPS Z6, K1, (BX)
	VMOVUPS Z7, K2, 64(BX)
	VMOVUPS Z8, K1, (BX)(R8*1)
	VMOVUPS Z9, K2, 64(BX)(R8*1)
	LEAQ (SI)(R9*4), SI
	LEAQ (DI)(R8*4), DI
	SUBQ $4, R13
	JG fgroup
	JMP fdone

// p ≤ 24: the outputs 16..23 in ymm (half the work of a zmm), same
// arithmetic per lane (one FMA chain over k).
narrow:
ngroup:
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	MOVQ SI, BX
	MOVQ R11, DX
	MOVQ R12, R14
nk:
	VMOVUPS (DX), Z0
	VMOVUPS 64(DX), Y1
	VBROADCASTSS (BX), Z10
	VBROADCASTSS (BX)(R9*1), Z11
	VBROADCASTSS (BX)(R9*2), Z12
	VBROADCASTSS (BX)(R10*1), Z13
	VFMADD231PS Z10, Z0, Z2
	VFMADD231PS Y10, Y1, Y3
	VFMADD231PS Z11, Z0, Z4
	VFMADD231PS Y11, Y1, Y5
	VFMADD231PS Z12, Z0, Z6
	VFMADD231PS Y12, Y1, Y7
	VFMADD231PS Z13, Z0, Z8
	VFMADD231PS Y13, Y1, Y9
	ADDQ $4, BX
	ADDQ $128, DX
	DECQ R14
	JNZ nk
	VMOVUPS Z2, K1, (DI)
	VMOVUPS Z3, K2, 64(DI)
	VMOVUPS Z4, K1, (DI)(R8*1)
	VMOVUPS Z5, K2, 64(DI)(R8*1)
	LEAQ (DI)(R8*2), BX
	VMOVUPS Z6, K1, (BX)
	VMOVUPS Z7, K2, 64(BX)
	VMOVUPS Z8, K1, (BX)(R8*1)
	VMOVUPS Z9, K2, 64(BX)(R8*1)
	LEAQ (SI)(R9*4), SI
	LEAQ (DI)(R8*4), DI
	SUBQ $4, R13
	JG ngroup
fdone:
	VZEROUPPER
	RET

// func projBackXAVX512(dx, x, cs *float32, ldx int, dp *float32, ldp, t int, phi *float32, ldphi, p, c int)
//
// Eight tokens at a time; per 16-column chunk the eight dx rows (Z0–Z7)
// take cs_t·x_t (Z20–Z27 hold the broadcast cs_t), then per output j one
// load of φ_j's chunk (Z8) and eight broadcasts of dp_t[j].
TEXT ·projBackXAVX512(SB), NOSPLIT, $0-88
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ ldx+24(FP), R9
	SHLQ $2, R9
	MOVQ dp+32(FP), R10
	MOVQ ldp+40(FP), R11
	SHLQ $2, R11
	LEAQ (R11)(R11*2), R12
	MOVQ ldphi+64(FP), R14
	SHLQ $2, R14
	MOVQ c+80(FP), DX
	SHLQ $2, DX
	XORQ R15, R15
	CMPQ R15, t+48(FP)
	JGE xdone
	TESTQ DX, DX
	JLE xdone
xgroup:
	MOVQ cs+16(FP), AX
	VBROADCASTSS (AX)(R15*4), Z20
	VBROADCASTSS 4(AX)(R15*4), Z21
	VBROADCASTSS 8(AX)(R15*4), Z22
	VBROADCASTSS 12(AX)(R15*4), Z23
	VBROADCASTSS 16(AX)(R15*4), Z24
	VBROADCASTSS 20(AX)(R15*4), Z25
	VBROADCASTSS 24(AX)(R15*4), Z26
	VBROADCASTSS 28(AX)(R15*4), Z27
	XORQ CX, CX
xchunk:
	LEAQ (DI)(CX*1), AX
	VMOVUPS (AX), Z0
	VMOVUPS (AX)(R9*1), Z1
	LEAQ (AX)(R9*2), AX
	VMOVUPS (AX), Z2
	VMOVUPS (AX)(R9*1), Z3
	LEAQ (AX)(R9*2), AX
	VMOVUPS (AX), Z4
	VMOVUPS (AX)(R9*1), Z5
	LEAQ (AX)(R9*2), AX
	VMOVUPS (AX), Z6
	VMOVUPS (AX)(R9*1), Z7
	LEAQ (SI)(CX*1), AX
	VFMADD231PS (AX), Z20, Z0
	VFMADD231PS (AX)(R9*1), Z21, Z1
	LEAQ (AX)(R9*2), AX
	VFMADD231PS (AX), Z22, Z2
	VFMADD231PS (AX)(R9*1), Z23, Z3
	LEAQ (AX)(R9*2), AX
	VFMADD231PS (AX), Z24, Z4
	VFMADD231PS (AX)(R9*1), Z25, Z5
	LEAQ (AX)(R9*2), AX
	VFMADD231PS (AX), Z26, Z6
	VFMADD231PS (AX)(R9*1), Z27, Z7
	MOVQ phi+56(FP), R13
	ADDQ CX, R13
	MOVQ R10, AX
	LEAQ (R10)(R12*1), BX
	MOVQ p+72(FP), R8
xj:
	VMOVUPS (R13), Z8
	VFMADD231PS.BCST (AX), Z8, Z0
	VFMADD231PS.BCST (AX)(R11*1), Z8, Z1
	VFMADD231PS.BCST (AX)(R11*2), Z8, Z2
	VFMADD231PS.BCST (BX), Z8, Z3
	VFMADD231PS.BCST (AX)(R11*4), Z8, Z4
	VFMADD231PS.BCST (BX)(R11*2), Z8, Z5
	VFMADD231PS.BCST (BX)(R12*1), Z8, Z6
	VFMADD231PS.BCST (BX)(R11*4), Z8, Z7
	ADDQ $4, AX
	ADDQ $4, BX
	ADDQ R14, R13
	DECQ R8
	JNZ xj
	LEAQ (DI)(CX*1), AX
	VMOVUPS Z0, (AX)
	VMOVUPS Z1, (AX)(R9*1)
	LEAQ (AX)(R9*2), AX
	VMOVUPS Z2, (AX)
	VMOVUPS Z3, (AX)(R9*1)
	LEAQ (AX)(R9*2), AX
	VMOVUPS Z4, (AX)
	VMOVUPS Z5, (AX)(R9*1)
	LEAQ (AX)(R9*2), AX
	VMOVUPS Z6, (AX)
	VMOVUPS Z7, (AX)(R9*1)
	ADDQ $64, CX
	CMPQ CX, DX
	JLT xchunk
	LEAQ (DI)(R9*8), DI
	LEAQ (SI)(R9*8), SI
	LEAQ (R10)(R11*8), R10
	ADDQ $8, R15
	CMPQ R15, t+48(FP)
	JLT xgroup
xdone:
	VZEROUPPER
	RET

// func projBackPhiAVX512(dphi *float32, ldphi int, dp *float32, ldp int, x *float32, ldx, t, p, c, acc int)
//
// Per 16-column chunk, eight tokens at a time: their x chunks in Z0–Z7,
// then per output j the accumulator Z8 (dφ_j's chunk, or zero for the first
// group when acc is 0) takes dp_t[j]·x_t for t in order.
TEXT ·projBackPhiAVX512(SB), NOSPLIT, $0-80
	MOVQ ldphi+8(FP), R15
	SHLQ $2, R15
	MOVQ ldp+24(FP), R11
	SHLQ $2, R11
	LEAQ (R11)(R11*2), R12
	MOVQ ldx+40(FP), R9
	SHLQ $2, R9
	MOVQ t+48(FP), DI
	IMULQ R11, DI
	ADDQ dp+16(FP), DI
	MOVQ c+64(FP), DX
	SHLQ $2, DX
	XORQ CX, CX
	CMPQ t+48(FP), $0
	JLE pdone
	TESTQ DX, DX
	JLE pdone
pchunk:
	MOVQ x+32(FP), SI
	MOVQ dp+16(FP), R10
	MOVQ acc+72(FP), R14
pgroup:
	LEAQ (SI)(CX*1), AX
	VMOVUPS (AX), Z0
	VMOVUPS (AX)(R9*1), Z1
	LEAQ (AX)(R9*2), AX
	VMOVUPS (AX), Z2
	VMOVUPS (AX)(R9*1), Z3
	LEAQ (AX)(R9*2), AX
	VMOVUPS (AX), Z4
	VMOVUPS (AX)(R9*1), Z5
	LEAQ (AX)(R9*2), AX
	VMOVUPS (AX), Z6
	VMOVUPS (AX)(R9*1), Z7
	MOVQ dphi+0(FP), R13
	ADDQ CX, R13
	MOVQ R10, AX
	LEAQ (R10)(R12*1), BX
	MOVQ p+56(FP), R8
pj:
	TESTQ R14, R14
	JZ pzero
	VMOVUPS (R13), Z8
	JMP pfma
pzero:
	VPXORD Z8, Z8, Z8
pfma:
	VFMADD231PS.BCST (AX), Z0, Z8
	VFMADD231PS.BCST (AX)(R11*1), Z1, Z8
	VFMADD231PS.BCST (AX)(R11*2), Z2, Z8
	VFMADD231PS.BCST (BX), Z3, Z8
	VFMADD231PS.BCST (AX)(R11*4), Z4, Z8
	VFMADD231PS.BCST (BX)(R11*2), Z5, Z8
	VFMADD231PS.BCST (BX)(R12*1), Z6, Z8
	VFMADD231PS.BCST (BX)(R11*4), Z7, Z8
	VMOVUPS Z8, (R13)
	ADDQ $4, AX
	ADDQ $4, BX
	ADDQ R15, R13
	DECQ R8
	JNZ pj
	MOVQ $1, R14
	LEAQ (SI)(R9*8), SI
	LEAQ (R10)(R11*8), R10
	CMPQ R10, DI
	JLT pgroup
	ADDQ $64, CX
	CMPQ CX, DX
	JLT pchunk
pdone:
	VZEROUPPER
	RET

// AVX2+FMA versions of the three loops: the same FMA chains per element in
// the same order, on 8-lane ymm registers (16 of them), so they give the
// AVX-512 loops' bits. Partial output blocks are stored with VMASKMOVPS
// under a mask loaded from projmask<>: the address projmask<>+32−4n holds
// n lanes of ones, then zeros (0 ≤ n ≤ 8).
DATA projmask<>+0(SB)/8, $-1
DATA projmask<>+8(SB)/8, $-1
DATA projmask<>+16(SB)/8, $-1
DATA projmask<>+24(SB)/8, $-1
DATA projmask<>+32(SB)/8, $0
DATA projmask<>+40(SB)/8, $0
DATA projmask<>+48(SB)/8, $0
DATA projmask<>+56(SB)/8, $0
GLOBL projmask<>(SB), RODATA|NOPTR, $64

// func projFwdAVX2(out *float32, ldo int, x *float32, ldx, t int, phiT *float32, nc, p int)
//
// Four tokens at a time. p > 8: outputs 0..23 in one pass (per input k the
// 24 floats of φᵀ's row k in Y0–Y2, one broadcast of x_t[k] at a time in
// Y3, twelve accumulators Y4–Y15; masks for lanes ≥ p), and for p > 24 a
// second, one-ymm pass over outputs 24..31. p ≤ 8: only the one-ymm pass
// (φᵀ row in Y0, broadcasts Y1–Y4, accumulators Y8–Y11).
TEXT ·projFwdAVX2(SB), NOSPLIT, $0-64
	MOVQ ldo+8(FP), R8
	SHLQ $2, R8
	MOVQ ldx+24(FP), R9
	SHLQ $2, R9
	LEAQ (R9)(R9*2), R10
	MOVQ nc+48(FP), R12
	CMPQ t+32(FP), $0
	JLE gdone
	TESTQ R12, R12
	JLE gdone
	MOVQ out+0(FP), DI
	MOVQ x+16(FP), SI
	MOVQ t+32(FP), R13
	MOVQ phiT+40(FP), R11
	MOVQ p+56(FP), BX
	CMPQ BX, $8
	JLE gone
	// Masks of the blocks 8..15 (CX) and 16..23 (R15); block 0..7 is full.
	MOVQ $8, DX
	SUBQ $8, BX
	CMPQ BX, DX
	CMOVQGT DX, BX
	SHLQ $2, BX
	LEAQ projmask<>+32(SB), CX
	SUBQ BX, CX
	MOVQ p+56(FP), BX
	SUBQ $16, BX
	XORQ DX, DX
	CMPQ BX, DX
	CMOVQLT DX, BX
	MOVQ $8, DX
	CMPQ BX, DX
	CMOVQGT DX, BX
	SHLQ $2, BX
	LEAQ projmask<>+32(SB), R15
	SUBQ BX, R15
ggroup:
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	MOVQ SI, BX
	MOVQ R11, DX
	MOVQ R12, R14
gk:
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VMOVUPS 64(DX), Y2
	VBROADCASTSS (BX), Y3
	VFMADD231PS Y3, Y0, Y4
	VFMADD231PS Y3, Y1, Y5
	VFMADD231PS Y3, Y2, Y6
	VBROADCASTSS (BX)(R9*1), Y3
	VFMADD231PS Y3, Y0, Y7
	VFMADD231PS Y3, Y1, Y8
	VFMADD231PS Y3, Y2, Y9
	VBROADCASTSS (BX)(R9*2), Y3
	VFMADD231PS Y3, Y0, Y10
	VFMADD231PS Y3, Y1, Y11
	VFMADD231PS Y3, Y2, Y12
	VBROADCASTSS (BX)(R10*1), Y3
	VFMADD231PS Y3, Y0, Y13
	VFMADD231PS Y3, Y1, Y14
	VFMADD231PS Y3, Y2, Y15
	ADDQ $4, BX
	ADDQ $128, DX
	DECQ R14
	JNZ gk
	VMOVUPS Y4, (DI)
	VMOVUPS (CX), Y1
	VMOVUPS (R15), Y2
	VMASKMOVPS Y5, Y1, 32(DI)
	VMASKMOVPS Y6, Y2, 64(DI)
	LEAQ (DI)(R8*1), BX
	VMOVUPS Y7, (BX)
	VMASKMOVPS Y8, Y1, 32(BX)
	VMASKMOVPS Y9, Y2, 64(BX)
	LEAQ (BX)(R8*1), BX
	VMOVUPS Y10, (BX)
	VMASKMOVPS Y11, Y1, 32(BX)
	VMASKMOVPS Y12, Y2, 64(BX)
	LEAQ (BX)(R8*1), BX
	VMOVUPS Y13, (BX)
	VMASKMOVPS Y14, Y1, 32(BX)
	VMASKMOVPS Y15, Y2, 64(BX)
	LEAQ (SI)(R9*4), SI
	LEAQ (DI)(R8*4), DI
	SUBQ $4, R13
	JG ggroup
	// p > 24: the outputs 24..p−1 in the one-ymm pass.
	MOVQ p+56(FP), BX
	SUBQ $24, BX
	JLE gdone
	MOVQ out+0(FP), DI
	ADDQ $96, DI
	MOVQ x+16(FP), SI
	MOVQ t+32(FP), R13
	ADDQ $96, R11
gone:
	// BX = outputs in this pass (1..8).
	SHLQ $2, BX
	LEAQ projmask<>+32(SB), CX
	SUBQ BX, CX
	VMOVUPS (CX), Y15
g1group:
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	MOVQ SI, BX
	MOVQ R11, DX
	MOVQ R12, R14
g1k:
	VMOVUPS (DX), Y0
	VBROADCASTSS (BX), Y1
	VBROADCASTSS (BX)(R9*1), Y2
	VBROADCASTSS (BX)(R9*2), Y3
	VBROADCASTSS (BX)(R10*1), Y4
	VFMADD231PS Y1, Y0, Y8
	VFMADD231PS Y2, Y0, Y9
	VFMADD231PS Y3, Y0, Y10
	VFMADD231PS Y4, Y0, Y11
	ADDQ $4, BX
	ADDQ $128, DX
	DECQ R14
	JNZ g1k
	VMASKMOVPS Y8, Y15, (DI)
	LEAQ (DI)(R8*1), BX
	VMASKMOVPS Y9, Y15, (BX)
	LEAQ (BX)(R8*1), BX
	VMASKMOVPS Y10, Y15, (BX)
	LEAQ (BX)(R8*1), BX
	VMASKMOVPS Y11, Y15, (BX)
	LEAQ (SI)(R9*4), SI
	LEAQ (DI)(R8*4), DI
	SUBQ $4, R13
	JG g1group
gdone:
	VZEROUPPER
	RET

// func projBackXAVX2(dx, x, cs *float32, ldx int, dp *float32, ldp, t int, phi *float32, ldphi, p, c int)
//
// Four tokens at a time; per 16-column chunk their dx rows (Y0–Y7, two per
// token) take cs_t·x_t, then per output j one load of φ_j's chunk (Y8, Y9)
// and four broadcasts of dp_t[j] (Y10–Y13).
TEXT ·projBackXAVX2(SB), NOSPLIT, $0-88
	MOVQ dx+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ cs+16(FP), R15
	MOVQ ldx+24(FP), R9
	SHLQ $2, R9
	MOVQ dp+32(FP), R10
	MOVQ ldp+40(FP), R11
	SHLQ $2, R11
	LEAQ (R11)(R11*2), R12
	MOVQ ldphi+64(FP), R14
	SHLQ $2, R14
	MOVQ c+80(FP), DX
	SHLQ $2, DX
	MOVQ t+48(FP), BX
	TESTQ BX, BX
	JLE ydone
	TESTQ DX, DX
	JLE ydone
	LEAQ (R15)(BX*4), BX // the end of cs
ygroup:
	XORQ CX, CX
ychunk:
	LEAQ (DI)(CX*1), AX
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	VMOVUPS (AX)(R9*1), Y2
	VMOVUPS 32(AX)(R9*1), Y3
	LEAQ (AX)(R9*2), AX
	VMOVUPS (AX), Y4
	VMOVUPS 32(AX), Y5
	VMOVUPS (AX)(R9*1), Y6
	VMOVUPS 32(AX)(R9*1), Y7
	LEAQ (SI)(CX*1), AX
	VBROADCASTSS (R15), Y10
	VBROADCASTSS 4(R15), Y11
	VBROADCASTSS 8(R15), Y12
	VBROADCASTSS 12(R15), Y13
	VFMADD231PS (AX), Y10, Y0
	VFMADD231PS 32(AX), Y10, Y1
	VFMADD231PS (AX)(R9*1), Y11, Y2
	VFMADD231PS 32(AX)(R9*1), Y11, Y3
	LEAQ (AX)(R9*2), AX
	VFMADD231PS (AX), Y12, Y4
	VFMADD231PS 32(AX), Y12, Y5
	VFMADD231PS (AX)(R9*1), Y13, Y6
	VFMADD231PS 32(AX)(R9*1), Y13, Y7
	MOVQ phi+56(FP), R13
	ADDQ CX, R13
	MOVQ R10, AX
	MOVQ p+72(FP), R8
yj:
	VMOVUPS (R13), Y8
	VMOVUPS 32(R13), Y9
	VBROADCASTSS (AX), Y10
	VBROADCASTSS (AX)(R11*1), Y11
	VBROADCASTSS (AX)(R11*2), Y12
	VBROADCASTSS (AX)(R12*1), Y13
	VFMADD231PS Y8, Y10, Y0
	VFMADD231PS Y9, Y10, Y1
	VFMADD231PS Y8, Y11, Y2
	VFMADD231PS Y9, Y11, Y3
	VFMADD231PS Y8, Y12, Y4
	VFMADD231PS Y9, Y12, Y5
	VFMADD231PS Y8, Y13, Y6
	VFMADD231PS Y9, Y13, Y7
	ADDQ $4, AX
	ADDQ R14, R13
	DECQ R8
	JNZ yj
	LEAQ (DI)(CX*1), AX
	VMOVUPS Y0, (AX)
	VMOVUPS Y1, 32(AX)
	VMOVUPS Y2, (AX)(R9*1)
	VMOVUPS Y3, 32(AX)(R9*1)
	LEAQ (AX)(R9*2), AX
	VMOVUPS Y4, (AX)
	VMOVUPS Y5, 32(AX)
	VMOVUPS Y6, (AX)(R9*1)
	VMOVUPS Y7, 32(AX)(R9*1)
	ADDQ $64, CX
	CMPQ CX, DX
	JLT ychunk
	LEAQ (DI)(R9*4), DI
	LEAQ (SI)(R9*4), SI
	LEAQ (R10)(R11*4), R10
	ADDQ $16, R15
	CMPQ R15, BX
	JLT ygroup
ydone:
	VZEROUPPER
	RET

// func projBackPhiAVX2(dphi *float32, ldphi int, dp *float32, ldp int, x *float32, ldx, t, p, c, acc int)
//
// Per 16-column chunk, four tokens at a time: their x chunks in Y0–Y7 (two
// per token), then per output j the accumulators Y8, Y9 (dφ_j's chunk, or
// zero for the first group when acc is 0) take dp_t[j]·x_t for t in order.
TEXT ·projBackPhiAVX2(SB), NOSPLIT, $0-80
	MOVQ ldphi+8(FP), R15
	SHLQ $2, R15
	MOVQ ldp+24(FP), R11
	SHLQ $2, R11
	LEAQ (R11)(R11*2), R12
	MOVQ ldx+40(FP), R9
	SHLQ $2, R9
	MOVQ t+48(FP), DI
	IMULQ R11, DI
	ADDQ dp+16(FP), DI
	MOVQ c+64(FP), DX
	SHLQ $2, DX
	XORQ CX, CX
	CMPQ t+48(FP), $0
	JLE qdone
	TESTQ DX, DX
	JLE qdone
qchunk:
	MOVQ x+32(FP), SI
	MOVQ dp+16(FP), R10
	MOVQ acc+72(FP), R14
qgroup:
	LEAQ (SI)(CX*1), AX
	VMOVUPS (AX), Y0
	VMOVUPS 32(AX), Y1
	VMOVUPS (AX)(R9*1), Y2
	VMOVUPS 32(AX)(R9*1), Y3
	LEAQ (AX)(R9*2), AX
	VMOVUPS (AX), Y4
	VMOVUPS 32(AX), Y5
	VMOVUPS (AX)(R9*1), Y6
	VMOVUPS 32(AX)(R9*1), Y7
	MOVQ dphi+0(FP), R13
	ADDQ CX, R13
	MOVQ R10, AX
	MOVQ p+56(FP), R8
	TESTQ R14, R14
	JZ qzj
qj:
	VMOVUPS (R13), Y8
	VMOVUPS 32(R13), Y9
	VBROADCASTSS (AX), Y10
	VBROADCASTSS (AX)(R11*1), Y11
	VBROADCASTSS (AX)(R11*2), Y12
	VBROADCASTSS (AX)(R12*1), Y13
	VFMADD231PS Y0, Y10, Y8
	VFMADD231PS Y1, Y10, Y9
	VFMADD231PS Y2, Y11, Y8
	VFMADD231PS Y3, Y11, Y9
	VFMADD231PS Y4, Y12, Y8
	VFMADD231PS Y5, Y12, Y9
	VFMADD231PS Y6, Y13, Y8
	VFMADD231PS Y7, Y13, Y9
	VMOVUPS Y8, (R13)
	VMOVUPS Y9, 32(R13)
	ADDQ $4, AX
	ADDQ R15, R13
	DECQ R8
	JNZ qj
	JMP qnext
	// First group with acc 0: the chains start at dp_0[j]·x_0 (the FMA
	// into zero is that rounded product).
qzj:
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VBROADCASTSS (AX), Y10
	VBROADCASTSS (AX)(R11*1), Y11
	VBROADCASTSS (AX)(R11*2), Y12
	VBROADCASTSS (AX)(R12*1), Y13
	VFMADD231PS Y0, Y10, Y8
	VFMADD231PS Y1, Y10, Y9
	VFMADD231PS Y2, Y11, Y8
	VFMADD231PS Y3, Y11, Y9
	VFMADD231PS Y4, Y12, Y8
	VFMADD231PS Y5, Y12, Y9
	VFMADD231PS Y6, Y13, Y8
	VFMADD231PS Y7, Y13, Y9
	VMOVUPS Y8, (R13)
	VMOVUPS Y9, 32(R13)
	ADDQ $4, AX
	ADDQ R15, R13
	DECQ R8
	JNZ qzj
	MOVQ $1, R14
qnext:
	LEAQ (SI)(R9*4), SI
	LEAQ (R10)(R11*4), R10
	CMPQ R10, DI
	JLT qgroup
	ADDQ $64, CX
	CMPQ CX, DX
	JLT qchunk
qdone:
	VZEROUPPER
	RET
