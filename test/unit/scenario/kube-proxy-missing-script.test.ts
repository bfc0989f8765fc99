/**
 * kube-proxy-missing's kube-proxy-runs script: pods of the DaemonSet count,
 * not pods that carry its label.
 */
import { expect } from "chai";
import type { KubeObject } from "../../../runner/cluster/client.ts";
import { FakeCluster, node, pod } from "../checks/fakes.ts";

const SCRIPT = new URL("../../../scenarios/kube-proxy-missing/checks/kube-proxy-runs.ts", import.meta.url).href;
type Script = (ctx: unknown) => Promise<{ ok: boolean; message: string }>;
const run = async (c: FakeCluster) => ((await import(SCRIPT)) as { default: Script }).default({ client: c, signal: new AbortController().signal });

const daemonSet = (desired: number): KubeObject => ({ apiVersion: "apps/v1", kind: "DaemonSet", metadata: { name: "kube-proxy", namespace: "kube-system", uid: "ds-uid" }, status: { desiredNumberScheduled: desired, numberReady: desired } });
const proxyPod = (name: string, owned: boolean): KubeObject => {
  const p = pod(name, { namespace: "kube-system", labels: { "k8s-app": "kube-proxy" }, ...(owned ? { ownerReferences: [{ kind: "DaemonSet", name: "kube-proxy", uid: "ds-uid", controller: true } as never] } : {}) });
  (p.spec as Record<string, unknown>).nodeName = "cp";
  return p;
};

describe("kube-proxy-missing: kube-proxy-runs", () => {
  it("fails for a Ready pod labelled k8s-app=kube-proxy that the DaemonSet did not make, and names it", async () => {
    const r = await run(new FakeCluster().put(node("cp", { controlPlane: true }), daemonSet(0), proxyPod("kube-proxy-standin", false)));
    expect(r.ok).to.equal(false);
    expect(r.message).to.equal("DaemonSet kube-system/kube-proxy wants 0 pods for 1 node (kube-proxy-standin carries its label, but the DaemonSet did not make it)");
  });

  it("passes with the DaemonSet's Ready pod on every node, and fails while a node has none", async () => {
    expect((await run(new FakeCluster().put(node("cp", { controlPlane: true }), daemonSet(1), proxyPod("kube-proxy-abcde", true)))).ok).to.equal(true);
    const r = await run(new FakeCluster().put(node("cp", { controlPlane: true }), daemonSet(1), proxyPod("kube-proxy-standin", false)));
    expect(r.ok).to.equal(false);
    expect(r.message).to.equal("no Ready kube-proxy of DaemonSet kube-system/kube-proxy on cp");
  });
});
