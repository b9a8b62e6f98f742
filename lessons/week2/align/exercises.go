package align

import (
	"fmt"
	"math"
	"strings"

	"github.com/divellm/divellm/lessons/exercise"
)

func fmtLabels(l []int) string {
	parts := make([]string, len(l))
	for i, v := range l {
		parts[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// labelMistake names the usual wrong answer that got matches, or "".
func labelMistake(ids []int, promptLen int, got []int) string {
	n := len(ids)
	variant := func(f func(t int) int) []int {
		out := make([]int, n)
		for t := range out {
			out[t] = f(t)
		}
		return out
	}
	next := func(t int) int {
		if t+1 < n {
			return ids[t+1]
		}
		return Ignore
	}
	switch {
	case equalInts(got, variant(func(t int) int {
		if t >= promptLen {
			return ids[t]
		}
		return Ignore
	})):
		return "标签没有右移一位 (not shifted)：位置 t 要预测的是下一个 token ids[t+1]，不是 ids[t] 自己。"
	case equalInts(got, variant(next)):
		return "提示部分也算进了损失 (the prompt is not masked)：t+1 < promptLen 的位置应为 −100，只在答案上算损失。"
	case equalInts(got, variant(func(t int) int {
		if t >= promptLen {
			return next(t)
		}
		return Ignore
	})):
		return "差一位 (off by one)：答案的第一个 token 由提示的最后一个位置 (t = promptLen−1) 预测，条件是 t+1 ≥ promptLen，不是 t ≥ promptLen。"
	case len(got) == n-1:
		return "长度应与 ids 相同 (same length as ids)：最后一个位置没有下一个 token，标签填 −100。"
	}
	return ""
}

// CheckAnswerLabels checks a learner's answer-only SFT labels: f(ids, promptLen) must
// return, for every position t of ids, ids[t+1] when that token is part of the answer
// (t+1 ≥ promptLen) and −100 otherwise (the prompt, and the last position). The reference
// is AnswerLabels; the cases include a one-token prompt, a one-token answer and a line of
// only two tokens.
func CheckAnswerLabels(f func(ids []int, promptLen int) []int) exercise.Result {
	cases := []struct {
		name      string
		ids       []int
		promptLen int
	}{
		{"问：磁盘满？答：先df<eos> (prompt 7, answer 4)", []int{30, 31, 40, 41, 42, 32, 31, 50, 51, 52, 5}, 7},
		{"one-token prompt", []int{9, 8, 7, 6}, 1},
		{"one-token answer", []int{11, 12, 13, 14, 5}, 4},
		{"two tokens", []int{3, 5}, 1},
	}
	var out []exercise.Case
	hint := "labels[t] = ids[t+1]（当 t+1 ≥ promptLen），否则 −100；len(labels) == len(ids)。"
	diag := ""
	for _, c := range cases {
		want := AnswerLabels(c.ids, c.promptLen)
		var got []int
		cr := exercise.Case{Name: c.name, Passed: true}
		in := append([]int{}, c.ids...)
		if err := exercise.Protect(func() { got = f(in, c.promptLen) }); err != nil {
			cr.Passed, cr.Detail = false, err.Error()
		} else if got == nil {
			cr.Passed, cr.Empty, cr.Detail = false, true, "返回了 nil (returned nil)"
		} else if !equalInts(got, want) {
			cr.Passed = false
			cr.Detail = fmt.Sprintf("ids %s, promptLen %d\nwant 期望: %s\ngot  得到: %s", fmtLabels(c.ids), c.promptLen, fmtLabels(want), fmtLabels(got))
			if diag == "" {
				diag = labelMistake(c.ids, c.promptLen, got)
			}
		} else if !equalInts(in, c.ids) {
			cr.Passed, cr.Detail = false, "ids 被改了 (ids was modified): 返回新的切片，不要改输入"
		}
		out = append(out, cr)
	}
	if diag != "" {
		hint = diag
	}
	return exercise.Grade("answer-only labels", out, hint, "对每个位置 t：若 t+1 < len(ids) 且 t+1 ≥ promptLen，labels[t] = ids[t+1]，否则 −100。")
}

// CheckDPOLoss checks a learner's DPO loss for one pair, f(beta, policyChosen,
// policyRejected, refChosen, refRejected) = −log σ(β·[(π_w − ref_w) − (π_l − ref_l)]), against
// DPOLoss. The cases include a margin of −1000 (a naive log(1 + e^x) overflows to +Inf)
// and +1000 (the loss must be ≈ 0, not NaN).
func CheckDPOLoss(f func(beta, policyChosen, policyRejected, refChosen, refRejected float64) float64) exercise.Result {
	cases := []struct {
		name string
		args [5]float64
	}{
		{"policy = reference (margin 0 → ln 2)", [5]float64{0.1, -12, -20, -12, -20}},
		{"chosen up, rejected down", [5]float64{0.1, -10, -25, -12, -20}},
		{"wrong way round", [5]float64{0.5, -14, -15, -12, -20}},
		{"β matters", [5]float64{2, -11, -19, -12, -20}},
		{"margin −1000 (overflow trap)", [5]float64{1, -1000, 0, 0, 0}},
		{"margin +1000", [5]float64{1, 0, -1000, 0, 0}},
	}
	var out []exercise.Case
	hint := "margin = β·((πw − refw) − (πl − refl))；loss = −log σ(margin) = log(1 + e^(−margin))，大的负 margin 要写成 −margin + log(1 + e^margin)。"
	diag := ""
	allZero := true
	for _, c := range cases {
		a := c.args
		want, margin := DPOLoss(a[0], a[1], a[2], a[3], a[4])
		var got float64
		cr := exercise.Case{Name: c.name, Passed: true}
		if err := exercise.Protect(func() { got = f(a[0], a[1], a[2], a[3], a[4]) }); err != nil {
			cr.Passed, cr.Detail = false, err.Error()
			allZero = false
		} else if math.IsNaN(got) || math.IsInf(got, 0) || math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
			cr.Passed = false
			cr.Detail = fmt.Sprintf("β=%g πw=%g πl=%g refw=%g refl=%g (margin %g)\nwant 期望: %.6g\ngot  得到: %.6g", a[0], a[1], a[2], a[3], a[4], margin, want, got)
			if got != 0 {
				allZero = false
			}
			if diag == "" {
				diag = dpoMistake(a, got)
			}
		} else if got != 0 {
			allZero = false
		}
		out = append(out, cr)
	}
	if allZero {
		for i := range out {
			out[i].Empty = true
		}
	}
	if diag != "" {
		hint = diag
	}
	return exercise.Grade("DPO loss", out, hint, "margin := beta*((policyChosen-refChosen)-(policyRejected-refRejected))，返回 −log σ(margin)，注意数值稳定。")
}

func dpoMistake(a [5]float64, got float64) string {
	beta, pw, pl, rw, rl := a[0], a[1], a[2], a[3], a[4]
	near := func(v float64) bool { return math.Abs(v-got) < 1e-6*math.Max(1, math.Abs(v)) }
	m := beta * ((pw - rw) - (pl - rl))
	switch {
	case math.IsInf(got, 1) || math.IsNaN(got):
		return "溢出 (overflow)：margin 很负时 e^(−margin) 是 +Inf。用 log(1+eˣ) = max(x,0) + log1p(e^(−|x|))。"
	case near(softplus(m)):
		return "符号反了 (sign)：损失是 −log σ(margin) = log(1 + e^(−margin))，chosen 越好损失越小。"
	case near(softplus(-(pw - rw - (pl - rl)))):
		return "忘了乘 β (forgot β)：margin = β·(…)。"
	case near(softplus(-beta * (pw - pl))):
		return "忘了减去参照模型 (forgot the reference)：奖励是 log π_θ − log π_ref，不是 log π_θ 本身。"
	}
	return ""
}
