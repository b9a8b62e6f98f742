package week1

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/divellm/divellm/llm/tokenizer"
)

var update = flag.Bool("update", false, "rewrite lessons/week1/wordpiece/vocab.txt from the corpus")

// The committed vocab.txt is exactly what BuildWordPieceVocab makes from the corpus.
func TestWordPieceVocabUpToDate(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, WordPieceVocabPath)
	want := BuildWordPieceVocab(corpusText(), WordPieceMinWordFreq)
	if *update {
		if err := WriteWordPieceVocab(path, want); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != strings.Join(want, "\n")+"\n" {
		t.Fatalf("%s is stale: run go test ./lessons/week1 -run WordPieceVocab -update", path)
	}
}

func TestBuildWordPieceVocabShape(t *testing.T) {
	v := BuildWordPieceVocab("我去银行 the tokenizer tokenizers, token。GPU gpu 2026 x", 2)
	idx := map[string]int{}
	for i, s := range v {
		if _, dup := idx[s]; dup {
			t.Fatalf("duplicate %q", s)
		}
		idx[s] = i
	}
	for i, s := range tokenizer.BertSpecials {
		if idx[s] != i {
			t.Fatalf("special %s at %d, want %d", s, idx[s], i)
		}
	}
	for _, s := range []string{"我", "银", ",", "。", "gpu", "a", "##z", "7", "##7"} {
		if _, ok := idx[s]; !ok {
			t.Errorf("%q missing from %v", s, v)
		}
	}
	for _, s := range []string{"the", "2026", "GPU"} { // seen once or upper-case
		if _, ok := idx[s]; ok {
			t.Errorf("%q should not be in the vocabulary (seen once or not lower-cased)", s)
		}
	}
	// "tokenizer" starts two words (tokenizer, tokenizers): BPE merges it into one piece.
	if _, ok := idx["tokenizer"]; !ok {
		t.Errorf("the shared piece tokenizer was not learned: %v", v)
	}
}

