package week1

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/llm/tokenizer"
)

var update = flag.Bool("update", false, "rewrite lessons/week1/wordpiece/vocab.txt from the corpus")

// The committed vocab.txt is exactly what BuildWordPieceVocab makes from the corpus.
func TestWordPieceVocabUpToDate(t *testing.T) {
	root, err := lessons.Root()
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
	words := WordMerges(ms, 3)
	for _, w := range words {
		if utf8.RuneCountInString(w.Merged) < 2 || !w.CompleteChar {
			t.Errorf("word merge %+v", w)
		}
	}
	many, _ := TrainBPEDemo(300)
	if ws := WordMerges(many, 10); len(ws) != 10 {
		t.Errorf("300 merges should include 10 Chinese words, got %+v", ws)
	} else if utf8.RuneCountInString(ws[0].Merged) < 2 || ws[0].Merged[0] < 0x80 {
		t.Errorf("first word merge %+v", ws[0])
	}
	if _, err := TrainBPEDemo(0); err == nil {
		t.Error("0 merges should be an error")
	}
}
