package llm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/divellm/divellm/llm/safetensors"
	"github.com/divellm/divellm/llm/tokenizer"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// Model is a Transformer (BERT-style encoder or GPT-2-style decoder) with its weights in
// plain Go, an optional tokenizer, and compiled GoMLX graphs cached for reuse.
type Model struct {
	Config    Config
	Params    Params
	Tokenizer tokenizer.Tokenizer // nil when the checkpoint has none

	mu      sync.Mutex
	execs   map[string]*graph.Exec
	tensors []*tensors.Tensor // Params as device tensors, in Params.Names() order; nil = rebuild
}

// New builds a randomly initialised model (see [NewParams]).
func New(c Config, heads HeadSet, seed uint64) (*Model, error) {
	ps, err := NewParams(c, heads, seed)
	if err != nil {
		return nil, err
	}
	return &Model{Config: c, Params: ps}, nil
}

// Heads reports which task heads the model has.
func (m *Model) Heads() HeadSet { return detectHeads(m.Params) }

// ParamsChanged must be called after editing m.Params in place, so the next run uses them.
func (m *Model) ParamsChanged() {
	m.mu.Lock()
	m.tensors = nil
	m.mu.Unlock()
}

// paramTensors returns the weights as tensors (cached until ParamsChanged).
func (m *Model) paramTensors() []*tensors.Tensor {
	if m.tensors != nil {
		return m.tensors
	}
	names := m.Params.Names()
	ts := make([]*tensors.Tensor, len(names))
	for i, n := range names {
		p := m.Params[n]
		ts[i] = tensors.FromFlatDataAndDimensions(p.Data, p.Shape...) // copies p.Data
	}
	m.tensors = ts
	return ts
}

// Save writes a Hugging Face checkpoint directory: config.json, model.safetensors and the
// tokenizer files. The directory is replaced atomically: a crash leaves the old one intact.
func (m *Model) Save(dir string) error {
	if err := checkParams(m.Config, m.Params); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	cfg, err := m.Config.MarshalJSON()
	if err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	return safetensors.WriteDirAtomic(dir, func(tmp string) error {
		if err := os.WriteFile(filepath.Join(tmp, "config.json"), append(cfg, '\n'), 0o644); err != nil {
			return err
		}
		var ts []safetensors.Tensor
		for _, n := range m.Params.Names() {
			p := m.Params[n]
			ts = append(ts, safetensors.FromFloat32(n, p.Shape, p.Data))
		}
		if err := safetensors.Write(filepath.Join(tmp, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
			return err
		}
		if m.Tokenizer != nil {
			return m.Tokenizer.Save(tmp)
		}
		return nil
	})
}

// Load reads a Hugging Face checkpoint directory (config.json + model.safetensors, and
// the tokenizer files if present). It accepts the usual name variants: with or without
// the "bert." / "transformer." prefix, tied decoder weights stored or not, old
// LayerNorm.gamma/beta names.
func Load(dir string) (*Model, error) {
	c, err := LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "model.safetensors")
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if _, err2 := os.Stat(filepath.Join(dir, "pytorch_model.bin")); err2 == nil {
			_, perr := safetensors.Open(filepath.Join(dir, "pytorch_model.bin"))
			return nil, fmt.Errorf("load %s: %w", dir, perr)
		}
		return nil, fmt.Errorf("load %s: no model.safetensors in the directory", dir)
	}
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	defer f.Close()
	ps := Params{}
	for _, name := range f.Names() {
		canon, keep := canonicalName(c.Arch, name)
		if !keep {
			continue
		}
		t, err := f.Get(name)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", path, err)
		}
		data, err := t.Float32s()
		if err != nil {
			return nil, fmt.Errorf("load %s: tensor %q: %w", path, name, err)
		}
		if _, dup := ps[canon]; dup {
			return nil, fmt.Errorf("load %s: tensor %q appears twice (as %q)", path, canon, name)
		}
		// Float32s returned a fresh slice; dropping the mapped pages keeps peak memory
		// near one copy of the weights.
		f.Release(name)
		ps[canon] = &Param{Shape: append([]int(nil), t.Shape...), Data: data}
	}
	if c.Arch == BERT {
		if hs := detectHeads(ps); hs.Classifier {
			if c.NumLabels == 0 {
				c.NumLabels = ps["classifier.weight"].Shape[0]
			}
		}
	}
	if err := checkParams(c, ps); err != nil {
		return nil, fmt.Errorf("load %s: checkpoint does not match config.json: %w", dir, err)
	}
	m := &Model{Config: c, Params: ps}
	if tok, err := tokenizer.Load(dir); err == nil {
		m.Tokenizer = tok
	} else if !errors.Is(err, os.ErrNotExist) && hasTokenizerFiles(dir) {
		return nil, fmt.Errorf("load %s: tokenizer: %w", dir, err)
	}
	return m, nil
}

func hasTokenizerFiles(dir string) bool {
	for _, f := range []string{"vocab.txt", "vocab.json", "tokenizer.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

// canonicalName maps a checkpoint tensor name to the name this package uses, or reports
// that the tensor is to be ignored (buffers and tied copies).
func canonicalName(arch Arch, name string) (string, bool) {
	name = strings.ReplaceAll(name, "LayerNorm.gamma", "LayerNorm.weight")
	name = strings.ReplaceAll(name, "LayerNorm.beta", "LayerNorm.bias")
	switch arch {
	case BERT:
		for _, pre := range []string{"roberta.", "electra."} {
			if strings.HasPrefix(name, pre) {
				name = "bert." + strings.TrimPrefix(name, pre)
			}
		}
		switch {
		case name == "cls.predictions.decoder.weight", name == "cls.predictions.decoder.bias",
			strings.HasSuffix(name, "position_ids"), strings.HasPrefix(name, "cls.seq_relationship"):
			return "", false
		case strings.HasPrefix(name, "embeddings."), strings.HasPrefix(name, "encoder."), strings.HasPrefix(name, "pooler."):
			return "bert." + name, true
		}
	case GPT:
		switch {
		case name == "lm_head.weight", strings.HasSuffix(name, ".attn.bias"), strings.HasSuffix(name, ".attn.masked_bias"):
			return "", false
		case name == "score.weight":
			return name, true
		case !strings.HasPrefix(name, "transformer."):
			return "transformer." + name, true
		}
	}
	return name, true
}

// exec returns the cached executable for key, building it with build on first use.
func (m *Model) exec(key string, build func() (*graph.Exec, error)) (*graph.Exec, error) {
	if m.execs == nil {
		m.execs = map[string]*graph.Exec{}
	}
	if e, ok := m.execs[key]; ok {
		return e, nil
	}
	e, err := build()
	if err != nil {
		return nil, err
	}
	// Each new input shape compiles a graph; GoMLX refuses a 33rd by default, which a
	// notebook session with many different sentence lengths reaches.
	e.SetMaxCache(-1)
	m.execs[key] = e
	return e, nil
}

// paramNodes maps names to the first len(names) graph inputs.
func paramNodes(names []string, in []*graph.Node) map[string]*graph.Node {
	p := make(map[string]*graph.Node, len(names))
	for i, n := range names {
		p[n] = in[i]
	}
	return p
}
