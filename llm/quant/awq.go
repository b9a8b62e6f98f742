package quant

import (
	"fmt"
	"math"
)

// AWQResult is the outcome of [AWQ].
type AWQResult struct {
	// Scales are the per-input-channel factors s_j: the layer computes
	// y = (x·diag(1/s))·Q(W·diag(s))ᵀ, the division folded into whatever produces x.
	Scales []float32
	Alpha  float64 // the exponent chosen: s_j = mean|x_j|^α
	Tensor *Tensor // Q(W·diag(s)), [rows, cols]
	// Err and RTNErr are the relative output errors ||X·Wᵀ − X·Ŵᵀ||² / ||X·Wᵀ||² on the
	// calibration data with the chosen scales and with plain round-to-nearest (α = 0).
	Err, RTNErr float64
}

// AWQ is activation-aware weight quantization (Lin et al., 2023) for weight-only schemes:
// weights that meet large activations matter more, so their input channels are scaled up
// before rounding (a finer relative step) and the activations scaled down by the same
// factor. With a_j = mean_i |x[i, j]| over the calibration rows x ([n, cols]), it tries
// s_j = a_j^α for α = 0, 1/grid, …, 1 (normalised so that max s · min s = 1) and keeps the α
// with the smallest output error. α = 0 is round-to-nearest, so AWQ never does worse on the
// calibration data.
func AWQ(w []float32, rows, cols int, x []float32, n int, s Scheme, grid int) (*AWQResult, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if rows <= 0 || cols <= 0 || len(w) != rows*cols || n <= 0 || len(x) != n*cols {
		return nil, fmt.Errorf("quant: AWQ: %d weights for [%d, %d], %d activations for [%d, %d]", len(w), rows, cols, len(x), n, cols)
	}
	if grid < 1 {
		grid = 20
	}
	mean := make([]float64, cols)
	for r := 0; r < n; r++ {
		for j, v := range x[r*cols : (r+1)*cols] {
			mean[j] += math.Abs(float64(v)) / float64(n)
		}
	}
	ref := matmulT(x, w, n, rows, cols) // [n, rows]
	var refNorm float64
	for _, v := range ref {
		refNorm += v * v
	}
	if refNorm == 0 {
		refNorm = 1
	}
	var best *AWQResult
	ws := make([]float32, len(w))
	xs := make([]float32, len(x))
	for g := 0; g <= grid; g++ {
		alpha := float64(g) / float64(grid)
		sc := make([]float32, cols)
		lo, hi := math.Inf(1), 0.0
		for j := range sc {
			v := math.Pow(math.Max(mean[j], 1e-8), alpha)
			sc[j] = float32(v)
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		norm := float32(1 / math.Sqrt(lo*hi))
		for j := range sc {
			sc[j] *= norm
		}
		for r := 0; r < rows; r++ {
			for j := 0; j < cols; j++ {
				ws[r*cols+j] = w[r*cols+j] * sc[j]
			}
		}
		q, err := Quantize(ws, rows, cols, s)
		if err != nil {
			return nil, err
		}
		for r := 0; r < n; r++ {
			for j := 0; j < cols; j++ {
				xs[r*cols+j] = x[r*cols+j] / sc[j]
			}
		}
		y := matmulT(xs, q.Dequantize(), n, rows, cols)
		var e float64
		for i := range y {
			d := y[i] - ref[i]
			e += d * d
		}
		e /= refNorm
		if g == 0 {
			best = &AWQResult{RTNErr: e}
		}
		if g == 0 || e < best.Err {
			best.Scales, best.Alpha, best.Tensor, best.Err = sc, alpha, q, e
		}
	}
	return best, nil
}

// matmulT returns x·wᵀ in float64 for x [n, cols] and w [rows, cols].
func matmulT(x, w []float32, n, rows, cols int) []float64 {
	out := make([]float64, n*rows)
	for i := 0; i < n; i++ {
		xi := x[i*cols : (i+1)*cols]
		for r := 0; r < rows; r++ {
			wr := w[r*cols : (r+1)*cols]
			var s float64
			for j, v := range xi {
				s += float64(v) * float64(wr[j])
			}
			out[i*rows+r] = s
		}
	}
	return out
}
