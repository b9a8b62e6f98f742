package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/divellm/divellm/llm/serve/loadtest"
)

func init() {
	register("loadtest", "load-test an OpenAI-compatible server: loadtest --url URL --concurrency N --requests M|--duration D [--stream --json]", loadtestCmd)
}

func loadtestCmd(args []string, w io.Writer) error {
	fs := newFlags("loadtest")
	u := fs.String("url", "", "server base URL, e.g. http://127.0.0.1:8080")
	conc := fs.Int("concurrency", 1, "clients sending requests at once")
	requests := fs.Int("requests", 0, "stop after this many requests")
	duration := fs.Duration("duration", 0, "stop after this long (e.g. 60s); requests still running are cut off, and only with --stream do their tokens so far count")
	stream := fs.Bool("stream", false, "stream the answers (SSE), which also measures time to first token")
	chat := fs.Bool("chat", false, "use /v1/chat/completions instead of /v1/completions")
	maxTokens := fs.Int("max-tokens", 32, "tokens per request")
	temperature := fs.Float64("temperature", 0, "sampling temperature")
	ignoreEOS := fs.Bool("ignore-eos", true, "ask for exactly --max-tokens tokens per request (ignore_eos), so every request costs the same")
	model := fs.String("model", "", "model id (default: the server's)")
	prompt := fs.String("prompt", "", "prompt for every request (default: a rotation of alert-log beginnings)")
	keyFile := fs.String("api-key-file", "", "file holding the API key")
	timeout := fs.Duration("timeout", 60*time.Second, "per-request timeout")
	asJSON := fs.Bool("json", false, "print the report as one line of JSON")
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if pu, err := url.Parse(*u); *u == "" || err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return usagef("usage: divellm loadtest --url http://HOST:PORT --concurrency N --requests M|--duration D (--url %q is not an http URL)", *u)
	}
	if *conc < 1 || *requests < 0 || *duration < 0 || *maxTokens < 1 || *timeout <= 0 {
		return usagef("--concurrency and --max-tokens must be ≥ 1, --requests and --duration ≥ 0, --timeout > 0")
	}
	if *requests == 0 && *duration == 0 {
		return usagef("give --requests M, --duration D or both: a load test must be bounded")
	}
	o := loadtest.Options{URL: *u, Concurrency: *conc, Requests: *requests, Duration: *duration, Stream: *stream,
		Chat: *chat, Model: *model, MaxTokens: *maxTokens, Temperature: *temperature, IgnoreEOS: *ignoreEOS, Timeout: *timeout}
	if *prompt != "" {
		o.Prompts = []string{*prompt}
	}
	if *keyFile != "" {
		data, err := os.ReadFile(*keyFile)
		if err != nil {
			return usagef("--api-key-file: %v", err)
		}
		o.APIKey = strings.TrimSpace(string(data))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := loadtest.Run(ctx, o)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(w, rep)
	}
	fmt.Fprintf(w, "%s  concurrency %d  %d requests in %.1f s  (%d errors)\n", rep.URL, rep.Concurrency, rep.Requests, rep.Seconds, rep.Errors)
	if rep.CutOffTokens > 0 {
		fmt.Fprintf(w, "throughput: %.1f requests/s, %.0f tokens/s (%d tokens generated, %d more in requests the duration cut off)\n", rep.RequestsPerSec, rep.TokensPerSec, rep.CompletionTokens, rep.CutOffTokens)
	} else {
		fmt.Fprintf(w, "throughput: %.1f requests/s, %.0f tokens/s (%d tokens generated)\n", rep.RequestsPerSec, rep.TokensPerSec, rep.CompletionTokens)
	}
	l := rep.LatencyMS
	fmt.Fprintf(w, "latency ms: p50 %.1f  p95 %.1f  p99 %.1f  max %.1f\n", l.P50, l.P95, l.P99, l.Max)
	if t := rep.TTFTMS; t != nil {
		fmt.Fprintf(w, "TTFT ms:    p50 %.1f  p95 %.1f  p99 %.1f  max %.1f\n", t.P50, t.P95, t.P99, t.Max)
	} else {
		fmt.Fprintln(w, "TTFT: add --stream to measure the time to the first token")
	}
	if len(rep.ErrorKinds) > 0 {
		var kinds []string
		for k, n := range rep.ErrorKinds {
			kinds = append(kinds, fmt.Sprintf("%s×%d", k, n))
		}
		sort.Strings(kinds)
		fmt.Fprintf(w, "errors: %s\n", strings.Join(kinds, " "))
	}
	return nil
}
