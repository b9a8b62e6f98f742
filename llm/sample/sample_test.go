package sample

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func TestSoftmaxKnownValues(t *testing.T) {
	inf := math.Inf(-1)
	for _, tc := range []struct {
		in, want []float64
	}{
		{[]float64{0, 0}, []float64{0.5, 0.5}},
		{[]float64{0, math.Log(3)}, []float64{0.25, 0.75}},
		// Large logits: a naive exp overflows to Inf/Inf = NaN.
		{[]float64{0, 1000}, []float64{0, 1}},
		{[]float64{1000, 1000}, []float64{0.5, 0.5}},
		// −Inf means "masked": exactly 0.
		{[]float64{inf, 0}, []float64{0, 1}},
		{[]float64{inf, inf}, []float64{0.5, 0.5}},
		{[]float64{-1e9, 0, -1e9}, []float64{0, 1, 0}},
	} {
		got := Probs(tc.in)
		for i := range got {
			if math.Abs(got[i]-tc.want[i]) > 1e-12 {
				t.Fatalf("softmax(%v) = %v, want %v", tc.in, got, tc.want)
			}
		}
	}
	// In place, float32.
	x := []float32{1, 2, 3}
	Softmax(x, x)
	e := []float64{math.Exp(-2), math.Exp(-1), 1}
	s := e[0] + e[1] + e[2]
	for i := range x {
		if math.Abs(float64(x[i])-e[i]/s) > 1e-7 {
			t.Fatalf("in-place float32 softmax = %v", x)
		}
	}
}

func TestLogSumExpAndNLL(t *testing.T) {
	x := []float32{0, math.Float32frombits(0x3f317218)} // 0, ln 2
	if got := LogSumExp(x); math.Abs(got-math.Log(3)) > 1e-7 {
		t.Fatalf("logsumexp = %v, want ln 3", got)
	}
	if got := NLL(x, 0); math.Abs(got-math.Log(3)) > 1e-7 {
		t.Fatalf("nll = %v, want ln 3", got)
	}
	if got := LogSumExp([]float64{1000, 1000}); math.Abs(got-(1000+math.Ln2)) > 1e-9 {
		t.Fatalf("logsumexp of large = %v", got)
	}
}

func TestTopKMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + r.IntN(60)
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(r.IntN(7)) // many ties
		}
		if trial%5 == 0 {
			x[r.IntN(n)] = math.NaN()
		}
		k := r.IntN(n + 3)
		got := TopK(x, k)
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool {
			va, vb := x[idx[a]], x[idx[b]]
			if math.IsNaN(va) {
				return false
			}
			if math.IsNaN(vb) {
				return true
			}
			return va > vb
		})
		want := idx[:min(k, n)]
		if len(got) != len(want) {
			t.Fatalf("TopK(%v, %d) = %v, want %v", x, k, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("TopK(%v, %d) = %v, want %v", x, k, got, want)
			}
		}
	}
	if got := TopK([]float32{1, 2}, -3); len(got) != 0 {
		t.Fatalf("negative k gave %v", got)
	}
}

func TestDistribution(t *testing.T) {
	logits := []float32{math.Float32frombits(0x3fb17218), 0, 0, -10} // ln 4 ≈ 1.386
	// Greedy: plain softmax.
	p := Distribution(logits, Options{})
	if Argmax(p) != 0 {
		t.Fatalf("greedy argmax = %d", Argmax(p))
	}
	// Top-k 2 keeps ids 0 and 1 (tie between 1 and 2 goes to the lower index).
	p = Distribution(logits, Options{Temperature: 1, TopK: 2})
	if p[2] != 0 || p[3] != 0 || math.Abs(p[0]-0.8) > 1e-6 || math.Abs(p[1]-0.2) > 1e-6 {
		t.Fatalf("top-k 2 = %v", p)
	}
	// Top-p 0.6: id 0 has mass 4/6.0x ≈ 0.666 ≥ 0.6, so only it survives.
	p = Distribution(logits, Options{Temperature: 1, TopP: 0.6})
	if p[0] != 1 {
		t.Fatalf("top-p 0.6 = %v", p)
	}
	// Temperature 2 flattens: p0/p1 = 4^(1/2) = 2.
	p = Distribution(logits, Options{Temperature: 2})
	if math.Abs(p[0]/p[1]-2) > 1e-5 {
		t.Fatalf("temperature 2 ratio = %v", p[0]/p[1])
	}
	// Sampling follows the distribution.
	r := rand.New(rand.NewPCG(3, 4))
	p = Distribution(logits, Options{Temperature: 1})
	counts := make([]int, len(p))
	for range 20000 {
		counts[Pick(p, false, r)]++
	}
	for i := range p {
		if math.Abs(float64(counts[i])/20000-p[i]) > 0.015 {
			t.Fatalf("sampled frequencies %v vs probabilities %v", counts, p)
		}
	}
	if Pick(p, true, r) != 0 {
		t.Fatal("greedy pick is not the argmax")
	}
}

func TestValidate(t *testing.T) {
	for _, o := range []Options{{Temperature: math.NaN()}, {Temperature: -1}, {Temperature: math.Inf(1)},
		{TopP: math.NaN()}, {TopP: 1.5}, {TopP: -0.1}, {TopK: -1}} {
		if o.Validate() == nil {
			t.Fatalf("%+v accepted", o)
		}
	}
	if err := (Options{Temperature: 0.7, TopK: 40, TopP: 0.9}).Validate(); err != nil {
		t.Fatal(err)
	}
}
