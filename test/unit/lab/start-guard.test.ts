/**
 * The watch `labrun start` keeps on Docker, the node containers and the API
 * (runner/lab/start-guard.ts), with fakes: what is a fault and what is not,
 * and what `start` does with one (no retry of kind create, cleanup, exit 3).
 */
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { InfraError } from "../../../runner/errors.ts";
import type { LabEvent } from "../../../runner/lab/events.ts";
import { goodProbes } from "./fakes.ts";
import { start, type StartOptions } from "../../../runner/lab/start.ts";
import { StartGuard, type NodeStates } from "../../../runner/lab/start-guard.ts";
import { LabStore } from "../../../runner/lab/state.ts";
import { KindProvider } from "../../../runner/providers/kind.ts";
import { fakeRunner } from "../providers/fake-runner.ts";
import { fakeClient, node } from "./fakes.ts";

const CP = "labrun-lab-control-plane";
const WORKER = "labrun-lab-worker";
const unresponsive = () => new InfraError("Docker did not answer within 15s (`docker ps`)", { code: "DOCKER_UNRESPONSIVE" });

/** nodeStates answering from a script: a Map, or an error to throw. */
function scripted(...answers: (Record<string, string> | Error)[]): NodeStates {
  let i = 0;
  return async () => {
    const a = answers[Math.min(i++, answers.length - 1)]!;
    if (a instanceof Error) throw a;
    return new Map(Object.entries(a));
  };
}

function guard(nodeStates: NodeStates, extra: Partial<ConstructorParameters<typeof StartGuard>[0]> = {}) {
  return new StartGuard({ lab: "lab", cluster: () => "labrun-lab", nodeStates, intervalMs: 3_600_000, ...extra });
}

