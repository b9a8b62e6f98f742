package attention

import (
	"fmt"
	"math"

	"github.com/divellm/divellm/llm/sample"
)

// Steps holds every intermediate value of one attention head computed in plain Go, so a
// lesson can print or draw each stage. Matrices are row-major [rows][cols].
type Steps struct {
	Q, K, V [][]float64 // [q, d], [k, d], [k, d]
	Scores  [][]float64 // Q·Kᵀ, [q, k]
	Scaled  [][]float64 // Scores / √d, masked entries set to -Inf
	Probs   [][]float64 // softmax of each row of Scaled
	Out     [][]float64 // Probs · V, [q, d]
}

// Reference computes one attention head in plain Go, with float64 accumulation.
// mask may be nil; mask[i][j] == true means query i may attend key j.
func Reference(q, k, v [][]float64, mask [][]bool) (*Steps, error) {
	if len(q) == 0 || len(k) == 0 {
		return nil, fmt.Errorf("attention.Reference: empty query or key")
	}
	d := len(q[0])
	if len(k) != len(v) {
		return nil, fmt.Errorf("attention.Reference: %d keys but %d values", len(k), len(v))
	}
	for name, m := range map[string][][]float64{"query": q, "key": k} {
		for i, row := range m {
			if len(row) != d {
				return nil, fmt.Errorf("attention.Reference: %s row %d has %d features, want %d", name, i, len(row), d)
			}
		}
	}
	if mask != nil && len(mask) != len(q) {
		return nil, fmt.Errorf("attention.Reference: mask has %d rows, want %d", len(mask), len(q))
	}
	s := &Steps{Q: q, K: k, V: v}
	s.Scores = MatMulT(q, k)
	scale := 1 / math.Sqrt(float64(d))
	s.Scaled = make([][]float64, len(q))
	for i := range q {
		s.Scaled[i] = make([]float64, len(k))
		for j := range k {
			s.Scaled[i][j] = s.Scores[i][j] * scale
			if mask != nil && !mask[i][j] {
				s.Scaled[i][j] = math.Inf(-1)
			}
		}
	}
	s.Probs = make([][]float64, len(q))
	for i := range q {
		s.Probs[i] = Softmax(s.Scaled[i])
	}
	s.Out = MatMul(s.Probs, v)
	return s, nil
}

// Softmax returns exp(x_i - max) / Σ exp(x_j - max). Entries of -Inf get probability 0;
// a row that is all -Inf gets a uniform distribution (as Hugging Face's models do when
// masking with the lowest float).
func Softmax(x []float64) []float64 { return sample.Probs(x) }

// MatMul returns a·b for a [n, k] and b [k, m].
func MatMul(a, b [][]float64) [][]float64 {
	out := make([][]float64, len(a))
	for i := range a {
		out[i] = make([]float64, len(b[0]))
		for p := range b {
			for j := range b[p] {
				out[i][j] += a[i][p] * b[p][j]
			}
		}
	}
	return out
}

// MatMulT returns a·bᵀ for a [n, d] and b [m, d].
func MatMulT(a, b [][]float64) [][]float64 {
	out := make([][]float64, len(a))
	for i := range a {
		out[i] = make([]float64, len(b))
		for j := range b {
			var s float64
			for p := range a[i] {
				s += a[i][p] * b[j][p]
			}
			out[i][j] = s
		}
	}
	return out
}

// CausalBoolMask returns the [n, n] lower-triangular mask of a decoder.
func CausalBoolMask(n int) [][]bool {
	m := make([][]bool, n)
	for i := range m {
		m[i] = make([]bool, n)
		for j := 0; j <= i; j++ {
			m[i][j] = true
		}
	}
	return m
}

// HeadWeights are the projections of one head: x·Wq+bq etc. with W [m, d] (input-major,
// like GPT-2's Conv1D) and b [d]; a nil bias means zero.
type HeadWeights struct {
	Wq, Wk, Wv [][]float64
	Bq, Bk, Bv []float64
}

// ReferenceHead projects x [n, m] into Q, K, V with w and runs [Reference].
func ReferenceHead(x [][]float64, w HeadWeights, mask [][]bool) (*Steps, error) {
	proj := func(W [][]float64, b []float64) ([][]float64, error) {
		if len(x) == 0 || len(W) != len(x[0]) {
			return nil, fmt.Errorf("attention.ReferenceHead: weight has %d rows, input has %d features", len(W), len(x[0]))
		}
		out := MatMul(x, W)
		if b != nil {
			for i := range out {
				for j := range out[i] {
					out[i][j] += b[j]
				}
			}
		}
		return out, nil
	}
	q, err := proj(w.Wq, w.Bq)
	if err != nil {
		return nil, err
	}
	k, err := proj(w.Wk, w.Bk)
	if err != nil {
		return nil, err
	}
	v, err := proj(w.Wv, w.Bv)
	if err != nil {
		return nil, err
	}
	return Reference(q, k, v, mask)
}
