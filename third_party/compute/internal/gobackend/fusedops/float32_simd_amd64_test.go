// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

//go:build goexperiment.simd

package fusedops

import (
	"math"
	"math/rand/v2"
	"simd/archsimd"
	"testing"
)

// simdTestSizes are row/vector lengths covering every tail length around 1–3 vectors,
// odd sizes and the model's sizes.
func simdTestSizes() []int {
	var sizes []int
	for n := 1; n <= 50; n++ {
		sizes = append(sizes, n)
	}
	return append(sizes, 63, 64, 65, 127, 128, 129, 200, 384, 512, 1000, 3000)
}

func randFloat32s(rng *rand.Rand, n int, scale float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64() * scale)
	}
	return x
}

func requireAVX512(t *testing.T) {
	if !archsimd.X86.AVX512() {
		t.Skip("no AVX-512")
	}
}

// TestGeluApproxFloat32x16 checks the SIMD GELU bit for bit against the scalar kernel,
// including lengths that are not multiples of 16 or of the 2048-value block.
func TestGeluApproxFloat32x16(t *testing.T) {
	requireAVX512(t)
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := append(simdTestSizes(), 2047, 2048, 2049, 4096+17, 40000)
	for _, n := range sizes {
		x := randFloat32s(rng, n, 3)
		if n > 8 {
			x[0], x[1], x[2], x[3] = 0, float32(math.Copysign(0, -1)), 20, -20
		}
		want, got := make([]float32, n), make([]float32, n)
		geluApproxChunkFloat32(x, want)
		geluApproxChunkFloat32x16(x, got)
		for i := range want {
			if math.Float32bits(want[i]) != math.Float32bits(got[i]) {
				t.Fatalf("n=%d: gelu(%g)[%d] = %g, want %g", n, x[i], i, got[i], want[i])
			}
		}
	}
}

// TestAddBiasRowsFloat32x16 checks the SIMD bias add bit for bit.
func TestAddBiasRowsFloat32x16(t *testing.T) {
	requireAVX512(t)
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range simdTestSizes() {
		rows := 1 + rng.IntN(5)
		out := randFloat32s(rng, rows*n, 1)
		bias := randFloat32s(rng, n, 1)
		want := append([]float32(nil), out...)
		addBiasRows(want, bias)
		addBiasRowsFloat32x16(out, bias)
		for i := range want {
			if math.Float32bits(want[i]) != math.Float32bits(out[i]) {
				t.Fatalf("n=%d: [%d] = %g, want %g", n, i, out[i], want[i])
			}
		}
	}
}

// TestLayerNormFloat32x16 checks the SIMD LayerNorm against a float64 reference: within
// 4e-6·(1+|ref|) (float32 rounding of the mean, variance and the normalization; the scalar
// float32 kernel it replaces, whose single running sums round worse, within 2e-5), with and without gamma/beta, and rows whose
// mean is large compared with their spread.
func TestLayerNormFloat32x16(t *testing.T) {
	requireAVX512(t)
	rng := rand.New(rand.NewPCG(5, 6))
	const eps = 1e-5
	for _, n := range simdTestSizes() {
		for variant := range 4 {
			rows := 1 + rng.IntN(4)
			x := randFloat32s(rng, rows*n, 2)
			if variant == 3 {
				for i := range x {
					x[i] += 10
				}
			}
			var gamma, beta []float32
			if variant&1 != 0 {
				gamma = randFloat32s(rng, n, 1)
			}
			if variant&2 != 0 {
				beta = randFloat32s(rng, n, 1)
			}
			got, scalar := make([]float32, len(x)), make([]float32, len(x))
			layerNormTrailingAxesFloat32x16(x, got, gamma, beta, n, eps)
			layerNormTrailingAxes(x, scalar, gamma, beta, n, eps)
			for r := range rows {
				row := x[r*n : (r+1)*n]
				var mean, v float64
				for _, xi := range row {
					mean += float64(xi)
				}
				mean /= float64(n)
				for _, xi := range row {
					v += (float64(xi) - mean) * (float64(xi) - mean)
				}
				inv := 1 / math.Sqrt(v/float64(n)+eps)
				for i, xi := range row {
					ref := (float64(xi) - mean) * inv
					if gamma != nil {
						ref *= float64(gamma[i])
					}
					if beta != nil {
						ref += float64(beta[i])
					}
					tol := 4e-6 * (1 + math.Abs(ref))
					if d := math.Abs(float64(got[r*n+i]) - ref); d > tol {
						t.Fatalf("n=%d variant=%d row %d [%d]: %g, want %g (diff %g)", n, variant, r, i, got[r*n+i], ref, d)
					}
					if d := math.Abs(float64(scalar[r*n+i]) - ref); d > 5*tol {
						t.Fatalf("scalar n=%d variant=%d row %d [%d]: %g, want %g (diff %g)", n, variant, r, i, scalar[r*n+i], ref, d)
					}
				}
			}
		}
	}
}

