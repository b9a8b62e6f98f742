package safetensors

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"
)

// Hand-worked binary16 and bfloat16 encodings.
var halfCases = []struct {
	name       string
	value      float32
	f16, bf16  uint16
	f16Exactly bool // value is exactly representable in binary16
}{
	{"one", 1.0, 0x3c00, 0x3f80, true},
	{"minus two and a half", -2.5, 0xc100, 0xc020, true},
	{"largest binary16", 65504, 0x7bff, 0x4780, true}, // bf16 rounds 65504 up to 65536
	{"smallest binary16 normal 2^-14", 1.0 / 16384, 0x0400, 0x3880, true},
	{"smallest binary16 subnormal 2^-24", 1.0 / (1 << 24), 0x0001, 0x3380, true},
	{"largest binary16 subnormal 1023·2^-24", 1023.0 / (1 << 24), 0x03ff, 0x3880, true}, // bf16: 7 mantissa bits round it up to 2^-14
	{"minus zero", float32(math.Copysign(0, -1)), 0x8000, 0x8000, true},
	{"+Inf", float32(math.Inf(1)), 0x7c00, 0x7f80, true},
	{"-Inf", float32(math.Inf(-1)), 0xfc00, 0xff80, true},
	{"0.1 rounds", 0.1, 0x2e66, 0x3dcd, false},
}

func TestFloat16AndBFloat16HandValues(t *testing.T) {
	for _, c := range halfCases {
		if got := Float32ToFloat16(c.value); got != c.f16 {
			t.Errorf("%s: Float32ToFloat16(%g) = %#04x, want %#04x", c.name, c.value, got, c.f16)
		}
		if got := Float32ToBFloat16(c.value); got != c.bf16 {
			t.Errorf("%s: Float32ToBFloat16(%g) = %#04x, want %#04x", c.name, c.value, got, c.bf16)
		}
		back := Float16ToFloat32(c.f16)
		if c.f16Exactly && math.Float32bits(back) != math.Float32bits(c.value) {
			t.Errorf("%s: Float16ToFloat32(%#04x) = %g, want %g", c.name, c.f16, back, c.value)
		}
	}
	if got := Float16ToFloat32(0x2e66); got != 0.0999755859375 {
		t.Errorf("Float16ToFloat32(0x2e66) = %v, want 0.0999755859375", got)
	}
	if got := BFloat16ToFloat32(0x3dcd); got != 0.10009765625 {
		t.Errorf("BFloat16ToFloat32(0x3dcd) = %v, want 0.10009765625", got)
	}
	if got := BFloat16ToFloat32(0x0001); got != float32(math.Ldexp(1, -133)) {
		t.Errorf("BFloat16ToFloat32(0x0001) (float32 subnormal) = %g, want 2^-133", got)
	}
	// NaN stays NaN both ways.
	for _, h := range []uint16{0x7e00, 0x7c01, 0xfe00} {
		if v := Float16ToFloat32(h); !math.IsNaN(float64(v)) {
			t.Errorf("Float16ToFloat32(%#04x) = %v, want NaN", h, v)
		}
	}
	nan := float32(math.NaN())
	if h := Float32ToFloat16(nan); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("Float32ToFloat16(NaN) = %#04x", h)
	}
	if h := Float32ToBFloat16(nan); !math.IsNaN(float64(BFloat16ToFloat32(h))) {
		t.Errorf("Float32ToBFloat16(NaN) = %#04x, not NaN", h)
	}
	// A signalling NaN whose payload sits in the low 16 bits must not become Inf.
	if h := Float32ToBFloat16(math.Float32frombits(0x7f800001)); h != 0x7fc0 {
		t.Errorf("Float32ToBFloat16(sNaN) = %#04x, want 0x7fc0", h)
	}
}

