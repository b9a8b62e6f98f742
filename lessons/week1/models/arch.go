package models

import (
	"fmt"

	"github.com/divellm/divellm/llm"
)

// ArchTable compares the shipped models' architectures, read from each model's config and
// weights: the differences between an encoder and a decoder go beyond the mask.
func ArchTable(ms ...*llm.Model) (headers []string, rows [][]string) {
	for _, m := range ms {
		c := m.Config
		mask, ln, head, tied := "", "", "", ""
		has := func(name string) bool { _, err := weight(m, name); return err == nil }
		if c.Arch == llm.GPT {
			mask = "因果 (causal)：看自己和左边"
			ln = "pre-LN：先 LayerNorm 再进注意力/FFN，残差流本身不归一化，最后补一个 ln_f"
			head = "LM 头：预测下一个 token"
			tied = "否 (no lm_head weight)：logits = x·Eᵀ，和词嵌入共用"
			if has("lm_head.weight") {
				tied = "有独立的 lm_head"
			}
		} else {
			mask = "双向 (bidirectional)：看整句"
			ln = "post-LN：残差相加之后再 LayerNorm，每层输出都是归一化的"
			head = "MLM 头：dense + GELU + LayerNorm，预测被遮住的 token"
			tied = "解码矩阵 = 词嵌入 (tied)，另加偏置"
			if !has("cls.predictions.bias") {
				head = "没有 MLM 头"
			}
		}
		params := paramCount(m)
		rows = append(rows, []string{archName(c.Arch), mask, ln, head, tied, c.Activation,
			fmt.Sprintf("%d 层 × %d 头，d_model=%d，FFN %d", c.Layers, c.Heads, c.DModel, c.DFF), fmt.Sprintf("%.2fM", float64(params)/1e6)})
	}
	return []string{"模型 (model)", "注意力掩码 (mask)", "LayerNorm 位置", "输出头 (head)", "输出层与词嵌入 (tying)", "激活 (activation)", "大小 (size)", "参数 (params)"}, rows
}
