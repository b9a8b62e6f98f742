package models

import (
	"fmt"

	"github.com/divellm/divellm/llm"
)

// PositionEmbeddings returns the first n rows of a model's learned position embeddings
// ([position][d_model]): GPT's wpe, BERT's position_embeddings.
func PositionEmbeddings(m *llm.Model, n int) ([][]float64, error) {
	name := "transformer.wpe.weight"
	if m.Config.Arch == llm.BERT {
		name = "bert.embeddings.position_embeddings.weight"
	}
	pos, err := matrix(m, name)
	if err != nil {
		return nil, err
	}
	if n <= 0 || n > len(pos) {
		return nil, fmt.Errorf("position embeddings: %d positions asked, the model has %d", n, len(pos))
	}
	return pos[:n], nil
}
