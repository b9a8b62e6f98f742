package week2

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/divellm/divellm/internal/fileio"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/safetensors"
	"github.com/divellm/divellm/llm/sample"
	"github.com/divellm/divellm/llm/tokenizer"
)

// Options are the settings of a classification fine-tuning run. Zero values get the
// defaults noted.
type Options struct {
	// Labels is the class order (class i is id2label[i]); default: the order of first
	// appearance in the training set. A model that already has a classifier keeps its
	// own labels and must match.
	Labels []string

	LoRARank     int     // > 0: train rank-r adapters (and the head) instead of every weight
	LoRAAlpha    float64 // α, the adapters' update is scaled by α/r (default 2·r)
	LoRAAll      bool    // adapters on every linear layer, not only the attention projections
	FreezeLayers int     // freeze the embeddings and the lower N blocks (full fine-tuning only)

	Epochs    int     // passes over the training set (default 3)
	BatchSize int     // examples per step (default 32)
	LR        float64 // peak learning rate (default 1e-3 full, 3e-3 LoRA)
	Seed      uint64  // seeds the new head, the adapters and the batch order
	MaxLen    int     // tokens per example, [CLS] and [SEP] included (default 128, at most the model's positions)

	// Augment rewrites each training alert on the fly (seeded): the metadata prefix
	// dropped, the clauses shuffled, a few tokens masked; see [Augment].
	Augment bool

	// EvalEvery is the number of steps between evaluations on the eval set (default: 8
	// evaluations per run); the last step is always evaluated.
	EvalEvery int
	// Progress, if set, is called after every step.
	Progress func(Step)
	// Context, if set, stops the run between two steps when cancelled.
	Context context.Context
}

// Step is one training step's report. The Eval fields are NaN on steps without an
// evaluation.
type Step struct {
	Step, Steps  int
	Epoch        float64 // epochs done (fractional)
	Loss         float64 // the batch's training loss
	Accuracy     float64 // the batch's accuracy
	EvalLoss     float64 // mean cross-entropy on the eval set
	EvalAccuracy float64
	EvalMacroF1  float64
	Elapsed      time.Duration
}

// Run is the outcome of [FineTune].
type Run struct {
	Model      *llm.Model      `json:"-"` // the fine-tuned model (LoRA adapters merged by Export, not before)
	Labels     []string        `json:"labels"`
	Eval       Metrics         `json:"eval"` // on the eval set after the last step
	Steps      int             `json:"steps"`
	Epochs     int             `json:"epochs"`
	Seconds    float64         `json:"seconds"`     // wall-clock training time (evaluations excluded)
	CPUSeconds float64         `json:"cpu_seconds"` // CPU time of this process during training, all threads
	Params     int             `json:"params"`      // parameters of the model without adapters
	Trainable  int             `json:"trainable"`   // parameters that learned (adapters + head for LoRA)
	LoRA       *llm.LoRAConfig `json:"lora,omitempty"`
	History    []Step          `json:"-"`
	MaxLen     int             `json:"max_len"`
	LR         float64         `json:"lr"`
	BatchSize  int             `json:"batch_size"`
}

// TrainHistory is a run's record: the training loss and batch accuracy of every step, and
// the evaluations. divellm finetune saves it beside the model as train_history.json.
type TrainHistory struct {
	Losses   []float64   `json:"losses"`
	Accuracy []float64   `json:"accuracy"`
	Evals    []EvalPoint `json:"evals"`
}

// EvalPoint is one evaluation on the eval set during training.
type EvalPoint struct {
	Step     int     `json:"step"`
	Loss     float64 `json:"loss"`
	Accuracy float64 `json:"accuracy"`
	MacroF1  float64 `json:"macro_f1"`
}

// TrainHistory returns the run's history (NaN-free, for JSON).
func (r *Run) TrainHistory() TrainHistory {
	var h TrainHistory
	for _, s := range r.History {
		h.Losses = append(h.Losses, s.Loss)
		h.Accuracy = append(h.Accuracy, s.Accuracy)
		if !math.IsNaN(s.EvalAccuracy) {
			h.Evals = append(h.Evals, EvalPoint{Step: s.Step, Loss: s.EvalLoss, Accuracy: s.EvalAccuracy, MacroF1: s.EvalMacroF1})
		}
	}
	return h
}

// TrainableShare is Trainable / Params.
func (r *Run) TrainableShare() float64 { return float64(r.Trainable) / float64(r.Params) }

