#!/usr/bin/env python3
"""PyTorch baseline for `divellm bench quant`: fp32 vs dynamic int8 nn.Linear, same shapes.

For each shape [M x K] x [K x N] (x: M tokens of K features; W: nn.Linear(K, N) with bias):
  fp32 — torch.nn.Linear in float32 (Debian's torch calls OpenBLAS for the matmul)
  int8 — torch.ao.quantization.quantize_dynamic(Linear, {nn.Linear}, dtype=torch.qint8) on
         the onednn engine (FBGEMM is not built in Debian's torch): per-tensor int8 weights,
         activations quantized per call from their observed range, int8 GEMM, fp32 output.
Timing: --warmup untimed calls, then the two layers interleaved until --time seconds and at
least --reps samples each; a sample is an untimed call followed by a timed one (warm
caches), and the median is reported, exactly as `divellm bench quant` does.
torch.set_num_threads(os.cpu_count()), as the Go kernels use every core.

Prints a JSON array on stdout, one row per shape, with the keys of `divellm bench quant
--json`: {"shape": "[1x768]x[768x3072]", "fp32_ms": ..., "int8_ms": ..., "speedup": ...}
plus torch's version, engine and threads; a human table goes to stderr.

Run: /usr/bin/python3 bench/torch_quant.py [--shapes 1x768x3072,...]
     (Debian's python3-torch: apt-get install -y --no-install-recommends python3-torch)
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

import torch
from torch import nn

SHAPES = "1x768x3072,1x3072x768,32x768x3072,32x3072x768"


def parse_shapes(s):
    out = []
    for f in s.split(","):
        m, k, n = (int(v) for v in f.strip().split("x"))
        out.append((m, k, n))
    return out


def snr_db(ref, y):
    err = (ref - y).double().pow(2).sum().item()
    sig = ref.double().pow(2).sum().item()
    return math.inf if err == 0 else 10 * math.log10(sig / err)


def bench_shape(m, k, n, reps, min_time, warmup):
    torch.manual_seed(m * 100003 + k * 31 + n)
    fp32 = nn.Linear(k, n)
    with torch.no_grad():
        fp32.weight.normal_(0, 0.02)
        fp32.bias.normal_(0, 0.02)
    fp32.eval()
    int8 = torch.ao.quantization.quantize_dynamic(nn.Sequential(fp32), {nn.Linear}, dtype=torch.qint8)
    x = torch.randn(m, k)
    layers = [("fp32", fp32), ("int8", int8)]
    times = {name: [] for name, _ in layers}
    with torch.inference_mode():
        for _, f in layers:
            for _ in range(warmup):
                f(x)
        start = time.perf_counter()
        done = 0
        while done < reps or (time.perf_counter() - start < min_time and done < 2000):
            for name, f in layers:
                f(x)  # untimed: bring this layer's weights back into the caches
                t0 = time.perf_counter()
                f(x)
                times[name].append((time.perf_counter() - t0) * 1e3)
            done += 1
        snr = snr_db(fp32(x), int8(x))
    f, q = statistics.median(times["fp32"]), statistics.median(times["int8"])
    return {
        "shape": f"[{m}x{k}]x[{k}x{n}]",
        "fp32_ms": round(f, 4),
        "int8_ms": round(q, 4),
        "speedup": round(f / q, 2),
        "int8_snr_db": round(snr, 1),
        "m": m, "k": k, "n": n, "reps": done,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shapes", default=SHAPES, help="comma-separated MxKxN")
    ap.add_argument("--reps", type=int, default=15, help="minimum timed calls per layer")
    ap.add_argument("--time", type=float, default=0.4, help="minimum seconds per shape")
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    if "onednn" not in torch.backends.quantized.supported_engines:
        sys.exit(f"torch {torch.__version__} has no onednn quantized engine "
                 f"(have {torch.backends.quantized.supported_engines})")
    torch.backends.quantized.engine = "onednn"
    torch.set_num_threads(args.threads)
    rows = []
    for m, k, n in parse_shapes(args.shapes):
        r = bench_shape(m, k, n, args.reps, args.time, args.warmup)
        r.update({"framework": "pytorch", "torch": torch.__version__, "engine": "onednn",
                  "threads": torch.get_num_threads()})
        rows.append(r)
        print(f"{r['shape']:<22} fp32 {r['fp32_ms']:8.3f} ms  int8 {r['int8_ms']:8.3f} ms  "
              f"{r['speedup']:5.2f}x  int8 SNR {r['int8_snr_db']:.1f} dB", file=sys.stderr)
    print("[")
    for i, r in enumerate(rows):
        print("  " + json.dumps(r) + ("," if i < len(rows) - 1 else ""))
    print("]")


if __name__ == "__main__":
    main()
