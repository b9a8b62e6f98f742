package llm

import (
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/divellm/divellm/internal/fileio"
)

// Arch names a model architecture.
type Arch string

const (
	// BERT is an encoder (bidirectional attention, post-LN, GELU-erf, MLM head).
	BERT Arch = "bert"
	// GPT is a GPT-2-style decoder (causal attention, pre-LN, GELU-tanh, tied LM head).
	GPT Arch = "gpt2"
	// BART is an encoder-decoder (Lewis et al. 2019): a bidirectional encoder stack and a
	// causal decoder stack whose blocks also attend to the encoder's output
	// (cross-attention); post-LN, GELU, learned positions, LM head tied to the embeddings.
	BART Arch = "bart"
)

// Config holds every hyper-parameter of a model; the model is built from it and nothing
// else (nanoGPT style). It reads and writes Hugging Face's config.json keys, through one
// key table per architecture (see [configKeys]).
type Config struct {
	Arch       Arch    // "bert" or "gpt2" (HF model_type)
	VocabSize  int     // number of tokens
	DModel     int     // hidden size (HF hidden_size / n_embd)
	Heads      int     // attention heads (num_attention_heads / n_head)
	Layers     int     // transformer blocks (num_hidden_layers / n_layer); BART: encoder layers
	DecLayers  int     // BART: decoder layers (decoder_layers); 0 otherwise
	DFF        int     // feed-forward width (intermediate_size / n_inner, default 4·DModel)
	MaxPos     int     // max positions (max_position_embeddings / n_positions)
	TypeVocab  int     // BERT token types (type_vocab_size), 0 for GPT
	Dropout    float64 // dropout probability used in training (hidden and attention)
	LayerNormE float64 // layer-norm epsilon (1e-12 for BERT, 1e-5 for GPT-2)
	Activation string  // "gelu" (erf) or "gelu_new" (tanh)
	PadID      int     // pad token id
	BosID      int     // GPT: bos_token_id (-1: none)
	EosID      int     // GPT: eos_token_id (-1: none)
	// DecoderStartID is the token a BART decoder starts from (decoder_start_token_id).
	DecoderStartID int
	NumLabels      int // sequence-classification labels (0 = no classifier head)
	ID2Label       map[string]string
	// ProblemType is HF's problem_type for classifiers: "" or "single_label_classification"
	// (softmax), "multi_label_classification" (sigmoid per label), "regression".
	ProblemType string
}

// HeadDim is the width of one attention head.
func (c Config) HeadDim() int { return c.DModel / c.Heads }

// Limits on every size a config.json can ask for. A checkpoint is validated against them
// before anything is allocated, so a hostile file (n_layer 1e9) fails with a clear error
// instead of exhausting memory. They are far above any model this kit can run on a CPU
// (bert-base: 768 wide, 12 layers, 21,128 tokens; GPT-2 XL: 1,600 wide, 48 layers).
const (
	MaxVocab     = 1 << 21 // 2,097,152 tokens
	MaxDModel    = 1 << 14 // 16,384
	MaxHeads     = 1 << 9  // 512
	MaxLayers    = 1 << 9  // 512
	MaxDFF       = 1 << 16 // 65,536
	MaxPositions = 1 << 17 // 131,072
	MaxTypeVocab = 1 << 10
	MaxLabels    = 1 << 16
	// MaxParams bounds the parameter count a config implies (8 billion, 32 GB in F32).
	MaxParams = 8 << 30
)

