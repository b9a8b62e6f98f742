// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package ops

import (
	"github.com/gomlx/compute/internal/gobackend"
	"github.com/gomlx/compute/shapes"
)

// binaryFloat32Op selects the arithmetic of execBinaryFloat32.
type binaryFloat32Op int

const (
	binaryFloat32Add binaryFloat32Op = iota
	binaryFloat32Sub
	binaryFloat32Mul
	binaryFloat32Div
)

// float32Kernels are the loops execBinaryFloat32 runs: out[i] = a[i] op b[i] (vv),
// a[i] op c (vs) and c op b[i] (sv). They start as the scalar loops; at init
// binary_float32_simd_amd64.go replaces them with SIMD versions when the CPU supports
// AVX2 or AVX-512.
var float32Kernels = float32ScalarKernels

type float32KernelSet struct {
	vv func(out, a, b []float32)
	vs func(out, a []float32, c float32)
	sv func(out []float32, c float32, b []float32)
}

// float32ScalarKernels are the plain Go loops.
var float32ScalarKernels = [4]float32KernelSet{
	binaryFloat32Add: {
		vv: func(out, a, b []float32) {
			b = b[:len(a)]
			for i := range a {
				out[i] = a[i] + b[i]
			}
		},
		vs: func(out, a []float32, c float32) {
			for i, x := range a {
				out[i] = x + c
			}
		},
		sv: func(out []float32, c float32, b []float32) {
			for i, x := range b {
				out[i] = c + x
			}
		},
	},
	binaryFloat32Sub: {
		vv: func(out, a, b []float32) {
			b = b[:len(a)]
			for i := range a {
				out[i] = a[i] - b[i]
			}
		},
		vs: func(out, a []float32, c float32) {
			for i, x := range a {
				out[i] = x - c
			}
		},
		sv: func(out []float32, c float32, b []float32) {
			for i, x := range b {
				out[i] = c - x
			}
		},
	},
	binaryFloat32Mul: {
		vv: func(out, a, b []float32) {
			b = b[:len(a)]
			for i := range a {
				out[i] = a[i] * b[i]
			}
		},
		vs: func(out, a []float32, c float32) {
			for i, x := range a {
				out[i] = x * c
			}
		},
		sv: func(out []float32, c float32, b []float32) {
			for i, x := range b {
				out[i] = c * x
			}
		},
	},
	binaryFloat32Div: {
		vv: func(out, a, b []float32) {
			b = b[:len(a)]
			for i := range a {
				out[i] = a[i] / b[i]
			}
		},
		vs: func(out, a []float32, c float32) {
			for i, x := range a {
				out[i] = x / c
			}
		},
		sv: func(out []float32, c float32, b []float32) {
			for i, x := range b {
				out[i] = c / x
			}
		},
	},
}

// execBinaryFloat32 executes Add, Sub, Mul or Div on float32 operands (same cases as the
// generated exec*NumericGeneric: a scalar side, equal shapes, broadcasting by runs), with
// the loops of float32Kernels. The results are bit-identical to the scalar loops: each
// element is one IEEE float32 operation either way.
func execBinaryFloat32(op binaryFloat32Op, lhs, rhs, output []float32, lhsShape, rhsShape, outputShape shapes.Shape) {
	k := float32Kernels[op]
	switch {
	case len(rhs) == 1:
		k.vs(output[:len(lhs)], lhs, rhs[0])
	case len(lhs) == 1:
		k.sv(output[:len(rhs)], lhs[0], rhs)
	case lhsShape.Equal(rhsShape):
		k.vv(output[:len(lhs)], lhs, rhs)
	default:
		runs := gobackend.NewBroadcastRuns(lhsShape, rhsShape, outputShape)
		n, outStart := runs.RunLen, 0
		for lhsStart, rhsStart := range runs.Starts() {
			out := output[outStart : outStart+n]
			outStart += n
			switch {
			case runs.LHSStride == 1 && runs.RHSStride == 1:
				k.vv(out, lhs[lhsStart:lhsStart+n], rhs[rhsStart:rhsStart+n])
			case runs.LHSStride == 1:
				k.vs(out, lhs[lhsStart:lhsStart+n], rhs[rhsStart])
			default:
				k.sv(out, lhs[lhsStart], rhs[rhsStart:rhsStart+n])
			}
		}
	}
}