func TestHalfRoundingTiesToEven(t *testing.T) {
	for _, c := range []struct {
		value float32
		f16   uint16
	}{
		{65519, 0x7bff},                                            // below the halfway point to 65536
		{65520, 0x7c00},                                            // halfway rounds to even: Inf
		{1 + 1.0/2048, 0x3c00},                                     // tie, mantissa even: down
		{1 + 3.0/2048, 0x3c02},                                     // tie, mantissa odd: up
		{float32(math.Ldexp(1, -25)), 0x0000},                      // half the smallest subnormal: to even (0)
		{float32(math.Ldexp(1.5, -25)), 0x0001},                    // above half: up
		{float32(math.Ldexp(3, -25)), 0x0002},                      // 1.5 subnormal units: tie to even 2
		{float32(math.Ldexp(1, -14) - math.Ldexp(1, -26)), 0x0400}, // rounds up into the normals
		{1e-10, 0x0000},
		{-1e6, 0xfc00},
	} {
		if got := Float32ToFloat16(c.value); got != c.f16 {
			t.Errorf("Float32ToFloat16(%g) = %#04x, want %#04x", c.value, got, c.f16)
		}
	}
	if got := Float32ToBFloat16(math.Float32frombits(0x3f808000)); got != 0x3f80 {
		t.Errorf("bf16 tie to even down: %#04x", got)
	}
	if got := Float32ToBFloat16(math.Float32frombits(0x3f818000)); got != 0x3f82 {
		t.Errorf("bf16 tie to even up: %#04x", got)
	}
}

func TestFloat16Exhaustive(t *testing.T) {
	// Every binary16 value decodes to sign × mantissa × 2^exponent and encodes back.
	for h := 0; h < 1<<16; h++ {
		v := Float16ToFloat32(uint16(h))
		exp, mant := (h>>10)&0x1f, h&0x3ff
		var want float64
		switch {
		case exp == 0x1f && mant != 0:
			if !math.IsNaN(float64(v)) {
				t.Fatalf("%#04x: %v, want NaN", h, v)
			}
			continue
		case exp == 0x1f:
			want = math.Inf(1)
		case exp == 0:
			want = math.Ldexp(float64(mant), -24)
		default:
			want = math.Ldexp(1+float64(mant)/1024, exp-15)
		}
		if h&0x8000 != 0 {
			want = -want
		}
		if float64(v) != want || math.Signbit(float64(v)) != (h&0x8000 != 0) {
			t.Fatalf("Float16ToFloat32(%#04x) = %v, want %v", h, v, want)
		}
		if back := Float32ToFloat16(v); back != uint16(h) {
			t.Fatalf("Float32ToFloat16(Float16ToFloat32(%#04x)) = %#04x", h, back)
		}
	}
}

