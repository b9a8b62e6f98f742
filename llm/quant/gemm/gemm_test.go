package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Shapes with odd sizes and tails: M, N, K not multiples of 4, 16 or 64.
var shapes = [][3]int{ // m, n, k
	{1, 1, 1}, {1, 64, 4}, {1, 65, 5}, {2, 17, 3}, {3, 130, 33}, {4, 64, 64}, {5, 100, 17},
	{7, 129, 100}, {8, 192, 768}, {9, 70, 129}, {1, 300, 257}, {13, 63, 16},
}

func forEachImpl(t *testing.T, fn func(t *testing.T, im *impl)) {
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			prev, _ := SetImpl(im.name)
			defer SetImpl(prev)
			fn(t, im)
		})
	}
}

func randF(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// refLinear computes y = x·wᵀ + b in float64, and Σ|x||w| per output for tolerances.
func refLinear(x, w, b []float32, m, n, k int) (y, mag []float64) {
	y, mag = make([]float64, m*n), make([]float64, m*n)
	for r := 0; r < m; r++ {
		for c := 0; c < n; c++ {
			var s, a float64
			for j := 0; j < k; j++ {
				p := float64(x[r*k+j]) * float64(w[c*k+j])
				s += p
				a += math.Abs(p)
			}
			if b != nil {
				s += float64(b[c])
			}
			y[r*n+c], mag[r*n+c] = s, a+1
		}
	}
	return y, mag
}

func checkClose(t *testing.T, what string, got []float32, want, mag []float64, rel float64) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= rel*mag[i]) {
			t.Fatalf("%s: y[%d] = %g, want %g (|diff| %g > %g)", what, i, got[i], want[i], d, rel*mag[i])
		}
	}
}

func TestF32(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(1, 1))
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			w, x, b := randF(rng, n*k), randF(rng, m*k), randF(rng, n)
			l, err := NewF32(w, n, k, b)
			if err != nil {
				t.Fatal(err)
			}
			y := make([]float32, m*n)
			if err := l.Forward(y, x, m); err != nil {
				t.Fatal(err)
			}
			want, mag := refLinear(x, w, b, m, n, k)
			checkClose(t, fmt.Sprintf("F32 %v", s), y, want, mag, 1e-5)
		}
	})
}

func randCodes(rng *rand.Rand, n, bits int) []uint8 {
	c := make([]uint8, n)
	for i := range c {
		c[i] = uint8(rng.IntN(1 << bits))
	}
	return c
}

// TestW8A8Exact checks, for every implementation, that activation quantization equals the
// plain-Go quantizer bit for bit and that the integer accumulators equal Σ a·q computed
// directly from the unpacked codes, including extreme codes (0, 255) and activations ±127.
func TestW8A8Exact(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(2, 2))
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			codes := randCodes(rng, n*k, 8)
			codes[0], codes[len(codes)-1] = 255, 0
			zero, scale := randCodes(rng, n, 8), make([]float32, n)
			for i := range scale {
				scale[i] = 0.01 + rng.Float32()
			}
			l, err := NewW8A8(codes, zero, scale, nil, n, k)
			if err != nil {
				t.Fatal(err)
			}
			x := randF(rng, m*k)
			for i := range x {
				if rng.IntN(7) == 0 {
					x[i] = float32(rng.IntN(5) - 2) // exact halves after scaling are rare; add ties
				}
			}
			got := l.quantize(im, x, m)
			want := l.quantize(goImpl, x, m)
			for i := range want.q {
				if got.q[i] != want.q[i] {
					t.Fatalf("%v: quantized activation %d = %d, want %d", s, i, got.q[i], want.q[i])
				}
			}
			for r := 0; r < m; r++ {
				if got.sum[r] != want.sum[r] || got.scale[r] != want.scale[r] {
					t.Fatalf("%v row %d: sum %d scale %g, want %d %g", s, r, got.sum[r], got.scale[r], want.sum[r], want.scale[r])
				}
			}
			var acc [4][nb]int32
			for p := 0; p < panels(n); p++ {
				for r0 := 0; r0 < m; r0 += 4 {
					mr := min(4, m-r0)
					im.w8Acc(l, got, r0, mr, p, &acc)
					for i := 0; i < mr; i++ {
						for c := 0; c < nb && p*nb+c < n; c++ {
							var w int32
							for j := 0; j < k; j++ {
								w += int32(got.q[(r0+i)*got.kp+j]) * int32(codes[(p*nb+c)*k+j])
							}
							if acc[i][c] != w {
								t.Fatalf("%v: acc[row %d][col %d] = %d, want %d", s, r0+i, p*nb+c, acc[i][c], w)
							}
						}
					}
				}
			}
		}
	})
}

