package week1

import (
	"math"
	"strings"
	"testing"

	"github.com/divellm/divellm/llm/attention"
)

// Every view builds a chart without error from the lesson's own results.
func TestViewsBuild(t *testing.T) {
	rows, err := CompareTokenizers([]string{StorySentence})
	if err != nil {
		t.Fatal(err)
	}
	w, err := StepThrough(StorySentence, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	w.Mask = DecoderMask(len(w.Tokens)) // causal: Scaled holds −Inf
	if w.Steps, err = attention.ReferenceHead(w.X, w.W, w.Mask); err != nil {
		t.Fatal(err)
	}
	ms, _ := Masks([]string{"a", "b"}, []string{"c"})
	am := &AttentionMap{Sentence: StorySentence, Causal: true, Tokens: w.Tokens, Spans: w.Spans, Weights: [][][][]float64{{w.Steps.Probs}}}
	hr, err := HeadReport(am, "银行")
	if err != nil {
		t.Fatal(err)
	}
	charts := map[string]interface{ Err() error }{
		"tokens":    TokensView(rows),
		"attention": w.AttentionView(),
		"neuron":    w.NeuronView(w.Index("钓")),
		"mask":      MaskView(ms[2]),
		"pattern":   hr.PatternView(PatternPrevious),
	}
	charts["fill"] = FillView([]MaskFill{{Token: "超", Prob: 0.5}, {Token: "菜", Prob: 0.2}})
	if h, r := MatrixTable(w.Tokens, w.Steps.Q, "d"); len(h) != 1+len(w.Steps.Q[0]) || len(r) != len(w.Tokens) || r[0][0] != "我" {
		t.Errorf("matrix table %v %v", h, r)
	}
	for _, s := range []string{"X", "Q", "K", "V", "Scores", "Scaled", "Probs", "Out"} {
		charts["heatmap "+s] = w.Heatmap(s)
	}
	for name, c := range charts {
		if err := c.Err(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if w.Heatmap("nope").Err() == nil {
		t.Error("unknown stage should carry an error")
	}
	html := TableHTML([]string{"a", "b"}, [][]string{{"银行", "12.5 ms"}, {"-0.3", "x"}})
	if strings.Count(html, "text-align:left;vertical") != 2 || strings.Count(html, "text-align:right") != 2 ||
		strings.Index(html, "银行") > strings.Index(html, "text-align:right") {
		t.Errorf("alignment: %s", html)
	}
	f := finiteForDisplay([][]float64{{1, math.Inf(-1)}, {-2, 3}})
	if f[0][1] != -2 {
		t.Errorf("finiteForDisplay %v", f)
	}
	if w.Index("钓") != 6 || w.Index("河") != -1 {
		t.Error("Index")
	}
}
