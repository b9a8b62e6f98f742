package week1

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/attention"
	"github.com/divellm/divellm/llm/tokenizer"
)

// StorySentence is the week's example: 银行 is a bank until 钓鱼 (fishing) makes it a river
// bank. Attention is how the model lets 钓鱼 change what 银行 means.
const StorySentence = "我昨天去银行钓鱼"

// Walkthrough is one attention head computed step by step on a sentence.
type Walkthrough struct {
	Sentence string
	Tokens   []string              // one label per position
	Spans    [][2]int              // byte span of each token in Sentence ([-1,-1] for inserted specials)
	Source   string                // where X and the weights come from
	X        [][]float64           // [n, m] the head's input, one row per token
	W        attention.HeadWeights // Wq, Wk, Wv [m, d] and biases
	Mask     [][]bool              // nil: every token sees every token
	Steps    *attention.Steps      // Q, K, V, Scores, Scaled, Probs, Out
	Layer    int                   // -1 for the random walkthrough
	Head     int                   // -1 for the random walkthrough
	MaxDiff  float64               // model walkthroughs: max |Probs − the model's own attention|
}

// Rows returns the token labels (for heatmap rows and columns).
func (w *Walkthrough) Rows() []string { return w.Tokens }

// PositionalEncoding returns the sinusoidal position encoding of "Attention Is All You
// Need", [n][m]:
//
//	PE(pos, 2i) = sin(pos / 10000^(2i/m)),  PE(pos, 2i+1) = cos(pos / 10000^(2i/m))
func PositionalEncoding(n, m int) [][]float64 {
	pe := make([][]float64, n)
	for pos := range pe {
		pe[pos] = make([]float64, m)
		for i := 0; i < m; i += 2 {
			angle := float64(pos) / math.Pow(10000, float64(i)/float64(m))
			pe[pos][i] = math.Sin(angle)
			if i+1 < m {
				pe[pos][i+1] = math.Cos(angle)
			}
		}
	}
	return pe
}

