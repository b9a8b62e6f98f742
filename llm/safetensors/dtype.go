package safetensors

import (
	"fmt"
	"math"
)

// DType names an element type the way safetensors headers spell it ("F32", "BF16", …).
type DType string

// The element types of the safetensors format. Sizes are in bytes per element.
const (
	F64     DType = "F64"     // IEEE binary64, 8 bytes.
	F32     DType = "F32"     // IEEE binary32, 4 bytes.
	F16     DType = "F16"     // IEEE binary16 (half), 2 bytes.
	BF16    DType = "BF16"    // bfloat16, the top 16 bits of a float32, 2 bytes.
	F8E4M3  DType = "F8_E4M3" // float8 e4m3fn (no infinities, one NaN pattern), 1 byte.
	F8E5M2  DType = "F8_E5M2" // float8 e5m2, the top byte of a binary16, 1 byte.
	I64     DType = "I64"     // signed 64-bit integer.
	I32     DType = "I32"     // signed 32-bit integer.
	I16     DType = "I16"     // signed 16-bit integer.
	I8      DType = "I8"      // signed 8-bit integer (quantized weights).
	U64     DType = "U64"     // unsigned 64-bit integer.
	U32     DType = "U32"     // unsigned 32-bit integer.
	U16     DType = "U16"     // unsigned 16-bit integer.
	U8      DType = "U8"      // unsigned 8-bit integer (quantized weights, packed 4-bit pairs).
	BOOL    DType = "BOOL"    // boolean, one byte, 0 or 1.
	invalid DType = ""
)

var dtypeSizes = map[DType]int{
	F64: 8, F32: 4, F16: 2, BF16: 2, F8E4M3: 1, F8E5M2: 1,
	I64: 8, I32: 4, I16: 2, I8: 1,
	U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
}

// Size returns the number of bytes of one element of d, or 0 if d is not a known dtype.
func (d DType) Size() int { return dtypeSizes[d] }

// Valid reports whether d is one of the dtypes the safetensors format defines.
func (d DType) Valid() bool { return dtypeSizes[d] != 0 }

// IsFloat reports whether d is a floating-point dtype.
func (d DType) IsFloat() bool {
	switch d {
	case F64, F32, F16, BF16, F8E4M3, F8E5M2:
		return true
	}
	return false
}

// String returns the header spelling of d.
func (d DType) String() string { return string(d) }

// Float16ToFloat32 widens an IEEE binary16 value (1 sign, 5 exponent bits with bias 15,
// 10 mantissa bits) to float32. Every binary16 value, subnormals, ±Inf and NaN included,
// is exactly representable as a float32.
func Float16ToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN: keep the payload.
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0: // zero or subnormal: mant × 2⁻²⁴.
		v := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	default: // normal: rebias the exponent from 15 to 127.
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	}
}

// Float32ToFloat16 narrows f to IEEE binary16, rounding to nearest with ties to even as
// PyTorch's .half() does. Values of magnitude ≥ 65520 become ±Inf; NaN stays NaN.
func Float32ToFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	if exp == 0xff {
		if mant != 0 {
			return sign | 0x7e00 // quiet NaN
		}
		return sign | 0x7c00
	}
	e := exp - 127 + 15 // binary16 biased exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 { // result is subnormal (or rounds up to the smallest normal)
		if e < -10 {
			return sign // below half the smallest subnormal: ±0
		}
		sig := mant | 0x800000
		shift := uint32(14 - e)
		out := sig >> shift
		rem := sig & (1<<shift - 1)
		half := uint32(1) << (shift - 1)
		if rem > half || (rem == half && out&1 == 1) {
			out++
		}
		return sign | uint16(out)
	}
	out := uint32(e)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && out&1 == 1) {
		out++ // a carry into the exponent is right, up to 0x7c00 = Inf
	}
	return sign | uint16(out)
}

// BFloat16ToFloat32 widens a bfloat16 value: it is the top half of a float32's bits.
func BFloat16ToFloat32(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// Float32ToBFloat16 narrows f to bfloat16 with round to nearest, ties to even (as
// PyTorch's .bfloat16() does); NaN stays NaN.
func Float32ToBFloat16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7fffffff > 0x7f800000 {
		return uint16(b>>16) | 0x40 // quiet NaN
	}
	return uint16((b + 0x7fff + (b>>16)&1) >> 16)
}

// float8E4M3ToFloat32 decodes float8 e4m3fn: bias 7, no infinities, S.1111.111 is NaN.
func float8E4M3ToFloat32(v uint8) float32 {
	sign := float32(1)
	if v&0x80 != 0 {
		sign = -1
	}
	exp := int(v>>3) & 0xf
	mant := float32(v & 7)
	switch {
	case exp == 0xf && v&7 == 7:
		return float32(math.NaN())
	case exp == 0:
		return sign * mant / 8 * float32(math.Ldexp(1, -6))
	default:
		return sign * (1 + mant/8) * float32(math.Ldexp(1, exp-7))
	}
}

// float8E5M2ToFloat32 decodes float8 e5m2: the top byte of a binary16.
func float8E5M2ToFloat32(v uint8) float32 { return Float16ToFloat32(uint16(v) << 8) }

func parseDType(s string) (DType, error) {
	d := DType(s)
	if !d.Valid() {
		return invalid, fmt.Errorf("unknown dtype %q (known: F64 F32 F16 BF16 F8_E4M3 F8_E5M2 I64 I32 I16 I8 U64 U32 U16 U8 BOOL)", s)
	}
	return d, nil
}
