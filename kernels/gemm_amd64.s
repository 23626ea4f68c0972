//go:build amd64

#include "textflag.h"

// Micro-kernels for the packed float32 GEMM (see kernelFunc in cpu.go).
//
// func sgemmKernelAVX2(kc int, a, b, c *float32, ldc int, alpha, beta float32, mode int)
// func sgemmKernelAVX512(kc int, a, b, c *float32, ldc int, alpha, beta float32, mode int)
//
// Frame: kc+0 a+8 b+16 c+24 ldc+32 alpha+40 beta+44 mode+48.
// Registers: CX kc, SI packed A, DI packed B, R8 C row pointer, R9 ldc in bytes.

// ---------------------------------------------------------------- AVX2 6×16
// Accumulators: row r in Y(2r) (cols 0-7) and Y(2r+1) (cols 8-15).
// Y12/Y13 hold the B row, Y14/Y15 alternate as A broadcasts.

#define AVX2_STEP(aoff, boff) \
	VMOVUPS      boff(DI), Y12;    \
	VMOVUPS      boff+32(DI), Y13; \
	VBROADCASTSS aoff(SI), Y14;    \
	VFMADD231PS  Y12, Y14, Y0;     \
	VFMADD231PS  Y13, Y14, Y1;     \
	VBROADCASTSS aoff+4(SI), Y15;  \
	VFMADD231PS  Y12, Y15, Y2;     \
	VFMADD231PS  Y13, Y15, Y3;     \
	VBROADCASTSS aoff+8(SI), Y14;  \
	VFMADD231PS  Y12, Y14, Y4;     \
	VFMADD231PS  Y13, Y14, Y5;     \
	VBROADCASTSS aoff+12(SI), Y15; \
	VFMADD231PS  Y12, Y15, Y6;     \
	VFMADD231PS  Y13, Y15, Y7;     \
	VBROADCASTSS aoff+16(SI), Y14; \
	VFMADD231PS  Y12, Y14, Y8;     \
	VFMADD231PS  Y13, Y14, Y9;     \
	VBROADCASTSS aoff+20(SI), Y15; \
	VFMADD231PS  Y12, Y15, Y10;    \
	VFMADD231PS  Y13, Y15, Y11

// Prefetch one 16-float C row (it may straddle two lines) and step to the
// next; issued before the K loop so the epilogue's C accesses hit L1.
#define PF_C16 \
	PREFETCHT0 (AX);   \
	PREFETCHT0 63(AX); \
	ADDQ       R9, AX

#define PF_C6 \
	MOVQ R8, AX; \
	PF_C16;      \
	PF_C16;      \
	PF_C16;      \
	PF_C16;      \
	PF_C16;      \
	PF_C16

#define AVX2_ST0(r0, r1) \
	VMOVUPS r0, (R8);   \
	VMOVUPS r1, 32(R8); \
	ADDQ    R9, R8

#define AVX2_ST1(r0, r1) \
	VADDPS  (R8), r0, r0;     \
	VADDPS  32(R8), r1, r1;   \
	VMOVUPS r0, (R8);         \
	VMOVUPS r1, 32(R8);       \
	ADDQ    R9, R8

#define AVX2_ST2(r0, r1) \
	VFMADD231PS (R8), Y15, r0;   \
	VFMADD231PS 32(R8), Y15, r1; \
	VMOVUPS     r0, (R8);        \
	VMOVUPS     r1, 32(R8);      \
	ADDQ        R9, R8

TEXT ·sgemmKernelAVX2(SB), NOSPLIT, $0-56
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), R8
	MOVQ ldc+32(FP), R9
	SHLQ $2, R9
	PF_C6

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	MOVQ CX, DX
	SHRQ $2, DX
	JZ   avx2_tail

avx2_loop4:
	PREFETCHT0 512(DI)
	AVX2_STEP(0, 0)
	AVX2_STEP(24, 64)
	PREFETCHT0 576(DI)
	AVX2_STEP(48, 128)
	AVX2_STEP(72, 192)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ DX
	JNZ  avx2_loop4

