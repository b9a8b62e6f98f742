// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package ops_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
)

// referenceReduce reduces x over axes in plain Go, in float64 (exact for the small
// integers used here), visiting the elements in flat order. Outputs that reduce nothing
// (empty operands) are the op's identity: 0, 1, lowest or highest (given for the dtype).
func referenceReduce(x []float64, dims, axes []int, op compute.OpType, lowest, highest float64) []float64 {
	var outDims []int
	for axis, dim := range dims {
		if !slices.Contains(axes, axis) {
			outDims = append(outDims, dim)
		}
	}
	outSize := shapes.Make(dtypes.Float64, outDims...).Size()
	out := make([]float64, outSize)
	for i := range out {
		switch op { //nolint:exhaustive
		case compute.OpTypeReduceProduct:
			out[i] = 1
		case compute.OpTypeReduceMax:
			out[i] = lowest
		case compute.OpTypeReduceMin:
			out[i] = highest
		}
	}
	seen := make([]bool, outSize)
	for idx, v := range x {
		index := unravel(idx, dims)
		var outIndex []int
		for axis, i := range index {
			if !slices.Contains(axes, axis) {
				outIndex = append(outIndex, i)
			}
		}
		o := ravel(outIndex, outDims)
		if !seen[o] {
			out[o], seen[o] = v, true
			continue
		}
		switch op { //nolint:exhaustive
		case compute.OpTypeReduceSum:
			out[o] += v
		case compute.OpTypeReduceProduct:
			out[o] *= v
		case compute.OpTypeReduceMax:
			out[o] = max(out[o], v)
		case compute.OpTypeReduceMin:
			out[o] = min(out[o], v)
		}
	}
	return out
}

func reduceOnBackend(f compute.Function, op compute.OpType, x compute.Value, axes []int) (compute.Value, error) {
	switch op { //nolint:exhaustive
	case compute.OpTypeReduceSum:
		return f.ReduceSum(x, axes...)
	case compute.OpTypeReduceProduct:
		return f.ReduceProduct(x, axes...)
	case compute.OpTypeReduceMax:
		return f.ReduceMax(x, axes...)
	default:
		return f.ReduceMin(x, axes...)
	}
}

func TestReduceFastPaths(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 2))
	type testCase struct{ dims, axes []int }
	cases := []testCase{
		{[]int{3, 5, 3001}, []int{2}},       // last axis (the softmax over a vocabulary).
		{[]int{3, 5, 33}, []int{0, 1}},      // leading axes (a bias gradient).
		{[]int{4, 7, 5}, []int{1}},          // middle axis.
		{[]int{4, 1, 7, 1, 5}, []int{1, 2}}, // middle after dropping 1s.
		{[]int{4, 7, 5}, []int{0, 2}},       // not contiguous: iterator path.
		{[]int{17}, []int{0}},               // everything.
		{[]int{1, 1}, []int{0}},             // a single element.
		{[]int{2, 3, 4, 5}, []int{3, 2, 1}}, // unsorted axes.
		{[]int{6, 1, 9}, []int{1}},          // reducing only a 1: a copy.
		{[]int{5, 3}, []int{}},              // no axes: all of them.
		{[]int{2, 0, 3}, []int{1}},          // empty operand.
	}
	for range 25 {
		rank := 1 + r.IntN(4)
		dims := randomDims(r, rank)
		var axes []int
		for axis := range rank {
			if r.IntN(2) == 0 {
				axes = append(axes, axis)
			}
		}
		if len(axes) == 0 {
			axes = []int{r.IntN(rank)}
		}
		cases = append(cases, testCase{dims, axes})
	}
	ops := []compute.OpType{compute.OpTypeReduceSum, compute.OpTypeReduceMax, compute.OpTypeReduceMin, compute.OpTypeReduceProduct}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v_%v", c.dims, c.axes), func(t *testing.T) {
			axes := c.axes
			if len(axes) == 0 {
				axes = make([]int, len(c.dims))
				for i := range axes {
					axes[i] = i
				}
			}
			n := shapes.Make(dtypes.Float32, c.dims...).Size()
			for _, op := range ops {
				// Float32 in [-1, 1): sums compared with a tolerance (the fast path sums in a
				// different order), max/min exactly. Products of many values underflow:
				// values near ±1 keep them representable.
				xf := randomFloat32s(r, n)
				if op == compute.OpTypeReduceProduct {
					for i := range xf {
						xf[i] = 1 + xf[i]/64
					}
				}
				x64 := make([]float64, n)
				for i, v := range xf {
					x64[i] = float64(v)
				}
				want := referenceReduce(x64, c.dims, axes, op, math.Inf(-1), math.Inf(1))
				got := execOnBackend(t, []any{xf}, []shapes.Shape{shapes.Make(dtypes.Float32, c.dims...)}, false,
					func(f compute.Function, p []compute.Value) (compute.Value, error) {
						return reduceOnBackend(f, op, p[0], c.axes)
					}).([]float32)
				if len(got) != len(want) {
					t.Fatalf("%s: got %d values, want %d", op, len(got), len(want))
				}
				for i := range want {
					tol := 0.0
					if op == compute.OpTypeReduceSum || op == compute.OpTypeReduceProduct {
						tol = 1e-5 * max(1, math.Sqrt(float64(n)))
					}
					if math.Abs(float64(got[i])-want[i]) > tol {
						t.Fatalf("%s float32: output %d = %g, reference %g", op, i, got[i], want[i])
					}
				}

				// Int32: exact for every op (products of small values stay in range).
				xi := make([]int32, n)
				for i := range xi {
					xi[i] = int32(r.IntN(201) - 100)
					if op == compute.OpTypeReduceProduct {
						xi[i] = int32(1 + r.IntN(2))
						if r.IntN(2) == 0 {
							xi[i] = -xi[i]
						}
					}
					x64[i] = float64(xi[i])
				}
				want = referenceReduce(x64, c.dims, axes, op, math.MinInt32, math.MaxInt32)
				gotI := execOnBackend(t, []any{xi}, []shapes.Shape{shapes.Make(dtypes.Int32, c.dims...)}, true,
					func(f compute.Function, p []compute.Value) (compute.Value, error) {
						return reduceOnBackend(f, op, p[0], c.axes)
					}).([]int32)
				wantI := make([]int32, len(want))
				for i, v := range want {
					wantI[i] = int32(int64(v)) // products wrap like int32 arithmetic for these sizes.
				}
				if op == compute.OpTypeReduceProduct && n > 30 {
					continue // the float64 reference is not exact beyond 2^53.
				}
				if !reflect.DeepEqual(gotI, wantI) {
					t.Fatalf("%s int32: got %v, reference %v", op, gotI, wantI)
				}
			}
		})
	}
}