// Validate reports an inconsistent or out-of-range configuration.
func (c Config) Validate() error {
	bounds := []struct {
		name  string
		v, hi int
	}{
		{"vocab_size", c.VocabSize, MaxVocab}, {"hidden size", c.DModel, MaxDModel}, {"attention heads", c.Heads, MaxHeads},
		{"layers", c.Layers, MaxLayers}, {"feed-forward size", c.DFF, MaxDFF}, {"max positions", c.MaxPos, MaxPositions},
	}
	for _, b := range bounds {
		if b.v <= 0 || b.v > b.hi {
			return fmt.Errorf("config: %s %d must be in [1, %d]", b.name, b.v, b.hi)
		}
	}
	switch {
	case c.Arch != BERT && c.Arch != GPT && c.Arch != BART:
		return fmt.Errorf("config: unknown architecture %q (want bert, gpt2 or bart)", c.Arch)
	case c.Arch == BART && (c.DecLayers <= 0 || c.DecLayers > MaxLayers):
		return fmt.Errorf("config: decoder layers %d must be in [1, %d]", c.DecLayers, MaxLayers)
	case c.Arch == BART && (c.BosID < 0 || c.BosID >= c.VocabSize || c.EosID < 0 || c.EosID >= c.VocabSize ||
		c.DecoderStartID < 0 || c.DecoderStartID >= c.VocabSize):
		return fmt.Errorf("config: BART's bos %d, eos %d and decoder start %d must be tokens of the vocabulary [0, %d)", c.BosID, c.EosID, c.DecoderStartID, c.VocabSize)
	case c.DModel%c.Heads != 0:
		return fmt.Errorf("config: d_model %d is not divisible by %d heads", c.DModel, c.Heads)
	case c.TypeVocab < 0 || c.TypeVocab > MaxTypeVocab:
		return fmt.Errorf("config: type_vocab_size %d must be in [0, %d]", c.TypeVocab, MaxTypeVocab)
	case c.NumLabels < 0 || c.NumLabels > MaxLabels:
		return fmt.Errorf("config: num_labels %d must be in [0, %d]", c.NumLabels, MaxLabels)
	case math.IsNaN(c.Dropout) || c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("config: dropout %g must be in [0, 1)", c.Dropout)
	case math.IsNaN(c.LayerNormE) || c.LayerNormE <= 0 || c.LayerNormE >= 1:
		return fmt.Errorf("config: layer-norm epsilon %g must be in (0, 1)", c.LayerNormE)
	case c.Activation != "gelu" && c.Activation != "gelu_new" && c.Activation != "gelu_pytorch_tanh":
		return fmt.Errorf("config: unsupported activation %q (gelu or gelu_new)", c.Activation)
	case c.PadID < 0 || c.PadID >= c.VocabSize:
		return fmt.Errorf("config: pad_token_id %d outside the vocabulary [0, %d)", c.PadID, c.VocabSize)
	}
	if n := c.paramCount(HeadSet{MLM: true, Pooler: true, QA: true, Classifier: c.NumLabels > 0}); n > MaxParams {
		return fmt.Errorf("config: %d layers × width %d × vocabulary %d imply %.1f billion parameters, more than the %d billion this kit accepts",
			c.Layers, c.DModel, c.VocabSize, float64(n)/1e9, MaxParams>>30)
	}
	return nil
}

// TinyGPT returns the default small decoder used by lessons and benchmarks.
func TinyGPT(vocab int) Config {
	return Config{Arch: GPT, VocabSize: vocab, DModel: 128, Heads: 4, Layers: 4, DFF: 512, MaxPos: 128,
		LayerNormE: 1e-5, Activation: "gelu_new", Dropout: 0, BosID: 0, EosID: 0}
}

// TinyBERT returns the default small encoder used by lessons.
func TinyBERT(vocab int) Config {
	return Config{Arch: BERT, VocabSize: vocab, DModel: 128, Heads: 4, Layers: 4, DFF: 512, MaxPos: 128,
		TypeVocab: 2, LayerNormE: 1e-12, Activation: "gelu", Dropout: 0}
}

// configKey is one row of an architecture's config.json table: the Hugging Face key (and
// the other names it is read under), the Config field it maps to, and its default.
type configKey struct {
	key     string
	aliases []string // also read from these keys; key is what is written
	also    []string // also written under these keys (same value)
	integer func(c *Config) *int
	float   func(c *Config) *float64
	str     func(c *Config) *string
	def     func(c *Config) any // default when absent (nil: required); called after earlier keys are read
}

