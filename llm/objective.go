package llm

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads best unqualified, as in GoMLX.
)

// Objective is what a training run minimises. Every objective plugs into the one
// [Trainer]: it says which targets a [TrainBatch] carries and builds the loss (and a
// metric) from the forward pass.
type Objective string

const (
	// CausalLM is next-token prediction (GPT pretraining): TrainBatch.Labels[i][t] is the
	// token after position t, −100 where there is nothing to predict. Supervised fine-tuning
	// (SFT) is CausalLM with the prompt's labels set to −100, so only answer tokens count:
	//
	//	L = −(1/|A|) Σ_{t∈A} log p(x_{t+1} | x_{≤t}),  A = the answer positions
	CausalLM Objective = "clm"
	// MaskedLM is BERT's masked-token prediction: Labels hold the original token at masked
	// positions and −100 elsewhere.
	MaskedLM Objective = "mlm"
	// Classification is sequence classification: TrainBatch.Classes holds one label per
	// row (−100 to skip a row). BERT classifies the pooled [CLS]; GPT the last real token.
	Classification Objective = "classify"
	// SpanQA is extractive question answering: TrainBatch.Starts/Ends hold the answer's
	// first and last token per row; the loss is the mean of the start and end
	// cross-entropies over positions.
	SpanQA Objective = "qa"
	// DPO is direct preference optimisation (Rafailov et al. 2023). Rows come in pairs
	// (chosen, rejected) for the same prompt; Labels mark the response tokens (the rest
	// −100) and RefLogProbs hold the frozen reference model's log p(response) per row:
	//
	//	L = −log σ(β·[(log π(y_w) − log π_ref(y_w)) − (log π(y_l) − log π_ref(y_l))])
	DPO Objective = "dpo"
	// Seq2SeqLM trains an encoder-decoder (BART): the encoder reads Batch.IDs, the decoder
	// reads Batch.DecoderIDs (the target shifted right after Config.DecoderStartID) and
	// Labels[i][t] is the target token at decoder position t (−100 on padding). See
	// [Seq2SeqBatch].
	Seq2SeqLM Objective = "seq2seq"
)

// TrainBatch is one batch of training (or evaluation) data: the inputs and the targets
// of its objective.
type TrainBatch struct {
	Batch
	Labels      [][]int   // CausalLM, MaskedLM, DPO: target token per position (−100 = ignore)
	Classes     []int     // Classification: label per row (−100 = ignore the row)
	Starts      []int     // SpanQA: answer start token per row
	Ends        []int     // SpanQA: answer end token per row (inclusive)
	RefLogProbs []float64 // DPO: reference model's Σ log p(response) per row
}

// Source yields training batches; the trainer calls Next once per step.
type Source interface {
	Next() (*TrainBatch, error)
}

// check validates a batch for the objective and the model.
func (tb *TrainBatch) check(c Config, obj Objective) error {
	rows, cols, err := tb.Batch.check(c)
	if err != nil {
		return err
	}
	okLabels := func() error {
		if len(tb.Labels) != rows {
			return fmt.Errorf("labels have %d rows, ids %d", len(tb.Labels), rows)
		}
		if c.Arch == BART {
			cols = len(tb.DecoderIDs[0]) // labels follow the decoder's positions
		}
		for i, r := range tb.Labels {
			if len(r) != cols {
				return fmt.Errorf("labels row %d has %d entries, want %d", i, len(r), cols)
			}
			for _, l := range r {
				if l >= c.VocabSize || (l < 0 && l != -100) {
					return fmt.Errorf("label %d outside the vocabulary (use -100 to ignore a position)", l)
				}
			}
		}
		return nil
	}
	perRow := func(name string, v []int, hi int) error {
		if len(v) != rows {
			return fmt.Errorf("%s has %d entries, want one per row (%d)", name, len(v), rows)
		}
		for _, x := range v {
			if x >= hi || (x < 0 && x != -100) {
				return fmt.Errorf("%s %d outside [0, %d)", name, x, hi)
			}
		}
		return nil
	}
	switch obj {
	case CausalLM, MaskedLM, Seq2SeqLM:
		return okLabels()
	case Classification:
		if c.NumLabels <= 0 {
			return fmt.Errorf("classification needs a model with a classifier head")
		}
		return perRow("class", tb.Classes, c.NumLabels)
	case SpanQA:
		if err := perRow("start", tb.Starts, cols); err != nil {
			return err
		}
		return perRow("end", tb.Ends, cols)
	case DPO:
		if rows%2 != 0 {
			return fmt.Errorf("DPO batches hold (chosen, rejected) pairs: %d rows is odd", rows)
		}
		if len(tb.RefLogProbs) != rows {
			return fmt.Errorf("DPO needs one reference log-probability per row, got %d for %d rows", len(tb.RefLogProbs), rows)
		}
		for _, v := range tb.RefLogProbs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("reference log-probability %g is not finite", v)
			}
		}
		return okLabels()
	}
	return fmt.Errorf("unknown objective %q", obj)
}

