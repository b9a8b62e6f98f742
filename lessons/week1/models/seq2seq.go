package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/divellm/divellm/lessons/checkout"
	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/lessons/week1"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/tokenizer"
	"github.com/divellm/divellm/viz"
)

// Seq2SeqConfig sets up the in-notebook encoder-decoder: a TinyBART (2 encoder + 2 decoder
// blocks, d_model 64) trained from scratch on one of lessons/data's seq2seq tasks.
type Seq2SeqConfig struct {
	Task      string  // "alerts" (default) or "dates"
	Steps     int     // optimiser steps (default 240)
	BatchSize int     // default 32
	LR        float64 // peak learning rate (default 4e-3)
	Seed      uint64  // model init, batch order and dropout
	EvalEvery int     // validation loss every N steps (default Steps/10)
	TestLimit int     // evaluate the first TestLimit test pairs (0 = all)
}

func (c Seq2SeqConfig) withDefaults() Seq2SeqConfig {
	if c.Task == "" {
		c.Task = "alerts"
	}
	if c.Steps == 0 {
		c.Steps = 240
	}
	if c.BatchSize == 0 {
		c.BatchSize = 32
	}
	if c.LR == 0 {
		c.LR = 4e-3
	}
	if c.EvalEvery == 0 {
		c.EvalEvery = max(1, c.Steps/10)
	}
	return c
}

// seq2seqCacheVersion changes whenever the training or the cached layout changes, so an
// old cache entry is never read as a new one.
const seq2seqCacheVersion = "seq2seq-v2"

// seq2seqVal is how many training pairs (the last ones) are held out for the validation
// loss curve; the test split is only decoded at the end.
const seq2seqVal = 240

// Seq2SeqRun is a trained encoder-decoder with its training history and its score on the
// task's held-out test split.
type Seq2SeqRun struct {
	Config       Seq2SeqConfig
	Model        *llm.Model `json:"-"`
	Losses       []float64  // training loss per step (step i+1)
	ValSteps     []int      // steps at which the validation loss was measured (0 = before training)
	ValLosses    []float64
	TrainSeconds float64 // training time when it ran (not the reload time)
	Eval         Seq2SeqEval
	Cached       bool   `json:"-"` // loaded from Dir rather than trained now
	Dir          string `json:"-"` // the cache entry ("" when the cache is unavailable)
}

// Seq2SeqEval scores greedy decoding against the references.
type Seq2SeqEval struct {
	N            int     // pairs scored
	Exact        int     // predictions equal to the reference
	ExactMatch   float64 // Exact / N
	CharsRight   int     // Σ characters equal to the reference's at the same position
	CharsTotal   int     // Σ max(len(prediction), len(reference)), in characters
	CharAccuracy float64 // CharsRight / CharsTotal
	Predictions  []Seq2SeqPrediction
}

// Seq2SeqPrediction is one decoded test pair.
type Seq2SeqPrediction struct {
	Source, Target, Prediction string
	Exact                      bool
}

// CharMatches compares a prediction with its reference character by character at the same
// positions: right counts equal characters, total is the longer of the two lengths (so a
// missing or an extra character counts as wrong).
func CharMatches(prediction, reference string) (right, total int) {
	p, r := []rune(prediction), []rune(reference)
	for i := range min(len(p), len(r)) {
		if p[i] == r[i] {
			right++
		}
	}
	return right, max(len(p), len(r))
}

// ScoreSeq2Seq computes exact match and character accuracy of predictions against
// references (same length).
func ScoreSeq2Seq(sources, references, predictions []string) (Seq2SeqEval, error) {
	if len(references) != len(predictions) || len(sources) != len(references) {
		return Seq2SeqEval{}, fmt.Errorf("score: %d sources, %d references, %d predictions", len(sources), len(references), len(predictions))
	}
	var e Seq2SeqEval
	for i, ref := range references {
		right, total := CharMatches(predictions[i], ref)
		e.CharsRight += right
		e.CharsTotal += total
		ok := predictions[i] == ref
		if ok {
			e.Exact++
		}
		e.Predictions = append(e.Predictions, Seq2SeqPrediction{Source: sources[i], Target: ref, Prediction: predictions[i], Exact: ok})
	}
	e.N = len(references)
	if e.N > 0 {
		e.ExactMatch = float64(e.Exact) / float64(e.N)
	}
	if e.CharsTotal > 0 {
		e.CharAccuracy = float64(e.CharsRight) / float64(e.CharsTotal)
	}
	return e, nil
}

