package llm

import (
	"fmt"
	"math"
	"path/filepath"
	"testing"

	"github.com/divellm/divellm/llm/safetensors"
)

// These tests compare our forward passes with PyTorch outputs of the same checkpoints,
// produced by scripts/gen_hf_fixtures.py following Hugging Face's modelling code
// (testdata/hf/README.md).

const fixtureDir = "../testdata/hf"

func loadReference(t *testing.T, model string) map[string]*safetensors.Tensor {
	t.Helper()
	ref, _, err := safetensors.ReadAll(filepath.Join(fixtureDir, model, "reference.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func refInts(t *testing.T, ref map[string]*safetensors.Tensor, name string) [][]int {
	t.Helper()
	x, err := ref[name].Int64s()
	if err != nil {
		t.Fatal(err)
	}
	rows, cols := ref[name].Shape[0], ref[name].Shape[1]
	out := make([][]int, rows)
	for i := range out {
		for j := range cols {
			out[i] = append(out[i], int(x[i*cols+j]))
		}
	}
	return out
}

// compare checks got against the reference tensor name within tol (absolute).
func compare(t *testing.T, ref map[string]*safetensors.Tensor, name string, got *Array, tol float64) {
	t.Helper()
	want, ok := ref[name]
	if !ok {
		t.Fatalf("reference has no %q", name)
	}
	if got == nil {
		t.Fatalf("%s: model produced no output", name)
	}
	if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		t.Fatalf("%s: shape %v, reference %v", name, got.Shape, want.Shape)
	}
	w, err := want.Float32s()
	if err != nil {
		t.Fatal(err)
	}
	worst, at := 0.0, 0
	for i := range w {
		if d := math.Abs(float64(got.Data[i] - w[i])); d > worst {
			worst, at = d, i
		}
	}
	if worst > tol {
		t.Fatalf("%s: max |diff| %.3g at flat index %d (got %g, want %g), tolerance %g", name, worst, at, got.Data[at], w[at], tol)
	}
	t.Logf("%s: max |diff| %.2g", name, worst)
}

// compareBody checks every layer's hidden states and attention probabilities.
func compareBody(t *testing.T, ref map[string]*safetensors.Tensor, out *Output) {
	t.Helper()
	for i, h := range out.HiddenStates {
		compare(t, ref, fmt.Sprintf("hidden_states.%d", i), h, 1e-4)
	}
	for i, a := range out.Attentions {
		compare(t, ref, fmt.Sprintf("attentions.%d", i), a, 1e-5)
	}
	compare(t, ref, "last_hidden_state", out.LastHidden, 1e-4)
}

func TestTinyBERTMatchesPyTorch(t *testing.T) {
	m, err := Load(filepath.Join(fixtureDir, "tiny-bert"))
	if err != nil {
		t.Fatal(err)
	}
	if h := m.Heads(); !h.MLM || !h.QA || !h.Classifier || !h.Pooler {
		t.Fatalf("heads %+v, want all four", h)
	}
	ref := loadReference(t, "tiny-bert")
	b := Batch{IDs: refInts(t, ref, "input_ids"), TypeIDs: refInts(t, ref, "token_type_ids"), Mask: refInts(t, ref, "attention_mask")}
	out, err := m.Forward(b, ForwardOptions{Attentions: true, HiddenStates: true})
	if err != nil {
		t.Fatal(err)
	}
	compareBody(t, ref, out)
	compare(t, ref, "mlm_logits", out.Logits, 1e-4)
	compare(t, ref, "pooled", out.Pooled, 1e-4)
	compare(t, ref, "qa_start_logits", out.QAStart, 1e-4)
	compare(t, ref, "qa_end_logits", out.QAEnd, 1e-4)
	compare(t, ref, "cls_logits", out.Classes, 1e-4)
}

func TestTinyGPT2MatchesPyTorch(t *testing.T) {
	ref := loadReference(t, "tiny-gpt2")
	for _, dir := range []string{"tiny-gpt2", "tiny-gpt2-hub-style"} {
		t.Run(dir, func(t *testing.T) {
			m, err := Load(filepath.Join(fixtureDir, dir))
			if err != nil {
				t.Fatal(err)
			}
			b := Batch{IDs: refInts(t, ref, "input_ids"), Mask: refInts(t, ref, "attention_mask")}
			out, err := m.Forward(b, ForwardOptions{Attentions: true, HiddenStates: true})
			if err != nil {
				t.Fatal(err)
			}
			compareBody(t, ref, out)
			compare(t, ref, "logits", out.Logits, 1e-4)

			// The KV-cache decoder reproduces the logits of row 0 position by position.
			logits, _ := ref["logits"].Float32s()
			ids := b.IDs[0]
			dec, err := m.newDecoder(len(ids))
			if err != nil {
				t.Fatal(err)
			}
			V := m.Config.VocabSize
			for i := range ids {
				got, err := dec.next(ids[:i+1])
				if err != nil {
					t.Fatal(err)
				}
				for j := range got {
					if d := math.Abs(float64(got[j] - logits[i*V+j])); d > 1e-4 {
						t.Fatalf("KV-cache logits at position %d, token %d differ by %g", i, j, d)
					}
				}
			}
		})
	}
}
