package main

import (
	"bytes"
	"encoding/json"
	"os"
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

// TestQuantizeRefusesBadGroupAndCalib: a group size that does not divide the layers and a
// negative --calib-tokens are usage errors on one line (group=7 used to fall back to
// per-channel while the report said group=7; --calib-tokens -5 sliced out of range).
func TestQuantizeRefusesBadGroupAndCalib(t *testing.T) {
	calib := filepath.Join(t.TempDir(), "calib.txt")
	os.WriteFile(calib, []byte("2026-03-14 02:13:07 [CRITICAL] 磁盘已满，服务写入失败"), 0o644)
	for _, c := range []struct {
		model string
		args  []string
		want  string
	}{
		{"../../testdata/hf/tiny-gpt2", []string{"--granularity", "group=7"}, "group"},
		{"../../testdata/hf/tiny-gpt2", []string{"--bits", "4", "--granularity", "group=64"}, "transformer.h.0.attn.c_attn"},
		// A model with a tokenizer, so that the calibration text is really read.
		{"../../models/gpt-tiny-zh", []string{"--method", "gptq", "--calib", calib, "--calib-tokens", "-5"}, "--calib-tokens"},
		{"../../models/gpt-tiny-zh", []string{"--method", "gptq", "--calib", calib, "--calib-tokens", "0"}, "--calib-tokens"},
	} {
		out := filepath.Join(t.TempDir(), "q")
		var stdout, stderr bytes.Buffer
		args := append([]string{"quantize", "--model", c.model, "--out", out}, c.args...)
		code := run(args, &stdout, &stderr)
		if code != 2 || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), c.want) || strings.Contains(stderr.String(), "internal error") {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line mentioning %q", c.args, code, stderr.String(), c.want)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("%v: wrote %s", c.args, out)
		}
	}
}
