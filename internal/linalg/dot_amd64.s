//go:build amd64 && !purego

#include "textflag.h"

// func dotAVX2(n int, x, y *float64) float64
// n is a multiple of 16: four YMM accumulators of 4.
TEXT ·dotAVX2(SB), NOSPLIT, $0-32
	MOVQ   n+0(FP), CX
	MOVQ   x+8(FP), SI
	MOVQ   y+16(FP), DI
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1
	VXORPD Y2, Y2, Y2
	VXORPD Y3, Y3, Y3

yloop:
	TESTQ       CX, CX
	JZ          ydone
	VMOVUPD     (SI), Y4
	VMOVUPD     32(SI), Y5
	VMOVUPD     64(SI), Y6
	VMOVUPD     96(SI), Y7
	VFMADD231PD (DI), Y4, Y0
	VFMADD231PD 32(DI), Y5, Y1
	VFMADD231PD 64(DI), Y6, Y2
	VFMADD231PD 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $16, CX
	JMP         yloop

ydone:
	VADDPD       Y1, Y0, Y0
	VADDPD       Y3, Y2, Y2
	VADDPD       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VHADDPD      X0, X0, X0
	VZEROUPPER
	MOVSD        X0, ret+24(FP)
	RET

// func dotAVX512(n int, x, y *float64) float64
// n is a multiple of 32: four ZMM accumulators of 8.
TEXT ·dotAVX512(SB), NOSPLIT, $0-32
	MOVQ   n+0(FP), CX
	MOVQ   x+8(FP), SI
	MOVQ   y+16(FP), DI
	VPXORQ Z0, Z0, Z0
	VPXORQ Z1, Z1, Z1
	VPXORQ Z2, Z2, Z2
	VPXORQ Z3, Z3, Z3

zloop:
	TESTQ       CX, CX
	JZ          zdone
	VMOVUPD     (SI), Z4
	VMOVUPD     64(SI), Z5
	VMOVUPD     128(SI), Z6
	VMOVUPD     192(SI), Z7
	VFMADD231PD (DI), Z4, Z0
	VFMADD231PD 64(DI), Z5, Z1
	VFMADD231PD 128(DI), Z6, Z2
	VFMADD231PD 192(DI), Z7, Z3
	ADDQ        $256, SI
	ADDQ        $256, DI
	SUBQ        $32, CX
	JMP         zloop

zdone:
	VADDPD         Z1, Z0, Z0
	VADDPD         Z3, Z2, Z2
	VADDPD         Z2, Z0, Z0
	VEXTRACTF64X4  $1, Z0, Y1
	VADDPD         Y1, Y0, Y0
	VEXTRACTF128   $1, Y0, X1
	VADDPD         X1, X0, X0
	VHADDPD        X0, X0, X0
	VZEROUPPER
	MOVSD          X0, ret+24(FP)
	RET

// func dotAxpyAVX2(n int, a, x, y *float64, alpha float64) float64
// Returns sum a[i]*x[i] and adds alpha*a[i] to y[i], i < n, n a multiple
// of 8: one pass over a.
TEXT ·dotAxpyAVX2(SB), NOSPLIT, $0-48
	MOVQ         n+0(FP), CX
	MOVQ         a+8(FP), SI
	MOVQ         x+16(FP), DI
	MOVQ         y+24(FP), DX
	VBROADCASTSD alpha+32(FP), Y8
	VXORPD       Y0, Y0, Y0
	VXORPD       Y1, Y1, Y1

yaloop:
	TESTQ       CX, CX
	JZ          yadone
	VMOVUPD     (SI), Y2
	VMOVUPD     32(SI), Y3
	VFMADD231PD (DI), Y2, Y0
	VFMADD231PD 32(DI), Y3, Y1
	VMOVUPD     (DX), Y4
	VMOVUPD     32(DX), Y5
	VFMADD231PD Y2, Y8, Y4
	VFMADD231PD Y3, Y8, Y5
	VMOVUPD     Y4, (DX)
	VMOVUPD     Y5, 32(DX)
	ADDQ        $64, SI
	ADDQ        $64, DI
	ADDQ        $64, DX
	SUBQ        $8, CX
	JMP         yaloop

yadone:
	VADDPD       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VHADDPD      X0, X0, X0
	VZEROUPPER
	MOVSD        X0, ret+40(FP)
	RET

// func dotAxpyAVX512(n int, a, x, y *float64, alpha float64) float64
// dotAxpyAVX2 with ZMM registers, n a multiple of 16.
TEXT ·dotAxpyAVX512(SB), NOSPLIT, $0-48
	MOVQ         n+0(FP), CX
	MOVQ         a+8(FP), SI
	MOVQ         x+16(FP), DI
	MOVQ         y+24(FP), DX
	VBROADCASTSD alpha+32(FP), Z8
	VPXORQ       Z0, Z0, Z0
	VPXORQ       Z1, Z1, Z1

zaloop:
	TESTQ       CX, CX
	JZ          zadone
	VMOVUPD     (SI), Z2
	VMOVUPD     64(SI), Z3
	VFMADD231PD (DI), Z2, Z0
	VFMADD231PD 64(DI), Z3, Z1
	VMOVUPD     (DX), Z4
	VMOVUPD     64(DX), Z5
	VFMADD231PD Z2, Z8, Z4
	VFMADD231PD Z3, Z8, Z5
	VMOVUPD     Z4, (DX)
	VMOVUPD     Z5, 64(DX)
	ADDQ        $128, SI
	ADDQ        $128, DI
	ADDQ        $128, DX
	SUBQ        $16, CX
	JMP         zaloop

zadone:
	VADDPD        Z1, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPD        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPD        X1, X0, X0
	VHADDPD       X0, X0, X0
	VZEROUPPER
	MOVSD         X0, ret+40(FP)
	RET
