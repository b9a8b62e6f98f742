package qa

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/divellm/divellm/lessons/checkout"

	"github.com/divellm/divellm/internal/fileio"
	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/pipeline"
	"github.com/divellm/divellm/viz"
)

// The study plan's example: its question (with the ASCII "?" it is written with) and a
// context of the held-out test split.
const (
	DiskQuestion = "磁盘已满会导致什么?"
	DiskContext  = "db-prod-57 告警：磁盘已满。磁盘已满时，系统无法写入文件，进程挂起。应先清理过期日志和临时文件。"
)

// MaxAnswerLen is the answer-length limit of the notebook's span search and evaluation, in
// tokens (= characters for the character-level tokenizer; the data's answers reach 54).
const MaxAnswerLen = 64

// Reading is one question+context window run through a QA model: its tokens with their
// type ids, the start and end logits, and the best span.
type Reading struct {
	Tokens   []string // "[CLS]", question characters, "[SEP]", context characters, "[SEP]"
	IDs      []int
	TypeIDs  []int
	Lo, Hi   int       // the context's tokens are Tokens[Lo:Hi]
	Start    []float64 // start logit per token
	End      []float64 // end logit per token
	Best     Span      // BestSpan over the context with MaxAnswerLen
	Answer   string    // the context text of Best
	Pipeline pipeline.Answer
}

// Read runs the first window of question+context through m (a BERT with a qa_outputs
// head) and searches the best span with [BestSpan]; the pipeline's answer is kept for
// comparison (the two agree: the product of softmaxes is monotone in the logit sum).
func Read(m *llm.Model, question, context string) (*Reading, error) {
	if m == nil || m.Tokenizer == nil || !m.Heads().QA {
		return nil, errors.New("read: needs a BERT model with a tokenizer and a qa_outputs head")
	}
	tok := m.Tokenizer
	q, c := tok.Encode(question), tok.Encode(context)
	if len(q) == 0 || len(c) == 0 {
		return nil, errors.New("read: the question and the context must not be empty")
	}
	wins, err := pipeline.QAWindows(tok, q, c, pipeline.QAOptions{MaxSeqLen: m.Config.MaxPos, DocStride: m.Config.MaxPos / 4})
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	w := wins[0]
	r := &Reading{IDs: w.IDs, TypeIDs: w.TypeIDs, Lo: w.Offset, Hi: w.Offset + w.ContextEnd - w.ContextStart}
	for i, id := range w.IDs {
		switch {
		case i >= r.Lo && i < r.Hi:
			r.Tokens = append(r.Tokens, context[c[w.ContextStart+i-r.Lo].Start:c[w.ContextStart+i-r.Lo].End])
		case i > 0 && i < r.Lo-1:
			r.Tokens = append(r.Tokens, question[q[i-1].Start:q[i-1].End])
		default:
			r.Tokens = append(r.Tokens, tok.IDToToken(id))
		}
	}
	out, err := m.Forward(llm.Batch{IDs: [][]int{w.IDs}, TypeIDs: [][]int{w.TypeIDs}}, llm.ForwardOptions{SkipLogits: true})
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	n := len(w.IDs)
	for i := range n {
		r.Start = append(r.Start, float64(out.QAStart.At(0, i)))
		r.End = append(r.End, float64(out.QAEnd.At(0, i)))
	}
	if r.Best, err = BestSpan(r.Start, r.End, r.Lo, r.Hi, MaxAnswerLen); err != nil {
		return nil, err
	}
	ts, te := c[w.ContextStart+r.Best.Start-r.Lo], c[w.ContextStart+r.Best.End-r.Lo]
	r.Answer = context[ts.Start:te.End]
	if r.Pipeline, err = pipeline.QuestionAnswering(m, question, context, pipeline.QAOptions{MaxAnswerLen: MaxAnswerLen}); err != nil {
		return nil, err
	}
	return r, nil
}

// TokenTable lists the window's tokens with their ids and type ids (0 = question
// segment, 1 = context segment).
func (r *Reading) TokenTable() (headers []string, rows [][]string) {
	for i, t := range r.Tokens {
		rows = append(rows, []string{fmt.Sprint(i), visible(t), fmt.Sprint(r.IDs[i]), fmt.Sprint(r.TypeIDs[i])})
	}
	return []string{"位置 (position)", "token", "id", "type id"}, rows
}

// TokensView draws the two segments as chips: type id 0 ([CLS] question [SEP]) and type
// id 1 (context [SEP]), each chip with its id.
func (r *Reading) TokensView() *viz.Chart {
	a := viz.TokenRow{Name: "type id 0：[CLS] 问题 [SEP]"}
	b := viz.TokenRow{Name: "type id 1：上下文 [SEP]"}
	for i, t := range r.Tokens {
		row := &a
		if r.TypeIDs[i] == 1 {
			row = &b
		}
		row.Tokens = append(row.Tokens, t)
		row.IDs = append(row.IDs, r.IDs[i])
	}
	return viz.Tokens(a, b).Title("问题 + 上下文：一个输入，两个片段 (segments)")
}

// LogitsView draws the start and end logits over the context's characters.
func (r *Reading) LogitsView() *viz.Chart {
	labels := make([]string, 0, r.Hi-r.Lo)
	for i := r.Lo; i < r.Hi; i++ {
		labels = append(labels, fmt.Sprintf("%d %s", i, visible(r.Tokens[i])))
	}
	return viz.Bars(labels,
		viz.Series{Name: "起点 logit (start)", Values: r.Start[r.Lo:r.Hi]},
		viz.Series{Name: "终点 logit (end)", Values: r.End[r.Lo:r.Hi]}).
		Title("上下文每个字的起点 / 终点 logit (start / end logits)").Size("100%", "360px")
}

