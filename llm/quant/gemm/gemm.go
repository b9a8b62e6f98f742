package gemm

import (
	"fmt"
	"math"
	"runtime"
	"sync/atomic"
)

// nb is the number of output channels in one weight panel.
const nb = 64

// impl is one implementation of the kernels. Each panel function computes the columns
// [64p, 64p+64) of y for all m rows.
type impl struct {
	name string
	// f32Panel computes one panel of a float32 product (F32, and WeightOnly for m ≥ 4
	// after dequantising the panel).
	f32Panel func(j *f32Job, x []float32, m int, y []float32)
	// quantRows quantizes m rows of x ([m, k]) to int8 rows of stride kp (zero padded),
	// their scales and their sums.
	quantRows func(x []float32, m, k, kp int, q []int8, scale []float32, sum []int32)
	// w8Acc computes raw integer dot products Σ_k a[r,k]·q[n,k] for rows r0..r0+mr−1
	// (mr ≤ 4) and the 64 channels of panel p into acc[r−r0][c].
	w8Acc func(l *W8A8, a *acts, r0, mr, p int, acc *[4][nb]int32)
	// w8Epilogue turns raw accumulators of rows r0..r0+mr−1 into y.
	w8Epilogue func(l *W8A8, a *acts, r0, mr, p int, acc *[4][nb]int32, y []float32)
	// woPanel computes one panel of WeightOnly.Forward; xs holds per-row group sums of x.
	woPanel func(l *WeightOnly, x []float32, xs []float32, m int, y []float32, p int)
	// wo4OneZero: woPanel does not read xs for an int4 layer with one zero point.
	wo4OneZero bool
	// w4Acc and w4Epilogue are W4A8's integer kernel and its rescaling (one row).
	w4Acc      func(l *W4A8, a []int8, p int, acc []int32)
	w4Epilogue func(l *W4A8, acc []int32, gs []int32, sa float32, p int, y []float32)
	// w4Fused, when not nil, is w4Acc and w4Epilogue in one pass for a layer with one zero
	// point (l.zero nil); corr holds the row's zc·Σ_{k∈g} a per group.
	w4Fused func(l *W4A8, a []int8, corr []int32, sa float32, p int, y []float32)
	// dot returns Σ a[i]·b[i]; axpy does y[i] += alpha·x[i] (equal lengths).
	dot  func(a, b []float32) float32
	axpy func(alpha float32, x, y []float32)
	gelu func(x []float32)
	// woDequant writes panel p of a WeightOnly layer as float32 [kp][64] into dst.
	woDequant func(l *WeightOnly, p int, dst []float32)
}

var (
	impls   []*impl              // available implementations, fastest first
	current atomic.Pointer[impl] // the one in use
)

func register(i *impl) { impls = append(impls, i) }

func init() {
	registerSIMD() // adds the archsimd implementations the CPU supports, if built in
	register(goImpl)
	current.Store(impls[0])
}

// Impl returns the name of the implementation in use, e.g. "avx512+vnni", "avx2" or "go".
func Impl() string { return current.Load().name }

// Impls lists the implementations available on this CPU and build, fastest first.
func Impls() []string {
	names := make([]string, len(impls))
	for i, im := range impls {
		names[i] = im.name
	}
	return names
}

// SetImpl selects an implementation by name (see [Impls]) for all later calls and returns
// the previous name. It is meant for tests and benchmarks; do not call it while another
// goroutine runs a kernel.
func SetImpl(name string) (string, error) {
	prev := Impl()
	for _, im := range impls {
		if im.name == name {
			current.Store(im)
			return prev, nil
		}
	}
	return prev, fmt.Errorf("gemm: implementation %q not available (have %v)", name, Impls())
}

// parallel runs fn over panels [0, n) on up to one goroutine per core. Panels are handed
// out in small chunks from a shared counter rather than split up front, and the caller
// waits only for chunks some goroutine has claimed: on a shared machine a helper that is
// not scheduled in time simply finds no work left, instead of holding up the result.
// work is the number of multiply-adds (int8 ones counted as 1/4); below minParallelWork one
// goroutine is faster.
func parallel(n int, work int, fn func(lo, hi int)) {
	workers := runtime.GOMAXPROCS(0)
	if workers > n {
		workers = n
	}
	if work < minParallelWork {
		workers = 1
	}
	if workers <= 1 {
		fn(0, n)
		return
	}
	chunk := max(1, n/(16*workers)) // small chunks: a descheduled helper holds up little
	total := int64((n + chunk - 1) / chunk)
	var next, finished atomic.Int64
	done := make(chan struct{})
	loop := func() {
		for {
			i := next.Add(1) - 1
			if i >= total {
				return
			}
			lo := int(i) * chunk
			fn(lo, min(lo+chunk, n))
			if finished.Add(1) == total {
				close(done)
			}
		}
	}
	for range workers - 1 {
		go loop()
	}
	loop()
	<-done
}

