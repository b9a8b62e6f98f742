package models

import (
	"fmt"

	"github.com/divellm/divellm/lessons/week1"
	"github.com/divellm/divellm/llm"
)

// AttentionFor runs m on sentence and returns its attention, [layer][head][query][key].
// BERT sees [CLS] sentence [SEP]; GPT the plain tokens.
func AttentionFor(m *llm.Model, sentence string) (*week1.AttentionMap, error) {
	run, err := runModel(m, sentence)
	if err != nil {
		return nil, fmt.Errorf("attention for %q: %w", sentence, err)
	}
	am := &week1.AttentionMap{Sentence: sentence, Causal: m.Config.Arch == llm.GPT, Tokens: run.labels, Spans: run.spans}
	for _, a := range run.out.Attentions {
		var layer [][][]float64
		for h := range a.Shape[1] {
			layer = append(layer, a.Matrix(0, h))
		}
		am.Weights = append(am.Weights, layer)
	}
	return am, nil
}
