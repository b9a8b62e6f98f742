package week4

import (
	"math"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/divellm/divellm/lessons/exercise"
	"github.com/divellm/divellm/llm/serve/loadtest"
)

func TestParseMetrics(t *testing.T) {
	text := `# HELP divellm_requests_total HTTP requests.
# TYPE divellm_requests_total counter
divellm_requests_total{code="200",route="/v1/completions"} 3
divellm_requests_total{code="400",route="/v1/completions"} 1
divellm_requests_total{code="200",route="/v1/chat,completions"} 2
divellm_step_duration_seconds_sum 0.5
divellm_step_duration_seconds_count 4
divellm_queue_length 0
go_goroutines 12 1700000000
`
	m, err := ParseMetrics(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Sum("divellm_requests_total"); got != 6 {
		t.Errorf("sum of requests = %g, want 6", got)
	}
	if got := m.Sum("divellm_requests_total", "code", "200"); got != 5 {
		t.Errorf("200s = %g, want 5", got)
	}
	if got := m.Sum("divellm_requests_total", "route", "/v1/chat,completions"); got != 2 {
		t.Errorf("label with a comma: %g", got)
	}
	if got := m.Mean("divellm_step_duration_seconds"); got != 0.125 {
		t.Errorf("mean step = %g", got)
	}
	if got := m.Sum("go_goroutines"); got != 12 {
		t.Errorf("value with a timestamp: %g", got)
	}
	if len(m.Rows()) != 6 {
		t.Errorf("rows %v", m.Rows())
	}
	after, _ := ParseMetrics(strings.NewReader("divellm_step_duration_seconds_sum 0.9\ndivellm_step_duration_seconds_count 10\ndivellm_step_batch_size_sum 64\n"))
	before, _ := ParseMetrics(strings.NewReader("divellm_step_duration_seconds_sum 0.5\ndivellm_step_duration_seconds_count 6\ndivellm_step_batch_size_sum 16\n"))
	if ms, b, n := StepStats(before, after); math.Abs(ms-100) > 1e-9 || b != 12 || n != 4 {
		t.Errorf("StepStats = %g ms, batch %g, %d steps", ms, b, n)
	}
	if _, err := ParseMetrics(strings.NewReader("bad{line 1\n")); err == nil {
		t.Error("a broken line was accepted")
	}
}

// refSSE, refP95 and refGain are correct answers; the wrong ones are the usual mistakes.
func refSSE(stream string) []string {
	var out []string
	_ = loadtest.ParseSSE(strings.NewReader(stream), func(d string) error { out = append(out, d); return nil })
	return out
}

func TestCheckParseSSE(t *testing.T) {
	if r := CheckParseSSE(refSSE); r.Status != exercise.Passed {
		t.Fatalf("reference failed:\n%s", r)
	}
	if r := CheckParseSSE(func(string) []string { return nil }); r.Status != exercise.NotDone {
		t.Fatalf("stub: %v", r.Status)
	}
	naive := func(s string) []string { // split on "data: ": misses "data:x", CRLF, multi-line, …
		var out []string
		for _, part := range strings.Split(s, "data: ")[1:] {
			out = append(out, strings.TrimSpace(part))
		}
		return out
	}
	if r := CheckParseSSE(naive); r.Status != exercise.Failed || r.Hint == "" {
		t.Fatalf("naive parser: %v\n%s", r.Status, r)
	}
}

func TestCheckPercentile(t *testing.T) {
	ref := func(xs []float64) float64 { return loadtest.Percentile(xs, 95) }
	if r := CheckPercentile(ref); r.Status != exercise.Passed {
		t.Fatalf("reference failed:\n%s", r)
	}
	if r := CheckPercentile(func([]float64) float64 { return 0 }); r.Status != exercise.NotDone {
		t.Fatalf("stub: %v", r.Status)
	}
	floorRank := func(xs []float64) float64 { // int(0.95·n) as an index: one too high
		s := append([]float64(nil), xs...)
		sort.Float64s(s)
		return s[min(int(0.95*float64(len(s))), len(s)-1)]
	}
	inPlace := func(xs []float64) float64 { // right value, but sorts the caller's slice
		sort.Float64s(xs)
		return xs[int(math.Ceil(0.95*float64(len(xs))))-1]
	}
	for name, f := range map[string]func([]float64) float64{"floor rank": floorRank, "in place": inPlace} {
		if r := CheckPercentile(f); r.Status != exercise.Failed {
			t.Errorf("%s: %v\n%s", name, r.Status, r)
		}
	}
}

func TestCheckBatchGain(t *testing.T) {
	if r := CheckBatchGain(func(t1, tb float64, b int) float64 { return float64(b) * t1 / tb }); r.Status != exercise.Passed {
		t.Fatalf("reference failed:\n%s", r)
	}
	if r := CheckBatchGain(func(float64, float64, int) float64 { return 0 }); r.Status != exercise.NotDone {
		t.Fatal("stub")
	}
	if r := CheckBatchGain(func(t1, tb float64, b int) float64 { return tb / t1 }); r.Status != exercise.Failed {
		t.Fatal("inverse ratio passed")
	}
}

func TestTensorParallel(t *testing.T) {
	r, err := TensorParallel(3, 70, 50, 1)
	if err != nil {
		t.Fatal(err)
	}
	if r.ColumnMaxDiff != 0 {
		t.Errorf("column split differs by %g: each output is the same dot product", r.ColumnMaxDiff)
	}
	if r.RowMaxDiff > 1e-4 {
		t.Errorf("row split differs by %g", r.RowMaxDiff)
	}
	if h, rows := r.Rows(); len(rows) != 3 || len(h) != len(rows[0]) {
		t.Errorf("table %v %v", h, rows)
	}
	if _, err := TensorParallel(0, 1, 1, 1); err == nil {
		t.Error("bad sizes accepted")
	}
}

func TestPipelineParallel(t *testing.T) {
	p, err := PipelineParallel(4, 24, 12, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	if p.MaxDiff != 0 {
		t.Errorf("pipelined output differs by %g", p.MaxDiff)
	}
	g := p.Schedule()
	if len(g) != 2 || len(g[0]) != 5 || g[0][4] != 0 || g[1][0] != 0 || g[1][4] != 4 || math.Abs(p.Bubble-0.2) > 1e-12 {
		t.Errorf("schedule %v bubble %g", g, p.Bubble)
	}
	if err := p.ScheduleChart().Err(); err != nil {
		t.Error(err)
	}
}

func TestSweepTableAndCharts(t *testing.T) {
	reps := []*loadtest.Report{
		{Concurrency: 1, TokensPerSec: 100, LatencyMS: loadtest.Summary{P50: 10, P90: 12, P95: 13, P99: 15}},
		{Concurrency: 4, TokensPerSec: 300, LatencyMS: loadtest.Summary{P50: 14, P90: 16, P95: 18, P99: 25}, TTFTMS: &loadtest.Summary{P50: 2, P99: 5}},
	}
	h, rows := SweepTable(reps)
	if len(rows) != 2 || len(rows[1]) != len(h) || rows[1][2] != "300" || rows[1][6] != "2.0" || rows[0][6] != "–" {
		t.Fatalf("table %v", rows)
	}
	tp, lat := SweepCharts(reps)
	if tp.Err() != nil || lat.Err() != nil || Compare([]string{"a", "b"}, reps).Err() != nil {
		t.Fatal(tp.Err(), lat.Err())
	}
	if Gain(reps[0], reps[1]) != 3 {
		t.Fatal("gain")
	}
}

// TestStartFindsOrReplaces runs the real `divellm serve`: a second Start with the same
// options reuses the process, other options replace it (the old one exits), Stop ends it.
func TestStartFindsOrReplaces(t *testing.T) {
	if testing.Short() {
		t.Skip("starts divellm serve")
	}
	const name = "week4-test"
	_ = StopAll(name)
	s1, err := Start(Options{Name: name, MaxBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = StopAll(name) }()
	if s1.Reused || !alive(s1.PID) {
		t.Fatalf("first start %+v", s1)
	}
	if r, err := Running(name); err != nil || r.PID != s1.PID {
		t.Fatalf("Running: %+v %v", r, err)
	}
	s2, err := Start(Options{Name: name, MaxBatch: 2})
	if err != nil || !s2.Reused || s2.PID != s1.PID || s2.URL != s1.URL {
		t.Fatalf("same options: %+v, %v (first %+v)", s2, err, s1)
	}
	m, err := ReadMetrics(s2.URL)
	if err != nil || m.Sum("divellm_kv_cache_slots") != 2 {
		t.Fatalf("metrics of the running server: %v, slots %g", err, m.Sum("divellm_kv_cache_slots"))
	}
	s3, err := Start(Options{Name: name, MaxBatch: 1})
	if err != nil || s3.Reused || s3.PID == s1.PID {
		t.Fatalf("other options: %+v, %v", s3, err)
	}
	if alive(s1.PID) {
		t.Fatalf("the replaced server %d still runs", s1.PID)
	}
	if err := s3.Stop(); err != nil {
		t.Fatal(err)
	}
	if alive(s3.PID) {
		t.Fatal("the server still runs after Stop")
	}
	if found, _ := Find(name); found != nil {
		t.Fatalf("record left after Stop: %+v", found)
	}
	if _, err := Running(name); err == nil {
		t.Fatal("Running found a stopped server")
	}
	if _, err := http.Get(s3.URL + "/health"); err == nil {
		t.Fatal("the port still answers")
	}
	if _, err := os.Stat(s3.Log); err != nil {
		t.Fatal("no log file")
	}
}

// TestNewerSource: the binary counts as stale when a Go source, go.mod or an assembly file
// changed after it was built, not when tests, notebooks or hidden directories did.
func TestNewerSource(t *testing.T) {
	root := t.TempDir()
	built := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	file := func(rel string, mod time.Time) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	before, after := built.Add(-time.Hour), built.Add(time.Hour)
	file("go.mod", before)
	file("llm/serve/server.go", before)
	file("llm/serve/server_test.go", after)
	file("notebooks/src/week4.go", after)
	file(".git/x.go", after)
	file("llm/quant/gemm/kernel_amd64.s", before)
	if newerSource(root, built) {
		t.Fatal("stale although only tests, notebooks and .git changed")
	}
	for _, rel := range []string{"cmd/divellm/serve.go", "go.sum", "llm/quant/gemm/kernel_amd64.s"} {
		file(rel, after)
		if !newerSource(root, built) {
			t.Fatalf("not stale after %s changed", rel)
		}
		file(rel, before)
	}
}
