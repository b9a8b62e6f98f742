package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/divellm/divellm/llm/backend"
	"github.com/divellm/divellm/llm/quant"
	"github.com/divellm/divellm/llm/quant/gemm"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

func init() { benchSubcommands["quant"] = benchQuant }

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
	GoMLX   *float64 `json:"gomlx_fp32_ms,omitempty"` // GoMLX graph.Dot on the Go backend
	Int8SNR float64  `json:"int8_snr_db"`             // W8A8 output vs float32, dB
	Int4SNR float64  `json:"int4_snr_db"`             // int4 output vs float32, dB
	M       int      `json:"m"`
	K       int      `json:"k"`
	N       int      `json:"n"`
	Reps    int      `json:"reps"`
	Impl    string   `json:"impl"`    // gemm implementation (avx512+vnni, avx2, go)
	Threads int      `json:"threads"` // GOMAXPROCS
}

func benchQuant(args []string, w io.Writer) error {
	fs := newFlags("bench quant")
	asJSON := fs.Bool("json", false, "print a JSON array, one row per shape")
	shapesFlag := fs.String("shapes", quantShapes, "comma-separated MxKxN shapes")
	minTime := fs.Duration("time", 400*time.Millisecond, "minimum measuring time per shape")
	minReps := fs.Int("reps", 15, "minimum timed repetitions per kernel (the median is reported)")
	withGoMLX := fs.Bool("gomlx", true, "also time GoMLX's graph.Dot on the Go backend")
	implName := fs.String("impl", "", "force a gemm implementation: "+strings.Join(gemm.Impls(), ", "))
	rest, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if *minReps < 1 {
		return usagef("--reps must be positive")
	}
	shapes, err := parseShapes(*shapesFlag)
	if err != nil {
		return err
	}
	if *implName != "" {
		prev, err := gemm.SetImpl(*implName)
		if err != nil {
			return usagef("%v", err)
		}
		defer gemm.SetImpl(prev)
	}
	var rows []quantRow
	for _, s := range shapes {
		r, err := benchQuantShape(s[0], s[1], s[2], *minReps, *minTime, *withGoMLX)
		if err != nil {
			return err
		}
		rows = append(rows, r)
	}
	if *asJSON {
		fmt.Fprintln(w, "[")
		for i, r := range rows {
			b, _ := json.Marshal(r)
			sep := ","
			if i == len(rows)-1 {
				sep = ""
			}
			fmt.Fprintf(w, "  %s%s\n", b, sep)
		}
		fmt.Fprintln(w, "]")
		return nil
	}
	fmt.Fprintf(w, "y = x·Wᵀ, median of ≥%d runs, %s, %d threads (ms; speedup = fp32/int8)\n", *minReps, gemm.Impl(), runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "%-20s %9s %9s %8s %10s %9s %11s %9s %9s\n", "shape", "fp32", "int8", "speedup", "wo-int8", "int4-g32", "gomlx-fp32", "int8 SNR", "int4 SNR")
	for _, r := range rows {
		g := "-"
		if r.GoMLX != nil {
			g = fmt.Sprintf("%.3f", *r.GoMLX)
		}
		fmt.Fprintf(w, "%-20s %9.3f %9.3f %7.2f× %10.3f %9.3f %11s %7.1fdB %7.1fdB\n", r.Shape, r.FP32, r.Int8, r.Speedup, r.WOInt8, r.Int4, g, r.Int8SNR, r.Int4SNR)
	}
	return nil
}

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

func (t *timer) once() error {
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
	yF, y8, yW, y4 := make([]float32, m*n), make([]float32, m*n), make([]float32, m*n), make([]float32, m*n)
	timers := []*timer{
		{name: "fp32", run: func() error { return f32.Forward(yF, x, m) }},
		{name: "int8", run: func() error { return w8a8.Forward(y8, x, m) }},
		{name: "wo-int8", run: func() error { return wo8.Forward(yW, x, m) }},
		{name: "int4", run: func() error { return wo4.Forward(y4, x, m) }},
	}
	if withGoMLX {
		g, err := gomlxDot(w, x, m, k, n)
		if err != nil {
			return quantRow{}, err
		}
		timers = append(timers, g)
	}
	// Warm up (caches, goroutines, GoMLX compilation), then interleave the kernels so a
	// busy neighbour slows all of them alike.
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
		WOInt8: round4(median(timers[2].ms)), Int4: round4(median(timers[3].ms)),
		Int8SNR: snr(y8), Int4SNR: snr(y4), Impl: gemm.Impl(), Threads: runtime.GOMAXPROCS(0),
	}
	r.Speedup = math.Round(median(timers[0].ms)/median(timers[1].ms)*100) / 100
	if withGoMLX {
		g := round4(median(timers[4].ms))
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
