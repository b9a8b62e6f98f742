package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/safetensors"
)

func writeLines(t *testing.T, dir, name string, lines ...string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var sftLines = []string{
	`{"id":"a","question":"web-01 磁盘满了，怎么处理？","answer":"先用 df -h 确认分区，再清理日志。","kind":"disk","intent":"handle"}`,
	`{"question":"db-02 CPU 打满了，怎么处理？","answer":"先用 top 找出最忙的进程。"}`,
	`{"prompt":"问：api-03 内存不足，怎么处理？答：","answer":"先用 free -m 看内存。"}`,
	`{"question":"mq-04 的 inode 用完了，先查什么？","answer":"先执行 df -i，看 inode 使用率。"}`,
}

var dpoLines = []string{
	`{"prompt":"问：web-01 磁盘满了，怎么处理？答：","chosen":"先用 df -h 确认分区，再清理日志。","rejected":"先观察一下。"}`,
	`{"question":"db-02 CPU 打满了，怎么处理？","chosen":"先用 top 找出最忙的进程。","rejected":"直接重启数据库。","kind":"cpu"}`,
	`{"prompt":"问：api-03 内存不足，怎么处理？答：","chosen":"先用 free -m 看内存。","rejected":"今天天气很好。"}`,
	`{"prompt":"问：mq-04 的 inode 用完了，先查什么？答：","chosen":"先执行 df -i，看 inode 使用率。","rejected":"先执行 df -h。"}`,
}

func TestFinetuneSFTAndDPO(t *testing.T) {
	dir := t.TempDir()
	sft := writeLines(t, dir, "sft.jsonl", sftLines...)
	out := filepath.Join(dir, "sft-out")
	var r struct {
		Task, Mode               string
		Steps, Trainable, Params int
		EvalLossBefore           float64  `json:"eval_loss_before"`
		EvalLossAfter            float64  `json:"eval_loss"`
		EvalMargin               *float64 `json:"eval_margin"`
	}
	lastJSON(t, mustRun(t, "finetune", "--task", "sft", "--model", "gpt-tiny-zh", "--train", sft, "--eval", sft,
		"--out", out, "--epochs", "3", "--batch-size", "4", "--lr", "2e-3", "--quiet", "--json"), &r)
	if r.Task != "sft" || r.Mode != "full" || r.Steps != 3 || r.Trainable != r.Params || r.EvalMargin != nil {
		t.Fatalf("sft result %+v", r)
	}
	// Three steps on the eval lines themselves must lower their answer loss.
	if !(r.EvalLossAfter < r.EvalLossBefore) || math.IsNaN(r.EvalLossAfter) {
		t.Fatalf("sft eval loss %.4f → %.4f, want lower", r.EvalLossBefore, r.EvalLossAfter)
	}
	if _, err := os.Stat(filepath.Join(out, safetensors.MarkerFile)); err != nil {
		t.Fatalf("sft output has no checkpoint marker: %v", err)
	}
	if _, err := llm.Load(out); err != nil {
		t.Fatal(err)
	}

	// DPO from the SFT output, with LoRA merged into the saved weights.
	dpo := writeLines(t, dir, "dpo.jsonl", dpoLines...)
	out2 := filepath.Join(dir, "dpo-out")
	var d struct {
		Task, Mode        string
		Trainable, Params int
		Beta              *float64
		EvalMarginBefore  *float64 `json:"eval_margin_before"`
		EvalMargin        *float64 `json:"eval_margin"`
	}
	raw := mustRun(t, "finetune", "--task", "dpo", "--model", out, "--train", dpo, "--eval", dpo,
		"--out", out2, "--epochs", "4", "--batch-size", "2", "--lr", "5e-3", "--lora-rank", "4", "--quiet", "--json")
	if err := json.Unmarshal([]byte(strings.TrimSpace(raw)), &d); err != nil {
		t.Fatalf("dpo --json is not one JSON line: %v\n%s", err, raw)
	}
	if d.Task != "dpo" || d.Mode != "lora-4" || d.Beta == nil || *d.Beta != 0.1 || d.Trainable >= d.Params {
		t.Fatalf("dpo result %s", raw)
	}
	if d.EvalMarginBefore == nil || d.EvalMargin == nil {
		t.Fatalf("dpo result without margins: %s", raw)
	}
	if math.Abs(*d.EvalMarginBefore) > 1e-4 || !(*d.EvalMargin > *d.EvalMarginBefore) {
		t.Fatalf("dpo margin %.4f → %.4f: want 0 at the start (policy = reference) and rising", *d.EvalMarginBefore, *d.EvalMargin)
	}
	m, err := llm.Load(out2)
	if err != nil {
		t.Fatal(err)
	}
	if m.LoRA != nil {
		t.Fatal("the saved DPO model still has LoRA adapters")
	}
	// Text output.
	out3 := filepath.Join(dir, "sft-text")
	text := mustRun(t, "finetune", "--task", "sft", "--model", "gpt-tiny-zh", "--train", sft, "--eval", sft, "--out", out3, "--epochs", "1", "--batch-size", "4", "--quiet")
	if !strings.Contains(text, "answer loss") {
		t.Fatalf("text output: %s", text)
	}
}

func TestFinetuneGenHostile(t *testing.T) {
	dir := t.TempDir()
	good := writeLines(t, dir, "good.jsonl", sftLines...)
	goodPairs := writeLines(t, dir, "pairs.jsonl", dpoLines...)
	cases := []struct {
		name, task, model, data string
		extra                   []string
		want                    string
	}{
		{"empty file", "sft", "gpt-tiny-zh", writeLines(t, dir, "empty.jsonl"), nil, "no examples"},
		{"blank lines only", "dpo", "gpt-tiny-zh", writeLines(t, dir, "blank.jsonl", "", "  ", ""), nil, "no examples"},
		{"bad JSON", "sft", "gpt-tiny-zh", writeLines(t, dir, "bad.jsonl", sftLines[0], `{"question": "x", "answer": `), nil, "line 2: not a JSON object"},
		{"not an object", "sft", "gpt-tiny-zh", writeLines(t, dir, "arr.jsonl", `["问","答"]`), nil, "line 1: not a JSON object"},
		{"missing answer", "sft", "gpt-tiny-zh", writeLines(t, dir, "noans.jsonl", `{"question":"磁盘满了？"}`), nil, `line 1: missing "answer"`},
		{"empty answer", "sft", "gpt-tiny-zh", writeLines(t, dir, "emptyans.jsonl", `{"question":"磁盘满了？","answer":"  "}`), nil, `empty "answer"`},
		{"missing question", "sft", "gpt-tiny-zh", writeLines(t, dir, "noq.jsonl", `{"answer":"先看日志。"}`), nil, `missing "question"`},
		{"question and prompt", "sft", "gpt-tiny-zh", writeLines(t, dir, "both.jsonl", `{"question":"a","prompt":"b","answer":"c"}`), nil, "not both"},
		{"missing rejected", "dpo", "gpt-tiny-zh", writeLines(t, dir, "norej.jsonl", `{"prompt":"问：a答：","chosen":"b"}`), nil, `missing "rejected"`},
		{"rejected = chosen", "dpo", "gpt-tiny-zh", writeLines(t, dir, "same.jsonl", `{"prompt":"问：a答：","chosen":"b","rejected":"b"}`), nil, "equals"},
		{"sft file to dpo", "dpo", "gpt-tiny-zh", good, nil, `missing "chosen"`},
		{"too long", "sft", "gpt-tiny-zh", good, []string{"--max-len", "12"}, "longer than the 12 allowed"},
		{"too long pair", "dpo", "gpt-tiny-zh", goodPairs, []string{"--max-len", "12"}, "longer than the 12 allowed"},
		{"max-len over positions", "sft", "gpt-tiny-zh", good, []string{"--max-len", "4096"}, "exceeds the model's 128 positions"},
		{"encoder model", "sft", "bert-tiny-zh", good, nil, "needs a GPT"},
		{"freeze too many", "dpo", "gpt-tiny-zh", goodPairs, []string{"--freeze-layers", "9"}, "has 4 blocks"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "out-"+strings.ReplaceAll(c.name, " ", "-"))
			args := append([]string{"finetune", "--task", c.task, "--model", c.model, "--train", c.data, "--eval", c.data, "--out", out, "--epochs", "1", "--quiet"}, c.extra...)
			code, stdout, stderr := runCLI(t, args...)
			if code != 2 || !strings.Contains(stderr, c.want) || stdout != "" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, stdout, stderr, c.want)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
				t.Fatalf("error is not short: %q", stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatalf("a failed run created %s", out)
			}
		})
	}
}
