package tokenizer

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// WordPieceOptions are the settings of Hugging Face's BertTokenizer. Use
// [DefaultWordPieceOptions] for its defaults (lower-casing, Chinese characters split).
type WordPieceOptions struct {
	// LowerCase lower-cases the text (do_lower_case).
	LowerCase bool
	// StripAccents removes accents (NFD, then drop non-spacing marks). nil follows
	// LowerCase, as in Hugging Face.
	StripAccents *bool
	// ChineseChars makes every CJK ideograph a word of its own (tokenize_chinese_chars).
	ChineseChars bool
	// NFC composes the text to Unicode NFC before splitting, as the Python BertTokenizer
	// of transformers ≥ 4.31 does (the Rust tokenizer.json BertNormalizer does not).
	NFC bool
	// MaxInputCharsPerWord: longer words become [UNK] (0 means 100).
	MaxInputCharsPerWord int
	// UnkToken is the unknown token ("" means "[UNK]").
	UnkToken string
	// CleanUpSpaces makes Decode remove spaces before punctuation (" ." → "."), as
	// Hugging Face's clean_up_tokenization_spaces.
	CleanUpSpaces bool
	// Specials are the special token strings kept whole when written in the text
	// (default: [PAD] [UNK] [CLS] [SEP] [MASK]).
	Specials []string
}

// DefaultWordPieceOptions returns BertTokenizer's defaults: lower-casing with accent
// stripping, Chinese characters split, NFC, 100 characters per word, clean-up on decode.
func DefaultWordPieceOptions() WordPieceOptions {
	return WordPieceOptions{LowerCase: true, ChineseChars: true, NFC: true, CleanUpSpaces: true}
}

// BertSpecials are BERT's special tokens.
var BertSpecials = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}

// WordPiece is BERT's tokenizer, following Hugging Face's BertTokenizer (BasicTokenizer
// then WordpieceTokenizer):
//
//  1. special tokens written in the text ("[MASK]") are cut out and kept whole;
//  2. clean: drop U+0000, U+FFFD and control/format characters, turn whitespace into spaces;
//  3. split on whitespace; every CJK ideograph becomes its own word;
//  4. (NFC;) lower-case and strip accents when asked;
//  5. every punctuation character becomes its own word;
//  6. each word is cut greedily into the longest vocabulary pieces from the left, pieces
//     after the first carrying the "##" prefix; a word that cannot be cut, or is longer
//     than MaxInputCharsPerWord characters, becomes one [UNK].
//
// Offsets are byte offsets into the original text, also after lower-casing and accent
// stripping: each normalised character remembers the original characters it came from.
type WordPiece struct {
	tokens   []string
	vocab    map[string]int
	opts     WordPieceOptions
	strip    bool
	maxChars int
	unk      int
	specials *specialSet
	sp       Specials
}

// NewWordPiece builds a WordPiece tokenizer from the tokens of a vocab.txt (id = index).
func NewWordPiece(tokens []string, opts WordPieceOptions) (*WordPiece, error) {
	if len(tokens) == 0 {
		return nil, errEmptyVocab
	}
	vocab := make(map[string]int, len(tokens))
	for i, t := range tokens {
		if t == "" {
			continue
		}
		if j, dup := vocab[t]; dup {
			return nil, fmt.Errorf("duplicate token %q (ids %d and %d)", t, j, i)
		}
		vocab[t] = i
	}
	if opts.UnkToken == "" {
		opts.UnkToken = "[UNK]"
	}
	unk, ok := vocab[opts.UnkToken]
	if !ok {
		return nil, fmt.Errorf("unknown token %q is not in the vocabulary", opts.UnkToken)
	}
	if opts.Specials == nil {
		opts.Specials = BertSpecials
	}
	w := &WordPiece{tokens: tokens, vocab: vocab, opts: opts, strip: opts.LowerCase, maxChars: opts.MaxInputCharsPerWord, unk: unk}
	if opts.StripAccents != nil {
		w.strip = *opts.StripAccents
	}
	if w.maxChars <= 0 {
		w.maxChars = 100
	}
	w.specials = newSpecialSet(vocab, append([]string{opts.UnkToken}, opts.Specials...))
	get := func(t string) int {
		if id, ok := vocab[t]; ok {
			return id
		}
		return -1
	}
	w.sp = Specials{PAD: get("[PAD]"), UNK: unk, CLS: get("[CLS]"), SEP: get("[SEP]"), MASK: get("[MASK]"), BOS: -1, EOS: -1}
	return w, nil
}

