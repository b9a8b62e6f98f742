// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package ops_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/internal/fastmath"
	"github.com/gomlx/compute/internal/gobackend"
	"github.com/gomlx/compute/shapes"
)

// TestElementwiseFusion runs random graphs of float32 element-wise ops (Add, Sub, Mul, Div
// with full or scalar operands, Neg, Tanh, Exp), with values used once (fused into chains)
// or several times (chain boundaries), some returned as outputs and inputs donated or not,
// on sequential and parallel execution, and checks every output bit for bit against the
// same operations in plain Go (fastmath for exp and tanh, as the unfused ops), for sizes
// around the 512-value block and the vector width, and one split across the worker pool.
func TestElementwiseFusion(t *testing.T) {
	saved := backend.OpsExecutionType
	defer func() { backend.OpsExecutionType = saved }()
	r := rand.New(rand.NewPCG(51, 52))
	sizes := []int{2, 15, 16, 17, 511, 512, 513, 1500, 131131} // The last one runs in parallel chunks.
	for trial := range 200 {
		n := sizes[trial%len(sizes)]
		backend.OpsExecutionType = []gobackend.OpsExecutionType{gobackend.OpsExecutionSequential, gobackend.OpsExecutionParallel}[trial%2]
		donate := trial%3 == 0
		t.Run(fmt.Sprintf("trial%d_n%d", trial, n), func(t *testing.T) {
			shape := shapes.Make(dtypes.Float32, n)
			builder := backend.Builder(t.Name())
			fn := builder.Main()
			type val struct {
				v   compute.Value
				ref []float32
			}
			var vals []val
			var inputs []compute.Buffer
			for i := range 3 {
				p, err := fn.Parameter(fmt.Sprintf("x%d", i), shape, nil)
				if err != nil {
					t.Fatal(err)
				}
				x := randomFloat32s(r, n)
				buf, err := backend.BufferFromFlatData(0, append([]float32(nil), x...), shape)
				if err != nil {
					t.Fatal(err)
				}
				inputs = append(inputs, buf)
				vals = append(vals, val{p, x})
			}
			must := func(v compute.Value, err error) compute.Value {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
			// Prefer recent values (chains), sometimes older ones (several uses).
			pick := func() val {
				if r.IntN(3) > 0 {
					return vals[len(vals)-1]
				}
				return vals[r.IntN(len(vals))]
			}
			for range 4 + r.IntN(25) {
				a := pick()
				ref := make([]float32, n)
				var v compute.Value
				switch op := r.IntN(7); op {
				case 0:
					v = must(fn.Neg(a.v))
					for i := range ref {
						ref[i] = -a.ref[i]
					}
				case 1:
					v = must(fn.Tanh(a.v))
					fastmath.TanhFloat32s(ref, a.ref)
				case 2:
					v = must(fn.Exp(must(fn.Mul(a.v, must(fn.Constant([]float32{0.1})))))) // keep exp in range
					for i := range ref {
						ref[i] = a.ref[i] * 0.1
					}
					fastmath.ExpFloat32s(ref, ref)
				default:
					var b compute.Value
					bRef := make([]float32, n)
					scalarLeft := false
					if r.IntN(3) == 0 {
						c := float32(r.NormFloat64())
						b = must(fn.Constant([]float32{c}))
						for i := range bRef {
							bRef[i] = c
						}
						scalarLeft = r.IntN(2) == 0
					} else {
						bv := pick()
						b, bRef = bv.v, bv.ref
					}
					lhs, rhs, lRef, rRef := a.v, b, a.ref, bRef
					if scalarLeft {
						lhs, rhs, lRef, rRef = b, a.v, bRef, a.ref
					}
					switch op {
					case 3:
						v = must(fn.Add(lhs, rhs))
					case 4:
						v = must(fn.Sub(lhs, rhs))
					case 5:
						v = must(fn.Mul(lhs, rhs))
					default:
						v = must(fn.Div(lhs, rhs))
					}
					for i := range ref {
						switch op {
						case 3:
							ref[i] = lRef[i] + rRef[i]
						case 4:
							ref[i] = lRef[i] - rRef[i]
						case 5:
							ref[i] = lRef[i] * rRef[i]
						default:
							ref[i] = lRef[i] / rRef[i]
						}
					}
				}
				vals = append(vals, val{v, ref})
			}
			var outs []compute.Value
			var want [][]float32
			for i, v := range vals[3:] {
				if i == len(vals)-4 || r.IntN(5) == 0 {
					outs = append(outs, v.v)
					want = append(want, v.ref)
				}
			}
			if err := fn.Return(outs, nil); err != nil {
				t.Fatal(err)
			}
			exec, err := builder.Compile()
			if err != nil {
				t.Fatal(err)
			}
			results, err := exec.Execute(inputs, []bool{donate, donate, donate}, 0)
			if err != nil {
				t.Fatalf("Execute: %+v", err)
			}
			for i, res := range results {
				got := res.(*gobackend.Buffer).Flat.([]float32)[:n]
				for j := range got {
					if math.Float32bits(got[j]) != math.Float32bits(want[i][j]) &&
						!(math.IsNaN(float64(got[j])) && math.IsNaN(float64(want[i][j]))) {
						t.Fatalf("output %d [%d] = %g, want %g", i, j, got[j], want[i][j])
					}
				}
			}
		})
	}
}
