/**
 * The engine's semantics with short real timers: eventually, consistently,
 * last observation on timeout, needs/skipped, concurrency, API errors and an
 * unreachable cluster, scoring; and grade() around it.
 */
import { expect } from "chai";
import { buildReport, runChecks, type EngineOptions, type GradeEvent } from "../../../checks/engine.ts";
import { failingChecks, grade } from "../../../checks/grade.ts";
import { WorkloadIndex } from "../../../checks/workloads.ts";
import { InfraError, ScenarioError } from "../../../runner/errors.ts";
import { reportProblems } from "../../../runner/report/validate.ts";
import type { Check } from "../../../runner/schema/scenario.ts";
import { BEEBOX_MANIFEST, beeboxPods, FakeCluster, LAB, NGINX_PAGE, node, pod, scenarioWith, unreachable } from "./fakes.ts";

const nodesCheck = (id: string, extra: Partial<Check> = {}): Check => ({ id, title: `check ${id}`, nodesReady: {}, ...extra }) as Check;
const podCheck = (id: string, name: string, extra: Partial<Check> = {}): Check => ({ id, title: `pod ${name}`, podsReady: { names: [name] }, ...extra }) as Check;

function options(cluster: FakeCluster, checks: Check[], extra: Partial<EngineOptions> = {}): EngineOptions {
  return {
    client: cluster,
    scenario: scenarioWith(checks),
    lab: LAB,
    defaultTimeoutMs: 200,
    defaultIntervalMs: 20,
    workloads: WorkloadIndex.empty(),
    ...extra,
  };
}

