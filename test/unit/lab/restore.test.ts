/**
 * Undoing a phase on a shared cluster: the state digest, the restore plan
 * (pure), and restore() against an in-memory cluster.
 */
import { expect } from "chai";
import type { KubeObject } from "../../../runner/cluster/client.ts";
import { forCreate, keyOf } from "../../../runner/lab/recreate.ts";
import { declaredObjects, diffStates, planRestore, restore, snapshot, stateDigest } from "../../../runner/lab/restore.ts";
import { FakeCluster, node, pod } from "../checks/fakes.ts";

let uid = 0;
const withUid = <T extends KubeObject>(o: T): T => ({ ...o, metadata: { ...o.metadata, uid: o.metadata.uid ?? `u${++uid}` } });

const policy = (name: string, ns = "shop"): KubeObject => withUid({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace: ns }, spec: { podSelector: {} } });
const deployment = (name: string, labels: Record<string, string>, ns = "shop"): KubeObject =>
  withUid({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name, namespace: ns, labels }, spec: { replicas: 2, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name: "nginx", image: "nginx" }] } } } });
const rsPod = (name: string, labels: Record<string, string>, ns = "shop") =>
  withUid(pod(name, { namespace: ns, labels: { ...labels, "pod-template-hash": "abc" }, ownerReferences: [{ kind: "ReplicaSet", name: "web-abc", uid: "rs1", controller: true } as never] }));

describe("restore: the state digest", () => {
  it("ignores uids, IPs, generated pod names and cluster IPs; sees labels, images, host networking and readiness", () => {
    const a = [rsPod("web-abc-1", { app: "web" }), rsPod("web-abc-2", { app: "web" }), withUid(pod("client", { namespace: "shop", ip: "10.0.0.9" }))];
    const b = [rsPod("web-abc-7", { app: "web" }), rsPod("web-abc-8", { app: "web" }), withUid(pod("client", { namespace: "shop", ip: "10.0.0.10" }))];
    expect(diffStates(stateDigest(a), stateDigest(b))).to.deep.equal([]);
    const relabelled = [rsPod("web-abc-7", { app: "wbe" }), rsPod("web-abc-8", { app: "web" }), b[2]!];
    expect(diffStates(stateDigest(a), stateDigest(relabelled))).to.deep.equal(["Pod shop/* of Deployment web: changed"]);
    const hostNet = [a[0]!, a[1]!, withUid(pod("client", { namespace: "shop", hostNetwork: true }))];
    expect(diffStates(stateDigest(a), stateDigest(hostNet))).to.deep.equal(["Pod shop/client: changed"]);
    const svc = (ip: string): KubeObject => ({ apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "shop", uid: ip }, spec: { clusterIP: ip, selector: { app: "wbe" } } });
    expect(diffStates(stateDigest([svc("10.96.0.5")]), stateDigest([svc("10.96.0.77")]))).to.deep.equal([]);
  });

  it("labrun's own probe containers are not part of the state; anyone else's ephemeral containers are", () => {
    const base = withUid(pod("client", { namespace: "shop" }));
    const probed = structuredClone(base);
    (probed.spec as Record<string, unknown>).ephemeralContainers = [{ name: "labrun-probe-1a2b", image: "probe" }];
    expect(diffStates(stateDigest([base]), stateDigest([probed]))).to.deep.equal([]);
    (probed.spec as Record<string, unknown>).ephemeralContainers = [{ name: "debugger-abc", image: "nginx" }];
    expect(diffStates(stateDigest([base]), stateDigest([probed]))).to.deep.equal(["Pod shop/client: changed"]);
  });
});

