/**
 * `labrun grade` end to end in-process: the CLI, runner/cluster/kube.ts, the engine
 * and the reporters against a fake API server that looks like the broken
 * BeeBox cluster (no Docker). Exit codes, lab resolution, attempt recording.
 */
import { expect } from "chai";
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gradeProgress } from "../../../runner/cli/commands/grade.ts";
import { LabStore } from "../../../runner/lab/state.ts";
import { fakeKubeconfig, runCli, ROOT } from "../../helpers/cli.ts";

const NOT_READY = "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized";

function node(name: string, controlPlane: boolean) {
  return {
    metadata: { name, labels: controlPlane ? { "node-role.kubernetes.io/control-plane": "" } : {} },
    status: { conditions: [{ type: "Ready", status: "False", reason: "KubeletNotReady", message: NOT_READY }] },
  };
}

function pendingPod(name: string, namespace: string, image: string, labels: Record<string, string>) {
  return {
    metadata: { name, namespace, uid: `uid-${name}`, labels },
    spec: { containers: [{ name: "c", image }] },
    status: { phase: "Pending", conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/2 nodes are available: 2 node(s) had untolerated taint {node.kubernetes.io/not-ready: }." }] },
  };
}

interface FakeApi {
  server: Server;
  url: string;
  /** Called with the path of every request. */
  onRequest?: (path: string) => void;
}

/** A broken BeeBox cluster: nodes NotReady, every pod Pending. */
async function brokenBeebox(): Promise<FakeApi> {
  const api: FakeApi = { server: undefined as unknown as Server, url: "" };
  const pods = [
    pendingPod("cyberdyne-frontend", "default", "docker.io/library/nginx:1.22.1", { app: "cyberdyne-frontend" }),
    pendingPod("testclient", "default", "docker.io/curlimages/curl:7.88.1", { app: "testclient" }),
    pendingPod("coredns-abc", "kube-system", "registry.k8s.io/coredns/coredns:v1.12.1", { "k8s-app": "kube-dns" }),
  ];
  const server = createServer((req, res) => {
    const url = new URL(req.url!, "http://x");
    api.onRequest?.(url.pathname);
    const send = (status: number, json: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(json));
    };
    if (url.pathname === "/version") return send(200, { gitVersion: "v1.34.12" });
    if (url.pathname === "/api/v1") {
      return send(200, {
        kind: "APIResourceList",
        groupVersion: "v1",
        resources: [
          { name: "pods", namespaced: true, kind: "Pod", verbs: ["get", "list"] },
          { name: "nodes", namespaced: false, kind: "Node", verbs: ["get", "list"] },
          { name: "services", namespaced: true, kind: "Service", verbs: ["get", "list"] },
        ],
      });
    }
    if (url.pathname === "/api/v1/nodes") return send(200, { kind: "NodeList", metadata: {}, items: [node("beebox-control-plane", true), node("beebox-worker", false)] });
    const list = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname);
    if (list) {
      const selector = url.searchParams.get("labelSelector");
      const items = pods.filter((p) => p.metadata.namespace === list[1] && (!selector || selector.split(",").every((kv) => p.metadata.labels[kv.split("=")[0]!] === kv.split("=")[1])));
      return send(200, { kind: "PodList", metadata: {}, items });
    }
    const get = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(url.pathname);
    if (get) {
      const p = pods.find((x) => x.metadata.namespace === get[1] && x.metadata.name === get[2]);
      return p ? send(200, { apiVersion: "v1", kind: "Pod", ...p }) : send(404, { kind: "Status", code: 404, message: "not found" });
    }
    return send(404, { kind: "Status", code: 404, message: `${url.pathname} not found` });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  api.server = server;
  api.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return api;
}

describe("labrun grade (CLI)", function () {
  this.timeout(20_000);
  let api: FakeApi;
  before(async () => {
    api = await brokenBeebox();
  });
  after(() => {
    api.server.closeAllConnections();
    api.server.close();
  });

  it("grades a scenario against any cluster with --kubeconfig: failing checks, reasons, hints; exit 1", async () => {
    const r = await runCli(["grade", "beebox-cni", "--kubeconfig", fakeKubeconfig(api.url), "--timeout", "1s", "-o", "json"], { cwd: ROOT });
    expect(r.code, r.stderr).to.equal(1);
    const report = JSON.parse(r.stdout) as { score: { points: number; passed: boolean }; lab: Record<string, string>; checks: { id: string; status: string; message: string; hint?: string; evidence: { observed?: string }[] }[] };
    expect(report.lab).to.deep.equal({ name: "fake", cluster: "fake", provider: "kubeconfig" });
    expect(report.score).to.deep.include({ points: 0, passed: false });
    const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]));
    expect(byId["nodes-ready"]!.status).to.equal("failed");
    expect(byId["nodes-ready"]!.message).to.include("cni plugin not initialized");
    expect(byId["nodes-ready"]!.hint).to.match(/kubectl describe node/);
    // no node shell on a cluster labrun did not create: error, not a failure
    expect(byId["cni-configured"]!.status).to.equal("error");
    expect(byId["coredns-running"]!.status).to.equal("skipped");
    expect(byId["http-by-ip"]!.message).to.equal("skipped: needs workloads-running (skipped)");
    expect(byId["http-by-dns"]!.status).to.equal("skipped");
  });

  it("prints the text report by default", async () => {
    const r = await runCli(["grade", "beebox-cni", "--kubeconfig", fakeKubeconfig(api.url), "--timeout", "500ms"], { cwd: ROOT });
    expect(r.code).to.equal(1);
    expect(r.stdout).to.include("nodes-ready").and.include("cni plugin not initialized");
  });

  it("exits 3 at once when the cluster is unreachable (the refusal, not a deadline)", async () => {
    const r = await runCli(["grade", "beebox-cni", "--kubeconfig", fakeKubeconfig("http://127.0.0.1:1")], { cwd: ROOT });
    expect(r.code).to.equal(3);
    // "cannot reach" (connection refused), not "did not answer within 5s": no deadline was waited out
    expect(r.stderr).to.match(/^error: cannot reach the Kubernetes API at http:\/\/127\.0\.0\.1:1/m);
    expect(r.stderr).to.match(/^hint: /m);
  });

  it("Ctrl-C stops a grade with exit 130 and no report", async () => {
    const controller = new AbortController();
    // Interrupt once the grade is polling the API (not at a wall-clock time that may come before it starts on a busy machine).
    api.onRequest = (url) => {
      if (url.startsWith("/api/v1/nodes")) controller.abort("SIGINT");
    };
    const r = await runCli(["grade", "beebox-cni", "--kubeconfig", fakeKubeconfig(api.url)], { cwd: ROOT, signal: controller.signal });
    api.onRequest = undefined;
    // nodes-ready polls for 60 s: ending within mocha's 10 s timeout means the interrupt stopped it
    expect(controller.signal.aborted).to.equal(true);
    expect(r.code).to.equal(130);
    expect(r.stderr).to.include("error: interrupted by SIGINT");
    expect(r.stdout).to.equal("");
  });

  it("shows a transient progress line on a TTY and clears it", () => {
    const chunks: string[] = [];
    const stderr = { write: (s: string) => (chunks.push(s), true), isTTY: true } as unknown as NodeJS.WritableStream & { isTTY?: boolean };
    const p = gradeProgress({ stderr, env: {} }, { title: "grading beebox-cni on lab bb", tty: true });
    p.listener({ type: "grade-started", scenario: "beebox-cni", lab: "bb", checks: 7, at: new Date(0).toISOString() });
    p.listener({ type: "check-started", id: "nodes-ready", title: "t", kind: "nodesReady" });
    p.listener({ type: "check-attempt", id: "nodes-ready", attempt: 1, ok: false, message: "2 of 2 nodes not Ready" });
    p.listener({ type: "log", level: "warn", message: "could not stop probe x" });
    p.stop();
    const text = chunks.join("");
    expect(text).to.include("warning: could not stop probe x\n");
    expect(text.endsWith("\r\u001b[2K")).to.equal(true);
  });

  it("usage errors exit 2", async () => {
    expect((await runCli(["grade", "beebox-cni", "--context", "x"])).code).to.equal(2);
    expect((await runCli(["grade", "--kubeconfig", fakeKubeconfig(api.url)])).code).to.equal(2);
    expect((await runCli(["grade", "beebox-cni", "--kubeconfig", fakeKubeconfig(api.url), "--timeout", "soon"])).code).to.equal(2);
    expect((await runCli(["grade", "beebox-cni", "--kubeconfig", fakeKubeconfig(api.url), "-o", "yaml"])).code).to.equal(2);
    const state = mkdtempSync(join(tmpdir(), "labrun-state-"));
    const none = await runCli(["grade", "nope"], { env: { LABRUN_STATE_DIR: state } });
    expect(none.code).to.equal(2);
    expect(none.stderr).to.include('no lab named "nope"');
  });

  it("grades a lab from the store and records the attempt", async () => {
    const state = mkdtempSync(join(tmpdir(), "labrun-state-"));
    const store = new LabStore({ dir: state });
    const file = fakeKubeconfig(api.url);
    await store.create({ name: "bb", scenario: "beebox-cni", scenarioDir: join(ROOT, "scenarios/beebox-cni"), provider: "kubeconfig", cluster: "fake", kubeconfig: file, context: "fake", status: "ready" });
    const first = await runCli(["grade", "--timeout", "300ms", "-o", "json"], { env: { LABRUN_STATE_DIR: state } });
    expect(first.code, first.stderr).to.equal(1);
    expect((JSON.parse(first.stdout) as { attempt: number }).attempt).to.equal(1);
    const second = await runCli(["grade", "beebox-cni", "--timeout", "300ms", "-o", "json"], { env: { LABRUN_STATE_DIR: state } });
    expect((JSON.parse(second.stdout) as { attempt: number }).attempt).to.equal(2);
    const record = await store.require("bb");
    expect(record.attempts.map((a) => [a.attempt, a.passed])).to.deep.equal([
      [1, false],
      [2, false],
    ]);
  });
});
