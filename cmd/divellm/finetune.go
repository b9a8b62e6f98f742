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
	"strings"
	"syscall"

	"github.com/divellm/divellm/lessons/week2"
	"github.com/divellm/divellm/llm"
)

// `divellm finetune` adapts a pretrained model to a task. The command declares the flags
// every task shares (finetuneFlags), applies the common rules (the output-directory
// policy, --out not the model, a finite --lr) and hands over to the task's runner in
// finetuneTasks: "classify" here, "sft" and "dpo" registered by finetune_gen.go.

func init() {
	define(&command{name: "finetune", summary: "fine-tune a pretrained model: classify (BERT/GPT head), sft or dpo (GPT); full, frozen lower layers or LoRA",
		usage: "--model DIR --train FILE --eval FILE --out DIR [--task classify|sft|dpo] [--lora-rank R] [--freeze-layers N] [--epochs N] [--lr X] [--json]",
		run:   finetuneCmd})
}

// finetuneFlags: the flags every `divellm finetune` task shares. Zero values of Epochs,
// BatchSize, LR, MaxLen and LoRAAlpha mean "the task's default".
type finetuneFlags struct {
	Model, Train, Eval, Out, Task string
	LoRARank                      int
	LoRAAlpha                     float64
	LoRAAll                       bool // adapters on all linear layers, not only attention projections
	FreezeLayers                  int
	Epochs                        int
	BatchSize                     int
	LR                            float64
	Seed                          int64
	MaxLen                        int

	// Test (classify only) is a second labelled set, scored once after training.
	Test string
	// Augment (classify only): rewrite each training example on the fly (week2.Augment).
	Augment bool

	// ModelDir is --model resolved to its directory (set before the runner is called).
	ModelDir string
	// Quiet: no progress lines.
	Quiet bool
}

// finetuneTasks maps --task to its runner; week2-gen registers "sft" and "dpo" from
// finetune_gen.go in an init(). A runner writes progress to c.stderr (unless f.Quiet)
// and returns its result (one JSON line under --json).
var finetuneTasks = map[string]func(c *cmdCtx, f *finetuneFlags) (any, error){"classify": finetuneClassify}

