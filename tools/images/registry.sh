#!/usr/bin/env bash
# distribution's registry as a local image, built from the Go module proxy like
# every other component (cached under $LABRUN_CACHE, keyed like build.sh):
#
#   tools/images/registry.sh             # build (or reuse) $REGISTRY_IMAGE
#
# It is not part of a lab: test/e2e/online runs it on kind's docker network as
# a stand-in for a public registry / pull-through cache (labrun's online path).
# Needs the static-base image (tools/images/build.sh --only static-base).
set -euo pipefail
{
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
. "$here/lib/go.sh"
. "$here/lib/rootfs.sh"
. "$here/lib/images.sh"

REGISTRY_VERSION=v3.1.2              # github.com/distribution/distribution/v3 (cmd/registry)
REGISTRY_IMAGE=localhost/labrun/registry:${REGISTRY_VERSION}

registry_dir() { gobin_dir registry "$REGISTRY_VERSION-$(recipe_hash "registry:$REGISTRY_VERSION")"; }

build_registry() {
  local dir; dir=$(registry_dir)
  have_all "$dir" registry && { step_cached; return; }
  local tmp=$dir.tmp; rm -rf "$tmp"; mkdir -p "$tmp"
  GOBIN="$tmp" go install -trimpath -ldflags "-s -w" "github.com/distribution/distribution/v3/cmd/registry@$REGISTRY_VERSION"
  "$tmp/registry" --version
  publish "$tmp" "$dir"
}

image_registry() {
  local name=$REGISTRY_IMAGE key ctx
  key=$(component_key registry "$(static_base_key)" "$(registry_dir)")
  image_cached "$name" "$key" && { step_cached; return; }
  ctx=$(context registry)
  cp "$(registry_dir)/registry" "$ctx/"
  docker_build "$name" "$key" "$ctx" --build-arg "STATIC_BASE_IMAGE=$STATIC_BASE_IMAGE"
  image_save "$name" "$key"
}

case "${1:-}" in
  --image-name) echo "$REGISTRY_IMAGE"; exit 0 ;;
  "") ;;
  *) die "unknown argument: $1 (usage: tools/images/registry.sh [--image-name])" ;;
esac
docker image inspect "$STATIC_BASE_IMAGE" >/dev/null 2>&1 || die "missing $STATIC_BASE_IMAGE: run tools/images/build.sh --only static-base"
step "registry $REGISTRY_VERSION" build_registry
step "image $REGISTRY_IMAGE" image_registry
log "done in $((SECONDS - STEP_TOTAL_START))s"
exit 0
}
