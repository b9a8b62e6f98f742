package qmodel

import (
	"fmt"
	"slices"
	"time"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/sample"
)

// DecodeTiming is one measured greedy decode: the prompt, then tokens steps of one token
// each through the KV cache.
type DecodeTiming struct {
	Tokens  int       // tokens decoded after the prompt
	Seconds float64   // wall time of those steps
	StepMs  []float64 // each step's wall time, in order
	Bytes   int       // the decoder's weight bytes ([GPT.Bytes])
}

// TokensPerSecond is Tokens over Seconds.
func (d *DecodeTiming) TokensPerSecond() float64 { return float64(d.Tokens) / d.Seconds }

// MedianMs is the median step time in milliseconds.
func (d *DecodeTiming) MedianMs() float64 {
	s := slices.Clone(d.StepMs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return s[len(s)/2]
}

// TimeDecode builds the f-format decoder of m, runs prompt through it, then decodes tokens
// tokens greedily one at a time, timing each step (what `divellm bench quant --decode` and
// week 3's latency cells report).
func TimeDecode(m *llm.Model, f Format, prompt []int, tokens int) (*DecodeTiming, error) {
	if tokens <= 0 || len(prompt) == 0 || len(prompt)+tokens > m.Config.MaxPos {
		return nil, fmt.Errorf("qmodel: a %d-token prompt and %d new tokens do not fit %d positions", len(prompt), tokens, m.Config.MaxPos)
	}
	g, err := NewGPT(m, f)
	if err != nil {
		return nil, err
	}
	s, err := g.NewSession(len(prompt) + tokens)
	if err != nil {
		return nil, err
	}
	logits, err := s.Forward(prompt)
	if err != nil {
		return nil, err
	}
	V := m.Config.VocabSize
	next := sample.Argmax(logits[len(logits)-V:])
	d := &DecodeTiming{Tokens: tokens, Bytes: g.Bytes()}
	start := time.Now()
	for range tokens {
		t0 := time.Now()
		lg, err := s.Forward([]int{next})
		if err != nil {
			return nil, err
		}
		d.StepMs = append(d.StepMs, float64(time.Since(t0).Nanoseconds())/1e6)
		next = sample.Argmax(lg)
	}
	d.Seconds = time.Since(start).Seconds()
	return d, nil
}
