#include "textflag.h"

// func wo4x64(x *float32, w *uint8, scale *float32, tab *[16]float32, ng, pairs, last int, out *[64]float32)
// Registers: Z8 the table; per group Z0–Z3 (low nibbles, even k) and Z12–Z15 (high
// nibbles, odd k) accumulate 16 channels each, eight independent FMA chains; Z4–Z7 the
// scaled totals; Z9, Z10 x[k], x[k+1] broadcast; Z16–Z23 indices and looked-up weights.
// One k-pair is one 64-byte row in nib4 order: 32-bit lane j holds channels j, 16+j, 32+j,
// 48+j in its bytes, so the row shifted right by 8t (4 more for the odd k) has the code of
// channel 16t+j in the low 4 bits of lane j, the only bits VPERMPS reads.
TEXT ·wo4x64(SB), NOSPLIT, $0-64
	MOVQ x+0(FP), DI
	MOVQ w+8(FP), SI
	MOVQ scale+16(FP), R8
	MOVQ tab+24(FP), AX
	MOVQ ng+32(FP), R9
	MOVQ pairs+40(FP), R10
	MOVQ last+48(FP), R11
	MOVQ out+56(FP), DX
	VMOVUPS (AX), Z8
	VPXORD  Z4, Z4, Z4
	VPXORD  Z5, Z5, Z5
	VPXORD  Z6, Z6, Z6
	VPXORD  Z7, Z7, Z7

group:
	MOVQ   R10, CX
	CMPQ   R9, $1
	CMOVQEQ R11, CX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15

pair:
	VBROADCASTSS (DI), Z9
	VBROADCASTSS 4(DI), Z10
	VMOVDQU32    (SI), Z16
	VPSRLD       $8, Z16, Z17
	VPSRLD       $16, Z16, Z18
	VPSRLD       $24, Z16, Z19
	VPSRLD       $4, Z16, Z20
	VPSRLD       $12, Z16, Z21
	VPSRLD       $20, Z16, Z22
	VPSRLD       $28, Z16, Z23
	VPERMPS      Z8, Z16, Z16
	VPERMPS      Z8, Z17, Z17
	VPERMPS      Z8, Z18, Z18
	VPERMPS      Z8, Z19, Z19
	VPERMPS      Z8, Z20, Z20
	VPERMPS      Z8, Z21, Z21
	VPERMPS      Z8, Z22, Z22
	VPERMPS      Z8, Z23, Z23
	VFMADD231PS  Z16, Z9, Z0
	VFMADD231PS  Z17, Z9, Z1
	VFMADD231PS  Z18, Z9, Z2
	VFMADD231PS  Z19, Z9, Z3
	VFMADD231PS  Z20, Z10, Z12
	VFMADD231PS  Z21, Z10, Z13
	VFMADD231PS  Z22, Z10, Z14
	VFMADD231PS  Z23, Z10, Z15
	ADDQ         $8, DI
	ADDQ         $64, SI
	DECQ         CX
	JNZ          pair

	VADDPS      Z12, Z0, Z0
	VADDPS      Z13, Z1, Z1
	VADDPS      Z14, Z2, Z2
	VADDPS      Z15, Z3, Z3
	VFMADD231PS (R8), Z0, Z4
	VFMADD231PS 64(R8), Z1, Z5
	VFMADD231PS 128(R8), Z2, Z6
	VFMADD231PS 192(R8), Z3, Z7
	ADDQ        $256, R8
	DECQ        R9
	JNZ         group

	VMOVUPS Z4, (DX)
	VMOVUPS Z5, 64(DX)
	VMOVUPS Z6, 128(DX)
	VMOVUPS Z7, 192(DX)
	VZEROUPPER
	RET
