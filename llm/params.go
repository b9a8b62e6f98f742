package llm

import (
	"fmt"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
)

// Param is one weight tensor in plain Go: row-major float32 data and its shape.
type Param struct {
	Shape []int
	Data  []float32
}

// Size is the number of elements.
func (p *Param) Size() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// Clone returns a deep copy.
func (p *Param) Clone() *Param {
	return &Param{Shape: append([]int(nil), p.Shape...), Data: append([]float32(nil), p.Data...)}
}

// Params maps Hugging Face tensor names (e.g. "transformer.h.0.attn.c_attn.weight") to weights.
type Params map[string]*Param

// Names returns the parameter names, sorted: the order tensors are fed to graphs.
func (ps Params) Names() []string {
	names := make([]string, 0, len(ps))
	for n := range ps {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Count is the total number of scalars.
func (ps Params) Count() int {
	n := 0
	for _, p := range ps {
		n += p.Size()
	}
	return n
}

// Clone returns a deep copy.
func (ps Params) Clone() Params {
	out := make(Params, len(ps))
	for n, p := range ps {
		out[n] = p.Clone()
	}
	return out
}

// spec is the expected shape of one parameter and how to initialise it.
type spec struct {
	name  string
	shape []int
	init  string // "normal", "zeros", "ones"
}

// paramSpecs lists every parameter of the architecture with its Hugging Face name.
// Optional heads (BERT pooler, QA and classifier) are included when withHeads says so.
func paramSpecs(c Config, heads HeadSet) []spec {
	m, f, v := c.DModel, c.DFF, c.VocabSize
	var s []spec
	add := func(name, init string, shape ...int) { s = append(s, spec{name, shape, init}) }
	ln := func(prefix string) {
		add(prefix+".weight", "ones", m)
		add(prefix+".bias", "zeros", m)
	}
	switch c.Arch {
	case BERT:
		add("bert.embeddings.word_embeddings.weight", "normal", v, m)
		add("bert.embeddings.position_embeddings.weight", "normal", c.MaxPos, m)
		add("bert.embeddings.token_type_embeddings.weight", "normal", max(c.TypeVocab, 1), m)
		ln("bert.embeddings.LayerNorm")
		for l := range c.Layers {
			p := fmt.Sprintf("bert.encoder.layer.%d.", l)
			for _, qkv := range []string{"query", "key", "value"} {
				add(p+"attention.self."+qkv+".weight", "normal", m, m) // Linear: [out, in]
				add(p+"attention.self."+qkv+".bias", "zeros", m)
			}
			add(p+"attention.output.dense.weight", "normal", m, m)
			add(p+"attention.output.dense.bias", "zeros", m)
			ln(p + "attention.output.LayerNorm")
			add(p+"intermediate.dense.weight", "normal", f, m)
			add(p+"intermediate.dense.bias", "zeros", f)
			add(p+"output.dense.weight", "normal", m, f)
			add(p+"output.dense.bias", "zeros", m)
			ln(p + "output.LayerNorm")
		}
		if heads.MLM {
			add("cls.predictions.transform.dense.weight", "normal", m, m)
			add("cls.predictions.transform.dense.bias", "zeros", m)
			ln("cls.predictions.transform.LayerNorm")
			add("cls.predictions.bias", "zeros", v)
		}
		if heads.Pooler || heads.Classifier {
			add("bert.pooler.dense.weight", "normal", m, m)
			add("bert.pooler.dense.bias", "zeros", m)
		}
		if heads.QA {
			add("qa_outputs.weight", "normal", 2, m)
			add("qa_outputs.bias", "zeros", 2)
		}
		if heads.Classifier {
			add("classifier.weight", "normal", c.NumLabels, m)
			add("classifier.bias", "zeros", c.NumLabels)
		}
	case GPT:
		add("transformer.wte.weight", "normal", v, m)
		add("transformer.wpe.weight", "normal", c.MaxPos, m)
		for l := range c.Layers {
			p := fmt.Sprintf("transformer.h.%d.", l)
			ln(p + "ln_1")
			add(p+"attn.c_attn.weight", "normal", m, 3*m) // Conv1D: [in, out]
			add(p+"attn.c_attn.bias", "zeros", 3*m)
			add(p+"attn.c_proj.weight", "proj", m, m)
			add(p+"attn.c_proj.bias", "zeros", m)
			ln(p + "ln_2")
			add(p+"mlp.c_fc.weight", "normal", m, f)
			add(p+"mlp.c_fc.bias", "zeros", f)
			add(p+"mlp.c_proj.weight", "proj", f, m)
			add(p+"mlp.c_proj.bias", "zeros", m)
		}
		ln("transformer.ln_f")
		if heads.Classifier {
			add("score.weight", "normal", c.NumLabels, m)
		}
	}
	return s
}

// HeadSet says which task heads a model has on top of its body.
type HeadSet struct {
	MLM        bool // BERT masked-LM head (GPT's LM head is always the tied embedding)
	Pooler     bool // BERT pooler ([CLS] → tanh dense)
	QA         bool // extractive question answering (start/end logits)
	Classifier bool // sequence classification (Config.NumLabels classes)
}

// NewParams initialises parameters as Hugging Face does: normal(0, 0.02) weights (GPT-2
// scales residual projections by 1/√(2·layers)), zero biases, unit layer-norm gains.
func NewParams(c Config, heads HeadSet, seed uint64) (Params, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if heads.Classifier && c.NumLabels <= 0 {
		return nil, fmt.Errorf("new params: a classifier head needs Config.NumLabels > 0")
	}
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	ps := Params{}
	for _, sp := range paramSpecs(c, heads) {
		p := &Param{Shape: sp.shape}
		p.Data = make([]float32, p.Size())
		switch sp.init {
		case "ones":
			for i := range p.Data {
				p.Data[i] = 1
			}
		case "normal", "proj":
			std := 0.02
			if sp.init == "proj" {
				std /= math.Sqrt(2 * float64(c.Layers))
			}
			for i := range p.Data {
				p.Data[i] = float32(r.NormFloat64() * std)
			}
		}
		ps[sp.name] = p
	}
	return ps, nil
}

// detectHeads reports which heads a set of parameters has.
func detectHeads(ps Params) HeadSet {
	_, mlm := ps["cls.predictions.bias"]
	_, pool := ps["bert.pooler.dense.weight"]
	_, qa := ps["qa_outputs.weight"]
	_, cls := ps["classifier.weight"]
	_, score := ps["score.weight"]
	return HeadSet{MLM: mlm, Pooler: pool, QA: qa, Classifier: cls || score}
}

// checkParams verifies that ps has exactly the tensors the config needs, with the right shapes.
func checkParams(c Config, ps Params) error {
	want := paramSpecs(c, detectHeads(ps))
	seen := map[string]bool{}
	for _, sp := range want {
		p, ok := ps[sp.name]
		if !ok {
			return fmt.Errorf("missing tensor %q", sp.name)
		}
		seen[sp.name] = true
		if !equalInts(p.Shape, sp.shape) {
			return fmt.Errorf("tensor %q has shape %v, config needs %v", sp.name, p.Shape, sp.shape)
		}
		if len(p.Data) != p.Size() {
			return fmt.Errorf("tensor %q has %d values for shape %v", sp.name, len(p.Data), p.Shape)
		}
	}
	var extra []string
	for n := range ps {
		if !seen[n] {
			extra = append(extra, n)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
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

func shapeOf(dt dtypes.DType, dims ...int) shapes.Shape { return shapes.Make(dt, dims...) }
