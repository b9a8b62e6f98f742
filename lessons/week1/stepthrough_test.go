package week1

import (
	"math"
	"testing"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/attention"
)

// smallModel is a random model with the corpus's char tokenizer, small enough to compile fast.
func smallModel(t *testing.T, arch llm.Arch) *llm.Model {
	t.Helper()
	tok := CharZH()
	c := llm.TinyGPT(tok.VocabSize())
	heads := llm.HeadSet{}
	if arch == llm.BERT {
		c = llm.TinyBERT(tok.VocabSize())
		heads.MLM = true
	}
	c.DModel, c.Heads, c.Layers, c.DFF, c.MaxPos = 32, 2, 2, 64, 64
	m, err := llm.New(c, heads, 7)
	if err != nil {
		t.Fatal(err)
	}
	m.Tokenizer = tok
	return m
}

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

// The plain-Go recomputation of a head from the model's weights matches the attention
// GoMLX computed in the forward pass, for both architectures and every layer.
func TestStepThroughModelMatchesForward(t *testing.T) {
	for _, arch := range []llm.Arch{llm.GPT, llm.BERT} {
		m := smallModel(t, arch)
		for l := range m.Config.Layers {
			w, err := StepThroughModel(m, StorySentence, l, 1)
			if err != nil {
				t.Fatal(err)
			}
			if w.MaxDiff > 1e-4 || math.IsNaN(w.MaxDiff) {
				t.Errorf("%s layer %d: plain Go differs from the model by %g", arch, l, w.MaxDiff)
			}
			n := 8
			if arch == llm.BERT {
				n = 10 // [CLS] … [SEP]
				if w.Tokens[0] != "[CLS]" || w.Mask != nil {
					t.Errorf("bert tokens %v", w.Tokens)
				}
			} else if w.Steps.Probs[0][1] != 0 {
				t.Error("GPT attention should be causal")
			}
			if len(w.Tokens) != n {
				t.Errorf("%s: %d tokens", arch, len(w.Tokens))
			}
		}
		if _, err := StepThroughModel(m, StorySentence, 5, 0); err == nil {
			t.Error("layer out of range should be an error")
		}
	}
}

func TestFindHead(t *testing.T) {
	m := smallModel(t, llm.BERT)
	best, all, err := FindHead(m, StorySentence, "银行", "钓鱼")
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4 || best != all[0] {
		t.Fatalf("%d heads, best %+v", len(all), best)
	}
	for i := 1; i < len(all); i++ {
		if all[i].Weight > all[i-1].Weight {
			t.Error("not sorted")
		}
	}
	// Recompute the best head's score: [CLS] 我昨天去 银(5)行(6) 钓(7)鱼(8) [SEP].
	w, _ := StepThroughModel(m, StorySentence, best.Layer, best.Head)
	p := w.Steps.Probs
	want := (p[5][7] + p[5][8] + p[6][7] + p[6][8]) / 2
	if math.Abs(best.Weight-want) > 1e-4 {
		t.Errorf("weight %g, want %g", best.Weight, want)
	}
	if _, _, err := FindHead(m, StorySentence, "河", "钓鱼"); err == nil {
		t.Error("a missing word should be an error")
	}
}

func TestContextShift(t *testing.T) {
	a, b := "我昨天去银行钓鱼", "我昨天去银行取钱"
	for _, arch := range []llm.Arch{llm.GPT, llm.BERT} {
		m := smallModel(t, arch)
		s, err := ContextShift(m, a, b, "银行")
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != m.Config.Layers+1 {
			t.Fatalf("%d similarities", len(s))
		}
		// Same characters at the same positions: identical embeddings.
		if math.Abs(s[0]-1) > 1e-6 {
			t.Errorf("%s: embeddings differ (cos %g)", arch, s[0])
		}
		last := s[len(s)-1]
		if arch == llm.GPT && math.Abs(last-1) > 1e-5 {
			t.Errorf("GPT: 银行 cannot see what follows, yet cos = %g", last)
		}
		if arch == llm.BERT && last > 1-1e-6 { // random weights mix little, but some
			t.Errorf("BERT: 银行 sees the whole sentence, yet cos = %g", last)
		}
	}
	if _, err := ContextShift(smallModel(t, llm.GPT), a, b, "河"); err == nil {
		t.Error("a missing word should be an error")
	}
}
