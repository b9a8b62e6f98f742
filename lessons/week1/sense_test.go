package week1

import (
	"strings"
	"testing"
)

// Every sentence the notebook analyses for word senses is held out, and each pair keeps
// the word at the same place after the same text.
func TestSenseTestsAreHeldOut(t *testing.T) {
	for _, st := range SenseTests() {
		for _, s := range st.Sentences() {
			if hits := FindInCorpus(s, 1); len(hits) > 0 {
				t.Errorf("%q is in the corpus (%s line %d): use a held-out sentence", s, hits[0].Split, hits[0].Line)
			}
			if strings.Count(s, st.Word) != 1 {
				t.Errorf("%q should contain %s once", s, st.Word)
			}
		}
		for _, p := range append([][2]string{st.Cross}, st.Controls...) {
			a, b := strings.Index(p[0], st.Word), strings.Index(p[1], st.Word)
			if a != b || p[0][:a] != p[1][:b] {
				t.Errorf("%q / %q: %s must follow the same text", p[0], p[1], st.Word)
			}
		}
	}
}

func TestSenseVerdict(t *testing.T) {
	st := SenseTests()[1]
	sep := SenseResult{Model: "BERT", Cross: []float64{1, 0.8}, Controls: [][]float64{{1, 0.95}, {1, 0.9}}}
	not := SenseResult{Model: "BERT", Cross: []float64{1, 0.9}, Controls: [][]float64{{1, 0.95}, {1, 0.9}}}
	blind := SenseResult{Model: "GPT", Cross: []float64{1, 1}, Controls: [][]float64{{1, 1}, {1, 1}}}
	if !sep.Separates(SenseMargin) || not.Separates(SenseMargin) || blind.Separates(SenseMargin) {
		t.Error("Separates")
	}
	for r, want := range map[*SenseResult]string{&sep: "分开了一些", &not: "没有区分", &blind: "看不到后面的字"} {
		if v := SenseVerdict(st, *r); !strings.Contains(v, want) {
			t.Errorf("verdict %q, want %q", v, want)
		}
	}
	h, rows := SenseTable(st, sep, blind)
	if len(h) != 1+2*3 || len(rows) != 2 || rows[1][1] != "0.800" || rows[0][0] != "0 (嵌入 embeddings)" {
		t.Errorf("table %v %v", h, rows)
	}
}
