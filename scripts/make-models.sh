#!/usr/bin/env bash
# Builds the pretrained tiny models shipped in models/ (called by `make models`).
# Each run is deterministic for its seed; the final losses are recorded in
# models/NAME/train_result.json and must be reproduced within 5% (see models/README.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/divellm}
only=${1:-all}  # all, gpt, bert, bert-qa, alerts, sft or qlora

train() { # name, then pretrain flags
  local name=$1; shift
  local out=models/$name
  echo "== $name: $BIN pretrain $* --out $out" >&2
  local start=$SECONDS
  # pretrain writes its result (the last JSON line) into $out/train_result.json too.
  "$BIN" pretrain "$@" --out "$out" >/dev/null
  # Ship weights, config and tokenizer only: the optimiser state is for resuming.
  rm -f "$out/optimizer.safetensors" "$out/trainer_state.json"
  echo "== $name done in $((SECONDS - start)) s: $(cat "$out/train_result.json")" >&2
}

if [[ $only == all || $only == gpt ]]; then
  train gpt-tiny-zh --arch gpt --corpus lessons/data/corpus/train.txt --val lessons/data/corpus/val.txt \
    --d-model 128 --heads 4 --layers 4 --seq-len 64 --batch 32 --steps 800 --lr 2e-3 --seed 1
fi
if [[ $only == all || $only == bert ]]; then
  train bert-tiny-zh --arch bert --corpus lessons/data/corpus/train.txt --val lessons/data/corpus/val.txt \
    --d-model 128 --heads 4 --layers 4 --seq-len 64 --batch 32 --steps 2500 --lr 2e-3 --seed 1
fi

# Week 3: bert-tiny-zh fine-tuned for extractive QA (span head qa_outputs) on
# lessons/data/qa. Needs models/bert-tiny-zh, so it runs after the block above.
# Deterministic for its seed; the result (with EM/F1 on the val split) is recorded in
# models/bert-tiny-zh-qa/train_result.json.
if [[ $only == all || $only == bert-qa ]]; then
  out=models/bert-tiny-zh-qa
  echo "== bert-tiny-zh-qa: $BIN train-qa --model models/bert-tiny-zh --out $out" >&2
  start=$SECONDS
  "$BIN" train-qa --model models/bert-tiny-zh --train lessons/data/qa/train.jsonl --eval lessons/data/qa/val.jsonl \
    --epochs 6 --lr 5e-4 --batch 32 --seed 1 --out "$out" --json >/dev/null
  echo "== bert-tiny-zh-qa done in $((SECONDS - start)) s: $(cat "$out/train_result.json")" >&2
fi

# The alert classifier: bert-tiny-zh fine-tuned on the training alerts; --eval is the
# standard test split (same templates), --test the hard split (unseen templates), which is
# only scored. Both results are in models/bert-tiny-zh-alerts/eval_result.json. The
# settings are week2.FullRecipe's (lessons/week2/runs.go), so the notebook's full
# fine-tuning is this run.
if [[ $only == all || $only == alerts ]]; then
  out=models/bert-tiny-zh-alerts
  echo "== bert-tiny-zh-alerts: $BIN finetune --out $out" >&2
  start=$SECONDS
  "$BIN" finetune --model models/bert-tiny-zh --task classify \
    --train lessons/data/alerts/train.jsonl --eval lessons/data/alerts/test.jsonl --test lessons/data/alerts/hard.jsonl \
    --epochs 6 --lr 2e-3 --batch-size 32 --max-len 128 --seed 1 --out "$out" --json >/dev/null
  echo "== bert-tiny-zh-alerts done in $((SECONDS - start)) s: $(cat "$out/eval_result.json")" >&2
  # The week-2 learning curves (pretrained vs scratch at 1/5/20/100% of the labels), which
  # the notebook reads instead of training eight models cold; recorded with a hash of the
  # recipes, the base weights and the data (lessons/week2/curves.go).
  echo "== bert-tiny-zh-alerts learning curves: go run ./lessons/week2/curvesbuild -out $out" >&2
  start=$SECONDS
  go run ./lessons/week2/curvesbuild -out "$out"
  echo "== learning curves done in $((SECONDS - start)) s" >&2
  # The notebook's LoRA run (week2.LoRARecipe: rank 8 on the attention projections, α 16,
  # lr 5e-3): merged weights plus the PEFT adapter files.
  out=models/bert-tiny-zh-alerts-lora
  echo "== bert-tiny-zh-alerts-lora: $BIN finetune --lora-rank 8 --out $out" >&2
  start=$SECONDS
  "$BIN" finetune --model models/bert-tiny-zh --task classify --lora-rank 8 \
    --train lessons/data/alerts/train.jsonl --eval lessons/data/alerts/test.jsonl --test lessons/data/alerts/hard.jsonl \
    --epochs 6 --lr 5e-3 --batch-size 32 --max-len 128 --seed 1 --out "$out" --json >/dev/null
  echo "== bert-tiny-zh-alerts-lora done in $((SECONDS - start)) s: $(cat "$out/eval_result.json")" >&2
fi

# Week 2's generation half: gpt-tiny-zh after SFT on the ops Q&A pairs (plus sloppy
# demonstrations), then that model after DPO on the preference pairs. The recipes are
# lessons/week2/align's NotebookSFT / NotebookDPO, run by the same code as the notebook's
# align.SFT() / align.DPO(), which use these models when the recipe hash recorded in
# train_result.json matches. Needs models/gpt-tiny-zh, so it runs after the gpt block.
if [[ $only == all || $only == sft ]]; then
  for step in "sft models/gpt-tiny-zh models/gpt-tiny-zh-sft" "dpo models/gpt-tiny-zh-sft models/gpt-tiny-zh-dpo"; do
    read -r task base out <<<"$step"
    echo "== $out: go run ./lessons/week2/align/build -task $task -base $base -out $out" >&2
    start=$SECONDS
    go run ./lessons/week2/align/build -task "$task" -base "$base" -out "$out" >&2
    echo "== $out done in $((SECONDS - start)) s" >&2
  done
fi

# Week 3's QLoRA study: rank-8 LoRA adapters and a classifier head for the alert labels,
# trained on bert-tiny-zh with its block linear weights in float32 and in NF4
# (lessons/week3 StudyQLoRA's recipe). Only the adapters and the head are shipped (PEFT
# layout, ~0.4 MB each, plus qlora.json with the recipe hash and the training row); the
# notebook loads them onto the base and measures them live. Needs models/bert-tiny-zh.
if [[ $only == all || $only == qlora ]]; then
  echo "== bert-tiny-zh-qlora: go run ./lessons/week3/qlorabuild -out models/bert-tiny-zh-qlora" >&2
  start=$SECONDS
  go run ./lessons/week3/qlorabuild -out models/bert-tiny-zh-qlora >&2
  echo "== bert-tiny-zh-qlora-{fp32,nf4} done in $((SECONDS - start)) s" >&2
fi