// SpanView draws the span scores start[s] + end[e] of the context as a heatmap (rows:
// start, columns: end); the forbidden cells (e < s, or longer than MaxAnswerLen) get the
// lowest allowed score, so only the band on and above the diagonal lights up.
func (r *Reading) SpanView() *viz.Chart {
	sc := SpanScores(r.Start, r.End, r.Lo, r.Hi, MaxAnswerLen)
	lo := math.Inf(1)
	for _, row := range sc {
		for _, v := range row {
			if !math.IsNaN(v) {
				lo = min(lo, v)
			}
		}
	}
	labels := make([]string, 0, len(sc))
	for i := r.Lo; i < r.Hi; i++ {
		labels = append(labels, fmt.Sprintf("%d %s", i, visible(r.Tokens[i])))
	}
	for _, row := range sc {
		for j, v := range row {
			if math.IsNaN(v) {
				row[j] = lo
			}
		}
	}
	return viz.Heatmap(labels, labels, sc).Title("跨度得分 start[s] + end[e]（行：起点 s，列：终点 e）").Size("100%", "520px")
}

// visible shows a space token as ␣.
func visible(t string) string {
	if t == " " {
		return "␣"
	}
	return t
}

// HeldOut is the pipeline's exact match and F1 on the held-out test split and on the
// long-context split.
type HeldOut struct {
	Model   string  `json:"model"`
	Hash    string  `json:"hash"` // sha256 of model.safetensors (first 16 hex digits)
	Test    *Scores `json:"test"`
	Long    *Scores `json:"long"`
	Seconds float64 `json:"seconds"` // time of the evaluation when it ran
	Cached  bool    `json:"-"`
}

// EvaluateHeldOut scores model (a shipped name or a checkpoint directory) on the test and
// long splits with the pipeline's defaults (windows of the model's positions, stride
// min(positions/2, 128)) and answers of up to MaxAnswerLen tokens. The result is cached
// in .cache/week3/qa/eval-HASH.json, keyed by the weights' hash: a retrained model is
// evaluated again.
func EvaluateHeldOut(model string) (*HeldOut, error) {
	dir, err := lessons.ModelDir(model)
	if err != nil {
		return nil, err
	}
	hash, err := fileHash(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		return nil, err
	}
	cache, err := checkout.CacheDir("week3", "qa")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(cache, "eval-"+hash+".json")
	if b, err := fileio.ReadFile(path, 16<<20); err == nil {
		var h HeldOut
		if json.Unmarshal(b, &h) == nil && h.Hash == hash && h.Test != nil && h.Long != nil {
			h.Cached = true
			return &h, nil
		}
	}
	m, err := llm.Load(dir)
	if err != nil {
		return nil, err
	}
	h := &HeldOut{Model: model, Hash: hash}
	t0 := time.Now()
	o := pipeline.QAOptions{MaxAnswerLen: MaxAnswerLen}
	for _, s := range []struct {
		split string
		dst   **Scores
	}{{"test", &h.Test}, {"long", &h.Long}} {
		es, err := data.QA(s.split)
		if err != nil {
			return nil, err
		}
		if *s.dst, err = Evaluate(m, es, o); err != nil {
			return nil, err
		}
	}
	h.Seconds = time.Since(t0).Seconds()
	b, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	if err := checkout.WriteFileAtomic(path, b); err != nil {
		return nil, err
	}
	return h, nil
}

// fileHash is the first 16 hex digits of the file's sha256.
func fileHash(path string) (string, error) { return checkout.FileHash(path) }

// Table shows the two splits' sizes and scores.
func (h *HeldOut) Table() (headers []string, rows [][]string) {
	for _, s := range []struct {
		name string
		sc   *Scores
	}{{"测试集 test（新模板、新问法）", h.Test}, {"长上下文 long（滑动窗口）", h.Long}} {
		rows = append(rows, []string{s.name, fmt.Sprint(s.sc.N), fmt.Sprintf("%.1f%%", 100*s.sc.EM), fmt.Sprintf("%.1f%%", 100*s.sc.F1)})
	}
	return []string{"数据 (split)", "问题数", "精确匹配 EM", "F1"}, rows
}

// View draws EM and F1 of the two splits as bars.
func (h *HeldOut) View() *viz.Chart {
	return viz.Bars([]string{"test", "long"},
		viz.Series{Name: "EM", Values: []float64{h.Test.EM, h.Long.EM}},
		viz.Series{Name: "F1", Values: []float64{h.Test.F1, h.Long.F1}}).
		Title("留出数据上的 EM 与 F1 (held-out exact match and F1)")
}

// Misses returns up to n test predictions with F1 below 1, worst first.
func (h *HeldOut) Misses(n int) (headers []string, rows [][]string) {
	var ps []Prediction
	for _, p := range h.Test.Predictions {
		if p.F1 < 1 {
			ps = append(ps, p)
		}
	}
	for i := 1; i < len(ps); i++ { // insertion sort by F1, stable
		for j := i; j > 0 && ps[j].F1 < ps[j-1].F1; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
	for _, p := range ps[:min(n, len(ps))] {
		rows = append(rows, []string{p.ID, p.Gold, p.Answer, fmt.Sprintf("%.2f", p.F1)})
	}
	return []string{"id", "标准答案 (gold)", "模型答案 (predicted)", "F1"}, rows
}
