/** Clusters warmed ahead for `labrun test` (runner/lab/scenario-test-warm.ts), with a fake warm function. */
import { expect } from "chai";
import type { LoadedScenario } from "../../../runner/scenario/load.ts";
import { Warmer, type WarmOne } from "../../../runner/lab/scenario-test-warm.ts";

const scenario = (name: string) => ({ name }) as LoadedScenario;
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

function harness(ahead: number, immediate: number, runs: number) {
  const calls: string[] = [];
  const pending: { name: string; resolve: (id: string | undefined) => void; reject: (e: Error) => void }[] = [];
  const warmOne: WarmOne = (loaded) =>
    new Promise((resolve, reject) => {
      calls.push(loaded.name);
      pending.push({ name: loaded.name, resolve, reject });
    });
  const discarded: string[] = [];
  const warnings: string[] = [];
  const warmer = new Warmer({ ahead, immediate, warmOne, discard: async (ids) => void discarded.push(...ids), onWarning: (m) => warnings.push(m) });
  const tickets = Array.from({ length: runs }, (_, i) => warmer.plan(scenario(`s${i}`)));
  warmer.begin();
  return { warmer, tickets, calls, pending, discarded, warnings };
}

describe("labrun test: clusters warmed ahead", () => {
  it("warms nothing for the runs that start at once, and begins only once they have their clusters", async () => {
    const h = harness(1, 2, 4);
    expect(await h.warmer.take(0)).to.equal(undefined);
    expect(await h.warmer.take(1)).to.equal(undefined);
    await tick();
    expect(h.calls).to.deep.equal([]);
    h.warmer.started(0);
    await tick();
    expect(h.calls).to.deep.equal([]);
    h.warmer.started(1);
    await tick();
    expect(h.calls).to.deep.equal(["s2"]);
    h.pending[0]!.resolve("a");
    await tick();
    expect(h.calls, "at most `ahead` warmed clusters wait unclaimed").to.deep.equal(["s2"]);
    expect(await h.warmer.take(2)).to.equal("a");
    await tick();
    expect(h.calls).to.deep.equal(["s2", "s3"]);
    h.pending[1]!.resolve("b");
    await h.warmer.finish();
    expect(h.discarded, "every warmed cluster is offered; discard deletes those still unclaimed (b)").to.deep.equal(["a", "b"]);
  });

  it("a run that starts while its cluster is warming waits for it; a run that starts before warming got to it starts cold and is not warmed for", async () => {
    const h = harness(1, 1, 3);
    await h.warmer.take(0);
    h.warmer.started(0);
    await tick();
    expect(h.calls).to.deep.equal(["s1"]);
    const taken = h.warmer.take(1);
    let got: string | undefined | null = null;
    void taken.then((id) => (got = id));
    await tick();
    expect(got, "waits for the cluster being warmed").to.equal(null);
    expect(await h.warmer.take(2), "s2 started before warming reached it").to.equal(undefined);
    h.pending[0]!.resolve("x");
    expect(await taken).to.equal("x");
    await tick();
    expect(h.calls, "s2 already started: nothing is warmed for it").to.deep.equal(["s1"]);
    await h.warmer.finish();
  });

  it("a warm that fails is a cold start with a warning, and warming goes on", async () => {
    const h = harness(1, 1, 3);
    await h.warmer.take(0);
    h.warmer.started(0);
    await tick();
    h.pending[0]!.reject(new Error("kind create failed"));
    expect(await h.warmer.take(1)).to.equal(undefined);
    expect(h.warnings.join("\n")).to.contain("could not warm a cluster for s1").and.contain("kind create failed");
    await tick();
    expect(h.calls).to.deep.equal(["s1", "s2"]);
    h.pending[1]!.resolve("y");
    await h.warmer.finish();
    expect(h.discarded).to.deep.equal(["y"]);
  });

  it("finish while a cluster is warming waits for it and deletes it", async () => {
    const h = harness(1, 1, 2);
    await h.warmer.take(0);
    h.warmer.started(0);
    await tick();
    const done = h.warmer.finish();
    h.pending[0]!.resolve("z");
    await done;
    expect(h.discarded).to.deep.equal(["z"]);
  });
});
