/**
 * cni-wrong-subnet's flannel-config script: the Network flannel runs with is
 * the ConfigMap's, read at start; subnet.env on the node can be rewritten.
 */
import { expect } from "chai";
import type { KubeObject } from "../../../runner/cluster/client.ts";
import { FakeCluster, pod } from "../checks/fakes.ts";

function config(network: string, changedAt: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "kube-flannel-cfg", namespace: "kube-flannel", creationTimestamp: "2026-01-01T00:00:00Z", managedFields: [{ manager: "kubectl", time: changedAt }] },
    data: { "net-conf.json": JSON.stringify({ Network: network, Backend: { Type: "vxlan" } }, null, 2) },
  } as KubeObject;
}

function flannel(name: string, startedAt: string): KubeObject {
  const p = pod(name, { namespace: "kube-flannel", labels: { app: "flannel" }, container: "kube-flannel" });
  (p.status as Record<string, unknown>).containerStatuses = [{ name: "kube-flannel", ready: true, state: { running: { startedAt } } }];
  return p;
}

type Script = (ctx: unknown) => Promise<{ ok: boolean; message: string }>;
// Imported by path: the scenario's script is typechecked with the scenarios (its "labrun" import), not with the tests.
const SCRIPT = new URL("../../../scenarios/cni-wrong-subnet/checks/flannel-config.ts", import.meta.url).href;
const run = async (c: FakeCluster) => ((await import(SCRIPT)) as { default: Script }).default({ client: c, signal: new AbortController().signal });

describe("cni-wrong-subnet: flannel-config", () => {
  it("fails for a superset Network, whatever subnet.env says", async () => {
    const r = await run(new FakeCluster().put(config("10.0.0.0/8", "2026-01-01T10:00:00Z"), flannel("kube-flannel-ds-a", "2026-01-01T10:01:00Z")));
    expect(r.ok).to.equal(false);
    expect(r.message).to.equal("flannel is configured with Network 10.0.0.0/8, not the cluster's pod subnet 10.244.0.0/16");
  });

  it("fails while a flanneld started before the ConfigMap's last change (it still runs with the old Network)", async () => {
    const r = await run(new FakeCluster().put(config("10.244.0.0/16", "2026-01-01T10:00:00Z"), flannel("kube-flannel-ds-a", "2026-01-01T10:01:00Z"), flannel("kube-flannel-ds-b", "2026-01-01T09:00:00Z")));
    expect(r.ok).to.equal(false);
    expect(r.message).to.match(/^kube-flannel-ds-b started before kube-flannel-cfg last changed/);
  });

  it("passes when the Network is the pod subnet and every flanneld read it", async () => {
    const r = await run(new FakeCluster().put(config("10.244.0.0/16", "2026-01-01T10:00:00Z"), flannel("kube-flannel-ds-a", "2026-01-01T10:00:00Z"), flannel("kube-flannel-ds-b", "2026-01-01T10:02:00Z")));
    expect(r.ok, r.message).to.equal(true);
  });
});
