//go:build amd64 && !purego

#include "textflag.h"

// STEP multiplies one column of the packed 6-row A strip (at AX+ao) by one
// row of the packed 16-wide B strip (at BX+bo) into the accumulators Y0-Y11.
#define STEP(ao, bo) \
	VMOVUPS      bo(BX), Y12 \
	VMOVUPS      bo+32(BX), Y13 \
	VBROADCASTSS ao(AX), Y14 \
	VFMADD231PS  Y12, Y14, Y0 \
	VFMADD231PS  Y13, Y14, Y1 \
	VBROADCASTSS ao+4(AX), Y15 \
	VFMADD231PS  Y12, Y15, Y2 \
	VFMADD231PS  Y13, Y15, Y3 \
	VBROADCASTSS ao+8(AX), Y14 \
	VFMADD231PS  Y12, Y14, Y4 \
	VFMADD231PS  Y13, Y14, Y5 \
	VBROADCASTSS ao+12(AX), Y15 \
	VFMADD231PS  Y12, Y15, Y6 \
	VFMADD231PS  Y13, Y15, Y7 \
	VBROADCASTSS ao+16(AX), Y14 \
	VFMADD231PS  Y12, Y14, Y8 \
	VFMADD231PS  Y13, Y14, Y9 \
	VBROADCASTSS ao+20(AX), Y15 \
	VFMADD231PS  Y12, Y15, Y10 \
	VFMADD231PS  Y13, Y15, Y11

// ROW adds two accumulators into one 16-wide row of C at DX and steps DX.
#define ROW(lo, hi) \
	VADDPS  (DX), lo, lo \
	VMOVUPS lo, (DX) \
	VADDPS  32(DX), hi, hi \
	VMOVUPS hi, 32(DX) \
	ADDQ    R8, DX

// func kernel6x16(k int, a, b, c *float32, ldc int)
TEXT ·kernel6x16(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ b+16(FP), BX
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8

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

	// Four steps per iteration while at least four remain.
	CMPQ CX, $4
	JLT  tail

loop4:
	PREFETCHT0 384(BX)
	STEP(0, 0)
	STEP(24, 64)
	PREFETCHT0 448(BX)
	STEP(48, 128)
	STEP(72, 192)
	ADDQ $96, AX
	ADDQ $256, BX
	SUBQ $4, CX
	CMPQ CX, $4
	JGE  loop4

tail:
	TESTQ CX, CX
	JEQ   store

loop1:
	STEP(0, 0)
	ADDQ $24, AX
	ADDQ $64, BX
	DECQ CX
	JNZ  loop1

store:
	ROW(Y0, Y1)
	ROW(Y2, Y3)
	ROW(Y4, Y5)
	ROW(Y6, Y7)
	ROW(Y8, Y9)
	ROW(Y10, Y11)
	VZEROUPPER
	RET