// minParallelWork is the smallest job split across cores. Waking an idle core costs
// microseconds (tens on a virtual machine whose idle vCPU must be woken by the host):
// measured here, the int8 GEMV [1×768]×[768×3072] (590k units) took 36 µs on one goroutine
// and 53 µs on two, while the float32 one (2.4M) gained from two.
const minParallelWork = 1 << 20

// Parallel runs fn over [0, n) in chunks on up to one goroutine per core, as the kernels
// do; work (multiply-adds) below 2²⁰ runs on the calling goroutine only.
func Parallel(n, work int, fn func(lo, hi int)) {
	if n > 0 {
		parallel(n, work, fn)
	}
}

// Dot returns the dot product Σ a[i]·b[i] of two equally long vectors (SIMD where available).
func Dot(a, b []float32) float32 {
	if len(a) != len(b) {
		panic(fmt.Sprintf("gemm.Dot: lengths %d and %d", len(a), len(b)))
	}
	return current.Load().dot(a, b)
}

// Axpy adds alpha·x to y element by element (equal lengths; SIMD where available).
func Axpy(alpha float32, x, y []float32) {
	if len(x) != len(y) {
		panic(fmt.Sprintf("gemm.Axpy: lengths %d and %d", len(x), len(y)))
	}
	current.Load().axpy(alpha, x, y)
}

// GeluTanh applies GPT-2's "gelu_new", 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), in
// place. tanh is a float32 rational approximation (Eigen's, |error| < 4e-7), SIMD where
// available: math.Tanh cost as much as the int8 matmuls when decoding.
func GeluTanh(x []float32) { current.Load().gelu(x) }

// checkIO validates the shapes of one Forward call.
func checkIO(name string, y, x []float32, m, n, k int) error {
	if m <= 0 {
		return fmt.Errorf("gemm: %s: m = %d rows", name, m)
	}
	if len(x) != m*k {
		return fmt.Errorf("gemm: %s: x has %d values, want m·K = %d·%d", name, len(x), m, k)
	}
	if len(y) != m*n {
		return fmt.Errorf("gemm: %s: y has %d values, want m·N = %d·%d", name, len(y), m, n)
	}
	return nil
}

func panels(n int) int { return (n + nb - 1) / nb }

// padBias returns bias zero-padded to whole panels (or zeros if bias is nil).
func padBias(bias []float32, n int) ([]float32, error) {
	if bias != nil && len(bias) != n {
		return nil, fmt.Errorf("gemm: bias has %d values, want N = %d", len(bias), n)
	}
	b := make([]float32, panels(n)*nb)
	copy(b, bias)
	return b, nil
}

// F32 is a float32 linear layer y = x·Wᵀ + b with W packed in panels.
type F32 struct {
	N, K   int
	panels []float32 // [N/64][K][64]
	bias   []float32 // [N/64·64]
}

// NewF32 packs w, row-major [n, k], and the optional bias [n].
func NewF32(w []float32, n, k int, bias []float32) (*F32, error) {
	if n <= 0 || k <= 0 || len(w) != n*k {
		return nil, fmt.Errorf("gemm: NewF32: %d weights for [%d, %d]", len(w), n, k)
	}
	b, err := padBias(bias, n)
	if err != nil {
		return nil, err
	}
	l := &F32{N: n, K: k, panels: make([]float32, panels(n)*k*nb), bias: b}
	for r := 0; r < n; r++ {
		p, c := r/nb, r%nb
		for j := 0; j < k; j++ {
			l.panels[(p*k+j)*nb+c] = w[r*k+j]
		}
	}
	return l, nil
}

