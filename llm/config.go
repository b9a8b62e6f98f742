package llm

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Arch names a model architecture.
type Arch string

const (
	// BERT is an encoder (bidirectional attention, post-LN, GELU-erf, MLM head).
	BERT Arch = "bert"
	// GPT is a GPT-2-style decoder (causal attention, pre-LN, GELU-tanh, tied LM head).
	GPT Arch = "gpt2"
)

// Config holds every hyper-parameter of a model; the model is built from it and nothing
// else (nanoGPT style). It reads and writes Hugging Face's config.json keys.
type Config struct {
	Arch       Arch    // "bert" or "gpt2" (HF model_type)
	VocabSize  int     // number of tokens
	DModel     int     // hidden size (HF hidden_size / n_embd)
	Heads      int     // attention heads (num_attention_heads / n_head)
	Layers     int     // transformer blocks (num_hidden_layers / n_layer)
	DFF        int     // feed-forward width (intermediate_size / n_inner, default 4·DModel)
	MaxPos     int     // max positions (max_position_embeddings / n_positions)
	TypeVocab  int     // BERT token types (type_vocab_size), 0 for GPT
	Dropout    float64 // dropout probability used in training (hidden and attention)
	LayerNormE float64 // layer-norm epsilon (1e-12 for BERT, 1e-5 for GPT-2)
	Activation string  // "gelu" (erf) or "gelu_new" (tanh)
	PadID      int     // pad token id
	BosID      int     // GPT: bos_token_id
	EosID      int     // GPT: eos_token_id
	NumLabels  int     // sequence-classification labels (0 = no classifier head)
	ID2Label   map[string]string
	// ProblemType is HF's problem_type for classifiers: "" or "single_label_classification"
	// (softmax), "multi_label_classification" (sigmoid per label), "regression".
	ProblemType string
}

// HeadDim is the width of one attention head.
func (c Config) HeadDim() int { return c.DModel / c.Heads }

