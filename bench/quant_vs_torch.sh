#!/bin/sh
# Compare divellm's int8 kernels with PyTorch's dynamic int8 (onednn) on the same shapes.
#
# Runs `divellm bench quant --json` and bench/torch_quant.py one after the other (never at
# the same time: they would share the cores), ROUNDS times alternately, takes the median of
# each figure per shape, and prints ours vs PyTorch with the ratio
#   vs_torch = torch int8_ms / our int8_ms   (> 1: our int8 is faster).
#
# Usage: bench/quant_vs_torch.sh            (from the repository root)
#   SHAPES=1x768x3072,32x768x3072 ROUNDS=3 DIVELLM=bin/divellm TORCH_THREADS=1 bench/quant_vs_torch.sh
# TORCH_THREADS defaults to the number of cores, like GOMAXPROCS on our side. (On a small VM
# PyTorch's OpenMP pool can be slower with 2 threads than with 1: try both.)
# Needs Go (GOEXPERIMENT=simd is set here) and Debian's python3-torch (/usr/bin/python3).
set -eu
cd "$(dirname "$0")/.."
SHAPES=${SHAPES:-1x768x3072,1x3072x768,32x768x3072,32x3072x768}
ROUNDS=${ROUNDS:-1}
TORCH_THREADS=${TORCH_THREADS:-$(getconf _NPROCESSORS_ONLN)}
NAME=quant_vs_torch
. bench/common.sh

i=1
while [ "$i" -le "$ROUNDS" ]; do
	echo "round $i/$ROUNDS: divellm bench quant" >&2
	"$DIVELLM" bench quant --json --shapes "$SHAPES" >"$tmp/go.$i.json"
	echo "round $i/$ROUNDS: bench/torch_quant.py" >&2
	"$PY" bench/torch_quant.py --shapes "$SHAPES" --threads "$TORCH_THREADS" >"$tmp/torch.$i.json" 2>/dev/null
	i=$((i + 1))
done

"$PY" - "$tmp" "$ROUNDS" <<'PY'
import json, statistics, sys
tmp, rounds = sys.argv[1], int(sys.argv[2])
def load(kind):
    runs = [json.load(open(f"{tmp}/{kind}.{i}.json")) for i in range(1, rounds + 1)]
    out = {}
    for r in runs[0]:
        rows = [next(x for x in run if x["shape"] == r["shape"]) for run in runs]
        out[r["shape"]] = {k: statistics.median(x[k] for x in rows) for k in ("fp32_ms", "int8_ms")}
        out[r["shape"]].update({k: r[k] for k in r if k not in ("fp32_ms", "int8_ms", "speedup")})
    return out
go, pt = load("go"), load("torch")
print(f"{'shape':<22}{'ours fp32':>10}{'ours int8':>10}{'speedup':>9}{'torch fp32':>11}{'torch int8':>11}{'speedup':>9}{'vs_torch':>10}")
rows = []
for shape, g in go.items():
    t = pt[shape]
    r = {"shape": shape, "fp32_ms": g["fp32_ms"], "int8_ms": g["int8_ms"],
         "speedup": round(g["fp32_ms"] / g["int8_ms"], 2),
         "torch_fp32_ms": t["fp32_ms"], "torch_int8_ms": t["int8_ms"],
         "torch_speedup": round(t["fp32_ms"] / t["int8_ms"], 2),
         "vs_torch": round(t["int8_ms"] / g["int8_ms"], 2)}
    rows.append(r)
    print(f"{shape:<22}{r['fp32_ms']:>10.3f}{r['int8_ms']:>10.3f}{r['speedup']:>8.2f}x"
          f"{r['torch_fp32_ms']:>11.3f}{r['torch_int8_ms']:>11.3f}{r['torch_speedup']:>8.2f}x{r['vs_torch']:>9.2f}x")
print(f"(ms, median over {rounds} round(s); vs_torch = torch int8 / our int8; ours: {go[shape].get('impl', '?')}, "
      f"{go[shape].get('threads', '?')} threads; torch {pt[shape].get('torch', '?')} onednn, {pt[shape].get('threads', '?')} threads)")
PY