func finetuneCmd(c *cmdCtx) (any, error) {
	f := &finetuneFlags{}
	model := c.String("model", "", modelUsage+" (required)")
	train := c.String("train", "", "training examples, JSONL (classify: {\"text\", \"label\"} per line) (required)")
	eval := c.String("eval", "", "evaluation examples, same format (required)")
	out := c.String("out", "", "directory to write the fine-tuned model to: new, empty, or a checkpoint divellm wrote (required)")
	task := c.String("task", "classify", "what to fine-tune for: "+strings.Join(sortedKeys(finetuneTasks), ", "))
	rank := c.Int("lora-rank", 0, 0, 1024, "train rank-R LoRA adapters (and the task head) instead of every weight (0 = full fine-tuning)")
	alpha := c.Float("lora-alpha", 0, 0, 1e6, "LoRA α: the update is scaled by α/R (0 = 2·R)")
	all := c.Bool("lora-all", false, "adapters on every linear layer, not only the attention projections")
	freeze := c.Int("freeze-layers", 0, 0, llm.MaxLayers, "full fine-tuning: freeze the embeddings and the lower N blocks")
	epochs := c.Int("epochs", 0, 0, 1000, "passes over the training set (0 = the task's default)")
	batch := c.Int("batch-size", 0, 0, 4096, "examples per step (0 = the task's default)")
	lr := c.Float("lr", 0, 0, 10, "peak learning rate (0 = the task's default)")
	seed := c.Int("seed", 1, 0, math.MaxInt32, "seed of the new head, the adapters and the batch order")
	maxLen := c.Int("max-len", 0, 0, llm.MaxPositions, "tokens per example, special tokens included (0 = the task's default)")
	quiet := c.Bool("quiet", false, "no progress lines on stderr")
	test := c.String("test", "", "classify: a second labelled set (JSONL), scored once after training and reported as \"test\"; it never steers training")
	augment := c.Bool("augment", false, "classify: rewrite each training example on the fly (metadata prefix dropped, clauses shuffled, 10% of tokens masked)")
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, usagef("unexpected argument %q (give the data with --train FILE --eval FILE)", rest[0])
	}
	f.Model, f.Train, f.Eval, f.Out, f.Task, f.Test = *model, *train, *eval, *out, *task, *test
	f.Augment = *augment
	f.LoRARank, f.LoRAAlpha, f.LoRAAll, f.FreezeLayers = *rank, *alpha, *all, *freeze
	f.Epochs, f.BatchSize, f.LR, f.Seed, f.MaxLen, f.Quiet = *epochs, *batch, *lr, int64(*seed), *maxLen, *quiet
	run, ok := finetuneTasks[f.Task]
	if !ok {
		return nil, usagef("--task %q: want one of %s", f.Task, strings.Join(sortedKeys(finetuneTasks), ", "))
	}
	if math.IsNaN(f.LR) || math.IsInf(f.LR, 0) || f.LR < 0 {
		return nil, usagef("--lr %g must be a positive finite number", f.LR)
	}
	if f.LoRAAll && f.LoRARank == 0 {
		return nil, usagef("--lora-all needs --lora-rank R")
	}
	if f.LoRAAlpha > 0 && f.LoRARank == 0 {
		return nil, usagef("--lora-alpha needs --lora-rank R")
	}
	if f.FreezeLayers > 0 && f.LoRARank > 0 {
		return nil, usagef("--freeze-layers is for full fine-tuning; with --lora-rank every base weight is frozen already")
	}
	if f.Test != "" && f.Task != "classify" {
		return nil, usagef("--test is for --task classify")
	}
	if f.Augment && f.Task != "classify" {
		return nil, usagef("--augment is for --task classify")
	}
	if f.ModelDir, err = resolveModel("model", f.Model); err != nil {
		return nil, err
	}
	for _, p := range []struct{ flag, path string }{{"train", f.Train}, {"eval", f.Eval}, {"test", f.Test}} {
		if p.flag == "test" && p.path == "" {
			continue
		}
		if err := checkInputFile(p.flag, p.path); err != nil {
			return nil, err
		}
	}
	if err := checkOutDir("out", f.Out, f.ModelDir); err != nil {
		return nil, err
	}
	return run(c, f)
}

// checkInputFile refuses a missing --flag FILE, or one that is not a regular file, as a
// usage error before any model is loaded.
func checkInputFile(flag, path string) error {
	if strings.TrimSpace(path) == "" {
		return usagef("--%s FILE is required", flag)
	}
	st, err := os.Stat(path)
	if err != nil {
		return usagef("--%s: %v", flag, err)
	}
	if !st.Mode().IsRegular() {
		return usagef("--%s %s is %s, not a data file", flag, path, fileKind(st.Mode()))
	}
	return nil
}

// classifyResult is what `finetune --task classify` prints: the final metrics on --eval.
type classifyResult struct {
	Task         string      `json:"task"`
	Out          string      `json:"out"`
	Mode         string      `json:"mode"` // full, freeze-N, lora-R
	Accuracy     jsonFloat   `json:"accuracy"`
	MacroF1      jsonFloat   `json:"macro_f1"`
	EvalLoss     jsonFloat   `json:"eval_loss"`
	TrainLoss    jsonFloat   `json:"train_loss"` // mean of the last 10% of steps
	Labels       []string    `json:"labels"`
	Precision    []jsonFloat `json:"precision"`
	Recall       []jsonFloat `json:"recall"`
	F1           []jsonFloat `json:"f1"`
	Support      []int       `json:"support"`
	Confusion    [][]int     `json:"confusion"`
	EvalExamples int         `json:"eval_examples"`
	TrainExamps  int         `json:"train_examples"`
	Epochs       int         `json:"epochs"`
	Steps        int         `json:"steps"`
	BatchSize    int         `json:"batch_size"`
	LR           jsonFloat   `json:"lr"`
	MaxLen       int         `json:"max_len"`
	Seed         int64       `json:"seed"`
	Params       int         `json:"params"`
	Trainable    int         `json:"trainable"`
	Seconds      jsonFloat   `json:"seconds"`
	CPUSeconds   jsonFloat   `json:"cpu_seconds"`
	Augment      bool        `json:"augment"`
	Test         *setMetrics `json:"test,omitempty"`
}