// Validate reports an inconsistent configuration.
func (c Config) Validate() error {
	switch {
	case c.Arch != BERT && c.Arch != GPT:
		return fmt.Errorf("config: unknown architecture %q (want bert or gpt2)", c.Arch)
	case c.VocabSize <= 0, c.DModel <= 0, c.Heads <= 0, c.Layers <= 0, c.DFF <= 0, c.MaxPos <= 0:
		return fmt.Errorf("config: vocab (%d), d_model (%d), heads (%d), layers (%d), d_ff (%d) and max positions (%d) must be positive",
			c.VocabSize, c.DModel, c.Heads, c.Layers, c.DFF, c.MaxPos)
	case c.DModel%c.Heads != 0:
		return fmt.Errorf("config: d_model %d is not divisible by %d heads", c.DModel, c.Heads)
	case c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("config: dropout %g must be in [0, 1)", c.Dropout)
	case c.Activation != "gelu" && c.Activation != "gelu_new" && c.Activation != "gelu_pytorch_tanh":
		return fmt.Errorf("config: unsupported activation %q (gelu or gelu_new)", c.Activation)
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

// MarshalJSON writes Hugging Face's config.json for the architecture.
func (c Config) MarshalJSON() ([]byte, error) {
	m := map[string]any{"model_type": string(c.Arch), "vocab_size": c.VocabSize, "pad_token_id": c.PadID}
	if c.NumLabels > 0 {
		m["num_labels"] = c.NumLabels
		if c.ID2Label != nil {
			m["id2label"] = c.ID2Label
			l2i := map[string]int{}
			for k, v := range c.ID2Label {
				var i int
				fmt.Sscan(k, &i)
				l2i[v] = i
			}
			m["label2id"] = l2i
		}
	}
	if c.ProblemType != "" {
		m["problem_type"] = c.ProblemType
	}
	switch c.Arch {
	case BERT:
		m["architectures"] = []string{"BertForMaskedLM"}
		m["hidden_size"] = c.DModel
		m["num_attention_heads"] = c.Heads
		m["num_hidden_layers"] = c.Layers
		m["intermediate_size"] = c.DFF
		m["max_position_embeddings"] = c.MaxPos
		m["type_vocab_size"] = c.TypeVocab
		m["layer_norm_eps"] = c.LayerNormE
		m["hidden_act"] = c.Activation
		m["hidden_dropout_prob"] = c.Dropout
		m["attention_probs_dropout_prob"] = c.Dropout
		m["position_embedding_type"] = "absolute"
	default:
		m["architectures"] = []string{"GPT2LMHeadModel"}
		m["n_embd"] = c.DModel
		m["n_head"] = c.Heads
		m["n_layer"] = c.Layers
		m["n_inner"] = c.DFF
		m["n_positions"] = c.MaxPos
		m["n_ctx"] = c.MaxPos
		m["layer_norm_epsilon"] = c.LayerNormE
		m["activation_function"] = c.Activation
		m["resid_pdrop"] = c.Dropout
		m["embd_pdrop"] = c.Dropout
		m["attn_pdrop"] = c.Dropout
		if c.BosID >= 0 {
			m["bos_token_id"] = c.BosID
		}
		if c.EosID >= 0 {
			m["eos_token_id"] = c.EosID
		}
		m["tie_word_embeddings"] = true
	}
	return json.MarshalIndent(m, "", "  ")
}

// UnmarshalJSON reads Hugging Face's config.json (BERT-family or GPT-2).
func (c *Config) UnmarshalJSON(data []byte) error {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("config.json: %w", err)
	}
	num := func(keys ...string) (float64, bool) {
		for _, k := range keys {
			if v, ok := m[k].(float64); ok {
				return v, true
			}
		}
		return 0, false
	}
	integer := func(def int, keys ...string) int {
		if v, ok := num(keys...); ok {
			return int(v)
		}
		return def
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
		c.DModel = integer(0, "hidden_size")
		c.Heads = integer(0, "num_attention_heads")
		c.Layers = integer(0, "num_hidden_layers")
		c.DFF = integer(4*c.DModel, "intermediate_size")
		c.MaxPos = integer(512, "max_position_embeddings")
		c.TypeVocab = integer(2, "type_vocab_size")
		if v, ok := num("layer_norm_eps"); ok {
			c.LayerNormE = v
		} else {
			c.LayerNormE = 1e-12
		}
		c.Activation, _ = m["hidden_act"].(string)
		if c.Activation == "" {
			c.Activation = "gelu"
		}
		if v, ok := num("hidden_dropout_prob"); ok {
			c.Dropout = v
		}
		if pe, ok := m["position_embedding_type"].(string); ok && pe != "absolute" {
			return fmt.Errorf("config.json: position_embedding_type %q is not supported (only absolute)", pe)
		}
	case "gpt2":
		c.Arch = GPT
		c.DModel = integer(0, "n_embd", "hidden_size")
		c.Heads = integer(0, "n_head", "num_attention_heads")
		c.Layers = integer(0, "n_layer", "num_hidden_layers")
		c.DFF = integer(4*c.DModel, "n_inner")
		if c.DFF == 0 {
			c.DFF = 4 * c.DModel
		}
		c.MaxPos = integer(1024, "n_positions", "n_ctx")
		if v, ok := num("layer_norm_epsilon"); ok {
			c.LayerNormE = v
		} else {
			c.LayerNormE = 1e-5
		}
		c.Activation, _ = m["activation_function"].(string)
		if c.Activation == "" {
			c.Activation = "gelu_new"
		}
		if v, ok := num("resid_pdrop"); ok {
			c.Dropout = v
		}
		c.BosID = integer(50256, "bos_token_id")
		c.EosID = integer(50256, "eos_token_id")
		if v := integer(0, "vocab_size"); c.BosID >= v || c.EosID >= v {
			// GPT-2 variants with a BERT vocabulary (uer/gpt2-chinese-*) omit these: the
			// GPT-2 default 50256 is outside their vocabulary. Their text ends with [SEP].
			c.BosID, c.EosID = -1, -1
		}
	case "":
		return fmt.Errorf("config.json: missing model_type")
	default:
		return fmt.Errorf("config.json: model_type %q is not supported (bert or gpt2)", mt)
	}
	c.VocabSize = integer(0, "vocab_size")
	c.PadID = integer(0, "pad_token_id")
	c.NumLabels = integer(0, "num_labels")
	if id2, ok := m["id2label"].(map[string]any); ok {
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

// LoadConfig reads dir/config.json.
func LoadConfig(dir string) (Config, error) {
	var c Config
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return c, fmt.Errorf("load config: %w", err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("load config %s: %w", filepath.Join(dir, "config.json"), err)
	}
	return c, nil
}
