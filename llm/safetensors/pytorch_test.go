package safetensors

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// dtypesFixture was written by PyTorch (scripts/gen_safetensors_fixtures.py): float32
// values "src" and PyTorch's own conversions of them.
var dtypesFixture = filepath.Join("..", "..", "testdata", "safetensors", "dtypes.safetensors")

func TestReadsPyTorchConversions(t *testing.T) {
	ts, meta, err := ReadAll(dtypesFixture)
	if err != nil {
		t.Fatal(err)
	}
	if meta["generator"] == "" || meta["torch"] == "" {
		t.Errorf("metadata = %v", meta)
	}
	floats := func(name string) []float32 {
		t.Helper()
		tt := ts[name]
		if tt == nil {
			t.Fatalf("no tensor %q", name)
		}
		v, err := tt.Float32s()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	same := func(a, b float32) bool {
		return math.Float32bits(a) == math.Float32bits(b) || (math.IsNaN(float64(a)) && math.IsNaN(float64(b)))
	}
	src := floats("src")
	for _, c := range []struct {
		half, widened string
		narrow        func(float32) uint16
	}{{"f16", "f16_as_f32", Float32ToFloat16}, {"bf16", "bf16_as_f32", Float32ToBFloat16}} {
		h := ts[c.half]
		got, want := floats(c.half), floats(c.widened)
		if len(got) != len(src) || len(want) != len(src) {
			t.Fatalf("%s: lengths %d %d %d", c.half, len(got), len(want), len(src))
		}
		bad := 0
		for i := range src {
			if !same(got[i], want[i]) {
				t.Errorf("%s[%d]: Go widens to %v, PyTorch to %v", c.half, i, got[i], want[i])
				bad++
			}
			bits := uint16(h.Data[2*i]) | uint16(h.Data[2*i+1])<<8
			if nb := c.narrow(src[i]); nb != bits && !math.IsNaN(float64(src[i])) {
				t.Errorf("%s: Go rounds %v (%#08x) to %#04x, PyTorch to %#04x", c.half, src[i], math.Float32bits(src[i]), nb, bits)
				bad++
			}
			if bad > 10 {
				t.FailNow()
			}
		}
	}
	f64 := floats("f64")
	for i := range src {
		if !same(f64[i], src[i]) {
			t.Errorf("f64[%d] = %v, want %v", i, f64[i], src[i])
		}
	}
	for name, want := range map[string][]int64{
		"i64":  {math.MinInt64, -1, 0, math.MaxInt64},
		"i32":  {math.MinInt32, -1, 0, math.MaxInt32},
		"i16":  {-32768, -1, 0, 32767},
		"i8":   {-128, -1, 0, 127},
		"u8":   {0, 1, 128, 255},
		"bool": {1, 0, 0, 1},
	} {
		got, err := ts[name].Int64s()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s = %v, want %v", name, got, want)
				break
			}
		}
	}
	if s := floats("scalar"); len(s) != 1 || s[0] != 3.25 || len(ts["scalar"].Shape) != 0 {
		t.Errorf("scalar = %v shape %v", s, ts["scalar"].Shape)
	}
	if e := ts["empty"]; len(e.Data) != 0 || len(e.Shape) != 2 || e.Shape[0] != 0 || e.Shape[1] != 3 {
		t.Errorf("empty = %+v", e)
	}
}

// TestEncodeMatchesPythonWriter: Go's writer and the Python one (which follows the Rust
// reference layout) produce the same bytes for the same tensors.
func TestEncodeMatchesPythonWriter(t *testing.T) {
	ts, meta, err := ReadAll(dtypesFixture)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for n := range ts {
		names = append(names, n)
	}
	sort.Strings(names)
	var list []Tensor
	for _, n := range names {
		list = append(list, *ts[n])
	}
	var buf bytes.Buffer
	if err := Encode(&buf, list, meta); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(dtypesFixture)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), raw) {
		t.Errorf("Go encoding (%d bytes) differs from the Python-written file (%d bytes)", buf.Len(), len(raw))
	}
}