// seq2seqData is a task's pairs and the character tokenizer built from its training split.
type seq2seqData struct {
	train, val, test []data.Seq2SeqPair
	tok              *tokenizer.Char
	srcLen, tgtLen   int // fixed padded lengths (tokens): the step compiles once
}

func loadSeq2SeqData(task string) (*seq2seqData, error) {
	train, err := data.Seq2Seq(task, "train")
	if err != nil {
		return nil, err
	}
	test, err := data.Seq2Seq(task, "test")
	if err != nil {
		return nil, err
	}
	if len(train) <= seq2seqVal {
		return nil, fmt.Errorf("seq2seq: task %q has only %d training pairs", task, len(train))
	}
	var corpus strings.Builder
	for _, p := range train {
		corpus.WriteString(p.Source)
		corpus.WriteString(p.Target)
	}
	d := &seq2seqData{train: train[:len(train)-seq2seqVal], val: train[len(train)-seq2seqVal:], test: test,
		tok: tokenizer.NewChar(corpus.String(), tokenizer.CharOptions{})}
	for _, ps := range [][]data.Seq2SeqPair{train, test} {
		for _, p := range ps {
			d.srcLen = max(d.srcLen, len(d.tok.Encode(p.Source)))
			d.tgtLen = max(d.tgtLen, len(d.tok.Encode(p.Target))+1) // + the start token / EOS
		}
	}
	return d, nil
}

// modelConfig is the TinyBART for the task's character vocabulary ([CLS] starts the
// decoder, [SEP] ends the target).
func (d *seq2seqData) modelConfig() llm.Config {
	sp := d.tok.Specials()
	mc := llm.TinyBART(d.tok.VocabSize(), sp.PAD, sp.CLS, sp.SEP)
	mc.MaxPos = max(mc.MaxPos, d.srcLen, d.tgtLen)
	return mc
}

// Seq2SeqModel returns the model configuration [TrainSeq2Seq] trains for task: a
// TinyBART over the task's characters.
func Seq2SeqModel(task string) (llm.Config, error) {
	d, err := loadSeq2SeqData(task)
	if err != nil {
		return llm.Config{}, err
	}
	return d.modelConfig(), nil
}

// Seq2SeqTask describes a task as [TrainSeq2Seq] uses it.
type Seq2SeqTask struct {
	Train, Val, Test int         // pairs: training, held out from training for the validation loss, test
	Vocab            int         // character vocabulary (specials included)
	SourceLen        int         // longest source, in characters
	TargetLen        int         // longest target, in characters
	Examples         week1.Table // the first training pairs
}

// DescribeSeq2Seq returns the sizes of task's splits and its first n training pairs.
func DescribeSeq2Seq(task string, n int) (*Seq2SeqTask, error) {
	d, err := loadSeq2SeqData(task)
	if err != nil {
		return nil, err
	}
	t := &Seq2SeqTask{Train: len(d.train), Val: len(d.val), Test: len(d.test), Vocab: d.tok.VocabSize(), SourceLen: d.srcLen, TargetLen: d.tgtLen - 1}
	t.Examples.Headers = []string{"输入 (source)", "输出 (target)"}
	for _, p := range d.train[:min(max(n, 0), len(d.train))] {
		t.Examples.Rows = append(t.Examples.Rows, []string{p.Source, p.Target})
	}
	return t, nil
}

