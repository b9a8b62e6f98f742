// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package ops

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSumRowsFloat32 checks the float32 column sums ([outer, reduced, inner] → [outer,
// inner], SIMD adds when available) bit for bit against the scalar loop that adds the rows
// in order, for every inner length 1–40 and odd shapes.
func TestSumRowsFloat32(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for inner := 1; inner <= 40; inner++ {
		for _, or := range [][2]int{{1, 1}, {1, 2}, {3, 5}, {2, 33}, {1, 128}} {
			outer, reduced := or[0], or[1]
			src := make([]float32, outer*reduced*inner)
			for i := range src {
				src[i] = float32(r.NormFloat64())
			}
			got := make([]float32, outer*inner)
			sumRowsFloat32(src, got, outer, reduced, inner)
			for o := range outer {
				for i := range inner {
					want := src[o*reduced*inner+i]
					for k := 1; k < reduced; k++ {
						want += src[(o*reduced+k)*inner+i]
					}
					if math.Float32bits(got[o*inner+i]) != math.Float32bits(want) {
						t.Fatalf("inner=%d outer=%d reduced=%d [%d,%d]: %g, want %g", inner, outer, reduced, o, i, got[o*inner+i], want)
					}
				}
			}
		}
	}
}
