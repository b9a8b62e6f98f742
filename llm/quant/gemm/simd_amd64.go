//go:build goexperiment.simd && amd64

package gemm

import "simd/archsimd"

// registerSIMD adds the archsimd implementations the CPU supports, fastest first.
// Tiles keep at most 13 vectors live: Go's register allocator uses 15 vector registers and
// spilling an accumulator costs a store and a load per multiply-add.
func registerSIMD() {
	x := archsimd.X86
	if x.AVX512() && x.FMA() {
		im := &impl{
			name:       "avx512",
			f32Panel:   f32Panel512,
			quantRows:  quantRows512,
			w8Acc:      w8AccAVX2,
			w8Epilogue: w8Epilogue512,
			woPanel:    woPanel512,
			wo4OneZero: true,
			woDequant:  woDequant512,
			w4Acc:      w4AccGo,
			w4Epilogue: w4Epilogue512,
			dot:        dot512,
			axpy:       axpy512,
			gelu:       gelu512,
		}
		if x.AVX512VNNI() {
			im.name, im.w8Acc, im.w4Acc, im.w4Fused = "avx512+vnni", w8AccVNNI, w4AccVNNI, w4FusedVNNI
		}
		register(im)
	}
	if x.AVX2() && x.FMA() {
		register(&impl{
			name:       "avx2",
			f32Panel:   f32Panel256,
			quantRows:  quantRows256,
			w8Acc:      w8AccAVX2,
			w8Epilogue: w8EpilogueGo,
			woPanel:    woPanel256,
			woDequant:  woDequantGo,
			w4Acc:      w4AccGo,
			w4Epilogue: w4EpilogueGo,
			dot:        dotGo,
			axpy:       axpyGo,
			gelu:       geluGo,
		})
	}
}

type (
	f16 = archsimd.Float32x16
	f8  = archsimd.Float32x8
)

func ld16(s []float32) f16 { return archsimd.LoadFloat32x16((*[16]float32)(s[:16])) }
func ld8(s []float32) f8   { return archsimd.LoadFloat32x8((*[8]float32)(s[:8])) }

// tail returns s[lo:], or nil when lo is past the end (for partial stores).
func tail(s []float32, lo int) []float32 {
	if lo >= len(s) {
		return nil
	}
	return s[lo:]
}

// store64 writes a0..a3 + bias to dst (up to 64 values; fewer at the last panel).
func store64(dst, bias []float32, a0, a1, a2, a3 f16) {
	if len(dst) == nb {
		a0.Add(ld16(bias[0:])).Store((*[16]float32)(dst[0:16]))
		a1.Add(ld16(bias[16:])).Store((*[16]float32)(dst[16:32]))
		a2.Add(ld16(bias[32:])).Store((*[16]float32)(dst[32:48]))
		a3.Add(ld16(bias[48:])).Store((*[16]float32)(dst[48:64]))
		return
	}
	a0.Add(ld16(bias[0:])).StoreSlicePart(dst)
	a1.Add(ld16(bias[16:])).StoreSlicePart(tail(dst, 16))
	a2.Add(ld16(bias[32:])).StoreSlicePart(tail(dst, 32))
	a3.Add(ld16(bias[48:])).StoreSlicePart(tail(dst, 48))
}

