/**
 * Grading beebox-cni on a real 2-node kind cluster (labrun-e2e-grade, always
 * removed), one cluster for the whole story:
 *
 *   1. broken (no CNI): 0 of the network checks, nodes-ready failing with the
 *      kubelet's CNI reason, the scenario's hints; exit 1;
 *   2. the host-network shortcut does not pass;
 *   3. a learner's fake testclient whose `curl` always prints the nginx page
 *      (while the network is still broken) does not pass, and the report says why;
 *   4. after the reference solution (Flannel): full marks; exit 0; one probe
 *      container in the source pod, holding, reused by the next grade.
 *
 * Grade times are printed (no timed assertions). Needs Docker, kind and the
 * offline images (tools/images/build.sh); skipped otherwise.
 *
 *   npx mocha --timeout 0 'test/e2e/grade/*.test.ts'
 */
import { expect } from "chai";
import { execa } from "execa";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { KubeObject } from "../../../runner/cluster/client.ts";
import { grade } from "../../../checks/grade.ts";
import { isLabrunProbeContainer, PROBE_IMAGE } from "../../../checks/probe.ts";
import { createKubeClient, type KubeClusterClient } from "../../../runner/cluster/kube.ts";
import { skipWithoutNodeImage } from "../../helpers/node-image.ts";
import { labrunProcess, nodeKubectl, ROOT, show } from "../../helpers/e2e.ts";
import { podSubnetOf, serviceSubnetOf } from "../../../runner/lab/render.ts";
import { runSteps, type StepContext } from "../../../runner/lab/steps.ts";
import { KindProvider, resolveKindBinary } from "../../../runner/providers/kind.ts";
import type { CheckResult, Report } from "../../../runner/schema/report.ts";
import { loadScenario, type LoadedScenario } from "../../../runner/scenario/load.ts";
import type { Step } from "../../../runner/schema/scenario.ts";

const KIND = resolveKindBinary();
const LAB = "e2e-grade";
const CLUSTER = `labrun-${LAB}`;
const CONTROL_PLANE = `${CLUSTER}-control-plane`;
const NETWORK_CHECKS = ["http-by-ip", "pod-dns", "http-by-dns"];

