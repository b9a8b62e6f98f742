package gemm

import "fmt"

// W4A8 is a linear layer with int4 weights in groups and dynamically quantized int8
// activations: the int4 codes are unpacked to bytes in registers and multiplied with
// VPDPBUSD like W8A8, one int32 sum per group; each group's sum is then corrected for its
// zero point and scaled:
//
//	y[m,n] = s_a[m]·Σ_g s[n,g]·( Σ_{k∈g} a[m,k]·q[n,k] − z[n,g]·Σ_{k∈g} a[m,k] ) + b[n]
//
// Half the bytes of W8A8 per weight: faster when weights stream from memory (decoding).
type W4A8 struct {
	N, K   int
	group  int       // columns per group, a multiple of 8
	ng     int       // groups per row
	oct    int       // k-octets per group
	kp     int       // K rounded up to whole groups
	panels []uint8   // [N/64][kp/8][4][64]: per octet and 16 channels, 4 k per nibble lane
	zero   []int32   // [N/64][ng][64]; nil when every zero point is zc
	zc     int32     // the zero point of every group when zero is nil (8 for symmetric int4)
	scale  []float32 // [N/64][ng][64]
	bias   []float32 // [N/64·64]
}

// NewW4A8 packs 4-bit codes ([n, k] row-major, one per byte, < 16) with per-group scales
// and zero points ([n, ceil(k/group)]). group must be a multiple of 8 (or ≥ k: one group
// per row).
func NewW4A8(codes []uint8, zero []uint8, scale []float32, bias []float32, n, k, group int) (*W4A8, error) {
	if n <= 0 || k <= 0 || len(codes) != n*k {
		return nil, fmt.Errorf("gemm: NewW4A8: %d codes for [%d, %d]", len(codes), n, k)
	}
	if group <= 0 || group >= k {
		group = (k + 7) &^ 7
	}
	if group%8 != 0 {
		return nil, fmt.Errorf("gemm: NewW4A8: group %d is not a multiple of 8", group)
	}
	if k > maxW8A8K {
		return nil, fmt.Errorf("gemm: NewW4A8: K = %d above %d", k, maxW8A8K)
	}
	ng := (k + group - 1) / group
	if len(zero) != n*ng || len(scale) != n*ng {
		return nil, fmt.Errorf("gemm: NewW4A8: %d zeros and %d scales, want %d each", len(zero), len(scale), n*ng)
	}
	b, err := padBias(bias, n)
	if err != nil {
		return nil, err
	}
	np := panels(n)
	l := &W4A8{N: n, K: k, group: group, ng: ng, oct: group / 8, kp: ng * group, bias: b,
		scale: make([]float32, np*ng*nb)}
	l.panels = make([]uint8, np*(l.kp/8)*4*nb)
	uniform := true // one zero point for every group (symmetric weights): no zero array
	for _, z := range zero {
		uniform = uniform && z == zero[0]
	}
	if uniform {
		l.zc = int32(zero[0])
	} else {
		l.zero = make([]int32, np*ng*nb)
	}
	for r := 0; r < n; r++ {
		p, c := r/nb, r%nb
		for g := 0; g < ng; g++ {
			if zero[r*ng+g] > 15 {
				return nil, fmt.Errorf("gemm: NewW4A8: zero point %d above 15", zero[r*ng+g])
			}
			if l.zero != nil {
				l.zero[(p*ng+g)*nb+c] = int32(zero[r*ng+g])
			}
			l.scale[(p*ng+g)*nb+c] = scale[r*ng+g]
		}
		for j := 0; j < k; j++ {
			q := codes[r*k+j]
			if q > 15 {
				return nil, fmt.Errorf("gemm: NewW4A8: code %d at (%d, %d) above 15", q, r, j)
			}
			l.panels[l.byteIndex(p, c, j)] |= q << (4 * uint(j%8/4))
		}
	}
	return l, nil
}

