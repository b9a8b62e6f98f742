//go:build goexperiment.simd

package llm

import (
	"math"
	"math/rand/v2"
	"simd/archsimd"
	"testing"
)

// TestAdamApplyX16 checks the SIMD AdamW update bit for bit against adamHyper.apply on
// random weights, moments and gradients (with and without weight decay, zero and tiny
// second moments, lengths with every tail 0–15).
func TestAdamApplyX16(t *testing.T) {
	if !archsimd.X86.AVX512() {
		t.Skip("no AVX-512")
	}
	rng := rand.New(rand.NewPCG(5, 5))
	h := adamHyper{scale: 0.7, lr: 3e-4, b1: 0.9, b2: 0.999, c1: 0.1, c2: 0.001, bc1: 0.19, bc2: 0.002, eps: 1e-8}
	for n := range 70 {
		for _, wd := range []float32{0, 3e-5} {
			mk := func(s float64) []float32 {
				x := make([]float32, n)
				for i := range x {
					x[i] = float32(rng.NormFloat64() * s)
				}
				return x
			}
			p, m, v, g := mk(1), mk(0.01), mk(1e-4), mk(0.1)
			for i := range v {
				v[i] = float32(math.Abs(float64(v[i])))
				if i%7 == 0 {
					v[i], m[i] = 0, 0
				}
			}
			p2, m2, v2 := append([]float32(nil), p...), append([]float32(nil), m...), append([]float32(nil), v...)
			h.apply(p, m, v, g, wd)
			adamApplyX16(h, p2, m2, v2, g, wd)
			for i := range p {
				if math.Float32bits(p[i]) != math.Float32bits(p2[i]) || math.Float32bits(m[i]) != math.Float32bits(m2[i]) ||
					math.Float32bits(v[i]) != math.Float32bits(v2[i]) {
					t.Fatalf("n=%d wd=%g [%d]: p,m,v = %g,%g,%g, want %g,%g,%g", n, wd, i, p2[i], m2[i], v2[i], p[i], m[i], v[i])
				}
			}
		}
	}
}
