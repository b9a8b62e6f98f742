// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package ops_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/dtypes/bfloat16"
	"github.com/gomlx/compute/internal/gobackend"
	"github.com/gomlx/compute/shapes"
)

// referenceBroadcastBinary applies op element-wise after broadcasting lhs [lhsDims] and rhs
// [rhsDims] (same rank; a dimension 1 repeats) to the target dimensions, in plain Go.
func referenceBroadcastBinary[T, R any](lhs, rhs []T, lhsDims, rhsDims []int, op func(a, b T) R) []R {
	outDims := make([]int, len(lhsDims))
	for i := range outDims {
		outDims[i] = max(lhsDims[i], rhsDims[i])
	}
	out := make([]R, shapes.Make(dtypes.Float32, outDims...).Size())
	for outIdx := range out {
		index := unravel(outIdx, outDims)
		li, ri := make([]int, len(index)), make([]int, len(index))
		for axis, i := range index {
			if lhsDims[axis] != 1 {
				li[axis] = i
			}
			if rhsDims[axis] != 1 {
				ri[axis] = i
			}
		}
		out[outIdx] = op(lhs[ravel(li, lhsDims)], rhs[ravel(ri, rhsDims)])
	}
	return out
}

// randomBroadcastPair returns a target shape and two operand shapes that each keep or set
// to 1 every target dimension.
func randomBroadcastPair(r *rand.Rand) (lhsDims, rhsDims []int) {
	dims := randomDims(r, 1+r.IntN(4))
	lhsDims, rhsDims = make([]int, len(dims)), make([]int, len(dims))
	for i, d := range dims {
		lhsDims[i], rhsDims[i] = d, d
		switch r.IntN(4) {
		case 0:
			lhsDims[i] = 1
		case 1:
			rhsDims[i] = 1
		}
	}
	return lhsDims, rhsDims
}

func TestBinaryOpsBroadcastRuns(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 3))
	type pair struct{ lhs, rhs []int }
	cases := []pair{
		{[]int{3, 5, 301}, []int{3, 5, 1}},     // softmax: logits - max.
		{[]int{3, 5, 1}, []int{3, 5, 301}},     // and its reverse (non-commutative ops).
		{[]int{4, 7, 33}, []int{1, 1, 33}},     // bias add.
		{[]int{1, 7, 33}, []int{4, 7, 33}},     // positional embedding.
		{[]int{5, 1}, []int{1, 9}},             // outer product.
		{[]int{2, 3, 1, 5}, []int{1, 3, 4, 5}}, // both broadcast, on different axes.
		{[]int{4, 1, 6}, []int{4, 2, 1}},
		{[]int{1, 1}, []int{3, 1}},
	}
	for range 40 {
		l, rr := randomBroadcastPair(r)
		cases = append(cases, pair{l, rr})
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v_%v", c.lhs, c.rhs), func(t *testing.T) {
			lShape, rShape := shapes.Make(dtypes.Float32, c.lhs...), shapes.Make(dtypes.Float32, c.rhs...)
			lf, rf := randomFloat32s(r, lShape.Size()), randomFloat32s(r, rShape.Size())
			for i := range rf {
				if rf[i] == 0 {
					rf[i] = 0.5 // keep Div finite.
				}
			}
			in := []shapes.Shape{lShape, rShape}
			for _, op := range []struct {
				name  string
				build func(f compute.Function, a, b compute.Value) (compute.Value, error)
				ref   func(a, b float32) float32
			}{
				{"Add", func(f compute.Function, a, b compute.Value) (compute.Value, error) { return f.Add(a, b) }, func(a, b float32) float32 { return a + b }},
				{"Sub", func(f compute.Function, a, b compute.Value) (compute.Value, error) { return f.Sub(a, b) }, func(a, b float32) float32 { return a - b }},
				{"Mul", func(f compute.Function, a, b compute.Value) (compute.Value, error) { return f.Mul(a, b) }, func(a, b float32) float32 { return a * b }},
				{"Div", func(f compute.Function, a, b compute.Value) (compute.Value, error) { return f.Div(a, b) }, func(a, b float32) float32 { return a / b }},
				{"Max", func(f compute.Function, a, b compute.Value) (compute.Value, error) { return f.Max(a, b) }, func(a, b float32) float32 { return max(a, b) }},
			} {
				for _, donate := range []bool{false, true} {
					got := execOnBackend(t, []any{lf, rf}, in, donate, func(f compute.Function, p []compute.Value) (compute.Value, error) {
						return op.build(f, p[0], p[1])
					})
					want := referenceBroadcastBinary(lf, rf, c.lhs, c.rhs, op.ref)
					if !reflect.DeepEqual(got, want) {
						t.Fatalf("%s (donate=%v) differs from the plain-Go reference", op.name, donate)
					}
				}
			}

			// A comparison (bool output), integers and a half-precision type.
			got := execOnBackend(t, []any{lf, rf}, in, false, func(f compute.Function, p []compute.Value) (compute.Value, error) {
				return f.LessThan(p[0], p[1])
			})
			if want := referenceBroadcastBinary(lf, rf, c.lhs, c.rhs, func(a, b float32) bool { return a < b }); !reflect.DeepEqual(got, want) {
				t.Fatalf("LessThan differs from the plain-Go reference")
			}
			li, ri := make([]int32, len(lf)), make([]int32, len(rf))
			for i := range li {
				li[i] = int32(r.IntN(1000) - 500)
			}
			for i := range ri {
				ri[i] = int32(1 + r.IntN(50))
			}
			iShapes := []shapes.Shape{shapes.Make(dtypes.Int32, c.lhs...), shapes.Make(dtypes.Int32, c.rhs...)}
			got = execOnBackend(t, []any{li, ri}, iShapes, false, func(f compute.Function, p []compute.Value) (compute.Value, error) {
				return f.Rem(p[0], p[1])
			})
			if want := referenceBroadcastBinary(li, ri, c.lhs, c.rhs, func(a, b int32) int32 { return a % b }); !reflect.DeepEqual(got, want) {
				t.Fatalf("Rem int32 differs from the plain-Go reference")
			}
			lb, rb := make([]bfloat16.BFloat16, len(lf)), make([]bfloat16.BFloat16, len(rf))
			for i, v := range lf {
				lb[i] = bfloat16.FromFloat32(v)
			}
			for i, v := range rf {
				rb[i] = bfloat16.FromFloat32(v)
			}
			bShapes := []shapes.Shape{shapes.Make(dtypes.BFloat16, c.lhs...), shapes.Make(dtypes.BFloat16, c.rhs...)}
			got = execOnBackend(t, []any{lb, rb}, bShapes, false, func(f compute.Function, p []compute.Value) (compute.Value, error) {
				return f.Sub(p[0], p[1])
			})
			want := referenceBroadcastBinary(lb, rb, c.lhs, c.rhs, func(a, b bfloat16.BFloat16) bfloat16.BFloat16 {
				return bfloat16.FromFloat32(a.Float32() - b.Float32())
			})
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Sub bfloat16 differs from the plain-Go reference")
			}
		})
	}
}

