// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

//go:build amd64 && goexperiment.simd

#include "textflag.h"

// The float32 AVX-512 micro-kernel: a 14x32 tile of C held in 28 zmm registers.
//
// Register use:
//   Z0..Z27: accumulators, row r in Z(2r) (columns 0-15) and Z(2r+1) (columns 16-31).
//   Z28, Z29: the 32 values of the packed B strip for one k.
//   Z30, Z31: the broadcast A value of a row.
//   AX: A rows 0-4, R10: A rows 5-9, R11: A rows 10-13 (row r at base + (r mod 5)*lda).
//   R8: lda (bytes), R9: 3*lda, BX: packed B, CX: k counter.
//   DI: C, SI: ldc (bytes), DX: rows to write, K1/K2: column masks.

#define ROW(base, idx, acc0, acc1, bv) \
	VBROADCASTSS idx, bv; \
	VFMADD231PS Z28, bv, acc0; \
	VFMADD231PS Z29, bv, acc1

// STEP does one k step: A at offset off, B at offset boff.
#define STEP(off, boff) \
	VMOVUPS boff(BX), Z28; \
	VMOVUPS (boff+64)(BX), Z29; \
	ROW(AX, off(AX), Z0, Z1, Z30); \
	ROW(AX, off(AX)(R8*1), Z2, Z3, Z31); \
	ROW(AX, off(AX)(R8*2), Z4, Z5, Z30); \
	ROW(AX, off(AX)(R9*1), Z6, Z7, Z31); \
	ROW(AX, off(AX)(R8*4), Z8, Z9, Z30); \
	ROW(R10, off(R10), Z10, Z11, Z31); \
	ROW(R10, off(R10)(R8*1), Z12, Z13, Z30); \
	ROW(R10, off(R10)(R8*2), Z14, Z15, Z31); \
	ROW(R10, off(R10)(R9*1), Z16, Z17, Z30); \
	ROW(R10, off(R10)(R8*4), Z18, Z19, Z31); \
	ROW(R11, off(R11), Z20, Z21, Z30); \
	ROW(R11, off(R11)(R8*1), Z22, Z23, Z31); \
	ROW(R11, off(R11)(R8*2), Z24, Z25, Z30); \
	ROW(R11, off(R11)(R9*1), Z26, Z27, Z31)

// STORE writes one row of the tile (masked), ending when DX rows were written.
#define STORE(acc0, acc1) \
	VMOVUPS acc0, K1, (DI); \
	VMOVUPS acc1, K2, 64(DI); \
	ADDQ SI, DI; \
	DECQ DX; \
	JZ done

// ACCUM adds one row of the tile to C (masked), ending when DX rows were written.
#define ACCUM(acc0, acc1) \
	VADDPS (DI), acc0, K1, acc0; \
	VADDPS 64(DI), acc1, K2, acc1; \
	VMOVUPS acc0, K1, (DI); \
	VMOVUPS acc1, K2, 64(DI); \
	ADDQ SI, DI; \
	DECQ DX; \
	JZ done


// PSTEP does one k step of the kernel with A "packed": the 14 rows' values consecutive,
// at AX plus the index idx (e.g. (R8*1)); B at offset boff.
#define PSTEP(idx, boff) \
	VMOVUPS boff(BX), Z28; \
	VMOVUPS (boff+64)(BX), Z29; \
	ROW(AX, (0)(AX)idx, Z0, Z1, Z30); \
	ROW(AX, (4)(AX)idx, Z2, Z3, Z31); \
	ROW(AX, (8)(AX)idx, Z4, Z5, Z30); \
	ROW(AX, (12)(AX)idx, Z6, Z7, Z31); \
	ROW(AX, (16)(AX)idx, Z8, Z9, Z30); \
	ROW(AX, (20)(AX)idx, Z10, Z11, Z31); \
	ROW(AX, (24)(AX)idx, Z12, Z13, Z30); \
	ROW(AX, (28)(AX)idx, Z14, Z15, Z31); \
	ROW(AX, (32)(AX)idx, Z16, Z17, Z30); \
	ROW(AX, (36)(AX)idx, Z18, Z19, Z31); \
	ROW(AX, (40)(AX)idx, Z20, Z21, Z30); \
	ROW(AX, (44)(AX)idx, Z22, Z23, Z31); \
	ROW(AX, (48)(AX)idx, Z24, Z25, Z30); \
	ROW(AX, (52)(AX)idx, Z26, Z27, Z31)

