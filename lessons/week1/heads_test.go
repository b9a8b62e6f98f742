package week1

import (
	"math"
	"testing"
)

// handMap builds an AttentionMap whose heads are known patterns.
func handMap(causal bool, tokens []string, sentence string, spans [][2]int, heads ...func(q, k int) float64) *AttentionMap {
	n := len(tokens)
	var layer [][][]float64
	for _, f := range heads {
		m := make([][]float64, n)
		for q := range m {
			m[q] = make([]float64, n)
			s := 0.0
			for k := range m[q] {
				if causal && k > q {
					continue
				}
				m[q][k] = f(q, k) + 1e-3
				s += m[q][k]
			}
			for k := range m[q] {
				m[q][k] /= s
			}
		}
		layer = append(layer, m)
	}
	return &AttentionMap{Sentence: sentence, Causal: causal, Tokens: tokens, Spans: spans, Weights: [][][][]float64{layer}}
}

func TestHeadReportFindsPlantedHeads(t *testing.T) {
	sentence := StorySentence
	var tokens []string
	var spans [][2]int
	tokens, spans = append(tokens, "[CLS]"), append(spans, [2]int{-1, -1})
	for i, r := range sentence {
		tokens, spans = append(tokens, string(r)), append(spans, [2]int{i, i + len(string(r))})
	}
	tokens, spans = append(tokens, "[SEP]"), append(spans, [2]int{-1, -1})
	is := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	n := len(tokens)
	am := handMap(false, tokens, sentence, spans,
		func(q, k int) float64 { return is(k == q-1) },         // head 0: previous
		func(q, k int) float64 { return is(k == 0) },           // head 1: [CLS]
		func(q, k int) float64 { return is(k == n-1) },         // head 2: [SEP]
		func(q, k int) float64 { return is(k == 7 || k == 8) }, // head 3: 钓鱼
		func(q, k int) float64 { return 1 },                    // head 4: uniform
	)
	r, err := HeadReport(am, "钓鱼")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{PatternPrevious: 0, PatternFirst: 1, PatternSep: 2, PatternFocus + " 钓鱼": 3}
	found := 0
	for _, s := range r.Top {
		if h, ok := want[s.Pattern]; ok {
			found++
			if s.Head != h || s.Layer != 0 || s.Lift() < 3 {
				t.Errorf("%s: head %d lift %.1f, want head %d", s.Pattern, s.Head, s.Lift(), h)
			}
		}
	}
	if found != len(want) {
		t.Errorf("patterns %v", r.Patterns)
	}
	// The uniform head scores its baseline for every pattern.
	for _, p := range r.Patterns {
		g := r.Scores[p]
		var uni float64
		for _, s := range r.Top {
			if s.Pattern == p {
				uni = s.Uniform
			}
		}
		if math.Abs(g[0][4]-uni) > 0.01 {
			t.Errorf("%s: uniform head scores %.3f, baseline %.3f", p, g[0][4], uni)
		}
	}
	h, rows := r.Table()
	if len(rows) != len(r.Top) || len(rows[0]) != len(h) {
		t.Error("table")
	}
	if _, err := HeadReport(am, "河边"); err == nil {
		t.Error("missing focus word should be an error")
	}
}

func TestHeadReportCausal(t *testing.T) {
	var tokens []string
	var spans [][2]int
	for i, r := range StorySentence {
		tokens, spans = append(tokens, string(r)), append(spans, [2]int{i, i + len(string(r))})
	}
	am := handMap(true, tokens, StorySentence, spans,
		func(q, k int) float64 { return 1 },
		func(q, k int) float64 { return map[bool]float64{true: 1}[k == 4 || k == 5] }, // 银行
	)
	r, err := HeadReport(am, "银行")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Patterns {
		if p == PatternSep {
			t.Error("GPT has no [SEP] pattern")
		}
	}
	for _, s := range r.Top {
		if s.Pattern == PatternFocus+" 银行" && (s.Head != 1 || s.Score < 0.9) {
			t.Errorf("focus head %+v", s)
		}
	}
	// Uniform causal attention on 银行 from 钓(6), 鱼(7): 2/7 and 2/8.
	if g := r.Scores[PatternFocus+" 银行"][0][0]; math.Abs(g-(2.0/7+2.0/8)/2) > 0.01 {
		t.Errorf("uniform focus score %.4f", g)
	}
}