// setMetrics are the scores on one more labelled set (--test).
type setMetrics struct {
	File      string      `json:"file"`
	Examples  int         `json:"examples"`
	Accuracy  jsonFloat   `json:"accuracy"`
	MacroF1   jsonFloat   `json:"macro_f1"`
	Precision []jsonFloat `json:"precision"`
	Recall    []jsonFloat `json:"recall"`
	F1        []jsonFloat `json:"f1"`
	Confusion [][]int     `json:"confusion"`
}

func (r classifyResult) writeText(w io.Writer) error {
	rows := [][]string{
		{"model", r.Out},
		{"fine-tuning", fmt.Sprintf("%s: %d of %d parameters trained (%.2f%%)", r.Mode, r.Trainable, r.Params, 100*float64(r.Trainable)/float64(r.Params))},
		{"training", fmt.Sprintf("%d examples, %d epochs = %d steps of %d in %.1fs (CPU %.1fs), train loss %s", r.TrainExamps, r.Epochs, r.Steps, r.BatchSize, float64(r.Seconds), float64(r.CPUSeconds), fmtLoss(float64(r.TrainLoss)))},
		{"eval", fmt.Sprintf("%d examples: accuracy %.4f, macro-F1 %.4f, loss %s", r.EvalExamples, float64(r.Accuracy), float64(r.MacroF1), fmtLoss(float64(r.EvalLoss)))},
	}
	if r.Test != nil {
		rows = append(rows, []string{"test", fmt.Sprintf("%s, %d examples: accuracy %.4f, macro-F1 %.4f", r.Test.File, r.Test.Examples, float64(r.Test.Accuracy), float64(r.Test.MacroF1))})
	}
	if err := writeTable(w, rows, 2); err != nil {
		return err
	}
	per := [][]string{{"label", "precision", "recall", "f1", "support"}}
	for i, l := range r.Labels {
		per = append(per, []string{l, fmt.Sprintf("%.4f", float64(r.Precision[i])), fmt.Sprintf("%.4f", float64(r.Recall[i])), fmt.Sprintf("%.4f", float64(r.F1[i])), fmt.Sprint(r.Support[i])})
	}
	return writeTable(w, per, 2)
}