// TestSoftmaxLastAxisFloat32x16 checks the SIMD softmax against a float64 reference within
// 1e-6 relative (exp within 2.5e-7, plus the float32 sum and scaling) plus 6e-8·|x−max|
// relative (the float32 rounding of the argument x−max, which exp turns into a relative
// error; the scalar kernel has the same), including rows with
// the lowest float32 (masked scores) and a row's maximum in every position.
func TestSoftmaxLastAxisFloat32x16(t *testing.T) {
	requireAVX512(t)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, n := range simdTestSizes() {
		rows := 1 + rng.IntN(4)
		x := randFloat32s(rng, rows*n, 4)
		x[rng.IntN(len(x))] = 30
		if n > 2 {
			x[1] = -math.MaxFloat32
		}
		got, scalar := make([]float32, len(x)), make([]float32, len(x))
		fusedSoftmaxLastAxisFloat32x16(x, got, n)
		fusedSoftmaxLastAxisFloat32(x, scalar, n)
		for r := range rows {
			row := x[r*n : (r+1)*n]
			m := math.Inf(-1)
			for _, xi := range row {
				m = math.Max(m, float64(xi))
			}
			var s float64
			for _, xi := range row {
				s += math.Exp(float64(xi) - m)
			}
			for i, xi := range row {
				ref := math.Exp(float64(xi)-m) / s
				tol := (1e-6+6e-8*(m-float64(xi)))*ref + 1e-37
				if d := math.Abs(float64(got[r*n+i]) - ref); d > tol {
					t.Fatalf("n=%d row %d [%d]: %g, want %g (diff %g)", n, r, i, got[r*n+i], ref, d)
				}
				if d := math.Abs(float64(scalar[r*n+i]) - ref); d > 5*tol { // 4 running sums: rounds worse on long rows
					t.Fatalf("scalar n=%d row %d [%d]: %g, want %g (diff %g)", n, r, i, scalar[r*n+i], ref, d)
				}
			}
		}
	}
	// Special rows: all equal, all -Inf (NaN, like the scalar kernel), a NaN.
	for _, row := range [][]float32{
		{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1},
		{float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1)), float32(math.Inf(-1))},
		{0, 1, 2, float32(math.NaN()), 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17},
	} {
		got, want := make([]float32, len(row)), make([]float32, len(row))
		fusedSoftmaxLastAxisFloat32x16(row, got, len(row))
		fusedSoftmaxLastAxisFloat32(row, want, len(row))
		for i := range want {
			if math.Float32bits(want[i]) != math.Float32bits(got[i]) && !(math.IsNaN(float64(want[i])) && math.IsNaN(float64(got[i]))) {
				t.Fatalf("row %v: [%d] = %g, want %g", row, i, got[i], want[i])
			}
		}
	}
}

// BenchmarkFloat32Kernels times the scalar and SIMD kernels on the tiny GPT's shapes.
func BenchmarkFloat32Kernels(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 10))
	x := randFloat32s(rng, 32*64*512, 1)
	out := make([]float32, len(x))
	g, bb := randFloat32s(rng, 128, 1), randFloat32s(rng, 128, 1)
	xl, outl := randFloat32s(rng, 2048*3000, 1), make([]float32, 2048*3000)
	for _, k := range []struct {
		name string
		fn   func()
	}{
		{"gelu/scalar", func() { geluApproxChunkFloat32(x, out) }},
		{"gelu/simd", func() { geluApproxChunkFloat32x16(x, out) }},
		{"layernorm128/scalar", func() { layerNormTrailingAxes(x[:32*64*128], out, g, bb, 128, 1e-5) }},
		{"layernorm128/simd", func() { layerNormTrailingAxesFloat32x16(x[:32*64*128], out, g, bb, 128, 1e-5) }},
		{"softmax64/scalar", func() { fusedSoftmaxLastAxisFloat32(x[:32*4*64*64], out, 64) }},
		{"softmax64/simd", func() { fusedSoftmaxLastAxisFloat32x16(x[:32*4*64*64], out, 64) }},
		{"softmax3000/scalar", func() { fusedSoftmaxLastAxisFloat32(x[:300*3000], out, 3000) }},
		{"softmax3000/simd", func() { fusedSoftmaxLastAxisFloat32x16(x[:300*3000], out, 3000) }},
		{"softmax3000big/simd", func() { fusedSoftmaxLastAxisFloat32x16(xl, outl, 3000) }},
		{"bias512/scalar", func() { addBiasRows(out, x[:512]) }},
		{"bias512/simd", func() { addBiasRowsFloat32x16(out, x[:512]) }},
	} {
		b.Run(k.name, func(b *testing.B) {
			if !archsimd.X86.AVX512() && k.name[len(k.name)-4:] == "simd" {
				b.Skip("no AVX-512")
			}
			for b.Loop() {
				k.fn()
			}
		})
	}
}
