package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randMatrix(rng *rand.Rand, n int, std float64) []float32 {
	w := make([]float32, n)
	for i := range w {
		w[i] = float32(rng.NormFloat64() * std)
	}
	return w
}

var testSchemes = []Scheme{
	{Bits: 8},
	{Bits: 8, Asymmetric: true},
	{Bits: 8, Granularity: PerTensor},
	{Bits: 8, Granularity: PerTensor, Asymmetric: true},
	{Bits: 4, Granularity: PerGroup, GroupSize: 32},
	{Bits: 4, Granularity: PerGroup, GroupSize: 64, Asymmetric: true},
	{Bits: 4, Granularity: PerGroup, GroupSize: 128},
	{Bits: 8, Granularity: PerGroup, GroupSize: 32, Asymmetric: true},
	{Bits: 4},
	{Bits: 8, Clipping: Percentile, Percentile: 99},
	{Bits: 4, Granularity: PerGroup, GroupSize: 32, Asymmetric: true, Clipping: Percentile, Percentile: 95},
}

// TestErrorBound checks |x − x̂| ≤ scale/2 for every value inside its group's
// representable range, and that clipped values saturate at the range's edge.
func TestErrorBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range testSchemes {
		for _, shape := range [][2]int{{7, 45}, {16, 128}, {3, 200}} {
			rows, cols := shape[0], shape[1]
			w := randMatrix(rng, rows*cols, 0.05)
			w[5] = 0.9 // an outlier
			q, err := Quantize(w, rows, cols, s)
			if err != nil {
				t.Fatal(err)
			}
			if err := q.check(); err != nil {
				t.Fatalf("%v: %v", s, err)
			}
			d := q.Dequantize()
			lo, hi := 0, s.maxCode()
			if !s.Asymmetric {
				lo = 1
			}
			clipped := 0
			for r := 0; r < rows; r++ {
				for c := 0; c < cols; c++ {
					g := q.GroupIndex(r, c)
					sc, z := float64(q.Scales[g]), float64(q.Zeros[g])
					minV, maxV := sc*(float64(lo)-z), sc*(float64(hi)-z)
					x, xh := float64(w[r*cols+c]), float64(d[r*cols+c])
					switch {
					case x < minV-sc/2:
						clipped++
						if math.Abs(xh-minV) > 1e-5*math.Abs(minV) {
							t.Fatalf("%v: clipped %g → %g, want %g", s, x, xh, minV)
						}
					case x > maxV+sc/2:
						clipped++
						if math.Abs(xh-maxV) > 1e-5*math.Abs(maxV) {
							t.Fatalf("%v: clipped %g → %g, want %g", s, x, xh, maxV)
						}
					default:
						if e := math.Abs(x - xh); e > sc/2*(1+1e-5) {
							t.Fatalf("%v [%d,%d] (%d,%d): |%g − %g| = %g > scale/2 = %g", s, rows, cols, r, c, x, xh, e, sc/2)
						}
					}
				}
			}
			if s.Clipping == AbsMax && clipped > 0 {
				t.Fatalf("%v: absmax clipped %d values", s, clipped)
			}
			if s.Clipping == Percentile && clipped == 0 {
				t.Fatalf("%v: percentile clipping clipped nothing", s)
			}
		}
	}
}

// TestKnownValues checks a hand-worked example.
func TestKnownValues(t *testing.T) {
	w := []float32{-1, 0, 0.5, 1.27}
	q, err := Quantize(w, 1, 4, Int8)
	if err != nil {
		t.Fatal(err)
	}
	// scale = 1.27/127 = 0.01; codes = round(x/0.01) + 128.
	if math.Abs(float64(q.Scales[0])-0.01) > 1e-8 || q.Zeros[0] != 128 {
		t.Fatalf("scale %g zero %d", q.Scales[0], q.Zeros[0])
	}
	want := []uint8{28, 128, 178, 255}
	for i, c := range q.Codes() {
		if c != want[i] {
			t.Fatalf("codes %v, want %v", q.Codes(), want)
		}
	}
	// Asymmetric int4: min −1, max 2 → scale 0.2, zero 5.
	q4, err := Quantize([]float32{-1, 0, 0.3, 2}, 1, 4, Scheme{Bits: 4, Asymmetric: true})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(float64(q4.Scales[0])-0.2) > 1e-7 || q4.Zeros[0] != 5 {
		t.Fatalf("scale %g zero %d", q4.Scales[0], q4.Zeros[0])
	}
	want4 := []uint8{0, 5, 6, 15} // 0.3/0.2 = 1.5 rounds to even 2? float32(0.3)/0.2 ≈ 1.4999
	got4 := q4.Codes()
	for i := range want4 {
		if got4[i] != want4[i] && i != 2 {
			t.Fatalf("codes %v, want %v", got4, want4)
		}
	}
	if got4[2] != 6 && got4[2] != 7 {
		t.Fatalf("code of 0.3 is %d", got4[2])
	}
}

