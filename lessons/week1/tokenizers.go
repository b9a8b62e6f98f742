package week1

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm/tokenizer"
)

// DefaultBPEVocab is the vocabulary size of the BPE trained in the lesson: 256 bytes,
// <|endoftext|> and 2,743 merges, about twice the corpus's 1,398 distinct characters.
const DefaultBPEVocab = 3000

// The sentences the tokenization section compares (with [StorySentence]).
const (
	ShopSentence  = "我今天去超市买菜"
	MixedSentence = "Transformer 的 self-attention 让 tokenizer 和 embedding 一起工作"
	AlertSentence = "2026-03-14 02:13:07 [CRITICAL] db-prod-03 磁盘使用率 97%，请立即清理日志"
)

// bpeCacheVersion is part of the BPE cache key: bump it when the training changes.
const bpeCacheVersion = "bpe-v1"

// corpusText is the whole corpus (train + val), what the lesson's tokenizers learn from.
func corpusText() string {
	t, v := data.Corpus()
	return t + v
}

var charOnce = sync.OnceValue(func() *tokenizer.Char { return tokenizer.NewChar(corpusText(), tokenizer.CharOptions{}) })

// CharZH returns the character-level tokenizer of the corpus (one token per character).
func CharZH() *tokenizer.Char { return charOnce() }

// BPERun is the lesson's byte-level BPE, trained once on the corpus and kept on disk.
type BPERun struct {
	Tokenizer    *tokenizer.BPE `json:"-"`
	Merges       []MergeRow     // every merge in the order learned, with its pair count
	TrainSeconds float64        // how long training took when it ran
	Cached       bool           `json:"-"` // loaded from the cache directory rather than trained now
	Dir          string         `json:"-"` // where it is cached ("" when the cache is unavailable)
}

// BPEZHRun returns the lesson's BPE: a byte-level BPE of [DefaultBPEVocab] tokens, GPT-2
// style with the CJK-aware pre-tokenizer, trained on the corpus. Training takes about half
// a second, so the tokenizer (vocab.json + merges.txt) and its merges are kept under
// [CacheDir], keyed by a hash of the corpus and the settings: the first cell that needs it
// trains it, later cells and runs load it. Delete the directory to train again.
func BPEZHRun() (*BPERun, error) {
	corpus := corpusText()
	key := cacheKey(bpeCacheVersion, []byte(corpus), []byte(fmt.Sprint(DefaultBPEVocab)))
	base, cacheErr := CacheDir()
	dir := ""
	if cacheErr == nil {
		dir = filepath.Join(base, key)
		if tok, err := tokenizer.LoadBPE(dir); err == nil {
			var meta BPERun
			if data, err := os.ReadFile(filepath.Join(dir, "merges.json")); err == nil && json.Unmarshal(data, &meta) == nil && len(meta.Merges) > 0 {
				meta.Tokenizer, meta.Cached, meta.Dir = tok, true, dir
				return &meta, nil
			}
		}
	}
	t0 := time.Now()
	tok, err := tokenizer.TrainBPE(corpus, DefaultBPEVocab, tokenizer.BPEOptions{})
	if err != nil {
		return nil, err
	}
	run := &BPERun{Tokenizer: tok, Merges: mergeRows(tok), TrainSeconds: time.Since(t0).Seconds()}
	if dir != "" && tok.Save(dir) == nil {
		if data, err := json.Marshal(run); err == nil && writeAtomic(filepath.Join(dir, "merges.json"), data) == nil {
			run.Dir = dir
		}
	}
	return run, nil
}

// BPEZH returns the lesson's BPE tokenizer (see [BPEZHRun]).
func BPEZH() (*tokenizer.BPE, error) {
	r, err := BPEZHRun()
	if err != nil {
		return nil, err
	}
	return r.Tokenizer, nil
}

// WordPieceVocabPath is the vocab.txt of [WordPieceZH], relative to the checkout root.
const WordPieceVocabPath = "lessons/week1/wordpiece/vocab.txt"

// WordPieceMinWordFreq is how often an English word must occur in the corpus to be one
// token of the lesson's WordPiece vocabulary.
const WordPieceMinWordFreq = 5

// WordPieceZH loads the lesson's BERT-Chinese-like WordPiece vocabulary
// (lessons/week1/wordpiece/vocab.txt, made by [BuildWordPieceVocab] from the corpus) with
// the tokenizer package's vocab.txt loader, as one would load bert-base-chinese.
func WordPieceZH() (*tokenizer.WordPiece, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	return tokenizer.LoadWordPieceVocab(filepath.Join(root, WordPieceVocabPath))
}

