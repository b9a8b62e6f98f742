package week4

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/divellm/divellm/llm/quant/gemm"
	"github.com/divellm/divellm/viz"
)

// matmul computes y[i][j] = Σ_k x[i][k]·w[j][k] for rows of x and the output columns
// [j0, j1), on the calling goroutine (one "worker"). w is [n][k] (one row per output
// channel, as nn.Linear stores it).
func matmul(y, x, w [][]float32, j0, j1 int) {
	for i, xi := range x {
		for j := j0; j < j1; j++ {
			y[i][j] = gemm.Dot(xi, w[j])
		}
	}
}

func randMatrix(r *rand.Rand, rows, cols int) [][]float32 {
	m := make([][]float32, rows)
	for i := range m {
		m[i] = make([]float32, cols)
		for j := range m[i] {
			m[i][j] = float32(r.NormFloat64())
		}
	}
	return m
}

func zeros(rows, cols int) [][]float32 {
	m := make([][]float32, rows)
	for i := range m {
		m[i] = make([]float32, cols)
	}
	return m
}

func maxDiff(a, b [][]float32) float64 {
	d := 0.0
	for i := range a {
		for j := range a[i] {
			d = max(d, math.Abs(float64(a[i][j]-b[i][j])))
		}
	}
	return d
}

// timeMin runs f reps times and returns the fastest run (the least disturbed by other
// programs on a shared machine).
func timeMin(reps int, f func()) time.Duration {
	best := time.Duration(math.MaxInt64)
	for range reps {
		start := time.Now()
		f()
		best = min(best, time.Since(start))
	}
	return best
}

// TPResult compares one matmul y = x·Wᵀ on one worker with the same matmul split across
// two workers (tensor parallelism).
type TPResult struct {
	M, K, N int
	// Column split (Megatron's column-parallel linear): each worker holds half of W's
	// rows, i.e. half of the output columns, and computes them; concatenating the halves
	// is the answer. Every output is the same dot product as on one worker: equal bits.
	ColumnMaxDiff float64
	// Row split (row-parallel linear): each worker holds half of the K inputs of every
	// row of W and computes a partial sum over them; an all-reduce adds the two partial
	// outputs. Sums are reordered, so outputs differ by float32 rounding only.
	RowMaxDiff                float64
	One, Column, Row          time.Duration // fastest of the repetitions
	WeightsPerWorkerMB, AllMB float64       // what each worker must hold vs the whole W
	AllReduceMB               float64       // partial outputs exchanged by the row split
}

// TensorParallel runs x [m, k] · Wᵀ ([n, k]) on one goroutine and split across two
// goroutines by output columns and by inputs, and checks both against the single result.
func TensorParallel(m, k, n, reps int) (*TPResult, error) {
	if m < 1 || k < 2 || n < 2 || reps < 1 {
		return nil, fmt.Errorf("week4: TensorParallel needs m ≥ 1, k, n ≥ 2, reps ≥ 1")
	}
	r := rand.New(rand.NewPCG(4, 4))
	x, w := randMatrix(r, m, k), randMatrix(r, n, k)
	one, col := zeros(m, n), zeros(m, n)
	res := &TPResult{M: m, K: k, N: n, AllMB: float64(4*n*k) / 1e6, WeightsPerWorkerMB: float64(4*n*k) / 2e6,
		AllReduceMB: float64(4*m*n) / 1e6}
	res.One = timeMin(reps, func() { matmul(one, x, w, 0, n) })
	res.Column = timeMin(reps, func() {
		var wg sync.WaitGroup
		for _, half := range [][2]int{{0, n / 2}, {n / 2, n}} {
			wg.Go(func() { matmul(col, x, w, half[0], half[1]) })
		}
		wg.Wait()
	})
	// Row split: worker p holds columns [kp0, kp1) of x and of every row of W.
	split := func(a [][]float32, lo, hi int) [][]float32 {
		out := make([][]float32, len(a))
		for i := range a {
			out[i] = a[i][lo:hi]
		}
		return out
	}
	parts := [2][][]float32{zeros(m, n), zeros(m, n)}
	row := zeros(m, n)
	res.Row = timeMin(reps, func() {
		var wg sync.WaitGroup
		for p, half := range [][2]int{{0, k / 2}, {k / 2, k}} {
			wg.Go(func() { matmul(parts[p], split(x, half[0], half[1]), split(w, half[0], half[1]), 0, n) })
		}
		wg.Wait()
		for i := range row { // the all-reduce: add the partial outputs
			for j := range row[i] {
				row[i][j] = parts[0][i][j] + parts[1][i][j]
			}
		}
	})
	res.ColumnMaxDiff, res.RowMaxDiff = maxDiff(one, col), maxDiff(one, row)
	return res, nil
}

