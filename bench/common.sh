# Shared set-up of the *_vs_torch.sh scripts (sourced, not run): a temp dir removed on
# exit, the divellm binary ($DIVELLM, built here if unset) and a Python that imports torch.
# Needs NAME (the calling script's name, for messages).
PY=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -z "${DIVELLM:-}" ]; then
	DIVELLM=$tmp/divellm
	GOEXPERIMENT=simd go build -o "$DIVELLM" ./cmd/divellm
fi
"$PY" -c 'import torch' 2>/dev/null || {
	echo "$NAME: $PY cannot import torch; apt-get install -y --no-install-recommends python3-torch" >&2
	exit 1
}
