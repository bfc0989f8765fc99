#!/usr/bin/env bash
# A local registry standing in for the public ones (labrun's online path,
# test/e2e/online): distribution's registry built by tools/images/registry.sh,
# run as a container on kind's docker network, published on the host's
# loopback only.
#
#   registry.sh up                 # start it (reused when running); prints nothing
#   registry.sh push IMAGE...      # push local images under their public names; prints "IMAGE DIGEST" lines
#   registry.sh down               # remove the container
#   registry.sh down --purge       # ... and its storage
#
# The storage is a cache directory ($LABRUN_CACHE/registry-e2e), so the second
# run pushes only what changed (docker push skips blobs the registry has): the
# node image's 1.3 GB go once per machine.
#
# The host's Docker reaches it as localhost:$PORT (Docker allows plain HTTP to
# 127.0.0.0/8), the kind nodes as http://$NAME:5000 (kind's network DNS).
set -euo pipefail
NAME=${LABRUN_E2E_REGISTRY_NAME:-labrun-e2e-registry}
PORT=${LABRUN_E2E_REGISTRY_PORT:-5001}
here=$(cd "$(dirname "$0")" && pwd)
IMAGE=$("$here/../../../tools/images/registry.sh" --image-name)
STORE=${LABRUN_CACHE:-$HOME/.cache/labrun}/registry-e2e

up() {
  docker image inspect "$IMAGE" >/dev/null 2>&1 || { echo "missing $IMAGE: run tools/images/registry.sh" >&2; exit 2; }
  docker network inspect kind >/dev/null 2>&1 || docker network create kind >/dev/null
  if [ "$(docker inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null)" != true ]; then
    docker rm -f "$NAME" >/dev/null 2>&1 || true
    mkdir -p "$STORE"
    docker run -d --name "$NAME" --network kind -v "$STORE:/var/lib/registry" -p "127.0.0.1:$PORT:5000" --label labrun.e2e=online -e OTEL_TRACES_EXPORTER=none "$IMAGE" >/dev/null
  fi
  for _ in $(seq 1 50); do
    curl -fs -o /dev/null "http://127.0.0.1:$PORT/v2/" 2>/dev/null && return 0
    sleep 0.2
  done
  docker logs "$NAME" >&2; echo "registry $NAME did not answer on 127.0.0.1:$PORT" >&2; exit 1
}

# docker.io/library/nginx:1.22.1 -> library/nginx:1.22.1; registry.k8s.io/pause:3.10 -> pause:3.10
path_of() {
  local ref=$1 first=${1%%/*}
  if [ "$ref" != "$first" ] && { [[ $first == *.* ]] || [[ $first == *:* ]] || [ "$first" = localhost ]; }; then ref=${ref#*/}; fi
  [[ $ref == */* ]] || ref=library/$ref
  printf '%s' "$ref"
}

push() {
  local src dst digest
  for src in "$@"; do
    local public=${src#*=} local_=${src%%=*}   # LOCAL=PUBLIC pushes LOCAL under PUBLIC's name
    dst=localhost:$PORT/$(path_of "$public")
    docker tag "$local_" "$dst"
    digest=$(docker push "$dst" | sed -n 's/.*digest: \(sha256:[0-9a-f]\{64\}\).*/\1/p' | tail -1)
    docker rmi "$dst" >/dev/null   # only the extra tag; the image stays
    [ -n "$digest" ] || { echo "no digest from docker push $dst" >&2; exit 1; }
    printf '%s %s\n' "$public" "$digest"
  done
}

case "${1:-}" in
  up) up ;;
  push) shift; push "$@" ;;
  down)
    docker rm -f -v "$NAME" >/dev/null 2>&1 || true
    if [ "${2:-}" = --purge ]; then rm -rf "$STORE"; fi ;;
  *) echo "usage: $0 up|push IMAGE...|down" >&2; exit 2 ;;
esac