describe("restore: what labrun makes for a grade is not the lab's state", () => {
  it("leaves out the grade's namespace and everything in it (strangers, the dns canary), and labrun's probe pods", async () => {
    const c = new FakeCluster({ withClusterDns: false }).put(
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "labrun-stranger-1a2b3c4d", annotations: { "labrun.dev/owned-by": "labrun grade" }, deletionTimestamp: "2026-01-01T00:00:00Z" } },
      { apiVersion: "v1", kind: "Service", metadata: { name: "canary-0011223344", namespace: "labrun-stranger-1a2b3c4d", annotations: { "labrun.dev/owned-by": "labrun grade" } }, spec: { clusterIP: "10.96.7.7" } },
      { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kube-root-ca.crt", namespace: "labrun-stranger-1a2b3c4d" }, data: {} },
      pod("labrun-probe-ab12", { namespace: "shop" }),
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
      pod("client", { namespace: "shop" }),
    );
    expect((await snapshot(c)).map(keyOf)).to.deep.equal(["Namespace shop", "Pod shop/client"]);
  });
});

describe("forCreate: a live object as something to create again", () => {
  it("drops what the API server owns: uid, versions, status, a pod's node and ephemeral containers, a service's cluster IPs", () => {
    const p = withUid(pod("client", { namespace: "shop", labels: { app: "client" } }));
    p.metadata.resourceVersion = "42";
    (p.spec as Record<string, unknown>).ephemeralContainers = [{ name: "debugger-x" }];
    expect(forCreate(p)).to.deep.equal({ apiVersion: "v1", kind: "Pod", metadata: { name: "client", namespace: "shop", labels: { app: "client" } }, spec: { containers: [{ name: "main", image: "docker.io/library/nginx:1.22.1" }] } });
    const svc: KubeObject = { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "shop", uid: "s" }, spec: { clusterIP: "10.96.0.9", clusterIPs: ["10.96.0.9"], selector: { app: "web" } }, status: {} };
    expect(forCreate(svc)).to.deep.equal({ apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "shop" }, spec: { selector: { app: "web" } } });
  });
});

