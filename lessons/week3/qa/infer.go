package qa

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/pipeline"
	"github.com/divellm/divellm/llm/tokenizer"
	"github.com/divellm/divellm/viz"
)

// Stage is one timed step of an inference pipeline.
type Stage struct {
	Name     string
	Duration time.Duration
	Detail   string
}

// Stages are the timed steps of one run.
type Stages []Stage

// QARun is a timed run of the QA pipeline and what it read.
type QARun struct {
	Stages  Stages
	Reading *Reading
}

// QAStages runs extractive QA step by step and times each stage: load the checkpoint →
// tokenize question and context into a window → the first forward pass (GoMLX compiles the
// graph for this shape) → a second forward pass (compiled) → decode: the span search and
// the characters of the answer.
func QAStages(model, question, context string) (*QARun, error) {
	var st Stages
	stage := func(name string, f func() (string, error)) error {
		t0 := time.Now()
		d, err := f()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		st = append(st, Stage{Name: name, Duration: time.Since(t0), Detail: d})
		return nil
	}
	var m *llm.Model
	if err := stage("1 加载 (load)", func() (string, error) {
		var err error
		m, err = lessons.LoadModel(model)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%d 层，%.2fM 个参数", m.Config.Layers, float64(m.Weights.Count())/1e6), nil
	}); err != nil {
		return nil, err
	}
	if m.Tokenizer == nil || !m.Heads().QA {
		return nil, fmt.Errorf("%s is not a QA model with a tokenizer", model)
	}
	var win pipeline.QAWindow
	var ctx []tokenizer.Token
	if err := stage("2 分词 (tokenize)", func() (string, error) {
		q := m.Tokenizer.Encode(question)
		ctx = m.Tokenizer.Encode(context)
		ws, err := pipeline.QAWindows(m.Tokenizer, q, ctx, pipeline.QAOptions{MaxSeqLen: m.Config.MaxPos, DocStride: m.Config.MaxPos / 4})
		if err != nil {
			return "", err
		}
		win = ws[0]
		return fmt.Sprintf("[CLS] 问题 %d [SEP] 上下文 %d [SEP] = %d 个 token", len(q), len(ctx), len(win.IDs)), nil
	}); err != nil {
		return nil, err
	}
	var out *llm.Output
	forward := func() (string, error) {
		var err error
		out, err = m.Forward(llm.Batch{IDs: [][]int{win.IDs}, TypeIDs: [][]int{win.TypeIDs}}, llm.ForwardOptions{SkipLogits: true})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("start/end logits %v", out.QAStart.Shape), nil
	}
	if err := stage("3 第一次前向：编译 (first forward: compile)", forward); err != nil {
		return nil, err
	}
	// The compiled forward pass is short: time five and keep the median, so one pause of
	// a busy machine does not make the bar.
	var ds []time.Duration
	var detail string
	for range 5 {
		t0 := time.Now()
		d, err := forward()
		if err != nil {
			return nil, fmt.Errorf("forward: %w", err)
		}
		ds = append(ds, time.Since(t0))
		detail = d
	}
	slices.Sort(ds)
	st = append(st, Stage{Name: "4 前向 (forward, compiled, 5 次的中位数)", Duration: ds[2], Detail: detail})
	var answer string
	if err := stage("5 解码：跨度搜索 (decode: span search)", func() (string, error) {
		n := len(win.IDs)
		s, e := make([]float64, n), make([]float64, n)
		for i := range n {
			s[i], e[i] = float64(out.QAStart.At(0, i)), float64(out.QAEnd.At(0, i))
		}
		lo, hi := win.Offset, win.Offset+win.ContextEnd-win.ContextStart
		sp, err := BestSpan(s, e, lo, hi, MaxAnswerLen)
		if err != nil {
			return "", err
		}
		answer = context[ctx[win.ContextStart+sp.Start-lo].Start:ctx[win.ContextStart+sp.End-lo].End]
		return fmt.Sprintf("token %d–%d → %q", sp.Start, sp.End, answer), nil
	}); err != nil {
		return nil, err
	}
	r, err := Read(m, question, context)
	if err != nil {
		return nil, err
	}
	return &QARun{Stages: st, Reading: r}, nil
}

