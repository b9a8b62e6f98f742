package week3

import (
	"fmt"
	"math"
	"strings"

	"github.com/divellm/divellm/lessons/exercise"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant"
	"github.com/divellm/divellm/llm/quant/calib"
	"github.com/divellm/divellm/viz"
)

// LayerWeight returns a GPT or BERT block's linear weight as [out, in] (rows = output
// channels, as quant expects), e.g. LayerWeight(m, "transformer.h.0.mlp.c_fc").
func LayerWeight(m *llm.Model, module string) (w []float32, rows, cols int, err error) {
	for _, l := range m.Config.Linears() {
		if l.Module != module {
			continue
		}
		d, err := m.Weights.Float32(module + ".weight")
		if err != nil {
			return nil, 0, 0, err
		}
		if l.Conv1D {
			d = calib.Transpose(d, l.In, l.Out)
		}
		return d, l.Out, l.In, nil
	}
	return nil, 0, 0, fmt.Errorf("week3: %s has no linear layer %q", m.Config.Arch, module)
}

// GridHistogram draws the values of w around zero in fine bins (binsPerStep per
// quantization step of size step) with the quantization grid k·step drawn as a second
// series over the same bins: |x| ≤ steps·step is shown.
func GridHistogram(w []float32, step float64, steps, binsPerStep int, title string) *viz.Chart {
	if step <= 0 || steps <= 0 || binsPerStep <= 0 {
		return viz.Bars(nil).Title("GridHistogram: step, steps and binsPerStep must be positive")
	}
	lo := -float64(steps) * step
	width := step / float64(binsPerStep)
	n := 2 * steps * binsPerStep
	counts := make([]float64, n)
	for _, v := range w {
		b := int(math.Floor((float64(v) - lo) / width))
		if b >= 0 && b < n {
			counts[b]++
		}
	}
	top := 0.0
	for _, c := range counts {
		top = max(top, c)
	}
	grid := make([]float64, n)
	labels := make([]string, n)
	for i := range n {
		left := lo + float64(i)*width
		labels[i] = fmt.Sprintf("%.4f", left)
		// the bin holding a grid point k·step (the grid point sits at a bin's left edge)
		k := (left + width/2) / step
		if math.Abs(k-math.Round(k)) < 0.5/float64(binsPerStep) {
			grid[i] = top
		}
	}
	return viz.Bars(labels, viz.Series{Name: "权重个数 weights", Values: counts}, viz.Series{Name: "量化网格 grid k·scale", Values: grid}).Title(title)
}

// Float64s converts float32 values for the charts.
func Float64s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// SchemeRow compares schemes on one matrix: error and storage.
type SchemeRow struct {
	Scheme  quant.Scheme
	Metrics quant.Metrics
	Bytes   int
	Scales  int
}

// CompareSchemes quantizes w ([rows, cols]) with each scheme (RTN).
func CompareSchemes(w []float32, rows, cols int, schemes []quant.Scheme) ([]SchemeRow, error) {
	var out []SchemeRow
	for _, s := range schemes {
		q, err := quant.Quantize(w, rows, cols, s)
		if err != nil {
			return nil, err
		}
		m, err := quant.Compare(w, q.Dequantize())
		if err != nil {
			return nil, err
		}
		out = append(out, SchemeRow{Scheme: s, Metrics: m, Bytes: q.Bytes(), Scales: len(q.Scales)})
	}
	return out, nil
}

// SchemeTable is CompareSchemes as a table.
func SchemeTable(rs []SchemeRow, floatBytes int) (headers []string, rows [][]string) {
	headers = []string{"方案 scheme", "scale 个数", "SNR dB", "最大误差 max |err|", "字节 bytes", "压缩比 ratio"}
	for _, r := range rs {
		rows = append(rows, []string{r.Scheme.String(), fmt.Sprint(r.Scales), fmt.Sprintf("%.1f", r.Metrics.SNR),
			fmt.Sprintf("%.2e", r.Metrics.MaxAbs), fmt.Sprint(r.Bytes), fmt.Sprintf("%.1f×", float64(floatBytes)/float64(r.Bytes))})
	}
	return headers, rows
}