// TestBroadcastRunsMatchesZipIterator: the runs visit the same (lhs, rhs) flat indices, in
// the same target order, as the element-by-element ZipIterator.
func TestBroadcastRunsMatchesZipIterator(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 4))
	for range 200 {
		l, rr := randomBroadcastPair(r)
		tgt := make([]int, len(l))
		for i := range tgt {
			tgt[i] = max(l[i], rr[i])
		}
		lShape, rShape, tShape := shapes.Make(dtypes.Float32, l...), shapes.Make(dtypes.Float32, rr...), shapes.Make(dtypes.Float32, tgt...)
		var want, got [][2]int
		for idx := range gobackend.NewZippedBroadcastIterator(lShape, rShape, tShape).IterFlatIndices() {
			want = append(want, [2]int{idx.LHSFlatIdx, idx.RHSFlatIdx})
		}
		runs := gobackend.NewBroadcastRuns(lShape, rShape, tShape)
		for ls, rs := range runs.Starts() {
			for i := range runs.RunLen {
				got = append(got, [2]int{ls + i*runs.LHSStride, rs + i*runs.RHSStride})
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%v op %v: BroadcastRuns visits %v, ZipIterator %v", l, rr, got, want)
		}
	}
}

// BenchmarkBinaryBroadcast times the element-wise ops of a Transformer step, broadcasting
// ones and (the last) the same-shape products of the GELU gradient.
func BenchmarkBinaryBroadcast(b *testing.B) {
	for _, c := range []struct {
		name     string
		lhs, rhs []int
	}{
		{"Sub", []int{32, 64, 3000}, []int{32, 64, 1}},
		{"Mul", []int{32, 64, 1}, []int{32, 64, 3000}},
		{"Div", []int{32, 64, 128}, []int{32, 64, 1}},
		{"Add", []int{32, 4, 64, 64}, []int{32, 4, 64, 1}},
		{"Add", []int{32, 64, 128}, []int{1, 64, 128}},
		{"Mul", []int{32, 64, 512}, []int{32, 64, 512}},
	} {
		lShape, rShape := shapes.Make(dtypes.Float32, c.lhs...), shapes.Make(dtypes.Float32, c.rhs...)
		builder := backend.Builder("bench")
		mainFn := builder.Main()
		x, _ := mainFn.Parameter("x", lShape, nil)
		y, _ := mainFn.Parameter("y", rShape, nil)
		var out compute.Value
		var err error
		switch c.name {
		case "Sub":
			out, err = mainFn.Sub(x, y)
		case "Mul":
			out, err = mainFn.Mul(x, y)
		case "Div":
			out, err = mainFn.Div(x, y)
		default:
			out, err = mainFn.Add(x, y)
		}
		if err != nil {
			b.Fatal(err)
		}
		if err := mainFn.Return([]compute.Value{out}, nil); err != nil {
			b.Fatal(err)
		}
		exec, err := builder.Compile()
		if err != nil {
			b.Fatal(err)
		}
		r := rand.New(rand.NewPCG(1, 1))
		xb, _ := backend.BufferFromFlatData(0, randomFloat32s(r, lShape.Size()), lShape)
		yb, _ := backend.BufferFromFlatData(0, randomFloat32s(r, rShape.Size()), rShape)
		b.Run(fmt.Sprintf("%s_%v_%v", c.name, c.lhs, c.rhs), func(b *testing.B) {
			for b.Loop() {
				outs, err := exec.Execute([]compute.Buffer{xb, yb}, nil, 0)
				if err != nil {
					b.Fatal(err)
				}
				_ = outs[0].Finalize()
			}
		})
	}
}
