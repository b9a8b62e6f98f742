package tokenizer

import (
	"bytes"
	"container/heap"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// GPT2EndOfText is GPT-2's only special token; it separates documents.
const GPT2EndOfText = "<|endoftext|>"

// Merge is one learned BPE rule: the tokens Pair[0] and Pair[1], when adjacent, become ID.
type Merge struct {
	Pair  [2]int `json:"pair"`
	ID    int    `json:"id"`
	Token string `json:"token"` // the new token in vocab.json form, e.g. "Ġthe"
	Text  string `json:"text"`  // its raw bytes (may be a partial UTF-8 character)
	Count int    `json:"count"` // pair frequency when it was learned (0 for loaded merges)
}

type mergeRule struct{ rank, id int }

// BPE is a byte-level byte-pair-encoding tokenizer in the style of GPT-2.
//
// Text is first cut into pieces by a pre-tokenizer ([PreGPT2] or [PreGPT2CJK]), each
// piece is turned into its UTF-8 bytes (one token per byte), and then the merge rules are
// applied: repeatedly, the adjacent pair with the lowest merge rank is replaced by its
// merged token (all its occurrences, left to right), until no pair has a rule. Any byte
// string can be encoded, so there is no unknown text (except with a loaded vocabulary
// that lacks some byte tokens: those bytes become the unknown token, as in Hugging Face).
// Special tokens written in the text ("<|endoftext|>") are one token each.
type BPE struct {
	tokens   []string // id → vocab.json string
	raw      []string // id → raw bytes (specials: their text)
	vocab    map[string]int
	byteID   [256]int // byte → id, -1 when missing
	ranks    map[[2]int]mergeRule
	merges   []Merge
	specials *specialSet
	sp       Specials
	pre      string
}

// VocabSize returns the number of ids.
func (t *BPE) VocabSize() int { return len(t.tokens) }

// TokenToID looks a vocab.json string ("Ġthe") up.
func (t *BPE) TokenToID(tok string) (int, bool) {
	id, ok := t.vocab[tok]
	return id, ok
}

// IDToToken returns the vocab.json string of id ("" when out of range).
func (t *BPE) IDToToken(id int) string {
	if id < 0 || id >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// TokenBytes returns the raw bytes a token stands for ("" when out of range).
func (t *BPE) TokenBytes(id int) string {
	if id < 0 || id >= len(t.raw) {
		return ""
	}
	return t.raw[id]
}

// Specials returns the special ids. As in Hugging Face's GPT2Tokenizer, <|endoftext|> is
// BOS, EOS and UNK; there is no PAD, CLS, SEP or MASK unless a config names them.
func (t *BPE) Specials() Specials { return t.sp }

// Kind returns "bpe".
func (t *BPE) Kind() string { return "bpe" }

// PreTokenizer returns the name of the pre-tokenizer ([PreGPT2] or [PreGPT2CJK]).
func (t *BPE) PreTokenizer() string { return t.pre }

// Merges returns the merge rules in rank order (the order they were learned).
func (t *BPE) Merges() []Merge { return append([]Merge(nil), t.merges...) }

// Encode splits text into byte-level BPE tokens with byte offsets.
func (t *BPE) Encode(text string) []Token {
	var out []Token
	cjk := t.pre == PreGPT2CJK
	t.specials.split(text, func(start, end, id int) {
		if id >= 0 {
			out = append(out, Token{ID: id, Text: t.tokens[id], Start: start, End: end})
			return
		}
		for _, p := range preTokenize(text[start:end], cjk) {
			out = t.encodePiece(out, text, start+p[0], start+p[1])
		}
	})
	return out
}

// encodePiece applies the merges to text[start:end] and appends the tokens to out.
// Short pieces use the slow, obvious loop; long ones the heap version (same result).
func (t *BPE) encodePiece(out []Token, text string, start, end int) []Token {
	var ids, pos []int
	if end-start <= 24 {
		ids, pos = t.mergeSlow(text, start, end)
	} else {
		ids, pos = t.mergeHeap(text, start, end)
	}
	for i, id := range ids {
		if id < 0 {
			id = t.sp.UNK
		}
		out = append(out, Token{ID: id, Text: t.tokens[id], Start: pos[i], End: pos[i+1]})
	}
	return out
}

// initialPiece returns the byte tokens of text[start:end] and their offsets
// (pos has one more entry: end). Bytes without a token get id -1.
func (t *BPE) initialPiece(text string, start, end int) (ids, pos []int) {
	n := end - start
	ids, pos = make([]int, n), make([]int, n+1)
	for i := 0; i < n; i++ {
		ids[i] = t.byteID[text[start+i]]
		pos[i] = start + i
	}
	pos[n] = end
	return ids, pos
}

// mergeSlow is GPT-2's bpe(): find the adjacent pair with the lowest merge rank, merge all
// its occurrences left to right, repeat. O(n²) in the piece length.
func (t *BPE) mergeSlow(text string, start, end int) (ids, pos []int) {
	ids, pos = t.initialPiece(text, start, end)
	for len(ids) >= 2 {
		best := mergeRule{rank: -1}
		var bestPair [2]int
		for i := 0; i+1 < len(ids); i++ {
			if ids[i] < 0 || ids[i+1] < 0 {
				continue
			}
			p := [2]int{ids[i], ids[i+1]}
			if r, ok := t.ranks[p]; ok && (best.rank < 0 || r.rank < best.rank) {
				best, bestPair = r, p
			}
		}
		if best.rank < 0 {
			break
		}
		w := 0
		for i := 0; i < len(ids); i++ {
			if i+1 < len(ids) && ids[i] == bestPair[0] && ids[i+1] == bestPair[1] {
				ids[w], pos[w] = best.id, pos[i]
				i++
			} else {
				ids[w], pos[w] = ids[i], pos[i]
			}
			w++
		}
		pos[w] = end
		ids, pos = ids[:w], pos[:w+1]
	}
	return ids, pos
}

// mergeHeap gives the same result as mergeSlow in O(n log n), as Hugging Face's Rust BPE:
// the tokens form a linked list and a heap holds every adjacent pair that has a rule,
// ordered by (rank, position). Popping the top merges it (if it is still current) and
// pushes the two new neighbour pairs. Equal ranks pop left to right, like mergeSlow's scan.
func (t *BPE) mergeHeap(text string, start, end int) (ids, pos []int) {
	ids0, pos0 := t.initialPiece(text, start, end)
	n := len(ids0)
	next, prev := make([]int, n), make([]int, n)
	for i := range next {
		next[i], prev[i] = i+1, i-1
	}
	next[n-1] = -1
	h := &rankHeap{}
	push := func(i int) {
		j := next[i]
		if i < 0 || j < 0 || ids0[i] < 0 || ids0[j] < 0 {
			return
		}
		if r, ok := t.ranks[[2]int{ids0[i], ids0[j]}]; ok {
			heap.Push(h, rankItem{rank: r.rank, left: i, lid: ids0[i], rid: ids0[j], id: r.id})
		}
	}
	for i := 0; i+1 < n; i++ {
		push(i)
	}
	dead := make([]bool, n)
	for h.Len() > 0 {
		it := heap.Pop(h).(rankItem)
		i := it.left
		j := next[i]
		if dead[i] || j < 0 || ids0[i] != it.lid || ids0[j] != it.rid {
			continue // stale: one side was merged away
		}
		ids0[i] = it.id
		dead[j] = true
		next[i] = next[j]
		if next[j] >= 0 {
			prev[next[j]] = i
		}
		if prev[i] >= 0 {
			push(prev[i])
		}
		push(i)
	}
	for i := 0; i >= 0; i = next[i] {
		ids = append(ids, ids0[i])
		pos = append(pos, pos0[i])
	}
	return ids, append(pos, end)
}

type rankItem struct{ rank, left, lid, rid, id int }

// rankHeap is a min-heap on (rank, left position).
type rankHeap struct{ items []rankItem }

func (h *rankHeap) Len() int { return len(h.items) }
func (h *rankHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.left < b.left
}
func (h *rankHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *rankHeap) Push(x any)    { h.items = append(h.items, x.(rankItem)) }
func (h *rankHeap) Pop() any {
	x := h.items[len(h.items)-1]
	h.items = h.items[:len(h.items)-1]
	return x
}

// Decode concatenates the raw bytes of the tokens (special tokens give their text), skips
// PAD and out-of-range ids. The result is the original bytes, which are not valid UTF-8
// when the ids end inside a character: use strings.ToValidUTF8 to display such text.
func (t *BPE) Decode(ids []int) string {
	var b strings.Builder
	for _, id := range ids {
		if id < 0 || id >= len(t.raw) || id == t.sp.PAD {
			continue
		}
		b.WriteString(t.raw[id])
	}
	return b.String()
}

// newBPE builds a BPE from an id → token table (vocab.json strings), merges given as
// pairs of token strings in rank order, and the special token strings.
func newBPE(tokens []string, merges [][2]string, specialNames []string, cfg *hfConfig, pre string) (*BPE, error) {
	if len(tokens) == 0 {
		return nil, errEmptyVocab
	}
	if pre == "" {
		pre = PreGPT2
	}
	if pre != PreGPT2 && pre != PreGPT2CJK {
		return nil, fmt.Errorf("unknown pre-tokenizer %q (want %q or %q)", pre, PreGPT2, PreGPT2CJK)
	}
	t := &BPE{tokens: tokens, raw: make([]string, len(tokens)), vocab: make(map[string]int, len(tokens)),
		ranks: make(map[[2]int]mergeRule, len(merges)), pre: pre}
	for id, tok := range tokens {
		if tok == "" {
			continue // a gap in the ids
		}
		t.vocab[tok] = id
	}
	isSpecial := map[string]bool{}
	for _, s := range specialNames {
		if _, ok := t.vocab[s]; ok {
			isSpecial[s] = true
		}
	}
	for id, tok := range tokens {
		if tok == "" {
			continue
		}
		if isSpecial[tok] {
			t.raw[id] = tok
			continue
		}
		raw, ok := FromByteLevel(tok)
		if !ok {
			return nil, fmt.Errorf("token %q (id %d) is neither byte-level (GPT-2 bytes_to_unicode) nor a special token", tok, id)
		}
		t.raw[id] = raw
	}
	for b := range t.byteID {
		t.byteID[b] = -1
		if id, ok := t.vocab[string(byteToRune[b])]; ok {
			t.byteID[b] = id
		}
	}
	for rank, m := range merges {
		a, okA := t.vocab[m[0]]
		b, okB := t.vocab[m[1]]
		if !okA || !okB {
			missing := m[0]
			if okA {
				missing = m[1]
			}
			return nil, fmt.Errorf("merge %d %q: token %q is not in the vocabulary", rank+1, m[0]+" "+m[1], missing)
		}
		id, ok := t.vocab[m[0]+m[1]]
		if !ok {
			return nil, fmt.Errorf("merge %d %q: merged token %q is not in the vocabulary", rank+1, m[0]+" "+m[1], m[0]+m[1])
		}
		p := [2]int{a, b}
		if r, dup := t.ranks[p]; dup {
			return nil, fmt.Errorf("merge %d %q: duplicate of merge %d", rank+1, m[0]+" "+m[1], r.rank+1)
		}
		t.ranks[p] = mergeRule{rank: rank, id: id}
		t.merges = append(t.merges, Merge{Pair: p, ID: id, Token: tokens[id], Text: t.raw[id]})
	}
	t.specials = newSpecialSet(t.vocab, specialNames)
	get := func(f tokenField, def string) int {
		if id, ok := t.vocab[orDefault(f, def)]; ok {
			return id
		}
		return -1
	}
	if cfg == nil {
		cfg = &hfConfig{}
	}
	// BERT-style specials given to TrainBPE ("[CLS]", …) are the defaults when no config
	// names them, so a trained BPE can serve a BERT model too.
	bert := func(name string) string {
		if isSpecial[name] {
			return name
		}
		return ""
	}
	t.sp = Specials{PAD: get(cfg.PadToken, bert("[PAD]")), UNK: get(cfg.UnkToken, GPT2EndOfText), CLS: get(cfg.ClsToken, bert("[CLS]")),
		SEP: get(cfg.SepToken, bert("[SEP]")), MASK: get(cfg.MaskToken, bert("[MASK]")), BOS: get(cfg.BosToken, GPT2EndOfText), EOS: get(cfg.EosToken, GPT2EndOfText)}
	for b, id := range t.byteID {
		if id < 0 && t.sp.UNK < 0 {
			return nil, fmt.Errorf("byte 0x%02X (%q) has no token and there is no unknown token", b, string(byteToRune[b]))
		}
	}
	return t, nil
}

// LoadBPE reads a GPT-2-format byte-level BPE from dir: vocab.json (token → id),
// merges.txt ("#version" line, then one "left right" pair per line, highest priority
// first) and, when present, tokenizer_config.json (special tokens, divellm pre-tokenizer).
// This is how real GPT-2 checkpoints are read. <|endoftext|> is a special token when it
// is in the vocabulary, as in Hugging Face's GPT2Tokenizer.
func LoadBPE(dir string) (*BPE, error) {
	vocabPath, mergesPath := filepath.Join(dir, "vocab.json"), filepath.Join(dir, "merges.txt")
	vdata, err := readFile(vocabPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: load BPE: %w", err)
	}
	vocab, err := readVocabJSON(bytes.NewReader(vdata))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", vocabPath, err)
	}
	mdata, err := readFile(mergesPath)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: load BPE: %w", err)
	}
	merges, err := parseMergesTxt(string(mdata))
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", mergesPath, err)
	}
	cfg, err := readConfig(dir)
	if err != nil {
		return nil, err
	}
	if cfg.AddPrefixSpace {
		return nil, fmt.Errorf("tokenizer: load BPE %s: add_prefix_space true is not supported", dir)
	}
	tokens, err := denseVocab(vocab, "vocab.json")
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", vocabPath, err)
	}
	specials := append([]string{GPT2EndOfText}, cfg.specialStrings()...)
	t, err := newBPE(tokens, merges, specials, cfg, cfg.DivellmPreTokenizer)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: load BPE %s: %w", dir, err)
	}
	return t, nil
}

