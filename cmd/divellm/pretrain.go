package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/divellm/divellm/internal/fileio"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/safetensors"
	"github.com/divellm/divellm/llm/tokenizer"
)

func init() {
	define(&command{name: "pretrain", summary: "train a small GPT or BERT from a text file (checkpoints, --resume, Ctrl-C saves)",
		usage: "--arch gpt|bert --data FILE --steps N --out DIR [flags]", run: pretrainCmd})
}

// pretrainResult is pretrain's result (also written to DIR/train_result.json).
type pretrainResult struct {
	TrainLoss      jsonFloat `json:"train_loss"`
	ValLoss        jsonFloat `json:"val_loss"`
	TokensPerSec   jsonFloat `json:"tokens_per_sec"`
	Steps          int       `json:"steps"`
	Seconds        jsonFloat `json:"seconds"`
	ValPerplexity  jsonFloat `json:"val_perplexity"`
	InitialValLoss jsonFloat `json:"initial_val_loss"`
	Params         int       `json:"params"`
	Seed           uint64    `json:"seed"`
	Out            string    `json:"out"`
	Arch           string    `json:"arch"`
	Tokenizer      string    `json:"tokenizer"`
	VocabSize      int       `json:"vocab_size"`
	TrainTokens    int       `json:"train_tokens"`
	ValTokens      int       `json:"val_tokens"`
	Resumed        bool      `json:"resumed"`
	ResumedFrom    int       `json:"resumed_from_step"`
	SeqLen         int       `json:"seq_len"` // tokens per training sequence (the context the model learned)
	Batch          int       `json:"batch"`
}

func (r pretrainResult) writeText(w io.Writer) error {
	resumed := ""
	if r.Resumed {
		resumed = fmt.Sprintf(" (resumed from step %d)", r.ResumedFrom)
	}
	return writeTable(w, [][]string{
		{"checkpoint", r.Out},
		{"model", fmt.Sprintf("%s, %d parameters, %s tokenizer of %d tokens", r.Arch, r.Params, r.Tokenizer, r.VocabSize)},
		{"steps", fmt.Sprintf("%d%s in %.1fs, %.0f tokens/s", r.Steps, resumed, float64(r.Seconds), float64(r.TokensPerSec))},
		{"train loss", fmtLoss(float64(r.TrainLoss))},
		{"val loss", fmt.Sprintf("%s → %s (perplexity %s)", fmtLoss(float64(r.InitialValLoss)), fmtLoss(float64(r.ValLoss)), fmtLoss(float64(r.ValPerplexity)))},
		{"tokens", fmt.Sprintf("%d train, %d validation", r.TrainTokens, r.ValTokens)},
	}, 2)
}

// maxSteps bounds --steps and the step intervals.
const maxSteps = 100_000_000

