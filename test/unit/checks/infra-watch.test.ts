/**
 * A grade tells labrun's infrastructure from the learner's cluster (issue 14):
 * a node container that stops, an API server that stops answering, a probe
 * whose image is missing end the grade with an InfraError (exit 3) within a
 * bounded time, never a report. On a virtual clock: no wall-clock assertion.
 */
import { expect } from "chai";
import { grade } from "../../../checks/grade.ts";
import { CheckEvalError } from "../../../checks/context.ts";
import { ProbeManager } from "../../../checks/probe.ts";
import { WorkloadIndex } from "../../../checks/workloads.ts";
import { InfraError } from "../../../runner/errors.ts";
import type { Check } from "../../../runner/schema/scenario.ts";
import { FakeClock } from "../../helpers/fake-clock.ts";
import { FakeCluster, LAB, node, scenarioWith, unreachable } from "./fakes.ts";

const slowFailing = (id: string): Check => ({ id, title: id, timeout: "60s", nodesReady: {} }) as Check;
const nodeCommand = (id: string): Check => ({ id, title: id, timeout: "60s", command: { on: { node: "all" }, command: ["true"] } }) as unknown as Check;

function setup(checks: Check[]) {
  const clock = new FakeClock();
  const c = new FakeCluster();
  c.clock = clock;
  c.put(node("n1", { ready: false }));
  const base = {
    client: c,
    scenario: scenarioWith(checks),
    lab: LAB,
    clock,
    defaultIntervalMs: 1_000,
    workloads: WorkloadIndex.empty(),
    settle: false as const,
    probes: new ProbeManager(c, { batchWindowMs: 0 }),
  };
  return { c, clock, base };
}

const nodeDown = () => new InfraError(`the lab's node container "labrun-test-lab-worker" is not running (exited)`, { code: "NODE_CONTAINER_DOWN" });

describe("grade: infrastructure faults", () => {
  it("a node container that stops during the grade ends it with that InfraError within one watch interval, not after the checks' timeouts", async () => {
    const { clock, base } = setup([slowFailing("a"), slowFailing("b")]);
    let down = false;
    setTimeout(() => (down = true), 0);
    const t0 = clock.now();
    const error = await grade({ ...base, infra: async () => (down && clock.now() - t0 >= 3_000 ? Promise.reject(nodeDown()) : undefined) }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InfraError);
    expect((error as InfraError).code).to.equal("NODE_CONTAINER_DOWN");
    expect(clock.now() - t0).to.be.at.most(6_000);
  });

  it("checks the infrastructure before any check: a node container already down is an InfraError, not a grade", async () => {
    const { c, base } = setup([slowFailing("a")]);
    const error = await grade({ ...base, infra: () => Promise.reject(nodeDown()) }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InfraError);
    expect(c.calls.filter((x) => !x.startsWith("ping"))).to.deep.equal([]);
  });

  it("an API server that stops answering ends the grade (the watchdog pings), even while every check sleeps between attempts", async () => {
    const { c, clock, base } = setup([slowFailing("a")]);
    const t0 = clock.now();
    const ping = c.ping.bind(c);
    let pings = 0;
    c.ping = async () => {
      if (++pings > 1) throw unreachable(); // the first ping (before the checks) answers
      return ping();
    };
    const error = await grade({ ...base, defaultIntervalMs: 30_000 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InfraError);
    expect((error as InfraError).code).to.equal("CLUSTER_UNREACHABLE");
    expect(clock.now() - t0).to.be.lessThan(30_000);
  });

  it("an InfraError from a node command (docker exec on a stopped node) ends the grade instead of a check that could not be evaluated", async () => {
    const { c, base } = setup([nodeCommand("cmd"), slowFailing("nodes")]);
    c.nodeRunner = () => {
      throw nodeDown();
    };
    const error = await grade({ ...base, watchIntervalMs: 0 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InfraError);
    expect((error as Error).message).to.match(/labrun-test-lab-worker/);
  });

  it("a check that could not be evaluated makes the grade check the infrastructure once more before it reports", async () => {
    const { c, base } = setup([nodeCommand("cmd")]);
    c.put(node("n1"));
    c.nodeRunner = () => {
      throw new CheckEvalError("no shell", { final: true });
    };
    let calls = 0;
    const infra = async () => {
      if (++calls > 1) throw nodeDown();
    };
    const error = await grade({ ...base, watchIntervalMs: 0, infra }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InfraError);
    expect(calls).to.equal(2);
  });

  it("an infrastructure CheckEvalError (the probe image is missing) ends the grade as an InfraError", async () => {
    const { c, base } = setup([nodeCommand("cmd")]);
    c.nodeRunner = () => {
      throw new CheckEvalError("labrun's probe could not start: ErrImagePull", { final: true, infrastructure: true });
    };
    const error = await grade({ ...base, watchIntervalMs: 0 }).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InfraError);
    expect((error as Error).message).to.match(/ErrImagePull/);
  });

  it("a healthy cluster still grades, and the watchdog stops with the grade", async () => {
    const { clock, base } = setup([slowFailing("a")]);
    let checks = 0;
    const report = await grade({ ...base, infra: async () => void checks++ });
    expect(report.score.passed).to.equal(false);
    expect(checks).to.be.greaterThan(1);
    expect(clock.pending).to.equal(0);
  });
});
