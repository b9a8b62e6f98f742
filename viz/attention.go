package viz

import (
	"errors"
	"fmt"
	"math"
)

// headNames returns "head 0", "head 1", ….
func headNames(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s %d", prefix, i)
	}
	return out
}

// checkMatrix checks m is len(tokens)×len(tokens) with finite entries, weights in [0,1]
// (up to rounding) if probs.
func checkMatrix(m [][]float64, T int, probs bool, what string) error {
	if len(m) != T {
		return fmt.Errorf("%s has %d query rows, want %d (one per token)", what, len(m), T)
	}
	for q, row := range m {
		if len(row) != T {
			return fmt.Errorf("%s row %d has %d keys, want %d (one per token)", what, q, len(row), T)
		}
		for k, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%s[%d][%d] is %v", what, q, k, v)
			}
			if probs && (v < -1e-6 || v > 1+1e-6) {
				return fmt.Errorf("%s[%d][%d] = %v is outside [0,1]: pass softmax probabilities", what, q, k, v)
			}
		}
	}
	return nil
}

// flatten appends the [q][k] matrices to dst, clamping probabilities into [0,1].
func flatten(dst []float64, m [][]float64) []float64 {
	for _, row := range m {
		for _, v := range row {
			dst = append(dst, math.Min(1, math.Max(0, v)))
		}
	}
	return dst
}

// overhead estimates the bytes of a chart output other than the packed data: bootstrap
// script, placeholder, tokens and names.
func overhead(tokens []string, names ...[]string) int {
	n := 1500
	for _, t := range tokens {
		n += 2*len(t) + 8 // JSON escaping can double a token (\u00xx covers 1-byte chars)
	}
	for _, ns := range names {
		for _, s := range ns {
			n += len(s) + 4
		}
	}
	return n
}

// Attention draws one layer's attention (bertviz's head view) as a query × key heatmap with
// the tokens on both axes; the legend selects a head (or the mean over heads) and hovering
// a cell shows its weight. weights is [head][query][key] softmax probabilities, each
// matrix len(tokens)×len(tokens). Cell and label sizes scale with the sentence length so a
// 60-character Chinese sentence stays readable (every label is shown).
func Attention(tokens []string, weights [][][]float64) *Chart {
	return layerChart("Attention", "attention", tokens, weights)
}

// AttentionLines draws the same data as Attention the way bertviz's head view does: the
// tokens in two columns (queries left, keys right) joined by lines whose opacity and width
// grow with the weight, one colour per head. Several heads can be shown at once (legend);
// hovering a token highlights its lines. Weights below 1% are not drawn.
func AttentionLines(tokens []string, weights [][][]float64) *Chart {
	return layerChart("AttentionLines", "lines", tokens, weights)
}

func layerChart(fn, kind string, tokens []string, weights [][][]float64) *Chart {
	T := len(tokens)
	if T == 0 {
		return errChart(fn, errors.New("no tokens"))
	}
	if len(weights) == 0 {
		return errChart(fn, errors.New("weights has no heads: want [head][query][key]"))
	}
	flat := make([]float64, 0, len(weights)*T*T)
	for h, m := range weights {
		if err := checkMatrix(m, T, true, fmt.Sprintf("weights[%d]", h)); err != nil {
			return errChart(fn, err)
		}
		flat = flatten(flat, m)
	}
	heads := headNames("head", len(weights))
	p, err := pack(flat, false, Budget-overhead(tokens, heads))
	if err != nil {
		return errChart(fn, err)
	}
	name := "attention"
	if kind == "lines" {
		name = "attention-lines"
	}
	return &Chart{name: name, spec: map[string]any{
		"kind": kind, "tokens": tokens, "heads": heads, "w": p,
	}}
}

// AttentionModel draws every layer and head (bertviz's model view): a grid of small
// query × key maps, layers down and heads across; clicking one opens it as a head view
// below. weights is [layer][head][query][key].
//
// The output stays within the per-chart budget: when all layers do not fit (bert-base's
// 12 × 12 heads at 60 tokens is ~500 KB), it shows the first layers that do and says so in
// the title; draw the others with [AttentionModelLayers].
func AttentionModel(tokens []string, weights [][][][]float64) *Chart {
	return attentionModel(tokens, weights, 0, len(weights), true)
}

