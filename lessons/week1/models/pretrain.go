package models

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/lessons/week1"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/tokenizer"
	"github.com/divellm/divellm/viz"
)

// PretrainConfig sets up a small causal-LM pretraining run that fits in a notebook cell.
type PretrainConfig struct {
	Model      llm.Config    // zero value: [DemoGPT] on the char vocabulary
	Steps      int           // optimiser steps for the schedule (default 300)
	BatchSize  int           // default 16
	SeqLen     int           // default 32
	LR         float64       // default 3e-3
	Seed       uint64        // model init and batches
	TimeBudget time.Duration // stop early (at a chunk boundary) after this long; 0 = no limit
	Chunk      int           // steps per Trainer.Run call (default 25): the budget is checked between chunks
	Dir        string        // if set, a checkpoint (model + optimiser state) is written here after each chunk
}

// DemoGPT is the in-notebook model: 2 layers, 4 heads, d_model 64, 64 positions.
func DemoGPT(vocab int) llm.Config {
	c := llm.TinyGPT(vocab)
	c.DModel, c.Heads, c.Layers, c.DFF, c.MaxPos = 64, 4, 2, 256, 64
	return c
}

// PretrainRun is a causal-LM pretraining run on the corpus with the char tokenizer. One
// llm.Trainer does every chunk: the step is compiled once and the optimiser state stays
// on the backend between chunks (no checkpoint round trip).
type PretrainRun struct {
	Config     PretrainConfig
	Model      *llm.Model
	Train, Val []int
	trainer    *llm.Trainer
	progress   func(llm.Progress)
}

// NewPretrainRun tokenizes the corpus and builds a freshly initialised model.
func NewPretrainRun(cfg PretrainConfig) (*PretrainRun, error) {
	tok := week1.CharZH()
	if cfg.Model.Arch == "" {
		cfg.Model = DemoGPT(tok.VocabSize())
	}
	if cfg.Model.VocabSize != tok.VocabSize() {
		return nil, fmt.Errorf("pretrain: model vocabulary %d, char tokenizer has %d", cfg.Model.VocabSize, tok.VocabSize())
	}
	if cfg.Steps == 0 {
		cfg.Steps = 300
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 16
	}
	if cfg.SeqLen == 0 {
		cfg.SeqLen = 32
	}
	if cfg.LR == 0 {
		cfg.LR = 3e-3
	}
	if cfg.Chunk == 0 {
		cfg.Chunk = 25
	}
	m, err := llm.New(cfg.Model, llm.HeadSet{}, cfg.Seed)
	if err != nil {
		return nil, err
	}
	m.Tokenizer = tok
	t, v := data.Corpus()
	run := &PretrainRun{Config: cfg, Model: m, Train: tokenizer.IDs(tok.Encode(t)), Val: tokenizer.IDs(tok.Encode(v))}
	src, err := m.NewLMSource(run.Train, cfg.BatchSize, cfg.SeqLen, 0, cfg.Seed)
	if err != nil {
		return nil, err
	}
	val, err := m.LMEvalBatches(run.Val, cfg.BatchSize, cfg.SeqLen, 0, cfg.Seed, 4)
	if err != nil {
		return nil, err
	}
	run.trainer, err = m.NewTrainer(llm.TrainConfig{
		Steps: cfg.Steps, BatchSize: cfg.BatchSize, SeqLen: cfg.SeqLen, LR: cfg.LR, Seed: cfg.Seed,
		EvalEvery: 25, CheckpointDir: cfg.Dir, CheckpointEvery: cfg.Chunk,
		Progress: func(p llm.Progress) {
			if run.progress != nil {
				run.progress(p)
			}
		},
	}, src, val)
	if err != nil {
		return nil, err
	}
	return run, nil
}

// Close releases the run (nothing is left on disk unless Config.Dir was set).
func (r *PretrainRun) Close() error { return nil }

// PretrainResult summarises a run.
type PretrainResult struct {
	Steps          int
	StoppedEarly   bool // the time budget ran out before Steps
	InitialValLoss float64
	ValLoss        float64
	Losses         []float64
	Elapsed        time.Duration
	TokensPerSec   float64
}

// Run trains in chunks of Config.Chunk steps of one trainer until Config.Steps or the
// time budget, calling progress after every step. Validation loss is measured every 25
// steps. A second Run continues where the first stopped.
func (r *PretrainRun) Run(progress func(llm.Progress)) (*PretrainResult, error) {
	c := r.Config
	r.progress = progress
	start := time.Now()
	res := &PretrainResult{InitialValLoss: math.NaN(), ValLoss: math.NaN()}
	for !r.trainer.Done() {
		tr, err := r.trainer.Run(context.Background(), c.Chunk)
		if err != nil {
			return nil, err
		}
		res.InitialValLoss, res.Steps, res.Losses, res.ValLoss = tr.InitialValLoss, tr.Steps, tr.Losses, tr.ValLoss
		if c.TimeBudget > 0 && time.Since(start) > c.TimeBudget && !r.trainer.Done() {
			res.StoppedEarly = true
			break
		}
	}
	res.Elapsed = time.Since(start)
	res.TokensPerSec = float64(res.Steps*c.BatchSize*c.SeqLen) / res.Elapsed.Seconds()
	return res, nil
}

// Sample generates from the run's model (temperature 0.8, top-k 20, fixed seed).
func (r *PretrainRun) Sample(prompt string, tokens int) (string, error) {
	g, err := r.Model.Generate(prompt, llm.GenerateOptions{MaxTokens: tokens, Temperature: 0.8, TopK: 20, Seed: 1})
	if err != nil {
		return "", err
	}
	return g.Text, nil
}

// LossView returns a live loss chart sized for the run and the progress callback that
// feeds it: pass the callback to Run, then call Done on the chart.
func (r *PretrainRun) LossView(title string) (*viz.LiveLoss, func(llm.Progress)) {
	l := viz.NewLiveLoss(title, r.Config.Steps)
	if l.Progress != nil {
		l.Progress.TokensPerStep = r.Config.BatchSize * r.Config.SeqLen
	}
	return l, func(p llm.Progress) { l.Add(p.Step, p.Loss, p.ValLoss) }
}
