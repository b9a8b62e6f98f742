package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestBenchTrainLargeShape runs one step of `bench train --shape large` on a tiny batch and
// checks the JSON: the model is d_model 256, 6 layers, d_ff 1024, and its parameter count
// is GPT-2's formula for that shape (so the PyTorch peer can build the same model).
func TestBenchTrainLargeShape(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"bench", "train", "--json", "--shape", "large", "--steps", "1", "--warmup", "0", "--batch", "1", "--seq-len", "8"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var res benchTrainJSON
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out.String())
	}
	if res.Shape != "large" || res.DModel != 256 || res.Layers != 6 || res.DFF != 1024 || res.Heads != 4 || res.Vocab != 3000 || res.SeqLen != 8 || res.Batch != 1 {
		t.Fatalf("config %+v", res)
	}
	d, f, v, positions := 256, 1024, 3000, 128
	perLayer := 4*d + (d*3*d + 3*d) + (d*d + d) + (d*f + f) + (f*d + d) // 2 layer norms, c_attn, c_proj, c_fc, mlp.c_proj
	if want := v*d + positions*d + 6*perLayer + 2*d; res.Params != want {
		t.Fatalf("params %d, GPT-2 formula %d", res.Params, want)
	}
	if !(res.TrainTokensPerSec > 0 && res.ForwardTokensPerSec > 0) {
		t.Fatalf("tokens/s train %g forward %g", res.TrainTokensPerSec, res.ForwardTokensPerSec)
	}
	// One timed step: the fastest step is the median one.
	if res.TrainTokensPerSecBest != res.TrainTokensPerSec || res.ForwardTokensPerSecBest != res.ForwardTokensPerSec {
		t.Fatalf("best %g/%g, median %g/%g", res.TrainTokensPerSecBest, res.ForwardTokensPerSecBest, res.TrainTokensPerSec, res.ForwardTokensPerSec)
	}
	if res.TrainCPUMSPerStep <= 0 || res.ForwardCPUMSPerStep <= 0 {
		t.Fatalf("CPU ms per step: train %g, forward %g", res.TrainCPUMSPerStep, res.ForwardCPUMSPerStep)
	}
}

func TestBenchTrainBadShape(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"bench", "train", "--shape", "huge"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--shape must be tiny or large") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}
