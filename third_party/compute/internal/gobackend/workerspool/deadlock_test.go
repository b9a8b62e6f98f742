package workerspool

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestSaturateInsideWorkers: tasks that hold every worker slot and then call Saturate (as
// graph nodes running a matmul do) must finish. Saturate used to wait for a free slot
// before starting the first task, so this deadlocked.
func TestSaturateInsideWorkers(t *testing.T) {
	pool := New()
	const slots = 2
	pool.SetMaxParallelism(slots)
	var allRunning, done sync.WaitGroup
	allRunning.Add(slots)
	done.Add(slots)
	var work atomic.Int32
	for range slots {
		pool.WaitToStart(func() {
			defer done.Done()
			allRunning.Done()
			allRunning.Wait() // every slot is now held.
			var items atomic.Int32
			items.Store(100)
			pool.Saturate(func() {
				for items.Add(-1) >= 0 {
					work.Add(1)
				}
			})
		})
	}
	done.Wait()
	if got := work.Load(); got != slots*100 {
		t.Fatalf("%d work items done, want %d", got, slots*100)
	}
}

// TestStartOrRunInsideWorkers: the same for ops that split their work in chunks (GELU,
// Erf, convolutions): with every slot held, the chunks run in the calling worker.
func TestStartOrRunInsideWorkers(t *testing.T) {
	pool := New()
	const slots = 2
	pool.SetMaxParallelism(slots)
	var allRunning, done sync.WaitGroup
	allRunning.Add(slots)
	done.Add(slots)
	var work atomic.Int32
	for range slots {
		pool.WaitToStart(func() {
			defer done.Done()
			allRunning.Done()
			allRunning.Wait()
			var chunks sync.WaitGroup
			for range 10 {
				chunks.Add(1)
				pool.StartOrRun(func() {
					work.Add(1)
					chunks.Done()
				})
			}
			chunks.Wait()
		})
	}
	done.Wait()
	if got := work.Load(); got != slots*10 {
		t.Fatalf("%d chunks done, want %d", got, slots*10)
	}
}
