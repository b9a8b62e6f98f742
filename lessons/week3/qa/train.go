package qa

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/pipeline"
	"github.com/divellm/divellm/llm/tokenizer"
)

// Feature is one training input: a window "[CLS] question [SEP] context-part [SEP]"
// (the same windows the pipeline reads, see pipeline.QAWindows) and the answer's first
// and last token in it — both 0 ([CLS]) when the answer is not inside this window, as
// Hugging Face's run_qa does.
type Feature struct {
	IDs, TypeIDs []int
	Start, End   int
	Example      int // index of the example in the list given to Features
}

// Options are the fine-tuning settings of [Train]. Zero values take the defaults noted.
type Options struct {
	Epochs    int     // passes over the training features (default 4)
	LR        float64 // peak learning rate (default 5e-4), linear warm-up then cosine decay
	BatchSize int     // windows per step (default 32)
	MaxLen    int     // tokens per window, question and specials included (default: the model's positions)
	Stride    int     // context tokens shared by consecutive windows of a long context (default MaxLen/4)
	Seed      uint64  // seeds the QA head, the shuffling and the augmentation (default 1)

	// ASCIIQuestionMark is the share of training questions whose final full-width "？"
	// is written as an ASCII "?" (default 0.25; < 0 disables). The character-level
	// vocabulary has no "?", so it reads [UNK]: the model learns that a question may end
	// in [UNK], and the study plan's 磁盘已满会导致什么? reads like its full-width twin.
	ASCIIQuestionMark float64

	// MaxAnswerLen bounds the answers of the evaluation, in tokens (default 64: the
	// character-level tokenizer gives one token per character, and answers reach 54).
	MaxAnswerLen int

	Progress func(llm.Progress) // after every step (ValLoss set at the end of each epoch)
	Context  context.Context    // stops training when cancelled
}