// ---- exercises ----

func fmt32(v []float32) string {
	var p []string
	for i, x := range v {
		if i == 8 {
			p = append(p, fmt.Sprintf("… (%d values)", len(v)))
			break
		}
		p = append(p, fmt.Sprintf("%.4g", x))
	}
	return "[" + strings.Join(p, " ") + "]"
}

// symCases are the vectors of the int8 exercise.
var symCases = []struct {
	name string
	x    []float32
}{
	{"小例子 small [0.5 −1.27 0.02 1]", []float32{0.5, -1.27, 0.02, 1}},
	{"负数绝对值最大 most negative is largest [−2 0.3 1.1]", []float32{-2, 0.3, 1.1}},
	{"正负对称 symmetric [−0.8 0.8 0.4]", []float32{-0.8, 0.8, 0.4}},
	{"单个值 one value [3.5]", []float32{3.5}},
	{"很小的权重 tiny weights (1e-3 级)", []float32{0.0012, -0.0007, 0.0003, -0.0011, 0.0009}},
	{"全零 all zeros [0 0 0]", []float32{0, 0, 0}},
}

// CheckSymInt8 checks symmetric per-tensor int8 quantization: scale = max|x|/127 and
// q = round(x/scale) in [−127, 127] (an all-zero vector: all-zero codes, any positive
// scale). The reference is quant.Quantize with Scheme{Bits: 8, Granularity: PerTensor}.
func CheckSymInt8(f func(x []float32) (q []int8, scale float32)) exercise.Result {
	var cases []exercise.Case
	hint := ""
	for _, c := range symCases {
		ref, _ := quant.Quantize(c.x, 1, len(c.x), quant.Scheme{Bits: 8, Granularity: quant.PerTensor})
		wantScale := ref.Scales[0]
		var q []int8
		var s float32
		cr := exercise.Case{Name: c.name, Passed: true}
		in := append([]float32(nil), c.x...)
		if err := exercise.Protect(func() { q, s = f(in) }); err != nil {
			cr.Passed, cr.Detail = false, err.Error()
			cases = append(cases, cr)
			continue
		}
		if q == nil && s == 0 {
			cr.Passed, cr.Empty, cr.Detail = false, true, "返回了 nil, 0 (returned nil, 0)"
			cases = append(cases, cr)
			continue
		}
		allZero := true
		for _, v := range c.x {
			allZero = allZero && v == 0
		}
		detail := ""
		switch {
		case len(q) != len(c.x):
			detail = fmt.Sprintf("%d codes, want %d", len(q), len(c.x))
		case allZero && !(s > 0):
			detail = fmt.Sprintf("scale = %v：全零向量也要一个正的 scale（例如 1），否则 x/scale 是 NaN", s)
			hint = "全零向量：max|x| = 0，不能除以 0——这时用 scale = 1（所有 code 都是 0）。"
		case !allZero && math.Abs(float64(s-wantScale)) > 1e-6*float64(wantScale):
			detail = fmt.Sprintf("scale = %v, want max|x|/127 = %v", s, wantScale)
			if math.Abs(float64(s)-float64(wantScale)*127/255) < 1e-6*float64(wantScale) {
				hint = "scale 用了 255（非对称的码数）：对称 int8 只用 −127…127，scale = max|x|/127。"
			} else if hint == "" {
				hint = "scale = max|x| / 127，max 取绝对值（负数也算）。"
			}
		default:
			for i, v := range c.x {
				if q[i] < -127 {
					detail = fmt.Sprintf("code %d = %d：对称 int8 只用 −127…127（−128 留空，让 0 两边对称）", i, q[i])
					break
				}
				if e := math.Abs(float64(v) - float64(q[i])*float64(s)); e > float64(s)/2*(1+1e-4)+1e-12 {
					detail = fmt.Sprintf("x[%d] = %v → code %d → %v：误差 %.3g 大于 scale/2 = %.3g（要四舍五入 round，不是截断）", i, v, q[i], float64(q[i])*float64(s), e, float64(s)/2)
					if hint == "" {
						hint = "code = round(x / scale)，用 math.Round，不要直接转换成整数（那是向零截断）。"
					}
					break
				}
			}
		}
		if detail != "" {
			cr.Passed = false
			cr.Detail = fmt.Sprintf("%s\ninput 输入 %s", detail, fmt32(c.x))
		}
		cases = append(cases, cr)
	}
	return exercise.Grade("对称 int8 量化 symmetric int8", cases, hint,
		"写 mySymInt8：scale = max|x|/127，q[i] = round(x[i]/scale)，限制在 [−127, 127]。")
}