func pretrainCmd(c *cmdCtx) (any, error) {
	arch := c.String("arch", "gpt", "gpt (causal LM) or bert (masked LM)")
	corpusPath := c.String("data", "", "UTF-8 training text (required)")
	c.Alias("corpus", "data")
	steps := c.Int("steps", 0, 1, maxSteps, "optimiser steps (required)")
	out := c.String("out", "", "checkpoint directory to write: new, empty, or a checkpoint divellm wrote (required)")
	seed := c.Uint64("seed", 1, "seed for initialisation, batches, masking and dropout")
	dModel := c.Int("d-model", 128, 1, llm.MaxDModel, "hidden size")
	heads := c.Int("heads", 4, 1, llm.MaxHeads, "attention heads (must divide --d-model)")
	layers := c.Int("layers", 4, 1, llm.MaxLayers, "transformer blocks")
	dFF := c.Int("d-ff", 0, 0, llm.MaxDFF, "feed-forward width (0 = 4·d-model)")
	maxPos := c.Int("max-pos", 0, 0, llm.MaxPositions, "max positions (0 = max(128, seq-len))")
	seqLen := c.Int("seq-len", 64, 4, llm.MaxPositions, "tokens per training sequence (BERT: including [CLS] and [SEP])")
	batch := c.Int("batch", 16, 1, 1<<16, "sequences per step")
	lr := c.Float("lr", 1e-3, 0, 10, "peak learning rate (> 0)")
	warmup := c.Int("warmup", 0, 0, maxSteps, "linear warm-up steps (0 = steps/20)")
	dropout := c.Float("dropout", 0, 0, 1, "dropout probability, below 1")
	valPath := c.String("val", "", "validation text (default: the last 5% of the corpus lines)")
	tokSpec := c.String("tokenizer", "char", fmt.Sprintf("char, or bpe=VOCABSIZE (byte-level BPE of 257 to %d tokens trained on the corpus; GPT only)", maxBPEVocab))
	resume := c.Bool("resume", false, "continue the run checkpointed in --out")
	quiet := c.Bool("quiet", false, "no progress lines on stderr")
	evalEvery := c.Int("eval-every", 0, 0, maxSteps, "steps between validation losses (0 = steps/10)")
	ckptEvery := c.Int("checkpoint-every", 0, 0, maxSteps, "steps between checkpoints (0 = every evaluation)")
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, usagef("unexpected argument %q (pass the text with --data FILE)", rest[0])
	}
	var a llm.Arch
	switch *arch {
	case "gpt", "gpt2":
		a = llm.GPT
	case "bert":
		a = llm.BERT
	default:
		return nil, usagef("--arch %q: want gpt or bert", *arch)
	}
	if *steps <= 0 {
		return nil, usagef("--steps N (positive) is required")
	}
	if *lr <= 0 {
		return nil, usagef("--lr %g must be positive", *lr)
	}
	if *dropout >= 1 {
		return nil, usagef("--dropout %g must be below 1", *dropout)
	}
	bpeVocab, err := parseTokenizerSpec(*tokSpec)
	if err != nil {
		return nil, err
	}
	if bpeVocab > 0 && a == llm.BERT {
		return nil, usagef("--tokenizer bpe is for GPT only: a trained BPE has no [CLS]/[SEP]/[MASK] ids for BERT; use --tokenizer char")
	}
	if err := checkOutDir("out", *out); err != nil {
		return nil, err
	}
	corpus, err := readTextFile("data", *corpusPath)
	if err != nil {
		return nil, err
	}
	valText := ""
	if *valPath != "" {
		if valText, err = readTextFile("val", *valPath); err != nil {
			return nil, err
		}
	}
	progress := c.stderr
	if *quiet {
		progress = io.Discard
	}

	// The model: a fresh one, or the checkpoint in --out when resuming.
	var m *llm.Model
	resuming := false
	if *resume {
		if _, err := safetensors.RecoverDir(*out); err != nil {
			return nil, fmt.Errorf("--resume: %w", err)
		}
		statePath := filepath.Join(*out, "trainer_state.json")
		if _, err := os.Stat(statePath); err == nil {
			data, err := fileio.ReadFile(statePath, 1<<20)
			if err != nil {
				return nil, fmt.Errorf("--resume: %w", err)
			}
			var st struct {
				Step int `json:"global_step"`
			}
			if err := json.Unmarshal(data, &st); err != nil {
				return nil, fmt.Errorf("--resume: %s is corrupt: %v", statePath, err)
			}
			if st.Step > *steps {
				return nil, usagef("--resume: the checkpoint is at step %d, beyond --steps %d", st.Step, *steps)
			}
			if err := checkModelFiles(*out); err != nil {
				return nil, fmt.Errorf("--resume: %w", err)
			}
			if m, err = llm.Load(*out); err != nil {
				return nil, fmt.Errorf("--resume: %w", err)
			}
			if m.Config.Arch != a {
				return nil, usagef("--resume: %s holds a %s model, not --arch %s", *out, m.Config.Arch, *arch)
			}
			if m.Tokenizer == nil {
				return nil, fmt.Errorf("--resume: %s has no tokenizer files", *out)
			}
			resuming = true
			fmt.Fprintf(progress, "resuming from %s (its config and tokenizer; model-size flags are ignored)\n", *out)
		} else {
			fmt.Fprintf(progress, "--resume: no checkpoint in %s yet, starting fresh\n", *out)
		}
	}
	if m == nil {
		var tok tokenizer.Tokenizer
		if bpeVocab > 0 {
			if len(corpus)+len(valText) > maxBPECorpus {
				return nil, usagef("--tokenizer bpe: the corpus is %s; BPE training here takes at most %s (use --tokenizer char)", humanBytes(int64(len(corpus)+len(valText))), humanBytes(maxBPECorpus))
			}
			b, err := tokenizer.TrainBPE(corpus+valText, bpeVocab, tokenizer.BPEOptions{})
			if err != nil {
				return nil, usagef("--tokenizer: %v", err)
			}
			tok = b
		} else {
			tok = tokenizer.NewChar(corpus+valText, tokenizer.CharOptions{})
		}
		cfg := llm.TinyGPT(tok.VocabSize())
		headSet := llm.HeadSet{}
		if a == llm.BERT {
			cfg = llm.TinyBERT(tok.VocabSize())
			headSet = llm.HeadSet{MLM: true, Pooler: true}
			cfg.PadID = tok.Specials().PAD
		} else if eos := tok.Specials().EOS; eos >= 0 {
			cfg.BosID, cfg.EosID = eos, eos
		}
		cfg.DModel, cfg.Heads, cfg.Layers, cfg.Dropout = *dModel, *heads, *layers, *dropout
		cfg.DFF = *dFF
		if cfg.DFF == 0 {
			cfg.DFF = 4 * cfg.DModel
		}
		cfg.MaxPos = *maxPos
		if cfg.MaxPos == 0 {
			cfg.MaxPos = max(128, *seqLen)
		}
		if *seqLen > cfg.MaxPos {
			return nil, usagef("--seq-len %d exceeds --max-pos %d", *seqLen, cfg.MaxPos)
		}
		if err := cfg.Validate(); err != nil {
			return nil, usagef("%v", err)
		}
		if err := checkMemory(fmt.Sprintf("training %d layers × d-model %d on batches of %d×%d tokens", cfg.Layers, cfg.DModel, *batch, *seqLen),
			trainingBytes(cfg, *batch, *seqLen), "--layers, --d-model, --d-ff, --batch or --seq-len"); err != nil {
			return nil, err
		}
		if m, err = llm.New(cfg, headSet, *seed); err != nil {
			return nil, err
		}
		m.Tokenizer = tok
	} else if *seqLen > m.Config.MaxPos {
		return nil, usagef("--seq-len %d exceeds the checkpoint's %d positions", *seqLen, m.Config.MaxPos)
	} else if err := checkMemory(fmt.Sprintf("training this checkpoint on batches of %d×%d tokens", *batch, *seqLen),
		trainingBytes(m.Config, *batch, *seqLen), "--batch or --seq-len"); err != nil {
		return nil, err
	}

	train, val, err := splitTokens(m, corpus, valText, *valPath != "", *seqLen)
	if err != nil {
		return nil, err
	}
	tc := llm.TrainConfig{
		Steps: *steps, BatchSize: *batch, SeqLen: *seqLen, LR: *lr, WarmupSteps: *warmup, Seed: *seed,
		EvalEvery: *evalEvery, CheckpointDir: *out, CheckpointEvery: *ckptEvery, Resume: resuming,
	}
	startStep := -1
	if !*quiet {
		fmt.Fprintf(progress, "%s: %d parameters, %s tokenizer (%d tokens), %d train / %d val tokens, %d steps × %d×%d tokens\n",
			m.Config.Arch, m.Weights.Count(), m.Tokenizer.Kind(), m.Tokenizer.VocabSize(), len(train), len(val), *steps, *batch, *seqLen)
		tc.Progress = func(p llm.Progress) {
			if startStep < 0 {
				startStep = p.Step - 1
			}
			if math.IsNaN(p.ValLoss) && p.Step != p.Steps {
				return
			}
			done := p.Step - startStep
			eta := time.Duration(float64(p.Elapsed) / float64(done) * float64(p.Steps-p.Step))
			fmt.Fprintf(progress, "step %*d/%d  loss %.4f  val %s  lr %.2e  %.0f tok/s  elapsed %s  ETA %s\n",
				len(strconv.Itoa(p.Steps)), p.Step, p.Steps, p.Loss, fmtLoss(p.ValLoss), p.LR, p.TokensPerSec,
				fmtDuration(p.Elapsed), fmtDuration(eta))
		}
	}
	// Ctrl-C stops training after the current step and checkpoints it, so
	// `divellm pretrain --resume` continues where it stopped.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tc.Context = ctx
	res, err := m.Train(train, val, tc)
	if errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("interrupted at step %d; checkpoint saved in %s: continue with --resume", res.Steps, *out)
	}
	if err != nil {
		return nil, err
	}
	valLoss := res.ValLoss
	if math.IsNaN(valLoss) { // nothing left to train after a resume: report the checkpoint's loss
		valLoss = res.InitialValLoss
	}
	abs, _ := filepath.Abs(*out)
	r := pretrainResult{
		TrainLoss: jsonFloat(res.TrainLoss), ValLoss: jsonFloat(valLoss), TokensPerSec: jsonFloat(res.TokensPerSec),
		Steps: res.Steps, Seconds: jsonFloat(res.Seconds), ValPerplexity: jsonFloat(math.Exp(valLoss)),
		InitialValLoss: jsonFloat(res.InitialValLoss), Params: m.Weights.Count(), Seed: *seed, Out: abs,
		Arch: string(m.Config.Arch), Tokenizer: m.Tokenizer.Kind(), VocabSize: m.Config.VocabSize,
		TrainTokens: len(train), ValTokens: len(val), Resumed: resuming, SeqLen: *seqLen, Batch: *batch,
	}
	if len(res.Losses) == 0 {
		r.TrainLoss = jsonFloat(math.NaN())
	}
	if resuming {
		r.ResumedFrom = res.Steps - len(res.Losses)
	}
	// The result travels with the checkpoint (models/*/train_result.json).
	if err := writeRecord(*out, "train_result.json", r, &r.Out); err != nil {
		return nil, err
	}
	return r, nil
}