// LoadWordPieceVocab reads a BERT vocab.txt and, when present next to it,
// tokenizer_config.json (do_lower_case, strip_accents, tokenize_chinese_chars, special
// tokens). Without a config, Hugging Face's defaults apply (lower-casing on).
func LoadWordPieceVocab(vocabPath string) (*WordPiece, error) {
	dir := filepath.Dir(vocabPath)
	cfg, err := readConfig(dir)
	if err != nil {
		return nil, err
	}
	return loadWordPieceFile(vocabPath, cfg)
}

func loadWordPiece(dir string, cfg *hfConfig) (*WordPiece, error) {
	return loadWordPieceFile(filepath.Join(dir, "vocab.txt"), cfg)
}

func loadWordPieceFile(path string, cfg *hfConfig) (*WordPiece, error) {
	lines, err := readVocabTxt(path)
	if err != nil {
		return nil, err
	}
	opts := DefaultWordPieceOptions()
	if cfg.DoLowerCase != nil {
		opts.LowerCase = *cfg.DoLowerCase
	}
	if cfg.TokenizeChineseChars != nil {
		opts.ChineseChars = *cfg.TokenizeChineseChars
	}
	opts.StripAccents = cfg.StripAccents
	if cfg.CleanUpSpaces != nil {
		opts.CleanUpSpaces = *cfg.CleanUpSpaces
	}
	opts.UnkToken = orDefault(cfg.UnkToken, "[UNK]")
	opts.Specials = append(append([]string{}, BertSpecials...), cfg.specialStrings()...)
	w, err := NewWordPiece(lines, opts)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	if cfg.ClsToken != "" || cfg.SepToken != "" || cfg.PadToken != "" || cfg.MaskToken != "" {
		get := func(f tokenField, def string) int {
			if id, ok := w.vocab[orDefault(f, def)]; ok {
				return id
			}
			return -1
		}
		w.sp.PAD, w.sp.CLS, w.sp.SEP, w.sp.MASK = get(cfg.PadToken, "[PAD]"), get(cfg.ClsToken, "[CLS]"), get(cfg.SepToken, "[SEP]"), get(cfg.MaskToken, "[MASK]")
	}
	return w, nil
}

// Options returns the settings.
func (w *WordPiece) Options() WordPieceOptions { return w.opts }

// VocabSize returns the number of ids.
func (w *WordPiece) VocabSize() int { return len(w.tokens) }

// TokenToID looks a vocabulary string ("##ing") up.
func (w *WordPiece) TokenToID(tok string) (int, bool) {
	id, ok := w.vocab[tok]
	return id, ok
}

// IDToToken returns the vocabulary string of id ("" when out of range).
func (w *WordPiece) IDToToken(id int) string {
	if id < 0 || id >= len(w.tokens) {
		return ""
	}
	return w.tokens[id]
}

// Specials returns BERT's special ids (no BOS/EOS).
func (w *WordPiece) Specials() Specials { return w.sp }

// Kind returns "wordpiece".
func (w *WordPiece) Kind() string { return "wordpiece" }

// nchar is one normalised character and the byte span of the original text it came from.
type nchar struct {
	r          rune
	start, end int
}

// Encode runs BERT's basic tokenizer and WordPiece; see [WordPiece].
func (w *WordPiece) Encode(text string) []Token {
	var out []Token
	w.specials.split(text, func(start, end, id int) {
		if id >= 0 {
			out = append(out, Token{ID: id, Text: w.tokens[id], Start: start, End: end})
			return
		}
		for _, word := range w.basicWords(text, start, end) {
			out = w.wordPiece(out, word)
		}
	})
	return out
}