func (o Options) withDefaults(maxPos int) (Options, error) {
	if o.Epochs == 0 {
		o.Epochs = 4
	}
	if o.LR == 0 {
		o.LR = 5e-4
	}
	if o.BatchSize == 0 {
		o.BatchSize = 32
	}
	if o.MaxLen == 0 {
		o.MaxLen = maxPos
	}
	if o.Stride == 0 {
		o.Stride = o.MaxLen / 4
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.ASCIIQuestionMark == 0 {
		o.ASCIIQuestionMark = 0.25
	}
	if o.MaxAnswerLen == 0 {
		o.MaxAnswerLen = 64
	}
	switch {
	case o.Epochs < 0 || o.BatchSize < 0 || o.Stride < 0 || o.MaxAnswerLen < 0:
		return o, fmt.Errorf("train qa: epochs, batch size, stride and max answer length must be ≥ 0 (got %d, %d, %d, %d)", o.Epochs, o.BatchSize, o.Stride, o.MaxAnswerLen)
	case !(o.LR > 0) || math.IsInf(o.LR, 0):
		return o, fmt.Errorf("train qa: the learning rate %g must be a positive number", o.LR)
	case o.MaxLen < 8 || o.MaxLen > maxPos:
		return o, fmt.Errorf("train qa: the window length %d must be from 8 to the model's %d positions", o.MaxLen, maxPos)
	case o.Stride >= o.MaxLen/2:
		return o, fmt.Errorf("train qa: the stride %d must be below half the window length %d", o.Stride, o.MaxLen)
	}
	return o, nil
}

// Features cuts every example into the pipeline's windows (maxLen tokens, stride tokens
// shared) and finds the answer's tokens in each. The answer is the first of the
// example's answers; its characters are mapped to the tokens that cover them.
func Features(tok tokenizer.Tokenizer, examples []data.QAExample, maxLen, stride int) ([]Feature, error) {
	if tok == nil {
		return nil, errors.New("features: the model has no tokenizer")
	}
	var out []Feature
	for i, e := range examples {
		if len(e.Answers.Text) == 0 {
			return nil, fmt.Errorf("features: example %s has no answer", e.ID)
		}
		ctx := []rune(e.Context)
		rs, re := e.Span(0)
		if rs < 0 || re > len(ctx) || rs >= re {
			return nil, fmt.Errorf("features: example %s: the answer is not inside the context", e.ID)
		}
		bs, be := len(string(ctx[:rs])), len(string(ctx[:re])) // byte span [bs, be)
		q, c := tok.Encode(e.Question), tok.Encode(e.Context)
		ts, te := -1, -1
		for k, t := range c {
			if t.Start < be && t.End > bs { // the token overlaps the answer
				if ts < 0 {
					ts = k
				}
				te = k
			}
		}
		if ts < 0 {
			return nil, fmt.Errorf("features: example %s: no token covers the answer %q", e.ID, e.Answers.Text[0])
		}
		wins, err := pipeline.QAWindows(tok, q, c, pipeline.QAOptions{MaxSeqLen: maxLen, DocStride: stride})
		if err != nil {
			return nil, fmt.Errorf("features: example %s: %w", e.ID, err)
		}
		for _, w := range wins {
			f := Feature{IDs: w.IDs, TypeIDs: w.TypeIDs, Example: i}
			if ts >= w.ContextStart && te < w.ContextEnd {
				f.Start, f.End = w.Offset+ts-w.ContextStart, w.Offset+te-w.ContextStart
			}
			out = append(out, f)
		}
	}
	return out, nil
}

// asciiQuestionMarks returns a copy of examples in which about share of the questions
// ending in "？" end in "?" instead (chosen by rng).
func asciiQuestionMarks(examples []data.QAExample, share float64, rng *rand.Rand) []data.QAExample {
	out := append([]data.QAExample(nil), examples...)
	if share <= 0 {
		return out
	}
	for i := range out {
		if q, ok := strings.CutSuffix(out[i].Question, "？"); ok && rng.Float64() < share {
			out[i].Question = q + "?"
		}
	}
	return out
}

// Batch pads features to one rectangular batch: the length is the longest feature
// rounded up to a multiple of llm.Bucket (so the trainer compiles a few shapes, not
// one per length), padding gets id pad, type 0 and mask 0.
func Batch(fs []Feature, pad int) *llm.TrainBatch {
	n := 0
	for _, f := range fs {
		n = max(n, len(f.IDs))
	}
	n = (n + llm.Bucket - 1) / llm.Bucket * llm.Bucket
	tb := &llm.TrainBatch{}
	for _, f := range fs {
		ids, types, mask := make([]int, n), make([]int, n), make([]int, n)
		for j := range n {
			ids[j] = pad
			if j < len(f.IDs) {
				ids[j], types[j], mask[j] = f.IDs[j], f.TypeIDs[j], 1
			}
		}
		tb.IDs, tb.TypeIDs, tb.Mask = append(tb.IDs, ids), append(tb.TypeIDs, types), append(tb.Mask, mask)
		tb.Starts, tb.Ends = append(tb.Starts, f.Start), append(tb.Ends, f.End)
	}
	return tb
}

// source yields shuffled batches of the training features, a new order every epoch.
// Features are grouped by their padded length (a multiple of llm.Bucket) before they are
// cut into batches, so a batch of short windows is not padded to the longest window of
// the set; the batches of all groups are then shuffled together.
type source struct {
	fs      []Feature
	bs      int
	pad     int
	rng     *rand.Rand
	batches [][]int
	pos     int
}

func (s *source) Next() (*llm.TrainBatch, error) {
	if s.pos >= len(s.batches) {
		s.epoch()
	}
	batch := make([]Feature, 0, s.bs)
	for _, i := range s.batches[s.pos] {
		batch = append(batch, s.fs[i])
	}
	s.pos++
	return Batch(batch, s.pad), nil
}

// epoch shuffles the features, groups them by padded length and cuts each group into
// full batches; a group's remainder joins the next longer group, so an epoch has
// ⌊features/batch⌋ batches and only the last remainder (fewer than a batch, a new random
// choice every epoch) waits for the next epoch.
func (s *source) epoch() {
	groups := map[int][]int{}
	var keys []int
	for _, i := range s.rng.Perm(len(s.fs)) {
		k := (len(s.fs[i].IDs) + llm.Bucket - 1) / llm.Bucket
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], i)
	}
	slices.Sort(keys)
	s.batches, s.pos = nil, 0
	var carry []int
	for _, k := range keys {
		g := append(carry, groups[k]...)
		for len(g) >= s.bs {
			s.batches = append(s.batches, g[:s.bs:s.bs])
			g = g[s.bs:]
		}
		carry = g
	}
	s.rng.Shuffle(len(s.batches), func(a, b int) { s.batches[a], s.batches[b] = s.batches[b], s.batches[a] })
}

// TrainResult is what [Train] reports.
type TrainResult struct {
	Steps          int       `json:"steps"`
	Epochs         int       `json:"epochs"`
	TrainFeatures  int       `json:"train_features"`
	TrainLoss      float64   `json:"train_loss"` // mean loss of the last epoch's steps
	ValLoss        []float64 `json:"val_loss"`   // after each epoch
	InitialValLoss float64   `json:"initial_val_loss"`
	Seconds        float64   `json:"seconds"`
	TokensPerSec   float64   `json:"tokens_per_sec"`
	Eval           *Scores   `json:"eval"` // EM/F1 of the pipeline on the evaluation examples
}

