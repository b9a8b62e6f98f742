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

.PHONY: build test test-go vet fmt-check lab kernel notebooks models bench bench-vs-torch clean

build:
	$(GO) build -o $(BIN)/divellm ./cmd/divellm

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Includes the notebook tests (kernel/notebooktest): they need Jupyter and `make kernel`,
# and skip otherwise (fail instead with DIVELLM_REQUIRE_NOTEBOOKS=1). go test hides the
# skip message of a passing package, so `kernel check --tests` says it up front.
test-go:
	@$(GO) run ./cmd/divellm kernel check --tests || true
	$(GO) test -count=1 -timeout 20m ./...

test: fmt-check vet test-go

# Build the pinned GoNB, gopls and goimports into bin/kernel and install the
# "Go (divellm)" kernelspec for this checkout. Idempotent: the second run takes <1 s.
kernel: build
	$(BIN)/divellm kernel install

# Set up and start: fail fast (with instructions) if Jupyter is missing, install the
# kernel, build the pretrained tiny models, then open Jupyter on notebooks/.
lab: build
	$(BIN)/divellm kernel lab --check
	$(BIN)/divellm kernel install
	$(MAKE) --no-print-directory models
	$(BIN)/divellm kernel lab --no-install $(LAB_FLAGS)

# Hook for the pretrained tiny models the notebooks load (added by the model owners).
models:
	@:

# Run every notebook headlessly on the installed kernel (executed copies in .cache/run).
notebooks: kernel
	$(BIN)/divellm run notebooks/*.ipynb

bench: build
	$(BIN)/divellm bench train

clean:
	rm -rf $(BIN)
