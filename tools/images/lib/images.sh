# shellcheck shell=bash
# Docker images built from the binaries above and Debian packages. Every image
# carries a label labrun.key=<key>; its key hashes its recipe directory and the
# keys of everything it is made from. An image whose label matches is reused;
# otherwise its tarball in $CACHE_IMAGES is loaded; otherwise it is built and
# saved there (so another run or machine can `docker load` it).

slug() { printf '%s' "$1" | tr -c 'a-zA-Z0-9._-' '_'; }
image_key_of() { docker image inspect -f '{{ index .Config.Labels "labrun.key" }}' "$1" 2>/dev/null || true; }
image_tar() { printf '%s/%s-%s.tar' "$CACHE_IMAGES" "$(slug "$1")" "$2"; }

# image_cached NAME KEY: the image is present with this key (loading it from
# the tarball cache if needed).
image_cached() {
  local name=$1 key=$2 tar
  [ -z "$LABRUN_REBUILD" ] || return 1
  tar=$(image_tar "$name" "$key")
  if [ "$(image_key_of "$name")" = "$key" ]; then
    # present in Docker (maybe built with another LABRUN_CACHE): keep the tarball cache complete
    # (pause's second tag is re-added by image_pause)
    [ -f "$tar" ] || image_save "$name" "$key"
    return 0
  fi
  if [ -f "$tar" ]; then
    echo "loading $tar"
    docker load -i "$tar"
    [ "$(image_key_of "$name")" = "$key" ] && return 0
  fi
  return 1
}

# image_save NAME KEY [MORE_NAMES...]: save to the tarball cache, dropping
# tarballs of older keys of the same image.
image_save() {
  local name=$1 key=$2 tar; shift 2
  tar=$(image_tar "$name" "$key")
  docker save -o "$tar.tmp" "$name" "$@"
  mv "$tar.tmp" "$tar"
  find "$CACHE_IMAGES" -maxdepth 1 -name "$(slug "$name")-*.tar" ! -name "$(basename "$tar")" -delete
}

# context DIR: a fresh build context with the recipe directory's files.
context() {
  local ctx=$CACHE_WORK/ctx-$1
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp -a "$IMAGES_DIR/images/$1/." "$ctx/"
  printf '%s' "$ctx"
}

# docker_build NAME KEY CONTEXT [docker build args...]
docker_build() {
  local name=$1 key=$2 ctx=$3; shift 3
  docker build ${LABRUN_REBUILD:+--no-cache} --label "labrun.key=$key" -t "$name" "$@" "$ctx"
  rm -rf "$ctx"
  docker image inspect -f '{{.Size}}' "$name" | awk -v n="$name" '{ printf "%s: %.1f MB\n", n, $1 / 1e6 }'
}

# Untagged images carrying our label were replaced by a newer build; Docker
# keeps any that a container still uses.
prune_images() { docker image prune -f --filter label=labrun.key; }

with_wrapper() { cp "$IMAGES_DIR/images/common/iptables-wrapper" "$IMAGES_DIR/images/common/install-iptables-wrapper" "$1/"; }

# --- keys -----------------------------------------------------------------------
static_base_key() { recipe_hash images/static-base "$(debian_key)"; }
kind_base_key() { recipe_hash images/kind-base "kind:$KIND_VERSION" "$(debian_key)" "$(crictl_dir)" "$(cni_dir)"; }
component_key() { local d=$1; shift; recipe_hash "images/$d" "$@"; } # DIR ITEM... (parent keys, binary dirs)

# --- bases ------------------------------------------------------------------------
image_static_base() {
  local key; key=$(static_base_key)
  image_cached "$STATIC_BASE_IMAGE" "$key" && { step_cached; return; }
  docker run --rm -i "$DEBIAN_IMAGE" sh <"$IMAGES_DIR/images/static-base/make-rootfs.sh" \
    | docker import \
        --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
        --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
        --change "LABEL labrun.key=$key" \
        - "$STATIC_BASE_IMAGE"
  image_save "$STATIC_BASE_IMAGE" "$key"
}

