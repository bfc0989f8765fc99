#!/usr/bin/env bash
# Build everything a labrun kind cluster needs, from package registries only
# (Go module proxy + Debian archive): kind, Kubernetes, etcd, CoreDNS, pause,
# crictl, CNI plugins, flannel, kube-router, local-path-provisioner, labrun-probe,
# and the Docker images made from them (kind base + node image, component, addon
# and workload images).
#
#   tools/images/build.sh                  # build (or reuse) everything but the extras
#   tools/images/build.sh --with cilium    # ... and an extra: Cilium's images (the CNI matrix; `npm run images`)
#   tools/images/build.sh --only node      # a subset; dependencies are included
#   tools/images/build.sh --list           # targets, in build order
#   tools/images/build.sh --rebuild        # ignore all cached results (also docker's layer cache)
#
# Results are cached under ${LABRUN_CACHE:-$HOME/.cache/labrun}, keyed by version
# and a hash of the recipe files; a warm run only checks keys. One status line
# per step; each step's full output is in $LABRUN_CACHE/logs/<step>.log.
set -euo pipefail
{ # the whole script is one block: bash parses it before running, so editing
  # this file during a run cannot break the run

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib/common.sh"
. "$here/lib/go.sh"
. "$here/lib/rootfs.sh"
. "$here/lib/images.sh"
. "$here/lib/node.sh"

# target|dependencies|step name|function
TARGETS="
kind||kind $KIND_VERSION|build_kind
kubernetes||kubernetes $K8S_VERSION binaries|build_kubernetes
etcd||etcd $ETCD_VERSION|build_etcd
coredns||coredns $COREDNS_VERSION|build_coredns
pause||pause (gcc -static)|build_pause
crictl||crictl $CRI_TOOLS_VERSION|build_crictl
cni||cni plugins $CNI_PLUGINS_VERSION + flannel $CNI_FLANNEL_PLUGIN_VERSION|build_cni_plugins
flannel||flanneld $FLANNEL_VERSION|build_flannel
kube-router||kube-router $KUBE_ROUTER_VERSION|build_kube_router
cilium||cilium $CILIUM_VERSION (agent, CNI plugin, operator-generic)|build_cilium
probe||labrun-probe $PROBE_VERSION (vet, test, build)|build_probe
local-path||local-path-provisioner $LOCAL_PATH_VERSION|build_local_path
debian||image $DEBIAN_IMAGE (debootstrap)|image_debian
static-base|debian|image $STATIC_BASE_IMAGE|image_static_base
base|debian crictl cni|image $BASE_IMAGE|image_kind_base
control-plane|static-base kubernetes|images kube-apiserver/controller-manager/scheduler|image_control_plane
kube-proxy-image|debian kubernetes|image kube-proxy|image_kube_proxy
etcd-image|static-base etcd|image etcd|image_etcd
coredns-image|static-base coredns|image coredns|image_coredns
pause-image|pause|image pause|image_pause
flannel-image|debian flannel cni|image $FLANNEL_IMAGE|image_flannel
flannel-cni-plugin-image|debian cni|image $FLANNEL_CNI_PLUGIN_IMAGE|image_flannel_cni_plugin
kube-router-image|debian kube-router|image $KUBE_ROUTER_IMAGE|image_kube_router
cilium-image|debian cilium cni|image $CILIUM_IMAGE|image_cilium
cilium-operator-image|static-base cilium|image $CILIUM_OPERATOR_IMAGE|image_cilium_operator
probe-image|probe|image $PROBE_IMAGE|image_probe
local-path-image|static-base local-path|image $LOCAL_PATH_IMAGE|image_local_path
nginx-image|debian|image $NGINX_IMAGE|image_nginx
curl-image|debian|image $CURL_IMAGE|image_curl
toolbox-image|debian kubernetes|image $TOOLBOX_IMAGE (labrun serve's terminal)|image_toolbox
node|base kubernetes control-plane kube-proxy-image etcd-image coredns-image pause-image flannel-image flannel-cni-plugin-image local-path-image kube-router-image probe-image nginx-image curl-image|image $NODE_IMAGE|image_node
"

# Extras: built only when asked (--with NAME, or --only one of their targets).
# Cilium (agent, CNI plugin, operator; its image) is a long Go build that no lab
# of the catalogue needs; the CNI matrix does (`npm run images` passes --with cilium).
declare -A EXTRAS=([cilium]="cilium cilium-image cilium-operator-image")
is_extra() { local e; for e in "${EXTRAS[@]}"; do case " $e " in *" $1 "*) return 0 ;; esac; done; return 1; }

target_field() { # target_field NAME FIELD(1-4)
  printf '%s\n' "$TARGETS" | awk -F'|' -v t="$1" -v f="$2" '$1 == t { print $f }'
}

declare -A WANT=()
want() { # mark a target and its dependencies
  local t=$1 d
  [ -n "$(target_field "$t" 1)" ] || die "unknown target: $t (see --list)"
  [ -n "${WANT[$t]:-}" ] && return
  WANT[$t]=1
  for d in $(target_field "$t" 2); do want "$d"; done
}

only=""
with=""
while [ $# -gt 0 ]; do
  case "$1" in
    --only) only=${2:?--only needs a target}; shift 2 ;;
    --only=*) only=${1#--only=}; shift ;;
    --with) with="$with ${2:?--with needs an extra: ${!EXTRAS[*]}}"; shift 2 ;;
    --with=*) with="$with ${1#--with=}"; shift ;;
    --rebuild) export LABRUN_REBUILD=1; shift ;;
    --list) printf '%s\n' "$TARGETS" | awk -F'|' 'NF { printf "%-22s deps: %s\n", $1, $2 }'; log "extras (--with NAME): ${!EXTRAS[*]}"; exit 0 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1" ;;
  esac
done

if [ -n "$only" ]; then
  for t in ${only//,/ }; do want "$t"; done
else
  while IFS='|' read -r t _; do if [ -n "$t" ] && ! is_extra "$t"; then WANT[$t]=1; fi; done <<<"$TARGETS"
fi
for e in ${with//,/ }; do
  [ -n "${EXTRAS[$e]:-}" ] || die "unknown extra: $e (extras: ${!EXTRAS[*]})"
  for t in ${EXTRAS[$e]}; do want "$t"; done
done

log "labrun images: cache $LABRUN_CACHE"
while IFS='|' read -r t _ name fn; do
  if [ -z "$t" ] || [ -z "${WANT[$t]:-}" ]; then continue; fi
  step "$name" "$fn"
done <<<"$TARGETS"
step "remove superseded labrun images" prune_images
log "done in $((SECONDS - STEP_TOTAL_START))s"
exit 0
}
