// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

//go:build goexperiment.simd

package ops

import "simd/archsimd"

// SIMD versions of float32Kernels (see binary_float32.go): 16 lanes with AVX-512, 8 with
// AVX2. Each kernel ends with VZEROUPPER (archsimd.ClearAVXUpperBits) so that the scalar
// (SSE) code that follows on the thread doesn't pay the AVX-SSE transition penalty.

func init() {
	switch {
	case archsimd.X86.AVX512():
		float32Kernels[binaryFloat32Add].vv = vvAddx16
		float32Kernels[binaryFloat32Add].vs = vsAddx16
		float32Kernels[binaryFloat32Add].sv = svAddx16
		float32Kernels[binaryFloat32Sub].vv = vvSubx16
		float32Kernels[binaryFloat32Sub].vs = vsSubx16
		float32Kernels[binaryFloat32Sub].sv = svSubx16
		float32Kernels[binaryFloat32Mul].vv = vvMulx16
		float32Kernels[binaryFloat32Mul].vs = vsMulx16
		float32Kernels[binaryFloat32Mul].sv = svMulx16
		float32Kernels[binaryFloat32Div].vv = vvDivx16
		float32Kernels[binaryFloat32Div].vs = vsDivx16
		float32Kernels[binaryFloat32Div].sv = svDivx16
	case archsimd.X86.AVX2():
		float32Kernels[binaryFloat32Add].vv = vvAddx8
		float32Kernels[binaryFloat32Add].vs = vsAddx8
		float32Kernels[binaryFloat32Add].sv = svAddx8
		float32Kernels[binaryFloat32Sub].vv = vvSubx8
		float32Kernels[binaryFloat32Sub].vs = vsSubx8
		float32Kernels[binaryFloat32Sub].sv = svSubx8
		float32Kernels[binaryFloat32Mul].vv = vvMulx8
		float32Kernels[binaryFloat32Mul].vs = vsMulx8
		float32Kernels[binaryFloat32Mul].sv = svMulx8
		float32Kernels[binaryFloat32Div].vv = vvDivx8
		float32Kernels[binaryFloat32Div].vs = vsDivx8
		float32Kernels[binaryFloat32Div].sv = svDivx8
	}
}

func vvAddx16(out, a, b []float32) {
	b, out = b[:len(a)], out[:len(a)]
	i := 0
	for ; i+16 <= len(a); i += 16 {
		archsimd.LoadFloat32x16Slice(a[i : i+16]).Add(archsimd.LoadFloat32x16Slice(b[i : i+16])).StoreSlice(out[i : i+16])
	}
	for ; i < len(a); i++ {
		out[i] = a[i] + b[i]
	}
	archsimd.ClearAVXUpperBits()
}

func vsAddx16(out, a []float32, c float32) {
	out = out[:len(a)]
	cv := archsimd.BroadcastFloat32x16(c)
	i := 0
	for ; i+16 <= len(a); i += 16 {
		archsimd.LoadFloat32x16Slice(a[i : i+16]).Add(cv).StoreSlice(out[i : i+16])
	}
	for ; i < len(a); i++ {
		out[i] = a[i] + c
	}
	archsimd.ClearAVXUpperBits()
}

func svAddx16(out []float32, c float32, b []float32) {
	out = out[:len(b)]
	cv := archsimd.BroadcastFloat32x16(c)
	i := 0
	for ; i+16 <= len(b); i += 16 {
		cv.Add(archsimd.LoadFloat32x16Slice(b[i : i+16])).StoreSlice(out[i : i+16])
	}
	for ; i < len(b); i++ {
		out[i] = c + b[i]
	}
	archsimd.ClearAVXUpperBits()
}

func vvSubx16(out, a, b []float32) {
	b, out = b[:len(a)], out[:len(a)]
	i := 0
	for ; i+16 <= len(a); i += 16 {
		archsimd.LoadFloat32x16Slice(a[i : i+16]).Sub(archsimd.LoadFloat32x16Slice(b[i : i+16])).StoreSlice(out[i : i+16])
	}
	for ; i < len(a); i++ {
		out[i] = a[i] - b[i]
	}
	archsimd.ClearAVXUpperBits()
}

func vsSubx16(out, a []float32, c float32) {
	out = out[:len(a)]
	cv := archsimd.BroadcastFloat32x16(c)
	i := 0
	for ; i+16 <= len(a); i += 16 {
		archsimd.LoadFloat32x16Slice(a[i : i+16]).Sub(cv).StoreSlice(out[i : i+16])
	}
	for ; i < len(a); i++ {
		out[i] = a[i] - c
	}
	archsimd.ClearAVXUpperBits()
}