// f32Panel512: tiles of 2 rows × 64 channels (8 accumulators) and, for an odd last row,
// 1 row × 64 channels with k unrolled twice (8 accumulators).
func f32Panel512(jb *f32Job, x []float32, m int, y []float32) {
	k, pan, n0, nc, n, bias := jb.k, jb.pan, jb.n0, jb.nc, jb.n, jb.bias
	r := 0
	for ; r+2 <= m; r += 2 {
		x0 := x[r*k : (r+1)*k]
		x1 := x[(r+1)*k : (r+2)*k]
		var a0, a1, a2, a3, b0, b1, b2, b3 f16
		for j := 0; j < k; j++ {
			w := pan[j*nb : j*nb+nb]
			u := archsimd.BroadcastFloat32x16(x0[j])
			v := archsimd.BroadcastFloat32x16(x1[j])
			w0 := ld16(w[0:])
			a0 = w0.MulAdd(u, a0)
			b0 = w0.MulAdd(v, b0)
			w1 := ld16(w[16:])
			a1 = w1.MulAdd(u, a1)
			b1 = w1.MulAdd(v, b1)
			w2 := ld16(w[32:])
			a2 = w2.MulAdd(u, a2)
			b2 = w2.MulAdd(v, b2)
			w3 := ld16(w[48:])
			a3 = w3.MulAdd(u, a3)
			b3 = w3.MulAdd(v, b3)
		}
		store64(y[r*n+n0:r*n+n0+nc], bias, a0, a1, a2, a3)
		store64(y[(r+1)*n+n0:(r+1)*n+n0+nc], bias, b0, b1, b2, b3)
	}
	if r < m {
		x0 := x[r*k : (r+1)*k]
		var a0, a1, a2, a3, b0, b1, b2, b3 f16
		j := 0
		for ; j+2 <= k; j += 2 {
			w := pan[j*nb : j*nb+2*nb]
			u := archsimd.BroadcastFloat32x16(x0[j])
			v := archsimd.BroadcastFloat32x16(x0[j+1])
			a0 = ld16(w[0:]).MulAdd(u, a0)
			a1 = ld16(w[16:]).MulAdd(u, a1)
			a2 = ld16(w[32:]).MulAdd(u, a2)
			a3 = ld16(w[48:]).MulAdd(u, a3)
			b0 = ld16(w[64:]).MulAdd(v, b0)
			b1 = ld16(w[80:]).MulAdd(v, b1)
			b2 = ld16(w[96:]).MulAdd(v, b2)
			b3 = ld16(w[112:]).MulAdd(v, b3)
		}
		if j < k {
			w := pan[j*nb : j*nb+nb]
			u := archsimd.BroadcastFloat32x16(x0[j])
			a0 = ld16(w[0:]).MulAdd(u, a0)
			a1 = ld16(w[16:]).MulAdd(u, a1)
			a2 = ld16(w[32:]).MulAdd(u, a2)
			a3 = ld16(w[48:]).MulAdd(u, a3)
		}
		store64(y[r*n+n0:r*n+n0+nc], bias, a0.Add(b0), a1.Add(b1), a2.Add(b2), a3.Add(b3))
	}
}

// f32Panel256 is f32Panel512 with 256-bit vectors, one half panel (32 channels) at a time.
func f32Panel256(jb *f32Job, x []float32, m int, y []float32) {
	k, pan, n0, nc, n := jb.k, jb.pan, jb.n0, jb.nc, jb.n
	for h := 0; h < nb; h += 32 {
		if h >= nc {
			break
		}
		hc := min(32, nc-h)
		bias := jb.bias[h : h+32]
		r := 0
		for ; r+2 <= m; r += 2 {
			x0 := x[r*k : (r+1)*k]
			x1 := x[(r+1)*k : (r+2)*k]
			var a0, a1, a2, a3, b0, b1, b2, b3 f8
			for j := 0; j < k; j++ {
				w := pan[j*nb+h : j*nb+h+32]
				u := archsimd.BroadcastFloat32x8(x0[j])
				v := archsimd.BroadcastFloat32x8(x1[j])
				w0 := ld8(w[0:])
				a0 = w0.MulAdd(u, a0)
				b0 = w0.MulAdd(v, b0)
				w1 := ld8(w[8:])
				a1 = w1.MulAdd(u, a1)
				b1 = w1.MulAdd(v, b1)
				w2 := ld8(w[16:])
				a2 = w2.MulAdd(u, a2)
				b2 = w2.MulAdd(v, b2)
				w3 := ld8(w[24:])
				a3 = w3.MulAdd(u, a3)
				b3 = w3.MulAdd(v, b3)
			}
			store32(y[r*n+n0+h:r*n+n0+h+hc], bias, a0, a1, a2, a3)
			store32(y[(r+1)*n+n0+h:(r+1)*n+n0+h+hc], bias, b0, b1, b2, b3)
		}
		if r < m {
			x0 := x[r*k : (r+1)*k]
			var a0, a1, a2, a3, b0, b1, b2, b3 f8
			j := 0
			for ; j+2 <= k; j += 2 {
				w := pan[j*nb+h : j*nb+h+nb+32]
				u := archsimd.BroadcastFloat32x8(x0[j])
				v := archsimd.BroadcastFloat32x8(x0[j+1])
				a0 = ld8(w[0:]).MulAdd(u, a0)
				a1 = ld8(w[8:]).MulAdd(u, a1)
				a2 = ld8(w[16:]).MulAdd(u, a2)
				a3 = ld8(w[24:]).MulAdd(u, a3)
				b0 = ld8(w[64:]).MulAdd(v, b0)
				b1 = ld8(w[72:]).MulAdd(v, b1)
				b2 = ld8(w[80:]).MulAdd(v, b2)
				b3 = ld8(w[88:]).MulAdd(v, b3)
			}
			if j < k {
				w := pan[j*nb+h : j*nb+h+32]
				u := archsimd.BroadcastFloat32x8(x0[j])
				a0 = ld8(w[0:]).MulAdd(u, a0)
				a1 = ld8(w[8:]).MulAdd(u, a1)
				a2 = ld8(w[16:]).MulAdd(u, a2)
				a3 = ld8(w[24:]).MulAdd(u, a3)
			}
			store32(y[r*n+n0+h:r*n+n0+h+hc], bias, a0.Add(b0), a1.Add(b1), a2.Add(b2), a3.Add(b3))
		}
	}
}

