package tokenizer

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// reference.json is made by testdata/make_reference.py, an independent Python
// re-implementation of Hugging Face's slow BertTokenizer and GPT2Tokenizer plus a slow,
// obvious BPE trainer (see the script's docstring).
type referenceData struct {
	Texts []string           `json:"texts"`
	Bert  map[string][][]int `json:"bert"`
	BPE   map[string]struct {
		Pattern   string      `json:"pattern"`
		VocabSize int         `json:"vocab_size"`
		Merges    [][2]string `json:"merges"`
		Counts    []int       `json:"counts"`
		Encodings [][][3]int  `json:"encodings"`
	} `json:"bpe"`
}

func loadReference(t *testing.T) *referenceData {
	t.Helper()
	data, err := os.ReadFile("testdata/reference/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	ref := &referenceData{}
	if err := json.Unmarshal(data, ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Texts) < 300 {
		t.Fatalf("only %d reference texts", len(ref.Texts))
	}
	return ref
}

func TestWordPieceMatchesReference(t *testing.T) {
	ref := loadReference(t)
	vocab, err := readVocabTxt("testdata/reference/wordpiece_vocab.txt")
	if err != nil {
		t.Fatal(err)
	}
	for name, opts := range map[string]WordPieceOptions{
		"lower":              DefaultWordPieceOptions(),
		"cased":              {ChineseChars: true, NFC: true, CleanUpSpaces: true},
		"lower_keep_accents": {LowerCase: true, StripAccents: boolPtr(false), ChineseChars: true, NFC: true},
	} {
		w, err := NewWordPiece(vocab, opts)
		if err != nil {
			t.Fatal(err)
		}
		want := ref.Bert[name]
		if len(want) != len(ref.Texts) {
			t.Fatalf("%s: %d encodings for %d texts", name, len(want), len(ref.Texts))
		}
		bad := 0
		for i, text := range ref.Texts {
			toks := w.Encode(text)
			got := IDs(toks)
			if len(got) == 0 && len(want[i]) == 0 {
				continue
			}
			if !reflect.DeepEqual(got, want[i]) {
				if bad++; bad <= 5 {
					t.Errorf("%s: %q\n got %v\nwant %v", name, text, got, want[i])
				}
			}
			for k, tk := range toks {
				if tk.Start < 0 || tk.End > len(text) || tk.Start >= tk.End || (k > 0 && tk.Start < toks[k-1].Start) {
					t.Fatalf("%s: %q: bad span %+v", name, text, tk)
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d texts differ", name, bad, len(ref.Texts))
		}
	}
}

func TestBPEMatchesReference(t *testing.T) {
	ref := loadReference(t)
	corpus, err := os.ReadFile("testdata/reference/bpe_corpus.txt")
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadBPE("testdata/reference/gpt2")
	if err != nil {
		t.Fatal(err)
	}
	for _, pre := range []string{PreGPT2, PreGPT2CJK} {
		r := ref.BPE[pre]
		// The regex written into tokenizer.json is the one the reference used.
		if pattern := map[string]string{PreGPT2: gpt2Pattern, PreGPT2CJK: cjkPattern}[pre]; pattern != r.Pattern {
			t.Errorf("%s: pattern\n%s\nreference\n%s", pre, pattern, r.Pattern)
		}
		trained, err := TrainBPE(string(corpus), r.VocabSize, BPEOptions{PreTokenizer: pre})
		if err != nil {
			t.Fatal(err)
		}
		ms := trained.Merges()
		if len(ms) != len(r.Merges) {
			t.Fatalf("%s: %d merges, reference %d", pre, len(ms), len(r.Merges))
		}
		for i, m := range ms {
			pair := [2]string{trained.IDToToken(m.Pair[0]), trained.IDToToken(m.Pair[1])}
			if pair != r.Merges[i] || m.Count != r.Counts[i] {
				t.Fatalf("%s: merge %d = %q ×%d, reference %q ×%d", pre, i, pair, m.Count, r.Merges[i], r.Counts[i])
			}
		}
		toks := []*BPE{trained}
		if pre == PreGPT2 {
			toks = append(toks, loaded) // HF-format files written by the Python script
		}
		for _, b := range toks {
			bad := 0
			for i, text := range ref.Texts {
				var got [][3]int
				for _, tk := range b.Encode(text) {
					got = append(got, [3]int{tk.ID, tk.Start, tk.End})
				}
				if !reflect.DeepEqual(got, r.Encodings[i]) && len(got)+len(r.Encodings[i]) > 0 {
					if bad++; bad <= 5 {
						t.Errorf("%s: %q\n got %v\nwant %v", pre, text, got, r.Encodings[i])
					}
				}
			}
			if bad > 0 {
				t.Errorf("%s: %d of %d texts differ", pre, bad, len(ref.Texts))
			}
		}
	}
}
