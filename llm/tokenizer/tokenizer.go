package tokenizer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/divellm/divellm/internal/fileio"
)

// Token is one token with the byte span [Start, End) of the input text it covers.
//
// Text is always the vocabulary string of ID (what IDToToken returns: "Ġthe" for
// byte-level BPE, "##ing" for WordPiece, "[UNK]" for unknown text); the text the token
// covers is input[Start:End]. Special tokens inserted by [EncodeSingle] and [EncodePair]
// cover no text and have Start = End = -1; special tokens written in the text itself
// (e.g. "[MASK]") have their real span.
type Token struct {
	ID    int    `json:"id"`
	Text  string `json:"text"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// Specials holds the ids of the special tokens; an id is -1 when the token is absent.
type Specials struct{ PAD, UNK, CLS, SEP, MASK, BOS, EOS int }

// noSpecials returns Specials with every id absent (-1).
func noSpecials() Specials { return Specials{-1, -1, -1, -1, -1, -1, -1} }

// Tokenizer turns text into token ids and back. Implementations: [*Char], [*BPE],
// [*WordPiece]. All methods are safe for concurrent use.
type Tokenizer interface {
	// Encode splits text into tokens, without adding special tokens.
	Encode(text string) []Token
	// Decode turns ids back into text. It skips PAD, joins WordPiece "##" pieces and
	// turns BPE bytes back into (possibly invalid) UTF-8.
	Decode(ids []int) string
	// VocabSize is the number of ids (largest id + 1).
	VocabSize() int
	// TokenToID looks a vocabulary string up.
	TokenToID(tok string) (int, bool)
	// IDToToken returns the vocabulary string of id, or "" when id is out of range.
	IDToToken(id int) string
	// Specials returns the ids of the special tokens.
	Specials() Specials
	// Kind is "char", "bpe" or "wordpiece".
	Kind() string
	// Save writes Hugging Face files into the checkpoint directory dir (created if
	// needed); each file is written atomically (temp file + rename).
	Save(dir string) error
}

// Load reads a tokenizer from a checkpoint directory. It looks, in this order, for
//
//   - vocab.txt (+ tokenizer_config.json): WordPiece (BERT), or [*Char] when the config
//     says "divellm_tokenizer": "char";
//   - vocab.json + merges.txt (+ tokenizer_config.json): byte-level BPE (GPT-2);
//   - tokenizer.json (Hugging Face tokenizers library) of model type WordPiece or BPE,
//     also when only one of vocab.json and merges.txt is beside it.
//
// path may also name one of those files directly. Only regular files are read, each at
// most [MaxFileBytes] long (see internal/fileio): a tokenizer file that is a device or a
// FIFO fails at once.
func Load(path string) (Tokenizer, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: load: %w", err)
	}
	dir := path
	if !st.IsDir() {
		dir = filepath.Dir(path)
		switch filepath.Base(path) {
		case "tokenizer.json":
			return LoadTokenizerJSON(path)
		case "vocab.txt", "vocab.json", "merges.txt", "tokenizer_config.json":
		default:
			return nil, fmt.Errorf("tokenizer: load %s: not a tokenizer file (want a directory, vocab.txt, vocab.json, merges.txt or tokenizer.json)", path)
		}
	}
	has := func(name string) bool {
		_, err := os.Lstat(filepath.Join(dir, name))
		return err == nil
	}
	switch {
	case has("vocab.txt"):
		cfg, err := readConfig(dir)
		if err != nil {
			return nil, err
		}
		if cfg.DivellmTokenizer == "char" {
			return loadChar(dir, cfg)
		}
		return loadWordPiece(dir, cfg)
	case has("vocab.json") && has("merges.txt"):
		return LoadBPE(dir)
	case has("tokenizer.json"):
		return LoadTokenizerJSON(filepath.Join(dir, "tokenizer.json"))
	case has("vocab.json"):
		return nil, fmt.Errorf("tokenizer: load %s: vocab.json but no merges.txt (a GPT-2 BPE needs both) and no tokenizer.json", dir)
	case has("merges.txt"):
		return nil, fmt.Errorf("tokenizer: load %s: merges.txt but no vocab.json (a GPT-2 BPE needs both) and no tokenizer.json", dir)
	}
	return nil, fmt.Errorf("tokenizer: load %s: no vocab.txt, vocab.json+merges.txt or tokenizer.json", dir)
}

// MaxFileBytes is the largest tokenizer file read (vocab.txt, vocab.json, merges.txt,
// tokenizer.json, tokenizer_config.json). Real ones are far smaller: GPT-2's vocab.json is
// 1 MB, the tokenizer.json of a 256k-token vocabulary about 35 MB.
const MaxFileBytes = 256 << 20

// readFile reads one tokenizer file: a regular file of at most MaxFileBytes.
func readFile(path string) ([]byte, error) {
	return fileio.ReadFile(path, MaxFileBytes)
}

// EncodeSingle encodes one text for a model.
//
// BERT style (the tokenizer has [CLS] and [SEP]): [CLS] text [SEP]; when maxLen > 0 the
// text tokens are cut so that the whole fits in maxLen (at least [CLS] [SEP] are kept).
// GPT style (no [CLS]): the plain token ids, cut to maxLen when maxLen > 0.
// Cutting keeps the offsets of the remaining tokens; inserted specials have Start = End = -1.
func EncodeSingle(t Tokenizer, text string, maxLen int) (ids []int, tokens []Token) {
	toks := t.Encode(text)
	sp := t.Specials()
	if sp.CLS < 0 || sp.SEP < 0 {
		if maxLen > 0 && len(toks) > maxLen {
			toks = toks[:maxLen]
		}
		tokens = append([]Token(nil), toks...)
		return tokenIDs(tokens), tokens
	}
	if maxLen > 0 {
		toks = toks[:min(len(toks), max(0, maxLen-2))]
	}
	tokens = make([]Token, 0, len(toks)+2)
	tokens = append(tokens, specialToken(t, sp.CLS))
	tokens = append(tokens, toks...)
	tokens = append(tokens, specialToken(t, sp.SEP))
	return tokenIDs(tokens), tokens
}

// EncodePair encodes a pair of texts BERT style: [CLS] a [SEP] b [SEP], with token type
// ids 0 for "[CLS] a [SEP]" and 1 for "b [SEP]" (question answering, next sentence
// prediction). When maxLen > 0 and the pair is too long, tokens are removed one at a time
// from the end of the longer text (from b when they are equally long), like Hugging Face's
// "longest_first" truncation. Offsets of a's and b's tokens refer to a and b respectively.
func EncodePair(t Tokenizer, a, b string, maxLen int) (ids, typeIDs []int, tokens []Token, err error) {
	sp := t.Specials()
	if sp.CLS < 0 || sp.SEP < 0 {
		return nil, nil, nil, fmt.Errorf("tokenizer: EncodePair needs [CLS] and [SEP] tokens; this %s tokenizer has none", t.Kind())
	}
	if maxLen > 0 && maxLen < 3 {
		return nil, nil, nil, fmt.Errorf("tokenizer: EncodePair: maxLen %d < 3 leaves no room for [CLS] a [SEP] b [SEP]", maxLen)
	}
	ta, tb := t.Encode(a), t.Encode(b)
	if maxLen > 0 {
		for len(ta)+len(tb) > maxLen-3 {
			if len(ta) > len(tb) {
				ta = ta[:len(ta)-1]
			} else {
				tb = tb[:len(tb)-1]
			}
		}
	}
	tokens = make([]Token, 0, len(ta)+len(tb)+3)
	tokens = append(tokens, specialToken(t, sp.CLS))
	tokens = append(tokens, ta...)
	tokens = append(tokens, specialToken(t, sp.SEP))
	typeIDs = make([]int, len(tokens), len(ta)+len(tb)+3)
	tokens = append(tokens, tb...)
	tokens = append(tokens, specialToken(t, sp.SEP))
	for len(typeIDs) < len(tokens) {
		typeIDs = append(typeIDs, 1)
	}
	return tokenIDs(tokens), typeIDs, tokens, nil
}

// IDs returns the ids of tokens.
func IDs(tokens []Token) []int { return tokenIDs(tokens) }

func tokenIDs(tokens []Token) []int {
	ids := make([]int, len(tokens))
	for i, tk := range tokens {
		ids[i] = tk.ID
	}
	return ids
}

func specialToken(t Tokenizer, id int) Token {
	return Token{ID: id, Text: t.IDToToken(id), Start: -1, End: -1}
}

// writeFileAtomic writes data to path through a temporary file in the same directory and
// a rename, so readers never see a half-written file.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, 0o644)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// denseVocab turns a token → id map into an id → token table; it rejects empty vocabs,
// negative ids and ids used twice.
func denseVocab(vocab map[string]int, what string) ([]string, error) {
	if len(vocab) == 0 {
		return nil, fmt.Errorf("%s: empty vocabulary", what)
	}
	maxID := -1
	for tok, id := range vocab {
		if id < 0 {
			return nil, fmt.Errorf("%s: token %q has negative id %d", what, tok, id)
		}
		if id > maxID {
			maxID = id
		}
	}
	if maxID >= 4*len(vocab)+1024 {
		return nil, fmt.Errorf("%s: id %d is far beyond the %d tokens", what, maxID, len(vocab))
	}
	tokens := make([]string, maxID+1)
	owner := make([]bool, maxID+1)
	for tok, id := range vocab {
		if owner[id] {
			a, b := tokens[id], tok
			if b < a {
				a, b = b, a
			}
			return nil, fmt.Errorf("%s: id %d used by both %q and %q", what, id, a, b)
		}
		owner[id] = true
		tokens[id] = tok
	}
	return tokens, nil
}

var errEmptyVocab = errors.New("empty vocabulary")
