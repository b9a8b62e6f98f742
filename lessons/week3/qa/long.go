package qa

import (
	"errors"
	"fmt"

	"github.com/divellm/divellm/lessons/data"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/pipeline"
	"github.com/divellm/divellm/llm/sample"
	"github.com/divellm/divellm/viz"
)

// LongWindow is one window of a long context: the context tokens it holds, whether the
// gold answer lies inside, and the best span the model finds in it.
type LongWindow struct {
	ContextStart, ContextEnd int     // context tokens [start, end)
	HasAnswer                bool    // the gold answer lies wholly inside
	Answer                   string  // the window's best span
	Score                    float64 // its probability, softmax(start)·softmax(end)
	StartProbs               []float64
}

// LongReading is a long context read in windows with a stride.
type LongReading struct {
	Example   data.QAExample
	Tokens    int // context tokens
	MaxSeqLen int
	Stride    int
	Windows   []LongWindow
	Answer    pipeline.Answer // the pipeline's answer over all windows
}

// ReadLong cuts the example's context into the pipeline's windows (maxSeqLen tokens per
// window, stride context tokens shared by neighbours), runs each window, and keeps each
// window's best span next to the pipeline's overall answer (the best over all windows).
func ReadLong(m *llm.Model, e data.QAExample, maxSeqLen, stride int) (*LongReading, error) {
	if m == nil || m.Tokenizer == nil || !m.Heads().QA {
		return nil, errors.New("read long: needs a BERT model with a tokenizer and a qa_outputs head")
	}
	tok := m.Tokenizer
	q, c := tok.Encode(e.Question), tok.Encode(e.Context)
	o := pipeline.QAOptions{MaxSeqLen: maxSeqLen, DocStride: stride, MaxAnswerLen: MaxAnswerLen}
	wins, err := pipeline.QAWindows(tok, q, c, o)
	if err != nil {
		return nil, fmt.Errorf("read long: %w", err)
	}
	r := &LongReading{Example: e, Tokens: len(c), MaxSeqLen: maxSeqLen, Stride: stride}
	rs, re := e.Span(0)
	ctx := []rune(e.Context)
	bs, be := len(string(ctx[:rs])), len(string(ctx[:re]))
	for _, w := range wins {
		out, err := m.Forward(llm.Batch{IDs: [][]int{w.IDs}, TypeIDs: [][]int{w.TypeIDs}}, llm.ForwardOptions{SkipLogits: true})
		if err != nil {
			return nil, fmt.Errorf("read long: %w", err)
		}
		n := len(w.IDs)
		desired := make([]bool, n)
		desired[0] = true
		for i := w.Offset; i < w.Offset+w.ContextEnd-w.ContextStart; i++ {
			desired[i] = true
		}
		st, en := out.QAStart.Row(0)[:n], out.QAEnd.Row(0)[:n]
		lw := LongWindow{ContextStart: w.ContextStart, ContextEnd: w.ContextEnd,
			HasAnswer: c[w.ContextStart].Start <= bs && c[w.ContextEnd-1].End >= be}
		masked := make([]float32, n)
		for i := range n {
			masked[i] = -10000
			if desired[i] {
				masked[i] = st[i]
			}
		}
		p := sample.Probs(masked)
		for i := w.Offset; i < w.Offset+w.ContextEnd-w.ContextStart; i++ {
			lw.StartProbs = append(lw.StartProbs, p[i])
		}
		if sp := pipeline.BestSpans(st, en, desired, 1, MaxAnswerLen); len(sp) > 0 {
			a, b := c[w.ContextStart+sp[0].Start-w.Offset], c[w.ContextStart+sp[0].End-w.Offset]
			lw.Answer, lw.Score = e.Context[a.Start:b.End], sp[0].Score
		}
		r.Windows = append(r.Windows, lw)
	}
	if r.Answer, err = pipeline.QuestionAnswering(m, e.Question, e.Context, o); err != nil {
		return nil, err
	}
	return r, nil
}

// Table lists the windows.
func (r *LongReading) Table() (headers []string, rows [][]string) {
	for i, w := range r.Windows {
		has := ""
		if w.HasAnswer {
			has = "✓"
		}
		rows = append(rows, []string{fmt.Sprint(i), fmt.Sprintf("%d–%d", w.ContextStart, w.ContextEnd-1), has, w.Answer, fmt.Sprintf("%.3f", w.Score)})
	}
	return []string{"窗口 (window)", "上下文 token", "含答案", "窗口内最佳跨度 (best span)", "得分 (score)"}, rows
}

// View draws each window (a row) over the context's token positions (columns): the
// start probability where the window covers the context, blank elsewhere. The overlaps
// of the stride show as columns covered by two rows.
func (r *LongReading) View() *viz.Chart {
	cols := make([]string, r.Tokens)
	for j := range cols {
		cols[j] = fmt.Sprint(j)
	}
	var rows []string
	var vals [][]float64
	for i, w := range r.Windows {
		rows = append(rows, fmt.Sprintf("窗口 %d", i))
		row := make([]float64, r.Tokens)
		copy(row[w.ContextStart:w.ContextEnd], w.StartProbs)
		vals = append(vals, row)
	}
	return viz.Heatmap(rows, cols, vals).Title("每个窗口覆盖的上下文，颜色是起点概率 (start probability per window)").Size("100%", "260px")
}
