package week3

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant"
	"github.com/divellm/divellm/llm/quant/gemm"
	"github.com/divellm/divellm/llm/quant/qmodel"
	"github.com/divellm/divellm/viz"
)

// GEMMRow is the time of one kernel on one shape.
type GEMMRow struct {
	Shape  string // "[M×K]×[K×N]"
	Kernel string
	Ms     float64 // median
	MB     float64 // the weights as the kernel holds them
	SNR    float64 // output vs float32, dB
}

// GEMMKernels are the layers timed: float32 FMA, int8 weights × int8 activations (W8A8),
// int4 groups of 32 with float32 activations (weight-only) and with int8 activations (W4A8).
var GEMMKernels = []string{"fp32", "int8 (W8A8)", "int4 (weight-only)", "int4 (W4A8)"}

// TimeGEMM times y = x·Wᵀ for x [m, k] and W [n, k] (random, seed 1) with every
// GEMMKernels layer: the median of reps calls after two warm-up calls (quant.Latency).
func TimeGEMM(m, k, n, reps int) ([]GEMMRow, error) {
	if m <= 0 || k <= 0 || n <= 0 || reps <= 0 {
		return nil, fmt.Errorf("week3: shape %d×%d×%d and reps %d must be positive", m, k, n, reps)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	w, x := make([]float32, n*k), make([]float32, m*k)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.02)
	}
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	f32, err := gemm.NewF32(w, n, k, nil)
	if err != nil {
		return nil, err
	}
	q8, err := quant.Quantize(w, n, k, quant.Int8)
	if err != nil {
		return nil, err
	}
	q4, err := quant.Quantize(w, n, k, quant.Int4Group32)
	if err != nil {
		return nil, err
	}
	l8, err := quant.NewW8A8(q8, nil)
	if err != nil {
		return nil, err
	}
	l4, err := quant.NewWeightOnly(q4, nil)
	if err != nil {
		return nil, err
	}
	l48, err := quant.NewW4A8(q4, nil)
	if err != nil {
		return nil, err
	}
	ref := make([]float32, m*n)
	if err := f32.Forward(ref, x, m); err != nil {
		return nil, err
	}
	shape := fmt.Sprintf("[%d×%d]×[%d×%d]", m, k, k, n)
	var out []GEMMRow
	for i, l := range []quant.Linear{f32, l8, l4, l48} {
		d, err := quant.Latency(l, x, m, n, reps)
		if err != nil {
			return nil, err
		}
		y := make([]float32, m*n)
		if err := l.Forward(y, x, m); err != nil {
			return nil, err
		}
		met, _ := quant.Compare(ref, y)
		out = append(out, GEMMRow{Shape: shape, Kernel: GEMMKernels[i], Ms: float64(d.Microseconds()) / 1000, MB: float64(l.Bytes()) / 1e6, SNR: met.SNR})
	}
	return out, nil
}

// GEMMTable lists the timings with the speed-up against float32.
func GEMMTable(rs []GEMMRow) (headers []string, rows [][]string) {
	headers = []string{"形状 shape", "kernel", "ms", "加速 vs fp32", "权重 MB", "输出 SNR dB"}
	base := map[string]float64{}
	for _, r := range rs {
		if r.Kernel == GEMMKernels[0] {
			base[r.Shape] = r.Ms
		}
	}
	for _, r := range rs {
		snr := "—"
		if r.Kernel != GEMMKernels[0] {
			snr = fmt.Sprintf("%.1f", r.SNR)
		}
		rows = append(rows, []string{r.Shape, r.Kernel, fmt.Sprintf("%.3f", r.Ms), fmt.Sprintf("%.1f×", base[r.Shape]/r.Ms), fmt.Sprintf("%.2f", r.MB), snr})
	}
	return headers, rows
}

// GEMMChart draws ms per kernel for each shape, with the weight MB as a second series.
func GEMMChart(rs []GEMMRow) *viz.Chart {
	var labels []string
	var ms, mb []float64
	for _, r := range rs {
		labels = append(labels, r.Shape+" "+r.Kernel)
		ms, mb = append(ms, round(r.Ms, 3)), append(mb, round(r.MB, 2))
	}
	return viz.Bars(labels, viz.Series{Name: "毫秒 ms（中位数）", Values: ms}, viz.Series{Name: "权重 MB", Values: mb}).
		Title(fmt.Sprintf("y = x·Wᵀ 的时间和权重大小（%s，越短越好）", gemm.Impl()))
}

// DecodeRow is the decode speed of one model in one format.
type DecodeRow struct {
	Model     string
	Format    qmodel.Format
	TokensPS  float64
	MsPerTok  float64 // median step
	WeightsMB float64 // linear layers + LM head as the kernels hold them
}

// DecodeFormats are the formats whose decoding is timed.
var DecodeFormats = []qmodel.Format{qmodel.F32, qmodel.Int8, qmodel.Int4}

