package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CharSpecials are the special tokens of a [Char] tokenizer, with ids 0..5 in this order.
// <|endoftext|> serves as BOS and EOS (as in GPT-2).
var CharSpecials = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<|endoftext|>"}

// CharOptions tunes [NewChar]. The zero value keeps every character of the corpus.
type CharOptions struct {
	// MinFreq drops characters seen fewer than MinFreq times (0 or 1 keeps all).
	MinFreq int
	// MaxVocab caps the vocabulary size, specials included (0: no cap). The most
	// frequent characters are kept.
	MaxVocab int
}

// Char is a character-level tokenizer: every rune (Unicode code point) is one token.
//
// Whitespace is kept: a space, a tab and a newline are tokens like any other character,
// so Decode(Encode(x)) == x for every text whose characters are in the vocabulary
// (useful for log lines and poems where line breaks matter). Special tokens written in
// the text ("[MASK]", "<|endoftext|>", …) are recognised as one token. Characters not in
// the vocabulary, and invalid UTF-8 bytes (one [UNK] per byte), become [UNK].
type Char struct {
	tokens   []string
	vocab    map[string]int
	specials *specialSet
}

// NewChar builds a character vocabulary from corpus: the specials of [CharSpecials]
// first ([PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4, <|endoftext|>=5), then the
// characters by descending frequency, ties broken by ascending code point. Special token
// strings in the corpus are not counted as characters; invalid UTF-8 bytes are ignored.
func NewChar(corpus string, opts CharOptions) *Char {
	counts := map[rune]int{}
	base := newSpecialSet(indexOf(CharSpecials), CharSpecials)
	base.split(corpus, func(start, end, id int) {
		if id >= 0 {
			return
		}
		for _, r := range corpus[start:end] {
			if r == utf8.RuneError {
				continue // invalid bytes (a real U+FFFD is dropped too: it means "lost text")
			}
			counts[r]++
		}
	})
	chars := make([]rune, 0, len(counts))
	for r, n := range counts {
		if n >= opts.MinFreq {
			chars = append(chars, r)
		}
	}
	sort.Slice(chars, func(i, j int) bool {
		if counts[chars[i]] != counts[chars[j]] {
			return counts[chars[i]] > counts[chars[j]]
		}
		return chars[i] < chars[j]
	})
	tokens := append([]string(nil), CharSpecials...)
	for _, r := range chars {
		if opts.MaxVocab > 0 && len(tokens) >= opts.MaxVocab {
			break
		}
		tokens = append(tokens, string(r))
	}
	c, err := newCharFromTokens(tokens)
	if err != nil {
		panic("tokenizer: NewChar: " + err.Error()) // cannot happen: tokens are distinct
	}
	return c
}

func indexOf(tokens []string) map[string]int {
	m := make(map[string]int, len(tokens))
	for i, t := range tokens {
		m[t] = i
	}
	return m
}

func newCharFromTokens(tokens []string) (*Char, error) {
	if len(tokens) == 0 {
		return nil, errEmptyVocab
	}
	vocab := make(map[string]int, len(tokens))
	for i, t := range tokens {
		if j, dup := vocab[t]; dup {
			return nil, fmt.Errorf("duplicate token %q (ids %d and %d)", t, j, i)
		}
		vocab[t] = i
	}
	if _, ok := vocab["[UNK]"]; !ok {
		return nil, fmt.Errorf("no [UNK] token")
	}
	return &Char{tokens: tokens, vocab: vocab, specials: newSpecialSet(vocab, CharSpecials)}, nil
}

// Encode returns one token per rune (special token strings give one token each).
func (c *Char) Encode(text string) []Token {
	out := make([]Token, 0, utf8.RuneCountInString(text))
	unk := c.vocab["[UNK]"]
	c.specials.split(text, func(start, end, id int) {
		if id >= 0 {
			out = append(out, Token{ID: id, Text: c.tokens[id], Start: start, End: end})
			return
		}
		for i := start; i < end; {
			r, w := utf8.DecodeRuneInString(text[i:end])
			id, ok := c.vocab[text[i:i+w]]
			if !ok || (r == utf8.RuneError && w == 1) {
				id = unk
			}
			out = append(out, Token{ID: id, Text: c.tokens[id], Start: i, End: i + w})
			i += w
		}
	})
	return out
}

// Decode concatenates the characters of ids, skipping [PAD]. Other special tokens are
// written as their text ("[MASK]"); out-of-range ids are skipped.
func (c *Char) Decode(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		if id < 0 || id >= len(c.tokens) || id == c.vocab["[PAD]"] {
			continue
		}
		b.WriteString(c.tokens[id])
	}
	return b.String()
}

