package pipeline

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/safetensors"
)

// bert-base-chinese's shapes: what the study plan loads (vocab 21128, hidden 768, 12
// layers × 12 heads, feed-forward 3072, 512 positions, MLM head and pooler).
func bertBaseChinese() llm.Config {
	return llm.Config{Arch: llm.BERT, VocabSize: 21128, DModel: 768, Heads: 12, Layers: 12, DFF: 3072, MaxPos: 512,
		TypeVocab: 2, LayerNormE: 1e-12, Activation: "gelu"}
}

// loadStats is what the child process measures.
type loadStats struct {
	FileMB       float64 `json:"file_mb"`
	BaseHWMMB    float64 `json:"base_hwm_mb"`    // peak RSS before loading (the test binary itself)
	LoadSeconds  float64 `json:"load_s"`         // llm.Load wall time
	LoadHWMMB    float64 `json:"load_hwm_mb"`    // peak RSS after llm.Load
	LoadRSSMB    float64 `json:"load_rss_mb"`    // RSS right after llm.Load
	FirstFwdMS   float64 `json:"first_fwd_ms"`   // first 64-token forward: graph compilation + run
	FwdMS        float64 `json:"fwd_ms"`         // median of the next runs
	ForwardHWMMB float64 `json:"forward_hwm_mb"` // peak RSS after the forwards
	SteadyRSSMB  float64 `json:"steady_rss_mb"`  // RSS after the forwards and a GC returning memory to the OS
}

// BenchmarkLoadBertBaseChinese writes a random model with bert-base-chinese's shapes
// (~410 MB, in a temporary directory, or reuses $DIVELLM_BERT_BASE_DIR), then, in a fresh
// child process so that peak memory is the loader's alone, measures llm.Load time, peak
// RSS (/proc/self/status VmHWM) and the latency of a 64-token forward pass — once with
// llm.Load and once with loadDirect, a ReadAt loader to compare with.
//
// Run: GOEXPERIMENT=simd go test -run '^$' -bench LoadBertBaseChinese -benchtime 1x ./llm/pipeline
func BenchmarkLoadBertBaseChinese(b *testing.B) {
	dir := os.Getenv("DIVELLM_BERT_BASE_DIR")
	if dir == "" || !fileExists(filepath.Join(dir, "model.safetensors")) {
		if dir == "" {
			dir = b.TempDir()
		}
		t0 := time.Now()
		m, err := llm.New(bertBaseChinese(), llm.HeadSet{MLM: true, Pooler: true}, 1)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Save(dir); err != nil {
			b.Fatal(err)
		}
		b.Logf("wrote %s in %.1fs", dir, time.Since(t0).Seconds())
	}
	for _, mode := range []string{"llm.Load", "direct-read"} {
		b.Run(mode, func(b *testing.B) { benchLoadChild(b, dir, mode) })
	}
}

// BenchmarkFinetuneBertBaseMemory fine-tunes the bert-base-chinese-shaped checkpoint of
// BenchmarkLoadBertBaseChinese ($DIVELLM_BERT_BASE_DIR, or a fresh one) on sequence
// classification for 3 steps of 8 × 64 tokens ($DIVELLM_FINETUNE_ROWS rows), in a child
// process, and reports its peak RSS against the weights: weights + gradients + AdamW's m
// and v + activations. Go's garbage collector keeps freed memory resident for a while;
// GOMEMLIMIT (e.g. 4.5× the weights) makes it return memory before RSS grows past it.
//
// Run: GOEXPERIMENT=simd go test -run '^$' -bench FinetuneBertBaseMemory -benchtime 1x ./llm/pipeline
func BenchmarkFinetuneBertBaseMemory(b *testing.B) {
	dir := os.Getenv("DIVELLM_BERT_BASE_DIR")
	if dir == "" || !fileExists(filepath.Join(dir, "model.safetensors")) {
		if dir == "" {
			dir = b.TempDir()
		}
		m, err := llm.New(bertBaseChinese(), llm.HeadSet{MLM: true, Pooler: true}, 1)
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Save(dir); err != nil {
			b.Fatal(err)
		}
	}
	benchLoadChild(b, dir, "finetune")
}

