package week1

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/divellm/divellm/lessons/exercise"
	"github.com/divellm/divellm/llm/attention"
)

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
// the maximum is subtracted first), very negative values (underflow to 0/0), one element,
// masked −Inf entries (whose output must be exactly 0), and the traps of subtracting x[0]
// instead of the maximum: [0 1000] overflows and [−Inf 0] gives −Inf − (−Inf) = NaN.
func CheckSoftmax(f func([]float64) []float64) exercise.Result {
	r := rand.New(rand.NewPCG(1, 2))
	inf := math.Inf(-1)
	cases := []struct {
		name string
		x    []float64
		trap string // "overflow": exp overflows without the max; "first": subtracting x[0] breaks it
	}{
		{"小例子 small [1 2 3]", []float64{1, 2, 3}, ""},
		{"随机 random (8 values)", randMat(r, 1, 8, 3)[0], ""},
		{"全相等 equal [0.5 0.5 0.5 0.5]", []float64{0.5, 0.5, 0.5, 0.5}, ""},
		{"单个元素 one element [7]", []float64{7}, ""},
		{"被遮住的 masked −Inf [2 −Inf 1]", []float64{2, inf, 1}, ""},
		{"大数值 large values [1000 1001 1002] (溢出 overflow)", []float64{1000, 1001, 1002}, "overflow"},
		{"很小的数 very negative [−1000 −1001] (下溢 underflow)", []float64{-1000, -1001}, "overflow"},
		{"最大值不在开头 max not first [0 1000]", []float64{0, 1000}, "first"},
		{"开头是 −Inf first entry masked [−Inf 0]", []float64{inf, 0}, "first"},
	}
	var out []exercise.Case
	overflow, firstTrap := false, false
	for _, c := range cases {
		want := attention.Softmax(c.x)
		in := append([]float64(nil), c.x...)
		var got []float64
		cr := exercise.Case{Name: c.name, Passed: true}
		if err := exercise.Protect(func() { got = f(in) }); err != nil {
			cr.Passed, cr.Detail = false, err.Error()
		} else if got == nil {
			cr.Passed, cr.Empty, cr.Detail = false, true, "返回了 nil (returned nil)"
		} else if d, msg := vecDiff(want, got); msg != "" || d > tol {
			if msg == "" {
				msg = fmt.Sprintf("max |got − want| = %.3g", d)
			}
			cr.Passed = false
			cr.Detail = fmt.Sprintf("%s\ninput 输入  %s\nwant 期望 %s\ngot  得到 %s", msg, fmtVec(c.x), fmtVec(want), fmtVec(got))
			overflow = overflow || c.trap == "overflow"
			firstTrap = firstTrap || c.trap == "first"
		} else if i := maskedNotZero(c.x, got); i >= 0 {
			cr.Passed = false
			cr.Detail = fmt.Sprintf("输入 x[%d] = −Inf，输出应恰好是 0 (masked entry must be exactly 0)，得到 %g", i, got[i])
		} else if !slicesEqualNaN(in, c.x) {
			cr.Passed, cr.Detail = false, "输入被修改了 (the input slice was modified)：请返回新的切片 (return a new slice)"
		}
		out = append(out, cr)
	}
	hint := "softmax 的每个输出都在 [0, 1] 里（输入为 −Inf 的位置恰好是 0），总和为 1 " +
		"(every output is in [0, 1], exactly 0 where the input is −Inf, and they sum to 1)。"
	switch {
	case firstTrap && !overflow:
		hint = "要减的是最大值 max(x)，不是 x[0]：x = [0 1000] 时 exp(1000 − 0) 溢出；x = [−Inf 0] 时 −Inf − (−Inf) = NaN " +
			"(subtract max(x), not x[0])。"
	case overflow:
		hint = "先减去最大值再取 exp：softmax(x) = softmax(x − max(x))，数学上相同，但 exp(1000) 会溢出成 +Inf，Inf/Inf = NaN " +
			"(subtract max(x) before exp: exp(1000) overflows to +Inf and Inf/Inf is NaN)。"
	}
	return exercise.Grade("softmax", out, hint,
		"写 softmax(x)_i = exp(x_i − max(x)) / Σ_j exp(x_j − max(x))，返回一个新的切片 (return a new slice)。")
}

// maskedNotZero returns the first index where x is −Inf but got is not exactly 0, or −1.
func maskedNotZero(x, got []float64) int {
	for i := range x {
		if math.IsInf(x[i], -1) && got[i] != 0 {
			return i
		}
	}
	return -1
}

