/**
 * Grades a learner cannot fool, on one real frontend-policy lab
 * (labrun-e2e-integrity, always removed):
 *
 *   (a) "answer from inside the client": a `kubectl debug` nginx container in
 *       the client (serving :80 in its network namespace) and a netadmin debug
 *       container that puts the frontend's IP on the client's loopback. The
 *       client's own curl is fooled; the grade is below the pass mark and says
 *       why; labrun's probe itself reports the destination as local;
 *   (d) the correct fix (the reference solution, client recreated) scores full marks;
 *   (c) after 20 grades no pod has more than one labrun probe container, and
 *       the client's is still running (reused by every grade);
 *   (b) a CoreDNS lab (test/e2e/fixtures/scenarios/hosts-file, graded on the
 *       same cluster): cluster DNS serves the wrong zone; the name written into
 *       /etc/hosts of a running root pod, or into hostAliases of a recreated
 *       client, does not pass the dns and http-by-name checks; why appending
 *       to /etc/hosts used to fail (the kubelet rewrites the pod's hosts file
 *       whenever it starts a container, and the old probe started one per
 *       grade); fixing CoreDNS passes.
 *
 * Grade times are printed (no timed assertions). Needs Docker, kind and the
 * offline images (tools/images/build.sh); skipped otherwise.
 *
 *   npx mocha --timeout 0 test/e2e/grade/integrity.test.ts
 */
import { expect } from "chai";
import { execa } from "execa";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { KubeObject } from "../../../runner/cluster/client.ts";
import { grade } from "../../../checks/grade.ts";
import { createKubeClient, type KubeClusterClient } from "../../../runner/cluster/kube.ts";
import { ProbeManager, isLabrunProbeContainer, PROBE_IMAGE, runningProbeContainers } from "../../../checks/probe.ts";
import { skipWithoutNodeImage } from "../../helpers/node-image.ts";
import { labrunProcess, nodeKubectl, ROOT, show } from "../../helpers/e2e.ts";
import { podSubnetOf, serviceSubnetOf } from "../../../runner/lab/render.ts";
import { runSteps, type StepContext } from "../../../runner/lab/steps.ts";
import { KindProvider, resolveKindBinary } from "../../../runner/providers/kind.ts";
import type { CheckResult, Report } from "../../../runner/schema/report.ts";
import { loadScenario, type LoadedScenario } from "../../../runner/scenario/load.ts";
import type { Step } from "../../../runner/schema/scenario.ts";

const KIND = resolveKindBinary();
const LAB = "e2e-integrity";
const CLUSTER = `labrun-${LAB}`;
const CONTROL_PLANE = `${CLUSTER}-control-plane`;
const GRADES = 20;

let stateDir: string;
let client: KubeClusterClient;
let kind: KindProvider;
let policy: LoadedScenario;
const timings: string[] = [];

function labrun(args: string[]) {
  return labrunProcess(args, { LABRUN_STATE_DIR: stateDir });
}

/** kubectl as the learner runs it (on the control-plane node, with the admin kubeconfig). */
function kubectl(args: string[], input?: string) {
  return nodeKubectl(CONTROL_PLANE, args, input);
}

async function forceCleanup(): Promise<void> {
  await execa(KIND, ["delete", "cluster", "--name", CLUSTER, "--kubeconfig", path.join(stateDir, "cleanup.kubeconfig")], { reject: false });
  const { stdout } = await execa("docker", ["ps", "-aq", "--filter", `label=io.x-k8s.kind.cluster=${CLUSTER}`], { reject: false });
  const ids = stdout.split("\n").filter(Boolean);
  if (ids.length) await execa("docker", ["rm", "-f", "-v", ...ids], { reject: false });
}

function stepContext(source: LoadedScenario, phase: StepContext["phase"]): StepContext {
  return {
    client,
    provider: kind,
    cluster: CLUSTER,
    scenarioDir: source.dir,
    vars: { PodSubnet: podSubnetOf(source.scenario.spec.cluster), ServiceSubnet: serviceSubnetOf(source.scenario.spec.cluster), Cni: "flannel" },
    phase,
  };
}

function byId(report: Report): Record<string, CheckResult> {
  return Object.fromEntries(report.checks.map((c) => [c.id, c]));
}

async function getPod(namespace: string, name: string): Promise<KubeObject | undefined> {
  return client.get({ apiVersion: "v1", kind: "Pod", name, namespace });
}

