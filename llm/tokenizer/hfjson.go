package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
)

// gpt2Pattern is GPT-2's pre-tokenizer regex as written in tokenizer.json files.
const gpt2Pattern = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// tokenizerJSON is the part of a Hugging Face tokenizer.json that divellm reads.
type tokenizerJSON struct {
	AddedTokens  []addedToken    `json:"added_tokens"`
	Normalizer   json.RawMessage `json:"normalizer"`
	PreTokenizer json.RawMessage `json:"pre_tokenizer"`
	Model        struct {
		Type                    string          `json:"type"`
		Vocab                   json.RawMessage `json:"vocab"`
		Merges                  json.RawMessage `json:"merges"`
		UnkToken                *string         `json:"unk_token"`
		ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
		MaxInputCharsPerWord    int             `json:"max_input_chars_per_word"`
		Dropout                 *float64        `json:"dropout"`
	} `json:"model"`
}

type normalizerJSON struct {
	Type               string `json:"type"`
	CleanText          *bool  `json:"clean_text"`
	HandleChineseChars *bool  `json:"handle_chinese_chars"`
	StripAccents       *bool  `json:"strip_accents"`
	Lowercase          *bool  `json:"lowercase"`
}

type preTokenizerJSON struct {
	Type           string             `json:"type"`
	AddPrefixSpace bool               `json:"add_prefix_space"`
	UseRegex       *bool              `json:"use_regex"`
	Pretokenizers  []preTokenizerJSON `json:"pretokenizers"`
	Pattern        *struct {
		Regex  string `json:"Regex"`
		String string `json:"String"`
	} `json:"pattern"`
}