// BARTLayerTable compares the first encoder layer with the first decoder layer of an
// encoder-decoder, module by module (Hugging Face BART names), with their parameter
// counts: the decoder layer has the cross-attention (encoder_attn) the encoder lacks.
func BARTLayerTable(c llm.Config) (week1.Table, error) {
	if c.Arch != llm.BART {
		return week1.Table{}, fmt.Errorf("layer table: %s is not an encoder-decoder", c.Arch)
	}
	w, err := llm.NewWeights(c, llm.HeadSet{}, 1)
	if err != nil {
		return week1.Table{}, err
	}
	modules := []struct{ name, zh string }{
		{"self_attn", "自注意力 (q/k/v/out_proj)"},
		{"self_attn_layer_norm", "自注意力后的 LayerNorm"},
		{"encoder_attn", "交叉注意力 (q/k/v/out_proj)"},
		{"encoder_attn_layer_norm", "交叉注意力后的 LayerNorm"},
		{"fc1", "前馈第一层 (fc1)"},
		{"fc2", "前馈第二层 (fc2)"},
		{"final_layer_norm", "前馈后的 LayerNorm"},
	}
	count := func(prefix string) int {
		n := 0
		for _, name := range w.Names() {
			if strings.HasPrefix(name, prefix+".") {
				k := 1
				for _, d := range w.Shape(name) {
					k *= d
				}
				n += k
			}
		}
		return n
	}
	cell := func(n int) string {
		if n == 0 {
			return "没有"
		}
		return fmt.Sprintf("%d 个参数", n)
	}
	var rows [][]string
	for _, m := range modules {
		rows = append(rows, []string{m.name, m.zh, cell(count("model.encoder.layers.0." + m.name)), cell(count("model.decoder.layers.0." + m.name))})
	}
	return week1.Table{Headers: []string{"模块 (Hugging Face 名)", "作用", "encoder 第 1 层", "decoder 第 1 层"}, Rows: rows}, nil
}

func (d *seq2seqData) ids(text string) []int { return tokenizer.IDs(d.tok.Encode(text)) }

// batch is a Seq2SeqLM batch of pairs padded to the fixed lengths.
func (d *seq2seqData) batch(c llm.Config, pairs []data.Seq2SeqPair) (*llm.TrainBatch, error) {
	var src, tgt [][]int
	for _, p := range pairs {
		src, tgt = append(src, d.ids(p.Source)), append(tgt, d.ids(p.Target))
	}
	tb, err := c.Seq2SeqBatch(src, tgt)
	if err != nil {
		return nil, err
	}
	pad := func(rows [][]int, n, v int) [][]int {
		for i, r := range rows {
			for len(r) < n {
				r = append(r, v)
			}
			rows[i] = r
		}
		return rows
	}
	tb.IDs, tb.Mask = pad(tb.IDs, d.srcLen, c.PadID), pad(tb.Mask, d.srcLen, 0)
	tb.DecoderIDs, tb.DecoderMask = pad(tb.DecoderIDs, d.tgtLen, c.PadID), pad(tb.DecoderMask, d.tgtLen, 0)
	tb.Labels = pad(tb.Labels, d.tgtLen, -100)
	return tb, nil
}

// seq2seqSource draws random training batches (with replacement, seeded).
type seq2seqSource struct {
	d     *seq2seqData
	c     llm.Config
	n     int
	r     *rand.Rand
	batch []data.Seq2SeqPair
}

func (s *seq2seqSource) Next() (*llm.TrainBatch, error) {
	s.batch = s.batch[:0]
	for range s.n {
		s.batch = append(s.batch, s.d.train[s.r.IntN(len(s.d.train))])
	}
	return s.d.batch(s.c, s.batch)
}

func (c Seq2SeqConfig) cacheKey(d *seq2seqData, mc llm.Config) string {
	h := sha256.New()
	cfg, _ := json.Marshal(struct {
		V string
		C Seq2SeqConfig
		M llm.Config
	}{seq2seqCacheVersion, c, mc})
	h.Write(cfg)
	for _, ps := range [][]data.Seq2SeqPair{d.train, d.val, d.test} {
		for _, p := range ps {
			fmt.Fprintf(h, "%d:%s%d:%s", len(p.Source), p.Source, len(p.Target), p.Target)
		}
	}
	return c.Task + "-" + hex.EncodeToString(h.Sum(nil))[:20]
}

// Seq2SeqCacheDir is where [TrainSeq2Seq] keeps its runs: .cache/week1/seq2seq in the
// checkout (see [checkout.CacheDir]).
func Seq2SeqCacheDir() (string, error) { return seq2seqCacheBase() }