// signature names the inputs a batch feeds to a graph (compiled once per signature).
func (tb *TrainBatch) signature(c Config) string { return tb.Batch.signature(c) }

// inputs returns the batch's tensors in graph order: the Batch's, then the targets.
func (tb *TrainBatch) inputs(c Config, obj Objective) []any {
	args := tb.Batch.inputs(c)
	switch obj {
	case CausalLM, MaskedLM, Seq2SeqLM:
		args = append(args, int32Tensor(tb.Labels))
	case Classification:
		args = append(args, int32Tensor([][]int{tb.Classes}))
	case SpanQA:
		args = append(args, int32Tensor([][]int{tb.Starts}), int32Tensor([][]int{tb.Ends}))
	case DPO:
		ref := make([]float32, len(tb.RefLogProbs))
		for i, v := range tb.RefLogProbs {
			ref[i] = float32(v)
		}
		args = append(args, int32Tensor(tb.Labels), ref)
	}
	return args
}

// batchNodes are the graph inputs of one batch.
type batchNodes struct {
	ids, typeIDs, mask *Node
	decIDs, decMask    *Node // BART: decoder inputs [b, t]
	labels             *Node // [b, s]: CausalLM, MaskedLM, DPO
	classes            *Node // [1, b]
	starts, ends       *Node // [1, b]
	ref                *Node // [b]
}

// takeBatch reads a batch's nodes from the graph inputs in, in the order of
// [TrainBatch.inputs], and returns them with the number of inputs used.
func takeBatch(in []*Node, sig string, c Config, obj Objective) (batchNodes, int) {
	var b batchNodes
	k := 0
	next := func() *Node { n := in[k]; k++; return n }
	b.ids = next()
	var hasType, hasMask, hasDec bool
	fmt.Sscanf(sig, "type=%t/mask=%t/dec=%t", &hasType, &hasMask, &hasDec)
	if hasType {
		b.typeIDs = next()
	}
	if hasMask {
		b.mask = next()
	}
	if hasDec {
		b.decIDs, b.decMask = next(), next()
	}
	switch obj {
	case CausalLM, MaskedLM, Seq2SeqLM:
		b.labels = next()
	case Classification:
		b.classes = next()
	case SpanQA:
		b.starts, b.ends = next(), next()
	case DPO:
		b.labels, b.ref = next(), next()
	}
	return b, k
}

// lossNodes is what an objective computes from one batch.
type lossNodes struct {
	loss    *Node // mean loss (what is minimised)
	sum     *Node // summed loss over counted items
	count   *Node // counted items (tokens, rows or pairs)
	correct *Node // items right (classification, QA exact span, DPO chosen ≻ rejected)
	margin  *Node // DPO: Σ implicit reward margins
}

