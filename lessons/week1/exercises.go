package week1

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/divellm/divellm/kernel/display"
	"github.com/divellm/divellm/llm/attention"
)

// CaseResult is the outcome of one test case of an exercise.
type CaseResult struct {
	Name   string // what the case tests, e.g. "large values 大数值 [1000 1001 1002]"
	Passed bool
	Detail string // expected vs got when it failed
}

// Result is the outcome of an exercise check.
type Result struct {
	Exercise string
	Passed   bool
	Cases    []CaseResult
	Hint     string // bilingual advice for the first failure, "" when passed
}

// String reports the result in Chinese and English: a verdict, then each case.
func (r Result) String() string {
	var b strings.Builder
	passed := 0
	for _, c := range r.Cases {
		if c.Passed {
			passed++
		}
	}
	if r.Passed {
		fmt.Fprintf(&b, "✅ %s: 全部通过 all %d cases passed\n", r.Exercise, len(r.Cases))
	} else {
		fmt.Fprintf(&b, "❌ %s: %d/%d 通过 passed\n", r.Exercise, passed, len(r.Cases))
	}
	detailed := false // only the first failure is shown in full
	for _, c := range r.Cases {
		mark := "✓"
		if !c.Passed {
			mark = "✗"
		}
		fmt.Fprintf(&b, "  %s %s\n", mark, c.Name)
		if !c.Passed && c.Detail != "" {
			lines := strings.Split(c.Detail, "\n")
			if detailed {
				lines = lines[:1]
			}
			detailed = true
			for _, line := range lines {
				fmt.Fprintf(&b, "      %s\n", line)
			}
		}
	}
	if r.Hint != "" {
		fmt.Fprintf(&b, "提示 hint: %s\n", r.Hint)
	}
	return b.String()
}

// Show prints the result in the notebook cell (plain text, so it reads the same anywhere).
func (r Result) Show() error { return display.Text(r.String()) }

// Err returns nil when the exercise passed and an error with the report otherwise.
func (r Result) Err() error {
	if r.Passed {
		return nil
	}
	return fmt.Errorf("%s", r.String())
}

// protect runs f and turns a panic into an error.
func protect(f func()) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	f()
	return nil
}

