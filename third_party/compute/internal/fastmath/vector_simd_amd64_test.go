// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

//go:build goexperiment.simd

package fastmath

import (
	"simd/archsimd"
	"testing"
)

// TestVectorKernels checks each SIMD kernel the CPU supports (not only the one init
// picked), and that the AVX2 and AVX-512 kernels return the same bits.
func TestVectorKernels(t *testing.T) {
	hasAVX2 := archsimd.X86.AVX2() && archsimd.X86.FMA()
	hasAVX512 := archsimd.X86.AVX512()
	if hasAVX2 {
		checkExp(t, "expFloat32sAVX2", expFloat32sAVX2)
		checkTanh(t, "tanhFloat32sAVX2", tanhFloat32sAVX2)
	}
	if hasAVX512 {
		checkExp(t, "expFloat32sAVX512", expFloat32sAVX512)
		checkTanh(t, "tanhFloat32sAVX512", tanhFloat32sAVX512)
	}
	if !hasAVX2 && !hasAVX512 {
		t.Skip("no AVX2+FMA nor AVX-512 on this CPU")
	}
	if hasAVX2 && hasAVX512 {
		xs := vectorInputs(-110, 95, 0.003)
		a, b := make([]float32, len(xs)), make([]float32, len(xs))
		expFloat32sAVX2(a, xs)
		expFloat32sAVX512(b, xs)
		for i := range xs {
			if !sameFloat(a[i], b[i]) {
				t.Fatalf("exp(%g): AVX2 %g, AVX-512 %g", xs[i], a[i], b[i])
			}
		}
		tanhFloat32sAVX2(a, xs)
		tanhFloat32sAVX512(b, xs)
		for i := range xs {
			if !sameFloat(a[i], b[i]) {
				t.Fatalf("tanh(%g): AVX2 %g, AVX-512 %g", xs[i], a[i], b[i])
			}
		}
	}
}
