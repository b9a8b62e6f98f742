package quant

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Granularity says which weights share one (scale, zero) pair.
type Granularity int

const (
	// PerChannel uses one pair per output row (the zero value).
	PerChannel Granularity = iota
	// PerTensor uses one pair for the whole matrix.
	PerTensor
	// PerGroup uses one pair per GroupSize consecutive columns of a row.
	PerGroup
)

// String returns "channel", "tensor" or "group".
func (g Granularity) String() string {
	switch g {
	case PerTensor:
		return "tensor"
	case PerChannel:
		return "channel"
	case PerGroup:
		return "group"
	}
	return fmt.Sprintf("Granularity(%d)", int(g))
}

// Clipping says how the quantization range of a group is chosen.
type Clipping int

const (
	// AbsMax covers every value of the group (the zero value).
	AbsMax Clipping = iota
	// Percentile covers values up to the Scheme.Percentile-th percentile of |x| (symmetric)
	// or between the (100−p)-th and p-th percentiles (asymmetric); larger values saturate.
	Percentile
)

// String returns "absmax" or "percentile".
func (c Clipping) String() string {
	if c == Percentile {
		return "percentile"
	}
	return "absmax"
}

// Scheme describes how a [rows, cols] weight matrix (rows = output channels) is quantized.
// The zero value is not valid: Bits must be 8 or 4.
type Scheme struct {
	Bits        int         // 8 or 4
	Asymmetric  bool        // use a zero point and the full code range
	Granularity Granularity // PerChannel, PerTensor or PerGroup
	GroupSize   int         // columns per group for PerGroup (e.g. 32, 64, 128)
	Clipping    Clipping    // AbsMax or Percentile
	Percentile  float64     // for Percentile clipping, in (50, 100], e.g. 99.9
}

// Int8 is symmetric per-channel int8 with absmax clipping, the usual weight scheme.
var Int8 = Scheme{Bits: 8}

// Int4Group32 is symmetric int4 with one scale per 32 input columns.
var Int4Group32 = Scheme{Bits: 4, Granularity: PerGroup, GroupSize: 32}

// Validate reports whether the scheme is usable.
func (s Scheme) Validate() error {
	if s.Bits != 8 && s.Bits != 4 {
		return fmt.Errorf("quant: bits must be 8 or 4, got %d", s.Bits)
	}
	switch s.Granularity {
	case PerTensor, PerChannel:
	case PerGroup:
		if s.GroupSize <= 0 {
			return fmt.Errorf("quant: group size must be positive, got %d", s.GroupSize)
		}
	default:
		return fmt.Errorf("quant: unknown granularity %d", int(s.Granularity))
	}
	if s.Clipping == Percentile && !(s.Percentile > 50 && s.Percentile <= 100) {
		return fmt.Errorf("quant: percentile must be in (50, 100], got %g", s.Percentile)
	}
	if s.Clipping != AbsMax && s.Clipping != Percentile {
		return fmt.Errorf("quant: unknown clipping %d", int(s.Clipping))
	}
	return nil
}

// String describes the scheme, e.g. "int4 sym group32 absmax".
func (s Scheme) String() string {
	sym := "sym"
	if s.Asymmetric {
		sym = "asym"
	}
	g := s.Granularity.String()
	if s.Granularity == PerGroup {
		g = fmt.Sprintf("group%d", s.GroupSize)
	}
	c := s.Clipping.String()
	if s.Clipping == Percentile {
		c = fmt.Sprintf("p%g", s.Percentile)
	}
	return fmt.Sprintf("int%d %s %s %s", s.Bits, sym, g, c)
}

// maxCode is the largest code, 2^bits − 1.
func (s Scheme) maxCode() int { return 1<<s.Bits - 1 }

// symZero is the fixed zero point of symmetric schemes, 2^(bits−1).
func (s Scheme) symZero() int { return 1 << (s.Bits - 1) }

// groupCols is the number of columns of one group within a row.
func (s Scheme) groupCols(cols int) int {
	if s.Granularity == PerGroup {
		return s.GroupSize
	}
	return cols
}

// Tensor is a quantized [Rows, Cols] matrix; row r is output channel r.
//
// Element (r, c) is Scales[g]·(code − Zeros[g]) where g = GroupIndex(r, c) and code is the
// c-th code of row r. Codes are unsigned, in [0, 2^Bits − 1]. For 8 bits Data holds one
// code per byte, row-major; for 4 bits each row is packed on its own into (Cols+1)/2 bytes,
// two codes per byte with the even column in the low nibble (see [PackInt4]).
type Tensor struct {
	Rows, Cols int
	Scheme     Scheme
	Data       []byte    // codes, packed for 4 bits
	Scales     []float32 // one per group
	Zeros      []uint8   // one per group
}

