package tokenizer

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/divellm/divellm/internal/fileio"
)

// testWordPiece is a small BERT vocabulary for hand-worked examples.
var testWordPieceVocab = []string{
	"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", // 0-4
	"我", "今", "天", "去", "超", "市", "的", // 5-11
	"un", "##aff", "##able", "token", "##s", "hello", "he", "##llo", // 12-19
	",", ".", "!", "'", "s", "a", "##b", "i", "##i", "ab", // 20-29
	"cafe", "σοφος", "σοφοσ", "x", "##x", "resume", "##ume", "re", "##ing", "##é", // 30-39
}

func newTestWordPiece(t *testing.T, lower bool) *WordPiece {
	t.Helper()
	opts := DefaultWordPieceOptions()
	opts.LowerCase = lower
	w, err := NewWordPiece(testWordPieceVocab, opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestEncodeSingle(t *testing.T) {
	w := newTestWordPiece(t, true)
	text := "我今天去超市"
	ids, toks := EncodeSingle(w, text, 0)
	if want := []int{2, 5, 6, 7, 8, 9, 10, 3}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("ids %v, want %v", ids, want)
	}
	if toks[0] != (Token{2, "[CLS]", -1, -1}) || toks[7] != (Token{3, "[SEP]", -1, -1}) {
		t.Errorf("specials: %+v %+v", toks[0], toks[7])
	}
	// maxLen 5: [CLS] 我 今 天 [SEP], offsets kept.
	ids, toks = EncodeSingle(w, text, 5)
	if want := []int{2, 5, 6, 7, 3}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("truncated ids %v, want %v", ids, want)
	}
	if toks[3] != (Token{7, "天", 6, 9}) {
		t.Errorf("token 3 = %+v", toks[3])
	}
	if ids, _ = EncodeSingle(w, text, 1); !reflect.DeepEqual(ids, []int{2, 3}) {
		t.Errorf("maxLen 1: %v", ids)
	}
	// GPT style: no [CLS], plain ids.
	c := &gptLike{NewChar("abc", CharOptions{})}
	ids, toks = EncodeSingle(c, "abcab", 4)
	if len(ids) != 4 || toks[3].Start != 3 || toks[3].End != 4 || ids[0] != c.vocab["a"] {
		t.Errorf("GPT style: %v %+v", ids, toks)
	}
}

// gptLike hides [CLS]/[SEP] to get GPT-style behaviour from a Char tokenizer.
type gptLike struct{ *Char }

func (g *gptLike) Specials() Specials {
	sp := g.Char.Specials()
	sp.CLS, sp.SEP = -1, -1
	return sp
}

func TestEncodePair(t *testing.T) {
	w := newTestWordPiece(t, true)
	a, b := "我今天去", "超市的token"
	ids, types, toks, err := EncodePair(w, a, b, 0)
	if err != nil {
		t.Fatal(err)
	}
	// [CLS] 我 今 天 去 [SEP] 超 市 的 token [SEP]
	if want := []int{2, 5, 6, 7, 8, 3, 9, 10, 11, 15, 3}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("ids %v, want %v", ids, want)
	}
	if want := []int{0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1}; !reflect.DeepEqual(types, want) {
		t.Fatalf("types %v", types)
	}
	if toks[9] != (Token{15, "token", 9, 14}) || toks[5].Start != -1 {
		t.Errorf("offsets: %+v %+v", toks[9], toks[5])
	}
	// maxLen 8 leaves 5 for 4+4 tokens: remove from b (equal length), then a, then b.
	ids, types, toks, err = EncodePair(w, a, b, 8)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{2, 5, 6, 7, 3, 9, 10, 3}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("truncated ids %v, want %v", ids, want)
	}
	if want := []int{0, 0, 0, 0, 0, 1, 1, 1}; !reflect.DeepEqual(types, want) {
		t.Fatalf("truncated types %v", types)
	}
	if toks[6] != (Token{10, "市", 3, 6}) {
		t.Errorf("b offsets: %+v", toks[6])
	}
	if _, _, _, err := EncodePair(w, a, b, 2); err == nil {
		t.Error("maxLen 2: no error")
	}
	bpe, err := TrainBPE("hello hello", 260, BPEOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := EncodePair(bpe, a, b, 0); err == nil || !strings.Contains(err.Error(), "[CLS]") {
		t.Errorf("BPE pair: err %v", err)
	}
}

func TestLoadDetectsFormat(t *testing.T) {
	root := t.TempDir()
	w := newTestWordPiece(t, false)
	c := NewChar("字符", CharOptions{})
	b, err := TrainBPE("low lower lowest", 270, BPEOptions{PreTokenizer: PreGPT2})
	if err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]Tokenizer{"wp": w, "char": c, "bpe": b} {
		dir := filepath.Join(root, name)
		if err := tok.Save(dir); err != nil {
			t.Fatal(err)
		}
		got, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got.Kind() != tok.Kind() || got.VocabSize() != tok.VocabSize() || got.Specials() != tok.Specials() {
			t.Errorf("%s: loaded %s/%d/%+v, want %s/%d/%+v", name, got.Kind(), got.VocabSize(), got.Specials(), tok.Kind(), tok.VocabSize(), tok.Specials())
		}
		for _, text := range []string{"lowest 字符 un aff able, 我!", ""} {
			if !reflect.DeepEqual(got.Encode(text), tok.Encode(text)) {
				t.Errorf("%s: encodings of %q differ", name, text)
			}
		}
	}
	// A file path works too.
	if got, err := Load(filepath.Join(root, "wp", "vocab.txt")); err != nil || got.Kind() != "wordpiece" {
		t.Errorf("Load(vocab.txt) = %v, %v", got, err)
	}
}

