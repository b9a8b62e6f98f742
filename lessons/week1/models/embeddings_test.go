package models

import (
	"math"
	"testing"

	"github.com/divellm/divellm/lessons/week1"
	"github.com/divellm/divellm/llm"
)

func TestEmbeddingMap(t *testing.T) {
	tok := week1.CharZH()
	m, err := llm.New(llm.TinyGPT(tok.VocabSize()), llm.HeadSet{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	m.Tokenizer = tok
	// Plant structure: every digit's embedding gets the same large offset.
	emb, _ := m.Weights.Float32("transformer.wte.weight")
	shape := m.Weights.Shape("transformer.wte.weight")
	d := shape[1]
	for _, c := range "0123456789" {
		id, _ := tok.TokenToID(string(c))
		for j := range d {
			emb[id*d+j] += 0.5
		}
	}
	if err := m.Weights.Set("transformer.wte.weight", shape, emb); err != nil {
		t.Fatal(err)
	}
	groups := append(EmbeddingGroups(), EmbeddingGroup{"not in vocab", []string{"\U0001F600"}})
	r, err := EmbeddingMap(m, groups)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Skipped) != 1 || len(r.Points) == 0 {
		t.Fatalf("skipped %v, %d points", r.Skipped, len(r.Points))
	}
	// The planted offset is the direction of largest variance: digits separate on X.
	for _, p := range r.Points {
		if (p.Group == "数字 digits") != (p.X > 0) {
			t.Errorf("%s (%s) at x=%.3f", p.Char, p.Group, p.X)
		}
	}
	if r.Explained[0] < r.Explained[1] || r.Explained[0] < 0.2 {
		t.Errorf("explained %v", r.Explained)
	}
	pts, labels := r.XY()
	if len(pts) != len(labels) || labels[0] != "0" {
		t.Error("XY")
	}
	m.Tokenizer = nil
	if _, err := EmbeddingMap(m, nil); err == nil {
		t.Error("no tokenizer should be an error")
	}
}

func TestGroupSpreadFullAndPlane(t *testing.T) {
	r := &EmbeddingMapResult{
		Points:  []EmbeddingPoint{{Char: "a", Group: "A", X: 0, Y: 0}, {Char: "b", Group: "A", X: 0, Y: 3}, {Char: "c", Group: "B", X: 4, Y: 0}},
		Vectors: [][]float64{{0, 0, 0}, {0, 0, 1}, {10, 0, 0}},
	}
	// Full space: within = 1, between = (10 + √101)/2.
	if got, want := r.GroupSpread(), 1/((10+math.Sqrt(101))/2); math.Abs(got-want) > 1e-12 {
		t.Errorf("GroupSpread = %v, want %v", got, want)
	}
	// Plane: within = 3, between = (4 + 5)/2.
	if got, want := r.GroupSpread2D(), 3/4.5; math.Abs(got-want) > 1e-12 {
		t.Errorf("GroupSpread2D = %v, want %v", got, want)
	}
}
