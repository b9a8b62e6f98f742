// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package ops_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/internal/gobackend"
	"github.com/gomlx/compute/internal/gobackend/ops"
	"github.com/gomlx/compute/shapes"
)

// referenceTranspose is the plain-Go definition: out[i_0, …] = x[i_perm⁻¹…], i.e. output
// axis j is operand axis perm[j].
func referenceTranspose[T any](x []T, dims, perm []int) []T {
	outDims := make([]int, len(dims))
	for j, axis := range perm {
		outDims[j] = dims[axis]
	}
	out := make([]T, len(x))
	for outIdx := range out {
		outIndex := unravel(outIdx, outDims)
		inIndex := make([]int, len(dims))
		for j, axis := range perm {
			inIndex[axis] = outIndex[j]
		}
		out[outIdx] = x[ravel(inIndex, dims)]
	}
	return out
}

// genericTranspose runs the element-by-element TransposeIterator path (the one used
// before the fast paths existed) on the original, unsimplified permutation.
func genericTranspose(t *testing.T, x any, shape shapes.Shape, perm []int) any {
	t.Helper()
	operand, err := backend.BufferFromFlatData(0, x, shape)
	if err != nil {
		t.Fatal(err)
	}
	outShape := shape.Clone()
	for j, axis := range perm {
		outShape.Dimensions[j] = shape.Dimensions[axis]
	}
	output, err := backend.GetBuffer(outShape)
	if err != nil {
		t.Fatal(err)
	}
	fnAny, err := ops.TransposeDTypeMap.Get(shape.DType)
	if err != nil {
		t.Fatal(err)
	}
	fnAny.(func(operand, output *gobackend.Buffer, it *ops.TransposeIterator))(
		operand.(*gobackend.Buffer), output, ops.NewTransposeIterator(shape, perm))
	return output.Flat
}

func checkTranspose[T any](t *testing.T, x []T, dtype dtypes.DType, dims, perm []int, donate bool) {
	t.Helper()
	shape := shapes.Make(dtype, dims...)
	got := execOnBackend(t, []any{x}, []shapes.Shape{shape}, donate,
		func(f compute.Function, p []compute.Value) (compute.Value, error) { return f.Transpose(p[0], perm...) })
	want := referenceTranspose(x, dims, perm)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Transpose(%s, %v) (donate=%v) differs from the plain-Go reference", shape, perm, donate)
	}
	if generic := genericTranspose(t, x, shape, perm); !reflect.DeepEqual(got, generic) {
		t.Fatalf("Transpose(%s, %v) differs from the generic iterator path", shape, perm)
	}
}

func TestTransposeFastPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 1))
	cases := []struct{ dims, perm []int }{
		{[]int{33, 65}, []int{1, 0}},                 // 2-D, sizes not multiple of the tile.
		{[]int{64, 96}, []int{1, 0}},                 // 2-D, whole tiles.
		{[]int{3, 17, 31}, []int{0, 2, 1}},           // batched 2-D.
		{[]int{2, 5, 3, 7}, []int{0, 2, 1, 3}},       // [b,s,h,d] <-> [b,h,s,d]: rows of d.
		{[]int{2, 3, 5, 7}, []int{0, 2, 1, 3}},       // and back.
		{[]int{4, 1, 6}, []int{1, 0, 2}},             // identity once the 1 is dropped.
		{[]int{5, 6}, []int{0, 1}},                   // identity.
		{[]int{2, 3, 4, 5}, []int{2, 3, 0, 1}},       // merges into a 2-D transpose.
		{[]int{2, 3, 4, 5, 6}, []int{4, 2, 0, 3, 1}}, // generic.
		{[]int{7}, []int{0}},
		{[]int{}, []int{}},
	}
	for range 30 {
		rank := 1 + r.IntN(5)
		cases = append(cases, struct{ dims, perm []int }{randomDims(r, rank), r.Perm(rank)})
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v_%v", c.dims, c.perm), func(t *testing.T) {
			n := shapes.Make(dtypes.Float32, c.dims...).Size()
			xf := randomFloat32s(r, n)
			checkTranspose(t, xf, dtypes.Float32, c.dims, c.perm, false)
			checkTranspose(t, xf, dtypes.Float32, c.dims, c.perm, true)
			xi := make([]int8, n)
			xb := make([]bool, n)
			xd := make([]float64, n)
			for i := range xi {
				xi[i] = int8(r.IntN(256) - 128)
				xb[i] = r.IntN(2) == 1
				xd[i] = r.NormFloat64()
			}
			checkTranspose(t, xi, dtypes.Int8, c.dims, c.perm, false)
			checkTranspose(t, xb, dtypes.Bool, c.dims, c.perm, false)
			checkTranspose(t, xd, dtypes.Float64, c.dims, c.perm, true)
		})
	}
}

// BenchmarkTranspose times the permutations of a Transformer's training step.
func BenchmarkTranspose(b *testing.B) {
	for _, c := range []struct{ dims, perm []int }{
		{[]int{2048, 3000}, []int{1, 0}},
		{[]int{2048, 512}, []int{1, 0}},
		{[]int{2048, 128}, []int{1, 0}},
		{[]int{32, 64, 4, 32}, []int{0, 2, 1, 3}},
		{[]int{128, 64, 64}, []int{0, 2, 1}},
		{[]int{2048, 128}, []int{0, 1}},
	} {
		shape := shapes.Make(dtypes.Float32, c.dims...)
		builder := backend.Builder("bench")
		mainFn := builder.Main()
		x, _ := mainFn.Parameter("x", shape, nil)
		y, err := mainFn.Transpose(x, c.perm...)
		if err != nil {
			b.Fatal(err)
		}
		if err := mainFn.Return([]compute.Value{y}, nil); err != nil {
			b.Fatal(err)
		}
		exec, err := builder.Compile()
		if err != nil {
			b.Fatal(err)
		}
		input, _ := backend.BufferFromFlatData(0, make([]float32, shape.Size()), shape)
		b.Run(fmt.Sprintf("%v_%v", c.dims, c.perm), func(b *testing.B) {
			for b.Loop() {
				out, err := exec.Execute([]compute.Buffer{input}, nil, 0)
				if err != nil {
					b.Fatal(err)
				}
				_ = out[0].Finalize()
			}
		})
	}
}
