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

// TestFusedRowsParallel runs float32 FusedSoftmax (last axis) and FusedLayerNorm (last axis)
// on shapes large enough to be split across the worker pool, and small ones, and checks
// every row against float64 references (the bounds of fusedops/float32_simd_amd64_test.go).
func TestFusedRowsParallel(t *testing.T) {
	r := rand.New(rand.NewPCG(61, 62))
	for _, dims := range [][2]int{{3, 5}, {300, 513}, {40, 3000}, {2048, 128}, {1, 9000}} {
		rows, n := dims[0], dims[1]
		x := make([]float32, rows*n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 3)
		}
		gamma, beta := randomFloat32s(r, n), randomFloat32s(r, n)
		shape := shapes.Make(dtypes.Float32, rows, n)
		vecShape := shapes.Make(dtypes.Float32, n)
		t.Run(fmt.Sprintf("softmax_%dx%d", rows, n), func(t *testing.T) {
			got := execOnBackend(t, []any{x}, []shapes.Shape{shape}, false,
				func(f compute.Function, p []compute.Value) (compute.Value, error) { return f.FusedSoftmax(p[0], 1) }).([]float32)
			for row := range rows {
				in := x[row*n : (row+1)*n]
				m := math.Inf(-1)
				for _, v := range in {
					m = math.Max(m, float64(v))
				}
				var sum float64
				for _, v := range in {
					sum += math.Exp(float64(v) - m)
				}
				for i, v := range in {
					want := math.Exp(float64(v)-m) / sum
					if d := math.Abs(float64(got[row*n+i]) - want); d > (1e-6+6e-8*(m-float64(v)))*want+1e-37 {
						t.Fatalf("row %d [%d]: %g, want %g", row, i, got[row*n+i], want)
					}
				}
			}
		})
		t.Run(fmt.Sprintf("layernorm_%dx%d", rows, n), func(t *testing.T) {
			got := execOnBackend(t, []any{x, gamma, beta}, []shapes.Shape{shape, vecShape, vecShape}, false,
				func(f compute.Function, p []compute.Value) (compute.Value, error) {
					return f.FusedLayerNorm(p[0], []int{1}, 1e-5, p[1], p[2])
				}).([]float32)
			for row := range rows {
				in := x[row*n : (row+1)*n]
				var mean, variance float64
				for _, v := range in {
					mean += float64(v)
				}
				mean /= float64(n)
				for _, v := range in {
					variance += (float64(v) - mean) * (float64(v) - mean)
				}
				inv := 1 / math.Sqrt(variance/float64(n)+1e-5)
				for i, v := range in {
					want := (float64(v)-mean)*inv*float64(gamma[i]) + float64(beta[i])
					if d := math.Abs(float64(got[row*n+i]) - want); d > 4e-6*(1+math.Abs(want)) {
						t.Fatalf("row %d [%d]: %g, want %g", row, i, got[row*n+i], want)
					}
				}
			}
		})
	}
}
