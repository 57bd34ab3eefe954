//go:build amd64 && !purego

#include "textflag.h"

// The 12x32 AVX-512 micro-kernel that reads A in place: 24 ZMM accumulators
// (12 rows x 2 vectors of 16), two B vectors and two broadcast registers.
// The kernel broadcasts A one element at a time, so it needs no A panel:
// each of the 12 rows has its own pointer in a general register (AX, DX,
// SI, DI, R8-R15; R14 and R15 are free in ABI0 code), all indexed by one
// counter CX that runs from -k up to 0 against pointers to the rows' ends.
// BX walks the packed 32-wide B strip.

// RSTEP multiplies column CX+ao/4 of the 12 rows by the B row at BX+bo
// into Z0-Z23.
#define RSTEP(ao, bo) \
	VMOVUPS      bo(BX), Z24 \
	VMOVUPS      bo+64(BX), Z25 \
	VBROADCASTSS ao(AX)(CX*4), Z26 \
	VBROADCASTSS ao(DX)(CX*4), Z27 \
	VFMADD231PS  Z24, Z26, Z0 \
	VFMADD231PS  Z25, Z26, Z1 \
	VFMADD231PS  Z24, Z27, Z2 \
	VFMADD231PS  Z25, Z27, Z3 \
	VBROADCASTSS ao(SI)(CX*4), Z28 \
	VBROADCASTSS ao(DI)(CX*4), Z29 \
	VFMADD231PS  Z24, Z28, Z4 \
	VFMADD231PS  Z25, Z28, Z5 \
	VFMADD231PS  Z24, Z29, Z6 \
	VFMADD231PS  Z25, Z29, Z7 \
	VBROADCASTSS ao(R8)(CX*4), Z30 \
	VBROADCASTSS ao(R9)(CX*4), Z31 \
	VFMADD231PS  Z24, Z30, Z8 \
	VFMADD231PS  Z25, Z30, Z9 \
	VFMADD231PS  Z24, Z31, Z10 \
	VFMADD231PS  Z25, Z31, Z11 \
	VBROADCASTSS ao(R10)(CX*4), Z26 \
	VBROADCASTSS ao(R11)(CX*4), Z27 \
	VFMADD231PS  Z24, Z26, Z12 \
	VFMADD231PS  Z25, Z26, Z13 \
	VFMADD231PS  Z24, Z27, Z14 \
	VFMADD231PS  Z25, Z27, Z15 \
	VBROADCASTSS ao(R12)(CX*4), Z28 \
	VBROADCASTSS ao(R13)(CX*4), Z29 \
	VFMADD231PS  Z24, Z28, Z16 \
	VFMADD231PS  Z25, Z28, Z17 \
	VFMADD231PS  Z24, Z29, Z18 \
	VFMADD231PS  Z25, Z29, Z19 \
	VBROADCASTSS ao(R14)(CX*4), Z30 \
	VBROADCASTSS ao(R15)(CX*4), Z31 \
	VFMADD231PS  Z24, Z30, Z20 \
	VFMADD231PS  Z25, Z30, Z21 \
	VFMADD231PS  Z24, Z31, Z22 \
	VFMADD231PS  Z25, Z31, Z23

// RROW points row register r at the end of row i of A: BX + 4*off[i],
// with BX at a + k and CX at off.
#define RROW(i, r) \
	MOVQ i*8(CX), r \
	LEAQ (BX)(r*4), r

// RADD adds two accumulators into one 32-wide row of C at BX and steps BX
// by the row stride CX.
#define RADD(lo, hi) \
	VADDPS  (BX), lo, lo \
	VMOVUPS lo, (BX) \
	VADDPS  64(BX), hi, hi \
	VMOVUPS hi, 64(BX) \
	ADDQ    CX, BX

// RPRE prefetches one 32-wide row of C at BX and steps BX by CX.
#define RPRE \
	PREFETCHT0 (BX) \
	PREFETCHT0 64(BX) \
	ADDQ       CX, BX

// func kernel12x32rows(k int, a *float32, off *int, b, c *float32, ldc int)
// computes c[i*ldc+j] += sum_p a[off[i]+p] * b[32p+j] for i < 12, j < 32,
// p < k (k >= 1): rows of A read where they lie, B a packed strip.
TEXT ·kernel12x32rows(SB), NOSPLIT, $0-48
	// The C tile is needed only at the end: fetch it meanwhile.
	MOVQ c+32(FP), BX
	MOVQ ldc+40(FP), CX
	SHLQ $2, CX
	RPRE
	RPRE
	RPRE
	RPRE
	RPRE
	RPRE
	RPRE
	RPRE
	RPRE
	RPRE
	RPRE
	RPRE

	MOVQ k+0(FP), CX
	MOVQ a+8(FP), BX
	LEAQ (BX)(CX*4), BX
	MOVQ off+16(FP), CX
	RROW(0, AX)
	RROW(1, DX)
	RROW(2, SI)
	RROW(3, DI)
	RROW(4, R8)
	RROW(5, R9)
	RROW(6, R10)
	RROW(7, R11)
	RROW(8, R12)
	RROW(9, R13)
	RROW(10, R14)
	RROW(11, R15)
	MOVQ b+24(FP), BX
	MOVQ k+0(FP), CX
	NEGQ CX

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23

	// Four steps per iteration while at least four remain.
	CMPQ CX, $-4
	JGT  rtail

rloop4:
	RSTEP(0, 0)
	RSTEP(4, 128)
	RSTEP(8, 256)
	RSTEP(12, 384)
	ADDQ $512, BX
	ADDQ $4, CX
	CMPQ CX, $-4
	JLE  rloop4

rtail:
	TESTQ CX, CX
	JEQ   rstore

rloop1:
	RSTEP(0, 0)
	ADDQ $128, BX
	INCQ CX
	JNZ  rloop1

rstore:
	MOVQ c+32(FP), BX
	MOVQ ldc+40(FP), CX
	SHLQ $2, CX
	RADD(Z0, Z1)
	RADD(Z2, Z3)
	RADD(Z4, Z5)
	RADD(Z6, Z7)
	RADD(Z8, Z9)
	RADD(Z10, Z11)
	RADD(Z12, Z13)
	RADD(Z14, Z15)
	RADD(Z16, Z17)
	RADD(Z18, Z19)
	RADD(Z20, Z21)
	RADD(Z22, Z23)
	VZEROUPPER
	RET