// TestW8A8Forward checks the float output against the exact integer result and the
// quantization error against float32.
func TestW8A8Forward(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(3, 3))
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			w, x, b := randF(rng, n*k), randF(rng, m*k), randF(rng, n)
			// Symmetric per-channel weights: code = round(w/s) + 128.
			codes, zero, scale := make([]uint8, n*k), make([]uint8, n), make([]float32, n)
			wq := make([]float32, n*k)
			for r := 0; r < n; r++ {
				var amax float64
				for _, v := range w[r*k : (r+1)*k] {
					amax = math.Max(amax, math.Abs(float64(v)))
				}
				scale[r], zero[r] = float32(amax/127), 128
				for j := 0; j < k; j++ {
					q := math.RoundToEven(float64(w[r*k+j] / scale[r]))
					codes[r*k+j] = uint8(q + 128)
					wq[r*k+j] = float32(q) * scale[r]
				}
			}
			l, err := NewW8A8(codes, zero, scale, b, n, k)
			if err != nil {
				t.Fatal(err)
			}
			y := make([]float32, m*n)
			if err := l.Forward(y, x, m); err != nil {
				t.Fatal(err)
			}
			a := l.quantize(goImpl, x, m)
			xq := make([]float32, m*k)
			for r := 0; r < m; r++ {
				for j := 0; j < k; j++ {
					xq[r*k+j] = float32(a.q[r*a.kp+j]) * a.scale[r]
				}
			}
			want, mag := refLinear(xq, wq, b, m, n, k)
			checkClose(t, fmt.Sprintf("W8A8 %v vs exact", s), y, want, mag, 1e-5)
			// Against float32: the int8 rounding error stays a small fraction of Σ|x||w|.
			exact, mag := refLinear(x, w, b, m, n, k)
			checkClose(t, fmt.Sprintf("W8A8 %v vs float", s), y, exact, mag, 0.02)
		}
	})
}

func TestWeightOnly(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(4, 4))
		for _, bits := range []int{8, 4} {
			for _, s := range shapes {
				m, n, k := s[0], s[1], s[2]
				for _, gz := range []int{k, 32, 2, -32} { // -32: group 32, one zero point (symmetric)
					group := max(gz, -gz)
					if bits == 4 && group%2 == 1 && group < k {
						continue
					}
					g := min(group, k)
					ng := (k + g - 1) / g
					codes := randCodes(rng, n*k, bits)
					zero := randCodes(rng, n*ng, bits)
					if gz < 0 {
						for i := range zero {
							zero[i] = uint8(1 << (bits - 1))
						}
					}
					scale := make([]float32, n*ng)
					for i := range scale {
						scale[i] = 0.01 + rng.Float32()
					}
					b := randF(rng, n)
					l, err := NewWeightOnly(bits, codes, zero, scale, b, n, k, group)
					if err != nil {
						t.Fatal(err)
					}
					if gz < 0 && l.zeros != nil {
						t.Fatalf("bits %d %v: one zero point, yet a zero array", bits, s)
					}
					x := randF(rng, m*k)
					y := make([]float32, m*n)
					if err := l.Forward(y, x, m); err != nil {
						t.Fatal(err)
					}
					wd := make([]float32, n*k)
					for r := 0; r < n; r++ {
						for j := 0; j < k; j++ {
							gi := r*ng + j/g
							wd[r*k+j] = scale[gi] * float32(int(codes[r*k+j])-int(zero[gi]))
						}
					}
					want, mag := refLinear(x, wd, b, m, n, k)
					// Σ x·q is accumulated before scaling: codes up to 255 cost some digits.
					checkClose(t, fmt.Sprintf("int%d group %d %v", bits, group, s), y, want, mag, 1e-4)
				}
			}
		}
	})
}