// store32 writes a0..a3 + bias to dst (up to 32 values).
func store32(dst, bias []float32, a0, a1, a2, a3 f8) {
	a0.Add(ld8(bias[0:])).StoreSlicePart(dst)
	a1.Add(ld8(bias[8:])).StoreSlicePart(tail(dst, 8))
	a2.Add(ld8(bias[16:])).StoreSlicePart(tail(dst, 16))
	a3.Add(ld8(bias[24:])).StoreSlicePart(tail(dst, 24))
}

// rowAbsMax returns max|v| over row, 16 lanes at a time.
func rowAbsMax512(row []float32) float32 {
	var mx, zero f16
	j := 0
	for ; j+16 <= len(row); j += 16 {
		v := ld16(row[j:])
		mx = mx.Max(v.Max(zero.Sub(v)))
	}
	var t [16]float32
	mx.Store(&t)
	var amax float32
	for _, v := range t {
		amax = max(amax, v)
	}
	for _, v := range row[j:] {
		amax = max(amax, max(v, -v))
	}
	return amax
}

// quantRows512 is quantRowsGo with 16 lanes: scale, round half to even (VRNDSCALEPS),
// convert (VCVTTPS2DQ, exact after rounding), narrow to bytes (VPMOVDB).
func quantRows512(x []float32, m, k, kp int, q []int8, scale []float32, sum []int32) {
	for r := 0; r < m; r++ {
		row := x[r*k : (r+1)*k]
		qr := q[r*kp : (r+1)*kp]
		amax := rowAbsMax512(row)
		if amax == 0 {
			scale[r], sum[r] = 1, 0
			clear(qr)
			continue
		}
		inv := 127 / amax
		scale[r] = amax / 127
		bi := archsimd.BroadcastFloat32x16(inv)
		var acc archsimd.Int32x16
		j := 0
		for ; j+16 <= k; j += 16 {
			t := ld16(row[j:]).Mul(bi).RoundToEvenScaled(0).ConvertToInt32()
			acc = acc.Add(t)
			t.TruncateToInt8().Store((*[16]int8)(qr[j : j+16]))
		}
		var ts [16]int32
		acc.Store(&ts)
		var s int32
		for _, v := range ts {
			s += v
		}
		for ; j < k; j++ {
			t := int8(roundEven32(row[j] * inv))
			qr[j] = t
			s += int32(t)
		}
		clear(qr[k:])
		sum[r] = s
	}
}

// quantRows256 is quantRowsGo with 8 lanes (AVX: VROUNDPS, VCVTTPS2DQ).
func quantRows256(x []float32, m, k, kp int, q []int8, scale []float32, sum []int32) {
	for r := 0; r < m; r++ {
		row := x[r*k : (r+1)*k]
		qr := q[r*kp : (r+1)*kp]
		var mx, zero f8
		j := 0
		for ; j+8 <= k; j += 8 {
			v := ld8(row[j:])
			mx = mx.Max(v.Max(zero.Sub(v)))
		}
		var t [8]float32
		mx.Store(&t)
		var amax float32
		for _, v := range t {
			amax = max(amax, v)
		}
		for _, v := range row[j:] {
			amax = max(amax, max(v, -v))
		}
		if amax == 0 {
			scale[r], sum[r] = 1, 0
			clear(qr)
			continue
		}
		inv := 127 / amax
		scale[r] = amax / 127
		bi := archsimd.BroadcastFloat32x8(inv)
		var s int32
		var ti [8]int32
		j = 0
		for ; j+8 <= k; j += 8 {
			ld8(row[j:]).Mul(bi).RoundToEven().ConvertToInt32().Store(&ti)
			for i, v := range ti {
				qr[j+i] = int8(v)
				s += v
			}
		}
		for ; j < k; j++ {
			t := int8(roundEven32(row[j] * inv))
			qr[j] = t
			s += int32(t)
		}
		clear(qr[k:])
		sum[r] = s
	}
}

// w8AccVNNI calls the assembly kernels: 4 rows at a time, then single rows.
func w8AccVNNI(l *W8A8, a *acts, r0, mr, p int, acc *[4][nb]int32) {
	b := &l.panels[p*l.kq*nb*4]
	if mr == 4 {
		vnni4x64(&a.q[r0*a.kp], a.kp, b, l.kq, acc)
		return
	}
	for i := 0; i < mr; i++ {
		vnni1x64(&a.q[(r0+i)*a.kp], b, l.kq, &acc[i])
	}
}

