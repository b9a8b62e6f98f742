package main

import (
	"io"

	"github.com/divellm/divellm/llm/tokenizer"
)

func init() {
	register("eval", "loss and perplexity of a model on a text file: eval --model DIR --data FILE [--seq-len T --batch B --max-batches N]", evalCmd)
}

// evalJSON is the output of `divellm eval`.
type evalJSON struct {
	Loss       jsonFloat `json:"loss"`       // mean cross-entropy per predicted token (nats)
	Perplexity jsonFloat `json:"perplexity"` // exp(loss)
	Tokens     int       `json:"tokens"`     // predicted tokens counted
	Arch       string    `json:"arch"`
	SeqLen     int       `json:"seq_len"`
}

func evalCmd(args []string, w io.Writer) error {
	fs := newFlags("eval")
	modelDir := fs.String("model", "", "checkpoint directory")
	data := fs.String("data", "", "UTF-8 text to evaluate on")
	seqLen := fs.Int("seq-len", 0, "tokens per window (default min(64, max positions))")
	batch := fs.Int("batch", 16, "windows per batch")
	maxBatches := fs.Int("max-batches", 0, "stop after N batches (0 = the whole text)")
	seed := fs.Uint64("seed", 1, "seed of BERT's fixed 15% mask")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q (pass the text with --data FILE)", rest[0])
	}
	if *seqLen < 0 || *batch <= 0 || *maxBatches < 0 {
		return usagef("--seq-len and --max-batches must be ≥ 0, --batch positive")
	}
	m, err := loadModel(*modelDir)
	if err != nil {
		return err
	}
	if *seqLen != 0 && (*seqLen < 4 || *seqLen > m.Config.MaxPos) {
		return usagef("--seq-len %d must be in [4, %d]", *seqLen, m.Config.MaxPos)
	}
	text, err := readTextFile("data", *data)
	if err != nil {
		return err
	}
	stream := tokenizer.IDs(m.Tokenizer.Encode(text))
	if len(stream) < 3 {
		return usagef("--data has only %d tokens", len(stream))
	}
	sl := *seqLen
	if sl == 0 {
		sl = min(64, m.Config.MaxPos)
	}
	res, err := m.Evaluate(stream, sl, *batch, *maxBatches, *seed)
	if err != nil {
		return err
	}
	return writeJSON(w, evalJSON{Loss: jsonFloat(res.Loss), Perplexity: jsonFloat(res.Perplexity), Tokens: res.Tokens,
		Arch: string(m.Config.Arch), SeqLen: sl})
}
