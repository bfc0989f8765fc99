/**
 * The settle rule's pure part (what counts as a change, what counts as
 * converging) and the tracker's window, on a virtual clock.
 */
import { expect } from "chai";
import type { KubeObject } from "../../../runner/cluster/client.ts";
import { digestCluster, SettleTracker, type ClusterSample } from "../../../checks/settle.ts";
import { FakeClock } from "../../helpers/fake-clock.ts";
import { node, pod } from "./fakes.ts";

const NOW = Date.parse("2026-01-01T00:10:00Z");
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();
const digest = (objects: Record<string, KubeObject[]>) => digestCluster(objects, { now: NOW, recentMs: 20_000 });

function withStatus(p: KubeObject, status: Record<string, unknown>): KubeObject {
  return { ...p, status: { ...(p.status as object), ...status } };
}

function container(name: string, state: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { name, ready: false, restartCount: 0, state, ...extra };
}

describe("settle: what counts as converging", () => {
  it("an untouched cluster without a CNI is settled: NotReady nodes, Pending Unschedulable pods", () => {
    const s = digest({
      Node: [node("cp", { ready: false, controlPlane: true }), node("w", { ready: false })],
      Pod: [pod("web", { phase: "Pending", unschedulable: "0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }" })],
    });
    expect(s.converging).to.deep.equal([]);
  });

  it("pods in transition: terminating, unscheduled, creating, init containers, a container that just started", () => {
    const terminating = pod("a");
    terminating.metadata.deletionTimestamp = ago(1);
    const unscheduled = withStatus(pod("b", { phase: "Pending" }), { conditions: [] });
    delete (unscheduled.spec as { nodeName?: string }).nodeName;
    const creating = pod("c", { phase: "Pending", waiting: "ContainerCreating" });
    const init = withStatus(pod("d", { phase: "Pending" }), { initContainerStatuses: [container("init", { running: { startedAt: ago(2) } })] });
    const starting = withStatus(pod("e", { phase: "Running", ready: false }), { containerStatuses: [container("main", { running: { startedAt: ago(3) } })] });
    const s = digest({ Pod: [terminating, unscheduled, creating, init, starting] });
    expect(s.converging).to.deep.equal([
      "pod default/a is terminating",
      "pod default/b is waiting for the scheduler",
      "pod default/c is starting its containers",
      "pod default/d is running its init containers",
      "pod default/e container main started moments ago and is not Ready yet",
    ]);
  });

  it("stuck pods are settled: image pull errors, a crash loop, a container long running but never Ready", () => {
    const pull = pod("a", { phase: "Pending", waiting: "ImagePullBackOff" });
    const crash = withStatus(pod("b", { phase: "Running", ready: false }), { containerStatuses: [container("main", { waiting: { reason: "CrashLoopBackOff" } }, { restartCount: 4 })] });
    const neverReady = withStatus(pod("c", { phase: "Running", ready: false }), { containerStatuses: [container("main", { running: { startedAt: ago(300) } })] });
    expect(digest({ Pod: [pull, crash, neverReady] }).converging).to.deep.equal([]);
  });

  it("a crash loop is one steady state: restarts do not change the fingerprint", () => {
    const at = (state: Record<string, unknown>, restarts: number) =>
      withStatus(pod("b", { phase: "Running", ready: false }), { containerStatuses: [container("main", state, { restartCount: restarts })] });
    const a = digest({ Pod: [at({ waiting: { reason: "CrashLoopBackOff" } }, 4)] });
    const b = digest({ Pod: [at({ running: { startedAt: ago(1) } }, 5)] });
    const c = digest({ Pod: [at({ terminated: { reason: "Error", exitCode: 1 } }, 5)] });
    expect(a.fingerprint).to.equal(b.fingerprint).and.to.equal(c.fingerprint);
  });

  it("a node agent (DaemonSet pod) that just turned Ready, and a node that just changed, count as converging", () => {
    const agent = pod("flannel-x", { ownerReferences: [{ kind: "DaemonSet", name: "flannel", uid: "1" }] });
    (agent.status as { conditions: { type: string; lastTransitionTime?: string }[] }).conditions.find((c) => c.type === "Ready")!.lastTransitionTime = ago(5);
    const n = node("w");
    (n.status as { conditions: { lastTransitionTime?: string }[] }).conditions[0]!.lastTransitionTime = ago(3);
    expect(digest({ Pod: [agent], Node: [n] }).converging).to.deep.equal(["node w turned Ready moments ago", "pod default/flannel-x (a node agent) turned Ready moments ago: its node may follow"]);
    (agent.status as { conditions: { type: string; lastTransitionTime?: string }[] }).conditions.find((c) => c.type === "Ready")!.lastTransitionTime = ago(60);
    (n.status as { conditions: { lastTransitionTime?: string }[] }).conditions[0]!.lastTransitionTime = ago(60);
    expect(digest({ Pod: [agent], Node: [n] }).converging).to.deep.equal([]);
  });

  it("a policy, a service or a node's taints changed just before the grade converge for 10 s; a kube-system ConfigMap edit for 90 s", () => {
    const np = (created: number, edited?: number): KubeObject => ({
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: {
        name: "allow",
        namespace: "shop",
        creationTimestamp: ago(created),
        managedFields: [{ manager: "kubectl", operation: "Update", time: ago(edited ?? created) }, { manager: "x", subresource: "status", time: ago(0) }],
      },
    });
    expect(digest({ NetworkPolicy: [np(3)] }).converging).to.deep.equal(["networkpolicy shop/allow changed moments ago (the data plane may still be catching up)"]);
    expect(digest({ NetworkPolicy: [np(30)] }).converging).to.deep.equal([]); // status writes do not count
    expect(digest({ NetworkPolicy: [np(300, 4)] }).converging).to.have.length(1);
    const cm = (created: number, edited: number): KubeObject => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "coredns", namespace: "kube-system", creationTimestamp: ago(created), managedFields: [{ manager: "kubeadm", time: ago(created) }, { manager: "kubectl-edit", time: ago(edited) }] } });
    expect(digest({ ConfigMap: [cm(10, 10)] }).converging).to.deep.equal([]); // created with the cluster: not news
    expect(digest({ ConfigMap: [cm(600, 60)] }).converging).to.deep.equal(["configmap kube-system/coredns changed moments ago (the data plane may still be catching up)"]);
    expect(digest({ ConfigMap: [cm(600, 120)] }).converging).to.deep.equal([]);
  });

  it("a workload whose controller lags its spec converges", () => {
    const d: KubeObject = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "web", namespace: "shop", generation: 3 }, spec: { replicas: 2 }, status: { observedGeneration: 2, replicas: 2 } };
    expect(digest({ Deployment: [d] }).converging).to.deep.equal(["deployment shop/web: its controller has not caught up with its spec"]);
    const scaling: KubeObject = { ...d, metadata: { ...d.metadata, generation: 2 }, spec: { replicas: 3 } };
    expect(digest({ Deployment: [scaling] }).converging).to.deep.equal(["deployment shop/web: 2 of 3 pods created"]);
  });
});

