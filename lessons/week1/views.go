package week1

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/divellm/divellm/kernel/display"
	"github.com/divellm/divellm/viz"
)

// The functions in this file turn the lesson's results into viz charts and tables, so a
// notebook cell is one line: compute, then .Show().

// ShowTable displays a table (headers + rows) in the cell. In a notebook, text cells are
// left-aligned and numbers right-aligned (Jupyter's stylesheet right-aligns every cell,
// which makes Chinese prose hard to read); elsewhere the table is printed as text.
func ShowTable(headers []string, rows [][]string) error {
	if !display.IsNotebook() {
		return display.Table(headers, rows)
	}
	return display.HTML(TableHTML(headers, rows))
}

// Say shows one line of text in the cell, in order with the cell's tables and charts
// (fmt.Println goes to stdout, which the notebook may show before or after displays).
func Say(format string, args ...any) error { return display.Text(fmt.Sprintf(format, args...)) }

// ShowMarkdown renders Markdown (with code blocks) in the cell.
func ShowMarkdown(md string) error { return display.Markdown(md) }

// TableHTML is display.TableHTML with each body cell aligned by its content: numbers
// (also "12.5 ms", "97%", "1.4×") to the right, text to the left.
func TableHTML(headers []string, rows [][]string) string {
	out := display.TableHTML(headers, rows)
	var b strings.Builder
	rest := out
	cell := 0
	width := len(headers)
	for _, r := range rows {
		width = max(width, len(r))
	}
	const td = `<td style="padding:2px 8px">`
	for {
		i := strings.Index(rest, td)
		if i < 0 {
			b.WriteString(rest)
			break
		}
		b.WriteString(rest[:i])
		align := "left"
		if r, c := cell/max(width, 1), cell%max(width, 1); r < len(rows) && c < len(rows[r]) && numeric(rows[r][c]) {
			align = "right"
		}
		fmt.Fprintf(&b, `<td style="padding:2px 8px;text-align:%s;vertical-align:top">`, align)
		rest = rest[i+len(td):]
		cell++
	}
	return b.String()
}

