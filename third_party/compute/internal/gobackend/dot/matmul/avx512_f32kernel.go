// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

//go:build amd64 && goexperiment.simd

package matmul

import (
	"math"
	"sync/atomic"
	"unsafe"

	"github.com/gomlx/compute/internal/gobackend"
	"github.com/gomlx/compute/internal/gobackend/dot"
)

// This file holds the float32 AVX-512 "large" path built on an assembly micro-kernel
// (avx512_f32kernel_amd64.s) with a 14×32 register tile: 28 zmm accumulators, B loaded
// as 2 zmm per k step, A broadcast with VBROADCASTSS.
//
// Loop nest (per worker, per batch example), after BLIS:
//
//	for each column panel (Nc):              jc
//	  for each contracting panel (Kc):       pc — pack B[pc:pc+Kc, jc:jc+Nc] in 32-column strips
//	    for each 14-row tile of A:           ir — A is read in place (row-major, no packing)
//	      for each 32-column strip:          jr — micro-kernel, adds the tile into C in place
//
// The A micro-panel (14 rows × Kc) stays in L1 while the kernel streams the packed B
// panel (Kc × Nc, in L2). The kernel writes the first contracting panel's tile to C and
// adds the following ones, so there is no packed output panel. Partial tiles use masked
// stores for the columns and a row count for the rows; the last, partial row tile reads
// A from a zero-padded copy, so the kernel never reads past the matrix.

const (
	avx512F32KernelRows = 14 // Mr
	avx512F32KernelCols = 32 // Nr

	// avx512F32LHSRowPadding is the padding (in float32) of the rows of the A tiles the
	// path copies: 16 floats (64 bytes) moves each row to another L1 set.
	avx512F32LHSRowPadding = 16
)

// AVX512AsmParamsFloat32 are the panel sizes of the assembly float32 path.
// LHSPanelCrossSize is not used: rows are split between workers in 14-row tiles.
var AVX512AsmParamsFloat32 = CacheParams{
	LHSL1KernelRows:      avx512F32KernelRows,
	RHSL1KernelCols:      avx512F32KernelCols,
	PanelContractingSize: 384,    // Kc: A micro-panel 14×384×4 = 21 KB in L1 (48 KB on Zen 5).
	LHSPanelCrossSize:    14 * 4, // (not used)
	RHSPanelCrossSize:    512,    // Nc: B panel 384×512×4 = 768 KB in L2 (1 MB on Zen 5).
}

// AVX512AsmFloat32Enabled selects the assembly float32 path for the AVX-512 large
// products. Tests turn it off to reach the archsimd kernel.
var AVX512AsmFloat32Enabled = true

// avx512KernelFloat32x14x32 computes the 14×32 tile sum_k A[r,k]·B[k,c] and stores it
// (accumulate=false) or adds it (accumulate=true) to C.
//
//   - a: A[0,0] of the tile, row-major with row stride lda bytes; 14 rows × k are read.
//   - b: packed B strip, k × 32 contiguous float32.
//   - c: C[0,0] of the tile, row stride ldc bytes; only the first rows rows (1..14)
//     and the columns whose bit is set in mask (bit j for column j) are read/written.
//
//go:noescape
func avx512KernelFloat32x14x32(a unsafe.Pointer, lda uintptr, b unsafe.Pointer, k int,
	c unsafe.Pointer, ldc uintptr, rows int, mask uint64, accumulate bool)

// avx512KernelFloat32x14x32Packed is avx512KernelFloat32x14x32 with A stored contracting
// first: for each k, the 14 rows' values are consecutive, and lda (bytes) separates the
// k steps (56 for a packed tile).
//
//go:noescape
func avx512KernelFloat32x14x32Packed(a unsafe.Pointer, lda uintptr, b unsafe.Pointer, k int,
	c unsafe.Pointer, ldc uintptr, rows int, mask uint64, accumulate bool)

// avx512PackRHSTransposedStrip packs one 32-column strip of a transposed rhs (rows of
// contracting values, row j at src + idx[j] bytes): for each of the k contracting values,
// the 32 columns' values go to 32 consecutive float32 of dst, 0 for the columns whose
// bit in mask is clear (those rows are not read).
//
//go:noescape
func avx512PackRHSTransposedStrip(dst, src unsafe.Pointer, idx *[32]int32, k int, mask uint64)

