package qmodel

import (
	"testing"

	"github.com/divellm/divellm/llm"
)

// BenchmarkDecode times one decode step of a GPT-2-small-shaped model (random weights) at
// position 64 in each format:
// GOEXPERIMENT=simd go test -bench Decode -run ^$ ./llm/quant/qmodel
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
			for b.Loop() {
				s.pos = len(prompt) // decode the same position again
				if _, err := s.Forward([]int{7}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
