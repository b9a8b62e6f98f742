package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const tinyZH = "../../models/gpt-tiny-zh"

// TestServeUsageErrors: bad flags, a public address without a key and unbounded load
// tests are usage errors (exit 2, one line on stderr) before anything listens.
func TestServeUsageErrors(t *testing.T) {
	key := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(key, []byte("two words\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"serve"},
		{"serve", "--model", "/nonexistent"},
		{"serve", "--model", tinyZH, "--quant", "int3"},
		{"serve", "--model", tinyZH, "--addr", "0.0.0.0:8080"},
		{"serve", "--model", tinyZH, "--addr", ":8080"},
		{"serve", "--model", tinyZH, "--addr", "nonsense"},
		{"serve", "--model", tinyZH, "--max-batch", "0"},
		{"serve", "--model", tinyZH, "--api-key-file", key, "--addr", "0.0.0.0:8080"},
		{"serve", "--model", tinyZH, "--api-key-file", "/nonexistent"},
		{"serve", "--model", tinyZH, "--load-format", "safetensors"},
		{"serve", "--model", tinyZH, "--hf-overrides", `{"n_layer":2}`}, // overrides need dummy weights
		{"serve", "--model", tinyZH, "--load-format", "dummy", "--hf-overrides", `{"n_layer":2`},
		{"serve", "--model", tinyZH, "--load-format", "dummy", "--hf-overrides", `[1]`},
		{"serve", "--model", tinyZH, "--load-format", "dummy", "--hf-overrides", `{"n_layer":2} {}`},
		{"serve", "--model", tinyZH, "--load-format", "dummy", "--hf-overrides", `{"n_layers":2}`},
		{"serve", "--model", tinyZH, "--load-format", "dummy", "--hf-overrides", `{"n_embd":130}`},
		{"serve", "--model", tinyZH, "--load-format", "dummy", "--hf-overrides", `{"n_layer":512,"n_embd":8192,"n_head":64}`},
		{"serve", "--model", tinyZH, "--load-format", "dummy", "--hf-overrides", `{"vocab_size":100}`}, // smaller than the tokenizer
		{"serve", "--classifier", tinyZH, "--load-format", "dummy"},
		{"serve", "--model", "../../models/bert-tiny-zh", "--load-format", "dummy"}, // not a decoder
		{"loadtest", "--url", "http://127.0.0.1:1", "--concurrency", "4"},
		{"loadtest", "--url", "ftp://x", "--requests", "3"},
		{"loadtest", "--requests", "3"},
		{"loadtest", "--url", "http://127.0.0.1:1", "--requests", "3", "--concurrency", "0"},
	} {
		code, _, errOut := runCLI(t, args...)
		if code != 2 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 || strings.Contains(errOut, "goroutine") {
			t.Errorf("divellm %s: exit %d, stderr %q", strings.Join(args, " "), code, errOut)
		}
	}
}

// TestServeDummy: --load-format dummy --hf-overrides serves random weights of another shape
// with the checkpoint's tokenizer (vLLM's flags), and says so in its log line.
func TestServeDummy(t *testing.T) {
	out, url, done := startServe(t, "--model", tinyZH, "--addr", "127.0.0.1:0", "--max-batch", "2",
		"--load-format", "dummy", "--hf-overrides", `{"n_layer":2,"n_embd":64,"n_head":2,"n_inner":96,"n_ctx":48}`)
	log := out.String()
	if !strings.Contains(log, "random weights (dummy: 2 layers, d_model 64, 2 heads, d_ff 96, vocab 1405)") || !strings.Contains(log, "× 48 tokens") {
		t.Fatalf("log does not describe the dummy model:\n%s", log)
	}
	code, stdout, errOut := runCLI(t, "loadtest", "--url", url, "--concurrency", "2", "--requests", "4", "--max-tokens", "5", "--json")
	if code != 0 {
		t.Fatalf("loadtest: exit %d %s", code, errOut)
	}
	var rep struct {
		Requests int `json:"requests"`
		Errors   int `json:"errors"`
		Tokens   int `json:"completion_tokens"`
	}
	lastJSON(t, stdout, &rep)
	if rep.Requests != 4 || rep.Errors != 0 || rep.Tokens != 4*5 {
		t.Fatalf("report %s", stdout)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve after SIGTERM: %v", err)
	}
}

// startServe runs serveCmd with args in the background until it prints "ready", and
// returns its output, its URL (from the "listening on" line) and the channel of its result.
func startServe(t *testing.T, args ...string) (*syncBuffer, string, chan error) {
	t.Helper()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- serveCmd(args, out) }()
	for !strings.Contains(out.String(), "ready") {
		select {
		case err := <-done:
			t.Fatalf("serve returned early: %v\n%s", err, out)
		case <-time.After(5 * time.Millisecond):
		}
	}
	var url string
	line := strings.SplitN(out.String(), "\n", 2)[0]
	if _, rest, ok := strings.Cut(line, "listening on "); ok {
		url = strings.Fields(rest)[0]
	}
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("no address in %q", out)
	}
	return out, url, done
}

// syncBuffer is a goroutine-safe stdout for the server running in the background.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeAndLoadtest runs `divellm serve` in-process on a free port, loads it with
// `divellm loadtest --json`, and stops it with SIGTERM, which drains and returns nil.
func TestServeAndLoadtest(t *testing.T) {
	out, url, done := startServe(t, "--model", tinyZH, "--addr", "127.0.0.1:0", "--max-batch", "4")
	resp, err := http.Get(url + "/health")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("health: %v %v", resp, err)
	}
	code, stdout, errOut := runCLI(t, "loadtest", "--url", url, "--concurrency", "3", "--requests", "9", "--stream", "--max-tokens", "8", "--json")
	if code != 0 {
		t.Fatalf("loadtest: exit %d %s", code, errOut)
	}
	var rep struct {
		Requests int `json:"requests"`
		Errors   int `json:"errors"`
		Tokens   int `json:"completion_tokens"`
		TTFT     *struct {
			P99 float64 `json:"p99"`
		} `json:"ttft_ms"`
	}
	lastJSON(t, stdout, &rep)
	if rep.Requests != 9 || rep.Errors != 0 || rep.Tokens != 9*8 || rep.TTFT == nil || rep.TTFT.P99 <= 0 {
		t.Fatalf("report %s", stdout)
	}
	// The text report names the percentiles.
	if code, text, _ := runCLI(t, "loadtest", "--url", url, "--requests", "2", "--max-tokens", "4"); code != 0 || !strings.Contains(text, "p99") {
		t.Fatalf("text report %q", text)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve after SIGTERM: %v", err)
	}
	if !strings.Contains(out.String(), "stopped") {
		t.Fatalf("no 'stopped' in %q", out)
	}
	if _, err := http.Get(url + "/health"); err == nil {
		t.Fatal("still answering after shutdown")
	}
}
