# shellcheck shell=bash
# Pinned versions of everything tools/images/build.sh builds. Every image and
# binary cache key includes a hash of this file, so bumping a version here
# rebuilds exactly what depends on it.

KIND_VERSION=v0.30.0                 # sigs.k8s.io/kind (last release tested on cgroup v1)
K8S_VERSION=v1.34.12                 # k8s.io/kubernetes via tools/images/go/kubernetes
ETCD_VERSION=v3.6.5                  # go.etcd.io/etcd/server/v3 (kubeadm v1.34 wants 3.6.5-0)
ETCD_IMAGE_TAG=3.6.5-0
COREDNS_VERSION=v1.12.1              # github.com/coredns/coredns (kubeadm v1.34 wants v1.12.1)
PAUSE_TAGS="3.10.1 3.10"             # kubeadm wants 3.10.1, kind's containerd config uses 3.10
CRI_TOOLS_VERSION=v1.34.0            # sigs.k8s.io/cri-tools (crictl)
CNI_PLUGINS_VERSION=v1.7.1           # bridge, host-local, loopback, portmap, ptp (as kind v0.30.0)
CNI_FLANNEL_PLUGIN_VERSION=v0.9.1    # last containernetworking/plugins with plugins/meta/flannel
FLANNEL_CNI_PLUGIN_VERSION=v1.9.1-flannel1   # tag of ghcr.io/flannel-io/flannel-cni-plugin (its /flannel)
FLANNEL_VERSION=v0.28.10             # github.com/flannel-io/flannel (flanneld)
KUBE_ROUTER_VERSION=v2.1.0           # github.com/cloudnativelabs/kube-router/v2 (firewall only)
CILIUM_VERSION=v1.15.19              # github.com/cilium/cilium (agent, CNI plugin, operator-generic)
CILIUM_CLANG=clang-16                # Debian bookworm's newest clang: compiles cilium's BPF at run time
PROBE_VERSION=v0.2.0                 # tools/images/probe (labrun-probe)
DEBIAN_SUITE=bookworm
DEBIAN_MIRROR=http://deb.debian.org/debian
DEBIAN_SECURITY_MIRROR=http://deb.debian.org/debian-security
NGINX_VERSION=1.22.1                 # must equal Debian bookworm's nginx version (checked)
CURL_VERSION=7.88.1                  # must equal Debian bookworm's curl upstream version (checked)

# Image names. Component images use the exact names kubeadm/kind expect so that
# nothing is ever pulled; workload images use the names scenarios reference.
NODE_REVISION=r2                     # bump when what the node image holds changes: a new tag, so that
                                     # labs and other checkouts on the previous node image keep working
NODE_IMAGE=localhost/labrun/kind-node:${NODE_REVISION}-${K8S_VERSION}
BASE_IMAGE=localhost/labrun/kind-base:${DEBIAN_SUITE}
DEBIAN_IMAGE=localhost/labrun/debian:${DEBIAN_SUITE}
STATIC_BASE_IMAGE=localhost/labrun/static-base:${DEBIAN_SUITE}
PROBE_IMAGE=ghcr.io/labrun/probe:${PROBE_VERSION}
NGINX_IMAGE=docker.io/library/nginx:${NGINX_VERSION}
CURL_IMAGE=docker.io/curlimages/curl:${CURL_VERSION}
TOOLBOX_IMAGE=localhost/labrun/toolbox:${K8S_VERSION}   # labrun serve's terminal: bash + kubectl
FLANNEL_IMAGE=ghcr.io/flannel-io/flannel:${FLANNEL_VERSION}
FLANNEL_CNI_PLUGIN_IMAGE=ghcr.io/flannel-io/flannel-cni-plugin:${FLANNEL_CNI_PLUGIN_VERSION}
KUBE_ROUTER_IMAGE=docker.io/cloudnativelabs/kube-router:${KUBE_ROUTER_VERSION}
CILIUM_IMAGE=quay.io/cilium/cilium:${CILIUM_VERSION}
CILIUM_OPERATOR_IMAGE=quay.io/cilium/operator-generic:${CILIUM_VERSION}
LOCAL_PATH_VERSION=v0.0.30           # github.com/rancher/local-path-provisioner (default StorageClass)
LOCAL_PATH_IMAGE=localhost/labrun/local-path-provisioner:${LOCAL_PATH_VERSION}

# The workload images the shipped scenarios list (spec.images), baked into the
# node image so that no lab of the catalogue loads an image at start
# (test/unit/cluster/baked-images.test.ts keeps this list and the catalogue equal).
WORKLOAD_IMAGES="$NGINX_IMAGE $CURL_IMAGE"
