package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// hfConfig is the part of Hugging Face's tokenizer_config.json that divellm reads.
type hfConfig struct {
	TokenizerClass       string `json:"tokenizer_class,omitempty"`
	DoLowerCase          *bool  `json:"do_lower_case,omitempty"`
	TokenizeChineseChars *bool  `json:"tokenize_chinese_chars,omitempty"`
	// StripAccents is null (follow do_lower_case), true or false.
	StripAccents     *bool        `json:"strip_accents,omitempty"`
	CleanUpSpaces    *bool        `json:"clean_up_tokenization_spaces,omitempty"`
	UnkToken         tokenField   `json:"unk_token,omitempty"`
	PadToken         tokenField   `json:"pad_token,omitempty"`
	ClsToken         tokenField   `json:"cls_token,omitempty"`
	SepToken         tokenField   `json:"sep_token,omitempty"`
	MaskToken        tokenField   `json:"mask_token,omitempty"`
	BosToken         tokenField   `json:"bos_token,omitempty"`
	EosToken         tokenField   `json:"eos_token,omitempty"`
	AdditionalTokens []tokenField `json:"additional_special_tokens,omitempty"`
	// AddedTokensDecoder maps an id (as a string) to an added token.
	AddedTokensDecoder map[string]addedToken `json:"added_tokens_decoder,omitempty"`
	ModelMaxLength     int                   `json:"model_max_length,omitempty"`
	// AddPrefixSpace (GPT-2: false) would prepend a space to the text; unsupported.
	AddPrefixSpace bool `json:"add_prefix_space,omitempty"`

	// DivellmTokenizer is "char" for a [Char] tokenizer saved as vocab.txt.
	DivellmTokenizer string `json:"divellm_tokenizer,omitempty"`
	// DivellmPreTokenizer names the BPE pre-tokenizer ("gpt2" when absent).
	DivellmPreTokenizer string `json:"divellm_pretokenizer,omitempty"`
	// DivellmNote explains the divellm fields to a reader of the file.
	DivellmNote string `json:"divellm_note,omitempty"`
}

// addedToken is one entry of added_tokens_decoder / tokenizer.json's added_tokens.
type addedToken struct {
	ID      int    `json:"id,omitempty"`
	Content string `json:"content"`
	Special bool   `json:"special"`
}

// tokenField is a special token given either as a string or as {"content": "..."}.
type tokenField string

// UnmarshalJSON accepts "[UNK]" or {"content": "[UNK]", ...}.
func (t *tokenField) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = ""
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = tokenField(s)
		return nil
	}
	var obj struct {
		Content string `json:"content"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return fmt.Errorf("special token: want a string or {\"content\": ...}, got %s", b)
	}
	*t = tokenField(obj.Content)
	return nil
}

// readConfig reads dir/tokenizer_config.json; a missing file gives an empty config.
func readConfig(dir string) (*hfConfig, error) {
	path := filepath.Join(dir, "tokenizer_config.json")
	data, err := readFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return &hfConfig{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	cfg := &hfConfig{}
	if err := json.Unmarshal(data, cfg); err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return cfg, nil
}

// specialStrings lists every special token the config names (unsorted, may repeat).
func (c *hfConfig) specialStrings() []string {
	var out []string
	for _, f := range []tokenField{c.UnkToken, c.PadToken, c.ClsToken, c.SepToken, c.MaskToken, c.BosToken, c.EosToken} {
		if f != "" {
			out = append(out, string(f))
		}
	}
	for _, f := range c.AdditionalTokens {
		if f != "" {
			out = append(out, string(f))
		}
	}
	keys := make([]string, 0, len(c.AddedTokensDecoder))
	for k := range c.AddedTokensDecoder {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, _ := strconv.Atoi(keys[i])
		b, _ := strconv.Atoi(keys[j])
		return a < b
	})
	for _, k := range keys {
		if at := c.AddedTokensDecoder[k]; at.Special && at.Content != "" {
			out = append(out, at.Content)
		}
	}
	return out
}

func orDefault(f tokenField, def string) string {
	if f != "" {
		return string(f)
	}
	return def
}

// writeJSON writes v as indented JSON atomically.
func writeJSON(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'))
}

func boolPtr(b bool) *bool { return &b }
