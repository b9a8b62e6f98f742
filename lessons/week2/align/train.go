package align

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/divellm/divellm/llm"
)

// Options are the hyper-parameters of an SFT or DPO run. Zero values get the defaults noted.
type Options struct {
	Epochs    int // passes over the training set (default 4 for SFT, 2 for DPO)
	BatchSize int // SFT: lines per step (default 16); DPO: pairs per step (default 8)
	// LR is the peak learning rate (default 1e-3 for SFT; 5e-5 for DPO, whose loss keeps
	// pushing the rejected answers down: larger rates soon make the answers ungrammatical).
	LR        float64
	Beta      float64 // DPO's β (default DefaultBeta)
	Seed      uint64  // shuffles the batches
	MaxLen    int     // longest line in tokens (default: the model's positions)
	EvalEvery int     // evaluate on the eval set every N steps (default: about 10 times a run)
	// StopAfter, if set, ends the run after that many steps, the learning-rate schedule still
	// spanning the whole run: the first steps of the full run, as a demonstration.
	StopAfter int
	// Trainable, if set, selects the parameters that learn (llm.FreezeLayers, LoRA).
	Trainable func(name string) bool
	// Progress, if set, is called after every step; ValLoss is the eval loss on the steps
	// where it was measured (NaN otherwise).
	Progress func(llm.Progress)
	Context  context.Context
}

func (o Options) withDefaults(m *llm.Model, dpo bool) Options {
	if o.Epochs <= 0 {
		o.Epochs = 4
		if dpo {
			o.Epochs = 2
		}
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 16
		if dpo {
			o.BatchSize = 8
		}
	}
	if o.LR <= 0 {
		o.LR = 1e-3
		if dpo {
			o.LR = 5e-5
		}
	}
	if o.Beta <= 0 {
		o.Beta = DefaultBeta
	}
	if o.MaxLen <= 0 || o.MaxLen > m.Config.MaxPos {
		o.MaxLen = m.Config.MaxPos
	}
	return o
}

// Curve is a run's record: the training loss of every step and the eval set's numbers at
// the steps it was measured (step 0 is before training). Margin and Accuracy are DPO's
// (chosen ≻ rejected share), empty for SFT.
type Curve struct {
	Loss         []float64 `json:"loss"`
	Margin       []float64 `json:"margin,omitempty"`
	EvalSteps    []int     `json:"eval_steps"`
	EvalLoss     []float64 `json:"eval_loss"`
	EvalMargin   []float64 `json:"eval_margin,omitempty"`
	EvalAccuracy []float64 `json:"eval_accuracy,omitempty"`
}

// Report summarises a run.
type Report struct {
	Task  string `json:"task"` // "sft" or "dpo"
	Train int    `json:"train_examples"`
	Eval  int    `json:"eval_examples"`
	Steps int    `json:"steps"` // steps run
	// Schedule is the length of the learning-rate schedule when the run stopped early
	// (Options.StopAfter), 0 otherwise.
	Schedule  int     `json:"schedule_steps,omitempty"`
	Epochs    int     `json:"epochs"`
	BatchSize int     `json:"batch_size"`
	LR        float64 `json:"lr"`
	Beta      float64 `json:"beta,omitempty"`
	Trainable int     `json:"trainable_params"`
	Seconds   float64 `json:"seconds"`
	TokensSec float64 `json:"tokens_per_sec"`
	// SFT: the eval set's answer-only loss; DPO: the eval pairs' DPO loss.
	EvalLossBefore float64 `json:"eval_loss_before"`
	EvalLossAfter  float64 `json:"eval_loss_after"`
	// DPO: the eval pairs' mean implicit reward margin, and after training the share of
	// pairs whose margin is positive (moved the right way relative to the reference; before
	// training every margin is 0).
	EvalMarginBefore  float64 `json:"eval_margin_before,omitempty"`
	EvalMarginAfter   float64 `json:"eval_margin_after,omitempty"`
	EvalAccuracyAfter float64 `json:"eval_accuracy_after,omitempty"`
	Curve             Curve   `json:"curve"`
}

// cycle is an llm.Source that deals fixed-size batches from a list shuffled anew every
// epoch (a batch may span two epochs).
type cycle[T any] struct {
	items []T
	order []int
	pos   int
	size  int
	r     *rand.Rand
	make  func([]T) *llm.TrainBatch
}

