package quant

import (
	"fmt"
	"math"
	"sort"
)

// GPTQOptions tunes [GPTQ]. The zero value uses 1% dampening and the natural column order.
type GPTQOptions struct {
	// Damp is added to H's diagonal as a fraction of its mean (default 0.01), keeping the
	// Cholesky factorisation stable when some inputs are nearly collinear.
	Damp float64
	// ActOrder quantizes columns with the largest H[j,j] (most active inputs) first. Group
	// scales are then fixed from the original weights ("static groups") so that groups
	// still cover consecutive columns.
	ActOrder bool
}

// GPTQ quantizes w ([rows, cols], rows = output channels) with the scheme s, using x
// ([n, cols] calibration activations, the inputs this layer sees) to minimise the layer's
// output error ||x·wᵀ − x·ŵᵀ||² (Frantar et al., 2022):
//
//	H = 2/n · xᵀx + damp·I,  U = chol(H⁻¹) (upper, H⁻¹ = UᵀU)
//	for each column j:  q_j = quant(w_j);  e = (w_j − q_j)/U[j,j];  w_{j'} −= e·U[j,j'] for j' > j
//
// The result has the same layout as [Quantize] and dequantizes the same way.
func GPTQ(w []float32, rows, cols int, x []float32, n int, s Scheme, opt GPTQOptions) (*Tensor, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if rows <= 0 || cols <= 0 || len(w) != rows*cols {
		return nil, fmt.Errorf("quant: GPTQ: %d weights for [%d, %d]", len(w), rows, cols)
	}
	if n <= 0 || len(x) != n*cols {
		return nil, fmt.Errorf("quant: GPTQ: %d calibration values for [%d, %d]", len(x), n, cols)
	}
	damp := opt.Damp
	if damp == 0 {
		damp = 0.01
	}
	// H = 2/n · xᵀx in float64.
	h := make([]float64, cols*cols)
	for r := 0; r < n; r++ {
		xr := x[r*cols : (r+1)*cols]
		for i, xi := range xr {
			if xi == 0 {
				continue
			}
			hi := h[i*cols : (i+1)*cols]
			for j := i; j < cols; j++ {
				hi[j] += float64(xi) * float64(xr[j])
			}
		}
	}
	for i := 0; i < cols; i++ {
		for j := i; j < cols; j++ {
			v := h[i*cols+j] * 2 / float64(n)
			h[i*cols+j], h[j*cols+i] = v, v
		}
	}
	W := make([]float64, rows*cols)
	for i, v := range w {
		W[i] = float64(v)
	}
	var mean float64
	for i := 0; i < cols; i++ {
		if h[i*cols+i] == 0 { // an input that is always zero: its weights do not matter
			h[i*cols+i] = 1
			for r := 0; r < rows; r++ {
				W[r*cols+i] = 0
			}
		}
		mean += h[i*cols+i]
	}
	mean /= float64(cols)
	for i := 0; i < cols; i++ {
		h[i*cols+i] += damp * mean
	}

	perm := make([]int, cols) // perm[i] = original column quantized i-th
	for i := range perm {
		perm[i] = i
	}
	if opt.ActOrder {
		sort.SliceStable(perm, func(a, b int) bool { return h[perm[a]*cols+perm[a]] > h[perm[b]*cols+perm[b]] })
		hp := make([]float64, cols*cols)
		for i := 0; i < cols; i++ {
			for j := 0; j < cols; j++ {
				hp[i*cols+j] = h[perm[i]*cols+perm[j]]
			}
		}
		h = hp
	}
	u, err := cholInvUpper(h, cols)
	if err != nil {
		return nil, fmt.Errorf("quant: GPTQ: %w (try a larger Damp)", err)
	}

	t := &Tensor{Rows: rows, Cols: cols, Scheme: s}
	gpr := t.GroupsPerRow()
	gc := s.groupCols(cols)
	nScales := rows * gpr
	if s.Granularity == PerTensor {
		nScales = 1
	}
	t.Scales, t.Zeros = make([]float32, nScales), make([]uint8, nScales)
	set := make([]bool, nScales)
	fit := func(r, g int) { // params of group g of row r from the current weights
		lo, hi := g*gc, min((g+1)*gc, cols)
		vals := make([]float32, hi-lo)
		for c := lo; c < hi; c++ {
			vals[c-lo] = float32(W[r*cols+c])
		}
		gi := t.GroupIndex(r, lo)
		t.Scales[gi], t.Zeros[gi] = s.params(vals)
		set[gi] = true
	}
	switch {
	case s.Granularity == PerTensor:
		f := make([]float32, len(W))
		for i, v := range W {
			f[i] = float32(v)
		}
		t.Scales[0], t.Zeros[0] = s.params(f)
	case s.Granularity == PerChannel || opt.ActOrder:
		for r := 0; r < rows; r++ {
			for g := 0; g < gpr; g++ {
				fit(r, g)
			}
		}
	}

	codes := make([]uint8, rows*cols)
	for i := 0; i < cols; i++ {
		col := perm[i]
		d := u[i*cols+i]
		for r := 0; r < rows; r++ {
			gi := t.GroupIndex(r, col)
			if !set[gi] && s.Granularity == PerGroup { // first column of a group, natural order
				fit(r, col/gc)
			}
			// W is kept in the original column order; column i of the permuted problem is col.
			wv := W[r*cols+col]
			c := s.code(float32(wv), t.Scales[gi], t.Zeros[gi])
			codes[r*cols+col] = c
			e := (wv - float64(t.Scales[gi])*float64(int(c)-int(t.Zeros[gi]))) / d
			ui := u[i*cols : (i+1)*cols]
			wr := W[r*cols : (r+1)*cols]
			for j := i + 1; j < cols; j++ {
				wr[perm[j]] -= e * ui[j]
			}
		}
	}
	t.setCodes(codes)
	return t, nil
}

