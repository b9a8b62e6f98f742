// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package dot

import (
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/internal/gobackend"
	"github.com/gomlx/compute/shapes"
)

func TestChooseTransposition(t *testing.T) {
	node := func(dims ...int) *gobackend.Node { return &gobackend.Node{Shape: shapes.Make(dtypes.Float32, dims...)} }
	for _, c := range []struct {
		name                     string
		lhs, rhs                 *gobackend.Node
		lhsContract, rhsContract []int
		lhsBatch, rhsBatch       []int
		wantSwap                 bool
		wantLayout               Layout
	}{
		// LM-head weight gradient gᵀ·x: g [tokens, vocab], x [tokens, d]. Transposing x and
		// the [d, vocab] output beats transposing g.
		{"lm_head_grad", node(2048, 3000), node(2048, 128), []int{0}, []int{0}, nil, nil, true, LayoutNonTransposed},
		// And written the other way round, xᵀ·g: g is already a NonTransposed rhs.
		{"xT_g", node(2048, 128), node(2048, 3000), []int{0}, []int{0}, nil, nil, false, LayoutNonTransposed},
		// Batched, contracting in the middle: [b, k, m]·[b, k, n]: the rhs is NonTransposed
		// already, only the lhs moves.
		{"batched", node(8, 100, 10), node(8, 100, 30), []int{1}, []int{1}, []int{0}, []int{0}, false, LayoutNonTransposed},
		// Both operands need a transpose whatever the layout: keep the previous choice.
		{"tie", node(6, 4, 5), node(5, 6, 4), []int{0}, []int{1}, nil, nil, false, LayoutTransposed},
	} {
		t.Run(c.name, func(t *testing.T) {
			params := &NodeData{LHSContractingAxes: c.lhsContract, RHSContractingAxes: c.rhsContract, LHSBatchAxes: c.lhsBatch, RHSBatchAxes: c.rhsBatch}
			swap, layout := chooseTransposition(c.lhs, c.rhs, params)
			if swap != c.wantSwap || layout != c.wantLayout {
				t.Errorf("chooseTransposition = (swap %v, %s), want (swap %v, %s)", swap, layout, c.wantSwap, c.wantLayout)
			}
		})
	}
}
