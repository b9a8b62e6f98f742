// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

//go:build goexperiment.simd

package fusedops

import (
	"math"
	"simd/archsimd"

	"github.com/gomlx/compute/internal/fastmath"
)

// AVX-512 versions of the float32 row kernels of FusedGelu (tanh form), FusedLayerNorm
// (trailing axes), FusedSoftmax (last axis) and FusedDense's bias add. Element-wise steps
// compute the same float32 expressions as the scalar loops, in the same order, so GELU and
// the bias add are bit-identical; LayerNorm's mean/variance and softmax's sum are
// accumulated in 16 lanes, which changes their rounding (within float32 rounding of the
// float64 result; see float32_simd_amd64_test.go). Each kernel ends with VZEROUPPER
// (archsimd.ClearAVXUpperBits) so that scalar SSE code following on the thread doesn't pay
// the AVX-SSE transition penalty.

func init() {
	if archsimd.X86.AVX512() {
		geluApproxFloat32Kernel = geluApproxChunkFloat32x16
		layerNormTrailingAxesFloat32Kernel = layerNormTrailingAxesFloat32x16
		softmaxLastAxisFloat32Kernel = fusedSoftmaxLastAxisFloat32x16
		addBiasRowsFloat32Kernel = addBiasRowsFloat32x16
	}
}

// geluApproxChunkFloat32x16 is geluApproxChunkFloat32 in one pass, 16 values at a time
// (the tail with a partial vector): the same float32 operations, so the same bits.
func geluApproxChunkFloat32x16(input, output []float32) {
	output = output[:len(input)]
	cv := archsimd.BroadcastFloat32x16(float32(math.Sqrt(2.0 / math.Pi)))
	av := archsimd.BroadcastFloat32x16(0.044715)
	half := archsimd.BroadcastFloat32x16(0.5)
	one := archsimd.BroadcastFloat32x16(1)
	gelu := func(x archsimd.Float32x16) archsimd.Float32x16 {
		t := fastmath.Tanh16(cv.Mul(x.Add(av.Mul(x).Mul(x).Mul(x))))
		return x.Mul(half).Mul(one.Add(t))
	}
	i := 0
	for ; i+16 <= len(input); i += 16 {
		gelu(archsimd.LoadFloat32x16Slice(input[i : i+16])).StoreSlice(output[i : i+16])
	}
	if i < len(input) {
		gelu(archsimd.LoadFloat32x16SlicePart(input[i:])).StoreSlicePart(output[i:])
	}
	archsimd.ClearAVXUpperBits()
}

// hsum16 returns the sum of the 16 lanes of v (halves added pairwise).
func hsum16(v archsimd.Float32x16) float32 {
	h := v.GetLo().Add(v.GetHi())
	q := h.GetLo().Add(h.GetHi())
	q = q.AddPairs(q)
	return q.GetElem(0) + q.GetElem(1)
}

// hmax16 returns the maximum of the 16 lanes of v (halves compared pairwise).
func hmax16(v archsimd.Float32x16) float32 {
	h := v.GetLo().Max(v.GetHi())
	q := h.GetLo().Max(h.GetHi())
	return max(max(q.GetElem(0), q.GetElem(1)), max(q.GetElem(2), q.GetElem(3)))
}

// sumFloat32x16 returns the sum of x: 16 lane sums, then the lanes (hsum16), then the tail.
func sumFloat32x16(x []float32) float32 {
	acc := archsimd.BroadcastFloat32x16(0)
	i := 0
	for ; i+16 <= len(x); i += 16 {
		acc = acc.Add(archsimd.LoadFloat32x16Slice(x[i : i+16]))
	}
	s := hsum16(acc)
	for ; i < len(x); i++ {
		s += x[i]
	}
	return s
}

