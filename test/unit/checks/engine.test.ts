/**
 * The engine's semantics on a virtual clock (test/unit/checks/clock.ts):
 * eventually, consistently, last observation on timeout, needs/skipped,
 * concurrency, API errors and an unreachable cluster, attempts raced against
 * their deadline, confirmed network passes and flapping, the settle rule,
 * scoring; and grade() around it. No assertion depends on wall-clock time.
 */
import { expect } from "chai";
import { buildReport, runChecks, type EngineOptions, type GradeEvent } from "../../../checks/engine.ts";
import { failingChecks, grade } from "../../../checks/grade.ts";
import { SettleTracker } from "../../../checks/settle.ts";
import { ProbeManager } from "../../../checks/probe.ts";
import { WorkloadIndex } from "../../../checks/workloads.ts";
import { InfraError, ScenarioError } from "../../../runner/errors.ts";
import { reportProblems } from "../../../runner/report/validate.ts";
import type { Check } from "../../../runner/schema/scenario.ts";
import { FakeClock } from "../../helpers/fake-clock.ts";
import { BEEBOX_MANIFEST, beeboxPods, FakeCluster, LAB, NGINX_PAGE, node, pod, scenarioWith, unreachable } from "./fakes.ts";

const nodesCheck = (id: string, extra: Partial<Check> = {}): Check => ({ id, title: `check ${id}`, nodesReady: {}, ...extra }) as Check;
const podCheck = (id: string, name: string, extra: Partial<Check> = {}): Check => ({ id, title: `pod ${name}`, podsReady: { names: [name] }, ...extra }) as Check;
const httpCheck = (id: string, extra: Partial<Check> = {}): Check =>
  ({ id, title: `http ${id}`, http: { from: { pod: "testclient" }, to: { pod: "cyberdyne-frontend" }, expect: { bodyContains: "Welcome to nginx!" } }, ...extra }) as Check;

function podView(c: FakeCluster, name: string): string | undefined {
  return (c.objects.get(FakeCluster.key("v1", "Pod", "default", name))?.status as { phase?: string } | undefined)?.phase;
}

/** A cluster and a virtual clock wired together. */
function world(): { c: FakeCluster; clock: FakeClock } {
  const clock = new FakeClock();
  const c = new FakeCluster();
  c.clock = clock;
  return { c, clock };
}

function options(cluster: FakeCluster, checks: Check[], extra: Partial<EngineOptions> = {}): EngineOptions {
  return {
    client: cluster,
    scenario: scenarioWith(checks),
    lab: LAB,
    defaultTimeoutMs: 200,
    defaultIntervalMs: 20,
    workloads: WorkloadIndex.empty(),
    settle: false,
    // No batching window: on the virtual clock a real timer would never fire before the attempt's deadline.
    probes: new ProbeManager(cluster, { batchWindowMs: 0 }),
    ...(cluster.clock ? { clock: cluster.clock } : {}),
    ...extra,
  };
}