// basicWords is BERT's BasicTokenizer on text[start:end]: the words, as normalised
// characters with their original spans.
func (w *WordPiece) basicWords(text string, start, end int) [][]nchar {
	var words [][]nchar
	var cur []nchar
	flush := func() {
		if len(cur) > 0 {
			words = append(words, cur)
			cur = nil
		}
	}
	for i := start; i < end; {
		r, n := utf8.DecodeRuneInString(text[i:end])
		c := nchar{r, i, i + n}
		i += n
		switch {
		case r == 0 || r == utf8.RuneError || isBertControl(r):
			// dropped
		case isBertWhitespace(r) || unicode.IsSpace(r):
			flush()
		case w.opts.ChineseChars && isChineseChar(r):
			flush()
			words = append(words, []nchar{c})
		default:
			cur = append(cur, c)
		}
	}
	flush()
	var out [][]nchar
	for _, word := range words {
		word = w.normalizeWord(word)
		// Split on punctuation.
		var piece []nchar
		for _, c := range word {
			if isBertPunctuation(c.r) {
				if len(piece) > 0 {
					out = append(out, piece)
					piece = nil
				}
				out = append(out, []nchar{c})
				continue
			}
			piece = append(piece, c)
		}
		if len(piece) > 0 {
			out = append(out, piece)
		}
	}
	return out
}

// normalizeWord applies NFC, lower-casing and accent stripping, keeping spans: the
// characters made from a group of original characters all get the group's span.
func (w *WordPiece) normalizeWord(word []nchar) []nchar {
	if w.opts.NFC {
		var out []nchar
		for i := 0; i < len(word); {
			j := i + 1
			for j < len(word) && !norm.NFC.PropertiesString(string(word[j].r)).BoundaryBefore() {
				j++
			}
			if j == i+1 {
				out = append(out, word[i])
			} else {
				var b strings.Builder
				for _, c := range word[i:j] {
					b.WriteRune(c.r)
				}
				for _, r := range norm.NFC.String(b.String()) {
					out = append(out, nchar{r, word[i].start, word[j-1].end})
				}
			}
			i = j
		}
		word = out
	}
	if w.opts.LowerCase {
		out := make([]nchar, 0, len(word))
		// Character by character, as both Hugging Face implementations do (the Python
		// tokenizer lower-cases each character alone before BasicTokenizer, so Python's
		// final-sigma rule never applies: "ΣΟΦΟΣ" → "σοφοσ").
		for _, c := range word {
			if c.r == 'İ' { // full case mapping: "İ".lower() == "i̇" (i + combining dot above)
				out = append(out, nchar{'i', c.start, c.end}, nchar{'\u0307', c.start, c.end})
				continue
			}
			out = append(out, nchar{unicode.ToLower(c.r), c.start, c.end})
		}
		word = out
	}
	if w.strip {
		out := make([]nchar, 0, len(word))
		for _, c := range word {
			d := norm.NFD.String(string(c.r))
			for _, r := range d {
				if !unicode.Is(unicode.Mn, r) {
					out = append(out, nchar{r, c.start, c.end})
				}
			}
		}
		word = out
	}
	return word
}

// wordPiece cuts one word greedily into the longest vocabulary pieces.
func (w *WordPiece) wordPiece(out []Token, word []nchar) []Token {
	whole := Token{ID: w.unk, Text: w.tokens[w.unk], Start: word[0].start, End: word[0].end}
	for _, c := range word {
		whole.Start, whole.End = min(whole.Start, c.start), max(whole.End, c.end)
	}
	if len(word) > w.maxChars {
		return append(out, whole)
	}
	runes := make([]byte, 0, 4*len(word))
	offs := make([]int, len(word)+1) // byte offset of each character in runes
	for i, c := range word {
		offs[i] = len(runes)
		runes = utf8.AppendRune(runes, c.r)
	}
	offs[len(word)] = len(runes)
	s := string(runes)
	n0 := len(out)
	for start := 0; start < len(word); {
		end := len(word)
		id := -1
		for ; start < end; end-- {
			sub := s[offs[start]:offs[end]]
			if start > 0 {
				sub = "##" + sub
			}
			if v, ok := w.vocab[sub]; ok {
				id = v
				break
			}
		}
		if id < 0 {
			return append(out[:n0], whole)
		}
		tk := Token{ID: id, Text: w.tokens[id], Start: word[start].start, End: word[start].end}
		for _, c := range word[start:end] {
			tk.Start, tk.End = min(tk.Start, c.start), max(tk.End, c.end)
		}
		out = append(out, tk)
		start = end
	}
	return out
}

