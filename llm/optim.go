package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/divellm/divellm/internal/fileio"
	"github.com/divellm/divellm/llm/backend"
	"github.com/divellm/divellm/llm/safetensors"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads best unqualified, as in GoMLX.
	"github.com/gomlx/gomlx/core/tensors"
)

// TrainConfig holds the training hyper-parameters. Zero values get the defaults noted.
type TrainConfig struct {
	Objective   Objective // default: the model's pretraining objective (CausalLM for GPT, MaskedLM for BERT)
	Steps       int       // optimiser steps of the schedule (required)
	BatchSize   int       // sequences per step for the pretraining source (default 16)
	SeqLen      int       // tokens per sequence for the pretraining source (default min(64, MaxPos))
	LR          float64   // peak learning rate (default 1e-3)
	WarmupSteps int       // linear warm-up steps (default Steps/20)
	MinLRRatio  float64   // cosine decays to LR·MinLRRatio (default 0.1)
	WeightDecay float64   // AdamW decoupled weight decay on matrices (default 0.01)
	Beta1       float64   // default 0.9
	Beta2       float64   // default 0.98
	Eps         float64   // default 1e-8
	ClipNorm    float64   // global gradient-norm clip (default 1.0; < 0 disables)
	MaskProb    float64   // BERT MLM: fraction of tokens to predict (default 0.15)
	DPOBeta     float64   // DPO: β, the strength of the pull towards the reference (default 0.1)
	Seed        uint64    // seeds batches, masking and dropout

	// Trainable selects the parameters that learn (nil: all). The others are frozen: fed to
	// the step graph as inputs, without gradients or optimiser state. See [FreezeLayers]
	// and [Model.LoRATrainable].
	Trainable func(name string) bool

	EvalEvery   int // evaluate validation loss every N steps (default Steps/10, at least 1)
	EvalBatches int // validation batches per evaluation for Model.Train (default 8)

	CheckpointDir   string // if set, save the model + optimiser state here (atomically)
	CheckpointEvery int    // steps between checkpoints (default EvalEvery)
	Resume          bool   // continue from CheckpointDir's optimiser state if present
	StopAfter       int    // Model.Train: stop after this many steps of this call (the schedule still spans Steps)

	// Progress is called after every step (ValLoss is NaN on steps without evaluation).
	Progress func(Progress)

	// Context, if set, stops training when cancelled (e.g. Ctrl-C): the model keeps the
	// weights reached, a checkpoint is written if CheckpointDir is set, and the run returns
	// the partial result with the context's error.
	Context context.Context
}

// Progress reports one training step.
type Progress struct {
	Step, Steps  int
	Loss         float64 // training loss of this step's batch
	ValLoss      float64 // NaN unless evaluated at this step
	Accuracy     float64 // share of the batch right (classification, QA spans, DPO pairs); NaN for language modelling
	Margin       float64 // DPO: mean implicit reward margin β·Δ of the batch; NaN otherwise
	LR           float64
	GradNorm     float64
	TokensPerSec float64 // training throughput, averaged since the start
	Elapsed      time.Duration
}

// TrainResult summarises a run.
type TrainResult struct {
	Steps          int         `json:"steps"`
	TrainLoss      float64     `json:"train_loss"` // mean of the last 10% of steps
	InitialValLoss float64     `json:"initial_val_loss"`
	ValLoss        float64     `json:"val_loss"`
	ValPerplexity  float64     `json:"val_perplexity"`
	TokensPerSec   float64     `json:"tokens_per_sec"`
	Seconds        float64     `json:"seconds"`
	Losses         []float64   `json:"-"`
	Val            *EvalResult `json:"-"` // the last evaluation (accuracy, DPO margin, …)
}

