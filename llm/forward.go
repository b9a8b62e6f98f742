package llm

import (
	"fmt"

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
	encLast    *Node   // BART: the encoder's output [b, s, m]
	cross      []*Node // BART: decoder layers × [b, h, t, s]
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

	memory  *Node   // BART decoder: the encoder's output [b, s, m]
	memMask *Node   // its padding mask
	cross   []*Node // cross-attention probabilities per decoder layer, when keep
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
	y := denseLayer(x, o.w(module+".weight"), o.w(module+".bias"), layout)
	if scale, ok := o.lora[module]; ok {
		a, b := o.w(module+loraA), o.w(module+loraB)                                           // [r, in], [out, r]
		low := denseLayer(x, a, nil, compute.DenseLayoutOutputsInput)                          // [.., r]
		y = Add(y, MulScalar(denseLayer(low, b, nil, compute.DenseLayoutOutputsInput), scale)) // [.., out]
	}
	return y
}

// denseLayer is nn.Dense (x·W + b, the backend's fused op when it has one) whose gradient is
// taken from a DotGeneral on x's own axes instead of nn.Dense's decomposed form, which
// reshaped x, the output gradient and the input gradient between [b, s, ·] and [b·s, ·]:
// three copies per layer and step on the Go backend, whose Reshape copies any buffer still
// in use.
func denseLayer(x, w, b *Node, layout compute.DenseLayout) *Node {
	out, _ := InternalFusedOpCaller(
		func() *Node { return BackendFusedDense(x, w, b, compute.DenseConfig{WeightLayout: layout}) },
		func() *Node { return denseDot(x, w, b, layout) },
		true)
	return out
}