// withDefaults fills o's zero values.
func (o Options) withDefaults(c llm.Config) (Options, error) {
	if o.Epochs == 0 {
		o.Epochs = 3
	}
	if o.BatchSize == 0 {
		o.BatchSize = 32
	}
	if o.LR == 0 {
		o.LR = 1e-3
		if o.LoRARank > 0 {
			o.LR = 3e-3
		}
	}
	if o.MaxLen == 0 {
		o.MaxLen = min(128, c.MaxPos)
	}
	if o.LoRARank > 0 && o.LoRAAlpha == 0 {
		o.LoRAAlpha = 2 * float64(o.LoRARank)
	}
	switch {
	case o.Epochs < 0 || o.Epochs > 1000:
		return o, fmt.Errorf("epochs %d outside [1, 1000]", o.Epochs)
	case o.BatchSize < 0 || o.BatchSize > 4096:
		return o, fmt.Errorf("batch size %d outside [1, 4096]", o.BatchSize)
	case !(o.LR > 0) || math.IsInf(o.LR, 0):
		return o, fmt.Errorf("learning rate %g must be positive and finite", o.LR)
	case o.MaxLen < 3 || o.MaxLen > c.MaxPos:
		return o, fmt.Errorf("max length %d outside [3, %d] (the model's positions)", o.MaxLen, c.MaxPos)
	case o.LoRARank < 0:
		return o, fmt.Errorf("LoRA rank %d is negative", o.LoRARank)
	case math.IsNaN(o.LoRAAlpha) || math.IsInf(o.LoRAAlpha, 0) || o.LoRAAlpha < 0:
		return o, fmt.Errorf("LoRA alpha %g must be positive and finite", o.LoRAAlpha)
	case o.FreezeLayers < 0 || o.FreezeLayers > c.Layers:
		return o, fmt.Errorf("freeze layers %d outside [0, %d] (the model's blocks)", o.FreezeLayers, c.Layers)
	case o.FreezeLayers > 0 && o.LoRARank > 0:
		return o, errors.New("freeze layers is for full fine-tuning; LoRA freezes every base weight already")
	case o.LoRAAll && o.LoRARank == 0:
		return o, errors.New("adapters on all linear layers need a LoRA rank")
	case o.EvalEvery < 0:
		return o, fmt.Errorf("eval every %d is negative", o.EvalEvery)
	}
	return o, nil
}

// Encode tokenizes texts as [CLS] text [SEP], cut to maxLen tokens.
func Encode(m *llm.Model, texts []string, maxLen int) ([][]int, error) {
	if m.Tokenizer == nil {
		return nil, errors.New("the model has no tokenizer")
	}
	out := make([][]int, len(texts))
	for i, t := range texts {
		ids, _ := tokenizer.EncodeSingle(m.Tokenizer, t, maxLen)
		if len(ids) == 0 {
			return nil, fmt.Errorf("text %d encodes to no tokens", i+1)
		}
		out[i] = ids
	}
	return out, nil
}

// padTo builds a batch of the rows of seqs picked by idx, right-padded to n tokens, so
// every batch has one shape and the step compiles once.
func padTo(seqs [][]int, idx []int, n, pad int) llm.Batch {
	b := llm.Batch{IDs: make([][]int, len(idx)), Mask: make([][]int, len(idx))}
	for r, i := range idx {
		b.IDs[r] = make([]int, n)
		b.Mask[r] = make([]int, n)
		for j := range n {
			if j < len(seqs[i]) {
				b.IDs[r][j], b.Mask[r][j] = seqs[i][j], 1
			} else {
				b.IDs[r][j] = pad
			}
		}
	}
	return b
}

// longest is the length of the longest sequence.
func longest(seqs [][]int) int {
	n := 0
	for _, s := range seqs {
		n = max(n, len(s))
	}
	return n
}

// lengthBucket is the granularity of the padded batch lengths: a batch is padded to a
// multiple of it (at most the longest example), so training compiles a few step graphs
// and short alerts do not pay for long ones.
const lengthBucket = 32

// groupChunk is how many batches are grouped by length at a time.
const groupChunk = 8

