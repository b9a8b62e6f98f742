package llm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"

	"github.com/divellm/divellm/llm/tokenizer"
	"github.com/gomlx/gomlx/core/graph"
)

// This file is the architecture: the Hugging Face names of every module (one table per
// architecture, which drives the parameter specs, checkpoint loading and the forward
// passes), the parameter shapes, and the one definition of a Transformer block.

// Model is a Transformer (BERT-style encoder or GPT-2-style decoder): its config, its
// weights (one owner, on the backend), an optional tokenizer, and compiled GoMLX graphs
// cached for reuse.
type Model struct {
	Config    Config
	Weights   *Weights
	Tokenizer tokenizer.Tokenizer // nil when the checkpoint has none

	// LoRA, when set, adds low-rank adapters to the linear layers it targets (see
	// [Model.AddLoRA]); their weights live in Weights like every other parameter.
	LoRA *LoRAConfig

	mu    sync.Mutex
	execs map[string]*graph.Exec
}

// New builds a randomly initialised model (see [NewWeights]).
func New(c Config, heads HeadSet, seed uint64) (*Model, error) {
	w, err := NewWeights(c, heads, seed)
	if err != nil {
		return nil, err
	}
	return &Model{Config: c, Weights: w}, nil
}

// Heads reports which task heads the model has.
func (m *Model) Heads() HeadSet { return detectHeads(m.Weights) }

// HeadSet says which task heads a model has on top of its body.
type HeadSet struct {
	MLM        bool // BERT masked-LM head (GPT's LM head is always the tied embedding)
	Pooler     bool // BERT pooler ([CLS] → tanh dense)
	QA         bool // extractive question answering (start/end logits)
	Classifier bool // sequence classification (Config.NumLabels classes)
}

// LayerNames are the Hugging Face module names of one block (prefix included, no
// ".weight"). A GPT-2 block uses LN1, QKV (the fused c_attn), AttnOut, LN2, FFNIn, FFNOut;
// a BERT block uses Q, K, V, AttnOut, AttnLN, FFNIn, FFNOut, FFNLN.
type LayerNames struct {
	LN1, QKV, Q, K, V, AttnOut, AttnLN, LN2, FFNIn, FFNOut, FFNLN string
	// Cross-attention of an encoder-decoder's decoder block (BART): queries from the block,
	// keys and values from the encoder's output, then its residual LayerNorm.
	CrossQ, CrossK, CrossV, CrossOut, CrossLN string
}

// Names are the Hugging Face names of the modules outside the blocks (empty when the
// architecture has no such module).
type Names struct {
	TokenEmb, PosEmb, TypeEmb string // embedding tables (".weight"); BART: the shared table and the encoder's positions
	EmbLN                     string // BERT, BART encoder: LayerNorm after the embeddings
	DecPosEmb, DecEmbLN       string // BART decoder: its positions and embedding LayerNorm
	LogitsBias                string // BART: final_logits_bias [1, vocab]
	FinalLN                   string // GPT: ln_f
	MLMDense, MLMLN, MLMBias  string // BERT MLM head: transform dense, its LayerNorm, decoder bias
	Pooler, QA, Classifier    string // task heads (GPT's classifier is "score", without bias)
}

// ModelNames returns the architecture's module names.
func (c Config) ModelNames() Names {
	if c.Arch == BART {
		return Names{TokenEmb: "model.shared", PosEmb: "model.encoder.embed_positions", EmbLN: "model.encoder.layernorm_embedding",
			DecPosEmb: "model.decoder.embed_positions", DecEmbLN: "model.decoder.layernorm_embedding", LogitsBias: "final_logits_bias"}
	}
	if c.Arch == GPT {
		return Names{TokenEmb: "transformer.wte", PosEmb: "transformer.wpe", FinalLN: "transformer.ln_f", Classifier: "score"}
	}
	return Names{TokenEmb: "bert.embeddings.word_embeddings", PosEmb: "bert.embeddings.position_embeddings",
		TypeEmb: "bert.embeddings.token_type_embeddings", EmbLN: "bert.embeddings.LayerNorm",
		MLMDense: "cls.predictions.transform.dense", MLMLN: "cls.predictions.transform.LayerNorm", MLMBias: "cls.predictions.bias",
		Pooler: "bert.pooler.dense", QA: "qa_outputs", Classifier: "classifier"}
}

