/**
 * reachability against a scripted cluster: declared pods probe through the
 * ProbeManager, labrun's own rows (strangers, labelled pods) are created,
 * probed by exec into themselves and deleted; a policy is a function of the
 * source pod's labels.
 */
import { expect } from "chai";
import { CheckEvalError, DEFAULT_SETTINGS, type CheckContext, type Observation } from "../../../checks/context.ts";
import { evaluateCheck } from "../../../checks/kinds/index.ts";
import { OwnedPods, STRANGER_NAMESPACE_PREFIX, strangerLabels } from "../../../checks/owned.ts";
import { ProbeManager } from "../../../checks/probe.ts";
import { WorkloadIndex } from "../../../checks/workloads.ts";
import type { Check } from "../../../runner/schema/scenario.ts";
import { FakeCluster, LAB, pod, scenarioWith } from "./fakes.ts";

const SHOP = `apiVersion: v1
kind: Pod
metadata: { name: frontend, namespace: shop }
spec: { containers: [{ name: nginx, image: docker.io/library/nginx:1.22.1 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: client, namespace: shop }
spec: { containers: [{ name: curl, image: docker.io/curlimages/curl:7.88.1 }] }
---
apiVersion: v1
kind: Pod
metadata: { name: intruder, namespace: shop }
spec: { containers: [{ name: curl, image: docker.io/curlimages/curl:7.88.1 }] }
`;

const check = {
  id: "only-client",
  title: "only the client reaches the frontend",
  reachability: {
    sources: [{ pod: "client", namespace: "shop" }, { pod: "intruder", namespace: "shop" }, { stranger: "sameNamespace" }, { stranger: "otherNamespace" }],
    targets: [{ pod: "frontend", namespace: "shop", ports: [80] }],
    expect: { default: "blocked", cells: [{ from: "client", to: "frontend", is: "allowed" }] },
  },
} as Check;

/** The shop, and a cluster that starts labrun's pods (Running, an IP) and makes a new namespace's default ServiceAccount. */
function shop(options: { ownedStart?: "run" | "pending" | "image" } = {}): FakeCluster {
  const c = new FakeCluster().put(
    pod("frontend", { namespace: "shop", ip: "10.244.1.10", container: "nginx", image: "docker.io/library/nginx:1.22.1", labels: { app: "frontend" } }),
    pod("client", { namespace: "shop", ip: "10.244.1.11", container: "curl", image: "docker.io/curlimages/curl:7.88.1", labels: { app: "client" } }),
    pod("intruder", { namespace: "shop", ip: "10.244.2.12", container: "curl", image: "docker.io/curlimages/curl:7.88.1", labels: { app: "intruder" } }),
  );
  let ip = 100;
  c.beforeRead = () => {
    for (const o of [...c.objects.values()]) {
      if (o.kind === "Namespace" && o.metadata.name.startsWith(STRANGER_NAMESPACE_PREFIX)) {
        c.put({ apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: o.metadata.name } });
      }
      if (o.kind !== "Pod" || !o.metadata.name.startsWith("labrun-probe-") || o.status) continue;
      const mode = options.ownedStart ?? "run";
      const started = pod(o.metadata.name, {
        namespace: o.metadata.namespace!,
        labels: o.metadata.labels!,
        container: "probe",
        image: "ghcr.io/labrun/probe:v0.2.0",
        ...(mode === "run" ? { ip: `10.244.3.${ip++}` } : mode === "pending" ? { phase: "Pending", unschedulable: "0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }" } : { phase: "Pending", waiting: "ErrImageNeverPull" }),
      });
      c.put({ ...o, status: started.status, spec: { ...(o.spec as object), ...(mode === "run" ? { nodeName: "n1" } : {}) } });
    }
  };
  return c;
}

function labelsOf(c: FakeCluster, namespace: string, name: string): Record<string, string> {
  return c.objects.get(FakeCluster.key("v1", "Pod", namespace, name))?.metadata.labels ?? {};
}

/** A policy on the frontend (10.244.1.10:80) as a function of the source's labels and namespace. */
function policy(c: FakeCluster, allow: (labels: Record<string, string>, namespace: string) => boolean) {
  c.probe = ({ pod: name, namespace, verb, args }) => {
    if (verb !== "tcp") return { ok: false, error: `unexpected ${verb}` };
    if (args.addr !== "10.244.1.10:80") return { ok: false, error: `dial tcp ${args.addr}: connect: connection refused` };
    return allow(labelsOf(c, namespace, name), namespace) ? { ok: true, durationMs: 1 } : { ok: false, error: "dial tcp 10.244.1.10:80: i/o timeout" };
  };
}

