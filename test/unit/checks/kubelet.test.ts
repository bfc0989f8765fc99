/**
 * The kubelet look (checks/kubelet.ts) and nodesReady with it: a node whose
 * Ready condition was patched through the API, with no kubelet running on it
 * or a runtime without a network, is not Ready.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { ExecResult } from "../../../runner/cluster/client.ts";
import { CheckEvalError } from "../../../checks/context.ts";
import { KUBELET_SCRIPT, kubeletProblem, lookAtKubelets, parseKubeletDump } from "../../../checks/kubelet.ts";
import { WorkloadIndex } from "../../../checks/workloads.ts";
import { InfraError, UsageError } from "../../../runner/errors.ts";
import type { Check } from "../../../runner/schema/scenario.ts";
import { FakeCluster, node, observeCheck } from "./fakes.ts";

const runtime = (network: boolean, extra = "") =>
  JSON.stringify({
    status: {
      conditions: [
        { type: "RuntimeReady", status: true, reason: "", message: "" },
        network
          ? { type: "NetworkReady", status: true, reason: "", message: "" }
          : { type: "NetworkReady", status: false, reason: "NetworkPluginNotReady", message: "Network plugin returns error: cni plugin not initialized" },
      ],
    },
    config: { containerd: { snapshotter: "overlayfs" } },
  }) + extra;

const dump = (healthz: string, runtimeText: string) => `### healthz http://127.0.0.1:10248/healthz\n${healthz}\n### runtime\n${runtimeText}\n`;
const ok = (stdout: string): ExecResult => ({ exitCode: 0, stdout, stderr: "", timedOut: false });

/** One evaluation of the check on the fake cluster, with no workloads declared. */
const observe = (cluster: FakeCluster, check: Check) => observeCheck(cluster, check, { workloads: new WorkloadIndex() });