func intKey(key string, f func(c *Config) *int, def func(c *Config) any, aliases ...string) configKey {
	return configKey{key: key, aliases: aliases, integer: f, def: def}
}

func constDef(v any) func(*Config) any { return func(*Config) any { return v } }

// configKeys is the one table of Hugging Face config.json keys per architecture: Marshal
// writes it and Unmarshal reads it, so the two cannot drift apart.
var configKeys = map[Arch][]configKey{
	BERT: {
		intKey("hidden_size", func(c *Config) *int { return &c.DModel }, nil),
		intKey("num_attention_heads", func(c *Config) *int { return &c.Heads }, nil),
		intKey("num_hidden_layers", func(c *Config) *int { return &c.Layers }, nil),
		intKey("intermediate_size", func(c *Config) *int { return &c.DFF }, func(c *Config) any { return 4 * c.DModel }),
		intKey("max_position_embeddings", func(c *Config) *int { return &c.MaxPos }, constDef(512)),
		intKey("type_vocab_size", func(c *Config) *int { return &c.TypeVocab }, constDef(2)),
		{key: "layer_norm_eps", float: func(c *Config) *float64 { return &c.LayerNormE }, def: constDef(1e-12)},
		{key: "hidden_act", str: func(c *Config) *string { return &c.Activation }, def: constDef("gelu")},
		{key: "hidden_dropout_prob", also: []string{"attention_probs_dropout_prob"}, float: func(c *Config) *float64 { return &c.Dropout }, def: constDef(0.0)},
	},
	GPT: {
		intKey("n_embd", func(c *Config) *int { return &c.DModel }, nil, "hidden_size"),
		intKey("n_head", func(c *Config) *int { return &c.Heads }, nil, "num_attention_heads"),
		intKey("n_layer", func(c *Config) *int { return &c.Layers }, nil, "num_hidden_layers"),
		intKey("n_inner", func(c *Config) *int { return &c.DFF }, func(c *Config) any { return 4 * c.DModel }),
		{key: "n_positions", aliases: []string{"n_ctx"}, also: []string{"n_ctx"}, integer: func(c *Config) *int { return &c.MaxPos }, def: constDef(1024)},
		{key: "layer_norm_epsilon", float: func(c *Config) *float64 { return &c.LayerNormE }, def: constDef(1e-5)},
		{key: "activation_function", str: func(c *Config) *string { return &c.Activation }, def: constDef("gelu_new")},
		{key: "resid_pdrop", also: []string{"embd_pdrop", "attn_pdrop"}, float: func(c *Config) *float64 { return &c.Dropout }, def: constDef(0.0)},
		intKey("bos_token_id", func(c *Config) *int { return &c.BosID }, constDef(50256)),
		intKey("eos_token_id", func(c *Config) *int { return &c.EosID }, constDef(50256)),
	},
	BART: {
		intKey("d_model", func(c *Config) *int { return &c.DModel }, nil),
		{key: "encoder_attention_heads", also: []string{"decoder_attention_heads"}, integer: func(c *Config) *int { return &c.Heads }},
		intKey("encoder_layers", func(c *Config) *int { return &c.Layers }, nil),
		intKey("decoder_layers", func(c *Config) *int { return &c.DecLayers }, nil),
		{key: "encoder_ffn_dim", also: []string{"decoder_ffn_dim"}, integer: func(c *Config) *int { return &c.DFF }, def: func(c *Config) any { return 4 * c.DModel }},
		intKey("max_position_embeddings", func(c *Config) *int { return &c.MaxPos }, constDef(1024)),
		{key: "activation_function", str: func(c *Config) *string { return &c.Activation }, def: constDef("gelu")},
		{key: "dropout", also: []string{"attention_dropout", "activation_dropout"}, float: func(c *Config) *float64 { return &c.Dropout }, def: constDef(0.0)},
		intKey("bos_token_id", func(c *Config) *int { return &c.BosID }, constDef(0)),
		intKey("eos_token_id", func(c *Config) *int { return &c.EosID }, constDef(2)),
		intKey("decoder_start_token_id", func(c *Config) *int { return &c.DecoderStartID }, constDef(2)),
	},
}