// benchLoadChild runs TestLoadBertBaseChild in a child process and reports its figures.
func benchLoadChild(b *testing.B, dir, mode string) {
	var st loadStats
	for range b.N {
		cmd := exec.Command(os.Args[0], "-test.run=^TestLoadBertBaseChild$", "-test.v")
		cmd.Env = append(os.Environ(), "DIVELLM_LOAD_CHILD="+dir, "DIVELLM_LOAD_MODE="+mode)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			b.Fatalf("child: %v\n%s", err, out.String())
		}
		found := false
		sc := bufio.NewScanner(&out)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "LOADSTATS "); ok {
				found = json.Unmarshal([]byte(line), &st) == nil
			}
		}
		if !found {
			b.Fatalf("child printed no stats:\n%s", out.String())
		}
	}
	b.StopTimer()
	b.ReportMetric(st.LoadSeconds, "load-s")
	b.ReportMetric(st.LoadHWMMB, "load-peak-MB")
	b.ReportMetric(st.LoadHWMMB/st.FileMB, "peak/file")
	b.ReportMetric(st.ForwardHWMMB, "fwd-peak-MB")
	b.ReportMetric(st.SteadyRSSMB, "steady-MB")
	b.ReportMetric(st.FwdMS, "fwd64-ms")
	b.ReportMetric(st.FirstFwdMS, "first-fwd64-ms")
	b.Logf("%+v", st)
}

