package models

import (
	"fmt"

	"github.com/divellm/divellm/lessons/week1"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/tokenizer"
)

// NextToken runs a GPT model on prompt and returns its logits for the token after it.
func NextToken(m *llm.Model, prompt string) (*week1.NextToken, error) {
	if m.Config.Arch != llm.GPT || m.Tokenizer == nil {
		return nil, fmt.Errorf("next token: needs a GPT model with a tokenizer")
	}
	ids := tokenizer.IDs(m.Tokenizer.Encode(prompt))
	if len(ids) == 0 {
		return nil, fmt.Errorf("next token: %q gives no tokens", prompt)
	}
	out, err := m.Forward(llm.Batch{IDs: [][]int{ids}}, llm.ForwardOptions{})
	if err != nil {
		return nil, err
	}
	nt := &week1.NextToken{Prompt: prompt}
	for i, l := range out.Logits.Row(0, len(ids)-1) {
		nt.Logits = append(nt.Logits, float64(l))
		nt.Tokens = append(nt.Tokens, m.Tokenizer.IDToToken(i))
	}
	return nt, nil
}
