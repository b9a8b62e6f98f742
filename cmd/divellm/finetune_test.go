package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/llm"
)

// writeClassifyData writes a learnable three-class set for the tiny-bert fixture (its
// labels are 负面 / 中性 / 正面): the class is given by one character.
func writeClassifyData(t *testing.T, dir string) (train, eval string) {
	t.Helper()
	subj := []string{"我", "你", "他", "她", "我们"}
	obj := []string{"猫", "狗", "花", "茶", "书"}
	cls := []struct{ word, label string }{{"不", "负面"}, {"看", "中性"}, {"爱", "正面"}}
	var tr, ev strings.Builder
	for i, s := range subj {
		for j, o := range obj {
			for _, c := range cls {
				line := fmt.Sprintf(`{"text":%q,"label":%q}`+"\n", s+c.word+o, c.label)
				if (i+j)%5 == 0 {
					ev.WriteString(line)
				} else {
					tr.WriteString(line)
				}
			}
		}
	}
	train, eval = filepath.Join(dir, "train.jsonl"), filepath.Join(dir, "eval.jsonl")
	os.WriteFile(train, []byte(tr.String()), 0o644)
	os.WriteFile(eval, []byte(ev.String()), 0o644)
	return train, eval
}

func TestFinetuneClassifyFullAndPipeline(t *testing.T) {
	dir := t.TempDir()
	train, eval := writeClassifyData(t, dir)
	out := filepath.Join(dir, "out")
	code, stdout, stderr := runCLI(t, "finetune", "--model", filepath.Join(hfFixtures, "tiny-bert"), "--train", train, "--eval", eval,
		"--out", out, "--epochs", "40", "--batch-size", "8", "--lr", "5e-3", "--test", eval, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if strings.Count(stdout, "\n") != 1 {
		t.Fatalf("stdout is not one line: %q", stdout)
	}
	if !strings.Contains(stderr, "step ") {
		t.Errorf("no progress on stderr: %q", stderr)
	}
	var r classifyResult
	lastJSON(t, stdout, &r)
	// The fixture's labels are kept in its own order; the task is one character's worth.
	if strings.Join(r.Labels, ",") != "负面,中性,正面" || r.Mode != "full" || r.Trainable != r.Params {
		t.Errorf("result %+v", r)
	}
	// --test scores a second set after training: here the eval set again, so the same numbers.
	if r.Test == nil || r.Test.Accuracy != r.Accuracy || r.Test.MacroF1 != r.MacroF1 || r.Test.Examples != r.EvalExamples {
		t.Errorf("--test %+v, eval accuracy %g", r.Test, float64(r.Accuracy))
	}
	if r.Accuracy < 0.9 {
		t.Errorf("accuracy %.3f on a one-character task", float64(r.Accuracy))
	}
	n := 0
	for _, row := range r.Confusion {
		for _, v := range row {
			n += v
		}
	}
	if n != r.EvalExamples || n != 15 {
		t.Errorf("confusion counts %d examples, eval has %d", n, r.EvalExamples)
	}
	for _, f := range []string{"config.json", "model.safetensors", "vocab.txt", "eval_result.json", "train_history.json"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	var cfg map[string]any
	b, _ := os.ReadFile(filepath.Join(out, "config.json"))
	json.Unmarshal(b, &cfg)
	if arch := fmt.Sprint(cfg["architectures"]); arch != "[BertForSequenceClassification]" || cfg["label2id"] == nil {
		t.Errorf("config.json architectures %s, label2id %v", arch, cfg["label2id"])
	}
	// The pipeline reads the output, one text or a JSONL file.
	var labels []struct {
		Label string  `json:"label"`
		Score float64 `json:"score"`
	}
	json.Unmarshal([]byte(mustRun(t, "pipeline", "text-classification", "--model", out, "--json", "他爱猫")), &labels)
	if len(labels) != 3 || labels[0].Label != "正面" {
		t.Errorf("pipeline on the output: %+v", labels)
	}
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(`{"text":"他爱猫","label":"ignored"}`+"\n"+`"我不书"`+"\n"+`{"text":"你看花"}`+"\n"), 0o644)
	lines := strings.Split(strings.TrimSpace(mustRun(t, "pipeline", "text-classification", "--model", out, "--top-k", "1", "--input", in)), "\n")
	want := []string{"正面", "负面", "中性"}
	if len(lines) != 3 {
		t.Fatalf("--input: %d output lines for 3 input lines", len(lines))
	}
	for i, line := range lines {
		var l []struct {
			Label string  `json:"label"`
			Score float64 `json:"score"`
		}
		if err := json.Unmarshal([]byte(line), &l); err != nil || len(l) != 1 || l[0].Label != want[i] {
			t.Errorf("--input line %d: %s (%v), want %s", i+1, line, err, want[i])
		}
		if i == 0 && (l[0].Score-labels[0].Score > 1e-5 || labels[0].Score-l[0].Score > 1e-5) {
			t.Errorf("--input score %g differs from the single-text score %g", l[0].Score, labels[0].Score)
		}
	}
	// Running again into the same --out replaces what finetune wrote.
	code, _, stderr = runCLI(t, "finetune", "--model", filepath.Join(hfFixtures, "tiny-bert"), "--train", train, "--eval", eval,
		"--out", out, "--epochs", "1", "--quiet")
	if code != 0 {
		t.Errorf("rewriting its own output: exit %d, %s", code, stderr)
	}
}

func TestFinetuneClassifyLoRA(t *testing.T) {
	dir := t.TempDir()
	train, eval := writeClassifyData(t, dir)
	out := filepath.Join(dir, "lora")
	stdout := mustRun(t, "finetune", "--model", filepath.Join(hfFixtures, "tiny-bert"), "--train", train, "--eval", eval,
		"--out", out, "--epochs", "2", "--batch-size", "8", "--lora-rank", "2", "--json", "--quiet")
	var r classifyResult
	lastJSON(t, stdout, &r)
	if r.Mode != "lora-2" || r.Trainable >= r.Params/2 || r.Trainable <= 0 {
		t.Errorf("LoRA run: mode %s, %d of %d trainable", r.Mode, r.Trainable, r.Params)
	}
	for _, f := range []string{"model.safetensors", "adapter_config.json", "adapter_model.safetensors"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	// The saved model is merged (no adapter tensors) and the adapter file loads onto the base.
	merged, err := llm.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range merged.Weights.Names() {
		if strings.Contains(n, "lora_") {
			t.Fatalf("merged model holds %s", n)
		}
	}
	base, err := llm.Load(filepath.Join(hfFixtures, "tiny-bert"))
	if err != nil {
		t.Fatal(err)
	}
	if err := base.LoadAdapter(out); err != nil {
		t.Fatal(err)
	}
	b := llm.PadBatch([][]int{{2, 11, 40, 70, 3}, {2, 13, 19, 76, 3}}, 0)
	a, err := base.Forward(b, llm.ForwardOptions{SkipLogits: true})
	if err != nil {
		t.Fatal(err)
	}
	m, err := merged.Forward(b, llm.ForwardOptions{SkipLogits: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Classes.Data {
		if d := a.Classes.Data[i] - m.Classes.Data[i]; d > 1e-4 || d < -1e-4 {
			t.Fatalf("base+adapter logit %d = %g, merged %g", i, a.Classes.Data[i], m.Classes.Data[i])
		}
	}
}

func TestFinetuneHostile(t *testing.T) {
	dir := t.TempDir()
	train, eval := writeClassifyData(t, dir)
	model := filepath.Join(hfFixtures, "tiny-bert")
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	badJSON := write("bad.jsonl", "{\"text\":\"我爱猫\",\"label\":\"正面\"}\n{not json\n")
	noLabel := write("nolabel.jsonl", `{"text":"我爱猫"}`+"\n")
	unknownLabel := write("unknown.jsonl", `{"text":"我爱猫","label":"惊讶"}`+"\n")
	empty := write("empty.jsonl", "\n")
	foreign := filepath.Join(dir, "foreign")
	os.MkdirAll(foreign, 0o755)
	os.WriteFile(filepath.Join(foreign, "notes.txt"), []byte("mine"), 0o644)
	out := filepath.Join(dir, "out")
	base := []string{"finetune", "--model", model, "--quiet"}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"no model", []string{"finetune", "--train", train, "--eval", eval, "--out", out}},
		{"missing train", append(base, "--train", filepath.Join(dir, "none.jsonl"), "--eval", eval, "--out", out)},
		{"no train flag", append(base, "--eval", eval, "--out", out)},
		{"no eval flag", append(base, "--train", train, "--out", out)},
		{"train is a directory", append(base, "--train", dir, "--eval", eval, "--out", out)},
		{"bad JSONL", append(base, "--train", badJSON, "--eval", eval, "--out", out)},
		{"no label field", append(base, "--train", train, "--eval", noLabel, "--out", out)},
		{"unknown eval label", append(base, "--train", train, "--eval", unknownLabel, "--out", out)},
		{"train label not the model's", append(base, "--train", unknownLabel, "--eval", unknownLabel, "--out", out)},
		{"empty file", append(base, "--train", empty, "--eval", eval, "--out", out)},
		{"out is the model", append(base, "--train", train, "--eval", eval, "--out", model)},
		{"out holds other files", append(base, "--train", train, "--eval", eval, "--out", foreign)},
		{"no out", append(base, "--train", train, "--eval", eval)},
		{"unknown task", append(base, "--train", train, "--eval", eval, "--out", out, "--task", "summarize")},
		{"lr NaN", append(base, "--train", train, "--eval", eval, "--out", out, "--lr", "NaN")},
		{"lr Inf", append(base, "--train", train, "--eval", eval, "--out", out, "--lr", "+Inf")},
		{"lr negative", append(base, "--train", train, "--eval", eval, "--out", out, "--lr", "-1")},
		{"lora-all without rank", append(base, "--train", train, "--eval", eval, "--out", out, "--lora-all")},
		{"freeze with lora", append(base, "--train", train, "--eval", eval, "--out", out, "--lora-rank", "2", "--freeze-layers", "1")},
		{"freeze beyond the blocks", append(base, "--train", train, "--eval", eval, "--out", out, "--freeze-layers", "5")},
		{"max-len beyond positions", append(base, "--train", train, "--eval", eval, "--out", out, "--max-len", "65")},
		{"test with an unknown label", append(base, "--train", train, "--eval", eval, "--out", out, "--test", unknownLabel)},
		{"missing test file", append(base, "--train", train, "--eval", eval, "--out", out, "--test", filepath.Join(dir, "none.jsonl"))},
		{"test for another task", append(base, "--train", train, "--eval", eval, "--out", out, "--task", "sft", "--test", eval)},
		{"stray argument", append(base, "--train", train, "--eval", eval, "--out", out, "extra")},
	} {
		code, stdout, stderr := runCLI(t, c.args...)
		if code != 2 || stdout != "" || stderr == "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2 and one stderr line", c.name, code, stdout, stderr)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a refused run created --out")
	}
	if b, err := os.ReadFile(filepath.Join(foreign, "notes.txt")); err != nil || string(b) != "mine" {
		t.Error("a refused run touched a foreign directory")
	}
}

func TestPipelineClassifyInputHostile(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(hfFixtures, "tiny-bert")
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(s), 0o644)
		return p
	}
	for _, c := range []struct{ name, content string }{
		{"blank line", "\"我\"\n\n\"你\"\n"},
		{"number", "3\n"},
		{"object without text", `{"label":"x"}` + "\n"},
		{"empty text", `{"text":"  "}` + "\n"},
		{"empty file", ""},
	} {
		p := write(strings.ReplaceAll(c.name, " ", "_")+".jsonl", c.content)
		code, stdout, stderr := runCLI(t, "pipeline", "text-classification", "--model", model, "--input", p)
		if code != 2 || stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", c.name, code, stdout, stderr)
		}
	}
	good := write("good.jsonl", "\"我\"\n")
	for _, args := range [][]string{
		{"pipeline", "text-classification", "--model", model, "--input", filepath.Join(dir, "missing.jsonl")},
		{"pipeline", "text-classification", "--model", model, "--input", good, "also text"},
		{"pipeline", "text-classification", "--model", model, "--input", dir},
	} {
		if code, stdout, _ := runCLI(t, args...); code != 2 || stdout != "" {
			t.Errorf("%v: exit %d, stdout %q", args, code, stdout)
		}
	}
}
