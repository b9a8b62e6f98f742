package qmodel

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant"
	"github.com/divellm/divellm/llm/safetensors"
)

const fixtures = "../../../testdata/hf"

// refRow returns the ids of an unpadded row of the PyTorch reference and its logits.
func refRow(t *testing.T) ([]int, []float32) {
	t.Helper()
	ref, _, err := safetensors.ReadAll(filepath.Join(fixtures, "tiny-gpt2", "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	ids, _ := ref["input_ids"].Int64s()
	mask, _ := ref["attention_mask"].Int64s()
	logits, _ := ref["logits"].Float32s()
	T := ref["input_ids"].Shape[1]
	V := ref["logits"].Shape[2]
	for r := 0; r < ref["input_ids"].Shape[0]; r++ {
		full := true
		for _, m := range mask[r*T : (r+1)*T] {
			full = full && m == 1
		}
		if full {
			out := make([]int, T)
			for i := range out {
				out[i] = int(ids[r*T+i])
			}
			return out, logits[r*T*V : (r+1)*T*V]
		}
	}
	t.Fatal("no unpadded row in the reference")
	return nil, nil
}

func loadTiny(t *testing.T) *llm.Model {
	t.Helper()
	m, err := llm.Load(filepath.Join(fixtures, "tiny-gpt2"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGPTMatchesPyTorch: the fp32 plain-Go decoder reproduces PyTorch's logits, both for
// the whole prompt at once and token by token through the KV cache.
func TestGPTMatchesPyTorch(t *testing.T) {
	ids, want := refRow(t)
	g, err := NewGPT(loadTiny(t), F32)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := g.NewSession(len(ids))
	got, err := s.Forward(ids)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if d := math.Abs(float64(got[i] - want[i])); d > 1e-4 {
			t.Fatalf("logit %d: %g, PyTorch %g", i, got[i], want[i])
		}
	}
	s, _ = g.NewSession(len(ids))
	V := g.Config.VocabSize
	for i, id := range ids {
		row, err := s.Forward([]int{id})
		if err != nil {
			t.Fatal(err)
		}
		for j := range row {
			if d := math.Abs(float64(row[j] - want[i*V+j])); d > 1e-4 {
				t.Fatalf("KV cache, position %d logit %d: %g, PyTorch %g", i, j, row[j], want[i*V+j])
			}
		}
	}
	if _, err := s.Forward([]int{1}); err == nil {
		t.Fatal("session accepted a token past its length")
	}
}

// TestGPTQuantizedFormats: quantized decoders stay close to fp32, int8 closer than int4.
func TestGPTQuantizedFormats(t *testing.T) {
	ids, want := refRow(t)
	m := loadTiny(t)
	snr := map[Format]float64{}
	for _, f := range []Format{Int8, WInt8, Int4, W4A8} {
		g, err := NewGPT(m, f)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := g.NewSession(len(ids))
		got, err := s.Forward(ids)
		if err != nil {
			t.Fatal(err)
		}
		c, _ := quant.Compare(want, got)
		t.Logf("%s: logits vs PyTorch fp32 %v", f, c)
		snr[f] = c.SNR
	}
	if !(snr[Int8] > 25 && snr[WInt8] > 30 && snr[Int4] > 10 && snr[Int4] < snr[WInt8]-6 && snr[W4A8] > snr[Int4]-2) {
		t.Fatalf("SNRs %v", snr)
	}
	if _, err := NewGPT(m, "int3"); err == nil {
		t.Fatal("unknown format accepted")
	}
}