// Forward computes y = x·Wᵀ + b for x [m, K] into y [m, N].
func (l *F32) Forward(y, x []float32, m int) error {
	if err := checkIO("F32", y, x, m, l.N, l.K); err != nil {
		return err
	}
	im := current.Load()
	parallel(panels(l.N), m*l.N*l.K, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			im.f32Panel(l.job(p), x, m, y)
		}
	})
	return nil
}

// f32Job is one panel of a float32 product: y[:, n0:n0+nc] = x·Wᵀ + bias for the 64
// channels packed in pan.
type f32Job struct {
	pan    []float32 // [k][64]
	bias   []float32 // [64]
	k, n   int       // inputs; outputs (the row stride of y)
	n0, nc int       // first channel, channels present (≤ 64)
}

func (l *F32) job(p int) *f32Job {
	n0 := p * nb
	return &f32Job{pan: l.panels[p*l.K*nb : (p+1)*l.K*nb], bias: l.bias[n0 : n0+nb], k: l.K, n: l.N, n0: n0, nc: min(nb, l.N-n0)}
}

// W8A8 is a linear layer with int8 weights and dynamically quantized int8 activations.
type W8A8 struct {
	N, K   int
	kq     int       // K/4 rounded up
	panels []uint8   // [N/64][kq][64][4] weight codes
	zero   []int32   // [N/64·64] weight zero points
	scale  []float32 // [N/64·64] weight scales
	bias   []float32 // [N/64·64]
}

// NewW8A8 packs unsigned weight codes ([n, k] row-major, value = scale[r]·(code − zero[r]))
// with one scale and zero point per output row, and the optional bias.
func NewW8A8(codes []uint8, zero []uint8, scale []float32, bias []float32, n, k int) (*W8A8, error) {
	if n <= 0 || k <= 0 || len(codes) != n*k {
		return nil, fmt.Errorf("gemm: NewW8A8: %d codes for [%d, %d]", len(codes), n, k)
	}
	if len(zero) != n || len(scale) != n {
		return nil, fmt.Errorf("gemm: NewW8A8: %d zeros and %d scales, want %d each", len(zero), len(scale), n)
	}
	if k > maxW8A8K {
		return nil, fmt.Errorf("gemm: NewW8A8: K = %d above %d, where int32 sums of 255·127 could overflow", k, maxW8A8K)
	}
	b, err := padBias(bias, n)
	if err != nil {
		return nil, err
	}
	np := panels(n)
	l := &W8A8{N: n, K: k, kq: (k + 3) / 4, bias: b,
		zero: make([]int32, np*nb), scale: make([]float32, np*nb)}
	l.panels = make([]uint8, np*l.kq*nb*4)
	for r := 0; r < n; r++ {
		p, c := r/nb, r%nb
		l.zero[r], l.scale[r] = int32(zero[r]), scale[r]
		for j := 0; j < k; j++ {
			l.panels[((p*l.kq+j/4)*nb+c)*4+j%4] = codes[r*k+j]
		}
	}
	return l, nil
}

// maxW8A8K keeps Σ_k |a·q| ≤ K·127·255 below 2³¹.
const maxW8A8K = 1<<31/(127*255) - 4

// acts holds one call's quantized activations.
type acts struct {
	kp    int       // row stride of q: K rounded up to a multiple of 4
	q     []int8    // [m][kp]
	scale []float32 // [m]
	sum   []int32   // [m] Σ_k q[m,k]
}

// Forward computes y ≈ x·Wᵀ + b for x [m, K] into y [m, N], quantizing x per row.
func (l *W8A8) Forward(y, x []float32, m int) error {
	if err := checkIO("W8A8", y, x, m, l.N, l.K); err != nil {
		return err
	}
	im := current.Load()
	a := l.quantize(im, x, m)
	parallel(panels(l.N), m*l.N*l.K/4, func(lo, hi int) {
		var acc [4][nb]int32
		for p := lo; p < hi; p++ {
			for r := 0; r < m; r += 4 {
				mr := min(4, m-r)
				im.w8Acc(l, a, r, mr, p, &acc)
				im.w8Epilogue(l, a, r, mr, p, &acc, y)
			}
		}
	})
	return nil
}

func (l *W8A8) quantize(im *impl, x []float32, m int) *acts {
	a := &acts{kp: l.kq * 4, scale: make([]float32, m), sum: make([]int32, m)}
	a.q = make([]int8, m*a.kp)
	im.quantRows(x, m, l.K, a.kp, a.q, a.scale, a.sum)
	return a
}

