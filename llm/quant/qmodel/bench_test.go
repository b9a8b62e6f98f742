package qmodel

import (
	"syscall"
	"testing"
	"time"

	"github.com/divellm/divellm/llm"
)

// cpuTime is the CPU time (user + system) this process has used so far, all threads.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDecode times one decode step of a GPT-2-small-shaped model (random weights) at
// position 64 in each format:
// GOEXPERIMENT=simd go test -bench Decode -run ^$ ./llm/quant/qmodel
//
// Besides ns/op (wall time) it reports best-ms (the fastest single step: on a shared
// machine, the step least disturbed by other processes) and cpu-ms (CPU time of the whole
// process per step, every thread: the work a step costs, whatever the load).
func BenchmarkDecode(b *testing.B) {
	c := llm.Config{Arch: llm.GPT, VocabSize: 50257, DModel: 768, Heads: 12, Layers: 12, DFF: 3072,
		MaxPos: 1024, LayerNormE: 1e-5, Activation: "gelu_new"}
	m, err := llm.New(c, llm.HeadSet{}, 1)
	if err != nil {
		b.Fatal(err)
	}
	prompt := make([]int, 64)
	for i := range prompt {
		prompt[i] = i
	}
	for _, f := range Formats {
		g, err := NewGPT(m, f)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(f), func(b *testing.B) {
			s, _ := g.NewSession(len(prompt) + 1)
			if _, err := s.Forward(prompt); err != nil {
				b.Fatal(err)
			}
			best := time.Duration(1 << 62)
			cpu0 := cpuTime()
			for b.Loop() {
				t0 := time.Now()
				s.pos = len(prompt) // decode the same position again
				if _, err := s.Forward([]int{7}); err != nil {
					b.Fatal(err)
				}
				best = min(best, time.Since(t0))
			}
			b.ReportMetric(float64(best.Microseconds())/1e3, "best-ms")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1e3/float64(b.N), "cpu-ms")
		})
	}
}
