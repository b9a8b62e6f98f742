package llm

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestConfigJSONRoundTripAndRefusals(t *testing.T) {
	c := TinyBERT(100)
	c.NumLabels, c.ID2Label, c.ProblemType = 2, map[string]string{"0": "ok", "1": "告警"}, "multi_label_classification"
	data, err := c.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.DModel != c.DModel || back.ProblemType != c.ProblemType || back.ID2Label["1"] != "告警" || back.LayerNormE != c.LayerNormE {
		t.Fatalf("round trip: %+v", back)
	}
	for _, mt := range []string{"roberta", "electra", "llama", ""} {
		err := json.Unmarshal([]byte(`{"model_type":"`+mt+`","hidden_size":8,"num_attention_heads":2,"num_hidden_layers":1,"vocab_size":10}`), &back)
		if err == nil {
			t.Errorf("model_type %q accepted", mt)
		}
	}
	// GPT-2 with a BERT vocabulary and no bos/eos: the 50256 default must not leak in.
	var g Config
	if err := json.Unmarshal([]byte(`{"model_type":"gpt2","n_embd":8,"n_head":2,"n_layer":1,"vocab_size":21128}`), &g); err != nil {
		t.Fatal(err)
	}
	if g.BosID != -1 || g.EosID != -1 {
		t.Fatalf("bos/eos = %d/%d for a 21128-token vocabulary", g.BosID, g.EosID)
	}
	if out, _ := g.MarshalJSON(); strings.Contains(string(out), "eos_token_id") {
		t.Fatalf("absent eos written: %s", out)
	}
	bad := TinyGPT(10)
	bad.Heads = 3
	if bad.Validate() == nil {
		t.Fatal("d_model 128 with 3 heads accepted")
	}
}

// TestLoadConfigOverrides: vLLM-style --hf-overrides on the shipped gpt-tiny-zh config.
func TestLoadConfigOverrides(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join("..", "models", "gpt-tiny-zh", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	base, err := LoadConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfigOverrides(dir, map[string]any{"n_layer": 12, "n_embd": 768, "n_head": 12, "n_inner": 3072})
	if err != nil {
		t.Fatal(err)
	}
	if c.Layers != 12 || c.DModel != 768 || c.Heads != 12 || c.DFF != 3072 || c.VocabSize != base.VocabSize || c.MaxPos != base.MaxPos || c.Arch != GPT {
		t.Errorf("GPT-2 small body: got %+v", c)
	}
	// The file has both n_positions and n_ctx: overriding the alias changes what is read.
	if c, err := LoadConfigOverrides(dir, map[string]any{"n_ctx": 256}); err != nil || c.MaxPos != 256 {
		t.Errorf("n_ctx 256: MaxPos %d, err %v", c.MaxPos, err)
	}
	if c, err := LoadConfigOverrides(dir, nil); err != nil || !reflect.DeepEqual(c, base) {
		t.Errorf("no overrides: %+v, %v; want %+v", c, err, base)
	}
	for _, bad := range []map[string]any{
		{"n_layer": 0}, {"n_layer": 1e9}, {"n_embd": 130}, {"n_layer": "12"}, {"n_layer": 1.5},
		{"not_a_key": 1}, {"model_type": "bert"}, {"hidden_size": -768},
	} {
		if c, err := LoadConfigOverrides(dir, bad); err == nil {
			t.Errorf("override %v accepted: %+v", bad, c)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("override %v: error spans lines: %q", bad, err)
		}
	}
}
