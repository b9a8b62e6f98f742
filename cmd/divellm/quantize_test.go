package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/divellm/divellm/llm/quant/qmodel"
)

func TestQuantizeCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "q8")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"quantize", "--model", "../../testdata/hf/tiny-gpt2", "--bits", "8", "--out", out, "--layers", "--json"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var res quantizeResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, stdout.String())
	}
	// 2 layers × (c_attn, c_proj, c_fc, mlp.c_proj).
	if len(res.Layers) != 8 || res.Compression < 3 || res.MeanSNRdB < 30 {
		t.Fatalf("report %+v", res)
	}
	if _, err := qmodel.LoadGPT(out, qmodel.Int8); err != nil {
		t.Fatalf("quantized checkpoint does not load: %v", err)
	}
	for _, bad := range [][]string{
		{"quantize", "--model", "../../testdata/hf/tiny-gpt2", "--bits", "3", "--out", out},
		{"quantize", "--model", "../../testdata/hf/tiny-gpt2", "--granularity", "group=x", "--out", out},
		{"quantize", "--model", "../../testdata/hf/tiny-gpt2", "--method", "gptq", "--out", out},
		{"quantize", "--out", out},
	} {
		stdout.Reset()
		stderr.Reset()
		if code := run(bad, &stdout, &stderr); code != 2 || strings.Count(strings.TrimSpace(stderr.String()), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q", bad, code, stderr.String())
		}
	}
}
