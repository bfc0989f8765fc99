/**
 * podNetwork: the verdict on labrun's echo pods (pure), and the DaemonSet's
 * life against a scripted cluster (a fake DaemonSet controller makes its pods).
 */
import { expect } from "chai";
import { CheckEvalError, DEFAULT_SETTINGS, type CheckContext, type Observation } from "../../../checks/context.ts";
import { evaluateCheck } from "../../../checks/kinds/index.ts";
import { inCidr, podNetworkVerdict, podSpecProblems, podnetCommand, PODNET_NAMESPACE, type EchoAnswer, type EchoPod, type PodNetworkInput } from "../../../checks/podnet.ts";
import { ProbeManager, PROBE_IMAGE } from "../../../checks/probe.ts";
import { WorkloadIndex } from "../../../checks/workloads.ts";
import type { Check } from "../../../runner/schema/scenario.ts";
import { FakeCluster, LAB, node, pod, scenarioWith } from "./fakes.ts";

const cp: EchoPod = { name: "labrun-podnet-8080-aaaaa", node: "lab-control-plane", ips: ["10.244.0.5"] };
const w: EchoPod = { name: "labrun-podnet-8080-bbbbb", node: "lab-worker", ips: ["10.244.1.5"] };

function answer(from: EchoPod, to: EchoPod, change: Partial<EchoAnswer> = {}, reply: Partial<NonNullable<EchoAnswer["reply"]>> = {}): EchoAnswer {
  return { from: from.name, to: to.name, nonce: "n1", status: 200, reply: { nonceMatch: true, hostname: to.name, podIP: to.ips[0]!, peer: `${from.ips[0]!}:41234`, ...reply }, durationMs: 2, ...change };
}

function input(change: Partial<PodNetworkInput> = {}): PodNetworkInput {
  return {
    nodes: ["lab-control-plane", "lab-worker"],
    pods: [cp, w],
    notRunning: [],
    others: [],
    podSubnet: "10.244.0.0/16",
    minNodes: 2,
    port: 8080,
    answers: [answer(cp, w), answer(w, cp)],
    ...change,
  };
}

