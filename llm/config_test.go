package llm

import (
	"encoding/json"
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
