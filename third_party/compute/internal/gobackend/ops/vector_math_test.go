// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package ops_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
)

// The float32 Exp, Tanh, FusedGelu (tanh approximation) and FusedSoftmax use the vector
// exp/tanh of internal/fastmath. These tests compare them, through the backend, with a
// float64 plain-Go reference on odd sizes (vector tails) and arguments spanning the
// ranges a Transformer produces.

func float32Inputs(r *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * scale)
	}
	return x
}

func TestVectorUnaryOps(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 5))
	for _, dims := range [][]int{{1}, {7}, {3, 17}, {5, 3, 33}, {2, 64, 129}} {
		shape := shapes.Make(dtypes.Float32, dims...)
		x := float32Inputs(r, shape.Size(), 6)
		for _, donate := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v_donate=%v", dims, donate), func(t *testing.T) {
				gotExp := execOnBackend(t, []any{x}, []shapes.Shape{shape}, donate,
					func(f compute.Function, p []compute.Value) (compute.Value, error) { return f.Exp(p[0]) }).([]float32)
				gotTanh := execOnBackend(t, []any{x}, []shapes.Shape{shape}, donate,
					func(f compute.Function, p []compute.Value) (compute.Value, error) { return f.Tanh(p[0]) }).([]float32)
				gotGelu := execOnBackend(t, []any{x}, []shapes.Shape{shape}, donate,
					func(f compute.Function, p []compute.Value) (compute.Value, error) { return f.FusedGelu(p[0], false) }).([]float32)
				for i, v := range x {
					xv := float64(v)
					if want := math.Exp(xv); math.Abs(float64(gotExp[i])-want) > 3e-7*want {
						t.Fatalf("Exp(%g) = %g, want %g", v, gotExp[i], want)
					}
					if want := math.Tanh(xv); math.Abs(float64(gotTanh[i])-want) > 3e-7 {
						t.Fatalf("Tanh(%g) = %g, want %g", v, gotTanh[i], want)
					}
					want := 0.5 * xv * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(xv+0.044715*xv*xv*xv)))
					if math.Abs(float64(gotGelu[i])-want) > 1e-6*max(1, math.Abs(xv)) {
						t.Fatalf("FusedGelu(%g) = %g, want %g", v, gotGelu[i], want)
					}
				}
			})
		}
	}
}

func TestFusedSoftmaxFloat32(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 6))
	for _, c := range []struct {
		dims []int
		axis int
	}{
		{[]int{3, 3001}, 1},     // vocabulary-sized rows.
		{[]int{2, 4, 7, 13}, 3}, // attention rows, odd.
		{[]int{2, 5, 1}, 1},     // the axis is followed by a 1: still contiguous rows.
		{[]int{4, 9, 6}, 1},     // not the last axis: the strided path.
	} {
		t.Run(fmt.Sprintf("%v_axis%d", c.dims, c.axis), func(t *testing.T) {
			shape := shapes.Make(dtypes.Float32, c.dims...)
			x := float32Inputs(r, shape.Size(), 8)
			x[0] = -1e30 // a masked position.
			got := execOnBackend(t, []any{x}, []shapes.Shape{shape}, false,
				func(f compute.Function, p []compute.Value) (compute.Value, error) {
					return f.FusedSoftmax(p[0], c.axis)
				}).([]float32)
			inner := 1
			for _, d := range c.dims[c.axis+1:] {
				inner *= d
			}
			n := c.dims[c.axis]
			for base := range shape.Size() {
				if (base/inner)%n != 0 {
					continue // base must be the first element of a softmax slice.
				}
				maxV := math.Inf(-1)
				for i := range n {
					maxV = max(maxV, float64(x[base+i*inner]))
				}
				var sum float64
				for i := range n {
					sum += math.Exp(float64(x[base+i*inner]) - maxV)
				}
				for i := range n {
					idx := base + i*inner
					want := math.Exp(float64(x[idx])-maxV) / sum
					if math.Abs(float64(got[idx])-want) > 1e-6*max(want, 1e-3) {
						t.Fatalf("softmax element %d = %g, want %g", idx, got[idx], want)
					}
				}
			}
		})
	}
}

// BenchmarkVectorMath times the float32 transcendental ops on a Transformer's shapes.
func BenchmarkVectorMath(b *testing.B) {
	for _, c := range []struct {
		name  string
		dims  []int
		build func(f compute.Function, x compute.Value) (compute.Value, error)
	}{
		{"Exp", []int{32, 64, 3000}, func(f compute.Function, x compute.Value) (compute.Value, error) { return f.Exp(x) }},
		{"Tanh", []int{32, 64, 512}, func(f compute.Function, x compute.Value) (compute.Value, error) { return f.Tanh(x) }},
		{"FusedGelu", []int{32, 64, 512}, func(f compute.Function, x compute.Value) (compute.Value, error) { return f.FusedGelu(x, false) }},
		{"FusedSoftmax", []int{32, 4, 64, 64}, func(f compute.Function, x compute.Value) (compute.Value, error) { return f.FusedSoftmax(x, 3) }},
	} {
		shape := shapes.Make(dtypes.Float32, c.dims...)
		builder := backend.Builder("bench")
		mainFn := builder.Main()
		x, _ := mainFn.Parameter("x", shape, nil)
		y, err := c.build(mainFn, x)
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
		input, _ := backend.BufferFromFlatData(0, float32Inputs(rand.New(rand.NewPCG(1, 1)), shape.Size(), 3), shape)
		b.Run(fmt.Sprintf("%s_%v", c.name, c.dims), func(b *testing.B) {
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
