package llm

import (
	"fmt"
	"math"

	"github.com/divellm/divellm/llm/attention"
	"github.com/divellm/divellm/llm/backend"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads best unqualified, as in GoMLX.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/nn"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Axis legend: b batch, s sequence, m model width, h heads, d head width, f feed-forward
// width, v vocabulary, r LoRA rank, T KV-cache length.

// fwdOptions selects what a forward graph returns and whether it trains.
type fwdOptions struct {
	attentions bool    // return every layer's attention probabilities [b, h, s, s]
	hidden     bool    // return every layer's hidden states [b, s, m]
	dropout    float64 // dropout rate; > 0 only while training
	noLogits   bool    // skip the LM/MLM head (feature extraction, classification)
}

// fwdOut holds the nodes a forward graph produces.
type fwdOut struct {
	logits     *Node   // [b, s, v]: next-token (GPT) or masked-token (BERT) logits
	hidden     []*Node // layers+1 × [b, s, m]: embeddings output, then each block's output
	attentions []*Node // layers × [b, h, s, s]
	last       *Node   // final hidden states [b, s, m] (after ln_f for GPT)
	pooled     *Node   // BERT pooler output [b, m]
	qaStart    *Node   // [b, s]
	qaEnd      *Node   // [b, s]
	classes    *Node   // [b, labels] (BERT) or [b, s, labels] (GPT)
	rng        *Node   // updated RNG state (dropout)
}

// graphOps implements [BlockOps] as GoMLX graph nodes: the full forward pass (training
// included) and, with a cache, one step of the KV-cache decoder.
type graphOps struct {
	c     Config
	p     map[string]*Node   // parameters by name
	lora  map[string]float64 // adapted module → LoRA scale α/r
	rng   *Node              // dropout RNG state (nil: no dropout)
	rate  float64            // dropout rate
	mask  *Node              // attention mask broadcastable to [b, h, q, k], or nil
	probs []*Node            // attention probabilities per layer, when keepProbs
	keep  bool
	cache *graphCache // KV-cache decoding, nil for the full forward
	outKV [2][]*Node  // updated caches (decoding)
}

// graphCache is the state of one KV-cache decoding step.
type graphCache struct {
	k, v []*Node // per layer [1, h, T, d]
	at   *Node   // [1, 1, T, 1] one-hot of the position being written
}

func (o *graphOps) w(name string) *Node {
	x, ok := o.p[name]
	if !ok {
		exceptions.Panicf("parameter %q is missing", name)
	}
	return x
}

// LayerNorm implements BlockOps.
func (o *graphOps) LayerNorm(x *Node, module string) *Node {
	return nn.LayerNorm(x, []int{-1}, o.c.LayerNormE, o.w(module+".weight"), o.w(module+".bias"), nil)
}

// Linear implements BlockOps: x·Wᵀ + b (GPT-2's Conv1D stores W as [in, out]), plus the
// LoRA path (α/r)·x·Aᵀ·Bᵀ when the module is adapted.
func (o *graphOps) Linear(x *Node, module string) *Node {
	layout := compute.DenseLayoutOutputsInput
	if o.c.Arch == GPT {
		layout = compute.DenseLayoutInputOutputs
	}
	y := nn.Dense(x, o.w(module+".weight"), o.w(module+".bias"), layout)
	if scale, ok := o.lora[module]; ok {
		a, b := o.w(module+loraA), o.w(module+loraB)                                         // [r, in], [out, r]
		low := nn.Dense(x, a, nil, compute.DenseLayoutOutputsInput)                          // [.., r]
		y = Add(y, MulScalar(nn.Dense(low, b, nil, compute.DenseLayoutOutputsInput), scale)) // [.., out]
	}
	return y
}

// Act implements BlockOps.
func (o *graphOps) Act(x *Node) *Node {
	if o.c.Activation == "gelu" {
		return activation.Gelu(x) // x·Φ(x) with the exact erf
	}
	return geluTanh(x)
}

// Add implements BlockOps.
func (o *graphOps) Add(x, y *Node) *Node { return Add(x, y) }

// Dropout implements BlockOps: zeroes each value with probability rate and scales the
// rest by 1/(1-rate).
func (o *graphOps) Dropout(x *Node) *Node {
	if o.rate <= 0 || o.rng == nil {
		return x
	}
	var u *Node
	o.rng, u = RandomUniform(o.rng, x.Shape())
	keep := GreaterOrEqual(u, Scalar(x.Graph(), x.DType(), o.rate))
	return Where(keep, MulScalar(x, 1/(1-o.rate)), ZerosLike(x))
}

// SplitQKV implements BlockOps.
func (o *graphOps) SplitQKV(qkv *Node) (q, k, v *Node) {
	m := o.c.DModel
	q = Slice(qkv, AxisRange(), AxisRange(), AxisRange(0, m))
	k = Slice(qkv, AxisRange(), AxisRange(), AxisRange(m, 2*m))
	v = Slice(qkv, AxisRange(), AxisRange(), AxisRange(2*m, 3*m))
	return q, k, v
}

// Attention implements BlockOps: q, k, v [b, s, m] → [b, s, m].
func (o *graphOps) Attention(q, k, v *Node, layer int) *Node {
	h := o.c.Heads
	qh, kh, vh := attention.SplitHeads(q, h), attention.SplitHeads(k, h), attention.SplitHeads(v, h) // [b, h, s, d]
	if c := o.cache; c != nil {
		// Write this token's key and value at the cache position, then attend to keys ≤ pos.
		dims := c.k[layer].Shape().Dimensions
		at := BroadcastToDims(c.at, dims...)
		kh = Where(at, BroadcastToDims(kh, dims...), c.k[layer]) // [1, h, T, d]
		vh = Where(at, BroadcastToDims(vh, dims...), c.v[layer])
		o.outKV[0], o.outKV[1] = append(o.outKV[0], kh), append(o.outKV[1], vh)
	}
	ctx, probs := attention.ScaledDotProduct(qh, kh, vh, o.mask) // [b, h, s, d], [b, h, s, k]
	if o.keep {
		o.probs = append(o.probs, probs)
	}
	return attention.MergeHeads(ctx) // [b, s, m]
}

// geluTanh is GPT-2's "gelu_new": 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), fused when
// the backend has it.
func geluTanh(x *Node) *Node {
	out, _ := InternalFusedOpCaller(
		func() *Node { return BackendFusedGelu(x, false) },
		func() *Node {
			// x³ as x·x·x: the Go backend's Pow goes through math.Pow and was 17% of a
			// training step's time in the GELU gradient.
			x3 := Mul(Mul(x, x), x)
			inner := MulScalar(Add(x, MulScalar(x3, 0.044715)), math.Sqrt(2/math.Pi))
			return Mul(MulScalar(x, 0.5), OnePlus(Tanh(inner)))
		},
		true)
	return out
}

// positions returns [s] int32 positions 0..s-1.
func positions(g *Graph, s int) *Node {
	return Iota(g, shapeOf(dtypes.Int32, s), 0)
}

// embed returns the input embeddings [b, s, m] of ids [b, s] at positions pos ([s] or
// [1, 1] for a decoding step), with BERT's token types and LayerNorm.
func (o *graphOps) embed(ids, typeIDs, pos *Node) *Node {
	n := o.c.ModelNames()
	x := Gather(o.w(n.TokenEmb+".weight"), InsertAxes(ids, -1))                     // [b, s, m]
	x = Add(x, InsertAxes(Gather(o.w(n.PosEmb+".weight"), InsertAxes(pos, -1)), 0)) // + [1, s, m]
	if o.c.Arch == BERT {
		if typeIDs == nil {
			typeIDs = ZerosLike(ids)
		}
		x = Add(x, Gather(o.w(n.TypeEmb+".weight"), InsertAxes(typeIDs, -1)))
		x = o.LayerNorm(x, n.EmbLN)
	}
	return o.Dropout(x)
}

// forward builds the whole model. ids, typeIDs, mask are [b, s] int32 (typeIDs and mask
// may be nil); rng may be nil when not training.
func forward(c Config, params map[string]*Node, lora map[string]float64, ids, typeIDs, mask, rng *Node, fo fwdOptions) fwdOut {
	g := ids.Graph()
	s := ids.Shape().Dimensions[1]
	if s > c.MaxPos {
		exceptions.Panicf("sequence of %d tokens is longer than the model's %d positions", s, c.MaxPos)
	}
	o := &graphOps{c: c, p: params, lora: lora, rng: rng, rate: fo.dropout, keep: fo.attentions}
	if c.Arch == GPT {
		o.mask = attention.CausalMask(g, s, s, 0) // [1, 1, s, s]
		if mask != nil {
			o.mask = attention.CombineMasks(o.mask, attention.PaddingMask(mask))
		}
	} else if mask != nil {
		o.mask = attention.PaddingMask(mask) // [b, 1, 1, s]
	}
	var out fwdOut
	x := o.embed(ids, typeIDs, positions(g, s))
	if fo.hidden {
		out.hidden = append(out.hidden, x)
	}
	for l := range c.Layers {
		x = Block(c, BlockOps[*Node](o), x, l)
		if fo.hidden {
			out.hidden = append(out.hidden, x)
		}
	}
	out.attentions = o.probs
	o.heads(x, fo, &out)
	out.rng = o.rng
	return out
}

// heads adds the output heads on top of the last block's output x [b, s, m].
func (o *graphOps) heads(x *Node, fo fwdOptions, out *fwdOut) {
	c, n := o.c, o.c.ModelNames()
	dense := func(x *Node, module string) *Node {
		return nn.Dense(x, o.w(module+".weight"), o.w(module+".bias"), compute.DenseLayoutOutputsInput)
	}
	if c.Arch == GPT {
		x = o.LayerNorm(x, n.FinalLN)
		out.last = x
		if !fo.noLogits {
			out.logits = Einsum("bsm,vm->bsv", x, o.w(n.TokenEmb+".weight")) // tied LM head, no bias
		}
		if _, ok := o.p[n.Classifier+".weight"]; ok {
			out.classes = Einsum("bsm,lm->bsl", x, o.w(n.Classifier+".weight")) // per position; the last real token decides
		}
		return
	}
	out.last = x
	if _, ok := o.p[n.MLMBias]; ok && !fo.noLogits {
		t := o.LayerNorm(o.Act(dense(x, n.MLMDense)), n.MLMLN)
		// Decoder tied to the word embeddings: t·Eᵀ + b.
		out.logits = nn.Dense(t, o.w(n.TokenEmb+".weight"), o.w(n.MLMBias), compute.DenseLayoutOutputsInput) // [b, s, v]
	}
	if _, ok := o.p[n.Pooler+".weight"]; ok {
		first := Squeeze(Slice(x, AxisRange(), AxisRange(0, 1)), 1) // [b, m]: the [CLS] token
		out.pooled = Tanh(dense(first, n.Pooler))
		if _, ok := o.p[n.Classifier+".weight"]; ok {
			out.classes = dense(o.Dropout(out.pooled), n.Classifier) // [b, labels]
		}
	}
	if _, ok := o.p[n.QA+".weight"]; ok {
		se := dense(x, n.QA) // [b, s, 2]
		out.qaStart = Squeeze(Slice(se, AxisRange(), AxisRange(), AxisRange(0, 1)), 2)
		out.qaEnd = Squeeze(Slice(se, AxisRange(), AxisRange(), AxisRange(1, 2)), 2)
	}
}

// decodeStep is one GPT-2 step of the KV-cache decoder for a single new token tok [1, 1]
// at position pos (int32 scalar), reading and updating the per-layer caches kc, vc
// [1, h, T, d]. The block is the same [Block] as the full forward; only attention differs:
// it writes the new key and value into the cache and attends to positions ≤ pos.
//
// The Go backend has no DynamicUpdateSlice, so the new key is written with a one-hot
// select over the time axis: cache = where(t == pos, k, cache). It costs one pass over the
// cache, the same order as attention itself.
func decodeStep(c Config, params map[string]*Node, lora map[string]float64, kc, vc []*Node, tok, pos *Node) (logits *Node, kcOut, vcOut []*Node) {
	T := kc[0].Shape().Dimensions[2]
	g := tok.Graph()
	at := Reshape(Equal(Iota(g, shapeOf(dtypes.Int32, T), 0), ConvertDType(pos, dtypes.Int32)), 1, 1, T, 1) // [1, 1, T, 1]
	o := &graphOps{c: c, p: params, lora: lora, cache: &graphCache{k: kc, v: vc, at: at}}
	o.mask = attention.CausalMaskAt(1, T, pos) // [1, 1, 1, T]: keys ≤ pos
	x := o.embed(tok, nil, Reshape(pos, 1))    // [1, 1, m]
	for l := range c.Layers {
		x = Block(c, BlockOps[*Node](o), x, l)
	}
	var out fwdOut
	o.heads(x, fwdOptions{}, &out)
	return Reshape(out.logits, c.VocabSize), o.outKV[0], o.outKV[1] // [v]
}

// crossEntropy returns the mean negative log-likelihood of labels [b, s] under logits
// [b, s, v], ignoring positions whose label is < 0 (Hugging Face's -100), and the number
// of counted positions.
func crossEntropy(logits, labels *Node) (loss, count *Node) {
	nll, valid := tokenNLL(logits, labels)
	count = ReduceAllSum(valid)
	loss = Div(ReduceAllSum(nll), Max(count, OnesLike(count)))
	return loss, count
}

// tokenNLL returns −log p(label) per position [b, s] (0 where the label is < 0) and the
// validity mask [b, s] as floats.
func tokenNLL(logits, labels *Node) (nll, valid *Node) {
	logp := LogSoftmax(logits, -1)                  // [b, s, v]
	ok := GreaterOrEqual(labels, ZerosLike(labels)) // [b, s]
	safe := Where(ok, labels, ZerosLike(labels))    // gather needs in-range ids
	valid = ConvertDType(ok, logits.DType())
	return Neg(Mul(pickLabels(logp, safe), valid)), valid
}

// pickLabels returns logp[b, s, labels[b, s]] as [b, s].
func pickLabels(logp, labels *Node) *Node {
	g := logp.Graph()
	dims := labels.Shape().Dimensions
	sh := shapeOf(dtypes.Int32, dims[0], dims[1], 1)
	idx := Concatenate([]*Node{Iota(g, sh, 0), Iota(g, sh, 1), InsertAxes(ConvertDType(labels, dtypes.Int32), -1)}, -1) // [b, s, 3]
	return Gather(logp, idx)                                                                                            // [b, s]
}

// rowNLL returns the mean negative log-likelihood of labels [b] under logits [b, k]
// (labels < 0 ignored) and the number counted.
func rowNLL(logits, labels *Node) (loss, count *Node) {
	return crossEntropy(InsertAxes(logits, 1), InsertAxes(labels, 1))
}

// Array is a float32 tensor in plain Go: row-major Data with its Shape. An Array returned
// by [Model.Forward] is a view of the backend's output buffer, not a copy.
type Array struct {
	Shape []int
	Data  []float32

	owner *tensors.Tensor // keeps the backend buffer Data points into alive
}

// At returns the element at the given indices.
func (a *Array) At(idx ...int) float32 {
	off := 0
	for i, x := range idx {
		off = off*a.Shape[i] + x
	}
	for i := len(idx); i < len(a.Shape); i++ {
		off *= a.Shape[i]
	}
	return a.Data[off]
}

// Row returns the contiguous last-axis slice at the given leading indices.
func (a *Array) Row(idx ...int) []float32 {
	n := a.Shape[len(a.Shape)-1]
	off := 0
	for i, x := range idx {
		off = off*a.Shape[i] + x
	}
	return a.Data[off*n : (off+1)*n]
}

// Matrix returns the 2-D slice [rows][cols] of the last two axes at the leading indices,
// as float64 (what viz and the lessons take).
func (a *Array) Matrix(idx ...int) [][]float64 {
	r, c := a.Shape[len(a.Shape)-2], a.Shape[len(a.Shape)-1]
	off := 0
	for i, x := range idx {
		off = off*a.Shape[i] + x
	}
	out := make([][]float64, r)
	for i := range out {
		out[i] = make([]float64, c)
		for j := range out[i] {
			out[i][j] = float64(a.Data[off*r*c+i*c+j])
		}
	}
	return out
}

// arrayOf views a float32 output tensor as an Array without copying it.
func arrayOf(t *tensors.Tensor) *Array {
	a := &Array{Shape: t.Shape().Dimensions, owner: t}
	tensors.MustConstFlatData(t, func(data []float32) { a.Data = data })
	return a
}

// crop returns a with the axes in axes cut to length n (a view when only the outermost
// non-unit axis is cut, a copy otherwise).
func (a *Array) crop(n int, axes ...int) *Array {
	shape := append([]int(nil), a.Shape...)
	for _, ax := range axes {
		shape[ax] = n
	}
	if equalInts(shape, a.Shape) {
		return a
	}
	// A prefix view works when every axis before the first cut one has length 1 and only
	// that axis is cut.
	if len(axes) == 1 {
		lead := true
		for i := 0; i < axes[0]; i++ {
			lead = lead && a.Shape[i] == 1
		}
		if lead {
			return &Array{Shape: shape, Data: a.Data[:shapeSize(shape)], owner: a.owner}
		}
	}
	out := &Array{Shape: shape, Data: make([]float32, shapeSize(shape))}
	idx := make([]int, len(shape))
	for i := range out.Data {
		off := 0
		for d := range shape {
			off = off*a.Shape[d] + idx[d]
		}
		out.Data[i] = a.Data[off]
		for d := len(shape) - 1; d >= 0; d-- {
			if idx[d]++; idx[d] < shape[d] {
				break
			}
			idx[d] = 0
		}
	}
	return out
}

// Batch is a rectangular batch of token ids. TypeIDs (BERT segments) and Mask
// (1 = token, 0 = padding) may be nil.
type Batch struct {
	IDs     [][]int
	TypeIDs [][]int
	Mask    [][]int
}

// PadBatch right-pads sequences with padID to the longest length and builds the mask.
func PadBatch(seqs [][]int, padID int) Batch {
	n := 0
	for _, s := range seqs {
		n = max(n, len(s))
	}
	b := Batch{IDs: make([][]int, len(seqs)), Mask: make([][]int, len(seqs))}
	for i, s := range seqs {
		b.IDs[i] = make([]int, n)
		b.Mask[i] = make([]int, n)
		for j := range n {
			if j < len(s) {
				b.IDs[i][j], b.Mask[i][j] = s[j], 1
			} else {
				b.IDs[i][j] = padID
			}
		}
	}
	return b
}

func (b Batch) check(c Config) (rows, cols int, err error) {
	rows = len(b.IDs)
	if rows == 0 || len(b.IDs[0]) == 0 {
		return 0, 0, fmt.Errorf("empty batch")
	}
	cols = len(b.IDs[0])
	if cols > c.MaxPos {
		return 0, 0, fmt.Errorf("sequence of %d tokens exceeds the model's %d positions", cols, c.MaxPos)
	}
	for _, m := range []struct {
		name string
		v    [][]int
	}{{"ids", b.IDs}, {"type ids", b.TypeIDs}, {"mask", b.Mask}} {
		if m.v == nil {
			continue
		}
		if len(m.v) != rows {
			return 0, 0, fmt.Errorf("%s has %d rows, ids has %d", m.name, len(m.v), rows)
		}
		for i, r := range m.v {
			if len(r) != cols {
				return 0, 0, fmt.Errorf("%s row %d has %d entries, want %d (pad the batch)", m.name, i, len(r), cols)
			}
		}
	}
	for i, r := range b.IDs {
		for j, id := range r {
			if id < 0 || id >= c.VocabSize {
				return 0, 0, fmt.Errorf("token id %d at [%d,%d] is outside the vocabulary [0,%d)", id, i, j, c.VocabSize)
			}
		}
	}
	for i, r := range b.TypeIDs {
		for j, id := range r {
			if id < 0 || id >= max(c.TypeVocab, 1) {
				return 0, 0, fmt.Errorf("token type %d at [%d,%d] is outside [0,%d)", id, i, j, max(c.TypeVocab, 1))
			}
		}
	}
	return rows, cols, nil
}

// padTo returns the batch right-padded to n columns (padding masked out).
func (b Batch) padTo(n, padID int) Batch {
	cols := len(b.IDs[0])
	if n == cols {
		return b
	}
	ext := func(rows [][]int, fill int) [][]int {
		if rows == nil {
			return nil
		}
		out := make([][]int, len(rows))
		for i, r := range rows {
			out[i] = make([]int, n)
			copy(out[i], r)
			for j := cols; j < n; j++ {
				out[i][j] = fill
			}
		}
		return out
	}
	mask := b.Mask
	if mask == nil {
		mask = make([][]int, len(b.IDs))
		for i := range mask {
			mask[i] = make([]int, cols)
			for j := range mask[i] {
				mask[i][j] = 1
			}
		}
	}
	return Batch{IDs: ext(b.IDs, padID), TypeIDs: ext(b.TypeIDs, 0), Mask: ext(mask, 0)}
}

func int32Tensor(m [][]int) *tensors.Tensor {
	rows, cols := len(m), len(m[0])
	flat := make([]int32, 0, rows*cols)
	for _, r := range m {
		for _, v := range r {
			flat = append(flat, int32(v))
		}
	}
	return tensors.FromFlatDataAndDimensions(flat, rows, cols)
}

// Bucket is the granularity, in tokens, of the lengths [Model.Forward] pads its inputs
// to. GoMLX compiles one graph per input shape (seconds for bert-base); padding every
// input to a multiple of Bucket (at most the model's positions) keeps a model to ≤ 16
// shapes for 512 positions and lets texts of similar length reuse one graph. Padding is
// masked out of attention, so the outputs of the real tokens do not change, and the
// outputs are cut back to the input's length.
const Bucket = 32

// ForwardOptions selects the outputs of [Model.Forward]. By default it returns the logits
// (when the model has an LM/MLM head), the last hidden state and the task heads' outputs.
type ForwardOptions struct {
	Attentions   bool // every layer's attention probabilities [b, h, s, s]
	HiddenStates bool // embeddings output and every layer's output [b, s, m]
	SkipLogits   bool // do not compute the vocabulary logits (features, classification)
	NoBucket     bool // run the exact input length instead of padding it to a multiple of Bucket
}

// Output is what a forward pass returns. Fields a model or the options do not produce are nil.
type Output struct {
	Logits       *Array   // [b, s, vocab]: next-token (GPT) or masked-token (BERT) logits
	LastHidden   *Array   // [b, s, m]
	HiddenStates []*Array // layers+1 × [b, s, m]
	Attentions   []*Array // layers × [b, h, s, s]
	Pooled       *Array   // BERT [b, m]
	QAStart      *Array   // [b, s]
	QAEnd        *Array   // [b, s]
	Classes      *Array   // [b, labels] (BERT) or [b, s, labels] (GPT)
}

// Forward runs the model on a batch (no dropout). The batch is padded to a multiple of
// [Bucket] tokens (see there) and the outputs are cut back to its length; they are views of
// the backend's buffers, not copies.
func (m *Model) Forward(b Batch, o ForwardOptions) (*Output, error) {
	_, cols, err := b.check(m.Config)
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	if m.Config.Arch == GPT {
		b.TypeIDs = nil
	}
	run := b
	if !o.NoBucket {
		n := max(cols, min(m.Config.MaxPos, (cols+Bucket-1)/Bucket*Bucket))
		run = b.padTo(n, m.Config.PadID)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	names := m.Weights.Names()
	lora := m.loraScales()
	hasType, hasMask := run.TypeIDs != nil, run.Mask != nil
	key := fmt.Sprintf("fwd/%v/%v/%v/%v/%v/%d", o.Attentions, o.HiddenStates, o.SkipLogits, hasType, hasMask, m.Weights.layout())
	e, err := m.exec(key, func(be compute.Backend) (*Exec, error) {
		return NewExec(be, func(in []*Node) []*Node {
			p := paramNodes(names, in)
			rest := in[len(names):]
			ids := rest[0]
			var typeIDs, mask *Node
			k := 1
			if hasType {
				typeIDs, k = rest[k], k+1
			}
			if hasMask {
				mask = rest[k]
			}
			out := forward(m.Config, p, lora, ids, typeIDs, mask, nil, fwdOptions{attentions: o.Attentions, hidden: o.HiddenStates, noLogits: o.SkipLogits})
			return collectOutputs(out)
		})
	})
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	args := make([]any, 0, len(names)+3)
	for _, t := range m.Weights.tensorList(names) {
		args = append(args, t)
	}
	args = append(args, int32Tensor(run.IDs))
	if hasType {
		args = append(args, int32Tensor(run.TypeIDs))
	}
	if hasMask {
		args = append(args, int32Tensor(run.Mask))
	}
	res, err := execute(e, args)
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	out := unpackOutputs(m.Config, m.Heads(), o, res)
	if n := len(run.IDs[0]); n != cols {
		out.cropTo(m.Config, cols)
	}
	return out, nil
}

// cropTo cuts every sequence axis of the outputs back to n tokens.
func (out *Output) cropTo(c Config, n int) {
	crop := func(a *Array, axes ...int) *Array {
		if a == nil {
			return nil
		}
		return a.crop(n, axes...)
	}
	out.Logits = crop(out.Logits, 1)
	out.LastHidden = crop(out.LastHidden, 1)
	for i := range out.HiddenStates {
		out.HiddenStates[i] = crop(out.HiddenStates[i], 1)
	}
	for i := range out.Attentions {
		out.Attentions[i] = crop(out.Attentions[i], 2, 3)
	}
	out.QAStart, out.QAEnd = crop(out.QAStart, 1), crop(out.QAEnd, 1)
	if c.Arch == GPT {
		out.Classes = crop(out.Classes, 1)
	}
}

// collectOutputs flattens fwdOut into a node list in a fixed order (see unpackOutputs).
func collectOutputs(o fwdOut) []*Node {
	var out []*Node
	for _, n := range []*Node{o.logits, o.last, o.pooled, o.qaStart, o.qaEnd, o.classes} {
		if n != nil {
			out = append(out, n)
		}
	}
	out = append(out, o.hidden...)
	out = append(out, o.attentions...)
	return out
}

func unpackOutputs(c Config, h HeadSet, o ForwardOptions, res []*tensors.Tensor) *Output {
	out := &Output{}
	i := 0
	next := func() *Array { a := arrayOf(res[i]); i++; return a }
	if (c.Arch == GPT || h.MLM) && !o.SkipLogits {
		out.Logits = next()
	}
	out.LastHidden = next()
	if c.Arch == BERT && (h.Pooler || h.Classifier) {
		out.Pooled = next()
	}
	if h.QA {
		out.QAStart, out.QAEnd = next(), next()
	}
	if h.Classifier {
		out.Classes = next()
	}
	if o.HiddenStates {
		for range c.Layers + 1 {
			out.HiddenStates = append(out.HiddenStates, next())
		}
	}
	if o.Attentions {
		for range c.Layers {
			out.Attentions = append(out.Attentions, next())
		}
	}
	return out
}

// exec returns the cached executable for key, building it with build on first use. The
// caller holds m.mu.
func (m *Model) exec(key string, build func(be compute.Backend) (*Exec, error)) (*Exec, error) {
	if e, ok := m.execs[key]; ok {
		return e, nil
	}
	be, err := backend.Get()
	if err != nil {
		return nil, err
	}
	var e *Exec
	err = backend.Catch(func() error {
		var err error
		e, err = build(be)
		return err
	})
	if err != nil {
		return nil, err
	}
	// Each new input shape compiles a graph; GoMLX refuses a 33rd by default, which a
	// notebook session with many different sentence lengths reaches.
	e.SetMaxCache(-1)
	if m.execs == nil {
		m.execs = map[string]*Exec{}
	}
	m.execs[key] = e
	return e, nil
}

// execute runs e on args, turning a GoMLX panic into an error.
func execute(e *Exec, args []any) (res []*tensors.Tensor, err error) {
	err = backend.Catch(func() error {
		var e2 error
		res, e2 = e.Exec(args...)
		return e2
	})
	return res, err
}

// paramNodes maps names to the first len(names) graph inputs.
func paramNodes(names []string, in []*Node) map[string]*Node {
	p := make(map[string]*Node, len(names))
	for i, n := range names {
		p[n] = in[i]
	}
	return p
}

func shapeOf(dt dtypes.DType, dims ...int) shapes.Shape { return shapes.Make(dt, dims...) }
