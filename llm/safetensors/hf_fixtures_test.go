package safetensors

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"reflect"
	"testing"
)

// The Hugging Face-layout fixtures written by PyTorch (scripts/gen_hf_fixtures.py). This
// test pins their names, shapes and dtypes; the model tests check the numbers.
var hfDir = filepath.Join("..", "..", "testdata", "hf")

type want map[string][]int // name → shape; every tensor F32 unless listed in ints

func bertWeights() want {
	w := want{
		"bert.embeddings.word_embeddings.weight":       {120, 32},
		"bert.embeddings.position_embeddings.weight":   {64, 32},
		"bert.embeddings.token_type_embeddings.weight": {2, 32},
		"bert.embeddings.LayerNorm.weight":             {32},
		"bert.embeddings.LayerNorm.bias":               {32},
		"bert.pooler.dense.weight":                     {32, 32},
		"bert.pooler.dense.bias":                       {32},
		"cls.predictions.transform.dense.weight":       {32, 32},
		"cls.predictions.transform.dense.bias":         {32},
		"cls.predictions.transform.LayerNorm.weight":   {32},
		"cls.predictions.transform.LayerNorm.bias":     {32},
		"cls.predictions.bias":                         {120},
		"qa_outputs.weight":                            {2, 32},
		"qa_outputs.bias":                              {2},
		"classifier.weight":                            {3, 32},
		"classifier.bias":                              {3},
	}
	for l := 0; l < 2; l++ {
		p := fmt.Sprintf("bert.encoder.layer.%d.", l)
		for _, s := range []string{"attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"} {
			w[p+s+".weight"], w[p+s+".bias"] = []int{32, 32}, []int{32}
		}
		w[p+"intermediate.dense.weight"], w[p+"intermediate.dense.bias"] = []int{64, 32}, []int{64}
		w[p+"output.dense.weight"], w[p+"output.dense.bias"] = []int{32, 64}, []int{32}
		for _, s := range []string{"attention.output.LayerNorm", "output.LayerNorm"} {
			w[p+s+".weight"], w[p+s+".bias"] = []int{32}, []int{32}
		}
	}
	return w
}

func gpt2Weights(prefix string, buffers bool) want {
	w := want{
		prefix + "wte.weight":  {120, 32},
		prefix + "wpe.weight":  {64, 32},
		prefix + "ln_f.weight": {32},
		prefix + "ln_f.bias":   {32},
	}
	for l := 0; l < 2; l++ {
		p := fmt.Sprintf("%sh.%d.", prefix, l)
		w[p+"ln_1.weight"], w[p+"ln_1.bias"] = []int{32}, []int{32}
		w[p+"ln_2.weight"], w[p+"ln_2.bias"] = []int{32}, []int{32}
		w[p+"attn.c_attn.weight"], w[p+"attn.c_attn.bias"] = []int{32, 96}, []int{96} // Conv1D: [in, out]
		w[p+"attn.c_proj.weight"], w[p+"attn.c_proj.bias"] = []int{32, 32}, []int{32}
		w[p+"mlp.c_fc.weight"], w[p+"mlp.c_fc.bias"] = []int{32, 128}, []int{128}
		w[p+"mlp.c_proj.weight"], w[p+"mlp.c_proj.bias"] = []int{128, 32}, []int{32}
		if buffers {
			w[p+"attn.bias"] = []int{1, 1, 64, 64}
		}
	}
	return w
}

