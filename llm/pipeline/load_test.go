package pipeline

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/safetensors"
)

// Checkpoints as they come from the hub vary: heads present or not, half precision,
// RoBERTa-style prefixes, old LayerNorm names. These tests rewrite tiny-bert in each
// form and check that llm.Load either gives the same answers or a clear error.

// variant writes tiny-bert's config, tokenizer and edited tensors into a new directory.
func variant(t *testing.T, edit func(ts map[string]safetensors.Tensor), config func(string) string) string {
	t.Helper()
	src := filepath.Join(hfDir, "tiny-bert")
	dir := t.TempDir()
	for _, f := range []string{"config.json", "vocab.txt", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == "config.json" && config != nil {
			b = []byte(config(string(b)))
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	all, _, err := safetensors.ReadAll(filepath.Join(src, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	ts := map[string]safetensors.Tensor{}
	for n, x := range all {
		ts[n] = *x
	}
	edit(ts)
	var list []safetensors.Tensor
	for n, x := range ts {
		x.Name = n
		list = append(list, x)
	}
	if err := safetensors.Write(filepath.Join(dir, "model.safetensors"), list, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func f32(t *testing.T, x safetensors.Tensor) []float32 {
	t.Helper()
	v, err := x.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// reshaped returns name's tensor with a new shape and random-ish data of that size.
func reshaped(name string, shape ...int) safetensors.Tensor {
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(i%7) * 0.01
	}
	return safetensors.FromFloat32(name, shape, data)
}

func TestLoadRejectsMismatchedHeads(t *testing.T) {
	cases := []struct {
		name   string
		edit   func(ts map[string]safetensors.Tensor)
		config func(string) string
		want   string
	}{
		{"qa weight [3, 32]", func(ts map[string]safetensors.Tensor) { ts["qa_outputs.weight"] = reshaped("", 3, 32) }, nil, "qa_outputs.weight"},
		{"qa weight [2, 16]", func(ts map[string]safetensors.Tensor) { ts["qa_outputs.weight"] = reshaped("", 2, 16) }, nil, "qa_outputs.weight"},
		{"qa bias [3]", func(ts map[string]safetensors.Tensor) { ts["qa_outputs.bias"] = reshaped("", 3) }, nil, "qa_outputs.bias"},
		{"qa bias missing", func(ts map[string]safetensors.Tensor) { delete(ts, "qa_outputs.bias") }, nil, "qa_outputs.bias"},
		{"classifier [4, 32] vs num_labels 3", func(ts map[string]safetensors.Tensor) { ts["classifier.weight"] = reshaped("", 4, 32) }, nil, "classifier.weight"},
		{"classifier [3, 31]", func(ts map[string]safetensors.Tensor) { ts["classifier.weight"] = reshaped("", 3, 31) }, nil, "classifier.weight"},
		{"classifier bias [2]", func(ts map[string]safetensors.Tensor) { ts["classifier.bias"] = reshaped("", 2) }, nil, "classifier.bias"},
		{"classifier weight missing", func(ts map[string]safetensors.Tensor) { delete(ts, "classifier.weight") }, nil, "classifier.bias"},
		{"vocab 121 in config", func(map[string]safetensors.Tensor) {}, func(c string) string {
			return strings.Replace(c, `"vocab_size": 120`, `"vocab_size": 121`, 1)
		}, "word_embeddings"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := llm.Load(variant(t, c.edit, c.config))
			if err == nil {
				t.Fatal("Load succeeded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name %s", err, c.want)
			}
		})
	}
}

func TestLoadRejectsBrokenFiles(t *testing.T) {
	dir := variant(t, func(map[string]safetensors.Tensor) {}, nil)
	st := filepath.Join(dir, "model.safetensors")
	good, _ := os.ReadFile(st)
	for name, bad := range map[string][]byte{
		"truncated":      good[:len(good)-100],
		"header only":    good[:64],
		"empty":          {},
		"flipped header": append([]byte{good[0] ^ 0xff}, good[1:]...),
	} {
		os.WriteFile(st, bad, 0o644)
		if _, err := llm.Load(dir); err == nil {
			t.Errorf("%s: Load succeeded", name)
		}
	}
	os.Remove(st)
	os.WriteFile(filepath.Join(dir, "pytorch_model.bin"), []byte("PK\x03\x04"), 0o644)
	if _, err := llm.Load(dir); err == nil || !strings.Contains(err.Error(), "pickle") {
		t.Errorf("pytorch_model.bin: %v", err)
	}
}

// Half-precision, RoBERTa-prefixed and old-named checkpoints give the fp32 answers.
func TestLoadVariantsAnswerAlike(t *testing.T) {
	const q, ctx = "北京在哪里？", "我们爱北京，它很大。今天天气很好，我想喝茶。"
	want, err := QuestionAnswering(loadModel(t, "tiny-bert"), q, ctx, QAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	convert := func(dt safetensors.DType) func(ts map[string]safetensors.Tensor) {
		return func(ts map[string]safetensors.Tensor) {
			for n, x := range ts {
				c, err := safetensors.FromFloat32As(n, x.Shape, f32(t, x), dt)
				if err != nil {
					t.Fatal(err)
				}
				ts[n] = c
			}
		}
	}
	rename := func(from, to string) func(ts map[string]safetensors.Tensor) {
		return func(ts map[string]safetensors.Tensor) {
			for n, x := range ts {
				if strings.Contains(n, from) {
					delete(ts, n)
					ts[strings.Replace(n, from, to, 1)] = x
				}
			}
		}
	}
	for _, c := range []struct {
		name  string
		edit  func(ts map[string]safetensors.Tensor)
		tol   float64
		exact bool
	}{
		{"F16", convert(safetensors.F16), 5e-3, false},
		{"BF16", convert(safetensors.BF16), 5e-2, false},
		{"roberta. prefix", rename("bert.", "roberta."), 1e-6, true},
		{"LayerNorm.gamma/beta", func(ts map[string]safetensors.Tensor) {
			rename("LayerNorm.weight", "LayerNorm.gamma")(ts)
			rename("LayerNorm.bias", "LayerNorm.beta")(ts)
		}, 1e-6, true},
		{"stored decoder + position_ids + NSP head", func(ts map[string]safetensors.Tensor) {
			ts["cls.predictions.decoder.weight"] = ts["bert.embeddings.word_embeddings.weight"]
			ts["bert.embeddings.position_ids"] = safetensors.FromInt64("", []int{1, 64}, make([]int64, 64))
			ts["cls.seq_relationship.weight"] = reshaped("", 2, 32)
			ts["cls.seq_relationship.bias"] = reshaped("", 2)
		}, 1e-6, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := llm.Load(variant(t, c.edit, nil))
			if err != nil {
				t.Fatal(err)
			}
			got, err := QuestionAnswering(m, q, ctx, QAOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got.Score-want.Score) > c.tol || (c.exact && got.Answer != want.Answer) {
				t.Errorf("got %+v, fp32 %+v", got, want)
			}
			t.Logf("%s: %+v (fp32 score %.6f)", c.name, got, want.Score)
		})
	}
}

// save_pretrained writes id2label {LABEL_0, LABEL_1} into every config.json, also for
// models without a classifier (a QA checkpoint): that must not ask for a classifier head.
func TestLoadQAOnlyWithDefaultID2Label(t *testing.T) {
	dir := variant(t, func(ts map[string]safetensors.Tensor) {
		for n := range ts {
			if strings.HasPrefix(n, "classifier.") || strings.HasPrefix(n, "cls.") || strings.HasPrefix(n, "bert.pooler.") {
				delete(ts, n)
			}
		}
	}, func(c string) string {
		c = strings.Replace(c, `"num_labels": 3,`, `"num_labels": 2,`, 1)
		c = strings.Replace(c, `"0": "负面",`, `"0": "LABEL_0",`, 1)
		return strings.Replace(c, `"1": "中性",
    "2": "正面"`, `"1": "LABEL_1"`, 1)
	})
	m, err := llm.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.ID2Label["1"] != "LABEL_1" || len(m.Config.ID2Label) != 2 {
		t.Fatalf("config edit failed: id2label %v", m.Config.ID2Label)
	}
	if h := m.Heads(); !h.QA || h.Classifier || h.MLM || h.Pooler {
		t.Errorf("heads %+v, want QA only", h)
	}
	if _, err := QuestionAnswering(m, "谁？", "我们爱北京", QAOptions{}); err != nil {
		t.Error(err)
	}
}
