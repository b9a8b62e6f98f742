package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/divellm/divellm/internal/fileio"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/backend"
	"github.com/divellm/divellm/llm/quant"
	"github.com/divellm/divellm/llm/quant/gemm"
	"github.com/divellm/divellm/llm/quant/qmodel"
	"github.com/divellm/divellm/llm/tokenizer"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

func init() {
	defineSub("bench", &command{name: "quant", summary: "time fp32 vs int8/int4 matrix products (or --decode, or --perplexity of each format)",
		usage: "[--shapes MxKxN,…] | --decode [--model MODEL] | --perplexity --model MODEL --data FILE", run: benchQuant})
}

// quantShapes are the week-3 shapes, M×K activations times a K×N weight: one GPT-2 token
// through the MLP's up and down projections, then a batch of 32 tokens.
const quantShapes = "1x768x3072,1x3072x768,32x768x3072,32x3072x768"

// quantRow is one line of `divellm bench quant --json`. The first four keys are the
// contract with bench/quant_vs_torch.sh.
type quantRow struct {
	Shape   string  `json:"shape"`   // "[MxK]x[KxN]"
	FP32    float64 `json:"fp32_ms"` // own float32 FMA kernel, median ms
	Int8    float64 `json:"int8_ms"` // dynamic W8A8 (activation quantization included)
	Speedup float64 `json:"speedup"` // fp32_ms / int8_ms

	WOInt8  float64  `json:"wo_int8_ms"`              // int8 weights, float32 activations
	Int4    float64  `json:"int4_ms"`                 // int4 group-32 weights, float32 activations
	W4A8    float64  `json:"w4a8_ms"`                 // int4 group-32 weights, dynamic int8 activations
	GoMLX   *float64 `json:"gomlx_fp32_ms,omitempty"` // GoMLX graph.Dot on the Go backend
	Int8SNR float64  `json:"int8_snr_db"`             // W8A8 output vs float32, dB
	Int4SNR float64  `json:"int4_snr_db"`             // int4 output vs float32, dB
	W4A8SNR float64  `json:"w4a8_snr_db"`             // w4a8 output vs float32, dB
	FP32Min float64  `json:"fp32_min_ms"`             // fastest run: closer to the unloaded machine's speed when other processes compete
	Int8Min float64  `json:"int8_min_ms"`
	M       int      `json:"m"`
	K       int      `json:"k"`
	N       int      `json:"n"`
	Reps    int      `json:"reps"`
	Impl    string   `json:"impl"`    // gemm implementation (avx512+vnni, avx2, go)
	Threads int      `json:"threads"` // GOMAXPROCS
}

