package llm

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/divellm/divellm/internal/fileio"
	"github.com/divellm/divellm/llm/safetensors"
)

// LoRA (Hu et al. 2021) freezes a pretrained weight W [out, in] and learns a low-rank
// update: two small matrices A [r, in] and B [out, r] with r ≪ in, out, scaled by α/r:
//
//	y = x·Wᵀ + b + (α/r)·x·Aᵀ·Bᵀ        W' = W + (α/r)·B·A  (after merging)
//
// A starts random and B at zero, so training starts from the pretrained model exactly.
// Only A and B (and the new task head) learn: r·(in + out) numbers per adapted matrix
// instead of in·out.

const (
	loraA = ".lora_A.weight"
	loraB = ".lora_B.weight"
	// peftPrefix is the name prefix PEFT gives every tensor of a saved adapter.
	peftPrefix = "base_model.model."
)

// LoRAConfig selects the adapters [Model.AddLoRA] adds.
type LoRAConfig struct {
	Rank  int     // r (default 8)
	Alpha float64 // α (default 2·r): the update is scaled by α/r
	// Targets picks the linear layers: "attention" (default: the query/key/value and
	// attention-output projections, GPT-2's c_attn and attn.c_proj) or "all-linear"
	// (the feed-forward layers too).
	Targets string
	Seed    uint64 // initialises A
	// Modules are the adapted modules' names, filled in by AddLoRA (and LoadAdapter).
	Modules []string
}

// Scale is α/r.
func (lc LoRAConfig) Scale() float64 { return lc.Alpha / float64(lc.Rank) }

func isLoRAName(n string) bool { return strings.HasSuffix(n, loraA) || strings.HasSuffix(n, loraB) }

// loraScales maps each adapted module to α/r (nil without adapters).
func (m *Model) loraScales() map[string]float64 {
	if m.LoRA == nil {
		return nil
	}
	out := map[string]float64{}
	for _, mod := range m.LoRA.Modules {
		out[mod] = m.LoRA.Scale()
	}
	return out
}

// AddLoRA adds rank-r adapters to the targeted linear layers: A ~ U(−1/√in, 1/√in) (PEFT's
// Kaiming-uniform default), B = 0, so the model's outputs do not change until it trains.
// Train them with TrainConfig.Trainable = m.LoRATrainable.
func (m *Model) AddLoRA(lc LoRAConfig) error {
	if m.LoRA != nil {
		return fmt.Errorf("lora: the model already has adapters (merge or remove them first)")
	}
	if lc.Rank == 0 {
		lc.Rank = 8
	}
	if lc.Alpha == 0 {
		lc.Alpha = 2 * float64(lc.Rank)
	}
	if lc.Rank < 0 || lc.Rank > m.Config.DModel || math.IsNaN(lc.Alpha) || math.IsInf(lc.Alpha, 0) || lc.Alpha <= 0 {
		return fmt.Errorf("lora: rank %d must be in [1, %d] and alpha %g positive", lc.Rank, m.Config.DModel, lc.Alpha)
	}
	if lc.Targets == "" {
		lc.Targets = "attention"
	}
	if lc.Targets != "attention" && lc.Targets != "all-linear" {
		return fmt.Errorf("lora: targets %q (want attention or all-linear)", lc.Targets)
	}
	r := newRand(lc.Seed, 0x10a)
	lc.Modules = nil
	for _, lin := range m.Config.Linears() {
		if lc.Targets == "attention" && !lin.IsAttention() {
			continue
		}
		a := make([]float32, lc.Rank*lin.In)
		bound := 1 / math.Sqrt(float64(lin.In))
		for i := range a {
			a[i] = float32((2*r.Float64() - 1) * bound)
		}
		if err := m.Weights.Set(lin.Module+loraA, []int{lc.Rank, lin.In}, a); err != nil {
			return err
		}
		if err := m.Weights.Set(lin.Module+loraB, []int{lin.Out, lc.Rank}, make([]float32, lin.Out*lc.Rank)); err != nil {
			return err
		}
		lc.Modules = append(lc.Modules, lin.Module)
	}
	m.LoRA = &lc
	return nil
}

// LoRATrainable is the Trainable predicate of a LoRA run: the adapters and the task heads
// (classifier / score / qa_outputs, as PEFT's modules_to_save) learn; everything else is
// frozen.
func (m *Model) LoRATrainable(name string) bool {
	if isLoRAName(name) {
		return true
	}
	for _, h := range m.headModules() {
		if strings.HasPrefix(name, h+".") {
			return true
		}
	}
	return false
}

// headModules are the task heads trained alongside adapters (PEFT's modules_to_save): the
// classifier (with BERT's pooler, which feeds it and may be new) or the QA head.
func (m *Model) headModules() []string {
	n := m.Config.ModelNames()
	var out []string
	for _, h := range []string{n.Classifier, n.QA} {
		if h != "" && m.Weights.Has(h+".weight") {
			out = append(out, h)
		}
	}
	if m.Config.Arch == BERT && m.Weights.Has(n.Classifier+".weight") && m.Weights.Has(n.Pooler+".weight") {
		out = append(out, n.Pooler)
	}
	return out
}

