package viz

import (
	"errors"
	"fmt"
	"math"
)

// PCA2 projects the rows of x (n points × d features) onto their first two principal
// components: centre the data (x − mean), take the two unit eigenvectors v1, v2 of the
// covariance C = XᵀX/(n−1) with the largest eigenvalues, and return (x·v1, x·v2) per
// point. Eigenvectors come from power iteration with deflation, started from a fixed
// vector, so results are deterministic; each is signed so that its largest-magnitude
// component is positive. If the data spans one dimension, the second coordinate is 0.
func PCA2(x [][]float64) ([][2]float64, error) {
	n := len(x)
	if n < 2 {
		return nil, fmt.Errorf("viz.PCA2: %d points, need at least 2", n)
	}
	d := len(x[0])
	if d == 0 {
		return nil, errors.New("viz.PCA2: points have no features")
	}
	mean := make([]float64, d)
	for i, row := range x {
		if len(row) != d {
			return nil, fmt.Errorf("viz.PCA2: point %d has %d features, point 0 has %d", i, len(row), d)
		}
		if err := finite(row, fmt.Sprintf("x[%d]", i)); err != nil {
			return nil, fmt.Errorf("viz.PCA2: %w", err)
		}
		for j, v := range row {
			mean[j] += v / float64(n)
		}
	}
	cov := make([][]float64, d) // [d][d]
	for j := range cov {
		cov[j] = make([]float64, d)
	}
	for _, row := range x {
		for a := 0; a < d; a++ {
			ca := row[a] - mean[a]
			for b := a; b < d; b++ {
				cov[a][b] += ca * (row[b] - mean[b]) / float64(n-1)
			}
		}
	}
	for a := 0; a < d; a++ {
		for b := 0; b < a; b++ {
			cov[a][b] = cov[b][a]
		}
	}
	var vecs [2][]float64
	vecs[0] = topEigen(cov, nil)
	vecs[1] = topEigen(cov, vecs[0]) // power iteration kept orthogonal to v1 (deflation)
	out := make([][2]float64, n)
	for i, row := range x {
		for c := 0; c < 2; c++ {
			s := 0.0
			for j, v := range row {
				s += (v - mean[j]) * vecs[c][j]
			}
			out[i][c] = s
		}
	}
	return out, nil
}

// topEigen returns the dominant unit eigenvector of the symmetric PSD matrix m restricted
// to the complement of prev (if not nil): power iteration v ← normalize(m·v − (v·prev)prev)
// from a fixed start. If m is zero there (rank-deficient data) any unit vector orthogonal
// to prev is an eigenvector with eigenvalue 0, and that is what it returns.
func topEigen(m [][]float64, prev []float64) []float64 {
	d := len(m)
	v := make([]float64, d)
	for i := range v {
		v[i] = 1 + 0.1*float64(i) // fixed start, not orthogonal to typical eigenvectors
	}
	orth := func(x []float64) float64 {
		if prev != nil {
			dot := 0.0
			for i := range x {
				dot += x[i] * prev[i]
			}
			for i := range x {
				x[i] -= dot * prev[i]
			}
		}
		n := 0.0
		for _, xi := range x {
			n += xi * xi
		}
		return math.Sqrt(n)
	}
	n := orth(v)
	if n == 0 { // d == 1 and prev spans everything
		return v
	}
	for i := range v {
		v[i] /= n
	}
	trace := 0.0
	for a := 0; a < d; a++ {
		trace += m[a][a]
	}
	w := make([]float64, d)
	for iter := 0; iter < 2000; iter++ {
		for a := 0; a < d; a++ {
			s := 0.0
			for b := 0; b < d; b++ {
				s += m[a][b] * v[b]
			}
			w[a] = s
		}
		norm := orth(w)
		if norm <= 1e-12*trace {
			break // zero eigenvalue here: keep the current unit vector
		}
		diff := 0.0
		for a := range v {
			nv := w[a] / norm
			diff += math.Abs(nv - v[a])
			v[a] = nv
		}
		if diff < 1e-14 {
			break
		}
	}
	big := 0
	for a := range v {
		if math.Abs(v[a]) > math.Abs(v[big]) {
			big = a
		}
	}
	if v[big] < 0 {
		for a := range v {
			v[a] = -v[a]
		}
	}
	return v
}