// CheckSNR checks SNR = 10·log10(Σx² / Σ(x − x̂)²) in dB against quant.Compare
// (+Inf when x̂ = x).
func CheckSNR(f func(x, xhat []float32) float64) exercise.Result {
	type tc struct {
		name    string
		x, xhat []float32
	}
	cs := []tc{
		{"误差是信号的 1/10 noise a tenth of the signal", []float32{1, -1, 1, -1}, []float32{1.1, -0.9, 1.1, -0.9}},
		{"int8 量化后的向量 after int8", []float32{0.5, -1.27, 0.02, 1}, nil},
		{"int4 量化后的向量 after int4", []float32{0.31, -0.12, 0.07, -0.5, 0.22, 0.01}, nil},
		{"完全相同 identical → +Inf", []float32{0.3, 0.4}, []float32{0.3, 0.4}},
	}
	for i := range cs {
		if cs[i].xhat == nil {
			bits := 8
			if i == 2 {
				bits = 4
			}
			q, _ := quant.Quantize(cs[i].x, 1, len(cs[i].x), quant.Scheme{Bits: bits})
			cs[i].xhat = q.Dequantize()
		}
	}
	var cases []exercise.Case
	hint := ""
	allEmpty := true
	for _, c := range cs {
		want, _ := quant.Compare(c.x, c.xhat)
		var got float64
		cr := exercise.Case{Name: c.name, Passed: true}
		if err := exercise.Protect(func() { got = f(append([]float32(nil), c.x...), append([]float32(nil), c.xhat...)) }); err != nil {
			cr.Passed, cr.Detail = false, err.Error()
			cases = append(cases, cr)
			allEmpty = false
			continue
		}
		if got != 0 {
			allEmpty = false
		}
		ok := (math.IsInf(want.SNR, 1) && math.IsInf(got, 1)) || math.Abs(got-want.SNR) < 1e-3
		if !ok {
			cr.Passed = false
			cr.Detail = fmt.Sprintf("SNR = %.4g dB, want %.4g dB\nx  %s\nx̂ %s", got, want.SNR, fmt32(c.x), fmt32(c.xhat))
			switch {
			case math.IsInf(want.SNR, 1):
				hint = "没有误差时 Σ(x − x̂)² = 0：SNR 是 +Inf（math.Inf(1)），不是 NaN 也不是 0。"
			case math.Abs(got-2*want.SNR) < 1e-3:
				hint = "用的是 20·log10：能量之比 (power ratio) 用 10·log10，幅度之比才用 20。"
			case math.Abs(got-want.SNR*math.Ln10/10) < 1e-3:
				hint = "用的是自然对数：dB 是 10·log10。"
			default:
				if hint == "" {
					hint = "SNR = 10·log10(Σx² / Σ(x − x̂)²)：分子是信号的能量，分母是误差的能量。"
				}
			}
		}
		cases = append(cases, cr)
	}
	if allEmpty {
		for i := range cases {
			cases[i].Empty, cases[i].Passed = true, false
		}
	}
	return exercise.Grade("信噪比 SNR", cases, hint, "写 mySNR：10·log10(Σx² / Σ(x − x̂)²)，没有误差时返回 math.Inf(1)。")
}

