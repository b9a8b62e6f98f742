package week3

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/divellm/divellm/lessons"
	"github.com/divellm/divellm/lessons/exercise"
)

func symInt8(x []float32) ([]int8, float32) {
	var m float64
	for _, v := range x {
		m = math.Max(m, math.Abs(float64(v)))
	}
	s := float32(m / 127)
	if m == 0 {
		s = 1
	}
	q := make([]int8, len(x))
	for i, v := range x {
		q[i] = int8(max(-127, min(127, math.Round(float64(v/s)))))
	}
	return q, s
}

func TestCheckSymInt8(t *testing.T) {
	if r := CheckSymInt8(symInt8); !r.Passed() {
		t.Fatalf("solution fails:\n%s", r)
	}
	if r := CheckSymInt8(func([]float32) ([]int8, float32) { return nil, 0 }); r.Status != exercise.NotDone {
		t.Fatalf("stub: %s", r)
	}
	trunc := func(x []float32) ([]int8, float32) { // truncates instead of rounding
		q, s := symInt8(x)
		for i, v := range x {
			q[i] = int8(v / s)
		}
		return q, s
	}
	if r := CheckSymInt8(trunc); r.Status != exercise.Failed || r.Hint == "" {
		t.Fatalf("truncation: %s", r)
	}
	asym := func(x []float32) ([]int8, float32) { // max of x, not max |x|
		var m float32
		for _, v := range x {
			m = max(m, v)
		}
		s := m / 127
		q := make([]int8, len(x))
		for i, v := range x {
			q[i] = int8(max(-127, min(127, math.Round(float64(v/s)))))
		}
		return q, s
	}
	if r := CheckSymInt8(asym); r.Status != exercise.Failed {
		t.Fatalf("max instead of max|x|: %s", r)
	}
}

func snr(x, y []float32) float64 {
	var s, e float64
	for i := range x {
		s += float64(x[i]) * float64(x[i])
		d := float64(x[i]) - float64(y[i])
		e += d * d
	}
	if e == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(s/e)
}

func TestCheckSNR(t *testing.T) {
	if r := CheckSNR(snr); !r.Passed() {
		t.Fatalf("solution fails:\n%s", r)
	}
	if r := CheckSNR(func(x, y []float32) float64 { return 0 }); r.Status != exercise.NotDone {
		t.Fatalf("stub: %s", r)
	}
	if r := CheckSNR(func(x, y []float32) float64 { return 2 * snr(x, y) }); r.Status != exercise.Failed || r.Hint == "" {
		t.Fatalf("20·log10: %s", r)
	}
}

func TestGroupSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	rows, cols := 16, 128
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * 0.02 * (1 + float64(i%cols)/16)) // scale grows along the row
	}
	cs := GroupCases(w, rows, cols)
	seen := map[int]bool{}
	for _, c := range cs {
		seen[PickGroupSize(c.W, c.Rows, c.Cols, c.Budget)] = true
	}
	if len(seen) != len(GroupSizes)+1 || !seen[-1] {
		t.Fatalf("cases cover answers %v, want every group size and −1", seen)
	}
	// smaller groups never lose SNR on this matrix
	for i := 1; i < len(GroupSizes); i++ {
		if groupSNR(w, rows, cols, GroupSizes[i]) < groupSNR(w, rows, cols, GroupSizes[i-1]) {
			t.Errorf("group %d worse than %d", GroupSizes[i], GroupSizes[i-1])
		}
	}
	if r := CheckGroupSize(PickGroupSize, cs); !r.Passed() {
		t.Fatalf("reference fails:\n%s", r)
	}
	if r := CheckGroupSize(func([]float32, int, int, float64) int { return 0 }, cs); r.Status != exercise.NotDone {
		t.Fatalf("stub: %s", r)
	}
	smallest := func(w []float32, rows, cols int, b float64) int { // smallest group that meets it
		for i := len(GroupSizes) - 1; i >= 0; i-- {
			if groupSNR(w, rows, cols, GroupSizes[i]) >= b {
				return GroupSizes[i]
			}
		}
		return -1
	}
	if r := CheckGroupSize(smallest, cs); r.Status != exercise.Failed || r.Hint == "" {
		t.Fatalf("smallest group: %s", r)
	}
}

func TestGroupCasesOnTheModel(t *testing.T) {
	m, err := lessons.LoadModel(lessons.GPTTinyZH)
	if err != nil {
		t.Skip(err)
	}
	w, rows, cols, err := LayerWeight(m, "transformer.h.0.mlp.c_proj")
	if err != nil {
		t.Fatal(err)
	}
	if rows != 128 || cols != 512 {
		t.Fatalf("c_proj is [%d, %d]", rows, cols)
	}
	cs := GroupCases(w, rows, cols)
	answers := map[int]bool{}
	for _, c := range cs {
		answers[PickGroupSize(c.W, c.Rows, c.Cols, c.Budget)] = true
	}
	if !answers[-1] || !answers[128] || len(answers) < 4 {
		t.Errorf("answers on the real layer: %v", answers)
	}
	if r := CheckGroupSize(PickGroupSize, cs); !r.Passed() {
		t.Error(r)
	}
	if _, _, _, err := LayerWeight(m, "nope"); err == nil {
		t.Error("unknown layer accepted")
	}
}