func fmtVec(v []float64) string {
	var parts []string
	for i, x := range v {
		if i == 6 {
			parts = append(parts, fmt.Sprintf("… (%d values)", len(v)))
			break
		}
		parts = append(parts, fmt.Sprintf("%.4g", x))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func fmtMat(m [][]float64) string {
	rows := make([]string, len(m))
	for i, r := range m {
		rows[i] = fmtVec(r)
	}
	if len(rows) > 3 {
		rows = append(rows[:3], fmt.Sprintf("… (%d rows)", len(m)))
	}
	return "[" + strings.Join(rows, " ") + "]"
}

// vecDiff returns the largest |a-b| (NaN and Inf count as infinitely wrong) or an error
// string when the lengths differ.
func vecDiff(want, got []float64) (float64, string) {
	if len(got) != len(want) {
		return math.Inf(1), fmt.Sprintf("length %d, want %d", len(got), len(want))
	}
	d := 0.0
	for i := range want {
		if math.IsNaN(got[i]) || math.IsInf(got[i], 0) {
			return math.Inf(1), fmt.Sprintf("element %d is %v", i, got[i])
		}
		d = max(d, math.Abs(want[i]-got[i]))
	}
	return d, ""
}

func matDiff(want, got [][]float64) (float64, string) {
	if len(got) != len(want) {
		return math.Inf(1), fmt.Sprintf("%d rows, want %d", len(got), len(want))
	}
	d := 0.0
	for i := range want {
		di, msg := vecDiff(want[i], got[i])
		if msg != "" {
			return di, fmt.Sprintf("row %d: %s", i, msg)
		}
		d = max(d, di)
	}
	return d, ""
}

const tol = 1e-6

func randMat(r *rand.Rand, rows, cols int, scale float64) [][]float64 {
	m := make([][]float64, rows)
	for i := range m {
		m[i] = make([]float64, cols)
		for j := range m[i] {
			m[i][j] = r.NormFloat64() * scale
		}
	}
	return m
}

func cloneMat(m [][]float64) [][]float64 {
	out := make([][]float64, len(m))
	for i := range m {
		out[i] = append([]float64(nil), m[i]...)
	}
	return out
}

// CheckSoftmax checks a learner's softmax(x)_i = exp(x_i) / Σ_j exp(x_j) against
// attention.Softmax on small, random and edge cases: large values (exp overflows unless
// the maximum is subtracted first), very negative values (underflow to 0/0), one
// element, and a masked −Inf entry.
func CheckSoftmax(f func([]float64) []float64) Result {
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name string
		x    []float64
	}{
		{"small 小例子 [1 2 3]", []float64{1, 2, 3}},
		{"random 随机 (8 values)", randMat(r, 1, 8, 3)[0]},
		{"equal 全相等 [0.5 0.5 0.5 0.5]", []float64{0.5, 0.5, 0.5, 0.5}},
		{"one element 单个元素 [7]", []float64{7}},
		{"masked 被遮住的 −Inf [2 −Inf 1]", []float64{2, math.Inf(-1), 1}},
		{"large values 大数值 [1000 1001 1002] (overflow 溢出)", []float64{1000, 1001, 1002}},
		{"very negative 很小的数 [−1000 −1001] (underflow 下溢)", []float64{-1000, -1001}},
	}
	res := Result{Exercise: "softmax", Passed: true}
	overflow := false
	for _, c := range cases {
		want := attention.Softmax(c.x)
		in := append([]float64(nil), c.x...)
		var got []float64
		cr := CaseResult{Name: c.name, Passed: true}
		if err := protect(func() { got = f(in) }); err != nil {
			cr.Passed, cr.Detail = false, err.Error()
		} else if d, msg := vecDiff(want, got); msg != "" || d > tol {
			if msg == "" {
				msg = fmt.Sprintf("max |got − want| = %.3g", d)
			}
			cr.Passed = false
			cr.Detail = fmt.Sprintf("%s\ninput  %s\nwant 期望 %s\ngot  得到 %s", msg, fmtVec(c.x), fmtVec(want), fmtVec(got))
			if strings.Contains(c.name, "overflow") || strings.Contains(c.name, "underflow") {
				overflow = true
			}
		} else {
			for i := range in {
				if in[i] != c.x[i] && !(math.IsNaN(in[i]) && math.IsNaN(c.x[i])) {
					cr.Passed, cr.Detail = false, "the input slice was modified 输入被修改了: return a new slice 请返回新的切片"
					break
				}
			}
		}
		res.Cases = append(res.Cases, cr)
		res.Passed = res.Passed && cr.Passed
	}
	if !res.Passed {
		res.Hint = "softmax 的每个输出应在 (0,1] 且和为 1 (outputs in [0,1], summing to 1)。"
		if overflow {
			res.Hint = "先减去最大值再取 exp：softmax(x) = softmax(x − max(x))，数学上相同，但 exp(1000) 会溢出成 +Inf，Inf/Inf = NaN。" +
				" Subtract max(x) before exp: same result mathematically, but exp(1000) overflows to +Inf and Inf/Inf is NaN."
		}
	}
	return res
}

// attentionVariant computes common wrong versions of attention, to name a learner's mistake.
func attentionVariant(q, k, v [][]float64, kind string) [][]float64 {
	d := float64(len(q[0]))
	scores := attention.MatMulT(q, k)
	for i := range scores {
		for j := range scores[i] {
			switch kind {
			case "no-scale":
			case "scale-d":
				scores[i][j] /= d
			default:
				scores[i][j] /= math.Sqrt(d)
			}
		}
	}
	var probs [][]float64
	if kind == "axis" { // softmax over queries (columns) instead of keys (rows)
		probs = make([][]float64, len(scores))
		for i := range probs {
			probs[i] = make([]float64, len(scores[0]))
		}
		for j := range scores[0] {
			col := make([]float64, len(scores))
			for i := range scores {
				col[i] = scores[i][j]
			}
			p := attention.Softmax(col)
			for i := range p {
				probs[i][j] = p[i]
			}
		}
	} else {
		for _, row := range scores {
			probs = append(probs, attention.Softmax(row))
		}
	}
	if kind == "probs" {
		return probs
	}
	return attention.MatMul(probs, v)
}

// CheckAttentionHead checks a learner's single attention head (no mask)
//
//	out = softmax(Q·Kᵀ / √d) · V     Q [q, d], K [k, d], V [k, dv] → out [q, dv]
//
// against attention.Reference on a hand-sized example, random inputs, one token,
// more keys than queries, a wide head (where a missing √d shows), and large scores.
// A wrong answer is compared with the usual mistakes (no √d, dividing by d, softmax over
// the wrong axis, returning the probabilities) to say which one it is.
func CheckAttentionHead(f func(q, k, v [][]float64) [][]float64) Result {
	r := rand.New(rand.NewPCG(3, 4))
	type tc struct {
		name    string
		q, k, v [][]float64
	}
	cases := []tc{
		{"hand example 手算例子 (2 tokens, d=2)", [][]float64{{1, 0}, {0, 1}}, [][]float64{{1, 0}, {0, 1}}, [][]float64{{1, 2}, {3, 4}}},
		{"random 随机 (5 tokens, d=4)", randMat(r, 5, 4, 1), randMat(r, 5, 4, 1), randMat(r, 5, 4, 1)},
		{"one token 单个 token (n=1)", randMat(r, 1, 3, 1), randMat(r, 1, 3, 1), randMat(r, 1, 3, 1)},
		{"cross-attention 3 queries × 6 keys, d_v=2", randMat(r, 3, 4, 1), randMat(r, 6, 4, 1), randMat(r, 6, 2, 1)},
		{"wide head 宽的 head (d=64)", randMat(r, 4, 64, 1), randMat(r, 4, 64, 1), randMat(r, 4, 64, 1)},
		{"large scores 大分数 (×40, overflow 溢出)", randMat(r, 4, 8, 40), randMat(r, 4, 8, 40), randMat(r, 4, 8, 1)},
	}
	res := Result{Exercise: "attention head", Passed: true}
	var mistakes []string
	for _, c := range cases {
		st, _ := attention.Reference(c.q, c.k, c.v, nil)
		want := st.Out
		q, k, v := cloneMat(c.q), cloneMat(c.k), cloneMat(c.v)
		var got [][]float64
		cr := CaseResult{Name: c.name, Passed: true}
		if err := protect(func() { got = f(q, k, v) }); err != nil {
			cr.Passed, cr.Detail = false, err.Error()
		} else if d, msg := matDiff(want, got); msg != "" || d > tol {
			if msg == "" {
				msg = fmt.Sprintf("max |got − want| = %.3g", d)
			}
			cr.Passed = false
			cr.Detail = fmt.Sprintf("%s\nwant 期望 %s\ngot  得到 %s", msg, fmtMat(want), fmtMat(got))
			for _, kind := range []string{"no-scale", "scale-d", "axis", "probs"} {
				if d, msg := matDiff(attentionVariant(c.q, c.k, c.v, kind), got); msg == "" && d <= tol {
					mistakes = append(mistakes, kind)
					break
				}
			}
		}
		res.Cases = append(res.Cases, cr)
		res.Passed = res.Passed && cr.Passed
	}
	if !res.Passed {
		hints := map[string]string{
			"no-scale": "忘了除以 √d (forgot to scale the scores by 1/√d_k)：d 大时分数方差约为 d，softmax 会变得几乎 one-hot。",
			"scale-d":  "除以了 d 而不是 √d (divided by d instead of √d_k)。",
			"axis":     "softmax 的方向错了 (softmax over the wrong axis)：应对每一行 (每个 query 的所有 key) 做 softmax。",
			"probs":    "返回的是注意力权重 (you returned the probabilities)：还要乘以 V，out = probs · V。",
		}
		res.Hint = "按顺序算 scores = Q·Kᵀ、除以 √d、每行 softmax、再乘 V (scores = Q·Kᵀ / √d, row-wise softmax, then · V)。"
		if len(mistakes) > 0 {
			res.Hint = hints[mistakes[0]]
		}
	}
	return res
}

// CheckCausalMask checks a learner's causal mask: mask[i][j] is true when query i may
// look at key j, i.e. j ≤ i. It names the usual mistakes: the transposed (upper
// triangular) mask, a missing diagonal, and the encoder's all-true mask.
func CheckCausalMask(f func(n int) [][]bool) Result {
	res := Result{Exercise: "causal mask", Passed: true}
	var diag []string
	for _, n := range []int{1, 2, 5, 8} {
		want := attention.CausalBoolMask(n)
		var got [][]bool
		cr := CaseResult{Name: fmt.Sprintf("n=%d", n), Passed: true}
		if err := protect(func() { got = f(n) }); err != nil {
			cr.Passed, cr.Detail = false, err.Error()
		} else if msg := boolMaskDiff(want, got); msg != "" {
			cr.Passed = false
			cr.Detail = fmt.Sprintf("%s\nwant 期望:\n%s\ngot  得到:\n%s", msg, fmtBoolMask(want), fmtBoolMask(got))
			diag = append(diag, maskMistake(got, n))
		}
		res.Cases = append(res.Cases, cr)
		res.Passed = res.Passed && cr.Passed
	}
	if !res.Passed {
		res.Hint = "mask[i][j] = (j <= i)：第 i 个 token 只能看自己和左边 (query i sees keys 0..i)。"
		for _, d := range diag {
			if d != "" {
				res.Hint = d
				break
			}
		}
	}
	return res
}

func boolMaskDiff(want, got [][]bool) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			return fmt.Sprintf("row %d has %d entries, want %d", i, len(got[i]), len(want[i]))
		}
		for j := range want[i] {
			if got[i][j] != want[i][j] {
				return fmt.Sprintf("mask[%d][%d] = %v, want %v (query %d → key %d)", i, j, got[i][j], want[i][j], i, j)
			}
		}
	}
	return ""
}

