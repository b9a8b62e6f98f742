// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package dot_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/internal/gobackend"
	"github.com/gomlx/compute/shapes"
)

// dotCase is a DotGeneral with each axis of each operand tagged batch, contracting or cross.
type dotCase struct {
	lhsDims, rhsDims                             []int
	lhsContract, lhsBatch, rhsContract, rhsBatch []int
}

// referenceDotGeneral computes DotGeneral in plain Go (float64 accumulation): the output
// is [batch..., lhsCross..., rhsCross...].
func referenceDotGeneral(c dotCase, lhs, rhs []float32) (out []float64, outDims []int) {
	role := func(axis int, contract, batch []int) (string, int) {
		for i, a := range batch {
			if a == axis {
				return "b", i
			}
		}
		for i, a := range contract {
			if a == axis {
				return "c", i
			}
		}
		return "x", -1
	}
	var lhsCross, rhsCross []int
	for axis := range c.lhsDims {
		if r, _ := role(axis, c.lhsContract, c.lhsBatch); r == "x" {
			lhsCross = append(lhsCross, axis)
		}
	}
	for axis := range c.rhsDims {
		if r, _ := role(axis, c.rhsContract, c.rhsBatch); r == "x" {
			rhsCross = append(rhsCross, axis)
		}
	}
	for _, a := range c.lhsBatch {
		outDims = append(outDims, c.lhsDims[a])
	}
	for _, a := range lhsCross {
		outDims = append(outDims, c.lhsDims[a])
	}
	for _, a := range rhsCross {
		outDims = append(outDims, c.rhsDims[a])
	}
	var contractDims []int
	for _, a := range c.lhsContract {
		contractDims = append(contractDims, c.lhsDims[a])
	}
	outSize := shapes.Make(dtypes.Float32, outDims...).Size()
	contractSize := shapes.Make(dtypes.Float32, contractDims...).Size()
	out = make([]float64, outSize)
	flat := func(index, dims []int) int {
		f := 0
		for i, v := range index {
			f = f*dims[i] + v
		}
		return f
	}
	unravel := func(idx int, dims []int) []int {
		index := make([]int, len(dims))
		for i := len(dims) - 1; i >= 0; i-- {
			index[i] = idx % dims[i]
			idx /= dims[i]
		}
		return index
	}
	nb := len(c.lhsBatch)
	for o := range out {
		oi := unravel(o, outDims)
		for k := range contractSize {
			ki := unravel(k, contractDims)
			li, ri := make([]int, len(c.lhsDims)), make([]int, len(c.rhsDims))
			for i, a := range c.lhsBatch {
				li[a], ri[c.rhsBatch[i]] = oi[i], oi[i]
			}
			for i, a := range lhsCross {
				li[a] = oi[nb+i]
			}
			for i, a := range rhsCross {
				ri[a] = oi[nb+len(lhsCross)+i]
			}
			for i, a := range c.lhsContract {
				li[a], ri[c.rhsContract[i]] = ki[i], ki[i]
			}
			out[o] += float64(lhs[flat(li, c.lhsDims)]) * float64(rhs[flat(ri, c.rhsDims)])
		}
	}
	return out, outDims
}

// randomDotCase builds operands with nb batch, nc contracting and 1-2 cross axes per side,
// in random axis orders.
func randomDotCase(r *rand.Rand) dotCase {
	sizes := []int{1, 2, 3, 5, 7, 16, 17, 33}
	nb, nc := r.IntN(2), 1+r.IntN(2)
	batch := make([]int, nb)
	contract := make([]int, nc)
	for i := range batch {
		batch[i] = sizes[r.IntN(len(sizes))]
	}
	for i := range contract {
		contract[i] = sizes[r.IntN(len(sizes))]
	}
	side := func() (dims, c, b []int) {
		nx := 1 + r.IntN(2)
		total := nb + nc + nx
		perm := r.Perm(total) // perm[i]: position of logical axis i.
		dims = make([]int, total)
		b = make([]int, nb)
		c = make([]int, nc)
		for i := range nb {
			dims[perm[i]] = batch[i]
			b[i] = perm[i]
		}
		for i := range nc {
			dims[perm[nb+i]] = contract[i]
			c[i] = perm[nb+i]
		}
		for i := range nx {
			dims[perm[nb+nc+i]] = sizes[r.IntN(len(sizes))]
		}
		return
	}
	var dc dotCase
	dc.lhsDims, dc.lhsContract, dc.lhsBatch = side()
	dc.rhsDims, dc.rhsContract, dc.rhsBatch = side()
	return dc
}

