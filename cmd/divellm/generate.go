package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/divellm/divellm/llm"
)

func init() {
	register("generate", "continue a prompt with a GPT model: generate --model DIR --prompt TEXT [--max-tokens N --temperature T --top-k K --top-p P --seed S --json]", generateCmd)
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

func generateCmd(args []string, w io.Writer) error {
	fs := newFlags("generate")
	modelDir := fs.String("model", "", "GPT checkpoint directory")
	prompt := fs.String("prompt", "", "text to continue (or pass it as an argument)")
	maxTokens := fs.Int("max-tokens", 32, "tokens to generate")
	temperature := fs.Float64("temperature", 0.8, "sampling temperature (0 = greedy)")
	topK := fs.Int("top-k", 0, "sample among the K most likely tokens (0 = all)")
	topP := fs.Float64("top-p", 0, "nucleus sampling mass in (0, 1] (0 = off)")
	seed := fs.Uint64("seed", 1, "sampling seed")
	noCache := fs.Bool("no-cache", false, "recompute the whole sequence every step instead of using the KV cache")
	stopEOS := fs.Bool("stop-at-eos", true, "stop at the end-of-text token")
	asJSON := fs.Bool("json", false, "print JSON with ids, per-step candidates and speed")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *prompt == "" && len(rest) > 0 {
		*prompt, rest = strings.Join(rest, " "), nil
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q (the prompt goes in --prompt)", rest[0])
	}
	if *prompt == "" {
		return usagef("usage: divellm generate --model DIR --prompt TEXT (the prompt is empty)")
	}
	if *maxTokens <= 0 || *temperature < 0 || *topK < 0 || *topP < 0 || *topP > 1 {
		return usagef("--max-tokens must be positive, --temperature and --top-k ≥ 0, --top-p in [0, 1]")
	}
	m, err := loadModel(*modelDir)
	if err != nil {
		return err
	}
	if m.Config.Arch != llm.GPT {
		return usagef("--model %s is a %s encoder; generate needs a GPT model (use fill-mask for BERT)", *modelDir, m.Config.Arch)
	}
	n := len(m.Tokenizer.Encode(*prompt))
	if n+*maxTokens > m.Config.MaxPos {
		return usagef("the prompt (%d tokens) + --max-tokens %d exceed the model's %d positions", n, *maxTokens, m.Config.MaxPos)
	}
	res, err := m.Generate(*prompt, llm.GenerateOptions{
		MaxTokens: *maxTokens, Temperature: *temperature, TopK: *topK, TopP: *topP, Seed: *seed,
		NoCache: *noCache, StopAtEOS: *stopEOS,
	})
	if err != nil {
		return err
	}
	if !*asJSON {
		_, err := fmt.Fprintln(w, *prompt+res.Text)
		return err
	}
	return writeJSON(w, generateJSON{
		Prompt: *prompt, Text: *prompt + res.Text, Generated: res.Text, IDs: res.IDs, PromptIDs: res.PromptIDs,
		TokensPerSec: jsonFloat(res.TokensPerSec()), PrefillMS: ms(res.Prefill.Seconds()), DecodeMS: ms(res.Decode.Seconds()),
		Steps: res.Steps, Cache: !*noCache,
	})
}

func ms(seconds float64) float64 { return float64(int64(seconds*1e6)) / 1e3 }
