package main

import (
	"bytes"
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

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/safetensors"
	"github.com/divellm/divellm/llm/tokenizer"
)

func init() {
	register("pretrain", "train a small GPT or BERT from a text file: pretrain --arch gpt|bert --corpus FILE --steps N --out DIR", pretrainCmd)
}

// pretrainResult is the JSON line pretrain prints last on stdout.
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
}

// progressOut receives pretrain's progress lines (a variable so tests can capture them).
var progressOut io.Writer = os.Stderr

func pretrainCmd(args []string, w io.Writer) error {
	fs := newFlags("pretrain")
	arch := fs.String("arch", "gpt", "gpt (causal LM) or bert (masked LM)")
	corpusPath := fs.String("corpus", "", "UTF-8 training text")
	steps := fs.Int("steps", 0, "optimiser steps")
	out := fs.String("out", "", "checkpoint directory to write")
	seed := fs.Uint64("seed", 1, "seed for initialisation, batches, masking and dropout")
	dModel := fs.Int("d-model", 128, "hidden size")
	heads := fs.Int("heads", 4, "attention heads")
	layers := fs.Int("layers", 4, "transformer blocks")
	dFF := fs.Int("d-ff", 0, "feed-forward width (default 4·d-model)")
	maxPos := fs.Int("max-pos", 0, "max positions (default max(128, seq-len))")
	seqLen := fs.Int("seq-len", 64, "tokens per training sequence (BERT: including [CLS] and [SEP])")
	batch := fs.Int("batch", 16, "sequences per step")
	lr := fs.Float64("lr", 1e-3, "peak learning rate")
	warmup := fs.Int("warmup", 0, "linear warm-up steps (default steps/20)")
	dropout := fs.Float64("dropout", 0, "dropout probability")
	valPath := fs.String("val", "", "validation text (default: the last 5% of the corpus lines)")
	tokSpec := fs.String("tokenizer", "char", "char, or bpe=VOCABSIZE (byte-level BPE trained on the corpus; GPT only)")
	resume := fs.Bool("resume", false, "continue the run checkpointed in --out")
	quiet := fs.Bool("quiet", false, "no progress lines on stderr")
	evalEvery := fs.Int("eval-every", 0, "steps between validation losses (default steps/10)")
	ckptEvery := fs.Int("checkpoint-every", 0, "steps between checkpoints (default: every evaluation)")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q (pass the text with --corpus FILE)", rest[0])
	}
	var a llm.Arch
	switch *arch {
	case "gpt", "gpt2":
		a = llm.GPT
	case "bert":
		a = llm.BERT
	default:
		return usagef("--arch %q: want gpt or bert", *arch)
	}
	if *steps <= 0 {
		return usagef("--steps N (positive) is required")
	}
	if *out == "" {
		return usagef("--out DIR is required")
	}
	if *batch <= 0 || *seqLen < 4 || *lr <= 0 || *warmup < 0 || *evalEvery < 0 || *ckptEvery < 0 {
		return usagef("--batch and --lr must be positive, --seq-len at least 4, --warmup/--eval-every/--checkpoint-every ≥ 0")
	}
	if *dropout < 0 || *dropout >= 1 {
		return usagef("--dropout %g must be in [0, 1)", *dropout)
	}
	bpeVocab, err := parseTokenizerSpec(*tokSpec)
	if err != nil {
		return err
	}
	if bpeVocab > 0 && a == llm.BERT {
		return usagef("--tokenizer bpe is for GPT only: a trained BPE has no [CLS]/[SEP]/[MASK] ids for BERT; use --tokenizer char")
	}
	if err := checkOutDir(*out); err != nil {
		return err
	}
	corpus, err := readTextFile("corpus", *corpusPath)
	if err != nil {
		return err
	}
	valText := ""
	if *valPath != "" {
		if valText, err = readTextFile("val", *valPath); err != nil {
			return err
		}
	}

	// The model: a fresh one, or the checkpoint in --out when resuming.
	var m *llm.Model
	resuming := false
	if *resume {
		if data, err := os.ReadFile(filepath.Join(*out, "trainer_state.json")); err == nil {
			var st struct {
				Step int `json:"global_step"`
			}
			if err := json.Unmarshal(data, &st); err != nil {
				return usagef("--resume: %s/trainer_state.json: %v", *out, err)
			}
			if st.Step > *steps {
				return usagef("--resume: the checkpoint is at step %d, beyond --steps %d", st.Step, *steps)
			}
			if m, err = llm.Load(*out); err != nil {
				return usagef("--resume: %v", err)
			}
			if m.Config.Arch != a {
				return usagef("--resume: %s holds a %s model, not --arch %s", *out, m.Config.Arch, *arch)
			}
			if m.Tokenizer == nil {
				return usagef("--resume: %s has no tokenizer files", *out)
			}
			resuming = true
			if !*quiet {
				fmt.Fprintf(progressOut, "resuming from %s (its config and tokenizer; model-size flags are ignored)\n", *out)
			}
		} else if !*quiet {
			fmt.Fprintf(progressOut, "--resume: no checkpoint in %s yet, starting fresh\n", *out)
		}
	}
	if m == nil {
		var tok tokenizer.Tokenizer
		if bpeVocab > 0 {
			b, err := tokenizer.TrainBPE(corpus+valText, bpeVocab, tokenizer.BPEOptions{})
			if err != nil {
				return usagef("--tokenizer: %v", err)
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
			return usagef("--seq-len %d exceeds --max-pos %d", *seqLen, cfg.MaxPos)
		}
		if err := cfg.Validate(); err != nil {
			return usagef("%v", err)
		}
		if m, err = llm.New(cfg, headSet, *seed); err != nil {
			return usagef("%v", err)
		}
		m.Tokenizer = tok
	} else if *seqLen > m.Config.MaxPos {
		return usagef("--seq-len %d exceeds the checkpoint's %d positions", *seqLen, m.Config.MaxPos)
	}

	train, val, err := splitTokens(m, corpus, valText, *valPath != "", *seqLen)
	if err != nil {
		return err
	}
	tc := llm.TrainConfig{
		Steps: *steps, BatchSize: *batch, SeqLen: *seqLen, LR: *lr, WarmupSteps: *warmup, Seed: *seed,
		EvalEvery: *evalEvery, CheckpointDir: *out, CheckpointEvery: *ckptEvery, Resume: resuming,
	}
	startStep := -1
	if !*quiet {
		fmt.Fprintf(progressOut, "%s: %d parameters, %s tokenizer (%d tokens), %d train / %d val tokens, %d steps × %d×%d tokens\n",
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
			fmt.Fprintf(progressOut, "step %*d/%d  loss %.4f  val %s  lr %.2e  %.0f tok/s  elapsed %s  ETA %s\n",
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
		return fmt.Errorf("interrupted at step %d; checkpoint saved in %s: continue with --resume", res.Steps, *out)
	}
	if err != nil {
		return err
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
		TrainTokens: len(train), ValTokens: len(val), Resumed: resuming,
	}
	if len(res.Losses) == 0 {
		r.TrainLoss = jsonFloat(math.NaN())
	}
	if resuming {
		r.ResumedFrom = res.Steps - len(res.Losses)
	}
	// The result travels with the checkpoint (models/*/train_result.json).
	var buf bytes.Buffer
	if err := writeJSON(&buf, r); err != nil {
		return err
	}
	if err := safetensors.WriteFileInDir(*out, "train_result.json", buf.Bytes()); err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// parseTokenizerSpec reads --tokenizer: "char" (0) or "bpe=N" (N).
func parseTokenizerSpec(s string) (int, error) {
	if s == "char" {
		return 0, nil
	}
	if v, ok := strings.CutPrefix(s, "bpe="); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 257 {
			return 0, usagef("--tokenizer %s: the BPE vocabulary size must be an integer ≥ 257 (256 bytes + <|endoftext|>)", s)
		}
		return n, nil
	}
	return 0, usagef("--tokenizer %q: want char or bpe=VOCABSIZE", s)
}

// checkOutDir refuses to replace a directory that is not a checkpoint: the checkpoint is
// written by swapping whole directories, which would delete unrelated files.
func checkOutDir(dir string) error {
	st, err := os.Stat(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return usagef("--out: %v", err)
	}
	if !st.IsDir() {
		return usagef("--out %s exists and is not a directory", dir)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return usagef("--out: %v", err)
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		return usagef("--out %s is a non-empty directory without config.json: refusing to replace it (pick a new directory)", dir)
	}
	return nil
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
