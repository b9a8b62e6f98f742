package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/divellm/divellm/internal/fileio"
)

// sampleTensors covers every dtype family, a scalar, an empty tensor and special floats.
func sampleTensors() []Tensor {
	nanPayload := math.Float32frombits(0x7fc01234)
	f16, _ := FromFloat32As("half", []int{2, 2}, []float32{1, -2.5, 65504, 6e-8}, F16)
	bf16, _ := FromFloat32As("brain", []int{3}, []float32{1, -2.5, 3e38}, BF16)
	f64, _ := FromFloat32As("double", []int{2}, []float32{0.1, -7}, F64)
	return []Tensor{
		FromFloat32("w.weight", []int{2, 3}, []float32{1, -2, 3.5, float32(math.Inf(-1)), nanPayload, float32(math.Copysign(0, -1))}),
		FromFloat32("scalar", []int{}, []float32{42}),
		FromFloat32("empty", []int{0, 3}, nil),
		f16, bf16, f64,
		FromInt64("ids", []int{1, 3}, []int64{0, -1, math.MaxInt64}),
		FromInt32("i32", []int{2}, []int32{-5, 7}),
		FromInt8("q", []int{4}, []int8{-128, -1, 0, 127}),
		FromUint8("packed", []int{3}, []uint8{0, 0x5a, 255}),
		FromBool("mask", []int{3}, []bool{true, false, true}),
	}
}

func TestRoundTripBitIdentical(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	in := sampleTensors()
	meta := map[string]string{"format": "pt", "note": "<ü & \"quoted\">"}
	if err := Write(path, in, meta); err != nil {
		t.Fatal(err)
	}
	got, gotMeta, err := ReadAll(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotMeta, meta) {
		t.Errorf("metadata = %v, want %v", gotMeta, meta)
	}
	if len(got) != len(in) {
		t.Fatalf("read %d tensors, wrote %d", len(got), len(in))
	}
	for _, w := range in {
		g := got[w.Name]
		if g == nil {
			t.Fatalf("tensor %q missing", w.Name)
		}
		if g.DType != w.DType || !reflect.DeepEqual(g.Shape, w.Shape) || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("tensor %q: got %s %v %x, want %s %v %x", w.Name, g.DType, g.Shape, g.Data, w.DType, w.Shape, w.Data)
		}
	}

	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	names := f.Names()
	if !sort.StringsAreSorted(names) || len(names) != len(in) {
		t.Errorf("Names() = %v, want %d sorted names", names, len(in))
	}
	// Layout: header padded to 8 bytes, every tensor aligned to its element size.
	raw, _ := os.ReadFile(path)
	n := binary.LittleEndian.Uint64(raw)
	if (8+n)%8 != 0 || raw[8+n-1] != '}' && raw[8+n-1] != ' ' {
		t.Errorf("header length %d not padded to 8 bytes", n)
	}
	for _, info := range f.Infos() {
		if info.Begin%info.DType.Size() != 0 {
			t.Errorf("tensor %q (%s) starts at %d, not aligned", info.Name, info.DType, info.Begin)
		}
	}
	// Re-encoding what was read gives the same bytes: the format is deterministic.
	var tensors []Tensor
	for _, name := range names {
		tt, err := f.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		tensors = append(tensors, *tt)
	}
	var buf bytes.Buffer
	if err := Encode(&buf, tensors, f.Metadata); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), raw) {
		t.Errorf("re-encoding is not byte-identical to the file")
	}
	// F32 values survive exactly, NaN payload and -0 included.
	w, _ := f.Get("w.weight")
	vals, err := w.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	if math.Float32bits(vals[4]) != 0x7fc01234 || math.Float32bits(vals[5]) != 0x80000000 || vals[2] != 3.5 {
		t.Errorf("Float32s = %v", vals)
	}
}

func TestHeaderBytesMatchReferenceLayout(t *testing.T) {
	// What safetensors' Rust serializer (and so HF's save_pretrained) writes for
	// {"b": f16[1], "a": f32[2]} with metadata {"format": "pt"}: metadata first, then the
	// largest dtype first, compact JSON, padded with spaces to a multiple of 8.
	a := FromFloat32("a", []int{2}, []float32{1, 2})
	b, _ := FromFloat32As("b", []int{1}, []float32{1}, F16)
	var buf bytes.Buffer
	if err := Encode(&buf, []Tensor{b, a}, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	want := `{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[1],"data_offsets":[8,10]}}`
	for len(want)%8 != 0 {
		want += " "
	}
	out := buf.Bytes()
	if n := binary.LittleEndian.Uint64(out); int(n) != len(want) || string(out[8:8+n]) != want {
		t.Fatalf("header = %q, want %q", out[8:], want)
	}
	if data := out[8+len(want):]; !bytes.Equal(data, []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0x40, 0, 0x3c}) {
		t.Errorf("data = %x", data)
	}
}

// fileWith builds a file from a raw header string and a data buffer of dataLen bytes.
func fileWith(header string, dataLen int) []byte {
	b := make([]byte, 8, 8+len(header)+dataLen)
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, dataLen)...)
}

