package week3

import (
	"fmt"
	"math"
	"sort"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant"
	"github.com/divellm/divellm/llm/quant/calib"
	"github.com/divellm/divellm/viz"
)

// LayerActs is what one linear layer's input looks like on calibration text.
type LayerActs struct {
	Module  string
	X       []float32 // [Rows, Cols] inputs
	Rows    int
	Cols    int
	ChanMax []float64 // max_i |x[i, j]| per input channel j
	// Ratio is the largest channel maximum over the median one: how far the outlier
	// channels stand out.
	Ratio float64
}

// Activations returns the inputs of every block linear layer of m on seqs, with their
// per-channel statistics, in model order.
func Activations(m *llm.Model, seqs [][]int) ([]LayerActs, error) {
	r, err := calib.New(m)
	if err != nil {
		return nil, err
	}
	in, err := r.Inputs(seqs)
	if err != nil {
		return nil, err
	}
	var out []LayerActs
	seen := map[string]bool{}
	for _, l := range m.Config.Linears() {
		x := in[l.Module]
		if seen[l.Module] || len(x) == 0 {
			continue
		}
		seen[l.Module] = true
		n := len(x) / l.In
		am, err := quant.ActAbsMax(x, n, l.In)
		if err != nil {
			return nil, err
		}
		cm := Float64s(am)
		s := append([]float64(nil), cm...)
		sort.Float64s(s)
		med := s[len(s)/2]
		ratio := math.Inf(1)
		if med > 0 {
			ratio = s[len(s)-1] / med
		}
		out = append(out, LayerActs{Module: l.Module, X: x, Rows: n, Cols: l.In, ChanMax: cm, Ratio: ratio})
	}
	return out, nil
}

// OutlierTable lists each layer's largest channel maximum, median and ratio.
func OutlierTable(acts []LayerActs) (headers []string, rows [][]string) {
	headers = []string{"层 layer", "最大通道 max channel", "max|x|", "通道中位数 median", "倍数 ratio"}
	for _, a := range acts {
		s := append([]float64(nil), a.ChanMax...)
		sort.Float64s(s)
		best := 0
		for j, v := range a.ChanMax {
			if v > a.ChanMax[best] {
				best = j
			}
		}
		rows = append(rows, []string{a.Module, fmt.Sprint(best), fmt.Sprintf("%.2f", s[len(s)-1]), fmt.Sprintf("%.2f", s[len(s)/2]), fmt.Sprintf("%.1f×", a.Ratio)})
	}
	return headers, rows
}

// ChannelChart draws max|x| of every input channel of a layer: the outliers are the spikes.
func (a LayerActs) ChannelChart() *viz.Chart {
	labels := make([]string, len(a.ChanMax))
	vals := make([]float64, len(a.ChanMax))
	for j, v := range a.ChanMax {
		labels[j] = fmt.Sprint(j)
		vals[j] = round(v, 3)
	}
	return viz.Bars(labels, viz.Series{Name: "max|x|", Values: vals}).Title(a.Module + " 的输入：每个通道的 max|x|")
}

// fakeRowInt8 quantizes each row of x ([n, cols]) to int8 with its own absmax scale (the
// dynamic per-token activations of W8A8) and returns the dequantized copy.
func fakeRowInt8(x []float32, n, cols int) []float32 {
	out := make([]float32, len(x))
	for i := 0; i < n; i++ {
		row := x[i*cols : (i+1)*cols]
		var m float64
		for _, v := range row {
			m = math.Max(m, math.Abs(float64(v)))
		}
		if m == 0 {
			continue
		}
		s := m / 127
		for j, v := range row {
			out[i*cols+j] = float32(math.Round(float64(v)/s) * s)
		}
	}
	return out
}

// fakeTensorInt8 quantizes all of x with one absmax scale (static per-tensor activations).
func fakeTensorInt8(x []float32) []float32 {
	var m float64
	for _, v := range x {
		m = math.Max(m, math.Abs(float64(v)))
	}
	out := make([]float32, len(x))
	if m == 0 {
		return out
	}
	s := m / 127
	for i, v := range x {
		out[i] = float32(math.Round(float64(v)/s) * s)
	}
	return out
}

// W8A8Row is one way of running a layer in int8, and its output error.
type W8A8Row struct {
	Method  string
	Detail  string
	Metrics quant.Metrics // y against the float32 y = x·Wᵀ
}

// LLMInt8Threshold is LLM.int8()'s outlier threshold: input channels with any |x| above it
// run in 16-bit (here float32), the rest in int8 (Dettmers et al., 2022).
const LLMInt8Threshold = 6.0