// GroupSizes are the candidates of the group-size exercise, largest (fewest scales) first.
var GroupSizes = []int{128, 64, 32, 16, 8}

// PickGroupSize is the reference answer of the group-size exercise: the largest group size
// among GroupSizes that divides cols and whose symmetric int4 RTN SNR on w ([rows, cols])
// reaches budgetDB, or −1 when none does.
func PickGroupSize(w []float32, rows, cols int, budgetDB float64) int {
	for _, g := range GroupSizes {
		if cols%g != 0 {
			continue
		}
		if groupSNR(w, rows, cols, g) >= budgetDB {
			return g
		}
	}
	return -1
}

// groupSNR is the SNR of symmetric int4 RTN with groups of g columns.
func groupSNR(w []float32, rows, cols, g int) float64 {
	q, err := quant.Quantize(w, rows, cols, quant.Scheme{Bits: 4, Granularity: quant.PerGroup, GroupSize: g})
	if err != nil {
		return math.Inf(-1)
	}
	m, _ := quant.Compare(w, q.Dequantize())
	return m.SNR
}

// GroupCase is one matrix and budget of the group-size exercise.
type GroupCase struct {
	Name       string
	W          []float32
	Rows, Cols int
	Budget     float64
}

// GroupCases builds the exercise's cases from a real layer (w [rows, cols]): one budget
// per answer, including one that no group size meets.
func GroupCases(w []float32, rows, cols int) []GroupCase {
	// Budgets halfway between the SNRs of consecutive group sizes, so each answer appears
	// once, then one below every size and one above all.
	var snr []float64
	for _, g := range GroupSizes {
		snr = append(snr, groupSNR(w, rows, cols, g))
	}
	budgets := []float64{snr[0] - 1}
	for i := 1; i < len(snr); i++ {
		budgets = append(budgets, (snr[i-1]+snr[i])/2)
	}
	budgets = append(budgets, snr[len(snr)-1]+3)
	var out []GroupCase
	for _, b := range budgets {
		out = append(out, GroupCase{Name: fmt.Sprintf("预算 budget %.2f dB", b), W: w, Rows: rows, Cols: cols, Budget: b})
	}
	return out
}

// CheckGroupSize checks a function that returns the largest group size among GroupSizes
// whose int4 SNR meets the budget, or −1.
func CheckGroupSize(f func(w []float32, rows, cols int, budgetDB float64) int, cs []GroupCase) exercise.Result {
	var cases []exercise.Case
	hint := ""
	empty := 0
	for _, c := range cs {
		want := PickGroupSize(c.W, c.Rows, c.Cols, c.Budget)
		var got int
		cr := exercise.Case{Name: c.Name, Passed: true}
		if err := exercise.Protect(func() { got = f(c.W, c.Rows, c.Cols, c.Budget) }); err != nil {
			cr.Passed, cr.Detail = false, err.Error()
		} else if got != want {
			cr.Passed = false
			cr.Detail = fmt.Sprintf("got %d, want %d (matrix [%d, %d], budget %.1f dB)", got, want, c.Rows, c.Cols, c.Budget)
			if got == 0 {
				empty++
			}
			switch {
			case want == -1:
				hint = "没有一个分组大小能达到预算时返回 −1。"
			case got > 0 && want > got:
				hint = "要的是满足预算的**最大**分组（scale 最少、最省空间）：从大到小试，第一个达标的就是答案。"
			default:
				if hint == "" {
					hint = "对每个候选分组 quant.Quantize → Dequantize → quant.Compare，看 SNR ≥ 预算。"
				}
			}
		}
		cases = append(cases, cr)
	}
	if empty == len(cs) { // a stub returning 0 everywhere
		for i := range cases {
			cases[i].Empty, cases[i].Passed = true, false
		}
	}
	return exercise.Grade("选分组大小 pick the group size", cases, hint,
		"写 myPickGroupSize：按 week3.GroupSizes 的顺序（从大到小）试 int4 分组量化，返回第一个 SNR ≥ 预算的分组，都不行返回 −1。")
}