// TestLoadBertBaseChild is the measuring half of BenchmarkLoadBertBaseChinese; it runs
// only in the child process.
func TestLoadBertBaseChild(t *testing.T) {
	dir := os.Getenv("DIVELLM_LOAD_CHILD")
	if dir == "" {
		t.Skip("runs only as BenchmarkLoadBertBaseChinese's child process")
	}
	fi, err := os.Stat(filepath.Join(dir, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	st := loadStats{FileMB: float64(fi.Size()) / 1e6, BaseHWMMB: procStatusMB(t, "VmHWM")}
	t0 := time.Now()
	load := llm.Load
	if os.Getenv("DIVELLM_LOAD_MODE") == "direct-read" {
		load = loadDirect
	}
	m, err := load(dir)
	if err != nil {
		t.Fatal(err)
	}
	st.LoadSeconds = time.Since(t0).Seconds()
	st.LoadHWMMB, st.LoadRSSMB = procStatusMB(t, "VmHWM"), procStatusMB(t, "VmRSS")
	if os.Getenv("DIVELLM_LOAD_MODE") == "finetune" {
		finetuneChild(t, m, &st)
		return
	}

	r := rand.New(rand.NewPCG(1, 2))
	ids := make([]int, 64)
	for i := range ids {
		ids[i] = r.IntN(m.Config.VocabSize)
	}
	batch := llm.Batch{IDs: [][]int{ids}}
	var times []float64
	for i := range 6 {
		t1 := time.Now()
		if _, err := m.Forward(batch, llm.ForwardOptions{}); err != nil {
			t.Fatal(err)
		}
		ms := float64(time.Since(t1).Microseconds()) / 1e3
		if i == 0 {
			st.FirstFwdMS = ms
		} else {
			times = append(times, ms)
		}
	}
	sort.Float64s(times)
	st.FwdMS = times[len(times)/2]
	st.ForwardHWMMB = procStatusMB(t, "VmHWM")
	debug.FreeOSMemory()
	st.SteadyRSSMB = procStatusMB(t, "VmRSS")
	runtime.KeepAlive(m) // the model must count in the steady state
	b, _ := json.Marshal(st)
	fmt.Printf("LOADSTATS %s\n", b)
}

// finetuneChild trains m as a 4-label classifier for 3 steps and prints the figures
// (FwdMS is the median step time, ForwardHWMMB the peak RSS of training).
func finetuneChild(t *testing.T, m *llm.Model, st *loadStats) {
	if err := m.AddClassifier([]string{"a", "b", "c", "d"}, 1); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	tb := &llm.TrainBatch{}
	rows := 8
	if v, err := strconv.Atoi(os.Getenv("DIVELLM_FINETUNE_ROWS")); err == nil && v > 0 {
		rows = v
	}
	for i := range rows {
		ids := make([]int, 64)
		for j := range ids {
			ids[j] = r.IntN(m.Config.VocabSize)
		}
		tb.IDs = append(tb.IDs, ids)
		tb.Classes = append(tb.Classes, i%4)
	}
	tr, err := m.NewTrainer(llm.TrainConfig{Objective: llm.Classification, Steps: 3, LR: 1e-5}, &oneBatch{tb}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var times []float64
	for range 3 {
		t1 := time.Now()
		if _, err := tr.Step(); err != nil {
			t.Fatal(err)
		}
		times = append(times, float64(time.Since(t1).Microseconds())/1e3)
	}
	sort.Float64s(times)
	st.FirstFwdMS, st.FwdMS = times[2], times[1]
	st.ForwardHWMMB = procStatusMB(t, "VmHWM")
	weightsMB := float64(m.Weights.Bytes()) / 1e6
	b, _ := json.Marshal(st)
	fmt.Printf("LOADSTATS %s\n", b)
	fmt.Printf("finetune: weights %.0f MB, peak RSS %.0f MB = %.2f× the weights, median step %.0f ms\n",
		weightsMB, st.ForwardHWMMB, st.ForwardHWMMB/weightsMB, st.FwdMS)
}

// oneBatch is a Source that repeats one batch.
type oneBatch struct{ tb *llm.TrainBatch }

func (o *oneBatch) Next() (*llm.TrainBatch, error) { return o.tb, nil }

// loadDirect is a comparison loader: it reads every F32 tensor with ReadAt straight into
// its final []float32 (no mapping, no conversion copy). Before commit 6242236, llm.Load
// kept the mapped pages, the converted slice and a second copy, and peaked at 2.4× the
// file; it now releases each tensor's pages after converting it (about 1.05×). ReadAt is
// still several times faster than converting from the mapping (page faults). Only for
// checkpoints written by llm.Model.Save (canonical names, F32).
func loadDirect(dir string) (*llm.Model, error) {
	c, err := llm.LoadConfig(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "model.safetensors")
	sf, err := safetensors.Open(path) // validates the header; data pages are not touched
	if err != nil {
		return nil, err
	}
	infos := sf.Infos()
	sf.Close()
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var n [8]byte
	if _, err := f.ReadAt(n[:], 0); err != nil {
		return nil, err
	}
	start := 8 + int64(binary.LittleEndian.Uint64(n[:]))
	ws := &llm.Weights{}
	for _, in := range infos {
		if in.DType != safetensors.F32 {
			return nil, fmt.Errorf("%s: %s is %s, this prototype reads F32 only", path, in.Name, in.DType)
		}
		data := make([]float32, (in.End-in.Begin)/4)
		if len(data) > 0 {
			buf := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(data))), in.End-in.Begin)
			if _, err := f.ReadAt(buf, start+int64(in.Begin)); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", path, in.Name, err)
			}
		}
		if err := ws.Set(in.Name, in.Shape, data); err != nil {
			return nil, err
		}
	}
	return &llm.Model{Config: c, Weights: ws}, nil
}

// procStatusMB reads a "kB" field of /proc/self/status, in MB.
func procStatusMB(t *testing.T, field string) float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			var kb float64
			fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb)
			return kb * 1024 / 1e6
		}
	}
	t.Fatalf("no %s in /proc/self/status", field)
	return 0
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