// GPT2Small is GPT-2 small's shape (124M parameters), for timing with random weights.
var GPT2Small = llm.Config{Arch: llm.GPT, VocabSize: 50257, DModel: 768, Heads: 12, Layers: 12, DFF: 3072,
	MaxPos: 1024, LayerNormE: 1e-5, Activation: "gelu_new", BosID: 50256, EosID: 50256}

// TimeDecode greedily decodes tokens after an 8-token prompt with the plain-Go decoder in
// each DecodeFormats format (KV cache on) and reports tokens/s.
func TimeDecode(name string, m *llm.Model, tokens int) ([]DecodeRow, error) {
	if m.Config.Arch != llm.GPT {
		return nil, errors.New("week3: decoding needs a GPT")
	}
	prompt := []int{1, 2, 3, 4, 5, 6, 7, 8}
	if len(prompt)+tokens > m.Config.MaxPos || tokens <= 0 {
		return nil, fmt.Errorf("week3: %d tokens do not fit %d positions", tokens, m.Config.MaxPos)
	}
	var out []DecodeRow
	for _, f := range DecodeFormats {
		d, err := qmodel.TimeDecode(m, f, prompt, tokens)
		if err != nil {
			return nil, err
		}
		out = append(out, DecodeRow{Model: name, Format: f, TokensPS: d.TokensPerSecond(), MsPerTok: d.MedianMs(), WeightsMB: float64(d.Bytes) / 1e6})
	}
	return out, nil
}

// DecodeChart draws tokens/s per model and format with the weight MB beside.
func DecodeChart(rs []DecodeRow) *viz.Chart {
	var labels []string
	var tps, mb []float64
	for _, r := range rs {
		labels = append(labels, r.Model+" "+string(r.Format))
		tps, mb = append(tps, round(r.TokensPS, 1)), append(mb, round(r.WeightsMB, 1))
	}
	return viz.Bars(labels, viz.Series{Name: "tokens/s", Values: tps}, viz.Series{Name: "权重 MB", Values: mb}).
		Title("逐 token 解码速度（KV cache，贪心）和权重大小")
}

// DecodeTable lists the decode timings.
func DecodeTable(rs []DecodeRow) (headers []string, rows [][]string) {
	headers = []string{"模型 model", "格式 format", "tokens/s", "ms/token", "权重 MB"}
	for _, r := range rs {
		rows = append(rows, []string{r.Model, string(r.Format), fmt.Sprintf("%.1f", r.TokensPS), fmt.Sprintf("%.2f", r.MsPerTok), fmt.Sprintf("%.1f", r.WeightsMB)})
	}
	return headers, rows
}

// ErrNoTorch is returned by [TorchGEMM] when python3 cannot import torch.
var ErrNoTorch = errors.New("python3 没有 torch：`apt-get install -y --no-install-recommends python3-torch` 后重跑这个格子，或在仓库根目录运行 bench/quant_vs_torch.sh（同一台机器上交替跑两边）")

// TorchRow is one shape of bench/torch_quant.py's output.
type TorchRow struct {
	Shape   string  `json:"shape"`
	FP32    float64 `json:"fp32_ms"`
	Int8    float64 `json:"int8_ms"`
	Speedup float64 `json:"speedup"`
}

// TorchPython returns a python3 that can import torch: Debian's /usr/bin/python3 (where
// python3-torch installs it) first, then the first python3 on PATH.
func TorchPython() (string, bool) {
	cands := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		cands = append(cands, p)
	}
	for _, p := range cands {
		if exec.Command(p, "-c", "import torch").Run() == nil {
			return p, true
		}
	}
	return "", false
}

// TorchGEMM runs bench/torch_quant.py (PyTorch fp32 nn.Linear vs dynamic int8) on the
// shapes ("1x768x3072,32x768x3072") when a python3 with torch exists, else returns
// ErrNoTorch. It times fewer repetitions than the script's defaults, to stay short in a cell.
func TorchGEMM(shapes string) ([]TorchRow, error) {
	py, ok := TorchPython()
	if !ok {
		return nil, ErrNoTorch
	}
	root, err := lessons.Root()
	if err != nil {
		return nil, err
	}
	out, err := exec.Command(py, filepath.Join(root, "bench", "torch_quant.py"), "--shapes", shapes, "--time", "0.1", "--reps", "5", "--warmup", "2").Output()
	if err != nil {
		return nil, fmt.Errorf("bench/torch_quant.py: %w", err)
	}
	return ParseTorch(out)
}

// ParseTorch reads bench/torch_quant.py's JSON array.
func ParseTorch(b []byte) ([]TorchRow, error) {
	var rs []TorchRow
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("bench/torch_quant.py output: %w", err)
	}
	if len(rs) == 0 {
		return nil, errors.New("bench/torch_quant.py printed no rows")
	}
	for _, r := range rs {
		if !strings.HasPrefix(r.Shape, "[") || !(r.FP32 > 0) || !(r.Int8 > 0) {
			return nil, fmt.Errorf("bench/torch_quant.py: bad row %+v", r)
		}
	}
	return rs, nil
}