// func avx512KernelFloat32x14x32(a unsafe.Pointer, lda uintptr, b unsafe.Pointer, k int,
//	c unsafe.Pointer, ldc uintptr, rows int, mask uint64, accumulate bool)
TEXT ·avx512KernelFloat32x14x32(SB), NOSPLIT, $0-65
	MOVQ a+0(FP), AX
	MOVQ lda+8(FP), R8
	MOVQ b+16(FP), BX
	MOVQ k+24(FP), CX
	LEAQ (R8)(R8*2), R9
	LEAQ (AX)(R8*4), R10
	ADDQ R8, R10
	LEAQ (R10)(R8*4), R11
	ADDQ R8, R11

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
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27

	CMPQ CX, $4
	JLT  tail

loop4:
	STEP(0, 0)
	STEP(4, 128)
	STEP(8, 256)
	STEP(12, 384)
	ADDQ $16, AX
	ADDQ $16, R10
	ADDQ $16, R11
	ADDQ $512, BX
	SUBQ $4, CX
	CMPQ CX, $4
	JGE  loop4

tail:
	TESTQ CX, CX
	JZ    write

loop1:
	STEP(0, 0)
	ADDQ $4, AX
	ADDQ $4, R10
	ADDQ $4, R11
	ADDQ $128, BX
	DECQ CX
	JNZ  loop1

write:
	MOVQ c+32(FP), DI
	MOVQ ldc+40(FP), SI
	MOVQ rows+48(FP), DX
	MOVQ mask+56(FP), R12
	KMOVW R12, K1
	SHRQ $16, R12
	KMOVW R12, K2
	MOVBLZX accumulate+64(FP), R13
	TESTQ R13, R13
	JNZ   accum

	STORE(Z0, Z1)
	STORE(Z2, Z3)
	STORE(Z4, Z5)
	STORE(Z6, Z7)
	STORE(Z8, Z9)
	STORE(Z10, Z11)
	STORE(Z12, Z13)
	STORE(Z14, Z15)
	STORE(Z16, Z17)
	STORE(Z18, Z19)
	STORE(Z20, Z21)
	STORE(Z22, Z23)
	STORE(Z24, Z25)
	STORE(Z26, Z27)
	JMP done

accum:
	ACCUM(Z0, Z1)
	ACCUM(Z2, Z3)
	ACCUM(Z4, Z5)
	ACCUM(Z6, Z7)
	ACCUM(Z8, Z9)
	ACCUM(Z10, Z11)
	ACCUM(Z12, Z13)
	ACCUM(Z14, Z15)
	ACCUM(Z16, Z17)
	ACCUM(Z18, Z19)
	ACCUM(Z20, Z21)
	ACCUM(Z22, Z23)
	ACCUM(Z24, Z25)
	ACCUM(Z26, Z27)

done:
	VZEROUPPER
	RET

// func avx512KernelFloat32x14x32Packed(a unsafe.Pointer, lda uintptr, b unsafe.Pointer, k int,
//	c unsafe.Pointer, ldc uintptr, rows int, mask uint64, accumulate bool)
TEXT ·avx512KernelFloat32x14x32Packed(SB), NOSPLIT, $0-65
	MOVQ a+0(FP), AX
	MOVQ lda+8(FP), R8
	MOVQ b+16(FP), BX
	MOVQ k+24(FP), CX
	LEAQ (R8)(R8*2), R9
	XORQ R12, R12

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
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27

	CMPQ CX, $4
	JLT  tail