describe("restore: the plan", () => {
  const declaredDeny: KubeObject = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "deny-all", namespace: "shop" }, spec: { podSelector: { matchLabels: { app: "frontend" } } } };
  const declared = declaredObjects([{ objects: [declaredDeny, { apiVersion: "v1", kind: "Pod", metadata: { name: "client" }, spec: { containers: [{ name: "c", image: "curl" }] } }], namespace: "shop" }]);

  it("deletes what the phase added and re-creates what it deleted, from the scenario's manifests", () => {
    const deny = policy("deny-all");
    const baseline = [deny, withUid(pod("client", { namespace: "shop" }))];
    const after = [baseline[1]!, policy("allow-all")];
    const plan = planRestore(baseline, after, declared);
    expect(plan.delete.map(keyOf)).to.deep.equal(["NetworkPolicy shop/allow-all"]);
    expect(plan.create).to.deep.equal([declaredDeny]);
    expect(plan.unrestorable).to.deep.equal([]);
  });

  it("a pod replaced under the same name (hostNetwork) is deleted and re-created as declared; a touched pod too", () => {
    const client = withUid(pod("client", { namespace: "shop" }));
    const replaced = withUid(pod("client", { namespace: "shop", hostNetwork: true }));
    const plan = planRestore([client], [replaced], declared);
    expect(plan.delete).to.deep.equal([replaced]);
    expect(plan.create.map(keyOf)).to.deep.equal(["Pod shop/client"]);
    expect(plan.create[0]!.spec).to.deep.equal({ containers: [{ name: "c", image: "curl" }] });
    const touched = planRestore([client], [client], declared, new Set(["Pod shop/client"]));
    expect(touched.delete).to.deep.equal([client]);
    expect(touched.create.map(keyOf)).to.deep.equal(["Pod shop/client"]);
    expect(planRestore([client], [client], declared).delete).to.deep.equal([]);
  });

  it("a controller's pod that was changed is deleted (its controller replaces it); an undeclared object comes back from the baseline copy", () => {
    const web = rsPod("web-abc-1", { app: "web" });
    const orphaned = { ...web, metadata: { ...web.metadata, labels: { app: "wbe" }, ownerReferences: [] } };
    const cm: KubeObject = withUid({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "coredns", namespace: "kube-system", resourceVersion: "9", managedFields: [] }, data: { Corefile: "." } });
    const edited = { ...cm, data: { Corefile: "broken" } };
    const plan = planRestore([web, cm], [orphaned, rsPod("web-abc-9", { app: "web" }), edited], declared);
    expect(plan.delete.map(keyOf)).to.deep.equal(["Pod shop/web-abc-1", "ConfigMap kube-system/coredns"]);
    expect(plan.create).to.deep.equal([{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "coredns", namespace: "kube-system" }, data: { Corefile: "." } }]);
  });

  it("a Service comes back at the cluster IP it had (kube-dns's is in every pod's resolv.conf), unless its manifest pins one", () => {
    const dns: KubeObject = withUid({ apiVersion: "v1", kind: "Service", metadata: { name: "kube-dns", namespace: "kube-system" }, spec: { clusterIP: "10.96.0.10", clusterIPs: ["10.96.0.10"], selector: { "k8s-app": "kube-dns" } } });
    const repointed = { ...dns, spec: { ...(dns.spec as object), selector: { app: "dns-standin" } } };
    const plan = planRestore([dns], [repointed], declared);
    expect(plan.delete).to.deep.equal([repointed]);
    expect(plan.create).to.deep.equal([{ apiVersion: "v1", kind: "Service", metadata: { name: "kube-dns", namespace: "kube-system" }, spec: { clusterIP: "10.96.0.10", clusterIPs: ["10.96.0.10"], selector: { "k8s-app": "kube-dns" } } }]);
    const web: KubeObject = withUid({ apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "shop" }, spec: { clusterIP: "10.96.80.80", selector: { app: "web" } } });
    const pinned = declaredObjects([{ objects: [{ apiVersion: "v1", kind: "Service", metadata: { name: "web" }, spec: { clusterIP: "10.96.80.81", selector: { app: "web" } } }], namespace: "shop" }]);
    const again = planRestore([web], [{ ...web, spec: { clusterIP: "10.96.80.80", selector: { app: "x" } } }], pinned);
    expect((again.create[0]!.spec as { clusterIP?: string }).clusterIP).to.equal("10.96.80.81");
  });

  it("a deployment re-created with other labels is deleted and the declared one re-created", () => {
    const web = deployment("web", { app: "web" });
    const wbe = deployment("web", { app: "wbe" });
    const decl = declaredObjects([{ objects: [{ ...web, metadata: { name: "web", namespace: "shop", labels: { app: "web" } } }], namespace: "default" }]);
    const plan = planRestore([web], [wbe], decl);
    expect(plan.delete).to.deep.equal([wbe]);
    expect(plan.create.map(keyOf)).to.deep.equal(["Deployment shop/web"]);
  });

  it("a new namespace goes as a whole; a changed node cannot be restored", () => {
    const ns = withUid({ apiVersion: "v1", kind: "Namespace", metadata: { name: "evil" } } as KubeObject);
    const inside = withUid(pod("x", { namespace: "evil" }));
    expect(planRestore([], [ns, inside], declared).delete.map(keyOf)).to.deep.equal(["Namespace evil"]);
    const n = withUid(node("w1"));
    const cordoned = { ...n, spec: { unschedulable: true } };
    expect(planRestore([n], [cordoned], declared).unrestorable).to.deep.equal(["node w1 changed (taints, labels or schedulability)"]);
  });
});

