#!/usr/bin/env bash
# Smoke test of the registry-free kind toolchain (tools/images): a real kind
# cluster (1 control plane + 1 worker) from labrun's node image, flannel as the
# CNI, pod-to-pod HTTP across nodes, cluster DNS, the default StorageClass,
# labrun-probe as an ephemeral container, and NetworkPolicy enforcement by
# kube-router's firewall.
#
#   tools/images/build.sh && test/e2e/smoke/smoke.sh
#
# Environment: SMOKE_CLUSTER (default smoke-<pid>, must start with "smoke-"),
# SMOKE_KEEP_ON_FAILURE=1 to leave a failed cluster for inspection,
# LABRUN_CACHE (where build.sh put kind, kubectl and the images).
# Prints one PASS/FAIL line per check with its duration; exits non-zero on the
# first failure. The cluster is always deleted on exit (trap), and the test
# checks that no node container is left behind.
set -euo pipefail
{ # the whole script is one block: bash parses it before running, so editing
  # this file during a run cannot break the run

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../../tools/images/lib/common.sh"

CLUSTER=${SMOKE_CLUSTER:-smoke-$$}
case "$CLUSTER" in smoke-*) ;; *) die "SMOKE_CLUSTER must start with smoke- (got $CLUSTER)" ;; esac
POD_SUBNET=192.168.0.0/16
KIND=$CACHE_BIN/kind
KUBECTL=$CACHE_K8S/kubectl
WORK=$(mktemp -d)
KCFG=$WORK/kubeconfig
CP_NODE=$CLUSTER-control-plane
WORKER_NODE=$CLUSTER-worker
TOTAL_START=$SECONDS
CREATED=""
DELETED=""
FAILED=""

k() { "$KUBECTL" --kubeconfig "$KCFG" "$@"; }

# --- reporting -------------------------------------------------------------------
CHECK_NAME="" CHECK_START=0
begin() { CHECK_NAME=$1; CHECK_START=$SECONDS; }
pass() { printf 'PASS  %-66s %4ss\n' "$CHECK_NAME" $((SECONDS - CHECK_START)); }
fail() {
  FAILED=1
  printf 'FAIL  %-66s %4ss\n      %s\n' "$CHECK_NAME" $((SECONDS - CHECK_START)) "$*"
  exit 1
}
info() { printf 'INFO  %s\n' "$*"; }

# poll TIMEOUT_SECONDS COMMAND...: run COMMAND every 2s until it succeeds.
poll() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 2
  done
}

# --- cleanup ----------------------------------------------------------------------
diagnostics() {
  info "diagnostics for $CLUSTER:"
  k get nodes -o wide 2>&1 | sed 's/^/      /' || true
  k get pods -A -o wide 2>&1 | sed 's/^/      /' || true
  k get events -A --sort-by=.lastTimestamp 2>&1 | tail -25 | sed 's/^/      /' || true
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$CREATED" ] && [ -z "$DELETED" ]; then
    [ -n "$FAILED" ] && diagnostics
    if [ -n "$FAILED" ] && [ "${SMOKE_KEEP_ON_FAILURE:-}" = 1 ]; then
      info "keeping cluster $CLUSTER (kubeconfig $KCFG); delete with: $KIND delete cluster --name $CLUSTER"
      exit "$rc"
    fi
    "$KIND" delete cluster --name "$CLUSTER" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
  [ "$rc" = 0 ] && printf 'PASS  smoke test, total %ss\n' $((SECONDS - TOTAL_START)) || printf 'FAIL  smoke test (exit %s), total %ss\n' "$rc" $((SECONDS - TOTAL_START))
  exit "$rc"
}
trap cleanup EXIT
trap 'FAILED=1; exit 130' INT TERM

# --- prerequisites -------------------------------------------------------------------
begin "prerequisites: kind, kubectl and images from tools/images/build.sh"
[ -x "$KIND" ] || fail "missing $KIND (run tools/images/build.sh)"
[ -x "$KUBECTL" ] || fail "missing $KUBECTL (run tools/images/build.sh)"
for image in "$NODE_IMAGE" "$NGINX_IMAGE" "$CURL_IMAGE"; do
  docker image inspect "$image" >/dev/null 2>&1 || fail "missing image $image (run tools/images/build.sh)"
done
pass

