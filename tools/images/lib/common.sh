# shellcheck shell=bash
# Shared helpers for tools/images/*.sh: paths, step runner, cache keys.

IMAGES_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../versions.sh
. "$IMAGES_DIR/versions.sh"

# Everything built lives outside the clone so that a fresh clone reuses it.
LABRUN_CACHE=${LABRUN_CACHE:-$HOME/.cache/labrun}
CACHE_BIN=$LABRUN_CACHE/bin                       # kind, probe, other tools
CACHE_K8S=$LABRUN_CACHE/k8s/$K8S_VERSION          # kubernetes binaries
CACHE_GOBIN=$LABRUN_CACHE/gobin                   # other binaries, one dir per component+key
CACHE_IMAGES=$LABRUN_CACHE/images                 # docker save tarballs, one per image+key
CACHE_LOGS=$LABRUN_CACHE/logs                     # one log per step of the last run
CACHE_WORK=$LABRUN_CACHE/work                     # scratch (debootstrap root, build contexts), emptied after use
mkdir -p "$CACHE_BIN" "$CACHE_K8S" "$CACHE_GOBIN" "$CACHE_IMAGES" "$CACHE_LOGS" "$CACHE_WORK"

# Go: static binaries, never switch toolchains; no GOFLAGS from the caller
# (wrapper modules pass -mod=mod themselves, `go install pkg@version` needs none).
export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=
export PATH="$CACHE_BIN:/usr/local/go/bin:$PATH"
# Plain `docker build` (no BuildKit): Dockerfiles here only use local base images.
export DOCKER_BUILDKIT=0

# LABRUN_REBUILD=1 (build.sh --rebuild): ignore every cached result (binaries,
# images, tarballs) and build with `docker build --no-cache`.
LABRUN_REBUILD=${LABRUN_REBUILD:-}

log() { printf '%s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# step NAME FUNCTION [ARGS...]
# Runs FUNCTION in a subshell with errexit, output to $CACHE_LOGS/<slug>.log,
# and prints one status line: "[ok] NAME  12s", "[cached] NAME  0s" or
# "[FAIL] NAME" followed by the end of its log. A function reports that it
# found its result in the cache by calling step_cached.
# Every finished step also appends "RUN<TAB>STATUS<TAB>SECONDS<TAB>NAME" to
# $CACHE_LOGS/timings.tsv (RUN: this build's start, UTC), so a warm run never
# loses what a real build of a step took (bench/first-lab.ts sums them).
export STEP_TOTAL_START=$SECONDS
STEP_RUN=${STEP_RUN:-$(date -u +%Y-%m-%dT%H:%M:%SZ)}; export STEP_RUN
step() {
  local name=$1; shift
  local slug; slug=$(printf '%s' "$name" | tr -c 'a-zA-Z0-9._-' '-')
  local logf=$CACHE_LOGS/$slug.log
  STEP_MARK=$(mktemp); export STEP_MARK
  local start=$SECONDS rc
  set +e
  ( set -e; "$@" ) >"$logf" 2>&1
  rc=$?
  set -e
  local took=$((SECONDS - start)) status=ok
  [ -s "$STEP_MARK" ] && status=cached
  rm -f "$STEP_MARK"
  if [ "$rc" -ne 0 ]; then
    printf '[FAIL]   %-52s %5ss  (log: %s)\n' "$name" "$took" "$logf"
    tail -n 40 "$logf" | sed 's/^/    | /'
    exit "$rc"
  fi
  printf '[%s]%*s %-52s %5ss\n' "$status" $((7 - ${#status})) '' "$name" "$took"
  printf '%s\t%s\t%s\t%s\n' "$STEP_RUN" "$status" "$took" "$name" >>"$CACHE_LOGS/timings.tsv"
}
step_cached() { echo cached >"$STEP_MARK"; }

# recipe_hash ITEM...: short sha256 over the ITEMs. An ITEM that names a file
# or directory under tools/images is hashed by file names and contents; any
# other ITEM (a version, a flag string, another key) is hashed as a string.
# Keys are explicit on purpose: a change to one recipe rebuilds only what
# depends on it (a flannel bump must not relink Kubernetes). Paths inside the
# cache (binary directories, named by version and key) are hashed without the
# cache's location, so keys do not depend on $LABRUN_CACHE.
recipe_hash() {
  local item
  for item in "$@"; do
    if [ -e "$IMAGES_DIR/$item" ]; then
      (cd "$IMAGES_DIR" && find "$item" -type f ! -name '*.log' -print0 | sort -z | xargs -0 sha256sum)
    else
      printf 'str %s\n' "${item#"$LABRUN_CACHE"/}"
    fi
  done | sha256sum | cut -c1-12
}

# Directory for a Go component's binaries, keyed by version and recipe hash.
gobin_dir() { printf '%s/%s-%s' "$CACHE_GOBIN" "$1" "$2"; }

require_cmd() {
  local c
  for c in "$@"; do command -v "$c" >/dev/null 2>&1 || die "missing command: $c"; done
}
