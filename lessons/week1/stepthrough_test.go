package week1

import (
	"math"
	"testing"

	"github.com/divellm/divellm/llm/attention"
)

func TestPositionalEncoding(t *testing.T) {
	pe := PositionalEncoding(3, 4)
	want := [][]float64{
		{0, 1, 0, 1},
		{math.Sin(1), math.Cos(1), math.Sin(0.01), math.Cos(0.01)},
		{math.Sin(2), math.Cos(2), math.Sin(0.02), math.Cos(0.02)},
	}
	if d, msg := matDiff(want, pe); msg != "" || d > 1e-12 {
		t.Fatalf("PE = %v, want %v", pe, want)
	}
}

func TestStepThrough(t *testing.T) {
	w, err := StepThrough(StorySentence, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.Tokens) != 8 || w.Tokens[4] != "银" || len(w.X[0]) != 8 || len(w.Steps.Q[0]) != 4 {
		t.Fatalf("tokens %v, X %dx%d", w.Tokens, len(w.X), len(w.X[0]))
	}
	// Independent recomputation: Q = X·Wq, softmax rows, Out = Probs·V.
	q := attention.MatMul(w.X, w.W.Wq)
	if d, _ := matDiff(q, w.Steps.Q); d > 1e-12 {
		t.Errorf("Q differs by %g", d)
	}
	for i, row := range w.Steps.Probs {
		s := 0.0
		for _, p := range row {
			s += p
		}
		if math.Abs(s-1) > 1e-12 {
			t.Errorf("row %d sums to %g", i, s)
		}
	}
	if d, _ := matDiff(attention.MatMul(w.Steps.Probs, w.Steps.V), w.Steps.Out); d > 1e-12 {
		t.Errorf("Out differs by %g", d)
	}
	// Deterministic per seed; the same character gets the same embedding (X − PE).
	w2, _ := StepThrough(StorySentence, 4, 1)
	w3, _ := StepThrough(StorySentence, 4, 2)
	if d, _ := matDiff(w.Steps.Probs, w2.Steps.Probs); d != 0 {
		t.Error("same seed, different result")
	}
	if d, _ := matDiff(w.Steps.Probs, w3.Steps.Probs); d == 0 {
		t.Error("different seeds, same result")
	}
	r, _ := StepThrough("天天", 2, 1)
	pe := PositionalEncoding(2, 4)
	for j := range 4 {
		if math.Abs((r.X[0][j]-pe[0][j])-(r.X[1][j]-pe[1][j])) > 1e-12 {
			t.Fatal("the same character got different embeddings")
		}
	}
	if _, err := StepThrough("", 4, 1); err == nil {
		t.Error("empty sentence should be an error")
	}
	if _, err := StepThrough("我", 0, 1); err == nil {
		t.Error("dHead 0 should be an error")
	}
}