describe("lab/start-guard: labrun's infrastructure while a lab starts", () => {
  it("a node container that ran and stopped, was paused or removed is a fault naming it; nodes not made yet, or just created, are not", async () => {
    const g = guard(scripted({ [CP]: "created" }, { [CP]: "running" }, { [CP]: "running", [WORKER]: "running" }, { [CP]: "running" }));
    g.watchNodes();
    expect(await g.tick()).to.equal(undefined); // created: kind is starting it
    expect(await g.tick()).to.equal(undefined); // the worker is not made yet
    expect(await g.tick()).to.equal(undefined);
    const fault = await g.tick();
    g.stop();
    expect(fault).to.be.instanceOf(InfraError);
    expect(fault!.code).to.equal("NODE_CONTAINER_DOWN");
    expect(fault!.message).to.contain(`"${WORKER}" is removed`).and.contain('lab "lab"');
    expect(g.signal.aborted).to.equal(true);
    expect(g.signal.reason).to.equal(fault);
    for (const [state, words] of [["exited", "is not running (exited)"], ["paused", "is paused"]] as const) {
      const h = guard(scripted({ [WORKER]: "running" }, { [WORKER]: state }));
      h.watchNodes();
      await h.tick();
      expect((await h.tick())?.message).to.contain(`"${WORKER}" ${words}`);
      h.stop();
    }
  });

  it("nodes deleted on purpose (kind create retried) are no fault; nothing is looked at before the cluster is made", async () => {
    let looks = 0;
    const states = scripted({ [CP]: "running" }, {}, { [CP]: "exited" }, {});
    const g = guard(async (...a) => (looks++, states(...a)));
    expect(await g.tick()).to.equal(undefined);
    expect(looks).to.equal(0);
    g.watchNodes();
    await g.tick();
    g.forgetNodes(); // kind delete stops and removes them: not looked at
    expect(await g.tick()).to.equal(undefined);
    expect(looks).to.equal(1);
    g.watchNodes(); // the next create
    expect(await g.tick()).to.equal(undefined); // gone, but not seen running since
    expect(looks).to.equal(2);
    g.stop();
  });

  it("Docker: one look without an answer is no fault (a loaded machine); two in a row are, naming Docker and `labrun gc`", async () => {
    const g = guard(scripted(unresponsive(), { [CP]: "running" }, unresponsive(), unresponsive()));
    g.watchNodes();
    expect(await g.tick()).to.equal(undefined);
    expect(await g.tick()).to.equal(undefined); // an answer resets the count
    expect(await g.tick()).to.equal(undefined);
    const fault = await g.tick();
    g.stop();
    expect(fault?.code).to.equal("DOCKER_UNRESPONSIVE");
    expect(fault?.message).to.contain("Docker did not answer within 15s, twice in a row");
    expect(fault?.hint).to.contain("labrun gc").and.contain("labrun-lab");
  });

  it("the API: watched only during the steps; no answer for the grace period is a fault naming it, an API back within it is none (the step converges)", async () => {
    let now = 0;
    let up = false;
    const client = fakeClient().client;
    client.ping = async () => {
      if (!up) throw new Error("connect ECONNREFUSED 127.0.0.1:6443");
      return { gitVersion: "v1.34.12" };
    };
    const g = guard(scripted({}), { client: () => client, apiGraceMs: 45_000, now: () => now });
    expect(await g.tick()).to.equal(undefined); // not watched: no step runs
    g.watchApi(true);
    now = 44_000;
    expect(await g.tick()).to.equal(undefined);
    up = true;
    expect(await g.tick()).to.equal(undefined); // back: the grace starts again
    up = false;
    now = 88_000;
    expect(await g.tick()).to.equal(undefined);
    g.watchApi(false);
    now = 200_000;
    expect(await g.tick()).to.equal(undefined); // the steps are done
    g.watchApi(true);
    now = 246_000;
    const fault = await g.tick();
    g.stop();
    expect(fault?.code).to.equal("API_UNREACHABLE");
    expect(fault?.message).to.contain('the Kubernetes API of cluster "labrun-lab" stopped answering').and.contain("no answer for 45s").and.contain("ECONNREFUSED");
  });

  it("after a failed kind create (and at any look): a node container that exited is the fault, even one never seen running", async () => {
    const g = guard(scripted({ [CP]: "running", [WORKER]: "exited" }));
    const fault = await g.afterFailedCreate();
    expect(fault?.message).to.contain(`"${WORKER}" is not running (exited)`);
    const ok = guard(scripted({ [CP]: "running", [WORKER]: "running" }));
    expect(await ok.afterFailedCreate()).to.equal(undefined);
    const noDocker = guard(scripted(new InfraError("failed to list", { code: "DOCKER_FAILED" })));
    expect(await noDocker.afterFailedCreate()).to.equal(undefined); // the create's own error stands
  });
});