func svSubx16(out []float32, c float32, b []float32) {
	out = out[:len(b)]
	cv := archsimd.BroadcastFloat32x16(c)
	i := 0
	for ; i+16 <= len(b); i += 16 {
		cv.Sub(archsimd.LoadFloat32x16Slice(b[i : i+16])).StoreSlice(out[i : i+16])
	}
	for ; i < len(b); i++ {
		out[i] = c - b[i]
	}
	archsimd.ClearAVXUpperBits()
}

func vvMulx16(out, a, b []float32) {
	b, out = b[:len(a)], out[:len(a)]
	i := 0
	for ; i+16 <= len(a); i += 16 {
		archsimd.LoadFloat32x16Slice(a[i : i+16]).Mul(archsimd.LoadFloat32x16Slice(b[i : i+16])).StoreSlice(out[i : i+16])
	}
	for ; i < len(a); i++ {
		out[i] = a[i] * b[i]
	}
	archsimd.ClearAVXUpperBits()
}

func vsMulx16(out, a []float32, c float32) {
	out = out[:len(a)]
	cv := archsimd.BroadcastFloat32x16(c)
	i := 0
	for ; i+16 <= len(a); i += 16 {
		archsimd.LoadFloat32x16Slice(a[i : i+16]).Mul(cv).StoreSlice(out[i : i+16])
	}
	for ; i < len(a); i++ {
		out[i] = a[i] * c
	}
	archsimd.ClearAVXUpperBits()
}

func svMulx16(out []float32, c float32, b []float32) {
	out = out[:len(b)]
	cv := archsimd.BroadcastFloat32x16(c)
	i := 0
	for ; i+16 <= len(b); i += 16 {
		cv.Mul(archsimd.LoadFloat32x16Slice(b[i : i+16])).StoreSlice(out[i : i+16])
	}
	for ; i < len(b); i++ {
		out[i] = c * b[i]
	}
	archsimd.ClearAVXUpperBits()
}

func vvDivx16(out, a, b []float32) {
	b, out = b[:len(a)], out[:len(a)]
	i := 0
	for ; i+16 <= len(a); i += 16 {
		archsimd.LoadFloat32x16Slice(a[i : i+16]).Div(archsimd.LoadFloat32x16Slice(b[i : i+16])).StoreSlice(out[i : i+16])
	}
	for ; i < len(a); i++ {
		out[i] = a[i] / b[i]
	}
	archsimd.ClearAVXUpperBits()
}

func vsDivx16(out, a []float32, c float32) {
	out = out[:len(a)]
	cv := archsimd.BroadcastFloat32x16(c)
	i := 0
	for ; i+16 <= len(a); i += 16 {
		archsimd.LoadFloat32x16Slice(a[i : i+16]).Div(cv).StoreSlice(out[i : i+16])
	}
	for ; i < len(a); i++ {
		out[i] = a[i] / c
	}
	archsimd.ClearAVXUpperBits()
}

func svDivx16(out []float32, c float32, b []float32) {
	out = out[:len(b)]
	cv := archsimd.BroadcastFloat32x16(c)
	i := 0
	for ; i+16 <= len(b); i += 16 {
		cv.Div(archsimd.LoadFloat32x16Slice(b[i : i+16])).StoreSlice(out[i : i+16])
	}
	for ; i < len(b); i++ {
		out[i] = c / b[i]
	}
	archsimd.ClearAVXUpperBits()
}

func vvAddx8(out, a, b []float32) {
	b, out = b[:len(a)], out[:len(a)]
	i := 0
	for ; i+8 <= len(a); i += 8 {
		archsimd.LoadFloat32x8Slice(a[i : i+8]).Add(archsimd.LoadFloat32x8Slice(b[i : i+8])).StoreSlice(out[i : i+8])
	}
	for ; i < len(a); i++ {
		out[i] = a[i] + b[i]
	}
	archsimd.ClearAVXUpperBits()
}

func vsAddx8(out, a []float32, c float32) {
	out = out[:len(a)]
	cv := archsimd.BroadcastFloat32x8(c)
	i := 0
	for ; i+8 <= len(a); i += 8 {
		archsimd.LoadFloat32x8Slice(a[i : i+8]).Add(cv).StoreSlice(out[i : i+8])
	}
	for ; i < len(a); i++ {
		out[i] = a[i] + c
	}
	archsimd.ClearAVXUpperBits()
}

