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

.PHONY: build test test-go vet fmt-check lab models bench bench-vs-torch clean

build:
	$(GO) build -o $(BIN)/divellm ./cmd/divellm

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test-go:
	$(GO) test -count=1 -timeout 20m ./...

test: fmt-check vet test-go

bench: build
	$(BIN)/divellm bench train

clean:
	rm -rf $(BIN)
