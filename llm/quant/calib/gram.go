package calib

import (
	"math"

	"github.com/divellm/divellm/llm"
)

// GramRoot returns r ([k, cols], k = cols) whose mean Gram matrix equals x's:
// rᵀr / k = xᵀx / n for x [n, cols]. GPTQ only sees its calibration inputs through
// H = 2/n·xᵀx, so quantizing with r instead of x gives the same Hessian at a fraction of the
// cost when n ≫ cols: xᵀx is computed once here with the SIMD dot product (in parallel), and
// [quant.GPTQ] then sums k = cols rows instead of n. r is the scaled transpose of the
// Cholesky factor of xᵀx; a pivot that vanishes (an input that is always zero, or a column
// that is a combination of earlier ones) gives a zero column, which keeps the product exact
// for such inputs. n ≤ cols returns x itself.
func GramRoot(x []float32, n, cols int) []float32 {
	if n <= cols {
		return x
	}
	xt := Transpose(x, n, cols)                // [cols, n]
	g32 := MatMulT(xt, xt, nil, cols, n, cols) // xᵀx [cols, cols]
	g := make([]float64, cols*cols)
	for i, v := range g32 {
		g[i] = float64(v)
	}
	var maxDiag float64
	for i := 0; i < cols; i++ {
		maxDiag = math.Max(maxDiag, g[i*cols+i])
	}
	// Lower Cholesky factor l of g (l·lᵀ = g), in place, row by row.
	l := make([]float64, cols*cols)
	tol := 1e-10 * maxDiag
	for j := 0; j < cols; j++ {
		d := g[j*cols+j]
		for k := 0; k < j; k++ {
			d -= l[j*cols+k] * l[j*cols+k]
		}
		if d <= tol {
			continue // column j of l stays zero
		}
		d = math.Sqrt(d)
		l[j*cols+j] = d
		for i := j + 1; i < cols; i++ {
			s := g[i*cols+j]
			for k := 0; k < j; k++ {
				s -= l[i*cols+k] * l[j*cols+k]
			}
			l[i*cols+j] = s / d
		}
	}
	// r = sqrt(k/n)·lᵀ: rᵀr = (k/n)·l·lᵀ.
	scale := math.Sqrt(float64(cols) / float64(n))
	r := make([]float32, cols*cols)
	for i := 0; i < cols; i++ {
		for j := 0; j < cols; j++ {
			r[i*cols+j] = float32(scale * l[j*cols+i])
		}
	}
	return r
}

// GramRoots returns the [GramRoot] of every layer's inputs (as [Runner.Inputs] returns
// them), for [Options.Roots].
func GramRoots(inputs map[string][]float32, linears []llm.Linear) map[string][]float32 {
	out := map[string][]float32{}
	for _, l := range linears {
		if x, ok := inputs[l.Module]; ok && len(x)%l.In == 0 {
			out[l.Module] = GramRoot(x, len(x)/l.In, l.In)
		}
	}
	return out
}