func TestErrors(t *testing.T) {
	if _, err := NewF32(make([]float32, 5), 2, 3, nil); err == nil {
		t.Fatal("NewF32 accepted 5 weights for [2, 3]")
	}
	if _, err := NewF32(make([]float32, 6), 2, 3, make([]float32, 3)); err == nil {
		t.Fatal("NewF32 accepted a bias of 3 for N = 2")
	}
	l, _ := NewF32(make([]float32, 6), 2, 3, nil)
	if err := l.Forward(make([]float32, 2), make([]float32, 2), 1); err == nil {
		t.Fatal("Forward accepted x of 2 for K = 3")
	}
	if _, err := NewWeightOnly(4, make([]uint8, 6), make([]uint8, 2), make([]float32, 2), nil, 2, 3, 3); err != nil {
		t.Fatalf("per-channel int4 with odd K: %v", err)
	}
	if _, err := NewWeightOnly(4, []uint8{16, 0}, []uint8{0}, []float32{1}, nil, 1, 2, 2); err == nil {
		t.Fatal("int4 code 16 accepted")
	}
	if _, err := SetImpl("nope"); err == nil {
		t.Fatal("SetImpl accepted an unknown name")
	}
}

// FuzzW8A8 checks every implementation against exact integer arithmetic on fuzzed shapes
// and data (the seed corpus runs as a normal test; `go test -fuzz FuzzW8A8` explores).
func FuzzW8A8(f *testing.F) {
	for _, s := range [][3]int{{1, 1, 1}, {3, 65, 7}, {6, 129, 130}, {4, 64, 256}, {5, 3, 4}} {
		f.Add(uint8(s[0]), uint16(s[1]), uint16(s[2]), uint64(s[0]*s[1]+s[2]))
	}
	f.Fuzz(func(t *testing.T, m8 uint8, n16, k16 uint16, seed uint64) {
		m, n, k := int(m8%12)+1, int(n16%300)+1, int(k16%600)+1
		rng := rand.New(rand.NewPCG(seed, 1))
		codes, zero := randCodes(rng, n*k, 8), randCodes(rng, n, 8)
		scale := make([]float32, n)
		for i := range scale {
			scale[i] = 1
		}
		l, err := NewW8A8(codes, zero, scale, nil, n, k)
		if err != nil {
			t.Fatal(err)
		}
		x := randF(rng, m*k)
		a := l.quantize(goImpl, x, m)
		for _, im := range impls {
			var acc [4][nb]int32
			got := l.quantize(im, x, m)
			for i := range a.q {
				if got.q[i] != a.q[i] {
					t.Fatalf("%s [%d,%d,%d]: activation %d = %d, want %d", im.name, m, n, k, i, got.q[i], a.q[i])
				}
			}
			for p := 0; p < panels(n); p++ {
				for r0 := 0; r0 < m; r0 += 4 {
					mr := min(4, m-r0)
					im.w8Acc(l, a, r0, mr, p, &acc)
					for i := 0; i < mr; i++ {
						for c := 0; c < nb && p*nb+c < n; c++ {
							var want int32
							for j := 0; j < k; j++ {
								want += int32(a.q[(r0+i)*a.kp+j]) * int32(codes[(p*nb+c)*k+j])
							}
							if acc[i][c] != want {
								t.Fatalf("%s [%d,%d,%d]: acc[%d][%d] = %d, want %d", im.name, m, n, k, r0+i, p*nb+c, acc[i][c], want)
							}
						}
					}
				}
			}
		}
	})
}