// commonKeys are read and written for every architecture.
var commonKeys = []configKey{
	intKey("vocab_size", func(c *Config) *int { return &c.VocabSize }, nil),
	intKey("pad_token_id", func(c *Config) *int { return &c.PadID }, constDef(0)),
}

// architectureName is the transformers class written in config.json's "architectures".
func architectureName(c Config, h HeadSet) string {
	switch {
	case c.Arch == BART:
		return "BartForConditionalGeneration"
	case c.Arch == GPT && h.Classifier:
		return "GPT2ForSequenceClassification"
	case c.Arch == GPT:
		return "GPT2LMHeadModel"
	case h.Classifier:
		return "BertForSequenceClassification"
	case h.QA:
		return "BertForQuestionAnswering"
	case h.MLM:
		return "BertForMaskedLM"
	}
	return "BertModel"
}

// MarshalJSON writes Hugging Face's config.json for the architecture. The architectures
// entry assumes the heads a config implies (a classifier when NumLabels > 0, else the LM
// head); [Model.Save] writes the one matching the model's actual heads.
func (c Config) MarshalJSON() ([]byte, error) {
	return c.marshal(HeadSet{MLM: c.NumLabels == 0, Classifier: c.NumLabels > 0})
}

func (c Config) marshal(h HeadSet) ([]byte, error) {
	keys, ok := configKeys[c.Arch]
	if !ok {
		return nil, fmt.Errorf("config: unknown architecture %q", c.Arch)
	}
	m := map[string]any{"model_type": string(c.Arch), "architectures": []string{architectureName(c, h)}}
	for _, k := range append(append([]configKey(nil), commonKeys...), keys...) {
		var v any
		switch {
		case k.integer != nil:
			x := *k.integer(&c)
			if x < 0 { // an absent token id (GPT-2 variants with a BERT vocabulary)
				continue
			}
			v = x
		case k.float != nil:
			v = *k.float(&c)
		default:
			v = *k.str(&c)
		}
		for _, name := range append([]string{k.key}, k.also...) {
			m[name] = v
		}
	}
	if c.NumLabels > 0 {
		m["num_labels"] = c.NumLabels
		if c.ID2Label != nil {
			m["id2label"] = c.ID2Label
			l2i := map[string]int{}
			for k, v := range c.ID2Label {
				if i, err := strconv.Atoi(k); err == nil {
					l2i[v] = i
				}
			}
			m["label2id"] = l2i
		}
	}
	if c.ProblemType != "" {
		m["problem_type"] = c.ProblemType
	}
	switch c.Arch {
	case BERT:
		m["position_embedding_type"] = "absolute"
	case GPT:
		m["tie_word_embeddings"] = true
	case BART:
		m["tie_word_embeddings"] = true
		m["scale_embedding"] = false
		m["is_encoder_decoder"] = true
	}
	return json.MarshalIndent(m, "", "  ")
}