// avx512PackRHSTransposed packs rhs[colStart:colStart+numCols, kStart:kStart+k] of a
// transposed rhs ([rhsCross, contracting], contractingSize values per row) into strips
// of [k, 32], the last one padded with zeros, as avx512PackRHSNonTransposed does for the
// non-transposed rhs.
func avx512PackRHSTransposed(rhs, packed []float32, colStart, kStart, contractingSize, numCols, k int) {
	const nr = avx512F32KernelCols
	if (nr-1)*contractingSize*4 > math.MaxInt32 {
		// Row offsets beyond the gather's int32 indices.
		unsafePackLHS(rhs, packed, colStart, kStart, contractingSize, numCols, k, nr)
		return
	}
	var idx [nr]int32
	for j := range idx {
		idx[j] = int32(j * contractingSize * 4)
	}
	rhsPtr := unsafe.Pointer(unsafe.SliceData(rhs))
	packedPtr := unsafe.Pointer(unsafe.SliceData(packed))
	for jr := 0; jr < numCols; jr += nr {
		cols := min(nr, numCols-jr)
		src := unsafe.Add(rhsPtr, ((colStart+jr)*contractingSize+kStart)*4)
		avx512PackRHSTransposedStrip(unsafe.Add(packedPtr, jr*k*4), src, &idx, k, uint64(1)<<cols-1)
	}
}

// avx512PackLHSTile14 copies n groups of 14 float32 to dst (56 bytes apart): the first
// rows values of each group from src (advancing srcStride bytes per group), the others 0.
// dst must have room for n×14+2 float32.
//
//go:noescape
func avx512PackLHSTile14(dst, src unsafe.Pointer, srcStride uintptr, n int, rows int)

// avx512AsmRouterFloat32 is the float32 AVX-512 router: the products that
// avx512RouterFloat32 would give to its large (packed) kernel go to the assembly path,
// unless AVX512AsmFloat32Enabled is false; the others to avx512RouterFloat32. Products in
// dot.LayoutContractingFirst (which only this path implements) always use the assembly path.
func avx512AsmRouterFloat32(backend *gobackend.Backend, layout dot.Layout,
	lhs, rhs []float32, batchSize, lhsCrossSize, rhsCrossSize, contractingSize int,
	output []float32) {
	flops := batchSize * lhsCrossSize * rhsCrossSize * contractingSize
	useSmallVariant := !ForceLargeVariant && (ForceSmallVariant || simdUseSmall(batchSize, lhsCrossSize, flops))
	if layout == dot.LayoutContractingFirst || (AVX512AsmFloat32Enabled && !useSmallVariant) {
		avx512AsmLargeFloat32(backend, layout, lhs, rhs, batchSize, lhsCrossSize, rhsCrossSize, contractingSize, output)
		return
	}
	avx512RouterFloat32(backend, layout, lhs, rhs, batchSize, lhsCrossSize, rhsCrossSize, contractingSize, output)
}

// avx512AsmLargeFloat32 multiplies using the assembly micro-kernel, splitting the work
// between the backend's workers.
func avx512AsmLargeFloat32(backend *gobackend.Backend, layout dot.Layout,
	lhs, rhs []float32, batchSize, lhsCrossSize, rhsCrossSize, contractingSize int,
	output []float32) {
	params := &AVX512AsmParamsFloat32
	if contractingSize == 0 {
		clear(output[:batchSize*lhsCrossSize*rhsCrossSize])
		return
	}
	maxWorkers := backend.Workers.AdjustedMaxParallelism()
	items := avx512AsmSplitWork(batchSize, lhsCrossSize, rhsCrossSize, contractingSize, max(1, maxWorkers))

	lhsBatchStride := lhsCrossSize * contractingSize
	rhsBatchStride := rhsCrossSize * contractingSize
	outputBatchStride := lhsCrossSize * rhsCrossSize
	kc := min(params.PanelContractingSize, contractingSize)
	nc := min(params.RHSPanelCrossSize, (rhsCrossSize+avx512F32KernelCols-1)/avx512F32KernelCols*avx512F32KernelCols)

	var next atomic.Int32
	run := func() {
		packedRHSRef, packedRHS, ok := GetBuffer[float32](backend, kc*nc)
		if !ok {
			return
		}
		defer ReleaseBuffer(packedRHSRef)
		tailLHSRef, tailLHS, ok := GetBuffer[float32](backend, avx512F32KernelRows*(kc+avx512F32LHSRowPadding))
		if !ok {
			return
		}
		defer ReleaseBuffer(tailLHSRef)
		for {
			i := int(next.Add(1)) - 1
			if i >= len(items) {
				return
			}
			item := items[i]
			for b := item.batchStart; b < item.batchEnd; b++ {
				avx512AsmMatrixSliceFloat32(layout,
					lhs[b*lhsBatchStride:(b+1)*lhsBatchStride],
					rhs[b*rhsBatchStride:(b+1)*rhsBatchStride],
					output[b*outputBatchStride:(b+1)*outputBatchStride],
					lhsCrossSize, rhsCrossSize, contractingSize,
					item.lhsRowStart, item.lhsRowEnd, item.rhsColStart, item.rhsColEnd,
					params, packedRHS, tailLHS)
			}
		}
	}
	if maxWorkers <= 1 || len(items) == 1 {
		run()
		return
	}
	backend.Workers.Saturate(run)
}

