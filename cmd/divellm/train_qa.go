package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/lessons/week3/qa"
	"github.com/divellm/divellm/llm"
)

func init() {
	define(&command{name: "train-qa", summary: "fine-tune a BERT for extractive QA (span head qa_outputs) on SQuAD-style JSONL",
		usage: "--model DIR --train FILE --eval FILE --out DIR [--epochs N] [--lr X] [--max-len N] [--stride N]", run: trainQACmd})
}

// trainQAResult is train-qa's result (also written to DIR/train_result.json).
type trainQAResult struct {
	EM             jsonFloat   `json:"em"`
	F1             jsonFloat   `json:"f1"`
	EvalExamples   int         `json:"eval_examples"`
	TrainExamples  int         `json:"train_examples"`
	TrainFeatures  int         `json:"train_features"`
	Epochs         int         `json:"epochs"`
	Steps          int         `json:"steps"`
	TrainLoss      jsonFloat   `json:"train_loss"`
	InitialValLoss jsonFloat   `json:"initial_val_loss"`
	ValLoss        []jsonFloat `json:"val_loss"`
	Seconds        jsonFloat   `json:"seconds"`
	TokensPerSec   jsonFloat   `json:"tokens_per_sec"`
	LR             float64     `json:"lr"`
	MaxLen         int         `json:"max_len"`
	Stride         int         `json:"stride"`
	Seed           uint64      `json:"seed"`
	Base           string      `json:"base"`
	Out            string      `json:"out"`
}

func (r trainQAResult) writeText(w io.Writer) error {
	vals := make([]string, len(r.ValLoss))
	for i, v := range r.ValLoss {
		vals[i] = fmtLoss(float64(v))
	}
	return writeTable(w, [][]string{
		{"checkpoint", r.Out},
		{"base", r.Base},
		{"training", fmt.Sprintf("%d examples → %d windows, %d epochs = %d steps in %.1fs (%.0f tokens/s)", r.TrainExamples, r.TrainFeatures, r.Epochs, r.Steps, float64(r.Seconds), float64(r.TokensPerSec))},
		{"loss", fmt.Sprintf("train %s; eval %s → %s", fmtLoss(float64(r.TrainLoss)), fmtLoss(float64(r.InitialValLoss)), strings.Join(vals, " → "))},
		{"eval", fmt.Sprintf("exact match %.1f%%, F1 %.1f%% on %d examples", 100*float64(r.EM), 100*float64(r.F1), r.EvalExamples)},
	}, 2)
}