// w8AccAVX2 computes the raw int8 dot products without VNNI: weight bytes are widened to
// int16 (VPMOVZXBW) and multiplied with int16 activations in pairs (VPMADDWD). A 32-bit
// lane then holds the sum for two of the four k of one channel; adjacent lanes are added
// at the end. 32 channels (8 accumulators) per pass.
func w8AccAVX2(l *W8A8, a *acts, r0, mr, p int, acc *[4][nb]int32) {
	pan := l.panels[p*l.kq*nb*4 : (p+1)*l.kq*nb*4]
	for i := 0; i < mr; i++ {
		row := a.q[(r0+i)*a.kp : (r0+i+1)*a.kp]
		for h := 0; h < nb; h += 32 {
			var c0, c1, c2, c3, c4, c5, c6, c7 archsimd.Int32x8
			for kq := 0; kq < l.kq; kq++ {
				pat := int64(uint16(int16(row[4*kq]))) | int64(uint16(int16(row[4*kq+1])))<<16 |
					int64(uint16(int16(row[4*kq+2])))<<32 | int64(uint16(int16(row[4*kq+3])))<<48
				av := archsimd.BroadcastInt64x4(pat).AsInt16x16()
				w := pan[(kq*nb+h)*4 : (kq*nb+h+32)*4]
				c0 = c0.Add(wide(w[0:]).DotProductPairs(av))
				c1 = c1.Add(wide(w[16:]).DotProductPairs(av))
				c2 = c2.Add(wide(w[32:]).DotProductPairs(av))
				c3 = c3.Add(wide(w[48:]).DotProductPairs(av))
				c4 = c4.Add(wide(w[64:]).DotProductPairs(av))
				c5 = c5.Add(wide(w[80:]).DotProductPairs(av))
				c6 = c6.Add(wide(w[96:]).DotProductPairs(av))
				c7 = c7.Add(wide(w[112:]).DotProductPairs(av))
			}
			out := acc[i][h : h+32]
			pairSum(out[0:4], c0)
			pairSum(out[4:8], c1)
			pairSum(out[8:12], c2)
			pairSum(out[12:16], c3)
			pairSum(out[16:20], c4)
			pairSum(out[20:24], c5)
			pairSum(out[24:28], c6)
			pairSum(out[28:32], c7)
		}
	}
}

// wide loads 16 weight bytes (4 channels × 4 k) as int16.
func wide(b []uint8) archsimd.Int16x16 {
	return archsimd.LoadUint8x16((*[16]uint8)(b[:16])).ExtendToUint16().AsInt16x16()
}

// pairSum stores the sums of adjacent lanes of c into out[0:4].
func pairSum(out []int32, c archsimd.Int32x8) {
	var t [8]int32
	c.Store(&t)
	out[0], out[1], out[2], out[3] = t[0]+t[1], t[2]+t[3], t[4]+t[5], t[6]+t[7]
}

// w8Epilogue512: y = float(acc − z·Σa)·(s_a·s_w) + b, 16 channels at a time.
func w8Epilogue512(l *W8A8, a *acts, r0, mr, p int, acc *[4][nb]int32, y []float32) {
	n0 := p * nb
	nc := min(nb, l.N-n0)
	for i := 0; i < mr; i++ {
		r := r0 + i
		sum := archsimd.BroadcastInt32x16(a.sum[r])
		sa := archsimd.BroadcastFloat32x16(a.scale[r])
		dst := y[r*l.N+n0 : r*l.N+n0+nc]
		for v := 0; v < nc; v += 16 {
			iv := archsimd.LoadInt32x16((*[16]int32)(acc[i][v : v+16]))
			z := archsimd.LoadInt32x16((*[16]int32)(l.zero[n0+v : n0+v+16]))
			f := iv.Sub(z.Mul(sum)).ConvertToFloat32()
			s := ld16(l.scale[n0+v:]).Mul(sa)
			f.MulAdd(s, ld16(l.bias[n0+v:])).StoreSlicePart(dst[v:])
		}
	}
}

// woPanel512 dequantises weights in registers: bytes → uint32 (VPMOVZXBD) → float
// (VCVTUDQ2PS), then FMA with the broadcast activation. Per group, the zero point and
// scale are applied once: tot += s·(Σ x·q − z·Σ x).
func woPanel512(l *WeightOnly, x []float32, xs []float32, m int, y []float32, p int) {
	if l.Bits == 4 && l.zeros == nil {
		woPanel4Table(l, x, m, y, p)
		return
	}
	woPanelConvert512(l, x, xs, m, y, p)
}

