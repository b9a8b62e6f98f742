//go:build goexperiment.simd && amd64

package gemm

import (
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
