package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync"
	"unsafe"
)

// Tensor is one named array: its dtype, its shape (row-major, outermost axis first) and its
// raw little-endian bytes. A tensor obtained from [File.Get] aliases the file's read-only
// memory mapping: do not modify Data, and do not use it after [File.Close].
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// NumElements returns the product of the shape (1 for a scalar, shape []), or an error
// for a negative dimension or an overflowing product.
func (t *Tensor) NumElements() (int, error) { return numElements(t.Shape) }

func numElements(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension %d in shape %v", d, shape)
		}
		if d != 0 && n > math.MaxInt/d {
			return 0, fmt.Errorf("shape %v has too many elements", shape)
		}
		n *= d
	}
	return n, nil
}

// check verifies that the dtype is known and Data holds exactly product(Shape) elements.
func (t *Tensor) check() (int, error) {
	if !t.DType.Valid() {
		_, err := parseDType(string(t.DType))
		return 0, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	n, err := t.NumElements()
	if err != nil {
		return 0, fmt.Errorf("tensor %q: %w", t.Name, err)
	}
	if n > math.MaxInt/t.DType.Size() || len(t.Data) != n*t.DType.Size() {
		return 0, fmt.Errorf("tensor %q: shape %v × %s (%d bytes each) does not match %d data bytes",
			t.Name, t.Shape, t.DType, t.DType.Size(), len(t.Data))
	}
	return n, nil
}

// Float32s returns the elements as float32, converting from any dtype: F16, BF16 and F8
// exactly, F64 by rounding, integers and BOOL by value (large integers round).
func (t *Tensor) Float32s() ([]float32, error) {
	n, err := t.check()
	if err != nil {
		return nil, err
	}
	out := make([]float32, n)
	d := t.Data
	le := binary.LittleEndian
	switch t.DType {
	case F32:
		if nativeLittleEndian && n > 0 {
			copy(unsafe.Slice((*byte)(unsafe.Pointer(&out[0])), 4*n), d)
			break
		}
		for i := range out {
			out[i] = math.Float32frombits(le.Uint32(d[4*i:]))
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(le.Uint64(d[8*i:])))
		}
	case F16:
		table := float16Table()
		for i := range out {
			out[i] = table[le.Uint16(d[2*i:])]
		}
	case BF16:
		for i := range out {
			out[i] = BFloat16ToFloat32(le.Uint16(d[2*i:]))
		}
	case F8E4M3:
		for i := range out {
			out[i] = float8E4M3ToFloat32(d[i])
		}
	case F8E5M2:
		for i := range out {
			out[i] = float8E5M2ToFloat32(d[i])
		}
	default:
		ints, err := t.rawInts(n)
		if err != nil {
			return nil, err
		}
		for i, v := range ints {
			out[i] = float32(v)
		}
		if t.DType == U64 { // values ≥ 2⁶³ were read as negative int64
			for i := range out {
				out[i] = float32(le.Uint64(d[8*i:]))
			}
		}
	}
	return out, nil
}

// Int64s returns the elements as int64. Integer and BOOL dtypes convert by value; float
// dtypes are accepted only when every element is an exact integer (so token ids saved as
// float32 still load), and U64 values above MaxInt64 are an error.
func (t *Tensor) Int64s() ([]int64, error) {
	n, err := t.check()
	if err != nil {
		return nil, err
	}
	if t.DType.IsFloat() {
		var vals []float64
		if t.DType == F64 {
			vals = make([]float64, n)
			for i := range vals {
				vals[i] = math.Float64frombits(binary.LittleEndian.Uint64(t.Data[8*i:]))
			}
		} else {
			fs, err := t.Float32s()
			if err != nil {
				return nil, err
			}
			vals = make([]float64, n)
			for i, v := range fs {
				vals[i] = float64(v)
			}
		}
		out := make([]int64, n)
		for i, v := range vals {
			if v != math.Trunc(v) || math.Abs(v) >= 1<<63 {
				return nil, fmt.Errorf("tensor %q: element %d = %v is not an int64", t.Name, i, v)
			}
			out[i] = int64(v)
		}
		return out, nil
	}
	out, err := t.rawInts(n)
	if err != nil {
		return nil, err
	}
	if t.DType == U64 {
		for i, v := range out {
			if v < 0 {
				return nil, fmt.Errorf("tensor %q: element %d = %d overflows int64", t.Name, i, binary.LittleEndian.Uint64(t.Data[8*i:]))
			}
		}
	}
	return out, nil
}

// rawInts decodes integer and BOOL dtypes; U64 is reinterpreted as int64 bits.
func (t *Tensor) rawInts(n int) ([]int64, error) {
	out := make([]int64, n)
	d := t.Data
	le := binary.LittleEndian
	switch t.DType {
	case I64, U64:
		for i := range out {
			out[i] = int64(le.Uint64(d[8*i:]))
		}
	case I32:
		for i := range out {
			out[i] = int64(int32(le.Uint32(d[4*i:])))
		}
	case U32:
		for i := range out {
			out[i] = int64(le.Uint32(d[4*i:]))
		}
	case I16:
		for i := range out {
			out[i] = int64(int16(le.Uint16(d[2*i:])))
		}
	case U16:
		for i := range out {
			out[i] = int64(le.Uint16(d[2*i:]))
		}
	case I8:
		for i := range out {
			out[i] = int64(int8(d[i]))
		}
	case U8:
		for i := range out {
			out[i] = int64(d[i])
		}
	case BOOL:
		for i := range out {
			if d[i] > 1 {
				return nil, fmt.Errorf("tensor %q: BOOL element %d has byte value %d, want 0 or 1", t.Name, i, d[i])
			}
			out[i] = int64(d[i])
		}
	default:
		return nil, fmt.Errorf("tensor %q: dtype %s is not an integer type", t.Name, t.DType)
	}
	return out, nil
}

