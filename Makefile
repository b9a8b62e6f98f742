# divellm — two commands for a fresh machine:
#   make lab    set up everything (tools, kernel, models) and start Jupyter
#   make test   run every test (what .ci/run runs)
SHELL := /bin/bash
GO ?= go
ARCH := $(shell $(GO) env GOARCH)
# GoMLX's fast matmul kernels (AVX2/AVX-512) are behind GOEXPERIMENT=simd on amd64.
ifeq ($(ARCH),amd64)
export GOEXPERIMENT := simd
endif
BIN := $(CURDIR)/bin
# Jupyter listens here; `make lab LAB_FLAGS="--port 9999 --no-browser"` to change.
LAB_FLAGS ?=

.PHONY: build test test-go test-notebooks vet fmt-check lab kernel notebooks models models-check bench bench-vs-torch echarts echarts-check clean

build:
	$(GO) build -o $(BIN)/divellm ./cmd/divellm

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' ':!third_party' 2>/dev/null || find . -name '*.go' -not -path './third_party/*')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Includes the notebook tests (kernel/notebooktest): they need Jupyter and `make kernel`,
# and skip otherwise (fail instead with DIVELLM_REQUIRE_NOTEBOOKS=1). go test hides the
# skip message of a passing package, so `kernel check --tests` says it up front. The
# patched GoNB (third_party/gonb, its own module) has its own test of patch 2.
test-go:
	@$(GO) run ./cmd/divellm kernel check --tests || true
	$(GO) test -count=1 -timeout 20m ./...
	cd third_party/gonb && GOWORK=off $(GO) test -count=1 ./internal/dispatcher

# Every notebook, learner and solution variants, headless on the real kernel (the first
# run of each week trains what its caches lack, so this phase has its own timeout).
test-notebooks:
	DIVELLM_NOTEBOOKS=1 $(GO) test -count=1 -timeout 45m -run 'TestNotebooks' ./kernel/notebooktest

test: fmt-check vet echarts-check models-check test-go test-notebooks

# Build the pinned GoNB, gopls and goimports into bin/kernel and install the
# "Go (divellm)" kernelspec for this checkout. Idempotent: the second run takes <1 s.
kernel: build
	$(BIN)/divellm kernel install

# Set up and start: fail fast (with instructions) if Jupyter is missing, install the
# kernel, check the shipped pretrained tiny models, then open Jupyter on notebooks/.
lab: build
	$(BIN)/divellm kernel lab --check
	$(BIN)/divellm kernel install
	$(MAKE) --no-print-directory models-check
	$(BIN)/divellm kernel lab --no-install $(LAB_FLAGS)

# Rebuild the pretrained tiny models shipped in models/ (gpt-tiny-zh, bert-tiny-zh) with
# `divellm pretrain`, then the alert classifier bert-tiny-zh-alerts with `divellm finetune`;
# seeds, steps and the recorded losses and scores are in models/README.md.
# Slow (tens of minutes on 2 cores): the models are committed, so `make lab` and CI only
# check them.
models: build
	BIN=$(BIN)/divellm scripts/make-models.sh all

# The shipped models load and match what their train_result.json says they are.
models-check:
	@for m in gpt-tiny-zh bert-tiny-zh gpt-tiny-zh-sft gpt-tiny-zh-dpo bert-tiny-zh-qa; do \
		test -f models/$$m/model.safetensors -a -f models/$$m/config.json -a -f models/$$m/train_result.json || \
		{ echo "models/$$m is missing: run 'make models' (or git checkout models/)"; exit 1; }; \
	done
	@for m in bert-tiny-zh-alerts bert-tiny-zh-alerts-lora; do \
		test -f models/$$m/model.safetensors -a -f models/$$m/config.json -a -f models/$$m/eval_result.json || \
		{ echo "models/$$m is missing: run 'make models' (or git checkout models/)"; exit 1; }; \
	done

# Re-fetch the vendored ECharts bundle (viz/assets) with npm and verify its sha256.
echarts:
	scripts/fetch-echarts.sh

# Verify the committed ECharts bundle offline.
echarts-check:
	scripts/fetch-echarts.sh --check

# Run every notebook headlessly on the installed kernel (executed copies in .cache/run).
notebooks: kernel
	$(BIN)/divellm run notebooks/*.ipynb notebooks/solutions/*.ipynb

bench: build
	$(BIN)/divellm bench train
	$(BIN)/divellm bench quant

# Ours vs PyTorch (Debian's python3-torch; OpenBLAS makes it a fair peer) on the same
# shapes in one run: tiny-GPT training/forward tokens/s and int8 GEMM latency.
bench-vs-torch: build
	@/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "needs PyTorch: apt-get install python3-torch libopenblas0-pthread"; exit 2; }
	DIVELLM=$(BIN)/divellm bench/gpt_vs_torch.sh
	DIVELLM=$(BIN)/divellm bench/quant_vs_torch.sh

clean:
	rm -rf $(BIN)