// LoadTokenizerJSON reads a Hugging Face tokenizers-library tokenizer.json whose model is
// WordPiece (BERT: BertNormalizer + BertPreTokenizer) or byte-level BPE (GPT-2: ByteLevel
// pre-tokenizer with GPT-2's regex). The model section (vocab, merges) and the normalizer
// flags are turned into a [*WordPiece] or [*BPE]; other pipelines are rejected with an
// error rather than tokenized differently from Hugging Face.
func LoadTokenizerJSON(path string) (Tokenizer, error) {
	data, err := readFile(path)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	t, err := parseTokenizerJSON(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return t, nil
}

func parseTokenizerJSON(data []byte) (Tokenizer, error) {
	var tj tokenizerJSON
	if err := json.Unmarshal(data, &tj); err != nil {
		return nil, fmt.Errorf("bad JSON: %w", err)
	}
	if len(tj.Model.Vocab) == 0 || string(tj.Model.Vocab) == "null" {
		return nil, fmt.Errorf("model has no vocab")
	}
	vocab, err := readVocabJSON(bytes.NewReader(tj.Model.Vocab))
	if err != nil {
		return nil, fmt.Errorf("model.vocab: %w", err)
	}
	var specials []string
	for _, at := range tj.AddedTokens {
		if at.Content == "" {
			return nil, fmt.Errorf("added token %d has no content", at.ID)
		}
		if id, ok := vocab[at.Content]; ok && id != at.ID {
			return nil, fmt.Errorf("added token %q has id %d but the vocab says %d", at.Content, at.ID, id)
		}
		vocab[at.Content] = at.ID
		specials = append(specials, at.Content)
	}
	tokens, err := denseVocab(vocab, "vocab")
	if err != nil {
		return nil, err
	}
	typ := tj.Model.Type
	if typ == "" && len(tj.Model.Merges) > 0 {
		typ = "BPE"
	}
	switch typ {
	case "WordPiece":
		return wordPieceFromJSON(&tj, tokens, specials)
	case "BPE":
		return bpeFromJSON(&tj, tokens, specials)
	}
	return nil, fmt.Errorf("model type %q is not supported (want WordPiece or BPE)", tj.Model.Type)
}

func wordPieceFromJSON(tj *tokenizerJSON, tokens, specials []string) (*WordPiece, error) {
	if p := tj.Model.ContinuingSubwordPrefix; p != nil && *p != "##" {
		return nil, fmt.Errorf("WordPiece continuing_subword_prefix %q is not supported (want \"##\")", *p)
	}
	opts := DefaultWordPieceOptions()
	opts.NFC = false // the Rust BertNormalizer does not compose to NFC
	opts.LowerCase, opts.ChineseChars = false, false
	if len(tj.Normalizer) > 0 && string(tj.Normalizer) != "null" {
		var n normalizerJSON
		if err := json.Unmarshal(tj.Normalizer, &n); err != nil {
			return nil, fmt.Errorf("normalizer: %w", err)
		}
		if n.Type != "BertNormalizer" {
			return nil, fmt.Errorf("normalizer %q is not supported for WordPiece (want BertNormalizer)", n.Type)
		}
		if n.CleanText != nil && !*n.CleanText {
			return nil, fmt.Errorf("BertNormalizer with clean_text false is not supported")
		}
		opts.LowerCase = n.Lowercase == nil || *n.Lowercase
		opts.ChineseChars = n.HandleChineseChars == nil || *n.HandleChineseChars
		opts.StripAccents = n.StripAccents
	}
	if len(tj.PreTokenizer) > 0 && string(tj.PreTokenizer) != "null" {
		var p preTokenizerJSON
		if err := json.Unmarshal(tj.PreTokenizer, &p); err != nil {
			return nil, fmt.Errorf("pre_tokenizer: %w", err)
		}
		if p.Type != "BertPreTokenizer" {
			return nil, fmt.Errorf("pre_tokenizer %q is not supported for WordPiece (want BertPreTokenizer)", p.Type)
		}
	}
	if tj.Model.UnkToken != nil {
		opts.UnkToken = *tj.Model.UnkToken
	}
	opts.MaxInputCharsPerWord = tj.Model.MaxInputCharsPerWord
	opts.Specials = append(append([]string{}, BertSpecials...), specials...)
	return NewWordPiece(tokens, opts)
}

func bpeFromJSON(tj *tokenizerJSON, tokens, specials []string) (*BPE, error) {
	if tj.Model.Dropout != nil && *tj.Model.Dropout != 0 {
		return nil, fmt.Errorf("BPE dropout is not supported")
	}
	if len(tj.Normalizer) > 0 && string(tj.Normalizer) != "null" {
		return nil, fmt.Errorf("BPE with a normalizer is not supported (GPT-2 has none)")
	}
	pre, err := checkByteLevelPre(tj.PreTokenizer)
	if err != nil {
		return nil, err
	}
	if len(tj.Model.Merges) == 0 || string(tj.Model.Merges) == "null" {
		return nil, fmt.Errorf("BPE model has no merges")
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(tj.Model.Merges, &raw); err != nil {
		return nil, fmt.Errorf("model.merges: want a list: %w", err)
	}
	merges := make([][2]string, len(raw))
	for i, r := range raw {
		var s string
		if err := json.Unmarshal(r, &s); err == nil {
			m, err := parseMergesTxt(s)
			if err != nil || len(m) != 1 {
				return nil, fmt.Errorf("model.merges[%d] %q: want \"left right\"", i, s)
			}
			merges[i] = m[0]
			continue
		}
		var pair []string
		if err := json.Unmarshal(r, &pair); err != nil || len(pair) != 2 {
			return nil, fmt.Errorf("model.merges[%d]: want \"left right\" or [left, right], got %s", i, r)
		}
		merges[i] = [2]string{pair[0], pair[1]}
	}
	cfg := &hfConfig{}
	if tj.Model.UnkToken != nil {
		cfg.UnkToken = tokenField(*tj.Model.UnkToken)
	}
	return newBPE(tokens, merges, append([]string{GPT2EndOfText}, specials...), cfg, pre)
}

// checkByteLevelPre accepts GPT-2's pre-tokenizer: ByteLevel (use_regex, no prefix space),
// or a Sequence of a Split with GPT-2's (or divellm's CJK) regex and a ByteLevel without
// regex. It returns the pre-tokenizer's name.
func checkByteLevelPre(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", fmt.Errorf("BPE without a ByteLevel pre_tokenizer is not supported")
	}
	var p preTokenizerJSON
	if err := json.Unmarshal(raw, &p); err != nil {
		return "", fmt.Errorf("pre_tokenizer: %w", err)
	}
	switch {
	case p.Type == "ByteLevel" && !p.AddPrefixSpace && (p.UseRegex == nil || *p.UseRegex):
		return PreGPT2, nil
	case p.Type == "Sequence" && len(p.Pretokenizers) == 2:
		s, b := p.Pretokenizers[0], p.Pretokenizers[1]
		if s.Type == "Split" && s.Pattern != nil && b.Type == "ByteLevel" && !b.AddPrefixSpace && b.UseRegex != nil && !*b.UseRegex {
			switch s.Pattern.Regex {
			case gpt2Pattern:
				return PreGPT2, nil
			case cjkPattern:
				return PreGPT2CJK, nil
			}
		}
	}
	return "", fmt.Errorf("pre_tokenizer %s is not supported (want GPT-2's ByteLevel)", compactJSON(raw))
}

func compactJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil || b.Len() > 200 {
		return "(long)"
	}
	return b.String()
}

// cjkPattern is [PreGPT2CJK] as an Oniguruma regex (the tokenizers library's dialect).
const cjkPattern = `'s|'t|'re|'ve|'m|'ll|'d| ?(?:(?![\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}ー])\p{L})+| ?(?:(?=\p{L})[\p{Han}\p{Hiragana}\p{Katakana}\p{Hangul}ー])+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`

