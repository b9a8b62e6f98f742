//go:build goexperiment.simd

package llm

import "simd/archsimd"

func init() {
	if archsimd.X86.AVX512() {
		adamApply = adamApplyX16
	}
}

// adamApplyX16 is adamHyper.apply 16 weights at a time: the same float32 operations in the
// same order (no fused multiply-add; VSQRTPS rounds √ like float32(math.Sqrt(float64(x)))),
// so the same bits. The tail goes through apply.
func adamApplyX16(h adamHyper, p, m, v, g []float32, wd float32) {
	n := len(p)
	m, v, g = m[:n], v[:n], g[:n]
	b := archsimd.BroadcastFloat32x16
	scale, b1, c1, b2, c2 := b(h.scale), b(h.b1), b(h.c1), b(h.b2), b(h.c2)
	bc1, bc2, eps, lr, wdv := b(h.bc1), b(h.bc2), b(h.eps), b(h.lr), b(wd)
	i := 0
	for ; i+16 <= n; i += 16 {
		gi := archsimd.LoadFloat32x16Slice(g[i : i+16]).Mul(scale)
		mi := archsimd.LoadFloat32x16Slice(m[i : i+16]).Mul(b1).Add(gi.Mul(c1))
		vi := archsimd.LoadFloat32x16Slice(v[i : i+16]).Mul(b2).Add(gi.Mul(gi).Mul(c2))
		mi.StoreSlice(m[i : i+16])
		vi.StoreSlice(v[i : i+16])
		upd := mi.Div(bc1).Div(vi.Div(bc2).Sqrt().Add(eps))
		w := archsimd.LoadFloat32x16Slice(p[i : i+16])
		w = w.Sub(w.Mul(wdv))
		w.Sub(upd.Mul(lr)).StoreSlice(p[i : i+16])
	}
	archsimd.ClearAVXUpperBits()
	if i < n {
		h.apply(p[i:], m[i:], v[i:], g[i:], wd)
	}
}