# kind's known-issues: several clusters on one host need higher inotify limits.
for kv in fs.inotify.max_user_instances=512 fs.inotify.max_user_watches=524288; do
  key=${kv%=*} want=${kv#*=} have=$(sysctl -n "${kv%=*}" 2>/dev/null || echo 0)
  if [ "$have" -lt "$want" ]; then
    if sysctl -w "$kv" >/dev/null 2>&1; then info "raised $key from $have to $want"
    else info "$key is $have (< $want) and could not be raised: many clusters may fail"; fi
  fi
done

# --- cluster without CNI ----------------------------------------------------------------
begin "kind create cluster $CLUSTER (1 control plane + 1 worker, no CNI)"
cat >"$WORK/kind.yaml" <<EOF
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
networking:
  disableDefaultCNI: true
  podSubnet: $POD_SUBNET
nodes:
- role: control-plane
- role: worker
EOF
CREATED=1
# no --wait: kind exits 0 even when its wait times out; we poll ourselves below
"$KIND" create cluster --name "$CLUSTER" --image "$NODE_IMAGE" --config "$WORK/kind.yaml" \
  --kubeconfig "$KCFG" >"$WORK/create.log" 2>&1 || fail "kind create cluster failed: $(tail -5 "$WORK/create.log")"
CREATE_SECONDS=$((SECONDS - CHECK_START))
pass

node_count() { k get nodes --no-headers 2>/dev/null | wc -l; }
ready_nodes() { k get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}'; }
two_nodes() { [ "$(node_count)" = 2 ]; }
all_nodes_ready() { two_nodes && ! ready_nodes | grep -qv '=True$'; }

begin "both nodes registered and NotReady (no CNI yet)"
# poll a function, not `test "$(node_count)" = 2`: the shell would count the nodes once, before polling
poll 60 two_nodes || fail "expected 2 nodes, got: $(k get nodes --no-headers 2>&1)"
ready=$(ready_nodes)
if grep -q '=True$' <<<"$ready"; then fail "a node is Ready without a CNI: $ready"; fi
pass

begin "load workload images into the cluster (tools/images/load.sh)"
"$IMAGES_DIR/load.sh" "$CLUSTER" "$NGINX_IMAGE" "$CURL_IMAGE" >"$WORK/load.log" 2>&1 \
  || fail "load.sh failed: $(tail -5 "$WORK/load.log")"
pass

begin "a pod stays Pending while nodes are NotReady"
cat >"$WORK/pods.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata:
  name: web
  labels: {app: web}
spec:
  nodeSelector: {kubernetes.io/hostname: $CP_NODE}
  tolerations:
  - {key: node-role.kubernetes.io/control-plane, operator: Exists, effect: NoSchedule}
  containers:
  - name: nginx
    image: $NGINX_IMAGE
    imagePullPolicy: Never
    ports: [{containerPort: 80}]
    readinessProbe:
      httpGet: {path: /, port: 80}
      periodSeconds: 2
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: v1
kind: Pod
metadata:
  name: client
  labels: {app: client}
spec:
  nodeSelector: {kubernetes.io/hostname: $WORKER_NODE}
  terminationGracePeriodSeconds: 1
  containers:
  - name: curl
    image: $CURL_IMAGE
    imagePullPolicy: Never
    command: ["sleep", "infinity"]
EOF
k apply -f "$WORK/pods.yaml" >/dev/null || fail "could not create the test pods"
sleep 5
phase=$(k get pod web -o jsonpath='{.status.phase}')
node=$(k get pod web -o jsonpath='{.spec.nodeName}')
[ "$phase" = Pending ] || fail "pod web is $phase, expected Pending"
[ -z "$node" ] || fail "pod web was scheduled to $node while nodes are NotReady"
pass

# --- flannel ------------------------------------------------------------------------------
begin "install flannel; both nodes Ready within 180s"
sed "s#{{ .PodSubnet }}#$POD_SUBNET#" "$IMAGES_DIR/manifests/flannel.yaml" | k apply -f - >/dev/null \
  || fail "applying flannel failed"
poll 180 all_nodes_ready || fail "nodes not Ready: $(ready_nodes | tr '\n' ' ')"
READY_SECONDS=$((SECONDS - CHECK_START))
pass

pod_ready() { [ "$(k get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ]; }

begin "nginx pod Running on the control plane, client pod on the worker"
poll 120 pod_ready web || fail "pod web not Ready: $(k get pod web -o wide --no-headers)"
poll 120 pod_ready client || fail "pod client not Ready: $(k get pod client -o wide --no-headers)"
[ "$(k get pod web -o jsonpath='{.spec.nodeName}')" = "$CP_NODE" ] || fail "web is not on $CP_NODE"
[ "$(k get pod client -o jsonpath='{.spec.nodeName}')" = "$WORKER_NODE" ] || fail "client is not on $WORKER_NODE"
WEB_IP=$(k get pod web -o jsonpath='{.status.podIP}')
WEB_SVC_IP=$(k get service web -o jsonpath='{.spec.clusterIP}')
pass

http_ok() { k exec client -c curl -- curl -sS -m 5 "http://$1/" 2>/dev/null | grep -q '<title>Welcome to nginx!</title>'; }
http_fails() { ! k exec client -c curl -- curl -sS -m 3 -o /dev/null "http://$1/" 2>/dev/null; }

begin "worker pod reaches the nginx pod over HTTP (http://$WEB_IP/)"
poll 60 http_ok "$WEB_IP" || fail "no 'Welcome to nginx!' from http://$WEB_IP/"
pass

# --- DNS --------------------------------------------------------------------------------------
coredns_ready() { [ "$(k -n kube-system get deploy coredns -o jsonpath='{.status.readyReplicas}')" = 2 ]; }
resolves_to() { [ "$(k exec client -c curl -- dig +short +time=2 +tries=1 "$1" | tail -1)" = "$2" ]; }

begin "CoreDNS ready; pod DNS name ${WEB_IP//./-}.default.pod.cluster.local resolves"
poll 120 coredns_ready || fail "coredns not ready"
poll 30 resolves_to "${WEB_IP//./-}.default.pod.cluster.local" "$WEB_IP" \
  || fail "got '$(k exec client -c curl -- dig +short "${WEB_IP//./-}.default.pod.cluster.local" 2>&1)', want $WEB_IP"
pass

begin "Service name web.default.svc.cluster.local resolves and serves HTTP"
poll 30 resolves_to web.default.svc.cluster.local "$WEB_SVC_IP" \
  || fail "got '$(k exec client -c curl -- dig +short web.default.svc.cluster.local 2>&1)', want $WEB_SVC_IP"
poll 30 http_ok web || fail "no 'Welcome to nginx!' from http://web/ (search path + kube-proxy)"
pass

# --- default storage (local-path-provisioner from the node image) ------------------------------
begin "default StorageClass 'standard' provisions a PVC for a pod"
cat >"$WORK/pvc.yaml" <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 10Mi}}
---
apiVersion: v1
kind: Pod
metadata:
  name: writer
spec:
  nodeSelector: {kubernetes.io/hostname: $WORKER_NODE}
  terminationGracePeriodSeconds: 1
  restartPolicy: Never
  containers:
  - name: writer
    image: $DEBIAN_IMAGE
    imagePullPolicy: Never
    command: ["sh", "-c", "echo persisted > /data/file && cat /data/file"]
    volumeMounts: [{name: data, mountPath: /data}]
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: data}
EOF
k apply -f "$WORK/pvc.yaml" >/dev/null || fail "creating the PVC and pod failed"
pod_succeeded() { [ "$(k get pod "$1" -o jsonpath='{.status.phase}')" = Succeeded ]; }
poll 90 pod_succeeded writer || fail "writer pod: $(k get pod writer --no-headers 2>&1); pvc: $(k get pvc data --no-headers 2>&1)"
[ "$(k get pvc data -o jsonpath='{.status.phase}')" = Bound ] || fail "PVC data is not Bound"
[ "$(k logs writer)" = persisted ] || fail "writer pod output: $(k logs writer 2>&1)"
pass

# --- labrun-probe as an ephemeral container ----------------------------------------------------
# stdout: the probe's JSON line; kubectl's "command terminated with exit code 1" is dropped
probe() { k exec client -c probe -- labrun-probe "$@" 2>/dev/null; }
probe_running() { [ -n "$(k get pod client -o jsonpath='{.status.ephemeralContainerStatuses[?(@.name=="probe")].state.running.startedAt}')" ]; }

begin "labrun-probe ephemeral container: http, dns and tcp probes succeed"
k debug client --container=probe --image="$PROBE_IMAGE" --image-pull-policy=Never \
  -- labrun-probe hold --max 600s >/dev/null 2>&1 || fail "kubectl debug failed"
poll 60 probe_running || fail "ephemeral container probe not running: $(k get pod client -o jsonpath='{.status.ephemeralContainerStatuses}')"
out=$(probe http --url "http://$WEB_IP/") || fail "probe http failed: $out"
jq -e '.ok and .status == 200 and (.body | contains("Welcome to nginx!"))' <<<"$out" >/dev/null || fail "probe http: $out"
out=$(probe dns --name web.default.svc.cluster.local) || fail "probe dns failed: $out"
jq -e --arg ip "$WEB_SVC_IP" '.ok and (.addresses | index($ip))' <<<"$out" >/dev/null || fail "probe dns: $out"
out=$(probe dns --name web) || fail "probe dns (search path) failed: $out"
jq -e --arg ip "$WEB_SVC_IP" '.ok and (.addresses | index($ip))' <<<"$out" >/dev/null || fail "probe dns (search path): $out"
out=$(probe dns --name nosuchservice.default.svc.cluster.local) && fail "probe dns of a missing name succeeded: $out"
jq -e '(.ok | not) and .notFound' <<<"$out" >/dev/null || fail "probe dns (missing name): $out"
out=$(probe tcp --addr "$WEB_IP:80") || fail "probe tcp failed: $out"
pass

# --- NetworkPolicy with kube-router's firewall ------------------------------------------------
ds_ready() {
  local want have
  want=$(k -n kube-system get ds kube-router -o jsonpath='{.status.desiredNumberScheduled}')
  have=$(k -n kube-system get ds kube-router -o jsonpath='{.status.numberReady}')
  [ -n "$want" ] && [ "$want" = 2 ] && [ "$have" = "$want" ]
}
begin "install kube-router (firewall only); ready on both nodes; HTTP still works"
sed "s#{{ .ServiceSubnet }}#10.96.0.0/16#" "$IMAGES_DIR/manifests/kube-router-netpol.yaml" | k apply -f - >/dev/null || fail "applying kube-router failed"
poll 120 ds_ready || fail "kube-router not ready: $(k -n kube-system get pods -l k8s-app=kube-router -o wide --no-headers)"
poll 30 http_ok "$WEB_IP" || fail "HTTP to $WEB_IP broken by kube-router without any policy"
pass

begin "deny-all ingress NetworkPolicy blocks worker -> nginx"
cat >"$WORK/deny.yaml" <<'EOF'
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: deny-all-ingress
spec:
  podSelector: {}
  policyTypes: [Ingress]
EOF
k apply -f "$WORK/deny.yaml" >/dev/null || fail "creating the policy failed"
poll 60 http_fails "$WEB_IP" || fail "HTTP to $WEB_IP still works 60s after deny-all"
# blocked for good, not a blip: two more attempts and the probe agree
if ! { http_fails "$WEB_IP" && http_fails "$WEB_IP"; }; then fail "HTTP to $WEB_IP works again with deny-all in place"; fi
if out=$(probe http --url "http://$WEB_IP/" --timeout 3s); then fail "probe http succeeded under deny-all: $out"; fi
jq -e '(.ok | not) and .error != ""' <<<"$out" >/dev/null || fail "probe http under deny-all: $out"
pass

begin "deleting the policy restores worker -> nginx"
k delete -f "$WORK/deny.yaml" >/dev/null || fail "deleting the policy failed"
poll 60 http_ok "$WEB_IP" || fail "HTTP to $WEB_IP still blocked 60s after deleting the policy"
out=$(probe http --url "http://$WEB_IP/") || fail "probe http after deleting the policy: $out"
pass

probe_terminated() { [ -n "$(k get pod client -o jsonpath='{.status.ephemeralContainerStatuses[?(@.name=="probe")].state.terminated.finishedAt}')" ]; }
begin "labrun-probe stop ends the ephemeral container"
probe stop >/dev/null || fail "probe stop failed"
poll 30 probe_terminated || fail "ephemeral container still running after stop"
pass

# --- teardown ------------------------------------------------------------------------------------
begin "kind delete cluster; no node containers left"
"$KIND" delete cluster --name "$CLUSTER" >"$WORK/delete.log" 2>&1 || fail "kind delete failed: $(cat "$WORK/delete.log")"
DELETED=1
left=$(docker ps -aq --filter "label=io.x-k8s.kind.cluster=$CLUSTER")
[ -z "$left" ] || fail "containers left behind: $left"
! "$KIND" get clusters 2>/dev/null | grep -qxF "$CLUSTER" || fail "kind still lists $CLUSTER"
pass

info "kind create cluster: ${CREATE_SECONDS}s; nodes Ready after installing flannel: ${READY_SECONDS}s"

exit 0
}