func benchQuant(c *cmdCtx) (any, error) {
	shapesFlag := c.String("shapes", quantShapes, "comma-separated MxKxN shapes")
	minTime := c.Duration("time", 400*time.Millisecond, "minimum measuring time per shape")
	minReps := c.Int("reps", 15, 1, 1_000_000, "minimum timed repetitions per kernel (the median is reported)")
	withGoMLX := c.Bool("gomlx", true, "also time GoMLX's graph.Dot on the Go backend")
	implName := c.String("impl", "", "force a gemm implementation: "+strings.Join(gemm.Impls(), ", "))
	decode := c.Bool("decode", false, "time GPT decoding (tokens/s) in fp32, int8, wo-int8 and int4 instead")
	modelName := c.String("model", "", "with --decode or --perplexity: "+modelUsage+" (--decode default: random weights shaped like GPT-2 small)")
	tokens := c.Int("tokens", 32, 1, maxNewTokens, "with --decode: tokens to generate after an 8-token prompt")
	ppl := c.Bool("perplexity", false, "evaluate perplexity of --model on --data in every format, RTN and GPTQ, instead")
	data := c.String("data", "", "with --perplexity: UTF-8 text to evaluate on")
	c.Alias("corpus", "data")
	calibFile := c.String("calib", "", "with --perplexity: GPTQ calibration text (default: the first --calib-tokens tokens of --data, excluded from the evaluation)")
	calibTokens := c.Int("calib-tokens", 4096, 16, 10_000_000, "with --perplexity: calibration tokens for GPTQ")
	window := c.Int("window", 0, 0, llm.MaxPositions, "with --perplexity: tokens per window (0 = the sequence length the checkpoint was trained on, from its train_result.json, else its positions)")
	evalTokens := c.Int("eval-tokens", 20000, 16, 100_000_000, "with --perplexity: evaluate at most this many tokens")
	c.Alias("max-tokens", "eval-tokens")
	rest, err := c.Parse()
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, usagef("unexpected argument %q", rest[0])
	}
	if *implName != "" {
		prev, err := gemm.SetImpl(*implName)
		if err != nil {
			return nil, usagef("%v", err)
		}
		defer gemm.SetImpl(prev)
	}
	if *ppl {
		if *modelName == "" || *data == "" {
			return nil, usagef("--perplexity needs --model MODEL and --data FILE")
		}
		return benchPerplexity(*modelName, *data, *calibFile, *calibTokens, *evalTokens, *window)
	}
	if *decode {
		return benchDecode(*modelName, *tokens)
	}
	shapes, err := parseShapes(*shapesFlag)
	if err != nil {
		return nil, err
	}
	for _, sh := range shapes {
		m, k, n := float64(sh[0]), float64(sh[1]), float64(sh[2])
		// x and W in float32 plus their quantized copies, and six outputs.
		if err := checkMemory(fmt.Sprintf("the %dx%dx%d product", sh[0], sh[1], sh[2]), 4*(2*m*k+3*k*n+6*m*n), "--shapes"); err != nil {
			return nil, err
		}
	}
	var rows quantRows
	for _, s := range shapes {
		r, err := benchQuantShape(s[0], s[1], s[2], *minReps, *minTime, *withGoMLX)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// quantRows is the result of `divellm bench quant`: one row per shape.
type quantRows []quantRow

func (rows quantRows) writeText(w io.Writer) error {
	if len(rows) == 0 {
		return nil
	}
	reps := rows[0].Reps
	for _, r := range rows {
		reps = min(reps, r.Reps)
	}
	fmt.Fprintf(w, "y = x·Wᵀ, median of ≥%d runs, %s, %d threads (ms; speedup = fp32/int8)\n", reps, rows[0].Impl, rows[0].Threads)
	fmt.Fprintf(w, "%-20s %9s %9s %8s %10s %9s %9s %11s %9s %9s\n", "shape", "fp32", "int8", "speedup", "wo-int8", "int4-g32", "w4a8-g32", "gomlx-fp32", "int8 SNR", "int4 SNR")
	for _, r := range rows {
		g := "-"
		if r.GoMLX != nil {
			g = fmt.Sprintf("%.3f", *r.GoMLX)
		}
		fmt.Fprintf(w, "%-20s %9.3f %9.3f %7.2f× %10.3f %9.3f %9.3f %11s %7.1fdB %7.1fdB\n", r.Shape, r.FP32, r.Int8, r.Speedup, r.WOInt8, r.Int4, r.W4A8, g, r.Int8SNR, r.Int4SNR)
	}
	return nil
}

// maxShapeMACs bounds M·K·N of one --shapes entry (GPT-2 small's largest layer on 32
// tokens is 7.5e7): larger products would run for hours.
const maxShapeMACs = 1 << 31

// parseShapes parses "1x768x3072,32x768x3072" into [M, K, N] triples.
func parseShapes(s string) ([][3]int, error) {
	var out [][3]int
	for _, f := range strings.Split(s, ",") {
		parts := strings.Split(strings.TrimSpace(f), "x")
		if len(parts) != 3 {
			return nil, usagef("--shapes: %q is not MxKxN", f)
		}
		var v [3]int
		for i, p := range parts {
			n, err := strconv.Atoi(p)
			if err != nil || n <= 0 || n > 1<<14 {
				return nil, usagef("--shapes: %q has a bad dimension %q", f, p)
			}
			v[i] = n
		}
		if v[0]*v[1]*v[2] > maxShapeMACs {
			return nil, usagef("--shapes: %q is %d multiply-adds per product, more than the %d a benchmark run times (each kernel runs at least --reps times)", f, v[0]*v[1]*v[2], maxShapeMACs)
		}
		out = append(out, v)
	}
	return out, nil
}

// timer collects the durations of one kernel.
type timer struct {
	name string
	run  func() error
	ms   []float64
}

// once records one sample: an untimed call that brings this kernel's weights back into
// the caches (the other kernels ran in between), then the timed call. PyTorch's side
// (bench/torch_quant.py) samples the same way.
func (t *timer) once() error {
	if err := t.run(); err != nil {
		return fmt.Errorf("%s: %w", t.name, err)
	}
	start := time.Now()
	if err := t.run(); err != nil {
		return fmt.Errorf("%s: %w", t.name, err)
	}
	t.ms = append(t.ms, float64(time.Since(start).Nanoseconds())/1e6)
	return nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// round4 rounds a duration in ms to 4 significant digits.
func round4(v float64) float64 {
	if v <= 0 {
		return v
	}
	p := math.Pow(10, 3-math.Floor(math.Log10(v)))
	return math.Round(v*p) / p
}

func benchQuantShape(m, k, n, minReps int, minTime time.Duration, withGoMLX bool) (quantRow, error) {
	rng := rand.New(rand.NewPCG(uint64(m*k), uint64(n)))
	w, x, bias := make([]float32, n*k), make([]float32, m*k), make([]float32, n)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.02)
	}
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	for i := range bias {
		bias[i] = float32(rng.NormFloat64() * 0.02)
	}
	f32, err := gemm.NewF32(w, n, k, bias)
	if err != nil {
		return quantRow{}, err
	}
	q8, err := quant.Quantize(w, n, k, quant.Int8)
	if err != nil {
		return quantRow{}, err
	}
	w8a8, err := quant.NewW8A8(q8, bias)
	if err != nil {
		return quantRow{}, err
	}
	wo8, err := quant.NewWeightOnly(q8, bias)
	if err != nil {
		return quantRow{}, err
	}
	s4 := quant.Int4Group32
	if k%32 != 0 {
		s4 = quant.Scheme{Bits: 4}
	}
	q4, err := quant.Quantize(w, n, k, s4)
	if err != nil {
		return quantRow{}, err
	}
	wo4, err := quant.NewWeightOnly(q4, bias)
	if err != nil {
		return quantRow{}, err
	}
	var w4a8 quant.Linear = wo4 // groups that are not a multiple of 8 fall back to weight-only
	if k%8 == 0 {
		if w4a8, err = quant.NewW4A8(q4, bias); err != nil {
			return quantRow{}, err
		}
	}
	yF, y8, yW, y4, y48 := make([]float32, m*n), make([]float32, m*n), make([]float32, m*n), make([]float32, m*n), make([]float32, m*n)
	timers := []*timer{
		{name: "fp32", run: func() error { return f32.Forward(yF, x, m) }},
		{name: "int8", run: func() error { return w8a8.Forward(y8, x, m) }},
		{name: "wo-int8", run: func() error { return wo8.Forward(yW, x, m) }},
		{name: "int4", run: func() error { return wo4.Forward(y4, x, m) }},
		{name: "w4a8", run: func() error { return w4a8.Forward(y48, x, m) }},
	}
	if withGoMLX {
		g, err := gomlxDot(w, x, m, k, n)
		if err != nil {
			return quantRow{}, err
		}
		timers = append(timers, g)
	}
	// Warm up (caches, goroutines, GoMLX compilation), then interleave the kernels so a
	// busy neighbour slows all of them alike; each sample is a warm call (see once).
	for _, t := range timers {
		for range 3 {
			if err := t.once(); err != nil {
				return quantRow{}, err
			}
		}
		t.ms = t.ms[:0]
	}
	start := time.Now()
	reps := 0
	for reps < minReps || (time.Since(start) < minTime && reps < 2000) {
		for _, t := range timers {
			if err := t.once(); err != nil {
				return quantRow{}, err
			}
		}
		reps++
	}
	snr := func(y []float32) float64 {
		c, _ := quant.Compare(yF, y)
		return math.Round(c.SNR*10) / 10
	}
	r := quantRow{
		Shape: fmt.Sprintf("[%dx%d]x[%dx%d]", m, k, k, n), M: m, K: k, N: n, Reps: reps,
		FP32: round4(median(timers[0].ms)), Int8: round4(median(timers[1].ms)),
		WOInt8: round4(median(timers[2].ms)), Int4: round4(median(timers[3].ms)), W4A8: round4(median(timers[4].ms)),
		Int8SNR: snr(y8), Int4SNR: snr(y4), W4A8SNR: snr(y48), Impl: gemm.Impl(), Threads: runtime.GOMAXPROCS(0),
	}
	r.FP32Min, r.Int8Min = round4(slices.Min(timers[0].ms)), round4(slices.Min(timers[1].ms))
	r.Speedup = math.Round(median(timers[0].ms)/median(timers[1].ms)*100) / 100
	if withGoMLX {
		g := round4(median(timers[5].ms))
		r.GoMLX = &g
	}
	return r, nil
}

