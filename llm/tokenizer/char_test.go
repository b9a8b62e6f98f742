package tokenizer

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestCharVocabOrder(t *testing.T) {
	// Counts: 好 3, 你 2, ' ' 2, a 1, b 1 (ties by code point: ' ' < 你, a < b).
	c := NewChar("你好 好a 你好b", CharOptions{})
	want := append(append([]string{}, CharSpecials...), "好", " ", "你", "a", "b")
	if !reflect.DeepEqual(c.tokens, want) {
		t.Fatalf("tokens = %q, want %q", c.tokens, want)
	}
	sp := c.Specials()
	if (sp != Specials{PAD: 0, UNK: 1, CLS: 2, SEP: 3, MASK: 4, BOS: 5, EOS: 5}) {
		t.Errorf("specials = %+v", sp)
	}
	if c.Kind() != "char" || c.VocabSize() != 11 {
		t.Errorf("kind %q size %d", c.Kind(), c.VocabSize())
	}
	// MinFreq 2 keeps 好, ' ', 你; MaxVocab 8 keeps the 2 most frequent.
	if got := NewChar("你好 好a 你好b", CharOptions{MinFreq: 2}).VocabSize(); got != 9 {
		t.Errorf("MinFreq 2: size %d, want 9", got)
	}
	c8 := NewChar("你好 好a 你好b", CharOptions{MaxVocab: 8})
	if got := c8.tokens[6:]; !reflect.DeepEqual(got, []string{"好", " "}) {
		t.Errorf("MaxVocab 8: %q", got)
	}
}

func TestCharEncodeRoundTrip(t *testing.T) {
	corpus := "2024-05-01 12:00:03 ERROR 磁盘 /dev/sda1 使用率 95%\n2024-05-01 12:00:04 WARN 内存\t不足\r\n"
	c := NewChar(corpus, CharOptions{})
	toks := c.Encode(corpus)
	if len(toks) != len([]rune(corpus)) {
		t.Fatalf("%d tokens for %d runes", len(toks), len([]rune(corpus)))
	}
	pos := 0
	for _, tk := range toks {
		if tk.Start != pos || corpus[tk.Start:tk.End] != tk.Text || tk.ID == c.Specials().UNK {
			t.Fatalf("token %+v at %d", tk, pos)
		}
		pos = tk.End
	}
	if got := c.Decode(IDs(toks)); got != corpus {
		t.Fatalf("round trip: %q", got)
	}
	// Unknown characters and invalid bytes become [UNK] with their spans; specials in
	// the text are one token; Decode skips [PAD].
	toks = c.Encode("磁X[MASK]\xff")
	want := []Token{{c.vocab["磁"], "磁", 0, 3}, {1, "[UNK]", 3, 4}, {4, "[MASK]", 4, 10}, {1, "[UNK]", 10, 11}}
	if !reflect.DeepEqual(toks, want) {
		t.Fatalf("got %+v\nwant %+v", toks, want)
	}
	if got := c.Decode([]int{0, c.vocab["磁"], 0, 4, 99999}); got != "磁[MASK]" {
		t.Errorf("decode: %q", got)
	}
}

func TestCharSaveLoad(t *testing.T) {
	corpus := "第一行\n第二行\r\n\ttab\u2028end \x00"
	c := NewChar(corpus, CharOptions{})
	dir := filepath.Join(t.TempDir(), "ckpt")
	if err := c.Save(dir); err != nil {
		t.Fatal(err)
	}
	vocab, _ := os.ReadFile(filepath.Join(dir, "vocab.txt"))
	if !strings.Contains(string(vocab), "\n<U+000A>\n") || strings.Count(string(vocab), "\n") != c.VocabSize() {
		t.Fatalf("vocab.txt:\n%s", vocab)
	}
	cfg, _ := os.ReadFile(filepath.Join(dir, "tokenizer_config.json"))
	for _, s := range []string{`"tokenizer_class": "BertTokenizer"`, `"do_lower_case": false`, `"divellm_tokenizer": "char"`} {
		if !strings.Contains(string(cfg), s) {
			t.Errorf("config lacks %s:\n%s", s, cfg)
		}
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	c2, ok := got.(*Char)
	if !ok {
		t.Fatalf("Load gave %T", got)
	}
	if !reflect.DeepEqual(c2.tokens, c.tokens) || c2.Specials() != c.Specials() {
		t.Fatalf("tokens differ:\n%q\n%q", c2.tokens, c.tokens)
	}
	if !reflect.DeepEqual(c2.Encode(corpus), c.Encode(corpus)) || c2.Decode(IDs(c2.Encode(corpus))) != corpus {
		t.Fatal("encodings differ after load")
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp*"))
	if len(leftovers) > 0 {
		t.Errorf("temp files left: %v", leftovers)
	}
}