// MergeLoRA folds every adapter into its weight, W += (α/r)·B·A (transposed for GPT-2's
// Conv1D [in, out] layout), and removes the adapters: the merged model computes the same
// function with no extra cost and saves as a plain checkpoint.
func (m *Model) MergeLoRA() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.LoRA == nil {
		return fmt.Errorf("lora: the model has no adapters")
	}
	scale := float32(m.LoRA.Scale())
	lins := map[string]Linear{}
	for _, l := range m.Config.Linears() {
		lins[l.Module] = l
	}
	for _, mod := range m.LoRA.Modules {
		lin := lins[mod]
		w, err := m.Weights.Float32(mod + ".weight")
		if err != nil {
			return err
		}
		a, err := m.Weights.Float32(mod + loraA)
		if err != nil {
			return err
		}
		b, err := m.Weights.Float32(mod + loraB)
		if err != nil {
			return err
		}
		r := m.LoRA.Rank
		for o := range lin.Out {
			for i := range lin.In {
				var d float32
				for k := range r {
					d += b[o*r+k] * a[k*lin.In+i]
				}
				if lin.Conv1D {
					w[i*lin.Out+o] += scale * d
				} else {
					w[o*lin.In+i] += scale * d
				}
			}
		}
		if err := m.Weights.Set(mod+".weight", m.Weights.Shape(mod+".weight"), w); err != nil {
			return err
		}
		m.Weights.Delete(mod + loraA)
		m.Weights.Delete(mod + loraB)
	}
	m.LoRA = nil
	return nil
}

// adapterConfig is PEFT's adapter_config.json.
type adapterConfig struct {
	PeftType          string   `json:"peft_type"`
	TaskType          string   `json:"task_type,omitempty"`
	R                 int      `json:"r"`
	LoraAlpha         float64  `json:"lora_alpha"`
	LoraDropout       float64  `json:"lora_dropout"`
	TargetModules     []string `json:"target_modules"`
	FanInFanOut       bool     `json:"fan_in_fan_out"`
	Bias              string   `json:"bias"`
	ModulesToSave     []string `json:"modules_to_save,omitempty"`
	BaseModelNameOrPa string   `json:"base_model_name_or_path"`
	InferenceMode     bool     `json:"inference_mode"`
	InitLoraWeights   bool     `json:"init_lora_weights"`
}

// SaveAdapter writes the adapters alone in PEFT's layout: adapter_config.json and
// adapter_model.safetensors ("base_model.model.<module>.lora_A.weight", …), plus the task
// head PEFT's modules_to_save would keep. The labels of a classifier travel in the
// safetensors metadata ("id2label"). base names the base model for the config. The
// directory follows the output rule of [Model.Save].
func (m *Model) SaveAdapter(dir, base string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.LoRA == nil {
		return fmt.Errorf("save adapter %s: the model has no adapters", dir)
	}
	if err := m.Weights.CheckFinite(); err != nil {
		return fmt.Errorf("save adapter %s: refusing to write non-finite weights: %w", dir, err)
	}
	ac := adapterConfig{PeftType: "LORA", R: m.LoRA.Rank, LoraAlpha: m.LoRA.Alpha, FanInFanOut: m.Config.Arch == GPT,
		Bias: "none", BaseModelNameOrPa: base, InferenceMode: true, InitLoraWeights: true, TargetModules: peftTargets(m.Config, m.LoRA.Modules)}
	heads := m.headModules()
	for _, h := range heads {
		ac.ModulesToSave = append(ac.ModulesToSave, h[strings.LastIndex(strings.TrimSuffix(h, ".dense"), ".")+1:])
	}
	switch {
	case m.Heads().Classifier:
		ac.TaskType = "SEQ_CLS"
	case m.Heads().QA:
		ac.TaskType = "QUESTION_ANS"
	case m.Config.Arch == GPT:
		ac.TaskType = "CAUSAL_LM"
	}
	cfg, _ := json.MarshalIndent(ac, "", "  ")
	var names []string
	for _, n := range m.Weights.Names() {
		if isLoRAName(n) {
			names = append(names, n)
		}
	}
	for _, h := range heads {
		for _, suffix := range []string{".weight", ".bias"} {
			if m.Weights.Has(h + suffix) {
				names = append(names, h+suffix)
			}
		}
	}
	meta := map[string]string{"format": "pt"}
	if m.Config.ID2Label != nil {
		b, _ := json.Marshal(m.Config.ID2Label)
		meta["id2label"] = string(b)
	}
	return safetensors.WriteDirAtomic(dir, func(tmp string) error {
		if err := os.WriteFile(filepath.Join(tmp, "adapter_config.json"), append(cfg, '\n'), 0o644); err != nil {
			return err
		}
		return writeTensors(filepath.Join(tmp, "adapter_model.safetensors"), m.Weights, names, peftPrefix, meta)
	})
}

