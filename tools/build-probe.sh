#!/usr/bin/env bash
# Cross-compiles labrun-probe (Go source and tests in tools/images/probe) into
# static binaries that ship inside the npm package; labrun turns the one for
# the Docker host's architecture into the probe image itself (no registry, no
# `docker build`). Runs at `npm pack`/`npm publish` (prepack) and in CI.
#
#   tools/build-probe.sh [OUT_DIR]     # default: dist/probe
#
# Output: OUT_DIR/linux-amd64/labrun-probe, OUT_DIR/linux-arm64/labrun-probe.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/tools/images/versions.sh"
out=${1:-$root/dist/probe}
command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
command -v go >/dev/null || { echo "ERROR: go not found: building the package needs Go (https://go.dev/dl/)" >&2; exit 1; }
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=
for arch in amd64 arm64; do
  mkdir -p "$out/linux-$arch"
  (cd "$root/tools/images/probe" &&
    GOOS=linux GOARCH=$arch go build -trimpath -ldflags "-s -w -X main.version=$PROBE_VERSION" -o "$out/linux-$arch/labrun-probe.tmp" .)
  mv "$out/linux-$arch/labrun-probe.tmp" "$out/linux-$arch/labrun-probe"
  echo "labrun-probe $PROBE_VERSION linux/$arch: $out/linux-$arch/labrun-probe ($(wc -c <"$out/linux-$arch/labrun-probe") bytes)"
done
