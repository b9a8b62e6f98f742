package week1

import (
	"math"
	"testing"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/viz"
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

// Our Jacobi PCA agrees with viz.PCA2 (power iteration) on random data, up to sign.
func TestPCAMatchesViz(t *testing.T) {
	x := randMat(newRand(9), 40, 12, 1)
	for i := range x { // give the cloud a dominant direction
		x[i][3] += 3 * x[i][0]
	}
	p, err := PCA(x, 2)
	if err != nil {
		t.Fatal(err)
	}
	v, err := viz.PCA2(x)
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

func TestEmbeddingMap(t *testing.T) {
	tok := CharZH()
	m, err := llm.New(llm.TinyGPT(tok.VocabSize()), llm.HeadSet{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	m.Tokenizer = tok
	// Plant structure: every digit's embedding gets the same large offset.
	emb := m.Params["transformer.wte.weight"]
	d := emb.Shape[1]
	for _, c := range "0123456789" {
		id, _ := tok.TokenToID(string(c))
		for j := range d {
			emb.Data[id*d+j] += 0.5
		}
	}
	groups := append(EmbeddingGroups(), EmbeddingGroup{"not in vocab", []string{"\U0001F600"}})
	r, err := EmbeddingMap(m, groups)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Skipped) != 1 || len(r.Points) == 0 {
		t.Fatalf("skipped %v, %d points", r.Skipped, len(r.Points))
	}
	// The planted offset is the direction of largest variance: digits separate on X.
	for _, p := range r.Points {
		if (p.Group == "数字 digits") != (p.X > 0) {
			t.Errorf("%s (%s) at x=%.3f", p.Char, p.Group, p.X)
		}
	}
	if r.Explained[0] < r.Explained[1] || r.Explained[0] < 0.2 {
		t.Errorf("explained %v", r.Explained)
	}
	pts, labels := r.XY()
	if len(pts) != len(labels) || labels[0] != "0" {
		t.Error("XY")
	}
	m.Tokenizer = nil
	if _, err := EmbeddingMap(m, nil); err == nil {
		t.Error("no tokenizer should be an error")
	}
}