// seq2seqCacheBase is Seq2SeqCacheDir's implementation (tests point it elsewhere).
var seq2seqCacheBase = func() (string, error) {
	return checkout.CacheDir("week1", "seq2seq")
}

// TrainSeq2Seq returns the trained encoder-decoder of cfg: loaded from
// .cache/week1/seq2seq/<task>-<hash of the settings and the data>/ when a run with the same
// settings finished before, else trained now (progress, if not nil, is called after every
// step), scored on the test split with greedy decoding, and saved there. Each notebook
// cell is a new program, so the first cell trains and the later cells (and runs) reload.
func TrainSeq2Seq(cfg Seq2SeqConfig, progress func(llm.Progress)) (*Seq2SeqRun, error) {
	cfg = cfg.withDefaults()
	if cfg.Steps < 1 || cfg.BatchSize < 1 || cfg.LR <= 0 || cfg.TestLimit < 0 || cfg.EvalEvery < 1 {
		return nil, fmt.Errorf("seq2seq: steps %d, batch size %d, learning rate %g, eval interval %d and test limit %d must be positive", cfg.Steps, cfg.BatchSize, cfg.LR, cfg.EvalEvery, cfg.TestLimit)
	}
	d, err := loadSeq2SeqData(cfg.Task)
	if err != nil {
		return nil, err
	}
	mc := d.modelConfig()
	dir := ""
	if base, err := Seq2SeqCacheDir(); err == nil {
		dir = filepath.Join(base, cfg.cacheKey(d, mc))
		if run, err := loadSeq2SeqRun(dir); err == nil {
			return run, nil
		}
	}
	run, err := trainSeq2Seq(cfg, d, mc, progress)
	if err != nil {
		return nil, err
	}
	if dir != "" {
		if err := run.save(dir); err == nil {
			run.Dir = dir
		}
	}
	return run, nil
}

func trainSeq2Seq(cfg Seq2SeqConfig, d *seq2seqData, mc llm.Config, progress func(llm.Progress)) (*Seq2SeqRun, error) {
	m, err := llm.New(mc, llm.HeadSet{}, cfg.Seed)
	if err != nil {
		return nil, err
	}
	m.Tokenizer = d.tok
	val, err := d.batch(mc, d.val)
	if err != nil {
		return nil, err
	}
	run := &Seq2SeqRun{Config: cfg, Model: m}
	src := &seq2seqSource{d: d, c: mc, n: cfg.BatchSize, r: rand.New(rand.NewPCG(cfg.Seed, 11))}
	tr, err := m.NewTrainer(llm.TrainConfig{
		Objective: llm.Seq2SeqLM, Steps: cfg.Steps, BatchSize: cfg.BatchSize, LR: cfg.LR, Seed: cfg.Seed,
		EvalEvery: cfg.EvalEvery,
		Progress: func(p llm.Progress) {
			run.Losses = append(run.Losses, p.Loss)
			if !math.IsNaN(p.ValLoss) {
				run.ValSteps, run.ValLosses = append(run.ValSteps, p.Step), append(run.ValLosses, p.ValLoss)
			}
			if progress != nil {
				progress(p)
			}
		},
	}, src, []*llm.TrainBatch{val})
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	res, err := tr.Run(context.Background(), 0)
	if err != nil {
		return nil, err
	}
	run.TrainSeconds = time.Since(t0).Seconds()
	run.ValSteps, run.ValLosses = append([]int{0}, run.ValSteps...), append([]float64{res.InitialValLoss}, run.ValLosses...)
	for _, l := range run.Losses {
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return nil, fmt.Errorf("seq2seq: training diverged (loss %g)", l)
		}
	}
	test := d.test
	if cfg.TestLimit > 0 && cfg.TestLimit < len(test) {
		test = test[:cfg.TestLimit]
	}
	if run.Eval, err = evalSeq2Seq(m, d, test); err != nil {
		return nil, err
	}
	return run, nil
}