describe("lab/start with the guard (fake kind)", () => {
  let dir: string;
  let store: LabStore;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "labrun-guard-"));
    store = new LabStore({ dir });
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const SCENARIO = new URL("../../../test/e2e/fixtures/scenarios/faults-lab/", import.meta.url).pathname;
  const NODES = "docker ps -a --filter label=io.x-k8s.kind.cluster=labrun-lab --format";

  function options(run: ReturnType<typeof fakeRunner>, events: LabEvent[], over: Partial<StartOptions> = {}): StartOptions {
    const cluster = fakeClient([node(CP, true, true), node(WORKER, true)]);
    return {
      scenario: SCENARIO,
      name: "lab",
      store,
      kind: new KindProvider({ run: run.run, kind: "kind", docker: "docker", pollMs: 1 }),
      probes: goodProbes,
      clientFactory: async () => cluster.client,
      gradeFailing: async () => ["http-by-name"],
      onEvent: (e) => events.push(e),
      env: { LABRUN_PROBE_DIR: path.join(dir, "no-probe") },
      settleMs: 0,
      guard: { intervalMs: 3_600_000 },
      ...over,
    };
  }

  it("kind create fails because a node container was killed: exit 3 naming it, no second create, the cluster deleted and the lab forgotten", async () => {
    const run = fakeRunner([
      ["kind get clusters", { stdout: "" }],
      ["kind create cluster", { exitCode: 1, stderr: `ERROR: failed to create cluster: failed to join node with kubeadm: Error response from daemon: container ${WORKER} is not running` }],
      [NODES, { stdout: `${CP}\trunning\n${WORKER}\texited\n` }],
    ]);
    const events: LabEvent[] = [];
    const error = (await start(options(run, events)).catch((e: unknown) => e)) as InfraError;
    expect(error).to.be.instanceOf(InfraError);
    expect(error.code).to.equal("NODE_CONTAINER_DOWN");
    expect(error.exitCode).to.equal(3);
    expect(error.message).to.contain(`"${WORKER}" is not running (exited)`);
    expect(run.lines().filter((l) => l.startsWith("kind create"))).to.have.length(1);
    expect(run.lines().some((l) => l.startsWith("kind delete cluster --name labrun-lab"))).to.equal(true);
    expect(await store.list()).to.deep.equal([]);
  });

  it("Docker stops answering during kind create: exit 3 naming Docker within two looks; kind is stopped, nothing is deleted (it would hang), the lab is forgotten and `labrun gc` named", async () => {
    const run = fakeRunner([
      ["kind get clusters", { stdout: "" }],
      // kind hangs on the wedged engine until labrun stops it
      ["kind create cluster", (call) => new Promise((resolve) => call.options.signal!.addEventListener("abort", () => resolve({ exitCode: null, aborted: true })))],
      [NODES, { exitCode: null, timedOut: true }],
    ]);
    const events: LabEvent[] = [];
    const error = (await start(options(run, events, { guard: { intervalMs: 5 } })).catch((e: unknown) => e)) as InfraError;
    expect(error.code).to.equal("DOCKER_UNRESPONSIVE");
    expect(error.exitCode).to.equal(3);
    expect(run.lines().filter((l) => l.startsWith(NODES))).to.have.length(2);
    expect(run.lines().some((l) => l.startsWith("kind delete"))).to.equal(false);
    expect(await store.list()).to.deep.equal([]);
    const warning = events.find((e) => e.type === "warning");
    expect(warning && "message" in warning ? warning.message : "").to.contain("labrun gc").and.contain("labrun-lab");
  });

  it("the API stops answering during a setup step: exit 3 naming the API once the grace is over; the cluster deleted", async () => {
    let now = 0;
    const run = fakeRunner([
      ["kind get clusters", { stdout: "" }],
      [/readyz/, { stdout: "ok" }],
      [NODES, { stdout: `${CP}\trunning\n${WORKER}\trunning\n` }],
    ]);
    const cluster = fakeClient([node(CP, true, true), node(WORKER, true), { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "default", namespace: "hostsfile" } }]);
    // the API answers until the setup's wait starts, then never: the wait polls (errors are not its verdict) and time passes
    let down = false;
    cluster.client.ping = async () => {
      if (down) throw new Error("connect ECONNREFUSED");
      return { gitVersion: "v1.34.12" };
    };
    cluster.onList((kind) => {
      if (kind !== "Pod") return;
      down = true;
      now += 30_000;
      throw new Error("connect ECONNREFUSED");
    });
    const events: LabEvent[] = [];
    const error = (await start(options(run, events, { clientFactory: async () => cluster.client, guard: { intervalMs: 5, now: () => now } })).catch((e: unknown) => e)) as InfraError;
    expect(error.code).to.equal("API_UNREACHABLE");
    expect(error.message).to.contain("Kubernetes API").and.contain("labrun-lab");
    expect(run.lines().some((l) => l.startsWith("kind delete cluster --name labrun-lab"))).to.equal(true);
    expect(await store.list()).to.deep.equal([]);
  });
});
