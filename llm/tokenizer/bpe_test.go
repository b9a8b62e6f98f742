package tokenizer

import (
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestPreTokenize(t *testing.T) {
	cases := []struct {
		pre  string
		text string
		want []string
	}{
		// Worked by hand from the GPT-2 regex: "  test" gives " " + " test" (\s+(?!\S)
		// gives back the last space), "\n\nfoo" gives "\n", "\n", trailing spaces stay together.
		{PreGPT2, "Hello world's  test\n\nfoo  ", []string{"Hello", " world", "'s", " ", " test", "\n", "\n", "foo", "  "}},
		{PreGPT2, "price: $3.50!!", []string{"price", ":", " $", "3", ".", "50", "!!"}},
		{PreGPT2, "it 's", []string{"it", " '", "s"}},
		{PreGPT2, "我用Go写代码，很好。", []string{"我用Go写代码", "，", "很好", "。"}},
		{PreGPT2CJK, "我用Go写代码，很好。", []string{"我用", "Go", "写代码", "，", "很好", "。"}},
		{PreGPT2CJK, " 中文abc 日本語です", []string{" 中文", "abc", " 日本語です"}},
		{PreGPT2CJK, "a\xffb\xff\xfe", []string{"a", "\xff", "b", "\xff\xfe"}},
		{PreGPT2CJK, "\u3000全角 ", []string{"\u3000", "全角", " "}},
	}
	for _, tc := range cases {
		var got []string
		for _, p := range preTokenize(tc.text, tc.pre == PreGPT2CJK) {
			got = append(got, tc.text[p[0]:p[1]])
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %q:\n got %q\nwant %q", tc.pre, tc.text, got, tc.want)
		}
	}
}

func TestByteLevelMapping(t *testing.T) {
	// GPT-2: space → Ġ (U+0120), newline → Ċ (U+010A), 0xFF stays ÿ, 0xAD → Ń (U+0143).
	if got := ByteLevel(" \n\xff\xad!"); got != "ĠĊÿŃ!" {
		t.Errorf("ByteLevel = %q", got)
	}
	if raw, ok := FromByteLevel("ĠĊÿŃ!"); !ok || raw != " \n\xff\xad!" {
		t.Errorf("FromByteLevel = %q %v", raw, ok)
	}
	if _, ok := FromByteLevel("中"); ok {
		t.Error("中 is not a byte character")
	}
}

func mergeSummary(ms []Merge) []Merge {
	out := make([]Merge, len(ms))
	for i, m := range ms {
		out[i] = Merge{Pair: m.Pair, ID: m.ID, Token: m.Token, Text: m.Text, Count: m.Count}
	}
	return out
}

func TestTrainBPEHandWorked(t *testing.T) {
	// "aaabdaaabac" (one piece). Pair counts a a:4 (overlaps count), a b:2, others 1 →
	// aa=256; "aa a b d aa a b a c": (aa,a):2 and (a,b):2 tie → smaller pair (97,98) →
	// ab=257; "aa ab d aa ab a c": (aa,ab):2 → aaab=258; then all 1: smallest (97,99) → ac.
	b, err := TrainBPE("aaabdaaabac", 256+4, BPEOptions{Specials: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Merge{
		{[2]int{'a', 'a'}, 256, "aa", "aa", 4},
		{[2]int{'a', 'b'}, 257, "ab", "ab", 2},
		{[2]int{256, 257}, 258, "aaab", "aaab", 2},
		{[2]int{'a', 'c'}, 259, "ac", "ac", 1},
	}
	if got := b.Merges(); !reflect.DeepEqual(got, want) {
		t.Fatalf("merges:\n got %+v\nwant %+v", got, want)
	}
	if got := IDs(b.Encode("aaabdaaabac")); !reflect.DeepEqual(got, []int{258, 'd', 258, 259}) {
		t.Errorf("encode = %v", got)
	}

	// With pre-tokenization and frequencies: pieces "ab", " ab" ×2, " cd".
	// (a,b):3 → ab; (Ġ,ab):2 → Ġab; ties (Ġ,c),(c,d):1 → smaller (32,99) → Ġc; then Ġcd.
	b, err = TrainBPE("ab ab ab cd", 256+4+1, BPEOptions{PreTokenizer: PreGPT2})
	if err != nil {
		t.Fatal(err)
	}
	want = []Merge{
		{[2]int{'a', 'b'}, 256, "ab", "ab", 3},
		{[2]int{' ', 256}, 257, "Ġab", " ab", 2},
		{[2]int{' ', 'c'}, 258, "Ġc", " c", 1},
		{[2]int{258, 'd'}, 259, "Ġcd", " cd", 1},
	}
	if got := b.Merges(); !reflect.DeepEqual(got, want) {
		t.Fatalf("merges:\n got %+v\nwant %+v", got, want)
	}
	if b.VocabSize() != 261 || b.IDToToken(260) != GPT2EndOfText || b.Specials().EOS != 260 || b.Specials().UNK != 260 {
		t.Errorf("vocab %d, last %q, specials %+v", b.VocabSize(), b.IDToToken(260), b.Specials())
	}
	// MinFrequency 2 stops before the count-1 merges; a corpus without pairs stops early.
	b, _ = TrainBPE("ab ab ab cd", 300, BPEOptions{PreTokenizer: PreGPT2, MinFrequency: 2})
	if len(b.Merges()) != 2 {
		t.Errorf("MinFrequency 2: %d merges", len(b.Merges()))
	}
	b, _ = TrainBPE("a.b,c", 300, BPEOptions{})
	if len(b.Merges()) != 0 || b.VocabSize() != 257 {
		t.Errorf("no pairs: %d merges, size %d", len(b.Merges()), b.VocabSize())
	}
	if _, err := TrainBPE("abc", 256, BPEOptions{}); err == nil {
		t.Error("vocabSize 256 with one special: no error")
	}
	if _, err := TrainBPE("abc", 300, BPEOptions{PreTokenizer: "bert"}); err == nil {
		t.Error("unknown pre-tokenizer: no error")
	}
}

// trainBPEOnce trains small tokenizers shared by several tests.
var trainBPEOnce = sync.OnceValues(func() (*BPE, *BPE) {
	corpus := chineseCorpus(20000, 1) + "\nThe quick brown fox's jumps over 12 lazy dogs. café naïve 😀<|endoftext|>"
	cjk, err1 := TrainBPE(corpus, 600, BPEOptions{})
	gpt2, err2 := TrainBPE(corpus, 600, BPEOptions{PreTokenizer: PreGPT2})
	if err1 != nil || err2 != nil {
		panic(err1)
	}
	return cjk, gpt2
})

// chineseCorpus makes n runes of pseudo-Chinese text (words, punctuation, some English
// and digits) from a fixed seed.
func chineseCorpus(n int, seed int64) string {
	words := strings.Fields("今天 天气 很好 我们 去 公园 散步 机器 学习 是 人工 智能 的 一个 分支 深度 模型 需要 大量 数据 " +
		"语言 训练 注意力 机制 词元 编码 解码 服务器 磁盘 内存 告警 日志 北京 上海 中国 发展 研究 问题 方法 结果 " +
		"因为 所以 但是 如果 可以 没有 他们 这个 那个 时候 已经 还是 就是 不是 什么 怎么 为什么 GPU Go 2024 3.5")
	punct := []string{"，", "。", "！", "？", "、", "：", "\n"}
	r := rand.New(rand.NewSource(seed))
	var b strings.Builder
	count := 0
	for count < n {
		w := words[r.Intn(len(words))]
		if r.Intn(6) == 0 {
			w += punct[r.Intn(len(punct))]
		}
		b.WriteString(w)
		count += len([]rune(w))
	}
	return b.String()
}

func checkRoundTrip(t *testing.T, b *BPE, text string) {
	t.Helper()
	toks := b.Encode(text)
	pos := 0
	for _, tk := range toks {
		if tk.Start != pos || tk.End <= tk.Start || b.TokenBytes(tk.ID) != text[tk.Start:tk.End] || tk.Text != b.IDToToken(tk.ID) {
			t.Fatalf("%s: token %+v at byte %d of %q", b.pre, tk, pos, text)
		}
		pos = tk.End
	}
	if pos != len(text) {
		t.Fatalf("%s: tokens cover %d of %d bytes", b.pre, pos, len(text))
	}
	if got := b.Decode(IDs(toks)); got != text {
		t.Fatalf("%s: Decode(Encode(%q)) = %q", b.pre, text, got)
	}
	// The fast heap merge must agree with GPT-2's slow loop on the whole text as one piece.
	if len(text) > 0 {
		ids1, pos1 := b.mergeSlow(text, 0, len(text))
		ids2, pos2 := b.mergeHeap(text, 0, len(text))
		if !reflect.DeepEqual(ids1, ids2) || !reflect.DeepEqual(pos1, pos2) {
			t.Fatalf("%s: %q: slow merge %v %v, heap merge %v %v", b.pre, text, ids1, pos1, ids2, pos2)
		}
	}
}

func FuzzBPERoundTrip(f *testing.F) {
	for _, s := range []string{"", "hello world", "今天天气很好，我们去公园散步。", "\xff\xfe\x00abc", "a<|endoftext|>b<|endof",
		"  \n\n\t x's 12.5 😀 é e\u0301", "\xe4\xbb", strings.Repeat("的", 300)} {
		f.Add([]byte(s))
	}
	cjk, gpt2 := trainBPEOnce()
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRoundTrip(t, cjk, string(data))
		checkRoundTrip(t, gpt2, string(data))
	})
}

func TestBPERandomBytesRoundTrip(t *testing.T) {
	cjk, gpt2 := trainBPEOnce()
	r := rand.New(rand.NewSource(7))
	alphabet := []string{"a", " ", "的", "天气", "\n", "\xff", "\xe4", "😀", "'s", "<|endoftext|>", "1", "，"}
	for i := 0; i < 300; i++ {
		var b strings.Builder
		for j := r.Intn(40); j > 0; j-- {
			if r.Intn(3) == 0 {
				b.WriteByte(byte(r.Intn(256)))
			} else {
				b.WriteString(alphabet[r.Intn(len(alphabet))])
			}
		}
		checkRoundTrip(t, cjk, b.String())
		checkRoundTrip(t, gpt2, b.String())
	}
}

func TestBPELearnsWords(t *testing.T) {
	cjk, _ := trainBPEOnce()
	// Frequent two-character words of the corpus become single tokens.
	for _, w := range []string{"今天", "天气", "数据"} {
		toks := cjk.Encode(w)
		if len(toks) != 1 || cjk.TokenBytes(toks[0].ID) != w {
			t.Errorf("%q → %+v", w, toks)
		}
	}
	if toks := cjk.Encode("a<|endoftext|>"); len(toks) != 2 || toks[1].ID != cjk.Specials().EOS || toks[1].Start != 1 || toks[1].End != 14 {
		t.Errorf("special in text: %+v", toks)
	}
}

func TestBPESaveLoad(t *testing.T) {
	cjk, gpt2 := trainBPEOnce()
	for _, b := range []*BPE{cjk, gpt2} {
		dir := filepath.Join(t.TempDir(), b.pre)
		if err := b.Save(dir); err != nil {
			t.Fatal(err)
		}
		m, _ := os.ReadFile(filepath.Join(dir, "merges.txt"))
		if !strings.HasPrefix(string(m), "#version: 0.2\n") || strings.Count(string(m), "\n") != len(b.Merges())+1 {
			t.Fatalf("merges.txt starts %q", string(m)[:40])
		}
		got, err := LoadBPE(dir)
		if err != nil {
			t.Fatal(err)
		}
		if got.pre != b.pre || !reflect.DeepEqual(got.tokens, b.tokens) || got.Specials() != b.Specials() {
			t.Fatalf("%s: loaded tokenizer differs (pre %q)", b.pre, got.pre)
		}
		wantMerges := b.Merges()
		for i := range wantMerges {
			wantMerges[i].Count = 0
		}
		if !reflect.DeepEqual(got.Merges(), wantMerges) {
			t.Fatalf("%s: merges differ", b.pre)
		}
		for _, text := range []string{chineseCorpus(2000, 99), "Go语言 is fun's\n\n 😀 \xff<|endoftext|>"} {
			if !reflect.DeepEqual(got.Encode(text), b.Encode(text)) {
				t.Fatalf("%s: encodings of %q differ", b.pre, text)
			}
		}
	}
}

// TestGPT2FormatHandMade loads a hand-written GPT-2-format vocab.json/merges.txt and checks
// the tokens Hugging Face's GPT2Tokenizer gives, worked by hand:
//
//	pieces: "hello" " world" "'s" " hé" "\n" | <|endoftext|> | "!"
//	"hello":  h e l l o → (l,l) rank 0 → h e ll o → (h,e) 1 → he ll o → (ll,o) 4 → he llo
//	" world": Ġ w o r l d → (o,r) 2 → (Ġ,w) 3 → (Ġw,or) 5 → Ġwor l d
//	"'s":     ' s → rank 7 → 's
//	" hé":    Ġ h Ã © (é = C3 A9) → (Ã,©) 6 → Ġ h Ã©
//	"\n" → Ċ; "!" is not in the vocabulary → unk_token <|endoftext|> (id 0).
func TestGPT2FormatHandMade(t *testing.T) {
	dir := t.TempDir()
	vocab := `{"<|endoftext|>": 0, "h": 1, "e": 2, "l": 3, "o": 4, "Ġ": 5, "w": 6, "r": 7, "d": 8,
 "he": 9, "ll": 10, "or": 11, "Ġw": 12, "llo": 13, "Ġwor": 14, "Ã": 15, "©": 16, "Ã©": 17,
 "Ċ": 18, "'": 19, "s": 20, "'s": 21}`
	merges := "#version: 0.2\nl l\nh e\no r\nĠ w\nll o\nĠw or\nÃ ©\n' s\n"
	os.WriteFile(filepath.Join(dir, "vocab.json"), []byte(vocab), 0o644)
	os.WriteFile(filepath.Join(dir, "merges.txt"), []byte(merges), 0o644)
	tok, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := tok.(*BPE)
	text := "hello world's hé\n<|endoftext|>!"
	want := []Token{
		{9, "he", 0, 2}, {13, "llo", 2, 5},
		{14, "Ġwor", 5, 9}, {3, "l", 9, 10}, {8, "d", 10, 11},
		{21, "'s", 11, 13},
		{5, "Ġ", 13, 14}, {1, "h", 14, 15}, {17, "Ã©", 15, 17},
		{18, "Ċ", 17, 18},
		{0, "<|endoftext|>", 18, 31},
		{0, "<|endoftext|>", 31, 32},
	}
	if got := b.Encode(text); !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if got := b.Decode([]int{9, 13, 14, 3, 8, 21, 5, 1, 17, 18, 0}); got != "hello world's hé\n<|endoftext|>" {
		t.Errorf("decode = %q", got)
	}
	if sp := b.Specials(); sp.BOS != 0 || sp.EOS != 0 || sp.UNK != 0 || sp.PAD != -1 || sp.CLS != -1 {
		t.Errorf("specials %+v", sp)
	}
	if m := b.Merges()[4]; m.Pair != [2]int{10, 4} || m.ID != 13 || m.Text != "llo" {
		t.Errorf("merge 5 = %+v", m)
	}
	// Save writes a vocab.json that reads back to the same ids.
	out := filepath.Join(t.TempDir(), "again")
	if err := b.Save(out); err != nil {
		t.Fatal(err)
	}
	b2, err := LoadBPE(out)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(b2.Encode(text), want) {
		t.Error("save → load changed the encoding")
	}
}

// BenchmarkTrainBPEChinese trains on 100k characters of Chinese-like text (the target
// is well under 2 s per training).
func BenchmarkTrainBPEChinese(b *testing.B) {
	corpus := chineseCorpus(100000, 3)
	for b.Loop() {
		if _, err := TrainBPE(corpus, 2000, BPEOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBPEEncode(b *testing.B) {
	cjk, _ := trainBPEOnce()
	text := chineseCorpus(10000, 5)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		cjk.Encode(text)
	}
}

func TestLoadBPERejectsPrefixSpace(t *testing.T) {
	_, gpt2 := trainBPEOnce()
	dir := t.TempDir()
	if err := gpt2.Save(dir); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "tokenizer_config.json"), []byte(`{"add_prefix_space": true}`), 0o644)
	if _, err := LoadBPE(dir); err == nil || !strings.Contains(err.Error(), "add_prefix_space") {
		t.Errorf("err = %v", err)
	}
}

func TestTrainBPEWithBERTSpecials(t *testing.T) {
	bp, err := TrainBPE("我今天去超市。我今天去银行。", 300, BPEOptions{Specials: []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}})
	if err != nil {
		t.Fatal(err)
	}
	sp := bp.Specials()
	for name, id := range map[string]int{"[PAD]": sp.PAD, "[CLS]": sp.CLS, "[SEP]": sp.SEP, "[MASK]": sp.MASK} {
		if id < 0 || bp.IDToToken(id) != name {
			t.Fatalf("%s has id %d (%q)", name, id, bp.IDToToken(id))
		}
	}
	dir := t.TempDir()
	if err := bp.Save(dir); err != nil {
		t.Fatal(err)
	}
	back, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if back.Specials() != sp {
		t.Fatalf("specials after save/load %+v, want %+v", back.Specials(), sp)
	}
}