func layerNormTrailingAxesFloat32x16(inData, outData, gammaData, betaData []float32, normSize int, epsilon float64) {
	normSizeF := float32(normSize)
	for base := 0; base+normSize <= len(inData); base += normSize {
		in, out := inData[base:base+normSize], outData[base:base+normSize]
		mean := sumFloat32x16(in) / normSizeF
		meanV := archsimd.BroadcastFloat32x16(mean)
		acc := archsimd.BroadcastFloat32x16(0)
		i := 0
		for ; i+16 <= len(in); i += 16 {
			d := archsimd.LoadFloat32x16Slice(in[i : i+16]).Sub(meanV)
			acc = acc.Add(d.Mul(d))
		}
		varSum := hsum16(acc)
		for ; i < len(in); i++ {
			d := in[i] - mean
			varSum += d * d
		}
		variance := varSum / normSizeF
		invStd := float32(1.0 / math.Sqrt(float64(variance)+epsilon))
		invV := archsimd.BroadcastFloat32x16(invStd)
		i = 0
		for ; i+16 <= len(in); i += 16 {
			v := archsimd.LoadFloat32x16Slice(in[i : i+16]).Sub(meanV).Mul(invV)
			if gammaData != nil {
				v = v.Mul(archsimd.LoadFloat32x16Slice(gammaData[i : i+16]))
			}
			if betaData != nil {
				v = v.Add(archsimd.LoadFloat32x16Slice(betaData[i : i+16]))
			}
			v.StoreSlice(out[i : i+16])
		}
		for ; i < len(in); i++ {
			normalized := (in[i] - mean) * invStd
			if gammaData != nil {
				normalized *= gammaData[i]
			}
			if betaData != nil {
				normalized += betaData[i]
			}
			out[i] = normalized
		}
	}
	archsimd.ClearAVXUpperBits()
}

func fusedSoftmaxLastAxisFloat32x16(input, output []float32, axisSize int) {
	for start := 0; start+axisSize <= len(input); start += axisSize {
		in, out := input[start:start+axisSize], output[start:start+axisSize]
		maxVal := float32(math.Inf(-1))
		i := 0
		if len(in) >= 16 {
			acc := archsimd.LoadFloat32x16Slice(in[:16])
			for i = 16; i+16 <= len(in); i += 16 {
				acc = acc.Max(archsimd.LoadFloat32x16Slice(in[i : i+16]))
			}
			maxVal = hmax16(acc)
		}
		for ; i < len(in); i++ {
			if in[i] > maxVal {
				maxVal = in[i]
			}
		}
		// exp(x - max) and the 16 lane sums in one pass.
		maxV := archsimd.BroadcastFloat32x16(maxVal)
		acc := archsimd.BroadcastFloat32x16(0)
		i = 0
		for ; i+16 <= len(in); i += 16 {
			e := fastmath.Exp16(archsimd.LoadFloat32x16Slice(in[i : i+16]).Sub(maxV))
			acc = acc.Add(e)
			e.StoreSlice(out[i : i+16])
		}
		sum := hsum16(acc)
		if i < len(in) {
			fastmath.Exp16(archsimd.LoadFloat32x16SlicePart(in[i:]).Sub(maxV)).StoreSlicePart(out[i:])
			for _, v := range out[i:] {
				sum += v
			}
		}
		invSum := 1 / sum
		invV := archsimd.BroadcastFloat32x16(invSum)
		i = 0
		for ; i+16 <= len(out); i += 16 {
			archsimd.LoadFloat32x16Slice(out[i : i+16]).Mul(invV).StoreSlice(out[i : i+16])
		}
		for ; i < len(out); i++ {
			out[i] *= invSum
		}
	}
	archsimd.ClearAVXUpperBits()
}

func addBiasRowsFloat32x16(output, bias []float32) {
	n := len(bias)
	for start := 0; start+n <= len(output); start += n {
		row := output[start : start+n]
		i := 0
		for ; i+16 <= n; i += 16 {
			archsimd.LoadFloat32x16Slice(row[i : i+16]).Add(archsimd.LoadFloat32x16Slice(bias[i : i+16])).StoreSlice(row[i : i+16])
		}
		for ; i < n; i++ {
			row[i] += bias[i]
		}
	}
	archsimd.ClearAVXUpperBits()
}
