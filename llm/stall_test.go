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
	c := TinyGPT(300)
	c.Layers = 2
	m, err := New(c, HeadSet{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	stream := make([]int, 4000)
	for i := range stream {
		stream[i] = (i*7 + i/13) % 300
	}
	done := make(chan error, 1)
	go func() {
		_, err := m.Train(stream, nil, TrainConfig{Steps: 3, BatchSize: 8, SeqLen: 64, Seed: 1})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Minute):
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		t.Fatalf("3 training steps did not finish in 3 minutes: the backend scheduler stalled\n%s", buf[:n])
	}
}
