package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/divellm/divellm/llm/backend"
	"github.com/divellm/divellm/llm/safetensors"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads best unqualified, as in GoMLX.
	"github.com/gomlx/gomlx/core/tensors"
)

// TrainConfig holds the training hyper-parameters. Zero values get the defaults noted.
type TrainConfig struct {
	Steps       int     // optimiser steps (required)
	BatchSize   int     // sequences per step (default 16)
	SeqLen      int     // tokens per sequence (default min(64, MaxPos))
	LR          float64 // peak learning rate (default 1e-3)
	WarmupSteps int     // linear warm-up steps (default Steps/20)
	MinLRRatio  float64 // cosine decays to LR·MinLRRatio (default 0.1)
	WeightDecay float64 // AdamW decoupled weight decay on matrices (default 0.01)
	Beta1       float64 // default 0.9
	Beta2       float64 // default 0.98
	Eps         float64 // default 1e-8
	ClipNorm    float64 // global gradient-norm clip (default 1.0; < 0 disables)
	MaskProb    float64 // BERT MLM: fraction of tokens to predict (default 0.15)
	Seed        uint64  // seeds batches, masking and dropout

	EvalEvery   int // evaluate validation loss every N steps (default Steps/10, at least 1)
	EvalBatches int // validation batches per evaluation (default 8)

	CheckpointDir   string // if set, save the model + optimiser state here (atomically)
	CheckpointEvery int    // steps between checkpoints (default EvalEvery)
	Resume          bool   // continue from CheckpointDir's optimiser state if present
	StopAfter       int    // if > 0, stop after this many steps of this call (the schedule still spans Steps): train in chunks

	// Progress is called after every step (ValLoss is NaN on steps without evaluation).
	Progress func(Progress)

	// Context, if set, stops training when cancelled (e.g. Ctrl-C): the model keeps the
	// weights reached, a checkpoint is written if CheckpointDir is set, and Train returns
	// the partial result with the context's error.
	Context context.Context
}

// Progress reports one training step.
type Progress struct {
	Step, Steps  int
	Loss         float64 // training loss of this step's batch
	ValLoss      float64 // NaN unless evaluated at this step
	LR           float64
	GradNorm     float64
	TokensPerSec float64 // training throughput, averaged since the start
	Elapsed      time.Duration
}

// TrainResult summarises a run.
type TrainResult struct {
	Steps          int       `json:"steps"`
	TrainLoss      float64   `json:"train_loss"` // mean of the last 10% of steps
	InitialValLoss float64   `json:"initial_val_loss"`
	ValLoss        float64   `json:"val_loss"`
	ValPerplexity  float64   `json:"val_perplexity"`
	TokensPerSec   float64   `json:"tokens_per_sec"`
	Seconds        float64   `json:"seconds"`
	Losses         []float64 `json:"-"`
}