// Blocks is the number of Transformer blocks: Layers, plus DecLayers for BART (whose
// blocks are numbered encoder first, then decoder).
func (c Config) Blocks() int { return c.Layers + c.DecLayers }

// LayerNames returns the module names of block l (for BART, l ≥ Layers is decoder block
// l − Layers).
func (c Config) LayerNames(l int) LayerNames {
	if c.Arch == BART {
		stack, i := "encoder", l
		if l >= c.Layers {
			stack, i = "decoder", l-c.Layers
		}
		p := fmt.Sprintf("model.%s.layers.%d.", stack, i)
		n := LayerNames{Q: p + "self_attn.q_proj", K: p + "self_attn.k_proj", V: p + "self_attn.v_proj",
			AttnOut: p + "self_attn.out_proj", AttnLN: p + "self_attn_layer_norm",
			FFNIn: p + "fc1", FFNOut: p + "fc2", FFNLN: p + "final_layer_norm"}
		if stack == "decoder" {
			n.CrossQ, n.CrossK, n.CrossV = p+"encoder_attn.q_proj", p+"encoder_attn.k_proj", p+"encoder_attn.v_proj"
			n.CrossOut, n.CrossLN = p+"encoder_attn.out_proj", p+"encoder_attn_layer_norm"
		}
		return n
	}
	if c.Arch == GPT {
		p := fmt.Sprintf("transformer.h.%d.", l)
		return LayerNames{LN1: p + "ln_1", QKV: p + "attn.c_attn", AttnOut: p + "attn.c_proj",
			LN2: p + "ln_2", FFNIn: p + "mlp.c_fc", FFNOut: p + "mlp.c_proj"}
	}
	p := fmt.Sprintf("bert.encoder.layer.%d.", l)
	return LayerNames{Q: p + "attention.self.query", K: p + "attention.self.key", V: p + "attention.self.value",
		AttnOut: p + "attention.output.dense", AttnLN: p + "attention.output.LayerNorm",
		FFNIn: p + "intermediate.dense", FFNOut: p + "output.dense", FFNLN: p + "output.LayerNorm"}
}

// Linear describes one linear layer of a block: y = x·Wᵀ + b with W [Out, In] (nn.Linear),
// stored as [In, Out] when Conv1D (GPT-2).
type Linear struct {
	Module  string // e.g. "transformer.h.0.attn.c_attn"
	Layer   int
	Role    string // "qkv", "q", "k", "v", "attn_out", "cross_q", "cross_k", "cross_v", "cross_out", "ffn_in", "ffn_out"
	In, Out int
	Conv1D  bool
}

// IsAttention reports whether the layer belongs to the attention sub-block.
func (l Linear) IsAttention() bool { return l.Role != "ffn_in" && l.Role != "ffn_out" }

// Linears lists every linear layer of every block, in layer order: what quantization and
// LoRA act on.
func (c Config) Linears() []Linear {
	m, f := c.DModel, c.DFF
	var out []Linear
	for l := range c.Blocks() {
		n := c.LayerNames(l)
		if c.Arch == BART {
			out = append(out, Linear{n.Q, l, "q", m, m, false}, Linear{n.K, l, "k", m, m, false}, Linear{n.V, l, "v", m, m, false},
				Linear{n.AttnOut, l, "attn_out", m, m, false})
			if n.CrossQ != "" {
				out = append(out, Linear{n.CrossQ, l, "cross_q", m, m, false}, Linear{n.CrossK, l, "cross_k", m, m, false},
					Linear{n.CrossV, l, "cross_v", m, m, false}, Linear{n.CrossOut, l, "cross_out", m, m, false})
			}
			out = append(out, Linear{n.FFNIn, l, "ffn_in", m, f, false}, Linear{n.FFNOut, l, "ffn_out", f, m, false})
			continue
		}
		if c.Arch == GPT {
			out = append(out,
				Linear{n.QKV, l, "qkv", m, 3 * m, true}, Linear{n.AttnOut, l, "attn_out", m, m, true},
				Linear{n.FFNIn, l, "ffn_in", m, f, true}, Linear{n.FFNOut, l, "ffn_out", f, m, true})
			continue
		}
		out = append(out,
			Linear{n.Q, l, "q", m, m, false}, Linear{n.K, l, "k", m, m, false}, Linear{n.V, l, "v", m, m, false},
			Linear{n.AttnOut, l, "attn_out", m, m, false}, Linear{n.FFNIn, l, "ffn_in", m, f, false}, Linear{n.FFNOut, l, "ffn_out", f, m, false})
	}
	return out
}

