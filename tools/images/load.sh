#!/usr/bin/env bash
# Load images built by tools/images/build.sh into every node of a kind cluster
# (`kind load docker-image`: docker save | ctr -n k8s.io images import on each
# node; images a node already has are skipped).
#
#   tools/images/load.sh CLUSTER [IMAGE...]
#
# Without IMAGE, loads the workload images scenarios use (WORKLOAD_IMAGES:
#   docker.io/library/nginx:1.22.1 and docker.io/curlimages/curl:7.88.1),
# which the node image already holds, like every control-plane image, flannel,
# kube-router, local-path-provisioner and ghcr.io/labrun/probe: kind finds
# them present and loads nothing unless they were rebuilt since.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"

[ $# -ge 1 ] || die "usage: $0 CLUSTER [IMAGE...]"
cluster=$1; shift
images=("$@")
# shellcheck disable=SC2206 # a space-separated list of image names
[ ${#images[@]} -gt 0 ] || images=($WORKLOAD_IMAGES)

for i in "${images[@]}"; do
  docker image inspect "$i" >/dev/null 2>&1 || die "image $i not found: run tools/images/build.sh"
done
start=$SECONDS
"$CACHE_BIN/kind" load docker-image --name "$cluster" "${images[@]}"
log "loaded ${#images[@]} image(s) into $cluster in $((SECONDS - start))s"
