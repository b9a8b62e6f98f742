package qa

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/divellm/divellm/lessons/exercise"
)

// CheckBestSpan checks a learner's span search: f(start, end, maxLen) must return the
// (s, e) with s ≤ e and e − s + 1 ≤ maxLen that maximises start[s] + end[e], over all
// positions of the slices. Any span with the best score passes (ties are allowed). The
// reference is [BestSpan]. The traps: the two argmaxes taken separately (the best start
// after the best end), and the length limit forgotten.
func CheckBestSpan(f func(start, end []float64, maxLen int) (s, e int)) exercise.Result {
	r := rand.New(rand.NewPCG(7, 8))
	randVec := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Round(r.NormFloat64()*300) / 100
		}
		return v
	}
	type tc struct {
		name       string
		start, end []float64
		maxLen     int
		trap       string
	}
	cases := []tc{
		{"小例子 small", []float64{0, 1, 3, 0, 0}, []float64{0, 0, 1, 4, 0}, 5, ""},
		{"起点最大值在终点最大值之后 best start after best end", []float64{0, 1, 0, 5, 0}, []float64{0, 4, 0, 0, 1}, 5, "argmax"},
		{"长度上限 length limit 2", []float64{0, 6, 0, 0, 0, 1}, []float64{0, 0, 0, 0, 6, 2}, 2, "length"},
		{"全是负数 all negative", []float64{-5, -1, -3, -2}, []float64{-4, -6, -1, -3}, 4, ""},
		{"长度上限 1：起点 = 终点 maxLen 1", []float64{0, 3, 1, 0}, []float64{0, 1, 0, 3}, 1, "length"},
	}
	for i := range 3 {
		n := 12 + 6*i
		cases = append(cases, tc{fmt.Sprintf("随机 random (%d 个位置, maxLen %d)", n, 3+i), randVec(n), randVec(n), 3 + i, ""})
	}
	var out []exercise.Case
	argmaxTrap, lengthTrap := false, false
	for _, c := range cases {
		want, _ := BestSpan(c.start, c.end, 0, len(c.start), c.maxLen)
		st, en := append([]float64(nil), c.start...), append([]float64(nil), c.end...)
		var s, e int
		cr := exercise.Case{Name: c.name, Passed: true}
		if err := exercise.Protect(func() { s, e = f(st, en, c.maxLen) }); err != nil {
			cr.Passed, cr.Detail = false, err.Error()
			out = append(out, cr)
			continue
		}
		ok := s >= 0 && e < len(c.start) && s <= e && e-s+1 <= c.maxLen
		switch {
		case s == 0 && e == 0:
			cr.Passed, cr.Empty, cr.Detail = false, true, "返回了 (0, 0) (returned the zero span)"
		case !ok || c.start[s]+c.end[e] != want.Score:
			cr.Passed = false
			why := ""
			switch {
			case s > e:
				why = "起点在终点之后 (start after end)；"
			case ok:
			case e-s+1 > c.maxLen:
				why = fmt.Sprintf("跨度长 %d，超过上限 %d (longer than maxLen)；", e-s+1, c.maxLen)
			default:
				why = "位置越界 (out of range)；"
			}
			cr.Detail = fmt.Sprintf("%s想要 want (%d, %d) 得分 %.2f，得到 got (%d, %d)\nstart %s\nend   %s",
				why, want.Start, want.End, want.Score, s, e, fmtVec(c.start), fmtVec(c.end))
			argmaxTrap = argmaxTrap || c.trap == "argmax"
			lengthTrap = lengthTrap || c.trap == "length"
		}
		out = append(out, cr)
	}
	hint := "对每个起点 s，只看终点 e = s … s+maxLen−1，取 start[s] + end[e] 最大的一对 " +
		"(for every start s try only the ends s … s+maxLen−1 and keep the pair with the largest start[s] + end[e])。"
	switch {
	case argmaxTrap:
		hint = "分别取 start 和 end 的最大值不行：最好的起点可能在最好的终点之后。要在 s ≤ e 的成对 (s, e) 里找最大的 start[s] + end[e] " +
			"(taking the two argmaxes separately can put the start after the end: search the pairs)。"
	case lengthTrap:
		hint = "别忘了长度上限：e − s + 1 ≤ maxLen (the length limit)。"
	}
	return exercise.Grade("best span", out, hint,
		"返回使 start[s] + end[e] 最大、且 s ≤ e、e − s + 1 ≤ maxLen 的 (s, e) "+
			"(return the (s, e) with s ≤ e and e − s + 1 ≤ maxLen that maximises start[s] + end[e])。")
}

// fmtVec prints a vector with 2 decimals.
func fmtVec(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