// avx512AsmSplitWork splits a batched product into work items for numWorkers workers:
// whole examples when the batch is large enough, else (also) output column or row ranges.
// Splitting columns is preferred: each worker then packs only its own part of B.
func avx512AsmSplitWork(batchSize, lhsCrossSize, rhsCrossSize, contractingSize, numWorkers int) []workItem {
	if numWorkers <= 1 || batchSize*lhsCrossSize*rhsCrossSize*contractingSize < 256*1024 {
		return []workItem{{0, batchSize, 0, lhsCrossSize, 0, rhsCrossSize}}
	}
	if batchSize >= numWorkers {
		// Whole examples, a few items per worker to balance the load.
		numItems := min(batchSize, 4*numWorkers)
		items := make([]workItem, 0, numItems)
		for i := range numItems {
			start, end := i*batchSize/numItems, (i+1)*batchSize/numItems
			items = append(items, workItem{start, end, 0, lhsCrossSize, 0, rhsCrossSize})
		}
		return items
	}
	// Few examples: split each one in numWorkers parts (rounded up to whole parts).
	parts := (numWorkers + batchSize - 1) / batchSize
	const minColsPerPart = 2 * avx512F32KernelCols
	items := make([]workItem, 0, parts*batchSize)
	if rhsCrossSize >= parts*minColsPerPart && rhsCrossSize >= lhsCrossSize/4 {
		numStrips := (rhsCrossSize + avx512F32KernelCols - 1) / avx512F32KernelCols
		for b := range batchSize {
			for p := range parts {
				start := min(rhsCrossSize, p*numStrips/parts*avx512F32KernelCols)
				end := min(rhsCrossSize, (p+1)*numStrips/parts*avx512F32KernelCols)
				if start < end {
					items = append(items, workItem{b, b + 1, 0, lhsCrossSize, start, end})
				}
			}
		}
		return items
	}
	numTiles := (lhsCrossSize + avx512F32KernelRows - 1) / avx512F32KernelRows
	for b := range batchSize {
		for p := range parts {
			start := min(lhsCrossSize, p*numTiles/parts*avx512F32KernelRows)
			end := min(lhsCrossSize, (p+1)*numTiles/parts*avx512F32KernelRows)
			if start < end {
				items = append(items, workItem{b, b + 1, start, end, 0, rhsCrossSize})
			}
		}
	}
	return items
}

