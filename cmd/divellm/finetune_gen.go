package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/divellm/divellm/lessons/week2/align"
	"github.com/divellm/divellm/llm"
)

// `divellm finetune --task sft` and `--task dpo` (the generation half of week 2), on the
// flags finetune.go declares. The tasks train a GPT with lessons/week2/align:
//
//   - sft: JSONL lines {"question","answer"} (the question is wrapped as 问：…答：) or
//     {"prompt","answer"} (the prompt as given); extra fields, as in lessons/data/sft, are
//     ignored. The loss counts the answer's tokens (and the end-of-text token) only.
//   - dpo: JSONL lines {"prompt","chosen","rejected"} (or "question" instead of "prompt").
//     The reference model is --model as loaded (the starting policy); β is fixed at
//     align.DefaultBeta = 0.1.
//
// Defaults (flags left at 0): sft 4 epochs of 16 lines at lr 1e-3; dpo 2 epochs of 8 pairs
// at lr 5e-5. --lora-rank trains adapters and merges them into the saved weights; --freeze-layers
// freezes the embeddings and the lower blocks. --out is written with llm's Model.Save (the
// output-directory policy); the final metrics are the result (one JSON line with --json).

func init() {
	finetuneTasks["sft"] = finetuneSFT
	finetuneTasks["dpo"] = finetuneDPO
}

// genResult is what `finetune --task sft|dpo` prints.
type genResult struct {
	Task          string     `json:"task"`
	Out           string     `json:"out"`
	Mode          string     `json:"mode"` // full, freeze-N, lora-R
	TrainExamples int        `json:"train_examples"`
	EvalExamples  int        `json:"eval_examples"`
	Epochs        int        `json:"epochs"`
	Steps         int        `json:"steps"`
	BatchSize     int        `json:"batch_size"`
	LR            jsonFloat  `json:"lr"`
	Beta          *jsonFloat `json:"beta,omitempty"`
	Seed          int64      `json:"seed"`
	Params        int        `json:"params"`
	Trainable     int        `json:"trainable"`
	TrainLoss     jsonFloat  `json:"train_loss"` // mean of the last 10% of steps
	// SFT: the eval set's answer-only loss (mean NLL per answer token); DPO: the eval
	// pairs' DPO loss.
	EvalLossBefore jsonFloat `json:"eval_loss_before"`
	EvalLoss       jsonFloat `json:"eval_loss"`
	// DPO: the eval pairs' mean implicit reward margin β·Δ (0 before training: the policy is
	// the reference) and the share of pairs whose margin ends positive.
	EvalMarginBefore *jsonFloat `json:"eval_margin_before,omitempty"`
	EvalMargin       *jsonFloat `json:"eval_margin,omitempty"`
	EvalAccuracy     *jsonFloat `json:"eval_accuracy,omitempty"`
	Seconds          jsonFloat  `json:"seconds"`
	TokensPerSec     jsonFloat  `json:"tokens_per_sec"`
}

func (r genResult) writeText(w io.Writer) error {
	rows := [][]string{
		{"model", r.Out},
		{"fine-tuning", fmt.Sprintf("%s %s: %d of %d parameters trained", r.Task, r.Mode, r.Trainable, r.Params)},
		{"training", fmt.Sprintf("%d examples, %d epochs = %d steps of %d in %.1fs, train loss %s", r.TrainExamples, r.Epochs, r.Steps, r.BatchSize, float64(r.Seconds), fmtLoss(float64(r.TrainLoss)))},
	}
	if r.Task == "sft" {
		rows = append(rows, []string{"eval", fmt.Sprintf("%d examples: answer loss %s → %s", r.EvalExamples, fmtLoss(float64(r.EvalLossBefore)), fmtLoss(float64(r.EvalLoss)))})
	} else {
		rows = append(rows, []string{"eval", fmt.Sprintf("%d pairs: DPO loss %s → %s, margin %.4f → %.4f, positive margins %.4f (β %g)",
			r.EvalExamples, fmtLoss(float64(r.EvalLossBefore)), fmtLoss(float64(r.EvalLoss)),
			float64(*r.EvalMarginBefore), float64(*r.EvalMargin), float64(*r.EvalAccuracy), float64(*r.Beta))})
	}
	return writeTable(w, rows, 2)
}

func finetuneSFT(c *cmdCtx, f *finetuneFlags) (any, error) {
	train, err := align.ReadExamplesFile(f.Train)
	if err != nil {
		return nil, usagef("--train: %v", err)
	}
	eval, err := align.ReadExamplesFile(f.Eval)
	if err != nil {
		return nil, usagef("--eval: %v", err)
	}
	return finetuneGen(c, f, len(train), len(eval), func(m *llm.Model, o align.Options) (*align.Report, error) {
		// Tokenize before training so that a line too long is a usage error.
		if _, err := align.EncodeExamples(m, train, o.MaxLen); err != nil {
			return nil, usagef("--train: %v (raise --max-len or shorten it)", err)
		}
		if _, err := align.EncodeExamples(m, eval, o.MaxLen); err != nil {
			return nil, usagef("--eval: %v (raise --max-len or shorten it)", err)
		}
		return align.TrainSFT(m, train, eval, o)
	})
}

