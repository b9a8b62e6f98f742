#!/bin/sh
# Compare divellm's GPT training and forward speed with PyTorch on the same models.
#
# For each shape, runs `divellm bench train --json --shape S` and bench/torch_gpt.py one
# after the other (never at the same time: they would share the cores), ROUNDS times
# alternately, takes the median of each figure, and prints tokens/s for both with
#   ratio = ours / PyTorch   (> 1: divellm is faster).
# Shapes (vocab 3000, random tokens, batch 32; train = forward + backward + AdamW,
# forward = logits only):
#   tiny   d_model 128, 4 heads, 4 layers, d_ff 512,  seq 64   (the notebooks' model)
#   large  d_model 256, 4 heads, 6 layers, d_ff 1024, seq 128  (matmuls weigh more)
#
# PyTorch gets its fastest honest configuration on this machine: every round runs it once
# per entry of TORCH_CONFIGS, threads:OMP_WAIT_POLICY:OPENBLAS_CORETYPE (OpenBLAS gets the
# same thread count; "auto" leaves the core type to OpenBLAS), and keeps, for each figure,
# the best configuration's median; the table says which won. The core type matters: Debian's
# OpenBLAS 0.3.21 does not know AMD Zen 4 and picks its AVX2 "Haswell" kernels, while
# COOPERLAKE (AVX-512 + BF16) or SKYLAKEX kernels run on it too and are faster; they are
# tried when /proc/cpuinfo lists the features. Install OpenBLAS (libopenblas0-pthread) or
# PyTorch runs on Debian's reference BLAS.
#
# Usage: bench/gpt_vs_torch.sh            (from anywhere in the repository)
#   STEPS=10 ROUNDS=3 SHAPES=tiny DIVELLM=bin/divellm bench/gpt_vs_torch.sh
#   TORCH_CONFIGS="2:PASSIVE:auto" bench/gpt_vs_torch.sh   (one PyTorch configuration only)
#   JSON=1 bench/gpt_vs_torch.sh          (one JSON line per shape instead of the table)
# Needs Go (GOEXPERIMENT=simd is set here) and Debian's python3-torch (/usr/bin/python3).
set -eu
cd "$(dirname "$0")/.."
STEPS=${STEPS:-10}
ROUNDS=${ROUNDS:-1}
SHAPES=${SHAPES:-tiny large}
NPROC=$(getconf _NPROCESSORS_ONLN)
if [ -z "${TORCH_CONFIGS:-}" ]; then
	TORCH_CONFIGS="1:PASSIVE:auto"
	[ "$NPROC" -gt 1 ] && TORCH_CONFIGS="$TORCH_CONFIGS $NPROC:PASSIVE:auto $NPROC:ACTIVE:auto"
	core=""
	if grep -qw avx512_bf16 /proc/cpuinfo 2>/dev/null; then
		core=COOPERLAKE
	elif grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
		core=SKYLAKEX
	fi
	if [ -n "$core" ]; then
		TORCH_CONFIGS="$TORCH_CONFIGS 1:PASSIVE:$core"
		[ "$NPROC" -gt 1 ] && TORCH_CONFIGS="$TORCH_CONFIGS $NPROC:PASSIVE:$core"
	fi
fi
NAME=gpt_vs_torch
. bench/common.sh