// spec is the expected shape of one parameter and how to initialise it.
type spec struct {
	name  string
	shape []int
	init  string // "normal", "proj" (GPT-2 residual projections), "zeros", "ones"
}

// paramSpecs lists every parameter of the architecture with its Hugging Face name.
// Optional heads (BERT MLM, pooler, QA and classifier; GPT score) follow heads.
func paramSpecs(c Config, heads HeadSet) []spec {
	m, v := c.DModel, c.VocabSize
	var s []spec
	add := func(name, init string, shape ...int) { s = append(s, spec{name, shape, init}) }
	ln := func(prefix string) {
		add(prefix+".weight", "ones", m)
		add(prefix+".bias", "zeros", m)
	}
	n := c.ModelNames()
	if c.Arch == BART {
		bartSpecs(c, add, ln)
		return s
	}
	add(n.TokenEmb+".weight", "normal", v, m)
	add(n.PosEmb+".weight", "normal", c.MaxPos, m)
	if c.Arch == BERT {
		add(n.TypeEmb+".weight", "normal", max(c.TypeVocab, 1), m)
		ln(n.EmbLN)
	}
	for l := range c.Layers {
		ln1 := c.LayerNames(l)
		if c.Arch == GPT {
			ln(ln1.LN1)
		}
		for _, lin := range c.Linears()[l*perLayer(c) : (l+1)*perLayer(c)] {
			init := "normal"
			if c.Arch == GPT && (lin.Role == "attn_out" || lin.Role == "ffn_out") {
				init = "proj"
			}
			if lin.Conv1D {
				add(lin.Module+".weight", init, lin.In, lin.Out)
			} else {
				add(lin.Module+".weight", init, lin.Out, lin.In)
			}
			add(lin.Module+".bias", "zeros", lin.Out)
			switch {
			case c.Arch == BERT && lin.Role == "attn_out":
				ln(ln1.AttnLN)
			case c.Arch == BERT && lin.Role == "ffn_out":
				ln(ln1.FFNLN)
			case c.Arch == GPT && lin.Role == "attn_out":
				ln(ln1.LN2)
			}
		}
	}
	if c.Arch == GPT {
		ln(n.FinalLN)
		if heads.Classifier {
			add(n.Classifier+".weight", "normal", c.NumLabels, m)
		}
		return s
	}
	if heads.MLM {
		add(n.MLMDense+".weight", "normal", m, m)
		add(n.MLMDense+".bias", "zeros", m)
		ln(n.MLMLN)
		add(n.MLMBias, "zeros", v)
	}
	if heads.Pooler || heads.Classifier {
		add(n.Pooler+".weight", "normal", m, m)
		add(n.Pooler+".bias", "zeros", m)
	}
	if heads.QA {
		add(n.QA+".weight", "normal", 2, m)
		add(n.QA+".bias", "zeros", 2)
	}
	if heads.Classifier {
		add(n.Classifier+".weight", "normal", c.NumLabels, m)
		add(n.Classifier+".bias", "zeros", c.NumLabels)
	}
	return s
}