func finetuneDPO(c *cmdCtx, f *finetuneFlags) (any, error) {
	train, err := align.ReadPairsFile(f.Train)
	if err != nil {
		return nil, usagef("--train: %v", err)
	}
	eval, err := align.ReadPairsFile(f.Eval)
	if err != nil {
		return nil, usagef("--eval: %v", err)
	}
	return finetuneGen(c, f, len(train), len(eval), func(m *llm.Model, o align.Options) (*align.Report, error) {
		if _, err := align.EncodePairs(m, train, o.MaxLen); err != nil {
			return nil, usagef("--train: %v (raise --max-len or shorten it)", err)
		}
		if _, err := align.EncodePairs(m, eval, o.MaxLen); err != nil {
			return nil, usagef("--eval: %v (raise --max-len or shorten it)", err)
		}
		o.Beta = align.DefaultBeta
		return align.TrainDPO(m, train, eval, o)
	})
}

// finetuneGen loads the GPT, sets up full / frozen / LoRA training, runs train and saves.
func finetuneGen(c *cmdCtx, f *finetuneFlags, nTrain, nEval int, train func(*llm.Model, align.Options) (*align.Report, error)) (any, error) {
	m, err := loadModel(f.Model)
	if err != nil {
		return nil, err
	}
	if m.Config.Arch != llm.GPT {
		return nil, usagef("--model %s is a %s model; --task %s needs a GPT (decoder) model", f.Model, m.Config.Arch, f.Task)
	}
	if f.MaxLen > m.Config.MaxPos {
		return nil, usagef("--max-len %d exceeds the model's %d positions", f.MaxLen, m.Config.MaxPos)
	}
	if f.FreezeLayers > m.Config.Layers {
		return nil, usagef("--freeze-layers %d: the model has %d blocks", f.FreezeLayers, m.Config.Layers)
	}
	o := align.Options{Epochs: f.Epochs, BatchSize: f.BatchSize, LR: f.LR, Seed: uint64(f.Seed), MaxLen: f.MaxLen}
	ml := f.MaxLen
	if ml == 0 {
		ml = m.Config.MaxPos
	}
	rows := max(f.BatchSize, 16)
	if f.Task == "dpo" {
		rows = 2 * max(f.BatchSize, 8)
	}
	if err := checkMemory(fmt.Sprintf("%s on batches of %d×%d tokens", f.Task, rows, ml), trainingBytes(m.Config, rows, ml), "--batch-size or --max-len"); err != nil {
		return nil, err
	}
	mode := "full"
	switch {
	case f.LoRARank > 0:
		targets := "attention"
		mode = fmt.Sprintf("lora-%d", f.LoRARank)
		if f.LoRAAll {
			targets, mode = "all-linear", mode+"-all"
		}
		if err := m.AddLoRA(llm.LoRAConfig{Rank: f.LoRARank, Alpha: f.LoRAAlpha, Targets: targets, Seed: uint64(f.Seed)}); err != nil {
			return nil, err
		}
		o.Trainable = m.LoRATrainable
	case f.FreezeLayers > 0:
		mode = fmt.Sprintf("freeze-%d", f.FreezeLayers)
		o.Trainable = llm.FreezeLayers(m.Config, f.FreezeLayers)
	}
	if !f.Quiet {
		fmt.Fprintf(c.stderr, "%s: %s (%d parameters), %d train / %d eval examples\n", f.Task, f.Model, m.Weights.Count(), nTrain, nEval)
		o.Progress = func(p llm.Progress) {
			if p.ValLoss == p.ValLoss { // evaluated at this step
				fmt.Fprintf(c.stderr, "step %d/%d  loss %.4f  eval loss %.4f  %s\n", p.Step, p.Steps, p.Loss, p.ValLoss, fmtDuration(p.Elapsed))
			}
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o.Context = ctx
	rep, err := train(m, o)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, fmt.Errorf("interrupted: nothing was written to %s", f.Out)
		}
		return nil, err
	}
	if m.LoRA != nil {
		if err := m.MergeLoRA(); err != nil {
			return nil, err
		}
	}
	if err := m.Save(f.Out); err != nil {
		return nil, err
	}
	abs, _ := filepath.Abs(f.Out)
	k := max(1, len(rep.Curve.Loss)/10)
	tail := 0.0
	for _, v := range rep.Curve.Loss[len(rep.Curve.Loss)-k:] {
		tail += v
	}
	r := genResult{Task: f.Task, Out: abs, Mode: mode, TrainExamples: rep.Train, EvalExamples: rep.Eval,
		Epochs: rep.Epochs, Steps: rep.Steps, BatchSize: rep.BatchSize, LR: jsonFloat(rep.LR), Seed: f.Seed,
		Params: m.Weights.Count(), Trainable: rep.Trainable, TrainLoss: jsonFloat(tail / float64(k)),
		EvalLossBefore: jsonFloat(rep.EvalLossBefore), EvalLoss: jsonFloat(rep.EvalLossAfter),
		Seconds: jsonFloat(rep.Seconds), TokensPerSec: jsonFloat(rep.TokensSec)}
	if f.Task == "dpo" {
		p := func(v float64) *jsonFloat { j := jsonFloat(v); return &j }
		r.Beta = p(rep.Beta)
		r.EvalMarginBefore, r.EvalMargin = p(rep.EvalMarginBefore), p(rep.EvalMarginAfter)
		r.EvalAccuracy = p(rep.EvalAccuracyAfter)
	}
	return r, nil
}
