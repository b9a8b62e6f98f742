// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

//go:build goexperiment.simd

package fastmath

import "simd/archsimd"

func init() {
	switch {
	case archsimd.X86.AVX512():
		expFloat32sSIMD, tanhFloat32sSIMD = expFloat32sAVX512, tanhFloat32sAVX512
	case archsimd.X86.AVX2() && archsimd.X86.FMA():
		expFloat32sSIMD, tanhFloat32sSIMD = expFloat32sAVX2, tanhFloat32sAVX2
	}
}

// The AVX2 (8 lanes) and AVX-512 (16 lanes) kernels are the same code on different vector
// types; both use only integer exponent arithmetic (no VSCALEFPS), so they return the
// same bits.
//
// Each kernel ends with VZEROUPPER (archsimd.ClearAVXUpperBits): Go's scalar float code
// is SSE, and SSE instructions after AVX with dirty upper register halves run several
// times slower (measured: a scalar polynomial loop over 1M floats, 2.5 ms alone, 12 ms
// right after one 16-lane tanh).

func expFloat32sAVX2(dst, src []float32) {
	i := 0
	for ; i+8 <= len(src); i += 8 {
		exp8(archsimd.LoadFloat32x8Slice(src[i : i+8])).StoreSlice(dst[i : i+8])
	}
	if i < len(src) {
		exp8(archsimd.LoadFloat32x8SlicePart(src[i:])).StoreSlicePart(dst[i:])
	}
	archsimd.ClearAVXUpperBits()
}

func tanhFloat32sAVX2(dst, src []float32) {
	i := 0
	for ; i+8 <= len(src); i += 8 {
		tanh8(archsimd.LoadFloat32x8Slice(src[i : i+8])).StoreSlice(dst[i : i+8])
	}
	if i < len(src) {
		tanh8(archsimd.LoadFloat32x8SlicePart(src[i:])).StoreSlicePart(dst[i:])
	}
	archsimd.ClearAVXUpperBits()
}

// exp8 is e^x: x = n·ln2 + g with n = round(x·log₂e), e^g by Cephes' polynomial, and
// 2^n = 2^(n>>1)·2^(n-(n>>1)) built in the exponent field (two factors keep both
// exponents in range down to the subnormals and up to the overflow to +Inf).
func exp8(x archsimd.Float32x8) archsimd.Float32x8 {
	notNaN := x.Equal(x)
	c := archsimd.BroadcastFloat32x8
	xc := x.Max(c(expMinArg)).Min(c(expMaxArg))
	n := xc.Mul(c(log2E)).RoundToEven()
	g := n.MulAdd(c(-ln2Hi), xc)
	g = n.MulAdd(c(-ln2Lo), g)
	p := c(expP7).MulAdd(g, c(expP6))
	p = p.MulAdd(g, c(expP5))
	p = p.MulAdd(g, c(expP4))
	p = p.MulAdd(g, c(expP3))
	p = p.MulAdd(g, c(expP2))
	p = p.MulAdd(g.Mul(g), g.Add(c(1)))
	ni := n.ConvertToInt32()
	n1 := ni.ShiftAllRight(1)
	n2 := ni.Sub(n1)
	bias := archsimd.BroadcastInt32x8(127)
	s1 := n1.Add(bias).ShiftAllLeft(23).AsFloat32x8()
	s2 := n2.Add(bias).ShiftAllLeft(23).AsFloat32x8()
	return p.Mul(s1).Mul(s2).Merge(x, notNaN) // NaN in, NaN out.
}

// tanh8 is Cephes' tanhf: x + x³·P(x²) for |x| < 0.625, else sign(x)·(1 - 2/(e^{2|x|}+1)).
func tanh8(x archsimd.Float32x8) archsimd.Float32x8 {
	c := archsimd.BroadcastFloat32x8
	bits := x.AsInt32x8()
	sign := bits.And(archsimd.BroadcastInt32x8(-1 << 31))
	ax := bits.And(archsimd.BroadcastInt32x8(1<<31 - 1)).AsFloat32x8()
	e := exp8(ax.Add(ax))
	large := c(1).Sub(c(2).Div(e.Add(c(1))))
	z := x.Mul(x)
	p := c(tanhP4).MulAdd(z, c(tanhP3))
	p = p.MulAdd(z, c(tanhP2))
	p = p.MulAdd(z, c(tanhP1))
	p = p.MulAdd(z, c(tanhP0))
	small := p.Mul(z).MulAdd(x, x)
	// Both halves have the sign of x (or are 0): setting the sign bit fixes tanh(-0) = -0.
	return small.Merge(large, ax.Less(c(tanhSmall))).AsInt32x8().Or(sign).AsFloat32x8()
}