func maskMistake(got [][]bool, n int) string {
	if len(got) != n {
		return ""
	}
	match := func(pred func(i, j int) bool) bool {
		for i := range got {
			if len(got[i]) != n {
				return false
			}
			for j := range got[i] {
				if got[i][j] != pred(i, j) {
					return false
				}
			}
		}
		return true
	}
	switch {
	case n > 1 && match(func(i, j int) bool { return j >= i }):
		return "你的 mask 是转置的 (your mask is transposed)：mask[i][j] 的 i 是 query、j 是 key；token i 应看 j ≤ i（过去），不是未来。"
	case match(func(i, j int) bool { return j < i }):
		return "对角线应为 true (the diagonal must be true)：每个 token 都能看到自己；否则第一个 token 什么都看不到。"
	case n > 1 && match(func(i, j int) bool { return true }):
		return "全是 true 是 encoder (BERT) 的 mask (all true is the encoder's mask)：decoder 不能偷看未来的 token。"
	}
	return ""
}

func fmtBoolMask(m [][]bool) string {
	var b strings.Builder
	for i, row := range m {
		if i > 0 {
			b.WriteByte('\n')
		}
		for _, ok := range row {
			if ok {
				b.WriteString("1 ")
			} else {
				b.WriteString("0 ")
			}
		}
	}
	return b.String()
}
