package qmodel

import (
	"fmt"
	"testing"

	"github.com/divellm/divellm/llm"
)

// BenchmarkForwardBatch times one decode step of B sequences (each at position 40) of a
// gpt-tiny-zh-shaped model with random weights, fp32 and int8, and reports tokens/s = B /
// step time: what continuous batching gains per step.
// GOEXPERIMENT=simd go test -bench ForwardBatch -run ^$ ./llm/quant/qmodel
func BenchmarkForwardBatch(b *testing.B) {
	c := llm.Config{Arch: llm.GPT, VocabSize: 1405, DModel: 128, Heads: 4, Layers: 4, DFF: 512,
		MaxPos: 128, LayerNormE: 1e-5, Activation: "gelu_new"}
	m, err := llm.New(c, llm.HeadSet{}, 1)
	if err != nil {
		b.Fatal(err)
	}
	for _, f := range []Format{F32, Int8} {
		g, err := NewGPT(m, f)
		if err != nil {
			b.Fatal(err)
		}
		for _, bs := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("%s/B%d", f, bs), func(b *testing.B) {
				steps := make([]Step, bs)
				for i := range steps {
					s, _ := g.NewSession(c.MaxPos)
					prompt := make([]int, 40)
					for j := range prompt {
						prompt[j] = 5 + (i+j)%200
					}
					if _, err := s.Forward(prompt); err != nil {
						b.Fatal(err)
					}
					steps[i] = Step{Session: s, Tokens: []int{7}}
				}
				for b.Loop() {
					for _, st := range steps {
						st.Session.pos = 40 // decode the same position again
					}
					if _, err := g.ForwardBatch(steps, true); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(bs*b.N)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}