describe("podNetwork", () => {
  describe("the verdict", () => {
    it("passes when every pod reaches every other with its nonce, from the right pod, unique IPs in the subnet", () => {
      const v = podNetworkVerdict(input());
      expect(v.ok, v.message).to.equal(true);
      expect(v.message).to.equal("2 nodes reach each other's pods over the pod network (2 connections, unique pod IPs in 10.244.0.0/16)");
      expect(v.connectivity).to.deep.equal([
        { from: "lab-control-plane", to: "lab-worker:8080", expected: "allowed", observed: "allowed" },
        { from: "lab-worker", to: "lab-control-plane:8080", expected: "allowed", observed: "allowed" },
      ]);
    });

    it("fails on duplicate pod IPs (the same host-local range on every node)", () => {
      const a = { ...cp, ips: ["10.244.0.2"] };
      const b = { ...w, ips: ["10.244.0.2"] };
      const v = podNetworkVerdict(input({ pods: [a, b], answers: [answer(a, b), answer(b, a)] }));
      expect(v.ok).to.equal(false);
      expect(v.message).to.match(/^pod IP 10\.244\.0\.2 is held by 2 pods \(labrun-podnet-8080-aaaaa \(lab-control-plane\), labrun-podnet-8080-bbbbb \(lab-worker\)\): each node's pods need their own range/);
      expect(v.evidence).to.deep.include({ label: "pod IP 10.244.0.2", expected: "held by one pod", observed: "held by labrun-podnet-8080-aaaaa (lab-control-plane), labrun-podnet-8080-bbbbb (lab-worker)" });
    });

    it("fails on a pod IP another running pod holds too", () => {
      const v = podNetworkVerdict(input({ others: [{ name: "default/testclient", ips: ["10.244.1.5"] }] }));
      expect(v.ok).to.equal(false);
      expect(v.message).to.include("pod IP 10.244.1.5 is held by 2 pods (labrun-podnet-8080-bbbbb (lab-worker), default/testclient)");
    });

    it("fails on a pod IP outside the cluster's pod subnet", () => {
      const b = { ...w, ips: ["192.168.7.5"] };
      const v = podNetworkVerdict(input({ pods: [cp, b], answers: [answer(cp, b), answer(b, cp)] }));
      expect(v.ok).to.equal(false);
      expect(v.message).to.equal("pod IP 192.168.7.5 on lab-worker is outside the pod subnet 10.244.0.0/16");
    });

    it("fails when the answer does not carry the nonce", () => {
      const v = podNetworkVerdict(input({ answers: [answer(cp, w, {}, { nonceMatch: false }), answer(w, cp)] }));
      expect(v.ok).to.equal(false);
      expect(v.message).to.equal("1 of 2 pod-to-pod connections fail: lab-control-plane → lab-worker: the answer did not carry the nonce n1: it did not come from labrun's echo server");
      expect(v.connectivity[0]!.observed).to.equal("blocked");
    });

    it("fails when another pod answers at the target's address (hostname mismatch)", () => {
      const v = podNetworkVerdict(input({ answers: [answer(cp, w, {}, { hostname: "labrun-podnet-8080-aaaaa" }), answer(w, cp)] }));
      expect(v.ok).to.equal(false);
      expect(v.message).to.include('lab-control-plane → lab-worker: answered by "labrun-podnet-8080-aaaaa", not by labrun-podnet-8080-bbbbb: the address reached another pod');
    });

    it("fails when the target saw another source address (NAT between pods)", () => {
      const v = podNetworkVerdict(input({ answers: [answer(cp, w, {}, { peer: "172.18.0.3:5555" }), answer(w, cp)] }));
      expect(v.ok).to.equal(false);
      expect(v.message).to.include("saw the connection come from 172.18.0.3, not from labrun-podnet-8080-aaaaa's IP 10.244.0.5");
    });

    it("fails when there is no answer", () => {
      const v = podNetworkVerdict(input({ answers: [{ from: cp.name, to: w.name, nonce: "n", error: "dial tcp 10.244.1.5:8080: connect: no route to host" }, answer(w, cp)] }));
      expect(v.ok).to.equal(false);
      expect(v.message).to.include("lab-control-plane → lab-worker: no answer: dial tcp 10.244.1.5:8080: connect: no route to host");
    });

    it("fails when a node has no running echo pod, saying what it does, and counts the nodes", () => {
      const v = podNetworkVerdict(input({ pods: [cp], notRunning: [{ node: "lab-worker", state: "labrun-podnet-8080-bbbbb: Pending on lab-worker: container echo: ContainerCreating" }], answers: [] }));
      expect(v.ok).to.equal(false);
      expect(v.message).to.equal(
        "labrun's echo pod does not run on node lab-worker (labrun-podnet-8080-bbbbb: Pending on lab-worker: container echo: ContainerCreating); only 1 of the required 2 nodes take part",
      );
      expect(v.connectivity).to.deep.equal([{ from: "lab-control-plane", to: "lab-worker:8080", expected: "allowed", observed: "unknown" }]);
    });

    it("is unevaluable, not failed, when only the probes could not run", () => {
      const v = podNetworkVerdict(input({ answers: [{ from: cp.name, to: w.name, nonce: "n", probeError: "exec broke off" }, answer(w, cp)] }));
      expect(v).to.include({ ok: false, couldNotEvaluate: true, message: "1 of 2 probes could not run" });
    });

    it("knows IPv4 CIDRs", () => {
      expect(inCidr("10.244.3.4", "10.244.0.0/16")).to.equal(true);
      expect(inCidr("10.245.0.1", "10.244.0.0/16")).to.equal(false);
      expect(inCidr("192.168.1.4", "192.168.0.0/16")).to.equal(true);
      expect(inCidr("fd00::1", "10.244.0.0/16")).to.equal(undefined);
    });
  });

  describe("the echo DaemonSet", () => {
    /** Two nodes and a fake DaemonSet controller: one Running echo pod per node, unique IPs. */
    function cluster(options: { start?: "run" | "pending" | "image" } = {}) {
      const c = new FakeCluster().put(node("lab-control-plane", { controlPlane: true }), node("lab-worker"));
      let n = 0;
      c.beforeRead = () => {
        const ds = [...c.objects.values()].find((o) => o.kind === "DaemonSet" && o.metadata.namespace === PODNET_NAMESPACE);
        if (!ds) return;
        if (!ds.metadata.uid) ds.metadata.uid = `ds-${++n}`;
        const template = (ds.spec as { template: { metadata: { labels: Record<string, string> }; spec: Record<string, unknown> } }).template;
        for (const [i, nodeName] of ["lab-control-plane", "lab-worker"].entries()) {
          const exists = [...c.objects.values()].some((o) => o.kind === "Pod" && o.metadata.namespace === PODNET_NAMESPACE && (o.spec as { nodeName?: string }).nodeName === nodeName);
          if (exists) continue;
          const name = `labrun-podnet-8080-${++n}x`;
          const mode = options.start ?? "run";
          const p = pod(name, {
            namespace: PODNET_NAMESPACE,
            labels: template.metadata.labels,
            container: "echo",
            ...(mode === "run" ? { ip: `10.244.${i}.${10 + n}` } : { phase: "Pending", waiting: mode === "image" ? "ErrImageNeverPull" : "ContainerCreating" }),
          });
          c.put({ ...p, metadata: { ...p.metadata, ownerReferences: [{ kind: "DaemonSet", name: ds.metadata.name, uid: ds.metadata.uid }] }, spec: { ...structuredClone(template.spec), nodeName } });
        }
      };
      const ipOf = (name: string) => (c.objects.get(FakeCluster.key("v1", "Pod", PODNET_NAMESPACE, name))?.status as { podIP?: string } | undefined)?.podIP;
      c.probe = ({ pod: from, verb, args }) => {
        if (verb !== "echo") return { ok: false, error: `unexpected ${verb}` };
        const ip = /^http:\/\/([\d.]+):8080$/.exec(args.url ?? "")?.[1];
        const to = [...c.objects.values()].find((o) => o.kind === "Pod" && ipOf(o.metadata.name) === ip);
        if (!to) return { ok: false, error: `dial tcp ${ip}:8080: no route to host` };
        return { ok: true, status: 200, nonce: args.nonce, nonceMatch: true, hostname: to.metadata.name, podIP: ip, peer: `${ipOf(from)}:40000`, durationMs: 1 };
      };
      return c;
    }

    async function observe(c: FakeCluster, spec: Record<string, unknown> = {}, timeout = "1s"): Promise<Observation> {
      const chk = { id: "pod-network", title: "pods reach each other", timeout, podNetwork: spec } as Check;
      const source = scenarioWith([chk]);
      (source.scenario.spec.cluster as { nodes: unknown[] }).nodes = [{ role: "control-plane" }, { role: "worker" }];
      const ctx: CheckContext = {
        client: c,
        scenario: source,
        lab: LAB,
        check: chk,
        probes: new ProbeManager(c),
        workloads: WorkloadIndex.empty(),
        signal: new AbortController().signal,
        logger: { debug: () => undefined, info: () => undefined, warn: () => undefined },
        settings: { ...DEFAULT_SETTINGS, podSubnet: "10.244.0.0/16" },
        attempt: 1,
      };
      return evaluateCheck("podNetwork", ctx);
    }

    const daemonSet = (c: FakeCluster) => c.objects.get(FakeCluster.key("apps/v1", "DaemonSet", PODNET_NAMESPACE, "labrun-podnet-8080"));
    const echoPods = (c: FakeCluster) => [...c.objects.values()].filter((o) => o.kind === "Pod" && o.metadata.namespace === PODNET_NAMESPACE);

    it("creates labrun-system and the DaemonSet on first use: every taint tolerated, never the host network, labrun's probe holding with the echo server", async () => {
      const c = cluster();
      const o = await observe(c);
      expect(o.ok, o.message).to.equal(true);
      expect(c.objects.has(FakeCluster.key("v1", "Namespace", undefined, PODNET_NAMESPACE))).to.equal(true);
      const spec = (daemonSet(c)!.spec as { template: { spec: Record<string, unknown> } }).template.spec;
      expect(spec.hostNetwork).to.equal(false);
      expect(spec.tolerations).to.deep.equal([{ operator: "Exists" }]);
      const container = (spec.containers as { image: string; command: string[] }[])[0]!;
      expect(container.image).to.equal(PROBE_IMAGE);
      expect(container.command).to.deep.equal(["labrun-probe", "hold", "--max", "0", "--listen", ":8080"]);
      expect(podSpecProblems(spec, 8080, PROBE_IMAGE)).to.deep.equal([]);
      // kept for the lab's life: a second grade reuses it
      const pods = echoPods(c).map((p) => p.metadata.name);
      expect((await observe(c)).ok).to.equal(true);
      expect(echoPods(c).map((p) => p.metadata.name)).to.deep.equal(pods);
    });

    it("replaces an echo pod that has a foreign ephemeral container, and says so", async () => {
      const c = cluster();
      await observe(c);
      const victim = echoPods(c).find((p) => (p.spec as { nodeName: string }).nodeName === "lab-worker")!;
      (victim.spec as Record<string, unknown>).ephemeralContainers = [{ name: "debugger-x", image: "docker.io/library/nginx:1.22.1" }];
      const o = await observe(c);
      expect(o.ok, o.message).to.equal(true);
      expect(o.message).to.match(/\(labrun repaired its echo pods first: 1 changed\)$/);
      expect(o.evidence[0]!.observed).to.match(/^has ephemeral containers labrun did not add \(debugger-x: docker.io\/library\/nginx:1.22.1\); labrun deleted it/);
      expect(echoPods(c).map((p) => p.metadata.name)).to.not.include(victim.metadata.name);
    });

    it("makes the DaemonSet again when its pod template was changed (hostNetwork)", async () => {
      const c = cluster();
      await observe(c);
      const ds = daemonSet(c)!;
      (ds.spec as { template: { spec: Record<string, unknown> } }).template.spec.hostNetwork = true;
      for (const p of echoPods(c)) c.remove("v1", "Pod", PODNET_NAMESPACE, p.metadata.name);
      const o = await observe(c);
      expect(o.ok, o.message).to.equal(true);
      expect(o.evidence[0]).to.deep.include({ label: `DaemonSet ${PODNET_NAMESPACE}/labrun-podnet-8080` });
      expect(o.evidence[0]!.observed).to.match(/^changed: runs on the host network; labrun made it again$/);
      expect((daemonSet(c)!.spec as { template: { spec: Record<string, unknown> } }).template.spec.hostNetwork).to.equal(false);
    });

    it("fails within the check's time, with the pods' state, when they cannot start (no CNI)", async () => {
      const c = cluster({ start: "pending" });
      const o = await observe(c, {}, "100ms");
      expect(o.ok).to.equal(false);
      expect(o.message).to.match(/^labrun.s echo pod does not run on nodes lab-control-plane, lab-worker \(labrun-podnet-8080-\d+x: Pending on lab-control-plane: container echo: ContainerCreating\); only 0 of the required 2 nodes take part$/);
    });

    it("is a final error when the probe image is missing", async () => {
      const c = cluster({ start: "image" });
      const e = await observe(c, {}, "100ms").then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).to.be.instanceOf(CheckEvalError);
      expect((e as CheckEvalError).final).to.equal(true);
    });

    it("requires minNodes (default: the scenario's node count)", async () => {
      const c = cluster();
      const o = await observe(c, { minNodes: 3 });
      expect(o.ok).to.equal(false);
      expect(o.message).to.equal("only 2 of the required 3 nodes take part");
    });

    it("echo command is what the DaemonSet runs", () => {
      expect(podnetCommand(9000)).to.deep.equal(["labrun-probe", "hold", "--max", "0", "--listen", ":9000"]);
    });
  });
});

