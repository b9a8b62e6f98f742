package models

import (
	"fmt"
	"math"
	"sort"

	"github.com/divellm/divellm/lessons/week1"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/attention"
)

// Axis legend of the shapes in this file: s sequence (tokens), m model width, f
// feed-forward width, v vocabulary.

// BlockStage is one intermediate value of a Transformer block computed in plain Go.
type BlockStage struct {
	Name  string      // what it is, Chinese first
	Shape string      // e.g. "[s=8, m=128]"
	Value [][]float64 // [s][…]
	Note  string      // the formula that made it
}

// RMS is the root mean square of the stage's values: how large the activations are.
func (s BlockStage) RMS() float64 { return rms(s.Value) }

// rms is √(mean of x²) over every entry.
func rms(x [][]float64) float64 {
	sum, n := 0.0, 0
	for _, r := range x {
		for _, v := range r {
			sum += v * v
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return math.Sqrt(sum / float64(n))
}

// BlockWalk is one block of a trained model recomputed in plain Go from its weights, stage
// by stage, on a sentence, with the model's own result beside it.
type BlockWalk struct {
	Arch    llm.Arch
	Layer   int
	Tokens  []string
	Stages  []BlockStage
	MaxDiff float64 // max |plain-Go block output − the model's hidden state after the block|
	// For the last layer: the output head (LM head for GPT, MLM head for BERT) recomputed
	// on the block's output, and how far its logits are from the model's.
	Head     []BlockStage
	HeadDiff float64
	Next     []week1.Candidate // GPT: the most likely next tokens after the sentence
}

func matAdd(a, b [][]float64) [][]float64 {
	out := make([][]float64, len(a))
	for i := range a {
		out[i] = make([]float64, len(a[i]))
		for j := range a[i] {
			out[i][j] = a[i][j] + b[i][j]
		}
	}
	return out
}

func addBias(x [][]float64, b []float64) [][]float64 {
	for i := range x {
		for j := range x[i] {
			x[i][j] += b[j]
		}
	}
	return x
}

// gelu applies the model's activation: "gelu" is x·Φ(x) with the exact erf, "gelu_new"
// (GPT-2) the tanh approximation 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func gelu(x [][]float64, exact bool) [][]float64 {
	out := make([][]float64, len(x))
	for i := range x {
		out[i] = make([]float64, len(x[i]))
		for j, v := range x[i] {
			if exact {
				out[i][j] = 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
			} else {
				out[i][j] = 0.5 * v * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(v+0.044715*v*v*v)))
			}
		}
	}
	return out
}

func shape(x [][]float64, names ...string) string {
	if len(x) == 0 {
		return "[]"
	}
	return fmt.Sprintf("[%s=%d, %s=%d]", names[0], len(x), names[1], len(x[0]))
}

// dense is x·W + b for a weight stored input-major ([in, out], GPT-2's Conv1D) or, when
// outIn, output-major ([out, in], Hugging Face's nn.Linear).
func dense(m *llm.Model, x [][]float64, prefix string, outIn bool) ([][]float64, error) {
	w, err := matrix(m, prefix+".weight")
	if err != nil {
		return nil, err
	}
	b, err := vector(m, prefix+".bias")
	if err != nil {
		return nil, err
	}
	if outIn {
		return addBias(attention.MatMulT(x, w), b), nil
	}
	return addBias(attention.MatMul(x, w), b), nil
}

func ln(m *llm.Model, x [][]float64, prefix string) ([][]float64, error) {
	g, err := vector(m, prefix+".weight")
	if err != nil {
		return nil, err
	}
	b, err := vector(m, prefix+".bias")
	if err != nil {
		return nil, err
	}
	return layerNorm(x, g, b, m.Config.LayerNormE), nil
}

// multiHead runs every head of one layer on q, k, v [s, m] (heads are column slices of
// width m/h) and concatenates their outputs: [s, m].
func multiHead(q, k, v [][]float64, heads int, mask [][]bool) ([][]float64, error) {
	s, mw := len(q), len(q[0])
	d := mw / heads
	out := make([][]float64, s)
	for i := range out {
		out[i] = make([]float64, mw)
	}
	cols := func(x [][]float64, h int) [][]float64 {
		r := make([][]float64, len(x))
		for i := range x {
			r[i] = x[i][h*d : (h+1)*d]
		}
		return r
	}
	for h := range heads {
		st, err := attention.Reference(cols(q, h), cols(k, h), cols(v, h), mask)
		if err != nil {
			return nil, err
		}
		for i := range st.Out {
			copy(out[i][h*d:], st.Out[i])
		}
	}
	return out, nil
}

// walkOps implements llm.BlockOps in plain Go on [token][feature] matrices, from the
// model's weights, and records every operation llm.Block asks of it, in order: the walk
// through the block is llm's only block definition, run step by step. A failed weight
// lookup is kept in err (BlockOps methods return no error) and the input passed on.
type walkOps struct {
	m      *llm.Model
	names  map[string]string // module → what the lesson calls it
	mask   [][]bool
	stages []BlockStage
	err    error
}