// StepThrough builds a tiny, fully deterministic attention head on sentence so every
// number can be read: one token per character; X = token embedding + sinusoidal
// position (d_model = 2·dHead), where a character's embedding is drawn from a generator
// seeded by the character and seed (the same character always gets the same vector);
// Wq, Wk, Wv [d_model, dHead] are drawn from N(0, 1/d_model). No mask: every token
// sees the whole sentence, as in an encoder.
func StepThrough(sentence string, dHead int, seed uint64) (*Walkthrough, error) {
	if dHead < 1 || dHead > 64 {
		return nil, fmt.Errorf("step through: dHead %d, want 1..64", dHead)
	}
	var tokens []string
	var spans [][2]int
	for i, r := range sentence {
		tokens = append(tokens, string(r))
		spans = append(spans, [2]int{i, i + len(string(r))})
	}
	if len(tokens) == 0 {
		return nil, fmt.Errorf("step through: empty sentence")
	}
	m := 2 * dHead
	pe := PositionalEncoding(len(tokens), m)
	x := make([][]float64, len(tokens))
	for i, tok := range tokens {
		r := []rune(tok)[0]
		rng := rand.New(rand.NewPCG(seed, uint64(r)))
		x[i] = make([]float64, m)
		for j := range x[i] {
			x[i][j] = rng.NormFloat64() + pe[i][j]
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	w := attention.HeadWeights{
		Wq: randMat(rng, m, dHead, 1/math.Sqrt(float64(m))),
		Wk: randMat(rng, m, dHead, 1/math.Sqrt(float64(m))),
		Wv: randMat(rng, m, dHead, 1/math.Sqrt(float64(m))),
	}
	st, err := attention.ReferenceHead(x, w, nil)
	if err != nil {
		return nil, err
	}
	return &Walkthrough{
		Sentence: sentence, Tokens: tokens, Spans: spans,
		Source: fmt.Sprintf("random (seed %d): X = char embedding + sinusoidal position, d_model=%d, d_head=%d", seed, m, dHead),
		X:      x, W: w, Steps: st, Layer: -1, Head: -1,
	}, nil
}

// Encode tokenizes text the way the model was trained: BERT gets [CLS] text [SEP], GPT the
// plain tokens. It returns ids, labels (the covered text, or the special token's name)
// and byte spans.
func Encode(m *llm.Model, text string) (ids []int, labels []string, spans [][2]int, err error) {
	if m.Tokenizer == nil {
		return nil, nil, nil, fmt.Errorf("encode: the model has no tokenizer")
	}
	var toks []tokenizer.Token
	if m.Config.Arch == llm.BERT {
		ids, toks = tokenizer.EncodeSingle(m.Tokenizer, text, m.Config.MaxPos)
	} else {
		toks = m.Tokenizer.Encode(text)
		if len(toks) > m.Config.MaxPos {
			toks = toks[:m.Config.MaxPos]
		}
		ids = tokenizer.IDs(toks)
	}
	if len(ids) == 0 {
		return nil, nil, nil, fmt.Errorf("encode: %q gives no tokens", text)
	}
	for _, t := range toks {
		label := t.Text
		if t.Start >= 0 {
			label = Readable(text[t.Start:t.End])
		}
		labels = append(labels, label)
		spans = append(spans, [2]int{t.Start, t.End})
	}
	return ids, labels, spans, nil
}

// weight is a float32 copy of one of the model's tensors.
type weight struct {
	Shape []int
	Data  []float32
}

// getWeight copies one tensor of the model out of its weights.
func getWeight(m *llm.Model, name string) (*weight, error) {
	if !m.Weights.Has(name) {
		return nil, fmt.Errorf("step through: the model has no %s", name)
	}
	data, err := m.Weights.Float32(name)
	if err != nil {
		return nil, err
	}
	return &weight{Shape: m.Weights.Shape(name), Data: data}, nil
}

// headWeights extracts head h of layer l's Q/K/V projections as input-major [m, d] matrices.
func headWeights(m *llm.Model, l, h int) (attention.HeadWeights, error) {
	c := m.Config
	d, dm := c.HeadDim(), c.DModel
	var w attention.HeadWeights
	get := func(name string) (*weight, error) { return getWeight(m, name) }
	if c.Arch == llm.GPT {
		pre := fmt.Sprintf("transformer.h.%d.attn.c_attn.", l)
		wt, err := get(pre + "weight") // Conv1D [m, 3m]: columns q | k | v, head h at h·d
		if err != nil {
			return w, err
		}
		bs, err := get(pre + "bias")
		if err != nil {
			return w, err
		}
		slice := func(part int) ([][]float64, []float64) {
			mat := make([][]float64, dm)
			for i := range mat {
				mat[i] = make([]float64, d)
				for j := range d {
					mat[i][j] = float64(wt.Data[i*3*dm+part*dm+h*d+j])
				}
			}
			b := make([]float64, d)
			for j := range d {
				b[j] = float64(bs.Data[part*dm+h*d+j])
			}
			return mat, b
		}
		w.Wq, w.Bq = slice(0)
		w.Wk, w.Bk = slice(1)
		w.Wv, w.Bv = slice(2)
		return w, nil
	}
	pre := fmt.Sprintf("bert.encoder.layer.%d.attention.self.", l)
	lin := func(name string) ([][]float64, []float64, error) { // Linear [out, in] → [in, d]
		wt, err := get(pre + name + ".weight")
		if err != nil {
			return nil, nil, err
		}
		bs, err := get(pre + name + ".bias")
		if err != nil {
			return nil, nil, err
		}
		mat := make([][]float64, dm)
		for i := range mat {
			mat[i] = make([]float64, d)
			for j := range d {
				mat[i][j] = float64(wt.Data[(h*d+j)*dm+i])
			}
		}
		b := make([]float64, d)
		for j := range d {
			b[j] = float64(bs.Data[h*d+j])
		}
		return mat, b, nil
	}
	var err error
	if w.Wq, w.Bq, err = lin("query"); err != nil {
		return w, err
	}
	if w.Wk, w.Bk, err = lin("key"); err != nil {
		return w, err
	}
	w.Wv, w.Bv, err = lin("value")
	return w, err
}

// layerNorm normalises each row: (x − mean) / √(var + eps) · gain + bias.
func layerNorm(x [][]float64, gain, bias []float32, eps float64) [][]float64 {
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
			out[i][j] = (a-mean)/math.Sqrt(v+eps)*float64(gain[j]) + float64(bias[j])
		}
	}
	return out
}

// modelRun is one forward pass with attentions and hidden states, and the tokens.
type modelRun struct {
	ids    []int
	labels []string
	spans  [][2]int
	out    *llm.Output
}

