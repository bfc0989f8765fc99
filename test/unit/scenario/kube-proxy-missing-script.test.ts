/**
 * kube-proxy-missing's kube-proxy-runs script: pods of the DaemonSet count,
 * not pods that carry its label; they must run kube-proxy; nodes relabelled to
 * fit the broken nodeSelector do not count.
 */
import { expect } from "chai";
import type { KubeObject } from "../../../runner/cluster/client.ts";
import { FakeCluster, node, pod } from "../checks/fakes.ts";

const SCRIPT = new URL("../../../scenarios/kube-proxy-missing/checks/kube-proxy-runs.ts", import.meta.url).href;
type Script = (ctx: unknown) => Promise<{ ok: boolean; message: string }>;
const run = async (c: FakeCluster) => ((await import(SCRIPT)) as { default: Script }).default({ client: c, signal: new AbortController().signal });

const daemonSet = (desired: number): KubeObject => ({ apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "kube-proxy", namespace: "kube-system", uid: "ds-uid" }, status: { desiredNumberScheduled: desired, numberReady: desired } });
const KUBE_PROXY = { name: "kube-proxy", image: "registry.k8s.io/kube-proxy:v1.34.12", command: ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--hostname-override=$(NODE_NAME)"] };
const proxyPod = (name: string, owned: boolean, container: Record<string, unknown> = KUBE_PROXY): KubeObject => {
  const p = pod(name, { namespace: "kube-system", labels: { "k8s-app": "kube-proxy" }, ...(owned ? { ownerReferences: [{ kind: "DaemonSet", name: "kube-proxy", uid: "ds-uid", controller: true } as never] } : {}) });
  (p.spec as Record<string, unknown>).nodeName = "cp";
  (p.spec as Record<string, unknown>).containers = [container];
  return p;
};
/** A node as its kubelet labels it (or `os` as someone relabelled it). */
const cp = (os = "linux"): KubeObject => {
  const n = node("cp", { controlPlane: true });
  n.metadata.labels = { ...n.metadata.labels, "kubernetes.io/os": os, "kubernetes.io/arch": "amd64" };
  (n.status as Record<string, unknown>).nodeInfo = { operatingSystem: "linux", architecture: "amd64" };
  return n;
};

describe("kube-proxy-missing: kube-proxy-runs", () => {
  it("fails for a Ready pod labelled k8s-app=kube-proxy that the DaemonSet did not make, and names it", async () => {
    const r = await run(new FakeCluster().put(cp(), daemonSet(0), proxyPod("kube-proxy-standin", false)));
    expect(r.ok).to.equal(false);
    expect(r.message).to.equal("DaemonSet kube-system/kube-proxy wants 0 pods for 1 node (kube-proxy-standin carries its label, but the DaemonSet did not make it)");
  });

  it("passes with the DaemonSet's Ready pod on every node, and fails while a node has none", async () => {
    expect((await run(new FakeCluster().put(cp(), daemonSet(1), proxyPod("kube-proxy-abcde", true)))).ok).to.equal(true);
    const r = await run(new FakeCluster().put(cp(), daemonSet(1), proxyPod("kube-proxy-standin", false)));
    expect(r.ok).to.equal(false);
    expect(r.message).to.equal("no Ready kube-proxy of DaemonSet kube-system/kube-proxy on cp");
  });

  it("fails when the node was relabelled to fit the broken nodeSelector (relabel-the-node), naming the label", async () => {
    const r = await run(new FakeCluster().put(cp("Linux"), daemonSet(1), proxyPod("kube-proxy-abcde", true)));
    expect(r.ok).to.equal(false);
    expect(r.message).to.equal(
      "node cp is labelled kubernetes.io/os=Linux, but its kubelet labels it linux (status.nodeInfo.operatingSystem): a node relabelled to fit kube-proxy's nodeSelector no longer fits the workloads that select the real label (CoreDNS among them); fix the DaemonSet instead",
    );
    // nodeInfo patched to match does not help: GOOS values are lower case.
    const patched = cp("Linux");
    (patched.status as { nodeInfo: Record<string, string> }).nodeInfo.operatingSystem = "Linux";
    expect((await run(new FakeCluster().put(patched, daemonSet(1), proxyPod("kube-proxy-abcde", true)))).ok).to.equal(false);
  });

  it("fails when the DaemonSet's Ready pods run another image or command (kube-proxy-template-swapped)", async () => {
    const nginx = await run(new FakeCluster().put(cp(), daemonSet(1), proxyPod("kube-proxy-abcde", true, { name: "kube-proxy", image: "docker.io/library/nginx:1.22.1" })));
    expect(nginx.ok).to.equal(false);
    expect(nginx.message).to.equal("DaemonSet kube-system/kube-proxy's pod kube-proxy-abcde: it runs image docker.io/library/nginx:1.22.1, not kube-proxy's (registry.k8s.io/kube-proxy): its Ready pods are not kube-proxy");
    const sleeper = await run(new FakeCluster().put(cp(), daemonSet(1), proxyPod("kube-proxy-abcde", true, { ...KUBE_PROXY, command: ["sleep", "infinity"] })));
    expect(sleeper.ok).to.equal(false);
    expect(sleeper.message).to.include('it starts "sleep infinity", not kubeadm\'s "/usr/local/bin/kube-proxy --config=/var/lib/kube-proxy/config.conf --hostname-override=$(NODE_NAME)"');
  });
});
