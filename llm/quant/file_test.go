package quant

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/llm/safetensors"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	dir := t.TempDir()
	w := map[string]*Tensor{}
	for i, s := range testSchemes {
		rows, cols := 6, 33+i // odd and even column counts
		q, err := Quantize(randMatrix(rng, rows*cols, 0.1), rows, cols, s)
		if err != nil {
			t.Fatal(err)
		}
		w["layer."+s.String()] = q
	}
	bias := safetensors.FromFloat32("layer.bias", []int{3}, []float32{1, 2, 3})
	path := filepath.Join(dir, "q.safetensors")
	if err := Save(path, w, []safetensors.Tensor{bias}, map[string]string{"model": "test"}); err != nil {
		t.Fatal(err)
	}
	ck, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(ck.Weights) != len(w) || ck.Metadata["model"] != "test" {
		t.Fatalf("loaded %d weights, metadata %v", len(ck.Weights), ck.Metadata)
	}
	for name, want := range w {
		got := ck.Weights[name]
		if got == nil {
			t.Fatalf("%s missing", name)
		}
		if got.Scheme != want.Scheme || got.Rows != want.Rows || got.Cols != want.Cols {
			t.Fatalf("%s: %+v, want %+v", name, got.Scheme, want.Scheme)
		}
		a, b := want.Dequantize(), got.Dequantize()
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s: element %d = %g after load, want %g", name, i, b[i], a[i])
			}
		}
	}
	if p := ck.Plain["layer.bias"]; p == nil || len(ck.Plain) != 1 {
		t.Fatalf("plain tensors: %v", ck.Plain)
	}
	// The symmetric int8 payload is I8 holding code − 128, as other tools expect.
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, _ := f.Info("layer." + Int8.String() + ".qweight")
	if info.DType != safetensors.I8 {
		t.Fatalf("int8 qweight dtype %s", info.DType)
	}
}

// TestLoadCorrupted: every kind of damage gives an error that names the problem.
func TestLoadCorrupted(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 22))
	dir := t.TempDir()
	q, _ := Quantize(randMatrix(rng, 4*8, 1), 4, 8, Int4Group32)
	good := filepath.Join(dir, "good.safetensors")
	if err := Save(good, map[string]*Tensor{"fc": q}, nil, nil); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(good)
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	expect := func(path, want string) {
		t.Helper()
		_, err := Load(path)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("Load(%s) = %v, want an error containing %q", filepath.Base(path), err, want)
		}
	}
	expect(write("trunc.safetensors", raw[:len(raw)-5]), "safetensors")
	expect(write("empty.safetensors", nil), "safetensors")

	// A NaN scale in the data section.
	hlen := binary.LittleEndian.Uint64(raw)
	f, _ := safetensors.Open(good)
	info, _ := f.Info("fc.scales")
	f.Close()
	bad := append([]byte(nil), raw...)
	binary.LittleEndian.PutUint32(bad[8+int(hlen)+info.Begin:], math.Float32bits(float32(math.NaN())))
	expect(write("nan.safetensors", bad), `weight "fc": quant: scale 0 is NaN`)

	// Valid safetensors files with inconsistent quantization content.
	md := func(over map[string]string) map[string]string {
		m := map[string]string{"format": FormatName, "fc.bits": "4", "fc.cols": "8", "fc.group_size": "32",
			"fc.scheme": "sym", "fc.granularity": "group", "fc.clipping": "absmax"}
		for k, v := range over {
			m[k] = v
		}
		return m
	}
	qw := safetensors.FromUint8("fc.qweight", []int{4, 4}, q.Data)
	sc := safetensors.FromFloat32("fc.scales", []int{4, 1}, q.Scales)
	ze := safetensors.FromUint8("fc.zeros", []int{4, 1}, q.Zeros)
	cases := []struct {
		name    string
		tensors []safetensors.Tensor
		meta    map[string]string
		want    string
	}{
		{"nozeros", []safetensors.Tensor{qw, sc}, md(nil), `tensor "fc.zeros" missing`},
		{"bits", []safetensors.Tensor{qw, sc, ze}, md(map[string]string{"fc.bits": "3"}), "bits must be 8 or 4"},
		{"nobits", []safetensors.Tensor{qw, sc, ze}, md(map[string]string{"fc.bits": "x"}), `"fc.bits" = "x" is not an integer`},
		{"cols", []safetensors.Tensor{qw, sc, ze}, md(map[string]string{"fc.cols": "9"}), "does not match 9 columns"},
		{"scales", []safetensors.Tensor{qw, safetensors.FromFloat32("fc.scales", []int{2, 2}, q.Scales), ze}, md(nil), `"fc.scales" has shape [2 2], want [4 1]`},
		{"dtype", []safetensors.Tensor{qw, safetensors.FromUint8("fc.scales", []int{4, 4}, make([]uint8, 16)), ze}, md(nil), "dtype U8, want F32"},
		{"zero", []safetensors.Tensor{qw, sc, safetensors.FromUint8("fc.zeros", []int{4, 1}, []uint8{8, 8, 9, 8})}, md(nil), "want 8 for a symmetric scheme"},
		{"format", []safetensors.Tensor{qw, sc, ze}, md(map[string]string{"format": "pt"}), "not a quantized checkpoint"},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.name+".safetensors")
		if err := safetensors.Write(p, c.tensors, c.meta); err != nil {
			t.Fatal(err)
		}
		expect(p, c.want)
	}
}