avx2_tail:
	ANDQ $3, CX
	JZ   avx2_done

avx2_loop1:
	AVX2_STEP(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  avx2_loop1

avx2_done:
	VBROADCASTSS alpha+40(FP), Y14
	VMULPS       Y14, Y0, Y0
	VMULPS       Y14, Y1, Y1
	VMULPS       Y14, Y2, Y2
	VMULPS       Y14, Y3, Y3
	VMULPS       Y14, Y4, Y4
	VMULPS       Y14, Y5, Y5
	VMULPS       Y14, Y6, Y6
	VMULPS       Y14, Y7, Y7
	VMULPS       Y14, Y8, Y8
	VMULPS       Y14, Y9, Y9
	VMULPS       Y14, Y10, Y10
	VMULPS       Y14, Y11, Y11

	MOVQ mode+48(FP), AX
	CMPQ AX, $1
	JEQ  avx2_mode1
	JGT  avx2_mode2

	AVX2_ST0(Y0, Y1)
	AVX2_ST0(Y2, Y3)
	AVX2_ST0(Y4, Y5)
	AVX2_ST0(Y6, Y7)
	AVX2_ST0(Y8, Y9)
	AVX2_ST0(Y10, Y11)
	VZEROUPPER
	RET

avx2_mode1:
	AVX2_ST1(Y0, Y1)
	AVX2_ST1(Y2, Y3)
	AVX2_ST1(Y4, Y5)
	AVX2_ST1(Y6, Y7)
	AVX2_ST1(Y8, Y9)
	AVX2_ST1(Y10, Y11)
	VZEROUPPER
	RET

avx2_mode2:
	VBROADCASTSS beta+44(FP), Y15
	AVX2_ST2(Y0, Y1)
	AVX2_ST2(Y2, Y3)
	AVX2_ST2(Y4, Y5)
	AVX2_ST2(Y6, Y7)
	AVX2_ST2(Y8, Y9)
	AVX2_ST2(Y10, Y11)
	VZEROUPPER
	RET

// func sgemmKernelAVX2RowA(kc int, a, b, c *float32, ldc int, alpha, beta float32, mode int, lda int)
// Same as sgemmKernelAVX2 but A is read unpacked from row-major storage:
// element (r, p) at a[r*lda+p]. Frame adds lda+56.
// Row r of A is at SI + r*lda*4: (SI), (SI)(R10*1), (SI)(R10*2),
// (SI)(R11*1), (SI)(R10*4), (SI)(R12*1) with R10 = lda*4, R11 = 3*R10,
// R12 = 5*R10.

#define AVX2_STEP_R(aoff, boff) \
	VMOVUPS      boff(DI), Y12;          \
	VMOVUPS      boff+32(DI), Y13;       \
	VBROADCASTSS aoff(SI), Y14;          \
	VFMADD231PS  Y12, Y14, Y0;           \
	VFMADD231PS  Y13, Y14, Y1;           \
	VBROADCASTSS aoff(SI)(R10*1), Y15;   \
	VFMADD231PS  Y12, Y15, Y2;           \
	VFMADD231PS  Y13, Y15, Y3;           \
	VBROADCASTSS aoff(SI)(R10*2), Y14;   \
	VFMADD231PS  Y12, Y14, Y4;           \
	VFMADD231PS  Y13, Y14, Y5;           \
	VBROADCASTSS aoff(SI)(R11*1), Y15;   \
	VFMADD231PS  Y12, Y15, Y6;           \
	VFMADD231PS  Y13, Y15, Y7;           \
	VBROADCASTSS aoff(SI)(R10*4), Y14;   \
	VFMADD231PS  Y12, Y14, Y8;           \
	VFMADD231PS  Y13, Y14, Y9;           \
	VBROADCASTSS aoff(SI)(R12*1), Y15;   \
	VFMADD231PS  Y12, Y15, Y10;          \
	VFMADD231PS  Y13, Y15, Y11

TEXT ·sgemmKernelAVX2RowA(SB), NOSPLIT, $0-64
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), R8
	MOVQ ldc+32(FP), R9
	SHLQ $2, R9
	PF_C6
	MOVQ lda+56(FP), R10
	SHLQ $2, R10
	LEAQ (R10)(R10*2), R11
	LEAQ (R10)(R10*4), R12

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	MOVQ CX, DX
	SHRQ $2, DX
	JZ   avx2r_tail

