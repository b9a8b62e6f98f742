package week2

import (
	"math"
	"slices"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-12 }

// Hand-computed: gold a a a b b c, predicted a a b b c c.
//
//	C = [[2 1 0] [0 1 1] [0 0 1]]
//	precision a 2/2, b 1/2, c 1/2; recall a 2/3, b 1/2, c 1/1
//	F1 a 0.8, b 0.5, c 2/3; macro (0.8 + 0.5 + 2/3)/3; accuracy 4/6
func TestScoreHandComputed(t *testing.T) {
	labels := []string{"a", "b", "c", "d"}
	m, err := Score(labels, []int{0, 0, 0, 1, 1, 2}, []int{0, 0, 1, 1, 2, 2})
	if err != nil {
		t.Fatal(err)
	}
	wantC := [][]int{{2, 1, 0, 0}, {0, 1, 1, 0}, {0, 0, 1, 0}, {0, 0, 0, 0}}
	for i := range wantC {
		if !slices.Equal(m.Confusion[i], wantC[i]) {
			t.Fatalf("confusion row %d = %v, want %v", i, m.Confusion[i], wantC[i])
		}
	}
	for _, c := range []struct {
		name      string
		got, want []float64
	}{
		{"precision", m.Precision, []float64{1, 0.5, 0.5, 0}},
		{"recall", m.Recall, []float64{2.0 / 3, 0.5, 1, 0}},
		{"f1", m.F1, []float64{0.8, 0.5, 2.0 / 3, 0}},
	} {
		for i := range c.want {
			if !near(c.got[i], c.want[i]) {
				t.Errorf("%s[%d] = %g, want %g", c.name, i, c.got[i], c.want[i])
			}
		}
	}
	// d never occurs in gold or predictions: it is left out of the macro average.
	if want := (0.8 + 0.5 + 2.0/3) / 3; !near(m.MacroF1, want) {
		t.Errorf("macro-F1 = %g, want %g", m.MacroF1, want)
	}
	if !near(m.Accuracy, 4.0/6) || m.N != 6 || !slices.Equal(m.Support, []int{3, 2, 1, 0}) {
		t.Errorf("accuracy %g, n %d, support %v", m.Accuracy, m.N, m.Support)
	}
}

// A class that is predicted but never true counts in the macro average with F1 = 0.
func TestScorePredictedOnlyClass(t *testing.T) {
	m, err := Score([]string{"x", "y"}, []int{0, 0, 0, 0}, []int{0, 0, 0, 1})
	if err != nil {
		t.Fatal(err)
	}
	// x: P 1, R 3/4, F1 6/7; y: P 0, R 0 (no support), F1 0.
	if want := (6.0 / 7) / 2; !near(m.MacroF1, want) {
		t.Errorf("macro-F1 = %g, want %g", m.MacroF1, want)
	}
}

func TestScoreRefusals(t *testing.T) {
	for _, c := range []struct {
		name       string
		labels     []string
		gold, pred []int
	}{
		{"length mismatch", []string{"a", "b"}, []int{0, 1}, []int{0}},
		{"class out of range", []string{"a", "b"}, []int{0, 2}, []int{0, 1}},
		{"negative class", []string{"a", "b"}, []int{0, -1}, []int{0, 1}},
		{"no examples", []string{"a", "b"}, nil, nil},
		{"no classes", nil, []int{0}, []int{0}},
	} {
		if _, err := Score(c.labels, c.gold, c.pred); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	if _, err := FromConfusion([]string{"a", "b"}, [][]int{{1, 0}, {0}}); err == nil {
		t.Error("ragged confusion accepted")
	}
	if _, err := FromConfusion([]string{"a", "b"}, [][]int{{1, -1}, {0, 1}}); err == nil {
		t.Error("negative count accepted")
	}
}