// VocabSize returns the number of tokens.
func (c *Char) VocabSize() int { return len(c.tokens) }

// TokenToID looks a character (or special token) up.
func (c *Char) TokenToID(tok string) (int, bool) {
	id, ok := c.vocab[tok]
	return id, ok
}

// IDToToken returns the character of id ("" when out of range).
func (c *Char) IDToToken(id int) string {
	if id < 0 || id >= len(c.tokens) {
		return ""
	}
	return c.tokens[id]
}

// Specials returns the special ids; BOS and EOS are both <|endoftext|>.
func (c *Char) Specials() Specials {
	get := func(t string) int {
		if id, ok := c.vocab[t]; ok {
			return id
		}
		return -1
	}
	eot := get("<|endoftext|>")
	return Specials{PAD: get("[PAD]"), UNK: get("[UNK]"), CLS: get("[CLS]"), SEP: get("[SEP]"), MASK: get("[MASK]"), BOS: eot, EOS: eot}
}

// Kind returns "char".
func (c *Char) Kind() string { return "char" }

// Save writes a BERT-style vocab.txt (one token per line, in id order) and a
// tokenizer_config.json marked "divellm_tokenizer": "char", so [Load] returns a Char
// with the same ids. Characters that cannot stand on a line of their own (newline,
// carriage return and other control characters, U+2028/U+2029) are written as
// "<U+000A>"; a real multi-character token of that form cannot occur in a Char vocab.
func (c *Char) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tokenizer: save char: %w", err)
	}
	var b strings.Builder
	for _, t := range c.tokens {
		b.WriteString(escapeCharToken(t))
		b.WriteByte('\n')
	}
	if err := writeFileAtomic(filepath.Join(dir, "vocab.txt"), []byte(b.String())); err != nil {
		return fmt.Errorf("tokenizer: save char: %w", err)
	}
	cfg := hfConfig{
		TokenizerClass: "BertTokenizer", DoLowerCase: boolPtr(false), TokenizeChineseChars: boolPtr(true),
		StripAccents: boolPtr(false), CleanUpSpaces: boolPtr(false),
		UnkToken: "[UNK]", PadToken: "[PAD]", ClsToken: "[CLS]", SepToken: "[SEP]", MaskToken: "[MASK]",
		BosToken: "<|endoftext|>", EosToken: "<|endoftext|>",
		DivellmTokenizer: "char",
		DivellmNote:      "divellm character-level tokenizer: one token per character, whitespace kept; control characters are written in vocab.txt as <U+XXXX>",
	}
	if err := writeJSON(filepath.Join(dir, "tokenizer_config.json"), cfg); err != nil {
		return fmt.Errorf("tokenizer: save char: %w", err)
	}
	return nil
}

func needsEscape(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}

func escapeCharToken(t string) string {
	r, w := utf8.DecodeRuneInString(t)
	if w == len(t) && needsEscape(r) {
		return fmt.Sprintf("<U+%04X>", r)
	}
	return t
}

func unescapeCharToken(t string) string {
	if strings.HasPrefix(t, "<U+") && strings.HasSuffix(t, ">") {
		if v, err := strconv.ParseUint(t[3:len(t)-1], 16, 32); err == nil && needsEscape(rune(v)) {
			return string(rune(v))
		}
	}
	return t
}

func loadChar(dir string, _ *hfConfig) (*Char, error) {
	lines, err := readVocabTxt(filepath.Join(dir, "vocab.txt"))
	if err != nil {
		return nil, err
	}
	for i := range lines {
		lines[i] = unescapeCharToken(lines[i])
	}
	c, err := newCharFromTokens(lines)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", filepath.Join(dir, "vocab.txt"), err)
	}
	return c, nil
}

// readVocabTxt reads a BERT vocab.txt: one token per line, the line number (from 0) is
// the id. It rejects empty files, empty lines and duplicate tokens.
func readVocabTxt(path string) ([]string, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	text := strings.TrimSuffix(string(data), "\n")
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, errEmptyVocab)
	}
	lines := strings.Split(text, "\n")
	seen := make(map[string]int, len(lines))
	for i, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		if l == "" {
			return nil, fmt.Errorf("tokenizer: %s line %d: empty token", path, i+1)
		}
		if j, dup := seen[l]; dup {
			return nil, fmt.Errorf("tokenizer: %s line %d: duplicate token %q (first on line %d)", path, i+1, l, j+1)
		}
		seen[l] = i
		lines[i] = l
	}
	return lines, nil
}
