// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package ops_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
)

// referenceGather is XLA's Gather in plain Go, element by element, on float32 data.
func referenceGather(operand []float32, opDims []int, indices []int32, idxDims []int, outDims []int,
	indexVectorAxis int, offsetOutputAxes, collapsed, startIndexMap, sliceSizes []int) []float32 {
	out := make([]float32, shapes.Make(dtypes.Float32, outDims...).Size())
	var offsetOperandAxes []int // operand axes not collapsed, in order: they map to offsetOutputAxes.
	for axis := range opDims {
		if !slices.Contains(collapsed, axis) {
			offsetOperandAxes = append(offsetOperandAxes, axis)
		}
	}
	for o := range out {
		outIdx := unravel(o, outDims)
		var batch []int // output batch indices, in order.
		for axis, i := range outIdx {
			if !slices.Contains(offsetOutputAxes, axis) {
				batch = append(batch, i)
			}
		}
		in := make([]int, len(opDims))
		for k, axis := range startIndexMap {
			// startIndices index: the batch indices with k at indexVectorAxis.
			idx := make([]int, 0, len(idxDims))
			idx = append(idx, batch[:indexVectorAxis]...)
			if indexVectorAxis < len(idxDims) {
				idx = append(idx, k)
			}
			idx = append(idx, batch[indexVectorAxis:]...)
			start := int(indices[ravel(idx, idxDims)])
			in[axis] = max(0, min(opDims[axis]-sliceSizes[axis], start))
		}
		for k, axis := range offsetOperandAxes {
			in[axis] += outIdx[offsetOutputAxes[k]]
		}
		out[o] = operand[ravel(in, opDims)]
	}
	return out
}

// TestGatherRuns checks Gather, which copies the innermost slice axes contiguous in both the
// operand and the output as one run, against the plain-Go reference: embedding lookups (whole
// rows), a logit pick per position, partial rows, and gathers along a middle axis (runs
// shorter than the slice), with out-of-range indices (clamped).
func TestGatherRuns(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	type gcase struct {
		opDims, idxDims                                        []int
		indexVectorAxis                                        int
		offsetOutputAxes, collapsed, startIndexMap, sliceSizes []int
	}
	var cases []gcase
	for _, d := range []int{1, 3, 16, 17, 128} {
		v := 1 + r.IntN(50)
		cases = append(cases,
			gcase{[]int{v, d}, []int{4, 5, 1}, 2, []int{2}, []int{0}, []int{0}, []int{1, d}},                 // embedding rows.
			gcase{[]int{v, d}, []int{6, 1}, 1, []int{1}, []int{0}, []int{0}, []int{1, max(1, d/2)}},          // partial rows.
			gcase{[]int{3, v, d}, []int{4, 1}, 1, []int{0, 2}, []int{1}, []int{1}, []int{3, 1, d}},           // a middle axis.
			gcase{[]int{2, 3, d}, []int{2, 3, 3}, 2, nil, []int{0, 1, 2}, []int{0, 1, 2}, []int{1, 1, 1}},    // a pick per position.
			gcase{[]int{v, 2, d}, []int{4, 5, 1}, 2, []int{2, 3}, []int{0}, []int{0}, []int{1, 2, d}},        // rows of 2 inner axes.
			gcase{[]int{v, d, 2}, []int{3, 1}, 1, []int{1, 2}, []int{0}, []int{0}, []int{1, max(1, d-1), 2}}, // partial middle axis.
			gcase{[]int{v, d}, []int{2, 2, 3}, 1, nil, []int{0, 1}, []int{0, 1}, []int{1, 1}},                // index vector in the middle.
		)
	}
	for ci, c := range cases {
		t.Run(fmt.Sprintf("%d_%v_%v", ci, c.opDims, c.sliceSizes), func(t *testing.T) {
			operand := randomFloat32s(r, shapes.Make(dtypes.Float32, c.opDims...).Size())
			indices := make([]int32, shapes.Make(dtypes.Int32, c.idxDims...).Size())
			for i := range indices {
				indices[i] = int32(r.IntN(60)) - 5 // some out of range: clamped.
			}
			var outShape shapes.Shape
			got := execOnBackend(t, []any{operand, indices},
				[]shapes.Shape{shapes.Make(dtypes.Float32, c.opDims...), shapes.Make(dtypes.Int32, c.idxDims...)}, false,
				func(f compute.Function, p []compute.Value) (compute.Value, error) {
					v, err := f.Gather(p[0], p[1], c.indexVectorAxis, c.offsetOutputAxes, c.collapsed, c.startIndexMap, c.sliceSizes, false)
					if err == nil {
						outShape, err = f.Shape(v)
					}
					return v, err
				})
			want := referenceGather(operand, c.opDims, indices, c.idxDims, outShape.Dimensions,
				c.indexVectorAxis, c.offsetOutputAxes, c.collapsed, c.startIndexMap, c.sliceSizes)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Gather %v differs from the plain-Go reference:\n got %v\nwant %v", outShape, got, want)
			}
		})
	}
}