/** The learner's fake: "testclient" on the host network, an nginx image whose `curl` prints the nginx page whatever the URL. */
const FAKE_TESTCLIENT: KubeObject = {
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "testclient", namespace: "default", labels: { app: "testclient", "app.kubernetes.io/part-of": "beebox" } },
  spec: {
    hostNetwork: true,
    tolerations: [{ key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoSchedule" }],
    containers: [
      {
        name: "curl",
        image: "docker.io/library/nginx:1.22.1",
        imagePullPolicy: "IfNotPresent",
        command: ["sh", "-c", "printf '#!/bin/sh\\ncat /usr/share/nginx/html/index.html\\n' > /usr/local/bin/curl && chmod +x /usr/local/bin/curl && exec sleep infinity"],
      },
    ],
  },
};

let stateDir: string;
let kubeconfig: string;
let loaded: LoadedScenario;
let client: KubeClusterClient;
let kind: KindProvider;
const timings: string[] = [];

function labrun(args: string[]) {
  return labrunProcess(args, { LABRUN_STATE_DIR: stateDir });
}

async function kubectl(...args: string[]) {
  return nodeKubectl(CONTROL_PLANE, args);
}

async function forceCleanup(): Promise<void> {
  await execa(KIND, ["delete", "cluster", "--name", CLUSTER, "--kubeconfig", path.join(stateDir, "cleanup.kubeconfig")], { reject: false });
  const { stdout } = await execa("docker", ["ps", "-aq", "--filter", `label=io.x-k8s.kind.cluster=${CLUSTER}`], { reject: false });
  const ids = stdout.split("\n").filter(Boolean);
  if (ids.length) await execa("docker", ["rm", "-f", "-v", ...ids], { reject: false });
}

function stepContext(): StepContext {
  return {
    client,
    provider: kind,
    cluster: CLUSTER,
    scenarioDir: loaded.dir,
    vars: { PodSubnet: podSubnetOf(loaded.scenario.spec.cluster), ServiceSubnet: serviceSubnetOf(loaded.scenario.spec.cluster), Cni: "flannel" },
    phase: "solution",
  };
}

/** The scenario without `needs`: every check is evaluated, so the report shows why each one fails. */
function withoutNeeds(source: LoadedScenario): LoadedScenario {
  const checks = source.scenario.spec.checks.map((c) => {
    const copy = { ...c } as Record<string, unknown>;
    delete copy.needs;
    return copy as typeof c;
  });
  return { ...source, scenario: { ...source.scenario, spec: { ...source.scenario.spec, checks } } };
}

async function gradeLib(source: LoadedScenario, timeoutMs: number): Promise<Report> {
  return grade({ scenario: source, client, lab: { name: LAB, cluster: CLUSTER, provider: "kind" }, timeoutMs });
}

function byId(report: Report): Record<string, CheckResult> {
  return Object.fromEntries(report.checks.map((c) => [c.id, c]));
}

async function forceDeletePods(...names: string[]): Promise<void> {
  const r = await kubectl("delete", "pod", "-n", "default", "--grace-period=0", "--force", "--ignore-not-found", "--wait=true", ...names);
  expect(r.exitCode, `${r.stdout}\n${r.stderr}`).to.equal(0);
}

async function waitRunning(names: string[], timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pods = await Promise.all(names.map((name) => client.get({ apiVersion: "v1", kind: "Pod", name, namespace: "default" })));
    if (pods.every((p) => (p?.status as { phase?: string } | undefined)?.phase === "Running")) return;
    if (Date.now() > deadline) throw new Error(`pods ${names.join(", ")} did not run: ${pods.map((p) => (p?.status as { phase?: string } | undefined)?.phase).join(", ")}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe("e2e: grading beebox-cni on kind", function () {
  this.timeout(20 * 60_000);

  before(async function () {
    await skipWithoutNodeImage(this);
    stateDir = await mkdtemp(path.join(tmpdir(), "labrun-e2e-grade-"));
    const t0 = performance.now();
    const started = await labrun(["start", "beebox-cni", "--name", LAB]);
    expect(started.exitCode, show(started)).to.equal(0);
    expect(started.stderr).to.match(/verify the broken state .*8 checks fail as expected/);
    timings.push(`labrun start (create, load images, setup, verify broken): ${Math.round(performance.now() - t0)} ms`);
    kubeconfig = path.join(stateDir, "labs", LAB, "kubeconfig");
    loaded = await loadScenario(path.join(ROOT, "scenarios/beebox-cni"));
    kind = new KindProvider();
    client = createKubeClient({ kubeconfig, nodeRunner: (node, argv, opts) => kind.execOnNode(CLUSTER, node, argv, opts) });
  });

  after(async function () {
    this.timeout(5 * 60_000);
    for (const t of timings) console.log(`      ${t}`);
    await client?.close();
    if (!stateDir) return;
    await labrun(["down", LAB]);
    await forceCleanup();
    await rm(stateDir, { recursive: true, force: true });
  });

  it("broken: scores 0 of the network checks; nodes-ready fails with the kubelet's CNI reason; hints; exit 1", async () => {
    const t0 = performance.now();
    const r = await labrun(["grade", LAB, "-o", "json"]);
    const ms = Math.round(performance.now() - t0);
    expect(r.exitCode, show(r)).to.equal(1);
    const report = JSON.parse(r.stdout) as Report;
    timings.push(`labrun grade on the broken cluster: ${ms} ms wall, ${report.durationMs} ms in the report (failing checks stop once the cluster has settled)`);
    const checks = byId(report);
    expect(report.score.points).to.equal(0);
    expect(report.attempt).to.equal(1);
    for (const id of NETWORK_CHECKS) {
      expect(checks[id]!.points, id).to.equal(0);
      expect(checks[id]!.status, id).to.equal("skipped");
      expect(checks[id]!.hint, id).to.be.a("string");
    }
    const nodes = checks["nodes-ready"]!;
    expect(nodes.status).to.equal("failed");
    expect(nodes.attempts).to.be.greaterThan(1); // polled until the cluster had settled (not for its whole 60s timeout)
    expect(nodes.evidence).to.have.length(2);
    for (const e of nodes.evidence) {
      expect(e.expected).to.equal("Ready");
      expect(e.observed).to.match(/^NotReady \(KubeletNotReady\): container runtime network not ready: .*cni plugin not initialized/);
    }
    expect(nodes.hint).to.match(/kubectl describe node/);
    const cni = checks["cni-configured"]!;
    expect(cni.status).to.equal("failed");
    expect(cni.evidence.map((e) => e.observed)).to.deep.equal(["/etc/cni/net.d is empty", "/etc/cni/net.d is empty"]);
    expect(checks["workloads-running"]!.message).to.equal("skipped: needs nodes-ready (failed)");

    // Without `needs`, every check is evaluated: the pods are Pending with the scheduler's reason.
    const all = byId(await gradeLib(withoutNeeds(loaded), 15_000));
    const pending = all["workloads-running"]!.evidence.map((e) => e.observed);
    expect(pending, "evidence for both workload pods").to.have.length(2); // `every` of an empty list would pass
    for (const observed of pending) expect(observed).to.match(/^Pending: Unschedulable: 0\/2 nodes are available/);
    expect(all["http-by-ip"]!.message).to.match(/^source pod default\/testclient is not running: Pending/);
  });

  it("the host-network shortcut does not pass (and the report says the pods left the pod network)", async () => {
    const shortcut = loaded.scenario.spec.shortcuts!.find((s) => s.name === "host-network-pods")!;
    await runSteps(shortcut.steps, stepContext());
    await waitRunning(["cyberdyne-frontend", "testclient"]);
    const report = await gradeLib(loaded, 20_000);
    const checks = byId(report);
    expect(report.score.passed).to.equal(false);
    for (const id of shortcut.mustFail ?? []) expect(checks[id]!.status, id).to.equal("failed");
    expect(checks["workloads-running"]!.status).to.equal("skipped");

    const all = byId(await gradeLib(withoutNeeds(loaded), 20_000));
    expect(all["workloads-running"]!.status).to.equal("passed"); // the pods do run...
    for (const id of NETWORK_CHECKS) expect(all[id]!.status, id).to.equal("failed"); // ...but not on the pod network
    const http = all["http-by-ip"]!;
    expect(http.message).to.match(/^source pod default\/testclient is not the pod the scenario deploys: true: the pod uses the node's network/);
    expect(http.evidence.map((e) => e.label)).to.include("source pod default/testclient: hostNetwork");
  });

  it("a fake testclient whose curl always prints the nginx page does not pass", async () => {
    await forceDeletePods("testclient");
    await client.apply(FAKE_TESTCLIENT, { fieldManager: "e2e-learner", force: true });
    await waitRunning(["testclient"]);
    // The fake fools a grader that trusts the learner's curl: any URL "works".
    const fooled = await client.exec({ namespace: "default", pod: "testclient" }, ["curl", "-s", "http://192.0.2.1/"], { timeoutMs: 10_000 });
    expect(fooled.stdout).to.include("Welcome to nginx!");

    const all = byId(await gradeLib(withoutNeeds(loaded), 20_000));
    for (const id of NETWORK_CHECKS) expect(all[id]!.status, id).to.equal("failed");
    const http = all["http-by-ip"]!;
    expect(http.message).to.match(/^source pod default\/testclient is not the pod the scenario deploys: docker\.io\/library\/nginx:1\.22\.1: the pod was replaced/);
    expect(http.evidence[0]).to.deep.include({
      label: "source pod default/testclient: container curl image",
      expected: "docker.io/curlimages/curl:7.88.1 (as in Pod default/testclient)",
    });
  });

  it("after the reference solution (Flannel) it scores full marks, with one probe container that the next grade reuses", async () => {
    await forceDeletePods("testclient", "cyberdyne-frontend");
    const setupApply = loaded.scenario.spec.setup!.filter((s): s is Step & { apply: object } => "apply" in s && !!s.apply);
    await runSteps(setupApply, stepContext());
    const t0s = performance.now();
    await runSteps(loaded.scenario.spec.solution.steps, stepContext());
    timings.push(`reference solution (Flannel, nodes Ready, pods Ready): ${Math.round(performance.now() - t0s)} ms`);

    const t0 = performance.now();
    const r = await labrun(["grade", LAB, "-o", "json"]);
    const wall = Math.round(performance.now() - t0);
    expect(r.exitCode, show(r)).to.equal(0);
    const report = JSON.parse(r.stdout) as Report;
    timings.push(`labrun grade on the fixed cluster: ${wall} ms wall, ${report.durationMs} ms in the report`);
    expect(report.score).to.deep.include({ points: 12, maxPoints: 12, percent: 100, passed: true });
    expect(report.attempt).to.equal(2);
    expect(report.summary).to.deep.include({ passed: 8, failed: 0, skipped: 0, error: 0 });
    const http = byId(report)["http-by-ip"]!;
    expect(http.connectivity).to.deep.equal([{ from: "default/testclient", to: "default/cyberdyne-frontend:80", expected: "allowed", observed: "allowed" }]);
    expect(byId(report)["http-by-dns"]!.evidence[0]!.label).to.match(/^GET http:\/\/192-168-\d+-\d+\.default\.pod\.cluster\.local:80\/ from default\/testclient/);

    // One probe container in testclient, holding for the lab's life.
    const probesIn = async () => {
      const pod = await client.get({ apiVersion: "v1", kind: "Pod", name: "testclient", namespace: "default" });
      const spec = ((pod!.spec as { ephemeralContainers?: unknown[] }).ephemeralContainers ?? []).filter((c) => isLabrunProbeContainer(c, PROBE_IMAGE));
      const statuses = (pod!.status as { ephemeralContainerStatuses?: { name: string; state: Record<string, unknown> }[] }).ephemeralContainerStatuses ?? [];
      return spec.map((c) => ({ name: (c as { name: string }).name, state: statuses.find((s) => s.name === (c as { name: string }).name)?.state ?? {} }));
    };
    const first = await probesIn();
    expect(first).to.have.length(1);
    expect(first[0]!.state.running, JSON.stringify(first[0]!.state)).to.be.an("object");

    // A second grade reuses it: same container, same verdict, no new entry in the pod's spec.
    const t1 = performance.now();
    const again = await labrun(["grade", LAB, "-o", "json"]);
    timings.push(`labrun grade again (probe reused): ${Math.round(performance.now() - t1)} ms wall`);
    expect(again.exitCode, show(again)).to.equal(0);
    expect((JSON.parse(again.stdout) as Report).attempt).to.equal(3);
    expect((await probesIn()).map((p) => p.name)).to.deep.equal([first[0]!.name]);
  });

  it("an unreachable cluster is an infrastructure error (exit 3) within seconds, never a grade", async () => {
    const stopped = await execa("docker", ["stop", "-t", "0", CONTROL_PLANE], { reject: false });
    expect(stopped.exitCode).to.equal(0);
    const t0 = performance.now();
    const r = await labrun(["grade", LAB]);
    const ms = Math.round(performance.now() - t0);
    timings.push(`labrun grade with the control plane stopped: ${ms} ms (exit ${r.exitCode})`);
    expect(r.exitCode, show(r)).to.equal(3);
    // labrun sees the stopped node container (or, first, the API that stopped answering)
    expect(r.stderr).to.match(/^error: (cannot reach |the Kubernetes API at |the lab's node container "[^"]*control-plane" is |the node container ")/m);
    expect(r.stderr).to.not.match(/^score /m);
    expect(r.stdout).to.equal("");
  });
});