// TestRandomShapes compares every implementation with the float64 reference on 40 random
// shapes for all three layer types.
func TestRandomShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	for range 40 {
		m, n, k := 1+rng.IntN(10), 1+rng.IntN(200), 1+rng.IntN(300)
		w, x, b := randF(rng, n*k), randF(rng, m*k), randF(rng, n)
		want, mag := refLinear(x, w, b, m, n, k)
		codes := randCodes(rng, n*k, 4)
		g := 2 * (1 + rng.IntN(20))
		ng := (k + min(g, k) - 1) / min(g, k)
		zero, scale := randCodes(rng, n*ng, 4), randF(rng, n*ng)
		wd := make([]float32, n*k)
		for r := 0; r < n; r++ {
			for j := 0; j < k; j++ {
				gi := r*ng + j/min(g, k)
				wd[r*k+j] = scale[gi] * float32(int(codes[r*k+j])-int(zero[gi]))
			}
		}
		want4, mag4 := refLinear(x, wd, b, m, n, k)
		f32, _ := NewF32(w, n, k, b)
		wo4, err := NewWeightOnly(4, codes, zero, scale, b, n, k, g)
		if err != nil {
			t.Fatal(err)
		}
		forEachImpl(t, func(t *testing.T, im *impl) {
			y := make([]float32, m*n)
			if err := f32.Forward(y, x, m); err != nil {
				t.Fatal(err)
			}
			checkClose(t, fmt.Sprintf("F32 [%d,%d,%d]", m, n, k), y, want, mag, 1e-5)
			if err := wo4.Forward(y, x, m); err != nil {
				t.Fatal(err)
			}
			checkClose(t, fmt.Sprintf("int4 g%d [%d,%d,%d]", g, m, n, k), y, want4, mag4, 1e-4)
		})
	}
}

// TestW4A8 checks the per-group integer sums exactly against codes and quantized
// activations, and the float output against Σ_g s·(Σ a·q − z·Σ a) computed in float64.
func TestW4A8(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(14, 14))
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			for _, gz := range []int{8, 32, 0, -32} { // -32: group 32, one zero point (symmetric)
				group := max(gz, -gz)
				g := group
				if g == 0 || g >= k {
					g = (k + 7) &^ 7
				}
				ng := (k + g - 1) / g
				codes, zero := randCodes(rng, n*k, 4), randCodes(rng, n*ng, 4)
				codes[0], codes[len(codes)-1] = 15, 0
				if gz < 0 {
					for i := range zero {
						zero[i] = 8
					}
				}
				scale, b, x := randF(rng, n*ng), randF(rng, n), randF(rng, m*k)
				l, err := NewW4A8(codes, zero, scale, b, n, k, group)
				uniform := true
				for _, z := range zero {
					uniform = uniform && z == zero[0]
				}
				if (l.zero == nil) != uniform {
					t.Fatalf("%v group %d: zero array %v with %d zero points", s, group, l.zero != nil, len(zero))
				}
				if err != nil {
					t.Fatal(err)
				}
				y := make([]float32, m*n)
				if err := l.Forward(y, x, m); err != nil {
					t.Fatal(err)
				}
				a := &acts{kp: l.kp, scale: make([]float32, m), sum: make([]int32, m), q: make([]int8, m*l.kp)}
				quantRowsGo(x, m, k, l.kp, a.q, a.scale, a.sum)
				acc := make([]int32, l.ng*nb)
				want, mag := make([]float64, m*n), make([]float64, m*n)
				for r := 0; r < m; r++ {
					for p := 0; p < panels(n); p++ {
						im.w4Acc(l, a.q[r*l.kp:(r+1)*l.kp], p, acc)
						for c := 0; c < nb && p*nb+c < n; c++ {
							col := p*nb + c
							for gi := 0; gi < ng; gi++ {
								var sum, asum int32
								for j := gi * g; j < min((gi+1)*g, k); j++ {
									av := int32(a.q[r*l.kp+j])
									sum += av * int32(codes[col*k+j])
									asum += av
								}
								if acc[gi*nb+c] != sum {
									t.Fatalf("%v group %d: row %d col %d group %d: sum %d, want %d", s, group, r, col, gi, acc[gi*nb+c], sum)
								}
								v := float64(scale[col*ng+gi]) * float64(sum-int32(zero[col*ng+gi])*asum) * float64(a.scale[r])
								want[r*n+col] += v
								mag[r*n+col] += math.Abs(v)
							}
							want[r*n+col] += float64(b[col])
							mag[r*n+col] += 1
						}
					}
				}
				checkClose(t, fmt.Sprintf("W4A8 %v group %d", s, group), y, want, mag, 1e-5)
			}
		}
	})
	if _, err := NewW4A8(make([]uint8, 24), make([]uint8, 2), make([]float32, 2), nil, 1, 24, 12); err == nil {
		t.Fatal("group 12 accepted")
	}
}

