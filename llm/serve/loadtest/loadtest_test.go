package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestPercentileNearestRank: hand-worked nearest-rank values.
func TestPercentileNearestRank(t *testing.T) {
	xs := []float64{15, 20, 35, 40, 50} // the textbook example
	for p, want := range map[float64]float64{5: 15, 30: 20, 40: 20, 50: 35, 95: 50, 100: 50} {
		if got := Percentile(xs, p); got != want {
			t.Errorf("p%g = %g, want %g", p, got, want)
		}
	}
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i) // unsorted input
	}
	if Percentile(hundred, 95) != 95 || Percentile(hundred, 99) != 99 || hundred[0] != 100 {
		t.Errorf("1..100: p95 %g p99 %g (input changed: %v)", Percentile(hundred, 95), Percentile(hundred, 99), hundred[0] != 100)
	}
	if !math.IsNaN(Percentile(nil, 50)) || !math.IsNaN(Percentile(xs, 0)) {
		t.Error("no values or p = 0 should be NaN")
	}
	s := Summarize([]float64{1, 2, 3, 4})
	if s.Mean != 2.5 || s.P50 != 2 || s.Max != 4 {
		t.Errorf("Summarize %+v", s)
	}
}

// TestParseSSE: data lines, multi-line data, comments, other fields, CRLF, a last event
// without its blank line.
func TestParseSSE(t *testing.T) {
	stream := ": keep-alive\n\ndata: {\"a\":1}\n\nevent: x\ndata:two\ndata: lines\nid: 7\n\r\ndata: [DONE]\r\n\r\ndata: tail"
	var got []string
	if err := ParseSSE(strings.NewReader(stream), func(d string) error { got = append(got, d); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{`{"a":1}`, "two\nlines", "[DONE]", "tail"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

// fake is an OpenAI-style server that generates `tokens` tokens per request, streamed or
// not, and answers 429 to every fifth request.
func fake(tokens int, slow time.Duration) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%5 == 0 {
			http.Error(w, `{"error":{}}`, 429)
			return
		}
		var req struct {
			Stream bool `json:"stream"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		time.Sleep(slow)
		usage := fmt.Sprintf(`{"prompt_tokens":3,"completion_tokens":%d,"total_tokens":%d}`, tokens, tokens+3)
		if !req.Stream {
			fmt.Fprintf(w, `{"choices":[{"text":"x"}],"usage":%s}`, usage)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for range tokens {
			fmt.Fprint(w, "data: {\"choices\":[{\"text\":\"x\"}]}\n\n")
		}
		fmt.Fprintf(w, "data: {\"choices\":[],\"usage\":%s}\n\ndata: [DONE]\n\n", usage)
	})), &n
}

// TestRunCountsRequests: a count-bounded run sends exactly that many requests, counts
// tokens from usage, names the errors and measures TTFT when streaming.
func TestRunCountsRequests(t *testing.T) {
	for _, stream := range []bool{false, true} {
		ts, n := fake(7, 0)
		rep, err := Run(context.Background(), Options{URL: ts.URL, Concurrency: 3, Requests: 20, Stream: stream})
		ts.Close()
		if err != nil {
			t.Fatal(err)
		}
		if n.Load() != 20 || rep.Requests != 20 || rep.Errors != 4 || rep.ErrorKinds["429"] != 4 || rep.CompletionTokens != 16*7 {
			t.Fatalf("stream %v: sent %d, report %+v", stream, n.Load(), rep)
		}
		if (rep.TTFTMS != nil) != stream || rep.TokensPerSec <= 0 || rep.LatencyMS.P99 < rep.LatencyMS.P50 {
			t.Fatalf("stream %v: %+v", stream, rep)
		}
	}
}

// TestRunStopsAtDuration: a duration-bounded run against a slow server stops sending when
// time is up, and requests cut short by the end are not counted as errors.
func TestRunStopsAtDuration(t *testing.T) {
	ts, n := fake(1, 20*time.Millisecond)
	defer ts.Close()
	rep, err := Run(context.Background(), Options{URL: ts.URL, Concurrency: 2, Duration: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests == 0 || int64(rep.Requests) > n.Load() || rep.ErrorKinds["cancelled"] != 0 {
		t.Fatalf("sent %d, report %+v", n.Load(), rep)
	}
	if _, err := Run(context.Background(), Options{URL: ts.URL, Concurrency: 1}); err == nil {
		t.Fatal("an unbounded run was accepted")
	}
}

// TestRunCountsCutOffTokens: when a duration ends during streamed requests, the tokens
// they had received count in tokens/s (as cut_off_tokens), not as completion tokens of
// finished requests. The fake sends 3 chunks and then holds the stream open until the
// client goes away, so every request is cut off with exactly 3 tokens received.
func TestRunCountsCutOffTokens(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for range 3 {
			fmt.Fprint(w, "data: {\"choices\":[{\"text\":\"x\"}]}\n\n")
		}
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer ts.Close()
	// A guard, not a budget: the 3 chunks arrive in microseconds on any machine.
	rep, err := Run(context.Background(), Options{URL: ts.URL, Concurrency: 2, Duration: 3 * time.Second, Stream: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 0 || rep.CompletionTokens != 0 || rep.CutOffTokens != 2*3 || rep.Errors != 0 {
		t.Fatalf("report %+v, want no finished request and 6 cut-off tokens", rep)
	}
	if want := 6 / rep.Seconds; math.Abs(rep.TokensPerSec-want) > 1e-9*want {
		t.Fatalf("tokens/s %g, want %g (cut-off tokens over the run's seconds)", rep.TokensPerSec, want)
	}
}
