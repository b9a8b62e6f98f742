#!/usr/bin/env bash
# fetch-echarts.sh — (re)fetch the Apache ECharts bundle that viz embeds with go:embed.
#
#   scripts/fetch-echarts.sh           fetch echarts@$ECHARTS_VERSION with npm into viz/assets/
#                                      and verify its sha256
#   scripts/fetch-echarts.sh --check   only verify the committed files (no network)
#
# Why the files are committed: divellm is an offline teaching kit. go:embed needs the file at
# build time, and a learner's clean clone must build without npm or network access (CDNs are
# unreachable here and blocked for many learners). This script is how the committed copy was
# made, and lets anyone check it is byte-for-byte the published npm package.
#
# The version matches what go-echarts v2.6.7 targets (ECharts 5.4.3). Changing it means
# updating ECHARTS_VERSION and ECHARTS_SHA256 together (the script prints the new sum).
set -euo pipefail

ECHARTS_VERSION="5.4.3"
ECHARTS_SHA256="1156429a16a38cb8604dcc6518c19406d4226142d908f8edd2e3531443c54d19"

root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/viz/assets"

check() {
	local got
	got="$(sha256sum "$dest/echarts.min.js" | cut -d' ' -f1)"
	if [[ "$got" != "$ECHARTS_SHA256" ]]; then
		echo "fetch-echarts: $dest/echarts.min.js sha256 $got, want $ECHARTS_SHA256 (echarts@$ECHARTS_VERSION)" >&2
		return 1
	fi
	for f in LICENSE-echarts NOTICE-echarts; do
		[[ -s "$dest/$f" ]] || { echo "fetch-echarts: missing $dest/$f" >&2; return 1; }
	done
	echo "fetch-echarts: viz/assets/echarts.min.js is echarts@$ECHARTS_VERSION (sha256 ok)"
}

if [[ "${1:-}" == "--check" ]]; then
	check
	exit
fi

command -v npm >/dev/null || { echo "fetch-echarts: npm not found (apt-get install -y npm)" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# npm pack downloads the registry tarball and checks its integrity hash; no install scripts run.
(cd "$tmp" && npm pack --silent "echarts@$ECHARTS_VERSION" >/dev/null)
tar -xzf "$tmp/echarts-$ECHARTS_VERSION.tgz" -C "$tmp" package/dist/echarts.min.js package/LICENSE package/NOTICE
mkdir -p "$dest"
got="$(sha256sum "$tmp/package/dist/echarts.min.js" | cut -d' ' -f1)"
if [[ "$got" != "$ECHARTS_SHA256" ]]; then
	echo "fetch-echarts: echarts@$ECHARTS_VERSION dist/echarts.min.js has sha256 $got, want $ECHARTS_SHA256" >&2
	echo "fetch-echarts: if you changed ECHARTS_VERSION on purpose, update ECHARTS_SHA256 in $0" >&2
	exit 1
fi
cp "$tmp/package/dist/echarts.min.js" "$dest/echarts.min.js"
cp "$tmp/package/LICENSE" "$dest/LICENSE-echarts"
cp "$tmp/package/NOTICE" "$dest/NOTICE-echarts"
check