func runModel(m *llm.Model, text string) (*modelRun, error) {
	ids, labels, spans, err := Encode(m, text)
	if err != nil {
		return nil, err
	}
	out, err := m.Forward(llm.Batch{IDs: [][]int{ids}}, llm.ForwardOptions{Attentions: true, HiddenStates: true})
	if err != nil {
		return nil, err
	}
	return &modelRun{ids, labels, spans, out}, nil
}

// StepThroughModel recomputes head `head` of layer `layer` of a trained model in plain Go
// from the model's own weights: X is the input of that layer's attention (the layer's
// incoming hidden state, after ln_1 for GPT's pre-LN blocks), Wq/Wk/Wv are the head's slices
// of the projections, and the mask is causal for GPT. MaxDiff reports how far the plain-Go
// probabilities are from the attention the GoMLX model computed itself.
func StepThroughModel(m *llm.Model, sentence string, layer, head int) (*Walkthrough, error) {
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

func stepThroughRun(m *llm.Model, run *modelRun, sentence string, layer, head int) (*Walkthrough, error) {
	c := m.Config
	x := run.out.HiddenStates[layer].Matrix(0)
	var mask [][]bool
	if c.Arch == llm.GPT {
		pre := fmt.Sprintf("transformer.h.%d.ln_1.", layer)
		g, err := getWeight(m, pre+"weight")
		if err != nil {
			return nil, err
		}
		b, err := getWeight(m, pre+"bias")
		if err != nil {
			return nil, err
		}
		x = layerNorm(x, g.Data, b.Data, c.LayerNormE)
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
	return &Walkthrough{
		Sentence: sentence, Tokens: run.labels, Spans: run.spans,
		Source: fmt.Sprintf("%s model (%d layers × %d heads, d_model=%d): layer %d, head %d", c.Arch, c.Layers, c.Heads, c.DModel, layer, head),
		X:      x, W: w, Mask: mask, Steps: st, Layer: layer, Head: head, MaxDiff: diff,
	}, nil
}

// positionsOf returns the token positions whose spans overlap the first occurrence of
// sub in text.
func positionsOf(text, sub string, spans [][2]int) ([]int, error) {
	at := strings.Index(text, sub)
	if sub == "" || at < 0 {
		return nil, fmt.Errorf("%q does not occur in %q", sub, text)
	}
	var pos []int
	for i, s := range spans {
		if s[0] >= 0 && s[0] < at+len(sub) && s[1] > at {
			pos = append(pos, i)
		}
	}
	return pos, nil
}

// Focus is how much the tokens of From attend to the tokens of To, in one head.
type Focus struct {
	Layer, Head int
	From, To    string
	Weight      float64 // mean over From's tokens of the attention mass on To's tokens
}

// FocusWeight is the attention mass that queries `from` put on keys `to` in probs [q][k].
func FocusWeight(probs [][]float64, from, to []int) float64 {
	var s float64
	for _, q := range from {
		for _, k := range to {
			s += probs[q][k]
		}
	}
	return s / float64(len(from))
}

// FindHead searches every layer and head of m for the one in which the tokens of `from`
// attend most to the tokens of `to` in sentence (e.g. from 银行 to 钓鱼 in a BERT; from 钓鱼
// to 银行 in a GPT, which cannot look ahead). It returns the best head and every head's
// score, strongest first.
func FindHead(m *llm.Model, sentence, from, to string) (best Focus, all []Focus, err error) {
	run, err := runModel(m, sentence)
	if err != nil {
		return best, nil, err
	}
	fp, err := positionsOf(sentence, from, run.spans)
	if err != nil {
		return best, nil, fmt.Errorf("find head: %w", err)
	}
	tp, err := positionsOf(sentence, to, run.spans)
	if err != nil {
		return best, nil, fmt.Errorf("find head: %w", err)
	}
	for l, a := range run.out.Attentions {
		for h := range m.Config.Heads {
			all = append(all, Focus{Layer: l, Head: h, From: from, To: to, Weight: FocusWeight(a.Matrix(0, h), fp, tp)})
		}
	}
	sortFocus(all)
	return all[0], all, nil
}

func sortFocus(fs []Focus) {
	for i := 1; i < len(fs); i++ { // insertion sort: stable and tiny
		for j := i; j > 0 && fs[j].Weight > fs[j-1].Weight; j-- {
			fs[j], fs[j-1] = fs[j-1], fs[j]
		}
	}
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
		pos, err := positionsOf(s, word, run.spans)
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
