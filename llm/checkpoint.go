package llm

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unsafe"

	"github.com/divellm/divellm/llm/safetensors"
	"github.com/divellm/divellm/llm/tokenizer"
	"github.com/gomlx/gomlx/core/tensors"
)

// Warn receives the notes Load and the trainer have for the user (a checkpoint recovered
// from its backup, …). The default writes one line to stderr; set it to silence or
// redirect them.
var Warn = func(msg string) { fmt.Fprintln(os.Stderr, "divellm: "+msg) }

// Save writes a Hugging Face checkpoint directory: config.json, model.safetensors and the
// tokenizer files. The directory is replaced atomically (a crash leaves the old one
// intact) and only if it is new, empty, or a checkpoint divellm wrote that holds nothing
// else (see safetensors.CheckReplaceable). Weights holding NaN or ±Inf are refused: a
// diverged run never reaches disk. A model with unmerged LoRA adapters is refused too
// (merge them with [Model.MergeLoRA], or save them alone with [Model.SaveAdapter]).
func (m *Model) Save(dir string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.LoRA != nil {
		return fmt.Errorf("save %s: the model has unmerged LoRA adapters: call MergeLoRA first, or SaveAdapter to save them alone", dir)
	}
	return m.writeCheckpoint(dir, nil)
}

// writeCheckpoint saves the model files, plus extra files (optimizer state) written by
// extra into the same directory swap. The caller holds m.mu.
func (m *Model) writeCheckpoint(dir string, extra func(tmp string) error) error {
	if err := checkWeights(m.Config, m.Weights); err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	if err := m.Weights.CheckFinite(); err != nil {
		return fmt.Errorf("save %s: refusing to write non-finite weights: %w", dir, err)
	}
	cfg, err := m.Config.marshal(m.Heads())
	if err != nil {
		return fmt.Errorf("save %s: %w", dir, err)
	}
	return safetensors.WriteDirAtomic(dir, func(tmp string) error {
		if err := os.WriteFile(filepath.Join(tmp, "config.json"), append(cfg, '\n'), 0o644); err != nil {
			return err
		}
		var names []string
		for _, n := range m.Weights.Names() {
			if !isLoRAName(n) {
				names = append(names, n)
			}
		}
		if err := writeTensors(filepath.Join(tmp, "model.safetensors"), m.Weights, names, "", map[string]string{"format": "pt"}); err != nil {
			return err
		}
		if extra != nil {
			if err := extra(tmp); err != nil {
				return err
			}
		}
		if m.Tokenizer != nil {
			return m.Tokenizer.Save(tmp)
		}
		return nil
	})
}

// writeTensors streams the named tensors of w to a safetensors file (under prefix+name):
// the header first, then each tensor's bytes straight from its backend buffer, with no
// copy of the model in between.
func writeTensors(path string, w *Weights, names []string, prefix string, meta map[string]string) error {
	ts := make([]safetensors.Tensor, 0, len(names))
	for _, n := range names {
		t := w.tensor(n)
		if t == nil {
			return fmt.Errorf("no tensor %q", n)
		}
		ts = append(ts, safetensors.Tensor{Name: prefix + n, DType: safetensors.F32, Shape: w.Shape(n), Data: tensorBytes(t)})
	}
	return safetensors.Write(path, ts, meta)
}

// tensorBytes aliases a float32 tensor's data as bytes (no copy). The caller keeps the
// tensor alive and unchanged while the bytes are used.
func tensorBytes(t *tensors.Tensor) []byte {
	var out []byte
	tensors.MustConstFlatData(t, func(data []float32) {
		if len(data) > 0 {
			out = unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data))
		}
	})
	return out
}

