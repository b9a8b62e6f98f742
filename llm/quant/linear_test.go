package quant

import (
	"math/rand/v2"
	"testing"

	"github.com/divellm/divellm/llm/quant/gemm"
)

func fwd(t *testing.T, l Linear, x []float32, m, n int) []float32 {
	t.Helper()
	y := make([]float32, m*n)
	if err := l.Forward(y, x, m); err != nil {
		t.Fatal(err)
	}
	return y
}

// TestLinearMatchesDequantized: every layer computes x·Ŵᵀ + b for its dequantized Ŵ.
func TestLinearMatchesDequantized(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 11))
	m, n, k := 5, 70, 96
	w, x, b := randMatrix(rng, n*k, 0.1), randMatrix(rng, m*k, 1), randMatrix(rng, n, 0.1)
	for _, s := range []Scheme{Int8, {Bits: 8, Asymmetric: true}, {Bits: 8, Granularity: PerTensor}, Int4Group32, {Bits: 4, Asymmetric: true, Granularity: PerGroup, GroupSize: 64}, {Bits: 4}} {
		q, err := Quantize(w, n, k, s)
		if err != nil {
			t.Fatal(err)
		}
		f, err := gemm.NewF32(q.Dequantize(), n, k, b)
		if err != nil {
			t.Fatal(err)
		}
		want := fwd(t, f, x, m, n)
		wo, err := NewWeightOnly(q, b)
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := Compare(want, fwd(t, wo, x, m, n)); c.MaxAbs > 1e-4 {
			t.Fatalf("%v weight-only: %v", s, c)
		}
		if s.Bits == 4 {
			l, err := NewW4A8(q, b)
			if err != nil {
				t.Fatal(err)
			}
			if c, _ := Compare(want, fwd(t, l, x, m, n)); c.SNR < 35 {
				t.Fatalf("%v W4A8: %v", s, c)
			}
		}
		if s.Bits == 8 && s.Granularity != PerGroup {
			l, err := NewW8A8(q, b)
			if err != nil {
				t.Fatal(err)
			}
			// Activations are also rounded: compare loosely, and against float weights.
			if c, _ := Compare(want, fwd(t, l, x, m, n)); c.SNR < 35 {
				t.Fatalf("%v W8A8: %v", s, c)
			}
		}
	}
	q4, _ := Quantize(w, n, k, Int4Group32)
	if _, err := NewW8A8(q4, nil); err == nil {
		t.Fatal("W8A8 accepted int4 weights")
	}
}

// TestSmoothQuant: with a few huge activation channels, per-row int8 activations lose the
// small channels; smoothing moves the range into the weights and cuts the output error.
func TestSmoothQuant(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 12))
	m, n, k := 64, 96, 256
	w := randMatrix(rng, n*k, 0.05)
	mk := func() []float32 {
		x := randMatrix(rng, m*k, 1)
		for r := 0; r < m; r++ {
			for _, j := range []int{3, 77, 200} {
				x[r*k+j] *= 60 // outlier channels, the same in every token
			}
		}
		return x
	}
	calib, x := mk(), mk()
	f, _ := gemm.NewF32(w, n, k, nil)
	want := fwd(t, f, x, m, n)
	q, _ := Quantize(w, n, k, Int8)
	plain, err := NewW8A8(q, nil)
	if err != nil {
		t.Fatal(err)
	}
	sq, err := NewSmoothQuant(w, nil, n, k, calib, m, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	cPlain, _ := Compare(want, fwd(t, plain, x, m, n))
	cSmooth, _ := Compare(want, fwd(t, sq, x, m, n))
	t.Logf("W8A8 plain %v; smoothed %v", cPlain, cSmooth)
	if !(cSmooth.SNR > cPlain.SNR+6) {
		t.Fatalf("SmoothQuant SNR %.1f dB not clearly above plain %.1f dB", cSmooth.SNR, cPlain.SNR)
	}
}

func TestLatency(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 13))
	w := randMatrix(rng, 64*32, 1)
	f, _ := gemm.NewF32(w, 64, 32, nil)
	d, err := Latency(f, randMatrix(rng, 2*32, 1), 2, 64, 5)
	if err != nil || d <= 0 {
		t.Fatalf("latency %v, %v", d, err)
	}
	if _, err := Latency(f, make([]float32, 3), 2, 64, 5); err == nil {
		t.Fatal("bad x accepted")
	}
}