// woPanelConvert512 is woPanel512 with int→float conversions (VCVTUDQ2PS).
func woPanelConvert512(l *WeightOnly, x []float32, xs []float32, m int, y []float32, p int) {
	n0 := p * nb
	nc := min(nb, l.N-n0)
	mask := archsimd.BroadcastUint32x16(15)
	for r := 0; r < m; r++ {
		xr := x[r*l.kp : (r+1)*l.kp]
		var t0, t1, t2, t3 f16
		for g := 0; g < l.ng; g++ {
			var a0, a1, a2, a3 f16
			lo, hi := g*l.group, min((g+1)*l.group, l.K)
			if l.Bits == 8 {
				for j := lo; j < hi; j++ {
					w := l.data[(p*l.K+j)*nb : (p*l.K+j+1)*nb]
					u := archsimd.BroadcastFloat32x16(xr[j])
					a0 = u8f(w[0:]).MulAdd(u, a0)
					a1 = u8f(w[16:]).MulAdd(u, a1)
					a2 = u8f(w[32:]).MulAdd(u, a2)
					a3 = u8f(w[48:]).MulAdd(u, a3)
				}
			} else {
				hi = min(hi+hi%2, l.kp)
				for j := lo; j < hi; j += 2 {
					w := ld4row(l.data[(p*l.kp/2+j/2)*nb:])
					u := archsimd.BroadcastFloat32x16(xr[j])
					v := archsimd.BroadcastFloat32x16(xr[j+1])
					a0 = nibf(w, 0, mask).MulAdd(u, a0)
					a0 = nibf(w, 4, mask).MulAdd(v, a0)
					a1 = nibf(w, 8, mask).MulAdd(u, a1)
					a1 = nibf(w, 12, mask).MulAdd(v, a1)
					a2 = nibf(w, 16, mask).MulAdd(u, a2)
					a2 = nibf(w, 20, mask).MulAdd(v, a2)
					a3 = nibf(w, 24, mask).MulAdd(u, a3)
					a3 = w.ShiftAllRight(28).ConvertToFloat32().MulAdd(v, a3)
				}
			}
			gi := (p*l.ng + g) * nb
			s := archsimd.BroadcastFloat32x16(xs[r*l.ng+g])
			sc, ze := l.scales[gi:gi+nb], l.zerosAt(gi)
			t0 = a0.Sub(ld16(ze[0:]).Mul(s)).MulAdd(ld16(sc[0:]), t0)
			t1 = a1.Sub(ld16(ze[16:]).Mul(s)).MulAdd(ld16(sc[16:]), t1)
			t2 = a2.Sub(ld16(ze[32:]).Mul(s)).MulAdd(ld16(sc[32:]), t2)
			t3 = a3.Sub(ld16(ze[48:]).Mul(s)).MulAdd(ld16(sc[48:]), t3)
		}
		store64(y[r*l.N+n0:r*l.N+n0+nc], l.bias[n0:n0+nb], t0, t1, t2, t3)
	}
}

// woPanel4Table is woPanel512 for int4 with one zero point: the assembly kernel wo4x64
// looks the weights up as code − zero (VPERMPS), so no group sums of x are needed.
func woPanel4Table(l *WeightOnly, x []float32, m int, y []float32, p int) {
	n0 := p * nb
	nc := min(nb, l.N-n0)
	pairs := l.group / 2
	last := (l.kp - (l.ng-1)*l.group) / 2
	if l.ng == 1 {
		pairs = last
	}
	w := &l.data[p*l.kp/2*nb]
	sc := &l.scales[p*l.ng*nb]
	bias := l.bias[n0 : n0+nb]
	var out [nb]float32
	for r := 0; r < m; r++ {
		wo4x64(&x[r*l.kp], w, sc, &l.tab, l.ng, pairs, last, &out)
		dst := y[r*l.N+n0 : r*l.N+n0+nc]
		ld16(out[0:]).Add(ld16(bias[0:])).StoreSlicePart(dst)
		ld16(out[16:]).Add(ld16(bias[16:])).StoreSlicePart(tail(dst, 16))
		ld16(out[32:]).Add(ld16(bias[32:])).StoreSlicePart(tail(dst, 32))
		ld16(out[48:]).Add(ld16(bias[48:])).StoreSlicePart(tail(dst, 48))
	}
}

// ld4row loads one 64-byte int4 row (nib4 order) as sixteen 32-bit lanes.
func ld4row(b []uint8) archsimd.Uint32x16 {
	return archsimd.LoadUint8x64((*[64]uint8)(b[:64])).AsUint32x16()
}

// nibf returns the nibbles at bit s of each lane of w as float32.
func nibf(w archsimd.Uint32x16, s uint64, mask archsimd.Uint32x16) f16 {
	return w.ShiftAllRight(s).And(mask).ConvertToFloat32()
}

// u8w loads 16 bytes widened to uint32 lanes.
func u8w(b []uint8) archsimd.Uint32x16 {
	return archsimd.LoadUint8x16((*[16]uint8)(b[:16])).ExtendToUint32()
}

