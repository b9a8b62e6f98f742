package quant

import (
	"math/rand/v2"
	"testing"
)

// TestAWQ: with a few salient input channels (large activations), protecting them lowers
// the int4 output error on held-out inputs, and α = 0 reproduces round-to-nearest.
func TestAWQ(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 31))
	rows, cols, n := 32, 128, 256
	w := randMatrix(rng, rows*cols, 0.1)
	mk := func() []float32 {
		x := randMatrix(rng, n*cols, 1)
		for r := 0; r < n; r++ {
			for j := 0; j < cols; j += 9 {
				x[r*cols+j] *= 12 // salient channels
			}
		}
		return x
	}
	calib, held := mk(), mk()
	s := Int4Group32
	res, err := AWQ(w, rows, cols, calib, n, s, 20)
	if err != nil {
		t.Fatal(err)
	}
	rtn, _ := Quantize(w, rows, cols, s)
	if rtnCal := outputErr(calib, w, rtn.Dequantize(), n, rows, cols); abs(rtnCal-res.RTNErr) > 1e-9*rtnCal+1e-12 {
		t.Fatalf("α=0 error %g, round-to-nearest %g", res.RTNErr, rtnCal)
	}
	// Held-out error of AWQ: y = (x/s)·Q(W·s)ᵀ.
	xs := make([]float32, len(held))
	for i := range held {
		xs[i] = held[i] / res.Scales[i%cols]
	}
	yq := matmulT(xs, res.Tensor.Dequantize(), n, rows, cols)
	ref := matmulT(held, w, n, rows, cols)
	var num, den float64
	for i := range ref {
		num += (yq[i] - ref[i]) * (yq[i] - ref[i])
		den += ref[i] * ref[i]
	}
	eAWQ, eRTN := num/den, outputErr(held, w, rtn.Dequantize(), n, rows, cols)
	t.Logf("α = %.2f: held-out relative output error AWQ %.3g, RTN %.3g", res.Alpha, eAWQ, eRTN)
	if !(res.Alpha > 0 && eAWQ < 0.8*eRTN) {
		t.Fatalf("AWQ (α %.2f) error %.3g not clearly below RTN %.3g", res.Alpha, eAWQ, eRTN)
	}
}

func abs(v float64) float64 {
	if v < 0 {
		return -v
	}
	return v
}
