// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

package fastmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// vectorInputs returns a dense grid over [lo, hi], random values, and the special values.
func vectorInputs(lo, hi, step float32) []float32 {
	var xs []float32
	for x := lo; x <= hi; x += step {
		xs = append(xs, x)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 10_000 {
		xs = append(xs, float32(r.NormFloat64()*20))
	}
	return append(xs, 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), math.MaxFloat32, -math.MaxFloat32, 88.72, 88.73, -87.33, -103.9, -104.1, 1e-30, -1e-30)
}

// sameFloat is equality that also matches NaN with NaN and tells -0 from +0.
func sameFloat(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b) || (a != a && b != b)
}

func checkExp(t *testing.T, name string, expFn func(dst, src []float32)) {
	t.Helper()
	xs := vectorInputs(-110, 95, 0.0007)
	got := make([]float32, len(xs))
	expFn(got, xs)
	for i, x := range xs {
		want := math.Exp(float64(x))
		w32 := float32(want)
		switch {
		case math.IsNaN(want) || math.IsInf(float64(w32), 0) || w32 == 0:
			if !sameFloat(got[i], w32) {
				t.Fatalf("%s: exp(%g) = %g, want %g", name, x, got[i], w32)
			}
		case w32 < math.SmallestNonzeroFloat32*(1<<23): // subnormal: absolute error of one subnormal step.
			if math.Abs(float64(got[i])-want) > math.SmallestNonzeroFloat32 {
				t.Fatalf("%s: exp(%g) = %g, want %g (subnormal)", name, x, got[i], want)
			}
		default:
			if rel := math.Abs(float64(got[i])-want) / want; rel > 2.5e-7 {
				t.Fatalf("%s: exp(%g) = %g, want %g: relative error %.2g", name, x, got[i], want, rel)
			}
		}
	}
}

func checkTanh(t *testing.T, name string, tanhFn func(dst, src []float32)) {
	t.Helper()
	xs := vectorInputs(-12, 12, 0.0001)
	got := make([]float32, len(xs))
	tanhFn(got, xs)
	for i, x := range xs {
		want := math.Tanh(float64(x))
		if math.IsNaN(want) || x == 0 || math.IsInf(float64(x), 0) {
			if !sameFloat(got[i], float32(want)) {
				t.Fatalf("%s: tanh(%g) = %g, want %g", name, x, got[i], float32(want))
			}
			continue
		}
		// Absolute error of a few float32 ulps of the result, relative below 0.625 where
		// the result is small.
		tol := 2.5e-7
		if math.Abs(float64(x)) < tanhSmall {
			tol = 2.5e-7 * math.Abs(want)
		}
		if math.Abs(float64(got[i])-want) > tol {
			t.Fatalf("%s: tanh(%g) = %g, want %g: error %.2g", name, x, got[i], want, math.Abs(float64(got[i])-want))
		}
	}
}

func TestExpFloat32s(t *testing.T) {
	checkExp(t, "ExpFloat32s", ExpFloat32s)
}

func TestTanhFloat32s(t *testing.T) {
	checkTanh(t, "TanhFloat32s", TanhFloat32s)
}

// TestVectorTails: every length (so every tail size of the 8- and 16-lane loops), with
// dst aliasing src, matches the elementwise result of the same function.
func TestVectorTails(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, fn := range []struct {
		name string
		f    func(dst, src []float32)
	}{{"exp", ExpFloat32s}, {"tanh", TanhFloat32s}} {
		for n := range 40 {
			src := make([]float32, n)
			for i := range src {
				src[i] = float32(r.NormFloat64() * 3)
			}
			want := make([]float32, n)
			for i := range src {
				one := []float32{0}
				fn.f(one, src[i:i+1])
				want[i] = one[0]
			}
			// dst longer than src: the extra elements must stay untouched.
			dst := append(append([]float32(nil), src...), 42)
			fn.f(dst, dst[:n])
			for i := range n {
				if !sameFloat(dst[i], want[i]) {
					t.Fatalf("%s length %d: element %d = %g, alone %g", fn.name, n, i, dst[i], want[i])
				}
			}
			if dst[n] != 42 {
				t.Fatalf("%s length %d wrote past len(src)", fn.name, n)
			}
		}
	}
}

func BenchmarkExpFloat32s(b *testing.B) {
	src := vectorInputs(-20, 20, 0.01)[:4096]
	dst := make([]float32, len(src))
	for b.Loop() {
		ExpFloat32s(dst, src)
	}
}

func BenchmarkTanhFloat32s(b *testing.B) {
	src := vectorInputs(-5, 5, 0.01)[:4096]
	dst := make([]float32, len(src))
	for b.Loop() {
		TanhFloat32s(dst, src)
	}
}