// Train fine-tunes m for extractive QA: it adds the span head (qa_outputs) if m has none,
// then runs AdamW on the SpanQA objective — the mean of the cross-entropies of the
// answer's start and end token — over the training windows for o.Epochs epochs, and
// finally scores the pipeline on eval. Deterministic for o.Seed.
func Train(m *llm.Model, train, eval []data.QAExample, o Options) (*TrainResult, error) {
	if m == nil || m.Tokenizer == nil || m.Config.Arch != llm.BERT {
		return nil, errors.New("train qa: needs a BERT model with a tokenizer")
	}
	if len(train) == 0 || len(eval) == 0 {
		return nil, fmt.Errorf("train qa: %d training and %d evaluation examples; need at least one of each", len(train), len(eval))
	}
	o, err := o.withDefaults(m.Config.MaxPos)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x51a))
	fs, err := Features(m.Tokenizer, asciiQuestionMarks(train, o.ASCIIQuestionMark, rng), o.MaxLen, o.Stride)
	if err != nil {
		return nil, fmt.Errorf("train qa: training data: %w", err)
	}
	evalFs, err := Features(m.Tokenizer, eval, o.MaxLen, o.Stride)
	if err != nil {
		return nil, fmt.Errorf("train qa: evaluation data: %w", err)
	}
	bs := min(o.BatchSize, len(fs))
	perEpoch := len(fs) / bs
	steps := perEpoch * o.Epochs
	if steps == 0 {
		return nil, errors.New("train qa: no training steps (raise --epochs)")
	}
	if !m.Heads().QA {
		if err := m.AddQAHead(o.Seed); err != nil {
			return nil, fmt.Errorf("train qa: %w", err)
		}
	}
	var val []*llm.TrainBatch
	for i := 0; i < len(evalFs); i += bs {
		val = append(val, Batch(evalFs[i:min(i+bs, len(evalFs))], m.Config.PadID))
	}
	tc := llm.TrainConfig{Objective: llm.SpanQA, Steps: steps, LR: o.LR, WarmupSteps: max(1, steps/10), Seed: o.Seed, Context: o.Context}
	src := &source{fs: fs, bs: bs, pad: m.Config.PadID, rng: rng}
	tr, err := m.NewTrainer(tc, src, val)
	if err != nil {
		return nil, fmt.Errorf("train qa: %w", err)
	}
	res := &TrainResult{Epochs: o.Epochs, TrainFeatures: len(fs)}
	ev, err := tr.Evaluate()
	if err != nil {
		return nil, fmt.Errorf("train qa: %w", err)
	}
	res.InitialValLoss = ev.Loss
	t0 := time.Now()
	var epochLoss float64

	for !tr.Done() {
		if o.Context != nil && o.Context.Err() != nil {
			return res, o.Context.Err()
		}
		p, err := tr.Step()
		if err != nil {
			return res, err
		}
		epochLoss += p.Loss
		if p.Step%perEpoch == 0 {
			ev, err := tr.Evaluate()
			if err != nil {
				return res, fmt.Errorf("train qa: %w", err)
			}
			p.ValLoss = ev.Loss
			res.ValLoss = append(res.ValLoss, ev.Loss)
			res.TrainLoss = epochLoss / float64(perEpoch)
			epochLoss = 0
		}
		res.Steps, res.TokensPerSec = p.Step, p.TokensPerSec
		if o.Progress != nil {
			o.Progress(p)
		}
	}
	res.Seconds = time.Since(t0).Seconds()
	if res.Eval, err = Evaluate(m, eval, pipeline.QAOptions{MaxSeqLen: o.MaxLen, DocStride: o.Stride, MaxAnswerLen: o.MaxAnswerLen}); err != nil {
		return res, err
	}
	return res, nil
}

// Prediction is the pipeline's answer to one example and its scores.
type Prediction struct {
	ID     string  `json:"id"`
	Answer string  `json:"answer"`
	Gold   string  `json:"gold"`
	EM     float64 `json:"em"`
	F1     float64 `json:"f1"`
	Window int     `json:"window"`
}

// Scores are exact match and F1 over a set of examples (means, 0–1).
type Scores struct {
	N           int          `json:"n"`
	EM          float64      `json:"em"`
	F1          float64      `json:"f1"`
	Predictions []Prediction `json:"predictions,omitempty"`
}

// Evaluate answers every example with the question-answering pipeline (the exact rule
// `divellm pipeline question-answering` uses, windows and all) and scores the answers
// with [Score] against the gold answers.
func Evaluate(m *llm.Model, examples []data.QAExample, o pipeline.QAOptions) (*Scores, error) {
	if len(examples) == 0 {
		return nil, errors.New("evaluate qa: no examples")
	}
	s := &Scores{N: len(examples)}
	for _, e := range examples {
		a, err := pipeline.QuestionAnswering(m, e.Question, e.Context, o)
		if err != nil {
			return nil, fmt.Errorf("evaluate qa: %s: %w", e.ID, err)
		}
		em, f1 := Score(a.Answer, e.Answers.Text)
		s.EM += em
		s.F1 += f1
		s.Predictions = append(s.Predictions, Prediction{ID: e.ID, Answer: a.Answer, Gold: e.Answers.Text[0], EM: em, F1: f1, Window: a.Window})
	}
	s.EM /= float64(len(examples))
	s.F1 /= float64(len(examples))
	return s, nil
}