func TestReduceMaxPropagatesNaN(t *testing.T) {
	x := []float32{1, float32(math.NaN()), 3, 4, 5, 6} // [[1, NaN, 3], [4, 5, 6]]
	for _, c := range []struct {
		axes   []int
		output int // the output that sees the NaN.
	}{{[]int{1}, 0}, {[]int{0}, 1}} {
		axes := c.axes
		got := execOnBackend(t, []any{x}, []shapes.Shape{shapes.Make(dtypes.Float32, 2, 3)}, false,
			func(f compute.Function, p []compute.Value) (compute.Value, error) { return f.ReduceMax(p[0], axes...) }).([]float32)
		if !math.IsNaN(float64(got[c.output])) || math.IsNaN(float64(got[1-c.output])) {
			t.Errorf("ReduceMax over %v = %v, want NaN only in output %d (the generic path propagates NaN)", axes, got, c.output)
		}
	}
}

// BenchmarkReduce times the reductions of a Transformer's training step.
func BenchmarkReduce(b *testing.B) {
	for _, c := range []struct {
		op   compute.OpType
		dims []int
		axes []int
	}{
		{compute.OpTypeReduceSum, []int{32, 64, 3000}, []int{2}},
		{compute.OpTypeReduceMax, []int{32, 64, 3000}, []int{2}},
		{compute.OpTypeReduceSum, []int{32, 64, 128}, []int{2}},
		{compute.OpTypeReduceSum, []int{32, 64, 128}, []int{0, 1}},
		{compute.OpTypeReduceSum, []int{32, 4, 64, 64}, []int{3}},
	} {
		shape := shapes.Make(dtypes.Float32, c.dims...)
		builder := backend.Builder("bench")
		mainFn := builder.Main()
		x, _ := mainFn.Parameter("x", shape, nil)
		y, err := reduceOnBackend(mainFn, c.op, x, c.axes)
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
		input, _ := backend.BufferFromFlatData(0, randomFloat32s(rand.New(rand.NewPCG(1, 1)), shape.Size()), shape)
		b.Run(fmt.Sprintf("%s_%v_%v", c.op, c.dims, c.axes), func(b *testing.B) {
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

// TestReduceSignedZeros: like the builtin max and min, ReduceMax picks +0 over -0 and
// ReduceMin -0 over +0, whatever their order, over the last axis and over a leading one.
func TestReduceSignedZeros(t *testing.T) {
	negZero := float32(math.Copysign(0, -1))
	x := []float32{negZero, 0, 0, negZero, -1, 0} // [[−0, +0], [+0, −0], [−1, +0]] as [3, 2]
	for _, c := range []struct {
		op      compute.OpType
		axes    []int
		signbit []bool
	}{
		{compute.OpTypeReduceMax, []int{1}, []bool{false, false, false}},
		{compute.OpTypeReduceMin, []int{1}, []bool{true, true, true}}, // the last is -1.
		{compute.OpTypeReduceMax, []int{0}, []bool{false, false}},
		{compute.OpTypeReduceMin, []int{0}, []bool{true, true}}, // [-1, -0].
	} {
		got := execOnBackend(t, []any{x}, []shapes.Shape{shapes.Make(dtypes.Float32, 3, 2)}, false,
			func(f compute.Function, p []compute.Value) (compute.Value, error) {
				return reduceOnBackend(f, c.op, p[0], c.axes)
			}).([]float32)
		for i, v := range got {
			if math.Signbit(float64(v)) != c.signbit[i] {
				t.Errorf("%s over %v = %v: output %d has the wrong sign", c.op, c.axes, got, i)
			}
		}
	}
}
