// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package ops_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
)

// referenceSlice is x[starts:limits:strides] in plain Go.
func referenceSlice(x []float32, dims, starts, limits, strides []int) []float32 {
	outDims := make([]int, len(dims))
	for i := range dims {
		outDims[i] = (limits[i] - starts[i] + strides[i] - 1) / strides[i]
	}
	out := make([]float32, shapes.Make(dtypes.Float32, outDims...).Size())
	for o := range out {
		index := unravel(o, outDims)
		for i := range index {
			index[i] = starts[i] + index[i]*strides[i]
		}
		out[o] = x[ravel(index, dims)]
	}
	return out
}

func TestSliceFastPath(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 9))
	type sliceCase struct{ dims, starts, limits, strides []int }
	cases := []sliceCase{
		{[]int{3, 5, 12}, []int{0, 0, 4}, []int{3, 5, 8}, []int{1, 1, 1}},  // q/k/v out of qkv.
		{[]int{3, 5, 12}, []int{0, 1, 0}, []int{3, 4, 12}, []int{1, 1, 1}}, // partial middle axis, whole rows.
		{[]int{3, 5, 12}, []int{0, 0, 0}, []int{3, 5, 12}, []int{1, 1, 1}}, // everything.
		{[]int{3, 5, 12}, []int{0, 0, 1}, []int{3, 5, 12}, []int{1, 1, 2}}, // strided last axis.
		{[]int{7, 6}, []int{1, 0}, []int{7, 6}, []int{3, 1}},               // strided outer axis.
		{[]int{4, 1, 9}, []int{2, 0, 3}, []int{3, 1, 4}, []int{1, 1, 1}},   // a single element.
	}
	for range 40 {
		rank := 1 + r.IntN(4)
		dims := randomDims(r, rank)
		c := sliceCase{dims: dims, starts: make([]int, rank), limits: make([]int, rank), strides: make([]int, rank)}
		for i, d := range dims {
			c.starts[i] = r.IntN(d)
			c.limits[i] = c.starts[i] + 1 + r.IntN(d-c.starts[i])
			c.strides[i] = 1
			if r.IntN(4) == 0 {
				c.strides[i] = 1 + r.IntN(3)
			}
		}
		cases = append(cases, c)
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v_%v_%v_%v", c.dims, c.starts, c.limits, c.strides), func(t *testing.T) {
			x := randomFloat32s(r, shapes.Make(dtypes.Float32, c.dims...).Size())
			got := execOnBackend(t, []any{x}, []shapes.Shape{shapes.Make(dtypes.Float32, c.dims...)}, false,
				func(f compute.Function, p []compute.Value) (compute.Value, error) {
					return f.Slice(p[0], c.starts, c.limits, c.strides)
				})
			if want := referenceSlice(x, c.dims, c.starts, c.limits, c.strides); !reflect.DeepEqual(got, want) {
				t.Fatalf("Slice differs from the plain-Go reference (%d values)", len(want))
			}
		})
	}
}

// referencePad pads x in plain Go: Start/End values of fill at each end of an axis and
// Interior values of fill between neighbours.
func referencePad(x []float32, dims []int, fill float32, config []compute.PadAxis) []float32 {
	outDims := make([]int, len(dims))
	for i, d := range dims {
		outDims[i] = config[i].Start + config[i].End + d + max(d-1, 0)*config[i].Interior
	}
	out := make([]float32, shapes.Make(dtypes.Float32, outDims...).Size())
	for i := range out {
		out[i] = fill
	}
	for idx, v := range x {
		index := unravel(idx, dims)
		for i := range index {
			index[i] = config[i].Start + index[i]*(1+config[i].Interior)
		}
		out[ravel(index, outDims)] = v
	}
	return out
}

func TestPadFastPath(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 10))
	type padCase struct {
		dims   []int
		config []compute.PadAxis
	}
	cases := []padCase{
		{[]int{3, 5, 4}, []compute.PadAxis{{}, {}, {Start: 0, End: 8}}},              // gradient of q's slice.
		{[]int{3, 5, 4}, []compute.PadAxis{{}, {}, {Start: 4, End: 4}}},              // k's.
		{[]int{3, 5, 4}, []compute.PadAxis{{}, {}, {Start: 8, End: 0}}},              // v's.
		{[]int{3, 5, 4}, []compute.PadAxis{{}, {Start: 1, End: 2}, {}}},              // whole rows shifted.
		{[]int{3, 5, 4}, []compute.PadAxis{{}, {}, {Start: 1, End: 1, Interior: 2}}}, // interior: per element.
		{[]int{2, 3}, []compute.PadAxis{{Start: 1}, {End: 2}}},
	}
	for range 30 {
		rank := 1 + r.IntN(3)
		c := padCase{dims: randomDims(r, rank), config: make([]compute.PadAxis, rank)}
		for i := range c.config {
			c.config[i] = compute.PadAxis{Start: r.IntN(3), End: r.IntN(3)}
			if r.IntN(4) == 0 {
				c.config[i].Interior = r.IntN(2)
			}
		}
		cases = append(cases, c)
	}
	for _, c := range cases {
		for _, fill := range []float32{0, 1.5} {
			t.Run(fmt.Sprintf("%v_%v_fill%g", c.dims, c.config, fill), func(t *testing.T) {
				x := randomFloat32s(r, shapes.Make(dtypes.Float32, c.dims...).Size())
				got := execOnBackend(t, []any{x, []float32{fill}}, []shapes.Shape{shapes.Make(dtypes.Float32, c.dims...), shapes.Make(dtypes.Float32)}, false,
					func(f compute.Function, p []compute.Value) (compute.Value, error) {
						return f.Pad(p[0], p[1], c.config...)
					})
				if want := referencePad(x, c.dims, fill, c.config); !reflect.DeepEqual(got, want) {
					t.Fatalf("Pad differs from the plain-Go reference (%d values)", len(want))
				}
			})
		}
	}
}

// BenchmarkSlicePad times the Slice of q out of a fused qkv projection and the Pad of its
// gradient.
func BenchmarkSlicePad(b *testing.B) {
	for _, name := range []string{"Slice", "Pad"} {
		inShape := shapes.Make(dtypes.Float32, 32, 64, 384)
		if name == "Pad" {
			inShape = shapes.Make(dtypes.Float32, 32, 64, 128)
		}
		builder := backend.Builder("bench")
		mainFn := builder.Main()
		x, _ := mainFn.Parameter("x", inShape, nil)
		var y compute.Value
		var err error
		if name == "Slice" {
			y, err = mainFn.Slice(x, []int{0, 0, 128}, []int{32, 64, 256}, []int{1, 1, 1})
		} else {
			zero, _ := mainFn.Constant([]float32{0})
			y, err = mainFn.Pad(x, zero, compute.PadAxis{}, compute.PadAxis{}, compute.PadAxis{Start: 128, End: 128})
		}
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
		input, _ := backend.BufferFromFlatData(0, randomFloat32s(rand.New(rand.NewPCG(1, 1)), inShape.Size()), inShape)
		b.Run(name, func(b *testing.B) {
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