func TestPackInt4RoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 2, 3, 7, 64, 101} {
		codes := make([]uint8, n)
		for i := range codes {
			codes[i] = uint8(rng.IntN(16))
		}
		p := PackInt4(codes)
		if len(p) != (n+1)/2 {
			t.Fatalf("n=%d: packed %d bytes", n, len(p))
		}
		got := UnpackInt4(p, n)
		for i := range codes {
			if got[i] != codes[i] {
				t.Fatalf("n=%d: element %d = %d, want %d", n, i, got[i], codes[i])
			}
		}
		if n%2 == 1 && p[len(p)-1]>>4 != 0 {
			t.Fatalf("n=%d: padding nibble not zero", n)
		}
	}
	if p := PackInt4([]uint8{0x1, 0xf}); p[0] != 0xf1 {
		t.Fatalf("nibble order: %#x, want 0xf1", p[0])
	}
	// Odd-sized int4 tensor: quantize, dequantize via packed data.
	w := randMatrix(rng, 3*5, 1)
	q, err := Quantize(w, 3, 5, Scheme{Bits: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Data) != 9 { // each row of 5 codes packs into 3 bytes
		t.Fatalf("3×5 int4 uses %d bytes, want 9", len(q.Data))
	}
	for r := 0; r < 3; r++ {
		if q.Data[r*3+2]>>4 != 0 {
			t.Fatalf("row %d: padding nibble not zero", r)
		}
	}
	m, _ := Compare(w, q.Dequantize())
	if m.Cosine < 0.97 {
		t.Fatalf("odd-size int4 round trip: %v", m)
	}
}

func TestCompare(t *testing.T) {
	m, err := Compare([]float32{1, 2, 3, 4}, []float32{1, 2, 3, 5})
	if err != nil {
		t.Fatal(err)
	}
	if m.MSE != 0.25 || m.MaxAbs != 1 || math.Abs(m.SNR-10*math.Log10(30)) > 1e-12 {
		t.Fatalf("%+v", m)
	}
	if want := 34 / math.Sqrt(30*39); math.Abs(m.Cosine-want) > 1e-12 {
		t.Fatalf("cosine %g, want %g", m.Cosine, want)
	}
	if m, _ := Compare([]float32{1}, []float32{1}); !math.IsInf(m.SNR, 1) || m.Cosine != 1 {
		t.Fatalf("identical: %+v", m)
	}
	if _, err := Compare([]float32{1}, nil); err == nil {
		t.Fatal("length mismatch accepted")
	}
}

func TestSchemeErrors(t *testing.T) {
	bad := []Scheme{{}, {Bits: 3}, {Bits: 8, Granularity: PerGroup}, {Bits: 8, Clipping: Percentile, Percentile: 20}}
	for _, s := range bad {
		if _, err := Quantize([]float32{1, 2}, 1, 2, s); err == nil {
			t.Fatalf("%+v accepted", s)
		}
	}
	if _, err := Quantize([]float32{1, 2}, 1, 3, Int8); err == nil {
		t.Fatal("bad shape accepted")
	}
	if _, err := Quantize([]float32{1, float32(math.NaN())}, 1, 2, Int8); err == nil {
		t.Fatal("NaN accepted")
	}
}

// TestGranularityHelps: finer groups and more bits lower the error on weights whose rows
// have very different magnitudes.
func TestGranularityHelps(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	rows, cols := 32, 256
	w := randMatrix(rng, rows*cols, 1)
	for r := 0; r < rows; r++ {
		for c := 0; c < cols; c++ {
			w[r*cols+c] *= float32(math.Pow(2, float64(r%8))) * float32(1+c/64)
		}
	}
	snr := func(s Scheme) float64 {
		q, err := Quantize(w, rows, cols, s)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := Compare(w, q.Dequantize())
		return m.SNR
	}
	tensor, channel, group := snr(Scheme{Bits: 8, Granularity: PerTensor}), snr(Int8), snr(Scheme{Bits: 8, Granularity: PerGroup, GroupSize: 32})
	if !(tensor < channel && channel < group) {
		t.Fatalf("SNR tensor %.1f, channel %.1f, group %.1f: want increasing", tensor, channel, group)
	}
	if i4 := snr(Int4Group32); !(i4 < group-15) {
		t.Fatalf("int4 SNR %.1f not far below int8 %.1f", i4, group)
	}
}
