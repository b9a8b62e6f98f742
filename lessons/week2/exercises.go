package week2

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/divellm/divellm/lessons/exercise"
)

// CheckMacroF1 checks a learner's macro-F1 of a confusion matrix (rows: true class,
// columns: predicted) against [FromConfusion] on hand-sized and random matrices, with the
// traps of the formula: a class that is never predicted (its precision is 0, not 0/0 =
// NaN), accuracy (= micro-F1) instead of the mean over classes, and the arithmetic mean of
// precision and recall instead of their harmonic mean. (Swapping rows and columns swaps
// precision and recall, which leaves every F1 unchanged: no trap there.)
func CheckMacroF1(f func(c [][]int) float64) exercise.Result {
	r := rand.New(rand.NewPCG(3, 4))
	randomC := func(k, n int) [][]int {
		c := make([][]int, k)
		for i := range c {
			c[i] = make([]int, k)
			for range n {
				j := i
				if r.Float64() < 0.35 {
					j = r.IntN(k)
				}
				c[i][j]++
			}
		}
		return c
	}
	cases := []struct {
		name string
		c    [][]int
	}{
		{"两类 two classes [[8 2] [1 9]]", [][]int{{8, 2}, {1, 9}}},
		{"三类 three classes [[2 1 0] [0 1 1] [0 0 1]]", [][]int{{2, 1, 0}, {0, 1, 1}, {0, 0, 1}}},
		{"有一类从没被预测 a class never predicted [[5 0] [3 0]]", [][]int{{5, 0}, {3, 0}}},
		{"不平衡 imbalanced [[90 0] [9 1]]", [][]int{{90, 0}, {9, 1}}},
		{"随机 8×8 random (the alert classes)", randomC(8, 30)},
	}
	var out []exercise.Case
	hint := ""
	for _, c := range cases {
		ref, err := FromConfusion(make([]string, len(c.c)), c.c)
		if err != nil {
			panic(err) // the cases are valid matrices
		}
		in := cloneInts(c.c)
		var got float64
		cr := exercise.Case{Name: c.name, Passed: true}
		if err := exercise.Protect(func() { got = f(in) }); err != nil {
			cr.Passed, cr.Detail = false, err.Error()
		} else if got == 0 {
			cr.Passed, cr.Empty = false, true
			cr.Detail = fmt.Sprintf("got 0, want %.6f", ref.MacroF1)
		} else if math.IsNaN(got) || math.Abs(got-ref.MacroF1) > 1e-9 {
			cr.Passed = false
			cr.Detail = fmt.Sprintf("got %.6f, want %.6f\nconfusion %v", got, ref.MacroF1, c.c)
			switch {
			case math.IsNaN(got):
				hint = "a class that is never predicted has Σ_i C[i][k] = 0: its precision is 0 (not 0/0), and so is its F1"
			case math.Abs(got-ref.Accuracy) < 1e-9:
				hint = "that is the accuracy (= micro-F1): macro-F1 computes F1 per class, then averages the classes equally"
			case math.Abs(got-meanPR(ref)) < 1e-9:
				hint = "F1 is the harmonic mean 2PR/(P+R), not the arithmetic mean (P+R)/2"
			}
		}
		out = append(out, cr)
	}
	if hint == "" {
		hint = "for each class k: P = C[k][k] / column sum, R = C[k][k] / row sum, F1 = 2PR/(P+R) (0 when P+R = 0); then average the F1s"
	}
	return exercise.Grade("macro-F1", out, hint, "compute precision, recall and F1 for each class from the matrix, then their mean")
}

// meanPR is the mean over classes of (P+R)/2: the arithmetic-mean mistake.
func meanPR(m Metrics) float64 {
	s := 0.0
	for i := range m.Precision {
		s += (m.Precision[i] + m.Recall[i]) / 2
	}
	return s / float64(len(m.Precision))
}

func cloneInts(c [][]int) [][]int {
	out := make([][]int, len(c))
	for i := range c {
		out[i] = append([]int(nil), c[i]...)
	}
	return out
}

// LoRAReference is the LoRA forward of one linear map computed the merged way:
// y = (W + (α/r)·B·A)·x, with W d_out×d_in, A r×d_in, B d_out×r.
func LoRAReference(x []float64, W, A, B [][]float64, alpha float64) []float64 {
	r := len(A)
	scale := alpha / float64(r)
	y := make([]float64, len(W))
	for i := range W {
		for j := range x {
			w := W[i][j]
			for k := range r {
				w += scale * B[i][k] * A[k][j]
			}
			y[i] += w * x[j]
		}
	}
	return y
}

