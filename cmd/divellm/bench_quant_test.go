package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/llm"
	"github.com/divellm/divellm/llm/tokenizer"
)

// TestBenchQuantJSON runs `bench quant --json` on small shapes and checks the contract:
// one row per shape with shape, fp32_ms, int8_ms, speedup = fp32_ms/int8_ms, and accuracy
// figures that show the int8 path computes the same layer.
func TestBenchQuantJSON(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"bench", "quant", "--json", "--shapes", "1x64x96,5x130x70", "--reps", "3", "--time", "1ms", "--gomlx=false"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if len(rows) != 2 {
		t.Fatalf("%d rows", len(rows))
	}
	for i, want := range []string{"[1x64]x[64x96]", "[5x130]x[130x70]"} {
		r := rows[i]
		if r["shape"] != want {
			t.Fatalf("row %d shape %v, want %s", i, r["shape"], want)
		}
		f, q, s := r["fp32_ms"].(float64), r["int8_ms"].(float64), r["speedup"].(float64)
		if !(f > 0 && q > 0) || math.Abs(s-f/q) > 0.01*s+0.02 {
			t.Fatalf("row %d: fp32 %g int8 %g speedup %g", i, f, q, s)
		}
		if snr := r["int8_snr_db"].(float64); snr < 30 {
			t.Fatalf("row %d: int8 SNR %g dB", i, snr)
		}
		if _, ok := r["gomlx_fp32_ms"]; ok {
			t.Fatal("gomlx_fp32_ms present with --gomlx=false")
		}
	}
}

func TestBenchQuantGoMLXAndText(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"bench", "quant", "--shapes", "2x32x48", "--reps", "2", "--time", "1ms", "--impl", "go"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if s := out.String(); !strings.Contains(s, "[2x32]x[32x48]") || !strings.Contains(s, " go,") {
		t.Fatalf("output:\n%s", s)
	}
}

func TestBenchUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"bench"}, "usage: divellm bench"},
		{[]string{"bench", "nope"}, `unknown benchmark "nope"`},
		{[]string{"bench", "quant", "--shapes", "1x2"}, "not MxKxN"},
		{[]string{"bench", "quant", "--impl", "z80"}, "not available"},
		{[]string{"bench", "quant", "--reps", "0"}, "--reps must be positive"},
	} {
		var out, errb bytes.Buffer
		if code := run(c.args, &out, &errb); code != 2 || !strings.Contains(errb.String(), c.want) {
			t.Errorf("%q: exit %d stderr %q; want 2 and %q", c.args, code, errb.String(), c.want)
		}
	}
}

// TestBenchQuantDecode times decoding with the tiny GPT-2 fixture in every format.
func TestBenchQuantDecode(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"bench", "quant", "--decode", "--json", "--tokens", "4", "--model", "../../testdata/hf/tiny-gpt2"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if len(rows) != 5 {
		t.Fatalf("%d rows:\n%s", len(rows), out.String())
	}
	mb := map[string]float64{}
	for _, r := range rows {
		if !(r["tokens_per_s"].(float64) > 0) {
			t.Fatalf("row %v", r)
		}
		mb[r["format"].(string)] = r["weights_mb"].(float64)
	}
	if !(mb["int4"] < mb["int8"] && mb["w4a8"] < mb["int8"] && mb["int8"] < mb["fp32"]) {
		t.Fatalf("weights MB %v", mb)
	}
}

// TestBenchQuantPerplexity: a small random GPT with a character tokenizer; every format's
// perplexity is finite and close to fp32's, int8 closer than int4.
func TestBenchQuantPerplexity(t *testing.T) {
	dir := t.TempDir()
	text := strings.Repeat("春眠不觉晓，处处闻啼鸟。夜来风雨声，花落知多少。", 40)
	tok := tokenizer.NewChar(text, tokenizer.CharOptions{})
	c := llm.Config{Arch: llm.GPT, VocabSize: tok.VocabSize(), DModel: 64, Heads: 4, Layers: 2, DFF: 128,
		MaxPos: 64, LayerNormE: 1e-5, Activation: "gelu_new", BosID: 5, EosID: 5}
	m, err := llm.New(c, llm.HeadSet{}, 3)
	if err != nil {
		t.Fatal(err)
	}
	m.Tokenizer = tok
	model := filepath.Join(dir, "gpt")
	if err := m.Save(model); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "text.txt")
	os.WriteFile(data, []byte(text), 0o644)
	var out, errb bytes.Buffer
	if code := run([]string{"bench", "quant", "--perplexity", "--json", "--model", model, "--data", data, "--calib-tokens", "256"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if len(rows) != 7 {
		t.Fatalf("%d rows:\n%s", len(rows), out.String())
	}
	p := map[string]float64{}
	for _, r := range rows {
		p[r["format"].(string)+"/"+r["method"].(string)] = r["perplexity"].(float64)
	}
	base := p["fp32/-"]
	if !(base > 1) || math.Abs(p["int8/rtn"]-base) > 0.05*base || math.Abs(p["int4/gptq"]-base) > 0.5*base {
		t.Fatalf("perplexities %v", p)
	}
	if w := rows[0]["window"].(float64); w != 64 {
		t.Errorf("window %v without a training record, want the checkpoint's 64 positions", w)
	}
	if code := run([]string{"bench", "quant", "--perplexity", "--model", model}, &out, &errb); code != 2 {
		t.Fatalf("missing --data: exit %d", code)
	}

	// The record pretrain writes says the model learned 16-token sequences: the default
	// window follows it, and equals an explicit --window 16.
	fp32 := func(args ...string) (float64, float64) {
		t.Helper()
		out.Reset()
		errb.Reset()
		args = append([]string{"bench", "quant", "--perplexity", "--json", "--model", model, "--data", data, "--calib-tokens", "256"}, args...)
		if code := run(args, &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		var rows []map[string]any
		if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) == 0 {
			t.Fatalf("not JSON rows: %v\n%s", err, out.String())
		}
		return rows[0]["perplexity"].(float64), rows[0]["window"].(float64)
	}
	if err := os.WriteFile(filepath.Join(model, "train_result.json"), []byte(`{"seq_len":16,"batch":8}`), 0o644); err != nil {
		t.Fatal(err)
	}
	pDef, wDef := fp32()
	p16, w16 := fp32("--window", "16")
	if wDef != 16 || w16 != 16 || pDef != p16 {
		t.Errorf("default window %v (ppl %v) vs --window 16: %v (ppl %v)", wDef, pDef, w16, p16)
	}
	if pDef == base {
		t.Errorf("16-token windows gave the 64-token perplexity %v", base)
	}
	out.Reset()
	errb.Reset()
	if code := run([]string{"bench", "quant", "--perplexity", "--model", model, "--data", data, "--calib-tokens", "256", "--window", "65"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "positions") {
		t.Errorf("--window beyond the positions: exit %d, %q", code, errb.String())
	}
}