// readVocabJSON parses a JSON object of token → id, rejecting duplicate keys.
func readVocabJSON(r io.Reader) (map[string]int, error) {
	dec := json.NewDecoder(r)
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("bad JSON: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, fmt.Errorf("want a JSON object of token → id, got %v", tok)
	}
	vocab := map[string]int{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("bad JSON: %w", err)
		}
		key := k.(string)
		var id int
		if err := dec.Decode(&id); err != nil {
			return nil, fmt.Errorf("token %q: want an integer id: %w", key, err)
		}
		if _, dup := vocab[key]; dup {
			return nil, fmt.Errorf("duplicate token %q", key)
		}
		vocab[key] = id
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("bad JSON: %w", err)
	}
	if len(vocab) == 0 {
		return nil, errEmptyVocab
	}
	return vocab, nil
}

// parseMergesTxt reads merges.txt: lines "left right"; "#version" lines and empty lines
// are skipped.
func parseMergesTxt(data string) ([][2]string, error) {
	var merges [][2]string
	for i, line := range strings.Split(data, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || (i == 0 && strings.HasPrefix(line, "#version")) {
			continue
		}
		parts := strings.Split(line, " ")
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("line %d: want two tokens separated by one space, got %q", i+1, line)
		}
		merges = append(merges, [2]string{parts[0], parts[1]})
	}
	return merges, nil
}

