package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/divellm/divellm/llm/sample"
)

// attendRef is attention in float64 with the project's softmax, K row-major.
func attendRef(q []float32, k, v [][]float32, scale float64) []float64 {
	s := make([]float64, len(k))
	for j := range k {
		for c := range q {
			s[j] += float64(q[c]) * float64(k[j][c])
		}
		s[j] *= scale
	}
	p := sample.Probs(s)
	out := make([]float64, len(q))
	for j := range v {
		for c := range out {
			out[c] += p[j] * float64(v[j][c])
		}
	}
	return out
}

// TestAttendMatchesReference: every implementation agrees with float64 attention on
// random shapes, odd sizes, strides wider than the data and large scores.
func TestAttendMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, name := range Impls() {
		prev, _ := SetImpl(name)
		for _, d := range []int{1, 8, 17, 32, 64} {
			for _, n := range []int{1, 5, 16, 17, 41, 100} {
				for _, big := range []float32{1, 30} { // 30: scores far apart, softmax nearly one-hot
					ldk, ldv := n+3, d+5
					q := make([]float32, d, d+16) // spare lanes: masked tail loads stay inside the allocation (checkptr)
					k, v := make([][]float32, n), make([][]float32, n)
					kt, vv := make([]float32, d*ldk+16), make([]float32, n*ldv+16)
					for c := range q {
						q[c] = float32(r.NormFloat64()) * big
					}
					for j := range n {
						k[j], v[j] = make([]float32, d), make([]float32, d)
						for c := range d {
							k[j][c], v[j][c] = float32(r.NormFloat64()), float32(r.NormFloat64())
							kt[c*ldk+j], vv[j*ldv+c] = k[j][c], v[j][c]
						}
					}
					scale := 1 / math.Sqrt(float64(d))
					want := attendRef(q, k, v, scale)
					out := make([]float32, d, d+16)
					Attend(out, q, kt, vv, n, ldk, ldv, float32(scale), make([]float32, n+16))
					for c := range out {
						if e := math.Abs(float64(out[c]) - want[c]); e > 2e-5*(1+math.Abs(want[c])) {
							t.Fatalf("%s d=%d n=%d big=%g: out[%d] = %g, reference %g", name, d, n, big, c, out[c], want[c])
						}
					}
				}
			}
		}
		SetImpl(prev)
	}
}

// TestAttendPanicsOnShortOperands: wrong sizes are programming errors.
func TestAttendPanicsOnShortOperands(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	Attend(make([]float32, 4), make([]float32, 4), make([]float32, 3), make([]float32, 8), 2, 2, 4, 1, make([]float32, 2))
}

// BenchmarkAttend times one head of decode attention (d = 64) against n cached positions.
func BenchmarkAttend(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{65, 512} {
		d := 64
		q, kt, v := randF(rng, d), randF(rng, d*n), randF(rng, n*d)
		out, scores := make([]float32, d), make([]float32, n)
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			for b.Loop() {
				Attend(out, q, kt, v, n, n, d, 0.125, scores)
			}
		})
	}
}