// u8f loads 16 bytes as float32 lanes.
func u8f(b []uint8) f16 { return u8w(b).ConvertToFloat32() }

// woPanel256 is woPanel512 with 8 lanes (AVX2), 32 channels per pass.
func woPanel256(l *WeightOnly, x []float32, xs []float32, m int, y []float32, p int) {
	n0 := p * nb
	nc := min(nb, l.N-n0)
	mask := archsimd.BroadcastInt32x8(15)
	for h := 0; h < nb && h < nc; h += 32 {
		hc := min(32, nc-h)
		for r := 0; r < m; r++ {
			xr := x[r*l.kp : (r+1)*l.kp]
			var t0, t1, t2, t3 f8
			for g := 0; g < l.ng; g++ {
				var a0, a1, a2, a3 f8
				lo, hi := g*l.group, min((g+1)*l.group, l.K)
				if l.Bits == 8 {
					for j := lo; j < hi; j++ {
						w := l.data[(p*l.K+j)*nb+h : (p*l.K+j)*nb+h+32]
						u := archsimd.BroadcastFloat32x8(xr[j])
						a0 = u8w8(w[0:]).ConvertToFloat32().MulAdd(u, a0)
						a1 = u8w8(w[8:]).ConvertToFloat32().MulAdd(u, a1)
						a2 = u8w8(w[16:]).ConvertToFloat32().MulAdd(u, a2)
						a3 = u8w8(w[24:]).ConvertToFloat32().MulAdd(u, a3)
					}
				} else {
					hi = min(hi+hi%2, l.kp)
					// Channels h…h+31 are bytes h/16 and h/16+1 of each 32-bit lane (nib4):
					// lanes 0–7 of the row's first half hold channels h+j, h+16+j, the
					// second half h+8+j, h+24+j.
					sh := uint64(h / 2)
					for j := lo; j < hi; j += 2 {
						i := (p*l.kp/2 + j/2) * nb
						wa := archsimd.LoadUint8x32((*[32]uint8)(l.data[i : i+32])).AsInt32x8()
						wb := archsimd.LoadUint8x32((*[32]uint8)(l.data[i+32 : i+64])).AsInt32x8()
						u := archsimd.BroadcastFloat32x8(xr[j])
						v := archsimd.BroadcastFloat32x8(xr[j+1])
						a0 = wa.ShiftAllRight(sh).And(mask).ConvertToFloat32().MulAdd(u, a0)
						a0 = wa.ShiftAllRight(sh+4).And(mask).ConvertToFloat32().MulAdd(v, a0)
						a1 = wb.ShiftAllRight(sh).And(mask).ConvertToFloat32().MulAdd(u, a1)
						a1 = wb.ShiftAllRight(sh+4).And(mask).ConvertToFloat32().MulAdd(v, a1)
						a2 = wa.ShiftAllRight(sh+8).And(mask).ConvertToFloat32().MulAdd(u, a2)
						a2 = wa.ShiftAllRight(sh+12).And(mask).ConvertToFloat32().MulAdd(v, a2)
						a3 = wb.ShiftAllRight(sh+8).And(mask).ConvertToFloat32().MulAdd(u, a3)
						a3 = wb.ShiftAllRight(sh+12).And(mask).ConvertToFloat32().MulAdd(v, a3)
					}
				}
				gi := (p*l.ng+g)*nb + h
				s := archsimd.BroadcastFloat32x8(xs[r*l.ng+g])
				sc, ze := l.scales[gi:gi+32], l.zerosAt(gi)[:32]
				t0 = a0.Sub(ld8(ze[0:]).Mul(s)).MulAdd(ld8(sc[0:]), t0)
				t1 = a1.Sub(ld8(ze[8:]).Mul(s)).MulAdd(ld8(sc[8:]), t1)
				t2 = a2.Sub(ld8(ze[16:]).Mul(s)).MulAdd(ld8(sc[16:]), t2)
				t3 = a3.Sub(ld8(ze[24:]).Mul(s)).MulAdd(ld8(sc[24:]), t3)
			}
			store32(y[r*l.N+n0+h:r*l.N+n0+h+hc], l.bias[n0+h:n0+h+32], t0, t1, t2, t3)
		}
	}
}

// u8w8 loads 8 bytes widened to int32 lanes (VPMOVZXBD, AVX2).
func u8w8(b []uint8) archsimd.Int32x8 {
	return archsimd.LoadUint8x16SlicePart(b[:8]).ExtendLo8ToUint32().AsInt32x8()
}