avx2r_loop4:
	PREFETCHT0 512(DI)
	AVX2_STEP_R(0, 0)
	AVX2_STEP_R(4, 64)
	PREFETCHT0 576(DI)
	AVX2_STEP_R(8, 128)
	AVX2_STEP_R(12, 192)
	ADDQ $16, SI
	ADDQ $256, DI
	DECQ DX
	JNZ  avx2r_loop4

avx2r_tail:
	ANDQ $3, CX
	JZ   avx2r_done

avx2r_loop1:
	AVX2_STEP_R(0, 0)
	ADDQ $4, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  avx2r_loop1

avx2r_done:
	VBROADCASTSS alpha+40(FP), Y14
	VMULPS       Y14, Y0, Y0
	VMULPS       Y14, Y1, Y1
	VMULPS       Y14, Y2, Y2
	VMULPS       Y14, Y3, Y3
	VMULPS       Y14, Y4, Y4
	VMULPS       Y14, Y5, Y5
	VMULPS       Y14, Y6, Y6
	VMULPS       Y14, Y7, Y7
	VMULPS       Y14, Y8, Y8
	VMULPS       Y14, Y9, Y9
	VMULPS       Y14, Y10, Y10
	VMULPS       Y14, Y11, Y11

	MOVQ mode+48(FP), AX
	CMPQ AX, $1
	JEQ  avx2r_mode1
	JGT  avx2r_mode2

	AVX2_ST0(Y0, Y1)
	AVX2_ST0(Y2, Y3)
	AVX2_ST0(Y4, Y5)
	AVX2_ST0(Y6, Y7)
	AVX2_ST0(Y8, Y9)
	AVX2_ST0(Y10, Y11)
	VZEROUPPER
	RET

avx2r_mode1:
	AVX2_ST1(Y0, Y1)
	AVX2_ST1(Y2, Y3)
	AVX2_ST1(Y4, Y5)
	AVX2_ST1(Y6, Y7)
	AVX2_ST1(Y8, Y9)
	AVX2_ST1(Y10, Y11)
	VZEROUPPER
	RET

avx2r_mode2:
	VBROADCASTSS beta+44(FP), Y15
	AVX2_ST2(Y0, Y1)
	AVX2_ST2(Y2, Y3)
	AVX2_ST2(Y4, Y5)
	AVX2_ST2(Y6, Y7)
	AVX2_ST2(Y8, Y9)
	AVX2_ST2(Y10, Y11)
	VZEROUPPER
	RET

// -------------------------------------------------------------- AVX-512 12×32
// Accumulators: row r in Z(2r) (cols 0-15) and Z(2r+1) (cols 16-31), r < 12.
// Z24/Z25 hold the B row, Z26/Z27 alternate as A broadcasts.

#define Z_ROW(aoff, bc, r0, r1) \
	VBROADCASTSS aoff(SI), bc; \
	VFMADD231PS  Z24, bc, r0;  \
	VFMADD231PS  Z25, bc, r1

#define AVX512_STEP(aoff, boff) \
	VMOVUPS boff(DI), Z24;               \
	VMOVUPS boff+64(DI), Z25;            \
	Z_ROW(aoff, Z26, Z0, Z1);            \
	Z_ROW(aoff+4, Z27, Z2, Z3);          \
	Z_ROW(aoff+8, Z26, Z4, Z5);          \
	Z_ROW(aoff+12, Z27, Z6, Z7);         \
	Z_ROW(aoff+16, Z26, Z8, Z9);         \
	Z_ROW(aoff+20, Z27, Z10, Z11);       \
	Z_ROW(aoff+24, Z26, Z12, Z13);       \
	Z_ROW(aoff+28, Z27, Z14, Z15);       \
	Z_ROW(aoff+32, Z26, Z16, Z17);       \
	Z_ROW(aoff+36, Z27, Z18, Z19);       \
	Z_ROW(aoff+40, Z26, Z20, Z21);       \
	Z_ROW(aoff+44, Z27, Z22, Z23)