describe("check engine", () => {
  it("passes on the first attempt that holds", async () => {
    const { c } = world();
    c.put(node("n1"));
    const [r] = await runChecks(options(c, [nodesCheck("a", { points: 3, hint: "fix the nodes" } as Partial<Check>)]));
    expect(r).to.deep.include({ id: "a", kind: "nodesReady", status: "passed", points: 3, maxPoints: 3, attempts: 1, message: "1 node Ready", durationMs: 0 });
    expect(r!.hint).to.equal(undefined); // hints only for checks that did not pass
  });

  it("polls until the check holds (eventually)", async () => {
    const { c } = world();
    c.put(node("n1", { ready: false }));
    c.beforeRead = (n) => {
      if (n === 4) c.put(node("n1"));
    };
    const [r] = await runChecks(options(c, [nodesCheck("a")]));
    expect(r!.status).to.equal("passed");
    expect(r!.attempts).to.equal(4);
    expect(r!.durationMs).to.equal(60); // three intervals of 20ms
  });

  it("on timeout reports the last thing it observed, with the hint", async () => {
    const { c } = world();
    c.put(node("n1", { ready: false, message: "first" }));
    c.beforeRead = (n) => c.put(node("n1", { ready: false, message: `observation ${n}` }));
    const [r] = await runChecks(options(c, [nodesCheck("a", { timeout: "150ms", interval: "30ms", hint: "install a CNI" } as Partial<Check>)]));
    expect(r!.status).to.equal("failed");
    expect(r!.hint).to.equal("install a CNI");
    expect(r!.attempts).to.equal(6); // at 0, 30, ..., 150ms
    expect(r!.evidence[0]!.observed).to.equal(`NotReady (KubeletNotReady): observation 6`);
    expect(r!.message).to.equal(`1 of 1 node not Ready: n1 (observation 6)`);
    expect(r!.durationMs).to.equal(150);
  });

  it("consistently: passes when the check holds for the whole period", async () => {
    const { c } = world();
    c.put(node("n1"));
    const [r] = await runChecks(options(c, [nodesCheck("a", { consistently: "120ms", interval: "20ms" } as Partial<Check>)]));
    expect(r!.status).to.equal("passed");
    expect(r!.attempts).to.equal(7);
    expect(r!.durationMs).to.equal(120);
    expect(r!.message).to.equal("held for 120ms (7 attempts): 1 node Ready");
  });

  it("consistently: a grade time limit shorter than the period fails the check, never passes it", async () => {
    const { c } = world();
    c.put(node("n1"));
    const [r] = await runChecks(options(c, [nodesCheck("a", { consistently: "60s", interval: "20ms" } as Partial<Check>)], { timeoutMs: 150 }));
    expect(r!.status).to.equal("failed");
    expect(r!.message).to.equal("held for only 150ms of the required 1m: the grade's time limit cut it short");
  });

  it("consistently: fails as soon as the check flaps, with what it saw", async () => {
    const { c } = world();
    c.put(node("n1"));
    c.beforeRead = (n) => c.put(node("n1", { ready: n % 3 !== 0, message: "kubelet stopped" }));
    const [r] = await runChecks(options(c, [nodesCheck("a", { consistently: "1s", interval: "10ms" } as Partial<Check>)]));
    expect(r!.status).to.equal("failed");
    expect(r!.attempts).to.equal(3);
    expect(r!.message).to.equal("did not hold for 1s: after 20ms, 1 of 1 node not Ready: n1 (kubelet stopped)");
    expect(r!.durationMs).to.equal(20);
  });

  it("consistently: an attempt that errors after earlier ones held fails the check (it did not hold)", async () => {
    const { c } = world();
    c.put(node("n1"));
    c.beforeRead = (n) => {
      if (n === 3) c.readErrors = [new Error("HTTP 503")];
    };
    const [r] = await runChecks(options(c, [nodesCheck("a", { consistently: "1s", interval: "10ms" } as Partial<Check>)]));
    expect(r!.status).to.equal("failed");
    expect(r!.attempts).to.equal(3);
    expect(r!.message).to.equal("did not hold for 1s: after 20ms, attempt 3 could not be evaluated: could not evaluate: HTTP 503");
  });

  it("consistently: a first attempt that errors is an error (nothing was observed), not a pass", async () => {
    const { c } = world();
    c.put(node("n1"));
    c.readErrors = [new Error("HTTP 503")];
    const [r] = await runChecks(options(c, [nodesCheck("a", { consistently: "1s", interval: "10ms" } as Partial<Check>)]));
    expect(r!.status).to.equal("error");
    expect(r!.attempts).to.equal(1);
    expect(r!.message).to.equal("could not evaluate: HTTP 503");
  });

  it("consistently: an attempt that runs out of time fails the check", async () => {
    const { c } = world();
    c.put(node("n1"));
    c.beforeRead = (n) => {
      if (n === 2) c.readDelayMs = 60_000; // the second attempt hangs far past the period
    };
    const [r] = await runChecks(options(c, [nodesCheck("a", { consistently: "100ms", interval: "10ms" } as Partial<Check>)], { attemptGraceMs: 50 }));
    expect(r!.status).to.equal("failed");
    expect(r!.attempts).to.equal(2);
    expect(r!.message).to.equal("did not hold for 100ms: after 150ms, attempt 2 could not be evaluated: an attempt did not finish within 140ms");
  });

  it("retries API errors and passes once the API answers", async () => {
    const { c } = world();
    c.put(node("n1"));
    c.readErrors = [new Error("etcdserver: request timed out"), new Error("HTTP 500")];
    const [r] = await runChecks(options(c, [nodesCheck("a")]));
    expect(r!.status).to.equal("passed");
    expect(r!.attempts).to.equal(3);
    expect(c.calls.filter((x) => x === "ping")).to.have.length(2); // each error checked the cluster is there
  });

  it("is `error` (not failed) when every attempt hit an API error", async () => {
    const { c } = world();
    c.put(node("n1"));
    c.readErrors = Array.from({ length: 100 }, () => new Error("the server is currently unable to handle the request"));
    const [r] = await runChecks(options(c, [nodesCheck("a", { timeout: "80ms" } as Partial<Check>)]));
    expect(r!.status).to.equal("error");
    expect(r!.message).to.equal("could not evaluate: the server is currently unable to handle the request");
  });

  it("keeps the last observation when a later attempt errors", async () => {
    const { c } = world();
    c.put(node("n1", { ready: false }));
    c.beforeRead = (n) => {
      if (n >= 3) c.readErrors = [new Error("HTTP 503")];
    };
    const [r] = await runChecks(options(c, [nodesCheck("a", { timeout: "100ms" } as Partial<Check>)]));
    expect(r!.status).to.equal("failed");
    expect(r!.evidence.at(-1)).to.deep.equal({ label: "last attempt", observed: "could not evaluate: HTTP 503" });
  });

  it("aborts the whole grade with InfraError when the cluster becomes unreachable", async () => {
    const { c, clock } = world();
    c.put(node("n1"));
    c.readErrors = [unreachable()];
    c.pingError = unreachable();
    const t0 = clock.now();
    const error = await runChecks(options(c, [nodesCheck("a", { timeout: "10s" } as Partial<Check>), nodesCheck("b", { timeout: "10s", consistently: "10s" } as Partial<Check>)])).catch(
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(InfraError);
    expect(clock.now() - t0).to.be.lessThan(10_000); // not after the checks' timeouts
  });

  it("skips a check whose dependency did not pass, with the reason and the hint", async () => {
    const { c } = world();
    c.put(node("n1", { ready: false }), pod("web"));
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
    const { c, clock } = world();
    c.put(node("n1"), pod("web"));
    c.readDelayMs = 150;
    const checks = [nodesCheck("a"), nodesCheck("b"), nodesCheck("c"), nodesCheck("d"), podCheck("e", "web", { needs: ["a"] } as Partial<Check>)];
    const t0 = clock.now();
    const results = await runChecks(options(c, checks));
    expect(results.every((r) => r.status === "passed")).to.equal(true);
    // 4 independent checks of one 150ms read each, and a chain of two: 300ms (one after another: 750ms)
    expect(clock.now() - t0).to.equal(300);
  });

  it("emits typed progress events", async () => {
    const { c } = world();
    c.put(node("n1", { ready: false }));
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
    const { c } = world();
    const unknown = await runChecks(options(c, [nodesCheck("a", { needs: ["zz"] } as Partial<Check>)])).catch((e: unknown) => e);
    expect(unknown).to.be.instanceOf(ScenarioError);
    const cycle = await runChecks(options(c, [nodesCheck("a", { needs: ["b"] } as Partial<Check>), nodesCheck("b", { needs: ["a"] } as Partial<Check>)])).catch((e: unknown) => e);
    expect((cycle as Error).message).to.match(/cycle: a → b → a|cycle: b → a → b/);
  });

  it("stops on abort and rejects with the signal's reason", async () => {
    const { c, clock } = world();
    c.put(node("n1", { ready: false }));
    const controller = new AbortController();
    c.beforeRead = (n) => {
      if (n === 3) controller.abort(new Error("SIGINT"));
    };
    const t0 = clock.now();
    const error = await runChecks(options(c, [nodesCheck("a", { timeout: "10s" } as Partial<Check>)], { signal: controller.signal })).catch((e: unknown) => e);
    expect((error as Error).message).to.equal("SIGINT");
    expect(clock.now() - t0).to.equal(40);
  });

  it("a grade time limit ends polling checks with their last observation", async () => {
    const { c, clock } = world();
    c.put(node("n1", { ready: false }), pod("web"));
    const t0 = clock.now();
    const results = await runChecks(options(c, [nodesCheck("a", { timeout: "10s" } as Partial<Check>), podCheck("b", "web", { needs: ["a"] } as Partial<Check>)], { timeoutMs: 100 }));
    expect(clock.now() - t0).to.equal(100);
    expect(results[0]!.status).to.equal("failed");
    expect(results[0]!.message).to.match(/the grade's time limit cut it short/);
  });
});

describe("attempts raced against their deadline", () => {
  it("an API call that never returns ends the attempt as an error at the check's end plus grace", async () => {
    const { c, clock } = world();
    c.put(node("n1"));
    c.readDelayMs = 1e9; // the read hangs (on the virtual clock)
    const t0 = clock.now();
    const [r] = await runChecks(options(c, [nodesCheck("a", { timeout: "1s", interval: "100ms" } as Partial<Check>)], { attemptGraceMs: 500 }));
    expect(r!.status).to.equal("error");
    expect(r!.message).to.equal("an attempt did not finish within 1.5s");
    expect(r!.attempts).to.equal(1);
    expect(clock.now() - t0).to.equal(1_500);
  });

  it("a slow attempt that finishes within its grace still counts", async () => {
    const { c, clock } = world();
    c.put(node("n1"));
    c.readDelayMs = 1_200; // longer than the check's timeout, shorter than timeout + grace
    const t0 = clock.now();
    const [r] = await runChecks(options(c, [nodesCheck("a", { timeout: "1s" } as Partial<Check>)], { attemptGraceMs: 500 }));
    expect(r!.status).to.equal("passed");
    expect(clock.now() - t0).to.equal(1_200);
  });

  it("a script that ignores its abort signal cannot hang the grade: it ends as an error at deadline + grace", async () => {
    const clock = new FakeClock(undefined, { auto: false });
    const c = new FakeCluster();
    c.clock = clock;
    const script = `export default async function (ctx) {
      ctx.logger.info("started");
      await new Promise(() => {}); // never settles, never looks at ctx.signal
    }`;
    const checks = [{ id: "s", title: "a stuck script", timeout: "2s", script: { file: "stuck.mjs" } }] as Check[];
    const events: GradeEvent[] = [];
    let started!: () => void;
    const scriptStarted = new Promise<void>((resolve) => (started = resolve));
    const t0 = clock.now();
    const run = runChecks({
      ...options(c, checks, { attemptGraceMs: 3_000 }),
      scenario: scenarioWith(checks, { files: { "stuck.mjs": script } }),
      onEvent: (e) => {
        events.push(e);
        if (e.type === "log" && e.message === "started") started();
      },
    });
    await scriptStarted; // the module is loaded and running (a real import), now let time pass
    clock.auto();
    const [r] = await run;
    expect(r!.status).to.equal("error");
    expect(r!.message).to.equal("an attempt did not finish within 5s");
    expect(r!.attempts).to.equal(1);
    expect(clock.now() - t0).to.equal(5_000);
  });

  it("an interrupt ends an attempt whose evaluator ignores its signal", async () => {
    const clock = new FakeClock(undefined, { auto: false });
    const c = new FakeCluster();
    c.clock = clock;
    const script = `export default async function (ctx) { ctx.logger.info("started"); await new Promise(() => {}); }`;
    const checks = [{ id: "s", title: "a stuck script", timeout: "2s", script: { file: "stuck.mjs" } }] as Check[];
    const controller = new AbortController();
    const run = runChecks({
      ...options(c, checks),
      scenario: scenarioWith(checks, { files: { "stuck.mjs": script } }),
      signal: controller.signal,
      onEvent: (e) => {
        if (e.type === "log" && e.message === "started") controller.abort(new Error("SIGINT"));
      },
    });
    const error = await run.catch((e: unknown) => e);
    expect((error as Error).message).to.equal("SIGINT");
    expect(clock.pending).to.equal(0); // no timer of the attempt left behind
  });
});

describe("network checks: a pass is confirmed", () => {
  const probeWorld = () => {
    const { c, clock } = world();
    c.put(...beeboxPods());
    return { c, clock };
  };

  it("a pass is confirmed by one more attempt", async () => {
    const { c } = probeWorld();
    c.probe = () => ({ ok: true, status: 200, body: NGINX_PAGE });
    const [r] = await runChecks(options(c, [httpCheck("h")]));
    expect(r!.status).to.equal("passed");
    expect(r!.attempts).to.equal(2);
    expect(c.execs.filter((e) => e.command[1] === "http")).to.have.length(2);
  });

  it("a pass followed by a failure is `failed` as flapping, never a pass", async () => {
    const { c } = probeWorld();
    let n = 0;
    c.probe = () => (++n === 3 ? { ok: true, status: 200, body: NGINX_PAGE } : { ok: false, error: "dial tcp 192.168.1.4:80: i/o timeout" });
    const [r] = await runChecks(options(c, [httpCheck("h")]));
    expect(r!.status).to.equal("failed");
    expect(r!.points).to.equal(0);
    expect(r!.message).to.match(/^flapping: passed at attempt 3, failed at attempt 4: default\/testclient cannot reach default\/cyberdyne-frontend:80/);
    expect(r!.evidence.at(-1)).to.deep.include({ label: "attempt 3 (passed)" });
  });

  it("a pass whose confirmation could not be evaluated is an error, not a pass", async () => {
    const { c } = probeWorld();
    let n = 0;
    c.probe = () => (++n === 1 ? { ok: true, status: 200, body: NGINX_PAGE } : { exitCode: null, stdout: "", stderr: "", timedOut: true });
    const [r] = await runChecks(options(c, [httpCheck("h")]));
    expect(r!.status).to.equal("error");
    expect(r!.message).to.match(/^could not confirm a pass: passed at attempt 1, attempt 2 could not be evaluated: /);
  });

  it("a network check that needs only network checks probes alongside them: one round of attempts, not two; verdicts as if it had waited", async () => {
    const { c, clock } = probeWorld();
    c.probe = () => ({ ok: true, status: 200, body: NGINX_PAGE });
    const checks = [httpCheck("a"), httpCheck("b", { needs: ["a"] } as Partial<Check>)];
    const t0 = clock.now();
    const [a, b] = await runChecks(options(c, checks));
    expect([a!.status, b!.status]).to.deep.equal(["passed", "passed"]);
    expect(b!.attempts).to.equal(2);
    expect(clock.now() - t0).to.equal(0);
    expect(c.probeExecs, "a's and b's probes share two round trips (four one after the other without it)").to.deep.equal(["batch", "batch"]);
  });

  it("speculative: a need that fails makes it `skipped` with the usual message; its own failures before then are not final", async () => {
    const { c } = probeWorld();
    c.probe = () => ({ ok: false, error: "dial tcp 192.168.1.4:80: i/o timeout" });
    const [a, b] = await runChecks(options(c, [httpCheck("a", { timeout: "100ms" } as Partial<Check>), httpCheck("b", { needs: ["a"], timeout: "10ms" } as Partial<Check>)]));
    expect(a!.status).to.equal("failed");
    expect(b).to.deep.include({ status: "skipped", message: "skipped: needs a (failed)", attempts: 0 });
  });

  it("speculative: failures and its timeout before the need passed are not final; from then on it runs as if it had started then", async () => {
    const { c, clock } = probeWorld();
    c.probe = () => (clock.now() >= 100 ? { ok: true, status: 200, body: NGINX_PAGE } : { ok: false, error: "dial tcp 192.168.1.4:80: i/o timeout" });
    const checks = [httpCheck("a", { timeout: "1s" } as Partial<Check>), httpCheck("b", { needs: ["a"], timeout: "30ms" } as Partial<Check>)];
    const [a, b] = await runChecks(options(c, checks));
    expect(a!.status).to.equal("passed");
    expect(b!.status, "b's 30 ms ran out while a was still failing: not final").to.equal("passed");
    expect(b!.durationMs, "counted from a's pass").to.equal(0);
  });

  it("non-network kinds pass on their first good attempt", async () => {
    const { c } = world();
    c.put(node("n1"));
    const [r] = await runChecks(options(c, [nodesCheck("a")]));
    expect(r!.attempts).to.equal(1);
  });
});

describe("the settle rule", () => {
  it("an untouched broken cluster: a failing check stops after the settle window, not its 60s timeout", async () => {
    const { c, clock } = world();
    c.put(node("cp", { ready: false, controlPlane: true }), node("w1", { ready: false }), pod("web", { phase: "Pending", unschedulable: "0/2 nodes are available: 2 node(s) had untolerated taint" }));
    const t0 = clock.now();
    const [r] = await runChecks(options(c, [nodesCheck("nodes", { timeout: "60s", interval: "2s" } as Partial<Check>)], { settle: { windowMs: 5_000 } }));
    expect(r!.status).to.equal("failed");
    expect(r!.message).to.equal("2 of 2 nodes not Ready: cp, w1 (container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized) (settled: the cluster did not change for 5s)");
    expect(clock.now() - t0).to.equal(6_000); // the first attempt after the 5 s window (attempts every 2 s)
    expect(r!.attempts).to.equal(4);
  });

  it("keeps polling while the cluster converges, and passes when it gets there", async () => {
    const { c, clock } = world();
    const owner = [{ kind: "DaemonSet", name: "kube-flannel-ds", uid: "ds1" }];
    c.put(node("n1", { ready: false }), pod("flannel", { phase: "Pending", waiting: "ContainerCreating", ownerReferences: owner }));
    const t0 = clock.now();
    c.beforeRead = () => {
      const elapsed = clock.now() - t0;
      if (elapsed >= 25_000) c.put(node("n1"));
      else if (elapsed >= 12_000 && podView(c, "flannel") !== "Running") {
        // The CNI's pod turns Ready at 12 s; its node follows 13 s later with no other API change.
        const p = pod("flannel", { phase: "Running", ownerReferences: owner });
        (p.status as { conditions: { type: string; lastTransitionTime?: string }[] }).conditions.find((x) => x.type === "Ready")!.lastTransitionTime = new Date(clock.now()).toISOString();
        c.put(p);
      }
    };
    const [r] = await runChecks(options(c, [nodesCheck("nodes", { timeout: "60s", interval: "2s" } as Partial<Check>)], { settle: { windowMs: 5_000, recentMs: 20_000 } }));
    expect(r!.status).to.equal("passed");
    expect(clock.now() - t0).to.equal(26_000);
  });

  it("gives up once convergence ends and nothing follows for the window", async () => {
    const { c, clock } = world();
    c.put(node("n1", { ready: false }), pod("web", { phase: "Pending", waiting: "ContainerCreating" }));
    const t0 = clock.now();
    c.beforeRead = () => {
      if (clock.now() - t0 >= 12_000) c.put(pod("web", { phase: "Running" }));
    };
    const [r] = await runChecks(options(c, [nodesCheck("nodes", { timeout: "60s", interval: "2s" } as Partial<Check>)], { settle: { windowMs: 5_000 } }));
    expect(r!.status).to.equal("failed");
    expect(r!.message).to.match(/\(settled: the cluster did not change for 5s\)$/);
    expect(clock.now() - t0).to.equal(18_000); // converging until 12 s, then 5 s of quiet, seen at the 18 s attempt
  });

  it("a change restarts the window", async () => {
    const { c, clock } = world();
    c.put(node("n1", { ready: false }), pod("web", { phase: "Running", labels: { app: "a" } }));
    const t0 = clock.now();
    c.beforeRead = () => {
      if (clock.now() - t0 === 4_000) c.put(pod("web", { phase: "Running", labels: { app: "b" } })); // a learner's change
    };
    const [r] = await runChecks(options(c, [nodesCheck("nodes", { timeout: "60s", interval: "2s" } as Partial<Check>)], { settle: { windowMs: 5_000 } }));
    expect(r!.status).to.equal("failed");
    expect(clock.now() - t0).to.equal(10_000); // the change was first seen at 4 s: settled 5 s later, at the next attempt
  });

  it("settle: false waits out the timeout", async () => {
    const { c, clock } = world();
    c.put(node("n1", { ready: false }));
    const t0 = clock.now();
    const [r] = await runChecks(options(c, [nodesCheck("nodes", { timeout: "60s", interval: "2s" } as Partial<Check>)], { settle: false }));
    expect(r!.status).to.equal("failed");
    expect(r!.message).to.not.include("settled");
    expect(clock.now() - t0).to.equal(60_000);
  });

  it("a cluster whose state cannot be read is never settled", async () => {
    const { c, clock } = world();
    c.put(node("n1", { ready: false }));
    const tracker = new SettleTracker(() => Promise.reject(new Error("forbidden")), clock, { windowMs: 5_000 });
    const t0 = clock.now();
    const [r] = await runChecks(options(c, [nodesCheck("nodes", { timeout: "20s", interval: "2s" } as Partial<Check>)], { settle: tracker }));
    expect(r!.status).to.equal("failed");
    expect(clock.now() - t0).to.equal(20_000);
  });

  it("passing checks are not slowed down, and the samples are shared between checks", async () => {
    const { c, clock } = world();
    c.put(node("n1", { ready: false }), pod("web"));
    const checks = [nodesCheck("a", { timeout: "60s" } as Partial<Check>), nodesCheck("b", { timeout: "60s" } as Partial<Check>), podCheck("web", "web")];
    const t0 = clock.now();
    const results = await runChecks(options(c, checks, { settle: { windowMs: 5_000 }, defaultIntervalMs: 2_000 }));
    expect(results.map((r) => r.status)).to.deep.equal(["failed", "failed", "passed"]);
    expect(results[2]!.durationMs).to.equal(0);
    expect(clock.now() - t0).to.equal(6_000);
    // two failing checks, attempts at 0, 2, 4, 6 s: one sample per round, shared (a sample lists 9 kinds)
    expect(c.calls.filter((x) => x.startsWith("list NetworkPolicy"))).to.have.length(4);
  });
});

describe("snapshot checks (once) and failingChecks", () => {
  it("evaluates `once` checks a single time, without waiting for their timeout", async () => {
    const { c, clock } = world();
    c.put(node("n1", { ready: false }));
    const t0 = clock.now();
    const [r] = await runChecks(options(c, [nodesCheck("a", { timeout: "10s", consistently: "10s" } as Partial<Check>)], { once: ["a"] }));
    expect(clock.now() - t0).to.equal(0);
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
    const failing = await failingChecks({ loaded: source, lab: LAB, client: c });
    expect(failing).to.deep.equal(["nodes", "db"]);
  });

  it("failingChecks never counts a check that could not be evaluated as failing: it rejects with the reason", async () => {
    const c = new FakeCluster().put(node("n1", { ready: false }), ...beeboxPods());
    c.addEphemeralError = new Error("ephemeral containers are disabled");
    const checks = [nodesCheck("nodes", { timeout: "10s" } as Partial<Check>), httpCheck("h", { timeout: "10ms" } as Partial<Check>), podCheck("after", "web", { needs: ["h"] } as Partial<Check>)];
    const source = scenarioWith(checks);
    (source.scenario.spec.broken as { failing: string[] }).failing = ["nodes", "h", "after"];
    const error = (await failingChecks({ loaded: source, lab: LAB, client: c }).catch((e: unknown) => e)) as InfraError;
    expect(error).to.be.instanceOf(InfraError);
    expect(error.code).to.equal("BROKEN_STATE_UNVERIFIED");
    expect(error.message).to.equal("could not verify the broken state: 2 checks could not be evaluated (h, after)");
    expect(error.output).to.match(/^h: could not be evaluated: .*\nafter: skipped because h could not be evaluated: /);
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
    // looked at three times before the first check (a slow moment on a loaded machine is not a lost cluster), and no check ran
    expect(c.calls).to.deep.equal(["ping", "ping", "ping"]);
  });

  it("a ping that fails once (a slow moment) is looked at again before it ends the grade; a stopped node container ends it at once", async () => {
    const c = new FakeCluster();
    let pings = 0;
    const ping = c.ping.bind(c);
    c.ping = async () => {
      pings++;
      if (pings === 1) throw unreachable();
      return ping();
    };
    const report = await grade({ ...options(c, [nodesCheck("a")]), attempt: 1 });
    expect(report.checks[0]!.status).to.not.equal("error");
    expect(pings).to.be.greaterThanOrEqual(2);

    const down = new FakeCluster();
    let infraCalls = 0;
    const error = await grade({
      ...options(down, [nodesCheck("a")]),
      attempt: 1,
      infra: async () => {
        infraCalls++;
        throw new InfraError('the lab\'s node container "w" is not running (exited)', { code: "NODE_CONTAINER_DOWN" });
      },
    }).catch((e: unknown) => e);
    expect((error as InfraError).code).to.equal("NODE_CONTAINER_DOWN");
    expect(infraCalls).to.equal(1);
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
    // the two checks' probes go in one exec per round: the first passes, the second confirms them (network passes are confirmed)
    expect(c.probeExecs, "the two checks' probes went in one exec per round").to.deep.equal(["batch", "batch"]);
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
