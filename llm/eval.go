package llm

import (
	"fmt"
	"math"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads best unqualified, as in GoMLX.
	"github.com/gomlx/gomlx/core/tensors"
)

// EvalResult is how well a model does on a set of batches.
type EvalResult struct {
	Loss       float64 `json:"loss"`       // mean loss per counted item
	Perplexity float64 `json:"perplexity"` // exp(Loss): meaningful for language modelling
	Tokens     int     `json:"tokens"`     // items counted: predicted tokens (LM), rows (classification, QA) or pairs (DPO)
	Accuracy   float64 `json:"accuracy"`   // share right (classification, QA exact span, DPO chosen ≻ rejected); NaN for LM
	Margin     float64 `json:"margin"`     // DPO: mean implicit reward margin; NaN otherwise
}

// Evaluate computes the mean loss and perplexity on a token stream cut into fixed,
// non-overlapping windows of seqLen (causal LM for GPT; for BERT, MLM with a fixed seeded
// 15% mask). maxBatches ≤ 0 means the whole stream.
func (m *Model) Evaluate(stream []int, seqLen, batchSize, maxBatches int, seed uint64) (*EvalResult, error) {
	tc := TrainConfig{Steps: 1, SeqLen: seqLen, BatchSize: batchSize, Seed: seed}
	if err := tc.defaults(m.Config); err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	s, err := m.newLMSource(stream, tc.BatchSize, tc.SeqLen, tc.MaskProb, newRand(seed, 2))
	if err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	if len(stream) < s.window() {
		// Short texts: one window of the text's own length.
		s.seqLen = len(stream) - 1
		if m.Config.Arch == BERT {
			s.seqLen = len(stream) + 2
		}
		if s.seqLen < 2 {
			return nil, fmt.Errorf("evaluate: the text has only %d tokens", len(stream))
		}
	}
	if maxBatches <= 0 {
		maxBatches = math.MaxInt
	}
	res, err := m.EvaluateBatches(m.Config.pretrainObjective(), s.evalBatches(maxBatches), 0)
	if err != nil {
		return nil, err
	}
	if res.Tokens == 0 {
		return nil, fmt.Errorf("evaluate: no tokens to predict")
	}
	return res, nil
}

// EvaluateBatches measures the objective on batches (no dropout). The evaluation graph is
// compiled once per model, objective and batch signature. dpoBeta is DPO's β (0: 0.1).
func (m *Model) EvaluateBatches(obj Objective, batches []*TrainBatch, dpoBeta float64) (*EvalResult, error) {
	if dpoBeta == 0 {
		dpoBeta = 0.1
	}
	var sum, count, correct, margin float64
	for i, tb := range batches {
		if err := tb.check(m.Config, obj); err != nil {
			return nil, fmt.Errorf("evaluate: batch %d: %w", i, err)
		}
		r, err := m.evalBatch(obj, tb, dpoBeta)
		if err != nil {
			return nil, err
		}
		sum, count, correct, margin = sum+r[0], count+r[1], correct+r[2], margin+r[3]
	}
	res := &EvalResult{Loss: math.NaN(), Perplexity: math.NaN(), Tokens: int(count), Accuracy: math.NaN(), Margin: math.NaN()}
	if count > 0 {
		res.Loss = sum / count
		res.Perplexity = math.Exp(res.Loss)
		if obj != CausalLM && obj != MaskedLM {
			res.Accuracy = correct / count
		}
		if obj == DPO {
			res.Margin = margin / count
		}
	}
	return res, nil
}

// evalBatch returns Σ loss, count, correct and Σ margin of one batch.
func (m *Model) evalBatch(obj Objective, tb *TrainBatch, beta float64) ([4]float64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := m.Weights.Names()
	lora := m.loraScales()
	cfg := m.Config
	sig := tb.signature(cfg)
	key := fmt.Sprintf("eval/%s/%s/%g/%d", obj, sig, beta, m.Weights.layout())
	e, err := m.exec(key, func(be compute.Backend) (*Exec, error) {
		return NewExec(be, func(in []*Node) []*Node {
			P := len(names)
			b, _ := takeBatch(in[P:], sig, cfg, obj)
			out := forward(cfg, paramNodes(names, in[:P]), lora, b, nil,
				fwdOptions{noLogits: obj == Classification || obj == SpanQA})
			l := objectiveLoss(cfg, obj, out, b, beta)
			return []*Node{l.sum, l.count, l.correct, l.margin}
		})
	})
	if err != nil {
		return [4]float64{}, fmt.Errorf("evaluate: %w", err)
	}
	args := make([]any, 0, len(names)+6)
	for _, t := range m.Weights.tensorList(names) {
		args = append(args, t)
	}
	args = append(args, tb.inputs(cfg, obj)...)
	res, err := execute(e, args)
	if err != nil {
		return [4]float64{}, fmt.Errorf("evaluate: %w", err)
	}
	var out [4]float64
	for i := range out {
		out[i] = float64(tensors.ToScalar[float32](res[i]))
	}
	return out, nil
}
