// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package ops

import (
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/dtypes/float16"
	"github.com/gomlx/compute/internal/gobackend"
	"github.com/gomlx/compute/shapeinference"
	"github.com/gomlx/compute/shapes"
)

func init() {
	gobackend.RegisterTranspose.Register(Transpose, gobackend.PriorityGeneric)
	gobackend.SetNodeExecutor(compute.OpTypeTranspose, gobackend.PriorityGeneric, execTranspose)
}

// Transpose axes of x.
// There must be one value in permutations for each axis in the operand.
// The output will have: output.Shape.Dimension[ii] = operand.Shape.Dimension[permutations[i]].
func Transpose(f *gobackend.Function, operandValue compute.Value, permutations ...int) (compute.Value, error) {
	opType := compute.OpTypeTranspose
	inputs, err := f.VerifyAndCastValues(opType.String(), operandValue)
	if err != nil {
		return nil, err
	}
	operand := inputs[0]

	outputShape, err := shapeinference.Transpose(operand.Shape, permutations)
	if err != nil {
		// This should have been validated during graph build, but we check again just in case.
		return nil, err
	}
	node, _ := f.GetOrCreateNode(opType, outputShape, inputs, permutations)
	return node, nil
}

// TransposeDTypeMap is used to dispatch Transpose to type-specific implementations.
// gobackend:dtypemap execTransposeGeneric ints,uints,floats,half,bool
var TransposeDTypeMap = gobackend.NewDTypeMap("Transpose")

func init() {
	TransposeDTypeMap.Register(dtypes.Float16, gobackend.PriorityTyped, execTransposeFloat16)
	TransposeDTypeMap.Register(dtypes.BFloat16, gobackend.PriorityTyped, execTransposeBFloat16)
}

// execTranspose implements Transpose.
// The output will have: output.Shape.Dimension[ii] = operand.Shape.Dimension[permutations[i]].
//
// The permutation is first simplified (axes of dimension 1 dropped, runs of axes that stay
// adjacent merged). What is left is often an identity (a copy, or no work at all when the
// operand buffer can be reused), a permutation that keeps the last axis in place (copies of
// contiguous rows), or a (batched) transpose of the last two axes (copied in cache-sized
// tiles). Only the other permutations go through the element-by-element TransposeIterator.
func execTranspose(backend *gobackend.Backend, node *gobackend.Node, inputs []*gobackend.Buffer, inputsOwned []bool) (*gobackend.Buffer, error) {
	operand := inputs[0]
	permutations := node.Data.([]int)
	dims, perm := simplifyTranspose(operand.RawShape.Dimensions, permutations)
	outputShape := node.Shape
	if outputShape.IsDynamic() {
		outputShape = operand.RawShape.Clone()
		for i, axis := range permutations {
			outputShape.Dimensions[i] = operand.RawShape.Dimensions[axis]
		}
	}

	if isIdentityPermutation(perm) {
		// The memory layout does not change: reuse the operand if we own it, otherwise copy.
		if inputsOwned[0] {
			inputs[0] = nil // Signal to the executor that we took over the buffer.
			operand.RawShape = outputShape
			return operand, nil
		}
		output, err := backend.GetBuffer(outputShape)
		if err != nil {
			return nil, err
		}
		gobackend.CopyFlat(output.Flat, operand.Flat)
		return output, nil
	}

	// We can't write to the same buffer we read from because it's not done with swaps.
	output, err := backend.GetBuffer(outputShape)
	if err != nil {
		return nil, err
	}
	if transposeFastPath(operand.Flat, output.Flat, dims, perm) {
		return output, nil
	}
	it := NewTransposeIterator(shapes.Make(operand.RawShape.DType, dims...), perm)
	dtype := outputShape.DType
	tmpAny, tmpErr := TransposeDTypeMap.Get(dtype)
	if tmpErr != nil {
		panic(tmpErr)
	}
	transposeFn := tmpAny.(func(operand, output *gobackend.Buffer, it *TransposeIterator))
	transposeFn(operand, output, it)
	return output, nil
}