// gomlxDot returns a timer for y = x·W with GoMLX's graph.Dot on the shared Go backend
// (W pre-transposed to [K, N], as a GoMLX model stores it).
func gomlxDot(w, x []float32, m, k, n int) (*timer, error) {
	var t *timer
	err := backend.Catch(func() error {
		be, err := backend.Get()
		if err != nil {
			return err
		}
		wt := make([]float32, k*n)
		for r := 0; r < n; r++ {
			for j := 0; j < k; j++ {
				wt[j*n+r] = w[r*k+j]
			}
		}
		xt := tensors.FromFlatDataAndDimensions(x, m, k)
		wT := tensors.FromFlatDataAndDimensions(wt, k, n)
		exec, err := graph.NewExec(be, func(a, b *graph.Node) *graph.Node { return graph.DotProduct(a, b) })
		if err != nil {
			return err
		}
		t = &timer{name: "gomlx", run: func() error {
			return backend.Catch(func() error {
				res, err := exec.Exec(xt, wT)
				if err != nil {
					return err
				}
				for _, r := range res {
					r.FinalizeAll()
				}
				return nil
			})
		}}
		return nil
	})
	return t, err
}

// decodeRow is one line of `divellm bench quant --decode --json`.
type decodeRow struct {
	Model     string  `json:"model"`
	Format    string  `json:"format"`
	TokensPS  float64 `json:"tokens_per_s"` // generated tokens per second (greedy, KV cache)
	MsPerTok  float64 `json:"ms_per_token"` // median time of one decode step
	WeightsMB float64 `json:"weights_mb"`   // linear layers + LM head as the kernels hold them
	Tokens    int     `json:"tokens"`
	Impl      string  `json:"impl"`
	Threads   int     `json:"threads"`
}