describe("settle: what counts as a change", () => {
  const base = () => ({ Node: [node("n1", { ready: false })], Pod: [pod("web", { ip: "10.0.0.5", labels: { app: "web" } })] });

  it("node heartbeats do not change the fingerprint; readiness, taints and labels of pods do", () => {
    const a = digest(base()).fingerprint;
    const heartbeat = base();
    heartbeat.Node[0]!.metadata.resourceVersion = "999";
    expect(digest(heartbeat).fingerprint).to.equal(a);
    const ready = base();
    ready.Node = [node("n1")];
    expect(digest(ready).fingerprint).to.not.equal(a);
    const relabelled = base();
    relabelled.Pod = [pod("web", { ip: "10.0.0.5", labels: { app: "wbe" } })];
    expect(digest(relabelled).fingerprint).to.not.equal(a);
  });

  it("services, policies and endpoints changes are changes", () => {
    const np = (rv: string): KubeObject => ({ apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name: "deny", namespace: "shop", resourceVersion: rv } });
    expect(digest({ NetworkPolicy: [np("1")] }).fingerprint).to.not.equal(digest({ NetworkPolicy: [np("2")] }).fingerprint);
    expect(digest({ NetworkPolicy: [np("1")] }).fingerprint).to.not.equal(digest({}).fingerprint);
    const slice = (ready: boolean): KubeObject => ({ apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name: "web-x", namespace: "shop" }, endpoints: [{ addresses: ["10.0.0.5"], conditions: { ready } }] });
    expect(digest({ EndpointSlice: [slice(true)] }).fingerprint).to.not.equal(digest({ EndpointSlice: [slice(false)] }).fingerprint);
  });
});

describe("settle: the tracker's window", () => {
  function scripted(samples: ClusterSample[]) {
    let i = 0;
    return () => Promise.resolve(samples[Math.min(i++, samples.length - 1)]!);
  }

  it("settles once the fingerprint held for the window since the check started", async () => {
    const clock = new FakeClock(NOW, { auto: false });
    const tracker = new SettleTracker(scripted([{ fingerprint: "a", converging: [] }]), clock, { windowMs: 5_000, maxSampleAgeMs: 0 });
    expect(await tracker.verdict(NOW)).to.deep.equal({ settled: false, reason: "unchanged for 0ms of 5s" });
    await clock.advance(4_000);
    expect((await tracker.verdict(NOW)).settled).to.equal(false);
    await clock.advance(1_000);
    expect(await tracker.verdict(NOW)).to.deep.equal({ settled: true, message: "settled: the cluster did not change for 5s" });
    // a check that started later needs its own window
    expect((await tracker.verdict(NOW + 3_000)).settled).to.equal(false);
  });

  it("a new fingerprint or a converging sample restarts the window", async () => {
    const clock = new FakeClock(NOW, { auto: false });
    const tracker = new SettleTracker(
      scripted([
        { fingerprint: "a", converging: [] },
        { fingerprint: "b", converging: [] },
        { fingerprint: "b", converging: ["pod x is terminating"] },
        { fingerprint: "b", converging: [] },
      ]),
      clock,
      { windowMs: 5_000, maxSampleAgeMs: 0 },
    );
    await tracker.verdict(NOW);
    await clock.advance(6_000);
    expect((await tracker.verdict(NOW)).settled).to.equal(false); // b is new
    await clock.advance(6_000);
    expect(await tracker.verdict(NOW)).to.deep.equal({ settled: false, reason: "converging: pod x is terminating" });
    await clock.advance(4_000);
    expect((await tracker.verdict(NOW)).settled).to.equal(false);
    await clock.advance(1_000);
    expect((await tracker.verdict(NOW)).settled).to.equal(true);
  });

  it("reuses a fresh sample instead of listing again", async () => {
    const clock = new FakeClock(NOW, { auto: false });
    let n = 0;
    const tracker = new SettleTracker(() => Promise.resolve({ fingerprint: String(n++ && "a"), converging: [] }), clock, { windowMs: 5_000, maxSampleAgeMs: 1_000 });
    await Promise.all([tracker.verdict(NOW), tracker.verdict(NOW), tracker.verdict(NOW)]);
    await clock.advance(500);
    await tracker.verdict(NOW);
    expect(n).to.equal(1);
  });
});
