# shellcheck shell=bash
# The kind node image, assembled the way kind's node-image builder does it
# (sigs.k8s.io/kind pkg/build/nodeimage/buildcontext.go) but without pulling:
# run the base image, copy kubeadm/kubelet/kubectl to /usr/bin, write
# /kind/version and the default CNI/storage manifests, start containerd,
# `ctr images import` every image the cluster needs under its exact name, stop
# containerd, `docker commit`.

# Images baked into the node: everything kubeadm pulls, the sandbox image of
# kind's containerd config, and the images of the default CNI and storage
# manifests (flannel; local-path-provisioner + the Debian image as its helper),
# labrun's kube-router firewall and probe images, and the workload images of
# the shipped scenarios (WORKLOAD_IMAGES). The node image records each one's
# Docker image ID in its label labrun.images ("NAME=ID NAME=ID ..."): labrun
# loads an image into a new cluster only when the local Docker's image of that
# name has another ID (runner/providers/kind.ts).
node_image_names() {
  local c t
  for c in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
    echo "registry.k8s.io/$c:$K8S_VERSION"
  done
  echo "registry.k8s.io/etcd:$ETCD_IMAGE_TAG"
  echo "registry.k8s.io/coredns/coredns:$COREDNS_VERSION"
  for t in $PAUSE_TAGS; do echo "registry.k8s.io/pause:$t"; done
  echo "$FLANNEL_IMAGE"
  echo "$FLANNEL_CNI_PLUGIN_IMAGE"
  echo "$LOCAL_PATH_IMAGE"
  echo "$DEBIAN_IMAGE"
  # labrun's own addon and probe, so that no cluster has to load them
  echo "$KUBE_ROUTER_IMAGE"
  echo "$PROBE_IMAGE"
  # the catalogue's workload images, so that no lab of a shipped scenario loads one
  for t in $WORKLOAD_IMAGES; do echo "$t"; done
}

node_key() {
  local n keys=()
  while read -r n; do keys+=("$n=$(image_key_of "$n")"); done < <(node_image_names)
  recipe_hash lib/node.sh manifests/flannel.yaml manifests/default-storage.yaml \
    "$(kind_base_key)" "$(k8s_key)" "${keys[@]}"
}

image_node() {
  local key id n; key=$(node_key)
  image_cached "$NODE_IMAGE" "$key" && { step_cached; return; }

  # --init: a PID 1 that reaps containerd when we stop it
  id=$(docker run -d --init --entrypoint=sleep --security-opt seccomp=unconfined \
    --name "labrun-node-build-$$" "$BASE_IMAGE" infinity)
  # shellcheck disable=SC2064
  trap "docker rm -f -v $id >/dev/null 2>&1 || true" EXIT
  in_node() { docker exec "$id" "$@"; }       # no stdin (safe inside read loops)
  in_node_i() { docker exec -i "$id" "$@"; }  # with stdin

  echo "copying kubeadm, kubelet, kubectl"
  for n in kubeadm kubelet kubectl; do
    docker cp "$CACHE_K8S/$n" "$id:/usr/bin/$n"
    in_node chown root:root "/usr/bin/$n"
    in_node chmod 0755 "/usr/bin/$n"
  done
  printf '%s' "$K8S_VERSION" | in_node_i sh -c 'cat >/kind/version'

  echo "checking that the node will hold every image kubeadm and containerd need"
  local have required sandbox missing=""
  have=$(node_image_names)
  required=$(in_node kubeadm config images list --kubernetes-version "$K8S_VERSION")
  sandbox=$(in_node sed -n 's/^ *sandbox_image *= *"\(.*\)"/\1/p' /etc/containerd/config.toml)
  for n in $required $sandbox; do
    grep -qxF "$n" <<<"$have" || missing+=" $n"
  done
  [ -z "$missing" ] || die "images required but not built:$missing"
  printf 'kubeadm: %s\ncontainerd sandbox: %s\n' "$(tr '\n' ' ' <<<"$required")" "$sandbox"

  echo "writing /kind/manifests (default CNI: flannel; default storage: local-path)"
  in_node mkdir -p /kind/manifests
  in_node_i sh -c 'cat >/kind/manifests/default-cni.yaml' <"$IMAGES_DIR/manifests/flannel.yaml"
  in_node_i sh -c 'cat >/kind/manifests/default-storage.yaml' <"$IMAGES_DIR/manifests/default-storage.yaml"

  echo "importing images into containerd"
  in_node bash -c 'nohup containerd >/tmp/containerd.log 2>&1 &'
  # shellcheck disable=SC2016 # expanded inside the node
  in_node bash -c 'for i in $(seq 1 30); do [ -S /run/containerd/containerd.sock ] && break; sleep 1; done; ctr version'
  local names baked=() imgid; mapfile -t names < <(node_image_names)
  for n in "${names[@]}"; do
    echo "  $n"
    imgid=$(docker image inspect -f '{{.Id}}' "$n")
    docker save "$n" | in_node_i ctr --namespace=k8s.io images import --all-platforms --no-unpack --digests -
    [ "$(docker image inspect -f '{{.Id}}' "$n")" = "$imgid" ] || die "$n changed while it was imported; build again"
    baked+=("$n=$imgid")
    # kind's builder imports with --label=io.cri-containerd.pinned=pinned (a
    # containerd 2 flag); containerd 1.6's ctr sets the label afterwards
    in_node ctr --namespace=k8s.io images label "$(normalize_ref "$n")" io.cri-containerd.pinned=pinned >/dev/null
  done
  local listed; listed=$(in_node ctr --namespace=k8s.io images list -q)
  for n in "${names[@]}"; do
    grep -qxF "$(normalize_ref "$n")" <<<"$listed" || die "$n missing after import; have: $listed"
  done
  echo "$listed"
  in_node pkill -x containerd
  # shellcheck disable=SC2016 # expanded inside the node
  in_node bash -c 'for i in $(seq 1 30); do pgrep -x containerd >/dev/null || exit 0; sleep 1; done; exit 1'
  in_node rm -rf /tmp/containerd.log

  docker commit \
    --change 'ENTRYPOINT [ "/usr/local/bin/entrypoint", "/sbin/init" ]' \
    --change 'CMD []' \
    --change "LABEL labrun.key=$key" \
    --change "LABEL labrun.images=\"${baked[*]}\"" \
    "$id" "$NODE_IMAGE"
  docker rm -f -v "$id" >/dev/null
  trap - EXIT
  docker image inspect -f '{{.Size}}' "$NODE_IMAGE" | awk -v n="$NODE_IMAGE" '{ printf "%s: %.1f MB\n", n, $1 / 1e6 }'
  image_save "$NODE_IMAGE" "$key"
}

# docker.io names as containerd lists them (nginx:1 -> docker.io/library/nginx:1).
normalize_ref() {
  local r=$1 first=${1%%/*}
  if [ "$r" = "$first" ]; then r=docker.io/library/$r
  elif [[ $first != *.* && $first != *:* && $first != localhost ]]; then r=docker.io/$r
  fi
  printf '%s' "$r"
}
