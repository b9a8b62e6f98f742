package models

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/divellm/divellm/lessons/week4"
	"github.com/divellm/divellm/llm/quant/qmodel"
	"github.com/divellm/divellm/llm/safetensors"
)

// HFCheck is one line of [CheckHFLayout].
type HFCheck struct {
	What   string
	OK     bool
	Detail string
}

var layerIndex = regexp.MustCompile(`\.h\.\d+\.`)

// CheckHFLayout checks what lets vLLM, TGI or transformers load our GPT checkpoints as
// they are: the decoder reproduces PyTorch's GPT-2 logits on the fixture
// testdata/hf/tiny-gpt2 (written by PyTorch modules with Hugging Face's names), the
// shipped gpt-tiny-zh uses the same tensor names (layer numbers aside) and its config.json
// has the keys GPT2Config reads.
func CheckHFLayout() ([]HFCheck, error) {
	root, err := week4.Root()
	if err != nil {
		return nil, err
	}
	fixture := filepath.Join(root, "testdata", "hf", "tiny-gpt2")
	var out []HFCheck

	// 1. Logits of the decoder vs PyTorch on every unpadded reference row.
	ref, _, err := safetensors.ReadAll(filepath.Join(fixture, "reference.safetensors"))
	if err != nil {
		return nil, err
	}
	g, err := qmodel.LoadGPT(fixture, qmodel.F32)
	if err != nil {
		return nil, err
	}
	ids, _ := ref["input_ids"].Int64s()
	mask, _ := ref["attention_mask"].Int64s()
	want, _ := ref["logits"].Float32s()
	T, V := ref["input_ids"].Shape[1], ref["logits"].Shape[2]
	worst, rows := 0.0, 0
	for r := 0; r < ref["input_ids"].Shape[0]; r++ {
		if slices.Contains(mask[r*T:(r+1)*T], 0) {
			continue
		}
		row := make([]int, T)
		for i := range row {
			row[i] = int(ids[r*T+i])
		}
		s, _ := g.NewSession(T)
		got, err := s.Forward(row)
		if err != nil {
			return nil, err
		}
		for i := range got {
			worst = math.Max(worst, math.Abs(float64(got[i]-want[r*T*V+i])))
		}
		rows++
	}
	out = append(out, HFCheck{"GPT-2 数学：与 PyTorch 的 logits 一致 (logits match PyTorch)", rows > 0 && worst < 1e-4,
		fmt.Sprintf("%d 行 × %d token，最大差 max |diff| = %.2g", rows, T, worst)})

	// 2. Tensor names: gpt-tiny-zh's against the PyTorch-written fixture's.
	names := func(dir string) ([]string, error) {
		f, err := safetensors.Open(filepath.Join(dir, "model.safetensors"))
		if err != nil {
			return nil, err
		}
		defer f.Close()
		set := map[string]bool{}
		for _, n := range f.Names() {
			set[layerIndex.ReplaceAllString(n, ".h.N.")] = true
		}
		var out []string
		for n := range set {
			out = append(out, n)
		}
		slices.Sort(out)
		return out, nil
	}
	ours, err := week4.ModelDir("gpt-tiny-zh")
	if err != nil {
		return nil, err
	}
	a, err := names(ours)
	if err != nil {
		return nil, err
	}
	b, err := names(fixture)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, n := range b {
		if !slices.Contains(a, n) && n != "lm_head.weight" { // tied to wte: optional, as in HF's own files
			missing = append(missing, n)
		}
	}
	out = append(out, HFCheck{"张量名与 Hugging Face GPT-2 相同 (tensor names)", len(missing) == 0,
		fmt.Sprintf("%d 个名字 (per layer N)，例如 %s；缺少 missing: %v", len(a), a[len(a)/2], missing)})

	// 3. config.json keys GPT2Config needs.
	raw, err := os.ReadFile(filepath.Join(ours, "config.json"))
	if err != nil {
		return nil, err
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, err
	}
	var absent []string
	for _, k := range []string{"model_type", "vocab_size", "n_embd", "n_head", "n_layer", "n_positions", "layer_norm_epsilon", "activation_function"} {
		if _, ok := cfg[k]; !ok {
			absent = append(absent, k)
		}
	}
	out = append(out, HFCheck{"config.json 是 GPT2Config (config keys)", len(absent) == 0 && cfg["model_type"] == "gpt2",
		fmt.Sprintf("model_type %v, architectures %v; 缺少 missing: %v", cfg["model_type"], cfg["architectures"], absent)})
	return out, nil
}
