package models

import (
	"fmt"
	"math"

	"github.com/divellm/divellm/lessons/week1"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/attention"
)

// StepThroughModel recomputes head `head` of layer `layer` of a trained model in plain Go
// from the model's own weights: X is the input of that layer's attention (the layer's
// incoming hidden state, after ln_1 for GPT's pre-LN blocks), Wq/Wk/Wv are the head's slices
// of the projections, and the mask is causal for GPT. MaxDiff reports how far the plain-Go
// probabilities are from the attention the GoMLX model computed itself.
func StepThroughModel(m *llm.Model, sentence string, layer, head int) (*week1.Walkthrough, error) {
	c := m.Config
	if layer < 0 || layer >= c.Layers || head < 0 || head >= c.Heads {
		return nil, fmt.Errorf("step through: layer %d head %d outside %d layers × %d heads", layer, head, c.Layers, c.Heads)
	}
	run, err := runModel(m, sentence)
	if err != nil {
		return nil, err
	}
	return stepThroughRun(m, run, sentence, layer, head)
}

func stepThroughRun(m *llm.Model, run *modelRun, sentence string, layer, head int) (*week1.Walkthrough, error) {
	c := m.Config
	x := run.out.HiddenStates[layer].Matrix(0)
	var mask [][]bool
	if c.Arch == llm.GPT {
		pre := fmt.Sprintf("transformer.h.%d.ln_1.", layer)
		g, err := vector(m, pre+"weight")
		if err != nil {
			return nil, err
		}
		b, err := vector(m, pre+"bias")
		if err != nil {
			return nil, err
		}
		x = layerNorm(x, g, b, c.LayerNormE)
		mask = attention.CausalBoolMask(len(x))
	}
	w, err := headWeights(m, layer, head)
	if err != nil {
		return nil, err
	}
	st, err := attention.ReferenceHead(x, w, mask)
	if err != nil {
		return nil, err
	}
	model := run.out.Attentions[layer].Matrix(0, head)
	diff := 0.0
	for i := range model {
		for j := range model[i] {
			diff = max(diff, math.Abs(model[i][j]-st.Probs[i][j]))
		}
	}
	return &week1.Walkthrough{
		Sentence: sentence, Tokens: run.labels, Spans: run.spans,
		Source: fmt.Sprintf("%s 模型（%d 层 × %d 头，d_model=%d）：第 %d 层第 %d 个头 (layer %d, head %d)", archName(c.Arch), c.Layers, c.Heads, c.DModel, layer, head, layer, head),
		X:      x, W: w, Mask: mask, Steps: st, Layer: layer, Head: head, MaxDiff: diff,
	}, nil
}

// layerNorm normalises each row: (x − mean) / √(var + eps) · gain + bias.
func layerNorm(x [][]float64, gain, bias []float64, eps float64) [][]float64 {
	out := make([][]float64, len(x))
	for i, row := range x {
		mean, v := 0.0, 0.0
		for _, a := range row {
			mean += a / float64(len(row))
		}
		for _, a := range row {
			v += (a - mean) * (a - mean) / float64(len(row))
		}
		out[i] = make([]float64, len(row))
		for j, a := range row {
			out[i][j] = (a-mean)/math.Sqrt(v+eps)*gain[j] + bias[j]
		}
	}
	return out
}

// FindHead searches every layer and head of m for the one in which the tokens of `from`
// attend most to the tokens of `to` in sentence (e.g. from 银行 to 钓鱼 in a BERT; from 钓鱼
// to 银行 in a GPT, which cannot look ahead). It returns the best head and every head's
// score, strongest first.
func FindHead(m *llm.Model, sentence, from, to string) (best week1.Focus, all []week1.Focus, err error) {
	run, err := runModel(m, sentence)
	if err != nil {
		return best, nil, err
	}
	fp, err := week1.Positions(sentence, from, run.spans)
	if err != nil {
		return best, nil, fmt.Errorf("find head: %w", err)
	}
	tp, err := week1.Positions(sentence, to, run.spans)
	if err != nil {
		return best, nil, fmt.Errorf("find head: %w", err)
	}
	for l, a := range run.out.Attentions {
		for h := range m.Config.Heads {
			all = append(all, week1.Focus{Layer: l, Head: h, From: from, To: to, Weight: week1.FocusWeight(a.Matrix(0, h), fp, tp)})
		}
	}
	week1.SortFocus(all)
	return all[0], all, nil
}

// ContextShift measures how much the context changes a word's vector: it runs m on
// sentences a and b, which both contain word, and returns for each layer (0 = the
// embeddings, then after each block) the cosine similarity between the word's vectors
// (the mean over its tokens) in the two sentences. 1 means the other words had no effect.
// In a GPT the word cannot see what follows it, so text after the word changes nothing.
func ContextShift(m *llm.Model, a, b, word string) ([]float64, error) {
	vec := func(s string) ([][]float64, error) {
		run, err := runModel(m, s)
		if err != nil {
			return nil, err
		}
		pos, err := week1.Positions(s, word, run.spans)
		if err != nil {
			return nil, fmt.Errorf("context shift: %w", err)
		}
		var out [][]float64
		for _, h := range run.out.HiddenStates {
			mat := h.Matrix(0)
			v := make([]float64, len(mat[0]))
			for _, p := range pos {
				for j := range v {
					v[j] += mat[p][j] / float64(len(pos))
				}
			}
			out = append(out, v)
		}
		return out, nil
	}
	va, err := vec(a)
	if err != nil {
		return nil, err
	}
	vb, err := vec(b)
	if err != nil {
		return nil, err
	}
	sims := make([]float64, len(va))
	for l := range va {
		var dot, na, nb float64
		for j := range va[l] {
			dot += va[l][j] * vb[l][j]
			na += va[l][j] * va[l][j]
			nb += vb[l][j] * vb[l][j]
		}
		sims[l] = dot / math.Sqrt(na*nb)
	}
	return sims, nil
}
