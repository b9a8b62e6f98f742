package gemm

import "math"

// The plain-Go implementation: the reference the SIMD kernels are tested against, and the
// fallback on CPUs or builds without archsimd. It walks the same packed panels.

var goImpl = &impl{
	name:       "go",
	f32Panel:   f32PanelGo,
	quantRows:  quantRowsGo,
	w8Acc:      w8AccGo,
	w8Epilogue: w8EpilogueGo,
	woPanel:    woPanelGo,
	woDequant:  woDequantGo,
	w4Acc:      w4AccGo,
	w4Epilogue: w4EpilogueGo,
	dot:        dotGo,
	axpy:       axpyGo,
	gelu:       geluGo,
}

// Coefficients of tanh(x) ≈ x·P(x²)/Q(x²) on [−7.9988, 7.9988] (Eigen's float tanh).
const (
	tanhClamp                                = 7.99881172180175781
	tanhA13, tanhA11, tanhA9, tanhA7, tanhA5 = -2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-08, 1.48572235717979e-05
	tanhA3, tanhA1                           = 6.37261928875436e-04, 4.89352455891786e-03
	tanhB6, tanhB4, tanhB2, tanhB0           = 1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03
	geluC, geluC3                            = 0.7978845608028654, 0.044715 * 0.7978845608028654
)

// tanh32 is the rational approximation of tanh used by every implementation.
func tanh32(x float32) float32 {
	x = max(-tanhClamp, min(x, tanhClamp))
	x2 := x * x
	p := x2*tanhA13 + tanhA11
	p = p*x2 + tanhA9
	p = p*x2 + tanhA7
	p = p*x2 + tanhA5
	p = p*x2 + tanhA3
	p = p*x2 + tanhA1
	q := x2*tanhB6 + tanhB4
	q = q*x2 + tanhB2
	q = q*x2 + tanhB0
	return x * p / q
}

func geluGo(x []float32) {
	for i, v := range x {
		x[i] = 0.5 * v * (1 + tanh32(v*(geluC+geluC3*v*v)))
	}
}

func dotGo(a, b []float32) float32 {
	var s float32
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

func axpyGo(alpha float32, x, y []float32) {
	for i, v := range x {
		y[i] += alpha * v
	}
}

// woDequantGo writes scale·(code − zero) for panel p as [kp][64] floats.
func woDequantGo(l *WeightOnly, p int, dst []float32) {
	for j := 0; j < l.kp; j++ {
		g := min(j, l.K-1) / l.group
		sc := l.scales[(p*l.ng+g)*nb : (p*l.ng+g+1)*nb]
		ze := l.zerosAt((p*l.ng + g) * nb)
		out := dst[j*nb : (j+1)*nb]
		for c := range out {
			var q uint8
			if l.Bits == 8 {
				q = l.data[(p*l.K+j)*nb+c]
			} else {
				q = (l.data[(p*l.kp/2+j/2)*nb+nib4(c)] >> (4 * uint(j%2))) & 15
			}
			out[c] = sc[c] * (float32(q) - ze[c])
		}
	}
}

func f32PanelGo(jb *f32Job, x []float32, m int, y []float32) {
	k, pan, n0, nc, n := jb.k, jb.pan, jb.n0, jb.nc, jb.n
	for r := 0; r < m; r++ {
		var acc [nb]float32
		for j, xv := range x[r*k : (r+1)*k] {
			w := pan[j*nb : j*nb+nb]
			for c := range acc {
				acc[c] += xv * w[c]
			}
		}
		yr := y[r*n+n0 : r*n+n0+nc]
		for c := range yr {
			yr[c] = acc[c] + jb.bias[c]
		}
	}
}

func w8AccGo(l *W8A8, a *acts, r0, mr, p int, acc *[4][nb]int32) {
	pan := l.panels[p*l.kq*nb*4 : (p+1)*l.kq*nb*4]
	for i := 0; i < mr; i++ {
		row := a.q[(r0+i)*a.kp : (r0+i+1)*a.kp]
		out := &acc[i]
		*out = [nb]int32{}
		for kq := 0; kq < l.kq; kq++ {
			a0, a1, a2, a3 := int32(row[4*kq]), int32(row[4*kq+1]), int32(row[4*kq+2]), int32(row[4*kq+3])
			w := pan[kq*nb*4 : (kq+1)*nb*4]
			for c := 0; c < nb; c++ {
				out[c] += a0*int32(w[4*c]) + a1*int32(w[4*c+1]) + a2*int32(w[4*c+2]) + a3*int32(w[4*c+3])
			}
		}
	}
}

func w8EpilogueGo(l *W8A8, a *acts, r0, mr, p int, acc *[4][nb]int32, y []float32) {
	n0 := p * nb
	nc := min(nb, l.N-n0)
	for i := 0; i < mr; i++ {
		r := r0 + i
		yr := y[r*l.N+n0 : r*l.N+n0+nc]
		for c := range yr {
			v := acc[i][c] - l.zero[n0+c]*a.sum[r]
			yr[c] = float32(v)*(a.scale[r]*l.scale[n0+c]) + l.bias[n0+c]
		}
	}
}

func woPanelGo(l *WeightOnly, x []float32, xs []float32, m int, y []float32, p int) {
	n0 := p * nb
	nc := min(nb, l.N-n0)
	for r := 0; r < m; r++ {
		xr := x[r*l.kp : (r+1)*l.kp]
		var tot [nb]float32
		for g := 0; g < l.ng; g++ {
			var acc [nb]float32
			for j := g * l.group; j < min((g+1)*l.group, l.K); j++ {
				xv := xr[j]
				if l.Bits == 8 {
					w := l.data[(p*l.K+j)*nb : (p*l.K+j+1)*nb]
					for c := range acc {
						acc[c] += xv * float32(w[c])
					}
					continue
				}
				i := (p*l.kp/2 + j/2) * nb
				w, shift := l.data[i:i+nb], uint(4*(j%2))
				for c := range acc {
					acc[c] += xv * float32((w[nib4(c)]>>shift)&15)
				}
			}
			sc := l.scales[(p*l.ng+g)*nb : (p*l.ng+g+1)*nb]
			ze := l.zerosAt((p*l.ng + g) * nb)
			s := xs[r*l.ng+g]
			for c := range tot {
				tot[c] += sc[c] * (acc[c] - ze[c]*s)
			}
		}
		yr := y[r*l.N+n0 : r*l.N+n0+nc]
		for c := range yr {
			yr[c] = tot[c] + l.bias[n0+c]
		}
	}
}

// roundEven32 rounds to the nearest integer, halves to even, as VROUNDPS/VRNDSCALEPS do.
func roundEven32(v float32) float32 { return float32(math.RoundToEven(float64(v))) }
