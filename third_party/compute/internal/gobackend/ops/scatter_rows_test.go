// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package ops_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
)

// TestScatterSumRows checks float32 ScatterSum in the embedding-gradient layout (k leading
// operand axes indexed, whole trailing rows added; the SIMD row path) bit for bit against
// plain Go adding in the same order: repeated indices, windows of 1 (a pick per position,
// the cross-entropy gradient), odd row sizes, int32 and int64 indices, operand donated or not.
func TestScatterSumRows(t *testing.T) {
	r := rand.New(rand.NewPCG(71, 72))
	type scase struct{ opDims, batchDims []int }
	cases := []scase{
		{[]int{7, 1}, []int{3}}, {[]int{7, 5}, []int{4, 6}}, {[]int{30, 16}, []int{2, 9}}, {[]int{300, 128}, []int{32, 8}},
		{[]int{11, 33}, []int{50}}, {[]int{2, 3, 17}, []int{2, 3}}, {[]int{3, 4, 9}, []int{5}}, {[]int{4, 2, 3, 5}, []int{7}},
	}
	for ci, c := range cases {
		for _, k := range []int{1, 2, len(c.opDims)} {
			if k > len(c.opDims) {
				continue
			}
			for _, idx64 := range []bool{false, true} {
				t.Run(fmt.Sprintf("%d_k%d_i64%v", ci, k, idx64), func(t *testing.T) {
					window := shapes.Make(dtypes.Float32, c.opDims[k:]...).Size()
					numB := shapes.Make(dtypes.Float32, c.batchDims...).Size()
					operand := randomFloat32s(r, shapes.Make(dtypes.Float32, c.opDims...).Size())
					updates := randomFloat32s(r, numB*window)
					idx := make([]int, numB*k)
					for i := range idx {
						idx[i] = r.IntN(c.opDims[i%k])
					}
					idxDims := append(append([]int(nil), c.batchDims...), k)
					updDims := append(append([]int(nil), c.batchDims...), c.opDims[k:]...)
					var indices any
					idxDT := dtypes.Int32
					if idx64 {
						v := make([]int64, len(idx))
						for i, x := range idx {
							v[i] = int64(x)
						}
						indices, idxDT = v, dtypes.Int64
					} else {
						v := make([]int32, len(idx))
						for i, x := range idx {
							v[i] = int32(x)
						}
						indices = v
					}
					var windowAxes, inserted []int
					for i := range len(c.opDims) - k {
						windowAxes = append(windowAxes, len(c.batchDims)+i)
					}
					for i := range k {
						inserted = append(inserted, i)
					}
					want := append([]float32(nil), operand...)
					for b := range numB {
						row := 0
						for j := range k {
							row = row*c.opDims[j] + idx[b*k+j]
						}
						for i := range window {
							want[row*window+i] += updates[b*window+i]
						}
					}
					got := execOnBackend(t, []any{operand, indices, updates},
						[]shapes.Shape{shapes.Make(dtypes.Float32, c.opDims...), shapes.Make(idxDT, idxDims...), shapes.Make(dtypes.Float32, updDims...)},
						ci%2 == 0, func(f compute.Function, p []compute.Value) (compute.Value, error) {
							return f.ScatterSum(p[0], p[1], p[2], len(idxDims)-1, windowAxes, inserted, inserted, false, false)
						}).([]float32)
					for i := range want {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("[%d] = %g, want %g", i, got[i], want[i])
						}
					}
				})
			}
		}
	}
}