// Rows formats the result as table rows.
func (t *TPResult) Rows() ([]string, [][]string) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }
	speed := func(d time.Duration) string { return fmt.Sprintf("%.2f×", float64(t.One)/float64(d)) }
	return []string{"方式 layout", "时间 time", "加速 speed-up", "与单机最大差 max |diff|", "每个 worker 的权重 weights/worker"},
		[][]string{
			{"1 个 worker (one)", ms(t.One), "1.00×", "0", fmt.Sprintf("%.1f MB", t.AllMB)},
			{"按输出列切分 (column split)", ms(t.Column), speed(t.Column), fmt.Sprintf("%.3g", t.ColumnMaxDiff), fmt.Sprintf("%.1f MB", t.WeightsPerWorkerMB)},
			{"按输入切分 + all-reduce (row split)", ms(t.Row), speed(t.Row), fmt.Sprintf("%.3g", t.RowMaxDiff), fmt.Sprintf("%.1f MB (+%.2f MB all-reduce)", t.WeightsPerWorkerMB, t.AllReduceMB)},
		}
}

// PPResult compares a stack of layers run on one worker with the same stack split into
// two stages on two workers, fed micro-batches (pipeline parallelism, GPipe's forward).
type PPResult struct {
	Layers, Width, Batch, MicroBatches int
	MaxDiff                            float64 // pipelined vs one worker: the same operations, equal bits
	One, Pipelined                     time.Duration
	Bubble                             float64 // idle fraction of the ideal schedule, (S−1)/(M+S−1)
}

// layer applies y = gelu(x·Wᵀ) to each row of x.
func layer(x, w [][]float32) [][]float32 {
	y := zeros(len(x), len(w))
	matmul(y, x, w, 0, len(w))
	for _, row := range y {
		gemm.GeluTanh(row)
	}
	return y
}

// PipelineParallel runs `layers` square layers of `width` on a batch of `batch` rows: on
// one goroutine, and as two stages (first half of the layers on worker A, second half on
// worker B) connected by a channel, the batch cut into micro-batches so that B works on
// micro-batch i while A already computes micro-batch i+1.
func PipelineParallel(layers, width, batch, microBatches, reps int) (*PPResult, error) {
	if layers < 2 || width < 1 || microBatches < 1 || batch < microBatches || reps < 1 {
		return nil, fmt.Errorf("week4: PipelineParallel needs ≥ 2 layers and batch ≥ micro-batches ≥ 1")
	}
	r := rand.New(rand.NewPCG(5, 5))
	ws := make([][][]float32, layers)
	for l := range ws {
		ws[l] = randMatrix(r, width, width)
		for _, row := range ws[l] { // keep activations O(1) through the stack
			for j := range row {
				row[j] /= float32(math.Sqrt(float64(width)))
			}
		}
	}
	x := randMatrix(r, batch, width)
	run := func(x [][]float32, ls [][][]float32) [][]float32 {
		for _, w := range ls {
			x = layer(x, w)
		}
		return x
	}
	var want, got [][]float32
	res := &PPResult{Layers: layers, Width: width, Batch: batch, MicroBatches: microBatches,
		Bubble: float64(1) / float64(microBatches+1)}
	res.One = timeMin(reps, func() { want = run(x, ws) })
	res.Pipelined = timeMin(reps, func() {
		got = make([][]float32, 0, batch)
		mid := make(chan [][]float32, 1)
		out := make(chan [][]float32, microBatches)
		go func() { // worker A: the first half of the layers
			for i := range microBatches {
				lo, hi := i*batch/microBatches, (i+1)*batch/microBatches
				mid <- run(x[lo:hi], ws[:layers/2])
			}
			close(mid)
		}()
		go func() { // worker B: the second half
			for mb := range mid {
				out <- run(mb, ws[layers/2:])
			}
			close(out)
		}()
		for mb := range out {
			got = append(got, mb...)
		}
	})
	res.MaxDiff = maxDiff(want, got)
	return res, nil
}

// Schedule returns the ideal two-stage schedule as a stage × time-slot grid: the number
// of the micro-batch a stage works on, or 0 where it idles (the pipeline "bubble").
func (p *PPResult) Schedule() [][]float64 {
	slots := p.MicroBatches + 1
	g := [][]float64{make([]float64, slots), make([]float64, slots)}
	for i := range p.MicroBatches {
		g[0][i] = float64(i + 1)
		g[1][i+1] = float64(i + 1)
	}
	return g
}

// ScheduleChart draws Schedule: rows are the two workers, columns time slots, colours
// the micro-batch (0 = idle).
func (p *PPResult) ScheduleChart() *viz.Chart {
	cols := make([]string, p.MicroBatches+1)
	for i := range cols {
		cols[i] = fmt.Sprintf("t%d", i+1)
	}
	return viz.Heatmap([]string{"worker A：前半层 (layers 1–2)", "worker B：后半层 (layers 3–4)"}, cols, p.Schedule()).
		Title(fmt.Sprintf("流水线并行 (pipeline parallelism)：%d 个微批次 (micro-batches)，0 = 空闲 (bubble)", p.MicroBatches))
}
