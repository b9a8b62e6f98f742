package llm_test

import (
	"math/rand/v2"
	"testing"

	"github.com/divellm/divellm/llm"
)

// The benchmark model is the tiny GPT of `divellm bench train` and bench/torch_gpt.py:
// d_model 128, 4 heads, 4 layers, d_ff 512, vocab 3000, batches of 32 × 64 random tokens.
const (
	benchVocab = 3000
	benchBatch = 32
	benchSeq   = 64
)

func benchModel(b *testing.B) (*llm.Model, []int) {
	return benchModelOf(b, llm.TinyGPT(benchVocab))
}

// largeGPT is `divellm bench train --shape large`: d_model 256, 4 heads, 6 layers, d_ff 1024.
func largeGPT() llm.Config {
	c := llm.TinyGPT(benchVocab)
	c.DModel, c.Heads, c.Layers, c.DFF = 256, 4, 6, 1024
	return c
}

func benchModelOf(b *testing.B, c llm.Config) (*llm.Model, []int) {
	b.Helper()
	m, err := llm.New(c, llm.HeadSet{}, 1)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	stream := make([]int, 100_000)
	for i := range stream {
		stream[i] = r.IntN(benchVocab)
	}
	return m, stream
}

// BenchmarkTrainStep times one optimiser step (forward, backward, gradient clipping,
// AdamW) on a [32, 64] batch; the first two steps (graph compilation) are not timed.
// Run: GOEXPERIMENT=simd go test -run '^$' -bench TrainStep -benchtime 10x ./llm
func BenchmarkTrainStep(b *testing.B) {
	m, stream := benchModel(b)
	const warmup = 2
	_, err := m.Train(stream, nil, llm.TrainConfig{
		Steps: warmup + b.N, BatchSize: benchBatch, SeqLen: benchSeq, LR: 3e-4, Seed: 1, EvalEvery: warmup + b.N,
		Progress: func(p llm.Progress) {
			if p.Step == warmup {
				b.ResetTimer()
			}
		},
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N*benchBatch*benchSeq)/b.Elapsed().Seconds(), "tokens/s")
}

// BenchmarkForward times Model.Forward (logits for a [32, 64] batch, copied back to Go).
// Run: GOEXPERIMENT=simd go test -run '^$' -bench Forward -benchtime 10x ./llm
func BenchmarkForward(b *testing.B) {
	m, stream := benchModel(b)
	benchForward(b, m, stream, benchSeq)
}

// BenchmarkForwardLarge is BenchmarkForward on the large shape, [32, 128] batches.
// Run: GOEXPERIMENT=simd go test -run '^$' -bench ForwardLarge -benchtime 10x ./llm
func BenchmarkForwardLarge(b *testing.B) {
	m, stream := benchModelOf(b, largeGPT())
	benchForward(b, m, stream, 128)
}

func benchForward(b *testing.B, m *llm.Model, stream []int, seq int) {
	ids := make([][]int, benchBatch)
	for i := range ids {
		ids[i] = stream[i*seq : (i+1)*seq]
	}
	batch := llm.Batch{IDs: ids}
	for range 2 { // compile and warm up
		if _, err := m.Forward(batch, llm.ForwardOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		if _, err := m.Forward(batch, llm.ForwardOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*benchBatch*seq)/b.Elapsed().Seconds(), "tokens/s")
}
