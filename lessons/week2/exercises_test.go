package week2

import (
	"strings"
	"testing"

	"github.com/divellm/divellm/lessons/exercise"
)

// solutionMacroF1 is the notebook's worked answer, written independently of FromConfusion.
func solutionMacroF1(c [][]int) float64 {
	k := len(c)
	sum, classes := 0.0, 0
	for j := range k {
		tp, col, row := c[j][j], 0, 0
		for i := range k {
			col += c[i][j]
			row += c[j][i]
		}
		if col == 0 && row == 0 {
			continue
		}
		classes++
		var p, r float64
		if col > 0 {
			p = float64(tp) / float64(col)
		}
		if row > 0 {
			r = float64(tp) / float64(row)
		}
		if p+r > 0 {
			sum += 2 * p * r / (p + r)
		}
	}
	return sum / float64(classes)
}

func TestCheckMacroF1(t *testing.T) {
	if r := CheckMacroF1(solutionMacroF1); r.Status != exercise.Passed {
		t.Fatalf("solution: %s", r)
	}
	if r := CheckMacroF1(func([][]int) float64 { return 0 }); r.Status != exercise.NotDone {
		t.Errorf("stub: %v", r.Status)
	}
	accuracy := func(c [][]int) float64 {
		d, n := 0, 0
		for i := range c {
			for j := range c[i] {
				n += c[i][j]
				if i == j {
					d += c[i][j]
				}
			}
		}
		return float64(d) / float64(n)
	}
	if r := CheckMacroF1(accuracy); r.Status != exercise.Failed || !strings.Contains(r.Hint, "accuracy") {
		t.Errorf("accuracy: %v, hint %q", r.Status, r.Hint)
	}
	arith := func(c [][]int) float64 {
		m, _ := FromConfusion(make([]string, len(c)), c)
		return meanPR(m)
	}
	if r := CheckMacroF1(arith); r.Status != exercise.Failed || !strings.Contains(r.Hint, "harmonic") {
		t.Errorf("arithmetic mean: %v, hint %q", r.Status, r.Hint)
	}
	nanPrecision := func(c [][]int) float64 { // 0/0 for a class never predicted
		s := 0.0
		for j := range c {
			col, row := 0, 0
			for i := range c {
				col += c[i][j]
				row += c[j][i]
			}
			p, r := float64(c[j][j])/float64(col), float64(c[j][j])/float64(row)
			s += 2 * p * r / (p + r)
		}
		return s / float64(len(c))
	}
	if r := CheckMacroF1(nanPrecision); r.Status != exercise.Failed || !strings.Contains(r.Hint, "never predicted") {
		t.Errorf("0/0: %v, hint %q", r.Status, r.Hint)
	}
	if r := CheckMacroF1(func([][]int) float64 { panic("boom") }); r.Status != exercise.Failed {
		t.Errorf("panic: %v", r.Status)
	}
}

// solutionLoRA is the notebook's worked answer: W·x + (α/r)·B·(A·x), never forming B·A.
func solutionLoRA(x []float64, W, A, B [][]float64, alpha float64) []float64 {
	h := make([]float64, len(A))
	for k := range A {
		for j := range x {
			h[k] += A[k][j] * x[j]
		}
	}
	scale := alpha / float64(len(A))
	y := make([]float64, len(W))
	for i := range W {
		for j := range x {
			y[i] += W[i][j] * x[j]
		}
		for k := range h {
			y[i] += scale * B[i][k] * h[k]
		}
	}
	return y
}

func TestCheckLoRAForward(t *testing.T) {
	if r := CheckLoRAForward(solutionLoRA); r.Status != exercise.Passed {
		t.Fatalf("solution: %s", r)
	}
	if r := CheckLoRAForward(func([]float64, [][]float64, [][]float64, [][]float64, float64) []float64 { return nil }); r.Status != exercise.NotDone {
		t.Errorf("stub: %v", r.Status)
	}
	noScale := func(x []float64, W, A, B [][]float64, alpha float64) []float64 {
		return solutionLoRA(x, W, A, B, float64(len(A)))
	}
	if r := CheckLoRAForward(noScale); r.Status != exercise.Failed || !strings.Contains(r.Hint, "α/r") {
		t.Errorf("no scale: %v, hint %q", r.Status, r.Hint)
	}
	alphaOnly := func(x []float64, W, A, B [][]float64, alpha float64) []float64 {
		return solutionLoRA(x, W, A, B, alpha*float64(len(A)))
	}
	if r := CheckLoRAForward(alphaOnly); r.Status != exercise.Failed || !strings.Contains(r.Hint, "not by α") {
		t.Errorf("α: %v, hint %q", r.Status, r.Hint)
	}
	// The reference agrees with the plain formula on a hand case: W = I, A = [1 1],
	// B = [1 2]ᵀ, α = r = 1, x = (1, 2): A·x = 3, y = x + 3·(1, 2) = (4, 8).
	if y := LoRAReference([]float64{1, 2}, [][]float64{{1, 0}, {0, 1}}, [][]float64{{1, 1}}, [][]float64{{1}, {2}}, 1); y[0] != 4 || y[1] != 8 {
		t.Errorf("reference %v, want [4 8]", y)
	}
}