// Save writes vocab.json, merges.txt (GPT-2 format, readable by Hugging Face's
// GPT2Tokenizer) and tokenizer_config.json (special tokens and, for a non-GPT-2
// pre-tokenizer, "divellm_pretokenizer") into dir, and a tokenizer.json for Hugging
// Face's fast tokenizers ([PreGPT2CJK] becomes a Split regex there; [Load] prefers
// vocab.json + merges.txt).
func (t *BPE) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("tokenizer: save BPE: %w", err)
	}
	var vb bytes.Buffer
	vb.WriteString("{")
	first := true
	for id, tok := range t.tokens {
		if tok == "" {
			continue
		}
		if !first {
			vb.WriteString(",")
		}
		first = false
		k, _ := json.Marshal(tok)
		fmt.Fprintf(&vb, "\n  %s: %d", k, id)
	}
	vb.WriteString("\n}\n")
	var mb strings.Builder
	mb.WriteString("#version: 0.2\n")
	for _, m := range t.merges {
		mb.WriteString(t.tokens[m.Pair[0]] + " " + t.tokens[m.Pair[1]] + "\n")
	}
	cfg := hfConfig{TokenizerClass: "GPT2Tokenizer", CleanUpSpaces: boolPtr(false)}
	name := func(id int) tokenField {
		if id < 0 {
			return ""
		}
		return tokenField(t.tokens[id])
	}
	cfg.UnkToken, cfg.BosToken, cfg.EosToken, cfg.PadToken = name(t.sp.UNK), name(t.sp.BOS), name(t.sp.EOS), name(t.sp.PAD)
	cfg.ClsToken, cfg.SepToken, cfg.MaskToken = name(t.sp.CLS), name(t.sp.SEP), name(t.sp.MASK)
	cfg.AddedTokensDecoder = map[string]addedToken{}
	for _, s := range t.specials.names() {
		id := t.vocab[s]
		cfg.AddedTokensDecoder[fmt.Sprint(id)] = addedToken{Content: s, Special: true}
	}
	if t.pre != PreGPT2 {
		cfg.DivellmPreTokenizer = t.pre
		cfg.DivellmNote = "divellm_pretokenizer gpt2-cjk: GPT-2's regex with runs of CJK characters split from runs of other letters; Hugging Face's GPT2Tokenizer ignores it and uses the GPT-2 regex"
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"vocab.json", vb.Bytes()}, {"merges.txt", []byte(mb.String())}} {
		if err := writeFileAtomic(filepath.Join(dir, f.name), f.data); err != nil {
			return fmt.Errorf("tokenizer: save BPE: %w", err)
		}
	}
	if err := writeJSON(filepath.Join(dir, "tokenizer_config.json"), cfg); err != nil {
		return fmt.Errorf("tokenizer: save BPE: %w", err)
	}
	if err := writeJSON(filepath.Join(dir, "tokenizer.json"), t.tokenizerJSON()); err != nil {
		return fmt.Errorf("tokenizer: save BPE: %w", err)
	}
	return nil
}
