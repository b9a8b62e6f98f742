package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/divellm/divellm/llm/tokenizer"
)

func runTokenizeJSON(t *testing.T, args ...string) []tokenizer.Token {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := run(append([]string{"tokenize", "--json"}, args...), &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var got tokenizeJSON
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("bad JSON %q: %v", out.String(), err)
	}
	return got.Tokens
}

func TestTokenizeChar(t *testing.T) {
	// Char vocab from the text: specials 0-5, then a (2×), ' ' and b (1×, by code point).
	got := runTokenizeJSON(t, "--tokenizer", "char", "ab a")
	want := []tokenizer.Token{{ID: 6, Text: "a", Start: 0, End: 1}, {ID: 8, Text: "b", Start: 1, End: 2}, {ID: 7, Text: " ", Start: 2, End: 3}, {ID: 6, Text: "a", Start: 3, End: 4}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	// The JSON shape is exactly {"tokens":[{"id","text","start","end"}]}.
	var out, errOut bytes.Buffer
	run([]string{"tokenize", "--json", "我<|endoftext|>"}, &out, &errOut)
	if s := out.String(); s != `{"tokens":[{"id":6,"text":"我","start":0,"end":3},{"id":5,"text":"<|endoftext|>","start":3,"end":16}]}`+"\n" {
		t.Errorf("JSON = %s", s)
	}
	// Table output.
	out.Reset()
	if code := run([]string{"tokenize", "今天 ok"}, &out, &errOut); code != 0 {
		t.Fatal(errOut.String())
	}
	if s := out.String(); !strings.Contains(s, "char tokenizer") || !regexp.MustCompile(`(?m)^0\s+9\s+"今"\s+0-3\s+"今"$`).MatchString(s) {
		t.Errorf("table:\n%s", s)
	}
}

func TestTokenizeWordPieceAndDirs(t *testing.T) {
	dir := t.TempDir()
	vocab := "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nun\n##aff\n##able\n我\n"
	vocabPath := filepath.Join(dir, "vocab.txt")
	os.WriteFile(vocabPath, []byte(vocab), 0o644)
	want := []tokenizer.Token{{ID: 5, Text: "un", Start: 0, End: 2}, {ID: 6, Text: "##aff", Start: 2, End: 5},
		{ID: 7, Text: "##able", Start: 5, End: 9}, {ID: 8, Text: "我", Start: 9, End: 12}, {ID: 4, Text: "[MASK]", Start: 12, End: 18}}
	for _, spec := range []string{"wordpiece=" + vocabPath, dir} { // a vocab.txt, or a checkpoint dir
		if got := runTokenizeJSON(t, "--tokenizer", spec, "Unaffable我[MASK]"); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v", spec, got)
		}
	}

	// bpe=DIR reads GPT-2 files; bpe=FILE trains on a corpus.
	bpeDir := t.TempDir()
	os.WriteFile(filepath.Join(bpeDir, "vocab.json"), []byte(`{"<|endoftext|>": 0, "h": 1, "i": 2, "hi": 3, "Ġ": 4}`), 0o644)
	os.WriteFile(filepath.Join(bpeDir, "merges.txt"), []byte("#version: 0.2\nh i\n"), 0o644)
	got := runTokenizeJSON(t, "--tokenizer", "bpe="+bpeDir, "hi hi")
	want = []tokenizer.Token{{ID: 3, Text: "hi", Start: 0, End: 2}, {ID: 4, Text: "Ġ", Start: 2, End: 3}, {ID: 3, Text: "hi", Start: 3, End: 5}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bpe dir: got %+v", got)
	}
	if got := runTokenizeJSON(t, "--tokenizer", "bpe="+filepath.Join(bpeDir, "vocab.json"), "hi hi"); !reflect.DeepEqual(got, want) {
		t.Errorf("bpe vocab.json: got %+v", got)
	}
	corpus := filepath.Join(t.TempDir(), "corpus.txt")
	os.WriteFile(corpus, []byte(strings.Repeat("今天天气很好。", 50)), 0o644)
	got = runTokenizeJSON(t, "--tokenizer", "bpe="+corpus, "--vocab-size", "300", "今天天气很好")
	if len(got) != 1 || got[0].Start != 0 || got[0].End != len("今天天气很好") {
		t.Errorf("trained bpe: %+v", got)
	}
}

func TestTokenizeUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"tokenize"},
		{"tokenize", "  "},
		{"tokenize", "--bogus", "x"},
		{"tokenize", "--tokenizer", "bpe=/no/such/file", "x"},
		{"tokenize", "--tokenizer", "wordpiece=/no/such/vocab.txt", "x"},
		{"tokenize", "--tokenizer", "bpe=", "x"},
		{"tokenize", "--tokenizer", "sentencepiece=x", "x"},
		{"tokenize", "--tokenizer", "/no/such/dir", "x"},
		{"tokenize", "--tokenizer", "bpe=" + os.Args[0], "--vocab-size", "10", "x"},
	} {
		var out, errOut bytes.Buffer
		code := run(args, &out, &errOut)
		if code != 2 || strings.Count(errOut.String(), "\n") != 1 || out.Len() != 0 {
			t.Errorf("%q: exit %d, stderr %q, stdout %q", args, code, errOut.String(), out.String())
		}
	}
	// A malformed file is an error (exit 1), not a panic.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "vocab.json"), []byte("{"), 0o644)
	os.WriteFile(filepath.Join(dir, "merges.txt"), []byte(""), 0o644)
	var out, errOut bytes.Buffer
	if code := run([]string{"tokenize", "--tokenizer", "bpe=" + dir, "x"}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "vocab.json") {
		t.Errorf("bad vocab.json: exit %d, %q", code, errOut.String())
	}
}