// AttentionModelLayers is [AttentionModel] for layers from..to-1 only.
func AttentionModelLayers(tokens []string, weights [][][][]float64, from, to int) *Chart {
	if from < 0 || to > len(weights) || from >= to {
		return errChart("AttentionModelLayers", fmt.Errorf("layers %d..%d out of range [0, %d)", from, to, len(weights)))
	}
	return attentionModel(tokens, weights, from, to, false)
}

func attentionModel(tokens []string, weights [][][][]float64, from, to int, fit bool) *Chart {
	T := len(tokens)
	if T == 0 {
		return errChart("AttentionModel", errors.New("no tokens"))
	}
	if len(weights) == 0 || len(weights[0]) == 0 {
		return errChart("AttentionModel", errors.New("weights is empty: want [layer][head][query][key]"))
	}
	H := len(weights[0])
	for l, layer := range weights {
		if len(layer) != H {
			return errChart("AttentionModel", fmt.Errorf("layer %d has %d heads, layer 0 has %d", l, len(layer), H))
		}
	}
	heads := headNames("head", H)
	title := ""
	if fit {
		// One character per value is the densest packing (6 bits); keep the layers that fit.
		avail := Budget - overhead(tokens, heads, headNames("layer", len(weights)))
		if per := H * T * T; (to-from)*per > avail {
			to = from + max(1, avail/per)
			title = fmt.Sprintf("layers %d–%d of %d (AttentionModelLayers draws the others)", from, to-1, len(weights))
		}
	}
	flat := make([]float64, 0, (to-from)*H*T*T)
	layers := make([]string, 0, to-from)
	for l := from; l < to; l++ {
		for h, m := range weights[l] {
			if err := checkMatrix(m, T, true, fmt.Sprintf("weights[%d][%d]", l, h)); err != nil {
				return errChart("AttentionModel", err)
			}
			flat = flatten(flat, m)
		}
		layers = append(layers, fmt.Sprintf("layer %d", l))
	}
	p, err := pack(flat, false, Budget-overhead(tokens, heads, layers))
	if err != nil {
		return errChart("AttentionModel", err)
	}
	c := &Chart{name: "attention-model", spec: map[string]any{
		"kind": "model", "tokens": tokens, "heads": heads, "layers": layers, "w": p,
	}}
	if title != "" {
		c.Title(title)
	}
	return c
}

// NeuronScores returns the scaled dot products the neuron view shows for one query vector
// q against the key vectors k[key][dim]: s_j = q·k_j / √d.
func NeuronScores(q []float64, k [][]float64) ([]float64, error) {
	d := len(q)
	if d == 0 {
		return nil, errors.New("empty query vector")
	}
	scores := make([]float64, len(k))
	for j, kj := range k {
		if len(kj) != d {
			return nil, fmt.Errorf("key %d has %d dims, query has %d", j, len(kj), d)
		}
		s := 0.0
		for i := range q {
			s += q[i] * kj[i]
		}
		scores[j] = s / math.Sqrt(float64(d))
		if math.IsNaN(scores[j]) || math.IsInf(scores[j], 0) {
			return nil, fmt.Errorf("score for key %d is %v", j, scores[j])
		}
	}
	return scores, nil
}

// neuronTol is how far the given probabilities may be from the softmax of the unmasked
// scores: float32 models agree with a float64 recomputation to ~1e-6.
const neuronTol = 1e-3

// checkNeuronProbs checks that probs is the softmax of scores over the keys whose
// probability is not 0 (the keys the mask lets through), and returns which keys are
// masked.
func checkNeuronProbs(scores, probs []float64) (masked []bool, err error) {
	if len(probs) != len(scores) {
		return nil, fmt.Errorf("%d probabilities for %d keys", len(probs), len(scores))
	}
	masked = make([]bool, len(probs))
	mx, sum := math.Inf(-1), 0.0
	for j, p := range probs {
		if math.IsNaN(p) || p < 0 || p > 1+1e-6 {
			return nil, fmt.Errorf("probability %d is %v: pass the attention row (softmax output)", j, p)
		}
		masked[j] = p == 0
		if !masked[j] {
			mx = math.Max(mx, scores[j])
		}
		sum += p
	}
	if math.Abs(sum-1) > neuronTol {
		return nil, fmt.Errorf("probabilities sum to %.4g, not 1: pass one query's attention row", sum)
	}
	z := 0.0
	for j, s := range scores {
		if !masked[j] {
			z += math.Exp(s - mx)
		}
	}
	for j, s := range scores {
		if !masked[j] {
			if want := math.Exp(s-mx) / z; math.Abs(want-probs[j]) > neuronTol {
				return nil, fmt.Errorf("probability of key %d is %.4g but softmax(q·k/√d) over the visible keys gives %.4g: pass the same head's q, k and attention row", j, probs[j], want)
			}
		}
	}
	return masked, nil
}