describe("check engine", () => {
  it("passes on the first attempt that holds", async () => {
    const c = new FakeCluster().put(node("n1"));
    const [r] = await runChecks(options(c, [nodesCheck("a", { points: 3, hint: "fix the nodes" } as Partial<Check>)]));
    expect(r).to.deep.include({ id: "a", kind: "nodesReady", status: "passed", points: 3, maxPoints: 3, attempts: 1, message: "1 node Ready" });
    expect(r!.hint).to.equal(undefined); // hints only for checks that did not pass
  });

  it("polls until the check holds (eventually)", async () => {
    const c = new FakeCluster().put(node("n1", { ready: false }));
    c.beforeRead = (n) => {
      if (n === 4) c.put(node("n1"));
    };
    const [r] = await runChecks(options(c, [nodesCheck("a")]));
    expect(r!.status).to.equal("passed");
    expect(r!.attempts).to.equal(4);
  });

  it("on timeout reports the last thing it observed, with the hint", async () => {
    const c = new FakeCluster().put(node("n1", { ready: false, message: "first" }));
    c.beforeRead = (n) => c.put(node("n1", { ready: false, message: `observation ${n}` }));
    const t0 = Date.now();
    const [r] = await runChecks(options(c, [nodesCheck("a", { timeout: "150ms", interval: "30ms", hint: "install a CNI" } as Partial<Check>)]));
    const elapsed = Date.now() - t0;
    expect(r!.status).to.equal("failed");
    expect(r!.hint).to.equal("install a CNI");
    expect(r!.attempts).to.be.greaterThan(3);
    expect(r!.evidence[0]!.observed).to.equal(`NotReady (KubeletNotReady): observation ${r!.attempts}`);
    expect(r!.message).to.equal(`1 of 1 node not Ready: n1 (observation ${r!.attempts})`);
    expect(elapsed).to.be.within(140, 700);
    expect(r!.durationMs).to.be.within(140, 700);
  });

  it("consistently: passes when the check holds for the whole period", async () => {
    const c = new FakeCluster().put(node("n1"));
    const t0 = Date.now();
    const [r] = await runChecks(options(c, [nodesCheck("a", { consistently: "120ms", interval: "20ms" } as Partial<Check>)]));
    expect(r!.status).to.equal("passed");
    expect(r!.attempts).to.be.greaterThan(4);
    expect(Date.now() - t0).to.be.greaterThanOrEqual(115);
    expect(r!.message).to.match(/^held for 120ms \(\d+ attempts\): 1 node Ready$/);
  });

  it("consistently: a grade time limit shorter than the period fails the check, never passes it", async () => {
    const c = new FakeCluster().put(node("n1"));
    const [r] = await runChecks(options(c, [nodesCheck("a", { consistently: "60s", interval: "20ms" } as Partial<Check>)], { timeoutMs: 150 }));
    expect(r!.status).to.equal("failed");
    expect(r!.message).to.match(/^held for only \d+ms of the required 1m: the grade's time limit cut it short$/);
  });

  it("consistently: fails as soon as the check flaps, with what it saw", async () => {
    const c = new FakeCluster().put(node("n1"));
    c.beforeRead = (n) => c.put(node("n1", { ready: n % 3 !== 0, message: "kubelet stopped" }));
    const [r] = await runChecks(options(c, [nodesCheck("a", { consistently: "1s", interval: "10ms" } as Partial<Check>)]));
    expect(r!.status).to.equal("failed");
    expect(r!.attempts).to.equal(3);
    expect(r!.message).to.match(/^did not hold for 1s: after \d+ms, 1 of 1 node not Ready: n1 \(kubelet stopped\)$/);
    expect(r!.durationMs).to.be.lessThan(500);
  });

  it("retries API errors and passes once the API answers", async () => {
    const c = new FakeCluster().put(node("n1"));
    c.readErrors = [new Error("etcdserver: request timed out"), new Error("HTTP 500")];
    const [r] = await runChecks(options(c, [nodesCheck("a")]));
    expect(r!.status).to.equal("passed");
    expect(r!.attempts).to.equal(3);
    expect(c.calls.filter((x) => x === "ping")).to.have.length(2); // each error checked the cluster is there
  });

  it("is `error` (not failed) when every attempt hit an API error", async () => {
    const c = new FakeCluster().put(node("n1"));
    c.readErrors = Array.from({ length: 100 }, () => new Error("the server is currently unable to handle the request"));
    const [r] = await runChecks(options(c, [nodesCheck("a", { timeout: "80ms" } as Partial<Check>)]));
    expect(r!.status).to.equal("error");
    expect(r!.message).to.equal("could not evaluate: the server is currently unable to handle the request");
  });

  it("keeps the last observation when a later attempt errors", async () => {
    const c = new FakeCluster().put(node("n1", { ready: false }));
    c.beforeRead = (n) => {
      if (n >= 3) c.readErrors = [new Error("HTTP 503")];
    };
    const [r] = await runChecks(options(c, [nodesCheck("a", { timeout: "100ms" } as Partial<Check>)]));
    expect(r!.status).to.equal("failed");
    expect(r!.evidence.at(-1)).to.deep.equal({ label: "last attempt", observed: "could not evaluate: HTTP 503" });
  });

  it("aborts the whole grade with InfraError when the cluster becomes unreachable", async () => {
    const c = new FakeCluster().put(node("n1"));
    c.readErrors = [unreachable()];
    c.pingError = unreachable();
    const t0 = Date.now();
    const error = await runChecks(options(c, [nodesCheck("a", { timeout: "10s" } as Partial<Check>), nodesCheck("b", { timeout: "10s", consistently: "10s" } as Partial<Check>)])).catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(InfraError);
    expect(Date.now() - t0).to.be.lessThan(1000);
  });

  it("skips a check whose dependency did not pass, with the reason and the hint", async () => {
    const c = new FakeCluster().put(node("n1", { ready: false }), pod("web"));
    const results = await runChecks(
      options(c, [
        nodesCheck("nodes", { timeout: "50ms" } as Partial<Check>),
        podCheck("web", "web", { needs: ["nodes"], hint: "pods need nodes" } as Partial<Check>),
        podCheck("web2", "web", { needs: ["web"] } as Partial<Check>),
        podCheck("free", "web"),
      ]),
    );
    expect(results.map((r) => [r.id, r.status])).to.deep.equal([
      ["nodes", "failed"],
      ["web", "skipped"],
      ["web2", "skipped"],
      ["free", "passed"],
    ]);
    expect(results[1]).to.deep.include({ message: "skipped: needs nodes (failed)", hint: "pods need nodes", attempts: 0, points: 0 });
    expect(results[2]!.message).to.equal("skipped: needs web (skipped)");
  });

  it("runs independent checks concurrently: total time is the slowest chain, not the sum", async () => {
    const c = new FakeCluster().put(node("n1"), pod("web"));
    c.readDelayMs = 150;
    const checks = [nodesCheck("a"), nodesCheck("b"), nodesCheck("c"), nodesCheck("d"), podCheck("e", "web", { needs: ["a"] } as Partial<Check>)];
    const t0 = Date.now();
    const results = await runChecks(options(c, checks));
    const elapsed = Date.now() - t0;
    expect(results.every((r) => r.status === "passed")).to.equal(true);
    // 4 independent checks of ~150ms and a chain of two: ~300ms; run one after another they take ~750ms
    expect(elapsed).to.be.within(290, 600);
  });

  it("emits typed progress events", async () => {
    const c = new FakeCluster().put(node("n1", { ready: false }));
    const events: GradeEvent[] = [];
    await runChecks(options(c, [nodesCheck("a", { timeout: "30ms" } as Partial<Check>), podCheck("b", "web", { needs: ["a"] } as Partial<Check>)], { onEvent: (e) => events.push(e) }));
    const kinds = events.map((e) => (e.type === "check-finished" ? `${e.type}:${e.result.id}:${e.result.status}` : "id" in e ? `${e.type}:${e.id}` : e.type));
    expect(kinds[0]).to.equal("check-started:a");
    expect(kinds).to.include("check-attempt:a");
    expect(kinds).to.include("check-finished:a:failed");
    expect(kinds.at(-1)).to.equal("check-finished:b:skipped");
    expect(kinds).to.not.include("check-started:b");
  });

  it("rejects unknown needs and cycles", async () => {
    const c = new FakeCluster();
    const unknown = await runChecks(options(c, [nodesCheck("a", { needs: ["zz"] } as Partial<Check>)])).catch((e: unknown) => e);
    expect(unknown).to.be.instanceOf(ScenarioError);
    const cycle = await runChecks(options(c, [nodesCheck("a", { needs: ["b"] } as Partial<Check>), nodesCheck("b", { needs: ["a"] } as Partial<Check>)])).catch((e: unknown) => e);
    expect((cycle as Error).message).to.match(/cycle: a → b → a|cycle: b → a → b/);
  });

  it("stops on abort and rejects with the signal's reason", async () => {
    const c = new FakeCluster().put(node("n1", { ready: false }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("SIGINT")), 40);
    const t0 = Date.now();
    const error = await runChecks(options(c, [nodesCheck("a", { timeout: "10s" } as Partial<Check>)], { signal: controller.signal })).catch((e: unknown) => e);
    expect((error as Error).message).to.equal("SIGINT");
    expect(Date.now() - t0).to.be.lessThan(500);
  });

  it("a grade time limit ends polling checks with their last observation", async () => {
    const c = new FakeCluster().put(node("n1", { ready: false }), pod("web"));
    const t0 = Date.now();
    const results = await runChecks(
      options(c, [nodesCheck("a", { timeout: "10s" } as Partial<Check>), podCheck("b", "web", { needs: ["a"] } as Partial<Check>)], { timeoutMs: 100 }),
    );
    expect(Date.now() - t0).to.be.lessThan(600);
    expect(results[0]!.status).to.equal("failed");
    expect(results[0]!.message).to.match(/the grade's time limit cut it short/);
  });
});

describe("snapshot checks (once) and failingChecks", () => {
  it("evaluates `once` checks a single time, without waiting for their timeout", async () => {
    const c = new FakeCluster().put(node("n1", { ready: false }));
    const t0 = Date.now();
    const [r] = await runChecks(options(c, [nodesCheck("a", { timeout: "10s", consistently: "10s" } as Partial<Check>)], { once: ["a"] }));
    expect(Date.now() - t0).to.be.lessThan(300);
    expect(r).to.deep.include({ status: "failed", attempts: 1 });
  });

  it("failingChecks lists the checks that do not pass: expected failures once, the others polled", async () => {
    const c = new FakeCluster().put(node("n1", { ready: false }));
    c.beforeRead = (n) => {
      if (n === 3) c.put(pod("web"));
    };
    const checks = [nodesCheck("nodes", { timeout: "10s" } as Partial<Check>), podCheck("web", "web", { timeout: "2s", interval: "20ms" } as Partial<Check>), podCheck("db", "db", { needs: ["nodes"] } as Partial<Check>)];
    const source = scenarioWith(checks);
    (source.scenario.spec.broken as { failing: string[] }).failing = ["nodes", "db"];
    const t0 = Date.now();
    const failing = await failingChecks({ loaded: source, lab: LAB, client: c });
    expect(Date.now() - t0).to.be.lessThan(1500);
    expect(failing).to.deep.equal(["nodes", "db"]);
  });
});

describe("scoring", () => {
  const result = (id: string, status: "passed" | "failed" | "skipped" | "error", maxPoints: number) => ({
    id,
    title: id,
    kind: "nodesReady",
    status,
    points: status === "passed" ? maxPoints : 0,
    maxPoints,
    message: "",
    evidence: [],
    attempts: 1,
    durationMs: 1,
  });

  it("gives partial credit and applies the pass mark", () => {
    const results = [result("a", "passed", 2), result("b", "failed", 1), result("c", "skipped", 1), result("d", "error", 2)];
    const r = buildReport({ scenario: { name: "s", title: "S" }, lab: LAB, attempt: 2, startedAt: new Date(0), durationMs: 12.4, results, passPercent: 30 });
    expect(r.score).to.deep.equal({ points: 2, maxPoints: 6, percent: 33.33, passPercent: 30, passed: true });
    expect(r.summary).to.deep.equal({ total: 4, passed: 1, failed: 1, skipped: 1, error: 1 });
    expect(r.attempt).to.equal(2);
    expect(reportProblems(r)).to.deep.equal([]);
    const strict = buildReport({ scenario: { name: "s", title: "S" }, lab: LAB, attempt: 1, startedAt: new Date(0), durationMs: 1, results });
    expect(strict.score.passPercent).to.equal(100);
    expect(strict.score.passed).to.equal(false);
  });
});

describe("grade()", () => {
  it("fails fast with InfraError when the API is unreachable, before any check", async () => {
    const c = new FakeCluster();
    c.pingError = unreachable();
    const error = await grade({ ...options(c, [nodesCheck("a")]), attempt: 1 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InfraError);
    expect(c.calls).to.deep.equal(["ping"]);
  });

  it("grades the BeeBox lab with one probe container, batches concurrent probes, and leaves the probe for the next grade", async () => {
    const c = new FakeCluster().put(node("cp", { controlPlane: true }), node("w1"), ...beeboxPods());
    c.probe = ({ verb }) => (verb === "http" ? { ok: true, status: 200, body: NGINX_PAGE } : { ok: true, addresses: ["192.168.1.4"], server: "10.96.0.10:53" });
    const checks: Check[] = [
      { id: "nodes-ready", title: "nodes", points: 2, nodesReady: {} },
      { id: "http-by-ip", title: "http", points: 2, needs: ["nodes-ready"], http: { from: { pod: "testclient" }, to: { pod: "cyberdyne-frontend" }, expect: { bodyContains: "Welcome to nginx!" } } },
      { id: "pod-dns", title: "dns", needs: ["nodes-ready"], dns: { from: { pod: "testclient" }, lookup: { pod: "cyberdyne-frontend" } } },
    ] as Check[];
    const source = scenarioWith(checks, { files: { "manifests/workloads.yaml": BEEBOX_MANIFEST }, applies: ["manifests/workloads.yaml"] });
    const events: string[] = [];
    const report = await grade({ client: c, scenario: source, lab: LAB, attempt: 3, defaultIntervalMs: 10, onEvent: (e) => events.push(e.type) });
    expect(reportProblems(report)).to.deep.equal([]);
    expect(report.score).to.deep.include({ points: 5, maxPoints: 5, percent: 100, passed: true });
    expect(report.attempt).to.equal(3);
    expect(report.lab).to.deep.equal(LAB);
    expect(c.ephemeral).to.have.length(1); // one probe container for testclient, shared by two checks
    expect(c.ephemeral[0]!.spec.command).to.deep.equal(["labrun-probe", "hold", "--max", "0"]);
    expect(c.probeExecs, "the two checks' probes went in one exec").to.deep.equal(["batch"]);
    expect(events[0]).to.equal("grade-started");
    expect(events.at(-1)).to.equal("grade-finished");

    // The next grades find the probe running in the pod and reuse it: never one container per grade.
    for (let i = 0; i < 19; i++) {
      const again = await grade({ client: c, scenario: source, lab: LAB, defaultIntervalMs: 10 });
      expect(again.score.passed).to.equal(true);
    }
    const testclient = await c.get({ apiVersion: "v1", kind: "Pod", name: "testclient", namespace: "default" });
    expect((testclient!.spec as { ephemeralContainers: unknown[] }).ephemeralContainers, "after 20 grades").to.have.length(1);
    expect(c.ephemeral).to.have.length(1);
    expect(c.probeExecs).to.not.include("stop");
  });

  it("an interrupted grade stops its checks but not the probe, which the next grade reuses", async () => {
    const c = new FakeCluster().put(...beeboxPods());
    c.probe = () => ({ ok: false, error: "i/o timeout" });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("SIGINT")), 60);
    const checks = [{ id: "h", title: "http", timeout: "10s", http: { from: { pod: "testclient" }, to: { pod: "cyberdyne-frontend" } } }] as Check[];
    const error = await grade({ ...options(c, checks), signal: controller.signal, defaultIntervalMs: 10 }).catch((e: unknown) => e);
    expect((error as Error).message).to.equal("SIGINT");
    expect(c.probeExecs).to.not.include("stop");
    c.probe = () => ({ ok: true, status: 200, body: NGINX_PAGE });
    const report = await grade({ ...options(c, checks), defaultIntervalMs: 10 });
    expect(report.score.passed).to.equal(true);
    expect(c.ephemeral).to.have.length(1);
  });
});
