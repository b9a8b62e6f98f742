package llm

import (
	"fmt"
	"math"

	"github.com/divellm/divellm/llm/attention"
	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads best unqualified, as in GoMLX.
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/nn"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Axis legend: b batch, s sequence, m model width, h heads, d head width, f feed-forward
// width, v vocabulary.

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
	classes    *Node   // [b, labels]
	rng        *Node   // updated RNG state (dropout)
}

// net carries the parameter nodes and the dropout RNG through graph building.
type net struct {
	c   Config
	p   map[string]*Node
	rng *Node
	o   fwdOptions
}

func (n *net) w(name string) *Node {
	x, ok := n.p[name]
	if !ok {
		exceptions.Panicf("parameter %q is missing", name)
	}
	return x
}

// linearOI is a Hugging Face nn.Linear: x·Wᵀ + b with W [out, in].
func (n *net) linearOI(x *Node, prefix string) *Node {
	return nn.Dense(x, n.w(prefix+".weight"), n.w(prefix+".bias"), compute.DenseLayoutOutputsInput)
}

// conv1D is GPT-2's Conv1D: x·W + b with W [in, out].
func (n *net) conv1D(x *Node, prefix string) *Node {
	return nn.Dense(x, n.w(prefix+".weight"), n.w(prefix+".bias"), compute.DenseLayoutInputOutputs)
}

func (n *net) layerNorm(x *Node, prefix string) *Node {
	return nn.LayerNorm(x, []int{-1}, n.c.LayerNormE, n.w(prefix+".weight"), n.w(prefix+".bias"), nil)
}