func (o *walkOps) record(name, note string, v [][]float64, axes ...string) [][]float64 {
	if len(axes) == 0 {
		axes = []string{"s", "m"}
	}
	o.stages = append(o.stages, BlockStage{Name: name, Shape: shape(v, axes...), Value: v, Note: note})
	return v
}

// LayerNorm implements llm.BlockOps.
func (o *walkOps) LayerNorm(x [][]float64, module string) [][]float64 {
	y, err := ln(o.m, x, module)
	if err != nil {
		o.err = err
		return x
	}
	return o.record(o.names[module], "每个 token 的向量减均值、除标准差，再乘 γ 加 β", y)
}

// Linear implements llm.BlockOps: x·W + b (GPT-2's Conv1D stores W as [in, out], BERT's
// nn.Linear as [out, in]).
func (o *walkOps) Linear(x [][]float64, module string) [][]float64 {
	y, err := dense(o.m, x, module, o.m.Config.Arch == llm.BERT)
	if err != nil {
		o.err = err
		return x
	}
	axes := []string{"s", "m"}
	if len(y[0]) != o.m.Config.DModel {
		axes = []string{"s", fmt.Sprintf("%d", len(y[0]))}
		if len(y[0]) == o.m.Config.DFF {
			axes[1] = "f"
		}
		if len(y[0]) == 3*o.m.Config.DModel {
			axes[1] = "3m"
		}
	}
	return o.record(o.names[module], "x·W + b", y, axes...)
}

// Act implements llm.BlockOps.
func (o *walkOps) Act(x [][]float64) [][]float64 {
	act := o.m.Config.Activation
	return o.record("激活 (activation) "+act, "逐元素的 GELU", gelu(x, act == "gelu"), "s", "f")
}

// Add implements llm.BlockOps.
func (o *walkOps) Add(x, y [][]float64) [][]float64 {
	return o.record("残差相加 (residual) x + f(x)", "把子层的结果加回残差流", matAdd(x, y))
}

// Dropout implements llm.BlockOps: identity outside training.
func (o *walkOps) Dropout(x [][]float64) [][]float64 { return x }

// SplitQKV implements llm.BlockOps.
func (o *walkOps) SplitQKV(qkv [][]float64) (q, k, v [][]float64) {
	m := o.m.Config.DModel
	part := func(i int) [][]float64 {
		r := make([][]float64, len(qkv))
		for t := range qkv {
			r[t] = qkv[t][i*m : (i+1)*m]
		}
		return r
	}
	return part(0), part(1), part(2)
}

// Attention implements llm.BlockOps: every head, concatenated.
func (o *walkOps) Attention(q, k, v [][]float64, layer int) [][]float64 {
	ctx, err := multiHead(q, k, v, o.m.Config.Heads, o.mask)
	if err != nil {
		o.err = err
		return q
	}
	note := "每个头 softmax(QKᵀ/√d)·V，双向，再按列拼起来"
	if o.mask != nil {
		note = "每个头 softmax(QKᵀ/√d + 因果掩码)·V，再按列拼起来"
	}
	return o.record(fmt.Sprintf("%d 个头的注意力 (attention, heads concatenated)", o.m.Config.Heads), note, ctx)
}

// CrossAttention implements llm.BlockOps. The walk runs GPT and BERT blocks, which have
// no cross-attention; an encoder-decoder's decoder block reports an error here.
func (o *walkOps) CrossAttention(q [][]float64, kModule, vModule string, layer int) [][]float64 {
	o.err = fmt.Errorf("block walk: block %d has cross-attention (an encoder-decoder), which the walk does not show", layer)
	return q
}

// stageNames labels block l's modules for the walk's table.
func stageNames(c llm.Config, l int) map[string]string {
	n := c.LayerNames(l)
	return map[string]string{
		n.LN1: "LayerNorm₁ (ln_1)", n.LN2: "LayerNorm₂ (ln_2)", n.QKV: "Q | K | V (c_attn)",
		n.Q: "Q (query)", n.K: "K (key)", n.V: "V (value)",
		n.AttnOut: "注意力输出投影 (attention output)", n.AttnLN: "LayerNorm (attention.output.LayerNorm)",
		n.FFNIn: "前馈网络升维 (FFN in)", n.FFNOut: "前馈网络降维 (FFN out)", n.FFNLN: "LayerNorm (output.LayerNorm)",
	}
}

