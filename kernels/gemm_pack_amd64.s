//go:build amd64

#include "textflag.h"

// func panelCopy(dst, src *float32, rows, lds, w, npanels, ps int)
// For r < rows, q < npanels: copy w floats from src[r*lds + q*w] to
// dst[r*w + q*ps], one panel at a time (sequential stores). SSE2 only (baseline amd64), so it serves every path.
TEXT ·panelCopy(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ rows+16(FP), CX
	MOVQ lds+24(FP), R8
	SHLQ $2, R8
	MOVQ w+32(FP), R9
	SHLQ $2, R9
	MOVQ npanels+40(FP), R10
	MOVQ ps+48(FP), R11
	SHLQ $2, R11
	TESTQ CX, CX
	JLE   pc_done
	TESTQ R10, R10
	JLE   pc_done

	CMPQ R9, $24
	JEQ  pc6_col
	CMPQ R9, $64
	JEQ  pc16_col
	CMPQ R9, $48
	JEQ  pc12_col
	CMPQ R9, $128
	JEQ  pc32_col

pc_col:
	MOVQ SI, AX
	MOVQ DI, BX
	MOVQ R10, DX

pc_row:
	MOVQ R9, R12
	XORQ R13, R13

pc_32:
	CMPQ   R12, $32
	JLT    pc_16
	MOVUPS (AX)(R13*1), X0
	MOVUPS 16(AX)(R13*1), X1
	MOVUPS X0, (BX)(R13*1)
	MOVUPS X1, 16(BX)(R13*1)
	ADDQ   $32, R13
	SUBQ   $32, R12
	JMP    pc_32

pc_16:
	CMPQ   R12, $16
	JLT    pc_8
	MOVUPS (AX)(R13*1), X0
	MOVUPS X0, (BX)(R13*1)
	ADDQ   $16, R13
	SUBQ   $16, R12

pc_8:
	CMPQ R12, $8
	JLT  pc_4
	MOVQ (AX)(R13*1), R14
	MOVQ R14, (BX)(R13*1)
	ADDQ $8, R13
	SUBQ $8, R12

pc_4:
	CMPQ R12, $4
	JLT  pc_next
	MOVL (AX)(R13*1), R14
	MOVL R14, (BX)(R13*1)

pc_next:
	ADDQ R9, AX
	ADDQ R11, BX
	DECQ DX
	JNZ  pc_row
	ADDQ R8, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  pc_col

pc_done:
	RET

// Specialised loops for w = 6 (AVX2 A panels), w = 16 (AVX2 B panels),
// w = 12 (AVX-512 A panels) and w = 32 (AVX-512 B panels).
// They walk blocks of up to 8 source rows; within a block, panel by panel.
// Pure row order would spread the stores over panels ps apart (often the
// same L1 set); pure panel order would re-read each source line from L2.
// R14 = rows in this block, R9 (w is known) = inner row counter.
#define PC_BLOCK_START \
	MOVQ CX, R14; \
	CMPQ R14, $8; \
	JLE  2(PC);   \
	MOVQ $8, R14; \
	MOVQ SI, AX;  \
	MOVQ DI, BX;  \
	MOVQ R10, DX

pc6_col:
	// Prefetch the next block's source rows (prefetches never fault).
	LEAQ (SI)(R8*8), R12
	MOVQ $8, R13
	LEAQ (R10)(R10*2), BX
	SHLQ $3, BX

pc6_pf_row:
	XORQ AX, AX

pc6_pf_line:
	PREFETCHT0 (R12)(AX*1)
	ADDQ       $64, AX
	CMPQ       AX, BX
	JLE        pc6_pf_line
	ADDQ       R8, R12
	DECQ       R13
	JNZ        pc6_pf_row
	PC_BLOCK_START

pc6_panel:
	MOVQ AX, R12
	MOVQ BX, R13
	MOVQ R14, R9

pc6_row:
	MOVUPS (R12), X0
	MOVQ   16(R12), X1
	MOVUPS X0, (R13)
	MOVQ   X1, 16(R13)
	ADDQ   R8, R12
	ADDQ   $24, R13
	DECQ   R9
	JNZ    pc6_row
	ADDQ   $24, AX
	ADDQ   R11, BX
	DECQ   DX
	JNZ    pc6_panel
	MOVQ   R14, R12
	IMULQ  R8, R12
	ADDQ   R12, SI
	LEAQ   (R14)(R14*2), R12
	SHLQ   $3, R12
	ADDQ   R12, DI
	SUBQ   R14, CX
	JNZ    pc6_col
	RET

pc16_col:
	// Prefetch the next block's source rows (prefetches never fault).
	LEAQ (SI)(R8*8), R12
	MOVQ $8, R13
	MOVQ R10, BX
	SHLQ $6, BX

pc16_pf_row:
	XORQ AX, AX

pc16_pf_line:
	PREFETCHT0 (R12)(AX*1)
	ADDQ       $64, AX
	CMPQ       AX, BX
	JLE        pc16_pf_line
	ADDQ       R8, R12
	DECQ       R13
	JNZ        pc16_pf_row
	PC_BLOCK_START

pc16_panel:
	MOVQ AX, R12
	MOVQ BX, R13
	MOVQ R14, R9

pc16_row:
	MOVUPS (R12), X0
	MOVUPS 16(R12), X1
	MOVUPS 32(R12), X2
	MOVUPS 48(R12), X3
	MOVUPS X0, (R13)
	MOVUPS X1, 16(R13)
	MOVUPS X2, 32(R13)
	MOVUPS X3, 48(R13)
	ADDQ   R8, R12
	ADDQ   $64, R13
	DECQ   R9
	JNZ    pc16_row
	ADDQ   $64, AX
	ADDQ   R11, BX
	DECQ   DX
	JNZ    pc16_panel
	MOVQ   R14, R12
	IMULQ  R8, R12
	ADDQ   R12, SI
	MOVQ   R14, R12
	SHLQ   $6, R12
	ADDQ   R12, DI
	SUBQ   R14, CX
	JNZ    pc16_col
	RET

pc12_col:
	// Prefetch the next block's source rows (prefetches never fault).
	LEAQ (SI)(R8*8), R12
	MOVQ $8, R13
	LEAQ (R10)(R10*2), BX
	SHLQ $4, BX

pc12_pf_row:
	XORQ AX, AX

pc12_pf_line:
	PREFETCHT0 (R12)(AX*1)
	ADDQ       $64, AX
	CMPQ       AX, BX
	JLE        pc12_pf_line
	ADDQ       R8, R12
	DECQ       R13
	JNZ        pc12_pf_row
	PC_BLOCK_START

pc12_panel:
	MOVQ AX, R12
	MOVQ BX, R13
	MOVQ R14, R9

pc12_row:
	MOVUPS (R12), X0
	MOVUPS 16(R12), X1
	MOVUPS 32(R12), X2
	MOVUPS X0, (R13)
	MOVUPS X1, 16(R13)
	MOVUPS X2, 32(R13)
	ADDQ   R8, R12
	ADDQ   $48, R13
	DECQ   R9
	JNZ    pc12_row
	ADDQ   $48, AX
	ADDQ   R11, BX
	DECQ   DX
	JNZ    pc12_panel
	MOVQ   R14, R12
	IMULQ  R8, R12
	ADDQ   R12, SI
	LEAQ   (R14)(R14*2), R12
	SHLQ   $4, R12
	ADDQ   R12, DI
	SUBQ   R14, CX
	JNZ    pc12_col
	RET

pc32_col:
	// Prefetch the next block's source rows (prefetches never fault).
	LEAQ (SI)(R8*8), R12
	MOVQ $8, R13
	MOVQ R10, BX
	SHLQ $7, BX

pc32_pf_row:
	XORQ AX, AX

pc32_pf_line:
	PREFETCHT0 (R12)(AX*1)
	ADDQ       $64, AX
	CMPQ       AX, BX
	JLE        pc32_pf_line
	ADDQ       R8, R12
	DECQ       R13
	JNZ        pc32_pf_row
	PC_BLOCK_START

pc32_panel:
	MOVQ AX, R12
	MOVQ BX, R13
	MOVQ R14, R9

pc32_row:
	MOVUPS (R12), X0
	MOVUPS 16(R12), X1
	MOVUPS 32(R12), X2
	MOVUPS 48(R12), X3
	MOVUPS 64(R12), X4
	MOVUPS 80(R12), X5
	MOVUPS 96(R12), X6
	MOVUPS 112(R12), X7
	MOVUPS X0, (R13)
	MOVUPS X1, 16(R13)
	MOVUPS X2, 32(R13)
	MOVUPS X3, 48(R13)
	MOVUPS X4, 64(R13)
	MOVUPS X5, 80(R13)
	MOVUPS X6, 96(R13)
	MOVUPS X7, 112(R13)
	ADDQ   R8, R12
	SUBQ   $-128, R13
	DECQ   R9
	JNZ    pc32_row
	SUBQ   $-128, AX
	ADDQ   R11, BX
	DECQ   DX
	JNZ    pc32_panel
	MOVQ   R14, R12
	IMULQ  R8, R12
	ADDQ   R12, SI
	MOVQ   R14, R12
	SHLQ   $7, R12
	ADDQ   R12, DI
	SUBQ   R14, CX
	JNZ    pc32_col
	RET

// func packT4(dst, src *float32, ld, kc, w int)
// dst[p*w + j] = src[j*ld + p] for j < w, p < kc; w is a positive multiple
// of 4. Four source rows at a time; 4×4 blocks transposed in SSE registers
// (baseline amd64, so it serves every path), remaining columns one by one.
TEXT ·packT4(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	SHLQ $2, R8
	MOVQ kc+24(FP), CX
	MOVQ w+32(FP), R9
	SHLQ $2, R9                // dst row stride in bytes
	LEAQ (R8)(R8*2), R10       // 3*ld bytes
	LEAQ (R9)(R9*2), R11       // 3*w bytes
	MOVQ R9, DX
	SHRQ $4, DX                // groups of four rows
	TESTQ CX, CX
	JLE   pt_done

pt_group:
	MOVQ SI, AX                // source column pointer (row j)
	MOVQ DI, BX                // dst pointer (p = 0, column j)
	MOVQ CX, R12
	SHRQ $2, R12
	JZ   pt_tail

pt_block:
	MOVUPS   (AX), X0
	MOVUPS   (AX)(R8*1), X1
	MOVUPS   (AX)(R8*2), X2
	MOVUPS   (AX)(R10*1), X3
	MOVAPS   X0, X4
	UNPCKLPS X1, X4            // r0p0 r1p0 r0p1 r1p1
	UNPCKHPS X1, X0            // r0p2 r1p2 r0p3 r1p3
	MOVAPS   X2, X5
	UNPCKLPS X3, X5            // r2p0 r3p0 r2p1 r3p1
	UNPCKHPS X3, X2            // r2p2 r3p2 r2p3 r3p3
	MOVAPS   X4, X6
	MOVLHPS  X5, X6            // p0
	MOVHLPS  X4, X5            // p1
	MOVAPS   X0, X7
	MOVLHPS  X2, X7            // p2
	MOVHLPS  X0, X2            // p3
	MOVUPS   X6, (BX)
	MOVUPS   X5, (BX)(R9*1)
	MOVUPS   X7, (BX)(R9*2)
	MOVUPS   X2, (BX)(R11*1)
	ADDQ     $16, AX
	LEAQ     (BX)(R9*4), BX
	DECQ     R12
	JNZ      pt_block

pt_tail:
	MOVQ CX, R12
	ANDQ $3, R12
	JZ   pt_next

pt_col:
	MOVSS (AX), X0
	MOVSS (AX)(R8*1), X1
	MOVSS (AX)(R8*2), X2
	MOVSS (AX)(R10*1), X3
	MOVSS X0, (BX)
	MOVSS X1, 4(BX)
	MOVSS X2, 8(BX)
	MOVSS X3, 12(BX)
	ADDQ  $4, AX
	ADDQ  R9, BX
	DECQ  R12
	JNZ   pt_col

pt_next:
	LEAQ (SI)(R8*4), SI
	ADDQ $16, DI
	DECQ DX
	JNZ  pt_group

pt_done:
	RET
