package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/llm"
)

// qaLines are the first n lines of a split of the shipped QA data.
func qaLines(t *testing.T, split string, n int) string {
	t.Helper()
	b, err := os.ReadFile("../../lessons/data/qa/" + split + ".jsonl")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	return strings.Join(lines[:n], "")
}

// Bad inputs: exit 2 (usage) or 1, one line on stderr, nothing on stdout, no panic, and
// the files pointed at are left as they were.
func TestTrainQAHostile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	train := write("train.jsonl", qaLines(t, "train", 8))
	eval := write("eval.jsonl", qaLines(t, "test", 4))
	bad := write("bad.jsonl", `{"id":"x","context":"磁盘已满。","question":"什么满了？","answers":{"text":["内存"],"answer_start":[0]}}`+"\n")
	notJSON := write("notjson.jsonl", "这不是 JSON\n")
	empty := write("empty.jsonl", "\n")
	keep := filepath.Join(dir, "keep")
	if err := os.MkdirAll(keep, 0o755); err != nil {
		t.Fatal(err)
	}
	keepFile := write("keep/notes.txt", "mine")
	out := filepath.Join(dir, "out")
	base := []string{"train-qa", "--model", shippedBERT, "--train", train, "--eval", eval}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no model", []string{"train-qa", "--train", train, "--eval", eval, "--out", out}, 2, "--model"},
		{"no out", base, 2, "--out"},
		{"no train", []string{"train-qa", "--model", shippedBERT, "--eval", eval, "--out", out}, 2, "--train"},
		{"missing file", []string{"train-qa", "--model", shippedBERT, "--train", filepath.Join(dir, "nope.jsonl"), "--eval", eval, "--out", out}, 2, "--train"},
		{"directory as data", []string{"train-qa", "--model", shippedBERT, "--train", dir, "--eval", eval, "--out", out}, 2, "directory"},
		{"answer not in context", append(append([]string{}, base[:5]...), "--eval", bad, "--out", out), 2, "--eval"},
		{"not JSON", append(append([]string{}, base[:5]...), "--eval", notJSON, "--out", out), 2, "--eval"},
		{"empty file", append(append([]string{}, base[:5]...), "--eval", empty, "--out", out), 2, "is empty"},
		{"GPT model", []string{"train-qa", "--model", shippedGPT, "--train", train, "--eval", eval, "--out", out}, 2, "BERT"},
		{"zero lr", append(append([]string{}, base...), "--out", out, "--lr", "0"), 2, "--lr"},
		{"huge stride", append(append([]string{}, base...), "--out", out, "--stride", "100"), 2, "--stride"},
		{"max-len over positions", append(append([]string{}, base...), "--out", out, "--max-len", "4096"), 2, "--max-len"},
		{"zero epochs", append(append([]string{}, base...), "--out", out, "--epochs", "0"), 2, "--epochs"},
		{"foreign out dir", append(append([]string{}, base...), "--out", keep), 2, "--out"},
		{"out is the input", append(append([]string{}, base...), "--out", shippedBERT), 2, "input"},
		{"stray argument", append(append([]string{}, base...), "--out", out, "extra"), 2, "extra"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, c.args...)
			if code != c.code || stdout != "" || strings.Count(strings.TrimSpace(stderr), "\n") != 0 ||
				strings.Contains(stderr, "panic") || !strings.Contains(stderr, c.want) {
				t.Errorf("exit %d (want %d), stdout %q, stderr %q (want one line naming %q)", code, c.code, stdout, stderr, c.want)
			}
		})
	}
	if b, err := os.ReadFile(keepFile); err != nil || string(b) != "mine" {
		t.Errorf("the foreign directory was touched: %q, %v", b, err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused run created %s", out)
	}
}

// A tiny real run: one epoch of 32 examples writes a BertForQuestionAnswering checkpoint
// with qa_outputs, reports EM/F1 in [0, 1] as one JSON line, and may overwrite its own
// output.
func TestTrainQARuns(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	dir := t.TempDir()
	train := filepath.Join(dir, "train.jsonl")
	eval := filepath.Join(dir, "eval.jsonl")
	if err := os.WriteFile(train, []byte(qaLines(t, "train", 32)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(eval, []byte(qaLines(t, "test", 6)), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "qa")
	args := []string{"train-qa", "--model", shippedBERT, "--train", train, "--eval", eval, "--out", out, "--epochs", "1", "--batch", "16", "--json"}
	for range 2 { // the second run replaces the checkpoint the first wrote
		stdout := mustRun(t, args...)
		if strings.Count(strings.TrimSpace(stdout), "\n") != 0 {
			t.Fatalf("want one JSON line, got %q", stdout)
		}
		var r struct {
			EM, F1 float64
			Steps  int
		}
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatal(err)
		}
		if r.Steps != 2 || r.EM < 0 || r.EM > 1 || r.F1 < r.EM || r.F1 > 1 {
			t.Errorf("result %+v: want 2 steps and 0 ≤ EM ≤ F1 ≤ 1", r)
		}
	}
	m, err := llm.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Heads().QA || m.Heads().MLM {
		t.Errorf("heads %+v: want the QA head and no MLM head", m.Heads())
	}
	cfg, err := os.ReadFile(filepath.Join(out, "config.json"))
	if err != nil || !strings.Contains(string(cfg), "BertForQuestionAnswering") {
		t.Errorf("config.json does not name BertForQuestionAnswering: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "train_result.json")); err != nil {
		t.Error(err)
	}
}
