//go:build amd64 && !purego

#include "textflag.h"

// The 6x8 AVX2+FMA float64 micro-kernel: twelve YMM accumulators (6 rows x
// 2 vectors of 4), two B vectors and two broadcast registers for A.

// YSTEP multiplies one column of the packed 6-row A strip (at AX+ao) by one
// row of the packed 8-wide B strip (at BX+bo) into Y0-Y11.
#define YSTEP(ao, bo) \
	VMOVUPD      bo(BX), Y12 \
	VMOVUPD      bo+32(BX), Y13 \
	VBROADCASTSD ao+0(AX), Y14 \
	VBROADCASTSD ao+8(AX), Y15 \
	VFMADD231PD  Y12, Y14, Y0 \
	VFMADD231PD  Y13, Y14, Y1 \
	VFMADD231PD  Y12, Y15, Y2 \
	VFMADD231PD  Y13, Y15, Y3 \
	VBROADCASTSD ao+16(AX), Y14 \
	VBROADCASTSD ao+24(AX), Y15 \
	VFMADD231PD  Y12, Y14, Y4 \
	VFMADD231PD  Y13, Y14, Y5 \
	VFMADD231PD  Y12, Y15, Y6 \
	VFMADD231PD  Y13, Y15, Y7 \
	VBROADCASTSD ao+32(AX), Y14 \
	VBROADCASTSD ao+40(AX), Y15 \
	VFMADD231PD  Y12, Y14, Y8 \
	VFMADD231PD  Y13, Y14, Y9 \
	VFMADD231PD  Y12, Y15, Y10 \
	VFMADD231PD  Y13, Y15, Y11

// YROW adds two accumulators into one 8-wide row of C at DX and steps DX.
#define YROW(lo, hi) \
	VADDPD  (DX), lo, lo \
	VMOVUPD lo, (DX) \
	VADDPD  32(DX), hi, hi \
	VMOVUPD hi, 32(DX) \
	ADDQ    R8, DX

// func kernel6x8(k int, a, b, c *float64, ldc int)
TEXT ·kernel6x8(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), BX
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $3, R8
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

yloop4:
	CMPQ CX, $4
	JLT  ytail
	YSTEP(0, 0)
	YSTEP(48, 64)
	YSTEP(96, 128)
	YSTEP(144, 192)
	ADDQ $192, AX
	ADDQ $256, BX
	SUBQ $4, CX
	JMP  yloop4

ytail:
	TESTQ CX, CX
	JZ    ystore
	YSTEP(0, 0)
	ADDQ  $48, AX
	ADDQ  $64, BX
	DECQ  CX
	JMP   ytail

ystore:
	YROW(Y0, Y1)
	YROW(Y2, Y3)
	YROW(Y4, Y5)
	YROW(Y6, Y7)
	YROW(Y8, Y9)
	YROW(Y10, Y11)
	VZEROUPPER
	RET
