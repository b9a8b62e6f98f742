#!/bin/sh
# Compare divellm's tiny-GPT training and forward speed with PyTorch on the same model.
#
# Runs `divellm bench train --json` and bench/torch_gpt.py one after the other (never at
# the same time: they would share the cores), ROUNDS times alternately, takes the median of
# each figure, and prints tokens/s for both with the ratio
#   ratio = ours / PyTorch   (> 1: divellm is faster).
# Model: d_model 128, 4 heads, 4 layers, d_ff 512, vocab 3000, batch 32 × seq 64, random
# tokens; train = forward + backward + AdamW, forward = logits only.
#
# Usage: bench/gpt_vs_torch.sh            (from anywhere in the repository)
#   STEPS=10 ROUNDS=3 DIVELLM=bin/divellm bench/gpt_vs_torch.sh
#   JSON=1 bench/gpt_vs_torch.sh          (one JSON line instead of the table)
# Needs Go (GOEXPERIMENT=simd is set here) and Debian's python3-torch (/usr/bin/python3).
set -eu
cd "$(dirname "$0")/.."
STEPS=${STEPS:-10}
ROUNDS=${ROUNDS:-1}
NAME=gpt_vs_torch
. bench/common.sh

i=1
while [ "$i" -le "$ROUNDS" ]; do
	echo "round $i/$ROUNDS: divellm bench train" >&2
	"$DIVELLM" bench train --json --steps "$STEPS" | tail -n 1 >"$tmp/go.$i.json"
	echo "round $i/$ROUNDS: bench/torch_gpt.py" >&2
	"$PY" bench/torch_gpt.py --steps "$STEPS" 2>"$tmp/torch.$i.err" | tail -n 1 >"$tmp/torch.$i.json" || {
		cat "$tmp/torch.$i.err" >&2
		exit 1
	}
	i=$((i + 1))
done

"$PY" - "$tmp" "$ROUNDS" "${JSON:-}" <<'PY'
import json, statistics, sys
tmp, rounds, as_json = sys.argv[1], int(sys.argv[2]), sys.argv[3]
keys = ("train_tokens_per_sec", "forward_tokens_per_sec")
def load(kind):
    runs = [json.load(open(f"{tmp}/{kind}.{i}.json")) for i in range(1, rounds + 1)]
    out = {k: statistics.median(r[k] for r in runs) for k in keys}
    return out, runs[0]
go, go0 = load("go")
pt, pt0 = load("torch")
res = {"ours": go, "pytorch": pt,
       "train_ratio": round(go[keys[0]] / pt[keys[0]], 3),
       "forward_ratio": round(go[keys[1]] / pt[keys[1]], 3),
       "backend": go0.get("backend"), "torch": pt0.get("torch"), "blas": pt0.get("blas"),
       "torch_threads": pt0.get("threads"), "rounds": rounds}
if as_json:
    print(json.dumps(res))
    sys.exit(0)
print(f"{'tokens/s':<10}{'divellm':>12}{'pytorch':>12}{'ours/torch':>12}")
for name, k in (("train", keys[0]), ("forward", keys[1])):
    print(f"{name:<10}{go[k]:>12.0f}{pt[k]:>12.0f}{go[k] / pt[k]:>11.2f}x")
print(f"(median over {rounds} round(s); divellm on {res['backend']}; torch {res['torch']}, "
      f"{res['torch_threads']} threads, BLAS {res['blas']})")
PY