// simplifyTranspose returns operand dimensions and a permutation equivalent to (dims,
// permutations) for the memory layout: axes of dimension 1 are dropped and consecutive
// operand axes that stay consecutive in the output are merged into one.
func simplifyTranspose(dims, permutations []int) (newDims, newPerm []int) {
	// Drop axes of dimension 1: they don't change any flat index.
	kept := make([]int, 0, len(dims)) // operand axes kept, in output order.
	for _, axis := range permutations {
		if dims[axis] != 1 {
			kept = append(kept, axis)
		}
	}
	// Merge runs: output-consecutive axes a, a+1 (by rank among the kept operand axes).
	rank := make([]int, len(dims)) // operand axis -> its position among the kept axes, in operand order.
	n := 0
	for axis := range dims {
		if dims[axis] != 1 {
			rank[axis] = n
			n++
		}
	}
	// groups in output order, each a run of kept operand axes [first, last].
	type group struct{ first, last, dim int }
	var groups []group
	for _, axis := range kept {
		if len(groups) > 0 {
			g := &groups[len(groups)-1]
			if rank[axis] == rank[g.last]+1 {
				g.last = axis
				g.dim *= dims[axis]
				continue
			}
		}
		groups = append(groups, group{first: axis, last: axis, dim: dims[axis]})
	}
	// Number the groups in operand order.
	order := make([]int, len(groups)) // group indices sorted by first operand axis.
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return groups[a].first - groups[b].first })
	newDims = make([]int, len(groups))
	operandPos := make([]int, len(groups)) // group index -> its axis in the simplified operand.
	for pos, gi := range order {
		newDims[pos] = groups[gi].dim
		operandPos[gi] = pos
	}
	newPerm = make([]int, len(groups))
	for gi := range groups {
		newPerm[gi] = operandPos[gi]
	}
	return newDims, newPerm
}

func isIdentityPermutation(perm []int) bool {
	for i, axis := range perm {
		if i != axis {
			return false
		}
	}
	return true
}

// transposeFastPath handles the permutations with a contiguous memory access pattern:
// the last axis stays last (copies of contiguous rows) and the batched transpose of the
// last two axes (tiled). dims and perm must come from simplifyTranspose. It returns false
// if it did not handle the transpose.
func transposeFastPath(operandFlat, outputFlat any, dims, perm []int) bool {
	switch src := operandFlat.(type) {
	case []float32:
		return transposeFlat(src, outputFlat.([]float32), dims, perm)
	case []float64:
		return transposeFlat(src, outputFlat.([]float64), dims, perm)
	case []int32:
		return transposeFlat(src, outputFlat.([]int32), dims, perm)
	case []int64:
		return transposeFlat(src, outputFlat.([]int64), dims, perm)
	case []uint32:
		return transposeFlat(src, outputFlat.([]uint32), dims, perm)
	case []uint64:
		return transposeFlat(src, outputFlat.([]uint64), dims, perm)
	case []int16:
		return transposeFlat(src, outputFlat.([]int16), dims, perm)
	case []uint16:
		return transposeFlat(src, outputFlat.([]uint16), dims, perm)
	case []int8:
		return transposeFlat(src, outputFlat.([]int8), dims, perm)
	case []uint8:
		return transposeFlat(src, outputFlat.([]uint8), dims, perm)
	case []bool:
		return transposeFlat(src, outputFlat.([]bool), dims, perm)
	case []float16.Float16:
		return transposeFlat(src, outputFlat.([]float16.Float16), dims, perm)
	case []bfloat16.BFloat16:
		return transposeFlat(src, outputFlat.([]bfloat16.BFloat16), dims, perm)
	}
	return false
}

// transposeTile is the side of the square tiles copied by the tiled 2D transpose. Measured
// on [2048, 3000] float32 (AMD EPYC, AVX-512): 16 is 12x faster than the iterator, 32 is
// as fast on large matrices but slower on [2048, 512] where power-of-two strides make the
// reads of a 32-row tile collide in the L1 cache.
const transposeTile = 16

func transposeFlat[T any](src, dst []T, dims, perm []int) bool {
	rank := len(dims)
	switch {
	case perm[rank-1] == rank-1:
		// The last axis stays in place: move whole rows of dims[rank-1] elements.
		rowLen := dims[rank-1]
		rowDims, rowPerm := dims[:rank-1], perm[:rank-1]
		it := NewTransposeIterator(shapes.Make(dtypes.Int8, rowDims...), rowPerm)
		for srcStart := 0; srcStart < len(src); srcStart += rowLen {
			dstStart := it.Next() * rowLen
			copy(dst[dstStart:dstStart+rowLen], src[srcStart:srcStart+rowLen])
		}
		return true
	case perm[rank-1] == rank-2 && perm[rank-2] == rank-1 && isIdentityPermutation(perm[:rank-2]):
		// Batched transpose of the last two axes.
		rows, cols := dims[rank-2], dims[rank-1]
		matrixSize := rows * cols
		for start := 0; start < len(src); start += matrixSize {
			transpose2D(src[start:start+matrixSize], dst[start:start+matrixSize], rows, cols)
		}
		return true
	}
	return false
}

