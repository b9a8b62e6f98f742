// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package gobackend

import (
	"sync"
	"testing"

	"github.com/gomlx/compute/internal/gobackend/workerspool"
)

// TestParallelChunks checks that every unit is visited exactly once, chunk starts are
// aligned, and small ranges or a nil backend run as one call.
func TestParallelChunks(t *testing.T) {
	b := &Backend{}
	b.Workers = workerspool.New()
	b.Workers.SetMaxParallelism(-1)
	for _, n := range []int{0, 1, 7, 100, 1000, 1023, 4096} {
		for _, align := range []int{1, 16, 512} {
			var mu sync.Mutex
			seen := make([]int, n)
			b.ParallelChunks(n, 100, align, func(lo, hi int) {
				if lo%align != 0 {
					t.Errorf("n=%d align=%d: chunk starts at %d", n, align, lo)
				}
				mu.Lock()
				defer mu.Unlock()
				for i := lo; i < hi; i++ {
					seen[i]++
				}
			})
			for i, c := range seen {
				if c != 1 {
					t.Fatalf("n=%d align=%d: unit %d visited %d times", n, align, i, c)
				}
			}
		}
	}
	calls := 0
	(*Backend)(nil).ParallelChunks(10, 1, 1, func(lo, hi int) { calls++ })
	if calls != 1 {
		t.Fatalf("nil backend: %d calls, want 1", calls)
	}
}
