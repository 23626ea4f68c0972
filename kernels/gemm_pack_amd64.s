//go:build amd64

#include "textflag.h"

// func panelCopy(dst, src *float32, rows, lds, w, npanels, ps int)
// For r < rows, q < npanels: copy w floats from src[r*lds + q*w] to
// dst[r*w + q*ps]. SSE2 only (baseline amd64), so it serves every path.
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

pc_row:
	MOVQ SI, AX
	MOVQ DI, BX
	MOVQ R10, DX

pc_panel:
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
	JNZ  pc_panel
	ADDQ R8, SI
	ADDQ R9, DI
	DECQ CX
	JNZ  pc_row

pc_done:
	RET
