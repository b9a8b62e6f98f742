package safetensors

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzParseHeader feeds arbitrary bytes to the parser: it must return an error or a File
// whose every tensor can be read, never panic. A file that parses must re-encode to a file
// that parses to the same tensors. Without -fuzz it runs the seed corpus (valid files and
// every corruption case) as a normal test.
func FuzzParseHeader(f *testing.F) {
	var buf bytes.Buffer
	if err := Encode(&buf, sampleTensors(), map[string]string{"format": "pt"}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	buf.Reset()
	_ = Encode(&buf, nil, nil)
	f.Add(buf.Bytes())
	f.Add(fileWith(`{"e":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},"a":{"dtype":"BOOL","shape":[2],"data_offsets":[0,2]}}`, 2))
	for _, c := range corruptCases() {
		f.Add(c.file)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse(b)
		if err != nil {
			return
		}
		var tensors []Tensor
		for _, name := range file.Names() {
			tt, err := file.Get(name)
			if err != nil {
				t.Fatalf("Get(%q) of a parsed file: %v", name, err)
			}
			if _, err := tt.Float32s(); err != nil {
				t.Fatalf("Float32s(%q) of a parsed file: %v", name, err)
			}
			_, _ = tt.Int64s() // may refuse (fractions, BOOL bytes > 1), must not panic
			tensors = append(tensors, *tt)
		}
		var out bytes.Buffer
		if err := Encode(&out, tensors, file.Metadata); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := Parse(out.Bytes())
		if err != nil {
			t.Fatalf("re-encoded file does not parse: %v", err)
		}
		if !reflect.DeepEqual(again.Names(), file.Names()) || !reflect.DeepEqual(again.Metadata, file.Metadata) {
			t.Fatalf("re-encoded file differs: %v vs %v", again.Names(), file.Names())
		}
		for _, tt := range tensors {
			g, _ := again.Get(tt.Name)
			if g.DType != tt.DType || !reflect.DeepEqual(g.Shape, tt.Shape) || !bytes.Equal(g.Data, tt.Data) {
				t.Fatalf("tensor %q changed in a round trip", tt.Name)
			}
		}
	})
}
