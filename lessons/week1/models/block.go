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

// WalkBlock recomputes block `layer` of m in plain Go on sentence, from the block's input
// (the model's hidden state before it) and the block's weights, and compares the result
// with the model's hidden state after it. GPT's block is pre-LN:
//
//	a = LN₁(x);  x = x + Attn(a)·W_proj;  x = x + GELU(LN₂(x)·W_fc)·W_out
//
// BERT's is post-LN:
//
//	x = LN₁(x + Attn(x)·W_o);  x = LN₂(x + GELU(x·W_i)·W_out)
//
// For the last layer it also recomputes the output head: GPT's final LayerNorm and tied LM
// head (logits = LN_f(x)·Eᵀ, E the token embeddings), BERT's MLM head (dense, GELU,
// LayerNorm, then ·Eᵀ + b).
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
	w := &BlockWalk{Arch: c.Arch, Layer: layer, Tokens: run.labels}
	add := func(name string, v [][]float64, note string, axes ...string) {
		if len(axes) == 0 {
			axes = []string{"s", "m"}
		}
		w.Stages = append(w.Stages, BlockStage{Name: name, Shape: shape(v, axes...), Value: v, Note: note})
	}
	exact := c.Activation == "gelu"
	var out [][]float64
	if c.Arch == llm.GPT {
		p := fmt.Sprintf("transformer.h.%d.", layer)
		add("输入：残差流 (residual stream) x", x, "上一层的输出")
		a, err := ln(m, x, p+"ln_1")
		if err != nil {
			return nil, err
		}
		add("LayerNorm₁(x)", a, "每个 token 的向量减均值、除标准差，再乘 γ 加 β (pre-LN：先归一化再进注意力)")
		qkv, err := dense(m, a, p+"attn.c_attn", false)
		if err != nil {
			return nil, err
		}
		add("Q | K | V", qkv, "a·W_attn + b：一次算出 q、k、v", "s", "3m")
		mw := c.DModel
		split := func(part int) [][]float64 {
			r := make([][]float64, len(qkv))
			for i := range qkv {
				r[i] = qkv[i][part*mw : (part+1)*mw]
			}
			return r
		}
		ctx, err := multiHead(split(0), split(1), split(2), c.Heads, attention.CausalBoolMask(len(x)))
		if err != nil {
			return nil, err
		}
		add(fmt.Sprintf("%d 个头拼接 (concat heads)", c.Heads), ctx, "每个头 softmax(QKᵀ/√d + 因果掩码)·V，再按列拼起来")
		attn, err := dense(m, ctx, p+"attn.c_proj", false)
		if err != nil {
			return nil, err
		}
		add("注意力输出 (attention output)", attn, "拼接结果 ·W_proj + b")
		x1 := matAdd(x, attn)
		add("残差相加 (residual) x + attn", x1, "把注意力的结果加回残差流")
		f, err := ln(m, x1, p+"ln_2")
		if err != nil {
			return nil, err
		}
		add("LayerNorm₂", f, "再归一化一次，进前馈网络")
		hid, err := dense(m, f, p+"mlp.c_fc", false)
		if err != nil {
			return nil, err
		}
		hid = gelu(hid, exact)
		add("前馈隐藏层 (FFN hidden) GELU(·W_fc)", hid, fmt.Sprintf("升到 %d 维再过 GELU", c.DFF), "s", "f")
		ffn, err := dense(m, hid, p+"mlp.c_proj", false)
		if err != nil {
			return nil, err
		}
		add("前馈输出 (FFN output)", ffn, "降回 m 维")
		out = matAdd(x1, ffn)
		add("输出：残差相加 (block output)", out, "x + FFN：下一层的输入")
	} else {
		p := fmt.Sprintf("bert.encoder.layer.%d.", layer)
		add("输入 x (上一层的输出)", x, "post-LN：每层的输出都已归一化")
		q, err := dense(m, x, p+"attention.self.query", true)
		if err != nil {
			return nil, err
		}
		k, err := dense(m, x, p+"attention.self.key", true)
		if err != nil {
			return nil, err
		}
		v, err := dense(m, x, p+"attention.self.value", true)
		if err != nil {
			return nil, err
		}
		ctx, err := multiHead(q, k, v, c.Heads, nil)
		if err != nil {
			return nil, err
		}
		add(fmt.Sprintf("%d 个头拼接 (concat heads)", c.Heads), ctx, "每个头 softmax(QKᵀ/√d)·V，双向，没有掩码")
		attn, err := dense(m, ctx, p+"attention.output.dense", true)
		if err != nil {
			return nil, err
		}
		add("注意力输出 (attention output)", attn, "·W_o + b")
		x1, err := ln(m, matAdd(x, attn), p+"attention.output.LayerNorm")
		if err != nil {
			return nil, err
		}
		add("LayerNorm₁(x + attn)", x1, "post-LN：先残差相加，再归一化")
		hid, err := dense(m, x1, p+"intermediate.dense", true)
		if err != nil {
			return nil, err
		}
		hid = gelu(hid, exact)
		add("前馈隐藏层 (FFN hidden) GELU(·W_i)", hid, fmt.Sprintf("升到 %d 维再过 GELU", c.DFF), "s", "f")
		ffn, err := dense(m, hid, p+"output.dense", true)
		if err != nil {
			return nil, err
		}
		add("前馈输出 (FFN output)", ffn, "降回 m 维")
		out, err = ln(m, matAdd(x1, ffn), p+"output.LayerNorm")
		if err != nil {
			return nil, err
		}
		add("输出：LayerNorm₂(x + FFN) (block output)", out, "下一层的输入")
	}
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
