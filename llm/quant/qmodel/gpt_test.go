package qmodel

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant"
	"github.com/divellm/divellm/llm/quant/gemm"
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

// greedyAlone decodes each prompt on its own session, one token per Forward after the
// prompt, and returns the generated ids and the logits of every step.
func greedyAlone(t *testing.T, g *GPT, prompts [][]int, steps int) ([][]int, [][][]float32) {
	t.Helper()
	ids := make([][]int, len(prompts))
	logits := make([][][]float32, len(prompts))
	V := g.Config.VocabSize
	for i, p := range prompts {
		s, err := g.NewSession(len(p) + steps)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Forward(p)
		if err != nil {
			t.Fatal(err)
		}
		row := out[(len(p)-1)*V:]
		for range steps {
			logits[i] = append(logits[i], row)
			next := argmax(row)
			ids[i] = append(ids[i], next)
			if row, err = s.Forward([]int{next}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ids, logits
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// TestForwardBatchEqualsAlone: decoding several sequences together, with sequences joining
// at different steps (their prompt rows mixed with other sequences' decode rows), gives the
// same greedy tokens as decoding each alone; int8 gives bitwise equal logits because its
// activations are quantized per row and summed in exact integers.
func TestForwardBatchEqualsAlone(t *testing.T) {
	m := loadTiny(t)
	prompts := [][]int{{1, 2, 3, 4, 5}, {9}, {7, 7, 7, 30, 31, 32, 33, 34, 35}, {40, 41}}
	join := []int{0, 0, 2, 5} // step at which each sequence enters the batch
	const steps = 12
	for _, f := range []Format{F32, Int8} {
		g, err := NewGPT(m, f)
		if err != nil {
			t.Fatal(err)
		}
		wantIDs, wantLogits := greedyAlone(t, g, prompts, steps)
		sess := make([]*Session, len(prompts))
		next := make([][]int, len(prompts)) // tokens to feed at the coming step
		got := make([][]int, len(prompts))
		var maxDiff float64
		for step := 0; ; step++ {
			var batch []Step
			var who []int
			for i := range prompts {
				switch {
				case step == join[i]:
					if sess[i], err = g.NewSession(len(prompts[i]) + steps); err != nil {
						t.Fatal(err)
					}
					next[i] = prompts[i]
				case step < join[i] || len(got[i]) == steps:
					continue
				}
				batch = append(batch, Step{Session: sess[i], Tokens: next[i]})
				who = append(who, i)
			}
			if len(batch) == 0 {
				break
			}
			out, err := g.ForwardBatch(batch, true)
			if err != nil {
				t.Fatal(err)
			}
			for b, i := range who {
				want := wantLogits[i][len(got[i])]
				for j := range want {
					d := math.Abs(float64(out[b][j] - want[j]))
					maxDiff = max(maxDiff, d)
					if f == Int8 && d != 0 {
						t.Fatalf("int8: sequence %d step %d logit %d: batched %g, alone %g", i, len(got[i]), j, out[b][j], want[j])
					}
				}
				id := argmax(out[b])
				got[i] = append(got[i], id)
				next[i] = []int{id}
			}
		}
		if maxDiff > 1e-4 {
			t.Fatalf("%s: batched logits differ from alone by %g", f, maxDiff)
		}
		for i := range prompts {
			for j := range wantIDs[i] {
				if got[i][j] != wantIDs[i][j] {
					t.Fatalf("%s: sequence %d: batched %v, alone %v", f, i, got[i], wantIDs[i])
				}
			}
		}
		t.Logf("%s: max |batched − alone| logit = %g", f, maxDiff)
	}
}

// TestForwardBatchErrors: bad batches are refused and leave every session unchanged.
func TestForwardBatchErrors(t *testing.T) {
	m := loadTiny(t)
	g, _ := NewGPT(m, F32)
	g2, _ := NewGPT(m, F32)
	a, _ := g.NewSession(4)
	b, _ := g.NewSession(4)
	other, _ := g2.NewSession(4)
	if _, err := a.Forward([]int{1, 2}); err != nil {
		t.Fatal(err)
	}
	for name, steps := range map[string][]Step{
		"empty batch":   nil,
		"twice":         {{a, []int{1}}, {a, []int{2}}},
		"other model":   {{b, []int{1}}, {other, []int{1}}},
		"nil session":   {{nil, []int{1}}},
		"no tokens":     {{b, []int{1}}, {a, nil}},
		"too long":      {{b, []int{1}}, {a, []int{1, 2, 3}}},
		"bad token":     {{b, []int{1}}, {a, []int{-1}}},
		"token ≥ vocab": {{a, []int{g.Config.VocabSize}}},
	} {
		if _, err := g.ForwardBatch(steps, true); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if a.Len() != 2 || b.Len() != 0 {
		t.Fatalf("a failed batch moved the sessions: %d, %d", a.Len(), b.Len())
	}
}

// TestTruncateReusesPrefix: after Truncate(n) the session continues from the first n
// tokens exactly as a fresh session fed the same tokens.
func TestTruncateReusesPrefix(t *testing.T) {
	g, _ := NewGPT(loadTiny(t), F32)
	s, _ := g.NewSession(10)
	if _, err := s.Forward([]int{3, 4, 5, 6, 7}); err != nil {
		t.Fatal(err)
	}
	if err := s.Truncate(6); err == nil {
		t.Fatal("truncate past the end accepted")
	}
	if err := s.Truncate(3); err != nil || s.Len() != 3 {
		t.Fatal(err, s.Len())
	}
	got, err := s.Forward([]int{9, 10})
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := g.NewSession(10)
	want, _ := fresh.Forward([]int{3, 4, 5, 9, 10})
	want = want[3*g.Config.VocabSize:]
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-5 { // fp32 rows may round differently in an odd-sized matmul
			t.Fatalf("logit %d after truncate: %g, fresh %g", i, got[i], want[i])
		}
	}
}

// TestInt4KernelsAgree: greedy int4 decoding gives the same tokens with every gemm
// implementation as with the plain-Go reference ("go", which converts each code to float),
// and logits within float32 rounding of it: the AVX-512 kernel looks codes up as
// code − zero (VPERMPS) and sums in another order. Tiny GPT-2, and a random model with
// GPT-2 small's widths (768, 3072: 24 and 96 groups of 32) and two layers.
func TestInt4KernelsAgree(t *testing.T) {
	wide, err := llm.New(llm.Config{Arch: llm.GPT, VocabSize: 300, DModel: 768, Heads: 12, Layers: 2, DFF: 3072,
		MaxPos: 64, LayerNormE: 1e-5, Activation: "gelu_new"}, llm.HeadSet{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	prompts := [][]int{{1, 2, 3, 4, 5}, {9}, {7, 7, 7, 30, 31, 32, 33, 34, 35}, {40, 41}}
	const steps = 12
	for name, m := range map[string]*llm.Model{"tiny": loadTiny(t), "wide": wide} {
		g, err := NewGPT(m, Int4)
		if err != nil {
			t.Fatal(err)
		}
		prev, _ := gemm.SetImpl("go")
		wantIDs, wantLogits := greedyAlone(t, g, prompts, steps)
		for _, im := range gemm.Impls() {
			gemm.SetImpl(im)
			ids, logits := greedyAlone(t, g, prompts, steps)
			var maxDiff, maxAbs float64
			for i := range prompts {
				for s := range steps {
					if ids[i][s] != wantIDs[i][s] {
						t.Fatalf("%s %s: prompt %d: tokens %v, reference %v", name, im, i, ids[i], wantIDs[i])
					}
					for j, v := range logits[i][s] {
						maxDiff = max(maxDiff, math.Abs(float64(v-wantLogits[i][s][j])))
						maxAbs = max(maxAbs, math.Abs(float64(v)))
					}
				}
			}
			if maxDiff > 1e-5*(1+maxAbs) {
				t.Errorf("%s %s: logits differ from the reference by %g (max |logit| %g)", name, im, maxDiff, maxAbs)
			}
			t.Logf("%s %s: same tokens; max |Δlogit| = %.3g, max |logit| = %.3g", name, im, maxDiff, maxAbs)
		}
		gemm.SetImpl(prev)
	}
}