func evalSeq2Seq(m *llm.Model, d *seq2seqData, pairs []data.Seq2SeqPair) (Seq2SeqEval, error) {
	var srcs, refs []string
	for _, p := range pairs {
		srcs, refs = append(srcs, p.Source), append(refs, p.Target)
	}
	preds, err := GreedySeq2Seq(m, srcs, d.tgtLen)
	if err != nil {
		return Seq2SeqEval{}, err
	}
	return ScoreSeq2Seq(srcs, refs, preds)
}

// GreedySeq2Seq decodes every source at once with greedy decoding (the model's most
// likely token at each step, special tokens other than EOS never chosen, as
// llm.Model.GenerateSeq2Seq does one source at a time) for at most maxTokens steps. The
// sources are right-padded and masked, so a batch of rows gives the same tokens as rows
// decoded alone.
func GreedySeq2Seq(m *llm.Model, sources []string, maxTokens int) ([]string, error) {
	c := m.Config
	if c.Arch != llm.BART || m.Tokenizer == nil {
		return nil, fmt.Errorf("greedy seq2seq: needs an encoder-decoder with a tokenizer")
	}
	if len(sources) == 0 {
		return nil, nil
	}
	if maxTokens < 1 || maxTokens >= c.MaxPos {
		return nil, fmt.Errorf("greedy seq2seq: max tokens %d must be in [1, %d)", maxTokens, c.MaxPos)
	}
	var src [][]int
	for _, s := range sources {
		ids := tokenizer.IDs(m.Tokenizer.Encode(s))
		if len(ids) == 0 || len(ids) > c.MaxPos {
			return nil, fmt.Errorf("greedy seq2seq: source %q gives %d tokens (want 1..%d)", s, len(ids), c.MaxPos)
		}
		src = append(src, ids)
	}
	b := llm.PadBatch(src, c.PadID)
	sp := m.Tokenizer.Specials()
	banned := map[int]bool{}
	for _, id := range []int{sp.PAD, sp.UNK, sp.CLS, sp.SEP, sp.MASK} {
		if id >= 0 && id != c.EosID {
			banned[id] = true
		}
	}
	// The decoder input has a fixed width of maxTokens: step k fills position k, the
	// positions after it are padding that the causal mask hides from position k. One input
	// shape for every step means one compiled graph, and no bucket padding (NoBucket).
	dec := make([][]int, len(src))
	decMask := make([][]int, len(src))
	for i := range dec {
		dec[i], decMask[i] = make([]int, maxTokens), make([]int, maxTokens)
		for j := range dec[i] {
			dec[i][j] = c.PadID
		}
		dec[i][0], decMask[i][0] = c.DecoderStartID, 1
	}
	b.DecoderIDs, b.DecoderMask = dec, decMask
	out := make([][]int, len(src))
	done := make([]bool, len(src))
	for k := range maxTokens {
		o, err := m.Forward(b, llm.ForwardOptions{NoBucket: true})
		if err != nil {
			return nil, fmt.Errorf("greedy seq2seq: %w", err)
		}
		all := true
		for i := range dec {
			next := c.EosID
			if !done[i] {
				row := o.Logits.Row(i, k)
				best := float32(math.Inf(-1))
				for id, v := range row {
					if !banned[id] && v > best {
						best, next = v, id
					}
				}
				if next == c.EosID {
					done[i] = true
				} else {
					out[i] = append(out[i], next)
				}
			}
			if k+1 < maxTokens {
				dec[i][k+1], decMask[i][k+1] = next, 1
			}
			all = all && done[i]
		}
		if all {
			break
		}
	}
	texts := make([]string, len(out))
	for i, ids := range out {
		texts[i] = m.Tokenizer.Decode(ids)
	}
	return texts, nil
}

// save writes the model to dir/model and the run to dir/run.json (last: a run.json means
// a complete entry).
func (r *Seq2SeqRun) save(dir string) error {
	if err := r.Model.Save(filepath.Join(dir, "model")); err != nil {
		return err
	}
	js, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "run.json"), js)
}

