package models

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/tokenizer"
	"github.com/divellm/divellm/viz"
)

// This file is the encoder-decoder's cross-attention: the weights of one decoded source,
// where each output character looks hardest, and how often it looks at the same character
// in the source (copy alignment).

// CrossAttentionMap is the cross-attention of one decoded source: for every token the
// decoder wrote (EOS last), its attention weights over the source tokens.
type CrossAttentionMap struct {
	Source []string        // the source characters (columns; a space is shown as ␣)
	Output []string        // the tokens the decoder wrote, then its EOS (rows)
	Layers [][][][]float64 // decoder layer × head × output × source
	srcIDs []int           // the source's token ids
	outIDs []int           // the output's token ids, EOS last
}

// CrossAttention decodes source greedily (at most maxTokens tokens) and returns the
// cross-attention weights of every decoder layer and head: row i is the step that wrote
// Output[i], read from the decoder input [start] + Output[:i].
func CrossAttention(m *llm.Model, source string, maxTokens int) (*CrossAttentionMap, error) {
	preds, err := GreedySeq2Seq(m, []string{source}, maxTokens)
	if err != nil {
		return nil, err
	}
	maps, err := crossAttentions(m, []string{source}, preds)
	if err != nil {
		return nil, err
	}
	return maps[0], nil
}

// crossAttentions runs the decoder on [start] + prediction for every source (teacher
// forcing with the model's own output, which is what greedy decoding computed step by
// step) and cuts each row's cross-attention to its real lengths.
func crossAttentions(m *llm.Model, sources, preds []string) ([]*CrossAttentionMap, error) {
	c := m.Config
	var src, dec [][]int
	maps := make([]*CrossAttentionMap, len(sources))
	for i, s := range sources {
		a := &CrossAttentionMap{srcIDs: tokenizer.IDs(m.Tokenizer.Encode(s))}
		a.outIDs = append(tokenizer.IDs(m.Tokenizer.Encode(preds[i])), c.EosID)
		if len(a.srcIDs) == 0 || len(a.srcIDs) > c.MaxPos || len(a.outIDs) > c.MaxPos {
			return nil, fmt.Errorf("cross-attention: %q → %q does not fit the model's %d positions", s, preds[i], c.MaxPos)
		}
		for _, id := range a.srcIDs {
			a.Source = append(a.Source, strings.ReplaceAll(m.Tokenizer.IDToToken(id), " ", "␣"))
		}
		for _, id := range a.outIDs {
			a.Output = append(a.Output, strings.ReplaceAll(m.Tokenizer.IDToToken(id), " ", "␣"))
		}
		src = append(src, a.srcIDs)
		dec = append(dec, append([]int{c.DecoderStartID}, a.outIDs[:len(a.outIDs)-1]...))
		maps[i] = a
	}
	b := llm.PadBatch(src, c.PadID)
	db := llm.PadBatch(dec, c.PadID)
	b.DecoderIDs, b.DecoderMask = db.IDs, db.Mask
	o, err := m.Forward(b, llm.ForwardOptions{Attentions: true})
	if err != nil {
		return nil, fmt.Errorf("cross-attention: %w", err)
	}
	for i, a := range maps {
		for _, x := range o.CrossAttentions { // [b, h, t, s]
			heads := make([][][]float64, x.Shape[1])
			for h := range heads {
				rows := make([][]float64, len(a.outIDs))
				for t := range rows {
					row := x.Row(i, h, t)[:len(a.srcIDs)]
					rows[t] = make([]float64, len(row))
					for j, v := range row {
						rows[t][j] = float64(v)
					}
				}
				heads[h] = rows
			}
			a.Layers = append(a.Layers, heads)
		}
	}
	return maps, nil
}

// Mean returns layer's weights averaged over the heads: output × source.
func (a *CrossAttentionMap) Mean(layer int) ([][]float64, error) {
	if layer < 0 || layer >= len(a.Layers) {
		return nil, fmt.Errorf("cross-attention: layer %d, the decoder has %d", layer, len(a.Layers))
	}
	heads := a.Layers[layer]
	out := make([][]float64, len(a.Output))
	for t := range out {
		out[t] = make([]float64, len(a.Source))
		for _, h := range heads {
			for j, v := range h[t] {
				out[t][j] += v / float64(len(heads))
			}
		}
	}
	return out, nil
}

// CrossFocus is where one output token looks hardest: the source token with the largest
// head-averaged weight.
type CrossFocus struct {
	Output string  // the output token
	Source string  // the source token it attends to most
	At     int     // that source token's position (0-based)
	Weight float64 // its weight
	Same   bool    // the two are the same character (a copy)
}

