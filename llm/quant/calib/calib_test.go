package calib

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/quant"
)

func tinyModel(t *testing.T, arch llm.Arch) *llm.Model {
	t.Helper()
	var c llm.Config
	if arch == llm.GPT {
		c = llm.TinyGPT(50)
	} else {
		c = llm.TinyBERT(50)
	}
	c.DModel, c.Heads, c.Layers, c.DFF, c.MaxPos = 32, 2, 2, 64, 32
	m, err := llm.New(c, llm.HeadSet{}, 7)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func seqs(rng *rand.Rand, n, l, vocab int) [][]int {
	out := make([][]int, n)
	for i := range out {
		for range l {
			out[i] = append(out[i], rng.IntN(vocab))
		}
	}
	return out
}

func maxDiff(a []float32, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// TestRunnerMatchesGraph compares the plain-Go blocks with the GoMLX forward pass.
func TestRunnerMatchesGraph(t *testing.T) {
	for _, arch := range []llm.Arch{llm.GPT, llm.BERT} {
		m := tinyModel(t, arch)
		r, err := New(m)
		if err != nil {
			t.Fatal(err)
		}
		ids := []int{3, 9, 1, 4, 17, 22, 5}
		out, err := m.Forward(llm.Batch{IDs: [][]int{ids}}, llm.ForwardOptions{Attentions: true, NoBucket: true})
		if err != nil {
			t.Fatal(err)
		}
		var probs [][]float32
		r.Attn = func(l int, p []float32, n int) { probs = append(probs, p) }
		if arch == llm.GPT {
			lg, err := r.Logits(ids)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(lg, out.Logits.Data); d > 1e-4 {
				t.Errorf("gpt logits differ by %g", d)
			}
		} else {
			h, err := r.Hidden(ids)
			if err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(h, out.LastHidden.Data); d > 1e-4 {
				t.Errorf("bert hidden differs by %g", d)
			}
		}
		if len(probs) != m.Config.Layers {
			t.Fatalf("%s: %d attention maps", arch, len(probs))
		}
		for l, p := range probs {
			if d := maxDiff(p, out.Attentions[l].Data); d > 1e-5 {
				t.Errorf("%s layer %d attention differs by %g", arch, l, d)
			}
		}
	}
}

func TestInputsAndErrors(t *testing.T) {
	m := tinyModel(t, llm.GPT)
	r, _ := New(m)
	in, err := r.Inputs([][]int{{1, 2, 3}, {4, 5}}, "transformer.h.1.mlp.c_proj")
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 1 || len(in["transformer.h.1.mlp.c_proj"]) != 5*64 {
		t.Fatalf("inputs: %d modules, %d values", len(in), len(in["transformer.h.1.mlp.c_proj"]))
	}
	// GELU outputs are ≥ −0.17.
	for _, v := range in["transformer.h.1.mlp.c_proj"] {
		if v < -0.171 {
			t.Fatalf("c_proj input %v below GELU's minimum", v)
		}
	}
	if _, err := r.Inputs(nil, "nope"); err == nil {
		t.Error("unknown module accepted")
	}
	if _, err := r.Hidden(make([]int, 40)); err == nil {
		t.Error("too long sequence accepted")
	}
	if _, err := r.Hidden([]int{99}); err == nil {
		t.Error("token outside the vocabulary accepted")
	}
	if err := r.SetWeight("transformer.h.0.attn.c_attn", []float32{1}); err == nil {
		t.Error("wrong weight size accepted")
	}
	if _, err := Quantize(m, Options{Method: GPTQ, Scheme: quant.Int8}); err == nil {
		t.Error("GPTQ without calibration accepted")
	}
	if _, err := Quantize(m, Options{Method: "x"}); err == nil {
		t.Error("unknown method accepted")
	}
	lm := tinyModel(t, llm.GPT)
	if err := lm.AddLoRA(llm.LoRAConfig{Rank: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(lm); err == nil {
		t.Error("a model with unmerged LoRA adapters accepted")
	}
}

func TestQuantizeModel(t *testing.T) {
	m := tinyModel(t, llm.GPT)
	rng := rand.New(rand.NewPCG(1, 1))
	cal := seqs(rng, 12, 24, 50)
	s := quant.Scheme{Bits: 4} // per-channel int4: large rounding errors for GPTQ to fix
	rtn, err := Quantize(m, Options{Scheme: s, Calib: cal})
	if err != nil {
		t.Fatal(err)
	}
	// RTN's fake weights are exactly quant.Quantize's dequantized ones.
	r0, _ := New(m)
	rq, _ := New(rtn.Model)
	for _, l := range m.Config.Linears() {
		w, _ := r0.Weight(l.Module)
		q, _ := quant.Quantize(w, l.Out, l.In, s)
		got, _ := rq.Weight(l.Module)
		if d := maxDiff(q.Dequantize(), got); d != 0 {
			t.Fatalf("%s: fake weights differ from Quantize by %g", l.Module, d)
		}
	}
	if len(rtn.Layers) != len(m.Config.Linears()) || rtn.QuantBytes >= rtn.FloatBytes/4 {
		t.Fatalf("%d layers, %d → %d bytes", len(rtn.Layers), rtn.FloatBytes, rtn.QuantBytes)
	}
	for _, seq := range []bool{false, true} {
		g, err := Quantize(m, Options{Scheme: s, Method: GPTQ, Calib: cal, Sequential: seq})
		if err != nil {
			t.Fatal(err)
		}
		a, err := Quantize(m, Options{Scheme: s, Method: AWQ, Calib: cal, Sequential: seq})
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range rtn.Layers {
			// GPTQ minimises the output error on the calibration inputs: better than RTN
			// there (first layer: the same float32 inputs either way).
			if i == 0 && g.Layers[i].Output.SNR <= l.Output.SNR {
				t.Errorf("seq=%v %s: GPTQ output SNR %.2f ≤ RTN %.2f", seq, l.Module, g.Layers[i].Output.SNR, l.Output.SNR)
			}
			if !seq && a.Layers[i].Output.SNR < l.Output.SNR-1e-6 {
				t.Errorf("%s: AWQ output SNR %.2f < RTN %.2f", l.Module, a.Layers[i].Output.SNR, l.Output.SNR)
			}
		}
		if !seq {
			better := 0
			for i, l := range rtn.Layers {
				if g.Layers[i].Output.SNR > l.Output.SNR {
					better++
				}
			}
			if better != len(rtn.Layers) {
				t.Errorf("GPTQ beats RTN's output error on %d of %d layers", better, len(rtn.Layers))
			}
		}
	}
	nf, err := Quantize(m, Options{Method: NF4})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := r0.Weight("transformer.h.0.mlp.c_fc")
	q, _ := quant.QuantizeNF4(w, 64, 32, 64)
	rn, _ := New(nf.Model)
	got, _ := rn.Weight("transformer.h.0.mlp.c_fc")
	if d := maxDiff(q.Dequantize(), got); d != 0 {
		t.Errorf("NF4 fake weights differ by %g", d)
	}
	// The original model is untouched.
	r1, _ := New(m)
	for _, l := range m.Config.Linears() {
		a, _ := r0.Weight(l.Module)
		b, _ := r1.Weight(l.Module)
		if maxDiff(a, b) != 0 {
			t.Fatal("Quantize changed the input model")
		}
	}
}

func TestGelu(t *testing.T) {
	// known values: GELU(1) = 0.8413447, gelu_new(1) = 0.8411920
	if math.Abs(Gelu(1, false)-0.8413447460685429) > 1e-12 || math.Abs(Gelu(1, true)-0.8411919906082768) > 1e-12 {
		t.Errorf("gelu(1) = %v / %v", Gelu(1, false), Gelu(1, true))
	}
}

// GramRoot keeps xᵀx/n (checked against a float64 sum, with a dead input and a repeated
// one), and GPTQ on the root reaches the same output error as GPTQ on every row.
func TestGramRoot(t *testing.T) {
	const n, cols, rows = 600, 24, 16
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, n*cols)
	for r := 0; r < n; r++ {
		for c := 0; c < cols; c++ {
			x[r*cols+c] = float32(rng.NormFloat64()) * float32(1+c%5)
		}
		x[r*cols+3] = 0               // dead input
		x[r*cols+7] = 2 * x[r*cols+5] // collinear input
	}
	root := GramRoot(x, n, cols)
	if len(root) != cols*cols {
		t.Fatalf("root has %d values, want %d", len(root), cols*cols)
	}
	for i := 0; i < cols; i++ {
		for j := 0; j < cols; j++ {
			var want, got float64
			for r := 0; r < n; r++ {
				want += float64(x[r*cols+i]) * float64(x[r*cols+j])
			}
			for r := 0; r < cols; r++ {
				got += float64(root[r*cols+i]) * float64(root[r*cols+j])
			}
			want, got = want/n, got/cols
			if math.Abs(got-want) > 1e-4*(1+math.Abs(want)) {
				t.Fatalf("Gram[%d,%d] = %g, want %g", i, j, got, want)
			}
		}
	}
	w := make([]float32, rows*cols)
	for i := range w {
		w[i] = float32(rng.NormFloat64())
	}
	outErr := func(xs []float32, m int) float64 {
		q, err := quant.GPTQ(w, rows, cols, xs, m, quant.Scheme{Bits: 4}, quant.GPTQOptions{ActOrder: true})
		if err != nil {
			t.Fatal(err)
		}
		d := q.Dequantize()
		a, b := MatMulT(x, w, nil, n, cols, rows), MatMulT(x, d, nil, n, cols, rows)
		var e float64
		for i := range a {
			e += float64(a[i]-b[i]) * float64(a[i]-b[i])
		}
		return e
	}
	full, viaRoot := outErr(x, n), outErr(root, cols)
	if math.Abs(viaRoot-full) > 1e-3*full {
		t.Fatalf("GPTQ output error with the root %g, with every row %g", viaRoot, full)
	}
	if got := GramRoot(x[:cols*cols], cols, cols); &got[0] != &x[0] {
		t.Fatal("n ≤ cols should return x itself")
	}
}
