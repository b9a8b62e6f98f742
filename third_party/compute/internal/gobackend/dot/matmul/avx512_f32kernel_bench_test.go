// Copyright 2023-2026 The GoMLX Authors. SPDX-License-Identifier: Apache-2.0

//go:build amd64 && goexperiment.simd

package matmul

import (
	"fmt"
	"math/rand/v2"
	"simd/archsimd"
	"testing"

	"github.com/gomlx/compute/internal/gobackend"
	"github.com/gomlx/compute/internal/gobackend/dot"
)

// gptMatMulShapes are the products of divellm's tiny GPT (d_model 128, d_ff 512, vocab
// 3000, 2048 tokens, 4 heads of 32) and of a larger one (d_model 256, d_ff 1024, 4096
// tokens, 4 heads of 64), as the DotGeneral executor hands them to the kernels.
var gptMatMulShapes = []struct {
	name           string
	layout         dot.Layout
	batch, m, n, k int
}{
	{"tiny/qkv_2048x128x384", dot.LayoutNonTransposed, 1, 2048, 384, 128},
	{"tiny/proj_2048x128x128", dot.LayoutNonTransposed, 1, 2048, 128, 128},
	{"tiny/ff1_2048x128x512", dot.LayoutNonTransposed, 1, 2048, 512, 128},
	{"tiny/head_2048x128x3000", dot.LayoutNonTransposed, 1, 2048, 3000, 128},
	{"tiny/ff2_2048x512x128", dot.LayoutNonTransposed, 1, 2048, 128, 512},
	{"tiny/gradW_128x2048x512", dot.LayoutNonTransposed, 1, 128, 512, 2048},
	{"tiny/gradWhead_128x2048x3000", dot.LayoutNonTransposed, 1, 128, 3000, 2048},
	{"tiny/scores_128x64x32x64T", dot.LayoutTransposed, 128, 64, 64, 32},
	{"tiny/ctx_128x64x64x32", dot.LayoutNonTransposed, 128, 64, 32, 64},
	// Weight and attention gradients in dot.LayoutContractingFirst (lhs [k, m]).
	{"tiny/cf_gradW_2048x128x512", dot.LayoutContractingFirst, 1, 128, 512, 2048},
	{"tiny/cf_gradWff2_2048x512x128", dot.LayoutContractingFirst, 1, 512, 128, 2048},
	{"tiny/cf_gradWhead_2048x128x3000", dot.LayoutContractingFirst, 1, 128, 3000, 2048},
	{"tiny/cf_dK_128x64x64x32", dot.LayoutContractingFirst, 128, 64, 32, 64},
	{"large/qkv_4096x256x768", dot.LayoutNonTransposed, 1, 4096, 768, 256},
	{"large/ff1_4096x256x1024", dot.LayoutNonTransposed, 1, 4096, 1024, 256},
	{"large/ff2_4096x1024x256", dot.LayoutNonTransposed, 1, 4096, 256, 1024},
	{"large/head_4096x256x3000", dot.LayoutNonTransposed, 1, 4096, 3000, 256},
	{"large/gradW_256x4096x1024", dot.LayoutNonTransposed, 1, 256, 1024, 4096},
	{"large/dX_4096x1024x256T", dot.LayoutTransposed, 1, 4096, 256, 1024},
	{"large/scores_128x128x64x128T", dot.LayoutTransposed, 128, 128, 128, 64},
	{"large/ctx_128x128x128x64", dot.LayoutNonTransposed, 128, 128, 64, 128},
}

// BenchmarkAVX512LargeFloat32 compares the archsimd 4×32 path ("old") with the assembly
// 14×32 path ("asm"), on 1 worker and on all; it reports GMAC/s (multiply-adds).
// Run: go test -run '^$' -bench AVX512LargeFloat32 -count 6 ./internal/gobackend/dot/matmul/
func BenchmarkAVX512LargeFloat32(b *testing.B) {
	if !archsimd.X86.AVX512() {
		b.Skip("AVX512 is not supported on this CPU")
	}
	for _, workers := range []int{1, -1} {
		backendAny, err := gobackend.New(fmt.Sprintf("parallelism=%d", workers))
		if err != nil {
			b.Fatal(err)
		}
		backend := backendAny.(*gobackend.Backend)
		rng := rand.New(rand.NewPCG(1, 1))
		for _, s := range gptMatMulShapes {
			lhs := randomFloat32s(rng, s.batch*s.m*s.k)
			rhs := randomFloat32s(rng, s.batch*s.k*s.n)
			out := make([]float32, s.batch*s.m*s.n)
			macs := float64(s.batch * s.m * s.n * s.k)
			for _, variant := range []string{"old", "asm"} {
				if variant == "old" && s.layout == dot.LayoutContractingFirst {
					continue // The archsimd path has no such layout.
				}
				b.Run(fmt.Sprintf("%s/w%d/%s", s.name, backend.Workers.AdjustedMaxParallelism(), variant), func(b *testing.B) {
					for b.Loop() {
						if variant == "old" {
							avx512LargeFloat32(backend, s.layout, lhs, rhs, s.batch, s.m, s.n, s.k, out)
						} else {
							avx512AsmLargeFloat32(backend, s.layout, lhs, rhs, s.batch, s.m, s.n, s.k, out)
						}
					}
					b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
				})
			}
		}
		backend.Finalize()
	}
}
