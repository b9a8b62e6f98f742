package llm

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/llm/safetensors"
)

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func TestLoRATrainMergeSaveLoad(t *testing.T) {
	for _, arch := range []Arch{BERT, GPT} {
		t.Run(string(arch), func(t *testing.T) {
			c := Config{Arch: arch, VocabSize: 30, DModel: 32, Heads: 4, Layers: 2, DFF: 64, MaxPos: 16, LayerNormE: 1e-5,
				Activation: "gelu_new", TypeVocab: 2}
			m, err := New(c, HeadSet{}, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.AddClassifier([]string{"no", "yes"}, 2); err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(5, 5))
			b := randomBatch(r, c.VocabSize, []int{6, 9, 4})
			before, err := m.Forward(b, ForwardOptions{SkipLogits: true})
			if err != nil {
				t.Fatal(err)
			}
			beforeCls := append([]float32(nil), before.Classes.Data...)
			if err := m.AddLoRA(LoRAConfig{Rank: 4, Alpha: 8, Seed: 3}); err != nil {
				t.Fatal(err)
			}
			// B = 0: adding adapters does not change the function.
			fresh, _ := m.Forward(b, ForwardOptions{SkipLogits: true})
			if d := maxDiff(fresh.Classes.Data, beforeCls); d > 1e-6 {
				t.Fatalf("fresh adapters changed the outputs by %g", d)
			}
			// Train adapters + head; the base stays frozen.
			tb := &TrainBatch{Batch: b, Classes: []int{1, 0, 1}}
			base := c.LayerNames(0).AttnOut + ".weight"
			w0, _ := m.Weights.Float32(base)
			tr, err := m.NewTrainer(TrainConfig{Objective: Classification, Steps: 15, LR: 1e-2, Seed: 1, Trainable: m.LoRATrainable},
				&sliceSource{b: []*TrainBatch{tb}}, []*TrainBatch{tb})
			if err != nil {
				t.Fatal(err)
			}
			share := float64(tr.TrainableCount()) / float64(m.Weights.Count())
			if _, err := tr.Run(context.Background(), 0); err != nil {
				t.Fatal(err)
			}
			w1, _ := m.Weights.Float32(base)
			if maxDiff(w0, w1) != 0 {
				t.Fatal("LoRA training changed a frozen base weight")
			}
			adapted, _ := m.Forward(b, ForwardOptions{SkipLogits: true})
			tuned := append([]float32(nil), adapted.Classes.Data...)
			if maxDiff(tuned, beforeCls) < 1e-3 {
				t.Fatal("training the adapters did not change the outputs")
			}
			t.Logf("trainable share %.1f%%", 100*share)
			// Adapter-only save and load onto a fresh copy of the base gives the same outputs.
			dir := filepath.Join(t.TempDir(), "adapter")
			if err := m.SaveAdapter(dir, "base"); err != nil {
				t.Fatal(err)
			}
			f, err := safetensors.Open(filepath.Join(dir, "adapter_model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range f.Names() {
				if !strings.HasPrefix(n, peftPrefix) {
					t.Fatalf("adapter tensor %q lacks PEFT's prefix", n)
				}
			}
			f.Close()
			if cfg, _ := os.ReadFile(filepath.Join(dir, "adapter_config.json")); !strings.Contains(string(cfg), `"peft_type": "LORA"`) {
				t.Fatalf("adapter_config.json: %s", cfg)
			}
			m2, _ := New(c, HeadSet{}, 1) // the same base, without the head
			if err := m2.LoadAdapter(dir); err != nil {
				t.Fatal(err)
			}
			re, _ := m2.Forward(b, ForwardOptions{SkipLogits: true})
			if d := maxDiff(re.Classes.Data, tuned); d > 1e-5 {
				t.Fatalf("reloaded adapter differs by %g", d)
			}
			if m2.Config.ID2Label["1"] != "yes" {
				t.Fatalf("labels did not travel with the adapter: %v", m2.Config.ID2Label)
			}
			// Merging gives the same function without adapters.
			if err := m.Save(filepath.Join(t.TempDir(), "x")); err == nil {
				t.Fatal("Save accepted a model with unmerged adapters")
			}
			if err := m.MergeLoRA(); err != nil {
				t.Fatal(err)
			}
			merged, _ := m.Forward(b, ForwardOptions{SkipLogits: true})
			if d := maxDiff(merged.Classes.Data, tuned); d > 1e-4 {
				t.Fatalf("merged model differs by %g", d)
			}
			for _, n := range m.Weights.Names() {
				if isLoRAName(n) {
					t.Fatalf("%s left after merging", n)
				}
			}
			full := filepath.Join(t.TempDir(), "merged")
			if err := m.Save(full); err != nil {
				t.Fatal(err)
			}
			m3, err := Load(full)
			if err != nil {
				t.Fatal(err)
			}
			out3, _ := m3.Forward(b, ForwardOptions{SkipLogits: true})
			if d := maxDiff(out3.Classes.Data, tuned); d > 1e-4 {
				t.Fatalf("saved merged model differs by %g", d)
			}
		})
	}
}

func TestLoRAConfigRefusals(t *testing.T) {
	m := smallGPT(t)
	for _, lc := range []LoRAConfig{{Rank: -1}, {Rank: 1000}, {Rank: 2, Alpha: math.NaN()}, {Rank: 2, Targets: "mlp"}} {
		if err := m.AddLoRA(lc); err == nil {
			t.Fatalf("%+v accepted", lc)
		}
	}
	if err := m.AddLoRA(LoRAConfig{Targets: "all-linear"}); err != nil {
		t.Fatal(err)
	}
	if got, want := len(m.LoRA.Modules), 4*m.Config.Layers; got != want {
		t.Fatalf("all-linear adapted %d modules, want %d", got, want)
	}
	if err := m.AddLoRA(LoRAConfig{}); err == nil {
		t.Fatal("second AddLoRA accepted")
	}
}
