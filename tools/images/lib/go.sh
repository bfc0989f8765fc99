# shellcheck shell=bash
# Go (and one C) binaries, built from the Go module proxy into $LABRUN_CACHE.
# Each function is one build step: it returns early (step_cached) when its
# output directory for the current key already holds every binary.

# have_all DIR FILE...: true when DIR holds every FILE (executable).
have_all() {
  local dir=$1 f; shift
  [ -z "$LABRUN_REBUILD" ] || return 1
  for f in "$@"; do [ -x "$dir/$f" ] || return 1; done
}

# publish TMPDIR DIR: atomically move a finished build into place.
publish() { rm -rf "$2"; mv "$1" "$2"; }

moddir() { go mod download -json "$1" | jq -er .Dir; }

# --- kind --------------------------------------------------------------------
build_kind() {
  if [ -z "$LABRUN_REBUILD" ] && [ -x "$CACHE_BIN/kind" ] && "$CACHE_BIN/kind" version | grep -q "kind $KIND_VERSION "; then
    step_cached; return
  fi
  GOBIN="$CACHE_BIN" go install -trimpath "sigs.k8s.io/kind@$KIND_VERSION"
  "$CACHE_BIN/kind" version
}

# --- Kubernetes ----------------------------------------------------------------
K8S_CMDS="kube-apiserver kube-controller-manager kube-proxy kube-scheduler kubeadm kubectl kubelet"
k8s_key() { recipe_hash "k8s:$K8S_VERSION" go/kubernetes; }