// W8A8Errors runs one layer (weights w [rows, cols], inputs a.X) in int8 weights and
// activations four ways and compares each output with float32: per-tensor activations,
// per-token activations, SmoothQuant (α = 0.5, per-token) and LLM.int8() (outlier channels
// above threshold in float32). Weights are symmetric per-channel int8 throughout.
func W8A8Errors(a LayerActs, w []float32, rows int, threshold float64) ([]W8A8Row, error) {
	cols, n := a.Cols, a.Rows
	if len(w) != rows*cols {
		return nil, fmt.Errorf("week3: %d weights for [%d, %d]", len(w), rows, cols)
	}
	ref := calib.MatMulT(a.X, w, nil, n, cols, rows)
	qw, err := quant.Quantize(w, rows, cols, quant.Int8)
	if err != nil {
		return nil, err
	}
	wq := qw.Dequantize()
	var out []W8A8Row
	add := func(method, detail string, y []float32) error {
		m, err := quant.Compare(ref, y)
		if err != nil {
			return err
		}
		out = append(out, W8A8Row{method, detail, m})
		return nil
	}
	if err := add("W8A8 整个张量一个 scale (per-tensor)", "激活用全局 max|x|/127", calib.MatMulT(fakeTensorInt8(a.X), wq, nil, n, cols, rows)); err != nil {
		return nil, err
	}
	if err := add("W8A8 每个 token 一个 scale (per-token)", "激活每行 max|x|/127", calib.MatMulT(fakeRowInt8(a.X, n, cols), wq, nil, n, cols, rows)); err != nil {
		return nil, err
	}
	// SmoothQuant: x·diag(1/s), W·diag(s), both int8.
	am, err := quant.ActAbsMax(a.X, n, cols)
	if err != nil {
		return nil, err
	}
	s, err := quant.SmoothScales(am, w, rows, cols, 0.5)
	if err != nil {
		return nil, err
	}
	xs, ws := make([]float32, len(a.X)), make([]float32, len(w))
	for i := range a.X {
		xs[i] = a.X[i] / s[i%cols]
	}
	for i := range w {
		ws[i] = w[i] * s[i%cols]
	}
	qs, err := quant.Quantize(ws, rows, cols, quant.Int8)
	if err != nil {
		return nil, err
	}
	if err := add("SmoothQuant α=0.5", "s_j = √(max|X_j| / max|W_j|)", calib.MatMulT(fakeRowInt8(xs, n, cols), qs.Dequantize(), nil, n, cols, rows)); err != nil {
		return nil, err
	}
	// LLM.int8(): outlier channels in float32, the rest int8.
	outlier := make([]bool, cols)
	k := 0
	for j, v := range am {
		if float64(v) > threshold {
			outlier[j] = true
			k++
		}
	}
	xo, xr := make([]float32, len(a.X)), make([]float32, len(a.X))
	for i, v := range a.X {
		if outlier[i%cols] {
			xo[i] = v
		} else {
			xr[i] = v
		}
	}
	y := calib.MatMulT(fakeRowInt8(xr, n, cols), wq, nil, n, cols, rows)
	yo := calib.MatMulT(xo, w, nil, n, cols, rows)
	for i := range y {
		y[i] += yo[i]
	}
	if err := add(fmt.Sprintf("LLM.int8() 阈值 %.1f", threshold), fmt.Sprintf("%d 个离群通道用 fp32", k), y); err != nil {
		return nil, err
	}
	return out, nil
}

// W8A8Table is W8A8Errors as a table.
func W8A8Table(rs []W8A8Row) (headers []string, rows [][]string) {
	headers = []string{"方法 method", "做法 detail", "输出 SNR dB", "余弦 cosine"}
	for _, r := range rs {
		rows = append(rows, []string{r.Method, r.Detail, fmt.Sprintf("%.1f", r.Metrics.SNR), fmt.Sprintf("%.5f", r.Metrics.Cosine)})
	}
	return headers, rows
}

// InjectOutlier returns a copy of a layer's inputs whose channel ch is multiplied by factor,
// and weights w ([rows, a.Cols]) whose column ch is divided by it: x·Wᵀ is unchanged in
// exact arithmetic, but the inputs now have one outlier channel, as the LayerNorm gains of
// large models produce (Dettmers et al., 2022: from about 6.7B parameters).
func InjectOutlier(a LayerActs, w []float32, rows, ch int, factor float64) (LayerActs, []float32, error) {
	if ch < 0 || ch >= a.Cols || len(w) != rows*a.Cols || !(factor > 0) {
		return a, nil, fmt.Errorf("week3: channel %d of %d, %d weights for [%d, %d], factor %v", ch, a.Cols, len(w), rows, a.Cols, factor)
	}
	b := a
	b.X = append([]float32(nil), a.X...)
	for i := ch; i < len(b.X); i += a.Cols {
		b.X[i] *= float32(factor)
	}
	w2 := append([]float32(nil), w...)
	for r := 0; r < rows; r++ {
		w2[r*a.Cols+ch] /= float32(factor)
	}
	b.ChanMax = append([]float64(nil), a.ChanMax...)
	b.ChanMax[ch] *= factor
	s := append([]float64(nil), b.ChanMax...)
	sort.Float64s(s)
	b.Ratio = s[len(s)-1] / s[len(s)/2]
	b.Module = fmt.Sprintf("%s（通道 %d ×%g）", a.Module, ch, factor)
	return b, w2, nil
}
