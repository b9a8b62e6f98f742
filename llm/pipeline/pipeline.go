package pipeline

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/sample"
	"github.com/divellm/divellm/llm/tokenizer"
)

// FillMaskResult is one candidate for a [MASK] token (transformers' fill-mask output).
type FillMaskResult struct {
	Score    float64 `json:"score"`     // softmax probability of the token at the [MASK]
	Token    int     `json:"token"`     // token id
	TokenStr string  `json:"token_str"` // the token decoded on its own
	Sequence string  `json:"sequence"`  // the input with this token in place of [MASK], decoded without special tokens
}

// Label is one class with its probability (transformers' text-classification output).
type Label struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// GeneratedText is one continuation (transformers' text-generation output).
type GeneratedText struct {
	GeneratedText string `json:"generated_text"` // prompt + continuation
}

// needTokenizer reports a model without tokenizer.
func needTokenizer(task string, m *llm.Model) error {
	if m == nil {
		return fmt.Errorf("%s: nil model", task)
	}
	if m.Tokenizer == nil {
		return fmt.Errorf("%s: the model has no tokenizer (vocab.txt, vocab.json+merges.txt or tokenizer.json)", task)
	}
	return nil
}

// FillMask predicts the single [MASK] token of text with a BERT model that has an MLM head
// and returns the topK most likely tokens (topK ≤ 0 means 5), best first. A text with
// several [MASK] tokens is an error; use [FillMasks].
func FillMask(m *llm.Model, text string, topK int) ([]FillMaskResult, error) {
	res, err := FillMasks(m, text, topK)
	if err != nil {
		return nil, err
	}
	if len(res) != 1 {
		return nil, fmt.Errorf("fill-mask: the text has %d mask tokens; FillMask takes one (use FillMasks)", len(res))
	}
	return res[0], nil
}

// FillMasks is [FillMask] for every [MASK] of the text: one list of candidates per mask,
// in text order. As in transformers, with several masks each sequence fills one mask and
// keeps the others (and the special tokens) visible.
func FillMasks(m *llm.Model, text string, topK int) ([][]FillMaskResult, error) {
	if err := needTokenizer("fill-mask", m); err != nil {
		return nil, err
	}
	if m.Config.Arch != llm.BERT || !m.Heads().MLM {
		return nil, fmt.Errorf("fill-mask: needs a BERT model with a masked-LM head (cls.predictions)")
	}
	if topK <= 0 {
		topK = 5
	}
	tok := m.Tokenizer
	maskID := tok.Specials().MASK
	if maskID < 0 {
		return nil, fmt.Errorf("fill-mask: the tokenizer has no [MASK] token")
	}
	ids, _ := tokenizer.EncodeSingle(tok, text, m.Config.MaxPos)
	var positions []int
	for i, id := range ids {
		if id == maskID {
			positions = append(positions, i)
		}
	}
	if len(positions) == 0 {
		return nil, fmt.Errorf("fill-mask: the text has no %s token (within the model's %d positions)", tok.IDToToken(maskID), m.Config.MaxPos)
	}
	out, err := forwardOne(m, ids, nil, true)
	if err != nil {
		return nil, fmt.Errorf("fill-mask: %w", err)
	}
	single := len(positions) == 1
	var all [][]FillMaskResult
	for _, pos := range positions {
		probs := sample.Probs(out.Logits.Row(0, pos))
		var res []FillMaskResult
		for _, id := range sample.TopK(probs, topK) {
			filled := append([]int(nil), ids...)
			filled[pos] = id
			var seq string
			if single {
				seq = decodeSkip(tok, filled)
			} else {
				seq = tok.Decode(filled)
			}
			res = append(res, FillMaskResult{Score: probs[id], Token: id, TokenStr: tok.Decode([]int{id}), Sequence: seq})
		}
		all = append(all, res)
	}
	return all, nil
}