func expFloat32sAVX512(dst, src []float32) {
	i := 0
	for ; i+16 <= len(src); i += 16 {
		exp16(archsimd.LoadFloat32x16Slice(src[i : i+16])).StoreSlice(dst[i : i+16])
	}
	if i < len(src) {
		exp16(archsimd.LoadFloat32x16SlicePart(src[i:])).StoreSlicePart(dst[i:])
	}
	archsimd.ClearAVXUpperBits()
}

func tanhFloat32sAVX512(dst, src []float32) {
	i := 0
	for ; i+16 <= len(src); i += 16 {
		tanh16(archsimd.LoadFloat32x16Slice(src[i : i+16])).StoreSlice(dst[i : i+16])
	}
	if i < len(src) {
		tanh16(archsimd.LoadFloat32x16SlicePart(src[i:])).StoreSlicePart(dst[i:])
	}
	archsimd.ClearAVXUpperBits()
}

// exp16 is exp8 on 16 lanes.
func exp16(x archsimd.Float32x16) archsimd.Float32x16 {
	notNaN := x.Equal(x)
	c := archsimd.BroadcastFloat32x16
	xc := x.Max(c(expMinArg)).Min(c(expMaxArg))
	n := xc.Mul(c(log2E)).RoundToEvenScaled(0)
	g := n.MulAdd(c(-ln2Hi), xc)
	g = n.MulAdd(c(-ln2Lo), g)
	p := c(expP7).MulAdd(g, c(expP6))
	p = p.MulAdd(g, c(expP5))
	p = p.MulAdd(g, c(expP4))
	p = p.MulAdd(g, c(expP3))
	p = p.MulAdd(g, c(expP2))
	p = p.MulAdd(g.Mul(g), g.Add(c(1)))
	ni := n.ConvertToInt32()
	n1 := ni.ShiftAllRight(1)
	n2 := ni.Sub(n1)
	bias := archsimd.BroadcastInt32x16(127)
	s1 := n1.Add(bias).ShiftAllLeft(23).AsFloat32x16()
	s2 := n2.Add(bias).ShiftAllLeft(23).AsFloat32x16()
	return p.Mul(s1).Mul(s2).Merge(x, notNaN)
}

// tanh16 is tanh8 on 16 lanes.
func tanh16(x archsimd.Float32x16) archsimd.Float32x16 {
	c := archsimd.BroadcastFloat32x16
	bits := x.AsInt32x16()
	sign := bits.And(archsimd.BroadcastInt32x16(-1 << 31))
	ax := bits.And(archsimd.BroadcastInt32x16(1<<31 - 1)).AsFloat32x16()
	e := exp16(ax.Add(ax))
	large := c(1).Sub(c(2).Div(e.Add(c(1))))
	z := x.Mul(x)
	p := c(tanhP4).MulAdd(z, c(tanhP3))
	p = p.MulAdd(z, c(tanhP2))
	p = p.MulAdd(z, c(tanhP1))
	p = p.MulAdd(z, c(tanhP0))
	small := p.Mul(z).MulAdd(x, x)
	return small.Merge(large, ax.Less(c(tanhSmall))).AsInt32x16().Or(sign).AsFloat32x16()
}

// Exp16 returns e^x of 16 float32 lanes, as ExpFloat32s's AVX-512 path (for kernels that
// fuse it with other steps). The caller checks archsimd.X86.AVX512() and ends its kernel
// with archsimd.ClearAVXUpperBits().
func Exp16(x archsimd.Float32x16) archsimd.Float32x16 { return exp16(x) }

// Tanh16 returns tanh(x) of 16 float32 lanes, as TanhFloat32s's AVX-512 path; see Exp16.
func Tanh16(x archsimd.Float32x16) archsimd.Float32x16 { return tanh16(x) }
