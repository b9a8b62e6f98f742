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
//   - prefix LM: one (src+tgt) × (src+tgt) mask over a single stack, the source
//     bidirectional and the target causal: source tokens see the whole source and never the
//     target, target tokens see the whole source and the target up to themselves. This is
//     the visibility of an encoder-decoder drawn as one matrix, but one matrix is not an
//     encoder-decoder: T5 and BART have two stacks of weights, and the decoder reads the
//     encoder's final states through cross-attention, a separate attention with its own
//     Q (from the decoder) and K, V (from the encoder).
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
		{Name: "encoder (BERT)：双向 (bidirectional)", Rows: src, Cols: src, M: EncoderMask(n)},
		{Name: "decoder (GPT)：因果 (causal)", Rows: tgt, Cols: tgt, M: DecoderMask(t)},
		{Name: "前缀语言模型 (prefix-LM)：源句双向，目标句因果", Rows: all, Cols: all, M: ed},
	}, nil
}

// MaskTable compares the three Transformer families: mask, pretraining objective,
// examples and what each is good at.
func MaskTable() (headers []string, rows [][]string) {
	return []string{"架构 (architecture)", "结构 (structure)", "注意力掩码 (mask)", "预训练目标 (objective)", "代表模型", "擅长"},
		[][]string{
			{"encoder-only", "一个栈 (stack)；本仓库的 BERT 是 post-LN，带 MLM 头", "双向 (bidirectional)：每个 token 看整句", "MLM 完形填空 (+ NSP)", "BERT, RoBERTa, ERNIE", "理解：分类、NER、抽取式问答"},
			{"decoder-only", "一个栈；本仓库的 GPT 是 pre-LN，输出层与词嵌入共用 (tied)", "因果 (causal)：只看自己和左边，下三角", "causal LM：预测下一个 token", "GPT-2/3/4, LLaMA, Qwen", "生成：续写、对话；规模够大时也能理解和推理"},
			{"encoder-decoder", "两个栈：encoder 读源句，decoder 每层多一个交叉注意力 (cross-attention) 读 encoder 的输出", "encoder 双向；decoder 自注意力因果，交叉注意力看整个源句", "T5: span corruption；BART: 去噪 (denoising)", "T5, BART, mT5", "seq2seq：翻译、摘要、改写"},
		}
}