func runDot(t *testing.T, c dotCase, lhs, rhs []float32) []float32 {
	t.Helper()
	builder := backend.Builder(t.Name())
	mainFn := builder.Main()
	ls, rs := shapes.Make(dtypes.Float32, c.lhsDims...), shapes.Make(dtypes.Float32, c.rhsDims...)
	lp, _ := mainFn.Parameter("lhs", ls, nil)
	rp, _ := mainFn.Parameter("rhs", rs, nil)
	out, err := mainFn.DotGeneral(lp, c.lhsContract, c.lhsBatch, rp, c.rhsContract, c.rhsBatch, compute.DotGeneralConfig{})
	if err != nil {
		t.Fatalf("DotGeneral: %+v", err)
	}
	if err := mainFn.Return([]compute.Value{out}, nil); err != nil {
		t.Fatal(err)
	}
	exec, err := builder.Compile()
	if err != nil {
		t.Fatal(err)
	}
	lb, _ := backend.BufferFromFlatData(0, lhs, ls)
	rb, _ := backend.BufferFromFlatData(0, rhs, rs)
	outs, err := exec.Execute([]compute.Buffer{lb, rb}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	return outs[0].(*gobackend.Buffer).Flat.([]float32)
}

// TestDotGeneralAnyAxisOrder: DotGeneral with batch, contracting and cross axes in any
// order, and the weight-gradient shapes where swapping the operands transposes the least,
// matches a plain-Go reference.
func TestDotGeneralAnyAxisOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 7))
	cases := []dotCase{
		// xᵀ·g: both contracted on their first axis (weight gradient); swapping wins.
		{lhsDims: []int{37, 5}, rhsDims: []int{37, 33}, lhsContract: []int{0}, rhsContract: []int{0}},
		{lhsDims: []int{37, 33}, rhsDims: []int{37, 5}, lhsContract: []int{0}, rhsContract: []int{0}},
		// [b, s, m] tokens contracted against [b, s, v]: merges then swaps.
		{lhsDims: []int{3, 7, 4}, rhsDims: []int{3, 7, 17}, lhsContract: []int{0, 1}, rhsContract: []int{0, 1}},
		// batched attention gradient: [b, k, d]ᵀ·[b, k, q].
		{lhsDims: []int{4, 9, 5}, rhsDims: []int{4, 9, 6}, lhsContract: []int{1}, lhsBatch: []int{0}, rhsContract: []int{1}, rhsBatch: []int{0}},
		// LayoutContractingFirst (where registered: float32 on AVX-512), large enough for
		// the packed kernels, odd sizes: [k, m]ᵀ·[k, n] and batched [b, k, m]ᵀ·[b, k, n].
		{lhsDims: []int{301, 45}, rhsDims: []int{301, 70}, lhsContract: []int{0}, rhsContract: []int{0}},
		{lhsDims: []int{5, 300, 29}, rhsDims: []int{5, 300, 33}, lhsContract: []int{1}, lhsBatch: []int{0}, rhsContract: []int{1}, rhsBatch: []int{0}},
		{lhsDims: []int{4, 70, 31}, rhsDims: []int{4, 70, 200}, lhsContract: []int{0, 1}, rhsContract: []int{0, 1}},
		// The same with the larger cross size on the lhs: the operands are swapped.
		{lhsDims: []int{301, 70}, rhsDims: []int{301, 45}, lhsContract: []int{0}, rhsContract: []int{0}},
		{lhsDims: []int{5, 300, 40}, rhsDims: []int{5, 300, 29}, lhsContract: []int{1}, lhsBatch: []int{0}, rhsContract: []int{1}, rhsBatch: []int{0}},
	}
	for range 60 {
		cases = append(cases, randomDotCase(r))
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%v%v%v_%v%v%v", c.lhsDims, c.lhsContract, c.lhsBatch, c.rhsDims, c.rhsContract, c.rhsBatch), func(t *testing.T) {
			lhs := make([]float32, shapes.Make(dtypes.Float32, c.lhsDims...).Size())
			rhs := make([]float32, shapes.Make(dtypes.Float32, c.rhsDims...).Size())
			for i := range lhs {
				lhs[i] = 2*r.Float32() - 1
			}
			for i := range rhs {
				rhs[i] = 2*r.Float32() - 1
			}
			want, _ := referenceDotGeneral(c, lhs, rhs)
			got := runDot(t, c, lhs, rhs)
			if len(got) != len(want) {
				t.Fatalf("got %d values, want %d", len(got), len(want))
			}
			for i := range want {
				if math.Abs(float64(got[i])-want[i]) > 1e-4 {
					t.Fatalf("output %d = %g, reference %g", i, got[i], want[i])
				}
			}
		})
	}
}

// BenchmarkWeightGradient times the DotGeneral of a weight gradient, including the
// transposes it needs: gᵀ·x with g [tokens, out] and x [tokens, in].
func BenchmarkWeightGradient(b *testing.B) {
	for _, dims := range [][2]int{{3000, 128}, {512, 128}, {128, 512}} {
		c := dotCase{lhsDims: []int{2048, dims[0]}, rhsDims: []int{2048, dims[1]}, lhsContract: []int{0}, rhsContract: []int{0}}
		builder := backend.Builder("bench")
		mainFn := builder.Main()
		ls, rs := shapes.Make(dtypes.Float32, c.lhsDims...), shapes.Make(dtypes.Float32, c.rhsDims...)
		lp, _ := mainFn.Parameter("lhs", ls, nil)
		rp, _ := mainFn.Parameter("rhs", rs, nil)
		out, err := mainFn.DotGeneral(lp, c.lhsContract, c.lhsBatch, rp, c.rhsContract, c.rhsBatch, compute.DotGeneralConfig{})
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
		lhs := make([]float32, ls.Size())
		rhs := make([]float32, rs.Size())
		for i := range lhs {
			lhs[i] = r.Float32()
		}
		for i := range rhs {
			rhs[i] = r.Float32()
		}
		lb, _ := backend.BufferFromFlatData(0, lhs, ls)
		rb, _ := backend.BufferFromFlatData(0, rhs, rs)
		b.Run(fmt.Sprintf("%v_%v", c.lhsDims, c.rhsDims), func(b *testing.B) {
			for b.Loop() {
				outs, err := exec.Execute([]compute.Buffer{lb, rb}, nil, 0)
				if err != nil {
					b.Fatal(err)
				}
				_ = outs[0].Finalize()
			}
		})
	}
}