func TestReadable(t *testing.T) {
	cases := map[string]string{"银行": "银行", "\xe9\x93": "<e9><93>", "银\xe8": "银<e8>", "": ""}
	for in, want := range cases {
		if got := Readable(in); got != want {
			t.Errorf("Readable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCompareTokenizers(t *testing.T) {
	s := "我昨天去银行钓鱼，GPU 使用率 97%"
	rows, err := CompareTokenizers([]string{s})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Tokenizer != "char" || rows[1].Tokenizer != "bpe" || rows[2].Tokenizer != "wordpiece" {
		t.Fatalf("rows %+v", rows)
	}
	char, bpe, wp := rows[0], rows[1], rows[2]
	if len(char.Pieces) != utf8.RuneCountInString(s) || strings.Join(char.Pieces, "") != s {
		t.Errorf("char pieces %q", char.Pieces)
	}
	// BPE pieces cover the text exactly and merge frequent characters: fewer tokens than chars.
	if strings.Join(bpe.Pieces, "") != s || len(bpe.Pieces) >= len(char.Pieces) {
		t.Errorf("bpe pieces %q", bpe.Pieces)
	}
	// WordPiece: one token per Chinese character, English lower-cased, no space tokens.
	if wp.Unknown != 0 {
		t.Errorf("wordpiece has %d unknown tokens: %q", wp.Unknown, wp.Pieces)
	}
	if strings.Contains(strings.Join(wp.Pieces, "|"), " ") || wp.Pieces[0] != "我" {
		t.Errorf("wordpiece pieces %q", wp.Pieces)
	}
	wpTok, _ := WordPieceZH()
	if got := wpTok.Decode(wp.IDs); !strings.Contains(got, "gpu") {
		t.Errorf("wordpiece decode %q", got)
	}
	h, table := CountTable(rows)
	if len(h) != 5 || len(table) != 1 || table[0][2] != "20" && table[0][1] != table[0][2] {
		t.Errorf("count table %v %v", h, table)
	}
	if _, err := CompareTokenizers(nil); err == nil {
		t.Error("no sentences should be an error")
	}
}

func TestTrainBPEDemo(t *testing.T) {
	ms, err := TrainBPEDemo(20)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 20 || ms[0].Rank != 1 {
		t.Fatalf("%d merges", len(ms))
	}
	complete := 0
	for i, m := range ms {
		if i > 0 && m.Count > ms[i-1].Count {
			t.Errorf("merge %d seen %d times, more than merge %d (%d): not greedy", i+1, m.Count, i, ms[i-1].Count)
		}
		if m.CompleteChar {
			complete++
			if !utf8.ValidString(m.Merged) || strings.Contains(m.Merged, "<") {
				t.Errorf("merge %+v marked complete", m)
			}
		}
	}
	// The first merges of a Chinese corpus join the bytes of frequent characters.
	if complete == 0 {
		t.Errorf("no merge produced a whole character: %+v", ms)
	}
	many, _ := TrainBPEDemo(300)
	ws := WordMerges(many, 10)
	if len(ws) != 10 {
		t.Fatalf("300 merges should include 10 Chinese words, got %+v", ws)
	}
	for _, w := range ws {
		if !hanOnly(w.Merged) || !IsWord(w.Merged) || !w.CompleteChar {
			t.Errorf("word merge %+v is not a Chinese word", w)
		}
	}
	// The notebook's "not a word" example: 店买 (商店|买, 书店|买) is learned among the first
	// 300 merges, and its contexts show the words it cuts through.
	cw := CrossWordMerges(many, 5)
	if len(cw) == 0 || cw[0].Merged != "店买" {
		t.Fatalf("first cross-word pieces %+v, want 店买 first", cw)
	}
	for _, c := range Contexts("店买", 3) {
		if w, _, _ := strings.Cut(c, " "); !IsWord(strings.TrimSuffix(w, "买")) {
			t.Errorf("context %q of 店买: %q is not a word", c, strings.TrimSuffix(w, "买"))
		}
	}
	for _, bad := range []string{"店买", "午去", "因是", "程师", " 使用率"} {
		if IsWord(bad) || hanOnly(bad) && slices.ContainsFunc(ws, func(m MergeRow) bool { return m.Merged == bad }) {
			t.Errorf("%q counted as a word", bad)
		}
	}
	// Greedy training: the first merges of a longer run are those of a shorter one, which
	// is what lets TrainBPEDemo slice the cached run.
	short, err := tokenizer.TrainBPE(corpusText(), 256+1+40, tokenizer.BPEOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := mergeRows(short); !slices.Equal(got, many[:40]) {
		t.Errorf("a 40-merge run differs from the first 40 of the cached run:\n%v\n%v", got[:5], many[:5])
	}
	if _, err := TrainBPEDemo(0); err == nil {
		t.Error("0 merges should be an error")
	}
}

// The notebook's prose about the BPE split quotes these pieces; if training changes, this
// test fails and the prose must change with it.
func TestBPESplitsQuotedInTheNotebook(t *testing.T) {
	rows, err := CompareTokenizers([]string{ShopSentence, StorySentence, MixedSentence})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(rows[1].Pieces, "|"); got != "我|今天|去|超市买|菜" {
		t.Errorf("BPE split %s", got)
	}
	if got := strings.Join(rows[4].Pieces, "|"); got != "我|昨天去|银行|钓鱼" {
		t.Errorf("BPE split %s", got)
	}
	if bpe, wp := len(rows[7].Pieces), len(rows[8].Pieces); bpe <= wp {
		t.Errorf("English sentence: BPE %d tokens, WordPiece %d: the notebook says BPE needs more", bpe, wp)
	}
	// The notebook's other claims: BPE cuts " tokenizer" into short pieces and a rare
	// character of the alert line into bytes (<e5><8d>).
	mixed, err := CompareTokenizers([]string{MixedSentence, AlertSentence})
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.Index(mixed[1].Pieces, " t"); i < 0 || !slices.Equal(mixed[1].Pieces[i:i+4], []string{" t", "o", "k", "en"}) {
		t.Errorf("BPE split of the mixed sentence %q", mixed[1].Pieces)
	}
	if !slices.ContainsFunc(mixed[4].Pieces, func(p string) bool { return strings.HasPrefix(p, "<e") }) {
		t.Errorf("BPE split of the alert line has no half character: %q", mixed[4].Pieces)
	}
	for _, piece := range []string{"超市买", "昨天去"} {
		m := FindMerge(mustRun(t).Merges, piece)
		if m == nil || IsWord(piece) {
			t.Errorf("%s: merge %+v (want a learned cross-word piece)", piece, m)
		}
	}
}

// The BPE is trained once and then loaded from the cache directory, unchanged.
func TestBPECache(t *testing.T) {
	a := mustRun(t)
	b := mustRun(t)
	if !b.Cached || b.Dir == "" {
		t.Fatalf("second run not from the cache: %+v", b.Dir)
	}
	if !slices.Equal(a.Merges, b.Merges) || len(b.Merges) != DefaultBPEVocab-257 {
		t.Errorf("cached merges differ: %d vs %d", len(a.Merges), len(b.Merges))
	}
	s := "2026-03-14 02:13:07 [CRITICAL] db-prod-03 磁盘使用率 97%"
	if !slices.Equal(tokenizer.IDs(a.Tokenizer.Encode(s)), tokenizer.IDs(b.Tokenizer.Encode(s))) {
		t.Error("the cached tokenizer encodes differently")
	}
}

func mustRun(t *testing.T) *BPERun {
	t.Helper()
	r, err := BPEZHRun()
	if err != nil {
		t.Fatal(err)
	}
	return r
}