func TestHFFixtures(t *testing.T) {
	ints := map[string]bool{"input_ids": true, "attention_mask": true, "token_type_ids": true}
	bertRef := want{
		"input_ids": {2, 12}, "attention_mask": {2, 12}, "token_type_ids": {2, 12},
		"hidden_states.0": {2, 12, 32}, "hidden_states.1": {2, 12, 32}, "hidden_states.2": {2, 12, 32},
		"last_hidden_state": {2, 12, 32},
		"attentions.0":      {2, 4, 12, 12}, "attentions.1": {2, 4, 12, 12},
		"mlm_logits": {2, 12, 120}, "pooled": {2, 32},
		"qa_start_logits": {2, 12}, "qa_end_logits": {2, 12}, "cls_logits": {2, 3},
	}
	gptRef := want{
		"input_ids": {2, 10}, "attention_mask": {2, 10},
		"hidden_states.0": {2, 10, 32}, "hidden_states.1": {2, 10, 32}, "hidden_states.2": {2, 10, 32},
		"last_hidden_state": {2, 10, 32},
		"attentions.0":      {2, 4, 10, 10}, "attentions.1": {2, 4, 10, 10},
		"logits": {2, 10, 120},
	}
	for _, c := range []struct {
		file string
		want want
	}{
		{"tiny-bert/model.safetensors", bertWeights()},
		{"tiny-bert/reference.safetensors", bertRef},
		{"tiny-gpt2/model.safetensors", gpt2Weights("transformer.", false)},
		{"tiny-gpt2/reference.safetensors", gptRef},
		{"tiny-gpt2-hub-style/model.safetensors", gpt2Weights("", true)},
	} {
		t.Run(c.file, func(t *testing.T) {
			f, err := Open(filepath.Join(hfDir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Metadata["format"] != "pt" {
				t.Errorf("metadata = %v, want format=pt as save_pretrained writes", f.Metadata)
			}
			if len(f.Names()) != len(c.want) {
				t.Errorf("%d tensors, want %d: %v", len(f.Names()), len(c.want), f.Names())
			}
			for name, shape := range c.want {
				info, ok := f.Info(name)
				if !ok {
					t.Errorf("missing %q", name)
					continue
				}
				dt := F32
				if ints[name] {
					dt = I64
				}
				if info.DType != dt || !reflect.DeepEqual(info.Shape, shape) {
					t.Errorf("%q: %s %v, want %s %v", name, info.DType, info.Shape, dt, shape)
				}
				tt, _ := f.Get(name)
				if _, err := tt.Float32s(); err != nil {
					t.Errorf("%q: %v", name, err)
				}
			}
		})
	}
}

func TestHFFixtureInputs(t *testing.T) {
	// The masking the model tests rely on: BERT row 1 = 8 tokens + 4 [PAD] (id 0) with a
	// sentence pair; GPT-2 row 1 = 7 tokens + 3 right-padded eos (id 119).
	ref, meta, err := ReadAll(filepath.Join(hfDir, "tiny-bert", "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	mask, _ := ref["attention_mask"].Int64s()
	ids, _ := ref["input_ids"].Int64s()
	types, _ := ref["token_type_ids"].Int64s()
	if !reflect.DeepEqual(mask[12:], []int64{1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}) || !reflect.DeepEqual(ids[20:], []int64{0, 0, 0, 0}) ||
		!reflect.DeepEqual(types[12:20], []int64{0, 0, 0, 0, 1, 1, 1, 1}) || ids[0] != 2 || meta["tokens"] == "" {
		t.Errorf("BERT inputs: ids %v mask %v types %v", ids, mask, types)
	}
	// Attention probabilities on padded keys are exactly 0 and rows sum to 1.
	att, _ := ref["attentions.0"].Float32s()
	for h := 0; h < 4; h++ {
		for q := 0; q < 12; q++ {
			row := att[((1*4+h)*12+q)*12:][:12]
			sum := float32(0)
			for k, p := range row {
				sum += p
				if k >= 8 && p != 0 {
					t.Fatalf("BERT head %d query %d attends to [PAD] key %d: %v", h, q, k, p)
				}
			}
			if sum < 0.9999 || sum > 1.0001 {
				t.Fatalf("attention row sums to %v", sum)
			}
		}
	}
	gref, _, err := ReadAll(filepath.Join(hfDir, "tiny-gpt2", "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	gmask, _ := gref["attention_mask"].Int64s()
	gids, _ := gref["input_ids"].Int64s()
	if !reflect.DeepEqual(gmask[10:], []int64{1, 1, 1, 1, 1, 1, 1, 0, 0, 0}) || !reflect.DeepEqual(gids[17:], []int64{119, 119, 119}) {
		t.Errorf("GPT-2 inputs: ids %v mask %v", gids, gmask)
	}
	gatt, _ := gref["attentions.1"].Float32s()
	for b := 0; b < 2; b++ {
		for q := 0; q < 10; q++ {
			for k := 0; k < 10; k++ {
				p := gatt[((b*4+0)*10+q)*10+k]
				if (k > q || (b == 1 && k >= 7)) && p != 0 {
					t.Fatalf("GPT-2 batch %d query %d attends to masked key %d: %v", b, q, k, p)
				}
			}
		}
	}
}

// TestEveryFixtureParses opens every .safetensors file under testdata (whatever script
// made it) and decodes every tensor: a fixture the reader rejects is caught here first.
func TestEveryFixtureParses(t *testing.T) {
	root := filepath.Join("..", "..", "testdata")
	n := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".safetensors" {
			return err
		}
		n++
		f, err := Open(p)
		if err != nil {
			t.Errorf("%v", err)
			return nil
		}
		defer f.Close()
		for _, name := range f.Names() {
			tt, err := f.Get(name)
			if err == nil {
				_, err = tt.Float32s()
			}
			if err != nil {
				t.Errorf("%s: %v", p, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 6 {
		t.Errorf("found only %d .safetensors fixtures under %s", n, root)
	}
}