// CheckLoRAForward checks a learner's LoRA forward y = W·x + (α/r)·B·(A·x) for one matrix
// against [LoRAReference], which builds the merged matrix W + (α/r)·B·A first (the two
// orders agree to rounding; the learner's way never forms a d×d update). The traps:
// forgetting the scale, scaling by α instead of α/r, and B = 0 at initialisation (the
// output must equal W·x exactly).
func CheckLoRAForward(f func(x []float64, W, A, B [][]float64, alpha float64) []float64) exercise.Result {
	rng := rand.New(rand.NewPCG(5, 6))
	mat := func(rows, cols int) [][]float64 {
		m := make([][]float64, rows)
		for i := range m {
			m[i] = make([]float64, cols)
			for j := range m[i] {
				m[i][j] = rng.NormFloat64()
			}
		}
		return m
	}
	vec := func(n int) []float64 { return mat(1, n)[0] }
	type lcase struct {
		name    string
		x       []float64
		W, A, B [][]float64
		alpha   float64
	}
	zeroB := mat(4, 2)
	for i := range zeroB {
		for j := range zeroB[i] {
			zeroB[i][j] = 0
		}
	}
	cases := []lcase{
		{"小例子 small: d=2, r=1, α=1", []float64{1, 2}, [][]float64{{1, 0}, {0, 1}}, [][]float64{{1, 1}}, [][]float64{{1}, {2}}, 1},
		{"初始化时 B = 0 (输出应等于 W·x)", vec(3), mat(4, 3), mat(2, 3), zeroB, 4},
		{"随机 random d_out=6, d_in=5, r=2, α=4", vec(5), mat(6, 5), mat(2, 5), mat(6, 2), 4},
		{"随机 random r=4, α=16 (α/r = 4)", vec(8), mat(8, 8), mat(4, 8), mat(8, 4), 16},
	}
	var out []exercise.Case
	hint := ""
	for _, c := range cases {
		want := LoRAReference(c.x, c.W, c.A, c.B, c.alpha)
		var got []float64
		cr := exercise.Case{Name: c.name, Passed: true}
		x, W, A, B := append([]float64(nil), c.x...), cloneF(c.W), cloneF(c.A), cloneF(c.B)
		if err := exercise.Protect(func() { got = f(x, W, A, B, c.alpha) }); err != nil {
			cr.Passed, cr.Detail = false, err.Error()
			out = append(out, cr)
			continue
		}
		if got == nil {
			cr.Passed, cr.Empty = false, true
			cr.Detail = "got nil"
			out = append(out, cr)
			continue
		}
		if d := maxAbsDiff(want, got); d > 1e-9 {
			cr.Passed = false
			cr.Detail = fmt.Sprintf("got %s, want %s", fmtFloats(got), fmtFloats(want))
			r := float64(len(c.A))
			switch {
			case maxAbsDiff(LoRAReference(c.x, c.W, c.A, c.B, r), got) < 1e-9 && c.alpha != r:
				hint = "the update is scaled by α/r: without it the adapter's size would change with the rank"
			case maxAbsDiff(LoRAReference(c.x, c.W, c.A, c.B, c.alpha*r), got) < 1e-9:
				hint = "scale by α/r, not by α"
			}
		}
		out = append(out, cr)
	}
	if hint == "" {
		hint = "y = W·x + (α/r)·B·(A·x): first h = A·x (r values), then B·h (d_out values), scale it and add W·x"
	}
	return exercise.Grade("LoRA forward", out, hint, "compute W·x, then A·x, then B·(A·x), scale by α/r and add")
}

func cloneF(m [][]float64) [][]float64 {
	out := make([][]float64, len(m))
	for i := range m {
		out[i] = append([]float64(nil), m[i]...)
	}
	return out
}

func maxAbsDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		if math.IsNaN(b[i]) || math.IsInf(b[i], 0) {
			return math.Inf(1)
		}
		d = max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

func fmtFloats(v []float64) string {
	parts := make([]string, 0, len(v))
	for i, x := range v {
		if i == 6 {
			parts = append(parts, fmt.Sprintf("… (%d values)", len(v)))
			break
		}
		parts = append(parts, fmt.Sprintf("%.4g", x))
	}
	return "[" + strings.Join(parts, " ") + "]"
}