// Focus returns, for every output token, the source token with the largest head-averaged
// weight in layer.
func (a *CrossAttentionMap) Focus(layer int) ([]CrossFocus, error) {
	w, err := a.Mean(layer)
	if err != nil {
		return nil, err
	}
	out := make([]CrossFocus, len(w))
	for t, row := range w {
		j := argmax(row)
		out[t] = CrossFocus{Output: a.Output[t], Source: a.Source[j], At: j, Weight: row[j], Same: a.outIDs[t] == a.srcIDs[j]}
	}
	return out, nil
}

func argmax(xs []float64) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

// View draws layer's head-averaged cross-attention: one row per output token, one column
// per source token.
func (a *CrossAttentionMap) View(layer int) *viz.Chart {
	w, err := a.Mean(layer)
	if err != nil {
		return viz.Heatmap(nil, nil, nil) // carries the error as a chart that cannot be built
	}
	return viz.Heatmap(a.Output, a.Source, w).
		Title(fmt.Sprintf("交叉注意力 (cross-attention)：解码器第 %d 层，%d 个头的平均；行 = 输出字，列 = 输入字", layer+1, len(a.Layers[layer])))
}

// CopyShare is, for one class of output characters, how often a character that also
// occurs in the source attends most to a source position holding that same character.
type CopyShare struct {
	Class   string    // 数字 (digit), 字母 (letter), 汉字 (Chinese), 其他 (other), 全部 (all)
	Counted int       // output characters of the class that occur in their source
	Shares  []float64 // per decoder layer: the share whose strongest (head-averaged) weight is on the same character
}

// charClass names the class of r for [CopyShare].
func charClass(r rune) string {
	switch {
	case unicode.IsDigit(r):
		return "数字"
	case r < unicode.MaxASCII && unicode.IsLetter(r):
		return "字母"
	case unicode.Is(unicode.Han, r):
		return "汉字"
	}
	return "其他"
}

// CopyAlignment measures, over the first n test pairs' greedy outputs, how often an output
// character that also occurs in the source attends most (head-averaged, per decoder
// layer) to a source position holding that same character: one row per character class,
// then all classes together. The rows are kept in the run's cache entry (copy-N.json).
func (r *Seq2SeqRun) CopyAlignment(n int) ([]CopyShare, error) {
	n = min(max(n, 0), len(r.Eval.Predictions))
	path := ""
	if r.Dir != "" {
		path = filepath.Join(r.Dir, fmt.Sprintf("copy-%d.json", n))
		var rows []CopyShare
		if js, err := os.ReadFile(path); err == nil && json.Unmarshal(js, &rows) == nil && len(rows) > 0 {
			return rows, nil
		}
	}
	rows, err := r.copyAlignment(n)
	if err == nil && path != "" {
		if js, err := json.Marshal(rows); err == nil {
			_ = writeFileAtomic(path, js) // a cache that cannot be written is not an error
		}
	}
	return rows, err
}

func (r *Seq2SeqRun) copyAlignment(n int) ([]CopyShare, error) {
	ps := r.Eval.Predictions[:n]
	var srcs, preds []string
	for _, p := range ps {
		srcs, preds = append(srcs, p.Source), append(preds, p.Prediction)
	}
	maps, err := crossAttentions(r.Model, srcs, preds)
	if err != nil {
		return nil, err
	}
	layers := r.Model.Config.DecLayers
	classes := []string{"数字", "字母", "汉字", "其他", "全部"}
	counted := make([]int, len(classes))
	hits := make([][]int, len(classes))
	for k := range hits {
		hits[k] = make([]int, layers)
	}
	for i, a := range maps {
		focus := make([][]CrossFocus, layers)
		for l := range layers {
			if focus[l], err = a.Focus(l); err != nil {
				return nil, err
			}
		}
		out := []rune(preds[i])
		for t, id := range a.outIDs[:len(a.outIDs)-1] {
			if !slices.Contains(a.srcIDs, id) || t >= len(out) {
				continue
			}
			for _, k := range []int{slices.Index(classes, charClass(out[t])), len(classes) - 1} {
				counted[k]++
				for l := range layers {
					if focus[l][t].Same {
						hits[k][l]++
					}
				}
			}
		}
	}
	var rows []CopyShare
	for k, c := range classes {
		if counted[k] == 0 {
			continue
		}
		row := CopyShare{Class: c, Counted: counted[k]}
		for _, h := range hits[k] {
			row.Shares = append(row.Shares, float64(h)/float64(counted[k]))
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// CopyTable lays out [Seq2SeqRun.CopyAlignment]'s rows.
func CopyTable(rows []CopyShare) ([]string, [][]string) {
	headers := []string{"输出字的类别", "在输入中出现过的输出字数"}
	var out [][]string
	for i, r := range rows {
		line := []string{r.Class, fmt.Sprint(r.Counted)}
		for l, s := range r.Shares {
			if i == 0 {
				headers = append(headers, fmt.Sprintf("第 %d 层：最关注同一个字的比例", l+1))
			}
			line = append(line, fmt.Sprintf("%.0f%%", 100*s))
		}
		out = append(out, line)
	}
	return headers, out
}