// shuffleSource yields full batches from an endless stream of seeded permutations of the
// training set (one per epoch). As transformers' group_by_length, each run of groupChunk
// batches is sorted by length before it is cut into batches, and the batches of the run
// are shuffled, so a batch holds examples of similar length.
type shuffleSource struct {
	seqs [][]int
	// augment, if set, re-encodes a rewritten version of example i (see Augment).
	augment func(i int, r *rand.Rand) []int
	classes []int
	bs      int
	maxN    int
	pad     int
	r       *rand.Rand
	stream  []int // the examples of the next batches, in order
	queue   [][]int
}

func (s *shuffleSource) Next() (*llm.TrainBatch, error) {
	if len(s.queue) == 0 {
		for len(s.stream) < s.bs*groupChunk {
			s.stream = append(s.stream, s.r.Perm(len(s.seqs))...)
		}
		chunk := slices.Clone(s.stream[:s.bs*groupChunk])
		s.stream = s.stream[s.bs*groupChunk:]
		slices.SortStableFunc(chunk, func(a, b int) int { return len(s.seqs[a]) - len(s.seqs[b]) })
		for i := 0; i < len(chunk); i += s.bs {
			s.queue = append(s.queue, chunk[i:i+s.bs])
		}
		s.r.Shuffle(len(s.queue), func(i, j int) { s.queue[i], s.queue[j] = s.queue[j], s.queue[i] })
	}
	idx := s.queue[0]
	s.queue = s.queue[1:]
	seqs, rows := s.seqs, idx
	if s.augment != nil {
		seqs, rows = make([][]int, len(idx)), make([]int, len(idx))
		for r, i := range idx {
			seqs[r], rows[r] = s.augment(i, s.r), r
		}
	}
	cls := make([]int, len(idx))
	n := 0
	for r, i := range idx {
		cls[r] = s.classes[i]
		n = max(n, len(seqs[rows[r]]))
	}
	n = min(s.maxN, (n+lengthBucket-1)/lengthBucket*lengthBucket)
	return &llm.TrainBatch{Batch: padTo(seqs, rows, n, s.pad), Classes: cls}, nil
}