// gpt2Small is GPT-2 small's shape (124M parameters), for timing with random weights.
var gpt2Small = llm.Config{Arch: llm.GPT, VocabSize: 50257, DModel: 768, Heads: 12, Layers: 12, DFF: 3072,
	MaxPos: 1024, LayerNormE: 1e-5, Activation: "gelu_new", BosID: 50256, EosID: 50256}

// decodeRows is the result of `divellm bench quant --decode`.
type decodeRows []decodeRow

func (rows decodeRows) writeText(w io.Writer) error {
	if len(rows) == 0 {
		return nil
	}
	r0 := rows[0]
	fmt.Fprintf(w, "GPT decode, %s: %d tokens after an 8-token prompt, KV cache, %s, %d threads\n", r0.Model, r0.Tokens, r0.Impl, r0.Threads)
	fmt.Fprintf(w, "%-8s %10s %12s %11s\n", "format", "tokens/s", "ms/token", "weights MB")
	for _, r := range rows {
		fmt.Fprintf(w, "%-8s %10.1f %12.3f %11.1f\n", r.Format, r.TokensPS, r.MsPerTok, r.WeightsMB)
	}
	return nil
}

// benchDecode times greedy decoding with the plain-Go GPT in every format.
func benchDecode(model string, tokens int) (any, error) {
	var m *llm.Model
	var err error
	name := model
	if model == "" {
		name = "random gpt2-small shape"
		m, err = llm.New(gpt2Small, llm.HeadSet{}, 1)
	} else {
		m, err = loadModelAny(model)
	}
	if err != nil {
		return nil, err
	}
	if err := needArch(m, model, llm.GPT, "bench quant --decode", "decoding needs a GPT"); err != nil {
		return nil, err
	}
	prompt := []int{m.Config.BosID % m.Config.VocabSize, 1, 2, 3, 4, 5, 6, 7}
	if len(prompt)+tokens > m.Config.MaxPos {
		return nil, usagef("--tokens %d: prompt + tokens exceed the model's %d positions", tokens, m.Config.MaxPos)
	}
	var rows decodeRows
	for _, f := range qmodel.Formats {
		d, err := qmodel.TimeDecode(m, f, prompt, tokens)
		if err != nil {
			return nil, err
		}
		rows = append(rows, decodeRow{Model: name, Format: string(f), TokensPS: math.Round(d.TokensPerSecond()*10) / 10,
			MsPerTok: round4(median(d.StepMs)), WeightsMB: round4(float64(d.Bytes) / 1e6), Tokens: tokens,
			Impl: gemm.Impl(), Threads: runtime.GOMAXPROCS(0)})
	}
	return rows, nil
}

// pplRow is one line of `divellm bench quant --perplexity --json`.
type pplRow struct {
	Model       string  `json:"model"`
	Format      string  `json:"format"`
	Method      string  `json:"method"` // rtn or gptq ("-" for fp32)
	Perplexity  float64 `json:"perplexity"`
	WeightsMB   float64 `json:"weights_mb"`
	EvalTokens  int     `json:"eval_tokens"`
	CalibTokens int     `json:"calib_tokens"`
	Window      int     `json:"window"` // tokens per perplexity window
}

