package week1

import (
	"fmt"
	"math"
)

// SenseTest asks whether a model's vector for an ambiguous word follows its meaning: the
// word in two different senses (Cross), and the same sense with the neighbouring text
// changed about as much (Controls). If the model separates the senses, the cross pair's
// cosine similarity is lower than every control's; if the cross pair moves no more than a
// control, the vector follows the neighbouring characters, not the meaning.
type SenseTest struct {
	Word     string
	Senses   [2]string   // the two meanings, e.g. 水果 (fruit) and 手机品牌 (the brand)
	Cross    [2]string   // the word in sense 0, then in sense 1
	Controls [][2]string // the word in one sense twice, the text around it changed
}

// SenseTests are the week's genuinely ambiguous words. Every sentence is held out (no
// corpus line contains it; the tests check), and in each pair the word is at the same
// position with the same text before it, so only what follows differs: a decoder (GPT),
// which cannot see what follows, gives identical vectors, an encoder (BERT) need not.
func SenseTests() []SenseTest {
	return []SenseTest{
		{Word: "苹果", Senses: [2]string{"水果 (fruit)", "手机 (the Apple brand)"},
			Cross:    [2]string{"这个苹果很甜", "这个苹果很卡"},
			Controls: [][2]string{{"这个苹果很甜", "这个苹果很脆"}}},
		{Word: "打", Senses: [2]string{"打水 (fetch water)", "打车 (take a taxi)"},
			Cross:    [2]string{"我去楼下打水", "我去楼下打车"},
			Controls: [][2]string{{"我去楼下打水", "我去楼下打井水"}, {"我去楼下打车", "我去楼下打个车"}}},
	}
}

// Sentences lists the test's sentences, each once, in order.
func (t SenseTest) Sentences() []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range append([][2]string{t.Cross}, t.Controls...) {
		for _, s := range p {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// SenseResult is a SenseTest measured on one model: cosine similarities per layer (0 = the
// embeddings, then after each block), as ContextShift returns them.
type SenseResult struct {
	Model    string // e.g. "BERT"
	Cross    []float64
	Controls [][]float64
}

// Separates reports whether the model's last layer tells the senses apart: the cross
// pair's cosine is below every control's by more than margin.
func (r SenseResult) Separates(margin float64) bool {
	if len(r.Cross) == 0 {
		return false
	}
	last := r.Cross[len(r.Cross)-1]
	for _, c := range r.Controls {
		if last > c[len(c)-1]-margin {
			return false
		}
	}
	return true
}

// SenseMargin is how much lower the cross pair's cosine must be than every control's for
// [SenseResult.Separates].
const SenseMargin = 0.005

// SenseTable lays the results out one row per layer: for each model the cross pair's
// cosine, then each control's.
func SenseTable(t SenseTest, results ...SenseResult) (headers []string, rows [][]string) {
	headers = []string{"层 (layer)"}
	layers := 0
	for _, r := range results {
		headers = append(headers, fmt.Sprintf("%s 异义 (cross) %s｜%s", r.Model, t.Cross[0], t.Cross[1]))
		for _, c := range t.Controls {
			headers = append(headers, fmt.Sprintf("%s 同义 (control) %s｜%s", r.Model, c[0], c[1]))
		}
		layers = max(layers, len(r.Cross))
	}
	at := func(v []float64, l int) string {
		if len(v) == 0 {
			return ""
		}
		return fmt.Sprintf("%.3f", v[min(l, len(v)-1)])
	}
	for l := range layers {
		row := []string{layerName(l)}
		for _, r := range results {
			row = append(row, at(r.Cross, l))
			for _, c := range r.Controls {
				row = append(row, at(c, l))
			}
		}
		rows = append(rows, row)
	}
	return headers, rows
}

// SenseVerdict says in one line what the numbers show for one model.
func SenseVerdict(t SenseTest, r SenseResult) string {
	last := func(v []float64) float64 { return v[len(v)-1] }
	if len(r.Cross) == 0 {
		return r.Model + "：没有结果 (no result)"
	}
	if math.Abs(last(r.Cross)-1) < 1e-6 {
		return fmt.Sprintf("%s：“%s”的向量在两句里完全相同 (cos = 1)：它看不到后面的字 (it cannot see what follows)。", r.Model, t.Word)
	}
	ctl := ""
	for i, c := range r.Controls {
		if i > 0 {
			ctl += "、"
		}
		ctl += fmt.Sprintf("%.3f", last(c))
	}
	if r.Separates(SenseMargin) {
		return fmt.Sprintf("%s：异义对最后一层 cos = %.3f，低于同义对 (%s)：意思不同时，“%s”的向量变得更多——上下文把两个意思分开了一些 (the senses separate a little)。",
			r.Model, last(r.Cross), ctl, t.Word)
	}
	return fmt.Sprintf("%s：异义对最后一层 cos = %.3f，同义对 %s：意思变了，向量并没有变得比同义对更多——这个小模型的“%s”跟着后面的字变，没有区分两个意思 (no sense separation)。",
		r.Model, last(r.Cross), ctl, t.Word)
}

// layerName labels layer l of hidden states: 0 is the embeddings.
func layerName(l int) string {
	if l == 0 {
		return "0 (嵌入 embeddings)"
	}
	return fmt.Sprintf("%d", l)
}

// ShiftWords says in words how different two vectors with cosine similarity cos are, so
// the notebook's sentence about a number is computed from that number.
func ShiftWords(cos float64) string {
	switch {
	case cos >= 1-1e-6:
		return "完全相同 (identical)"
	case cos >= 0.99:
		return "几乎不变 (almost unchanged)"
	case cos >= 0.95:
		return "变化很小 (a small change)"
	case cos >= 0.8:
		return "明显不同 (a clear change)"
	}
	return "差别很大 (a large change)"
}
