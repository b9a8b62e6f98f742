package week4

import (
	"fmt"
	"math"
	"strings"

	"github.com/divellm/divellm/lessons/exercise"
	"github.com/divellm/divellm/llm/serve/loadtest"
)

// sseCases are streams whose events the parser must return, with the traps a quick
// strings.Split falls into.
var sseCases = []struct{ name, stream string }{
	{"两个事件 + [DONE] (two events)", "data: {\"a\":1}\n\ndata: {\"a\":2}\n\ndata: [DONE]\n\n"},
	{"冒号后没有空格 (no space after data:)", "data:{\"a\":1}\n\n"},
	{"多行 data 用 \\n 连接 (multi-line data)", "data: line one\ndata: line two\n\n"},
	{"注释行与 event/id 字段 (comments, other fields)", ": keep-alive\n\nevent: message\nid: 3\ndata: x\n\n"},
	{"CRLF 换行 (\\r\\n line endings)", "data: a\r\n\r\ndata: b\r\n\r\n"},
	{"最后一个事件没有空行 (no blank line at the end)", "data: a\n\ndata: last"},
	{"内容里含有 data: (\"data: \" inside the text)", "data: {\"text\":\"data: 42\"}\n\n"},
	{"前导空格只去掉一个 (only one space is stripped)", "data:  two spaces\n\n"},
}

// CheckParseSSE checks a parser of Server-Sent Events: given the whole stream, it returns
// the data of each event in order (what loadtest.ParseSSE returns).
func CheckParseSSE(parse func(stream string) []string) exercise.Result {
	var cases []exercise.Case
	for _, c := range sseCases {
		var want []string
		_ = loadtest.ParseSSE(strings.NewReader(c.stream), func(d string) error { want = append(want, d); return nil })
		var got []string
		cs := exercise.Case{Name: c.name}
		if err := exercise.Protect(func() { got = parse(c.stream) }); err != nil {
			cs.Detail = err.Error()
		} else if got == nil {
			cs.Empty = true
		} else if fmt.Sprintf("%q", got) == fmt.Sprintf("%q", want) {
			cs.Passed = true
		} else {
			cs.Detail = fmt.Sprintf("stream %q\nwant 期望 %q\ngot  得到 %q", c.stream, want, got)
		}
		cases = append(cases, cs)
	}
	return exercise.Grade("SSE 解析 (parse SSE)", cases,
		"逐行读：空行结束一个事件；以 data: 开头的行，去掉 \"data:\" 和其后至多一个空格；同一事件的多行 data 用 \\n 连接；忽略 : 开头的注释和其他字段；别忘了 \\r。",
		"把 parseSSE 的函数体换成你的实现：返回每个事件的 data（按顺序）。")
}

// CheckPercentile checks a nearest-rank percentile p95(xs): the value at rank ⌈0.95·n⌉
// of the sorted values, without changing xs.
func CheckPercentile(p95 func(latencies []float64) float64) exercise.Result {
	one100 := make([]float64, 100)
	for i := range one100 {
		one100[i] = float64(100 - i)
	}
	cases := []struct {
		name string
		xs   []float64
	}{
		{"1…100 倒序 (reversed)", one100},
		{"10 个值：秩 ⌈9.5⌉ = 10 (rank rounds up)", []float64{12, 7, 30, 9, 11, 8, 10, 14, 13, 250}},
		{"20 个值 (twenty)", []float64{5, 3, 8, 1, 9, 2, 7, 4, 6, 10, 15, 13, 18, 11, 19, 12, 17, 14, 16, 20}},
		{"只有一个值 (one value)", []float64{42}},
		{"重复值 (ties)", []float64{3, 3, 3, 9, 3}},
	}
	var out []exercise.Case
	for _, c := range cases {
		in := append([]float64(nil), c.xs...)
		want := loadtest.Percentile(c.xs, 95)
		var got float64
		cs := exercise.Case{Name: c.name}
		if err := exercise.Protect(func() { got = p95(in) }); err != nil {
			cs.Detail = err.Error()
		} else if got == 0 {
			cs.Empty = true
		} else if got != want {
			cs.Detail = fmt.Sprintf("latencies %v\nwant 期望 %g, got 得到 %g", c.xs, want, got)
		} else if fmt.Sprint(in) != fmt.Sprint(c.xs) {
			cs.Detail = "结果对，但你改动了输入切片 (the input slice was modified): sort a copy"
		} else {
			cs.Passed = true
		}
		out = append(out, cs)
	}
	return exercise.Grade("p95 (nearest rank)", out,
		"先复制再排序；秩 (rank) = ⌈0.95·n⌉（向上取整，math.Ceil），取第 rank 个，即下标 rank−1。",
		"把 p95 的函数体换成你的实现。")
}

// CheckBatchGain checks a prediction of batching's throughput gain from step times: one
// step of B sequences makes B tokens in t(B), one sequence makes 1 token in t(1), so
// gain = B·t(1)/t(B).
func CheckBatchGain(gain func(step1ms, stepBms float64, b int) float64) exercise.Result {
	cases := []struct {
		name   string
		t1, tB float64
		b      int
	}{
		{"步长不变：16 倍 (same step time → 16×)", 2, 2, 16},
		{"步长变 4 倍 (step 4× longer)", 2, 8, 16},
		{"B = 1 没有收益 (no batch, no gain)", 3, 3, 1},
		{"实测量级 (measured-like numbers)", 0.35, 1.1, 8},
	}
	var out []exercise.Case
	for _, c := range cases {
		want := float64(c.b) * c.t1 / c.tB
		var got float64
		cs := exercise.Case{Name: c.name}
		if err := exercise.Protect(func() { got = gain(c.t1, c.tB, c.b) }); err != nil {
			cs.Detail = err.Error()
		} else if got == 0 {
			cs.Empty = true
		} else if math.Abs(got-want) > 1e-9*want {
			cs.Detail = fmt.Sprintf("t(1) = %g ms, t(%d) = %g ms\nwant 期望 %.4g×, got 得到 %.4g×", c.t1, c.b, c.tB, want, got)
		} else {
			cs.Passed = true
		}
		out = append(out, cs)
	}
	return exercise.Grade("批处理收益 (batching gain)", out,
		"吞吐量 = 每步产生的 token 数 / 每步时间：不批处理 1/t(1)，批处理 B/t(B)；收益是两者之比。",
		"把 batchGain 的函数体换成你的公式。")
}