// Decode joins the tokens with spaces, glues "##" pieces to the previous token and skips
// [PAD], like Hugging Face's decode: "[CLS] un ##aff ##able" → "[CLS] unaffable". Chinese
// characters stay separated by spaces, as in Hugging Face. With CleanUpSpaces, spaces
// before punctuation are removed (" ." → ".").
func (w *WordPiece) Decode(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		if id < 0 || id >= len(w.tokens) || id == w.sp.PAD {
			continue
		}
		t := w.tokens[id]
		if strings.HasPrefix(t, "##") && b.Len() > 0 {
			b.WriteString(t[2:])
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(t)
	}
	s := b.String()
	if w.opts.CleanUpSpaces {
		// Hugging Face's clean_up_tokenization: these replacements, one after the other.
		for _, r := range [][2]string{{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
			{" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}} {
			s = strings.ReplaceAll(s, r[0], r[1])
		}
	}
	return s
}

// Save writes vocab.txt and tokenizer_config.json (BertTokenizer settings) into dir, and
// a tokenizer.json for Hugging Face's fast tokenizers ([Load] prefers vocab.txt).
func (w *WordPiece) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tokenizer: save WordPiece: %w", err)
	}
	var b strings.Builder
	for id, t := range w.tokens {
		if t == "" || strings.ContainsAny(t, "\r\n") {
			return fmt.Errorf("tokenizer: save WordPiece: token %d (%q) cannot be written to vocab.txt", id, t)
		}
		b.WriteString(t)
		b.WriteByte('\n')
	}
	if err := writeFileAtomic(filepath.Join(dir, "vocab.txt"), []byte(b.String())); err != nil {
		return fmt.Errorf("tokenizer: save WordPiece: %w", err)
	}
	name := func(id int) tokenField {
		if id < 0 {
			return ""
		}
		return tokenField(w.tokens[id])
	}
	cfg := hfConfig{TokenizerClass: "BertTokenizer", DoLowerCase: boolPtr(w.opts.LowerCase),
		TokenizeChineseChars: boolPtr(w.opts.ChineseChars), StripAccents: w.opts.StripAccents,
		CleanUpSpaces: boolPtr(w.opts.CleanUpSpaces),
		UnkToken:      name(w.sp.UNK), PadToken: name(w.sp.PAD), ClsToken: name(w.sp.CLS), SepToken: name(w.sp.SEP), MaskToken: name(w.sp.MASK)}
	for _, s := range w.specials.names() {
		if !contains(BertSpecials, s) {
			cfg.AdditionalTokens = append(cfg.AdditionalTokens, tokenField(s))
		}
	}
	if !w.opts.NFC {
		cfg.DivellmNote = "saved from a tokenizer.json: Hugging Face's Rust BertNormalizer does not apply NFC; BertTokenizer (vocab.txt) does"
	}
	if err := writeJSON(filepath.Join(dir, "tokenizer_config.json"), cfg); err != nil {
		return fmt.Errorf("tokenizer: save WordPiece: %w", err)
	}
	if err := writeJSON(filepath.Join(dir, "tokenizer.json"), w.tokenizerJSON()); err != nil {
		return fmt.Errorf("tokenizer: save WordPiece: %w", err)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// isBertWhitespace is HF's _is_whitespace: space, \t, \n, \r and category Zs.
func isBertWhitespace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || unicode.Is(unicode.Zs, r)
}

// isBertControl is HF's _is_control: categories C* (Cc, Cf, Co, Cs, unassigned) except \t\n\r.
func isBertControl(r rune) bool {
	if r == '\t' || r == '\n' || r == '\r' {
		return false
	}
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) {
		return true
	}
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z)
}

// isBertPunctuation is HF's _is_punctuation: ASCII 33–47, 58–64, 91–96, 123–126, or P*.
func isBertPunctuation(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return unicode.IsPunct(r)
}

// isChineseChar is HF's _is_chinese_char: the CJK Unified Ideographs blocks.
func isChineseChar(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) || (r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}
