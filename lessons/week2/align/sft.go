package align

import (
	"errors"
	"fmt"
	"math"

	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/sample"
	"github.com/divellm/divellm/llm/tokenizer"
)

// Ignore is the label of a position whose next token is not predicted (the prompt, the
// padding): llm's losses skip it, as PyTorch's cross-entropy skips −100.
const Ignore = -100

// Example is one SFT line: the prompt the model is given (问：question答：) and the answer
// it should continue with.
type Example struct {
	Prompt string `json:"prompt"`
	Answer string `json:"answer"`
}

// Pair is one preference pair: for the same prompt, a chosen (good) answer and a rejected
// (poor) one.
type Pair struct {
	Prompt   string `json:"prompt"`
	Chosen   string `json:"chosen"`
	Rejected string `json:"rejected"`
}

// FromSFT turns lessons/data SFT examples into Examples (prompt 问：question答：).
func FromSFT(es []data.SFTExample) []Example {
	out := make([]Example, len(es))
	for i, e := range es {
		out[i] = Example{Prompt: e.Prompt(), Answer: e.Answer}
	}
	return out
}

// FromDPO turns lessons/data preference pairs into Pairs.
func FromDPO(ps []data.PreferencePair) []Pair {
	out := make([]Pair, len(ps))
	for i, p := range ps {
		out[i] = Pair{Prompt: p.Prompt(), Chosen: p.Chosen, Rejected: p.Rejected}
	}
	return out
}

// AnswerLabels returns the SFT labels of a line ids = prompt tokens + answer tokens, whose
// first promptLen tokens are the prompt: labels[t] is the token the model must predict at
// position t, ids[t+1], when that token belongs to the answer, and Ignore otherwise (the
// prompt, and the last position, which has no next token). len(labels) == len(ids).
//
//	ids     问 ： 磁 盘 … 答 ： 先 用 … <eos>
//	labels  ·  ·  ·  ·  … ·  先 用 … <eos> ·
func AnswerLabels(ids []int, promptLen int) []int {
	labels := make([]int, len(ids))
	for t := range ids {
		labels[t] = Ignore
		if t+1 < len(ids) && t+1 >= promptLen {
			labels[t] = ids[t+1]
		}
	}
	return labels
}

// Encoded is one tokenized line: the ids of prompt + answer (+ EOS) and the answer labels.
type Encoded struct {
	IDs       []int
	PromptLen int
	Labels    []int
}

// Encode tokenizes prompt and answer with tok, appends the end-of-text token (when the
// tokenizer has one: the model learns to stop after the answer) and builds the labels.
// A line longer than maxLen tokens, an empty prompt or an empty answer is an error.
func Encode(tok tokenizer.Tokenizer, prompt, answer string, maxLen int) (Encoded, error) {
	if tok == nil {
		return Encoded{}, errors.New("the model has no tokenizer")
	}
	if prompt == "" {
		return Encoded{}, errors.New("empty prompt")
	}
	if answer == "" {
		return Encoded{}, errors.New("empty answer")
	}
	p := tokenizer.IDs(tok.Encode(prompt))
	a := tokenizer.IDs(tok.Encode(answer))
	if len(p) == 0 || len(a) == 0 {
		return Encoded{}, errors.New("the prompt or the answer has no tokens")
	}
	ids := append(append([]int{}, p...), a...)
	if eos := tok.Specials().EOS; eos >= 0 {
		ids = append(ids, eos)
	}
	if len(ids) > maxLen {
		return Encoded{}, fmt.Errorf("%d tokens, longer than the %d allowed", len(ids), maxLen)
	}
	return Encoded{IDs: ids, PromptLen: len(p), Labels: AnswerLabels(ids, len(p))}, nil
}

// bucketLen rounds n up to a multiple of llm.Bucket (at most limit): the trainer compiles
// one step per batch shape, so a few shapes keep compilation rare.
func bucketLen(n, limit int) int {
	b := (n + llm.Bucket - 1) / llm.Bucket * llm.Bucket
	return max(n, min(b, limit))
}

// Batch pads encoded lines into one TrainBatch (padding labelled Ignore), its length
// rounded up to a multiple of llm.Bucket but at most limit.
func Batch(rows []Encoded, padID, limit int) *llm.TrainBatch {
	n := 0
	for _, r := range rows {
		n = max(n, len(r.IDs))
	}
	n = bucketLen(n, limit)
	tb := &llm.TrainBatch{}
	for _, r := range rows {
		ids := make([]int, n)
		mask := make([]int, n)
		labels := make([]int, n)
		for t := range n {
			ids[t], labels[t] = padID, Ignore
			if t < len(r.IDs) {
				ids[t], mask[t], labels[t] = r.IDs[t], 1, r.Labels[t]
			}
		}
		tb.IDs = append(tb.IDs, ids)
		tb.Mask = append(tb.Mask, mask)
		tb.Labels = append(tb.Labels, labels)
	}
	return tb
}

// MaskedNLL is the SFT loss in plain Go from per-position logits: the mean of
// −log softmax(logits[t])[labels[t]] over the positions whose label is not Ignore, and how
// many there are. It is the reference the tests compare llm's CausalLM loss with.
func MaskedNLL(logits [][]float32, labels []int) (loss float64, count int) {
	sum := 0.0
	for t, y := range labels {
		if y == Ignore || t >= len(logits) {
			continue
		}
		sum += sample.NLL(logits[t], y)
		count++
	}
	if count == 0 {
		return math.NaN(), 0
	}
	return sum / float64(count), count
}

// TokenLogProbs runs the model on a batch and returns, per row, log p(labels[t]) at every
// labelled position (Ignore positions are left out): the numbers DPO sums. It reads the
// plain forward pass, independently of the training graph.
func TokenLogProbs(m *llm.Model, tb *llm.TrainBatch) ([][]float64, error) {
	out, err := m.Forward(tb.Batch, llm.ForwardOptions{})
	if err != nil {
		return nil, err
	}
	if out.Logits == nil {
		return nil, errors.New("the model has no language-model head")
	}
	res := make([][]float64, len(tb.IDs))
	for i, row := range tb.Labels {
		res[i] = []float64{}
		for t, y := range row {
			if y != Ignore {
				res[i] = append(res[i], -sample.NLL(out.Logits.Row(i, t), y))
			}
		}
	}
	return res, nil
}

// SeqLogProbs returns, per row of tb, log π(answer | prompt) = Σ_t log p(labels[t]).
func SeqLogProbs(m *llm.Model, tb *llm.TrainBatch) ([]float64, error) {
	tl, err := TokenLogProbs(m, tb)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(tl))
	for i, row := range tl {
		for _, v := range row {
			out[i] += v
		}
	}
	return out, nil
}