// Int8s returns a copy of an I8 tensor's elements (e.g. a quantized weight payload).
func (t *Tensor) Int8s() ([]int8, error) {
	if t.DType != I8 {
		return nil, fmt.Errorf("tensor %q: Int8s needs dtype I8, have %s", t.Name, t.DType)
	}
	n, err := t.check()
	if err != nil {
		return nil, err
	}
	out := make([]int8, n)
	for i, b := range t.Data {
		out[i] = int8(b)
	}
	return out, nil
}

// Uint8s returns a copy of a U8 tensor's elements (e.g. packed 4-bit quantized weights).
func (t *Tensor) Uint8s() ([]uint8, error) {
	if t.DType != U8 {
		return nil, fmt.Errorf("tensor %q: Uint8s needs dtype U8, have %s", t.Name, t.DType)
	}
	if _, err := t.check(); err != nil {
		return nil, err
	}
	return append([]uint8(nil), t.Data...), nil
}

// FromFloat32 makes an F32 tensor; shape is copied. A shape that does not match len(data)
// is reported by [Write].
func FromFloat32(name string, shape []int, data []float32) Tensor {
	b := make([]byte, 4*len(data))
	if nativeLittleEndian && len(data) > 0 {
		copy(b, unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), 4*len(data)))
	} else {
		for i, v := range data {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
	}
	return Tensor{Name: name, DType: F32, Shape: cloneShape(shape), Data: b}
}

// FromFloat32As makes a float tensor of dtype F32, F16, BF16 or F64 from float32 values,
// rounding to nearest-even for the half-precision types (as PyTorch does).
func FromFloat32As(name string, shape []int, data []float32, dtype DType) (Tensor, error) {
	switch dtype {
	case F32:
		return FromFloat32(name, shape, data), nil
	case F16, BF16:
		conv := Float32ToFloat16
		if dtype == BF16 {
			conv = Float32ToBFloat16
		}
		b := make([]byte, 2*len(data))
		for i, v := range data {
			binary.LittleEndian.PutUint16(b[2*i:], conv(v))
		}
		return Tensor{Name: name, DType: dtype, Shape: cloneShape(shape), Data: b}, nil
	case F64:
		b := make([]byte, 8*len(data))
		for i, v := range data {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(float64(v)))
		}
		return Tensor{Name: name, DType: dtype, Shape: cloneShape(shape), Data: b}, nil
	}
	return Tensor{}, fmt.Errorf("tensor %q: FromFloat32As supports F32, F16, BF16, F64, not %q", name, dtype)
}

// FromInt64 makes an I64 tensor (token ids, as PyTorch stores them); shape is copied.
func FromInt64(name string, shape []int, data []int64) Tensor {
	b := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(v))
	}
	return Tensor{Name: name, DType: I64, Shape: cloneShape(shape), Data: b}
}

// FromInt32 makes an I32 tensor; shape is copied.
func FromInt32(name string, shape []int, data []int32) Tensor {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(v))
	}
	return Tensor{Name: name, DType: I32, Shape: cloneShape(shape), Data: b}
}

// FromInt8 makes an I8 tensor, e.g. an int8-quantized weight payload; shape is copied.
func FromInt8(name string, shape []int, data []int8) Tensor {
	b := make([]byte, len(data))
	for i, v := range data {
		b[i] = byte(v)
	}
	return Tensor{Name: name, DType: I8, Shape: cloneShape(shape), Data: b}
}

// FromUint8 makes a U8 tensor, e.g. packed 4-bit quantized weights; data and shape are copied.
func FromUint8(name string, shape []int, data []uint8) Tensor {
	return Tensor{Name: name, DType: U8, Shape: cloneShape(shape), Data: append([]byte{}, data...)}
}

// FromBool makes a BOOL tensor (one byte per element, 0 or 1); shape is copied.
func FromBool(name string, shape []int, data []bool) Tensor {
	b := make([]byte, len(data))
	for i, v := range data {
		if v {
			b[i] = 1
		}
	}
	return Tensor{Name: name, DType: BOOL, Shape: cloneShape(shape), Data: b}
}

func cloneShape(s []int) []int { return append(make([]int, 0, len(s)), s...) }

// nativeLittleEndian is true on hosts whose memory order matches the format's, where
// float32 data can be copied as bytes.
var nativeLittleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// float16Table maps every binary16 bit pattern to its float32 value (256 KiB, built on
// first use): decoding a large F16 checkpoint is then one load per element.
var float16Table = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for h := range t {
		t[h] = Float16ToFloat32(uint16(h))
	}
	return &t
})