// Table lists the stages with their share of the total.
func (st Stages) Table() (headers []string, rows [][]string) {
	var total time.Duration
	for _, s := range st {
		total += s.Duration
	}
	for _, s := range st {
		rows = append(rows, []string{s.Name, fmt.Sprintf("%.2f ms", float64(s.Duration.Microseconds())/1000),
			fmt.Sprintf("%.0f%%", 100*s.Duration.Seconds()/total.Seconds()), s.Detail})
	}
	return []string{"阶段 (stage)", "耗时 (time)", "占比 (share)", "产出 (output)"}, rows
}

// View draws the stages as bars of milliseconds.
func (st Stages) View(title string) *viz.Chart {
	var names []string
	var ms []float64
	for _, s := range st {
		names = append(names, s.Name)
		ms = append(ms, float64(s.Duration.Microseconds())/1000)
	}
	return viz.Bars(names, viz.Series{Name: "毫秒 (ms)", Values: ms}).Title(title)
}

// CacheRun is one generation timed with or without the KV cache.
type CacheRun struct {
	Cache        bool
	Tokens       int
	Prefill      time.Duration
	Decode       time.Duration
	TokensPerSec float64
	Text         string
}

// KVCache generates the same greedy continuation of prompt twice, with the KV cache and
// without it (every step recomputes the whole sequence), after one warm-up run of each so
// that graph compilation is not timed. Greedy decoding makes both texts identical.
func KVCache(m *llm.Model, prompt string, tokens int) ([]CacheRun, error) {
	if m == nil || m.Config.Arch != llm.GPT || m.Tokenizer == nil {
		return nil, errors.New("kv cache: needs a GPT model with a tokenizer")
	}
	var runs []CacheRun
	for _, noCache := range []bool{false, true} {
		o := llm.GenerateOptions{MaxTokens: tokens, NoCache: noCache, TopN: 1}
		if _, err := m.Generate(prompt, o); err != nil { // warm-up: compiles the graphs
			return nil, err
		}
		g, err := m.Generate(prompt, o)
		if err != nil {
			return nil, err
		}
		runs = append(runs, CacheRun{Cache: !noCache, Tokens: len(g.IDs), Prefill: g.Prefill, Decode: g.Decode, TokensPerSec: g.TokensPerSec(), Text: g.Text})
	}
	if runs[0].Text != runs[1].Text {
		return runs, fmt.Errorf("kv cache: the cached and uncached greedy texts differ: %q vs %q", runs[0].Text, runs[1].Text)
	}
	return runs, nil
}

// CacheView draws tokens/s with and without the cache.
func CacheView(runs []CacheRun) *viz.Chart {
	var labels []string
	var v []float64
	for _, r := range runs {
		name := "无 KV cache（每步重算全部）"
		if r.Cache {
			name = "有 KV cache"
		}
		labels = append(labels, name)
		v = append(v, r.TokensPerSec)
	}
	return viz.Bars(labels, viz.Series{Name: "token/s", Values: v}).Title("生成速度 (decode tokens/s)")
}

// CacheShapes lists what the KV cache holds after t tokens: for every layer a key and a
// value tensor of shape [heads, t, d_head] in float32.
func CacheShapes(c llm.Config, t int) (headers []string, rows [][]string, bytes int) {
	dh := c.DModel / c.Heads
	per := c.Heads * t * dh * 4
	for l := range c.Layers {
		rows = append(rows, []string{fmt.Sprintf("第 %d 层 (layer %d)", l, l),
			fmt.Sprintf("K [%d, %d, %d]", c.Heads, t, dh), fmt.Sprintf("V [%d, %d, %d]", c.Heads, t, dh), fmt.Sprintf("%.1f KB", float64(2*per)/1024)})
		bytes += 2 * per
	}
	return []string{"层", "键 key", "值 value", "大小 (float32)"}, rows, bytes
}