// FineTune fine-tunes m as a sequence classifier on train and evaluates it on eval: it adds
// a classifier head over the labels (unless m has one), then trains every weight, the
// upper blocks (FreezeLayers) or LoRA adapters (LoRARank) with the classification
// objective (cross-entropy of the [CLS]-pooled logits). m is changed in place. An eval
// example whose label is not one of the classes is an error before any training.
func FineTune(m *llm.Model, train, eval []Example, o Options) (*Run, error) {
	if len(train) == 0 {
		return nil, errors.New("fine-tune: no training examples")
	}
	if len(eval) == 0 {
		return nil, errors.New("fine-tune: no eval examples")
	}
	if m.LoRA != nil {
		return nil, errors.New("fine-tune: the model already has LoRA adapters")
	}
	o, err := o.withDefaults(m.Config)
	if err != nil {
		return nil, fmt.Errorf("fine-tune: %w", err)
	}
	labels := o.Labels
	if m.Heads().Classifier {
		have := modelLabels(m.Config)
		if len(labels) > 0 && !slices.Equal(labels, have) {
			return nil, fmt.Errorf("fine-tune: the model's classifier has labels %v, not %v", have, labels)
		}
		labels = have
	} else if len(labels) == 0 {
		labels = LabelOrder(train)
	}
	if len(labels) < 2 {
		return nil, fmt.Errorf("fine-tune: %d class; a classifier needs at least 2", len(labels))
	}
	if dup := firstDuplicate(labels); dup != "" {
		return nil, fmt.Errorf("fine-tune: label %q is listed twice", dup)
	}
	trainCls, err := ClassIndex(train, labels, "train")
	if err != nil {
		return nil, fmt.Errorf("fine-tune: %w", err)
	}
	evalCls, err := ClassIndex(eval, labels, "eval")
	if err != nil {
		return nil, fmt.Errorf("fine-tune: %w", err)
	}
	seqs, err := Encode(m, texts(train), o.MaxLen)
	if err != nil {
		return nil, fmt.Errorf("fine-tune: train: %w", err)
	}
	if !m.Heads().Classifier {
		if err := m.AddClassifier(labels, o.Seed+1); err != nil {
			return nil, fmt.Errorf("fine-tune: %w", err)
		}
	}
	params := m.Weights.Count()
	tc := llm.TrainConfig{Objective: llm.Classification, LR: o.LR, Seed: o.Seed}
	tc.Steps = (o.Epochs*len(train) + o.BatchSize - 1) / o.BatchSize
	tc.WarmupSteps = max(1, tc.Steps/10)
	var lora *llm.LoRAConfig
	switch {
	case o.LoRARank > 0:
		lc := llm.LoRAConfig{Rank: o.LoRARank, Alpha: o.LoRAAlpha, Seed: o.Seed + 2}
		if o.LoRAAll {
			lc.Targets = "all-linear"
		}
		if err := m.AddLoRA(lc); err != nil {
			return nil, fmt.Errorf("fine-tune: %w", err)
		}
		tc.Trainable = m.LoRATrainable
		c := *m.LoRA
		lora = &c
	case o.FreezeLayers > 0:
		tc.Trainable = llm.FreezeLayers(m.Config, o.FreezeLayers)
	}
	src := &shuffleSource{seqs: seqs, classes: trainCls, bs: o.BatchSize, maxN: longest(seqs), pad: m.Config.PadID,
		r: rand.New(rand.NewPCG(o.Seed, 0x5eed))}
	if o.Augment {
		tok, maskID := m.Tokenizer, m.Tokenizer.Specials().MASK
		src.augment = func(i int, r *rand.Rand) []int {
			ids, _ := tokenizer.EncodeSingle(tok, Augment(train[i].Text, r), o.MaxLen)
			if maskID >= 0 {
				for j := 1; j < len(ids)-1; j++ {
					if r.Float64() < 0.1 {
						ids[j] = maskID
					}
				}
			}
			return ids
		}
	}
	tr, err := m.NewTrainer(tc, src, nil)
	if err != nil {
		return nil, fmt.Errorf("fine-tune: %w", err)
	}
	evalEvery := o.EvalEvery
	if evalEvery == 0 {
		evalEvery = max(1, tc.Steps/8)
	}
	run := &Run{Model: m, Labels: labels, Steps: tc.Steps, Epochs: o.Epochs, Params: params, Trainable: tr.TrainableCount(),
		LoRA: lora, MaxLen: o.MaxLen, LR: o.LR, BatchSize: o.BatchSize}
	evalTexts := texts(eval)
	var trainTime time.Duration
	var cpuTime time.Duration
	for !tr.Done() {
		if o.Context != nil {
			if err := o.Context.Err(); err != nil {
				return nil, fmt.Errorf("fine-tune: stopped at step %d: %w", tr.StepsDone(), err)
			}
		}
		t0, c0 := time.Now(), cpuNow()
		p, err := tr.Step()
		if err != nil {
			return nil, fmt.Errorf("fine-tune: %w", err)
		}
		trainTime += time.Since(t0)
		cpuTime += cpuNow() - c0
		st := Step{Step: p.Step, Steps: p.Steps, Epoch: float64(p.Step*o.BatchSize) / float64(len(train)), Loss: p.Loss,
			Accuracy: p.Accuracy, EvalLoss: math.NaN(), EvalAccuracy: math.NaN(), EvalMacroF1: math.NaN(), Elapsed: trainTime}
		if p.Step%evalEvery == 0 || p.Step == p.Steps {
			ev, loss, err := evaluate(m, labels, evalTexts, evalCls, o.MaxLen)
			if err != nil {
				return nil, fmt.Errorf("fine-tune: eval: %w", err)
			}
			st.EvalLoss, st.EvalAccuracy, st.EvalMacroF1 = loss, ev.Accuracy, ev.MacroF1
			run.Eval = ev
		}
		run.History = append(run.History, st)
		if o.Progress != nil {
			o.Progress(st)
		}
	}
	run.Seconds, run.CPUSeconds = trainTime.Seconds(), cpuTime.Seconds()
	return run, nil
}

// evaluate scores the model on texts with gold classes: metrics and mean cross-entropy.
func evaluate(m *llm.Model, labels, texts []string, gold []int, maxLen int) (Metrics, float64, error) {
	probs, err := Probs(m, texts, maxLen)
	if err != nil {
		return Metrics{}, 0, err
	}
	pred := make([]int, len(probs))
	loss := 0.0
	for i, p := range probs {
		pred[i] = argmax(p)
		loss -= math.Log(max(p[gold[i]], 1e-30))
	}
	met, err := Score(labels, gold, pred)
	return met, loss / float64(len(texts)), err
}