// WeightOnly is a linear layer with int8 or int4 weights and float32 activations.
type WeightOnly struct {
	N, K   int
	Bits   int         // 8 or 4
	group  int         // columns per (scale, zero) group
	ng     int         // groups per row
	kp     int         // K rounded up to even for int4
	data   []uint8     // int8: [N/64][K][64]; int4: [N/64][kp/2][64] in nib4 order, even k in the low nibble
	scales []float32   // [N/64][ng][64]
	zeros  []float32   // [N/64][ng][64]; nil when every zero point is the same (symmetric)
	zc     []float32   // with zeros nil: that zero point, 64 times (what zerosAt returns)
	tab    [16]float32 // int4 with zeros nil: code − zero point for each code (wo4x64)
	bias   []float32   // [N/64·64]
}

// zerosAt returns the zero points of the 64 channels at offset gi of the [N/64][ng][64]
// layout: a slice of zeros, or the one shared zero point repeated.
func (l *WeightOnly) zerosAt(gi int) []float32 {
	if l.zeros == nil {
		return l.zc[:nb-gi%nb]
	}
	return l.zeros[gi : gi+nb-gi%nb]
}

// NewWeightOnly packs unsigned codes ([n, k] row-major, one code per element, < 2^bits)
// with per-group scales and zero points ([n, ceil(k/group)] row-major), so that element
// (r, c) is scale[r,g]·(code − zero[r,g]) with g = c/group. For int4 the group must be even
// unless it covers the whole row. Per-channel quantization is group = k.
func NewWeightOnly(bits int, codes []uint8, zero []uint8, scale []float32, bias []float32, n, k, group int) (*WeightOnly, error) {
	if bits != 8 && bits != 4 {
		return nil, fmt.Errorf("gemm: NewWeightOnly: bits = %d, want 8 or 4", bits)
	}
	if n <= 0 || k <= 0 || len(codes) != n*k {
		return nil, fmt.Errorf("gemm: NewWeightOnly: %d codes for [%d, %d]", len(codes), n, k)
	}
	if group <= 0 || group > k {
		group = k
	}
	if bits == 4 && group%2 == 1 && group < k {
		return nil, fmt.Errorf("gemm: NewWeightOnly: int4 group %d must be even", group)
	}
	ng := (k + group - 1) / group
	if len(zero) != n*ng || len(scale) != n*ng {
		return nil, fmt.Errorf("gemm: NewWeightOnly: %d zeros and %d scales, want %d each", len(zero), len(scale), n*ng)
	}
	b, err := padBias(bias, n)
	if err != nil {
		return nil, err
	}
	np := panels(n)
	l := &WeightOnly{N: n, K: k, Bits: bits, group: group, ng: ng, kp: k, bias: b,
		scales: make([]float32, np*ng*nb)}
	uniform := true // one zero point for every group (symmetric weights): no zero array
	for _, z := range zero {
		uniform = uniform && z == zero[0]
	}
	if uniform {
		l.zc = make([]float32, nb)
		for i := range l.zc {
			l.zc[i] = float32(zero[0])
		}
		for c := range l.tab {
			l.tab[c] = float32(c) - float32(zero[0])
		}
	} else {
		l.zeros = make([]float32, np*ng*nb)
	}
	if bits == 4 {
		l.kp = (k + 1) &^ 1
		l.data = make([]uint8, np*l.kp/2*nb)
	} else {
		l.data = make([]uint8, np*k*nb)
	}
	for r := 0; r < n; r++ {
		p, c := r/nb, r%nb
		for g := 0; g < ng; g++ {
			l.scales[(p*ng+g)*nb+c] = scale[r*ng+g]
			if l.zeros != nil {
				l.zeros[(p*ng+g)*nb+c] = float32(zero[r*ng+g])
			}
		}
		for j := 0; j < k; j++ {
			q := codes[r*k+j]
			if bits == 8 {
				l.data[(p*k+j)*nb+c] = q
				continue
			}
			if q > 15 {
				return nil, fmt.Errorf("gemm: NewWeightOnly: int4 code %d at (%d, %d)", q, r, j)
			}
			i := (p*l.kp/2+j/2)*nb + nib4(c)
			l.data[i] |= q << (4 * (j % 2))
		}
	}
	return l, nil
}