func (tc *TrainConfig) defaults(c Config) error {
	if tc.Steps <= 0 {
		return fmt.Errorf("train: Steps must be positive")
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"learning rate", tc.LR}, {"min LR ratio", tc.MinLRRatio}, {"weight decay", tc.WeightDecay}, {"beta1", tc.Beta1},
		{"beta2", tc.Beta2}, {"eps", tc.Eps}, {"clip norm", tc.ClipNorm}, {"mask probability", tc.MaskProb}, {"DPO beta", tc.DPOBeta}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("train: %s %g is not a finite number", f.name, f.v)
		}
	}
	if tc.Objective == "" {
		tc.Objective = c.pretrainObjective()
	}
	def := func(x *float64, v float64) {
		if *x == 0 {
			*x = v
		}
	}
	if tc.BatchSize == 0 {
		tc.BatchSize = 16
	}
	if tc.SeqLen == 0 {
		tc.SeqLen = min(64, c.MaxPos)
	}
	if tc.SeqLen > c.MaxPos || tc.SeqLen < 4 {
		return fmt.Errorf("train: sequence length %d must be in [4, %d]", tc.SeqLen, c.MaxPos)
	}
	def(&tc.LR, 1e-3)
	if tc.LR < 0 || tc.LR > 10 {
		return fmt.Errorf("train: learning rate %g must be in (0, 10]", tc.LR)
	}
	if tc.WarmupSteps == 0 {
		tc.WarmupSteps = max(1, tc.Steps/20)
	}
	def(&tc.MinLRRatio, 0.1)
	def(&tc.WeightDecay, 0.01)
	def(&tc.Beta1, 0.9)
	def(&tc.Beta2, 0.98)
	def(&tc.Eps, 1e-8)
	def(&tc.ClipNorm, 1.0)
	def(&tc.MaskProb, 0.15)
	def(&tc.DPOBeta, 0.1)
	if tc.MaskProb <= 0 || tc.MaskProb >= 1 {
		return fmt.Errorf("train: mask probability %g must be in (0, 1)", tc.MaskProb)
	}
	if tc.EvalEvery == 0 {
		tc.EvalEvery = max(1, tc.Steps/10)
	}
	if tc.EvalBatches == 0 {
		tc.EvalBatches = 8
	}
	if tc.CheckpointEvery == 0 {
		tc.CheckpointEvery = tc.EvalEvery
	}
	return nil
}

// LearningRate is the warm-up + cosine schedule: linear from 0 to LR over WarmupSteps,
// then cosine down to LR·MinLRRatio at Steps. step counts from 1.
func (tc TrainConfig) LearningRate(step int) float64 {
	if step <= tc.WarmupSteps {
		return tc.LR * float64(step) / float64(tc.WarmupSteps)
	}
	progress := float64(step-tc.WarmupSteps) / float64(max(1, tc.Steps-tc.WarmupSteps))
	cos := 0.5 * (1 + math.Cos(math.Pi*min(progress, 1)))
	return tc.LR * (tc.MinLRRatio + (1-tc.MinLRRatio)*cos)
}

// decays reports whether AdamW weight decay applies to a parameter: matrices yes; biases
// and layer norms no (the common GPT/BERT recipe).
func decays(name string, shape []int) bool {
	return len(shape) == 2 && !strings.Contains(name, "LayerNorm") && !strings.Contains(name, "ln_")
}

// FreezeLayers returns a Trainable predicate that freezes the embeddings and the lower n
// blocks of the model: only the upper blocks and the heads learn.
func FreezeLayers(c Config, n int) func(name string) bool {
	frozen := map[string]bool{}
	names := c.ModelNames()
	for _, p := range []string{names.TokenEmb, names.PosEmb, names.TypeEmb, names.EmbLN} {
		if p != "" {
			frozen[p+".weight"], frozen[p+".bias"] = true, true
		}
	}
	var prefixes []string
	for l := range min(n, c.Layers) {
		ln := c.LayerNames(l)
		for _, suffix := range []string{"attn.c_proj", "attention.output.dense", "self_attn.out_proj"} {
			prefixes = append(prefixes, strings.TrimSuffix(ln.AttnOut, suffix)) // "transformer.h.l.", …
		}
	}
	return func(name string) bool {
		if frozen[name] {
			return false
		}
		for _, p := range prefixes {
			if strings.HasPrefix(name, p) && strings.HasSuffix(p, ".") {
				return false
			}
		}
		return true
	}
}

// Trainer trains a model: it compiles the step once per batch signature and keeps the
// parameters and the optimiser state (AdamW's m and v) on the backend between steps.
// The model's [Weights] are the parameters: after every step they hold the new values, so
// [Model.Forward], [Model.Generate] or [Model.Save] between steps see the trained model
// without any copy. Create one with [Model.NewTrainer]; call [Trainer.Step] or
// [Trainer.Run].
type Trainer struct {
	m     *Model
	tc    TrainConfig
	train Source
	val   []*TrainBatch

	names     []string // every weight, graph order
	trainable []string // the ones that learn (subset of names, same order)
	frozen    []string
	decay     []bool // per trainable
	mom, vel  []*tensors.Tensor
	rng       *tensors.Tensor
	step      int
	layout    int
	steps     map[string]*Exec // compiled step per batch signature

	initialVal float64
	lastVal    *EvalResult
	losses     []float64
	tokens     int
	elapsed    time.Duration
	broken     error
}

