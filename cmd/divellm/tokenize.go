package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/divellm/divellm/llm/tokenizer"
)

const tokenizeUsage = "usage: divellm tokenize [--tokenizer char|bpe=FILE|wordpiece=VOCAB|MODEL] [--vocab-size N] [--json] TEXT"

func init() {
	define(&command{name: "tokenize", summary: "split text into tokens (char, BPE, WordPiece or a checkpoint's tokenizer) with byte offsets",
		usage: "[--tokenizer char|bpe=FILE|wordpiece=VOCAB|MODEL] [--vocab-size N] TEXT", run: runTokenize})
}

// tokenizeJSON is the output of `divellm tokenize --json`: exactly {"tokens":[{"id","text","start","end"}]}.
type tokenizeJSON struct {
	Tokens []tokenizer.Token `json:"tokens"`

	text      string // the input, for the text form
	kind      string
	vocabSize int
}

// writeText prints a summary line and one row per token: index, id, token, byte range
// and the text it covers.
func (r tokenizeJSON) writeText(w io.Writer) error {
	fmt.Fprintf(w, "%s tokenizer, %d ids in the vocabulary; %d tokens for %d bytes\n", r.kind, r.vocabSize, len(r.Tokens), len(r.text))
	rows := [][]string{{"#", "id", "token", "bytes", "text"}}
	for i, t := range r.Tokens {
		covered := ""
		if t.Start >= 0 && t.End <= len(r.text) && t.Start <= t.End {
			covered = r.text[t.Start:t.End]
		}
		rows = append(rows, []string{strconv.Itoa(i), strconv.Itoa(t.ID), strconv.Quote(t.Text), fmt.Sprintf("%d-%d", t.Start, t.End), strconv.Quote(covered)})
	}
	return writeTable(w, rows, 2)
}

// maxBPEVocab bounds --vocab-size and bpe=N: larger than any real byte-level BPE
// (GPT-4's has about 100k tokens), small enough that training cannot run away.
const maxBPEVocab = 262144

// runTokenize implements `divellm tokenize`.
//
//	--tokenizer char            a character tokenizer built from TEXT itself (default)
//	--tokenizer bpe=FILE        FILE is a directory with vocab.json + merges.txt (e.g. GPT-2)
//	                            or one of those files, or else a text file: a byte-level BPE
//	                            of --vocab-size tokens is trained on it (CJK pre-tokenizer)
//	--tokenizer wordpiece=VOCAB a BERT vocab.txt (tokenizer_config.json next to it is read)
//	--tokenizer MODEL           any model the resolver finds (directory, shipped name, HF id)
//
// Offsets are byte offsets into TEXT. Several TEXT arguments are joined with spaces.
func runTokenize(c *cmdCtx) (any, error) {
	spec := c.String("tokenizer", "char", "char | bpe=FILE | wordpiece=VOCAB | MODEL (a checkpoint directory, shipped model or downloaded id)")
	vocabSize := c.Int("vocab-size", 1000, 258, maxBPEVocab, "vocabulary size when bpe=FILE trains on a text file")
	textFlag := c.String("text", "", "the text to split (or pass it as arguments)")
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	text, err := textInput("text", *textFlag, rest, tokenizeUsage)
	if err != nil {
		return nil, err
	}
	tok, err := buildTokenizer(*spec, text, *vocabSize)
	if err != nil {
		return nil, err
	}
	toks := tok.Encode(text)
	if toks == nil {
		toks = []tokenizer.Token{}
	}
	return tokenizeJSON{Tokens: toks, text: text, kind: tok.Kind(), vocabSize: tok.VocabSize()}, nil
}

// maxBPECorpus bounds the text a BPE is trained on here (training time grows with it).
const maxBPECorpus = 64 << 20

// tokenizerPath checks the PATH of --tokenizer KIND=PATH: a directory is a checkpoint's
// tokenizer, loaded with loadDir and returned; a regular file is left to the caller (st);
// anything else is a usage error.
func tokenizerPath(spec, path string, loadDir func(string) (tokenizer.Tokenizer, error)) (os.FileInfo, tokenizer.Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, usagef("--tokenizer %s: %v", spec, err)
	}
	if st.IsDir() {
		if err := checkModelFiles(path); err != nil {
			return nil, nil, err
		}
		tok, err := loadDir(path)
		if err == nil && tok == nil {
			err = fmt.Errorf("--tokenizer %s: no tokenizer in %s", spec, path)
		}
		return st, tok, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, usagef("--tokenizer %s: %s is %s, not a file", spec, path, fileKind(st.Mode()))
	}
	return st, nil, nil
}

// buildTokenizer turns a --tokenizer value into a tokenizer; missing files and bad
// values are usage errors, files that do not parse are runtime errors.
func buildTokenizer(spec, text string, vocabSize int) (tokenizer.Tokenizer, error) {
	kind, path, hasPath := strings.Cut(spec, "=")
	switch {
	case spec == "char":
		return tokenizer.NewChar(text, tokenizer.CharOptions{}), nil
	case hasPath && path == "":
		return nil, usagef("--tokenizer %s: missing file after '='", spec)
	case hasPath && kind == "bpe":
		st, tok, err := tokenizerPath(spec, path, func(d string) (tokenizer.Tokenizer, error) {
			b, err := tokenizer.LoadBPE(d)
			if err != nil {
				return nil, err
			}
			return b, nil
		})
		if tok != nil || err != nil {
			return tok, err
		}
		switch filepath.Base(path) {
		case "vocab.json", "merges.txt", "tokenizer.json":
			if err := checkModelFiles(filepath.Dir(path)); err != nil {
				return nil, err
			}
			return tokenizer.Load(path) // a tokenizer file, not a corpus
		}
		if st.Size() > maxBPECorpus {
			return nil, usagef("--tokenizer %s: the corpus is %s; BPE training here takes at most %s", spec, humanBytes(st.Size()), humanBytes(maxBPECorpus))
		}
		corpus, err := readTextFile("tokenizer", path)
		if err != nil {
			return nil, err
		}
		return tokenizer.TrainBPE(corpus, vocabSize, tokenizer.BPEOptions{})
	case hasPath && kind == "wordpiece":
		if _, tok, err := tokenizerPath(spec, path, tokenizer.Load); tok != nil || err != nil {
			return tok, err
		}
		return tokenizer.LoadWordPieceVocab(path)
	case hasPath:
		return nil, usagef("--tokenizer %s: want char, bpe=FILE, wordpiece=VOCAB or a model", spec)
	}
	// A directory of tokenizer files, or a model: a shipped name or a downloaded id.
	dir := spec
	if st, err := os.Stat(spec); err != nil || !st.IsDir() {
		if dir, err = resolveModel("tokenizer", spec); err != nil {
			return nil, usagef("%v (or char, bpe=FILE, wordpiece=VOCAB)", err)
		}
	}
	if err := checkModelFiles(dir); err != nil {
		return nil, err
	}
	return tokenizer.Load(dir)
}