// BuildWordPieceVocab builds a vocabulary shaped like bert-base-chinese's from a corpus:
// the five BERT specials, every CJK character (most frequent first), every other
// non-space, non-alphanumeric character (punctuation becomes a word of its own in
// WordPiece), the digits and letters a–z alone and as "##" continuations (so any English
// word or number can still be spelled), the English words and numbers seen at least
// minWordFreq times (lower-cased, most frequent first), and subword pieces learned from the
// English words with byte-pair merges, as Hugging Face's WordPiece trainer does: a merged
// piece that starts a word is kept as is ("token"), one inside a word gets "##" ("##izer").
func BuildWordPieceVocab(corpus string, minWordFreq int) []string {
	vocab := append([]string(nil), tokenizer.BertSpecials...)
	seen := map[string]bool{}
	for _, s := range vocab {
		seen[s] = true
	}
	add := func(t string) {
		if t != "" && !seen[t] {
			seen[t] = true
			vocab = append(vocab, t)
		}
	}
	runeFreq := map[rune]int{}
	wordFreq := map[string]int{}
	var word []rune
	var words strings.Builder // the English words, one " word" per occurrence, for BPE
	flush := func() {
		if len(word) > 0 {
			w := strings.ToLower(string(word))
			wordFreq[w]++
			words.WriteString(" " + w)
		}
		word = word[:0]
	}
	for _, r := range corpus {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			word = append(word, r)
			continue
		}
		flush()
		if !unicode.IsSpace(r) && r != utf8.RuneError && !unicode.IsControl(r) {
			runeFreq[r]++
		}
	}
	flush()
	byFreq := func(m map[string]int, keep func(string, int) bool) []string {
		var out []string
		for k, n := range m {
			if keep(k, n) {
				out = append(out, k)
			}
		}
		sort.Slice(out, func(i, j int) bool {
			if m[out[i]] != m[out[j]] {
				return m[out[i]] > m[out[j]]
			}
			return out[i] < out[j]
		})
		return out
	}
	runes := map[string]int{}
	for r, n := range runeFreq {
		runes[string(r)] = n
	}
	isHan := func(s string) bool { r, _ := utf8.DecodeRuneInString(s); return unicode.Is(unicode.Han, r) }
	for _, s := range byFreq(runes, func(s string, _ int) bool { return isHan(s) }) {
		add(s)
	}
	for _, s := range byFreq(runes, func(s string, _ int) bool {
		r, _ := utf8.DecodeRuneInString(s)
		return !isHan(s) && !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))) && strings.ToLower(s) == s
	}) {
		add(s)
	}
	for _, c := range "0123456789abcdefghijklmnopqrstuvwxyz" {
		add(string(c))
	}
	for _, c := range "0123456789abcdefghijklmnopqrstuvwxyz" {
		add("##" + string(c))
	}
	for _, w := range byFreq(wordFreq, func(_ string, n int) bool { return n >= minWordFreq }) {
		add(w)
	}
	if words.Len() > 0 {
		bpe, err := tokenizer.TrainBPE(words.String(), 256+1+wordPieceMerges, tokenizer.BPEOptions{PreTokenizer: tokenizer.PreGPT2, MinFrequency: minWordFreq})
		if err == nil { // cannot fail: the options are valid
			for _, m := range bpe.Merges() {
				if piece, start := strings.CutPrefix(m.Text, " "); start {
					add(piece)
				} else if !strings.Contains(piece, " ") {
					add("##" + piece)
				}
			}
		}
	}
	return vocab
}

// wordPieceMerges caps the byte-pair merges learned for the English subword pieces.
const wordPieceMerges = 600

// WriteWordPieceVocab writes vocab one token per line (the vocab.txt format).
func WriteWordPieceVocab(path string, vocab []string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(strings.Join(vocab, "\n")+"\n"), 0o644)
}

// TokenRow is one tokenizer's view of one sentence: the pieces it cut and their ids.
type TokenRow struct {
	Sentence  string
	Tokenizer string   // "char", "bpe", "wordpiece"
	Pieces    []string // readable piece text (the input bytes each token covers; see [Readable])
	IDs       []int
	Unknown   int // tokens that are the unknown token
}

// Readable shows a byte string as text when it is valid UTF-8, and otherwise spells the
// bytes that are not part of a complete character as <e9>, so half a Chinese character
// cut by byte-level BPE stays visible: "\xe9\x93" → "<e9><93>", "银\xe8" → "银<e8>".
func Readable(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && w == 1 {
			fmt.Fprintf(&b, "<%02x>", s[i])
		} else {
			b.WriteString(s[i : i+w])
		}
		i += w
	}
	return b.String()
}