// EvaluateModel scores a classifier (its own labels) on examples.
func EvaluateModel(m *llm.Model, ex []Example, maxLen int) (Metrics, error) {
	if !m.Heads().Classifier {
		return Metrics{}, errors.New("the model has no classifier head")
	}
	labels := modelLabels(m.Config)
	gold, err := ClassIndex(ex, labels, "eval")
	if err != nil {
		return Metrics{}, err
	}
	met, _, err := evaluate(m, labels, texts(ex), gold, maxLen)
	return met, err
}

// Probs returns the class probabilities (softmax of the classifier's logits) of each text,
// in batches of 64 padded to one length.
func Probs(m *llm.Model, texts []string, maxLen int) ([][]float64, error) {
	if !m.Heads().Classifier {
		return nil, errors.New("the model has no classifier head")
	}
	seqs, err := Encode(m, texts, min(maxLen, m.Config.MaxPos))
	if err != nil {
		return nil, err
	}
	order := make([]int, len(seqs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(seqs[a]) - len(seqs[b]) })
	out := make([][]float64, len(texts))
	const bs = 64
	for s := 0; s < len(order); s += bs {
		idx := order[s:min(s+bs, len(order))]
		res, err := m.Forward(padTo(seqs, idx, len(seqs[idx[len(idx)-1]]), m.Config.PadID), llm.ForwardOptions{SkipLogits: true})
		if err != nil {
			return nil, err
		}
		for r, i := range idx {
			var logits []float32
			if m.Config.Arch == llm.GPT {
				logits = res.Classes.Row(r, len(seqs[i])-1)
			} else {
				logits = res.Classes.Row(r)
			}
			out[i] = sample.Probs(logits)
		}
	}
	return out, nil
}

// Predict returns the most probable class index of each text.
func Predict(m *llm.Model, texts []string, maxLen int) ([]int, error) {
	probs, err := Probs(m, texts, maxLen)
	if err != nil {
		return nil, err
	}
	out := make([]int, len(probs))
	for i, p := range probs {
		out[i] = argmax(p)
	}
	return out, nil
}

// Export writes the fine-tuned model to dir (HF layout: BertForSequenceClassification
// names, id2label/label2id in config.json), under the output-directory policy of
// Model.Save. A LoRA run also writes its adapters alone, PEFT's adapter_config.json and
// adapter_model.safetensors (base names the base model), into the same directory, then
// merges them: the saved model.safetensors holds W + (α/r)·B·A and needs no adapter code.
// extra files (name → bytes) are added to the directory too.
func (r *Run) Export(dir, base string, extra map[string][]byte) error {
	m := r.Model
	var adapter map[string][]byte
	if m.LoRA != nil {
		tmp, err := os.MkdirTemp("", "divellm-adapter-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp) // made here, holds only what SaveAdapter wrote
		ad := filepath.Join(tmp, "adapter")
		if err := m.SaveAdapter(ad, base); err != nil {
			return err
		}
		adapter = map[string][]byte{}
		for _, f := range []string{"adapter_config.json", "adapter_model.safetensors"} {
			b, err := fileio.ReadFile(filepath.Join(ad, f), 1<<30)
			if err != nil {
				return err
			}
			adapter[f] = b
		}
		if err := m.MergeLoRA(); err != nil {
			return err
		}
	}
	if err := m.Save(dir); err != nil {
		return err
	}
	for _, files := range []map[string][]byte{adapter, extra} {
		for _, name := range slices.Sorted(maps.Keys(files)) {
			if err := safetensors.WriteFileInDir(dir, name, files[name]); err != nil {
				return err
			}
		}
	}
	return nil
}

// modelLabels returns a classifier's labels in class order (id2label, LABEL_i if absent).
func modelLabels(c llm.Config) []string {
	out := make([]string, c.NumLabels)
	for i := range out {
		if l, ok := c.ID2Label[fmt.Sprint(i)]; ok {
			out[i] = l
		} else {
			out[i] = fmt.Sprintf("LABEL_%d", i)
		}
	}
	return out
}

// ModelLabels returns a classifier model's labels in class order.
func ModelLabels(m *llm.Model) []string { return modelLabels(m.Config) }

func texts(ex []Example) []string {
	out := make([]string, len(ex))
	for i, e := range ex {
		out[i] = e.Text
	}
	return out
}

func argmax(p []float64) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

func firstDuplicate(s []string) string {
	seen := map[string]bool{}
	for _, v := range s {
		if seen[v] {
			return v
		}
		seen[v] = true
	}
	return ""
}