// trainedSeqLen is the sequence length a checkpoint was pretrained on (seq_len in the
// train_result.json divellm pretrain writes), or def when the record is missing or does not
// say: positions a model never trained on make its perplexity meaningless, so windows
// longer than its training sequences would measure noise instead of quantization error.
func trainedSeqLen(dir string, def int) int {
	b, err := fileio.ReadFile(filepath.Join(dir, "train_result.json"), 1<<20)
	if err != nil {
		return def
	}
	var r struct {
		SeqLen int `json:"seq_len"`
	}
	if json.Unmarshal(b, &r) != nil || r.SeqLen < 2 || r.SeqLen > def {
		return def
	}
	return r.SeqLen
}

// pplRows is the result of `divellm bench quant --perplexity`.
type pplRows []pplRow

func (rows pplRows) writeText(w io.Writer) error {
	if len(rows) == 0 {
		return nil
	}
	r0 := rows[0]
	fmt.Fprintf(w, "perplexity of %s on %d tokens (windows of %d); int4 = groups of 32; GPTQ with act-order, calibrated on %d tokens; LM head RTN in the row's format\n", r0.Model, r0.EvalTokens, r0.Window, r0.CalibTokens)
	fmt.Fprintf(w, "%-8s %-6s %11s %11s\n", "format", "method", "perplexity", "weights MB")
	for _, r := range rows {
		fmt.Fprintf(w, "%-8s %-6s %11.3f %11.3f\n", r.Format, r.Method, r.Perplexity, r.WeightsMB)
	}
	return nil
}

// benchPerplexity compares the perplexity of a GPT checkpoint in every format, with
// round-to-nearest and, for int4, GPTQ calibrated on separate text.
func benchPerplexity(model, dataPath, calibPath string, calibTokens, maxTokens, window int) (any, error) {
	text, err := readTextFile("data", dataPath)
	if err != nil {
		return nil, err
	}
	m, err := loadModel(model)
	if err != nil {
		return nil, err
	}
	if err := needArch(m, model, llm.GPT, "bench quant --perplexity", "it measures a causal LM"); err != nil {
		return nil, err
	}
	dir, err := resolveModel("model", model)
	if err != nil {
		return nil, err
	}
	ids := tokenizer.IDs(m.Tokenizer.Encode(text))
	var calib []int
	if calibPath != "" {
		ct, err := readTextFile("calib", calibPath)
		if err != nil {
			return nil, err
		}
		calib = tokenizer.IDs(m.Tokenizer.Encode(ct))
		calib = calib[:min(len(calib), calibTokens)]
	} else {
		if len(ids) < calibTokens+16 {
			return nil, usagef("--data has %d tokens: too few to keep %d for calibration (pass --calib FILE)", len(ids), calibTokens)
		}
		calib, ids = ids[:calibTokens], ids[calibTokens:]
	}
	ids = ids[:min(len(ids), maxTokens)]
	if len(ids) < 2 {
		return nil, usagef("--data has fewer than 2 tokens to evaluate")
	}
	if window == 0 {
		window = trainedSeqLen(dir, m.Config.MaxPos)
	}
	if window > m.Config.MaxPos {
		return nil, usagef("--window %d exceeds the checkpoint's %d positions", window, m.Config.MaxPos)
	}
	if window < 2 {
		return nil, usagef("--window must be at least 2 tokens")
	}
	tmp, err := os.MkdirTemp("", "divellm-gptq-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	gptqDir := filepath.Join(tmp, "int4-gptq")
	opt := qmodel.Options{Scheme: quant.Int4Group32, Method: qmodel.GPTQ, Calib: calib, GPTQ: quant.GPTQOptions{ActOrder: true}}
	if _, err := qmodel.QuantizeDir(dir, gptqDir, opt); err != nil {
		return nil, err
	}
	var rows pplRows
	for _, c := range []struct {
		f      qmodel.Format
		method string
	}{{qmodel.F32, "-"}, {qmodel.Int8, "rtn"}, {qmodel.WInt8, "rtn"}, {qmodel.Int4, "rtn"}, {qmodel.Int4, "gptq"}, {qmodel.W4A8, "rtn"}, {qmodel.W4A8, "gptq"}} {
		var g *qmodel.GPT
		if c.method == "gptq" {
			g, err = qmodel.LoadGPT(gptqDir, c.f)
		} else {
			g, err = qmodel.NewGPT(m, c.f)
		}
		if err != nil {
			return nil, err
		}
		p, err := g.Perplexity(ids, window)
		if err != nil {
			return nil, err
		}
		rows = append(rows, pplRow{Model: model, Format: string(c.f), Method: c.method, Perplexity: math.Round(p*1000) / 1000,
			WeightsMB: round4(float64(g.Bytes()) / 1e6), EvalTokens: len(ids), CalibTokens: len(calib), Window: window})
	}
	return rows, nil
}