// transpose2D writes the transpose of the row-major [rows, cols] matrix src into dst
// ([cols, rows]), tile by tile: within a tile each output row is written contiguously from
// a strided column of the (cache-resident) source tile.
func transpose2D[T any](src, dst []T, rows, cols int) {
	for c0 := 0; c0 < cols; c0 += transposeTile {
		c1 := min(c0+transposeTile, cols)
		for r0 := 0; r0 < rows; r0 += transposeTile {
			r1 := min(r0+transposeTile, rows)
			for c := c0; c < c1; c++ {
				out := dst[c*rows+r0 : c*rows+r1]
				srcIdx := r0*cols + c
				for i := range out {
					out[i] = src[srcIdx]
					srcIdx += cols
				}
			}
		}
	}
}

// TransposeIterator creates a dynamic iterator that yields output flat indices
// for the corresponding flat index on the input operand, assuming the operand flat index is moving
// incrementally.
type TransposeIterator struct {
	flatIdx                                int
	perAxisIdx, perAxisStrides, dimensions []int
}

// NewTransposeIterator creates a dynamic iterator that yields output flat indices
// for the corresponding flat index on the input operand, assuming the operand flat index is moving
// incrementally.
func NewTransposeIterator(operand shapes.Shape, permutations []int) *TransposeIterator {
	rank := operand.Rank()

	it := &TransposeIterator{
		perAxisIdx:     make([]int, rank),
		perAxisStrides: make([]int, rank),
		dimensions:     slices.Clone(operand.Dimensions),
	}

	// First, calculate strides on the output.
	stridesOnOutput := make([]int, rank)
	stride := 1
	reversePermutations := make([]int, rank)
	for outputAxis := rank - 1; outputAxis >= 0; outputAxis-- {
		stridesOnOutput[outputAxis] = stride
		operandAxis := permutations[outputAxis]
		stride *= operand.Dimensions[operandAxis]
		reversePermutations[operandAxis] = outputAxis
	}

	// Calculate per operand axis, what is the stride on the output.
	for operandAxis := range rank {
		outputAxis := reversePermutations[operandAxis]
		it.perAxisStrides[operandAxis] = stridesOnOutput[outputAxis]
	}
	return it
}

// Next returns the next flat index in the output.
func (it *TransposeIterator) Next() int {
	// Store current flatIdx first
	nextFlatIdx := it.flatIdx

	// Cache rank to avoid repeated len() calls
	rank := len(it.perAxisIdx)

	// Use local variables for array access to avoid repeated indirection
	perAxisIdx := it.perAxisIdx
	perAxisStrides := it.perAxisStrides
	dimensions := it.dimensions

	// Handle remaining axes only when needed
	for axis := rank - 1; axis >= 0; axis-- {
		perAxisIdx[axis]++
		it.flatIdx += perAxisStrides[axis]
		if perAxisIdx[axis] < dimensions[axis] {
			// We are done.
			return nextFlatIdx
		}
		perAxisIdx[axis] = 0
		it.flatIdx -= perAxisStrides[axis] * dimensions[axis]
	}

	return nextFlatIdx
}

func execTransposeGeneric[T gobackend.SupportedTypesConstraints](operand, output *gobackend.Buffer, it *TransposeIterator) {
	operandFlat := operand.Flat.([]T)
	outputFlat := output.Flat.([]T)
	for _, value := range operandFlat {
		outputFlat[it.Next()] = value
	}
}

func execTransposeFloat16(operand, output *gobackend.Buffer, it *TransposeIterator) {
	operandFlat := operand.Flat.([]float16.Float16)
	outputFlat := output.Flat.([]float16.Float16)
	for _, value := range operandFlat {
		outputFlat[it.Next()] = value
	}
}

func execTransposeBFloat16(operand, output *gobackend.Buffer, it *TransposeIterator) {
	operandFlat := operand.Flat.([]bfloat16.BFloat16)
	outputFlat := output.Flat.([]bfloat16.BFloat16)
	for _, value := range operandFlat {
		outputFlat[it.Next()] = value
	}
}
