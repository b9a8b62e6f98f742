package week1

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/pipeline"
	"github.com/divellm/divellm/llm/tokenizer"
)

// MLMSentence is the week's fill-mask example.
const MLMSentence = "我今天去[MASK]超市"

// MaskFill is one candidate for a [MASK]: the filled sentence and its probability.
type MaskFill struct {
	Token    string
	Prob     float64
	Sentence string // the text with the candidate in place of [MASK]
}

// FillMask asks a BERT model for the topK candidates of the first [MASK] in text.
func FillMask(m *llm.Model, text string, topK int) ([]MaskFill, error) {
	preds, err := fillFirst(m, text, topK)
	if err != nil {
		return nil, err
	}
	var out []MaskFill
	for _, c := range preds {
		out = append(out, MaskFill{Token: c.Token, Prob: c.Prob, Sentence: strings.Replace(text, data.MaskToken, c.Token, 1)})
	}
	return out, nil
}

// fillFirst returns the topK candidates for the first [MASK] of text (pipeline.FillMasks).
func fillFirst(m *llm.Model, text string, topK int) ([]llm.Candidate, error) {
	res, err := pipeline.FillMasks(m, text, topK)
	if err != nil {
		return nil, err
	}
	out := make([]llm.Candidate, 0, len(res[0]))
	for _, r := range res[0] {
		out = append(out, llm.Candidate{ID: r.Token, Token: m.Tokenizer.IDToToken(r.Token), Prob: r.Score})
	}
	return out, nil
}

// FillTable formats candidates as table rows.
func FillTable(fs []MaskFill) (headers []string, rows [][]string) {
	for i, f := range fs {
		rows = append(rows, []string{fmt.Sprint(i + 1), f.Token, fmt.Sprintf("%.1f%%", 100*f.Prob), f.Sentence})
	}
	return []string{"rank", "token", "probability", "sentence"}, rows
}

// ProbeRow is one fill-mask probe and the model's answer.
type ProbeRow struct {
	Text       string
	Answers    []string
	Note       string
	Top        []llm.Candidate // top-5 candidates, most likely first
	Hit1, Hit5 bool
}

// ProbeResult is a model's accuracy on the fill-mask probes.
type ProbeResult struct {
	N          int
	Top1, Top5 float64 // fractions of probes answered within the first 1 / 5 candidates
	Rows       []ProbeRow
}

// ProbeAccuracy runs every probe of data.MLMProbes through a BERT model and counts how often
// an acceptable answer is the top candidate (top-1) or among the top five (top-5). The
// filled-in probe sentences never occur in the corpus, so this measures generalisation.
func ProbeAccuracy(m *llm.Model) (*ProbeResult, error) {
	probes := data.MLMProbes()
	if len(probes) == 0 {
		return nil, fmt.Errorf("probe accuracy: no probes")
	}
	res := &ProbeResult{N: len(probes)}
	for _, p := range probes {
		preds, err := fillFirst(m, p.Text, 5)
		if err != nil {
			return nil, fmt.Errorf("probe %q: %w", p.Text, err)
		}
		row := ProbeRow{Text: p.Text, Answers: p.Answers, Note: p.Note, Top: preds}
		for i, c := range row.Top {
			if slices.Contains(p.Answers, c.Token) {
				row.Hit5 = true
				row.Hit1 = row.Hit1 || i == 0
			}
		}
		if row.Hit1 {
			res.Top1++
		}
		if row.Hit5 {
			res.Top5++
		}
		res.Rows = append(res.Rows, row)
	}
	res.Top1 /= float64(res.N)
	res.Top5 /= float64(res.N)
	return res, nil
}

// Table formats the first n probe rows (all when n ≤ 0).
func (r *ProbeResult) Table(n int) (headers []string, rows [][]string) {
	for i, p := range r.Rows {
		if n > 0 && i >= n {
			break
		}
		var top []string
		for _, c := range p.Top {
			top = append(top, fmt.Sprintf("%s %.0f%%", c.Token, 100*c.Prob))
		}
		mark := "✗"
		switch {
		case p.Hit1:
			mark = "✓ top-1"
		case p.Hit5:
			mark = "✓ top-5"
		}
		rows = append(rows, []string{p.Text, strings.Join(p.Answers, ","), strings.Join(top, "  "), mark})
	}
	return []string{"probe", "answer", "model's top-5", "hit"}, rows
}

// NSPPair is a next-sentence-prediction example: BERT sees [CLS] A [SEP] B [SEP] and
// predicts from [CLS] whether B really follows A.
type NSPPair struct {
	A, B    string
	IsNext  bool
	Why     string   // how the pair was built
	Tokens  []string // [CLS] A [SEP] B [SEP]
	TypeIDs []int    // 0 for [CLS] A [SEP], 1 for B [SEP]
}

// Label is "IsNext" or "NotNext".
func (p NSPPair) Label() string {
	if p.IsNext {
		return "IsNext"
	}
	return "NotNext"
}

// corpusSentences splits the corpus's prose lines (not the alert logs) into sentences at
// 。！？ and keeps those of 6–40 characters without quotation marks (a quote cut at its
// 。 would be half a dialogue), with their line number so consecutive sentences can be found.
func corpusSentences() (sents []string, line, ord []int) {
	train, _ := data.CorpusLines()
	for i, l := range train {
		if strings.HasPrefix(l, "20") { // alert log lines: not prose
			continue
		}
		start, k := 0, 0
		for j, r := range l {
			if r == '。' || r == '！' || r == '？' {
				end := j + len(string(r))
				s := strings.TrimSpace(l[start:end])
				if n := len([]rune(s)); n >= 6 && n <= 40 && !strings.ContainsAny(s, "“”\"") {
					sents, line, ord = append(sents, s), append(line, i), append(ord, k)
				}
				start, k = end, k+1
			}
		}
	}
	return sents, line, ord
}

// NSPExamples builds n sentence pairs from the corpus the way BERT's pretraining did: half
// IsNext (B is the sentence that follows A in the same paragraph), half NotNext (B is a
// random sentence from another paragraph). Pairs are encoded with tok ([CLS]/[SEP] needed).
func NSPExamples(tok tokenizer.Tokenizer, n int, seed uint64) ([]NSPPair, error) {
	sents, line, ord := corpusSentences()
	r := rand.New(rand.NewPCG(seed, 11))
	var out []NSPPair
	for tries := 0; len(out) < n && tries < 100*n; tries++ {
		i := r.IntN(len(sents) - 1)
		if line[i] != line[i+1] || ord[i+1] != ord[i]+1 {
			continue // A must be followed by B in its paragraph
		}
		p := NSPPair{A: sents[i]}
		if len(out)%2 == 0 {
			p.B, p.IsNext = sents[i+1], true
			p.Why = fmt.Sprintf("B 是 A 在同一段落 (corpus line %d) 里的下一句", line[i]+1)
		} else {
			j := r.IntN(len(sents))
			for line[j] == line[i] {
				j = r.IntN(len(sents))
			}
			p.B = sents[j]
			p.Why = fmt.Sprintf("B 是从另一段落 (corpus line %d) 随机抽的句子", line[j]+1)
		}
		ids, types, toks, err := tokenizer.EncodePair(tok, p.A, p.B, 0)
		if err != nil {
			return nil, err
		}
		_ = ids
		for _, t := range toks {
			p.Tokens = append(p.Tokens, t.Text)
		}
		p.TypeIDs = types
		out = append(out, p)
	}
	if len(out) < n {
		return nil, fmt.Errorf("nsp: found only %d pairs", len(out))
	}
	return out, nil
}

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
	tok := CharZH()
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
