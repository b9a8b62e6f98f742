package main

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"sort"
	"time"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/backend"
)

func init() {
	defineSub("bench", &command{name: "train", summary: "time the tiny GPT's training step and forward pass on random tokens",
		usage: "[--shape tiny|large] [--steps N --warmup N --batch B --seq-len T]", run: benchTrain})
}

// benchTrainJSON is the output of `divellm bench train --json`. The first three keys are
// the contract with bench/gpt_vs_torch.sh.
type benchTrainJSON struct {
	TrainTokensPerSec   float64 `json:"train_tokens_per_sec"`   // batch·seq / median train step
	ForwardTokensPerSec float64 `json:"forward_tokens_per_sec"` // batch·seq / median forward pass
	Backend             string  `json:"backend"`

	TrainMSPerStep   float64 `json:"train_ms_per_step"`    // median fwd+bwd+AdamW step
	ForwardMSPerStep float64 `json:"forward_ms_per_batch"` // median forward pass (logits copied out)
	Steps            int     `json:"steps"`                // timed steps of each kind
	Warmup           int     `json:"warmup"`
	Batch            int     `json:"batch"`
	SeqLen           int     `json:"seq_len"`
	Params           int     `json:"params"`

	// Process CPU time (all threads) per step, median: the cost of a step when other
	// processes share the cores, comparable with bench/torch_gpt.py's *_cpu_ms. 0 where
	// not measured.
	TrainCPUMSPerStep   float64 `json:"train_cpu_ms_per_step"`
	ForwardCPUMSPerStep float64 `json:"forward_cpu_ms_per_batch"`
	// Fastest step: the least disturbed by other processes on a busy machine.
	TrainTokensPerSecBest   float64 `json:"train_tokens_per_sec_best"`
	ForwardTokensPerSecBest float64 `json:"forward_tokens_per_sec_best"`

	// The model, so that the PyTorch peer can build the same one (added with --shape).
	Shape      string `json:"shape"` // "tiny" or "large"
	DModel     int    `json:"d_model"`
	Heads      int    `json:"heads"`
	Layers     int    `json:"layers"`
	DFF        int    `json:"d_ff"`
	Vocab      int    `json:"vocab"`
	GOMAXPROCS int    `json:"gomaxprocs"`

	cfg llm.Config // for the text form
}

// benchShapes are the models `divellm bench train --shape` times: the tiny GPT of the
// notebooks, and a larger one where the matmuls weigh more (issue 16). Both use vocab 3000
// and GPT-2's ratio d_ff = 4·d_model.
var benchShapes = map[string]struct {
	dModel, heads, layers, dFF, seqLen int
}{
	"tiny":  {128, 4, 4, 512, 64},
	"large": {256, 4, 6, 1024, 128},
}

