// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package gobackend

import "sync"

// ParallelChunks calls fn(lo, hi) over [0, n) split into up to the pool's parallelism
// chunks of at least minChunk units each, boundaries multiple of align (≥ 1), running
// all but the last chunk on the worker pool (in the calling goroutine when the pool is
// full) and the last one in the calling goroutine, and returns when all are done. With
// the pool disabled or n < 2·minChunk it calls fn(0, n) directly.
func (b *Backend) ParallelChunks(n, minChunk, align int, fn func(lo, hi int)) {
	numChunks := 1
	if b != nil && b.Workers.IsEnabled() {
		numChunks = min(b.Workers.AdjustedMaxParallelism(), n/max(minChunk, 1))
	}
	if numChunks <= 1 {
		fn(0, n)
		return
	}
	align = max(align, 1)
	chunk := (n/numChunks + align - 1) / align * align
	var wg sync.WaitGroup
	lo := 0
	for ; lo+chunk < n; lo += chunk {
		wg.Add(1)
		start := lo
		b.Workers.StartOrRun(func() {
			defer wg.Done()
			fn(start, start+chunk)
		})
	}
	fn(lo, n)
	wg.Wait()
}