// writeFileAtomic writes data to path through a temporary file named by the process id
// (two cells writing the same entry never share one) and a rename.
func writeFileAtomic(path string, data []byte) error {
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func loadSeq2SeqRun(dir string) (*Seq2SeqRun, error) {
	js, err := os.ReadFile(filepath.Join(dir, "run.json"))
	if err != nil {
		return nil, err
	}
	var run Seq2SeqRun
	if err := json.Unmarshal(js, &run); err != nil {
		return nil, err
	}
	if run.Model, err = llm.Load(filepath.Join(dir, "model")); err != nil {
		return nil, err
	}
	run.Cached, run.Dir = true, dir
	return &run, nil
}

// TrainSeq2SeqLive is [TrainSeq2Seq] with a loss chart titled title in the cell: a live
// chart with a progress bar while a run trains, or the cached run's recorded curve.
func TrainSeq2SeqLive(cfg Seq2SeqConfig, title string) (*Seq2SeqRun, error) {
	if run, err := loadCachedSeq2Seq(cfg); err == nil {
		l := viz.NewLiveLoss(title, 0)
		run.replay(l)
		return run, l.Done()
	}
	l := viz.NewLiveLoss(title, cfg.withDefaults().Steps)
	run, err := TrainSeq2Seq(cfg, func(p llm.Progress) {
		l.Add(p.Step, p.Loss, p.ValLoss) //nolint:errcheck // a chart that cannot draw does not stop training
	})
	if err != nil {
		return nil, err
	}
	return run, l.Done()
}

// loadCachedSeq2Seq returns cfg's cached run, or an error if there is none.
func loadCachedSeq2Seq(cfg Seq2SeqConfig) (*Seq2SeqRun, error) {
	cfg = cfg.withDefaults()
	d, err := loadSeq2SeqData(cfg.Task)
	if err != nil {
		return nil, err
	}
	base, err := Seq2SeqCacheDir()
	if err != nil {
		return nil, err
	}
	return loadSeq2SeqRun(filepath.Join(base, cfg.cacheKey(d, d.modelConfig())))
}

// replay feeds the run's recorded loss history into l.
func (r *Seq2SeqRun) replay(l *viz.LiveLoss) {
	l.MinInterval = time.Hour // draw the first and the last step only
	v := 0
	for i, loss := range r.Losses {
		step, val := i+1, math.NaN()
		for v < len(r.ValSteps) && r.ValSteps[v] < step {
			v++
		}
		if v < len(r.ValSteps) && r.ValSteps[v] == step {
			val = r.ValLosses[v]
		}
		l.Add(step, loss, val) //nolint:errcheck // Done reports a chart that cannot draw
	}
}

// FirstErrors counts the wrong predictions by the class of the first reference character
// they get wrong (数字, 字母, 汉字, 其他, or 长度 when the prediction is a prefix of the
// reference or the reference a prefix of it), most frequent first.
func (e Seq2SeqEval) FirstErrors() []ClassCount {
	counts := map[string]int{}
	for _, p := range e.Predictions {
		if p.Exact {
			continue
		}
		pr, rr := []rune(p.Prediction), []rune(p.Target)
		class := "长度"
		for i := range min(len(pr), len(rr)) {
			if pr[i] != rr[i] {
				class = charClass(rr[i])
				break
			}
		}
		counts[class]++
	}
	var out []ClassCount
	for c, n := range counts {
		out = append(out, ClassCount{c, n})
	}
	slices.SortFunc(out, func(a, b ClassCount) int {
		if a.N != b.N {
			return b.N - a.N
		}
		return strings.Compare(a.Class, b.Class)
	})
	return out
}

// ClassCount is a count of one class.
type ClassCount struct {
	Class string
	N     int
}

// PredictionTable lists n test predictions: the first wrong ones, then right ones.
func (r *Seq2SeqRun) PredictionTable(n int) ([]string, [][]string) {
	ps := slices.Clone(r.Eval.Predictions)
	slices.SortStableFunc(ps, func(a, b Seq2SeqPrediction) int {
		switch {
		case a.Exact == b.Exact:
			return 0
		case !a.Exact:
			return -1
		}
		return 1
	})
	var rows [][]string
	for _, p := range ps[:min(n, len(ps))] {
		mark := "对"
		if !p.Exact {
			mark = "错"
		}
		rows = append(rows, []string{p.Source, p.Target, p.Prediction, mark})
	}
	return []string{"输入 (source)", "参考答案 (reference)", "模型输出 (prediction)", "完全一致"}, rows
}