// woDequant512 is woDequantGo 16 channels at a time.
func woDequant512(l *WeightOnly, p int, dst []float32) {
	mask := archsimd.BroadcastUint32x16(15)
	for g := 0; g < l.ng; g++ {
		gi := (p*l.ng + g) * nb
		s0, s1, s2, s3 := ld16(l.scales[gi:]), ld16(l.scales[gi+16:]), ld16(l.scales[gi+32:]), ld16(l.scales[gi+48:])
		ze := l.zerosAt(gi)
		z0, z1, z2, z3 := ld16(ze[0:]), ld16(ze[16:]), ld16(ze[32:]), ld16(ze[48:])
		lo, hi := g*l.group, min((g+1)*l.group, l.K)
		if l.Bits == 8 {
			for j := lo; j < hi; j++ {
				w := l.data[(p*l.K+j)*nb : (p*l.K+j+1)*nb]
				out := dst[j*nb : (j+1)*nb]
				u8f(w[0:]).Sub(z0).Mul(s0).Store((*[16]float32)(out[0:16]))
				u8f(w[16:]).Sub(z1).Mul(s1).Store((*[16]float32)(out[16:32]))
				u8f(w[32:]).Sub(z2).Mul(s2).Store((*[16]float32)(out[32:48]))
				u8f(w[48:]).Sub(z3).Mul(s3).Store((*[16]float32)(out[48:64]))
			}
			continue
		}
		hi = min(hi+hi%2, l.kp)
		for j := lo; j < hi; j += 2 {
			w := ld4row(l.data[(p*l.kp/2+j/2)*nb:])
			e, o := dst[j*nb:(j+1)*nb], dst[(j+1)*nb:(j+2)*nb]
			nibf(w, 0, mask).Sub(z0).Mul(s0).Store((*[16]float32)(e[0:16]))
			nibf(w, 8, mask).Sub(z1).Mul(s1).Store((*[16]float32)(e[16:32]))
			nibf(w, 16, mask).Sub(z2).Mul(s2).Store((*[16]float32)(e[32:48]))
			nibf(w, 24, mask).Sub(z3).Mul(s3).Store((*[16]float32)(e[48:64]))
			nibf(w, 4, mask).Sub(z0).Mul(s0).Store((*[16]float32)(o[0:16]))
			nibf(w, 12, mask).Sub(z1).Mul(s1).Store((*[16]float32)(o[16:32]))
			nibf(w, 20, mask).Sub(z2).Mul(s2).Store((*[16]float32)(o[32:48]))
			w.ShiftAllRight(28).ConvertToFloat32().Sub(z3).Mul(s3).Store((*[16]float32)(o[48:64]))
		}
	}
}

// w4AccVNNI runs the assembly kernel over all groups of panel p.
func w4AccVNNI(l *W4A8, a []int8, p int, acc []int32) {
	vnni4bit1x64(&a[0], &l.panels[p*(l.kp/8)*4*nb], l.oct, l.ng, &acc[0])
}

// w4FusedVNNI runs vnni4bit1x64f on panel p and writes y = out·sa + bias.
func w4FusedVNNI(l *W4A8, a []int8, corr []int32, sa float32, p int, y []float32) {
	var out [nb]float32
	vnni4bit1x64f(&a[0], &l.panels[p*(l.kp/8)*4*nb], l.oct, l.ng, &corr[0], &l.scale[p*l.ng*nb], &out)
	n0 := p * nb
	b := archsimd.BroadcastFloat32x16(sa)
	bias := l.bias[n0 : n0+nb]
	dst := y[n0 : n0+min(nb, l.N-n0)]
	ld16(out[0:]).MulAdd(b, ld16(bias[0:])).StoreSlicePart(dst)
	ld16(out[16:]).MulAdd(b, ld16(bias[16:])).StoreSlicePart(tail(dst, 16))
	ld16(out[32:]).MulAdd(b, ld16(bias[32:])).StoreSlicePart(tail(dst, 32))
	ld16(out[48:]).MulAdd(b, ld16(bias[48:])).StoreSlicePart(tail(dst, 48))
}

