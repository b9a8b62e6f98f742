package main

import (
	"fmt"
	"io"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/tokenizer"
)

func init() {
	define(&command{name: "eval", summary: "loss and perplexity of a model on a text file",
		usage: "--model MODEL --data FILE [--seq-len T --batch B --max-batches N]", run: evalCmd})
}

// evalJSON is the output of `divellm eval --json`.
type evalJSON struct {
	Loss       jsonFloat `json:"loss"`       // mean cross-entropy per predicted token (nats)
	Perplexity jsonFloat `json:"perplexity"` // exp(loss)
	Tokens     int       `json:"tokens"`     // predicted tokens counted
	Arch       string    `json:"arch"`
	SeqLen     int       `json:"seq_len"`
}

func (e evalJSON) writeText(w io.Writer) error {
	what := "next-token prediction"
	if e.Arch == string(llm.BERT) {
		what = "masked tokens (15%)"
	}
	return writeTable(w, [][]string{
		{"loss", fmt.Sprintf("%.4f nats per token", float64(e.Loss))},
		{"perplexity", fmt.Sprintf("%.3f", float64(e.Perplexity))},
		{"tokens", fmt.Sprintf("%d predicted (%s, windows of %d, %s)", e.Tokens, what, e.SeqLen, e.Arch)},
	}, 2)
}

func evalCmd(c *cmdCtx) (any, error) {
	model := c.String("model", "", modelUsage)
	data := c.String("data", "", "UTF-8 text file to evaluate on")
	c.Alias("corpus", "data")
	seqLen := c.Int("seq-len", 0, 0, llm.MaxPositions, "tokens per window (0 = min(64, the model's positions))")
	batch := c.Int("batch", 16, 1, 4096, "windows per batch")
	maxBatches := c.Int("max-batches", 0, 0, 1<<30, "stop after N batches (0 = the whole text)")
	seed := c.Uint64("seed", 1, "seed of BERT's fixed 15% mask")
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, usagef("unexpected argument %q (pass the text with --data FILE)", rest[0])
	}
	text, err := readTextFile("data", *data)
	if err != nil {
		return nil, err
	}
	m, err := loadModel(*model)
	if err != nil {
		return nil, err
	}
	if *seqLen != 0 && (*seqLen < 4 || *seqLen > m.Config.MaxPos) {
		return nil, usagef("--seq-len %d must be in [4, %d]", *seqLen, m.Config.MaxPos)
	}
	sl := *seqLen
	if sl == 0 {
		sl = min(64, m.Config.MaxPos)
	}
	if err := checkMemory(fmt.Sprintf("evaluating %d windows of %d tokens at once", *batch, sl), forwardBytes(m.Config, *batch, sl), "--batch or --seq-len"); err != nil {
		return nil, err
	}
	stream := tokenizer.IDs(m.Tokenizer.Encode(text))
	if len(stream) < 3 {
		return nil, usagef("--data has only %d tokens", len(stream))
	}
	res, err := m.Evaluate(stream, sl, *batch, *maxBatches, *seed)
	if err != nil {
		return nil, err
	}
	return evalJSON{Loss: jsonFloat(res.Loss), Perplexity: jsonFloat(res.Perplexity), Tokens: res.Tokens,
		Arch: string(m.Config.Arch), SeqLen: sl}, nil
}
