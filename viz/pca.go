package viz

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// PCAResult is a projection of points onto their first principal components.
type PCAResult struct {
	Points     [][]float64 // [n][k] coordinates along the components
	Components [][]float64 // [k][d] unit directions, largest variance first
	Variance   []float64   // [k] variance along each component (eigenvalues of the covariance)
	Explained  []float64   // [k] fraction of the total variance each component explains
}

// PCA projects the rows of x (n points × d features) onto their k principal components:
// centre the data (X − mean), form the covariance C = XᵀX / (n−1), take its eigenvectors
// with the largest eigenvalues, and return X·v for each. Eigenvectors come from the
// cyclic Jacobi method (exact up to rounding, deterministic); each is signed so that its
// largest-magnitude component is positive.
func PCA(x [][]float64, k int) (*PCAResult, error) {
	n := len(x)
	if n < 2 {
		return nil, fmt.Errorf("viz.PCA: %d points, need at least 2", n)
	}
	d := len(x[0])
	if k < 1 || k > d {
		return nil, fmt.Errorf("viz.PCA: k = %d components, want 1..%d", k, d)
	}
	mean := make([]float64, d)
	for i, row := range x {
		if len(row) != d {
			return nil, fmt.Errorf("viz.PCA: point %d has %d features, point 0 has %d", i, len(row), d)
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("viz.PCA: x[%d][%d] is %v", i, j, v)
			}
			mean[j] += v / float64(n)
		}
	}
	cov := make([][]float64, d) // [d][d]
	for a := range cov {
		cov[a] = make([]float64, d)
	}
	for _, row := range x {
		for a := range d {
			ca := row[a] - mean[a]
			for b := a; b < d; b++ {
				cov[a][b] += ca * (row[b] - mean[b]) / float64(n-1)
			}
		}
	}
	for a := range d {
		for b := range a {
			cov[a][b] = cov[b][a]
		}
	}
	vals, vecs := jacobiEigen(cov)
	order := make([]int, d)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return vals[order[i]] > vals[order[j]] })
	total := 0.0
	for _, v := range vals {
		total += max(v, 0)
	}
	res := &PCAResult{}
	for _, c := range order[:k] {
		dir := make([]float64, d)
		big := 0
		for a := range d {
			dir[a] = vecs[a][c]
			if math.Abs(dir[a]) > math.Abs(dir[big]) {
				big = a
			}
		}
		if dir[big] < 0 {
			for a := range dir {
				dir[a] = -dir[a]
			}
		}
		v := max(vals[c], 0)
		res.Components = append(res.Components, dir)
		res.Variance = append(res.Variance, v)
		if total > 0 {
			res.Explained = append(res.Explained, v/total)
		} else {
			res.Explained = append(res.Explained, 0)
		}
	}
	for _, row := range x {
		p := make([]float64, k)
		for c, dir := range res.Components {
			for a := range d {
				p[c] += (row[a] - mean[a]) * dir[a]
			}
		}
		res.Points = append(res.Points, p)
	}
	return res, nil
}

// jacobiEigen diagonalises the symmetric matrix a with cyclic Jacobi rotations and returns
// its eigenvalues and eigenvectors (column c of vecs belongs to vals[c]). a is not modified.
func jacobiEigen(a [][]float64) (vals []float64, vecs [][]float64) {
	d := len(a)
	m := make([][]float64, d)
	vecs = make([][]float64, d)
	for i := range m {
		m[i] = append([]float64(nil), a[i]...)
		vecs[i] = make([]float64, d)
		vecs[i][i] = 1
	}
	for sweep := 0; sweep < 100; sweep++ {
		off, diag := 0.0, 0.0
		for p := range d {
			diag += m[p][p] * m[p][p]
			for q := p + 1; q < d; q++ {
				off += m[p][q] * m[p][q]
			}
		}
		if off <= 1e-30*(diag+1e-300) {
			break
		}
		for p := 0; p < d; p++ {
			for q := p + 1; q < d; q++ {
				if m[p][q] == 0 {
					continue
				}
				theta := (m[q][q] - m[p][p]) / (2 * m[p][q])
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := range d { // rotate columns p, q
					mkp, mkq := m[k][p], m[k][q]
					m[k][p], m[k][q] = c*mkp-s*mkq, s*mkp+c*mkq
				}
				for k := range d { // rotate rows p, q
					mpk, mqk := m[p][k], m[q][k]
					m[p][k], m[q][k] = c*mpk-s*mqk, s*mpk+c*mqk
				}
				for k := range d {
					vkp, vkq := vecs[k][p], vecs[k][q]
					vecs[k][p], vecs[k][q] = c*vkp-s*vkq, s*vkp+c*vkq
				}
			}
		}
	}
	vals = make([]float64, d)
	for i := range vals {
		vals[i] = m[i][i]
	}
	return vals, vecs
}

// PCA2 projects the rows of x (n points × d features) onto their first two principal
// components with [PCA]. If the data has one feature, the second coordinate is 0.
func PCA2(x [][]float64) ([][2]float64, error) {
	if len(x) > 0 && len(x[0]) == 0 {
		return nil, errors.New("viz.PCA2: points have no features")
	}
	k := 2
	if len(x) > 0 && len(x[0]) < 2 {
		k = 1
	}
	p, err := PCA(x, k)
	if err != nil {
		return nil, err
	}
	out := make([][2]float64, len(p.Points))
	for i, row := range p.Points {
		copy(out[i][:], row)
	}
	return out, nil
}
