package main

import (
	"io"
	"strings"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/pipeline"
	"github.com/divellm/divellm/llm/tokenizer"
)

func init() {
	register("fill-mask", "predict the [MASK] tokens of a text with a BERT model: fill-mask --model DIR [--top-k 5] TEXT", fillMaskCmd)
}

// fillMaskJSON is the output of `divellm fill-mask`.
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

func fillMaskCmd(args []string, w io.Writer) error {
	fs := newFlags("fill-mask")
	modelDir := fs.String("model", "", "BERT checkpoint directory (with an MLM head)")
	topK := fs.Int("top-k", 5, "candidates per [MASK]")
	fs.Bool("json", true, "accepted for symmetry: the output is always JSON")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	text := strings.Join(rest, " ")
	if strings.TrimSpace(text) == "" {
		return usagef("usage: divellm fill-mask --model DIR [--top-k 5] TEXT_WITH_[MASK] (the text is empty)")
	}
	if *topK <= 0 {
		return usagef("--top-k must be positive")
	}
	m, err := loadModel(*modelDir)
	if err != nil {
		return err
	}
	if m.Config.Arch != llm.BERT || !m.Heads().MLM {
		return usagef("--model %s is not a BERT model with a masked-LM head", *modelDir)
	}
	mask := m.Tokenizer.Specials().MASK
	if mask < 0 {
		return usagef("the model's tokenizer has no [MASK] token")
	}
	ids, toks := tokenizer.EncodeSingle(m.Tokenizer, text, m.Config.MaxPos)
	var positions []int
	for i, id := range ids {
		if id == mask {
			positions = append(positions, i)
		}
	}
	if len(positions) == 0 {
		return usagef("the text has no %s token (within the model's %d positions)", m.Tokenizer.IDToToken(mask), m.Config.MaxPos)
	}
	res, err := pipeline.FillMasks(m, text, *topK)
	if err != nil {
		return err
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
	return writeJSON(w, fillMaskJSON{Tokens: toks, Masks: preds, Filled: filled})
}