# kind's images/base/files from the kind module, with the permissions kind's
# Dockerfile gives them (scripts 0755, the rest 0644). Adapted for containerd
# 1.6 from Debian: no fuse-overlayfs (proxy plugin and unit dropped).
kind_base_files() {
  local dst=$1 src
  src=$(cd /tmp && moddir "sigs.k8s.io/kind@$KIND_VERSION")/images/base/files
  cp -r "$src/." "$dst/"
  chmod -R u+w "$dst"
  find "$dst" -type d -exec chmod 0755 {} +
  find "$dst" -type f -exec chmod 0644 {} +
  chmod 0755 "$dst"/usr/local/bin/* "$dst"/kind/bin/*
  rm -f "$dst/etc/systemd/system/containerd-fuse-overlayfs.service"
  # drop the [proxy_plugins] table (fuse-overlayfs snapshotter for rootless)
  awk '/^\[proxy_plugins/ { skip = 1; next } /^\[/ { skip = 0 } !skip' \
    "$dst/etc/containerd/config.toml" >"$dst/etc/containerd/config.toml.new"
  mv "$dst/etc/containerd/config.toml.new" "$dst/etc/containerd/config.toml"
}

image_kind_base() {
  local key ctx; key=$(kind_base_key)
  image_cached "$BASE_IMAGE" "$key" && { step_cached; return; }
  ctx=$(context kind-base)
  mkdir -p "$ctx/files" "$ctx/cni"
  kind_base_files "$ctx/files"
  cp "$(crictl_dir)/crictl" "$ctx/"
  cp "$(cni_dir)"/{bridge,host-local,loopback,portmap,ptp} "$ctx/cni/"
  docker_build "$BASE_IMAGE" "$key" "$ctx" --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE"
  image_save "$BASE_IMAGE" "$key"
}

# --- Kubernetes components ---------------------------------------------------------
image_control_plane() {
  local c name key ctx n=0
  for c in kube-apiserver kube-controller-manager kube-scheduler; do
    name=registry.k8s.io/$c:$K8S_VERSION
    key=$(recipe_hash images/control-plane "$c" "$(static_base_key)" "$(k8s_key)")
    image_cached "$name" "$key" && { n=$((n + 1)); continue; }
    ctx=$(context control-plane)
    cp "$CACHE_K8S/$c" "$ctx/"
    docker_build "$name" "$key" "$ctx" --build-arg "STATIC_BASE_IMAGE=$STATIC_BASE_IMAGE" --build-arg "BINARY=$c"
    image_save "$name" "$key"
  done
  [ "$n" = 3 ] && step_cached
  return 0
}

image_kube_proxy() {
  local name=registry.k8s.io/kube-proxy:$K8S_VERSION key ctx
  key=$(component_key kube-proxy images/common "$(debian_key)" "$(k8s_key)")
  image_cached "$name" "$key" && { step_cached; return; }
  ctx=$(context kube-proxy); with_wrapper "$ctx"
  cp "$CACHE_K8S/kube-proxy" "$ctx/"
  docker_build "$name" "$key" "$ctx" --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE"
  image_save "$name" "$key"
}

image_etcd() {
  local name=registry.k8s.io/etcd:$ETCD_IMAGE_TAG key ctx
  key=$(component_key etcd "$(static_base_key)" "$(etcd_dir)")
  image_cached "$name" "$key" && { step_cached; return; }
  ctx=$(context etcd)
  cp "$(etcd_dir)"/{etcd,etcdctl} "$ctx/"
  docker_build "$name" "$key" "$ctx" --build-arg "STATIC_BASE_IMAGE=$STATIC_BASE_IMAGE"
  image_save "$name" "$key"
}

image_coredns() {
  local name=registry.k8s.io/coredns/coredns:$COREDNS_VERSION key ctx
  key=$(component_key coredns "$(static_base_key)" "$(coredns_dir)")
  image_cached "$name" "$key" && { step_cached; return; }
  ctx=$(context coredns)
  cp "$(coredns_dir)/coredns" "$ctx/"
  docker_build "$name" "$key" "$ctx" --build-arg "STATIC_BASE_IMAGE=$STATIC_BASE_IMAGE"
  image_save "$name" "$key"
}

# One image, every tag in $PAUSE_TAGS (kubeadm's and kind's containerd config's).
image_pause() {
  local first=registry.k8s.io/pause:${PAUSE_TAGS%% *} key ctx t names=()
  key=$(component_key pause "scratch" "$(pause_dir)")
  for t in $PAUSE_TAGS; do names+=("registry.k8s.io/pause:$t"); done
  if image_cached "$first" "$key"; then
    for t in "${names[@]}"; do [ "$(image_key_of "$t")" = "$key" ] || docker tag "$first" "$t"; done
    step_cached; return
  fi
  ctx=$(context pause)
  cp "$(pause_dir)/pause" "$ctx/"
  docker_build "$first" "$key" "$ctx"
  for t in "${names[@]}"; do docker tag "$first" "$t"; done
  image_save "$first" "$key" "${names[@]:1}"
}

# --- addons ----------------------------------------------------------------------------
image_flannel() {
  local key ctx
  key=$(component_key flannel images/common "$(debian_key)" "$(flannel_dir)" "$(cni_dir)")
  image_cached "$FLANNEL_IMAGE" "$key" && { step_cached; return; }
  ctx=$(context flannel); with_wrapper "$ctx"
  mkdir -p "$ctx/cni"
  cp "$(flannel_dir)"/{flanneld,install-conf} "$ctx/"
  cp "$(cni_dir)"/{flannel,bridge,host-local,loopback,portmap} "$ctx/cni/"
  docker_build "$FLANNEL_IMAGE" "$key" "$ctx" --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE"
  image_save "$FLANNEL_IMAGE" "$key"
}

# upstream's flannel-cni-plugin image: /flannel (and `cp`), nothing else
image_flannel_cni_plugin() {
  local key ctx
  key=$(component_key flannel-cni-plugin "$(debian_key)" "$(cni_dir)")
  image_cached "$FLANNEL_CNI_PLUGIN_IMAGE" "$key" && { step_cached; return; }
  ctx=$(context flannel-cni-plugin)
  cp "$(cni_dir)/flannel" "$ctx/"
  docker_build "$FLANNEL_CNI_PLUGIN_IMAGE" "$key" "$ctx" --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE"
  image_save "$FLANNEL_CNI_PLUGIN_IMAGE" "$key"
}

image_kube_router() {
  local key ctx
  key=$(component_key kube-router images/common "$(debian_key)" "$(kube_router_dir)")
  image_cached "$KUBE_ROUTER_IMAGE" "$key" && { step_cached; return; }
  ctx=$(context kube-router); with_wrapper "$ctx"
  cp "$(kube_router_dir)/kube-router" "$ctx/"
  docker_build "$KUBE_ROUTER_IMAGE" "$key" "$ctx" --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE"
  image_save "$KUBE_ROUTER_IMAGE" "$key"
}

# cilium-agent's image: Debian + clang and the libraries it loads (the agent
# compiles its BPF programs at run time; images/cilium/Dockerfile takes them
# from a first stage), iproute2, iptables (wrapper), ipset, bpftool; the BPF
# sources and the init/install scripts from the cilium module. Not in the node
# image (it is large): `labrun addon cilium --lab L` loads it into a lab.
image_cilium() {
  local key ctx src b
  key=$(component_key cilium images/common "$(debian_key)" "$(cilium_dir)" "$(cni_dir)" "$CILIUM_CLANG")
  image_cached "$CILIUM_IMAGE" "$key" && { step_cached; return; }
  ctx=$(context cilium); with_wrapper "$ctx"
  src=$(cilium_src)
  mkdir -p "$ctx/bin" "$ctx/cni"
  # the cilium-health CLI stays out: nothing in the add-on runs it (the agent runs cilium-health-responder)
  for b in $CILIUM_AGENT_BINS; do case $b in cilium-cni|cilium-health) ;; *) cp "$(cilium_dir)/$b" "$ctx/bin/" ;; esac; done
  cp "$(cilium_dir)/cilium-cni" "$ctx/cni/"
  cp "$(cni_dir)/loopback" "$ctx/cni-loopback"
  cp -r "$src/bpf" "$ctx/bpf"
  cp "$src/images/cilium/init-container.sh" "$src/plugins/cilium-cni/install-plugin.sh" "$src/plugins/cilium-cni/cni-uninstall.sh" "$ctx/"
  chmod -R u+w "$ctx"
  docker_build "$CILIUM_IMAGE" "$key" "$ctx" --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" --build-arg "CLANG=$CILIUM_CLANG"
  image_save "$CILIUM_IMAGE" "$key"
}

image_cilium_operator() {
  local key ctx
  key=$(component_key cilium-operator "$(static_base_key)" "$(cilium_dir)")
  image_cached "$CILIUM_OPERATOR_IMAGE" "$key" && { step_cached; return; }
  ctx=$(context cilium-operator)
  cp "$(cilium_dir)/cilium-operator-generic" "$ctx/"
  docker_build "$CILIUM_OPERATOR_IMAGE" "$key" "$ctx" --build-arg "STATIC_BASE_IMAGE=$STATIC_BASE_IMAGE"
  image_save "$CILIUM_OPERATOR_IMAGE" "$key"
}

# --- labrun and workload images ---------------------------------------------------------
image_probe() {
  local key ctx
  key=$(component_key probe "scratch" "$(probe_dir)")
  image_cached "$PROBE_IMAGE" "$key" && { step_cached; return; }
  ctx=$(context probe)
  cp "$(probe_dir)/labrun-probe" "$ctx/"
  docker_build "$PROBE_IMAGE" "$key" "$ctx"
  image_save "$PROBE_IMAGE" "$key"
}

image_nginx() {
  local key; key=$(component_key nginx "$(debian_key)" "$NGINX_VERSION")
  image_cached "$NGINX_IMAGE" "$key" && { step_cached; return; }
  docker_build "$NGINX_IMAGE" "$key" "$(context nginx)" \
    --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" --build-arg "NGINX_VERSION=$NGINX_VERSION"
  image_save "$NGINX_IMAGE" "$key"
}

image_curl() {
  local key; key=$(component_key curl "$(debian_key)" "$CURL_VERSION")
  image_cached "$CURL_IMAGE" "$key" && { step_cached; return; }
  docker_build "$CURL_IMAGE" "$key" "$(context curl)" \
    --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE" --build-arg "CURL_VERSION=$CURL_VERSION"
  image_save "$CURL_IMAGE" "$key"
}

# labrun serve's terminal: Debian + bash + the kubectl built above (no download).
image_toolbox() {
  local key ctx
  key=$(component_key toolbox "$(debian_key)" "$(k8s_key)")
  image_cached "$TOOLBOX_IMAGE" "$key" && { step_cached; return; }
  ctx=$(context toolbox)
  cp "$CACHE_K8S/kubectl" "$ctx/"
  docker_build "$TOOLBOX_IMAGE" "$key" "$ctx" --build-arg "DEBIAN_IMAGE=$DEBIAN_IMAGE"
  image_save "$TOOLBOX_IMAGE" "$key"
}

image_local_path() {
  local key ctx
  key=$(component_key local-path "$(static_base_key)" "$(local_path_dir)")
  image_cached "$LOCAL_PATH_IMAGE" "$key" && { step_cached; return; }
  ctx=$(context local-path)
  cp "$(local_path_dir)/local-path-provisioner" "$ctx/"
  docker_build "$LOCAL_PATH_IMAGE" "$key" "$ctx" --build-arg "STATIC_BASE_IMAGE=$STATIC_BASE_IMAGE"
  image_save "$LOCAL_PATH_IMAGE" "$key"
}