// UnmarshalJSON reads Hugging Face's config.json (BERT-family or GPT-2). Every size is
// checked to be a whole number in range before it is used (see [Config.Validate]).
func (c *Config) UnmarshalJSON(data []byte) error {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("config.json: %w", err)
	}
	mt, _ := m["model_type"].(string)
	*c = Config{}
	switch mt {
	case "roberta", "xlm-roberta", "ernie", "electra", "megatron-bert":
		// Same tensor names, different maths (RoBERTa's positions start after the pad id,
		// ELECTRA projects embeddings, Megatron is pre-LN): refuse rather than be wrong.
		// Chinese "RoBERTa" checkpoints (hfl, uer) declare model_type "bert" and load.
		return fmt.Errorf("config.json: model_type %q is not supported: only BERT-architecture checkpoints (model_type \"bert\") and GPT-2", mt)
	case "bert":
		c.Arch = BERT
		if pe, ok := m["position_embedding_type"].(string); ok && pe != "absolute" {
			return fmt.Errorf("config.json: position_embedding_type %q is not supported (only absolute)", pe)
		}
	case "gpt2":
		c.Arch = GPT
	case "bart":
		c.Arch = BART
		for _, k := range []string{"scale_embedding", "normalize_before", "add_final_layer_norm"} {
			if v, _ := m[k].(bool); v {
				return fmt.Errorf("config.json: %s true is not supported (this is mBART-style; only BART's post-LN layout)", k)
			}
		}
		c.LayerNormE = 1e-5 // BART's nn.LayerNorm default; not in config.json
	case "":
		return fmt.Errorf("config.json: missing model_type")
	default:
		return fmt.Errorf("config.json: model_type %q is not supported (bert, gpt2 or bart)", mt)
	}
	for _, k := range append(append([]configKey(nil), commonKeys...), configKeys[c.Arch]...) {
		if err := k.read(m, c); err != nil {
			return err
		}
	}
	if c.Arch == GPT && (c.BosID >= c.VocabSize || c.EosID >= c.VocabSize) {
		// GPT-2 variants with a BERT vocabulary (uer/gpt2-chinese-*) omit these: the GPT-2
		// default 50256 is outside their vocabulary. Their text ends with [SEP].
		c.BosID, c.EosID = -1, -1
	}
	if _, err := readInt(m, &c.NumLabels, 0, "num_labels"); err != nil {
		return err
	}
	if id2, ok := m["id2label"].(map[string]any); ok {
		if len(id2) > MaxLabels {
			return fmt.Errorf("config.json: id2label has %d entries, more than %d", len(id2), MaxLabels)
		}
		c.ID2Label = map[string]string{}
		for k, v := range id2 {
			c.ID2Label[k] = fmt.Sprint(v)
		}
		if c.NumLabels == 0 {
			c.NumLabels = len(id2)
		}
	}
	c.ProblemType, _ = m["problem_type"].(string)
	if c.Activation == "gelu_pytorch_tanh" {
		c.Activation = "gelu_new"
	}
	return c.Validate()
}

// read sets one key's field from the parsed JSON (or its default).
func (k configKey) read(m map[string]any, c *Config) error {
	names := append([]string{k.key}, k.aliases...)
	var raw any
	found := false
	for _, n := range names {
		if v, ok := m[n]; ok && v != nil {
			raw, found = v, true
			break
		}
	}
	if !found {
		if k.def == nil {
			return fmt.Errorf("config.json: missing %q", k.key)
		}
		raw = k.def(c)
	}
	switch {
	case k.integer != nil:
		_, err := readInt(map[string]any{k.key: raw}, k.integer(c), 0, k.key)
		return err
	case k.float != nil:
		f, ok := toFloat(raw)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("config.json: %q must be a number, got %v", k.key, raw)
		}
		*k.float(c) = f
	default:
		s, ok := raw.(string)
		if !ok {
			return fmt.Errorf("config.json: %q must be a string, got %v", k.key, raw)
		}
		*k.str(c) = s
	}
	return nil
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	}
	return 0, false
}

// readInt reads a whole number in [-1, 2³¹) into dst (def when absent) and reports whether
// the key was present. Fractions, huge values and non-numbers are errors, not truncations.
func readInt(m map[string]any, dst *int, def int, key string) (bool, error) {
	v, ok := m[key]
	if !ok || v == nil {
		*dst = def
		return false, nil
	}
	f, isNum := toFloat(v)
	if !isNum || f != math.Trunc(f) || f < -1 || f >= 1<<31 {
		return true, fmt.Errorf("config.json: %q must be a whole number in [-1, 2³¹), got %v", key, v)
	}
	*dst = int(f)
	return true, nil
}

