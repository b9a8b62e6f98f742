package week1

import (
	"fmt"

	"github.com/divellm/divellm/llm/attention"
)

// Mask is one attention mask: M[q][k] is true when query q may look at key k.
type Mask struct {
	Name       string
	Rows, Cols []string // query and key labels
	M          [][]bool
}

// Floats returns M as 1 (visible) and 0 (masked), the form a heatmap takes.
func (m Mask) Floats() [][]float64 {
	out := make([][]float64, len(m.M))
	for i, row := range m.M {
		out[i] = make([]float64, len(row))
		for j, ok := range row {
			if ok {
				out[i][j] = 1
			}
		}
	}
	return out
}

// Visible counts the true entries.
func (m Mask) Visible() int {
	n := 0
	for _, row := range m.M {
		for _, ok := range row {
			if ok {
				n++
			}
		}
	}
	return n
}

// EncoderMask is BERT's bidirectional mask: every token sees every token.
func EncoderMask(n int) [][]bool {
	m := make([][]bool, n)
	for i := range m {
		m[i] = make([]bool, n)
		for j := range m[i] {
			m[i][j] = true
		}
	}
	return m
}

// DecoderMask is GPT's causal mask: token i sees tokens 0..i (itself and the past).
func DecoderMask(n int) [][]bool { return attention.CausalBoolMask(n) }

// Masks returns the masks of the three architectures for a source sentence src and a
// target sentence tgt (given as tokens):
//
//   - encoder (BERT): src × src, all visible;
//   - decoder (GPT): tgt × tgt, causal;
//   - encoder-decoder (T5, BART): one (src+tgt) × (src+tgt) picture of the whole model —
//     the encoder's tokens see the whole source, the decoder's tokens see the whole source
//     (cross-attention) and the target up to themselves (causal self-attention); the
//     encoder never sees the target.
func Masks(src, tgt []string) ([]Mask, error) {
	if len(src) == 0 || len(tgt) == 0 {
		return nil, fmt.Errorf("masks: source and target need at least one token each")
	}
	n, t := len(src), len(tgt)
	all := append(append([]string(nil), src...), tgt...)
	ed := make([][]bool, n+t)
	for i := range ed {
		ed[i] = make([]bool, n+t)
		for j := range ed[i] {
			switch {
			case i < n: // encoder query: bidirectional over the source only
				ed[i][j] = j < n
			default: // decoder query: all of the source, the target up to itself
				ed[i][j] = j < n || j <= i
			}
		}
	}
	return []Mask{
		{Name: "encoder (BERT): bidirectional", Rows: src, Cols: src, M: EncoderMask(n)},
		{Name: "decoder (GPT): causal", Rows: tgt, Cols: tgt, M: DecoderMask(t)},
		{Name: "encoder-decoder (T5, BART): encoder | decoder", Rows: all, Cols: all, M: ed},
	}, nil
}

// MaskTable compares the three Transformer families: mask, pretraining objective,
// examples and what each is good at.
func MaskTable() (headers []string, rows [][]string) {
	return []string{"架构 (architecture)", "注意力掩码 (mask)", "预训练目标 (objective)", "代表模型", "擅长"},
		[][]string{
			{"encoder-only", "双向 (bidirectional)：每个 token 看整句", "MLM 完形填空 (+ NSP)", "BERT, RoBERTa, ERNIE", "理解：分类、NER、抽取式问答"},
			{"decoder-only", "因果 (causal)：只看自己和左边，下三角", "causal LM：预测下一个 token", "GPT-2/3/4, LLaMA, Qwen", "生成：续写、对话；规模够大时也能理解和推理"},
			{"encoder-decoder", "encoder 双向；decoder 因果 + cross-attention 看整个输入", "T5: span corruption；BART: 去噪 (denoising)", "T5, BART, mT5", "seq2seq：翻译、摘要、改写"},
		}
}