// bartSpecs lists BART's parameters: the shared embedding, each stack's positions
// (max_position_embeddings + 2 rows: BART's learned positions start at offset 2) and
// embedding LayerNorm, every block's linears and LayerNorms, and final_logits_bias.
func bartSpecs(c Config, add func(name, init string, shape ...int), ln func(string)) {
	n := c.ModelNames()
	add(n.TokenEmb+".weight", "normal", c.VocabSize, c.DModel)
	add(n.PosEmb+".weight", "normal", c.MaxPos+bartPosOffset, c.DModel)
	ln(n.EmbLN)
	add(n.DecPosEmb+".weight", "normal", c.MaxPos+bartPosOffset, c.DModel)
	ln(n.DecEmbLN)
	lins := c.Linears()
	for l := range c.Blocks() {
		ln1 := c.LayerNames(l)
		for _, lin := range lins {
			if lin.Layer != l {
				continue
			}
			add(lin.Module+".weight", "normal", lin.Out, lin.In)
			add(lin.Module+".bias", "zeros", lin.Out)
			switch lin.Role {
			case "attn_out":
				ln(ln1.AttnLN)
			case "cross_out":
				ln(ln1.CrossLN)
			case "ffn_out":
				ln(ln1.FFNLN)
			}
		}
	}
	add(n.LogitsBias, "zeros", 1, c.VocabSize)
}

// bartPosOffset is BART's position offset: position i uses row i + 2 of embed_positions.
const bartPosOffset = 2

// perLayer is the number of linear layers in one block.
func perLayer(c Config) int {
	if c.Arch == GPT {
		return 4
	}
	return 6
}

// paramCount is the number of scalars the config implies, computed without building the
// specs (so a hostile config cannot make it allocate). Saturates at MaxInt.
func (c Config) paramCount(h HeadSet) int {
	m, f, v := float64(c.DModel), float64(c.DFF), float64(c.VocabSize)
	block := 4*m*m + 4*m + 2*m*f + f + m // attention (q, k, v, out) + FFN
	n := (v + float64(c.MaxPos)) * m
	if c.Arch == GPT {
		block += 4 * m // ln_1, ln_2
		n += 2 * m
	} else {
		block += 4 * m // two LayerNorms
		n += float64(max(c.TypeVocab, 1))*m + 2*m
		if h.MLM {
			n += m*m + 3*m + v
		}
		n += m*m + m + 2*m + 2 + float64(c.NumLabels)*(m+1)
	}
	n += float64(c.Layers) * block
	if c.Arch == BART { // decoder blocks add cross-attention; two position tables
		n += float64(c.DecLayers)*(block+4*m*m+6*m) + float64(c.MaxPos+2)*m + v
	}
	if n >= math.MaxInt/2 {
		return math.MaxInt
	}
	return int(n)
}

// detectHeads reports which heads a set of weights has.
func detectHeads(w *Weights) HeadSet {
	if w == nil {
		return HeadSet{}
	}
	return HeadSet{
		MLM:        w.Has("cls.predictions.bias"),
		Pooler:     w.Has("bert.pooler.dense.weight"),
		QA:         w.Has("qa_outputs.weight"),
		Classifier: w.Has("classifier.weight") || w.Has("score.weight"),
	}
}

