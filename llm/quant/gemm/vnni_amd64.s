#include "textflag.h"

// func vnni4x64(a *int8, lda int, b *uint8, kq int, acc *[4][64]int32)
// Registers: Z16–Z31 accumulators (row i, 16 channels v: Z16+4i+v), Z0–Z3 weights of one
// k-quad (64 channels × 4 bytes), Z4–Z7 the 4 activation bytes of rows 0–3 broadcast.
TEXT ·vnni4x64(SB), NOSPLIT, $0-40
	MOVQ a+0(FP), SI
	MOVQ lda+8(FP), DX
	MOVQ b+16(FP), DI
	MOVQ kq+24(FP), CX
	MOVQ acc+32(FP), R8
	LEAQ (SI)(DX*2), R9
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30
	VPXORD Z31, Z31, Z31
	TESTQ CX, CX
	JLE   store4

loop4:
	VMOVDQU32    (DI), Z0
	VMOVDQU32    64(DI), Z1
	VMOVDQU32    128(DI), Z2
	VMOVDQU32    192(DI), Z3
	VPBROADCASTD (SI), Z4
	VPBROADCASTD (SI)(DX*1), Z5
	VPBROADCASTD (R9), Z6
	VPBROADCASTD (R9)(DX*1), Z7
	VPDPBUSD     Z4, Z0, Z16
	VPDPBUSD     Z4, Z1, Z17
	VPDPBUSD     Z4, Z2, Z18
	VPDPBUSD     Z4, Z3, Z19
	VPDPBUSD     Z5, Z0, Z20
	VPDPBUSD     Z5, Z1, Z21
	VPDPBUSD     Z5, Z2, Z22
	VPDPBUSD     Z5, Z3, Z23
	VPDPBUSD     Z6, Z0, Z24
	VPDPBUSD     Z6, Z1, Z25
	VPDPBUSD     Z6, Z2, Z26
	VPDPBUSD     Z6, Z3, Z27
	VPDPBUSD     Z7, Z0, Z28
	VPDPBUSD     Z7, Z1, Z29
	VPDPBUSD     Z7, Z2, Z30
	VPDPBUSD     Z7, Z3, Z31
	ADDQ         $4, SI
	ADDQ         $4, R9
	ADDQ         $256, DI
	DECQ         CX
	JNZ          loop4

store4:
	VMOVDQU32 Z16, (R8)
	VMOVDQU32 Z17, 64(R8)
	VMOVDQU32 Z18, 128(R8)
	VMOVDQU32 Z19, 192(R8)
	VMOVDQU32 Z20, 256(R8)
	VMOVDQU32 Z21, 320(R8)
	VMOVDQU32 Z22, 384(R8)
	VMOVDQU32 Z23, 448(R8)
	VMOVDQU32 Z24, 512(R8)
	VMOVDQU32 Z25, 576(R8)
	VMOVDQU32 Z26, 640(R8)
	VMOVDQU32 Z27, 704(R8)
	VMOVDQU32 Z28, 768(R8)
	VMOVDQU32 Z29, 832(R8)
	VMOVDQU32 Z30, 896(R8)
	VMOVDQU32 Z31, 960(R8)
	VZEROUPPER
	RET

// func vnni1x64(a *int8, b *uint8, kq int, acc *[64]int32)
// Two k-quads per iteration into two accumulator sets (Z16–Z19, Z20–Z23) so eight
// independent VPDPBUSD chains hide the instruction's latency.
TEXT ·vnni1x64(SB), NOSPLIT, $0-32
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ kq+16(FP), CX
	MOVQ acc+24(FP), R8
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	CMPQ CX, $2
	JLT  tail1