func corruptCases() []struct {
	name, want string
	file       []byte
} {
	valid := fileWith(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 8)
	hugeLen := append([]byte{}, valid...)
	binary.LittleEndian.PutUint64(hugeLen, 1000)
	return []struct {
		name, want string
		file       []byte
	}{
		{"shorter than length prefix", "truncated file", []byte{1, 2, 3}},
		{"header length larger than file", "larger than the file", hugeLen},
		{"header not JSON", "not JSON", fileWith(`{"a": nope}`, 0)},
		{"header not an object", "must start with '{'", fileWith(`[1, 2]`, 0)},
		{"header empty", "must start with '{'", fileWith(``, 0)},
		{"garbage after header object", "not JSON", fileWith(`{} {}`, 0)},
		{"header not UTF-8", "UTF-8", fileWith("{\"\xff\":{}}", 0)},
		{"unknown dtype", `unknown dtype "F33"`, fileWith(`{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}`, 8)},
		{"missing dtype", "missing dtype", fileWith(`{"a":{"shape":[2],"data_offsets":[0,8]}}`, 8)},
		{"missing shape", "missing shape", fileWith(`{"a":{"dtype":"F32","data_offsets":[0,8]}}`, 8)},
		{"shape size mismatch", "= 24 bytes, but data_offsets [0, 20] span 20", fileWith(`{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,20]}}`, 20)},
		{"negative dimension", "negative dimension -1", fileWith(`{"a":{"dtype":"F32","shape":[-1,2],"data_offsets":[0,8]}}`, 8)},
		{"fractional dimension", "not an integer", fileWith(`{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}`, 8)},
		{"overflowing shape", "too many elements", fileWith(`{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, 8)},
		{"offsets need two numbers", "[begin, end]", fileWith(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4,8]}}`, 8)},
		{"negative offset", "non-negative", fileWith(`{"a":{"dtype":"U8","shape":[2],"data_offsets":[-2,0]}}`, 8)},
		{"end before begin", "end before begin", fileWith(`{"a":{"dtype":"U8","shape":[0],"data_offsets":[8,0]}}`, 8)},
		{"offsets past end of file", "truncated file: tensors need 16 bytes", fileWith(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 8)},
		{"overlapping tensors", `overlap tensor "a"`, fileWith(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12)},
		{"gap between tensors", "gap of 4 bytes at 8", fileWith(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}}`, 20)},
		{"first tensor not at 0", "gap of 4 bytes at 0", fileWith(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8)},
		{"data not covered", "4 bytes of data after the last tensor", fileWith(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 12)},
		{"duplicate names", `duplicate tensor name "a"`, fileWith(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, 8)},
		{"duplicate metadata", "duplicate __metadata__", fileWith(`{"__metadata__":{},"__metadata__":{}}`, 0)},
		{"metadata not strings", "string → string", fileWith(`{"__metadata__":{"epoch":3}}`, 0)},
		{"entry not an object", "not {dtype, shape, data_offsets}", fileWith(`{"a":[1,2]}`, 0)},
		{"empty name", "empty tensor name", fileWith(`{"":{"dtype":"U8","shape":[0],"data_offsets":[0,0]}}`, 0)},
		{"truncated file", "truncated file", valid[:len(valid)-3]},
	}
}

func TestCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	for _, c := range corruptCases() {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".safetensors")
			if err := os.WriteFile(path, c.file, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err == nil {
				f.Close()
				t.Fatalf("Open accepted a corrupt file")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if msg := err.Error(); !strings.Contains(msg, c.want) || !strings.Contains(msg, path) {
				t.Errorf("error %q should mention %q and the path", msg, c.want)
			}
			if _, _, err := ReadAll(path); err == nil {
				t.Errorf("ReadAll accepted a corrupt file")
			}
		})
	}
}

func TestValidEdgeCases(t *testing.T) {
	// Zero-size tensors may share an offset; a header may be padded with spaces; unknown
	// entry fields are ignored; an empty file with only "{}" is valid.
	for _, file := range [][]byte{
		fileWith(`{"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"z":{"dtype":"F16","shape":[0,5],"data_offsets":[2,2]}}   `, 2),
		fileWith(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"extra":1}}`, 1),
		fileWith(`{}`, 0),
		fileWith(`{"__metadata__":null}`, 0),
	} {
		if _, err := Parse(file); err != nil {
			t.Errorf("Parse(%q): %v", file[8:], err)
		}
	}
}

func TestRefusesPickle(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "pytorch_model.bin")
	if err := os.WriteFile(bin, []byte("PK\x03\x04 torch zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(bin)
	if !errors.Is(err, ErrPickle) || !strings.Contains(err.Error(), "save_pretrained") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("Open(pytorch_model.bin) = %v, want ErrPickle with conversion advice", err)
	}
	// Content is recognized too, whatever the name.
	for _, content := range [][]byte{[]byte("PK\x03\x04 zipped pickle......"), {0x80, 0x02, '}', 'q', 0, 0, 0, 0, 0, 0}} {
		p := filepath.Join(dir, "renamed.safetensors")
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(p); !errors.Is(err, ErrPickle) {
			t.Errorf("Open(pickle named .safetensors) = %v, want ErrPickle", err)
		}
	}
	// A directory holding only pytorch_model.bin gets the same advice.
	if _, err := Open(dir); !errors.Is(err, ErrPickle) {
		t.Errorf("Open(dir with pytorch_model.bin) = %v, want ErrPickle", err)
	}
	if err := Write(filepath.Join(dir, "x.bin"), nil, nil); err == nil {
		t.Errorf("Write accepted a .bin name")
	}
}

func TestGetErrorsAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	if err := Write(path, []Tensor{FromFloat32("transformer.wte.weight", []int{1}, []float32{1})}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Metadata) != 0 || f.Metadata == nil {
		t.Errorf("Metadata = %#v, want empty non-nil map", f.Metadata)
	}
	if _, err := f.Get("wte.weight"); err == nil || !strings.Contains(err.Error(), "transformer.wte.weight") {
		t.Errorf("Get(missing) = %v, want an error suggesting the prefixed name", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Get("transformer.wte.weight"); err == nil {
		t.Errorf("Get after Close succeeded")
	}
	if err := f.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestWriteValidates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	good := FromFloat32("a", []int{2}, []float32{1, 2})
	if err := Write(path, []Tensor{good}, nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	for name, tensors := range map[string][]Tensor{
		"shape mismatch": {FromFloat32("a", []int{3}, []float32{1, 2})},
		"duplicate":      {good, good},
		"empty name":     {FromFloat32("", []int{1}, []float32{1})},
		"reserved name":  {FromFloat32("__metadata__", []int{1}, []float32{1})},
		"unknown dtype":  {{Name: "a", DType: "F33", Shape: []int{1}, Data: []byte{0}}},
		"negative dim":   {{Name: "a", DType: U8, Shape: []int{-1}, Data: nil}},
	} {
		if err := Write(path, tensors, nil); err == nil {
			t.Errorf("%s: Write succeeded", name)
		}
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Errorf("a failed Write changed the existing file")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if _, err := FromFloat32As("a", []int{1}, []float32{1}, I8); err == nil {
		t.Errorf("FromFloat32As(I8) succeeded")
	}
}

func TestWriteDirAtomic(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "ckpt")
	write := func(value float32) func(string) error {
		return func(tmp string) error {
			if err := os.WriteFile(filepath.Join(tmp, "config.json"), []byte("{}"), 0o644); err != nil {
				return err
			}
			return Write(filepath.Join(tmp, "model.safetensors"), []Tensor{FromFloat32("w", []int{1}, []float32{value})}, nil)
		}
	}
	readValue := func() float32 {
		t.Helper()
		ts, _, err := ReadAll(filepath.Join(dir, "model.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		v, _ := ts["w"].Float32s()
		return v[0]
	}
	if err := WriteDirAtomic(dir, write(1)); err != nil {
		t.Fatal(err)
	}
	if err := WriteDirAtomic(dir, write(2)); err != nil {
		t.Fatal(err)
	}
	if v := readValue(); v != 2 {
		t.Errorf("after second write w = %v, want 2", v)
	}
	// A failing fill leaves the previous checkpoint as it was and no temporaries.
	boom := errors.New("disk full")
	err := WriteDirAtomic(dir, func(tmp string) error {
		_ = write(3)(tmp)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("err = %v, want the fill error", err)
	}
	if v := readValue(); v != 2 {
		t.Errorf("after failed write w = %v, want 2", v)
	}
	if entries, _ := os.ReadDir(parent); len(entries) != 1 {
		t.Errorf("parent holds %d entries, want only ckpt", len(entries))
	}
	// A crash between the two renames leaves only the backup: the next call restores it
	// before building, and succeeds.
	if err := os.Rename(dir, filepath.Join(parent, ".ckpt.old")); err != nil {
		t.Fatal(err)
	}
	if err := WriteDirAtomic(dir, func(string) error { return boom }); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if v := readValue(); v != 2 {
		t.Errorf("backup not restored: w = %v", v)
	}
}

// TestRefusesSpecialFiles: a model.safetensors that is (or links to) a device or a FIFO
// fails at once with one line naming it, instead of reading /dev/urandom until memory
// runs out or blocking on the FIFO.
func TestRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.safetensors")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "model.safetensors")
	if err := os.Symlink("/dev/urandom", link); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dev/zero", "/dev/urandom", link, fifo} {
		f, err := Open(path)
		if err == nil {
			f.Close()
			t.Fatalf("Open(%s) succeeded", path)
		}
		if !errors.Is(err, fileio.ErrNotRegular) || !strings.Contains(err.Error(), path) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Open(%s): %q, want one line naming the path, wrapping fileio.ErrNotRegular", path, err)
		}
		if _, _, err := ReadAll(path); !errors.Is(err, fileio.ErrNotRegular) {
			t.Errorf("ReadAll(%s): %v", path, err)
		}
	}
}