func newCycle[T any](items []T, size int, seed uint64, mk func([]T) *llm.TrainBatch) *cycle[T] {
	c := &cycle[T]{items: items, size: min(size, len(items)), r: rand.New(rand.NewPCG(seed, 0x5f7)), make: mk}
	c.order = c.r.Perm(len(items))
	return c
}

func (c *cycle[T]) Next() (*llm.TrainBatch, error) {
	batch := make([]T, 0, c.size)
	for len(batch) < c.size {
		if c.pos == len(c.order) {
			c.order, c.pos = c.r.Perm(len(c.items)), 0
		}
		batch = append(batch, c.items[c.order[c.pos]])
		c.pos++
	}
	return c.make(batch), nil
}

// chunks splits items into consecutive batches of at most size.
func chunks[T any](items []T, size int, mk func([]T) *llm.TrainBatch) []*llm.TrainBatch {
	var out []*llm.TrainBatch
	for lo := 0; lo < len(items); lo += size {
		out = append(out, mk(items[lo:min(lo+size, len(items))]))
	}
	return out
}

// EncodeExamples tokenizes SFT examples with the model's tokenizer; the error names the
// first bad example (1-based).
func EncodeExamples(m *llm.Model, es []Example, maxLen int) ([]Encoded, error) {
	if maxLen <= 0 || maxLen > m.Config.MaxPos {
		maxLen = m.Config.MaxPos
	}
	out := make([]Encoded, len(es))
	for i, e := range es {
		enc, err := Encode(m.Tokenizer, e.Prompt, e.Answer, maxLen)
		if err != nil {
			return nil, fmt.Errorf("example %d: %w", i+1, err)
		}
		out[i] = enc
	}
	return out, nil
}

// EncodePairs tokenizes preference pairs with the model's tokenizer.
func EncodePairs(m *llm.Model, ps []Pair, maxLen int) ([]EncodedPair, error) {
	if maxLen <= 0 || maxLen > m.Config.MaxPos {
		maxLen = m.Config.MaxPos
	}
	out := make([]EncodedPair, len(ps))
	for i, p := range ps {
		enc, err := EncodePair(m.Tokenizer, p, maxLen)
		if err != nil {
			return nil, fmt.Errorf("pair %d: %w", i+1, err)
		}
		out[i] = enc
	}
	return out, nil
}

// SFTBatches builds the eval batches of SFT examples (batch lines each).
func SFTBatches(m *llm.Model, es []Example, batch int) ([]*llm.TrainBatch, error) {
	enc, err := EncodeExamples(m, es, 0)
	if err != nil {
		return nil, err
	}
	return chunks(enc, max(batch, 1), func(rows []Encoded) *llm.TrainBatch {
		return Batch(rows, m.Config.PadID, m.Config.MaxPos)
	}), nil
}

// AnswerLoss is the answer-only loss (mean NLL per answer token) of the model on es.
func AnswerLoss(m *llm.Model, es []Example) (float64, error) {
	bs, err := SFTBatches(m, es, 16)
	if err != nil {
		return 0, err
	}
	ev, err := m.EvaluateBatches(llm.CausalLM, bs, 0)
	if err != nil {
		return 0, err
	}
	return ev.Loss, nil
}