loop1:
	VPBROADCASTD (SI), Z4
	VPBROADCASTD 4(SI), Z5
	VMOVDQU32    (DI), Z0
	VMOVDQU32    64(DI), Z1
	VMOVDQU32    128(DI), Z2
	VMOVDQU32    192(DI), Z3
	VMOVDQU32    256(DI), Z8
	VMOVDQU32    320(DI), Z9
	VMOVDQU32    384(DI), Z10
	VMOVDQU32    448(DI), Z11
	VPDPBUSD     Z4, Z0, Z16
	VPDPBUSD     Z4, Z1, Z17
	VPDPBUSD     Z4, Z2, Z18
	VPDPBUSD     Z4, Z3, Z19
	VPDPBUSD     Z5, Z8, Z20
	VPDPBUSD     Z5, Z9, Z21
	VPDPBUSD     Z5, Z10, Z22
	VPDPBUSD     Z5, Z11, Z23
	ADDQ         $8, SI
	ADDQ         $512, DI
	SUBQ         $2, CX
	CMPQ         CX, $2
	JGE          loop1

tail1:
	TESTQ CX, CX
	JLE   store1
	VPBROADCASTD (SI), Z4
	VMOVDQU32    (DI), Z0
	VMOVDQU32    64(DI), Z1
	VMOVDQU32    128(DI), Z2
	VMOVDQU32    192(DI), Z3
	VPDPBUSD     Z4, Z0, Z16
	VPDPBUSD     Z4, Z1, Z17
	VPDPBUSD     Z4, Z2, Z18
	VPDPBUSD     Z4, Z3, Z19

store1:
	VPADDD    Z20, Z16, Z16
	VPADDD    Z21, Z17, Z17
	VPADDD    Z22, Z18, Z18
	VPADDD    Z23, Z19, Z19
	VMOVDQU32 Z16, (R8)
	VMOVDQU32 Z17, 64(R8)
	VMOVDQU32 Z18, 128(R8)
	VMOVDQU32 Z19, 192(R8)
	VZEROUPPER
	RET

// func vnni4bit1x64(a *int8, b *uint8, oct int, groups int, acc *int32)
// One activation row times one W4A8 panel. b holds, per k-octet, 4 vectors of 64 bytes
// (16 channels × 4 k each): the low nibbles are k = 8o..8o+3, the high nibbles
// k = 8o+4..8o+7. For each of the groups (oct octets each) the 64 int32 sums Σ a·code are
// stored at acc[g·64 : g·64+64].
// Registers: Z16–Z19 low-nibble sums, Z20–Z23 high-nibble sums, Z8 the 0x0F byte mask.
TEXT ·vnni4bit1x64(SB), NOSPLIT, $0-40
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ oct+16(FP), R10
	MOVQ groups+24(FP), R11
	MOVQ acc+32(FP), R8
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z8

group4:
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	MOVQ   R10, CX

oct4:
	VPBROADCASTD (SI), Z9
	VPBROADCASTD 4(SI), Z10
	VMOVDQU32    (DI), Z0
	VMOVDQU32    64(DI), Z1
	VMOVDQU32    128(DI), Z2
	VMOVDQU32    192(DI), Z3
	VPSRLW       $4, Z0, Z4
	VPSRLW       $4, Z1, Z5
	VPSRLW       $4, Z2, Z6
	VPSRLW       $4, Z3, Z7
	VPANDD       Z8, Z0, Z0
	VPANDD       Z8, Z1, Z1
	VPANDD       Z8, Z2, Z2
	VPANDD       Z8, Z3, Z3
	VPANDD       Z8, Z4, Z4
	VPANDD       Z8, Z5, Z5
	VPANDD       Z8, Z6, Z6
	VPANDD       Z8, Z7, Z7
	VPDPBUSD     Z9, Z0, Z16
	VPDPBUSD     Z9, Z1, Z17
	VPDPBUSD     Z9, Z2, Z18
	VPDPBUSD     Z9, Z3, Z19
	VPDPBUSD     Z10, Z4, Z20
	VPDPBUSD     Z10, Z5, Z21
	VPDPBUSD     Z10, Z6, Z22
	VPDPBUSD     Z10, Z7, Z23
	ADDQ         $8, SI
	ADDQ         $256, DI
	DECQ         CX
	JNZ          oct4

	VPADDD    Z20, Z16, Z16
	VPADDD    Z21, Z17, Z17
	VPADDD    Z22, Z18, Z18
	VPADDD    Z23, Z19, Z19
	VMOVDQU32 Z16, (R8)
	VMOVDQU32 Z17, 64(R8)
	VMOVDQU32 Z18, 128(R8)
	VMOVDQU32 Z19, 192(R8)
	ADDQ      $256, R8
	DECQ      R11
	JNZ       group4
	VZEROUPPER
	RET