for shape in $SHAPES; do
	case $shape in
	tiny) targs="--d-model 128 --heads 4 --layers 4 --d-ff 512 --seq 64" ;;
	large) targs="--d-model 256 --heads 4 --layers 6 --d-ff 1024 --seq 128" ;;
	*)
		echo "$NAME: unknown shape $shape (tiny or large)" >&2
		exit 2
		;;
	esac
	i=1
	while [ "$i" -le "$ROUNDS" ]; do
		echo "$shape round $i/$ROUNDS: divellm bench train" >&2
		"$DIVELLM" bench train --json --shape "$shape" --steps "$STEPS" | tail -n 1 >"$tmp/go.$shape.$i.json"
		for cfg in $TORCH_CONFIGS; do
			threads=${cfg%%:*}
			rest=${cfg#*:}
			policy=${rest%%:*}
			core=auto
			[ "$rest" != "$policy" ] && core=${rest#*:}
			echo "$shape round $i/$ROUNDS: bench/torch_gpt.py, $threads threads, OMP_WAIT_POLICY=$policy, OpenBLAS core $core" >&2
			(
				[ "$core" != auto ] && export OPENBLAS_CORETYPE="$core"
				# shellcheck disable=SC2086 # targs is a list of arguments
				OMP_WAIT_POLICY=$policy OPENBLAS_NUM_THREADS=$threads exec "$PY" bench/torch_gpt.py --steps "$STEPS" \
					--threads "$threads" $targs
			) 2>"$tmp/torch.err" | tail -n 1 >"$tmp/torch.$shape.$threads.$policy.$core.$i.json" || {
				cat "$tmp/torch.err" >&2
				exit 1
			}
		done
		i=$((i + 1))
	done
done

"$PY" - "$tmp" "$ROUNDS" "${JSON:-}" "$SHAPES" "$TORCH_CONFIGS" <<'PY'
import json, statistics, sys
tmp, rounds, as_json = sys.argv[1], int(sys.argv[2]), sys.argv[3]
shapes = sys.argv[4].split()
configs = [c.replace(":", ".") + ("" if c.count(":") == 2 else ".auto") for c in sys.argv[5].split()]
# (ours, pytorch) JSON keys of each figure; higher is better for tokens/s, lower for CPU ms.
figures = {
    "train_tokens_per_sec": ("train_tokens_per_sec", "train_tokens_per_sec"),
    "forward_tokens_per_sec": ("forward_tokens_per_sec", "forward_tokens_per_sec"),
    "train_tokens_per_sec_best": ("train_tokens_per_sec_best", "train_tokens_per_sec_best"),
    "forward_tokens_per_sec_best": ("forward_tokens_per_sec_best", "forward_tokens_per_sec_best"),
    "train_cpu_ms": ("train_cpu_ms_per_step", "train_cpu_ms"),
    "forward_cpu_ms": ("forward_cpu_ms_per_batch", "forward_cpu_ms"),
}
def load(prefix, side):
    runs = [json.load(open(f"{tmp}/{prefix}.{i}.json")) for i in range(1, rounds + 1)]
    return {f: statistics.median(r[keys[side]] for r in runs) for f, keys in figures.items()}, runs[0]
for shape in shapes:
    go, go0 = load(f"go.{shape}", 0)
    torch_by_cfg = {c: load(f"torch.{shape}.{c}", 1) for c in configs}
    pt, best = {}, {}
    for f in figures:  # PyTorch's best configuration for each figure.
        better = min if f.endswith("cpu_ms") else max
        c = better(configs, key=lambda c: torch_by_cfg[c][0][f])
        pt[f], best[f] = torch_by_cfg[c][0][f], c
    pt0 = torch_by_cfg[best["train_tokens_per_sec"]][1]
    cfg_of = lambda c: dict(zip(("threads", "omp_wait_policy", "openblas_coretype"), c.split(".")))
    res = {"shape": shape, "ours": go, "pytorch": pt,
           "train_ratio": round(go["train_tokens_per_sec"] / pt["train_tokens_per_sec"], 3),
           "forward_ratio": round(go["forward_tokens_per_sec"] / pt["forward_tokens_per_sec"], 3),
           "train_cpu_ratio": round(pt["train_cpu_ms"] / go["train_cpu_ms"], 3) if go["train_cpu_ms"] else None,
           "forward_cpu_ratio": round(pt["forward_cpu_ms"] / go["forward_cpu_ms"], 3) if go["forward_cpu_ms"] else None,
           "backend": go0.get("backend"), "torch": pt0.get("torch"), "blas": pt0.get("blas"),
           "torch_config": {f: cfg_of(c) for f, c in best.items()},
           "torch_all_configs": {c: v[0] for c, v in torch_by_cfg.items()},
           "load_avg_1m": pt0.get("load_avg_1m"), "rounds": rounds}
    if as_json:
        print(json.dumps(res))
        continue
    cfg = pt0.get("config", {})
    print(f"{shape}: d_model {cfg.get('d_model')}, {cfg.get('layers')} layers, d_ff {cfg.get('d_ff')}, "
          f"batch {cfg.get('batch')} x seq {cfg.get('seq')}")
    print(f"{'':<22}{'divellm':>10}{'pytorch':>10}{'ours/torch':>12}   pytorch config")
    rows = (("train tokens/s", "train_tokens_per_sec", False), ("forward tokens/s", "forward_tokens_per_sec", False),
            ("train best tokens/s", "train_tokens_per_sec_best", False),
            ("forward best tokens/s", "forward_tokens_per_sec_best", False),
            ("train CPU ms/step", "train_cpu_ms", True), ("forward CPU ms/step", "forward_cpu_ms", True))
    for name, f, lower_is_better in rows:
        if not go[f]:
            continue
        ratio = pt[f] / go[f] if lower_is_better else go[f] / pt[f]
        t, p, core = best[f].split(".")
        print(f"{name:<22}{go[f]:>10.0f}{pt[f]:>10.0f}{ratio:>11.2f}x   {t} threads, OMP_WAIT_POLICY={p}, OpenBLAS {core}")
    print(f"(median over {rounds} round(s); ours/torch > 1: divellm is faster or uses less CPU; divellm on "
          f"{res['backend']}; torch {res['torch']}, BLAS {res['blas']}; load average {res['load_avg_1m']})")
    print()
PY