// Neuron draws bertviz's neuron view for one query position: the query vector q (one
// head, d dims), every key vector k[key][dim], their elementwise product q∘k (whose sum is
// the score), the scaled scores q·k/√d and the attention row probs — the probabilities
// the model computed for this query, with its mask applied. The view draws probs as given,
// so it cannot disagree with the model: keys whose probability is 0 are drawn as masked
// (no score bar, "−∞" in the tooltip), and probs must be the softmax of the scores over the
// other keys (checked to 1e-3), which catches a row from another head or query. Colours
// are diverging (red negative, blue positive).
func Neuron(tokens []string, query int, q []float64, k [][]float64, probs []float64) *Chart {
	T := len(tokens)
	if query < 0 || query >= T {
		return errChart("Neuron", fmt.Errorf("query %d outside the %d tokens", query, T))
	}
	if len(k) != T {
		return errChart("Neuron", fmt.Errorf("%d key vectors for %d tokens", len(k), T))
	}
	scores, err := NeuronScores(q, k)
	if err != nil {
		return errChart("Neuron", err)
	}
	masked, err := checkNeuronProbs(scores, probs)
	if err != nil {
		return errChart("Neuron", err)
	}
	flatK := make([]float64, 0, T*len(q))
	for _, kj := range k {
		flatK = append(flatK, kj...)
	}
	budget := (Budget - overhead(tokens) - 24*2*T) / 2
	pq, err := pack(q, true, budget)
	if err != nil {
		return errChart("Neuron", fmt.Errorf("q: %w", err))
	}
	pk, err := pack(flatK, true, budget)
	if err != nil {
		return errChart("Neuron", fmt.Errorf("k: %w", err))
	}
	shown := make([]any, T) // masked scores are null: no bar
	for j, s := range round(scores, 6) {
		if !masked[j] {
			shown[j] = s
		}
	}
	return &Chart{name: "neuron", spec: map[string]any{
		"kind": "neuron", "tokens": tokens, "query": query, "dim": len(q),
		"q": pq, "k": pk, "scores": shown, "probs": round(probs, 6), "masked": masked,
	}}
}

// round rounds to n significant digits so the JSON stays short.
func round(v []float64, n int) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		if x == 0 {
			continue
		}
		e := math.Pow(10, float64(n)-math.Ceil(math.Log10(math.Abs(x))))
		out[i] = math.Round(x*e) / e
	}
	return out
}

// AttentionDiff compares two attention maps over the same tokens (two heads, two models,
// before/after fine-tuning): a and b side by side and, larger below, the difference a − b
// on a diverging scale (blue: a attends more, red: b attends more). a and b are
// [query][key] probabilities.
func AttentionDiff(tokens []string, a, b [][]float64, labelA, labelB string) *Chart {
	T := len(tokens)
	if T == 0 {
		return errChart("AttentionDiff", errors.New("no tokens"))
	}
	if err := checkMatrix(a, T, true, labelA); err != nil {
		return errChart("AttentionDiff", err)
	}
	if err := checkMatrix(b, T, true, labelB); err != nil {
		return errChart("AttentionDiff", err)
	}
	if labelA == "" {
		labelA = "a"
	}
	if labelB == "" {
		labelB = "b"
	}
	fa, fb := flatten(nil, a), flatten(nil, b)
	d := make([]float64, len(fa))
	for i := range d {
		d[i] = fa[i] - fb[i]
	}
	budget := (Budget - overhead(tokens, []string{labelA, labelB})) / 3
	pa, err := pack(fa, false, budget)
	if err != nil {
		return errChart("AttentionDiff", err)
	}
	pb, _ := pack(fb, false, budget)
	pd, _ := pack(d, true, budget)
	return &Chart{name: "attention-diff", spec: map[string]any{
		"kind": "diff", "tokens": tokens, "labelA": labelA, "labelB": labelB, "a": pa, "b": pb, "d": pd,
	}}
}