func trainQACmd(c *cmdCtx) (any, error) {
	modelName := c.String("model", "", "BERT checkpoint to fine-tune (a directory or a shipped model such as bert-tiny-zh; required)")
	trainPath := c.String("train", "", "SQuAD-style JSONL training examples (required)")
	evalPath := c.String("eval", "", "SQuAD-style JSONL evaluation examples, scored with exact match and F1 (required)")
	out := c.String("out", "", "checkpoint directory to write: new, empty, or a checkpoint divellm wrote (required)")
	epochs := c.Int("epochs", 4, 1, 1000, "passes over the training windows")
	lr := c.Float("lr", 5e-4, 0, 1, "peak learning rate (> 0)")
	batch := c.Int("batch", 32, 1, 4096, "windows per step")
	maxLen := c.Int("max-len", 0, 0, llm.MaxPositions, "tokens per window, question and specials included (0 = the model's positions)")
	stride := c.Int("stride", 0, 0, llm.MaxPositions, "context tokens shared by consecutive windows (0 = max-len/4)")
	maxAnswer := c.Int("max-answer-len", 64, 1, llm.MaxPositions, "longest answer in tokens when scoring the eval set")
	seed := c.Uint64("seed", 1, "seed for the QA head, the shuffling and the augmentation")
	quiet := c.Bool("quiet", false, "no progress lines on stderr")
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, usagef("unexpected argument %q", rest[0])
	}
	if *lr <= 0 {
		return nil, usagef("--lr %g must be positive", *lr)
	}
	if *seed == 0 {
		return nil, usagef("--seed must be ≥ 1")
	}
	dir, err := resolveModel("model", *modelName)
	if err != nil {
		return nil, err
	}
	if err := checkOutDir("out", *out, dir); err != nil {
		return nil, err
	}
	train, err := readQAFile("train", *trainPath)
	if err != nil {
		return nil, err
	}
	eval, err := readQAFile("eval", *evalPath)
	if err != nil {
		return nil, err
	}
	m, err := llm.Load(dir)
	if err != nil {
		return nil, err
	}
	if m.Config.Arch != llm.BERT || m.Tokenizer == nil {
		return nil, usagef("--model %s is a %s model: train-qa fine-tunes a BERT encoder with a tokenizer", *modelName, m.Config.Arch)
	}
	if *maxLen == 0 {
		*maxLen = m.Config.MaxPos
	}
	if *maxLen < 8 || *maxLen > m.Config.MaxPos {
		return nil, usagef("--max-len %d: want 8 to the model's %d positions", *maxLen, m.Config.MaxPos)
	}
	if *stride == 0 {
		*stride = *maxLen / 4
	}
	if *stride >= *maxLen/2 {
		return nil, usagef("--stride %d must be below half of --max-len %d", *stride, *maxLen)
	}
	if err := checkMemory(fmt.Sprintf("training on batches of %d×%d tokens", *batch, *maxLen),
		trainingBytes(m.Config, *batch, *maxLen), "--batch or --max-len"); err != nil {
		return nil, err
	}
	progress := c.stderr
	if *quiet {
		progress = io.Discard
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(progress, "train-qa: %s (%d parameters), %d training and %d eval examples, %d epochs, windows of %d tokens (stride %d)\n",
		*modelName, m.Weights.Count(), len(train), len(eval), *epochs, *maxLen, *stride)
	o := qa.Options{Epochs: *epochs, LR: *lr, BatchSize: *batch, MaxLen: *maxLen, Stride: *stride, Seed: *seed, MaxAnswerLen: *maxAnswer, Context: ctx}
	o.Progress = func(p llm.Progress) {
		if math.IsNaN(p.ValLoss) && p.Step%20 != 0 && p.Step != p.Steps {
			return
		}
		eta := time.Duration(float64(p.Elapsed) / float64(p.Step) * float64(p.Steps-p.Step))
		fmt.Fprintf(progress, "step %d/%d  loss %.4f  eval %s  span acc %.2f  lr %.2e  %.0f tok/s  ETA %s\n",
			p.Step, p.Steps, p.Loss, fmtLoss(p.ValLoss), p.Accuracy, p.LR, p.TokensPerSec, fmtDuration(eta))
	}
	res, err := qa.Train(m, train, eval, o)
	if errors.Is(err, context.Canceled) {
		return nil, fmt.Errorf("interrupted at step %d: nothing written (train-qa keeps no checkpoint)", res.Steps)
	}
	if err != nil {
		return nil, err
	}
	if err := m.Save(*out); err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(*out)
	r := trainQAResult{
		EM: jsonFloat(res.Eval.EM), F1: jsonFloat(res.Eval.F1), EvalExamples: res.Eval.N, TrainExamples: len(train),
		TrainFeatures: res.TrainFeatures, Epochs: res.Epochs, Steps: res.Steps, TrainLoss: jsonFloat(res.TrainLoss),
		InitialValLoss: jsonFloat(res.InitialValLoss), Seconds: jsonFloat(res.Seconds), TokensPerSec: jsonFloat(res.TokensPerSec),
		LR: *lr, MaxLen: *maxLen, Stride: *stride, Seed: *seed, Base: *modelName, Out: abs,
	}
	for _, v := range res.ValLoss {
		r.ValLoss = append(r.ValLoss, jsonFloat(v))
	}
	if err := writeRecord(*out, "train_result.json", r, &r.Out); err != nil {
		return nil, err
	}
	return r, nil
}

// readQAFile reads SQuAD-style JSONL examples given by --flagName.
func readQAFile(flagName, path string) ([]data.QAExample, error) {
	text, err := readTextFile(flagName, path)
	if err != nil {
		return nil, err
	}
	es, err := data.ParseQA(strings.NewReader(text))
	if err != nil {
		return nil, usagef("--%s %s: %v", flagName, filepath.Base(path), err)
	}
	if len(es) == 0 {
		return nil, usagef("--%s %s holds no examples", flagName, path)
	}
	return es, nil
}
