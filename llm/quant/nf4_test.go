package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestNF4Levels rebuilds the NF4 table from its definition (QLoRA's create_normal_map):
// standard-normal quantiles at evenly spaced probabilities from 0.5 to offset = 0.9677083
// (8 on the positive side, 7 on the negative side), a zero, all divided by the largest.
func TestNF4Levels(t *testing.T) {
	const offset = 0.9677083
	ppf := func(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }
	lin := func(a, b float64, n int) []float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = a + (b-a)*float64(i)/float64(n-1)
		}
		return out
	}
	var v []float64
	for _, p := range lin(offset, 0.5, 8)[:7] {
		v = append(v, -ppf(p))
	}
	v = append(v, 0)
	for _, p := range lin(offset, 0.5, 9)[:8] {
		v = append(v, ppf(p))
	}
	mx := 0.0
	for _, x := range v {
		mx = math.Max(mx, math.Abs(x))
	}
	// sort ascending
	for i := 0; i < len(v); i++ {
		for j := i + 1; j < len(v); j++ {
			if v[j] < v[i] {
				v[i], v[j] = v[j], v[i]
			}
		}
	}
	for i, x := range v {
		if d := math.Abs(x/mx - float64(NF4Levels[i])); d > 1e-6 {
			t.Errorf("level %d: table %v, definition %v", i, NF4Levels[i], x/mx)
		}
	}
}

func TestNF4RoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	rows, cols, block := 9, 70, 64 // 630 values: the last block is short
	w := randMatrix(rng, rows*cols, 0.02)
	q, err := QuantizeNF4(w, rows, cols, block)
	if err != nil {
		t.Fatal(err)
	}
	if want := (630+1)/2 + 4*10; q.Bytes() != want {
		t.Errorf("Bytes = %d, want %d", q.Bytes(), want)
	}
	d := q.Dequantize()
	maxGap := float32(0)
	for i := 1; i < 16; i++ {
		maxGap = max(maxGap, NF4Levels[i]-NF4Levels[i-1])
	}
	for i, x := range w {
		b := i / block
		amax := float32(0)
		for _, v := range w[b*block : min((b+1)*block, len(w))] {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		if q.Absmax[b] != amax {
			t.Fatalf("block %d absmax %v, want %v", b, q.Absmax[b], amax)
		}
		// the nearest level: no level is closer than the chosen one
		got := d[i] / amax
		for _, l := range NF4Levels {
			if math.Abs(float64(x/amax-l)) < math.Abs(float64(x/amax-got))-1e-6 {
				t.Fatalf("value %d: %v rounded to %v, level %v is closer", i, x/amax, got, l)
			}
		}
		if math.Abs(float64(x-d[i])) > float64(maxGap*amax/2)+1e-7 {
			t.Fatalf("value %d: error %v above half the widest gap", i, x-d[i])
		}
	}
	// The block maximum is a level (±1) and is exact.
	exact := []float32{0.5, 0.5 * NF4Levels[2], 0, 0.5 * NF4Levels[9]}
	q2, _ := QuantizeNF4(exact, 1, 4, 4)
	for i, v := range q2.Dequantize() {
		if math.Abs(float64(v-exact[i])) > 1e-7 {
			t.Errorf("exact value %v came back as %v", exact[i], v)
		}
	}
	// NF4 beats uniform int4 on normal weights with the same block size and absmax.
	u, _ := Quantize(w[:576], 9, 64, Scheme{Bits: 4})
	q3, _ := QuantizeNF4(w[:576], 9, 64, 64)
	mu, _ := Compare(w[:576], u.Dequantize())
	mn, _ := Compare(w[:576], q3.Dequantize())
	if mn.SNR <= mu.SNR {
		t.Errorf("NF4 SNR %.2f dB not above int4's %.2f dB on normal weights", mn.SNR, mu.SNR)
	}
}

func TestNF4Errors(t *testing.T) {
	if _, err := QuantizeNF4([]float32{1, 2}, 1, 3, 64); err == nil {
		t.Error("wrong length accepted")
	}
	if _, err := QuantizeNF4([]float32{1, 2}, 1, 2, 0); err == nil {
		t.Error("block 0 accepted")
	}
	if _, err := QuantizeNF4([]float32{1, float32(math.NaN())}, 1, 2, 2); err == nil {
		t.Error("NaN accepted")
	}
}
