package week1

import (
	"math"
	"strings"
	"testing"

	"github.com/divellm/divellm/lessons/exercise"
)

func TestPermutationTest(t *testing.T) {
	r, err := PermutationTest(StorySentence, "银", 3)
	if err != nil {
		t.Fatal(err)
	}
	if r.Shuffled == r.Sentence || len([]rune(r.Shuffled)) != len([]rune(r.Sentence)) {
		t.Fatalf("shuffle %q", r.Shuffled)
	}
	// Same multiset of characters.
	for _, c := range r.Sentence {
		if strings.Count(r.Sentence, string(c)) != strings.Count(r.Shuffled, string(c)) {
			t.Fatalf("%q is not a shuffle of %q", r.Shuffled, r.Sentence)
		}
	}
	if r.NoPE > 1e-12 {
		t.Errorf("without positions the outputs should only move: max diff %g", r.NoPE)
	}
	if r.WithPE < 1e-2 {
		t.Errorf("with positions the outputs should change: max diff %g", r.WithPE)
	}
	for j := range r.NoPEOut[0] {
		if math.Abs(r.NoPEOut[0][j]-r.NoPEOut[1][j]) > 1e-12 {
			t.Errorf("银's output differs without positions: %v vs %v", r.NoPEOut[0], r.NoPEOut[1])
		}
	}
	if h, rows := r.Table(); len(rows) != 2 || len(rows[0]) != len(h) {
		t.Error("table")
	}
	if _, err := PermutationTest(StorySentence, "河", 1); err == nil {
		t.Error("a character not in the sentence should be an error")
	}
}

func TestCosineAndNeighbours(t *testing.T) {
	c := CosineMatrix([][]float64{{1, 0}, {1, 1}, {0, -2}})
	want := [][]float64{{1, 1 / math.Sqrt2, 0}, {1 / math.Sqrt2, 1, -1 / math.Sqrt2}, {0, -1 / math.Sqrt2, 1}}
	if d, _ := matDiff(want, c); d > 1e-12 {
		t.Errorf("cosine %v", c)
	}
	// The sinusoidal encoding is smooth: neighbours are more alike than distant positions.
	pe := PositionalEncoding(64, 32)
	if a, b := NeighbourSimilarity(pe, 1), NeighbourSimilarity(pe, 20); !(a > b) {
		t.Errorf("similarity at gap 1 %.3f, at gap 20 %.3f", a, b)
	}
	if PositionalEncodingView(8, 4).Err() != nil || PositionSimilarityView("t", pe).Err() != nil {
		t.Error("views")
	}
}

func TestCheckPositionalEncoding(t *testing.T) {
	if r := CheckPositionalEncoding(PositionalEncoding); !r.Passed() {
		t.Fatalf("reference rejected:\n%s", r)
	}
	if r := CheckPositionalEncoding(func(n, d int) [][]float64 { return nil }); r.Status != exercise.NotDone {
		t.Errorf("stub: %v", r.Status)
	}
	for kind, hint := range map[string]string{"swapped": "放反", "half-rate": "2i/d", "from-1": "从 0 开始"} {
		r := CheckPositionalEncoding(func(n, d int) [][]float64 { return peVariant(n, d, kind) })
		if r.Passed() || !strings.Contains(r.Hint, hint) {
			t.Errorf("%s: passed %v hint %q", kind, r.Passed(), r.Hint)
		}
	}
	if r := CheckPositionalEncoding(func(n, d int) [][]float64 { panic("x") }); r.Passed() || r.Status == exercise.NotDone {
		t.Errorf("panic: %v", r.Status)
	}
}
