package qmodel

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/llm/quant"
)

func randIDs(rng *rand.Rand, n, vocab int) []int {
	ids := make([]int, n)
	for i := range ids {
		ids[i] = rng.IntN(vocab)
	}
	return ids
}

func logitsOf(t *testing.T, g *GPT, ids []int) []float32 {
	t.Helper()
	s, err := g.NewSession(len(ids))
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Forward(ids)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestQuantizeDirRoundTrip: a quantized directory loads back into the same decoder as
// quantizing in memory, and is much smaller.
func TestQuantizeDirRoundTrip(t *testing.T) {
	src := filepath.Join(fixtures, "tiny-gpt2")
	ids, _ := refRow(t)
	for _, f := range []Format{WInt8, Int4} {
		dst := filepath.Join(t.TempDir(), "q")
		rep, err := QuantizeDir(src, dst, Options{Scheme: f.Scheme()})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Layers) != 8 || rep.QuantBytes*3 > rep.FloatBytes {
			t.Fatalf("%s: %d layers, %d → %d bytes", f, len(rep.Layers), rep.FloatBytes, rep.QuantBytes)
		}
		if _, err := os.Stat(filepath.Join(dst, "config.json")); err != nil {
			t.Fatal(err)
		}
		loaded, err := LoadGPT(dst, f)
		if err != nil {
			t.Fatal(err)
		}
		direct, err := NewGPT(loadTiny(t), f)
		if err != nil {
			t.Fatal(err)
		}
		a, b := logitsOf(t, loaded, ids), logitsOf(t, direct, ids)
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("%s: logit %d = %g from the file, %g in memory", f, i, a[i], b[i])
			}
		}
		if _, err := LoadGPT(dst, F32); err == nil {
			t.Fatal("quantized directory loaded as fp32")
		}
	}
}

// TestGPTQCheckpoint: GPTQ int4 calibrated on the model's own inputs brings the logits
// closer to fp32 than round-to-nearest on held-out sequences.
func TestGPTQCheckpoint(t *testing.T) {
	src := filepath.Join(fixtures, "tiny-gpt2")
	m := loadTiny(t)
	rng := rand.New(rand.NewPCG(5, 5))
	V, T := m.Config.VocabSize, m.Config.MaxPos
	calib := randIDs(rng, 8*T, V)
	held := randIDs(rng, T, V)
	ref, _ := NewGPT(m, F32)
	want := logitsOf(t, ref, held)
	snr := map[string]float64{}
	for _, o := range []Options{{Method: RTN}, {Method: GPTQ, Calib: calib}, {Method: GPTQ, Calib: calib, Sequential: true}} {
		o.Scheme = quant.Int4Group32
		method := string(o.Method) + map[bool]string{true: "-sequential"}[o.Sequential]
		dst := filepath.Join(t.TempDir(), method)
		if _, err := QuantizeDir(src, dst, o); err != nil {
			t.Fatal(err)
		}
		g, err := LoadGPT(dst, WInt8) // wo-int8 head: isolate the effect on the int4 layers
		if err != nil {
			t.Fatal(err)
		}
		c, _ := quant.Compare(want, logitsOf(t, g, held))
		snr[method] = c.SNR
		t.Logf("%s int4-g32 layers: held-out logits vs fp32 %v", method, c)
	}
	if !(snr["gptq"] > snr["rtn"]+1 && snr["gptq-sequential"] > snr["rtn"]+1) {
		t.Fatalf("GPTQ SNR not above RTN: %v", snr)
	}
	if _, err := QuantizeDir(src, t.TempDir(), Options{Scheme: quant.Int4Group32, Method: GPTQ}); err == nil {
		t.Fatal("GPTQ without calibration accepted")
	}
}

// TestPerplexity matches exp(mean cross-entropy) computed from PyTorch's logits.
func TestPerplexity(t *testing.T) {
	ids, logits := refRow(t)
	g, _ := NewGPT(loadTiny(t), F32)
	got, err := g.Perplexity(ids, len(ids))
	if err != nil {
		t.Fatal(err)
	}
	V := g.Config.VocabSize
	var nll float64
	for i := 0; i+1 < len(ids); i++ {
		row := logits[i*V : (i+1)*V]
		var z float64
		for _, v := range row {
			z += math.Exp(float64(v))
		}
		nll += math.Log(z) - float64(row[ids[i+1]])
	}
	want := math.Exp(nll / float64(len(ids)-1))
	if math.Abs(got-want) > 1e-4*want {
		t.Fatalf("perplexity %g, want %g", got, want)
	}
}

// TestGroupSizeMustDivideEveryLayer: a group size that does not divide a layer's input
// size is refused, naming the layers, and nothing is written. (It fell back to
// per-channel for those layers while the report said group=N.) A size that divides
// every layer is used by every layer, as the saved checkpoint shows.
func TestGroupSizeMustDivideEveryLayer(t *testing.T) {
	src := filepath.Join(fixtures, "tiny-gpt2") // inputs of 32 (attn, c_fc) and 128 (mlp.c_proj) columns
	for _, g := range []int{7, 64} {
		dst := filepath.Join(t.TempDir(), "q")
		_, err := QuantizeDir(src, dst, Options{Scheme: quant.Scheme{Bits: 4, Granularity: quant.PerGroup, GroupSize: g}})
		if !errors.Is(err, ErrGroupSize) || !strings.Contains(err.Error(), "transformer.h.0.attn.c_attn") || strings.Contains(err.Error(), "\n") {
			t.Errorf("group %d: err %v, want one line wrapping ErrGroupSize naming the layers", g, err)
		}
		if _, err := os.Stat(dst); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("group %d: %s written despite the error", g, dst)
		}
	}
	dst := filepath.Join(t.TempDir(), "q")
	if _, err := QuantizeDir(src, dst, Options{Scheme: quant.Scheme{Bits: 4, Granularity: quant.PerGroup, GroupSize: 16}}); err != nil {
		t.Fatal(err)
	}
	ck, err := quant.Load(filepath.Join(dst, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ck.Weights) != 8 {
		t.Fatalf("%d quantized weights, want 8", len(ck.Weights))
	}
	for name, w := range ck.Weights {
		if w.Scheme.Granularity != quant.PerGroup || w.Scheme.GroupSize != 16 {
			t.Errorf("%s saved as %v, asked for group 16", name, w.Scheme)
		}
	}
}

// TestCalibrationMemoryBound: GPTQ refuses calibration whose layer inputs would not fit
// in MaxCalibBytes, with the estimate, before collecting anything.
func TestCalibrationMemoryBound(t *testing.T) {
	src := filepath.Join(fixtures, "tiny-gpt2")
	// 2 layers × (32 + 32 + 32 + 128) input floats per token = 1792 bytes per token.
	n := MaxCalibBytes/1792 + 1
	_, err := QuantizeDir(src, filepath.Join(t.TempDir(), "q"), Options{Scheme: quant.Int8, Method: GPTQ, Calib: make([]int, n)})
	if err == nil || !strings.Contains(err.Error(), "calibration") || !strings.Contains(err.Error(), "GB") {
		t.Fatalf("%d calibration tokens: err %v, want a refusal with the memory estimate", n, err)
	}
}