// objectiveLoss builds the objective's loss from a forward pass.
func objectiveLoss(c Config, obj Objective, out fwdOut, b batchNodes, beta float64) lossNodes {
	g := b.ids.Graph()
	zero := ScalarZero(g, dtypes.Float32)
	var r lossNodes
	switch obj {
	case CausalLM, MaskedLM, Seq2SeqLM:
		nll, valid := tokenNLL(out.logits, b.labels)
		r.sum, r.count = ReduceAllSum(nll), ReduceAllSum(valid)
		r.correct = zero
	case Classification:
		logits := out.classes // BERT [b, L]; GPT [b, s, L]: take the last real token
		if c.Arch == GPT {
			logits = lastToken(logits, b.mask)
		}
		labels := Squeeze(b.classes, 0) // [b]
		nll, valid := tokenNLL(InsertAxes(logits, 1), InsertAxes(labels, 1))
		r.sum, r.count = ReduceAllSum(nll), ReduceAllSum(valid)
		pred := ConvertDType(ArgMax(logits, -1), dtypes.Int32)
		r.correct = ReduceAllSum(ConvertDType(Equal(pred, ConvertDType(labels, dtypes.Int32)), dtypes.Float32))
	case SpanQA:
		starts, ends := Squeeze(b.starts, 0), Squeeze(b.ends, 0)
		sNLL, valid := tokenNLL(InsertAxes(out.qaStart, 1), InsertAxes(starts, 1))
		eNLL, _ := tokenNLL(InsertAxes(out.qaEnd, 1), InsertAxes(ends, 1))
		r.sum = MulScalar(Add(ReduceAllSum(sNLL), ReduceAllSum(eNLL)), 0.5)
		r.count = ReduceAllSum(valid)
		ps := ConvertDType(ArgMax(out.qaStart, -1), dtypes.Int32)
		pe := ConvertDType(ArgMax(out.qaEnd, -1), dtypes.Int32)
		both := LogicalAnd(Equal(ps, ConvertDType(starts, dtypes.Int32)), Equal(pe, ConvertDType(ends, dtypes.Int32)))
		r.correct = ReduceAllSum(ConvertDType(both, dtypes.Float32))
	case DPO:
		nll, _ := tokenNLL(out.logits, b.labels)
		logp := Neg(ReduceSum(nll, -1)) // [b]: log π(response)
		rel := Sub(logp, b.ref)         // log π − log π_ref
		pairs := Reshape(rel, -1, 2)    // [pairs, 2]: chosen, rejected
		chosen := Squeeze(Slice(pairs, AxisRange(), AxisRange(0, 1)), 1)
		rejected := Squeeze(Slice(pairs, AxisRange(), AxisRange(1, 2)), 1)
		margin := MulScalar(Sub(chosen, rejected), beta) // [pairs]
		// −log σ(z) = softplus(−z), computed stably.
		r.sum = ReduceAllSum(softplus(Neg(margin)))
		r.count = ConvertDType(Scalar(g, dtypes.Int32, margin.Shape().Dimensions[0]), dtypes.Float32)
		r.correct = ReduceAllSum(ConvertDType(GreaterThan(margin, ZerosLike(margin)), dtypes.Float32))
		r.margin = ReduceAllSum(margin)
	}
	if r.margin == nil {
		r.margin = zero
	}
	r.loss = Div(r.sum, Max(r.count, OnesLike(r.count)))
	return r
}

// softplus is log(1 + eˣ), without overflow for large x.
func softplus(x *Node) *Node {
	return Add(Max(x, ZerosLike(x)), Log1P(Exp(Neg(Abs(x)))))
}

// lastToken picks x[b, last(b), :] from x [b, s, L], where last(b) is the row's last real
// token (Σ mask − 1), or s − 1 without a mask.
func lastToken(x, mask *Node) *Node {
	g := x.Graph()
	dims := x.Shape().Dimensions
	b, s := dims[0], dims[1]
	var last *Node
	if mask == nil {
		last = BroadcastToDims(Scalar(g, dtypes.Int32, s-1), b, 1)
	} else {
		n := ReduceSum(ConvertDType(mask, dtypes.Int32), -1)          // [b]
		last = InsertAxes(Max(Sub(n, OnesLike(n)), ZerosLike(n)), -1) // [b, 1]
	}
	idx := Concatenate([]*Node{Iota(g, shapeOf(dtypes.Int32, b, 1), 0), last}, -1) // [b, 2]
	return Gather(x, idx)                                                          // [b, L]
}

// lmSource samples causal-LM or masked-LM windows from a token stream: the pretraining
// data of [Model.Train].
type lmSource struct {
	c       Config
	batch   int
	seqLen  int
	maskP   float64
	stream  []int
	r       *rand.Rand
	special struct{ mask, cls, sep int }
}

// NewLMSource returns a Source of random windows of stream for the model's pretraining
// objective: next-token labels for GPT; for BERT, [CLS] window [SEP] with 15% (maskProb)
// of the tokens predicted, 80% of them replaced by [MASK], 10% by a random token, 10%
// unchanged.
func (m *Model) NewLMSource(stream []int, batchSize, seqLen int, maskProb float64, seed uint64) (Source, error) {
	s, err := m.newLMSource(stream, batchSize, seqLen, maskProb, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		return nil, err
	}
	if len(stream) < s.window()+1 {
		return nil, fmt.Errorf("train: the text has %d tokens, fewer than one window of %d", len(stream), s.window()+1)
	}
	return s, nil
}

