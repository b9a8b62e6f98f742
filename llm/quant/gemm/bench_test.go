package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkLinear times y = x·Wᵀ + b for the week-3 shapes ([M×K]×[K×N]) with every layer
// type, using the implementation chosen for this CPU.
// GOEXPERIMENT=simd go test -bench Linear -run ^$ ./llm/quant/gemm
func BenchmarkLinear(b *testing.B) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, s := range [][3]int{{1, 768, 3072}, {1, 3072, 768}, {32, 768, 3072}} {
		m, k, n := s[0], s[1], s[2]
		w, x := randF(rng, n*k), randF(rng, m*k)
		codes, zero, scale := randCodes(rng, n*k, 8), randCodes(rng, n, 8), randF(rng, n)
		codes4, zero4, scale4 := randCodes(rng, n*k, 4), randCodes(rng, n*k/32, 4), randF(rng, n*k/32)
		f, _ := NewF32(w, n, k, nil)
		q8, _ := NewW8A8(codes, zero, scale, nil, n, k)
		wo8, _ := NewWeightOnly(8, codes, zero, scale, nil, n, k, k)
		wo4, _ := NewWeightOnly(4, codes4, zero4, scale4, nil, n, k, 32)
		w4a8, _ := NewW4A8(codes4, zero4, scale4, nil, n, k, 32)
		y := make([]float32, m*n)
		for _, l := range []struct {
			name string
			fwd  func(y, x []float32, m int) error
		}{{"f32", f.Forward}, {"w8a8", q8.Forward}, {"wo8", wo8.Forward}, {"wo4g32", wo4.Forward}, {"w4a8g32", w4a8.Forward}} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", l.name, m, k, n), func(b *testing.B) {
				for b.Loop() {
					if err := l.fwd(y, x, m); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