// w4Epilogue512 is w4EpilogueGo 16 channels at a time.
func w4Epilogue512(l *W4A8, acc []int32, gs []int32, sa float32, p int, y []float32) {
	n0 := p * nb
	nc := min(nb, l.N-n0)
	var t0, t1, t2, t3 f16
	for g := 0; g < l.ng; g++ {
		i := (p*l.ng + g) * nb
		s := archsimd.BroadcastInt32x16(gs[g])
		ac, sc := acc[g*nb:(g+1)*nb], l.scale[i:i+nb]
		if l.zero == nil {
			z := archsimd.BroadcastInt32x16(l.zc * gs[g])
			t0 = ld32(ac[0:]).Sub(z).ConvertToFloat32().MulAdd(ld16(sc[0:]), t0)
			t1 = ld32(ac[16:]).Sub(z).ConvertToFloat32().MulAdd(ld16(sc[16:]), t1)
			t2 = ld32(ac[32:]).Sub(z).ConvertToFloat32().MulAdd(ld16(sc[32:]), t2)
			t3 = ld32(ac[48:]).Sub(z).ConvertToFloat32().MulAdd(ld16(sc[48:]), t3)
			continue
		}
		ze := l.zero[i : i+nb]
		t0 = ld32(ac[0:]).Sub(ld32(ze[0:]).Mul(s)).ConvertToFloat32().MulAdd(ld16(sc[0:]), t0)
		t1 = ld32(ac[16:]).Sub(ld32(ze[16:]).Mul(s)).ConvertToFloat32().MulAdd(ld16(sc[16:]), t1)
		t2 = ld32(ac[32:]).Sub(ld32(ze[32:]).Mul(s)).ConvertToFloat32().MulAdd(ld16(sc[32:]), t2)
		t3 = ld32(ac[48:]).Sub(ld32(ze[48:]).Mul(s)).ConvertToFloat32().MulAdd(ld16(sc[48:]), t3)
	}
	b := archsimd.BroadcastFloat32x16(sa)
	bias := l.bias[n0 : n0+nb]
	dst := y[n0 : n0+nc]
	t0.MulAdd(b, ld16(bias[0:])).StoreSlicePart(dst)
	t1.MulAdd(b, ld16(bias[16:])).StoreSlicePart(tail(dst, 16))
	t2.MulAdd(b, ld16(bias[32:])).StoreSlicePart(tail(dst, 32))
	t3.MulAdd(b, ld16(bias[48:])).StoreSlicePart(tail(dst, 48))
}

func ld32(s []int32) archsimd.Int32x16 { return archsimd.LoadInt32x16((*[16]int32)(s[:16])) }

// dot512: two accumulators of 16 lanes, a masked load for the tail, one reduction.
func dot512(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1 f16
	i := 0
	for ; i+32 <= len(a); i += 32 {
		s0 = ld16(a[i:]).MulAdd(ld16(b[i:]), s0)
		s1 = ld16(a[i+16:]).MulAdd(ld16(b[i+16:]), s1)
	}
	for ; i < len(a); i += 16 {
		s0 = archsimd.LoadFloat32x16SlicePart(a[i:]).MulAdd(archsimd.LoadFloat32x16SlicePart(b[i:]), s0)
	}
	var t [16]float32
	s0.Add(s1).Store(&t)
	return ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7])) +
		((t[8] + t[9]) + (t[10] + t[11])) + ((t[12] + t[13]) + (t[14] + t[15]))
}

// axpy512: y += alpha·x, 16 lanes at a time, partial loads and stores for the tail.
func axpy512(alpha float32, x, y []float32) {
	y = y[:len(x)]
	al := archsimd.BroadcastFloat32x16(alpha)
	i := 0
	for ; i+16 <= len(x); i += 16 {
		ld16(x[i:]).MulAdd(al, ld16(y[i:])).Store((*[16]float32)(y[i : i+16]))
	}
	if i < len(x) {
		archsimd.LoadFloat32x16SlicePart(x[i:]).MulAdd(al, archsimd.LoadFloat32x16SlicePart(y[i:])).StoreSlicePart(y[i:])
	}
}

// gelu512 is geluGo 16 lanes at a time (the tail through a partial load and store).
func gelu512(x []float32) {
	bc := archsimd.BroadcastFloat32x16
	lo, hi := bc(-tanhClamp), bc(tanhClamp)
	c, c3, half, one := bc(geluC), bc(geluC3), bc(0.5), bc(1)
	a13, a11, a9, a7, a5, a3, a1 := bc(tanhA13), bc(tanhA11), bc(tanhA9), bc(tanhA7), bc(tanhA5), bc(tanhA3), bc(tanhA1)
	b6, b4, b2, b0 := bc(tanhB6), bc(tanhB4), bc(tanhB2), bc(tanhB0)
	f := func(v f16) f16 {
		u := v.Mul(v).MulAdd(c3, c).Mul(v).Max(lo).Min(hi) // √(2/π)(x + 0.044715x³), clamped
		u2 := u.Mul(u)
		p := u2.MulAdd(a13, a11).MulAdd(u2, a9).MulAdd(u2, a7).MulAdd(u2, a5).MulAdd(u2, a3).MulAdd(u2, a1).Mul(u)
		q := u2.MulAdd(b6, b4).MulAdd(u2, b2).MulAdd(u2, b0)
		return p.Div(q).Add(one).Mul(v).Mul(half)
	}
	i := 0
	for ; i+16 <= len(x); i += 16 {
		f(ld16(x[i:])).Store((*[16]float32)(x[i : i+16]))
	}
	if i < len(x) {
		f(archsimd.LoadFloat32x16SlicePart(x[i:])).StoreSlicePart(x[i:])
	}
}
