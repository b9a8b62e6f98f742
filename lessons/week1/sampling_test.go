package week1

import (
	"math"
	"testing"
)

func TestSamplingProbs(t *testing.T) {
	logits := []float64{2, 1, 0, -1}
	z := math.Exp(2) + math.Exp(1) + 1 + math.Exp(-1)
	plain := []float64{math.Exp(2) / z, math.Exp(1) / z, 1 / z, math.Exp(-1) / z}
	check := func(name string, got, want []float64) {
		t.Helper()
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-12 {
				t.Errorf("%s: %v, want %v", name, got, want)
				return
			}
		}
	}
	check("plain", Sampling{}.Probs(logits), plain)
	check("greedy", Sampling{Greedy: true}.Probs(logits), []float64{1, 0, 0, 0})
	// Temperature 2: softmax(l/2).
	z2 := math.Exp(1) + math.Exp(0.5) + 1 + math.Exp(-0.5)
	check("T=2", Sampling{Temperature: 2}.Probs(logits), []float64{math.Exp(1) / z2, math.Exp(0.5) / z2, 1 / z2, math.Exp(-0.5) / z2})
	// Top-2: the two largest, renormalised.
	s2 := plain[0] + plain[1]
	check("top-k 2", Sampling{TopK: 2}.Probs(logits), []float64{plain[0] / s2, plain[1] / s2, 0, 0})
	// Top-p 0.9: plain[0] = 0.64, +plain[1] = 0.88 < 0.9, +plain[2] = 0.97 ≥ 0.9: three kept.
	s3 := plain[0] + plain[1] + plain[2]
	check("top-p 0.9", Sampling{TopP: 0.9}.Probs(logits), []float64{plain[0] / s3, plain[1] / s3, plain[2] / s3, 0})
	// Top-p below the first token's mass keeps one token.
	check("top-p 0.5", Sampling{TopP: 0.5}.Probs(logits), []float64{1, 0, 0, 0})
	// Draws follow the distribution: top-k 2 never draws 2 or 3; greedy always 0.
	for _, id := range (Sampling{TopK: 2}).Sample(logits, 200, 3) {
		if id > 1 {
			t.Fatalf("top-k 2 drew %d", id)
		}
	}
	zeros := 0
	for _, id := range (Sampling{}).Sample(logits, 4000, 3) {
		if id == 0 {
			zeros++
		}
	}
	if f := float64(zeros) / 4000; math.Abs(f-plain[0]) > 0.03 {
		t.Errorf("drew token 0 %.3f of the time, p = %.3f", f, plain[0])
	}
	nt := &NextToken{Prompt: "我", Tokens: []string{"a", "b", "\n", "d"}, Logits: logits}
	if h, rows := SamplingTable(nt, DefaultSamplings()); len(rows) != 6 || len(rows[0]) != len(h) || rows[0][1] != "1" || rows[0][2] != "100.0%" {
		t.Errorf("table %v %v", h, rows)
	}
	if err := SamplingView(nt, DefaultSamplings(), 3).Err(); err != nil {
		t.Error(err)
	}
}
