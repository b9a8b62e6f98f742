// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package ops_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/internal/gobackend"
	"github.com/gomlx/compute/shapes"
)

// Helpers shared by the tests of the ops' fast paths: they run a one-op graph on the
// backend and compare its output with a plain-Go reference computed in the test.

// execOnBackend builds a graph with one parameter per input, compiles and executes it
// (donating the inputs if donate is set, which lets ops reuse their operand's buffer),
// and returns the flat output.
func execOnBackend(t *testing.T, inputs []any, inputShapes []shapes.Shape, donate bool,
	build func(f compute.Function, params []compute.Value) (compute.Value, error)) any {
	t.Helper()
	builder := backend.Builder(t.Name())
	mainFn := builder.Main()
	params := make([]compute.Value, len(inputs))
	buffers := make([]compute.Buffer, len(inputs))
	donations := make([]bool, len(inputs))
	for i, flat := range inputs {
		var err error
		params[i], err = mainFn.Parameter(fmt.Sprintf("x%d", i), inputShapes[i], nil)
		if err != nil {
			t.Fatalf("Parameter #%d: %+v", i, err)
		}
		// Copy the input, since a donated buffer may be overwritten.
		flatCopy := reflect.ValueOf(flat)
		flatCopy = reflect.AppendSlice(reflect.MakeSlice(flatCopy.Type(), 0, flatCopy.Len()), flatCopy)
		buffers[i], err = backend.BufferFromFlatData(0, flatCopy.Interface(), inputShapes[i])
		if err != nil {
			t.Fatalf("BufferFromFlatData #%d: %+v", i, err)
		}
		donations[i] = donate
	}
	out, err := build(mainFn, params)
	if err != nil {
		t.Fatalf("building the graph: %+v", err)
	}
	if err := mainFn.Return([]compute.Value{out}, nil); err != nil {
		t.Fatalf("Return: %+v", err)
	}
	exec, err := builder.Compile()
	if err != nil {
		t.Fatalf("Compile: %+v", err)
	}
	outputs, err := exec.Execute(buffers, donations, 0)
	if err != nil {
		t.Fatalf("Execute: %+v", err)
	}
	return outputs[0].(*gobackend.Buffer).Flat
}

// randomDims returns rank random dimensions, mixing 1s, small odd sizes and sizes around
// the tile and vector widths the fast paths use.
func randomDims(r *rand.Rand, rank int) []int {
	sizes := []int{1, 2, 3, 5, 7, 16, 17, 31, 33, 64}
	dims := make([]int, rank)
	for i := range dims {
		dims[i] = sizes[r.IntN(len(sizes))]
	}
	for shapes.Make(0, dims...).Size() > 200_000 {
		dims[r.IntN(rank)] = 1 + r.IntN(4)
	}
	return dims
}

// randomFloat32s returns n values uniform in [-1, 1).
func randomFloat32s(r *rand.Rand, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = 2*r.Float32() - 1
	}
	return out
}

// unravel returns the multi-dimensional index of flat index idx in a row-major shape.
func unravel(idx int, dims []int) []int {
	out := make([]int, len(dims))
	for axis := len(dims) - 1; axis >= 0; axis-- {
		out[axis] = idx % dims[axis]
		idx /= dims[axis]
	}
	return out
}

// ravel returns the row-major flat index of a multi-dimensional index.
func ravel(index, dims []int) int {
	flat := 0
	for axis, i := range index {
		flat = flat*dims[axis] + i
	}
	return flat
}
