package safetensors

import (
	"path/filepath"
	"testing"
)

// BenchmarkReadF32 measures Open + Get + Float32s of a 4 M-element F32 tensor (16 MB).
func BenchmarkReadF32(b *testing.B) { benchRead(b, F32) }

// BenchmarkReadF16 measures the same with F16 storage, widened to float32.
func BenchmarkReadF16(b *testing.B) { benchRead(b, F16) }

func benchRead(b *testing.B, dt DType) {
	data := make([]float32, 1<<22)
	for i := range data {
		data[i] = float32(i%1000) / 7
	}
	tt, err := FromFloat32As("w", []int{2048, 2048}, data, dt)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "m.safetensors")
	if err := Write(path, []Tensor{tt}, nil); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(tt.Data)))
	b.ResetTimer()
	for range b.N {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		t, err := f.Get("w")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := t.Float32s(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
