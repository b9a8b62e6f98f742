package quant

import (
	"fmt"
	"math"
)

// Metrics compares a reference vector x with an approximation x̂ of the same length.
type Metrics struct {
	MSE    float64 // mean of (x − x̂)²
	MaxAbs float64 // largest |x − x̂|
	SNR    float64 // 10·log10(Σx² / Σ(x − x̂)²) in dB; +Inf when x̂ = x
	Cosine float64 // x·x̂ / (|x|·|x̂|); 1 when both are zero
}

// String prints the metrics on one line.
func (m Metrics) String() string {
	return fmt.Sprintf("mse=%.3g max|err|=%.3g snr=%.2fdB cos=%.6f", m.MSE, m.MaxAbs, m.SNR, m.Cosine)
}

// Compare computes the error metrics of approx against ref, accumulating in float64.
func Compare(ref, approx []float32) (Metrics, error) {
	if len(ref) != len(approx) || len(ref) == 0 {
		return Metrics{}, fmt.Errorf("quant: compare %d values with %d: %w", len(ref), len(approx), errShape)
	}
	var se, sig, dot, na, nb, maxAbs float64
	for i := range ref {
		a, b := float64(ref[i]), float64(approx[i])
		d := a - b
		se += d * d
		sig += a * a
		dot += a * b
		na += a * a
		nb += b * b
		maxAbs = math.Max(maxAbs, math.Abs(d))
	}
	m := Metrics{MSE: se / float64(len(ref)), MaxAbs: maxAbs}
	switch {
	case se == 0:
		m.SNR = math.Inf(1)
	case sig == 0:
		m.SNR = math.Inf(-1)
	default:
		m.SNR = 10 * math.Log10(sig/se)
	}
	switch {
	case na == 0 && nb == 0:
		m.Cosine = 1
	case na == 0 || nb == 0:
		m.Cosine = 0
	default:
		m.Cosine = dot / math.Sqrt(na*nb)
	}
	return m, nil
}
