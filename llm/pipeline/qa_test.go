package pipeline

import (
	"math"
	"testing"

	"github.com/divellm/divellm/llm/tokenizer"
)

// A hand-worked window: [CLS] q [SEP] c1 c2 c3 [SEP].
func TestBestSpansByHand(t *testing.T) {
	start := []float32{0, 5, 0, 1, 2, 0, 9}
	end := []float32{0, 7, 0, 0, 0, 3, 9}
	desired := []bool{true, false, false, true, true, true, false}
	e := math.E
	S := 2 + e + e*e // Σ exp over [CLS], c1, c2, c3 (question and [SEP] masked to −10000)
	T := 3 + e*e*e
	got := BestSpans(start, end, desired, 1, 15)
	want := e * e / S * e * e * e / T // p_start(c2) · p_end(c3)
	if len(got) != 1 || got[0].Start != 4 || got[0].End != 5 || math.Abs(got[0].Score-want) > 1e-6 {
		t.Fatalf("best span %+v, want (4, 5) with score %g", got, want)
	}
	// One-token answers only: (c3, c3) beats (c2, c2) since e³/(S·T) > e²/(S·T).
	got = BestSpans(start, end, desired, 1, 1)
	if got[0].Start != 5 || got[0].End != 5 || math.Abs(got[0].Score-e*e*e/(S*T)) > 1e-6 {
		t.Fatalf("max answer length 1: %+v", got)
	}
	// Top 3, best first, never a span with end < start or outside the context.
	got = BestSpans(start, end, desired, 3, 15)
	for i, sp := range got {
		if sp.End < sp.Start || !desired[sp.Start] || !desired[sp.End] || sp.Start == 0 {
			t.Errorf("span %d %+v is not a context span", i, sp)
		}
		if i > 0 && sp.Score > got[i-1].Score {
			t.Errorf("spans not sorted: %+v", got)
		}
	}
}

func TestWordIDsJoinWordPieces(t *testing.T) {
	tok, err := tokenizer.Load(hfDir + "/tiny-bert")
	if err != nil {
		t.Fatal(err)
	}
	toks := tok.Encode("bert tokenizer 我们")
	want := []int{0, 1, 1, 2, 3} // bert | token ##izer | 我 | 们
	got := wordIDs(tok, toks)
	if len(got) != len(want) {
		t.Fatalf("tokens %v", toks)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("word ids %v, want %v (tokens %v)", got, want, toks)
		}
	}
}

func TestAlignToWords(t *testing.T) {
	tok, err := tokenizer.Load(hfDir + "/tiny-bert")
	if err != nil {
		t.Fatal(err)
	}
	ctx := "我爱bert tokenizer吗"
	toks := tok.Encode(ctx) // 我 爱 bert token ##izer [UNK]
	words := wordIDs(tok, toks)
	for _, c := range []struct {
		lo, hi, ts, te int
		want           string
	}{
		{0, len(toks), 4, 4, "tokenizer"},       // a span starting at ##izer starts at "token"
		{0, len(toks), 1, 3, "爱bert tokenizer"}, // ending at "token" ends after ##izer
		{0, 4, 1, 3, "爱bert token"},             // ##izer outside the window: word cut there
		{0, len(toks), 5, 5, "吗"},
	} {
		s, e := alignToWords(toks, words, c.lo, c.hi, c.ts, c.te)
		if ctx[s:e] != c.want {
			t.Errorf("tokens %d..%d in window [%d,%d): %q, want %q (tokens %v)", c.ts, c.te, c.lo, c.hi, ctx[s:e], c.want, toks)
		}
	}
}

func TestRuneOffsets(t *testing.T) {
	s := "磁盘a已"
	r := runeOffsets(s)
	for byteOff, want := range map[int]int{0: 0, 3: 1, 6: 2, 7: 3, 10: 4} {
		if r[byteOff] != want {
			t.Errorf("byte %d → char %d, want %d", byteOff, r[byteOff], want)
		}
	}
}
