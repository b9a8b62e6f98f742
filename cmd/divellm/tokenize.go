package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/divellm/divellm/llm/tokenizer"
)

const tokenizeUsage = "usage: divellm tokenize [--tokenizer char|bpe=FILE|wordpiece=VOCAB|MODEL_DIR] [--vocab-size N] [--json] TEXT"

func init() {
	register("tokenize", "split text into tokens (char, BPE, WordPiece or a checkpoint's tokenizer) with byte offsets", runTokenize)
}

// runTokenize implements `divellm tokenize`.
//
//	--tokenizer char            a character tokenizer built from TEXT itself (default)
//	--tokenizer bpe=FILE        FILE is a directory with vocab.json + merges.txt (e.g. GPT-2)
//	                            or one of those files, or else a text file: a byte-level BPE
//	                            of --vocab-size tokens is trained on it (CJK pre-tokenizer)
//	--tokenizer wordpiece=VOCAB a BERT vocab.txt (tokenizer_config.json next to it is read)
//	--tokenizer MODEL_DIR       any checkpoint directory tokenizer.Load understands
//	--json                      print {"tokens":[{"id":N,"text":"…","start":B,"end":B}]}
//
// Offsets are byte offsets into TEXT. Several TEXT arguments are joined with spaces.
func runTokenize(args []string, w io.Writer) error {
	fs := newFlags("tokenize")
	spec := fs.String("tokenizer", "char", "char | bpe=FILE | wordpiece=VOCAB | MODEL_DIR")
	vocabSize := fs.Int("vocab-size", 1000, "vocabulary size when bpe=FILE trains on a text file")
	asJSON := fs.Bool("json", false, `print {"tokens":[{"id","text","start","end"}]}`)
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	text := strings.Join(rest, " ")
	if strings.TrimSpace(text) == "" {
		return usagef("no text to tokenize; %s", tokenizeUsage)
	}
	tok, err := buildTokenizer(*spec, text, *vocabSize)
	if err != nil {
		return err
	}
	toks := tok.Encode(text)
	if toks == nil {
		toks = []tokenizer.Token{}
	}
	if *asJSON {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Tokens []tokenizer.Token `json:"tokens"`
		}{toks})
	}
	fmt.Fprintf(w, "%s tokenizer, %d ids in the vocabulary; %d tokens for %d bytes\n", tok.Kind(), tok.VocabSize(), len(toks), len(text))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tid\ttoken\tbytes\ttext")
	for i, t := range toks {
		covered := ""
		if t.Start >= 0 && t.End <= len(text) {
			covered = text[t.Start:t.End]
		}
		fmt.Fprintf(tw, "%d\t%d\t%q\t%d-%d\t%q\n", i, t.ID, t.Text, t.Start, t.End, covered)
	}
	return tw.Flush()
}

// buildTokenizer turns a --tokenizer value into a tokenizer; missing files and bad
// values are usage errors.
func buildTokenizer(spec, text string, vocabSize int) (tokenizer.Tokenizer, error) {
	kind, path, hasPath := strings.Cut(spec, "=")
	switch {
	case spec == "char":
		return tokenizer.NewChar(text, tokenizer.CharOptions{}), nil
	case hasPath && path == "":
		return nil, usagef("--tokenizer %s: missing file after '='", spec)
	case hasPath && kind == "bpe":
		st, err := os.Stat(path)
		if err != nil {
			return nil, usagef("--tokenizer %s: %v", spec, err)
		}
		switch filepath.Base(path) {
		case "vocab.json", "merges.txt", "tokenizer.json":
			return tokenizer.Load(path) // a tokenizer file, not a corpus
		}
		if st.IsDir() {
			t, err := tokenizer.LoadBPE(path)
			if err != nil {
				return nil, err
			}
			return t, nil
		}
		corpus, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		if vocabSize <= 257 {
			return nil, usagef("--vocab-size %d: want more than 257 (256 bytes + <|endoftext|>)", vocabSize)
		}
		t, err := tokenizer.TrainBPE(string(corpus), vocabSize, tokenizer.BPEOptions{})
		if err != nil {
			return nil, err
		}
		return t, nil
	case hasPath && kind == "wordpiece":
		st, err := os.Stat(path)
		if err != nil {
			return nil, usagef("--tokenizer %s: %v", spec, err)
		}
		if st.IsDir() {
			return tokenizer.Load(path)
		}
		t, err := tokenizer.LoadWordPieceVocab(path)
		if err != nil {
			return nil, err
		}
		return t, nil
	case hasPath:
		return nil, usagef("--tokenizer %s: want char, bpe=FILE, wordpiece=VOCAB or a checkpoint directory", spec)
	}
	st, err := os.Stat(spec)
	if err != nil || !st.IsDir() {
		return nil, usagef("--tokenizer %s: not char, bpe=FILE, wordpiece=VOCAB or a checkpoint directory", spec)
	}
	return tokenizer.Load(spec)
}