// TextClassification classifies text with a sequence-classification model (BERT
// "classifier" head on the pooled [CLS], or GPT-2 "score" head on the last token) and
// returns every label with its probability, best first. [TextClassificationBatch] does
// many texts in one forward pass.
func TextClassification(m *llm.Model, text string) ([]Label, error) {
	res, err := TextClassificationBatch(m, []string{text})
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// labelName is config.json's id2label[i], or transformers' default "LABEL_i".
func labelName(c llm.Config, i int) string {
	if name, ok := c.ID2Label[strconv.Itoa(i)]; ok {
		return name
	}
	return "LABEL_" + strconv.Itoa(i)
}

// TextGeneration continues prompt with a GPT model (see [llm.GenerateOptions]; the zero
// value is greedy decoding of 32 tokens) and returns the prompt followed by the
// continuation, as transformers' text-generation pipeline does.
func TextGeneration(m *llm.Model, prompt string, o llm.GenerateOptions) ([]GeneratedText, error) {
	if err := needTokenizer("text-generation", m); err != nil {
		return nil, err
	}
	if m.Config.Arch != llm.GPT {
		return nil, fmt.Errorf("text-generation: needs a GPT model; %s is an encoder (use fill-mask)", m.Config.Arch)
	}
	tok := m.Tokenizer
	ids := tokenizer.IDs(tok.Encode(prompt)) // add_special_tokens=False
	if len(ids) == 0 {
		bos := tok.Specials().BOS
		if bos < 0 {
			return nil, fmt.Errorf("text-generation: empty prompt and the tokenizer has no BOS token")
		}
		ids = []int{bos}
	}
	if o.MaxTokens == 0 {
		o.MaxTokens = 32
	}
	if len(ids)+o.MaxTokens > m.Config.MaxPos {
		return nil, fmt.Errorf("text-generation: the prompt (%d tokens) + %d new tokens exceed the model's %d positions", len(ids), o.MaxTokens, m.Config.MaxPos)
	}
	res, err := m.GenerateIDs(ids, o)
	if err != nil {
		return nil, fmt.Errorf("text-generation: %w", err)
	}
	full := decodeSkip(tok, append(append([]int(nil), ids...), res.IDs...))
	head := decodeSkip(tok, ids)
	var text string
	if strings.HasPrefix(full, head) {
		text = prompt + full[len(head):]
	} else { // decoding merged across the boundary: fall back to decoding the new tokens
		text = prompt + decodeSkip(tok, res.IDs)
	}
	return []GeneratedText{{GeneratedText: text}}, nil
}

// FeatureExtraction returns the model's last hidden state for text, one vector per token
// (special tokens included, as transformers' feature-extraction pipeline): [tokens][hidden].
func FeatureExtraction(m *llm.Model, text string) ([][]float32, error) {
	if err := needTokenizer("feature-extraction", m); err != nil {
		return nil, err
	}
	ids, _ := tokenizer.EncodeSingle(m.Tokenizer, text, m.Config.MaxPos)
	if len(ids) == 0 {
		return nil, fmt.Errorf("feature-extraction: empty text")
	}
	out, err := forwardOne(m, ids, nil, false)
	if err != nil {
		return nil, fmt.Errorf("feature-extraction: %w", err)
	}
	feats := make([][]float32, len(ids))
	for i := range ids {
		feats[i] = append([]float32(nil), out.LastHidden.Row(0, i)...)
	}
	return feats, nil
}

// forwardOne runs one sequence (with optional token types); llm.Model.Forward pads it to
// its bucket and cuts the outputs back.
func forwardOne(m *llm.Model, ids, typeIDs []int, logits bool) (*llm.Output, error) {
	b := llm.Batch{IDs: [][]int{ids}}
	if typeIDs != nil && m.Config.Arch == llm.BERT {
		b.TypeIDs = [][]int{typeIDs}
	}
	return m.Forward(b, llm.ForwardOptions{SkipLogits: !logits})
}

// Bucket is llm.Bucket: the granularity of the lengths inputs are padded to.
const Bucket = llm.Bucket

// decodeSkip decodes ids without the special tokens (skip_special_tokens=True).
func decodeSkip(tok tokenizer.Tokenizer, ids []int) string {
	sp := tok.Specials()
	skip := map[int]bool{}
	for _, id := range []int{sp.PAD, sp.UNK, sp.CLS, sp.SEP, sp.MASK, sp.BOS, sp.EOS} {
		if id >= 0 {
			skip[id] = true
		}
	}
	kept := make([]int, 0, len(ids))
	for _, id := range ids {
		if !skip[id] {
			kept = append(kept, id)
		}
	}
	return tok.Decode(kept)
}
