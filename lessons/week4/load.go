package week4

import (
	"context"
	"fmt"
	"time"

	"github.com/divellm/divellm/llm/serve/loadtest"
	"github.com/divellm/divellm/viz"
)

// LoadOptions are the defaults of the notebook's load tests: streamed completions of 32
// tokens each (ignore_eos, so every request costs the same), greedy.
func LoadOptions(url string) loadtest.Options {
	return loadtest.Options{URL: url, Stream: true, MaxTokens: 32, IgnoreEOS: true}
}

// Sweep load-tests url at each concurrency for perLevel (or requests per level, when
// perLevel is 0), one level after the other, and returns one report per level.
func Sweep(o loadtest.Options, concurrency []int, perLevel time.Duration, requests int) ([]*loadtest.Report, error) {
	var reps []*loadtest.Report
	for _, c := range concurrency {
		o.Concurrency, o.Duration, o.Requests = c, perLevel, requests
		rep, err := loadtest.Run(context.Background(), o)
		if err != nil {
			return nil, err
		}
		reps = append(reps, rep)
	}
	return reps, nil
}

// SweepTable is one row per report: concurrency, requests/s, tokens/s, latency and TTFT
// percentiles, errors.
func SweepTable(reps []*loadtest.Report) ([]string, [][]string) {
	headers := []string{"并发 concurrency", "请求/s", "tokens/s", "延迟 p50 ms", "p95", "p99", "TTFT p50 ms", "TTFT p99 ms", "错误 errors"}
	var rows [][]string
	for _, r := range reps {
		ttft50, ttft99 := "–", "–"
		if r.TTFTMS != nil {
			ttft50, ttft99 = fmt.Sprintf("%.1f", r.TTFTMS.P50), fmt.Sprintf("%.1f", r.TTFTMS.P99)
		}
		rows = append(rows, []string{fmt.Sprint(r.Concurrency), fmt.Sprintf("%.1f", r.RequestsPerSec), fmt.Sprintf("%.0f", r.TokensPerSec),
			fmt.Sprintf("%.1f", r.LatencyMS.P50), fmt.Sprintf("%.1f", r.LatencyMS.P95), fmt.Sprintf("%.1f", r.LatencyMS.P99),
			ttft50, ttft99, fmt.Sprint(r.Errors)})
	}
	return headers, rows
}

// SweepCharts draws throughput and latency percentiles against concurrency.
func SweepCharts(reps []*loadtest.Report) (throughput, latency *viz.Chart) {
	conc := make([]int, len(reps))
	tps, p50, p90, p99 := make([]float64, len(reps)), make([]float64, len(reps)), make([]float64, len(reps)), make([]float64, len(reps))
	for i, r := range reps {
		conc[i], tps[i] = r.Concurrency, r.TokensPerSec
		p50[i], p90[i], p99[i] = r.LatencyMS.P50, r.LatencyMS.P90, r.LatencyMS.P99
	}
	return viz.Throughput(conc, tps).Title("吞吐量 (throughput, tokens/s) 随并发增长"),
		viz.LatencyPercentiles(conc, p50, p90, p99).Title("请求延迟 (latency, ms) 的 p50 / p90 / p99")
}

// Gain is tokens/s of b over a.
func Gain(a, b *loadtest.Report) float64 {
	if a.TokensPerSec == 0 {
		return 0
	}
	return b.TokensPerSec / a.TokensPerSec
}

// Compare draws tokens/s and p99 latency of several labelled runs side by side.
func Compare(labels []string, reps []*loadtest.Report) *viz.Chart {
	tps, p99 := make([]float64, len(reps)), make([]float64, len(reps))
	for i, r := range reps {
		tps[i], p99[i] = r.TokensPerSec, r.LatencyMS.P99
	}
	return viz.Bars(labels, viz.Series{Name: "tokens/s", Values: tps}, viz.Series{Name: "p99 延迟 ms", Values: p99})
}