// func vnni4bit1x64f(a *int8, b *uint8, oct int, groups int, corr *int32, scale *float32, out *[64]float32)
// vnni4bit1x64 with the epilogue of a layer whose zero point is the same everywhere, in
// registers: out[c] = Σ_g scale[g·64+c]·float(Σ_{k∈g} a·code − corr[g]), where
// corr[g] = zero·Σ_{k∈g} a. The group sums never go to memory, and the scales (the panel's
// [groups][64] slice) are read once, as FMA operands.
// Registers: Z16–Z23 as in vnni4bit1x64, Z24–Z27 the float sums, Z11 the broadcast corr[g].
TEXT ·vnni4bit1x64f(SB), NOSPLIT, $0-56
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ oct+16(FP), R10
	MOVQ groups+24(FP), R11
	MOVQ corr+32(FP), R12
	MOVQ scale+40(FP), R13
	MOVQ out+48(FP), R8
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z8
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27

groupf:
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	MOVQ   R10, CX

octf:
	VPBROADCASTD (SI), Z9
	VPBROADCASTD 4(SI), Z10
	VMOVDQU32    (DI), Z0
	VMOVDQU32    64(DI), Z1
	VMOVDQU32    128(DI), Z2
	VMOVDQU32    192(DI), Z3
	VPSRLW       $4, Z0, Z4
	VPSRLW       $4, Z1, Z5
	VPSRLW       $4, Z2, Z6
	VPSRLW       $4, Z3, Z7
	VPANDD       Z8, Z0, Z0
	VPANDD       Z8, Z1, Z1
	VPANDD       Z8, Z2, Z2
	VPANDD       Z8, Z3, Z3
	VPANDD       Z8, Z4, Z4
	VPANDD       Z8, Z5, Z5
	VPANDD       Z8, Z6, Z6
	VPANDD       Z8, Z7, Z7
	VPDPBUSD     Z9, Z0, Z16
	VPDPBUSD     Z9, Z1, Z17
	VPDPBUSD     Z9, Z2, Z18
	VPDPBUSD     Z9, Z3, Z19
	VPDPBUSD     Z10, Z4, Z20
	VPDPBUSD     Z10, Z5, Z21
	VPDPBUSD     Z10, Z6, Z22
	VPDPBUSD     Z10, Z7, Z23
	ADDQ         $8, SI
	ADDQ         $256, DI
	DECQ         CX
	JNZ          octf

	VPBROADCASTD (R12), Z11
	VPADDD       Z20, Z16, Z16
	VPADDD       Z21, Z17, Z17
	VPADDD       Z22, Z18, Z18
	VPADDD       Z23, Z19, Z19
	VPSUBD       Z11, Z16, Z16
	VPSUBD       Z11, Z17, Z17
	VPSUBD       Z11, Z18, Z18
	VPSUBD       Z11, Z19, Z19
	VCVTDQ2PS    Z16, Z16
	VCVTDQ2PS    Z17, Z17
	VCVTDQ2PS    Z18, Z18
	VCVTDQ2PS    Z19, Z19
	VFMADD231PS  (R13), Z16, Z24
	VFMADD231PS  64(R13), Z17, Z25
	VFMADD231PS  128(R13), Z18, Z26
	VFMADD231PS  192(R13), Z19, Z27
	ADDQ         $4, R12
	ADDQ         $256, R13
	DECQ         R11
	JNZ          groupf

	VMOVUPS Z24, (R8)
	VMOVUPS Z25, 64(R8)
	VMOVUPS Z26, 128(R8)
	VMOVUPS Z27, 192(R8)
	VZEROUPPER
	RET
