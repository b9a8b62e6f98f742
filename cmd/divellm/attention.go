package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/tokenizer"
)

func init() {
	define(&command{name: "attention", summary: "attention probabilities of a model on a text (each query's most-attended key, or all of them with --json)",
		usage: "--model MODEL [--layer N] TEXT", run: attentionCmd})
}

// attentionJSON is the output of `divellm attention --json`: the tokens the model saw and
// every (or one) layer's attention probabilities, attentions[layer][head][query][key].
type attentionJSON struct {
	Tokens     []tokenizer.Token `json:"tokens"`
	Attentions [][][][]float32   `json:"attentions"`
	Layers     []int             `json:"layers"`    // which model layer each attentions entry is
	Arch       string            `json:"arch"`      // "bert" or "gpt2"
	Truncated  bool              `json:"truncated"` // the text was cut to the model's positions

	text string // the input, for the text form's token labels
}

func (r attentionJSON) writeText(w io.Writer) error {
	printAttentionSummary(w, r.text, r)
	return nil
}

func attentionCmd(c *cmdCtx) (any, error) {
	model := c.String("model", "", modelUsage)
	textFlag := c.String("text", "", "the text to look at (or pass it as arguments)")
	layer := c.Int("layer", -1, -1, llm.MaxLayers-1, "only this layer (0-based; -1 = all)")
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	text, err := textInput("text", *textFlag, rest, "usage: divellm attention --model MODEL [--json] [--layer N] TEXT")
	if err != nil {
		return nil, err
	}
	m, err := loadModel(*model)
	if err != nil {
		return nil, err
	}
	if *layer >= m.Config.Layers {
		return nil, usagef("--layer %d is outside the model's layers 0..%d", *layer, m.Config.Layers-1)
	}
	ids, toks, truncated := encodeForModel(m, text)
	if len(ids) == 0 {
		return nil, usagef("the text gives no tokens")
	}
	out, err := m.Forward(llm.Batch{IDs: [][]int{ids}}, llm.ForwardOptions{Attentions: true})
	if err != nil {
		return nil, err
	}
	res := attentionJSON{Tokens: toks, Arch: string(m.Config.Arch), Truncated: truncated, text: text}
	for l, a := range out.Attentions {
		if *layer >= 0 && l != *layer {
			continue
		}
		heads := make([][][]float32, a.Shape[1])
		for h := range heads {
			heads[h] = make([][]float32, len(ids))
			for q := range heads[h] {
				heads[h][q] = append([]float32(nil), a.Row(0, h, q)...)
			}
		}
		res.Attentions = append(res.Attentions, heads)
		res.Layers = append(res.Layers, l)
	}
	return res, nil
}

// encodeForModel tokenizes text the way the model was trained: [CLS] text [SEP] for
// BERT, the plain tokens for GPT; cut to the model's positions.
func encodeForModel(m *llm.Model, text string) (ids []int, toks []tokenizer.Token, truncated bool) {
	if m.Config.Arch == llm.BERT {
		ids, toks = tokenizer.EncodeSingle(m.Tokenizer, text, m.Config.MaxPos)
		return ids, toks, len(m.Tokenizer.Encode(text))+2 > m.Config.MaxPos
	}
	toks = m.Tokenizer.Encode(text)
	if len(toks) > m.Config.MaxPos {
		toks, truncated = toks[:m.Config.MaxPos], true
	}
	return tokenizer.IDs(toks), toks, truncated
}

// printAttentionSummary writes, for each layer and head, which token every query
// attends to most (and with what probability). Tokens are shown as the text they cover
// (" the" rather than BPE's "Ġthe"), or as their vocabulary string for specials and
// byte pieces that are not whole characters.
func printAttentionSummary(w io.Writer, text string, r attentionJSON) {
	labels := make([]string, len(r.Tokens))
	for i, t := range r.Tokens {
		label := t.Text
		if t.Start >= 0 && t.End <= len(text) && utf8.ValidString(text[t.Start:t.End]) {
			label = text[t.Start:t.End]
		}
		labels[i] = tokenLabel(label)
	}
	fmt.Fprintf(w, "%d tokens: %s\n", len(labels), strings.Join(labels, " "))
	if r.Truncated {
		fmt.Fprintln(w, "(text truncated to the model's positions)")
	}
	fmt.Fprintln(w, "each entry: query → most-attended key (probability)")
	for i, heads := range r.Attentions {
		for h, rows := range heads {
			var parts []string
			for q, row := range rows {
				best := 0
				for k := range row {
					if row[k] > row[best] {
						best = k
					}
				}
				parts = append(parts, fmt.Sprintf("%s→%s %.2f", labels[q], labels[best], row[best]))
			}
			fmt.Fprintf(w, "layer %d head %d: %s\n", r.Layers[i], h, strings.Join(parts, " | "))
		}
	}
}

// tokenLabel makes a token printable on one line (newlines, tabs and spaces made visible).
func tokenLabel(s string) string {
	r := strings.NewReplacer("\n", `\n`, "\t", `\t`, "\r", `\r`, " ", "␣")
	return r.Replace(s)
}