func (tc *TrainConfig) defaults(c Config) error {
	if tc.Steps <= 0 {
		return fmt.Errorf("train: Steps must be positive")
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

// decays reports whether AdamW weight decay applies to a parameter (matrices yes;
// biases, layer norms and position/type embeddings no — the common GPT/BERT recipe).
func decays(name string, p *Param) bool {
	return len(p.Shape) == 2 && !strings.Contains(name, "LayerNorm") && !strings.Contains(name, "ln_")
}

// batcher makes training examples from a token stream.
type batcher struct {
	c      Config
	tc     TrainConfig
	stream []int
	r      *rand.Rand
	mask   int // [MASK] id (BERT)
	cls    int
	sep    int
}

// example returns ids and labels [seqLen]; start is the window start.
func (bt *batcher) example(start int) (ids, labels []int) {
	s := bt.tc.SeqLen
	if bt.c.Arch == GPT {
		w := bt.stream[start : start+s+1]
		return append([]int(nil), w[:s]...), append([]int(nil), w[1:]...)
	}
	// BERT: [CLS] window [SEP], then 15% of the window's tokens are predicted:
	// 80% replaced by [MASK], 10% by a random token, 10% left unchanged.
	ids = make([]int, s)
	labels = make([]int, s)
	ids[0], ids[s-1] = bt.cls, bt.sep
	copy(ids[1:s-1], bt.stream[start:start+s-2])
	for i := range labels {
		labels[i] = -100
	}
	for i := 1; i < s-1; i++ {
		if bt.r.Float64() >= bt.tc.MaskProb {
			continue
		}
		labels[i] = ids[i]
		switch u := bt.r.Float64(); {
		case u < 0.8:
			ids[i] = bt.mask
		case u < 0.9:
			ids[i] = bt.r.IntN(bt.c.VocabSize)
		}
	}
	return ids, labels
}

func (bt *batcher) window() int {
	if bt.c.Arch == GPT {
		return bt.tc.SeqLen + 1
	}
	return bt.tc.SeqLen - 2
}

// randomBatch samples BatchSize windows at random offsets.
func (bt *batcher) randomBatch() (ids, labels [][]int) {
	n := len(bt.stream) - bt.window()
	for range bt.tc.BatchSize {
		i, l := bt.example(bt.r.IntN(n + 1))
		ids, labels = append(ids, i), append(labels, l)
	}
	return ids, labels
}

// evalBatches cuts the validation stream into fixed, non-overlapping windows (and, for
// BERT, fixed masks), so every evaluation sees the same examples.
func (bt *batcher) evalBatches(maxBatches int) (batches [][2][][]int) {
	w := bt.window()
	var ids, labels [][]int
	for start := 0; start+w <= len(bt.stream) && len(batches) < maxBatches; start += w {
		i, l := bt.example(start)
		ids, labels = append(ids, i), append(labels, l)
		if len(ids) == bt.tc.BatchSize {
			batches = append(batches, [2][][]int{ids, labels})
			ids, labels = nil, nil
		}
	}
	if len(ids) > 0 && len(batches) < maxBatches {
		batches = append(batches, [2][][]int{ids, labels})
	}
	return batches
}

func (m *Model) specialIDs() (mask, cls, sep int, err error) {
	if m.Config.Arch != BERT {
		return -1, -1, -1, nil
	}
	if m.Tokenizer == nil {
		return 0, 0, 0, fmt.Errorf("train: a BERT model needs a tokenizer with [MASK], [CLS] and [SEP]")
	}
	sp := m.Tokenizer.Specials()
	if sp.MASK < 0 || sp.CLS < 0 || sp.SEP < 0 {
		return 0, 0, 0, fmt.Errorf("train: the tokenizer lacks [MASK], [CLS] or [SEP]")
	}
	return sp.MASK, sp.CLS, sp.SEP, nil
}

// Train pre-trains the model on token streams: causal-LM for GPT, masked-LM for BERT.
// val may be nil. It is deterministic for a fixed Seed.
func (m *Model) Train(train, val []int, tc TrainConfig) (res *TrainResult, err error) {
	if err := tc.defaults(m.Config); err != nil {
		return nil, err
	}
	maskID, clsID, sepID, err := m.specialIDs()
	if err != nil {
		return nil, err
	}
	bt := &batcher{c: m.Config, tc: tc, stream: train, r: rand.New(rand.NewPCG(tc.Seed, 1)), mask: maskID, cls: clsID, sep: sepID}
	if len(train) < bt.window()+1 {
		return nil, fmt.Errorf("train: the training text has %d tokens, fewer than one window of %d", len(train), bt.window()+1)
	}
	for _, id := range train {
		if id < 0 || id >= m.Config.VocabSize {
			return nil, fmt.Errorf("train: token id %d outside the vocabulary [0,%d)", id, m.Config.VocabSize)
		}
	}
	var evalSet [][2][][]int
	if len(val) > 0 {
		vb := &batcher{c: m.Config, tc: tc, stream: val, r: rand.New(rand.NewPCG(tc.Seed, 2)), mask: maskID, cls: clsID, sep: sepID}
		evalSet = vb.evalBatches(tc.EvalBatches)
	}
	tr, err := newTrainer(m, tc)
	if err != nil {
		return nil, err
	}
	if tc.Resume && tc.CheckpointDir != "" {
		if err := tr.resume(tc.CheckpointDir); err != nil {
			return nil, err
		}
		// Replay the batch sampler so a resumed run sees the batches an uninterrupted one would.
		for range tr.step {
			bt.randomBatch()
		}
	}
	res = &TrainResult{InitialValLoss: math.NaN(), ValLoss: math.NaN(), ValPerplexity: math.NaN()}
	evaluate := func() (float64, error) {
		if len(evalSet) == 0 {
			return math.NaN(), nil
		}
		return tr.evalLoss(evalSet)
	}
	if res.InitialValLoss, err = evaluate(); err != nil {
		return nil, err
	}
	start := time.Now()
	tokens := 0
	startStep := tr.step
	var stopErr error
	for tr.step < tc.Steps && (tc.StopAfter <= 0 || tr.step-startStep < tc.StopAfter) {
		if tc.Context != nil && tc.Context.Err() != nil {
			stopErr = tc.Context.Err()
			if tc.CheckpointDir != "" {
				if err := tr.checkpoint(tc.CheckpointDir); err != nil {
					return nil, err
				}
			}
			break
		}
		ids, labels := bt.randomBatch()
		lr := tc.LearningRate(tr.step + 1)
		loss, gnorm, err := tr.trainStep(ids, labels, lr)
		if err != nil {
			return nil, err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return nil, fmt.Errorf("train: loss became %g at step %d (try a lower learning rate)", loss, tr.step)
		}
		tokens += tc.BatchSize * tc.SeqLen
		res.Losses = append(res.Losses, loss)
		p := Progress{Step: tr.step, Steps: tc.Steps, Loss: loss, ValLoss: math.NaN(), LR: lr, GradNorm: gnorm, Elapsed: time.Since(start)}
		p.TokensPerSec = float64(tokens) / p.Elapsed.Seconds()
		if tr.step%tc.EvalEvery == 0 || tr.step == tc.Steps {
			if p.ValLoss, err = evaluate(); err != nil {
				return nil, err
			}
			res.ValLoss = p.ValLoss
		}
		stopping := tr.step == tc.Steps || (tc.StopAfter > 0 && tr.step-startStep == tc.StopAfter)
		if tc.CheckpointDir != "" && (tr.step%tc.CheckpointEvery == 0 || stopping) {
			if err := tr.checkpoint(tc.CheckpointDir); err != nil {
				return nil, err
			}
		}
		if tc.Progress != nil {
			tc.Progress(p)
		}
	}
	tr.syncParams()
	if math.IsNaN(res.ValLoss) && len(evalSet) > 0 {
		// No evaluation happened in this call (a resumed run that was already complete, or
		// one stopped early): measure the weights we return.
		if res.ValLoss, err = evaluate(); err != nil {
			return nil, err
		}
	}
	res.Steps = tr.step
	res.Seconds = time.Since(start).Seconds()
	if res.Seconds > 0 {
		res.TokensPerSec = float64((tr.step-startStep)*tc.BatchSize*tc.SeqLen) / res.Seconds
	}
	if n := len(res.Losses); n > 0 {
		k := max(1, n/10)
		for _, l := range res.Losses[n-k:] {
			res.TrainLoss += l / float64(k)
		}
	}
	res.ValPerplexity = math.Exp(res.ValLoss)
	return res, stopErr
}

// trainer holds the compiled step and the optimiser state as device tensors.
type trainer struct {
	m        *Model
	tc       TrainConfig
	names    []string
	params   []*tensors.Tensor
	mom, vel []*tensors.Tensor
	rng      *tensors.Tensor
	step     int
	stepExec *Exec
	evalExec *Exec
}

func newTrainer(m *Model, tc TrainConfig) (*trainer, error) {
	be, err := backend.Get()
	if err != nil {
		return nil, err
	}
	tr := &trainer{m: m, tc: tc, names: m.Params.Names()}
	for _, n := range tr.names {
		p := m.Params[n]
		tr.params = append(tr.params, tensors.FromFlatDataAndDimensions(append([]float32(nil), p.Data...), p.Shape...))
		tr.mom = append(tr.mom, tensors.FromShape(shapeOf(dtypes.Float32, p.Shape...)))
		tr.vel = append(tr.vel, tensors.FromShape(shapeOf(dtypes.Float32, p.Shape...)))
	}
	if tr.rng, err = RNGStateFromSeed(int64(tc.Seed)); err != nil {
		return nil, err
	}
	decay := make([]bool, len(tr.names))
	for i, n := range tr.names {
		decay[i] = decays(n, m.Params[n])
	}
	P := len(tr.names)
	cfg := m.Config
	tr.stepExec, err = NewExec(be, func(in []*Node) []*Node {
		params, mom, vel := in[:P], in[P:2*P], in[2*P:3*P]
		rest := in[3*P:]
		stepN, lr, ids, labels, rng := rest[0], rest[1], rest[2], rest[3], rest[4]
		out := forward(cfg, paramNodes(tr.names, params), ids, nil, nil, rng, fwdOptions{dropout: cfg.Dropout, noLogits: false})
		loss, _ := crossEntropy(out.logits, labels)
		grads := Gradient(loss, params...)
		// Global gradient-norm clipping.
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
		scale := OnesLike(gnorm)
		if tc.ClipNorm > 0 {
			scale = Min(scale, Div(Scalar(gnorm.Graph(), dtypes.Float32, tc.ClipNorm), AddScalar(gnorm, 1e-6)))
		}
		// AdamW (Loshchilov & Hutter): decoupled weight decay, bias-corrected moments.
		b1, b2 := tc.Beta1, tc.Beta2
		t := stepN // float32 scalar, 1-based
		bc1 := OneMinus(Pow(Scalar(t.Graph(), dtypes.Float32, b1), t))
		bc2 := OneMinus(Pow(Scalar(t.Graph(), dtypes.Float32, b2), t))
		outs := make([]*Node, 0, 3*P+3)
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
		outs = append(outs, newP...)
		outs = append(outs, newM...)
		outs = append(outs, newV...)
		return append(outs, loss, gnorm, out.rng)
	})
	if err != nil {
		return nil, err
	}
	tr.evalExec, err = m.evalExec()
	return tr, err
}

// evalExec returns the model's compiled validation graph (built once per model): params,
// ids [b, s], labels [b, s] → Σ loss over predicted tokens, number of predicted tokens.
func (m *Model) evalExec() (*Exec, error) {
	be, err := backend.Get()
	if err != nil {
		return nil, err
	}
	names := m.Params.Names()
	cfg := m.Config
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.exec("eval", func() (*Exec, error) {
		return NewExec(be, func(in []*Node) []*Node {
			P := len(names)
			ids, labels := in[P], in[P+1]
			out := forward(cfg, paramNodes(names, in[:P]), ids, nil, nil, nil, fwdOptions{})
			loss, count := crossEntropy(out.logits, labels)
			return []*Node{Mul(loss, count), count}
		})
	})
}

func (tr *trainer) trainStep(ids, labels [][]int, lr float64) (loss, gnorm float64, err error) {
	be := backend.MustGet()
	P := len(tr.names)
	args := make([]any, 0, 3*P+5)
	for _, group := range [][]*tensors.Tensor{tr.params, tr.mom, tr.vel} {
		for _, t := range group {
			d, err := DonateTensorBuffer(t, be, 0)
			if err != nil {
				return 0, 0, err
			}
			args = append(args, d)
		}
	}
	args = append(args, float32(tr.step+1), float32(lr), int32Tensor(ids), int32Tensor(labels), tr.rng)
	var res []*tensors.Tensor
	err = backend.Catch(func() error {
		var e error
		res, e = tr.stepExec.Exec(args...)
		return e
	})
	if err != nil {
		return 0, 0, fmt.Errorf("train step %d: %w", tr.step+1, err)
	}
	tr.params, tr.mom, tr.vel = res[:P], res[P:2*P], res[2*P:3*P]
	loss = float64(tensors.ToScalar[float32](res[3*P]))
	gnorm = float64(tensors.ToScalar[float32](res[3*P+1]))
	tr.rng = res[3*P+2]
	tr.step++
	return loss, gnorm, nil
}

// evalLoss returns the mean loss over the fixed validation batches.
func (tr *trainer) evalLoss(batches [][2][][]int) (float64, error) {
	loss, _, err := evalLoss(tr.evalExec, tr.params, batches)
	return loss, err
}

// evalLoss runs the validation graph e with weights params over batches and returns the
// mean loss per predicted token (NaN if none) and the number of predicted tokens.
func evalLoss(e *Exec, params []*tensors.Tensor, batches [][2][][]int) (loss, count float64, err error) {
	var sum float64
	for _, b := range batches {
		args := make([]any, 0, len(params)+2)
		for _, t := range params {
			args = append(args, t)
		}
		args = append(args, int32Tensor(b[0]), int32Tensor(b[1]))
		var res []*tensors.Tensor
		err := backend.Catch(func() error {
			var e2 error
			res, e2 = e.Exec(args...)
			return e2
		})
		if err != nil {
			return 0, 0, fmt.Errorf("validation: %w", err)
		}
		sum += float64(tensors.ToScalar[float32](res[0]))
		count += float64(tensors.ToScalar[float32](res[1]))
	}
	if count == 0 {
		return math.NaN(), 0, nil
	}
	return sum / count, count, nil
}

// syncParams copies the trained tensors back into the model's plain-Go parameters.
func (tr *trainer) syncParams() {
	for i, n := range tr.names {
		tr.m.Params[n].Data = tensors.MustCopyFlatData[float32](tr.params[i])
	}
	tr.m.ParamsChanged()
}

// trainerState is written next to the checkpoint as trainer_state.json.
type trainerState struct {
	Step int    `json:"global_step"`
	Seed uint64 `json:"seed"`
}

// checkpoint saves the model (atomically) plus optimizer.safetensors and trainer_state.json.
func (tr *trainer) checkpoint(dir string) error {
	tr.syncParams()
	// Save model and optimiser state into one atomic directory swap.
	cfgJSON, err := tr.m.Config.MarshalJSON()
	if err != nil {
		return err
	}
	return safetensors.WriteDirAtomic(dir, func(tmp string) error {
		if err := os.WriteFile(filepath.Join(tmp, "config.json"), append(cfgJSON, '\n'), 0o644); err != nil {
			return err
		}
		var ts, opt []safetensors.Tensor
		for i, n := range tr.names {
			p := tr.m.Params[n]
			ts = append(ts, safetensors.FromFloat32(n, p.Shape, p.Data))
			opt = append(opt, safetensors.FromFloat32("exp_avg."+n, p.Shape, tensors.MustCopyFlatData[float32](tr.mom[i])))
			opt = append(opt, safetensors.FromFloat32("exp_avg_sq."+n, p.Shape, tensors.MustCopyFlatData[float32](tr.vel[i])))
		}
		if err := safetensors.Write(filepath.Join(tmp, "model.safetensors"), ts, map[string]string{"format": "pt"}); err != nil {
			return err
		}
		if err := safetensors.Write(filepath.Join(tmp, "optimizer.safetensors"), opt, map[string]string{"step": fmt.Sprint(tr.step)}); err != nil {
			return err
		}
		st, _ := json.MarshalIndent(trainerState{Step: tr.step, Seed: tr.tc.Seed}, "", "  ")
		if err := os.WriteFile(filepath.Join(tmp, "trainer_state.json"), st, 0o644); err != nil {
			return err
		}
		if tr.m.Tokenizer != nil {
			return tr.m.Tokenizer.Save(tmp)
		}
		return nil
	})
}

// resume loads weights and optimiser state written by checkpoint.
func (tr *trainer) resume(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "trainer_state.json"))
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
	if st.Step > tr.tc.Steps {
		return fmt.Errorf("resume %s: checkpoint is at step %d, beyond the %d steps asked for", dir, st.Step, tr.tc.Steps)
	}
	saved, err := Load(dir)
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	if err := checkParams(tr.m.Config, saved.Params); err != nil {
		return fmt.Errorf("resume %s: checkpoint does not match the model: %w", dir, err)
	}
	opt, _, err := safetensors.ReadAll(filepath.Join(dir, "optimizer.safetensors"))
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	for i, n := range tr.names {
		tr.m.Params[n].Data = saved.Params[n].Data
		p := tr.m.Params[n]
		tr.params[i] = tensors.FromFlatDataAndDimensions(append([]float32(nil), p.Data...), p.Shape...)
		for j, key := range []string{"exp_avg.", "exp_avg_sq."} {
			t, ok := opt[key+n]
			if !ok {
				return fmt.Errorf("resume %s: optimizer.safetensors lacks %q", dir, key+n)
			}
			f, err := t.Float32s()
			if err != nil || len(f) != p.Size() {
				return fmt.Errorf("resume %s: optimizer tensor %q is malformed", dir, key+n)
			}
			tt := tensors.FromFlatDataAndDimensions(append([]float32(nil), f...), p.Shape...)
			if j == 0 {
				tr.mom[i] = tt
			} else {
				tr.vel[i] = tt
			}
		}
	}
	tr.step = st.Step
	// The dropout RNG is re-derived from the seed and step so a resumed run stays deterministic.
	if tr.rng, err = RNGStateFromSeed(int64(tr.tc.Seed) + int64(st.Step)*7919); err != nil {
		return err
	}
	tr.m.ParamsChanged()
	return nil
}