// NewTrainer prepares training of m on batches from train (val, if not empty, is
// evaluated every tc.EvalEvery steps). Nothing is copied: the trainer reads and updates
// m.Weights in place.
func (m *Model) NewTrainer(tc TrainConfig, train Source, val []*TrainBatch) (*Trainer, error) {
	if err := tc.defaults(m.Config); err != nil {
		return nil, err
	}
	if train == nil {
		return nil, fmt.Errorf("train: no training data")
	}
	switch tc.Objective {
	case CausalLM, DPO:
		if m.Config.Arch != GPT {
			return nil, fmt.Errorf("train: %s needs a GPT model", tc.Objective)
		}
	case MaskedLM:
		if m.Config.Arch != BERT || !m.Heads().MLM {
			return nil, fmt.Errorf("train: masked-LM training needs a BERT model with an MLM head")
		}
	case Classification:
		if !m.Heads().Classifier {
			return nil, fmt.Errorf("train: classification needs a classifier head (llm.New with HeadSet{Classifier: true}, or AddClassifier)")
		}
	case SpanQA:
		if m.Config.Arch != BERT || !m.Heads().QA {
			return nil, fmt.Errorf("train: span QA needs a BERT model with a qa_outputs head")
		}
	case Seq2SeqLM:
		if m.Config.Arch != BART {
			return nil, fmt.Errorf("train: seq2seq training needs an encoder-decoder (bart) model")
		}
	default:
		return nil, fmt.Errorf("train: unknown objective %q", tc.Objective)
	}
	if err := m.Weights.CheckFinite(); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	be, err := backend.Get()
	if err != nil {
		return nil, err
	}
	tr := &Trainer{m: m, tc: tc, train: train, val: val, names: m.Weights.Names(), steps: map[string]*Exec{},
		initialVal: math.NaN(), layout: m.Weights.layout()}
	for _, n := range tr.names {
		if tc.Trainable == nil || tc.Trainable(n) {
			tr.trainable = append(tr.trainable, n)
			shape := m.Weights.Shape(n)
			tr.decay = append(tr.decay, decays(n, shape) && !isLoRAName(n))
			zm, err := tensors.FromShapeForBackend(be, 0, shapeOf(dtypes.Float32, shape...))
			if err != nil {
				return nil, err
			}
			zv, err := tensors.FromShapeForBackend(be, 0, shapeOf(dtypes.Float32, shape...))
			if err != nil {
				return nil, err
			}
			tr.mom, tr.vel = append(tr.mom, zm), append(tr.vel, zv)
		} else {
			tr.frozen = append(tr.frozen, n)
		}
	}
	if len(tr.trainable) == 0 {
		return nil, fmt.Errorf("train: no trainable parameters (the Trainable predicate froze all %d)", len(tr.names))
	}
	if tr.rng, err = RNGStateFromSeed(int64(tc.Seed)); err != nil {
		return nil, err
	}
	if tc.Resume && tc.CheckpointDir != "" {
		if err := tr.resume(tc.CheckpointDir); err != nil {
			return nil, err
		}
	}
	return tr, nil
}

// StepsDone is the number of optimiser steps taken (including resumed ones).
func (tr *Trainer) StepsDone() int { return tr.step }

// Done reports whether the schedule's Steps are complete.
func (tr *Trainer) Done() bool { return tr.step >= tr.tc.Steps }

// TrainableCount is the number of scalars that learn.
func (tr *Trainer) TrainableCount() int {
	n := 0
	for _, name := range tr.trainable {
		n += shapeSize(tr.m.Weights.Shape(name))
	}
	return n
}