// maxConfigBytes bounds config.json: real ones are a few kilobytes (id2label included).
const maxConfigBytes = 4 << 20

// LoadConfig reads dir/config.json (a regular file of at most 4 MB).
func LoadConfig(dir string) (Config, error) {
	c, _, _, err := readConfig(dir)
	return c, err
}

// readConfig reads dir's config.json, bounded, and returns it parsed, its bytes and its path.
func readConfig(dir string) (Config, []byte, string, error) {
	var c Config
	path := filepath.Join(dir, "config.json")
	data, err := fileio.ReadFile(path, maxConfigBytes)
	if err != nil {
		return c, nil, path, fmt.Errorf("load config: %w", err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, nil, path, fmt.Errorf("load config %s: %w", path, err)
	}
	return c, data, path, nil
}

// LoadConfigOverrides is [LoadConfig] with some of config.json's keys replaced first, as
// vLLM's --hf-overrides does: e.g. {"n_layer": 12, "n_embd": 768} gives the shape of
// GPT-2 small to a checkpoint's config. Each key must be one the file already has or one
// this package reads for the file's model_type; values are checked as if the file held
// them, and the result must pass [Config.Validate].
func LoadConfigOverrides(dir string, overrides map[string]any) (Config, error) {
	base, data, path, err := readConfig(dir)
	if err != nil {
		return Config{}, err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return Config{}, fmt.Errorf("load config %s: %w", path, err)
	}
	// A key's aliases name the same value (n_positions and n_ctx): an override of one
	// replaces all of them that the file has, so the one the parser reads changes.
	same := map[string][]string{}
	for _, k := range append(append([]configKey(nil), commonKeys...), configKeys[base.Arch]...) {
		group := append(append([]string{k.key}, k.aliases...), k.also...)
		for _, name := range group {
			same[name] = group
		}
	}
	names := make([]string, 0, len(overrides))
	for k := range overrides {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if _, inFile := m[k]; !inFile && same[k] == nil {
			return Config{}, fmt.Errorf("config override %q: not a key of %s nor one read for model_type %q", k, path, base.Arch)
		}
		if k == "model_type" {
			return Config{}, fmt.Errorf("config override %q: the architecture cannot be overridden", k)
		}
		for _, name := range same[k] {
			if _, inFile := m[name]; inFile {
				m[name] = overrides[k]
			}
		}
		m[k] = overrides[k]
	}
	merged, err := json.Marshal(m)
	if err != nil {
		return Config{}, fmt.Errorf("config overrides: %w", err)
	}
	var c Config
	if err := json.Unmarshal(merged, &c); err != nil {
		return Config{}, fmt.Errorf("config with overrides %v: %w", names, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("config with overrides %v: %w", names, err)
	}
	return c, nil
}

// sortedLabels returns id2label's values ordered by id (for messages and metrics).
func sortedLabels(c Config) []string {
	ids := make([]int, 0, len(c.ID2Label))
	for k := range c.ID2Label {
		if i, err := strconv.Atoi(k); err == nil {
			ids = append(ids, i)
		}
	}
	sort.Ints(ids)
	out := make([]string, 0, len(ids))
	for _, i := range ids {
		out = append(out, c.ID2Label[strconv.Itoa(i)])
	}
	return out
}

// TinyBART returns a small encoder-decoder (2 + 2 blocks of width 64) for toy
// sequence-to-sequence tasks that train in a notebook cell. bos, eos and the decoder's
// start token are the tokenizer's [CLS], [SEP] and [CLS] in the lessons.
func TinyBART(vocab, pad, bos, eos int) Config {
	return Config{Arch: BART, VocabSize: vocab, DModel: 64, Heads: 4, Layers: 2, DecLayers: 2, DFF: 256, MaxPos: 64,
		LayerNormE: 1e-5, Activation: "gelu", PadID: pad, BosID: bos, EosID: eos, DecoderStartID: bos}
}
