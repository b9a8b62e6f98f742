package qa

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Hand-computed values: common characters counted as multisets, after normalisation.
func TestF1HandValues(t *testing.T) {
	cases := []struct {
		pred, gold string
		em         bool
		f1         float64
	}{
		{"系统无法写入文件", "系统无法写入文件", true, 1},
		{"系统无法写入文件。", "系统无法写入文件", true, 1},      // punctuation dropped
		{"Web-Prod-17", "web prod 17", true, 1}, // case, spaces and '-' dropped
		{"无法写入文件", "系统无法写入文件", false, 6.0 / 7},  // P=6/6, R=6/8 → 2·1·¾/(1+¾) = 6/7
		{"进程挂起", "系统无法写入文件", false, 0},
		{"文件文件", "文件", false, 2.0 / 3}, // common 2 (multiset): P=2/4, R=2/2 → 2/3
		{"", "文件", false, 0},
		{"？", "", true, 1}, // both empty after normalisation
	}
	for _, c := range cases {
		if got := ExactMatch(c.pred, c.gold); got != c.em {
			t.Errorf("ExactMatch(%q, %q) = %v, want %v", c.pred, c.gold, got, c.em)
		}
		if got := F1(c.pred, c.gold); math.Abs(got-c.f1) > 1e-12 {
			t.Errorf("F1(%q, %q) = %v, want %v", c.pred, c.gold, got, c.f1)
		}
	}
	em, f1 := Score("无法写入文件", []string{"进程挂起", "系统无法写入文件"})
	if em != 0 || math.Abs(f1-6.0/7) > 1e-12 {
		t.Errorf("Score over two golds = %v, %v; want 0, 6/7", em, f1)
	}
}

// BestSpan against the brute force over every pair (s, e), on random logits with ties
// made likely by rounding.
func TestBestSpanBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 500 {
		n := 1 + r.IntN(20)
		start, end := make([]float64, n), make([]float64, n)
		for i := range n {
			start[i], end[i] = math.Round(r.NormFloat64()*2), math.Round(r.NormFloat64()*2)
		}
		lo := r.IntN(n)
		hi := lo + 1 + r.IntN(n-lo)
		maxLen := 1 + r.IntN(n)
		got, err := BestSpan(start, end, lo, hi, maxLen)
		if err != nil {
			t.Fatal(err)
		}
		bs, be, bv := -1, -1, math.Inf(-1)
		for s := 0; s < n; s++ {
			for e := 0; e < n; e++ {
				if s < lo || e >= hi || e < s || e-s+1 > maxLen {
					continue
				}
				if v := start[s] + end[e]; v > bv {
					bs, be, bv = s, e, v
				}
			}
		}
		if got.Start != bs || got.End != be || got.Score != bv {
			t.Fatalf("trial %d: BestSpan = %+v, brute force (%d, %d, %v); start %v end %v [%d,%d) max %d", trial, got, bs, be, bv, start, end, lo, hi, maxLen)
		}
		sc := SpanScores(start, end, lo, hi, maxLen)
		if v := sc[bs-lo][be-lo]; v != bv {
			t.Fatalf("SpanScores[%d][%d] = %v, want %v", bs-lo, be-lo, v, bv)
		}
	}
}

// The independent argmaxes give an end before the start here; BestSpan does not.
func TestBestSpanNotIndependentArgmax(t *testing.T) {
	start := []float64{0, 1, 0, 5, 0}
	end := []float64{0, 4, 0, 0, 1}
	sp, err := BestSpan(start, end, 0, 5, 3)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Start != 3 || sp.End != 4 || sp.Score != 6 {
		t.Errorf("BestSpan = %+v, want 3..4 score 6", sp)
	}
	for _, bad := range []struct{ lo, hi, max int }{{-1, 3, 2}, {2, 2, 2}, {0, 6, 2}, {0, 5, 0}} {
		if _, err := BestSpan(start, end, bad.lo, bad.hi, bad.max); err == nil {
			t.Errorf("BestSpan(lo %d, hi %d, max %d): no error", bad.lo, bad.hi, bad.max)
		}
	}
	if _, err := BestSpan(start, end[:4], 0, 4, 2); err == nil {
		t.Error("BestSpan with mismatched lengths: no error")
	}
}
