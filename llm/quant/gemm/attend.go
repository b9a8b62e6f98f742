package gemm

import (
	"fmt"
	"math"
)

// Attend computes one head of scaled dot-product attention for one query:
//
//	out = softmax(scale · q·Kᵀ) · V        q, out: [d]; K, V: [n, d]
//
// the step a decoder repeats for every new token, head and layer against its KV cache.
// K is stored transposed, kt[c·ldk + j] = K[j, c], so the n scores come out of d
// multiply-adds of 16 keys at a time with no horizontal sums; V is row-major,
// v[j·ldv + c] = V[j, c], so the weighted sum of rows stays in registers. scores is
// scratch space of at least n values. The softmax runs in float32 with a polynomial
// 2^x (relative error < 2e-7); the reference implementation uses math.Exp.
func Attend(out, q, kt, v []float32, n, ldk, ldv int, scale float32, scores []float32) {
	d := len(q)
	switch {
	case n < 1 || d < 1 || len(out) != d:
		panic(fmt.Sprintf("gemm.Attend: n = %d, len(q) = %d, len(out) = %d", n, d, len(out)))
	case ldk < n || len(kt) < (d-1)*ldk+n || ldv < d || len(v) < (n-1)*ldv+d || len(scores) < n:
		panic(fmt.Sprintf("gemm.Attend: operands too short for n = %d, d = %d", n, d))
	}
	if attendSIMD != nil && current.Load().name != "go" {
		attendSIMD(out, q, kt, v, n, ldk, ldv, scale, scores)
		return
	}
	attendGo(out, q, kt, v, n, ldk, ldv, scale, scores)
}

// attendSIMD is the vector implementation, when the build and the CPU have one.
var attendSIMD func(out, q, kt, v []float32, n, ldk, ldv int, scale float32, scores []float32)

// attendGo is the plain-Go reference of Attend.
func attendGo(out, q, kt, v []float32, n, ldk, ldv int, scale float32, scores []float32) {
	s := scores[:n]
	clear(s)
	for c, qc := range q {
		row := kt[c*ldk : c*ldk+n]
		for j, k := range row {
			s[j] += qc * k
		}
	}
	mx := float32(math.Inf(-1))
	for j := range s {
		s[j] *= scale
		mx = max(mx, s[j])
	}
	var sum float32
	for j := range s {
		s[j] = float32(math.Exp(float64(s[j] - mx)))
		sum += s[j]
	}
	clear(out)
	for j, p := range s {
		w := p / sum
		row := v[j*ldv : j*ldv+len(out)]
		for c := range out {
			out[c] += w * row[c]
		}
	}
}
