package tokenizer

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Hand-worked BertTokenizer results on testWordPieceVocab (see tokenizer_test.go); offsets
// are byte offsets into the original text.
func TestWordPieceHandWorked(t *testing.T) {
	lower := newTestWordPiece(t, true)
	cased := newTestWordPiece(t, false)
	x100 := strings.Repeat("x", 100)
	type tk = Token
	cases := []struct {
		name string
		w    *WordPiece
		text string
		want []Token
	}{
		{"mask kept whole", lower, "我今天去[MASK]超市", []Token{
			{5, "我", 0, 3}, {6, "今", 3, 6}, {7, "天", 6, 9}, {8, "去", 9, 12}, {4, "[MASK]", 12, 18}, {9, "超", 18, 21}, {10, "市", 21, 24}}},
		{"wordpiece pieces", lower, "Unaffable 的 tokens!", []Token{
			{12, "un", 0, 2}, {13, "##aff", 2, 5}, {14, "##able", 5, 9}, {11, "的", 10, 13}, {15, "token", 14, 19}, {16, "##s", 19, 20}, {22, "!", 20, 21}}},
		{"cased: no U in vocab", cased, "Unaffable token的", []Token{{1, "[UNK]", 0, 9}, {15, "token", 10, 15}, {11, "的", 15, 18}}},
		{"accent stripped", lower, "Héllo", []Token{{17, "hello", 0, 6}}},
		{"decomposed accent", lower, "He\u0301llo", []Token{{17, "hello", 0, 7}}},
		{"cased keeps accent", cased, "héllo", []Token{{1, "[UNK]", 0, 6}}},
		{"multi-byte lower + punct", lower, "CAFÉ.", []Token{{30, "cafe", 0, 5}, {21, ".", 5, 6}}},
		// HF lower-cases character by character: no final sigma ("ΣΟΦΟΣ" → "σοφοσ", not "σοφος").
		{"no final sigma", lower, "ΣΟΦΟΣ", []Token{{32, "σοφοσ", 0, 10}}},
		{"sigma pieces", lower, "ΣΟΦΟΣx σοφος", []Token{{32, "σοφοσ", 0, 10}, {34, "##x", 10, 11}, {31, "σοφος", 12, 22}}},
		// "İ".lower() is "i" + U+0307; the accent is stripped; both pieces map to bytes 0-2.
		{"dotted I", lower, "İi", []Token{{27, "i", 0, 2}, {28, "##i", 2, 3}}},
		// '$' is a symbol (Sc), but HF counts ASCII 33–47, 58–64, 91–96, 123–126 as punctuation.
		{"ascii punctuation", lower, "a$a,ab'", []Token{{25, "a", 0, 1}, {1, "[UNK]", 1, 2}, {25, "a", 2, 3}, {20, ",", 3, 4}, {29, "ab", 4, 6}, {23, "'", 6, 7}}},
		{"unknown word", lower, "xyz a", []Token{{1, "[UNK]", 0, 3}, {25, "a", 4, 5}}},
		{"101 chars", lower, x100 + "x", []Token{{1, "[UNK]", 0, 101}}},
		{"control and spaces", lower, "a\u00a0\x00a\u200b\ta a\u200bb", []Token{{25, "a", 0, 1}, {25, "a", 4, 5}, {25, "a", 9, 10}, {29, "ab", 11, 16}}},
		{"specials in text", cased, "[CLS]a[SEP][PAD]", []Token{{2, "[CLS]", 0, 5}, {25, "a", 5, 6}, {3, "[SEP]", 6, 11}, {0, "[PAD]", 11, 16}}},
		{"lower-case mask is text", lower, "[mask]", []Token{{1, "[UNK]", 0, 1}, {1, "[UNK]", 1, 5}, {1, "[UNK]", 5, 6}}},
		{"empty", lower, " \t\n", nil},
	}
	for _, tc := range cases {
		if got := tc.w.Encode(tc.text); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: Encode(%q)\n got %+v\nwant %+v", tc.name, tc.text, got, tc.want)
		}
	}
	// 100 characters are still cut into pieces: x ##x ##x ...
	toks := lower.Encode(x100)
	if len(toks) != 100 || toks[0].ID != 33 || toks[99] != (tk{34, "##x", 99, 100}) {
		t.Errorf("100 x: %d tokens, last %+v", len(toks), toks[len(toks)-1])
	}
}

func TestWordPieceDecode(t *testing.T) {
	w := newTestWordPiece(t, true)
	ids, _ := EncodeSingle(w, "Unaffable 的 tokens!", 0)
	ids = append(ids, 0, 0)
	if got := w.Decode(ids); got != "[CLS] unaffable 的 tokens! [SEP]" {
		t.Errorf("decode = %q", got)
	}
	if got := w.Decode([]int{25, 20, 29, 21, 23, 24}); got != "a, ab.'s" { // "a , ab . ' s": " ." → ".", " ," → ",", " ' " → "'"
		t.Errorf("decode = %q", got)
	}
	opts := w.Options()
	opts.CleanUpSpaces = false
	w2, _ := NewWordPiece(testWordPieceVocab, opts)
	if got := w2.Decode([]int{25, 20, 29, 21}); got != "a , ab ." {
		t.Errorf("decode without clean-up = %q", got)
	}
}

func TestWordPieceConfig(t *testing.T) {
	write := func(cfg string) string {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(strings.Join(testWordPieceVocab, "\n")+"\n"), 0o644)
		if cfg != "" {
			os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(cfg), 0o644)
		}
		return dir
	}
	cases := []struct {
		cfg, text string
		want      []int
	}{
		{"", "Héllo", []int{17}}, // no config: HF default do_lower_case=true
		{`{"do_lower_case": false}`, "Unaffable", []int{1}},
		{`{"do_lower_case": true, "strip_accents": false}`, "Héllo", []int{1}},
		{`{"do_lower_case": false, "strip_accents": true}`, "héllo", []int{17}},
		{`{"tokenize_chinese_chars": false}`, "我今天", []int{1}},
		{`{"tokenize_chinese_chars": true}`, "我今天", []int{5, 6, 7}},
	}
	for _, tc := range cases {
		tok, err := Load(write(tc.cfg))
		if err != nil {
			t.Fatal(err)
		}
		if got := IDs(tok.Encode(tc.text)); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("config %s: %q → %v, want %v", tc.cfg, tc.text, got, tc.want)
		}
	}
	// Saving writes the settings back.
	w, err := LoadWordPieceVocab(filepath.Join(write(`{"do_lower_case": false, "strip_accents": true}`), "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "out")
	if err := w.Save(dir); err != nil {
		t.Fatal(err)
	}
	w2, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := IDs(w2.Encode("héllo Unaffable")); !reflect.DeepEqual(got, []int{17, 1}) {
		t.Errorf("after save/load: %v", got)
	}
}