// EvalResult is the loss of a model on a text.
type EvalResult struct {
	Loss       float64 `json:"loss"`
	Perplexity float64 `json:"perplexity"`
	Tokens     int     `json:"tokens"` // predicted tokens counted
}

// Evaluate computes the mean loss and perplexity on a token stream cut into fixed,
// non-overlapping windows of seqLen (causal LM for GPT; for BERT, MLM with a fixed seeded
// 15% mask). maxBatches ≤ 0 means the whole stream.
func (m *Model) Evaluate(stream []int, seqLen, batchSize, maxBatches int, seed uint64) (*EvalResult, error) {
	tc := TrainConfig{Steps: 1, SeqLen: seqLen, BatchSize: batchSize, Seed: seed}
	if err := tc.defaults(m.Config); err != nil {
		return nil, fmt.Errorf("evaluate: %w", err)
	}
	maskID, clsID, sepID, err := m.specialIDs()
	if err != nil {
		return nil, err
	}
	for _, id := range stream {
		if id < 0 || id >= m.Config.VocabSize {
			return nil, fmt.Errorf("evaluate: token id %d outside the vocabulary [0,%d)", id, m.Config.VocabSize)
		}
	}
	bt := &batcher{c: m.Config, tc: tc, stream: stream, r: rand.New(rand.NewPCG(seed, 2)), mask: maskID, cls: clsID, sep: sepID}
	if len(stream) < bt.window() {
		// Short texts: one window of the text's own length.
		bt.tc.SeqLen = len(stream) - 1
		if m.Config.Arch == BERT {
			bt.tc.SeqLen = len(stream) + 2
		}
		if bt.tc.SeqLen < 2 {
			return nil, fmt.Errorf("evaluate: the text has only %d tokens", len(stream))
		}
	}
	if maxBatches <= 0 {
		maxBatches = math.MaxInt
	}
	batches := bt.evalBatches(maxBatches)
	e, err := m.evalExec()
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	params := m.paramTensors()
	m.mu.Unlock()
	loss, count, err := evalLoss(e, params, batches)
	if err != nil {
		return nil, err
	}
	if count == 0 {
		return nil, fmt.Errorf("evaluate: no tokens to predict")
	}
	return &EvalResult{Loss: loss, Perplexity: math.Exp(loss), Tokens: int(count)}, nil
}
