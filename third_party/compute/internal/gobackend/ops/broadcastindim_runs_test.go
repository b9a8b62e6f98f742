// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package ops_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
)

// referenceBroadcastInDim broadcasts x (dims) into outDims in plain Go: operand axis i
// maps to output axis axes[i] (size equal, or 1 to repeat).
func referenceBroadcastInDim[T any](x []T, dims, outDims, axes []int) []T {
	out := make([]T, shapes.Make(dtypes.Float32, outDims...).Size())
	for o := range out {
		index := unravel(o, outDims)
		in := make([]int, len(dims))
		for i, axis := range axes {
			if dims[i] != 1 {
				in[i] = index[axis]
			}
		}
		out[o] = x[ravel(in, dims)]
	}
	return out
}

// TestBroadcastInDimRuns checks BroadcastInDim (which copies or fills contiguous runs) against
// the plain-Go reference on random shapes and axis maps, in float32, int32 and bool.
func TestBroadcastInDimRuns(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	type bcase struct{ dims, outDims, axes []int }
	cases := []bcase{
		{[]int{4, 5, 1}, []int{4, 5, 37}, []int{0, 1, 2}}, // [b, s, 1] → [b, s, v]: one filled run per row.
		{[]int{37}, []int{4, 5, 37}, []int{2}},            // a row repeated.
		{[]int{4, 5}, []int{4, 5, 37}, []int{0, 1}},       // each value repeated along a new last axis.
		{[]int{5}, []int{4, 5, 3}, []int{1}},              // a middle axis.
		{[]int{1}, []int{3, 2}, []int{1}},                 // size 1.
		{[]int{3, 1, 2}, []int{3, 4, 2}, []int{0, 1, 2}},  // repeat a middle axis.
	}
	for range 60 {
		outRank := 1 + r.IntN(4)
		outDims := randomDims(r, outRank)
		var dims, axes []int
		for axis, d := range outDims {
			switch r.IntN(3) {
			case 0: // axis absent from the operand
			case 1:
				dims, axes = append(dims, 1), append(axes, axis)
			default:
				dims, axes = append(dims, d), append(axes, axis)
			}
		}
		cases = append(cases, bcase{dims, outDims, axes})
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v_%v_%v", c.dims, c.outDims, c.axes), func(t *testing.T) {
			size := shapes.Make(dtypes.Float32, c.dims...).Size()
			xf := randomFloat32s(r, size)
			xi := make([]int32, size)
			xb := make([]bool, size)
			for i := range xi {
				xi[i] = r.Int32()
				xb[i] = r.IntN(2) == 0
			}
			for _, x := range []any{xf, xi, xb} {
				dt := dtypes.FromAny(reflect.ValueOf(x).Index(0).Interface())
				got := execOnBackend(t, []any{x}, []shapes.Shape{shapes.Make(dt, c.dims...)}, false,
					func(f compute.Function, p []compute.Value) (compute.Value, error) {
						return f.BroadcastInDim(p[0], shapes.Make(dt, c.outDims...), c.axes)
					})
				var want any
				switch x := x.(type) {
				case []float32:
					want = referenceBroadcastInDim(x, c.dims, c.outDims, c.axes)
				case []int32:
					want = referenceBroadcastInDim(x, c.dims, c.outDims, c.axes)
				case []bool:
					want = referenceBroadcastInDim(x, c.dims, c.outDims, c.axes)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: BroadcastInDim differs from the plain-Go reference", dt)
				}
			}
		})
	}
}