// Step takes one optimiser step on the next batch of the training source.
func (tr *Trainer) Step() (Progress, error) {
	if tr.broken != nil {
		return Progress{}, tr.broken
	}
	if tr.m.Weights.layout() != tr.layout {
		return Progress{}, fmt.Errorf("train: the model's parameters changed (tensors added or removed) since the trainer was made: make a new trainer")
	}
	tb, err := tr.train.Next()
	if err != nil {
		return Progress{}, fmt.Errorf("train: batch %d: %w", tr.step+1, err)
	}
	if err := tb.check(tr.m.Config, tr.tc.Objective); err != nil {
		return Progress{}, fmt.Errorf("train: batch %d: %w", tr.step+1, err)
	}
	lr := tr.tc.LearningRate(tr.step + 1)
	t0 := time.Now()
	p, err := tr.runStep(tb, lr)
	if err != nil {
		return Progress{}, err
	}
	tr.elapsed += time.Since(t0)
	tr.tokens += len(tb.IDs) * len(tb.IDs[0])
	tr.losses = append(tr.losses, p.Loss)
	p.Step, p.Steps, p.LR, p.ValLoss, p.Elapsed = tr.step, tr.tc.Steps, lr, math.NaN(), tr.elapsed
	p.TokensPerSec = float64(tr.tokens) / tr.elapsed.Seconds()
	if math.IsNaN(p.Loss) || math.IsInf(p.Loss, 0) {
		tr.broken = fmt.Errorf("train: the loss or its gradients became non-finite at step %d (try a lower learning rate); the step was not applied and nothing non-finite is saved", tr.step+1)
		return p, tr.broken
	}
	return p, nil
}

// runStep executes the compiled step on tb with learning rate lr.
//
// On a backend whose buffers live in host memory (the Go backend's shared buffers), the
// graph computes the loss and the gradients, and AdamW runs as one fused pass over each
// parameter in place (as PyTorch's fused AdamW): the weights, m and v are never copied and
// the update allocates nothing, so training holds weights + gradients + m + v plus the
// activations. A step whose gradients are not finite is skipped: the weights keep their
// last finite values. Other backends run AdamW inside the graph with donated buffers.
func (tr *Trainer) runStep(tb *TrainBatch, lr float64) (Progress, error) {
	m := tr.m
	m.mu.Lock()
	defer m.mu.Unlock()
	be, err := backend.Get()
	if err != nil {
		return Progress{}, err
	}
	host := be.HasSharedBuffers() && !graphAdamW
	sig := tb.signature(m.Config)
	e, ok := tr.steps[sig]
	if !ok {
		if e, err = tr.compileStep(sig, host); err != nil {
			return Progress{}, fmt.Errorf("train: %w", err)
		}
		tr.steps[sig] = e
	}
	P := len(tr.trainable)
	args := make([]any, 0, 3*P+len(tr.frozen)+8)
	if host {
		if err := tr.hostTensors(); err != nil {
			return Progress{}, err
		}
		for _, t := range m.Weights.tensorList(tr.trainable) {
			args = append(args, t)
		}
	} else {
		for _, group := range [][]*tensors.Tensor{m.Weights.tensorList(tr.trainable), tr.mom, tr.vel} {
			for _, t := range group {
				d, err := DonateTensorBuffer(t, be, 0)
				if err != nil {
					return Progress{}, err
				}
				args = append(args, d)
			}
		}
	}
	for _, t := range m.Weights.tensorList(tr.frozen) {
		args = append(args, t)
	}
	args = append(args, float32(tr.step+1), float32(lr), tr.rng)
	args = append(args, tb.inputs(m.Config, tr.tc.Objective)...)
	res, err := execute(e, args)
	if err != nil {
		tr.broken = fmt.Errorf("train step %d: %w", tr.step+1, err)
		return Progress{}, tr.broken
	}
	k := P // index of the first scalar output
	if !host {
		k = 3 * P
	}
	scalar := func(i int) float64 { return float64(tensors.ToScalar[float32](res[k+i])) }
	p := Progress{Loss: scalar(0), GradNorm: scalar(1), Accuracy: math.NaN(), Margin: math.NaN()}
	count := scalar(3)
	switch tr.tc.Objective {
	case Classification, SpanQA:
		p.Accuracy = scalar(2) / max(count, 1)
	case DPO:
		p.Accuracy = scalar(2) / max(count, 1)
		p.Margin = scalar(4) / max(count, 1)
	}
	finite := !math.IsNaN(p.GradNorm) && !math.IsInf(p.GradNorm, 0) && !math.IsNaN(p.Loss) && !math.IsInf(p.Loss, 0)
	if host {
		if finite {
			tr.hostAdamW(res[:P], float32(p.GradNorm), lr)
		}
		for _, g := range res[:P] {
			g.FinalizeAll() // back to the backend's pool now, not at the next GC
		}
	} else {
		m.Weights.replace(tr.trainable, res[:P])
		tr.mom, tr.vel = res[P:2*P], res[2*P:3*P]
	}
	tr.rng = res[k+5]
	if !finite {
		p.Loss = math.NaN()
		return p, nil
	}
	tr.step++
	return p, nil
}