// avx512AsmMatrixSliceFloat32 computes output[rowStart:rowEnd, colStart:colEnd] of one
// example. packedRHS holds at least Kc×Nc values, tailLHS 14×(Kc+16).
func avx512AsmMatrixSliceFloat32(layout dot.Layout,
	lhs, rhs, output []float32,
	lhsCrossSize, rhsCrossSize, contractingSize int,
	rowStart, rowEnd, colStart, colEnd int,
	params *CacheParams, packedRHS, tailLHS []float32) {
	const (
		mr        = avx512F32KernelRows
		nr        = avx512F32KernelCols
		sizeOfF32 = 4
	)
	kcMax := params.PanelContractingSize
	ncMax := params.RHSPanelCrossSize
	lhsPtr := unsafe.Pointer(unsafe.SliceData(lhs))
	outPtr := unsafe.Pointer(unsafe.SliceData(output))
	packedPtr := unsafe.Pointer(unsafe.SliceData(packedRHS))
	tailPtr := unsafe.Pointer(unsafe.SliceData(tailLHS))
	lda := uintptr(contractingSize) * sizeOfF32
	ldc := uintptr(rhsCrossSize) * sizeOfF32
	fullRowsEnd := rowEnd
	if lhsCrossSize-rowStart >= mr {
		// Tiles starting before this row have all their 14 rows inside the matrix.
		fullRowsEnd = min(rowEnd, lhsCrossSize-mr+1)
	} else {
		fullRowsEnd = rowStart
	}

	// With a row stride a multiple of 2 KB, the 14 rows of an A tile fall in at most 2
	// L1 sets (48 KB, 12 ways: addresses 4 KB apart share a set) and evict each other at
	// every k step: such tiles are first copied to a buffer with a padded row stride.
	copyLHS := lda%4096 == 0
	for jc := colStart; jc < colEnd; jc += ncMax {
		nc := min(ncMax, colEnd-jc)
		for pc := 0; pc < contractingSize; pc += kcMax {
			kc := min(kcMax, contractingSize-pc)
			kcPadded := kc + avx512F32LHSRowPadding
			if layout != dot.LayoutTransposed {
				avx512PackRHSNonTransposed(rhs, packedRHS, pc, jc, rhsCrossSize, kc, nc, nr)
			} else {
				avx512PackRHSTransposed(rhs, packedRHS, jc, pc, contractingSize, nc, kc)
			}
			accumulate := pc > 0
			stripBytes := uintptr(kc * nr * sizeOfF32)
			for ir := rowStart; ir < rowEnd; ir += mr {
				rows := min(mr, rowEnd-ir)
				cRow := unsafe.Add(outPtr, (uintptr(ir)*uintptr(rhsCrossSize)+uintptr(jc))*sizeOfF32)
				if layout == dot.LayoutContractingFirst {
					// lhs is [contracting, lhsCross]: the tile's 14 values of each k are
					// consecutive. Read in place when the kernel runs once on the tile (one
					// column strip) and the tile is inside the matrix; otherwise pack it
					// (k steps lhsCrossSize apart would not stay in L1 between the strips).
					aPtr := unsafe.Add(lhsPtr, (uintptr(pc)*uintptr(lhsCrossSize)+uintptr(ir))*sizeOfF32)
					aStride := uintptr(lhsCrossSize) * sizeOfF32
					if nc > nr || ir+mr > lhsCrossSize {
						avx512PackLHSTile14(tailPtr, aPtr, aStride, kc, min(mr, lhsCrossSize-ir))
						aPtr, aStride = tailPtr, mr*sizeOfF32
					}
					bPtr := packedPtr
					for jr := 0; jr < nc; jr += nr {
						cols := min(nr, nc-jr)
						mask := uint64(1)<<cols - 1
						avx512KernelFloat32x14x32Packed(aPtr, aStride, bPtr,
							kc, unsafe.Add(cRow, jr*sizeOfF32), ldc, rows, mask, accumulate)
						bPtr = unsafe.Add(bPtr, stripBytes)
					}
					continue
				}
				aPtr := unsafe.Add(lhsPtr, (uintptr(ir)*uintptr(contractingSize)+uintptr(pc))*sizeOfF32)
				aStride := lda
				if copyLHS && ir < fullRowsEnd {
					// Copy the tile's rows of A with a padded stride (see copyLHS).
					for r := range mr {
						src := (ir+r)*contractingSize + pc
						copy(tailLHS[r*kcPadded:r*kcPadded+kc], lhs[src:src+kc])
					}
					aPtr = tailPtr
					aStride = uintptr(kcPadded) * sizeOfF32
				} else if ir >= fullRowsEnd {
					// Copy the last rows of A to a zero-padded 14-row block.
					for r := range mr {
						dst := tailLHS[r*kcPadded : r*kcPadded+kc]
						if ir+r < lhsCrossSize {
							src := (ir+r)*contractingSize + pc
							copy(dst, lhs[src:src+kc])
						} else {
							clear(dst)
						}
					}
					aPtr = tailPtr
					aStride = uintptr(kcPadded) * sizeOfF32
				}
				bPtr := packedPtr
				for jr := 0; jr < nc; jr += nr {
					cols := min(nr, nc-jr)
					mask := uint64(1)<<cols - 1
					avx512KernelFloat32x14x32(aPtr, aStride, bPtr,
						kc, unsafe.Add(cRow, jr*sizeOfF32), ldc, rows, mask, accumulate)
					bPtr = unsafe.Add(bPtr, stripBytes)
				}
			}
		}
	}
}
