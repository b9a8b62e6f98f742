package llm

import (
	"runtime"
	"testing"
	"time"
)

// TestTrainingStepDoesNotStall runs training steps of the benchmark-shaped tiny GPT (the
// graph that deadlocked the Go backend's parallel scheduler) under a deadline: a stall
// fails the test with goroutine stacks instead of hanging CI.
func TestTrainingStepDoesNotStall(t *testing.T) {
	c := TinyGPT(3000) // the benchmark shape: d_model 128, 4 heads, 4 layers
	m, err := New(c, HeadSet{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	stream := make([]int, 4000)
	for i := range stream {
		stream[i] = (i*7 + i/13) % 3000
	}
	done := make(chan error, 1)
	go func() {
		_, err := m.Train(stream, nil, TrainConfig{Steps: 3, BatchSize: 32, SeqLen: 64, Seed: 1})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(stallDeadline):
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Fatalf("3 training steps did not finish in %v: the backend scheduler stalled\n%s", stallDeadline, buf[:n])
	}
}

// stallDeadline is generous: 3 steps take a few seconds on 2 cores.
var stallDeadline = 2 * time.Minute