// graphAdamW forces AdamW inside the graph even where the host update is possible (tests
// compare the two).
var graphAdamW = false

// hostTensors makes sure every trainable weight and moment is a shared (host) buffer the
// fused update can write in place.
func (tr *Trainer) hostTensors() error {
	for _, n := range tr.trainable {
		t := tr.m.Weights.tensor(n)
		if t.IsShared() {
			continue
		}
		shape := tr.m.Weights.Shape(n)
		nt, err := newTensor(shape, tensorBytes(t))
		if err != nil {
			return err
		}
		tr.m.Weights.put(n, shape, nt)
	}
	for i, group := range [][]*tensors.Tensor{tr.mom, tr.vel} {
		for j, t := range group {
			if t.IsShared() {
				continue
			}
			nt, err := newTensor(t.Shape().Dimensions, tensorBytes(t))
			if err != nil {
				return err
			}
			if i == 0 {
				tr.mom[j] = nt
			} else {
				tr.vel[j] = nt
			}
		}
	}
	return nil
}

// hostAdamW applies AdamW (decoupled weight decay, bias-corrected moments) to every
// trainable weight in place, with the gradients scaled by the global-norm clip:
//
//	g ← g·min(1, clip/‖g‖)   m ← β₁m + (1−β₁)g   v ← β₂v + (1−β₂)g²
//	w ← w − lr·λ·w (matrices)   w ← w − lr·(m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε)
//
// The work is split across the CPUs in chunks.
func (tr *Trainer) hostAdamW(grads []*tensors.Tensor, gnorm float32, lr float64) {
	tc := tr.tc
	scale := float32(1)
	if tc.ClipNorm > 0 {
		scale = min(1, float32(tc.ClipNorm)/(gnorm+1e-6))
	}
	t := float64(tr.step + 1)
	h := adamHyper{scale: scale, lr: float32(lr), b1: float32(tc.Beta1), b2: float32(tc.Beta2),
		c1: float32(1 - tc.Beta1), c2: float32(1 - tc.Beta2),
		bc1: float32(1 - math.Pow(tc.Beta1, t)), bc2: float32(1 - math.Pow(tc.Beta2, t)), eps: float32(tc.Eps)}
	lrwd := float32(lr) * float32(tc.WeightDecay)
	type job struct {
		p, m, v, g []float32
		decay      bool
	}
	const chunk = 1 << 16
	var jobs []job
	weights := tr.m.Weights.tensorList(tr.trainable)
	for i := range tr.trainable {
		var p, mm, v, g []float32
		tensors.MustMutableFlatData(weights[i], func(x []float32) { p = x })
		tensors.MustMutableFlatData(tr.mom[i], func(x []float32) { mm = x })
		tensors.MustMutableFlatData(tr.vel[i], func(x []float32) { v = x })
		tensors.MustConstFlatData(grads[i], func(x []float32) { g = x })
		for lo := 0; lo < len(p); lo += chunk {
			hi := min(lo+chunk, len(p))
			jobs = append(jobs, job{p[lo:hi], mm[lo:hi], v[lo:hi], g[lo:hi], tr.decay[i] && tc.WeightDecay > 0})
		}
	}
	parallelFor(len(jobs), func(j int) {
		jb := jobs[j]
		wd := float32(0)
		if jb.decay {
			wd = lrwd
		}
		adamApply(h, jb.p, jb.m, jb.v, jb.g, wd)
	})
}

// adamHyper are one step's AdamW constants in float32.
type adamHyper struct{ scale, lr, b1, b2, c1, c2, bc1, bc2, eps float32 }

// apply updates p, m, v from g (wd = lr·λ, or 0 for no decay).
func (h adamHyper) apply(p, m, v, g []float32, wd float32) {
	for i := range p {
		gi := g[i] * h.scale
		mi := m[i]*h.b1 + gi*h.c1
		vi := v[i]*h.b2 + gi*gi*h.c2
		m[i], v[i] = mi, vi
		upd := (mi / h.bc1) / (float32(math.Sqrt(float64(vi/h.bc2))) + h.eps)
		w := p[i]
		w -= w * wd
		p[i] = w - upd*h.lr
	}
}

// adamApply is adamHyper.apply, or its SIMD version (adam_simd_amd64.go, the same bits)
// when the CPU has AVX-512.
var adamApply = adamHyper.apply