func (n *net) act(x *Node) *Node {
	if n.c.Activation == "gelu" {
		return activation.Gelu(x) // x·Φ(x) with the exact erf
	}
	return geluTanh(x)
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

// dropout zeroes each value with probability rate and scales the rest by 1/(1-rate).
func (n *net) dropout(x *Node) *Node {
	if n.o.dropout <= 0 || n.rng == nil {
		return x
	}
	var u *Node
	n.rng, u = RandomUniform(n.rng, x.Shape())
	keep := GreaterOrEqual(u, Scalar(x.Graph(), x.DType(), n.o.dropout))
	return Where(keep, MulScalar(x, 1/(1-n.o.dropout)), ZerosLike(x))
}

// positions returns [s] int32 positions offset..offset+s-1.
func positions(g *Graph, s int) *Node {
	return Iota(g, shapeOf(dtypes.Int32, s), 0)
}

// forward builds the whole model. ids, typeIDs, mask are [b, s] int32 (typeIDs and mask
// may be nil); rng may be nil when not training.
func forward(c Config, params map[string]*Node, ids, typeIDs, mask, rng *Node, o fwdOptions) fwdOut {
	n := &net{c: c, p: params, rng: rng, o: o}
	var out fwdOut
	if c.Arch == BERT {
		n.bert(ids, typeIDs, mask, &out)
	} else {
		n.gpt(ids, mask, &out)
	}
	out.rng = n.rng
	return out
}

// attend runs multi-head attention on q, k, v [b, s, m] and returns [b, s, m] and probs.
func (n *net) attend(q, k, v, mask *Node) (*Node, *Node) {
	h := n.c.Heads
	ctx, probs := attention.ScaledDotProduct(
		attention.SplitHeads(q, h), attention.SplitHeads(k, h), attention.SplitHeads(v, h), mask) // [b, h, s, d]
	return attention.MergeHeads(ctx), probs // [b, s, m], [b, h, s, s]
}

func (n *net) bert(ids, typeIDs, mask *Node, out *fwdOut) {
	g := ids.Graph()
	s := ids.Shape().Dimensions[1]
	if s > n.c.MaxPos {
		exceptions.Panicf("sequence of %d tokens is longer than max_position_embeddings %d", s, n.c.MaxPos)
	}
	x := Gather(n.w("bert.embeddings.word_embeddings.weight"), InsertAxes(ids, -1))                                       // [b, s, m]
	x = Add(x, InsertAxes(Gather(n.w("bert.embeddings.position_embeddings.weight"), InsertAxes(positions(g, s), -1)), 0)) // + [1, s, m]
	if typeIDs == nil {
		typeIDs = ZerosLike(ids)
	}
	x = Add(x, Gather(n.w("bert.embeddings.token_type_embeddings.weight"), InsertAxes(typeIDs, -1)))
	x = n.dropout(n.layerNorm(x, "bert.embeddings.LayerNorm"))
	var attnMask *Node
	if mask != nil {
		attnMask = attention.PaddingMask(mask) // [b, 1, 1, s]
	}
	if n.o.hidden {
		out.hidden = append(out.hidden, x)
	}
	for l := range n.c.Layers {
		p := fmt.Sprintf("bert.encoder.layer.%d.", l)
		q := n.linearOI(x, p+"attention.self.query")
		k := n.linearOI(x, p+"attention.self.key")
		v := n.linearOI(x, p+"attention.self.value")
		ctx, probs := n.attend(q, k, v, attnMask)
		if n.o.attentions {
			out.attentions = append(out.attentions, probs)
		}
		a := n.dropout(n.linearOI(ctx, p+"attention.output.dense"))
		x = n.layerNorm(Add(x, a), p+"attention.output.LayerNorm") // post-LN
		f := n.act(n.linearOI(x, p+"intermediate.dense"))          // [b, s, f]
		f = n.dropout(n.linearOI(f, p+"output.dense"))             // [b, s, m]
		x = n.layerNorm(Add(x, f), p+"output.LayerNorm")
		if n.o.hidden {
			out.hidden = append(out.hidden, x)
		}
	}
	out.last = x
	if _, ok := n.p["cls.predictions.bias"]; ok && !n.o.noLogits {
		t := n.act(n.linearOI(x, "cls.predictions.transform.dense"))
		t = n.layerNorm(t, "cls.predictions.transform.LayerNorm")
		// Decoder tied to the word embeddings: t·Eᵀ + b.
		logits := nn.Dense(t, n.w("bert.embeddings.word_embeddings.weight"), n.w("cls.predictions.bias"), compute.DenseLayoutOutputsInput)
		out.logits = logits // [b, s, v]
	}
	if _, ok := n.p["bert.pooler.dense.weight"]; ok {
		first := Squeeze(Slice(x, AxisRange(), AxisRange(0, 1)), 1) // [b, m]: the [CLS] token
		out.pooled = Tanh(n.linearOI(first, "bert.pooler.dense"))
		if _, ok := n.p["classifier.weight"]; ok {
			out.classes = n.linearOI(n.dropout(out.pooled), "classifier") // [b, labels]
		}
	}
	if _, ok := n.p["qa_outputs.weight"]; ok {
		se := n.linearOI(x, "qa_outputs") // [b, s, 2]
		out.qaStart = Squeeze(Slice(se, AxisRange(), AxisRange(), AxisRange(0, 1)), 2)
		out.qaEnd = Squeeze(Slice(se, AxisRange(), AxisRange(), AxisRange(1, 2)), 2)
	}
}

func (n *net) gpt(ids, mask *Node, out *fwdOut) {
	g := ids.Graph()
	s := ids.Shape().Dimensions[1]
	if s > n.c.MaxPos {
		exceptions.Panicf("sequence of %d tokens is longer than n_positions %d", s, n.c.MaxPos)
	}
	x := Gather(n.w("transformer.wte.weight"), InsertAxes(ids, -1))                                   // [b, s, m]
	x = Add(x, InsertAxes(Gather(n.w("transformer.wpe.weight"), InsertAxes(positions(g, s), -1)), 0)) // + [1, s, m]
	x = n.dropout(x)
	attnMask := attention.CausalMask(g, s, s, 0) // [1, 1, s, s]
	if mask != nil {
		attnMask = attention.CombineMasks(attnMask, attention.PaddingMask(mask))
	}
	if n.o.hidden {
		out.hidden = append(out.hidden, x)
	}
	m := n.c.DModel
	for l := range n.c.Layers {
		p := fmt.Sprintf("transformer.h.%d.", l)
		a := n.layerNorm(x, p+"ln_1")       // pre-LN
		qkv := n.conv1D(a, p+"attn.c_attn") // [b, s, 3m]
		q := Slice(qkv, AxisRange(), AxisRange(), AxisRange(0, m))
		k := Slice(qkv, AxisRange(), AxisRange(), AxisRange(m, 2*m))
		v := Slice(qkv, AxisRange(), AxisRange(), AxisRange(2*m, 3*m))
		ctx, probs := n.attend(q, k, v, attnMask)
		if n.o.attentions {
			out.attentions = append(out.attentions, probs)
		}
		x = Add(x, n.dropout(n.conv1D(ctx, p+"attn.c_proj")))
		f := n.act(n.conv1D(n.layerNorm(x, p+"ln_2"), p+"mlp.c_fc")) // [b, s, f]
		x = Add(x, n.dropout(n.conv1D(f, p+"mlp.c_proj")))
		if n.o.hidden {
			out.hidden = append(out.hidden, x)
		}
	}
	x = n.layerNorm(x, "transformer.ln_f")
	out.last = x
	if !n.o.noLogits {
		// Tied LM head: logits = x·wteᵀ (no bias).
		out.logits = Einsum("bsm,vm->bsv", x, n.w("transformer.wte.weight"))
	}
	if _, ok := n.p["score.weight"]; ok {
		out.classes = Einsum("bsm,lm->bsl", x, n.w("score.weight")) // per position; caller picks the last real token
	}
}

// crossEntropy returns the mean negative log-likelihood of labels [b, s] under logits
// [b, s, v], ignoring positions whose label is < 0 (Hugging Face's -100), and the number
// of counted positions.
func crossEntropy(logits, labels *Node) (loss, count *Node) {
	logp := LogSoftmax(logits, -1)                     // [b, s, v]
	valid := GreaterOrEqual(labels, ZerosLike(labels)) // [b, s]
	safe := Where(valid, labels, ZerosLike(labels))    // gather needs in-range ids
	picked := pickLabels(logp, safe)                   // [b, s]
	validF := ConvertDType(valid, logits.DType())
	count = ReduceAllSum(validF)
	nll := Neg(ReduceAllSum(Mul(picked, validF)))
	loss = Div(nll, Max(count, OnesLike(count)))
	return loss, count
}

// pickLabels returns logp[b, s, labels[b, s]] as [b, s].
func pickLabels(logp, labels *Node) *Node {
	g := logp.Graph()
	dims := labels.Shape().Dimensions
	sh := shapeOf(dtypes.Int32, dims[0], dims[1], 1)
	idx := Concatenate([]*Node{Iota(g, sh, 0), Iota(g, sh, 1), InsertAxes(ConvertDType(labels, dtypes.Int32), -1)}, -1) // [b, s, 3]
	return Gather(logp, idx)                                                                                            // [b, s]
}