// GroupsPerRow is the number of (scale, zero) pairs in one row (1 for PerTensor, since the
// single pair is shared).
func (t *Tensor) GroupsPerRow() int {
	g := t.Scheme.groupCols(t.Cols)
	return (t.Cols + g - 1) / g
}

// GroupIndex returns the index into Scales and Zeros for element (r, c).
func (t *Tensor) GroupIndex(r, c int) int {
	if t.Scheme.Granularity == PerTensor {
		return 0
	}
	return r*t.GroupsPerRow() + c/t.Scheme.groupCols(t.Cols)
}

// Codes returns the unpacked codes, one per element, row-major.
func (t *Tensor) Codes() []uint8 {
	if t.Scheme.Bits == 4 {
		rb := t.RowBytes()
		out := make([]uint8, 0, t.Rows*t.Cols)
		for r := 0; r < t.Rows; r++ {
			out = append(out, UnpackInt4(t.Data[r*rb:(r+1)*rb], t.Cols)...)
		}
		return out
	}
	return append([]uint8(nil), t.Data...)
}

// RowBytes is the number of bytes one row of codes takes in Data: Cols, or (Cols+1)/2 for
// 4 bits.
func (t *Tensor) RowBytes() int {
	if t.Scheme.Bits == 4 {
		return (t.Cols + 1) / 2
	}
	return t.Cols
}

// Bytes is the storage size of codes, scales and zeros.
func (t *Tensor) Bytes() int { return len(t.Data) + 4*len(t.Scales) + len(t.Zeros) }

// Dequantize returns the float32 matrix the tensor represents, row-major [Rows, Cols].
func (t *Tensor) Dequantize() []float32 {
	codes := t.Codes()
	out := make([]float32, t.Rows*t.Cols)
	for r := 0; r < t.Rows; r++ {
		for c := 0; c < t.Cols; c++ {
			g := t.GroupIndex(r, c)
			out[r*t.Cols+c] = t.Scales[g] * float32(int(codes[r*t.Cols+c])-int(t.Zeros[g]))
		}
	}
	return out
}

// check verifies the tensor's internal sizes.
func (t *Tensor) check() error {
	if err := t.Scheme.Validate(); err != nil {
		return err
	}
	if t.Rows <= 0 || t.Cols <= 0 {
		return fmt.Errorf("quant: bad shape [%d, %d]", t.Rows, t.Cols)
	}
	want := t.Rows * t.RowBytes()
	if len(t.Data) != want {
		return fmt.Errorf("quant: %d code bytes for [%d, %d] at %d bits, want %d", len(t.Data), t.Rows, t.Cols, t.Scheme.Bits, want)
	}
	groups := t.Rows * t.GroupsPerRow()
	if t.Scheme.Granularity == PerTensor {
		groups = 1
	}
	if len(t.Scales) != groups || len(t.Zeros) != groups {
		return fmt.Errorf("quant: %d scales and %d zeros, want %d", len(t.Scales), len(t.Zeros), groups)
	}
	for i, s := range t.Scales {
		if !(s > 0) || math.IsInf(float64(s), 0) {
			return fmt.Errorf("quant: scale %d is %g, want a positive finite number", i, s)
		}
	}
	for i, z := range t.Zeros {
		if !t.Scheme.Asymmetric && int(z) != t.Scheme.symZero() {
			return fmt.Errorf("quant: zero %d is %d, want %d for a symmetric scheme", i, z, t.Scheme.symZero())
		}
		if int(z) > t.Scheme.maxCode() {
			return fmt.Errorf("quant: zero %d is %d, above %d for %d bits", i, z, t.Scheme.maxCode(), t.Scheme.Bits)
		}
	}
	return nil
}