// slicesEqualNaN reports whether a and b hold the same values (NaN equal to NaN).
func slicesEqualNaN(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
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
func CheckAttentionHead(f func(q, k, v [][]float64) [][]float64) exercise.Result {
	r := rand.New(rand.NewPCG(3, 4))
	type tc struct {
		name    string
		q, k, v [][]float64
	}
	cases := []tc{
		{"手算例子 hand example (2 tokens, d=2)", [][]float64{{1, 0}, {0, 1}}, [][]float64{{1, 0}, {0, 1}}, [][]float64{{1, 2}, {3, 4}}},
		{"随机 random (5 tokens, d=4)", randMat(r, 5, 4, 1), randMat(r, 5, 4, 1), randMat(r, 5, 4, 1)},
		{"单个 token one token (n=1)", randMat(r, 1, 3, 1), randMat(r, 1, 3, 1), randMat(r, 1, 3, 1)},
		{"3 个 query × 6 个 key (cross-attention), d_v=2", randMat(r, 3, 4, 1), randMat(r, 6, 4, 1), randMat(r, 6, 2, 1)},
		{"宽的 head wide head (d=64)", randMat(r, 4, 64, 1), randMat(r, 4, 64, 1), randMat(r, 4, 64, 1)},
		{"大分数 large scores (×40, 溢出 overflow)", randMat(r, 4, 8, 40), randMat(r, 4, 8, 40), randMat(r, 4, 8, 1)},
	}
	var out []exercise.Case
	var mistakes []string
	for _, c := range cases {
		st, _ := attention.Reference(c.q, c.k, c.v, nil)
		q, k, v := cloneMat(c.q), cloneMat(c.k), cloneMat(c.v)
		cr, mistake := matrixCase(c.name, st.Out, func() [][]float64 { return f(q, k, v) },
			func(kind string) [][]float64 { return attentionVariant(c.q, c.k, c.v, kind) }, "no-scale", "scale-d", "axis", "probs")
		out = append(out, cr)
		if mistake != "" {
			mistakes = append(mistakes, mistake)
		}
	}
	hint := "按顺序算 scores = Q·Kᵀ、除以 √d、每行 softmax、再乘 V (scores = Q·Kᵀ / √d, row-wise softmax, then · V)。"
	if len(mistakes) > 0 {
		hint = map[string]string{
			"no-scale": "忘了除以 √d (forgot to scale the scores by 1/√d_k)：d 大时分数方差约为 d，softmax 会变得几乎 one-hot。",
			"scale-d":  "除以了 d 而不是 √d (divided by d instead of √d_k)。",
			"axis":     "softmax 的方向错了 (softmax over the wrong axis)：应对每一行 (每个 query 的所有 key) 做 softmax。",
			"probs":    "返回的是注意力权重 (you returned the probabilities)：还要乘以 V，out = probs · V。",
		}[mistakes[0]]
	}
	return exercise.Grade("attention head", out, hint,
		"对每个 query：scores_j = q·k_j / √d，用你的 mySoftmax 变成权重，输出 Σ_j p_j v_j (weighted sum of the values)。")
}

// matrixCase runs one case of an exercise whose answer is a matrix: the learner's answer
// (got, run under exercise.Protect) against want, and, when it is wrong, against each
// common mistake (variant(kind) for kinds, in order). mistake is the first kind that
// matches the wrong answer, "" if none does.
func matrixCase(name string, want [][]float64, got func() [][]float64, variant func(kind string) [][]float64, kinds ...string) (c exercise.Case, mistake string) {
	c = exercise.Case{Name: name, Passed: true}
	var g [][]float64
	if err := exercise.Protect(func() { g = got() }); err != nil {
		c.Passed, c.Detail = false, err.Error()
		return c, ""
	}
	if g == nil {
		c.Passed, c.Empty, c.Detail = false, true, "返回了 nil (returned nil)"
		return c, ""
	}
	d, msg := matDiff(want, g)
	if msg == "" && d <= tol {
		return c, ""
	}
	if msg == "" {
		msg = fmt.Sprintf("max |got − want| = %.3g", d)
	}
	c.Passed = false
	c.Detail = fmt.Sprintf("%s\nwant 期望 %s\ngot  得到 %s", msg, fmtMat(want), fmtMat(g))
	for _, kind := range kinds {
		if d, msg := matDiff(variant(kind), g); msg == "" && d <= tol {
			return c, kind
		}
	}
	return c, ""
}

// CheckCausalMask checks a learner's causal mask: mask[i][j] is true when query i may
// look at key j, i.e. j ≤ i. It names the usual mistakes: the transposed (upper
// triangular) mask, a missing diagonal, and the encoder's all-true mask.
func CheckCausalMask(f func(n int) [][]bool) exercise.Result {
	var out []exercise.Case
	var diag []string
	for _, n := range []int{1, 2, 5, 8} {
		want := attention.CausalBoolMask(n)
		var got [][]bool
		cr := exercise.Case{Name: fmt.Sprintf("n=%d", n), Passed: true}
		if err := exercise.Protect(func() { got = f(n) }); err != nil {
			cr.Passed, cr.Detail = false, err.Error()
		} else if got == nil {
			cr.Passed, cr.Empty, cr.Detail = false, true, "返回了 nil (returned nil)"
		} else if msg := boolMaskDiff(want, got); msg != "" {
			cr.Passed = false
			cr.Detail = fmt.Sprintf("%s\nwant 期望:\n%s\ngot  得到:\n%s", msg, fmtBoolMask(want), fmtBoolMask(got))
			diag = append(diag, maskMistake(got, n))
		}
		out = append(out, cr)
	}
	hint := "mask[i][j] = (j <= i)：第 i 个 token 只能看它自己和左边 (query i sees keys 0..i)。"
	for _, d := range diag {
		if d != "" {
			hint = d
			break
		}
	}
	return exercise.Grade("causal mask", out, hint, "返回 n×n 的 [][]bool，mask[i][j] = (j <= i)。")
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