func TestDotAxpy(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(15, 15))
		for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 64, 100} {
			a, b := randF(rng, n), randF(rng, n)
			var want, mag float64
			for i := range a {
				want += float64(a[i]) * float64(b[i])
				mag += math.Abs(float64(a[i]) * float64(b[i]))
			}
			if got := Dot(a, b); math.Abs(float64(got)-want) > 1e-5*(mag+1) {
				t.Fatalf("n=%d: Dot %g, want %g", n, got, want)
			}
			y := append([]float32(nil), b...)
			Axpy(0.5, a, y)
			for i := range y {
				if w := b[i] + 0.5*a[i]; math.Abs(float64(y[i]-w)) > 1e-6*(1+math.Abs(float64(w))) {
					t.Fatalf("n=%d: Axpy[%d] %g, want %g", n, i, y[i], w)
				}
			}
		}
	})
}

func TestGeluTanh(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *impl) {
		x := make([]float32, 0, 4003)
		for i := -2000; i <= 2002; i++ {
			x = append(x, float32(i)*0.006)
		}
		x = append(x, 1e-5, -40, 40)
		y := append([]float32(nil), x...)
		GeluTanh(y)
		for i, v := range x {
			f := float64(v)
			want := 0.5 * f * (1 + math.Tanh(0.7978845608028654*(f+0.044715*f*f*f)))
			if d := math.Abs(float64(y[i]) - want); d > 1e-6*(1+math.Abs(f)) {
				t.Fatalf("gelu(%g) = %g, want %g", v, y[i], want)
			}
		}
	})
}

// TestWeightOnlyOneZero: int4 WeightOnly with one zero point for the whole layer (the
// AVX-512 table kernel wo4x64) on random shapes — odd n and k, every group size from 2 to
// 40 (so every length of the last group) and the whole row, 1–3 rows (4 and more go
// through dequantised panels) — against float64. Bound: the kernel sums at most k/2
// products per chain, adds two chains per group and ng group terms, so its error is below
// (k/2 + ng + 4)·2⁻²⁴·Σ|x·w| (plus the rounding of w = s·(q − z) in the reference); the
// other implementations get the looser bound of TestWeightOnly.
func TestWeightOnlyOneZero(t *testing.T) {
	forEachImpl(t, func(t *testing.T, im *impl) {
		rng := rand.New(rand.NewPCG(16, 4))
		for it := range 300 {
			m, n, k := 1+rng.IntN(3), 1+rng.IntN(200), 1+rng.IntN(300)
			group := 2 * (1 + it%20)
			if it%7 == 0 || group > k {
				group = k
			}
			ng := (k + group - 1) / group
			z := uint8([]int{8, 0, 15, 3}[it%4])
			codes, zero := randCodes(rng, n*k, 4), make([]uint8, n*ng)
			for i := range zero {
				zero[i] = z
			}
			scale := make([]float32, n*ng)
			for i := range scale {
				scale[i] = 0.01 + rng.Float32()
			}
			b := randF(rng, n)
			l, err := NewWeightOnly(4, codes, zero, scale, b, n, k, group)
			if err != nil {
				t.Fatal(err)
			}
			x := randF(rng, m*k)
			y := make([]float32, m*n)
			if err := l.Forward(y, x, m); err != nil {
				t.Fatal(err)
			}
			wd := make([]float32, n*k)
			for r := 0; r < n; r++ {
				for j := 0; j < k; j++ {
					wd[r*k+j] = scale[r*ng+j/group] * float32(int(codes[r*k+j])-int(z))
				}
			}
			want, mag := refLinear(x, wd, b, m, n, k)
			rel := 1e-4
			if im.name == "avx512" || im.name == "avx512+vnni" {
				rel = float64(k/2+ng+4) * 0x1p-24
			}
			checkClose(t, fmt.Sprintf("zero %d group %d [%d,%d,%d]", z, group, m, n, k), y, want, mag, rel)
		}
	})
}