func TestLoadErrors(t *testing.T) {
	write := func(files map[string]string) string {
		dir := t.TempDir()
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	bytesVocab := func(extra string) string {
		var parts []string
		for b := 0; b < 256; b++ {
			k := strings.ReplaceAll(strings.ReplaceAll(string(byteToRune[b]), `\`, `\\`), `"`, `\"`)
			parts = append(parts, `"`+k+`": `+strconv.Itoa(b))
		}
		return "{" + strings.Join(parts, ",") + extra + "}"
	}
	cases := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"nothing", map[string]string{"README": "x"}, "no vocab.txt"},
		{"empty vocab.txt", map[string]string{"vocab.txt": "\n"}, "empty vocabulary"},
		{"duplicate vocab.txt", map[string]string{"vocab.txt": "[UNK]\na\nb\na\n"}, `line 4: duplicate token "a"`},
		{"blank line", map[string]string{"vocab.txt": "[UNK]\n\na\n"}, "line 2: empty token"},
		{"no unk", map[string]string{"vocab.txt": "a\nb\n"}, `"[UNK]" is not in the vocabulary`},
		{"bad config", map[string]string{"vocab.txt": "[UNK]\n", "tokenizer_config.json": "{"}, "tokenizer_config.json"},
		{"missing merges", map[string]string{"vocab.json": bytesVocab("")}, "merges.txt"},
		{"missing vocab.json", map[string]string{"merges.txt": "#version: 0.2\n"}, "vocab.json"},
		{"bad vocab.json", map[string]string{"vocab.json": `{"a": 0,`, "merges.txt": ""}, "bad JSON"},
		{"vocab.json not object", map[string]string{"vocab.json": `["a"]`, "merges.txt": ""}, "JSON object"},
		{"empty vocab.json", map[string]string{"vocab.json": `{}`, "merges.txt": ""}, "empty vocabulary"},
		{"duplicate vocab.json key", map[string]string{"vocab.json": `{"a": 0, "a": 1}`, "merges.txt": ""}, `duplicate token "a"`},
		{"duplicate id", map[string]string{"vocab.json": bytesVocab(`, "ab": 3`), "merges.txt": ""}, "id 3 used by both"},
		{"bad merge line", map[string]string{"vocab.json": bytesVocab(""), "merges.txt": "#version: 0.2\na b c\n"}, "line 2: want two tokens"},
		{"merge not in vocab", map[string]string{"vocab.json": bytesVocab(""), "merges.txt": "a b\n"}, `merged token "ab" is not in the vocabulary`},
		{"no unk for missing bytes", map[string]string{"vocab.json": `{"a": 0}`, "merges.txt": ""}, "has no token"},
		{"bad tokenizer.json", map[string]string{"tokenizer.json": `{"model": `}, "bad JSON"},
		{"tokenizer.json unigram", map[string]string{"tokenizer.json": `{"model": {"type": "Unigram", "vocab": {"a": 0}}}`}, "not supported"},
		{"tokenizer.json no merges", map[string]string{"tokenizer.json": `{"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "vocab": {"a": 0}}}`}, "no merges"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := write(tc.files)
			tok, err := Load(dir)
			if err == nil {
				t.Fatalf("no error, got %T", tok)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("missing dir: no error")
	}
}

// TestLoadHalfGPT2FilesUsesTokenizerJSON: a directory with tokenizer.json and only one of
// vocab.json / merges.txt is read from tokenizer.json (Hugging Face repositories often
// ship merges.txt beside tokenizer.json without vocab.json). With neither the pair nor
// tokenizer.json, the error names the missing file.
func TestLoadHalfGPT2FilesUsesTokenizerJSON(t *testing.T) {
	_, gpt2 := trainBPEOnce()
	for _, drop := range []string{"vocab.json", "merges.txt"} {
		dir := t.TempDir()
		if err := gpt2.Save(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Join(dir, drop)); err != nil {
			t.Fatal(err)
		}
		got, err := Load(dir)
		if err != nil {
			t.Fatalf("without %s: %v", drop, err)
		}
		text := "今天天气很好, hello world's 😀"
		if got.Kind() != "bpe" || !reflect.DeepEqual(got.Encode(text), gpt2.Encode(text)) {
			t.Errorf("without %s: %s tokenizer encodes %q as %v, want %v", drop, got.Kind(), text, got.Encode(text), gpt2.Encode(text))
		}
		os.Remove(filepath.Join(dir, "tokenizer.json"))
		keep := map[string]string{"vocab.json": "merges.txt", "merges.txt": "vocab.json"}[drop]
		_, err = Load(dir)
		if err == nil || !strings.Contains(err.Error(), keep+" but no "+drop) || strings.Contains(err.Error(), "\n") {
			t.Errorf("only %s: error %v, want one line saying %s is missing", keep, err, drop)
		}
	}
}

// TestLoadRefusesSpecialFiles: a tokenizer file that is a device or a FIFO fails at once
// with one line (reading /dev/zero as vocab.txt would never end).
func TestLoadRefusesSpecialFiles(t *testing.T) {
	for _, name := range []string{"vocab.txt", "tokenizer.json", "vocab.json", "tokenizer_config.json"} {
		dir := t.TempDir()
		if name == "vocab.json" {
			os.WriteFile(filepath.Join(dir, "merges.txt"), []byte("#version: 0.2\n"), 0o644)
		}
		if name == "tokenizer_config.json" {
			os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte("[UNK]\na\n"), 0o644)
		}
		if err := os.Symlink("/dev/zero", filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		_, err := Load(dir)
		if !errors.Is(err, fileio.ErrNotRegular) || !strings.Contains(err.Error(), name) {
			t.Errorf("%s → /dev/zero: %v, want a not-a-regular-file error naming it", name, err)
		}
	}
}