loop4:
	PSTEP((R12*1), 0)
	PSTEP((R8*1), 128)
	PSTEP((R8*2), 256)
	PSTEP((R9*1), 384)
	LEAQ (AX)(R8*4), AX
	ADDQ $512, BX
	SUBQ $4, CX
	CMPQ CX, $4
	JGE  loop4

tail:
	TESTQ CX, CX
	JZ    write

loop1:
	PSTEP((R12*1), 0)
	ADDQ R8, AX
	ADDQ $128, BX
	DECQ CX
	JNZ  loop1

write:
	MOVQ c+32(FP), DI
	MOVQ ldc+40(FP), SI
	MOVQ rows+48(FP), DX
	MOVQ mask+56(FP), R12
	KMOVW R12, K1
	SHRQ $16, R12
	KMOVW R12, K2
	MOVBLZX accumulate+64(FP), R13
	TESTQ R13, R13
	JNZ   accum

	STORE(Z0, Z1)
	STORE(Z2, Z3)
	STORE(Z4, Z5)
	STORE(Z6, Z7)
	STORE(Z8, Z9)
	STORE(Z10, Z11)
	STORE(Z12, Z13)
	STORE(Z14, Z15)
	STORE(Z16, Z17)
	STORE(Z18, Z19)
	STORE(Z20, Z21)
	STORE(Z22, Z23)
	STORE(Z24, Z25)
	STORE(Z26, Z27)
	JMP done

accum:
	ACCUM(Z0, Z1)
	ACCUM(Z2, Z3)
	ACCUM(Z4, Z5)
	ACCUM(Z6, Z7)
	ACCUM(Z8, Z9)
	ACCUM(Z10, Z11)
	ACCUM(Z12, Z13)
	ACCUM(Z14, Z15)
	ACCUM(Z16, Z17)
	ACCUM(Z18, Z19)
	ACCUM(Z20, Z21)
	ACCUM(Z22, Z23)
	ACCUM(Z24, Z25)
	ACCUM(Z26, Z27)

done:
	VZEROUPPER
	RET

// func avx512PackLHSTile14(dst, src unsafe.Pointer, srcStride uintptr, n int, rows int)
// copies n groups of 14 float32 (the first rows of each group read from src, the others
// zero) to dst, 56 bytes apart; src advances srcStride bytes per group. Each group is
// stored as 16 values (unmasked stores are faster), so dst needs 2 more float32 after
// the n×14; the next group overwrites the 2 extra.
TEXT ·avx512PackLHSTile14(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ srcStride+16(FP), R8
	MOVQ rows+32(FP), CX
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	MOVQ n+24(FP), CX
	KMOVW AX, K1
	TESTQ CX, CX
	JZ    packdone

packloop:
	VMOVUPS.Z (SI), K1, Z0
	VMOVUPS Z0, (DI)
	ADDQ R8, SI
	ADDQ $56, DI
	DECQ CX
	JNZ  packloop

packdone:
	VZEROUPPER
	RET

// func avx512PackRHSTransposedStrip(dst, src unsafe.Pointer, idx *[32]int32, k int, mask uint64)
// packs one 32-column strip of a transposed rhs ([cols, contracting], rows idx[j] bytes
// after src): for each of the k contracting values, the 32 columns' values (0 where the
// column's mask bit is clear) go to 128 consecutive bytes of dst.
TEXT ·avx512PackRHSTransposedStrip(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ idx+16(FP), AX
	MOVQ k+24(FP), CX
	MOVQ mask+32(FP), DX
	MOVQ DX, R8
	SHRQ $16, R8
	VMOVDQU32 (AX), Z30
	VMOVDQU32 64(AX), Z31
	TESTQ CX, CX
	JZ    gdone

gloop:
	KMOVW DX, K1
	KMOVW R8, K2
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VGATHERDPS (SI)(Z30*1), K1, Z0
	VGATHERDPS (SI)(Z31*1), K2, Z1
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	ADDQ $4, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  gloop

gdone:
	VZEROUPPER
	RET