func finetuneClassify(c *cmdCtx, f *finetuneFlags) (any, error) {
	train, err := week2.ReadExamples(f.Train)
	if err != nil {
		return nil, usagef("--train: %v", err)
	}
	eval, err := week2.ReadExamples(f.Eval)
	if err != nil {
		return nil, usagef("--eval: %v", err)
	}
	var test []week2.Example
	if f.Test != "" {
		if test, err = week2.ReadExamples(f.Test); err != nil {
			return nil, usagef("--test: %v", err)
		}
	}
	// Labels unknown to the training set are refused before the model loads.
	labels := week2.LabelOrder(train)
	if _, err := week2.ClassIndex(eval, labels, "--eval"); err != nil {
		return nil, usagef("%v (every eval label must occur in --train)", err)
	}
	if _, err := week2.ClassIndex(test, labels, "--test"); err != nil {
		return nil, usagef("%v (every test label must occur in --train)", err)
	}
	m, err := loadModel(f.Model)
	if err != nil {
		return nil, err
	}
	if m.Config.Arch != llm.BERT && m.Config.Arch != llm.GPT {
		return nil, usagef("--model %s is a %s model; classify needs a BERT or GPT model", f.Model, m.Config.Arch)
	}
	if m.Heads().Classifier {
		if _, err := week2.ClassIndex(train, week2.ModelLabels(m), "--train"); err != nil {
			return nil, usagef("--model already has a classifier: %v", err)
		}
		labels = nil // keep the model's own order
	}
	o := week2.Options{Labels: labels, LoRARank: f.LoRARank, LoRAAlpha: f.LoRAAlpha, LoRAAll: f.LoRAAll,
		FreezeLayers: f.FreezeLayers, Epochs: f.Epochs, BatchSize: f.BatchSize, LR: f.LR, Seed: uint64(f.Seed), MaxLen: f.MaxLen,
		Augment: f.Augment}
	if f.MaxLen > m.Config.MaxPos {
		return nil, usagef("--max-len %d exceeds the model's %d positions", f.MaxLen, m.Config.MaxPos)
	}
	if f.FreezeLayers > m.Config.Layers {
		return nil, usagef("--freeze-layers %d: the model has %d blocks", f.FreezeLayers, m.Config.Layers)
	}
	ml := f.MaxLen
	if ml == 0 {
		ml = min(128, m.Config.MaxPos)
	}
	bs := max(f.BatchSize, 32)
	if err := checkMemory(fmt.Sprintf("fine-tuning on batches of %d×%d tokens", bs, ml), trainingBytes(m.Config, bs, ml), "--batch-size or --max-len"); err != nil {
		return nil, err
	}
	if !f.Quiet {
		o.Progress = func(s week2.Step) {
			if math.IsNaN(s.EvalAccuracy) {
				return
			}
			fmt.Fprintf(c.stderr, "step %d/%d  epoch %.2f  loss %.4f  eval loss %.4f  accuracy %.4f  macro-F1 %.4f  %s\n",
				s.Step, s.Steps, s.Epoch, s.Loss, s.EvalLoss, s.EvalAccuracy, s.EvalMacroF1, fmtDuration(s.Elapsed))
		}
		fmt.Fprintf(c.stderr, "classify: %s (%d parameters), %d train / %d eval examples\n", f.Model, m.Weights.Count(), len(train), len(eval))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o.Context = ctx
	run, err := week2.FineTune(m, train, eval, o)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("interrupted: nothing was written to %s", f.Out)
		}
		return nil, err
	}
	mode := "full"
	switch {
	case f.LoRARank > 0:
		mode = fmt.Sprintf("lora-%d", f.LoRARank)
		if f.LoRAAll {
			mode += "-all"
		}
	case f.FreezeLayers > 0:
		mode = fmt.Sprintf("freeze-%d", f.FreezeLayers)
	}
	abs, _ := filepath.Abs(f.Out)
	met := run.Eval
	last := run.History[len(run.History)-1]
	r := classifyResult{Task: "classify", Out: abs, Mode: mode, Accuracy: jsonFloat(met.Accuracy), MacroF1: jsonFloat(met.MacroF1),
		EvalLoss: jsonFloat(last.EvalLoss), TrainLoss: jsonFloat(tailMean(run.History)), Labels: met.Labels,
		Precision: jsonFloats(met.Precision), Recall: jsonFloats(met.Recall), F1: jsonFloats(met.F1), Support: met.Support,
		Confusion: met.Confusion, EvalExamples: len(eval), TrainExamps: len(train), Epochs: run.Epochs, Steps: run.Steps,
		BatchSize: run.BatchSize, LR: jsonFloat(run.LR), MaxLen: run.MaxLen, Seed: f.Seed, Params: run.Params,
		Trainable: run.Trainable, Seconds: jsonFloat(run.Seconds), CPUSeconds: jsonFloat(run.CPUSeconds), Augment: f.Augment}
	if test != nil {
		tm, err := week2.EvaluateModel(m, test, run.MaxLen)
		if err != nil {
			return nil, err
		}
		r.Test = &setMetrics{File: filepath.Base(f.Test), Examples: len(test), Accuracy: jsonFloat(tm.Accuracy), MacroF1: jsonFloat(tm.MacroF1),
			Precision: jsonFloats(tm.Precision), Recall: jsonFloats(tm.Recall), F1: jsonFloats(tm.F1), Confusion: tm.Confusion}
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, r); err != nil {
		return nil, err
	}
	hist, err := json.Marshal(run.TrainHistory())
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{"eval_result.json": buf.Bytes(), "train_history.json": append(hist, '\n')}
	if err := run.Export(f.Out, f.Model, files); err != nil {
		return nil, err
	}
	return r, nil
}

// tailMean is the mean training loss of the last 10% of steps (at least one).
func tailMean(h []week2.Step) float64 {
	k := max(1, len(h)/10)
	s := 0.0
	for _, st := range h[len(h)-k:] {
		s += st.Loss
	}
	return s / float64(k)
}

func jsonFloats(v []float64) []jsonFloat {
	out := make([]jsonFloat, len(v))
	for i, x := range v {
		out[i] = jsonFloat(x)
	}
	return out
}