k8s_ldflags() {
  local v=${K8S_VERSION#v} major minor date pkg out="-s -w"
  major=${v%%.*}; minor=${v#*.}; minor=${minor%%.*}
  date=$(date -u ${SOURCE_DATE_EPOCH:+-d @$SOURCE_DATE_EPOCH} +%Y-%m-%dT%H:%M:%SZ)
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    out+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    out+=" -X $pkg.gitCommit=0000000000000000000000000000000000000000 -X $pkg.gitTreeState=clean"
    out+=" -X $pkg.buildDate=$date"
  done
  printf '%s' "$out"
}

build_kubernetes() {
  local key; key=$(k8s_key)
  # shellcheck disable=SC2086
  if have_all "$CACHE_K8S" $K8S_CMDS && [ "$(cat "$CACHE_K8S/.recipe" 2>/dev/null)" = "$key" ]; then
    step_cached; return
  fi
  local tmp=$CACHE_K8S.tmp pkgs=() c
  rm -rf "$tmp"; mkdir -p "$tmp"
  for c in $K8S_CMDS; do pkgs+=("k8s.io/kubernetes/cmd/$c"); done
  (cd "$IMAGES_DIR/go/kubernetes" &&
    go build -mod=mod -trimpath -ldflags "$(k8s_ldflags)" -o "$tmp/" "${pkgs[@]}")
  echo "$key" >"$tmp/.recipe"
  "$tmp/kubeadm" version -o short
  publish "$tmp" "$CACHE_K8S"
}

# --- etcd ------------------------------------------------------------------------
etcd_dir() { gobin_dir etcd "$ETCD_VERSION-$(recipe_hash "etcd:$ETCD_VERSION" go/etcd)"; }
build_etcd() {
  local out; out=$(etcd_dir)
  if have_all "$out" etcd etcdctl; then step_cached; return; fi
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  (cd "$IMAGES_DIR/go/etcd" &&
    go build -mod=mod -trimpath -ldflags "-s -w" -o "$out.tmp/" ./cmd/etcd go.etcd.io/etcd/etcdctl/v3)
  "$out.tmp/etcd" --version
  publish "$out.tmp" "$out"
}

# --- CoreDNS (all in-tree plugins, exactly as upstream's binary) -----------------
coredns_dir() { gobin_dir coredns "$COREDNS_VERSION-$(recipe_hash "coredns:$COREDNS_VERSION")"; }
build_coredns() {
  local out; out=$(coredns_dir)
  if have_all "$out" coredns; then step_cached; return; fi
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  GOBIN="$out.tmp" go install -trimpath \
    -ldflags "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" \
    "github.com/coredns/coredns@$COREDNS_VERSION"
  "$out.tmp/coredns" -version
  publish "$out.tmp" "$out"
}

# --- pause (C, from the k8s.io/kubernetes module) ----------------------------------
pause_dir() { gobin_dir pause "$K8S_VERSION-$(recipe_hash "pause:$K8S_VERSION")"; }
build_pause() {
  local out src; out=$(pause_dir)
  if have_all "$out" pause; then step_cached; return; fi
  require_cmd gcc
  src=$(cd "$IMAGES_DIR/go/kubernetes" && moddir "k8s.io/kubernetes@$K8S_VERSION")/build/pause/linux/pause.c
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  # Same flags as build/pause/Makefile (CFLAGS = -Os -Wall -Werror -static -DVERSION=...).
  gcc -Os -Wall -Werror -static -DVERSION="v${PAUSE_TAGS%% *}-labrun" -o "$out.tmp/pause" "$src"
  strip "$out.tmp/pause"
  "$out.tmp/pause" -v
  publish "$out.tmp" "$out"
}

# --- crictl ---------------------------------------------------------------------
crictl_dir() { gobin_dir crictl "$CRI_TOOLS_VERSION-$(recipe_hash "crictl:$CRI_TOOLS_VERSION")"; }
build_crictl() {
  local out; out=$(crictl_dir)
  if have_all "$out" crictl; then step_cached; return; fi
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  GOBIN="$out.tmp" go install -trimpath \
    -ldflags "-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=$CRI_TOOLS_VERSION" \
    "sigs.k8s.io/cri-tools/cmd/crictl@$CRI_TOOLS_VERSION"
  "$out.tmp/crictl" --version
  publish "$out.tmp" "$out"
}

# --- CNI plugins ------------------------------------------------------------------
# bridge, host-local, loopback, portmap, ptp from $CNI_PLUGINS_VERSION (the set
# kind installs, plus bridge for flannel) and the flannel meta plugin from
# $CNI_FLANNEL_PLUGIN_VERSION (its last home before flannel-io/cni-plugin, which
# the proxy does not serve; it becomes the flannel-cni-plugin image's /flannel).
# Module zips carry no vendor/ tree, so these build
# in module mode against the dependency versions in each release's go.mod.
CNI_PLUGINS="main/bridge ipam/host-local main/loopback meta/portmap main/ptp"
cni_dir() {
  gobin_dir cni-plugins "$CNI_PLUGINS_VERSION-$(recipe_hash "cni:$CNI_PLUGINS_VERSION:$CNI_FLANNEL_PLUGIN_VERSION:$CNI_PLUGINS")"
}
build_cni_plugins() {
  local out p m=github.com/containernetworking/plugins; out=$(cni_dir)
  # shellcheck disable=SC2046
  if have_all "$out" $(for p in $CNI_PLUGINS; do basename "$p"; done) flannel; then step_cached; return; fi
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  for p in $CNI_PLUGINS; do
    GOBIN="$out.tmp" go install -trimpath -ldflags "-s -w \
      -X $m/pkg/utils/buildversion.BuildVersion=$CNI_PLUGINS_VERSION" "$m/plugins/$p@$CNI_PLUGINS_VERSION"
  done
  GOBIN="$out.tmp" go install -trimpath -ldflags "-s -w" "$m/plugins/meta/flannel@$CNI_FLANNEL_PLUGIN_VERSION"
  ls -l "$out.tmp"
  publish "$out.tmp" "$out"
}

# --- flannel ----------------------------------------------------------------------
flannel_dir() { gobin_dir flannel "$FLANNEL_VERSION-$(recipe_hash "flannel:$FLANNEL_VERSION" go/flannel)"; }
build_flannel() {
  local out work src; out=$(flannel_dir)
  if have_all "$out" flanneld install-conf; then step_cached; return; fi
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  work=$CACHE_WORK/flannel; rm -rf "$work"; mkdir -p "$work"
  cp "$IMAGES_DIR"/go/flannel/{go.mod,go.sum,tools.go} "$work/"
  src=$(cd "$work" && moddir "github.com/flannel-io/flannel@$FLANNEL_VERSION")
  # the only change to upstream: drop two backends (see go/flannel/go.mod)
  sed -e '/pkg\/backend\/tencentvpc"/d' -e '/pkg\/backend\/udp"/d' "$src/main.go" >"$work/main.go"
  (cd "$work" &&
    go build -mod=mod -trimpath \
      -ldflags "-s -w -X github.com/flannel-io/flannel/pkg/version.Version=$FLANNEL_VERSION" \
      -o "$out.tmp/flanneld" . &&
    go build -mod=mod -trimpath -ldflags "-s -w" -o "$out.tmp/install-conf" \
      github.com/flannel-io/flannel/cmd/install_conf)
  "$out.tmp/flanneld" --version
  rm -rf "$work"
  publish "$out.tmp" "$out"
}

# --- kube-router (network policy firewall only) -------------------------------------
kube_router_dir() { gobin_dir kube-router "$KUBE_ROUTER_VERSION-$(recipe_hash "kube-router:$KUBE_ROUTER_VERSION")"; }
build_kube_router() {
  local out; out=$(kube_router_dir)
  if have_all "$out" kube-router; then step_cached; return; fi
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  GOBIN="$out.tmp" go install -trimpath \
    -ldflags "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION" \
    "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router@$KUBE_ROUTER_VERSION"
  "$out.tmp/kube-router" --version
  publish "$out.tmp" "$out"
}

# --- cilium (agent image binaries + operator-generic) ---------------------------------
# Built as the main module from a copy of the module zip (its go.mod replaces
# apply only there; the zip's vendor/ holds nothing but modules.txt, so it goes
# and the build runs in module mode), with upstream's flags: CGO off, tag
# osusergo (+ ipam_provider_operator for operator-generic), the version and the
# datapath hash (sha256 of the bpf/ sources, as Makefile.defs) stamped in.
CILIUM_AGENT_BINS="cilium-agent cilium-dbg cilium-health cilium-health-responder cilium-mount cilium-sysctlfix cilium-cni"
cilium_dir() { gobin_dir cilium "$CILIUM_VERSION-$(recipe_hash "cilium:$CILIUM_VERSION:$CILIUM_AGENT_BINS" go/cilium)"; }
cilium_src() { (cd /tmp && moddir "github.com/cilium/cilium@$CILIUM_VERSION"); }
build_cilium() {
  local out work src sha ld p
  out=$(cilium_dir)
  # shellcheck disable=SC2086
  if have_all "$out" $CILIUM_AGENT_BINS cilium-operator-generic; then step_cached; return; fi
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  src=$(cilium_src)
  work=$CACHE_WORK/cilium; rm -rf "$work"
  cp -r "$src" "$work"; chmod -R u+w "$work"; rm -rf "$work/vendor"
  # a kernel without CONFIG_MODULES has no /proc/modules, which the agent reads at start
  # (labrun's one source patch to Cilium: docs/cni.md); no fuzz, not reversed, and the grep: applied exactly, or the build stops
  (cd "$work" && patch -p1 --forward --fuzz=0 --no-backup-if-mismatch <"$IMAGES_DIR/go/cilium/no-proc-modules.patch")
  grep -q 'labrun: a kernel built without CONFIG_MODULES' "$work/pkg/datapath/linux/modules/modules_linux.go" ||
    die "cilium: no-proc-modules.patch did not apply"
  sha=$(cd "$work" && find bpf -type f | LC_ALL=C sort | xargs cat | sha256sum | awk '{ print $1 }')
  ld="-s -w -X github.com/cilium/cilium/pkg/version.ciliumVersion=${CILIUM_VERSION#v}"
  (cd "$work" && export CGO_ENABLED=0 &&
    go mod download &&
    for p in daemon:cilium-agent cilium-dbg:cilium-dbg cilium-health:cilium-health \
      cilium-health/responder:cilium-health-responder tools/mount:cilium-mount \
      tools/sysctlfix:cilium-sysctlfix plugins/cilium-cni:cilium-cni; do
      go build -mod=mod -trimpath -tags osusergo \
        -ldflags "$ld -X github.com/cilium/cilium/pkg/datapath/loader.DatapathSHA256=$sha" \
        -o "$out.tmp/${p#*:}" "./${p%%:*}" || exit 1
    done &&
    go build -mod=mod -trimpath -tags osusergo,ipam_provider_operator -ldflags "$ld" \
      -o "$out.tmp/cilium-operator-generic" ./operator)
  "$out.tmp/cilium-agent" --version
  rm -rf "$work"
  publish "$out.tmp" "$out"
}

# --- labrun-probe -------------------------------------------------------------------
probe_dir() { gobin_dir probe "$PROBE_VERSION-$(recipe_hash "probe:$PROBE_VERSION" probe)"; }
build_probe() {
  local out; out=$(probe_dir)
  if have_all "$out" labrun-probe; then step_cached; return; fi
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  (cd "$IMAGES_DIR/probe" &&
    go vet ./... &&
    go test -count=1 ./... &&
    go build -trimpath -ldflags "-s -w -X main.version=$PROBE_VERSION" -o "$out.tmp/labrun-probe" .)
  "$out.tmp/labrun-probe" version
  publish "$out.tmp" "$out"
  ln -sf "$out/labrun-probe" "$CACHE_BIN/labrun-probe"
}

# --- local-path-provisioner (the node image's default StorageClass, as in kind) ----
local_path_dir() { gobin_dir local-path "$LOCAL_PATH_VERSION-$(recipe_hash "local-path:$LOCAL_PATH_VERSION")"; }
build_local_path() {
  local out; out=$(local_path_dir)
  if have_all "$out" local-path-provisioner; then step_cached; return; fi
  rm -rf "$out.tmp"; mkdir -p "$out.tmp"
  GOBIN="$out.tmp" go install -trimpath -ldflags "-s -w -X main.VERSION=$LOCAL_PATH_VERSION" \
    "github.com/rancher/local-path-provisioner@$LOCAL_PATH_VERSION"
  "$out.tmp/local-path-provisioner" --version
  publish "$out.tmp" "$out"
}
