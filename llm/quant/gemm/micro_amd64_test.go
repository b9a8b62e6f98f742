package gemm

import "testing"

func BenchmarkMicroVNNI4(b *testing.B) {
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
