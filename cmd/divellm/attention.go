package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/tokenizer"
)

func init() {
	register("attention", "attention probabilities of a model on a text: attention --model DIR [--json] [--layer N] TEXT", attentionCmd)
}

// attentionJSON is the output of `divellm attention --json`: the tokens the model saw and
// every (or one) layer's attention probabilities, attentions[layer][head][query][key].
type attentionJSON struct {
	Tokens     []tokenizer.Token `json:"tokens"`
	Attentions [][][][]float32   `json:"attentions"`
	Layers     []int             `json:"layers"`    // which model layer each attentions entry is
	Arch       string            `json:"arch"`      // "bert" or "gpt2"
	Truncated  bool              `json:"truncated"` // the text was cut to the model's positions
}

func attentionCmd(args []string, w io.Writer) error {
	fs := newFlags("attention")
	modelDir := fs.String("model", "", "checkpoint directory (config.json, model.safetensors, tokenizer files)")
	asJSON := fs.Bool("json", false, "print JSON {tokens, attentions[layer][head][q][k]}")
	layer := fs.Int("layer", -1, "only this layer (0-based; default all)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	text := strings.Join(rest, " ")
	if strings.TrimSpace(text) == "" {
		return usagef("usage: divellm attention --model DIR [--json] [--layer N] TEXT (the text is empty)")
	}
	m, err := loadModel(*modelDir)
	if err != nil {
		return err
	}
	if *layer < -1 || *layer >= m.Config.Layers {
		return usagef("--layer %d is outside the model's layers 0..%d", *layer, m.Config.Layers-1)
	}
	ids, toks, truncated := encodeForModel(m, text)
	if len(ids) == 0 {
		return usagef("the text gives no tokens")
	}
	out, err := m.Forward(llm.Batch{IDs: [][]int{ids}}, llm.ForwardOptions{Attentions: true})
	if err != nil {
		return err
	}
	res := attentionJSON{Tokens: toks, Arch: string(m.Config.Arch), Truncated: truncated}
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
	if *asJSON {
		return writeJSON(w, res)
	}
	printAttentionSummary(w, text, res)
	return nil
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

// ---- helpers shared by the model commands (attention, pretrain, generate, fill-mask, eval) ----

// loadModel loads a checkpoint directory given by --model; problems with the path or the
// files are usage errors.
func loadModel(dir string) (*llm.Model, error) {
	if dir == "" {
		return nil, usagef("--model DIR is required")
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, usagef("--model: %v", err)
	}
	if !st.IsDir() {
		return nil, usagef("--model %s is not a directory", dir)
	}
	m, err := llm.Load(dir)
	if err != nil {
		return nil, usagef("%v", err)
	}
	if m.Tokenizer == nil {
		return nil, usagef("--model %s has no tokenizer files (vocab.txt, vocab.json or tokenizer.json)", dir)
	}
	return m, nil
}

// readTextFile reads a UTF-8 text file; a missing, empty or non-UTF-8 file is a usage error.
func readTextFile(flagName, path string) (string, error) {
	if path == "" {
		return "", usagef("--%s FILE is required", flagName)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return "", usagef("--%s: %v", flagName, err)
		}
		return "", err
	}
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			off += n
		}
		return "", usagef("--%s %s is not UTF-8 text (invalid byte at offset %d)", flagName, filepath.Base(path), off)
	}
	if strings.TrimSpace(string(data)) == "" {
		return "", usagef("--%s %s is empty", flagName, path)
	}
	return string(data), nil
}

// jsonFloat is a float64 that is written as null when it is NaN or infinite (JSON has no
// NaN), e.g. a validation loss that was never measured.
type jsonFloat float64

// MarshalJSON writes the number, or null for NaN and ±Inf.
func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// writeJSON writes v as one line of JSON (no HTML escaping, so "<|endoftext|>" stays readable).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