// parseTokenizerSpec reads --tokenizer: "char" (0) or "bpe=N" (N).
func parseTokenizerSpec(s string) (int, error) {
	if s == "char" {
		return 0, nil
	}
	if v, ok := strings.CutPrefix(s, "bpe="); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 257 || n > maxBPEVocab {
			return 0, usagef("--tokenizer %s: the BPE vocabulary size must be a whole number from 257 (256 bytes + <|endoftext|>) to %d", s, maxBPEVocab)
		}
		return n, nil
	}
	return 0, usagef("--tokenizer %q: want char or bpe=VOCABSIZE", s)
}

// splitTokens encodes the training and validation text. Without a validation file the
// last 5% of the corpus lines are held out; when those are too short for one validation
// window (or the corpus is one line), the last tokens are held out instead.
func splitTokens(m *llm.Model, corpus, valText string, haveVal bool, seqLen int) (train, val []int, err error) {
	window := seqLen + 1 // GPT: seq-len inputs + the next token
	if m.Config.Arch == llm.BERT {
		window = seqLen - 2 // BERT: [CLS] window [SEP]
	}
	enc := func(s string) []int { return tokenizer.IDs(m.Tokenizer.Encode(s)) }
	if haveVal {
		train, val = enc(corpus), enc(valText)
		if len(val) < window {
			return nil, nil, usagef("--val has %d tokens, fewer than one window of %d (lower --seq-len)", len(val), window)
		}
	} else {
		lines := strings.SplitAfter(corpus, "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		k := max(1, len(lines)/20)
		if len(lines) >= 2 {
			train = enc(strings.Join(lines[:len(lines)-k], ""))
			val = enc(strings.Join(lines[len(lines)-k:], ""))
		}
		if len(val) < window {
			all := enc(corpus)
			hold := max(window, len(all)/20)
			if len(all)-hold < window+1 {
				return nil, nil, usagef("the corpus has %d tokens: too few for a training and a validation window of %d (lower --seq-len or add text)", len(all), window)
			}
			train, val = all[:len(all)-hold], all[len(all)-hold:]
		}
	}
	if len(train) < window+1 {
		return nil, nil, usagef("the corpus has %d training tokens, fewer than one window of %d (lower --seq-len or add text)", len(train), window+1)
	}
	return train, val, nil
}

func fmtLoss(v float64) string {
	if math.IsNaN(v) {
		return "  -   "
	}
	return fmt.Sprintf("%.4f", v)
}

// fmtDuration prints short durations with a tenth of a second, longer ones to the second.
func fmtDuration(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return d.Round(time.Second).String()
}