// Tokenize cuts text with t and returns the row (pieces are the text each token covers).
func Tokenize(t tokenizer.Tokenizer, text string) TokenRow {
	toks := t.Encode(text)
	row := TokenRow{Sentence: text, Tokenizer: t.Kind()}
	unk := t.Specials().UNK
	for _, tk := range toks {
		piece := tk.Text
		if tk.Start >= 0 {
			piece = Readable(text[tk.Start:tk.End])
		}
		if t.Kind() == "wordpiece" && strings.HasPrefix(tk.Text, "##") {
			piece = "##" + piece
		}
		if tk.ID == unk && unk >= 0 {
			row.Unknown++
			piece = tk.Text + "(" + piece + ")"
		}
		row.Pieces = append(row.Pieces, piece)
		row.IDs = append(row.IDs, tk.ID)
	}
	return row
}

// CompareTokenizers cuts every sentence with the char tokenizer, the BPE trained on the
// corpus and the WordPiece vocabulary, and returns the rows sentence by sentence
// (char, bpe, wordpiece for the first sentence, then the second, …).
func CompareTokenizers(sentences []string) ([]TokenRow, error) {
	if len(sentences) == 0 {
		return nil, fmt.Errorf("compare tokenizers: no sentences")
	}
	bpe, err := BPEZH()
	if err != nil {
		return nil, err
	}
	wp, err := WordPieceZH()
	if err != nil {
		return nil, err
	}
	var rows []TokenRow
	for _, s := range sentences {
		for _, t := range []tokenizer.Tokenizer{CharZH(), bpe, wp} {
			rows = append(rows, Tokenize(t, s))
		}
	}
	return rows, nil
}

// CountTable summarises rows as a table: one row per sentence, token counts per tokenizer.
func CountTable(rows []TokenRow) (headers []string, table [][]string) {
	headers = []string{"句子 (sentence)", "字数 (chars)"}
	var kinds []string
	index := map[string]int{}
	for _, r := range rows {
		if _, ok := index[r.Tokenizer]; !ok {
			index[r.Tokenizer] = len(kinds)
			kinds = append(kinds, r.Tokenizer)
			headers = append(headers, r.Tokenizer+" token 数")
		}
	}
	bySentence := map[string]int{}
	for _, r := range rows {
		i, ok := bySentence[r.Sentence]
		if !ok {
			i = len(table)
			bySentence[r.Sentence] = i
			line := make([]string, 2+len(kinds))
			line[0], line[1] = r.Sentence, fmt.Sprint(utf8.RuneCountInString(r.Sentence))
			table = append(table, line)
		}
		table[i][2+index[r.Tokenizer]] = fmt.Sprint(len(r.Pieces))
	}
	return headers, table
}

// MergeRow is one learned BPE merge in readable form.
type MergeRow struct {
	Rank         int    // 1 = learned first
	Left, Right  string // the two tokens' bytes, readable (see [Readable])
	Merged       string // the new token's bytes, readable
	Count        int    // how often the pair occurred when it was merged
	CompleteChar bool   // Merged is valid UTF-8 (a whole character or more)
}

// mergeRows lists a trained BPE's merges in readable form.
func mergeRows(bpe *tokenizer.BPE) []MergeRow {
	var rows []MergeRow
	for i, m := range bpe.Merges() {
		rows = append(rows, MergeRow{
			Rank:         i + 1,
			Left:         Readable(bpe.TokenBytes(m.Pair[0])),
			Right:        Readable(bpe.TokenBytes(m.Pair[1])),
			Merged:       Readable(m.Text),
			Count:        m.Count,
			CompleteChar: utf8.ValidString(m.Text),
		})
	}
	return rows
}

// TrainBPEDemo returns the first nMerges merges BPE learns on the corpus, in the order they
// were learned. Training is greedy — each merge depends only on the ones before it — so
// the first merges of the lesson's cached run ([BPEZHRun]) are exactly those of a shorter
// run; a longer run is trained now.
func TrainBPEDemo(nMerges int) ([]MergeRow, error) {
	if nMerges <= 0 {
		return nil, fmt.Errorf("train BPE demo: nMerges must be positive, got %d", nMerges)
	}
	run, err := BPEZHRun()
	if err != nil {
		return nil, err
	}
	if nMerges <= len(run.Merges) {
		return run.Merges[:nMerges], nil
	}
	bpe, err := tokenizer.TrainBPE(corpusText(), 256+1+nMerges, tokenizer.BPEOptions{})
	if err != nil {
		return nil, err
	}
	return mergeRows(bpe), nil
}

//go:embed words.txt
var wordList string

