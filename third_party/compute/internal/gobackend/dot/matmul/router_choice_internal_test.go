// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package matmul

import "testing"

// TestSIMDUseSmall checks the SIMD routers' choice between the small and the packed kernels
// on the shapes it was tuned on (the results of both kernels are tested elsewhere, with
// ForceSmallVariant / ForceLargeVariant).
func TestSIMDUseSmall(t *testing.T) {
	for _, c := range []struct {
		name                             string
		batch, lhsCross, rhsCross, contr int
		small                            bool
	}{
		{"decode row [1,64]·[64,192]", 1, 1, 192, 64, true},
		{"decode head [1,64]·[3000,64]ᵀ", 1, 1, 3000, 64, true},
		{"decode attention, 4 heads", 4, 1, 64, 16, true},
		{"tiny [32,64]·[64,64]", 1, 32, 64, 64, true},
		{"attention scores [64,32,16]·[64,32,16]ᵀ", 64, 32, 32, 16, false},
		{"dense [512,64]·[64,64]", 1, 512, 64, 64, false},
		{"large [2048,128]·[128,512]", 1, 2048, 512, 128, false},
		{"large, one row [1,4096]·[4096,1024]", 1, 1, 1024, 4096, false},
	} {
		flops := c.batch * c.lhsCross * c.rhsCross * c.contr
		if got := simdUseSmall(c.batch, c.lhsCross, flops); got != c.small {
			t.Errorf("%s: small kernel %v, want %v", c.name, got, c.small)
		}
	}
}