async function waitPod(namespace: string, name: string, ok: (p: KubeObject) => boolean, what: string, timeoutMs = 120_000): Promise<KubeObject> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = await getPod(namespace, name);
    if (p && ok(p)) return p;
    if (Date.now() > deadline) throw new Error(`pod ${namespace}/${name}: ${what} did not happen: ${JSON.stringify(p?.status ?? "missing").slice(0, 600)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

const ready = (p: KubeObject) => ((p.status as { conditions?: { type: string; status: string }[] }).conditions ?? []).some((c) => c.type === "Ready" && c.status === "True") && !p.metadata.deletionTimestamp;
const ephemeralState = (p: KubeObject, name: string) =>
  ((p.status as { ephemeralContainerStatuses?: { name: string; state?: Record<string, unknown> }[] }).ephemeralContainerStatuses ?? []).find((s) => s.name === name)?.state ?? {};

/** Delete a pod and apply it again from a scenario's setup manifests (the way to get rid of ephemeral containers). */
async function recreate(source: LoadedScenario, namespace: string, name: string): Promise<void> {
  const r = await kubectl(["delete", "pod", "-n", namespace, name, "--grace-period=0", "--force", "--ignore-not-found", "--wait=true"]);
  expect(r.exitCode, show(r)).to.equal(0);
  const applies = (source.scenario.spec.setup ?? []).filter((s): s is Step & { apply: object } => "apply" in s && !!s.apply);
  await runSteps(applies, stepContext(source, "setup"));
  await waitPod(namespace, name, ready, "Ready");
}

async function labrunGrade(label: string): Promise<{ exitCode: number; report: Report }> {
  const t0 = performance.now();
  const r = await labrun(["grade", LAB, "-o", "json"]);
  const ms = Math.round(performance.now() - t0);
  expect(r.stdout, show(r)).to.match(/^\{/);
  const report = JSON.parse(r.stdout) as Report;
  timings.push(`${label}: ${ms} ms wall, ${report.durationMs} ms in the report`);
  return { exitCode: r.exitCode ?? -1, report };
}

describe("e2e: grades a learner cannot fool (frontend-policy on kind)", function () {
  this.timeout(25 * 60_000);

  before(async function () {
    await skipWithoutNodeImage(this);
    stateDir = await mkdtemp(path.join(tmpdir(), "labrun-e2e-integrity-"));
    const t0 = performance.now();
    const started = await labrun(["start", "frontend-policy", "--name", LAB]);
    expect(started.exitCode, show(started)).to.equal(0);
    timings.push(`labrun start frontend-policy: ${Math.round(performance.now() - t0)} ms`);
    policy = await loadScenario(path.join(ROOT, "scenarios/frontend-policy"));
    kind = new KindProvider();
    client = createKubeClient({ kubeconfig: path.join(stateDir, "labs", LAB, "kubeconfig"), nodeRunner: (node, argv, opts) => kind.execOnNode(CLUSTER, node, argv, opts) });
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

  it("(a) answer from inside the client: debug containers serving the frontend's IP in the client's network namespace score below the pass mark", async () => {
    const frontendIP = ((await getPod("shop", "frontend"))!.status as { podIP: string }).podIP;
    // An nginx debug container: it serves :80 in the client's network namespace.
    const web = await kubectl(["debug", "-n", "shop", "client", "--image=docker.io/library/nginx:1.22.1", "--image-pull-policy=IfNotPresent", "-c", "web-hijack"]);
    expect(web.exitCode, show(web)).to.equal(0);
    await waitPod("shop", "client", (p) => !!ephemeralState(p, "web-hijack").running, "web-hijack running");
    // A netadmin debug container (as root) that puts the frontend's IP on the client's loopback.
    const custom = JSON.stringify({ securityContext: { runAsUser: 0, runAsNonRoot: false } });
    const lo = await kubectl(
      ["debug", "-n", "shop", "client", "--image=docker.io/curlimages/curl:7.88.1", "--image-pull-policy=IfNotPresent", "--profile=netadmin", "--custom=/dev/stdin", "-c", "lo-hijack", "--", "ip", "addr", "add", `${frontendIP}/32`, "dev", "lo"],
      custom,
    );
    expect(lo.exitCode, show(lo)).to.equal(0);
    await waitPod("shop", "client", (p) => (ephemeralState(p, "lo-hijack").terminated as { exitCode?: number } | undefined)?.exitCode === 0, "lo-hijack added the address");

    // The trick works on a grader that trusts the client: its own curl gets nginx's page from its own pod.
    const fooled = await kubectl(["exec", "-n", "shop", "client", "-c", "curl", "--", "curl", "-s", "-m", "3", `http://${frontendIP}/`]);
    expect(fooled.stdout, show(fooled)).to.include("Welcome to nginx!");

    const { exitCode, report } = await labrunGrade("labrun grade, client hijacked");
    expect(exitCode).to.equal(1);
    expect(report.score.passed).to.equal(false);
    const reach = byId(report)["client-reaches-frontend"]!;
    expect(reach.status).to.equal("failed");
    expect(reach.message).to.match(/^pod shop\/client has an ephemeral container (web-hijack|lo-hijack) \(image docker\.io\/.*\) that labrun did not add: a probe from this pod cannot be trusted( \(settled: .*\))?$/); // a failing check that stopped once the cluster settled says so
    const observed = reach.evidence.map((e) => `${e.label}: ${e.observed}`).join("\n");
    expect(observed).to.include("source pod shop/client: ephemeral container web-hijack: image docker.io/library/nginx:1.22.1");
    expect(observed).to.match(/ephemeral container lo-hijack: image docker\.io\/curlimages\/curl:7\.88\.1, command "ip addr add [\d.]+\/32 dev lo", terminated \(Completed\), adds NET_ADMIN/);

    // Defence in depth: labrun's probe in that namespace sees the destination is local (the hijack), whatever the page says.
    const probes = new ProbeManager(client, { holdMax: "60s" });
    const pod = (await getPod("shop", "client"))!;
    const r = await probes.http(pod, `http://${frontendIP}:80/`, { timeoutMs: 3000 });
    expect(r.localTarget, JSON.stringify(r)).to.equal(true);
    expect(r.ok).to.equal(false);
    await probes.stopAll();
  });

  it("(d) the correct fix (client recreated, the reference solution) scores full marks", async () => {
    await recreate(policy, "shop", "client");
    await runSteps(policy.scenario.spec.solution.steps, stepContext(policy, "solution"));
    const { exitCode, report } = await labrunGrade("labrun grade, fixed (starts the probes)");
    expect(exitCode, JSON.stringify(report.checks.filter((c) => c.status !== "passed"), null, 2)).to.equal(0);
    expect(report.score).to.deep.include({ percent: 100, passed: true });
  });

  it(`(c) after ${GRADES} grades no pod has more than one labrun probe container, and the client's is still running`, async () => {
    for (let i = 2; i <= GRADES; i++) {
      const { exitCode } = await labrunGrade(`labrun grade #${i}`);
      expect(exitCode, `grade ${i}`).to.equal(0);
    }
    const pods = await client.list("v1", "Pod");
    const counts: Record<string, number> = {};
    for (const p of pods) {
      const mine = ((p.spec as { ephemeralContainers?: unknown[] }).ephemeralContainers ?? []).filter((c) => isLabrunProbeContainer(c, PROBE_IMAGE));
      if (mine.length) counts[`${p.metadata.namespace}/${p.metadata.name}`] = mine.length;
    }
    timings.push(`labrun probe containers per pod after ${GRADES} grades: ${JSON.stringify(counts)}`);
    expect(Object.values(counts).every((n) => n <= 1), JSON.stringify(counts)).to.equal(true);
    expect(counts["shop/client"]).to.equal(1);
    const clientPod = (await getPod("shop", "client"))!;
    const probe = ((clientPod.spec as { ephemeralContainers: { name: string }[] }).ephemeralContainers)[0]!.name;
    expect(ephemeralState(clientPod, probe).running, "the probe holds for the lab's life").to.be.an("object");
  });

  it("(b) a CoreDNS lab: /etc/hosts in a running root pod and hostAliases on a recreated client do not pass the dns and http-by-name checks", async () => {
    const lab = await loadScenario(path.join(ROOT, "test/e2e/fixtures/scenarios/hosts-file"));
    const gradeLab = () => grade({ scenario: lab, client, lab: { name: LAB, cluster: CLUSTER, provider: "kind" }, timeoutMs: 60_000 });
    await runSteps(lab.scenario.spec.setup!, stepContext(lab, "setup"));
    await runSteps(lab.scenario.spec.break!, stepContext(lab, "break"));
    const clusterIP = ((await client.get({ apiVersion: "v1", kind: "Service", name: "web", namespace: "hostsfile" }))!.spec as { clusterIP: string }).clusterIP;
    const NAME = "web.hostsfile.svc.cluster.local";
    const broken = byId(await gradeLab());
    expect(broken["svc-dns"]!.status).to.equal("failed");
    expect(broken["http-by-name"]!.status).to.equal("failed");

    // Why appending to /etc/hosts "did not pass" when it was tried (issue 11): not the image's user (labrun's curl image
    // runs as root), but the kubelet, which rewrites the pod's hosts file whenever it starts a container in the pod, and
    // the old probe started a new ephemeral container for every grade, wiping the line just before it resolved.
    const curlUser = await kubectl(["exec", "-n", "hostsfile", "client", "--", "sh", "-c", `id -u && echo "${clusterIP} ${NAME}" >> /etc/hosts && grep -c "${NAME}" /etc/hosts`]);
    expect(curlUser.exitCode, show(curlUser)).to.equal(0);
    expect(curlUser.stdout.split("\n")[0]).to.equal("0");
    const another = await kubectl(["debug", "-n", "hostsfile", "client", "--image=docker.io/curlimages/curl:7.88.1", "--image-pull-policy=IfNotPresent", "-c", "another", "--", "true"]);
    expect(another.exitCode, show(another)).to.equal(0);
    await waitPod("hostsfile", "client", (p) => !!ephemeralState(p, "another").terminated, "the debug container ran");
    const wiped = await kubectl(["exec", "-n", "hostsfile", "client", "--", "grep", "-c", NAME, "/etc/hosts"]);
    expect(wiped.stdout.trim(), "the kubelet rewrote /etc/hosts when it started a container").to.equal("0");

    // labrun's probe now holds for the lab's life, so an append after it started stays: the pod itself (and any resolver
    // reading /etc/hosts, the probe's system resolver included) "resolves" the name. The grade asks cluster DNS directly.
    const root = await kubectl(["exec", "-n", "hostsfile", "rootclient", "--", "sh", "-c", `echo "${clusterIP} ${NAME}" >> /etc/hosts && getent hosts ${NAME}`]);
    expect(root.exitCode, show(root)).to.equal(0);
    expect(root.stdout).to.include(clusterIP);
    const rootPod = (await getPod("hostsfile", "rootclient"))!;
    const [probe] = runningProbeContainers(rootPod, PROBE_IMAGE);
    expect(probe, "the baseline grade left its probe holding").to.be.a("string");
    const system = await client.exec({ namespace: "hostsfile", pod: "rootclient", container: probe! }, ["labrun-probe", "dns", "--name", NAME, "--timeout", "3s"], { timeoutMs: 15_000 });
    expect(system.stdout, "a resolver that reads /etc/hosts is fooled").to.include(clusterIP);
    const hosts = byId(await gradeLab());
    expect(hosts["svc-dns"]!.status, hosts["svc-dns"]!.message).to.equal("failed");
    expect(hosts["svc-dns"]!.evidence[0]!.label).to.match(/^lookup web\.hostsfile\.svc\.cluster\.local \(A\) from hostsfile\/rootclient, asking service kube-system\/kube-dns \([\d.]+:53\)$/);
    expect(hosts["http-by-name"]!.status, hosts["http-by-name"]!.message).to.equal("failed");

    // hostAliases for the name on a recreated client (same image, command and labels).
    const del = await kubectl(["delete", "pod", "-n", "hostsfile", "rootclient", "--grace-period=0", "--force", "--wait=true"]);
    expect(del.exitCode, show(del)).to.equal(0);
    const aliased = await kubectl(["apply", "-f", "-"], JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "rootclient", namespace: "hostsfile", labels: { app: "rootclient", "app.kubernetes.io/part-of": "hostsfile" } },
      spec: { hostAliases: [{ ip: clusterIP, hostnames: [NAME, "web"] }], containers: [{ name: "shell", image: "docker.io/library/nginx:1.22.1", imagePullPolicy: "IfNotPresent", command: ["sleep", "infinity"] }] },
    }));
    expect(aliased.exitCode, show(aliased)).to.equal(0);
    await waitPod("hostsfile", "rootclient", ready, "Ready");
    const aliases = byId(await gradeLab());
    expect(aliases["svc-dns"]!.status).to.equal("failed");
    expect(aliases["http-by-name"]!.status).to.equal("failed");
    expect(aliases["svc-dns"]!.message).to.match(/^source pod hostsfile\/rootclient is not the pod the scenario deploys: .*the pod was recreated with its own \/etc\/hosts entries( \(settled: .*\))?$/);

    // The real fix: cluster DNS serves cluster.local again (and the client is the scenario's): full marks.
    await recreate(lab, "hostsfile", "rootclient");
    await runSteps(lab.scenario.spec.solution.steps, stepContext(lab, "solution"));
    const fixed = await gradeLab();
    expect(fixed.score.passed, JSON.stringify(fixed.checks, null, 2)).to.equal(true);
    expect(byId(fixed)["svc-dns"]!.evidence[0]!.observed).to.match(new RegExp(`^${clusterIP.replace(/\./g, "\\.")}; answered by [\\d.]+:53$`));
  });
});