func svAddx8(out []float32, c float32, b []float32) {
	out = out[:len(b)]
	cv := archsimd.BroadcastFloat32x8(c)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		cv.Add(archsimd.LoadFloat32x8Slice(b[i : i+8])).StoreSlice(out[i : i+8])
	}
	for ; i < len(b); i++ {
		out[i] = c + b[i]
	}
	archsimd.ClearAVXUpperBits()
}

func vvSubx8(out, a, b []float32) {
	b, out = b[:len(a)], out[:len(a)]
	i := 0
	for ; i+8 <= len(a); i += 8 {
		archsimd.LoadFloat32x8Slice(a[i : i+8]).Sub(archsimd.LoadFloat32x8Slice(b[i : i+8])).StoreSlice(out[i : i+8])
	}
	for ; i < len(a); i++ {
		out[i] = a[i] - b[i]
	}
	archsimd.ClearAVXUpperBits()
}

func vsSubx8(out, a []float32, c float32) {
	out = out[:len(a)]
	cv := archsimd.BroadcastFloat32x8(c)
	i := 0
	for ; i+8 <= len(a); i += 8 {
		archsimd.LoadFloat32x8Slice(a[i : i+8]).Sub(cv).StoreSlice(out[i : i+8])
	}
	for ; i < len(a); i++ {
		out[i] = a[i] - c
	}
	archsimd.ClearAVXUpperBits()
}

func svSubx8(out []float32, c float32, b []float32) {
	out = out[:len(b)]
	cv := archsimd.BroadcastFloat32x8(c)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		cv.Sub(archsimd.LoadFloat32x8Slice(b[i : i+8])).StoreSlice(out[i : i+8])
	}
	for ; i < len(b); i++ {
		out[i] = c - b[i]
	}
	archsimd.ClearAVXUpperBits()
}

func vvMulx8(out, a, b []float32) {
	b, out = b[:len(a)], out[:len(a)]
	i := 0
	for ; i+8 <= len(a); i += 8 {
		archsimd.LoadFloat32x8Slice(a[i : i+8]).Mul(archsimd.LoadFloat32x8Slice(b[i : i+8])).StoreSlice(out[i : i+8])
	}
	for ; i < len(a); i++ {
		out[i] = a[i] * b[i]
	}
	archsimd.ClearAVXUpperBits()
}

func vsMulx8(out, a []float32, c float32) {
	out = out[:len(a)]
	cv := archsimd.BroadcastFloat32x8(c)
	i := 0
	for ; i+8 <= len(a); i += 8 {
		archsimd.LoadFloat32x8Slice(a[i : i+8]).Mul(cv).StoreSlice(out[i : i+8])
	}
	for ; i < len(a); i++ {
		out[i] = a[i] * c
	}
	archsimd.ClearAVXUpperBits()
}

func svMulx8(out []float32, c float32, b []float32) {
	out = out[:len(b)]
	cv := archsimd.BroadcastFloat32x8(c)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		cv.Mul(archsimd.LoadFloat32x8Slice(b[i : i+8])).StoreSlice(out[i : i+8])
	}
	for ; i < len(b); i++ {
		out[i] = c * b[i]
	}
	archsimd.ClearAVXUpperBits()
}

func vvDivx8(out, a, b []float32) {
	b, out = b[:len(a)], out[:len(a)]
	i := 0
	for ; i+8 <= len(a); i += 8 {
		archsimd.LoadFloat32x8Slice(a[i : i+8]).Div(archsimd.LoadFloat32x8Slice(b[i : i+8])).StoreSlice(out[i : i+8])
	}
	for ; i < len(a); i++ {
		out[i] = a[i] / b[i]
	}
	archsimd.ClearAVXUpperBits()
}

func vsDivx8(out, a []float32, c float32) {
	out = out[:len(a)]
	cv := archsimd.BroadcastFloat32x8(c)
	i := 0
	for ; i+8 <= len(a); i += 8 {
		archsimd.LoadFloat32x8Slice(a[i : i+8]).Div(cv).StoreSlice(out[i : i+8])
	}
	for ; i < len(a); i++ {
		out[i] = a[i] / c
	}
	archsimd.ClearAVXUpperBits()
}

func svDivx8(out []float32, c float32, b []float32) {
	out = out[:len(b)]
	cv := archsimd.BroadcastFloat32x8(c)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		cv.Div(archsimd.LoadFloat32x8Slice(b[i : i+8])).StoreSlice(out[i : i+8])
	}
	for ; i < len(b); i++ {
		out[i] = c / b[i]
	}
	archsimd.ClearAVXUpperBits()
}
