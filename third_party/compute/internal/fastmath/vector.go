// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package fastmath

import "math"

// ExpFloat32s sets dst[i] = e^src[i] for every element of src (dst must be at least as
// long; dst and src may be the same slice).
//
// With GOEXPERIMENT=simd on amd64 CPUs with AVX2+FMA or AVX-512 it evaluates 8 or 16
// values at a time with the Cephes polynomial of Exp32 (max relative error about 2e-7,
// i.e. ≤ 2 ulp, against math.Exp) and exact special values: +Inf above ≈ 88.72, 0 below
// ≈ -103.97, gradual underflow in between, NaN stays NaN. Otherwise it calls math.Exp.
func ExpFloat32s(dst, src []float32) {
	dst = dst[:len(src)]
	if expFloat32sSIMD != nil {
		expFloat32sSIMD(dst, src)
		return
	}
	for i, x := range src {
		dst[i] = float32(math.Exp(float64(x)))
	}
}

// TanhFloat32s sets dst[i] = tanh(src[i]) for every element of src (dst must be at least
// as long; dst and src may be the same slice).
//
// The SIMD version (see ExpFloat32s) uses Cephes' tanhf: an odd polynomial for
// |x| < 0.625 and 1 - 2/(e^{2|x|}+1) with the sign of x above; its max absolute error
// against math.Tanh is about 2e-7 (a few ulp). Otherwise it calls math.Tanh.
func TanhFloat32s(dst, src []float32) {
	dst = dst[:len(src)]
	if tanhFloat32sSIMD != nil {
		tanhFloat32sSIMD(dst, src)
		return
	}
	for i, x := range src {
		dst[i] = float32(math.Tanh(float64(x)))
	}
}

// Set by vector_simd_amd64.go when the CPU supports it.
var expFloat32sSIMD, tanhFloat32sSIMD func(dst, src []float32)

// Constants of the vector exp and tanh.
const (
	expMaxArg = 89     // above: 2^128 or more, +Inf.
	expMinArg = -104.0 // below: less than half the smallest subnormal, 0.
	log2E     = 1.44269504088896341
	ln2Hi     = 0.693359375
	ln2Lo     = -2.12194440e-4
	expP7     = 1.9875691500e-4
	expP6     = 1.3981999507e-3
	expP5     = 8.3334519073e-3
	expP4     = 4.1665795894e-2
	expP3     = 1.6666665459e-1
	expP2     = 5.0000001201e-1

	tanhSmall = 0.625 // below: the odd polynomial; above: from exp.
	tanhP4    = -5.70498872745e-3
	tanhP3    = 2.06390887954e-2
	tanhP2    = -5.37397155531e-2
	tanhP1    = 1.33314422036e-1
	tanhP0    = -3.33332819422e-1
)
