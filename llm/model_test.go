package llm

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/llm/sample"
)

func smallGPT(t *testing.T) *Model {
	t.Helper()
	c := Config{Arch: GPT, VocabSize: 50, DModel: 32, Heads: 4, Layers: 2, DFF: 64, MaxPos: 24, LayerNormE: 1e-5, Activation: "gelu_new"}
	m, err := New(c, HeadSet{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	// Larger random weights than the 0.02 init, so attention is far from uniform and a
	// wrong cache position changes the logits.
	for _, n := range m.Weights.Names() {
		data, err := m.Weights.Float32(n)
		if err != nil {
			t.Fatal(err)
		}
		for i := range data {
			data[i] *= 10
		}
		if err := m.Weights.Set(n, m.Weights.Shape(n), data); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func TestSaveLoadBitIdentical(t *testing.T) {
	for _, arch := range []Arch{GPT, BERT} {
		c := Config{Arch: arch, VocabSize: 40, DModel: 16, Heads: 2, Layers: 2, DFF: 32, MaxPos: 16, LayerNormE: 1e-5, Activation: "gelu_new", TypeVocab: 2, NumLabels: 3}
		heads := HeadSet{MLM: arch == BERT, QA: arch == BERT, Classifier: arch == BERT}
		m, err := New(c, heads, 9)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "ckpt")
		if err := m.Save(dir); err != nil {
			t.Fatal(err)
		}
		// Saving again over an existing checkpoint must work (atomic replace).
		if err := m.Save(dir); err != nil {
			t.Fatal(err)
		}
		m2, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if m2.Config.DModel != c.DModel || m2.Config.Arch != arch || m2.Config.Layers != c.Layers {
			t.Fatalf("config round trip: %+v", m2.Config)
		}
		if m2.Weights.Len() != m.Weights.Len() {
			t.Fatalf("%s: %d tensors after load, want %d", arch, m2.Weights.Len(), m.Weights.Len())
		}
		for _, n := range m.Weights.Names() {
			p, _ := m.Weights.Float32(n)
			q, err := m2.Weights.Float32(n)
			if err != nil {
				t.Fatal(err)
			}
			for i := range p {
				if math.Float32bits(p[i]) != math.Float32bits(q[i]) {
					t.Fatalf("%s: %s[%d] = %g after load, want %g", arch, n, i, q[i], p[i])
				}
			}
		}
	}
}

func TestLoadRejectsBadCheckpoints(t *testing.T) {
	m := smallGPT(t)
	dir := filepath.Join(t.TempDir(), "ckpt")
	if err := m.Save(dir); err != nil {
		t.Fatal(err)
	}
	st := filepath.Join(dir, "model.safetensors")
	good, _ := os.ReadFile(st)
	cfg, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	cases := map[string]func(){
		"truncated":  func() { os.WriteFile(st, good[:len(good)/2], 0o644) },
		"garbage":    func() { os.WriteFile(st, []byte("not a safetensors file at all"), 0o644) },
		"bad config": func() { os.WriteFile(filepath.Join(dir, "config.json"), []byte("{"), 0o644) },
		"wrong width": func() {
			os.WriteFile(filepath.Join(dir, "config.json"), []byte(strings.Replace(string(cfg), `"n_embd": 32,`, `"n_embd": 64,`, 1)), 0o644)
		},
		"missing": func() { os.Remove(st) },
	}
	for name, corrupt := range cases {
		os.WriteFile(st, good, 0o644)
		os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644)
		corrupt()
		if _, err := Load(dir); err == nil {
			t.Errorf("%s: Load succeeded, want an error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestKVCacheMatchesFullForward(t *testing.T) {
	m := smallGPT(t)
	prompt := []int{1, 7, 3, 9, 4}
	cached, err := m.GenerateIDs(prompt, GenerateOptions{MaxTokens: 12})
	if err != nil {
		t.Fatal(err)
	}
	full, err := m.GenerateIDs(prompt, GenerateOptions{MaxTokens: 12, NoCache: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range cached.IDs {
		if cached.IDs[i] != full.IDs[i] {
			t.Fatalf("greedy ids differ at %d: cache %v, no cache %v", i, cached.IDs, full.IDs)
		}
		if math.Abs(cached.Steps[i].Prob-full.Steps[i].Prob) > 1e-4 {
			t.Fatalf("step %d: prob %g with cache, %g without", i, cached.Steps[i].Prob, full.Steps[i].Prob)
		}
	}
	// And the decoder's logits equal an ordinary forward pass over the same sequence.
	seq := append(append([]int(nil), prompt...), cached.IDs...)
	out, err := m.Forward(Batch{IDs: [][]int{seq}}, ForwardOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dec, err := m.newDecoder(len(seq))
	if err != nil {
		t.Fatal(err)
	}
	for i := range seq {
		logits, err := dec.next(seq[:i+1])
		if err != nil {
			t.Fatal(err)
		}
		want := out.Logits.Row(0, i)
		for j := range logits {
			if math.Abs(float64(logits[j]-want[j])) > 1e-3*max(1, math.Abs(float64(want[j]))) {
				t.Fatalf("position %d logit %d: decoder %g, forward %g", i, j, logits[j], want[j])
			}
		}
	}
}

func TestSampling(t *testing.T) {
	logits := []float32{2, 1, 0, -1}
	p := sample.Distribution(logits, GenerateOptions{Temperature: 1, TopK: 2}.sampling())
	if p[2] != 0 || p[3] != 0 || math.Abs(p[0]+p[1]-1) > 1e-12 {
		t.Fatalf("top-k 2 kept %v", p)
	}
	e := math.Exp(1.0)
	if math.Abs(p[0]-e/(e+1)) > 1e-12 {
		t.Fatalf("top-k renormalisation: p0 = %g, want %g", p[0], e/(e+1))
	}
	// Top-p 0.5: the first token alone has mass e²/(e²+e+1+1/e) ≈ 0.64 ≥ 0.5.
	p = sample.Distribution(logits, GenerateOptions{Temperature: 1, TopP: 0.5}.sampling())
	if p[0] != 1 {
		t.Fatalf("top-p 0.5 kept %v", p)
	}
	// Low temperature sharpens.
	hot := sample.Distribution(logits, GenerateOptions{Temperature: 2}.sampling())
	cold := sample.Distribution(logits, GenerateOptions{Temperature: 0.5}.sampling())
	if !(cold[0] > hot[0]) {
		t.Fatalf("temperature: cold p0 %g should exceed hot p0 %g", cold[0], hot[0])
	}
	m := smallGPT(t)
	a, _ := m.GenerateIDs([]int{1, 2}, GenerateOptions{MaxTokens: 8, Temperature: 1, Seed: 5})
	b, _ := m.GenerateIDs([]int{1, 2}, GenerateOptions{MaxTokens: 8, Temperature: 1, Seed: 5})
	for i := range a.IDs {
		if a.IDs[i] != b.IDs[i] {
			t.Fatalf("same seed, different samples: %v vs %v", a.IDs, b.IDs)
		}
	}
}
