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

// TestFusedDenseBias: y = x·W + b with odd sizes and both weight layouts, against a
// plain-Go reference (the bias is added row by row).
func TestFusedDenseBias(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 8))
	for _, c := range []struct {
		xDims      []int
		out        int
		layout     compute.DenseLayout
		activation compute.ActivationType
	}{
		{[]int{3, 5, 7}, 11, compute.DenseLayoutInputOutputs, compute.ActivationNone},
		{[]int{4, 33}, 17, compute.DenseLayoutOutputsInput, compute.ActivationNone},
		{[]int{2, 3, 16}, 1, compute.DenseLayoutInputOutputs, compute.ActivationRelu},
		{[]int{9}, 5, compute.DenseLayoutInputOutputs, compute.ActivationNone},
	} {
		t.Run(fmt.Sprintf("%v_%d_%v", c.xDims, c.out, c.layout), func(t *testing.T) {
			in := c.xDims[len(c.xDims)-1]
			rows := shapes.Make(dtypes.Float32, c.xDims...).Size() / in
			x := randomFloat32s(r, rows*in)
			w := randomFloat32s(r, in*c.out)
			b := randomFloat32s(r, c.out)
			wDims := []int{in, c.out}
			if c.layout == compute.DenseLayoutOutputsInput {
				wDims = []int{c.out, in}
			}
			inShapes := []shapes.Shape{shapes.Make(dtypes.Float32, c.xDims...), shapes.Make(dtypes.Float32, wDims...), shapes.Make(dtypes.Float32, c.out)}
			for _, donate := range []bool{false, true} {
				got := execOnBackend(t, []any{x, w, b}, inShapes, donate, func(f compute.Function, p []compute.Value) (compute.Value, error) {
					return f.FusedDense(p[0], p[1], p[2], compute.DenseConfig{WeightLayout: c.layout, Activation: c.activation})
				}).([]float32)
				for row := range rows {
					for o := range c.out {
						want := float64(b[o])
						for i := range in {
							wv := w[i*c.out+o]
							if c.layout == compute.DenseLayoutOutputsInput {
								wv = w[o*in+i]
							}
							want += float64(x[row*in+i]) * float64(wv)
						}
						if c.activation == compute.ActivationRelu {
							want = max(want, 0)
						}
						if g := got[row*c.out+o]; math.Abs(float64(g)-want) > 1e-5 {
							t.Fatalf("donate=%v: y[%d, %d] = %g, reference %g", donate, row, o, g, want)
						}
					}
				}
			}
		})
	}
}

// BenchmarkFusedDense times a Transformer's MLP projection [2048, 128]·[128, 512] + bias.
func BenchmarkFusedDense(b *testing.B) {
	xs, ws, bs := shapes.Make(dtypes.Float32, 32, 64, 128), shapes.Make(dtypes.Float32, 128, 512), shapes.Make(dtypes.Float32, 512)
	builder := backend.Builder("bench")
	mainFn := builder.Main()
	x, _ := mainFn.Parameter("x", xs, nil)
	w, _ := mainFn.Parameter("w", ws, nil)
	bias, _ := mainFn.Parameter("b", bs, nil)
	y, err := mainFn.FusedDense(x, w, bias, compute.DenseConfig{})
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
	r := rand.New(rand.NewPCG(1, 1))
	xb, _ := backend.BufferFromFlatData(0, randomFloat32s(r, xs.Size()), xs)
	wb, _ := backend.BufferFromFlatData(0, randomFloat32s(r, ws.Size()), ws)
	bb, _ := backend.BufferFromFlatData(0, randomFloat32s(r, bs.Size()), bs)
	for b.Loop() {
		out, err := exec.Execute([]compute.Buffer{xb, wb, bb}, nil, 0)
		if err != nil {
			b.Fatal(err)
		}
		_ = out[0].Finalize()
	}
}
