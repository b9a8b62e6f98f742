package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// correlated returns n samples of cols features mixed so that neighbouring features are
// strongly correlated and a few features are much larger, as in transformer activations.
func correlated(rng *rand.Rand, n, cols int) []float32 {
	x := make([]float32, n*cols)
	for r := 0; r < n; r++ {
		z := make([]float64, cols)
		for j := range z {
			z[j] = rng.NormFloat64()
		}
		prev := 0.0
		for j := 0; j < cols; j++ {
			prev = 0.9*prev + 0.45*z[j] // AR(1) along features
			v := prev
			if j%17 == 0 {
				v *= 6
			}
			x[r*cols+j] = float32(v)
		}
	}
	return x
}

// outputErr is ||x·wᵀ − x·ŵᵀ||² / ||x·wᵀ||².
func outputErr(x, w, wq []float32, n, rows, cols int) float64 {
	var num, den float64
	for r := 0; r < n; r++ {
		for o := 0; o < rows; o++ {
			var a, b float64
			for j := 0; j < cols; j++ {
				a += float64(x[r*cols+j]) * float64(w[o*cols+j])
				b += float64(x[r*cols+j]) * float64(wq[o*cols+j])
			}
			num += (a - b) * (a - b)
			den += a * a
		}
	}
	return num / den
}

func TestGPTQBeatsRTN(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	rows, cols, n := 48, 128, 512
	w := randMatrix(rng, rows*cols, 0.1)
	x := correlated(rng, n, cols)
	xt := correlated(rng, n, cols) // held-out inputs from the same distribution
	for _, s := range []Scheme{Int4Group32, {Bits: 4, Asymmetric: true, Granularity: PerGroup, GroupSize: 32}, {Bits: 4}, {Bits: 8}} {
		rtn, err := Quantize(w, rows, cols, s)
		if err != nil {
			t.Fatal(err)
		}
		eRTN := outputErr(xt, w, rtn.Dequantize(), n, rows, cols)
		for _, actOrder := range []bool{false, true} {
			g, err := GPTQ(w, rows, cols, x, n, s, GPTQOptions{ActOrder: actOrder})
			if err != nil {
				t.Fatal(err)
			}
			if err := g.check(); err != nil {
				t.Fatal(err)
			}
			eG := outputErr(xt, w, g.Dequantize(), n, rows, cols)
			t.Logf("%v actorder=%v: relative output error RTN %.3g, GPTQ %.3g (%.2f×)", s, actOrder, eRTN, eG, eRTN/eG)
			if !(eG < 0.8*eRTN) {
				t.Errorf("%v actorder=%v: GPTQ error %.3g not clearly below RTN %.3g", s, actOrder, eG, eRTN)
			}
		}
	}
}

func TestCholInvUpper(t *testing.T) {
	// H = [[4, 2], [2, 3]]; H⁻¹ = [[3, −2], [−2, 4]]/8. Check UᵀU = H⁻¹ and U upper.
	u, err := cholInvUpper([]float64{4, 2, 2, 3}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if u[2] != 0 {
		t.Fatalf("U not upper: %v", u)
	}
	want := []float64{3.0 / 8, -2.0 / 8, -2.0 / 8, 4.0 / 8}
	for i := 0; i < 2; i++ {
		for j := 0; j < 2; j++ {
			var s float64
			for k := 0; k < 2; k++ {
				s += u[k*2+i] * u[k*2+j]
			}
			if math.Abs(s-want[i*2+j]) > 1e-12 {
				t.Fatalf("UᵀU[%d,%d] = %g, want %g", i, j, s, want[i*2+j])
			}
		}
	}
	if _, err := cholInvUpper([]float64{1, 2, 2, 1}, 2); err == nil {
		t.Fatal("indefinite matrix accepted")
	}
}

func TestGPTQErrors(t *testing.T) {
	if _, err := GPTQ([]float32{1, 2}, 1, 2, []float32{1}, 1, Int8, GPTQOptions{}); err == nil {
		t.Fatal("bad calibration shape accepted")
	}
}
