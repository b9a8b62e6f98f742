package quant

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/divellm/divellm/llm/quant/gemm"
)

// Linear is a layer y = x·Wᵀ + b for x [m, K] and y [m, N], whatever its number format.
type Linear interface {
	Forward(y, x []float32, m int) error
	Bytes() int
}

// perRow expands scales and zeros to one (scale, zero) pair per group of each row, so a
// per-tensor scheme looks per-channel to the kernels.
func (t *Tensor) perRow() ([]float32, []uint8) {
	if t.Scheme.Granularity != PerTensor {
		return t.Scales, t.Zeros
	}
	s, z := make([]float32, t.Rows), make([]uint8, t.Rows)
	for r := range s {
		s[r], z[r] = t.Scales[0], t.Zeros[0]
	}
	return s, z
}

// NewW8A8 builds the dynamic int8×int8 layer of an 8-bit per-channel or per-tensor tensor
// (see gemm.W8A8); bias may be nil.
func NewW8A8(t *Tensor, bias []float32) (*gemm.W8A8, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if t.Scheme.Bits != 8 || t.Scheme.Granularity == PerGroup {
		return nil, fmt.Errorf("quant: W8A8 needs 8-bit per-channel or per-tensor weights, got %v", t.Scheme)
	}
	s, z := t.perRow()
	return gemm.NewW8A8(t.Data, z, s, bias, t.Rows, t.Cols)
}

// NewW4A8 builds the int4-weight × dynamic-int8-activation layer of a 4-bit tensor (see
// gemm.W4A8); groups must be multiples of 8 (32, 64, 128) or whole rows.
func NewW4A8(t *Tensor, bias []float32) (*gemm.W4A8, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	if t.Scheme.Bits != 4 {
		return nil, fmt.Errorf("quant: W4A8 needs 4-bit weights, got %v", t.Scheme)
	}
	s, z := t.perRow()
	group := t.Cols
	if t.Scheme.Granularity == PerGroup {
		group = t.Scheme.GroupSize
	}
	return gemm.NewW4A8(t.Codes(), z, s, bias, t.Rows, t.Cols, group)
}

// NewWeightOnly builds the layer that keeps activations in float32 and dequantises t's
// weights in registers (see gemm.WeightOnly); bias may be nil.
func NewWeightOnly(t *Tensor, bias []float32) (*gemm.WeightOnly, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	s, z := t.perRow()
	group := t.Cols
	if t.Scheme.Granularity == PerGroup {
		group = t.Scheme.GroupSize
	}
	return gemm.NewWeightOnly(t.Scheme.Bits, t.Codes(), z, s, bias, t.Rows, t.Cols, group)
}

// ActAbsMax returns max_i |x[i, j]| for each column j of x ([n, cols]): the activation
// statistic SmoothQuant needs, collected on calibration data.
func ActAbsMax(x []float32, n, cols int) ([]float32, error) {
	if n <= 0 || cols <= 0 || len(x) != n*cols {
		return nil, fmt.Errorf("quant: ActAbsMax: %d values for [%d, %d]", len(x), n, cols)
	}
	m := make([]float32, cols)
	for r := 0; r < n; r++ {
		for j, v := range x[r*cols : (r+1)*cols] {
			m[j] = max(m[j], float32(math.Abs(float64(v))))
		}
	}
	return m, nil
}

// SmoothScales returns SmoothQuant's per-input-channel factors
//
//	s_j = max|X_j|^α / max_r|W[r, j]|^(1−α)
//
// for w [rows, cols] and the activation maxima actMax [cols]. α = 0.5 splits the range
// evenly between activations and weights; larger α moves more of it to the weights.
// Channels that are zero on either side get s_j = 1.
func SmoothScales(actMax, w []float32, rows, cols int, alpha float64) ([]float32, error) {
	if len(actMax) != cols || len(w) != rows*cols || rows <= 0 {
		return nil, fmt.Errorf("quant: SmoothScales: %d maxima, %d weights for [%d, %d]", len(actMax), len(w), rows, cols)
	}
	if !(alpha >= 0 && alpha <= 1) {
		return nil, fmt.Errorf("quant: SmoothScales: alpha %g outside [0, 1]", alpha)
	}
	s := make([]float32, cols)
	for j := range s {
		var wm float64
		for r := 0; r < rows; r++ {
			wm = math.Max(wm, math.Abs(float64(w[r*cols+j])))
		}
		a := float64(actMax[j])
		if a == 0 || wm == 0 {
			s[j] = 1
			continue
		}
		s[j] = float32(math.Pow(a, alpha) / math.Pow(wm, 1-alpha))
	}
	return s, nil
}

// Smoothed is a W8A8 layer for smoothed weights W·diag(s): Forward divides the activation
// columns by s before quantizing them, so y = (x·diag(1/s))·(W·diag(s))ᵀ + b = x·Wᵀ + b.
// In a transformer the division is folded into the preceding LayerNorm for free.
type Smoothed struct {
	Inv []float32 // 1/s_j
	L   *gemm.W8A8
	buf []float32
}

// NewSmoothQuant computes SmoothQuant factors from calibration activations x ([n, cols]),
// scales w's columns, quantizes the result with symmetric per-channel int8 and returns the
// layer.
func NewSmoothQuant(w, bias []float32, rows, cols int, x []float32, n int, alpha float64) (*Smoothed, error) {
	am, err := ActAbsMax(x, n, cols)
	if err != nil {
		return nil, err
	}
	s, err := SmoothScales(am, w, rows, cols, alpha)
	if err != nil {
		return nil, err
	}
	ws := make([]float32, len(w))
	for r := 0; r < rows; r++ {
		for j := 0; j < cols; j++ {
			ws[r*cols+j] = w[r*cols+j] * s[j]
		}
	}
	t, err := Quantize(ws, rows, cols, Int8)
	if err != nil {
		return nil, err
	}
	l, err := NewW8A8(t, bias)
	if err != nil {
		return nil, err
	}
	inv := make([]float32, cols)
	for j := range s {
		inv[j] = 1 / s[j]
	}
	return &Smoothed{Inv: inv, L: l}, nil
}

// Forward computes y ≈ x·Wᵀ + b (not safe for concurrent use: it reuses a buffer).
func (s *Smoothed) Forward(y, x []float32, m int) error {
	k := len(s.Inv)
	if len(x) != m*k {
		return fmt.Errorf("quant: Smoothed: x has %d values, want %d·%d", len(x), m, k)
	}
	if cap(s.buf) < len(x) {
		s.buf = make([]float32, len(x))
	}
	xs := s.buf[:len(x)]
	for i, v := range x {
		xs[i] = v * s.Inv[i%k]
	}
	return s.L.Forward(y, xs, m)
}

// Bytes returns the memory of the int8 layer and the smoothing factors.
func (s *Smoothed) Bytes() int { return s.L.Bytes() + 4*len(s.Inv) }

// Latency calls l.Forward on x ([m, K]) reps times after two warm-up calls and returns the
// median duration: the figure week 3's cells compare between fp32 and int8.
func Latency(l Linear, x []float32, m, n, reps int) (time.Duration, error) {
	if reps < 1 {
		return 0, fmt.Errorf("quant: Latency: reps = %d", reps)
	}
	y := make([]float32, m*n)
	ds := make([]time.Duration, reps)
	for i := -2; i < reps; i++ {
		start := time.Now()
		if err := l.Forward(y, x, m); err != nil {
			return 0, err
		}
		if i >= 0 {
			ds[i] = time.Since(start)
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[reps/2], nil
}