// Prefetch one 32-float C row (up to three lines) and step to the next.
#define PF_C32 \
	PREFETCHT0 (AX);    \
	PREFETCHT0 64(AX);  \
	PREFETCHT0 127(AX); \
	ADDQ       R9, AX

#define PF_C12 \
	MOVQ R8, AX; \
	PF_C32;      \
	PF_C32;      \
	PF_C32;      \
	PF_C32;      \
	PF_C32;      \
	PF_C32;      \
	PF_C32;      \
	PF_C32;      \
	PF_C32;      \
	PF_C32;      \
	PF_C32;      \
	PF_C32

#define Z_ST0(r0, r1) \
	VMOVUPS r0, (R8);   \
	VMOVUPS r1, 64(R8); \
	ADDQ    R9, R8

#define Z_ST1(r0, r1) \
	VADDPS  (R8), r0, r0;   \
	VADDPS  64(R8), r1, r1; \
	VMOVUPS r0, (R8);       \
	VMOVUPS r1, 64(R8);     \
	ADDQ    R9, R8

#define Z_ST2(r0, r1) \
	VFMADD231PS (R8), Z27, r0;   \
	VFMADD231PS 64(R8), Z27, r1; \
	VMOVUPS     r0, (R8);        \
	VMOVUPS     r1, 64(R8);      \
	ADDQ        R9, R8

#define Z_MUL(r) VMULPS Z26, r, r

#define Z_ALL(M) \
	M(Z0, Z1);   \
	M(Z2, Z3);   \
	M(Z4, Z5);   \
	M(Z6, Z7);   \
	M(Z8, Z9);   \
	M(Z10, Z11); \
	M(Z12, Z13); \
	M(Z14, Z15); \
	M(Z16, Z17); \
	M(Z18, Z19); \
	M(Z20, Z21); \
	M(Z22, Z23)

#define Z_ZERO2(r0, r1) \
	VPXORD r0, r0, r0; \
	VPXORD r1, r1, r1

#define Z_MUL2(r0, r1) \
	Z_MUL(r0); \
	Z_MUL(r1)

TEXT ·sgemmKernelAVX512(SB), NOSPLIT, $0-56
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), R8
	MOVQ ldc+32(FP), R9
	SHLQ $2, R9
	PF_C12

	Z_ALL(Z_ZERO2)

	MOVQ CX, DX
	SHRQ $2, DX
	JZ   z_tail

z_loop4:
	PREFETCHT0 1024(DI)
	AVX512_STEP(0, 0)
	PREFETCHT0 1088(DI)
	AVX512_STEP(48, 128)
	PREFETCHT0 1152(DI)
	AVX512_STEP(96, 256)
	PREFETCHT0 1216(DI)
	AVX512_STEP(144, 384)
	ADDQ $192, SI
	ADDQ $512, DI
	DECQ DX
	JNZ  z_loop4

z_tail:
	ANDQ $3, CX
	JZ   z_done

z_loop1:
	AVX512_STEP(0, 0)
	ADDQ $48, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  z_loop1

z_done:
	VBROADCASTSS alpha+40(FP), Z26
	Z_ALL(Z_MUL2)

	MOVQ mode+48(FP), AX
	CMPQ AX, $1
	JEQ  z_mode1
	JGT  z_mode2

	Z_ALL(Z_ST0)
	VZEROUPPER
	RET

z_mode1:
	Z_ALL(Z_ST1)
	VZEROUPPER
	RET

z_mode2:
	VBROADCASTSS beta+44(FP), Z27
	Z_ALL(Z_ST2)
	VZEROUPPER
	RET

