// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

//go:build amd64 && goexperiment.simd

package matmul

import (
	"math"
	"math/rand/v2"
	"simd/archsimd"
	"testing"
	"unsafe"

	"github.com/gomlx/compute/internal/gobackend"
	"github.com/gomlx/compute/internal/gobackend/dot"
)

// f32MatMulTolerance is the bound the tests accept for a float32 dot product of length k
// against the float64 reference: k float32 roundings of the running sum, each at most
// 2^-24 of the sum of absolute products (plus the product roundings).
func f32MatMulTolerance(k int, sumAbs float64) float64 {
	return float64(k+2)*math.Ldexp(1, -24)*sumAbs + 1e-30
}

func randomFloat32s(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func TestAVX512KernelFloat32x14x32(t *testing.T) {
	if !archsimd.X86.AVX512() {
		t.Skip("AVX512 is not supported on this CPU")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const mr, nr = avx512F32KernelRows, avx512F32KernelCols
	for _, k := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 31, 64, 67} {
		lda := k + 3 // A stored with a row stride larger than k.
		ldc := nr + 5
		a := randomFloat32s(rng, mr*lda+1)
		b := randomFloat32s(rng, k*nr+1)
		for rows := 1; rows <= mr; rows++ {
			for cols := 1; cols <= nr; cols++ {
				for _, accumulate := range []bool{false, true} {
					c := randomFloat32s(rng, mr*ldc)
					c0 := append([]float32(nil), c...)
					mask := uint64(1)<<cols - 1
					avx512KernelFloat32x14x32(unsafe.Pointer(&a[0]), uintptr(lda*4), unsafe.Pointer(&b[0]), k,
						unsafe.Pointer(&c[0]), uintptr(ldc*4), rows, mask, accumulate)
					for r := range mr {
						for j := range ldc {
							got := c[r*ldc+j]
							if r >= rows || j >= cols {
								if got != c0[r*ldc+j] {
									t.Fatalf("k=%d rows=%d cols=%d acc=%v: C[%d,%d] written outside the tile", k, rows, cols, accumulate, r, j)
								}
								continue
							}
							want, sumAbs := 0.0, 0.0
							if accumulate {
								want = float64(c0[r*ldc+j])
								sumAbs = math.Abs(want)
							}
							for kk := range k {
								p := float64(a[r*lda+kk]) * float64(b[kk*nr+j])
								want += p
								sumAbs += math.Abs(p)
							}
							if math.Abs(float64(got)-want) > f32MatMulTolerance(k, sumAbs) {
								t.Fatalf("k=%d rows=%d cols=%d acc=%v: C[%d,%d]=%g, want %g", k, rows, cols, accumulate, r, j, got, want)
							}
						}
					}
				}
			}
		}
	}
}

func TestAVX512KernelFloat32x14x32Packed(t *testing.T) {
	if !archsimd.X86.AVX512() {
		t.Skip("AVX512 is not supported on this CPU")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	const mr, nr = avx512F32KernelRows, avx512F32KernelCols
	for _, k := range []int{0, 1, 3, 4, 5, 8, 13, 40} {
		for rows := 1; rows <= mr; rows++ {
			// A stored [k, m] (contracting first) with m = rows + 3: pack its first rows columns.
			m := rows + 3
			aT := randomFloat32s(rng, k*m+1)
			packed := randomFloat32s(rng, k*mr+2) // garbage, must be overwritten
			if k > 0 {
				avx512PackLHSTile14(unsafe.Pointer(&packed[0]), unsafe.Pointer(&aT[0]), uintptr(m*4), k, rows)
			}
			for kk := range k {
				for r := range mr {
					want := float32(0)
					if r < rows {
						want = aT[kk*m+r]
					}
					if packed[kk*mr+r] != want {
						t.Fatalf("pack k=%d rows=%d: [%d,%d]=%g, want %g", k, rows, kk, r, packed[kk*mr+r], want)
					}
				}
			}
			b := randomFloat32s(rng, k*nr+1)
			for _, cols := range []int{1, 15, 16, 17, 31, 32} {
				for _, accumulate := range []bool{false, true} {
					const ldc = nr + 2
					c := randomFloat32s(rng, mr*ldc)
					c0 := append([]float32(nil), c...)
					aPtr, aStride := unsafe.Pointer(&packed[0]), uintptr(mr*4)
					if cols%2 == 1 && rows+3 >= mr {
						// A read in place, k steps m apart (it has at least 14 columns).
						aPtr, aStride = unsafe.Pointer(&aT[0]), uintptr(m*4)
					}
					avx512KernelFloat32x14x32Packed(aPtr, aStride, unsafe.Pointer(&b[0]), k,
						unsafe.Pointer(&c[0]), ldc*4, rows, uint64(1)<<cols-1, accumulate)
					for r := range mr {
						for j := range ldc {
							got := c[r*ldc+j]
							if r >= rows || j >= cols {
								if got != c0[r*ldc+j] {
									t.Fatalf("k=%d rows=%d cols=%d: C[%d,%d] written outside the tile", k, rows, cols, r, j)
								}
								continue
							}
							want, sumAbs := 0.0, 0.0
							if accumulate {
								want = float64(c0[r*ldc+j])
								sumAbs = math.Abs(want)
							}
							for kk := range k {
								p := float64(aT[kk*m+r]) * float64(b[kk*nr+j])
								want += p
								sumAbs += math.Abs(p)
							}
							if math.Abs(float64(got)-want) > f32MatMulTolerance(k, sumAbs) {
								t.Fatalf("k=%d rows=%d cols=%d acc=%v: C[%d,%d]=%g, want %g", k, rows, cols, accumulate, r, j, got, want)
							}
						}
					}
				}
			}
		}
	}
}

func TestAVX512PackRHSTransposed(t *testing.T) {
	if !archsimd.X86.AVX512() {
		t.Skip("AVX512 is not supported on this CPU")
	}
	rng := rand.New(rand.NewPCG(9, 10))
	const nr = avx512F32KernelCols
	for range 200 {
		n, kTotal := 1+rng.IntN(100), 1+rng.IntN(70)
		colStart, kStart := rng.IntN(n), rng.IntN(kTotal)
		numCols, k := 1+rng.IntN(n-colStart), 1+rng.IntN(kTotal-kStart)
		rhs := randomFloat32s(rng, n*kTotal)
		numStrips := (numCols + nr - 1) / nr
		packed := randomFloat32s(rng, numStrips*k*nr)
		avx512PackRHSTransposed(rhs, packed, colStart, kStart, kTotal, numCols, k)
		for s := range numStrips {
			for kk := range k {
				for j := range nr {
					want := float32(0)
					if col := s*nr + j; col < numCols {
						want = rhs[(colStart+col)*kTotal+kStart+kk]
					}
					if got := packed[s*k*nr+kk*nr+j]; got != want {
						t.Fatalf("n=%d k=%d cols [%d,+%d) k [%d,+%d): strip %d [%d,%d]=%g, want %g",
							n, kTotal, colStart, numCols, kStart, k, s, kk, j, got, want)
					}
				}
			}
		}
	}
}

// referenceMatMul computes the batched product in float64 and returns it with the sums of
// absolute products (for the tolerance).
func referenceMatMul(layout dot.Layout, lhs, rhs []float32, batchSize, m, n, k int) (out, sumAbs []float64) {
	out = make([]float64, batchSize*m*n)
	sumAbs = make([]float64, batchSize*m*n)
	for b := range batchSize {
		for i := range m {
			for j := range n {
				var s, sa float64
				for kk := range k {
					var r float32
					if layout != dot.LayoutTransposed {
						r = rhs[b*k*n+kk*n+j]
					} else {
						r = rhs[b*n*k+j*k+kk]
					}
					l := lhs[b*m*k+i*k+kk]
					if layout == dot.LayoutContractingFirst {
						l = lhs[b*m*k+kk*m+i]
					}
					p := float64(l) * float64(r)
					s += p
					sa += math.Abs(p)
				}
				out[b*m*n+i*n+j] = s
				sumAbs[b*m*n+i*n+j] = sa
			}
		}
	}
	return
}

func checkAsmLargeFloat32(t *testing.T, backend *gobackend.Backend, rng *rand.Rand, layout dot.Layout, batchSize, m, n, k int) {
	t.Helper()
	lhs := randomFloat32s(rng, batchSize*m*k)
	rhs := randomFloat32s(rng, batchSize*k*n)
	out := randomFloat32s(rng, batchSize*m*n+7) // Garbage in, and a guard tail.
	guard := append([]float32(nil), out[batchSize*m*n:]...)
	avx512AsmLargeFloat32(backend, layout, lhs, rhs, batchSize, m, n, k, out[:batchSize*m*n])
	want, sumAbs := referenceMatMul(layout, lhs, rhs, batchSize, m, n, k)
	for i, w := range want {
		if math.Abs(float64(out[i])-w) > f32MatMulTolerance(k, sumAbs[i]) {
			t.Fatalf("layout=%s batch=%d m=%d n=%d k=%d: out[%d]=%g, want %g", layout, batchSize, m, n, k, i, out[i], w)
		}
	}
	for i, g := range guard {
		if out[batchSize*m*n+i] != g {
			t.Fatalf("layout=%s batch=%d m=%d n=%d k=%d: wrote past the output", layout, batchSize, m, n, k)
		}
	}
}

func TestAVX512AsmLargeFloat32(t *testing.T) {
	if !archsimd.X86.AVX512() {
		t.Skip("AVX512 is not supported on this CPU")
	}
	backendAny, err := gobackend.New("")
	if err != nil {
		t.Fatal(err)
	}
	backend := backendAny.(*gobackend.Backend)
	defer backend.Finalize()
	rng := rand.New(rand.NewPCG(3, 4))
	layouts := []dot.Layout{dot.LayoutNonTransposed, dot.LayoutTransposed, dot.LayoutContractingFirst}

	t.Run("RandomShapes", func(t *testing.T) {
		for range 300 {
			m, n, k := 1+rng.IntN(70), 1+rng.IntN(70), 1+rng.IntN(70)
			batchSize := 1 + rng.IntN(3)
			checkAsmLargeFloat32(t, backend, rng, layouts[rng.IntN(len(layouts))], batchSize, m, n, k)
		}
	})
	t.Run("EveryTail", func(t *testing.T) {
		// Every row tail (m mod 14) and column tail (n mod 32), contracting tails.
		for m := 1; m <= 2*avx512F32KernelRows+1; m++ {
			for _, layout := range layouts {
				checkAsmLargeFloat32(t, backend, rng, layout, 1, m, 1+rng.IntN(2*avx512F32KernelCols+1), 1+rng.IntN(9))
			}
		}
		for n := 1; n <= 2*avx512F32KernelCols+1; n++ {
			for _, layout := range layouts {
				checkAsmLargeFloat32(t, backend, rng, layout, 1, 1+rng.IntN(30), n, 1+rng.IntN(9))
			}
		}
	})
	t.Run("Panels", func(t *testing.T) {
		// Several column and contracting panels, with the default and with small panels,
		// products large enough to be split between workers.
		saved := AVX512AsmParamsFloat32
		defer func() { AVX512AsmParamsFloat32 = saved }()
		for _, params := range []CacheParams{saved, {avx512F32KernelRows, avx512F32KernelCols, 20, 28, 64}} {
			AVX512AsmParamsFloat32 = params
			for _, layout := range layouts {
				checkAsmLargeFloat32(t, backend, rng, layout, 1, 129, 600, 530)
				checkAsmLargeFloat32(t, backend, rng, layout, 1, 300, 70, 257)
				checkAsmLargeFloat32(t, backend, rng, layout, 3, 45, 97, 61)
				checkAsmLargeFloat32(t, backend, rng, layout, 8, 64, 64, 32)
				checkAsmLargeFloat32(t, backend, rng, layout, 2, 7, 5, 0)
				// Row strides a multiple of 2 KB: A tiles copied with a padded stride.
				checkAsmLargeFloat32(t, backend, rng, layout, 1, 45, 70, 1024)
				checkAsmLargeFloat32(t, backend, rng, layout, 2, 31, 40, 512)
			}
		}
	})
}

func TestAVX512AsmSplitWork(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for range 2000 {
		batchSize, m, n := 1+rng.IntN(9), 1+rng.IntN(400), 1+rng.IntN(400)
		k := 1 + rng.IntN(300)
		workers := 1 + rng.IntN(8)
		items := avx512AsmSplitWork(batchSize, m, n, k, workers)
		count := make([]int, batchSize*m*n)
		for _, it := range items {
			for b := it.batchStart; b < it.batchEnd; b++ {
				for i := it.lhsRowStart; i < it.lhsRowEnd; i++ {
					for j := it.rhsColStart; j < it.rhsColEnd; j++ {
						count[b*m*n+i*n+j]++
					}
				}
			}
		}
		for i, c := range count {
			if c != 1 {
				t.Fatalf("batch=%d m=%d n=%d workers=%d: output %d covered %d times (items %v)", batchSize, m, n, workers, i, c, items)
			}
		}
	}
}
