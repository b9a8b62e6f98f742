package week4

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/divellm/divellm/kernel/display"
	"github.com/divellm/divellm/llm/serve/loadtest"
)

// Must returns v, or panics with err (cells stop at the first error, with its message).
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// ShowTable prints a table: HTML in a notebook, aligned text elsewhere.
func ShowTable(headers []string, rows [][]string) error {
	if !display.IsNotebook() {
		return display.Table(headers, rows)
	}
	return display.HTML(display.TableHTML(headers, rows))
}

// Sample is one line of the Prometheus text format: name{labels} value.
type Sample struct {
	Name   string
	Labels map[string]string
	Value  float64
}

// Metrics is a scrape of /metrics.
type Metrics []Sample

// ReadMetrics fetches url/metrics and parses the Prometheus text format (comment lines
// start with #; a sample is `name{k="v",…} value`).
func ReadMetrics(url string) (Metrics, error) {
	resp, err := http.Get(strings.TrimSuffix(url, "/") + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	return ParseMetrics(resp.Body)
}

// ParseMetrics parses the Prometheus text exposition format.
func ParseMetrics(r io.Reader) (Metrics, error) {
	var out Metrics
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s := Sample{Labels: map[string]string{}}
		rest := line
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				return nil, fmt.Errorf("metrics: bad line %q", line)
			}
			s.Name, rest = line[:i], strings.TrimSpace(line[j+1:])
			for _, kv := range splitLabels(line[i+1 : j]) {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return nil, fmt.Errorf("metrics: bad label %q in %q", kv, line)
				}
				uq, err := strconv.Unquote(v)
				if err != nil {
					return nil, fmt.Errorf("metrics: bad label value %q in %q", v, line)
				}
				s.Labels[k] = uq
			}
		} else {
			name, val, ok := strings.Cut(line, " ")
			if !ok {
				return nil, fmt.Errorf("metrics: bad line %q", line)
			}
			s.Name, rest = name, val
		}
		fields := strings.Fields(rest) // value [timestamp]
		if len(fields) == 0 {
			return nil, fmt.Errorf("metrics: no value in %q", line)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: bad value in %q", line)
		}
		s.Value = v
		out = append(out, s)
	}
	return out, sc.Err()
}

// splitLabels splits `a="x",b="y,z"` at the commas outside quotes.
func splitLabels(s string) []string {
	var out []string
	quoted, start := false, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if strings.TrimSpace(s[start:]) != "" {
		out = append(out, s[start:])
	}
	return out
}

// Sum adds the samples named name whose labels include every given key=value pair
// (labels as "key", "value", …).
func (m Metrics) Sum(name string, labels ...string) float64 {
	var sum float64
	for _, s := range m {
		if s.Name != name {
			continue
		}
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			ok = ok && s.Labels[labels[i]] == labels[i+1]
		}
		if ok {
			sum += s.Value
		}
	}
	return sum
}

// Mean is a histogram's average: name_sum / name_count (0 without observations).
func (m Metrics) Mean(name string, labels ...string) float64 {
	n := m.Sum(name+"_count", labels...)
	if n == 0 {
		return 0
	}
	return m.Sum(name+"_sum", labels...) / n
}

// Rows lists the divellm_* samples as table rows (name, labels, value), sorted, skipping
// histogram buckets.
func (m Metrics) Rows() [][]string {
	var rows [][]string
	for _, s := range m {
		if !strings.HasPrefix(s.Name, "divellm_") || strings.HasSuffix(s.Name, "_bucket") {
			continue
		}
		var ls []string
		for k, v := range s.Labels {
			ls = append(ls, k+"="+v)
		}
		sort.Strings(ls)
		rows = append(rows, []string{s.Name, strings.Join(ls, ","), strconv.FormatFloat(s.Value, 'g', 6, 64)})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i][0]+rows[i][1] < rows[j][0]+rows[j][1] })
	return rows
}

// Trial is one streamed chat request of a caching experiment.
type Trial struct {
	Question     string
	TTFTms       float64 // request sent → first text chunk
	PromptTokens int
	CachedTokens int // usage.prompt_tokens_details.cached_tokens: prompt tokens served from the KV cache of an earlier request
}

// PrefixTrials sends one streamed chat request per question, each with the same system
// prompt, one after another, and measures the time to the first token of each. With
// prefix reuse the server keeps the system prompt's keys and values from the first
// request, so the later ones prefill only their question.
func PrefixTrials(url, system string, questions []string, maxTokens int) ([]Trial, error) {
	var out []Trial
	for _, q := range questions {
		body, _ := json.Marshal(map[string]any{
			"messages":       []map[string]string{{"role": "system", "content": system}, {"role": "user", "content": q}},
			"max_tokens":     maxTokens,
			"temperature":    0,
			"stream":         true,
			"stream_options": map[string]bool{"include_usage": true},
		})
		start := time.Now()
		resp, err := http.Post(strings.TrimSuffix(url, "/")+"/v1/chat/completions", "application/json", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		t := Trial{Question: q}
		var first time.Duration
		err = loadtest.ParseSSE(resp.Body, func(data string) error {
			if data == "[DONE]" {
				return nil
			}
			var c struct {
				Choices []struct {
					Delta struct {
						Content string `json:"content"`
					} `json:"delta"`
				} `json:"choices"`
				Usage *struct {
					PromptTokens        int `json:"prompt_tokens"`
					PromptTokensDetails struct {
						CachedTokens int `json:"cached_tokens"`
					} `json:"prompt_tokens_details"`
				} `json:"usage"`
			}
			if err := json.Unmarshal([]byte(data), &c); err != nil {
				return fmt.Errorf("bad chunk %q", data)
			}
			if first == 0 && len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" {
				first = time.Since(start)
			}
			if c.Usage != nil {
				t.PromptTokens, t.CachedTokens = c.Usage.PromptTokens, c.Usage.PromptTokensDetails.CachedTokens
			}
			return nil
		})
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("chat: %s", resp.Status)
		}
		t.TTFTms = float64(first.Microseconds()) / 1000
		out = append(out, t)
	}
	return out, nil
}

// StepStats compares two scrapes of /metrics taken before and after a load test and
// returns what the engine did in between: the mean duration of one decode step (ms), the
// mean number of sequences per step, and the steps run.
func StepStats(before, after Metrics) (stepMs, batch float64, steps int) {
	n := after.Sum("divellm_step_duration_seconds_count") - before.Sum("divellm_step_duration_seconds_count")
	if n <= 0 {
		return 0, 0, 0
	}
	secs := after.Sum("divellm_step_duration_seconds_sum") - before.Sum("divellm_step_duration_seconds_sum")
	rows := after.Sum("divellm_step_batch_size_sum") - before.Sum("divellm_step_batch_size_sum")
	return 1000 * secs / n, rows / n, int(n)
}
