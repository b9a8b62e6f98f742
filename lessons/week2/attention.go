package week2

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/divellm/divellm/lessons/data"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/tokenizer"
)

// AttentionShift compares how one alert is read before and after fine-tuning: the same
// text through the pretrained encoder and through the classifier.
type AttentionShift struct {
	Tokens []string
	// Before and After are [layer][query][key] attention, averaged over the heads.
	Before, After [][][]float64
	// CLSShift[l] is the total-variation distance between the [CLS] rows of layer l,
	// ½ Σ_k |after(k) − before(k)| ∈ [0, 1]: the share of [CLS]'s attention that moved.
	CLSShift []float64
	// CLSSpecial[l] is the share of [CLS]'s attention on [CLS] and [SEP] (before, after).
	CLSSpecialBefore, CLSSpecialAfter []float64
	// TopBefore and TopAfter are the tokens [CLS] attends to most in the last layer.
	TopBefore, TopAfter []TokenWeight
}

// TokenWeight is one token and the attention it receives.
type TokenWeight struct {
	Token  string
	Pos    int
	Weight float64
}

// headMean averages one sequence's attention over heads: [h, s, s] → [s, s].
func headMean(a *llm.Array, s int) [][]float64 {
	h := a.Shape[1]
	out := make([][]float64, s)
	for q := range s {
		out[q] = make([]float64, s)
		for hd := range h {
			row := a.Row(0, hd, q)
			for k := range s {
				out[q][k] += float64(row[k]) / float64(h)
			}
		}
	}
	return out
}

// attentionOf runs text through m and returns the tokens and the head-averaged attention
// of every layer.
func attentionOf(m *llm.Model, text string, maxLen int) ([]string, [][][]float64, error) {
	if m.Tokenizer == nil {
		return nil, nil, errors.New("the model has no tokenizer")
	}
	ids, toks := tokenizer.EncodeSingle(m.Tokenizer, text, min(maxLen, m.Config.MaxPos))
	out, err := m.Forward(llm.Batch{IDs: [][]int{ids}}, llm.ForwardOptions{Attentions: true, SkipLogits: true, NoBucket: true})
	if err != nil {
		return nil, nil, err
	}
	names := make([]string, len(toks))
	for i, t := range toks {
		names[i] = t.Text
	}
	var layers [][][]float64
	for _, a := range out.Attentions {
		layers = append(layers, headMean(a, len(ids)))
	}
	return names, layers, nil
}

// CompareAttention computes the [AttentionShift] of text between before (the pretrained
// encoder) and after (the fine-tuned classifier); both must share the tokenizer.
func CompareAttention(before, after *llm.Model, text string) (*AttentionShift, error) {
	tb, ab, err := attentionOf(before, text, MaxLen)
	if err != nil {
		return nil, err
	}
	ta, aa, err := attentionOf(after, text, MaxLen)
	if err != nil {
		return nil, err
	}
	if len(tb) != len(ta) || len(ab) != len(aa) {
		return nil, errors.New("the two models read the text differently")
	}
	s := &AttentionShift{Tokens: tb, Before: ab, After: aa}
	last := len(tb) - 1
	for l := range ab {
		d := 0.0
		for k := range ab[l][0] {
			d += math.Abs(aa[l][0][k] - ab[l][0][k])
		}
		s.CLSShift = append(s.CLSShift, d/2)
		s.CLSSpecialBefore = append(s.CLSSpecialBefore, ab[l][0][0]+ab[l][0][last])
		s.CLSSpecialAfter = append(s.CLSSpecialAfter, aa[l][0][0]+aa[l][0][last])
	}
	s.TopBefore = topTokens(tb, ab[len(ab)-1][0], 5)
	s.TopAfter = topTokens(ta, aa[len(aa)-1][0], 5)
	return s, nil
}

func topTokens(toks []string, w []float64, k int) []TokenWeight {
	out := make([]TokenWeight, len(w))
	for i := range w {
		out[i] = TokenWeight{Token: toks[i], Pos: i, Weight: w[i]}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Weight > out[j].Weight })
	return out[:min(k, len(out))]
}

// AttentionAlert is the alert the notebook's attention comparison uses: the first alert of
// the hard split's near_miss kind (a neighbouring class's words, ruled out by the line),
// where what [CLS] reads matters most.
func AttentionAlert() string {
	as, err := data.Alerts("hard")
	if err != nil {
		return "群里转发：fra-app-35，网络延迟正常，fra-app-35 的 CPU 使用率却到了 97%"
	}
	for _, a := range as {
		if a.Kind == "near_miss" {
			return a.Text
		}
	}
	return as[0].Text
}

// ShiftTable lists, per layer, the total-variation shift of the [CLS] row and the share of
// [CLS]'s attention on [CLS]/[SEP] before and after, then the tokens [CLS] reads most in
// the last layer.
func ShiftTable(s *AttentionShift) (headers []string, rows [][]string, err error) {
	headers = []string{"层 layer", "[CLS] 行的 TV", "落在 [CLS]/[SEP] 上：微调前", "微调后"}
	for l := range s.CLSShift {
		rows = append(rows, []string{fmt.Sprint(l + 1), fmt.Sprintf("%.3f", s.CLSShift[l]),
			fmt.Sprintf("%.1f%%", 100*s.CLSSpecialBefore[l]), fmt.Sprintf("%.1f%%", 100*s.CLSSpecialAfter[l])})
	}
	top := func(tw []TokenWeight) string {
		var parts []string
		for _, t := range tw {
			parts = append(parts, fmt.Sprintf("%s %.2f", t.Token, t.Weight))
		}
		return strings.Join(parts, "，")
	}
	rows = append(rows, []string{"最后一层 [CLS] 最关注：微调前", top(s.TopBefore), "", ""},
		[]string{"最后一层 [CLS] 最关注：微调后", top(s.TopAfter), "", ""})
	return headers, rows, nil
}