var words = sync.OnceValue(func() map[string]bool {
	set := map[string]bool{}
	for _, line := range strings.Split(wordList, "\n") {
		line, _, _ = strings.Cut(line, "#")
		for _, w := range strings.Fields(line) {
			set[w] = true
		}
	}
	return set
})

// IsWord reports whether s is in the lesson's small reference word list
// (lessons/week1/words.txt: common words of the corpus's domains).
func IsWord(s string) bool { return words()[s] }

// hanOnly reports whether s is two or more Chinese characters and nothing else.
func hanOnly(s string) bool {
	n := 0
	for _, r := range s {
		if !unicode.Is(unicode.Han, r) {
			return false
		}
		n++
	}
	return n >= 2
}

// WordMerges returns the first n merges whose new token is a Chinese word of two or more
// characters (in the reference word list, see [IsWord]), such as 今天 or 使用率: the point
// where BPE moves from bytes to words. Tokens with anything but Chinese characters (" 使用率"
// with its leading space) are not counted.
func WordMerges(ms []MergeRow, n int) []MergeRow {
	return filterMerges(ms, n, func(s string) bool { return hanOnly(s) && IsWord(s) })
}

// CrossWordMerges returns the first n merges whose new token is two or more Chinese
// characters that are not a word: pieces that cross a word boundary, such as 店买 (商店|买),
// learned because the pair was frequent. BPE merges by frequency, not by meaning.
func CrossWordMerges(ms []MergeRow, n int) []MergeRow {
	return filterMerges(ms, n, func(s string) bool { return hanOnly(s) && !IsWord(s) })
}

func filterMerges(ms []MergeRow, n int, keep func(string) bool) []MergeRow {
	var out []MergeRow
	for _, m := range ms {
		if len(out) == n {
			break
		}
		if m.CompleteChar && keep(m.Merged) {
			out = append(out, m)
		}
	}
	return out
}

// MergesOf returns the merges that made each piece, in the order given; a piece BPE never
// learned is an error.
func MergesOf(ms []MergeRow, pieces ...string) ([]MergeRow, error) {
	var out []MergeRow
	for _, p := range pieces {
		m := FindMerge(ms, p)
		if m == nil {
			return nil, fmt.Errorf("BPE never learned %q as one token", p)
		}
		out = append(out, *m)
	}
	return out, nil
}

// Contexts returns the most frequent corpus strings made of piece and one character in
// front of it, with their counts, most frequent first: for 店买, "书店买 ×96, 商店买 ×…" shows
// the word the piece cut through.
func Contexts(piece string, n int) []string {
	counts := map[string]int{}
	text := corpusText()
	for i := 0; ; {
		j := strings.Index(text[i:], piece)
		if j < 0 {
			break
		}
		at := i + j
		if r, size := utf8.DecodeLastRuneInString(text[:at]); size > 0 && unicode.Is(unicode.Han, r) {
			counts[string(r)+piece]++
		}
		i = at + len(piece)
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool {
		if counts[keys[a]] != counts[keys[b]] {
			return counts[keys[a]] > counts[keys[b]]
		}
		return keys[a] < keys[b]
	})
	var out []string
	for _, k := range keys[:min(n, len(keys))] {
		out = append(out, fmt.Sprintf("%s ×%d", k, counts[k]))
	}
	return out
}

// FindMerge returns the merge that made piece (nil if BPE never learned it).
func FindMerge(ms []MergeRow, piece string) *MergeRow {
	for i := range ms {
		if ms[i].Merged == piece {
			return &ms[i]
		}
	}
	return nil
}

// MergeTable formats merges as table rows.
func MergeTable(ms []MergeRow) (headers []string, rows [][]string) {
	for _, m := range ms {
		whole := ""
		if m.CompleteChar {
			whole = "✓"
		}
		rows = append(rows, []string{fmt.Sprint(m.Rank), m.Left, m.Right, m.Merged, fmt.Sprint(m.Count), whole})
	}
	return []string{"第几次 (#)", "左 (left)", "右 (right)", "合并后 (merged)", "次数 (count)", "完整的字 (whole chars)"}, rows
}

// CrossWordTable shows cross-word pieces with the merge that made them and the corpus
// strings they come from.
func CrossWordTable(ms []MergeRow) (headers []string, rows [][]string) {
	for _, m := range ms {
		rows = append(rows, []string{m.Merged, fmt.Sprint(m.Rank), m.Left + " + " + m.Right, fmt.Sprint(m.Count), strings.Join(Contexts(m.Merged, 3), "，")})
	}
	return []string{"片段 (piece)", "第几次合并 (#)", "由 (pair)", "当时出现次数 (count)", "语料里前面的字 (contexts)"}, rows
}