func (m *Model) newLMSource(stream []int, batchSize, seqLen int, maskProb float64, r *rand.Rand) (*lmSource, error) {
	src := &lmSource{c: m.Config, batch: batchSize, seqLen: seqLen, maskP: maskProb, stream: stream, r: r}
	if batchSize <= 0 || seqLen < 2 || seqLen > m.Config.MaxPos {
		return nil, fmt.Errorf("train: batch %d must be > 0 and sequence length %d in [2, %d]", batchSize, seqLen, m.Config.MaxPos)
	}
	if m.Config.Arch == BERT {
		if m.Tokenizer == nil {
			return nil, fmt.Errorf("train: a BERT model needs a tokenizer with [MASK], [CLS] and [SEP]")
		}
		sp := m.Tokenizer.Specials()
		if sp.MASK < 0 || sp.CLS < 0 || sp.SEP < 0 {
			return nil, fmt.Errorf("train: the tokenizer lacks [MASK], [CLS] or [SEP]")
		}
		src.special.mask, src.special.cls, src.special.sep = sp.MASK, sp.CLS, sp.SEP
	}
	for _, id := range stream {
		if id < 0 || id >= m.Config.VocabSize {
			return nil, fmt.Errorf("train: token id %d outside the vocabulary [0,%d)", id, m.Config.VocabSize)
		}
	}
	if maskProb <= 0 || maskProb >= 1 {
		src.maskP = 0.15
	}
	return src, nil
}

func (s *lmSource) window() int {
	if s.c.Arch == GPT {
		return s.seqLen + 1
	}
	return s.seqLen - 2
}

// example returns ids and labels [seqLen] of the window starting at start.
func (s *lmSource) example(start int) (ids, labels []int) {
	n := s.seqLen
	if s.c.Arch == GPT {
		w := s.stream[start : start+n+1]
		return append([]int(nil), w[:n]...), append([]int(nil), w[1:]...)
	}
	ids, labels = make([]int, n), make([]int, n)
	ids[0], ids[n-1] = s.special.cls, s.special.sep
	copy(ids[1:n-1], s.stream[start:start+n-2])
	for i := range labels {
		labels[i] = -100
	}
	for i := 1; i < n-1; i++ {
		if s.r.Float64() >= s.maskP {
			continue
		}
		labels[i] = ids[i]
		switch u := s.r.Float64(); {
		case u < 0.8:
			ids[i] = s.special.mask
		case u < 0.9:
			ids[i] = s.r.IntN(s.c.VocabSize)
		}
	}
	return ids, labels
}

// Next implements Source: BatchSize windows at random offsets.
func (s *lmSource) Next() (*TrainBatch, error) {
	tb := &TrainBatch{}
	n := len(s.stream) - s.window()
	for range s.batch {
		ids, labels := s.example(s.r.IntN(n + 1))
		tb.IDs, tb.Labels = append(tb.IDs, ids), append(tb.Labels, labels)
	}
	return tb, nil
}

// skip advances the sampler by n batches (a resumed run sees the batches an
// uninterrupted one would).
func (s *lmSource) skip(n int) {
	for range n {
		s.Next()
	}
}

// evalBatches cuts the stream into fixed, non-overlapping windows (and, for BERT, fixed
// masks), so every evaluation sees the same examples.
func (s *lmSource) evalBatches(maxBatches int) []*TrainBatch {
	w := s.window()
	var out []*TrainBatch
	cur := &TrainBatch{}
	for start := 0; start+w <= len(s.stream) && len(out) < maxBatches; start += w {
		ids, labels := s.example(start)
		cur.IDs, cur.Labels = append(cur.IDs, ids), append(cur.Labels, labels)
		if len(cur.IDs) == s.batch {
			out = append(out, cur)
			cur = &TrainBatch{}
		}
	}
	if len(cur.IDs) > 0 && len(out) < maxBatches {
		out = append(out, cur)
	}
	return out
}

// LMEvalBatches cuts a token stream into the fixed validation batches of the model's
// pretraining objective (see [Model.NewLMSource]); maxBatches ≤ 0 means all.
func (m *Model) LMEvalBatches(stream []int, batchSize, seqLen int, maskProb float64, seed uint64, maxBatches int) ([]*TrainBatch, error) {
	s, err := m.newLMSource(stream, batchSize, seqLen, maskProb, rand.New(rand.NewPCG(seed, 2)))
	if err != nil {
		return nil, err
	}
	if maxBatches <= 0 {
		maxBatches = math.MaxInt
	}
	return s.evalBatches(maxBatches), nil
}

// newRand returns a PCG generator for a seed and a stream number.
func newRand(seed, stream uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, stream)) }

// pretrainObjective is the objective of the model's own pretraining head.
func (c Config) pretrainObjective() Objective {
	switch c.Arch {
	case BERT:
		return MaskedLM
	case BART:
		return Seq2SeqLM
	}
	return CausalLM
}
