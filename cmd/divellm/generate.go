package main

import (
	"fmt"
	"io"

	"github.com/divellm/divellm/llm"
)

func init() {
	define(&command{name: "generate", summary: "continue a prompt with a GPT model (KV cache, temperature, top-k, top-p)",
		usage: "--model MODEL [flags] TEXT", run: generateCmd})
}

// generateJSON is the output of `divellm generate --json`.
type generateJSON struct {
	Prompt       string        `json:"prompt"`
	Text         string        `json:"text"`      // prompt + generated text
	Generated    string        `json:"generated"` // the generated text alone
	IDs          []int         `json:"ids"`       // generated ids
	PromptIDs    []int         `json:"prompt_ids"`
	TokensPerSec jsonFloat     `json:"tokens_per_sec"` // decode throughput
	PrefillMS    float64       `json:"prefill_ms"`
	DecodeMS     float64       `json:"decode_ms"`
	Steps        []llm.GenStep `json:"steps"` // per generated token: id, token, prob, top candidates, latency_ns
	Cache        bool          `json:"kv_cache"`
}

// writeText prints the prompt followed by its continuation.
func (g generateJSON) writeText(w io.Writer) error {
	_, err := fmt.Fprintln(w, g.Text)
	return err
}

// maxNewTokens bounds --max-new-tokens before the model's positions are known.
const maxNewTokens = 1 << 20

// genFlags are the flags of the two generation commands (generate, pipeline
// text-generation): the same names, bounds and aliases.
type genFlags struct {
	model, text *string
	maxNew      *int
	temperature *float64
	topK        *int
	topP        *float64
	seed        *uint64
}

// declareGenFlags declares the generation flags on c; temperature defaults differ
// (generate samples, transformers' pipeline is greedy).
func declareGenFlags(c *cmdCtx, temperature float64) *genFlags {
	g := &genFlags{}
	g.model = c.String("model", "", modelUsage+"; a GPT (gpt2) checkpoint")
	g.text = c.String("text", "", "the prompt to continue (or pass it as arguments)")
	c.Alias("prompt", "text")
	g.maxNew = c.Int("max-new-tokens", 32, 1, maxNewTokens, "tokens to generate (prompt + these must fit the model's positions)")
	c.Alias("max-tokens", "max-new-tokens")
	g.temperature = c.Float("temperature", temperature, 0, 100, "sampling temperature (0 = greedy)")
	g.topK = c.Int("top-k", 0, 0, llm.MaxVocab, "sample among the K most likely tokens (0 = all)")
	g.topP = c.Float("top-p", 0, 0, 1, "nucleus sampling: the smallest set of tokens with this much probability (0 = off)")
	g.seed = c.Uint64("seed", 1, "sampling seed")
	return g
}

// load checks the prompt and loads a GPT model whose positions hold the prompt and
// --max-new-tokens.
func (g *genFlags) load(rest []string, command string) (*llm.Model, string, error) {
	prompt, err := textInput("text", *g.text, rest, "usage: divellm "+command+" --model MODEL TEXT")
	if err != nil {
		return nil, "", err
	}
	m, err := loadModel(*g.model)
	if err != nil {
		return nil, "", err
	}
	if err := needArch(m, *g.model, llm.GPT, command, "use fill-mask for BERT"); err != nil {
		return nil, "", err
	}
	if n := len(m.Tokenizer.Encode(prompt)); n+*g.maxNew > m.Config.MaxPos {
		return nil, "", usagef("the prompt (%d tokens) + --max-new-tokens %d exceed the model's %d positions", n, *g.maxNew, m.Config.MaxPos)
	}
	return m, prompt, nil
}

func (g *genFlags) options() llm.GenerateOptions {
	return llm.GenerateOptions{MaxTokens: *g.maxNew, Temperature: *g.temperature, TopK: *g.topK, TopP: *g.topP, Seed: *g.seed}
}

func generateCmd(c *cmdCtx) (any, error) {
	g := declareGenFlags(c, 0.8)
	noCache := c.Bool("no-cache", false, "recompute the whole sequence every step instead of using the KV cache")
	stopEOS := c.Bool("stop-at-eos", true, "stop at the end-of-text token")
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	m, prompt, err := g.load(rest, "generate")
	if err != nil {
		return nil, err
	}
	o := g.options()
	o.NoCache, o.StopAtEOS = *noCache, *stopEOS
	res, err := m.Generate(prompt, o)
	if err != nil {
		return nil, err
	}
	return generateJSON{
		Prompt: prompt, Text: prompt + res.Text, Generated: res.Text, IDs: res.IDs, PromptIDs: res.PromptIDs,
		TokensPerSec: jsonFloat(res.TokensPerSec()), PrefillMS: ms(res.Prefill.Seconds()), DecodeMS: ms(res.Decode.Seconds()),
		Steps: res.Steps, Cache: !*noCache,
	}, nil
}

func ms(seconds float64) float64 { return float64(int64(seconds*1e6)) / 1e3 }