// CacheGrid draws what each generation step computes (2) and what it reads from the
// cache (1) for a prompt of p tokens followed by n new tokens: rows are steps (the
// prefill, then one row per new token), columns are positions. Without the cache every
// step recomputes keys and values of every position so far.
func CacheGrid(p, n int, cache bool) *viz.Chart {
	total := p + n
	cols := make([]string, total)
	for j := range cols {
		cols[j] = fmt.Sprint(j)
	}
	var rows []string
	var vals [][]float64
	for step := 0; step <= n; step++ {
		row := make([]float64, total)
		upto := p + step // positions present at this step
		if step == n {
			break
		}
		for j := range upto {
			switch {
			case !cache || step == 0 || j == upto-1:
				row[j] = 2
			default:
				row[j] = 1
			}
		}
		name := fmt.Sprintf("生成第 %d 个", step+1)
		if step == 0 {
			name = "预填充 prefill"
		}
		rows = append(rows, name)
		vals = append(vals, row)
	}
	title := "有 KV cache：2 = 本步计算 K/V，1 = 从缓存读出，0 = 还没有"
	if !cache {
		title = "无 KV cache：每一步都重新计算所有位置的 K/V (2)"
	}
	return viz.Heatmap(rows, cols, vals).Title(title).Size("100%", "300px")
}

// Generation is one continuation of a prompt.
type Generation struct {
	Name string
	Text string
	Prob float64 // mean probability of the chosen tokens
}

// Generations continues prompt with greedy decoding and with sampling at a few
// temperatures and seeds (top-k 20), tokens new tokens each.
func Generations(m *llm.Model, prompt string, tokens int) ([]Generation, error) {
	if m == nil || m.Config.Arch != llm.GPT || m.Tokenizer == nil {
		return nil, errors.New("generations: needs a GPT model with a tokenizer")
	}
	settings := []struct {
		name string
		o    llm.GenerateOptions
	}{
		{"贪心 greedy（T = 0）", llm.GenerateOptions{}},
		{"采样 T = 0.7, top-k 20, seed 1", llm.GenerateOptions{Temperature: 0.7, TopK: 20, Seed: 1}},
		{"采样 T = 0.7, top-k 20, seed 2", llm.GenerateOptions{Temperature: 0.7, TopK: 20, Seed: 2}},
		{"采样 T = 1.5, top-k 20, seed 1", llm.GenerateOptions{Temperature: 1.5, TopK: 20, Seed: 1}},
	}
	var out []Generation
	for _, s := range settings {
		s.o.MaxTokens, s.o.TopN = tokens, 1
		g, err := m.Generate(prompt, s.o)
		if err != nil {
			return nil, err
		}
		p := 0.0
		for _, st := range g.Steps {
			p += st.Prob
		}
		out = append(out, Generation{Name: s.name, Text: g.Text, Prob: p / math.Max(1, float64(len(g.Steps)))})
	}
	return out, nil
}

// GenerationTable lists the continuations.
func GenerationTable(prompt string, gs []Generation) (headers []string, rows [][]string) {
	for _, g := range gs {
		rows = append(rows, []string{g.Name, prompt + "▌" + g.Text, fmt.Sprintf("%.2f", g.Prob)})
	}
	return []string{"解码方式 (decoding)", "输出 (output)", "所选 token 的平均概率"}, rows
}

// Padded is a batch of prompts of different lengths, right-padded to one length.
type Padded struct {
	Prompts []string
	Tokens  [][]string // token strings, "[PAD]" for padding
	Batch   llm.Batch
	// MaxDiff is the largest |logit difference| at every prompt's last real token between
	// the padded batch and the prompt run alone: the mask makes padding invisible.
	MaxDiff float64
}