// cholInvUpper returns the upper Cholesky factor U of H⁻¹ (H⁻¹ = UᵀU) for a symmetric
// positive definite n×n matrix H.
func cholInvUpper(h []float64, n int) ([]float64, error) {
	l, err := cholesky(h, n)
	if err != nil {
		return nil, err
	}
	// H⁻¹ = L⁻ᵀ L⁻¹: invert the lower triangular L.
	li := make([]float64, n*n)
	for j := 0; j < n; j++ {
		li[j*n+j] = 1 / l[j*n+j]
		for i := j + 1; i < n; i++ {
			var s float64
			for k := j; k < i; k++ {
				s += l[i*n+k] * li[k*n+j]
			}
			li[i*n+j] = -s / l[i*n+i]
		}
	}
	inv := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			var s float64
			for k := i; k < n; k++ { // (L⁻ᵀL⁻¹)[i,j] = Σ_k L⁻¹[k,i]·L⁻¹[k,j], k ≥ max(i,j)
				s += li[k*n+i] * li[k*n+j]
			}
			inv[i*n+j], inv[j*n+i] = s, s
		}
	}
	// H⁻¹ = UᵀU with U upper ⇔ U = Lᵀ where L is the lower Cholesky factor of H⁻¹.
	c, err := cholesky(inv, n)
	if err != nil {
		return nil, err
	}
	u := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ {
			u[i*n+j] = c[j*n+i]
		}
	}
	return u, nil
}

// cholesky returns the lower triangular L with H = L·Lᵀ.
func cholesky(h []float64, n int) ([]float64, error) {
	l := make([]float64, n*n)
	for j := 0; j < n; j++ {
		s := h[j*n+j]
		for k := 0; k < j; k++ {
			s -= l[j*n+k] * l[j*n+k]
		}
		if !(s > 0) {
			return nil, fmt.Errorf("matrix not positive definite at %d", j)
		}
		d := math.Sqrt(s)
		l[j*n+j] = d
		for i := j + 1; i < n; i++ {
			t := h[i*n+j]
			for k := 0; k < j; k++ {
				t -= l[i*n+k] * l[j*n+k]
			}
			l[i*n+j] = t / d
		}
	}
	return l, nil
}
