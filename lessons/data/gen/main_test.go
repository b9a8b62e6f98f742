package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// The committed dataset files must be exactly what the generator produces.
func TestGenerateReproducesCommittedFiles(t *testing.T) {
	files, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	want := []string{"alerts/hard.jsonl", "alerts/test.jsonl", "alerts/train.jsonl", "alerts/val.jsonl",
		"corpus/train.txt", "corpus/val.txt", "dpo/test.jsonl", "dpo/train.jsonl", "probes/mlm_probes.tsv",
		"qa/long.jsonl", "qa/test.jsonl", "qa/train.jsonl", "qa/val.jsonl",
		"seq2seq/alerts_test.jsonl", "seq2seq/alerts_train.jsonl", "seq2seq/dates_test.jsonl", "seq2seq/dates_train.jsonl",
		"sft/test.jsonl", "sft/train.jsonl"}
	if len(names) != len(want) {
		t.Fatalf("Generate wrote %v, want %v", names, want)
	}
	for i, name := range names {
		if name != want[i] {
			t.Fatalf("Generate wrote %v, want %v", names, want)
		}
		committed, err := os.ReadFile(filepath.Join("..", filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(committed, files[name]) {
			t.Errorf("%s differs from the generator's output; run `go run ./lessons/data/gen`", name)
		}
	}
}

// Two runs give the same bytes (no map-order or time dependence).
func TestGenerateDeterministic(t *testing.T) {
	a, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	b, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	for name := range a {
		if !bytes.Equal(a[name], b[name]) {
			t.Errorf("%s differs between two runs", name)
		}
	}
}

// The corpus keeps the probe structures but never a filled-in probe sentence.
func TestProbeFilterKeepsStructures(t *testing.T) {
	files, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	train := files["corpus/train.txt"]
	for _, s := range []string{"去银行取钱", "去图书馆", "磁盘使用率", "连接池", "跳板机", "自注意力"} {
		if !bytes.Contains(train, []byte(s)) {
			t.Errorf("train.txt lacks %q", s)
		}
	}
	for _, f := range filledProbes(mlmProbes()) {
		if bytes.Contains(train, []byte(f)) {
			t.Errorf("train.txt contains the filled probe %q", f)
		}
	}
}

func TestCheckProbesRejectsBadProbes(t *testing.T) {
	for _, p := range []probe{
		{"没有掩码", []string{"银"}, ""},
		{"[MASK][MASK]", []string{"银"}, ""},
		{"去[MASK]行", []string{"银行"}, ""},
		{"去[MASK]行", []string{"a"}, ""},
	} {
		if err := checkProbes([]probe{p}); err == nil {
			t.Errorf("checkProbes accepted %+v", p)
		}
	}
	if err := checkProbes(mlmProbes()); err != nil {
		t.Error(err)
	}
}