// PadPrompts tokenizes prompts, pads them into one batch with an attention mask, runs the
// batch and each prompt alone, and compares the next-token logits.
func PadPrompts(m *llm.Model, prompts []string) (*Padded, error) {
	if m == nil || m.Tokenizer == nil || len(prompts) == 0 {
		return nil, errors.New("pad prompts: needs a model with a tokenizer and at least one prompt")
	}
	p := &Padded{Prompts: prompts}
	var seqs [][]int
	for _, s := range prompts {
		ids := tokenizer.IDs(m.Tokenizer.Encode(s))
		if len(ids) == 0 {
			return nil, fmt.Errorf("pad prompts: %q has no tokens", s)
		}
		seqs = append(seqs, ids)
	}
	pad := m.Config.PadID
	if pad < 0 {
		pad = 0
	}
	p.Batch = llm.PadBatch(seqs, pad)
	for i, row := range p.Batch.IDs {
		var toks []string
		for j, id := range row {
			if p.Batch.Mask[i][j] == 0 {
				toks = append(toks, "[PAD]")
			} else {
				toks = append(toks, visible(m.Tokenizer.IDToToken(id)))
			}
		}
		p.Tokens = append(p.Tokens, toks)
	}
	out, err := m.Forward(p.Batch, llm.ForwardOptions{NoBucket: true})
	if err != nil {
		return nil, err
	}
	for i, ids := range seqs {
		alone, err := m.Forward(llm.Batch{IDs: [][]int{ids}}, llm.ForwardOptions{NoBucket: true})
		if err != nil {
			return nil, err
		}
		a, b := out.Logits.Row(i, len(ids)-1), alone.Logits.Row(0, len(ids)-1)
		for k := range a {
			p.MaxDiff = max(p.MaxDiff, math.Abs(float64(a[k]-b[k])))
		}
	}
	return p, nil
}

// Table shows the padded batch, one row per prompt.
func (p *Padded) Table() (headers []string, rows [][]string) {
	headers = []string{"句子"}
	for j := range p.Tokens[0] {
		headers = append(headers, fmt.Sprint(j))
	}
	for i, toks := range p.Tokens {
		rows = append(rows, append([]string{fmt.Sprint(i)}, toks...))
	}
	return headers, rows
}

// MaskView draws the attention mask of the batch (1 = token, 0 = padding).
func (p *Padded) MaskView() *viz.Chart {
	var rows, cols []string
	var vals [][]float64
	for j := range p.Tokens[0] {
		cols = append(cols, fmt.Sprint(j))
	}
	for i, m := range p.Batch.Mask {
		rows = append(rows, fmt.Sprintf("句子 %d", i))
		row := make([]float64, len(m))
		for j, v := range m {
			row[j] = float64(v)
		}
		vals = append(vals, row)
	}
	return viz.Heatmap(rows, cols, vals).Title("注意力掩码 attention mask（1 = token，0 = 填充 padding）").Size("100%", "220px")
}

// KeyMaskView draws, for prompt i of the batch, which keys each query may attend to in a
// causal model: key j ≤ query q and key j not padding (1 = allowed).
func (p *Padded) KeyMaskView(i int) *viz.Chart {
	n := len(p.Tokens[i])
	labels := make([]string, n)
	for j, t := range p.Tokens[i] {
		labels[j] = fmt.Sprintf("%d %s", j, t)
	}
	vals := make([][]float64, n)
	for q := range n {
		vals[q] = make([]float64, n)
		for k := 0; k <= q; k++ {
			if p.Batch.Mask[i][k] == 1 {
				vals[q][k] = 1
			}
		}
	}
	return viz.Heatmap(labels, labels, vals).Title(fmt.Sprintf("句子 %d：因果掩码 × 填充掩码（行 query，列 key）", i)).Size("100%", "380px")
}
