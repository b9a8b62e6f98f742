//go:build goexperiment.simd && amd64

package gemm

import (
	"fmt"
	"math/rand/v2"
	"simd/archsimd"
	"testing"
)

// BenchmarkMicroVNNI4 times the 4×64 VPDPBUSD tile alone on an L1-resident panel (kq=48)
// and an L2-resident one (kq=192); ns/vnni is the time per instruction (64 MACs).
func BenchmarkMicroVNNI4(b *testing.B) {
	if !archsimd.X86.AVX512VNNI() {
		b.Skip("no AVX512-VNNI")
	}
	for _, kq := range []int{48, 192} {
		a := make([]int8, 4*kq*4)
		w := make([]uint8, kq*256)
		var acc [4][nb]int32
		b.Run("", func(b *testing.B) {
			for b.Loop() {
				vnni4x64(&a[0], kq*4, &w[0], kq, &acc)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(kq*16), "ns/vnni")
		})
	}
}

// BenchmarkMicroWO4 times one int4 WeightOnly panel (64 channels, group 32, one zero point)
// for one row on one goroutine, L1/L2-resident: the table kernel (wo4x64) against the
// conversion kernel; ns/pair is the time per k-pair (128 multiply-adds).
func BenchmarkMicroWO4(b *testing.B) {
	for _, k := range []int{768, 3072} {
		rng := rand.New(rand.NewPCG(1, 2))
		codes, zero := randCodes(rng, nb*k, 4), make([]uint8, nb*k/32)
		for i := range zero {
			zero[i] = 8
		}
		l, _ := NewWeightOnly(4, codes, zero, randF(rng, nb*k/32), nil, nb, k, 32)
		x, xs, y := randF(rng, k), make([]float32, k/32), make([]float32, nb)
		for name, fn := range map[string]func(){
			"table":   func() { woPanel4Table(l, x, 1, y, 0) },
			"convert": func() { woPanelConvert512(l, x, xs, 1, y, 0) },
		} {
			b.Run(fmt.Sprintf("%s/k=%d", name, k), func(b *testing.B) {
				for b.Loop() {
					fn()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(k/2), "ns/pair")
			})
		}
	}
}
