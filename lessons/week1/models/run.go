package models

import (
	"fmt"

	"github.com/divellm/divellm/lessons/week1"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/tokenizer"
)

// Encode tokenizes text the way the model was trained: BERT gets [CLS] text [SEP], GPT the
// plain tokens. It returns ids, labels (the covered text, or the special token's name)
// and byte spans.
func Encode(m *llm.Model, text string) (ids []int, labels []string, spans [][2]int, err error) {
	if m.Tokenizer == nil {
		return nil, nil, nil, fmt.Errorf("encode: the model has no tokenizer")
	}
	var toks []tokenizer.Token
	if m.Config.Arch == llm.BERT {
		ids, toks = tokenizer.EncodeSingle(m.Tokenizer, text, m.Config.MaxPos)
	} else {
		toks = m.Tokenizer.Encode(text)
		if len(toks) > m.Config.MaxPos {
			toks = toks[:m.Config.MaxPos]
		}
		ids = tokenizer.IDs(toks)
	}
	if len(ids) == 0 {
		return nil, nil, nil, fmt.Errorf("encode: %q gives no tokens", text)
	}
	for _, t := range toks {
		label := t.Text
		if t.Start >= 0 {
			label = week1.Readable(text[t.Start:t.End])
		}
		labels = append(labels, label)
		spans = append(spans, [2]int{t.Start, t.End})
	}
	return ids, labels, spans, nil
}

// modelRun is one forward pass with attentions and hidden states, and the tokens.
type modelRun struct {
	ids    []int
	labels []string
	spans  [][2]int
	out    *llm.Output
}

func runModel(m *llm.Model, text string) (*modelRun, error) {
	ids, labels, spans, err := Encode(m, text)
	if err != nil {
		return nil, err
	}
	out, err := m.Forward(llm.Batch{IDs: [][]int{ids}}, llm.ForwardOptions{Attentions: true, HiddenStates: true})
	if err != nil {
		return nil, err
	}
	return &modelRun{ids, labels, spans, out}, nil
}
