package week2

import "fmt"

// Metrics are a classifier's scores on one labelled set.
//
// With the confusion matrix C (C[i][j]: examples of true class i predicted as j):
//
//	precision_k = C[k][k] / Σ_i C[i][k]     (0 when nothing was predicted as k)
//	recall_k    = C[k][k] / Σ_j C[k][j]     (0 when no example is of class k)
//	F1_k        = 2·P·R / (P + R)           (0 when P + R = 0)
//	macro-F1    = mean of F1_k over the classes present in the gold labels or the predictions
//	accuracy    = Σ_k C[k][k] / Σ C
//
// as scikit-learn's classification_report with zero_division=0.
type Metrics struct {
	Labels    []string  `json:"labels"`
	Confusion [][]int   `json:"confusion"` // rows: true class, columns: predicted class
	Accuracy  float64   `json:"accuracy"`
	MacroF1   float64   `json:"macro_f1"`
	Precision []float64 `json:"precision"` // per class
	Recall    []float64 `json:"recall"`    // per class
	F1        []float64 `json:"f1"`        // per class
	Support   []int     `json:"support"`   // true examples per class
	N         int       `json:"n"`
}

// Confusion counts (gold, predicted) pairs into a len(labels) × len(labels) matrix.
func Confusion(labels []string, gold, pred []int) ([][]int, error) {
	if len(gold) != len(pred) {
		return nil, fmt.Errorf("metrics: %d gold labels for %d predictions", len(gold), len(pred))
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("metrics: no classes")
	}
	c := make([][]int, len(labels))
	for i := range c {
		c[i] = make([]int, len(labels))
	}
	for i := range gold {
		g, p := gold[i], pred[i]
		if g < 0 || g >= len(labels) || p < 0 || p >= len(labels) {
			return nil, fmt.Errorf("metrics: example %d has class %d → %d, outside [0, %d)", i, g, p, len(labels))
		}
		c[g][p]++
	}
	return c, nil
}

// Score computes the metrics of predictions pred against gold (class indices into labels).
func Score(labels []string, gold, pred []int) (Metrics, error) {
	c, err := Confusion(labels, gold, pred)
	if err != nil {
		return Metrics{}, err
	}
	if len(gold) == 0 {
		return Metrics{}, fmt.Errorf("metrics: no examples")
	}
	return FromConfusion(labels, c)
}

// FromConfusion computes the metrics of a confusion matrix (rows true, columns predicted).
func FromConfusion(labels []string, c [][]int) (Metrics, error) {
	k := len(labels)
	if len(c) != k {
		return Metrics{}, fmt.Errorf("metrics: %d rows for %d classes", len(c), k)
	}
	m := Metrics{Labels: labels, Confusion: c, Precision: make([]float64, k), Recall: make([]float64, k),
		F1: make([]float64, k), Support: make([]int, k)}
	colSum := make([]int, k)
	diag := 0
	for i, row := range c {
		if len(row) != k {
			return Metrics{}, fmt.Errorf("metrics: row %d has %d columns for %d classes", i, len(row), k)
		}
		for j, v := range row {
			if v < 0 {
				return Metrics{}, fmt.Errorf("metrics: negative count %d at (%d, %d)", v, i, j)
			}
			m.Support[i] += v
			colSum[j] += v
			m.N += v
		}
		diag += row[i]
	}
	if m.N == 0 {
		return Metrics{}, fmt.Errorf("metrics: no examples")
	}
	present := 0
	sumF1 := 0.0
	for i := range k {
		if colSum[i] > 0 {
			m.Precision[i] = float64(c[i][i]) / float64(colSum[i])
		}
		if m.Support[i] > 0 {
			m.Recall[i] = float64(c[i][i]) / float64(m.Support[i])
		}
		if p, r := m.Precision[i], m.Recall[i]; p+r > 0 {
			m.F1[i] = 2 * p * r / (p + r)
		}
		if colSum[i] > 0 || m.Support[i] > 0 {
			present++
			sumF1 += m.F1[i]
		}
	}
	m.Accuracy = float64(diag) / float64(m.N)
	m.MacroF1 = sumF1 / float64(present)
	return m, nil
}