// func sgemmKernelAVX512RowA(kc int, a, b, c *float32, ldc int, alpha, beta float32, mode int, lda int)
// Same as sgemmKernelAVX512 but A is read unpacked from row-major storage:
// element (r, p) at a[r*lda+p]. Frame adds lda+56.
// Rows 0-5 are read from SI and rows 6-11 from BX = SI + 6*lda*4, each as
// (base), (base)(R10*1), (base)(R10*2), (base)(R11*1), (base)(R10*4),
// (base)(R12*1) with R10 = lda*4, R11 = 3*R10, R12 = 5*R10.

#define Z_ROW_R(mem, bc, r0, r1) \
	VBROADCASTSS mem, bc;     \
	VFMADD231PS  Z24, bc, r0; \
	VFMADD231PS  Z25, bc, r1

#define AVX512_STEP_R(aoff, boff) \
	VMOVUPS boff(DI), Z24;                           \
	VMOVUPS boff+64(DI), Z25;                        \
	Z_ROW_R(aoff(SI), Z26, Z0, Z1);                  \
	Z_ROW_R(aoff(SI)(R10*1), Z27, Z2, Z3);           \
	Z_ROW_R(aoff(SI)(R10*2), Z26, Z4, Z5);           \
	Z_ROW_R(aoff(SI)(R11*1), Z27, Z6, Z7);           \
	Z_ROW_R(aoff(SI)(R10*4), Z26, Z8, Z9);           \
	Z_ROW_R(aoff(SI)(R12*1), Z27, Z10, Z11);         \
	Z_ROW_R(aoff(BX), Z26, Z12, Z13);                \
	Z_ROW_R(aoff(BX)(R10*1), Z27, Z14, Z15);         \
	Z_ROW_R(aoff(BX)(R10*2), Z26, Z16, Z17);         \
	Z_ROW_R(aoff(BX)(R11*1), Z27, Z18, Z19);         \
	Z_ROW_R(aoff(BX)(R10*4), Z26, Z20, Z21);         \
	Z_ROW_R(aoff(BX)(R12*1), Z27, Z22, Z23)

TEXT ·sgemmKernelAVX512RowA(SB), NOSPLIT, $0-64
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), R8
	MOVQ ldc+32(FP), R9
	SHLQ $2, R9
	PF_C12
	MOVQ lda+56(FP), R10
	SHLQ $2, R10
	LEAQ (R10)(R10*2), R11
	LEAQ (R10)(R10*4), R12
	LEAQ (SI)(R11*2), BX

	Z_ALL(Z_ZERO2)

	MOVQ CX, DX
	SHRQ $2, DX
	JZ   zr_tail

zr_loop4:
	PREFETCHT0 1024(DI)
	AVX512_STEP_R(0, 0)
	PREFETCHT0 1088(DI)
	AVX512_STEP_R(4, 128)
	PREFETCHT0 1152(DI)
	AVX512_STEP_R(8, 256)
	PREFETCHT0 1216(DI)
	AVX512_STEP_R(12, 384)
	ADDQ $16, SI
	ADDQ $16, BX
	ADDQ $512, DI
	DECQ DX
	JNZ  zr_loop4

zr_tail:
	ANDQ $3, CX
	JZ   zr_done

zr_loop1:
	AVX512_STEP_R(0, 0)
	ADDQ $4, SI
	ADDQ $4, BX
	ADDQ $128, DI
	DECQ CX
	JNZ  zr_loop1

zr_done:
	VBROADCASTSS alpha+40(FP), Z26
	Z_ALL(Z_MUL2)

	MOVQ mode+48(FP), AX
	CMPQ AX, $1
	JEQ  zr_mode1
	JGT  zr_mode2

	Z_ALL(Z_ST0)
	VZEROUPPER
	RET

zr_mode1:
	Z_ALL(Z_ST1)
	VZEROUPPER
	RET

zr_mode2:
	VBROADCASTSS beta+44(FP), Z27
	Z_ALL(Z_ST2)
	VZEROUPPER
	RET