func TestFloat32sConvertsEveryDType(t *testing.T) {
	le := binary.LittleEndian
	f16 := make([]byte, 2*len(halfCases))
	bf16 := make([]byte, 2*len(halfCases))
	for i, c := range halfCases {
		le.PutUint16(f16[2*i:], c.f16)
		le.PutUint16(bf16[2*i:], c.bf16)
	}
	n := len(halfCases)
	got16, err := (&Tensor{Name: "h", DType: F16, Shape: []int{n}, Data: f16}).Float32s()
	if err != nil {
		t.Fatal(err)
	}
	gotBF, err := (&Tensor{Name: "b", DType: BF16, Shape: []int{n}, Data: bf16}).Float32s()
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range halfCases {
		if got16[i] != Float16ToFloat32(c.f16) || gotBF[i] != BFloat16ToFloat32(c.bf16) {
			t.Errorf("%s: F16 %v, BF16 %v", c.name, got16[i], gotBF[i])
		}
	}
	if gotBF[2] != 65536 || got16[2] != 65504 || got16[5] != float32(1023.0/(1<<24)) {
		t.Errorf("F16/BF16 decode: %v %v", got16, gotBF)
	}

	ints := []struct {
		dt   DType
		data []byte
		want []float32
	}{
		{I8, []byte{0x80, 0xff, 1}, []float32{-128, -1, 1}},
		{U8, []byte{0x80, 0xff, 1}, []float32{128, 255, 1}},
		{I16, []byte{0x00, 0x80, 0xff, 0xff, 2, 0}, []float32{-32768, -1, 2}},
		{U16, []byte{0x00, 0x80, 0xff, 0xff, 2, 0}, []float32{32768, 65535, 2}},
		{I32, le.AppendUint32(le.AppendUint32(le.AppendUint32(nil, 0xffffffff), 7), 1<<31), []float32{-1, 7, -2147483648}},
		{U32, le.AppendUint32(le.AppendUint32(le.AppendUint32(nil, 0xffffffff), 7), 1<<31), []float32{4294967295, 7, 2147483648}},
		{I64, le.AppendUint64(le.AppendUint64(le.AppendUint64(nil, math.MaxUint64), 7), 1<<40), []float32{-1, 7, 1 << 40}},
		{U64, le.AppendUint64(le.AppendUint64(le.AppendUint64(nil, math.MaxUint64), 7), 1<<40), []float32{1 << 64, 7, 1 << 40}},
		{F64, le.AppendUint64(le.AppendUint64(le.AppendUint64(nil, math.Float64bits(-2.5)), math.Float64bits(0.1)), math.Float64bits(1e300)), []float32{-2.5, 0.1, float32(math.Inf(1))}},
		{BOOL, []byte{1, 0, 1}, []float32{1, 0, 1}},
		{F8E4M3, []byte{0x38, 0x7e, 0x01}, []float32{1, 448, 1.0 / 512}},
		{F8E5M2, []byte{0x3c, 0x7b, 0xc0}, []float32{1, 57344, -2}},
	}
	for _, c := range ints {
		tt := &Tensor{Name: string(c.dt), DType: c.dt, Shape: []int{3}, Data: c.data}
		got, err := tt.Float32s()
		if err != nil {
			t.Errorf("%s: %v", c.dt, err)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%s: Float32s = %v, want %v", c.dt, got, c.want)
				break
			}
		}
	}
	if v, _ := (&Tensor{Name: "nan", DType: F8E4M3, Shape: []int{1}, Data: []byte{0x7f}}).Float32s(); !math.IsNaN(float64(v[0])) {
		t.Errorf("F8_E4M3 0x7f = %v, want NaN", v[0])
	}
	if _, err := (&Tensor{Name: "short", DType: F32, Shape: []int{2}, Data: make([]byte, 7)}).Float32s(); err == nil {
		t.Errorf("Float32s accepted 7 bytes for shape [2] F32")
	}
}

func TestInt64s(t *testing.T) {
	ids := FromInt64("ids", []int{3}, []int64{101, -7, math.MaxInt64})
	got, err := ids.Int64s()
	if err != nil || got[0] != 101 || got[1] != -7 || got[2] != math.MaxInt64 {
		t.Errorf("I64 Int64s = %v, %v", got, err)
	}
	asFloat := FromFloat32("ids", []int{2}, []float32{101, 0})
	if got, err := asFloat.Int64s(); err != nil || got[0] != 101 {
		t.Errorf("F32 exact integers: %v, %v", got, err)
	}
	frac := FromFloat32("x", []int{1}, []float32{0.5})
	if _, err := frac.Int64s(); err == nil || !strings.Contains(err.Error(), "not an int64") {
		t.Errorf("F32 0.5 Int64s err = %v", err)
	}
	q := FromInt8("q", []int{2}, []int8{-3, 4})
	if got, err := q.Int64s(); err != nil || got[0] != -3 || got[1] != 4 {
		t.Errorf("I8 Int64s = %v, %v", got, err)
	}
	if got, err := q.Int8s(); err != nil || got[0] != -3 {
		t.Errorf("Int8s = %v, %v", got, err)
	}
	if _, err := q.Uint8s(); err == nil {
		t.Errorf("Uint8s on I8 succeeded")
	}
	big := &Tensor{Name: "u", DType: U64, Shape: []int{1}, Data: binary.LittleEndian.AppendUint64(nil, math.MaxUint64)}
	if _, err := big.Int64s(); err == nil {
		t.Errorf("U64 max Int64s succeeded")
	}
	badBool := &Tensor{Name: "b", DType: BOOL, Shape: []int{1}, Data: []byte{2}}
	if _, err := badBool.Int64s(); err == nil {
		t.Errorf("BOOL byte 2 accepted")
	}
}
