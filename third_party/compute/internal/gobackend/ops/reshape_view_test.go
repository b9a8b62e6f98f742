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
	"github.com/gomlx/compute/shapes"
)

// TestReshapeViews runs random graphs of element-wise ops (which reuse a last-used operand's
// buffer in place) and Reshapes (views of an operand still in use elsewhere, which pin its
// buffer) on the sequential and the parallel executor, with inputs donated or not, and
// compares every output with the same arithmetic in plain Go.
func TestReshapeViews(t *testing.T) {
	const n = 30
	dimsChoices := [][]int{{30}, {5, 6}, {6, 5}, {2, 15}, {3, 10, 1}}
	saved := backend.OpsExecutionType
	defer func() { backend.OpsExecutionType = saved }()
	r := rand.New(rand.NewPCG(31, 32))
	for trial := range 300 {
		mode := []gobackend.OpsExecutionType{gobackend.OpsExecutionSequential, gobackend.OpsExecutionParallel}[trial%2]
		donate := trial%3 == 0
		backend.OpsExecutionType = mode
		t.Run(fmt.Sprintf("trial%d", trial), func(t *testing.T) {
			builder := backend.Builder(t.Name())
			fn := builder.Main()
			type val struct {
				v    compute.Value
				dims []int
				ref  []float32
			}
			var vals []val
			var inputs []compute.Buffer
			for i := range 2 {
				dims := dimsChoices[r.IntN(len(dimsChoices))]
				p, err := fn.Parameter(fmt.Sprintf("x%d", i), shapes.Make(dtypes.Float32, dims...), nil)
				if err != nil {
					t.Fatal(err)
				}
				x := randomFloat32s(r, n)
				buf, err := backend.BufferFromFlatData(0, append([]float32(nil), x...), shapes.Make(dtypes.Float32, dims...))
				if err != nil {
					t.Fatal(err)
				}
				inputs = append(inputs, buf)
				vals = append(vals, val{p, dims, x})
			}
			reshape := func(a val, dims []int) val {
				v, err := fn.Reshape(a.v, dims...)
				if err != nil {
					t.Fatal(err)
				}
				return val{v, dims, a.ref}
			}
			for range 6 + r.IntN(20) {
				a := vals[r.IntN(len(vals))]
				var out val
				switch op := r.IntN(5); op {
				case 0, 1: // Reshape, possibly of a value used again later.
					out = reshape(a, dimsChoices[r.IntN(len(dimsChoices))])
				case 2: // Neg: writes in place into its operand at the operand's last use.
					v, err := fn.Neg(a.v)
					if err != nil {
						t.Fatal(err)
					}
					ref := make([]float32, n)
					for i := range ref {
						ref[i] = -a.ref[i]
					}
					out = val{v, a.dims, ref}
				default: // Add or Mul with another value reshaped to a's shape.
					b := reshape(vals[r.IntN(len(vals))], a.dims)
					var v compute.Value
					var err error
					ref := make([]float32, n)
					if op == 3 {
						v, err = fn.Add(a.v, b.v)
						for i := range ref {
							ref[i] = a.ref[i] + b.ref[i]
						}
					} else {
						v, err = fn.Mul(a.v, b.v)
						for i := range ref {
							ref[i] = a.ref[i] * b.ref[i]
						}
					}
					if err != nil {
						t.Fatal(err)
					}
					out = val{v, a.dims, ref}
				}
				vals = append(vals, out)
			}
			// Return the last values (the others are intermediates), some reshaped views.
			numOut := min(3, len(vals)-2)
			var outs []compute.Value
			var want [][]float32
			for _, v := range vals[len(vals)-numOut:] {
				outs = append(outs, v.v)
				want = append(want, v.ref)
			}
			if err := fn.Return(outs, nil); err != nil {
				t.Fatal(err)
			}
			exec, err := builder.Compile()
			if err != nil {
				t.Fatal(err)
			}
			results, err := exec.Execute(inputs, []bool{donate, donate}, 0)
			if err != nil {
				t.Fatalf("Execute: %+v", err)
			}
			for i, res := range results {
				if got := res.(*gobackend.Buffer).Flat.([]float32)[:n]; !reflect.DeepEqual(got, want[i]) {
					t.Fatalf("output %d = %v, want %v", i, got, want[i])
				}
			}
		})
	}
}