describe("the kubelet look", () => {
  describe("parseKubeletDump / kubeletProblem", () => {
    it("a running kubelet with a ready runtime: no problem", () => {
      const s = parseKubeletDump(dump("ok", runtime(true)));
      expect(s.healthz).to.equal("ok");
      expect(s.healthzUrl).to.equal("http://127.0.0.1:10248/healthz");
      expect(s.runtime?.map((c) => `${c.type}=${String(c.ready)}`)).to.deep.equal(["RuntimeReady=true", "NetworkReady=true"]);
      expect(kubeletProblem(s)).to.equal(undefined);
    });

    it("no kubelet answering its healthz is a problem, whatever the runtime says", () => {
      const s = parseKubeletDump(dump("no answer (curl exit 7)", runtime(true)));
      expect(kubeletProblem(s)).to.equal("no kubelet answers on the node (http://127.0.0.1:10248/healthz: no answer (curl exit 7))");
      expect(kubeletProblem(parseKubeletDump(dump("", runtime(true))))).to.match(/^no kubelet answers on the node \(.*: no answer\)$/);
      // A healthz that is not exactly "ok" (a failing check list) is not a healthy kubelet.
      expect(kubeletProblem(parseKubeletDump(dump("[-]syncloop failed: reason withheld\nhealthz check failed", runtime(true))))).to.match(/^no kubelet answers/);
    });

    it("a runtime without a pod network is a problem (the kubelet cannot be Ready)", () => {
      const p = kubeletProblem(parseKubeletDump(dump("ok", runtime(false))));
      expect(p).to.equal("the node's container runtime reports NetworkReady=false (NetworkPluginNotReady: Network plugin returns error: cni plugin not initialized)");
    });

    it("a runtime that does not answer, or answers without conditions, is a problem", () => {
      expect(kubeletProblem(parseKubeletDump(dump("ok", 'time="..." level=fatal msg="connect: connection refused"')))).to.match(/^the node's container runtime does not answer \(crictl info: .*connection refused/);
      expect(kubeletProblem(parseKubeletDump(dump("ok", JSON.stringify({ status: {} }))))).to.equal("crictl info reports no runtime conditions");
      expect(kubeletProblem(parseKubeletDump(dump("ok", JSON.stringify({ status: { conditions: [{ type: "RuntimeReady", status: true }] } }))))).to.equal("the node's container runtime reports no NetworkReady condition");
    });

    it("the script asks the kubelet's configured healthz address and port", () => {
      // Runs the real script with a fake config, curl and crictl on PATH.
      const dir = mkdtempSync(path.join(tmpdir(), "labrun-kubelet-"));
      const cfg = path.join(dir, "config.yaml");
      writeFileSync(cfg, 'kind: KubeletConfiguration\nhealthzBindAddress: "0.0.0.0"\nhealthzPort: 10299\n');
      writeFileSync(path.join(dir, "curl"), '#!/bin/sh\ncase "$*" in *127.0.0.1:10299/healthz*) printf ok;; *) exit 7;; esac\n', { mode: 0o755 });
      writeFileSync(path.join(dir, "crictl"), `#!/bin/sh\nprintf '%s' '${runtime(true)}'\n`, { mode: 0o755 });
      const out = execFileSync("sh", ["-c", KUBELET_SCRIPT.replace("/var/lib/kubelet/config.yaml", cfg)], { env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: "utf8" });
      const s = parseKubeletDump(out);
      expect(s.healthzUrl).to.equal("http://127.0.0.1:10299/healthz");
      expect(kubeletProblem(s)).to.equal(undefined);
    });
  });

  describe("nodesReady", () => {
    const check = { id: "nodes", title: "nodes are ready", nodesReady: {} } as Check;

    it("passes when the API says Ready and every node's kubelet runs", async () => {
      const c = new FakeCluster().put(node("lab-control-plane", { controlPlane: true }), node("lab-worker"));
      c.nodeRunner = () => ok(dump("ok", runtime(true)));
      const o = await observe(c, check);
      expect(o.ok).to.equal(true);
      expect(o.message).to.equal("2 nodes Ready (kubelets running)");
      expect(c.nodeRuns.map((r) => r.node).sort()).to.deep.equal(["lab-control-plane", "lab-worker"]);
    });

    it("fails a node whose Ready condition was patched while no kubelet runs on it (node-status-patch)", async () => {
      const c = new FakeCluster().put(node("lab-control-plane", { controlPlane: true }), node("lab-worker"));
      c.nodeRunner = (n) => ok(dump(n === "lab-worker" ? "no answer (curl exit 7)" : "ok", runtime(true)));
      const o = await observe(c, check);
      expect(o.ok).to.equal(false);
      expect(o.message).to.match(/^1 of 2 nodes not Ready: lab-worker \(Ready in the API only: no kubelet answers on the node/);
      expect(o.evidence.find((e) => e.label === "node lab-worker")!.observed).to.include("a Ready condition written through the API is not a Ready node");
      expect(o.evidence.find((e) => e.label === "node lab-control-plane")!.observed).to.equal("Ready");
    });

    it("fails a node patched Ready whose runtime has no network (a CNI-less node)", async () => {
      const c = new FakeCluster().put(node("lab-control-plane", { controlPlane: true }));
      c.nodeRunner = () => ok(dump("ok", runtime(false)));
      const o = await observe(c, check);
      expect(o.ok).to.equal(false);
      expect(o.message).to.include("NetworkReady=false");
    });

    it("a Node object with no running container behind it is not Ready", async () => {
      const c = new FakeCluster().put(node("lab-worker"), node("fake-node"));
      c.nodeRunner = (n) => {
        if (n === "fake-node") throw new UsageError('"fake-node" is not a node of cluster "lab"');
        throw new InfraError('the node container "lab-worker" is not running', { code: "NODE_CONTAINER_DOWN" });
      };
      const o = await observe(c, check);
      expect(o.ok).to.equal(false);
      expect(o.evidence.map((e) => e.observed)).to.deep.equal([
        'Ready in the API only: no kubelet runs on the node (no node container of this cluster has that name) (a Ready condition written through the API is not a Ready node)',
        'Ready in the API only: no kubelet runs on the node (the node container "lab-worker" is not running) (a Ready condition written through the API is not a Ready node)',
      ]);
    });

    it("asks only the nodes the API calls Ready, and nothing for `ready: false`", async () => {
      const c = new FakeCluster().put(node("lab-control-plane", { controlPlane: true }), node("lab-worker", { ready: "Unknown" }));
      c.nodeRunner = () => ok(dump("ok", runtime(true)));
      expect((await observe(c, check)).ok).to.equal(false);
      expect(c.nodeRuns.map((r) => r.node)).to.deep.equal(["lab-control-plane"]);
      const notReady = await observe(c, { ...check, nodesReady: { nodes: "worker", ready: false } } as Check);
      expect(notReady.ok).to.equal(true);
      expect(c.nodeRuns).to.have.length(1);
    });

    it("without a node shell (not a kind lab) the API's word stands", async () => {
      const c = new FakeCluster().put(node("cp", { controlPlane: true }));
      const o = await observe(c, check);
      expect(o.ok).to.equal(true);
      expect(o.message).to.equal("1 node Ready");
    });

    it("a node that cannot be asked (Docker failing, a timeout) is an error, not a verdict", async () => {
      const c = new FakeCluster().put(node("lab-worker"));
      c.nodeRunner = () => {
        throw new InfraError("`docker exec` on node \"lab-worker\" failed: Cannot connect to the Docker daemon", { code: "DOCKER_FAILED" });
      };
      const e = await observe(c, check).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).to.be.instanceOf(CheckEvalError);
      expect((e as Error).message).to.match(/^could not ask the nodes whether their kubelets run: .*Docker daemon/);
      const slow = new FakeCluster().put(node("lab-worker"));
      slow.nodeRunner = () => ({ exitCode: 124, stdout: "### healthz x\n", stderr: "", timedOut: true });
      expect(await observe(slow, check).catch((x: unknown) => x)).to.be.instanceOf(CheckEvalError);
    });

    it("checks of the same moment share one look per node", async () => {
      const c = new FakeCluster().put(node("lab-worker"));
      c.nodeRunner = () => ok(dump("ok", runtime(true)));
      const [a, b] = await Promise.all([lookAtKubelets(c, ["lab-worker"], { timeoutMs: 5_000 }), lookAtKubelets(c, ["lab-worker"], { timeoutMs: 5_000 })]);
      expect(a).to.equal(b);
      expect(c.nodeRuns).to.have.length(1);
      await lookAtKubelets(c, ["lab-worker", "other"], { timeoutMs: 5_000 });
      expect(c.nodeRuns).to.have.length(3);
    });
  });
});
