//go:build goexperiment.simd && amd64

package gemm

import (
	"math"

	"simd/archsimd"
)

func init() {
	if archsimd.X86.AVX512() && archsimd.X86.FMA() {
		attendSIMD = attend512
	}
}

// exp2Coef are the Taylor coefficients of 2^f = e^(f·ln 2) for |f| ≤ ½, ln2^k/k!, k = 7…0
// (truncation error < 6e-9 relative, below float32 rounding).
var exp2Coef = [8]float32{1.5252734e-05, 1.5403530e-04, 1.3333558e-03, 9.6181291e-03,
	5.5504109e-02, 2.4022651e-01, 6.9314718e-01, 1}

// exp16 returns e^x for 16 lanes: x·log2 e = n + f with n an integer and |f| ≤ ½, then
// 2^f by the polynomial, scaled by 2^n (VSCALEFPS, which also underflows to 0 gracefully).
func exp16(x f16) f16 {
	t := x.Mul(archsimd.BroadcastFloat32x16(math.Log2E))
	n := t.RoundToEvenScaled(0)
	f := t.Sub(n)
	bc := archsimd.BroadcastFloat32x16
	p := bc(exp2Coef[0]).MulAdd(f, bc(exp2Coef[1])).MulAdd(f, bc(exp2Coef[2])).MulAdd(f, bc(exp2Coef[3])).
		MulAdd(f, bc(exp2Coef[4])).MulAdd(f, bc(exp2Coef[5])).MulAdd(f, bc(exp2Coef[6])).MulAdd(f, bc(exp2Coef[7]))
	return p.Scale(n)
}

func hmax16(x f16) float32 {
	var t [16]float32
	x.Store(&t)
	m := t[0]
	for _, v := range t[1:] {
		m = max(m, v)
	}
	return m
}

func hsum16(x f16) float32 {
	var t [16]float32
	x.Store(&t)
	return ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7])) +
		((t[8] + t[9]) + (t[10] + t[11])) + ((t[12] + t[13]) + (t[14] + t[15]))
}

// attend512 is Attend with 16-lane vectors: scores 16 keys at a time, the softmax in
// registers, then out accumulated 16 features at a time over the keys.
func attend512(out, q, kt, v []float32, n, ldk, ldv int, scale float32, scores []float32) {
	d := len(q)
	sc := archsimd.BroadcastFloat32x16(scale)
	ninf := archsimd.BroadcastFloat32x16(float32(math.Inf(-1)))
	mx := ninf
	for j := 0; j < n; j += 16 {
		var acc0, acc1 f16
		c := 0
		for ; c+2 <= d; c += 2 { // two accumulators hide the FMA latency
			acc0 = archsimd.LoadFloat32x16SlicePart(kt[c*ldk+j:c*ldk+n]).MulAdd(archsimd.BroadcastFloat32x16(q[c]), acc0)
			acc1 = archsimd.LoadFloat32x16SlicePart(kt[(c+1)*ldk+j:(c+1)*ldk+n]).MulAdd(archsimd.BroadcastFloat32x16(q[c+1]), acc1)
		}
		if c < d {
			acc0 = archsimd.LoadFloat32x16SlicePart(kt[c*ldk+j:c*ldk+n]).MulAdd(archsimd.BroadcastFloat32x16(q[c]), acc0)
		}
		s := acc0.Add(acc1).Mul(sc)
		if n-j < 16 { // lanes past n must not win the max
			var lane [16]float32
			for i := range lane {
				if i >= n-j {
					lane[i] = float32(math.Inf(-1))
				}
			}
			s = s.Add(archsimd.LoadFloat32x16(&lane))
		}
		mx = mx.Max(s)
		s.StoreSlicePart(scores[j:n])
	}
	m := archsimd.BroadcastFloat32x16(hmax16(mx))
	var sum f16
	for j := 0; j < n; j += 16 {
		e := exp16(archsimd.LoadFloat32x16SlicePart(scores[j:n]).Sub(m))
		if n-j < 16 {
			e.StoreSlicePart(scores[j:n])
			e = archsimd.LoadFloat32x16SlicePart(scores[j:n]) // lanes past n read back as 0
		} else {
			e.Store((*[16]float32)(scores[j : j+16]))
		}
		sum = sum.Add(e)
	}
	inv := 1 / hsum16(sum)
	for c := 0; c < d; c += 16 {
		var a0, a1 f16
		j := 0
		for ; j+2 <= n; j += 2 {
			a0 = archsimd.LoadFloat32x16SlicePart(v[j*ldv+c:j*ldv+d]).MulAdd(archsimd.BroadcastFloat32x16(scores[j]), a0)
			a1 = archsimd.LoadFloat32x16SlicePart(v[(j+1)*ldv+c:(j+1)*ldv+d]).MulAdd(archsimd.BroadcastFloat32x16(scores[j+1]), a1)
		}
		if j < n {
			a0 = archsimd.LoadFloat32x16SlicePart(v[j*ldv+c:j*ldv+d]).MulAdd(archsimd.BroadcastFloat32x16(scores[j]), a0)
		}
		a0.Add(a1).Mul(archsimd.BroadcastFloat32x16(inv)).StoreSlicePart(out[c:])
	}
}