async function observe(c: FakeCluster, chk: Check = check, owned?: OwnedPods): Promise<Observation> {
  const ctx: CheckContext = {
    client: c,
    scenario: scenarioWith([chk]),
    lab: LAB,
    check: chk,
    probes: new ProbeManager(c),
    workloads: new WorkloadIndex().addManifests(SHOP),
    signal: new AbortController().signal,
    logger: { debug: () => undefined, info: () => undefined, warn: () => undefined },
    settings: DEFAULT_SETTINGS,
    attempt: 1,
    ...(owned ? { owned } : {}),
  };
  return evaluateCheck("reachability", ctx);
}

const ownedPods = (c: FakeCluster) => [...c.objects.values()].filter((o) => o.kind === "Pod" && o.metadata.name.startsWith("labrun-probe-"));

describe("reachability", () => {
  it("passes when only the client reaches the frontend, strangers included; labrun's pods are deleted afterwards", async () => {
    const c = shop();
    policy(c, (labels) => labels.app === "client");
    const o = await observe(c);
    expect(o.ok, o.message).to.equal(true);
    expect(o.message).to.equal("4 connections as expected (1 allowed, 3 blocked)");
    expect(o.connectivity).to.deep.equal([
      { from: "shop/client", to: "shop/frontend:80", expected: "allowed", observed: "allowed" },
      { from: "shop/intruder", to: "shop/frontend:80", expected: "blocked", observed: "blocked" },
      { from: "shop/(stranger)", to: "shop/frontend:80", expected: "blocked", observed: "blocked" },
      { from: "(another namespace)/(stranger)", to: "shop/frontend:80", expected: "blocked", observed: "blocked" },
    ]);
    // declared pods probe through an ephemeral container; labrun's own pods are exec'd into directly
    expect(c.ephemeral.map((e) => `${e.namespace}/${e.pod}`).sort()).to.deep.equal(["shop/client", "shop/intruder"]);
    expect(ownedPods(c), "labrun's pods are deleted when the check made its own OwnedPods").to.deep.equal([]);
    expect([...c.objects.values()].filter((o) => o.kind === "Namespace"), "the strangers' namespace is deleted").to.deep.equal([]);
  });

  it("fails the 'open to all but the intruder' attack: the strangers get in", async () => {
    const c = shop();
    policy(c, (labels) => labels.app !== "intruder");
    const o = await observe(c);
    expect(o.ok).to.equal(false);
    expect(o.message).to.equal(
      "2 connections not as expected: shop/(stranger) → shop/frontend:80 allowed (expected blocked); (another namespace)/(stranger) → shop/frontend:80 allowed (expected blocked)",
    );
    // the evidence names labrun's pods and their random labels, wrong cells first
    expect(o.evidence[0]!.label).to.match(/^TCP 10\.244\.1\.10:80 from stranger in shop: labrun's pod shop\/labrun-probe-[0-9a-f]{8} \(app=stranger-[0-9a-f]{10}\) to pod shop\/frontend \(10\.244\.1\.10\)$/);
    expect(o.evidence[0]!.observed).to.equal("connected in 1ms; probed again: connected in 1ms");
  });

  it("fails, never passes, when the frontend does not listen (no positive control)", async () => {
    const c = shop();
    policy(c, () => false);
    c.probe = () => ({ ok: false, error: "dial tcp 10.244.1.10:80: connect: connection refused" });
    const o = await observe(c);
    expect(o.ok).to.equal(false);
    expect(o.connectivity!.map((x) => x.observed)).to.deep.equal(["blocked", "unknown", "unknown", "unknown"]);
    expect(o.message).to.match(/no source reached shop\/frontend:80 in this run, so "blocked" there proves nothing \(is the target listening\?\)$/);
  });

  it("gives strangers fresh random labels for every grade", async () => {
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      const c = shop();
      policy(c, (labels) => {
        if (labels.app?.startsWith("stranger-")) seen.push(labels.app);
        return labels.app === "client";
      });
      expect((await observe(c)).ok).to.equal(true);
    }
    expect(seen).to.have.length(6);
    for (const app of seen) expect(app).to.match(/^stranger-[0-9a-f]{10}$/);
    expect(new Set(seen).size, "every stranger label differs").to.equal(6);
    expect(strangerLabels(() => "abc")).to.deep.equal({ app: "stranger-abc" });
  });

  it("creates labelled rows with exactly the labels given, in their namespace", async () => {
    const c = shop();
    const created: Record<string, string>[] = [];
    policy(c, (labels) => {
      if (!["client", "intruder"].includes(labels.app ?? "")) created.push(labels);
      return labels.app === "client" || labels.role === "monitoring";
    });
    const chk = {
      ...check,
      reachability: {
        sources: [{ pod: "client", namespace: "shop" }, { name: "prom", labels: { app: "prometheus", role: "monitoring" }, namespace: "shop" }],
        targets: [{ pod: "frontend", namespace: "shop" }],
        expect: { default: "allowed" },
      },
    } as Check;
    const o = await observe(c, chk);
    expect(o.ok, o.message).to.equal(true);
    expect(created).to.deep.equal([{ app: "prometheus", role: "monitoring" }]);
    expect(o.connectivity![1]!.from).to.equal("shop/(labrun pod app=prometheus,role=monitoring)");
  });

  it("shares labrun's pods across attempts of a grade, and fails with evidence when they cannot start (no CNI), within the check's time", async () => {
    const c = shop({ ownedStart: "pending" });
    policy(c, (labels) => labels.app === "client");
    const owned = new OwnedPods(c, { pollMs: 5 });
    const chk = { ...check, timeout: "100ms" } as Check;
    const o = await observe(c, chk, owned);
    expect(o.ok).to.equal(false);
    expect(o.message).to.match(/^labrun's probe pod shop\/labrun-probe-[0-9a-f]{8} \(stranger in shop\) did not start within 100ms: Pending: Unschedulable: 0\/2 nodes are available.* \(and 1 more\)$/);
    expect(o.evidence.map((e) => e.expected)).to.deep.equal(["Running on the pod network", "Running on the pod network"]);
    expect(o.connectivity!.every((x) => x.observed === "unknown")).to.equal(true);
    const first = owned.created.length;
    expect(first).to.equal(2);
    await observe(c, chk, owned);
    expect(owned.created.length, "a second attempt reuses the pods").to.equal(first);
    expect(ownedPods(c)).to.have.length(2);
    expect(await owned.dispose()).to.deep.equal([]);
    expect(ownedPods(c)).to.deep.equal([]);
  });

  it("two checks of one grade running at once share labrun's pods (one per row)", async () => {
    const c = shop();
    policy(c, (labels) => labels.app === "client");
    const owned = new OwnedPods(c, { pollMs: 5 });
    const [a, b] = await Promise.all([observe(c, check, owned), observe(c, check, owned)]);
    expect(a.ok && b.ok, `${a.message} / ${b.message}`).to.equal(true);
    expect(owned.created).to.have.length(2);
    expect(new Set(owned.created.map((p) => p.split("/")[0]!.startsWith(STRANGER_NAMESPACE_PREFIX))).size, "one in shop, one in a fresh namespace").to.equal(2);
    await owned.dispose();
    expect(ownedPods(c)).to.deep.equal([]);
  });

  it("is a final error when labrun's probe image is missing on the nodes", async () => {
    const c = shop({ ownedStart: "image" });
    policy(c, () => true);
    const e = await observe(c).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(e).to.be.instanceOf(CheckEvalError);
    expect((e as CheckEvalError).final).to.equal(true);
    expect((e as CheckEvalError).message).to.match(/cannot start: Pending.*: container probe: ErrImageNeverPull/);
  });

  it("fails with the evidence when a declared source pod was replaced", async () => {
    const c = shop();
    c.put(pod("intruder", { namespace: "shop", ip: "10.244.2.12", container: "curl", image: "docker.io/library/nginx:1.22.1", labels: { app: "intruder" } }));
    policy(c, (labels) => labels.app === "client");
    const o = await observe(c);
    expect(o.ok).to.equal(false);
    expect(o.message).to.match(/^source pod shop\/intruder is not the pod the scenario deploys/);
    expect(ownedPods(c)).to.deep.equal([]);
  });
});

