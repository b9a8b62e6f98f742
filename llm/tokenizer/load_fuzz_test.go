package tokenizer

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// loadLayouts are the file sets FuzzLoadDir writes: the fuzzer's three byte strings go
// into the named files, in order (an empty name skips that string).
var loadLayouts = [][3]string{
	{"vocab.txt", "tokenizer_config.json", ""},
	{"vocab.json", "merges.txt", "tokenizer_config.json"},
	{"tokenizer.json", "", ""},
	{"tokenizer.json", "merges.txt", ""},
	{"tokenizer.json", "vocab.json", ""},
	{"vocab.txt", "tokenizer.json", "tokenizer_config.json"},
}

// fuzzTexts are encoded by every tokenizer that loads.
var fuzzTexts = []string{"", "我今天去[MASK]超市", "hello world's 😀 café", "\xff\xfe a<|endoftext|>b", "  \t\n x"}

// FuzzLoadDir writes arbitrary bytes as the files of a tokenizer directory and calls
// Load: it must return an error (on one line) or a tokenizer whose tokens are consistent
// (ids in range, Text = IDToToken(ID), spans inside the text) and that saves and loads
// back to the same encodings. It must never panic or hang. Without -fuzz it runs the
// seeds: the files of real saved tokenizers and broken variants of them.
func FuzzLoadDir(f *testing.F) {
	wp, err := NewWordPiece(testWordPieceVocab, DefaultWordPieceOptions())
	if err != nil {
		f.Fatal(err)
	}
	bpe, err := TrainBPE("low lower lowest 今天天气 today's weather", 280, BPEOptions{PreTokenizer: PreGPT2})
	if err != nil {
		f.Fatal(err)
	}
	for _, tok := range []Tokenizer{wp, NewChar("字符abc", CharOptions{}), bpe} {
		dir := f.TempDir()
		if err := tok.Save(dir); err != nil {
			f.Fatal(err)
		}
		read := func(name string) []byte {
			b, _ := os.ReadFile(filepath.Join(dir, name))
			return b
		}
		for li, l := range loadLayouts {
			a, b, c := read(l[0]), read(l[1]), read(l[2])
			if len(a) == 0 {
				continue
			}
			f.Add(uint8(li), a, b, c)
			f.Add(uint8(li), a[:len(a)/2], b, c) // truncated
		}
	}
	f.Add(uint8(1), []byte(`{"a": 0, "b": 1, "ab": 2}`), []byte("#version: 0.2\na b\nab ab\n"), []byte(`{"unk_token": "a"}`))
	f.Add(uint8(2), []byte(`{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 7}}}`), []byte{}, []byte{})
	f.Add(uint8(0), []byte("[UNK]\n[CLS]\n[SEP]\n"), []byte(`{"cls_token": {"content": "[CLS]"}, "added_tokens_decoder": {"9": {"content": "x", "special": true}}}`), []byte{})

	f.Fuzz(func(t *testing.T, layout uint8, a, b, c []byte) {
		l := loadLayouts[int(layout)%len(loadLayouts)]
		dir := t.TempDir()
		for i, data := range [][]byte{a, b, c} {
			if l[i] != "" {
				if err := os.WriteFile(filepath.Join(dir, l[i]), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		tok, err := Load(dir)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error on several lines: %q", err)
			}
			return
		}
		checkTokenizer(t, tok)
		again := filepath.Join(t.TempDir(), "saved")
		if err := tok.Save(again); err != nil {
			return // a vocabulary that cannot be written back (e.g. a token with a newline for vocab.txt)
		}
		tok2, err := Load(again)
		if err != nil {
			t.Fatalf("%s tokenizer saved to %s does not load back: %v", tok.Kind(), again, err)
		}
		for _, text := range fuzzTexts {
			if got, want := IDs(tok2.Encode(text)), IDs(tok.Encode(text)); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: %q encodes as %v after Save+Load, %v before", tok.Kind(), text, got, want)
			}
		}
	})
}

// checkTokenizer checks the invariants every loaded tokenizer keeps.
func checkTokenizer(t *testing.T, tok Tokenizer) {
	t.Helper()
	n := tok.VocabSize()
	if n <= 0 {
		t.Fatalf("%s: vocabulary size %d", tok.Kind(), n)
	}
	sp := tok.Specials()
	for _, id := range []int{sp.PAD, sp.UNK, sp.CLS, sp.SEP, sp.MASK, sp.BOS, sp.EOS} {
		if id < -1 || id >= n {
			t.Fatalf("%s: special id %d outside [-1, %d)", tok.Kind(), id, n)
		}
	}
	for _, text := range fuzzTexts {
		toks := tok.Encode(text)
		for _, tk := range toks {
			if tk.ID < 0 || tk.ID >= n || tk.Text != tok.IDToToken(tk.ID) {
				t.Fatalf("%s: %q: token %+v (vocabulary of %d)", tok.Kind(), text, tk, n)
			}
			if tk.Start != -1 && (tk.Start < 0 || tk.End < tk.Start || tk.End > len(text)) {
				t.Fatalf("%s: %q: token %+v spans outside the text", tok.Kind(), text, tk)
			}
		}
		if d := tok.Decode(IDs(toks)); tok.Kind() != "bpe" && !utf8.ValidString(d) {
			t.Fatalf("%s: Decode gave invalid UTF-8 %q", tok.Kind(), d)
		}
	}
}
