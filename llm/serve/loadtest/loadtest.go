// Package loadtest drives an OpenAI-compatible server (divellm serve, vLLM, …) with N
// concurrent clients and reports throughput and latency percentiles: what `divellm
// loadtest` prints and week 4's cells chart. It depends on net/http only, so a notebook
// cell that imports it compiles fast.
//
// Each client sends one request, waits for the whole answer, and sends the next, until the
// request count or the duration is reached (closed-loop load: the offered load adapts to
// the server, so a slow server sees fewer requests rather than a growing backlog).
//
//	requests/s = finished requests / wall time
//	tokens/s   = generated tokens (usage.completion_tokens) / wall time
//	latency    = request sent → last byte received; TTFT = request sent → first text chunk
//
// Percentiles use the nearest-rank definition: the p-th percentile of n sorted values is
// the value at rank ⌈p/100·n⌉ (1-based).
package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Options configure a load test. Requests and Duration bound it; at least one must be set.
type Options struct {
	URL         string        // server base URL, e.g. http://127.0.0.1:8080
	Concurrency int           // clients sending requests at once (≥ 1)
	Requests    int           // stop after this many requests (0 = no count limit)
	Duration    time.Duration // stop sending after this long (0 = no time limit)
	Stream      bool          // ask for SSE streaming (needed to measure TTFT)
	Chat        bool          // /v1/chat/completions instead of /v1/completions
	Model       string        // model id ("" = the server's default)
	Prompts     []string      // prompts, used in turn (default: DefaultPrompts)
	MaxTokens   int           // tokens per request (default 32)
	Temperature float64       // sampling temperature (default 0: greedy)
	// IgnoreEOS asks the server to generate exactly MaxTokens tokens (vLLM's ignore_eos,
	// which divellm serve also accepts), so every request costs the same.
	IgnoreEOS bool
	APIKey    string        // sent as "Authorization: Bearer …" when set
	Timeout   time.Duration // per request (default 60 s)
	Client    *http.Client  // default: one with enough idle connections for Concurrency
}

// DefaultPrompts are alert-log beginnings in the style of the project's corpus.
var DefaultPrompts = []string{
	"2026-03-14 02:13:07 [CRITICAL]",
	"2026-03-14 02:15:41 [WARNING] db-prod-03",
	"处理步骤：1.",
	"2026-03-15 11:02:19 [ERROR] api-gw-7 请求",
	"告警：磁盘使用率",
	"2026-03-16 08:45:00 [INFO] cache-prod-55",
}

// Report is the outcome of a load test. Times are in milliseconds.
type Report struct {
	URL            string         `json:"url"`
	Concurrency    int            `json:"concurrency"`
	Stream         bool           `json:"stream"`
	Requests       int            `json:"requests"` // finished, including errors
	Errors         int            `json:"errors"`
	ErrorKinds     map[string]int `json:"error_kinds,omitempty"` // "429", "500", "timeout", "connection", …
	Seconds        float64        `json:"seconds"`
	RequestsPerSec float64        `json:"requests_per_sec"`
	// TokensPerSec counts the completion tokens of finished requests and, when streaming,
	// those that requests cut off by the end of a --duration run had received.
	TokensPerSec     float64 `json:"tokens_per_sec"`
	CompletionTokens int     `json:"completion_tokens"` // of the finished requests
	// CutOffTokens are the tokens that streamed requests still running when the duration
	// ended had received (text chunks). Without streaming they are unknown: a short
	// --duration with long requests then undercounts tokens/s.
	CutOffTokens int      `json:"cut_off_tokens"`
	PromptTokens int      `json:"prompt_tokens"`
	LatencyMS    Summary  `json:"latency_ms"`
	TTFTMS       *Summary `json:"ttft_ms"` // nil unless Stream
}

// Summary holds percentiles of a set of durations.
type Summary struct {
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
}

// Summarize returns the mean, p50, p90, p95, p99 and max of xs (zeros for none).
func Summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{}
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	return Summary{Mean: sum / float64(len(xs)), P50: Percentile(xs, 50), P90: Percentile(xs, 90), P95: Percentile(xs, 95),
		P99: Percentile(xs, 99), Max: Percentile(xs, 100)}
}

// Percentile returns the nearest-rank p-th percentile (0 < p ≤ 100) of xs: the value at
// rank ⌈p/100·n⌉ of the sorted values. xs is not modified; NaN for no values.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 || !(p > 0 && p <= 100) {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}

// result is one request's outcome.
type result struct {
	latency, ttft  time.Duration
	tokens, prompt int
	err            string // "" = success
	gotFirst       bool   // a text chunk arrived (streaming)
}