// benchTrain times the benchmark GPT (--shape tiny: d_model 128, 4 heads, 4 layers, d_ff
// 512; large: d_model 256, 4 heads, 6 layers, d_ff 1024, seq 128; vocab 3000) on random
// tokens: a full training step and a forward pass on [batch, seq].
func benchTrain(c *cmdCtx) (any, error) {
	steps := c.Int("steps", 10, 1, 10000, "timed steps (the median is reported)")
	warmup := c.Int("warmup", 2, 0, 10000, "untimed steps first (graph compilation, caches)")
	batch := c.Int("batch", 32, 1, 4096, "sequences per step")
	seqLen := c.Int("seq-len", 0, 0, 128, "tokens per sequence (0: 64 for tiny, 128 for large)")
	shape := c.String("shape", "tiny", "model: tiny (d_model 128, 4 layers) or large (d_model 256, 6 layers)")
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, usagef("unexpected argument %q", rest[0])
	}
	sh, ok := benchShapes[*shape]
	if !ok {
		return nil, usagef("--shape must be tiny or large, not %q", *shape)
	}
	if *seqLen == 0 {
		*seqLen = sh.seqLen
	}
	if *seqLen < 4 {
		return nil, usagef("--seq-len must be in [4, 128]")
	}
	const vocab = 3000
	cfg := llm.TinyGPT(vocab)
	cfg.DModel, cfg.Heads, cfg.Layers, cfg.DFF = sh.dModel, sh.heads, sh.layers, sh.dFF
	if err := checkMemory(fmt.Sprintf("training the %s GPT on batches of %d×%d tokens", *shape, *batch, *seqLen), trainingBytes(cfg, *batch, *seqLen), "--batch"); err != nil {
		return nil, err
	}
	m, err := llm.New(cfg, llm.HeadSet{}, 1)
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(1, 1))
	stream := make([]int, 200_000)
	for i := range stream {
		stream[i] = r.IntN(vocab)
	}

	// Training: per-step times from the Progress callback (Elapsed is cumulative).
	var stepTimes, stepCPU []time.Duration
	var prev time.Duration
	prevCPU := processCPUTime()
	_, err = m.Train(stream, nil, llm.TrainConfig{
		Steps: *warmup + *steps, BatchSize: *batch, SeqLen: *seqLen, LR: 3e-4, Seed: 1,
		EvalEvery: *warmup + *steps,
		Progress: func(p llm.Progress) {
			cpu := processCPUTime()
			if p.Step > *warmup {
				stepTimes = append(stepTimes, p.Elapsed-prev)
				stepCPU = append(stepCPU, cpu-prevCPU)
			}
			prev, prevCPU = p.Elapsed, cpu
		},
	})
	if err != nil {
		return nil, err
	}

	// Forward: logits for one [batch, seq] batch.
	ids := make([][]int, *batch)
	for i := range ids {
		ids[i] = stream[i**seqLen : (i+1)**seqLen]
	}
	var fwdTimes, fwdCPU []time.Duration
	for i := range *warmup + *steps {
		t0, c0 := time.Now(), processCPUTime()
		if _, err := m.Forward(llm.Batch{IDs: ids}, llm.ForwardOptions{}); err != nil {
			return nil, err
		}
		if i >= *warmup {
			fwdTimes = append(fwdTimes, time.Since(t0))
			fwdCPU = append(fwdCPU, processCPUTime()-c0)
		}
	}

	tokens := float64(*batch * *seqLen)
	trainMed, fwdMed := medianDuration(stepTimes), medianDuration(fwdTimes)
	res := benchTrainJSON{
		TrainTokensPerSec: tokens / trainMed.Seconds(), ForwardTokensPerSec: tokens / fwdMed.Seconds(),
		Backend:        backend.Name(),
		TrainMSPerStep: msOf(trainMed), ForwardMSPerStep: msOf(fwdMed),
		Steps: *steps, Warmup: *warmup, Batch: *batch, SeqLen: *seqLen, Params: m.Weights.Count(),
		GOMAXPROCS:        runtime.GOMAXPROCS(0),
		TrainCPUMSPerStep: msOf(medianDuration(stepCPU)), ForwardCPUMSPerStep: msOf(medianDuration(fwdCPU)),
		TrainTokensPerSecBest:   tokens / slices.Min(stepTimes).Seconds(),
		ForwardTokensPerSecBest: tokens / slices.Min(fwdTimes).Seconds(),
		Shape:                   *shape, DModel: cfg.DModel, Heads: cfg.Heads, Layers: cfg.Layers, DFF: cfg.DFF, Vocab: vocab,
		cfg: m.Config,
	}
	return res, nil
}

func (res benchTrainJSON) writeText(w io.Writer) error {
	c := res.cfg
	fmt.Fprintf(w, "%s GPT: d_model %d, %d heads, %d layers, d_ff %d, vocab %d, %d params; batch %d × seq %d, random tokens\n",
		res.Shape, c.DModel, c.Heads, c.Layers, c.DFF, c.VocabSize, res.Params, res.Batch, res.SeqLen)
	fmt.Fprintf(w, "backend %s, GOMAXPROCS %d; median of %d steps after %d warm-up\n", res.Backend, res.GOMAXPROCS, res.Steps, res.Warmup)
	fmt.Fprintf(w, "%-26s %12s %14s %14s\n", "", "ms/step", "tokens/s", "CPU ms/step")
	fmt.Fprintf(w, "%-26s %12.1f %14.0f %14.1f\n", "train (fwd+bwd+AdamW)", res.TrainMSPerStep, res.TrainTokensPerSec, res.TrainCPUMSPerStep)
	_, err := fmt.Fprintf(w, "%-26s %12.1f %14.0f %14.1f\n", "forward (logits)", res.ForwardMSPerStep, res.ForwardTokensPerSec, res.ForwardCPUMSPerStep)
	return err
}

// medianDuration returns the middle duration (the mean of the two middle ones for even counts).
func medianDuration(ds []time.Duration) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1e3 }
