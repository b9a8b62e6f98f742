package viz

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Points on the line y = x, spread along it: one component explains everything, and the
// projection is the signed distance along (1,1)/√2 from the mean.
func TestPCAHandExample(t *testing.T) {
	x := [][]float64{{-2, -2}, {-1, -1}, {0, 0}, {1, 1}, {2, 2}}
	p, err := PCA(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	s := 1 / math.Sqrt2
	if math.Abs(p.Components[0][0]-s) > 1e-12 || math.Abs(p.Components[0][1]-s) > 1e-12 {
		t.Errorf("first component %v, want (1,1)/√2", p.Components[0])
	}
	// Variance along the line: Σ (√2·i)² / (n−1) = 2·10/4 = 5.
	if math.Abs(p.Variance[0]-5) > 1e-12 || math.Abs(p.Variance[1]) > 1e-12 {
		t.Errorf("variance %v, want [5 0]", p.Variance)
	}
	if math.Abs(p.Explained[0]-1) > 1e-12 {
		t.Errorf("explained %v", p.Explained)
	}
	for i, row := range p.Points {
		if want := float64(i-2) * math.Sqrt2; math.Abs(row[0]-want) > 1e-12 || math.Abs(row[1]) > 1e-12 {
			t.Errorf("point %d = %v, want (%g, 0)", i, row, want)
		}
	}
	// A 2×2 covariance [[3,1],[1,3]] has eigenvalues 4 and 2: check with an anisotropic cloud.
	y := [][]float64{{1, 0}, {-1, 0}, {0, 2}, {0, -2}}
	q, _ := PCA(y, 2)
	if math.Abs(q.Variance[0]-8.0/3) > 1e-12 || math.Abs(q.Variance[1]-2.0/3) > 1e-12 || math.Abs(q.Components[0][1]-1) > 1e-12 {
		t.Errorf("axis-aligned cloud: variance %v components %v", q.Variance, q.Components)
	}
	if _, err := PCA(x[:1], 1); err == nil {
		t.Error("one point should be an error")
	}
	if _, err := PCA([][]float64{{1, 2}, {3}}, 1); err == nil {
		t.Error("ragged input should be an error")
	}
	if _, err := PCA(x, 3); err == nil {
		t.Error("k > d should be an error")
	}
}

// PCA (Jacobi) agrees with an independent power-iteration PCA on random data, up to sign.
func TestPCAMatchesViz(t *testing.T) {
	x := randCloud(9, 40, 12)
	for i := range x { // give the cloud a dominant direction
		x[i][3] += 3 * x[i][0]
	}
	p, err := PCA(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	v, err := pca2PowerIteration(x)
	if err != nil {
		t.Fatal(err)
	}
	for c := range 2 {
		sign := 1.0
		if p.Points[0][c]*v[0][c] < 0 {
			sign = -1
		}
		for i := range x {
			if d := math.Abs(p.Points[i][c] - sign*v[i][c]); d > 1e-6 {
				t.Fatalf("component %d point %d: %g vs viz %g", c, i, p.Points[i][c], v[i][c])
			}
		}
	}
}

func randCloud(seed uint64, n, d int) [][]float64 {
	r := rand.New(rand.NewPCG(seed, 0))
	x := make([][]float64, n)
	for i := range x {
		x[i] = make([]float64, d)
		for j := range x[i] {
			x[i][j] = r.NormFloat64()
		}
	}
	return x
}

// pca2PowerIteration is an independent PCA (power iteration with deflation) that the
// tests compare PCA's Jacobi eigenvectors against.
func pca2PowerIteration(x [][]float64) ([][2]float64, error) {
	n, d := len(x), len(x[0])
	mean := make([]float64, d)
	for _, row := range x {
		for j, v := range row {
			mean[j] += v / float64(n)
		}
	}
	cov := make([][]float64, d)
	for a := range cov {
		cov[a] = make([]float64, d)
		for b := range cov[a] {
			for _, row := range x {
				cov[a][b] += (row[a] - mean[a]) * (row[b] - mean[b]) / float64(n-1)
			}
		}
	}
	var vecs [2][]float64
	vecs[0] = topEigen(cov, nil)
	vecs[1] = topEigen(cov, vecs[0])
	out := make([][2]float64, n)
	for i, row := range x {
		for c := range 2 {
			for j, v := range row {
				out[i][c] += (v - mean[j]) * vecs[c][j]
			}
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
