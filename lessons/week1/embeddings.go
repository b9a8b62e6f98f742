package week1

import (
	"fmt"
	"math"
	"sort"

	"github.com/divellm/divellm/llm"
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
		return nil, fmt.Errorf("pca: %d points, need at least 2", n)
	}
	d := len(x[0])
	if k < 1 || k > d {
		return nil, fmt.Errorf("pca: k = %d components, want 1..%d", k, d)
	}
	mean := make([]float64, d)
	for i, row := range x {
		if len(row) != d {
			return nil, fmt.Errorf("pca: point %d has %d features, point 0 has %d", i, len(row), d)
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("pca: x[%d][%d] is %v", i, j, v)
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

// EmbeddingGroup is a named set of characters expected to sit near each other.
type EmbeddingGroup struct {
	Name  string
	Chars []string
}

// EmbeddingGroups are the character groups the lesson plots: digits, places, operations
// words, time words and verbs — all frequent in the corpus.
func EmbeddingGroups() []EmbeddingGroup {
	split := func(s string) []string {
		var out []string
		for _, r := range s {
			out = append(out, string(r))
		}
		return out
	}
	return []EmbeddingGroup{
		{"数字 digits", split("0123456789")},
		{"时间 time", split("年月日天时分秒周")},
		{"运维 ops", split("磁盘存储网络库")},
		{"标点 punctuation", split("，。：、；")},
		{"动作 verbs", split("去来看买吃做")},
	}
}

// EmbeddingPoint is one character placed in 2-D.
type EmbeddingPoint struct {
	Char  string
	Group string
	X, Y  float64
}

// EmbeddingMapResult is what [EmbeddingMap] returns: the points and how much of the
// variance of the chosen embeddings the two axes keep.
type EmbeddingMapResult struct {
	Points    []EmbeddingPoint
	Explained [2]float64
	Skipped   []string // characters not in the model's vocabulary
}

// XY returns the points as [][2]float64 and their labels, the form viz.Scatter2D takes.
func (r *EmbeddingMapResult) XY() (points [][2]float64, labels []string) {
	for _, p := range r.Points {
		points = append(points, [2]float64{p.X, p.Y})
		labels = append(labels, p.Char)
	}
	return points, labels
}

// TokenEmbeddings returns the token-embedding matrix of a model, [vocab][d]: GPT's wte
// (tied with the output layer) or BERT's word embeddings.
func TokenEmbeddings(m *llm.Model) ([][]float64, error) {
	for _, name := range []string{"transformer.wte.weight", "bert.embeddings.word_embeddings.weight"} {
		if p, ok := m.Params[name]; ok {
			rows, cols := p.Shape[0], p.Shape[1]
			out := make([][]float64, rows)
			for i := range out {
				out[i] = make([]float64, cols)
				for j := range out[i] {
					out[i][j] = float64(p.Data[i*cols+j])
				}
			}
			return out, nil
		}
	}
	return nil, fmt.Errorf("embeddings: the model has no token-embedding matrix")
}

// EmbeddingMap looks up each character's row of the model's token embeddings and projects
// them to 2-D with [PCA]. groups label the characters (nil: [EmbeddingGroups]).
func EmbeddingMap(m *llm.Model, groups []EmbeddingGroup) (*EmbeddingMapResult, error) {
	if m.Tokenizer == nil {
		return nil, fmt.Errorf("embedding map: the model has no tokenizer")
	}
	if groups == nil {
		groups = EmbeddingGroups()
	}
	emb, err := TokenEmbeddings(m)
	if err != nil {
		return nil, err
	}
	res := &EmbeddingMapResult{}
	var rows [][]float64
	for _, g := range groups {
		for _, c := range g.Chars {
			id, ok := m.Tokenizer.TokenToID(c)
			if !ok || id >= len(emb) {
				res.Skipped = append(res.Skipped, c)
				continue
			}
			rows = append(rows, emb[id])
			res.Points = append(res.Points, EmbeddingPoint{Char: c, Group: g.Name})
		}
	}
	p, err := PCA(rows, 2)
	if err != nil {
		return nil, fmt.Errorf("embedding map: %w", err)
	}
	for i := range res.Points {
		res.Points[i].X, res.Points[i].Y = p.Points[i][0], p.Points[i][1]
	}
	res.Explained = [2]float64{p.Explained[0], p.Explained[1]}
	return res, nil
}

// GroupSpread measures how well groups cluster: the mean distance between points of the
// same group divided by the mean distance between points of different groups (below 1:
// groups are tighter than the whole cloud).
func (r *EmbeddingMapResult) GroupSpread() float64 {
	var in, out float64
	var nIn, nOut int
	for i, a := range r.Points {
		for _, b := range r.Points[i+1:] {
			d := math.Hypot(a.X-b.X, a.Y-b.Y)
			if a.Group == b.Group {
				in, nIn = in+d, nIn+1
			} else {
				out, nOut = out+d, nOut+1
			}
		}
	}
	if nIn == 0 || nOut == 0 || out == 0 {
		return math.NaN()
	}
	return (in / float64(nIn)) / (out / float64(nOut))
}