// NewWeights initialises parameters as Hugging Face does: normal(0, 0.02) weights (GPT-2
// scales residual projections by 1/√(2·layers)), zero biases, unit layer-norm gains.
func NewWeights(c Config, heads HeadSet, seed uint64) (*Weights, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if heads.Classifier && c.NumLabels <= 0 {
		return nil, fmt.Errorf("new weights: a classifier head needs Config.NumLabels > 0")
	}
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	w := newWeights()
	for _, sp := range paramSpecs(c, heads) {
		data := make([]float32, shapeSize(sp.shape))
		initValues(data, sp.init, c, r)
		if err := w.Set(sp.name, sp.shape, data); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// initValues fills data for one initialisation rule.
func initValues(data []float32, init string, c Config, r *rand.Rand) {
	switch init {
	case "ones":
		for i := range data {
			data[i] = 1
		}
	case "normal", "proj":
		std := 0.02
		if init == "proj" {
			std /= math.Sqrt(2 * float64(c.Layers))
		}
		for i := range data {
			data[i] = float32(r.NormFloat64() * std)
		}
	}
}

// checkWeights verifies that w has exactly the tensors the config needs (adapters
// aside), with the right shapes.
func checkWeights(c Config, w *Weights) error {
	want := paramSpecs(c, detectHeads(w))
	seen := map[string]bool{}
	for _, sp := range want {
		shape, ok := w.shapes[sp.name]
		if !ok {
			return fmt.Errorf("missing tensor %q", sp.name)
		}
		seen[sp.name] = true
		if !equalInts(shape, sp.shape) {
			return fmt.Errorf("tensor %q has shape %v, config needs %v", sp.name, shape, sp.shape)
		}
	}
	var extra []string
	for _, n := range w.Names() {
		if !seen[n] && !isLoRAName(n) {
			extra = append(extra, n)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		if len(extra) > 5 {
			extra = append(extra[:5], fmt.Sprintf("… (%d in all)", len(extra)))
		}
		return fmt.Errorf("unexpected tensors %s", strings.Join(extra, ", "))
	}
	return nil
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func shapeSize(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// BlockOps is what a Transformer block needs from an implementation. The GoMLX graph (full
// forward, training, the KV-cache decoder) and the plain-Go quantized decoder
// (llm/quant/qmodel) each implement it once, so the block itself is written once, in
// [Block].
//
// X is the implementation's activation type: rows of width m (per token).
type BlockOps[X any] interface {
	// LayerNorm normalises each row with the module's weight and bias.
	LayerNorm(x X, module string) X
	// Linear applies the module's weight and bias (and its LoRA adapter, if any).
	Linear(x X, module string) X
	// Act is the feed-forward activation (GELU, erf or tanh form per Config.Activation).
	Act(x X) X
	// Add is the residual sum.
	Add(x, y X) X
	// Dropout is identity outside training.
	Dropout(x X) X
	// SplitQKV cuts GPT-2's fused c_attn output [.., 3m] into q, k, v [.., m].
	SplitQKV(qkv X) (q, k, v X)
	// Attention is multi-head scaled dot-product attention of queries q over keys k and
	// values v of block layer (masks and KV caches are the implementation's), returning the
	// merged heads [.., m].
	Attention(q, k, v X, layer int) X
	// CrossAttention is attention of queries q over the encoder's output, whose keys and
	// values the implementation projects with the modules kModule and vModule (BART's
	// decoder blocks only).
	CrossAttention(q X, kModule, vModule string, layer int) X
}

// Block is one Transformer block, the only definition of it in divellm.
//
// GPT-2 (pre-LN):
//
//	h = x + Dropout(AttnOut(Attention(split(QKV(LN₁(x))))))
//	y = h + Dropout(FFNOut(Act(FFNIn(LN₂(h)))))
//
// BERT and BART (post-LN):
//
//	h = AttnLN(x + Dropout(AttnOut(Attention(Q(x), K(x), V(x)))))
//	h = CrossLN(h + Dropout(CrossOut(CrossAttention(CrossQ(h), K, V of the encoder))))   BART decoder only
//	y = FFNLN(h + Dropout(FFNOut(Act(FFNIn(h)))))
func Block[X any](c Config, o BlockOps[X], x X, layer int) X {
	n := c.LayerNames(layer)
	if c.Arch == GPT {
		q, k, v := o.SplitQKV(o.Linear(o.LayerNorm(x, n.LN1), n.QKV))
		x = o.Add(x, o.Dropout(o.Linear(o.Attention(q, k, v, layer), n.AttnOut)))
		f := o.Act(o.Linear(o.LayerNorm(x, n.LN2), n.FFNIn))
		return o.Add(x, o.Dropout(o.Linear(f, n.FFNOut)))
	}
	ctx := o.Attention(o.Linear(x, n.Q), o.Linear(x, n.K), o.Linear(x, n.V), layer)
	x = o.LayerNorm(o.Add(x, o.Dropout(o.Linear(ctx, n.AttnOut))), n.AttnLN)
	if n.CrossQ != "" {
		ctx = o.CrossAttention(o.Linear(x, n.CrossQ), n.CrossK, n.CrossV, layer)
		x = o.LayerNorm(o.Add(x, o.Dropout(o.Linear(ctx, n.CrossOut))), n.CrossLN)
	}
	f := o.Act(o.Linear(x, n.FFNIn))
	return o.LayerNorm(o.Add(x, o.Dropout(o.Linear(f, n.FFNOut))), n.FFNLN)
}
