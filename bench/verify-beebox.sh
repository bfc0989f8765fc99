#!/usr/bin/env bash
# The way Killercoda and Instruqt labs are graded today: a bash verify script
# with kubectl get/exec and curl. The same seven verdicts as beebox-cni's checks
# (nodes-ready, cni-configured, coredns-running, workloads-running, http-by-ip,
# pod-dns, http-by-dns), run one after another like such scripts do. It trusts
# the learner's pod: curl and nslookup are whatever testclient has.
#
#   KUBECONFIG=... bench/verify-beebox.sh CLUSTER     (CLUSTER: the kind cluster, for the node checks)
#
# Prints one line per verdict; exit 0 when all pass, 1 otherwise.
set -u
cluster=${1:?usage: verify-beebox.sh KIND_CLUSTER}
failed=0
verdict() { if [ "$2" = ok ]; then echo "PASS $1"; else echo "FAIL $1"; failed=1; fi; }

# nodes-ready: every node's Ready condition is True
ready=$(kubectl get nodes -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')
[ -n "$ready" ] && ! grep -qv '^True$' <<<"$ready" && verdict nodes-ready ok || verdict nodes-ready no

# cni-configured: a CNI configuration in /etc/cni/net.d on every node
ok=ok
for node in $(kubectl get nodes -o jsonpath='{.items[*].metadata.name}'); do
  docker exec "$node" sh -c 'ls /etc/cni/net.d/*.conf /etc/cni/net.d/*.conflist /etc/cni/net.d/*.json 2>/dev/null | grep -q .' || ok=no
done
[ "$(kubectl get nodes -o name | wc -l)" -gt 0 ] || ok=no
verdict cni-configured $ok

# coredns-running: the kube-dns pods are Ready
ready=$(kubectl -n kube-system get pods -l k8s-app=kube-dns -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}')
[ -n "$ready" ] && ! grep -qv '^True$' <<<"$ready" && verdict coredns-running ok || verdict coredns-running no

# workloads-running: both pods Ready
ready=$(kubectl get pod cyberdyne-frontend testclient -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null)
[ "$(grep -c '^True$' <<<"$ready")" = 2 ] && verdict workloads-running ok || verdict workloads-running no

ip=$(kubectl get pod cyberdyne-frontend -o jsonpath='{.status.podIP}')
name="${ip//./-}.default.pod.cluster.local"

# http-by-ip
kubectl exec testclient -- curl -s -m 3 "http://$ip/" 2>/dev/null | grep -q 'Welcome to nginx!' && verdict http-by-ip ok || verdict http-by-ip no

# pod-dns: the pod DNS name resolves to the pod's IP
kubectl exec testclient -- nslookup "$name" 2>/dev/null | grep -q "Address: $ip" && verdict pod-dns ok || verdict pod-dns no

# http-by-dns
kubectl exec testclient -- curl -s -m 3 "http://$name/" 2>/dev/null | grep -q 'Welcome to nginx!' && verdict http-by-dns ok || verdict http-by-dns no

exit $failed