describe("restore() on an in-memory cluster", () => {
  function cluster(...objects: KubeObject[]) {
    const c = new FakeCluster({ withClusterDns: false }).put(...objects);
    const apply = c.apply.bind(c);
    c.apply = async (o) => apply(withUid({ ...o, ...(o.kind === "Pod" ? { status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } } : {}) }));
    return c;
  }

  it("brings the broken state back and says what it did", async () => {
    const client = withUid(pod("client", { namespace: "shop" }));
    const deny = policy("deny-all");
    const c = cluster(client, deny);
    const baseline = [structuredClone(client), structuredClone(deny)];
    // the phase: delete deny-all, add allow-all, recreate the client with hostNetwork
    c.remove("networking.k8s.io/v1", "NetworkPolicy", "shop", "deny-all");
    c.put(policy("allow-all"), withUid(pod("client", { namespace: "shop", hostNetwork: true })));
    const declared = declaredObjects([{ objects: [{ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "deny-all" }, spec: { podSelector: {} } }, { apiVersion: "v1", kind: "Pod", metadata: { name: "client" }, spec: { containers: [{ name: "main", image: "docker.io/library/nginx:1.22.1" }] } }], namespace: "shop" }]);
    const result = await restore({ client: c, baseline, declared, pollMs: 1 });
    expect(result).to.deep.include({ ok: true, detail: "restored: deleted 2, created 2 objects" });
    // the next restore starts from the restored objects: nothing to do again
    const again = await restore({ client: c, baseline: (result as { snapshot: KubeObject[] }).snapshot, declared, pollMs: 1 });
    expect(again).to.deep.include({ ok: true, detail: "nothing to restore" });
    expect(diffStates(stateDigest(baseline), stateDigest([...c.objects.values()]))).to.deep.equal([]);
  });

  it("says why when the state does not come back", async () => {
    const client = withUid(pod("client", { namespace: "shop" }));
    const c = cluster(client);
    c.remove("v1", "Pod", "shop", "client");
    const result = await restore({ client: c, baseline: [client], declared: new Map(), timeoutMs: 20, pollMs: 5 });
    expect(result.ok).to.equal(true); // re-created from the baseline copy
    const n = withUid(node("w1"));
    const c2 = cluster({ ...n, spec: { unschedulable: true } });
    expect(await restore({ client: c2, baseline: [n], declared: new Map(), timeoutMs: 20, pollMs: 5 })).to.deep.equal({ ok: false, reason: "node w1 changed (taints, labels or schedulability)" });
    const c3 = cluster();
    c3.apply = async (o) => o; // a cluster that accepts but never shows the object
    expect(await restore({ client: c3, baseline: [client], declared: new Map(), timeoutMs: 20, pollMs: 5 })).to.deep.equal({ ok: false, reason: "the broken state did not come back: Pod shop/client: missing" });
  });

  it("a phase's change the undo leaves behind is detected and named (the remaining phases then get a fresh cluster)", async () => {
    const cm = (mode: string) => withUid({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings", namespace: "shop" }, data: { mode } } as KubeObject);
    const deny = policy("deny-all");
    const baseline = [cm("broken"), deny];
    // the phase: set mode=fixed and add an allow-all policy
    const c = cluster({ ...cm("fixed"), metadata: { ...baseline[0]!.metadata } }, deny, policy("allow-all"));
    // something in the cluster puts the phase's value back whatever the undo writes (a controller, a webhook)
    const apply = c.apply.bind(c);
    c.apply = async (o) => apply(o.kind === "ConfigMap" ? { ...o, data: { mode: "fixed" } } : o);
    const declared = declaredObjects([{ objects: [{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "settings" }, data: { mode: "broken" } } as KubeObject], namespace: "shop" }]);
    const result = await restore({ client: c, baseline, declared, timeoutMs: 20, pollMs: 5 });
    expect(result.ok).to.equal(false);
    expect((result as { reason: string }).reason).to.match(/^the broken state did not come back: ConfigMap shop\/settings/);
    // the added policy is gone: only what could not be undone is reported
    expect((result as { reason: string }).reason).to.not.contain("allow-all");
  });
});
