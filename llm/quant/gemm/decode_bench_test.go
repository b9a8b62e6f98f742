package gemm

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDecodeLinears runs the 48 block matmuls of one GPT-2-small decode step (12
// layers of 768→2304, 768→768, 768→3072, 3072→768) with int4 group-32 symmetric weights,
// 53 MB of codes and scales, more than the L3 cache, so the weights stream from memory as
// when decoding; the LM head (768→50257, 24 MB: L3-resident when run alone) separately.
// best-ms is the fastest pass, cpu-ms the process CPU per pass, best-GB/s bytes/best-ms.
func BenchmarkDecodeLinears(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	mk := func(n, k int) *WeightOnly {
		codes, zero := randCodes(rng, n*k, 4), make([]uint8, n*k/32)
		for i := range zero {
			zero[i] = 8
		}
		scale := make([]float32, n*k/32)
		for i := range scale {
			scale[i] = 0.01 + rng.Float32()
		}
		l, err := NewWeightOnly(4, codes, zero, scale, nil, n, k, 32)
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	var blocks []*WeightOnly
	for range 12 {
		blocks = append(blocks, mk(2304, 768), mk(768, 768), mk(3072, 768), mk(768, 3072))
	}
	head := mk(50257, 768)
	x := randF(rng, 3072)
	y := make([]float32, 50257)
	for name, ls := range map[string][]*WeightOnly{"blocks": blocks, "head": {head}} {
		b.Run(name, func(b *testing.B) {
			cpu0 := cpuTime()
			best := time.Duration(1 << 62)
			for b.Loop() {
				t0 := time.Now()
				for _, l := range ls {
					if err := l.Forward(y[:l.N], x[:l.K], 1); err != nil {
						b.Fatal(err)
					}
				}
				best = min(best, time.Since(t0))
			}
			b.ReportMetric(float64(best.Microseconds())/1e3, "best-ms")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1e3/float64(b.N), "cpu-ms")
			var bytes int
			for _, l := range ls {
				bytes += l.Bytes()
			}
			b.ReportMetric(float64(bytes)/best.Seconds()/1e9, "best-GB/s")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
