// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

//go:build goexperiment.simd

package ops

import (
	"math"
	"math/rand/v2"
	"simd/archsimd"
	"testing"
)

// TestFloat32SIMDKernels: every SIMD kernel the CPU supports (not only the one init
// picked) returns the same bits as the scalar loop, for every tail length and for special
// values (±0, ±Inf, NaN, subnormals, division by zero).
func TestFloat32SIMDKernels(t *testing.T) {
	sets := map[string][4]float32KernelSet{}
	if archsimd.X86.AVX512() {
		sets["avx512"] = [4]float32KernelSet{
			binaryFloat32Add: {vvAddx16, vsAddx16, svAddx16}, binaryFloat32Sub: {vvSubx16, vsSubx16, svSubx16},
			binaryFloat32Mul: {vvMulx16, vsMulx16, svMulx16}, binaryFloat32Div: {vvDivx16, vsDivx16, svDivx16},
		}
	}
	if archsimd.X86.AVX2() {
		sets["avx2"] = [4]float32KernelSet{
			binaryFloat32Add: {vvAddx8, vsAddx8, svAddx8}, binaryFloat32Sub: {vvSubx8, vsSubx8, svSubx8},
			binaryFloat32Mul: {vvMulx8, vsMulx8, svMulx8}, binaryFloat32Div: {vvDivx8, vsDivx8, svDivx8},
		}
	}
	if len(sets) == 0 {
		t.Skip("no AVX2 nor AVX-512")
	}
	r := rand.New(rand.NewPCG(42, 11))
	specials := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), math.SmallestNonzeroFloat32, -math.MaxFloat32, 1}
	value := func() float32 {
		if r.IntN(8) == 0 {
			return specials[r.IntN(len(specials))]
		}
		return float32(r.NormFloat64() * 10)
	}
	same := func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) || (x != x && y != y) }
	for name, set := range sets {
		for op := range set {
			for n := range 70 {
				a, b := make([]float32, n), make([]float32, n)
				for i := range a {
					a[i], b[i] = value(), value()
				}
				c := value()
				want, got := make([]float32, n), make([]float32, n)
				check := func(form string) {
					for i := range want {
						if !same(want[i], got[i]) {
							t.Fatalf("%s op %d %s, length %d, element %d: SIMD %g, scalar %g", name, op, form, n, i, got[i], want[i])
						}
					}
				}
				float32ScalarKernels[op].vv(want, a, b)
				set[op].vv(got, a, b)
				check("vv")
				float32ScalarKernels[op].vs(want, a, c)
				set[op].vs(got, a, c)
				check("vs")
				float32ScalarKernels[op].sv(want, c, b)
				set[op].sv(got, c, b)
				check("sv")
			}
		}
	}
}
