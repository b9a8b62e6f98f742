package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func writeTokenizerJSON(t *testing.T, v any) string {
	t.Helper()
	dir := t.TempDir()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tokenizer.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestTokenizerJSONWordPiece(t *testing.T) {
	vocab := map[string]int{}
	for i, tok := range testWordPieceVocab {
		vocab[tok] = i
	}
	var added []map[string]any
	for i, s := range BertSpecials {
		added = append(added, map[string]any{"id": i, "content": s, "special": true})
	}
	dir := writeTokenizerJSON(t, map[string]any{
		"version":       "1.0",
		"added_tokens":  added,
		"normalizer":    map[string]any{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": nil, "lowercase": true},
		"pre_tokenizer": map[string]any{"type": "BertPreTokenizer"},
		"model":         map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab},
	})
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	ref := newTestWordPiece(t, true)
	for _, text := range []string{"我今天去[MASK]超市", "Unaffable 的 tokens!", "Héllo CAFÉ. ΣΟΦΟΣ", "a$a,ab'", strings.Repeat("x", 101)} {
		if got, want := tok.Encode(text), ref.Encode(text); !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\n got %+v\nwant %+v", text, got, want)
		}
	}
	if tok.Kind() != "wordpiece" || tok.Specials() != ref.Specials() {
		t.Errorf("kind %s specials %+v", tok.Kind(), tok.Specials())
	}
	// Prefer vocab.txt when both exist: a cased vocab.txt config wins over the JSON.
	os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(testWordPieceVocab, "\n")), 0o644)
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"do_lower_case": false}`), 0o644)
	tok, err = Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := IDs(tok.Encode("Hello")); !reflect.DeepEqual(got, []int{1}) {
		t.Errorf("vocab.txt not preferred: %v", got)
	}
}

func TestTokenizerJSONBPE(t *testing.T) {
	vocab := map[string]int{"<|endoftext|>": 0, "h": 1, "e": 2, "l": 3, "o": 4, "Ġ": 5, "w": 6, "r": 7, "d": 8,
		"he": 9, "ll": 10, "or": 11, "Ġw": 12, "llo": 13, "Ġwor": 14, "Ã": 15, "©": 16, "Ã©": 17, "Ċ": 18, "'": 19, "s": 20, "'s": 21}
	merges := []string{"l l", "h e", "o r", "Ġ w", "ll o", "Ġw or", "Ã ©", "' s"}
	var arrayMerges [][]string
	for _, m := range merges {
		arrayMerges = append(arrayMerges, strings.Split(m, " "))
	}
	added := []map[string]any{{"id": 0, "content": "<|endoftext|>", "special": true}}
	text := "hello world's hé\n<|endoftext|>!"
	want := []int{9, 13, 14, 3, 8, 21, 5, 1, 17, 18, 0, 0} // as in TestGPT2FormatHandMade
	for _, pre := range []any{
		map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
		map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": gpt2Pattern}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false}}},
	} {
		for _, m := range []any{merges, arrayMerges} {
			dir := writeTokenizerJSON(t, map[string]any{"added_tokens": added, "normalizer": nil, "pre_tokenizer": pre,
				"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "vocab": vocab, "merges": m}})
			tok, err := Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			if got := IDs(tok.Encode(text)); !reflect.DeepEqual(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		}
	}
	dir := writeTokenizerJSON(t, map[string]any{"pre_tokenizer": map[string]any{"type": "Metaspace"},
		"model": map[string]any{"type": "BPE", "vocab": vocab, "merges": merges}})
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("Metaspace: err %v", err)
	}
	dir = writeTokenizerJSON(t, map[string]any{"pre_tokenizer": map[string]any{"type": "ByteLevel"},
		"model": map[string]any{"type": "BPE", "vocab": vocab, "merges": []any{[]string{"l"}}}})
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "merges[0]") {
		t.Errorf("bad merge: err %v", err)
	}
}

// TestSaveTokenizerJSON: the tokenizer.json written by Save must load back (alone) into a
// tokenizer that encodes the reference texts exactly as the original.
func TestSaveTokenizerJSON(t *testing.T) {
	ref := loadReference(t)
	vocab, err := readVocabTxt("testdata/reference/wordpiece_vocab.txt")
	if err != nil {
		t.Fatal(err)
	}
	opts := DefaultWordPieceOptions()
	opts.NFC = false // the tokenizers library's BertNormalizer has no NFC step
	wp, err := NewWordPiece(vocab, opts)
	if err != nil {
		t.Fatal(err)
	}
	cjk, gpt2 := trainBPEOnce()
	for _, tok := range []Tokenizer{wp, cjk, gpt2} {
		dir := t.TempDir()
		if err := tok.Save(dir); err != nil {
			t.Fatal(err)
		}
		got, err := LoadTokenizerJSON(filepath.Join(dir, "tokenizer.json"))
		if err != nil {
			t.Fatal(err)
		}
		if got.Kind() != tok.Kind() || got.VocabSize() != tok.VocabSize() || got.Specials() != tok.Specials() {
			t.Fatalf("%s: loaded %s %d %+v", tok.Kind(), got.Kind(), got.VocabSize(), got.Specials())
		}
		if b, ok := got.(*BPE); ok && b.pre != tok.(*BPE).pre {
			t.Fatalf("pre-tokenizer %s, want %s", b.pre, tok.(*BPE).pre)
		}
		for _, text := range ref.Texts {
			if !reflect.DeepEqual(got.Encode(text), tok.Encode(text)) {
				t.Fatalf("%s: %q encodes differently after tokenizer.json round trip", tok.Kind(), text)
			}
		}
	}
}