// nib4 is the byte of a 64-byte int4 WeightOnly row (one k-pair of a panel) that holds
// channel c: 4·(c mod 16) + c/16. Read as sixteen 32-bit lanes, lane j then holds channels
// j, 16+j, 32+j, 48+j in its bytes 0–3, so the kernels get the codes of 16 consecutive
// channels from one load and a shift of the whole row (by 8t for channels 16t…16t+15,
// 8t+4 for the odd k) instead of a widening load per 16 channels.
func nib4(c int) int { return 4*(c%16) + c/16 }

// Forward computes y = x·Ŵᵀ + b for x [m, K] into y [m, N], where Ŵ is the dequantised
// weight matrix.
func (l *WeightOnly) Forward(y, x []float32, m int) error {
	if err := checkIO("WeightOnly", y, x, m, l.N, l.K); err != nil {
		return err
	}
	if l.kp != l.K { // odd K with int4: pad each row with one zero
		xp := make([]float32, m*l.kp)
		for r := 0; r < m; r++ {
			copy(xp[r*l.kp:], x[r*l.K:(r+1)*l.K])
		}
		x = xp
	}
	im := current.Load()
	if m >= dequantRows {
		// Several rows share each weight: dequantise a panel once into float32 (K×64 values,
		// L2-resident) and run the float32 tile kernel on it.
		parallel(panels(l.N), m*l.N*l.K, func(lo, hi int) {
			buf := make([]float32, l.kp*nb)
			for p := lo; p < hi; p++ {
				im.woDequant(l, p, buf)
				n0 := p * nb
				jb := &f32Job{pan: buf, bias: l.bias[n0 : n0+nb], k: l.kp, n: l.N, n0: n0, nc: min(nb, l.N-n0)}
				im.f32Panel(jb, x, m, y)
			}
		})
		return nil
	}
	var xs []float32 // group sums of x, for the zero points
	if !(im.wo4OneZero && l.Bits == 4 && l.zeros == nil) {
		xs = l.groupSums(x, m)
	}
	parallel(panels(l.N), m*l.N*l.K, func(lo, hi int) {
		for p := lo; p < hi; p++ {
			im.woPanel(l, x, xs, m, y, p)
		}
	})
	return nil
}

// groupSums returns Σ_{k∈g} x[r,k] for each row r and group g ([m][ng]).
func (l *WeightOnly) groupSums(x []float32, m int) []float32 {
	xs := make([]float32, m*l.ng)
	for r := 0; r < m; r++ {
		row := x[r*l.kp : r*l.kp+l.K]
		for g := 0; g < l.ng; g++ {
			var s float32
			for _, v := range row[g*l.group : min((g+1)*l.group, l.K)] {
				s += v
			}
			xs[r*l.ng+g] = s
		}
	}
	return xs
}

// dequantRows is the batch size from which WeightOnly dequantises whole panels instead of
// converting weights in registers for every row.
const dequantRows = 4

// Bytes returns the memory the packed weights, scales, zeros and bias use.
func (l *WeightOnly) Bytes() int { return len(l.data) + 4*(len(l.scales)+len(l.zeros)+len(l.bias)) }

// Bytes returns the memory the packed weights, scales, zeros and bias use.
func (l *W8A8) Bytes() int { return len(l.panels) + 4*(len(l.zero)+len(l.scale)+len(l.bias)) }

// Bytes returns the memory the packed weights and bias use.
func (l *F32) Bytes() int { return 4 * (len(l.panels) + len(l.bias)) }

// quantRowsGo is the plain-Go activation quantizer: a = round_half_even(x·(127/max|x|)).
// An all-zero row gets scale 1 and zeros.
func quantRowsGo(x []float32, m, k, kp int, q []int8, scale []float32, sum []int32) {
	for r := 0; r < m; r++ {
		row := x[r*k : (r+1)*k]
		var amax float32
		for _, v := range row {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		qr := q[r*kp : (r+1)*kp]
		if amax == 0 {
			scale[r], sum[r] = 1, 0
			clear(qr)
			continue
		}
		inv := 127 / amax
		scale[r] = amax / 127
		var s int32
		for i, v := range row {
			t := int8(roundEven32(v * inv))
			qr[i] = t
			s += int32(t)
		}
		clear(qr[k:])
		sum[r] = s
	}
}