// Run performs the load test.
func Run(ctx context.Context, o Options) (*Report, error) {
	if o.URL == "" {
		return nil, errors.New("loadtest: URL is required")
	}
	if o.Concurrency < 1 {
		return nil, fmt.Errorf("loadtest: concurrency %d must be ≥ 1", o.Concurrency)
	}
	if o.Requests < 0 || o.Duration < 0 || (o.Requests == 0 && o.Duration == 0) {
		return nil, errors.New("loadtest: give a request count, a duration or both (it must be bounded)")
	}
	if o.MaxTokens == 0 {
		o.MaxTokens = 32
	}
	if len(o.Prompts) == 0 {
		o.Prompts = DefaultPrompts
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	if o.Client == nil {
		o.Client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency, MaxConnsPerHost: 0}}
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	var (
		mu      sync.Mutex
		results []result
		issued  int
		cutOff  int // tokens received by requests the duration cut off
	)
	next := func() (int, bool) { // claims the next request number
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() != nil || (o.Requests > 0 && issued >= o.Requests) {
			return 0, false
		}
		issued++
		return issued - 1, true
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i, ok := next()
				if !ok {
					return
				}
				r := one(ctx, o, o.Prompts[i%len(o.Prompts)])
				if r.err == "cancelled" { // the duration ended during the request: not a failure
					mu.Lock()
					cutOff += r.tokens
					mu.Unlock()
					return
				}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	rep := &Report{URL: o.URL, Concurrency: o.Concurrency, Stream: o.Stream, Requests: len(results), Seconds: elapsed.Seconds(), CutOffTokens: cutOff}
	var lat, ttft []float64
	for _, r := range results {
		if r.err != "" {
			rep.Errors++
			if rep.ErrorKinds == nil {
				rep.ErrorKinds = map[string]int{}
			}
			rep.ErrorKinds[r.err]++
			continue
		}
		rep.CompletionTokens += r.tokens
		rep.PromptTokens += r.prompt
		lat = append(lat, ms(r.latency))
		if r.gotFirst {
			ttft = append(ttft, ms(r.ttft))
		}
	}
	rep.RequestsPerSec = float64(rep.Requests-rep.Errors) / elapsed.Seconds()
	rep.TokensPerSec = float64(rep.CompletionTokens+rep.CutOffTokens) / elapsed.Seconds()
	rep.LatencyMS = Summarize(lat)
	if o.Stream {
		s := Summarize(ttft)
		rep.TTFTMS = &s
	}
	return rep, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// body builds the request JSON.
func body(o Options, prompt string) []byte {
	req := map[string]any{"max_tokens": o.MaxTokens, "temperature": o.Temperature, "stream": o.Stream}
	if o.Model != "" {
		req["model"] = o.Model
	}
	if o.IgnoreEOS {
		req["ignore_eos"] = true
	}
	if o.Stream {
		req["stream_options"] = map[string]bool{"include_usage": true}
	}
	if o.Chat {
		req["messages"] = []map[string]string{{"role": "user", "content": prompt}}
	} else {
		req["prompt"] = prompt
	}
	b, _ := json.Marshal(req)
	return b
}

// one sends one request and measures it.
func one(ctx context.Context, o Options, prompt string) result {
	path := "/v1/completions"
	if o.Chat {
		path = "/v1/chat/completions"
	}
	rctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, strings.TrimSuffix(o.URL, "/")+path, bytes.NewReader(body(o, prompt)))
	if err != nil {
		return result{err: "request"}
	}
	req.Header.Set("Content-Type", "application/json")
	if o.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+o.APIKey)
	}
	start := time.Now()
	resp, err := o.Client.Do(req)
	if err != nil {
		return result{err: classify(ctx, rctx, err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return result{err: fmt.Sprint(resp.StatusCode)}
	}
	var r result
	var u struct {
		Usage *struct {
			PromptTokens     int `json:"prompt_tokens"`
			CompletionTokens int `json:"completion_tokens"`
		} `json:"usage"`
		Choices []struct {
			Text  string `json:"text"`
			Delta struct {
				Content string `json:"content"`
			} `json:"delta"`
		} `json:"choices"`
	}
	if !o.Stream {
		if err := json.NewDecoder(resp.Body).Decode(&u); err != nil || u.Usage == nil {
			return result{err: classify(ctx, rctx, err, "bad response")}
		}
		r.latency = time.Since(start)
		r.tokens, r.prompt = u.Usage.CompletionTokens, u.Usage.PromptTokens
		return r
	}
	chunks := 0
	err = ParseSSE(resp.Body, func(data string) error {
		if data == "[DONE]" {
			return nil
		}
		u.Usage, u.Choices = nil, nil
		if err := json.Unmarshal([]byte(data), &u); err != nil {
			return fmt.Errorf("bad chunk")
		}
		if u.Usage != nil {
			r.tokens, r.prompt = u.Usage.CompletionTokens, u.Usage.PromptTokens
		}
		for _, c := range u.Choices {
			if c.Text != "" || c.Delta.Content != "" {
				chunks++
				if !r.gotFirst {
					r.gotFirst, r.ttft = true, time.Since(start)
				}
			}
		}
		return nil
	})
	if err != nil {
		kind := classify(ctx, rctx, err, "bad stream")
		if kind == "cancelled" {
			return result{err: kind, tokens: chunks} // what arrived before the end counts
		}
		return result{err: kind}
	}
	r.latency = time.Since(start)
	if r.tokens == 0 {
		r.tokens = chunks // a server that sends no usage: count text chunks
	}
	return r
}

// classify names an error for the report.
func classify(ctx, rctx context.Context, err error, fallback ...string) string {
	switch {
	case ctx.Err() != nil:
		return "cancelled"
	case rctx.Err() != nil:
		return "timeout"
	case len(fallback) > 0:
		return fallback[0]
	}
	return "connection"
}

// ParseSSE reads a Server-Sent Events stream and calls fn with the data of each event
// (the "data:" lines of one event joined by "\n", without the "data:" prefix and its one
// optional space). Comments (":…") and other fields (event:, id:, retry:) are skipped;
// an event ends at a blank line. It stops at the first error of fn or of the reader.
func ParseSSE(r io.Reader, fn func(data string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	var data []string
	has := false
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			if has {
				if err := fn(strings.Join(data, "\n")); err != nil {
					return err
				}
			}
			data, has = data[:0], false
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		if field == "data" {
			data = append(data, strings.TrimPrefix(value, " "))
			has = true
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if has {
		return fn(strings.Join(data, "\n"))
	}
	return nil
}