// Load reads a Hugging Face checkpoint directory (config.json + model.safetensors, and
// the tokenizer files if present). It accepts the usual name variants: with or without
// the "bert." / "transformer." prefix, tied decoder weights stored or not, old
// LayerNorm.gamma/beta names.
//
// Nothing is trusted before it is checked: config.json is bounded (see [Config.Validate])
// and compared with the safetensors header's names and shapes before any tensor is read,
// and weights holding NaN or ±Inf are refused with the tensor's name. Each tensor is
// copied once, from the memory-mapped file into its backend buffer, and its pages are
// released, so peak memory stays near one copy of the weights. A directory left as only
// its ".old" backup by a crash during a save is recovered first (and [Warn] says so).
func Load(dir string) (*Model, error) {
	if ok, err := safetensors.RecoverDir(dir); err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	} else if ok {
		Warn(fmt.Sprintf("%s was missing after an interrupted save: restored the previous checkpoint from its backup", dir))
	}
	if isQuantizedDir(dir) {
		return nil, fmt.Errorf("load %s: this is a quantized checkpoint (written by divellm quantize): it runs with bench quant --perplexity, qmodel.LoadGPT or divellm serve --model DIR, not as a float32 model", dir)
	}
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
	// Map the header's names to ours and check them against the config before reading.
	source := map[string]string{} // canonical name → name in the file
	shapes := map[string][]int{}
	for _, info := range f.Infos() {
		canon, keep := canonicalName(c.Arch, info.Name)
		if !keep {
			continue
		}
		if prev, dup := source[canon]; dup {
			return nil, fmt.Errorf("load %s: tensors %q and %q both map to %q", path, prev, info.Name, canon)
		}
		if !info.DType.IsFloat() {
			return nil, fmt.Errorf("load %s: tensor %q is %s, not a floating-point type", path, info.Name, info.DType)
		}
		source[canon], shapes[canon] = info.Name, info.Shape
	}
	if c.Arch == BERT && c.NumLabels == 0 {
		if s, ok := shapes["classifier.weight"]; ok && len(s) == 2 {
			c.NumLabels = s[0]
		}
	}
	if c.Arch == GPT && c.NumLabels == 0 {
		if s, ok := shapes["score.weight"]; ok && len(s) == 2 {
			c.NumLabels = s[0]
		}
	}
	if err := checkShapes(c, shapes); err != nil {
		return nil, fmt.Errorf("load %s: checkpoint does not match config.json: %w", dir, err)
	}
	w := newWeights()
	for canon, name := range source {
		t, err := f.Get(name)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", path, err)
		}
		raw := t.Data
		if t.DType != safetensors.F32 {
			data, err := t.Float32s()
			if err != nil {
				return nil, fmt.Errorf("load %s: tensor %q: %w", path, name, err)
			}
			raw = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(data))), 4*len(data))
		}
		bt, err := newTensor(t.Shape, raw)
		if err != nil {
			return nil, fmt.Errorf("load %s: tensor %q: %w", path, name, err)
		}
		f.Release(name) // the backend holds the copy now; keep peak memory near one copy
		w.put(canon, t.Shape, bt)
	}
	if err := w.CheckFinite(); err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	m := &Model{Config: c, Weights: w}
	if tok, err := tokenizer.Load(dir); err == nil {
		m.Tokenizer = tok
	} else if !errors.Is(err, os.ErrNotExist) && hasTokenizerFiles(dir) {
		return nil, fmt.Errorf("load %s: tokenizer: %w", dir, err)
	}
	if m.Tokenizer != nil && m.Tokenizer.VocabSize() > c.VocabSize {
		return nil, fmt.Errorf("load %s: the tokenizer has %d tokens but the model's vocabulary is %d", dir, m.Tokenizer.VocabSize(), c.VocabSize)
	}
	return m, nil
}

// checkShapes compares the tensors a checkpoint holds (canonical names → shapes) with
// what the config needs, before anything is read.
func checkShapes(c Config, shapes map[string][]int) error {
	has := func(n string) bool { _, ok := shapes[n]; return ok }
	heads := HeadSet{MLM: has("cls.predictions.bias"), Pooler: has("bert.pooler.dense.weight"), QA: has("qa_outputs.weight"),
		Classifier: has("classifier.weight") || has("score.weight")}
	if heads.Classifier && c.NumLabels <= 0 {
		return fmt.Errorf("a classifier head without num_labels")
	}
	seen := map[string]bool{}
	for _, sp := range paramSpecs(c, heads) {
		s, ok := shapes[sp.name]
		if !ok {
			return fmt.Errorf("missing tensor %q", sp.name)
		}
		if !equalInts(s, sp.shape) {
			return fmt.Errorf("tensor %q has shape %v, config needs %v", sp.name, s, sp.shape)
		}
		seen[sp.name] = true
	}
	var extra []string
	for n := range shapes {
		if !seen[n] {
			extra = append(extra, n)
		}
	}
	if len(extra) > 0 {
		return fmt.Errorf("unexpected tensors %s", strings.Join(sortedFirst(extra, 5), ", "))
	}
	return nil
}

// sortedFirst returns up to n of the names, sorted, with a count when cut.
func sortedFirst(names []string, n int) []string {
	s := append([]string(nil), names...)
	sort.Strings(s)
	if len(s) > n {
		s = append(s[:n], fmt.Sprintf("… (%d in all)", len(names)))
	}
	return s
}

// quantFormat is the "format" metadata of files written by llm/quant (quant.FormatName).
const quantFormat = "divellm-quant"

// isQuantizedDir reports a directory written by divellm quantize: its model.safetensors
// holds quantized weights that llm cannot run as float32.
func isQuantizedDir(dir string) bool {
	f, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return false
	}
	defer f.Close()
	return f.Metadata["format"] == quantFormat
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
	case BART:
		switch {
		case name == "lm_head.weight", strings.HasSuffix(name, "embed_tokens.weight"):
			return "", false // tied to model.shared
		case name != "final_logits_bias" && !strings.HasPrefix(name, "model."):
			return "model." + name, true // saved from BartModel
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