// peftTargets returns the module-name suffixes PEFT matches for the adapted modules.
func peftTargets(c Config, modules []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, mod := range modules {
		parts := strings.Split(mod, ".")
		// The suffix after the layer index: "attention.self.query", "attn.c_attn", …
		for i, p := range parts {
			if _, err := strconv.Atoi(p); err == nil && i+1 < len(parts) {
				s := strings.Join(parts[i+1:], ".")
				if !seen[s] {
					seen[s] = true
					out = append(out, s)
				}
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// LoadAdapter reads a PEFT adapter directory (adapter_config.json +
// adapter_model.safetensors) onto the model: the adapters are added unmerged, and saved
// task heads replace the model's (or are added, with their labels).
func (m *Model) LoadAdapter(dir string) error {
	if m.LoRA != nil {
		return fmt.Errorf("load adapter %s: the model already has adapters", dir)
	}
	raw, err := fileio.ReadFile(filepath.Join(dir, "adapter_config.json"), 1<<20)
	if err != nil {
		return fmt.Errorf("load adapter: %w", err)
	}
	var ac adapterConfig
	if err := json.Unmarshal(raw, &ac); err != nil {
		return fmt.Errorf("load adapter %s: adapter_config.json: %w", dir, err)
	}
	if ac.PeftType != "LORA" || ac.R <= 0 || ac.R > m.Config.DModel || ac.LoraAlpha <= 0 || math.IsNaN(ac.LoraAlpha) {
		return fmt.Errorf("load adapter %s: not a LoRA adapter divellm can use (peft_type %q, r %d, lora_alpha %g)", dir, ac.PeftType, ac.R, ac.LoraAlpha)
	}
	f, err := safetensors.Open(filepath.Join(dir, "adapter_model.safetensors"))
	if err != nil {
		return fmt.Errorf("load adapter %s: %w", dir, err)
	}
	defer f.Close()
	lins := map[string]Linear{}
	for _, l := range m.Config.Linears() {
		lins[l.Module] = l
	}
	lc := &LoRAConfig{Rank: ac.R, Alpha: ac.LoraAlpha}
	type item struct {
		name  string
		shape []int
		data  []float32
	}
	var items []item
	for _, info := range f.Infos() {
		name := strings.TrimPrefix(info.Name, peftPrefix)
		t, err := f.Get(info.Name)
		if err != nil {
			return fmt.Errorf("load adapter %s: %w", dir, err)
		}
		data, err := t.Float32s()
		if err != nil {
			return fmt.Errorf("load adapter %s: %q: %w", dir, info.Name, err)
		}
		var want []int
		switch {
		case strings.HasSuffix(name, loraA):
			lin, ok := lins[strings.TrimSuffix(name, loraA)]
			if !ok {
				return fmt.Errorf("load adapter %s: %q adapts no linear layer of this model", dir, info.Name)
			}
			want = []int{ac.R, lin.In}
			lc.Modules = append(lc.Modules, lin.Module)
		case strings.HasSuffix(name, loraB):
			lin, ok := lins[strings.TrimSuffix(name, loraB)]
			if !ok {
				return fmt.Errorf("load adapter %s: %q adapts no linear layer of this model", dir, info.Name)
			}
			want = []int{lin.Out, ac.R}
		default:
			if !m.isHeadName(name) {
				return fmt.Errorf("load adapter %s: unexpected tensor %q", dir, info.Name)
			}
			want = info.Shape
		}
		if !equalInts(info.Shape, want) {
			return fmt.Errorf("load adapter %s: %q has shape %v, want %v", dir, info.Name, info.Shape, want)
		}
		items = append(items, item{name, info.Shape, data})
	}
	if len(lc.Modules) == 0 {
		return fmt.Errorf("load adapter %s: no lora_A tensors", dir)
	}
	for _, mod := range lc.Modules {
		if _, ok := f.Info(peftPrefix + mod + loraB); !ok {
			return fmt.Errorf("load adapter %s: %s has lora_A but no lora_B", dir, mod)
		}
	}
	for _, it := range items {
		if err := m.Weights.Set(it.name, it.shape, it.data); err != nil {
			return err
		}
	}
	if s := m.Weights.Shape(m.Config.ModelNames().Classifier + ".weight"); len(s) == 2 {
		m.Config.NumLabels = s[0]
		if raw := f.Metadata["id2label"]; raw != "" {
			var id2 map[string]string
			if json.Unmarshal([]byte(raw), &id2) == nil && len(id2) == s[0] {
				m.Config.ID2Label = id2
			}
		}
	}
	sort.Strings(lc.Modules)
	lc.Targets = "attention"
	m.LoRA = lc
	if err := checkWeights(m.Config, m.Weights); err != nil {
		return fmt.Errorf("load adapter %s: %w", dir, err)
	}
	return nil
}

// isHeadName reports a task-head tensor name of the architecture.
func (m *Model) isHeadName(name string) bool {
	n := m.Config.ModelNames()
	for _, h := range []string{n.Classifier, n.QA, n.Pooler} {
		if h != "" && (name == h+".weight" || name == h+".bias") {
			return true
		}
	}
	return false
}
