#!/usr/bin/env bash
# Lints .github/workflows with actionlint (and shellcheck, when installed),
# building actionlint from the Go module proxy into labrun's cache on first use.
set -euo pipefail
version=v1.7.12
bin="${LABRUN_CACHE:-$HOME/.cache/labrun}/bin"
if ! "$bin/actionlint" --version 2>/dev/null | grep -qx "$version"; then
  echo "actionlint: building $version into $bin" >&2
  GOBIN="$bin" CGO_ENABLED=0 go install "github.com/rhysd/actionlint/cmd/actionlint@$version"
fi
cd "$(dirname "$0")/.."
"$bin/actionlint" -color=false
echo "actionlint: .github/workflows ok"