// WalkBlock runs block `layer` of m on sentence through llm.Block — the one definition of
// a Transformer block in divellm, which the GoMLX graph runs too — with plain-Go operations
// that record every step, starting from the block's input (the model's hidden state before
// it), and compares the result with the model's hidden state after it. GPT's block is
// pre-LN, BERT's post-LN (see llm.Block). For the last layer it also recomputes the output
// head: GPT's final LayerNorm and tied LM head (logits = LN_f(x)·Eᵀ, E the token
// embeddings), BERT's MLM head (dense, GELU, LayerNorm, then ·Eᵀ + b).
func WalkBlock(m *llm.Model, sentence string, layer int) (*BlockWalk, error) {
	c := m.Config
	if layer < 0 || layer >= c.Layers {
		return nil, fmt.Errorf("walk block: layer %d outside 0..%d", layer, c.Layers-1)
	}
	run, err := runModel(m, sentence)
	if err != nil {
		return nil, err
	}
	x := run.out.HiddenStates[layer].Matrix(0)
	ops := &walkOps{m: m, names: stageNames(c, layer)}
	if c.Arch == llm.GPT {
		ops.mask = attention.CausalBoolMask(len(x))
	}
	ops.record("输入：上一层的输出 (block input)", "pre-LN 的残差流 / post-LN 已归一化的向量", x)
	out := llm.Block(c, llm.BlockOps[[][]float64](ops), x, layer)
	if ops.err != nil {
		return nil, fmt.Errorf("walk block: %w", ops.err)
	}
	w := &BlockWalk{Arch: c.Arch, Layer: layer, Tokens: run.labels, Stages: ops.stages}
	w.MaxDiff = maxAbsDiff(out, run.out.HiddenStates[layer+1].Matrix(0))
	if layer == c.Layers-1 && run.out.Logits != nil {
		if err := w.walkHead(m, out, run); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// walkHead recomputes the output head on the last block's output x.
func (w *BlockWalk) walkHead(m *llm.Model, x [][]float64, run *modelRun) error {
	c := m.Config
	var emb string
	var h [][]float64
	var err error
	if c.Arch == llm.GPT {
		emb = "transformer.wte.weight"
		if h, err = ln(m, x, "transformer.ln_f"); err != nil {
			return err
		}
		w.Head = append(w.Head, BlockStage{Name: "最后的 LayerNorm (ln_f)", Shape: shape(h, "s", "m"), Value: h, Note: "pre-LN 的模型在最后补一次归一化"})
	} else {
		emb = "bert.embeddings.word_embeddings.weight"
		if h, err = dense(m, x, "cls.predictions.transform.dense", true); err != nil {
			return err
		}
		if h, err = ln(m, gelu(h, c.Activation == "gelu"), "cls.predictions.transform.LayerNorm"); err != nil {
			return err
		}
		w.Head = append(w.Head, BlockStage{Name: "MLM 头的变换 (transform)", Shape: shape(h, "s", "m"), Value: h, Note: "LayerNorm(GELU(x·W + b))"})
	}
	e, err := matrix(m, emb)
	if err != nil {
		return err
	}
	logits := attention.MatMulT(h, e) // [s, v]: tied to the token embeddings
	note := "·Eᵀ：和词嵌入共用一张表 (tied embeddings)"
	if c.Arch == llm.BERT {
		b, err := vector(m, "cls.predictions.bias")
		if err != nil {
			return err
		}
		logits = addBias(logits, b)
		note += "，再加偏置 b"
	}
	w.Head = append(w.Head, BlockStage{Name: "输出 logits (LM head)", Shape: shape(logits, "s", "v"), Value: logits, Note: note})
	model := run.out.Logits
	for i := range logits {
		for j := range logits[i] {
			w.HeadDiff = math.Max(w.HeadDiff, math.Abs(logits[i][j]-float64(model.At(0, i, j))))
		}
	}
	if c.Arch == llm.GPT && m.Tokenizer != nil {
		last := logits[len(logits)-1]
		p := week1.Sampling{}.Probs(last)
		ids := make([]int, len(p))
		for i := range ids {
			ids[i] = i
		}
		sort.SliceStable(ids, func(a, b int) bool { return p[ids[a]] > p[ids[b]] })
		for _, id := range ids[:min(5, len(ids))] {
			w.Next = append(w.Next, week1.Candidate{Token: m.Tokenizer.IDToToken(id), Prob: p[id]})
		}
	}
	return nil
}

func maxAbsDiff(a, b [][]float64) float64 {
	d := 0.0
	for i := range a {
		for j := range a[i] {
			d = math.Max(d, math.Abs(a[i][j]-b[i][j]))
		}
	}
	return d
}

// Table lists the stages with their shapes and sizes (RMS), then the output head's.
func (w *BlockWalk) Table() (headers []string, rows [][]string) {
	for _, s := range append(append([]BlockStage(nil), w.Stages...), w.Head...) {
		rows = append(rows, []string{s.Name, s.Shape, fmt.Sprintf("%.3f", s.RMS()), s.Note})
	}
	return []string{"阶段 (stage)", "形状 (shape)", "大小 (RMS)", "怎么来的 (how)"}, rows
}

// ResidualRMS returns the size (RMS over tokens and features) of the hidden state entering
// each layer and leaving the last (index 0: the embeddings). In a pre-LN model (GPT) the
// residual stream is never normalised, so it can grow layer by layer; in a post-LN model
// (BERT) every block ends with a LayerNorm, so each layer's output has the size its γ, β
// give it.
func ResidualRMS(m *llm.Model, sentence string) ([]float64, error) {
	run, err := runModel(m, sentence)
	if err != nil {
		return nil, err
	}
	var out []float64
	for _, h := range run.out.HiddenStates {
		out = append(out, rms(h.Matrix(0)))
	}
	return out, nil
}