// orderedVocab writes {"token": id, ...} in id order (json.Marshal would sort the keys).
func orderedVocab(tokens []string) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	for id, tok := range tokens {
		if tok == "" {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(tok)
		b.Write(k)
		fmt.Fprintf(&b, ":%d", id)
	}
	b.WriteByte('}')
	return b.Bytes()
}

type addedTokenOut struct {
	ID         int    `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	Lstrip     bool   `json:"lstrip"`
	Rstrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type tokenizerJSONOut struct {
	Version       string          `json:"version"`
	Truncation    any             `json:"truncation"`
	Padding       any             `json:"padding"`
	AddedTokens   []addedTokenOut `json:"added_tokens"`
	Normalizer    any             `json:"normalizer"`
	PreTokenizer  any             `json:"pre_tokenizer"`
	PostProcessor any             `json:"post_processor"`
	Decoder       any             `json:"decoder"`
	Model         any             `json:"model"`
}

func addedTokensOut(s *specialSet, vocab map[string]int) []addedTokenOut {
	out := []addedTokenOut{}
	for _, name := range s.names() {
		out = append(out, addedTokenOut{ID: vocab[name], Content: name, Special: true})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

type jsonMap = map[string]any

// wordPieceJSON describes w as a tokenizers-library tokenizer.json (BertNormalizer,
// BertPreTokenizer, [CLS]/[SEP] template, WordPiece model).
func (w *WordPiece) tokenizerJSON() tokenizerJSONOut {
	var post any
	if w.sp.CLS >= 0 && w.sp.SEP >= 0 {
		cls, sep := w.tokens[w.sp.CLS], w.tokens[w.sp.SEP]
		special := func(id string, typ int) jsonMap { return jsonMap{"SpecialToken": jsonMap{"id": id, "type_id": typ}} }
		seq := func(id string, typ int) jsonMap { return jsonMap{"Sequence": jsonMap{"id": id, "type_id": typ}} }
		post = jsonMap{
			"type":   "TemplateProcessing",
			"single": []any{special(cls, 0), seq("A", 0), special(sep, 0)},
			"pair":   []any{special(cls, 0), seq("A", 0), special(sep, 0), seq("B", 1), special(sep, 1)},
			"special_tokens": jsonMap{
				cls: jsonMap{"id": cls, "ids": []int{w.sp.CLS}, "tokens": []string{cls}},
				sep: jsonMap{"id": sep, "ids": []int{w.sp.SEP}, "tokens": []string{sep}},
			},
		}
	}
	var strip any
	if w.opts.StripAccents != nil {
		strip = *w.opts.StripAccents
	}
	return tokenizerJSONOut{
		Version:     "1.0",
		AddedTokens: addedTokensOut(w.specials, w.vocab),
		Normalizer: jsonMap{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": w.opts.ChineseChars,
			"strip_accents": strip, "lowercase": w.opts.LowerCase},
		PreTokenizer:  jsonMap{"type": "BertPreTokenizer"},
		PostProcessor: post,
		Decoder:       jsonMap{"type": "WordPiece", "prefix": "##", "cleanup": w.opts.CleanUpSpaces},
		Model: jsonMap{"type": "WordPiece", "unk_token": w.tokens[w.unk], "continuing_subword_prefix": "##",
			"max_input_chars_per_word": w.maxChars, "vocab": orderedVocab(w.tokens)},
	}
}

// bpeJSON describes t as a tokenizers-library tokenizer.json (GPT-2's ByteLevel pipeline;
// for [PreGPT2CJK] a Split with the CJK regex before a ByteLevel without regex).
func (t *BPE) tokenizerJSON() tokenizerJSONOut {
	byteLevel := jsonMap{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}
	var pre any = byteLevel
	if t.pre == PreGPT2CJK {
		pre = jsonMap{"type": "Sequence", "pretokenizers": []any{
			jsonMap{"type": "Split", "pattern": jsonMap{"Regex": cjkPattern}, "behavior": "Isolated", "invert": false},
			jsonMap{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
		}}
	}
	merges := make([]string, len(t.merges))
	for i, m := range t.merges {
		merges[i] = t.tokens[m.Pair[0]] + " " + t.tokens[m.Pair[1]]
	}
	return tokenizerJSONOut{
		Version:       "1.0",
		AddedTokens:   addedTokensOut(t.specials, t.vocab),
		PreTokenizer:  pre,
		PostProcessor: jsonMap{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
		Decoder:       jsonMap{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
		Model: jsonMap{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": false, "byte_fallback": false, "vocab": orderedVocab(t.tokens), "merges": merges},
	}
}