// numeric reports whether a table cell reads as a number, possibly with a unit.
func numeric(s string) bool {
	s = strings.TrimSpace(s)
	for _, unit := range []string{" ms", " s", "%", "×"} {
		s = strings.TrimSuffix(s, unit)
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// TokensView draws token rows as chips, one row per tokenizer and sentence.
func TokensView(rows []TokenRow) *viz.Chart {
	var vr []viz.TokenRow
	for _, r := range rows {
		vr = append(vr, viz.TokenRow{Name: r.Tokenizer, Tokens: r.Pieces, IDs: r.IDs})
	}
	return viz.Tokens(vr...)
}

// finiteForDisplay replaces −Inf (masked scores) by the row set's smallest finite value,
// so a heatmap can draw them as "lowest".
func finiteForDisplay(m [][]float64) [][]float64 {
	lo := math.Inf(1)
	for _, row := range m {
		for _, v := range row {
			if !math.IsInf(v, 0) && !math.IsNaN(v) {
				lo = min(lo, v)
			}
		}
	}
	if math.IsInf(lo, 1) {
		lo = 0
	}
	out := make([][]float64, len(m))
	for i, row := range m {
		out[i] = make([]float64, len(row))
		for j, v := range row {
			if math.IsInf(v, 0) || math.IsNaN(v) {
				v = lo
			}
			out[i][j] = v
		}
	}
	return out
}

func dimLabels(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// Heatmap draws one stage of the walkthrough: "X", "Q", "K", "V", "Out" ([token][feature])
// or "Scores", "Scaled", "Probs" ([query][key]; masked entries drawn as the lowest value).
func (w *Walkthrough) Heatmap(stage string) *viz.Chart {
	s := w.Steps
	var m [][]float64
	square := true
	switch stage {
	case "X":
		m, square = w.X, false
	case "Q":
		m, square = s.Q, false
	case "K":
		m, square = s.K, false
	case "V":
		m, square = s.V, false
	case "Out":
		m, square = s.Out, false
	case "Scores":
		m = s.Scores
	case "Scaled":
		m = s.Scaled
	case "Probs":
		m = s.Probs
	default:
		return viz.Heatmap(nil, nil, [][]float64{{0}}).Title("没有这个阶段 (unknown stage) " + stage + "：可选 X, Q, K, V, Scores, Scaled, Probs, Out")
	}
	cols := w.Tokens
	if !square {
		cols = dimLabels(len(m[0]), "d")
	}
	return viz.Heatmap(w.Tokens, cols, finiteForDisplay(m)).Title(fmt.Sprintf("%s（%s）", stage, map[bool]string{true: "行：query，列：key；被掩码遮住的画成最小值", false: "行：token，列：特征维 (features)"}[square]))
}

// AttentionView draws the walkthrough's probabilities as an attention head view.
func (w *Walkthrough) AttentionView() *viz.Chart {
	return viz.Attention(w.Tokens, [][][]float64{w.Steps.Probs})
}

// NeuronView draws bertviz's neuron view for the query at token index q, with the
// walkthrough's own attention row (its mask applied): a decoder's future keys show as
// masked, as in the model.
func (w *Walkthrough) NeuronView(q int) *viz.Chart {
	if q < 0 || q >= len(w.Tokens) {
		return viz.Neuron(w.Tokens, q, nil, w.Steps.K, nil)
	}
	return viz.Neuron(w.Tokens, q, w.Steps.Q[q], w.Steps.K, w.Steps.Probs[q])
}

// Index returns the position of the first token whose label is tok, or -1.
func (w *Walkthrough) Index(tok string) int {
	for i, t := range w.Tokens {
		if t == tok {
			return i
		}
	}
	return -1
}

// MaskView draws a mask on the attention view's 0–1 scale (1 visible, 0 masked), titled
// with its name and how many of the query–key pairs it lets through.
func MaskView(m Mask) *viz.Chart {
	return viz.Attention(m.Rows, [][][]float64{m.Floats()}).Title(fmt.Sprintf("%s：%d / %d 个位置可见 (visible)", m.Name, m.Visible(), len(m.Rows)*len(m.Cols)))
}

// PatternView draws one HeadReport pattern's scores as a layer × head heatmap.
func (r *HeadReportResult) PatternView(pattern string) *viz.Chart {
	g, ok := r.Scores[pattern]
	if !ok {
		return viz.Heatmap(nil, nil, [][]float64{{0}}).Title("没有这个模式 (no pattern) " + pattern)
	}
	rows, cols := HeadLabels(g)
	return viz.Heatmap(rows, cols, g).Title("每个头落在这个模式上的平均注意力 (mean attention)：" + pattern)
}

// Must returns v, and panics with err if it is not nil: the one-line error handling of a
// notebook cell (a panic shows the error under the cell; the kernel stays alive).
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// MatrixTable formats a matrix with row labels as table rows (values with 3 decimals), for
// printing small matrices such as the walkthrough's Q or scores.
func MatrixTable(rowLabels []string, m [][]float64, colPrefix string) (headers []string, rows [][]string) {
	headers = []string{"token"}
	if len(m) > 0 {
		headers = append(headers, dimLabels(len(m[0]), colPrefix)...)
	}
	for i, r := range m {
		line := []string{rowLabels[i]}
		for _, v := range r {
			line = append(line, fmt.Sprintf("%.3f", v))
		}
		rows = append(rows, line)
	}
	return headers, rows
}

// FillView draws fill-mask candidates as probability bars.
func FillView(fs []MaskFill) *viz.Chart {
	var names []string
	var ps []float64
	for _, f := range fs {
		names = append(names, f.Token)
		ps = append(ps, f.Prob)
	}
	return viz.Bars(names, viz.Series{Name: "概率 P([MASK] = token)", Values: ps})
}

// MinMax returns the smallest and the largest value of xs (+Inf, −Inf for none).
func MinMax(xs []float64) (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}