// Quantize quantizes w, a row-major [rows, cols] matrix, with round-to-nearest.
func Quantize(w []float32, rows, cols int, s Scheme) (*Tensor, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if rows <= 0 || cols <= 0 || len(w) != rows*cols {
		return nil, fmt.Errorf("quant: %d values for shape [%d, %d]", len(w), rows, cols)
	}
	for i, v := range w {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("quant: weight %d is %g", i, v)
		}
	}
	t := &Tensor{Rows: rows, Cols: cols, Scheme: s}
	gc := s.groupCols(cols)
	gpr := t.GroupsPerRow()
	codes := make([]uint8, rows*cols)
	if s.Granularity == PerTensor {
		scale, zero := s.params(w)
		t.Scales, t.Zeros = []float32{scale}, []uint8{zero}
		for i, v := range w {
			codes[i] = s.code(v, scale, zero)
		}
	} else {
		t.Scales = make([]float32, rows*gpr)
		t.Zeros = make([]uint8, rows*gpr)
		for r := 0; r < rows; r++ {
			for g := 0; g < gpr; g++ {
				lo, hi := r*cols+g*gc, r*cols+min((g+1)*gc, cols)
				scale, zero := s.params(w[lo:hi])
				t.Scales[r*gpr+g], t.Zeros[r*gpr+g] = scale, zero
				for i := lo; i < hi; i++ {
					codes[i] = s.code(w[i], scale, zero)
				}
			}
		}
	}
	t.setCodes(codes)
	return t, nil
}

// setCodes stores unpacked codes ([Rows, Cols]) into Data, packing rows for 4 bits.
func (t *Tensor) setCodes(codes []uint8) {
	if t.Scheme.Bits != 4 {
		t.Data = codes
		return
	}
	t.Data = make([]byte, 0, t.Rows*t.RowBytes())
	for r := 0; r < t.Rows; r++ {
		t.Data = append(t.Data, PackInt4(codes[r*t.Cols:(r+1)*t.Cols])...)
	}
}

// params returns the scale and zero point for one group of values.
func (s Scheme) params(v []float32) (float32, uint8) {
	var lo, hi float64
	if s.Clipping == Percentile && s.Percentile < 100 {
		if s.Asymmetric {
			lo, hi = percentiles(v, 100-s.Percentile, s.Percentile)
		} else {
			abs := make([]float32, len(v))
			for i, x := range v {
				abs[i] = float32(math.Abs(float64(x)))
			}
			_, hi = percentiles(abs, 0, s.Percentile)
		}
	} else {
		for _, x := range v {
			if s.Asymmetric {
				lo, hi = math.Min(lo, float64(x)), math.Max(hi, float64(x))
			} else {
				hi = math.Max(hi, math.Abs(float64(x)))
			}
		}
	}
	if s.Asymmetric {
		lo, hi = math.Min(lo, 0), math.Max(hi, 0) // 0 must be exactly representable
		if hi-lo == 0 {
			return 1, 0
		}
		scale := float32((hi - lo) / float64(s.maxCode()))
		zero := math.RoundToEven(-lo / float64(scale))
		return scale, uint8(math.Max(0, math.Min(zero, float64(s.maxCode()))))
	}
	if hi == 0 {
		return 1, uint8(s.symZero())
	}
	return float32(hi / float64(s.symZero()-1)), uint8(s.symZero())
}

// code quantizes one value with the given scale and zero point.
func (s Scheme) code(x, scale float32, zero uint8) uint8 {
	lo, hi := 0, s.maxCode()
	if !s.Asymmetric { // symmetric codes stay in [zero−qmax, zero+qmax]
		lo, hi = 1, s.maxCode()
	}
	q := int(math.RoundToEven(float64(x/scale))) + int(zero)
	return uint8(max(lo, min(q, hi)))
}

// percentiles returns the p1-th and p2-th percentiles of v (linear interpolation).
func percentiles(v []float32, p1, p2 float64) (float64, float64) {
	s := append([]float32(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(p float64) float64 {
		pos := p / 100 * float64(len(s)-1)
		i := int(pos)
		if i >= len(s)-1 {
			return float64(s[len(s)-1])
		}
		f := pos - float64(i)
		return float64(s[i])*(1-f) + float64(s[i+1])*f
	}
	return at(p1), at(p2)
}

// PackInt4 packs 4-bit codes (values 0..15, higher bits ignored) two per byte: element 2i
// in the low nibble of byte i, element 2i+1 in the high nibble. An odd count leaves the
// last high nibble zero.
func PackInt4(codes []uint8) []byte {
	out := make([]byte, (len(codes)+1)/2)
	for i, c := range codes {
		if i%2 == 0 {
			out[i/2] = c & 0x0f
		} else {
			out[i/2] |= (c & 0x0f) << 4
		}
	}
	return out
}

// UnpackInt4 returns the first n 4-bit codes of packed (see [PackInt4]).
func UnpackInt4(packed []byte, n int) []uint8 {
	out := make([]uint8, n)
	for i := range out {
		b := packed[i/2]
		if i%2 == 0 {
			out[i] = b & 0x0f
		} else {
			out[i] = b >> 4
		}
	}
	return out
}

// errShape is returned for inconsistent sizes.
var errShape = errors.New("quant: inconsistent shapes")
