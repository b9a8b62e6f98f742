package main

import (
	"fmt"
	"io"
	"strconv"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/pipeline"
	"github.com/divellm/divellm/llm/tokenizer"
)

func init() {
	define(&command{name: "fill-mask", summary: "predict the [MASK] tokens of a text with a BERT model",
		usage: "--model MODEL [--top-k 5] TEXT_WITH_[MASK]", run: fillMaskCmd})
}

// fillMaskJSON is the output of `divellm fill-mask --json`.
type fillMaskJSON struct {
	Tokens []tokenizer.Token `json:"tokens"`
	Masks  []maskPrediction  `json:"masks"`
	Filled string            `json:"filled"` // the text with every [MASK] replaced by its top candidate
}

// maskPrediction is the top candidates for one [MASK] position.
type maskPrediction struct {
	Position   int             `json:"position"` // token index in the encoded input
	Candidates []llm.Candidate `json:"candidates"`
}

// writeText prints the filled text, then one table of candidates per [MASK].
func (f fillMaskJSON) writeText(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "%s\n", f.Filled); err != nil {
		return err
	}
	for _, m := range f.Masks {
		fmt.Fprintf(w, "\n[MASK] at token %d:\n", m.Position)
		rows := [][]string{{"  #", "token", "id", "prob"}}
		for i, c := range m.Candidates {
			rows = append(rows, []string{"  " + strconv.Itoa(i+1), tokenLabel(c.Token), strconv.Itoa(c.ID), fmt.Sprintf("%.4f", c.Prob)})
		}
		if err := writeTable(w, rows, 2); err != nil {
			return err
		}
	}
	return nil
}

// maxTopK bounds the candidates a command lists (per [MASK], per question, …).
const maxTopK = 1000

// fillMaskIn is what both fill-mask commands read: a BERT model with an MLM head, a text
// with at least one [MASK], the candidates to list.
type fillMaskIn struct {
	m         *llm.Model
	text      string
	topK      int
	toks      []tokenizer.Token // [CLS] text [SEP]
	positions []int             // of the [MASK] tokens in toks
}

// fillMaskInput declares and parses the fill-mask flags and checks the model and text.
func fillMaskInput(c *cmdCtx, command, example string) (*fillMaskIn, error) {
	model := c.String("model", "", modelUsage+"; a BERT checkpoint with an MLM head ("+example+")")
	textFlag := c.String("text", "", "text with [MASK] tokens (or pass it as arguments)")
	topK := c.Int("top-k", 5, 1, maxTopK, "candidates per [MASK]")
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	text, err := textInput("text", *textFlag, rest, "usage: divellm "+command+" --model MODEL TEXT_WITH_[MASK]")
	if err != nil {
		return nil, err
	}
	m, err := loadModel(*model)
	if err != nil {
		return nil, err
	}
	if m.Config.Arch != llm.BERT || !m.Heads().MLM {
		return nil, usagef("--model %s is not a BERT model with a masked-LM head", *model)
	}
	toks, positions, err := maskPositions(m, text)
	if err != nil {
		return nil, err
	}
	return &fillMaskIn{m: m, text: text, topK: *topK, toks: toks, positions: positions}, nil
}

func fillMaskCmd(c *cmdCtx) (any, error) {
	in, err := fillMaskInput(c, "fill-mask", "e.g. bert-tiny-zh")
	if err != nil {
		return nil, err
	}
	m, text, toks, positions := in.m, in.text, in.toks, in.positions
	res, err := pipeline.FillMasks(m, text, in.topK)
	if err != nil {
		return nil, err
	}
	preds := make([]maskPrediction, len(res))
	for i, cands := range res {
		preds[i].Position = positions[i]
		for _, c := range cands {
			preds[i].Candidates = append(preds[i].Candidates, llm.Candidate{ID: c.Token, Token: m.Tokenizer.IDToToken(c.Token), Prob: c.Score})
		}
	}
	// Replace each [MASK] span (right to left, so earlier offsets stay valid).
	filled := text
	for i := len(preds) - 1; i >= 0; i-- {
		t := toks[preds[i].Position]
		if t.Start >= 0 && len(preds[i].Candidates) > 0 {
			filled = filled[:t.Start] + preds[i].Candidates[0].Token + filled[t.End:]
		}
	}
	return fillMaskJSON{Tokens: toks, Masks: preds, Filled: filled}, nil
}

// maskPositions encodes text as [CLS] text [SEP] within the model's positions and
// returns the positions of its [MASK] tokens; a text without one is a usage error.
func maskPositions(m *llm.Model, text string) ([]tokenizer.Token, []int, error) {
	mask := m.Tokenizer.Specials().MASK
	if mask < 0 {
		return nil, nil, usagef("the model's tokenizer has no [MASK] token")
	}
	ids, toks := tokenizer.EncodeSingle(m.Tokenizer, text, m.Config.MaxPos)
	var positions []int
	for i, id := range ids {
		if id == mask {
			positions = append(positions, i)
		}
	}
	if len(positions) == 0 {
		return nil, nil, usagef("the text has no %s token (within the model's %d positions)", m.Tokenizer.IDToToken(mask), m.Config.MaxPos)
	}
	return toks, positions, nil
}