// byteIndex is where the nibble of channel 64p+c, input j lives: octet j/8, vector c/16,
// lane c%16, byte j%4; the low nibble for j%8 < 4, the high one otherwise.
func (l *W4A8) byteIndex(p, c, j int) int {
	return (((p*(l.kp/8)+j/8)*4+c/16)*16+c%16)*4 + j%4
}

// Forward computes y ≈ x·Ŵᵀ + b for x [m, K] into y [m, N], quantizing x per row.
func (l *W4A8) Forward(y, x []float32, m int) error {
	if err := checkIO("W4A8", y, x, m, l.N, l.K); err != nil {
		return err
	}
	im := current.Load()
	a := &acts{kp: l.kp, scale: make([]float32, m), sum: make([]int32, m), q: make([]int8, m*l.kp)}
	im.quantRows(x, m, l.K, l.kp, a.q, a.scale, a.sum)
	gs := make([]int32, m*l.ng) // Σ_{k∈g} a[m,k] for the zero points
	for r := 0; r < m; r++ {
		for g := 0; g < l.ng; g++ {
			var s int32
			for _, v := range a.q[r*l.kp+g*l.group : r*l.kp+(g+1)*l.group] {
				s += int32(v)
			}
			gs[r*l.ng+g] = s
		}
	}
	if l.zero == nil && im.w4Fused != nil {
		// One zero point: its correction z·Σ_{k∈g} a is one number per row and group, and
		// the kernel applies it and the scales in registers.
		for i := range gs {
			gs[i] *= l.zc
		}
		parallel(panels(l.N), m*l.N*l.K/4, func(lo, hi int) {
			for p := lo; p < hi; p++ {
				for r := 0; r < m; r++ {
					im.w4Fused(l, a.q[r*l.kp:(r+1)*l.kp], gs[r*l.ng:(r+1)*l.ng], a.scale[r], p, y[r*l.N:(r+1)*l.N])
				}
			}
		})
		return nil
	}
	parallel(panels(l.N), m*l.N*l.K/4, func(lo, hi int) {
		acc := make([]int32, l.ng*nb)
		for p := lo; p < hi; p++ {
			for r := 0; r < m; r++ {
				im.w4Acc(l, a.q[r*l.kp:(r+1)*l.kp], p, acc)
				im.w4Epilogue(l, acc, gs[r*l.ng:(r+1)*l.ng], a.scale[r], p, y[r*l.N:(r+1)*l.N])
			}
		}
	})
	return nil
}

// Bytes returns the memory the packed weights, scales, zeros and bias use.
func (l *W4A8) Bytes() int { return len(l.panels) + 4*(len(l.zero)+len(l.scale)+len(l.bias)) }

// w4AccGo computes the per-group sums Σ a·code of one row for panel p into acc [ng][64].
func w4AccGo(l *W4A8, a []int8, p int, acc []int32) {
	clear(acc)
	for j := 0; j < l.kp; j++ {
		av := int32(a[j])
		if av == 0 {
			continue
		}
		g := j / l.group
		out := acc[g*nb : (g+1)*nb]
		shift := 4 * uint(j%8/4)
		for c := range out {
			out[c] += av * int32((l.panels[l.byteIndex(p, c, j)]>>shift)&15)
		}
	}
}

// w4EpilogueGo: y[n] = s_a·Σ_g s[n,g]·(acc[g,n] − z[n,g]·gs[g]) + b[n] for panel p.
func w4EpilogueGo(l *W4A8, acc []int32, gs []int32, sa float32, p int, y []float32) {
	n0 := p * nb
	nc := min(nb, l.N-n0)
	for c := 0; c < nc; c++ {
		var t float32
		for g := 0; g < l.ng; g++ {
			i := (p*l.ng+g)*nb + c
			z := l.zc
			if l.zero != nil {
				z = l.zero[i]
			}
			t += l.scale[i] * float32(acc[g*nb+c]-z*gs[g])
		}
		y[n0+c] = t*sa + l.bias[n0+c]
	}
}