// parallelFor runs f(0..n-1) on all CPUs.
func parallelFor(n int, f func(i int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				f(i)
			}
		}()
	}
	wg.Wait()
}

// compileStep builds the training step for one batch signature: forward, loss, gradients
// of the trainable parameters and their global norm, then either AdamW in the graph
// (host false) or the gradients themselves for the fused host update (host true).
func (tr *Trainer) compileStep(sig string, host bool) (*Exec, error) {
	m, tc := tr.m, tr.tc
	cfg := m.Config
	names := append(append([]string(nil), tr.trainable...), tr.frozen...)
	P, F := len(tr.trainable), len(tr.frozen)
	decay := tr.decay
	lora := m.loraScales()
	obj := tc.Objective
	be, err := backend.Get()
	if err != nil {
		return nil, err
	}
	state := 3 * P // params, m, v
	if host {
		state = P
	}
	var e *Exec
	err = backend.Catch(func() error {
		var err error
		e, err = NewExec(be, func(in []*Node) []*Node {
			params := in[:P]
			frozen := in[state : state+F]
			rest := in[state+F:]
			stepN, lr, rng := rest[0], rest[1], rest[2]
			b, _ := takeBatch(rest[3:], sig, cfg, obj)
			all := paramNodes(names, append(append([]*Node(nil), params...), frozen...))
			fo := fwdOptions{dropout: cfg.Dropout, noLogits: obj == Classification || obj == SpanQA}
			out := forward(cfg, all, lora, b, rng, fo)
			l := objectiveLoss(cfg, obj, out, b, tc.DPOBeta)
			grads := Gradient(l.loss, params...)
			var sq *Node
			for _, g := range grads {
				s := ReduceAllSum(Square(g))
				if sq == nil {
					sq = s
				} else {
					sq = Add(sq, s)
				}
			}
			gnorm := Sqrt(sq)
			tail := []*Node{l.loss, gnorm, l.correct, l.count, l.margin, out.rng}
			if host {
				return append(grads, tail...)
			}
			mom, vel := in[P:2*P], in[2*P:3*P]
			// Global gradient-norm clipping, then AdamW (Loshchilov & Hutter) in the graph.
			scale := OnesLike(gnorm)
			if tc.ClipNorm > 0 {
				scale = Min(scale, Div(Scalar(gnorm.Graph(), dtypes.Float32, tc.ClipNorm), AddScalar(gnorm, 1e-6)))
			}
			b1, b2 := tc.Beta1, tc.Beta2
			bc1 := OneMinus(Pow(Scalar(stepN.Graph(), dtypes.Float32, b1), stepN))
			bc2 := OneMinus(Pow(Scalar(stepN.Graph(), dtypes.Float32, b2), stepN))
			newP, newM, newV := make([]*Node, P), make([]*Node, P), make([]*Node, P)
			for i := range P {
				g := Mul(grads[i], scale)
				newM[i] = Add(MulScalar(mom[i], b1), MulScalar(g, 1-b1))
				newV[i] = Add(MulScalar(vel[i], b2), MulScalar(Square(g), 1-b2))
				update := Div(Div(newM[i], bc1), AddScalar(Sqrt(Div(newV[i], bc2)), tc.Eps))
				p := params[i]
				if decay[i] && tc.WeightDecay > 0 {
					p = Sub(p, Mul(p, MulScalar(lr, tc.WeightDecay)))
				}
				newP[i] = Sub(p, Mul(update, lr))
			}
			return append(append(append(newP, newM...), newV...), tail...)
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	e.SetMaxCache(-1) // one compiled graph per batch shape
	return e, nil
}

// Run takes up to n more steps (never beyond the schedule's Steps; n ≤ 0 means to the
// end), evaluating every EvalEvery steps and checkpointing every CheckpointEvery steps
// when CheckpointDir is set, and returns the run's result so far. When ctx (or
// TrainConfig.Context) is cancelled it stops between steps, writes a checkpoint if
// CheckpointDir is set, and returns the partial result with the context's error.
func (tr *Trainer) Run(ctx context.Context, n int) (*TrainResult, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if tr.tc.Context != nil {
		var cancel context.CancelFunc
		ctx, cancel = mergeContexts(ctx, tr.tc.Context)
		defer cancel()
	}
	if math.IsNaN(tr.initialVal) && len(tr.val) > 0 {
		ev, err := tr.Evaluate()
		if err != nil {
			return nil, err
		}
		tr.initialVal, tr.lastVal = ev.Loss, ev
	}
	if n <= 0 {
		n = tr.tc.Steps
	}
	target := min(tr.tc.Steps, tr.step+n)
	var stopErr error
	for tr.step < target {
		if err := ctx.Err(); err != nil {
			stopErr = err
			if tr.tc.CheckpointDir != "" {
				if err := tr.Checkpoint(tr.tc.CheckpointDir); err != nil {
					return nil, err
				}
			}
			break
		}
		p, err := tr.Step()
		if err != nil {
			return tr.result(), err
		}
		stopping := tr.step == target
		if tr.step%tr.tc.EvalEvery == 0 || tr.step == tr.tc.Steps {
			if len(tr.val) > 0 {
				ev, err := tr.Evaluate()
				if err != nil {
					return nil, err
				}
				p.ValLoss, tr.lastVal = ev.Loss, ev
			}
		}
		if tr.tc.CheckpointDir != "" && (tr.step%tr.tc.CheckpointEvery == 0 || stopping) {
			if err := tr.Checkpoint(tr.tc.CheckpointDir); err != nil {
				return nil, err
			}
		}
		if tr.tc.Progress != nil {
			tr.tc.Progress(p)
		}
	}
	if tr.lastVal == nil && len(tr.val) > 0 {
		ev, err := tr.Evaluate()
		if err != nil {
			return nil, err
		}
		tr.lastVal = ev
	}
	return tr.result(), stopErr
}

// mergeContexts returns a context cancelled when either is.
func mergeContexts(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	return ctx, func() { stop(); cancel() }
}

// result summarises the trainer's run so far.
func (tr *Trainer) result() *TrainResult {
	res := &TrainResult{Steps: tr.step, InitialValLoss: tr.initialVal, ValLoss: math.NaN(), Losses: append([]float64(nil), tr.losses...),
		Seconds: tr.elapsed.Seconds(), Val: tr.lastVal}
	if tr.lastVal != nil {
		res.ValLoss = tr.lastVal.Loss
	}
	if tr.elapsed > 0 {
		res.TokensPerSec = float64(tr.tokens) / tr.elapsed.Seconds()
	}
	if n := len(tr.losses); n > 0 {
		k := max(1, n/10)
		for _, l := range tr.losses[n-k:] {
			res.TrainLoss += l / float64(k)
		}
	}
	res.ValPerplexity = math.Exp(res.ValLoss)
	return res
}

// Evaluate measures the objective on the trainer's validation batches.
func (tr *Trainer) Evaluate() (*EvalResult, error) {
	return tr.m.EvaluateBatches(tr.tc.Objective, tr.val, tr.tc.DPOBeta)
}

// trainerState is written next to the checkpoint as trainer_state.json.
type trainerState struct {
	Step      int      `json:"global_step"`
	Seed      uint64   `json:"seed"`
	Objective string   `json:"objective,omitempty"`
	Trainable []string `json:"trainable,omitempty"`
}

// Checkpoint saves the model and the optimiser state (optimizer.safetensors,
// trainer_state.json) into dir, atomically and under the output-directory rule of
// [Model.Save]. Tensors stream from their backend buffers to the file.
func (tr *Trainer) Checkpoint(dir string) error {
	m := tr.m
	m.mu.Lock()
	defer m.mu.Unlock()
	extra := func(tmp string) error {
		opt := make([]safetensors.Tensor, 0, 2*len(tr.trainable))
		for i, n := range tr.trainable {
			shape := m.Weights.Shape(n)
			opt = append(opt,
				safetensors.Tensor{Name: "exp_avg." + n, DType: safetensors.F32, Shape: shape, Data: tensorBytes(tr.mom[i])},
				safetensors.Tensor{Name: "exp_avg_sq." + n, DType: safetensors.F32, Shape: shape, Data: tensorBytes(tr.vel[i])})
		}
		if err := safetensors.Write(filepath.Join(tmp, "optimizer.safetensors"), opt, map[string]string{"step": fmt.Sprint(tr.step)}); err != nil {
			return err
		}
		st, _ := json.MarshalIndent(trainerState{Step: tr.step, Seed: tr.tc.Seed, Objective: string(tr.tc.Objective)}, "", "  ")
		return os.WriteFile(filepath.Join(tmp, "trainer_state.json"), st, 0o644)
	}
	if m.LoRA != nil {
		return fmt.Errorf("checkpoint %s: checkpoints of LoRA runs are saved with SaveAdapter", dir)
	}
	return m.writeCheckpoint(dir, extra)
}

// resume loads weights and optimiser state written by Checkpoint. A directory left as only
// its ".old" backup by a crash is recovered first; a missing checkpoint starts fresh.
func (tr *Trainer) resume(dir string) error {
	if ok, err := safetensors.RecoverDir(dir); err != nil {
		return fmt.Errorf("resume: %w", err)
	} else if ok {
		Warn(fmt.Sprintf("%s was missing after an interrupted save: resuming from its backup", dir))
	}
	data, err := fileio.ReadFile(filepath.Join(dir, "trainer_state.json"), 1<<20)
	if os.IsNotExist(err) {
		return nil // nothing to resume: start fresh
	}
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	var st trainerState
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("resume %s: trainer_state.json: %w", dir, err)
	}
	if st.Step < 0 || st.Step > tr.tc.Steps {
		return fmt.Errorf("resume %s: checkpoint is at step %d, outside the %d steps asked for", dir, st.Step, tr.tc.Steps)
	}
	saved, err := Load(dir)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	if err := checkWeights(tr.m.Config, saved.Weights); err != nil {
		return fmt.Errorf("resume %s: checkpoint does not match the model: %w", dir, err)
	}
	opt, _, err := safetensors.ReadAll(filepath.Join(dir, "optimizer.safetensors"))
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	for _, n := range tr.names {
		if !saved.Weights.Has(n) {
			return fmt.Errorf("resume %s: checkpoint lacks %q", dir, n)
		}
		tr.m.Weights.put(n, saved.Weights.Shape(n), saved.Weights.tensor(n))
	}
	for i, n := range tr.trainable {
		shape := tr.m.Weights.Shape(n)
		for j, key := range []string{"exp_avg.", "exp_avg_sq."} {
			t, ok := opt[key+n]
			if !ok {
				return fmt.Errorf("resume %s: optimizer.safetensors lacks %q", dir, key+n)
			}
			if t.DType != safetensors.F32 || !equalInts(t.Shape, shape) {
				return fmt.Errorf("resume %s: optimizer tensor %q is malformed", dir, key+n)
			}
			bt, err := newTensor(shape, t.Data)
			if err != nil {
				return err
			}
			if j == 0 {
				tr.mom[i] = bt
			} else {
				tr.vel[i] = bt
			}
		}
	}
	tr.step = st.Step
	// The dropout RNG is re-derived from the seed and step so a resumed run stays deterministic.
	if tr.rng, err = RNGStateFromSeed(int64(tr.tc.Seed) + int64(st.Step)*7919); err != nil {
		return err
	}
	if s, ok := tr.train.(interface{ skip(int) }); ok {
		// Replay the sampler so a resumed run sees the batches an uninterrupted one would.
		s.skip(st.Step)
	}
	return nil
}

// Train pre-trains the model on token streams: causal-LM for GPT, masked-LM for BERT
// (a [Trainer] over [Model.NewLMSource]). val may be nil. It is deterministic for a fixed
// Seed. With StopAfter it takes at most that many steps of the schedule.
func (m *Model) Train(train, val []int, tc TrainConfig) (*TrainResult, error) {
	if err := tc.defaults(m.Config); err != nil {
		return nil, err
	}
	src, err := m.NewLMSource(train, tc.BatchSize, tc.SeqLen, tc.MaskProb, tc.Seed)
	if err != nil {
		return nil, err
	}
	var evalSet []*TrainBatch
	if len(val) > 0 {
		if evalSet, err = m.lmEvalSet(val, tc.BatchSize, tc.SeqLen, tc.MaskProb, tc.Seed, tc.EvalBatches); err != nil {
			return nil, err
		}
	}
	tr, err := m.NewTrainer(tc, src, evalSet)
	if err != nil {
		return nil, err
	}
	n := tc.Steps
	if tc.StopAfter > 0 {
		n = tc.StopAfter
	}
	return tr.Run(tc.Context, n)
}

// lmEvalSet is LMEvalBatches without the minimum-length rule (a short validation text
// gives no batches).
func (m *Model) lmEvalSet(stream []int, batch, seqLen int, maskProb float64, seed uint64, maxBatches int) ([]*TrainBatch, error) {
	s, err := m.newLMSource(stream, batch, seqLen, maskProb, newRand(seed, 2))
	if err != nil {
		return nil, err
	}
	return s.evalBatches(maxBatches), nil
}