// TrainSFT fine-tunes the GPT m in place on train with the answer-only loss, measuring the
// same loss on eval (held out) before, during and after.
func TrainSFT(m *llm.Model, train, eval []Example, o Options) (*Report, error) {
	if m.Config.Arch != llm.GPT {
		return nil, fmt.Errorf("sft: %s is not a GPT (decoder) model", m.Config.Arch)
	}
	if len(train) == 0 || len(eval) == 0 {
		return nil, errors.New("sft: the training and the eval set must not be empty")
	}
	o = o.withDefaults(m, false)
	tr, err := EncodeExamples(m, train, o.MaxLen)
	if err != nil {
		return nil, fmt.Errorf("sft: train %w", err)
	}
	ev, err := EncodeExamples(m, eval, o.MaxLen)
	if err != nil {
		return nil, fmt.Errorf("sft: eval %w", err)
	}
	mk := func(rows []Encoded) *llm.TrainBatch { return Batch(rows, m.Config.PadID, m.Config.MaxPos) }
	src := newCycle(tr, o.BatchSize, o.Seed, mk)
	val := chunks(ev, o.BatchSize, mk)
	rep := &Report{Task: "sft", Train: len(train), Eval: len(eval)}
	if err := run(m, llm.CausalLM, src, val, len(tr), o, rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// TrainDPO preference-tunes the GPT m in place on pairs, with the starting policy (m as it
// is when called) as the frozen reference: its log-probabilities are computed first.
// eval pairs are measured (loss, margin, accuracy) before, during and after.
func TrainDPO(m *llm.Model, train, eval []Pair, o Options) (*Report, error) {
	if m.Config.Arch != llm.GPT {
		return nil, fmt.Errorf("dpo: %s is not a GPT (decoder) model", m.Config.Arch)
	}
	if len(train) == 0 || len(eval) == 0 {
		return nil, errors.New("dpo: the training and the eval set must not be empty")
	}
	o = o.withDefaults(m, true)
	tr, err := EncodePairs(m, train, o.MaxLen)
	if err != nil {
		return nil, fmt.Errorf("dpo: train %w", err)
	}
	ev, err := EncodePairs(m, eval, o.MaxLen)
	if err != nil {
		return nil, fmt.Errorf("dpo: eval %w", err)
	}
	if err := RefLogProbs(m, tr, o.BatchSize); err != nil {
		return nil, fmt.Errorf("dpo: reference: %w", err)
	}
	if err := RefLogProbs(m, ev, o.BatchSize); err != nil {
		return nil, fmt.Errorf("dpo: reference: %w", err)
	}
	mk := func(ps []EncodedPair) *llm.TrainBatch { return PairBatch(ps, m.Config.PadID, m.Config.MaxPos) }
	src := newCycle(tr, o.BatchSize, o.Seed, mk)
	val := chunks(ev, o.BatchSize, mk)
	rep := &Report{Task: "dpo", Train: len(train), Eval: len(eval), Beta: o.Beta}
	if err := run(m, llm.DPO, src, val, len(tr), o, rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// run drives one trainer step by step, evaluating every o.EvalEvery steps.
func run(m *llm.Model, obj llm.Objective, src llm.Source, val []*llm.TrainBatch, n int, o Options, rep *Report) error {
	steps := max(1, (o.Epochs*n+o.BatchSize-1)/o.BatchSize)
	every := o.EvalEvery
	if every <= 0 {
		every = max(1, steps/10)
	}
	trainer, err := m.NewTrainer(llm.TrainConfig{
		Objective: obj, Steps: steps, LR: o.LR, DPOBeta: o.Beta, Seed: o.Seed,
		Trainable: o.Trainable, EvalEvery: every, Context: o.Context,
	}, src, val)
	if err != nil {
		return err
	}
	rep.Steps, rep.Epochs, rep.BatchSize, rep.LR = steps, o.Epochs, o.BatchSize, o.LR
	rep.Trainable = trainer.TrainableCount()
	c := &rep.Curve
	evaluate := func(step int) (*llm.EvalResult, error) {
		r, err := trainer.Evaluate()
		if err != nil {
			return nil, err
		}
		c.EvalSteps = append(c.EvalSteps, step)
		c.EvalLoss = append(c.EvalLoss, r.Loss)
		if obj == llm.DPO {
			c.EvalMargin = append(c.EvalMargin, r.Margin)
			c.EvalAccuracy = append(c.EvalAccuracy, r.Accuracy)
		}
		return r, nil
	}
	first, err := evaluate(0)
	if err != nil {
		return err
	}
	start, tokens := time.Now(), 0
	var last *llm.EvalResult
	stopped := func(step int) bool { return trainer.Done() || (o.StopAfter > 0 && step >= o.StopAfter) }
	for step := 0; !stopped(step); {
		if o.Context != nil {
			if err := o.Context.Err(); err != nil {
				return err
			}
		}
		p, err := trainer.Step()
		if err != nil {
			return err
		}
		step = p.Step
		tokens = int(p.TokensPerSec * p.Elapsed.Seconds())
		c.Loss = append(c.Loss, p.Loss)
		if obj == llm.DPO {
			c.Margin = append(c.Margin, p.Margin)
		}
		if p.Step%every == 0 || stopped(p.Step) {
			if last, err = evaluate(p.Step); err != nil {
				return err
			}
			p.ValLoss = last.Loss
		}
		if o.Progress != nil {
			o.Progress(p)
		}
	}
	if n := len(c.Loss); n < steps {
		rep.Steps, rep.Schedule = n, steps
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.TokensSec = float64(tokens) / math.Max(rep.Seconds, 1e-9)
	rep.EvalLossBefore, rep.EvalLossAfter = first.Loss, last.Loss
	if obj == llm.DPO {
		rep.EvalMarginBefore, rep.EvalMarginAfter = first.Margin, last.Margin
		rep.EvalAccuracyAfter = last.Accuracy
	}
	return nil
}