// denseDot is x·W + b as one DotGeneral over x's last axis and a broadcast bias add.
func denseDot(x, w, b *Node, layout compute.DenseLayout) *Node {
	wIn := 0 // W's input axis: [in, out] or [out, in]
	if layout == compute.DenseLayoutOutputsInput {
		wIn = 1
	}
	y := Dot(x, w).General([]int{x.Rank() - 1}, nil, []int{wIn}, nil) // [..., out]
	if b != nil {
		y = Add(y, ExpandLeftToRank(b, y.Rank()))
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
	parts := splitLastAxis(qkv, 3)
	return parts[0], parts[1], parts[2]
}

// splitLastAxis cuts x [.., n·w] into n slices [.., w] whose gradient with respect to x is
// the concatenation of theirs. Differentiating the slices instead padded each slice's
// gradient back to x's shape with zeros and added the n pads (for q, k, v: three [.., 3m]
// pads and two adds per layer, against one concatenation).
//
// Each slice is an identity with a custom gradient that records the slice's gradient; the
// slices are cut from an identity of x whose custom gradient returns the concatenation of
// the recorded ones (zeros for a slice no gradient reached). Reverse-mode autodiff visits
// the slices' identities, created later, before x's, and the slices' own pads, which x's
// gradient ignores, are never computed.
func splitLastAxis(x *Node, n int) []*Node {
	axis := x.Rank() - 1
	w := x.Shape().Dimensions[axis] / n
	grads := make([]*Node, n)
	var slices []*Node
	xi := IdentityWithCustomGradient(x, func(_, _ *Node) *Node {
		parts := make([]*Node, n)
		for i := range n {
			parts[i] = grads[i]
			if parts[i] == nil {
				parts[i] = ZerosLike(slices[i])
			}
		}
		return Concatenate(parts, axis)
	})
	for i := range n {
		s := SliceAxis(xi, axis, AxisRange(i*w, (i+1)*w))
		slices = append(slices, IdentityWithCustomGradient(s, func(_, g *Node) *Node {
			grads[i] = g
			return g
		}))
	}
	return slices
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
// the backend has it. The fused op's gradient is [geluTanhGrad] (15 element-wise ops),
// attached to an identity of x that stands in for the fused node in the backward pass;
// differentiating the decomposed formula instead took about 22 ops, with x², x³ and the
// tanh recomputed.
func geluTanh(x *Node) *Node {
	out, fused := InternalFusedOpCaller(
		func() *Node { return BackendFusedGelu(x, false) },
		func() *Node {
			return IdentityWithCustomGradient(x, func(_, v *Node) *Node { return Mul(v, geluTanhGrad(x)) }) // x itself, not the identity: the identity is never computed
		},
		true)
	if !fused {
		return geluTanhDecomposed(x)
	}
	return out
}

// geluTanhDecomposed is gelu_new in primitive ops (backends without the fused op).
func geluTanhDecomposed(x *Node) *Node {
	// x³ as x·x·x: the Go backend's Pow goes through math.Pow and was 17% of a training
	// step's time in the GELU gradient.
	x3 := Mul(Mul(x, x), x)
	inner := MulScalar(Add(x, MulScalar(x3, geluA)), geluC)
	return Mul(MulScalar(x, 0.5), OnePlus(Tanh(inner)))
}

// gelu_new's constants: inner = c·(x + a·x³).
const (
	geluA = 0.044715
	geluC = 0.7978845608028654 // √(2/π)
)

// geluTanhGrad is d gelu_new/dx. With t = tanh(c·(x + a·x³)):
//
//	gelu' = ½(1+t) + ½x·(1−t²)·c·(1+3a·x²) = ½(1+t)·(1 + (1−t)·x·(c + 3ca·x²))
func geluTanhGrad(x *Node) *Node {
	u := Mul(x, x)
	t := Tanh(Mul(x, AddScalar(MulScalar(u, geluC*geluA), geluC)))
	r := Mul(x, AddScalar(MulScalar(u, 3*geluC*geluA), geluC))
	return MulScalar(Mul(OnePlus(t), OnePlus(Mul(OneMinus(t), r))), 0.5)
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

// forward builds the whole model on the batch b (see [batchNodes]); rng may be nil when
// not training.
func forward(c Config, params map[string]*Node, lora map[string]float64, b batchNodes, rng *Node, fo fwdOptions) fwdOut {
	if c.Arch == BART {
		return forwardBART(c, params, lora, b, rng, fo)
	}
	ids, mask := b.ids, b.mask
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
	x := o.embed(ids, b.typeIDs, positions(g, s))
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
		return denseLayer(x, o.w(module+".weight"), o.w(module+".bias"), compute.DenseLayoutOutputsInput)
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
		out.logits = denseLayer(t, o.w(n.TokenEmb+".weight"), o.w(n.MLMBias), compute.DenseLayoutOutputsInput) // [b, s, v]
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
	ok := GreaterOrEqual(labels, ZerosLike(labels)) // [b, s]
	safe := Where(ok, labels, ZerosLike(labels))    // gather needs in-range ids
	valid = ConvertDType(ok, logits.DType())
	return Neg(Mul(labelLogProbs(logits, safe), valid)), valid
}

// labelLogProbs returns log softmax(logits)[b, s, labels[b, s]] as [b, s], labels in range.
//
// With the backend's fused softmax p it is log(p[label]) and its gradient is written out:
// ∂/∂logits = g ⊙ (onehot(label) − p), one broadcast product and a scatter of −g at the
// labels into it. Differentiating log-softmax + gather instead took about eight passes over
// [b, s, v] (max, subtract, exp, sum, log, subtract; then a zero-filled scatter, the
// softmax product and their sum). p[label] is clamped at the smallest normal float32, so a
// position's loss is at most 87.3 (about e^87 times less likely than the top token) instead
// of +Inf; the gradient is exact there too.
func labelLogProbs(logits, labels *Node) *Node {
	idx := labelIndices(labels)
	var p *Node
	out, fused := InternalFusedOpCaller(
		func() *Node {
			p = BackendFusedSoftmax(logits, logits.Rank()-1)
			tiny := Scalar(logits.Graph(), logits.DType(), 1.1754943508222875e-38)
			return Log(Max(Gather(p, idx), tiny))
		},
		func() *Node {
			// The value of this path is never used: only its gradient, ReduceSum's VJP
			// handing g broadcast over [b, s, v] to the identity's custom gradient.
			xi := IdentityWithCustomGradient(logits, func(_, v *Node) *Node {
				g := Slice(v, AxisRange(), AxisRange(), AxisRange(0, 1)) // [b, s, 1]
				if in := v.Inputs(); v.Type() == NodeTypeBroadcastInDim && len(in) == 1 && in[0].Shape().Equal(g.Shape()) {
					g = in[0] // g itself: the broadcast is then never computed.
				}
				grad := Mul(p, Neg(g))                                   // −g·p
				return ScatterSum(grad, idx, Squeeze(g, -1), true, true) // + g at the labels
			})
			return ReduceSum(xi, -1)
		},
		true)
	if !fused {
		return Gather(LogSoftmax(logits, -1), idx)
	}
	return out
}

// labelIndices returns the gather indices [b, s, 3] of logits[b, s, labels[b, s]].
func labelIndices(labels *Node) *Node {
	g := labels.Graph()
	dims := labels.Shape().Dimensions
	sh := shapeOf(dtypes.Int32, dims[0], dims[1], 1)
	return Concatenate([]*Node{Iota(g, sh, 0), Iota(g, sh, 1), InsertAxes(ConvertDType(labels, dtypes.Int32), -1)}, -1) // [b, s, 3]
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

// cropAxes returns a with some axes cut shorter: lens holds (axis, length) pairs. It is a
// view when only one axis is cut and every axis before it has length 1, a copy otherwise.
func (a *Array) cropAxes(lens ...int) *Array {
	shape := append([]int(nil), a.Shape...)
	var cut []int
	for i := 0; i+1 < len(lens); i += 2 {
		if lens[i+1] < shape[lens[i]] {
			shape[lens[i]] = lens[i+1]
			cut = append(cut, lens[i])
		}
	}
	if len(cut) == 0 {
		return a
	}
	if len(cut) == 1 {
		lead := true
		for i := 0; i < cut[0]; i++ {
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
// (1 = token, 0 = padding) may be nil. An encoder-decoder (BART) also takes the decoder's
// input ids (DecoderIDs, starting with Config.DecoderStartID) and their mask.
type Batch struct {
	IDs     [][]int
	TypeIDs [][]int
	Mask    [][]int

	DecoderIDs  [][]int
	DecoderMask [][]int
}

// DecoderIDs0 returns the first decoder row (nil without decoder inputs).
func (b Batch) DecoderIDs0() []int {
	if len(b.DecoderIDs) == 0 {
		return nil
	}
	return b.DecoderIDs[0]
}

// signature names the inputs a batch feeds to a graph (one compiled graph per signature).
func (b Batch) signature(c Config) string {
	return fmt.Sprintf("type=%v/mask=%v/dec=%v", b.TypeIDs != nil && c.Arch == BERT, b.Mask != nil, c.Arch == BART)
}

// inputs returns the batch's tensors in graph order: ids, [type ids], [mask], and for BART
// the decoder ids and mask.
func (b Batch) inputs(c Config) []any {
	args := []any{int32Tensor(b.IDs)}
	if b.TypeIDs != nil && c.Arch == BERT {
		args = append(args, int32Tensor(b.TypeIDs))
	}
	if b.Mask != nil {
		args = append(args, int32Tensor(b.Mask))
	}
	if c.Arch == BART {
		mask := b.DecoderMask
		if mask == nil {
			mask = onesLike(b.DecoderIDs)
		}
		args = append(args, int32Tensor(b.DecoderIDs), int32Tensor(mask))
	}
	return args
}

func onesLike(rows [][]int) [][]int {
	out := make([][]int, len(rows))
	for i, r := range rows {
		out[i] = make([]int, len(r))
		for j := range out[i] {
			out[i][j] = 1
		}
	}
	return out
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
	if c.Arch != BART {
		if b.DecoderIDs != nil {
			return 0, 0, fmt.Errorf("decoder ids given to a %s model (only encoder-decoders take them)", c.Arch)
		}
		return rows, cols, nil
	}
	if len(b.DecoderIDs) != rows || len(b.DecoderIDs[0]) == 0 {
		return 0, 0, fmt.Errorf("an encoder-decoder needs decoder ids for each of the %d rows", rows)
	}
	t := len(b.DecoderIDs[0])
	if t > c.MaxPos {
		return 0, 0, fmt.Errorf("decoder sequence of %d tokens exceeds the model's %d positions", t, c.MaxPos)
	}
	for i, r := range b.DecoderIDs {
		if len(r) != t || (b.DecoderMask != nil && (len(b.DecoderMask) != rows || len(b.DecoderMask[i]) != t)) {
			return 0, 0, fmt.Errorf("decoder row %d has %d entries, want %d (pad the batch)", i, len(r), t)
		}
		for j, id := range r {
			if id < 0 || id >= c.VocabSize {
				return 0, 0, fmt.Errorf("decoder token id %d at [%d,%d] is outside the vocabulary [0,%d)", id, i, j, c.VocabSize)
			}
		}
	}
	return rows, cols, nil
}

// padTo returns the batch right-padded to n columns (and its decoder rows to t), with
// the padding masked out.
func (b Batch) padTo(n, t, padID int) Batch {
	ext := func(rows [][]int, to, fill int) [][]int {
		if rows == nil || len(rows[0]) == to {
			return rows
		}
		out := make([][]int, len(rows))
		for i, r := range rows {
			out[i] = make([]int, to)
			copy(out[i], r)
			for j := len(r); j < to; j++ {
				out[i][j] = fill
			}
		}
		return out
	}
	out := b
	if n != len(b.IDs[0]) {
		mask := b.Mask
		if mask == nil {
			mask = onesLike(b.IDs)
		}
		out.IDs, out.TypeIDs, out.Mask = ext(b.IDs, n, padID), ext(b.TypeIDs, n, 0), ext(mask, n, 0)
	}
	if b.DecoderIDs != nil && t != len(b.DecoderIDs[0]) {
		mask := b.DecoderMask
		if mask == nil {
			mask = onesLike(b.DecoderIDs)
		}
		out.DecoderIDs, out.DecoderMask = ext(b.DecoderIDs, t, padID), ext(mask, t, 0)
	}
	return out
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

	// Encoder-decoders (BART): the sequence axes of Logits, LastHidden and the decoder's
	// entries of Attentions / HiddenStates are the decoder's (t); Attentions lists the
	// encoder's self-attention first, then the decoder's.
	EncoderLast     *Array   // [b, s, m]: the encoder's output
	CrossAttentions []*Array // decoder layers × [b, h, t, s]: each target token over the source tokens
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
		bucket := func(n int) int { return max(n, min(m.Config.MaxPos, (n+Bucket-1)/Bucket*Bucket)) }
		run = b.padTo(bucket(cols), bucket(len(b.DecoderIDs0())), m.Config.PadID)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	names := m.Weights.Names()
	lora := m.loraScales()
	c := m.Config
	sig := run.signature(c)
	key := fmt.Sprintf("fwd/%v/%v/%v/%s/%d", o.Attentions, o.HiddenStates, o.SkipLogits, sig, m.Weights.layout())
	e, err := m.exec(key, func(be compute.Backend) (*Exec, error) {
		return NewExec(be, func(in []*Node) []*Node {
			b, _ := takeBatch(in[len(names):], sig, c, "")
			out := forward(c, paramNodes(names, in), lora, b, nil, fwdOptions{attentions: o.Attentions, hidden: o.HiddenStates, noLogits: o.SkipLogits})
			return collectOutputs(out)
		})
	})
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	args := make([]any, 0, len(names)+5)
	for _, t := range m.Weights.tensorList(names) {
		args = append(args, t)
	}
	args = append(args, run.inputs(c)...)
	res, err := execute(e, args)
	if err != nil {
		return nil, fmt.Errorf("forward: %w", err)
	}
	out := unpackOutputs(m.Config, m.Heads(), o, res)
	out.cropTo(m.Config, cols, len(b.DecoderIDs0()))
	return out, nil
}

// cropTo cuts every sequence axis of the outputs back to n tokens (t for a BART decoder's
// axes).
func (out *Output) cropTo(c Config, n, t int) {
	crop := func(a *Array, lens ...int) *Array { // lens: axis, length pairs
		if a == nil {
			return nil
		}
		return a.cropAxes(lens...)
	}
	q := n // the query axis: the decoder's for BART
	if c.Arch == BART {
		q = t
	}
	out.Logits = crop(out.Logits, 1, q)
	out.LastHidden = crop(out.LastHidden, 1, q)
	out.EncoderLast = crop(out.EncoderLast, 1, n)
	for i := range out.HiddenStates {
		l := q
		if c.Arch == BART && i <= c.Layers {
			l = n
		}
		out.HiddenStates[i] = crop(out.HiddenStates[i], 1, l)
	}
	for i := range out.Attentions {
		l := n
		if c.Arch == BART && i >= c.Layers {
			l = t
		}
		out.Attentions[i] = crop(out.Attentions[i], 2, l, 3, l)
	}
	for i := range out.CrossAttentions {
		out.CrossAttentions[i] = crop(out.CrossAttentions[i], 2, t, 3, n)
	}
	out.QAStart, out.QAEnd = crop(out.QAStart, 1, n), crop(out.QAEnd, 1, n)
	if c.Arch == GPT {
		out.Classes = crop(out.Classes, 1, n)
	}
}

// collectOutputs flattens fwdOut into a node list in a fixed order (see unpackOutputs).
func collectOutputs(o fwdOut) []*Node {
	var out []*Node
	for _, n := range []*Node{o.logits, o.last, o.encLast, o.pooled, o.qaStart, o.qaEnd, o.classes} {
		if n != nil {
			out = append(out, n)
		}
	}
	out = append(out, o.hidden...)
	out = append(out, o.attentions...)
	return append(out, o.cross...)
}

func unpackOutputs(c Config, h HeadSet, o ForwardOptions, res []*tensors.Tensor) *Output {
	out := &Output{}
	i := 0
	next := func() *Array { a := arrayOf(res[i]); i++; return a }
	if (c.Arch != BERT || h.MLM) && !o.SkipLogits {
		out.Logits = next()
	}
	out.LastHidden = next()
	if c.Arch == BART {
		out.EncoderLast = next()
	}
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
		n := c.Layers + 1
		if c.Arch == BART {
			n = c.Blocks() + 2 // each stack's embeddings, then its blocks
		}
		for range n {
			out.HiddenStates = append(out.HiddenStates, next())
		}
	}
	if o.Attentions {
		for range c.Blocks() {
			out.Attentions = append(out.Attentions, next())
		}
		for range c.DecLayers {
			out.CrossAttentions = append(out.CrossAttentions, next())
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
