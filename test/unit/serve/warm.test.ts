/**
 * `labrun serve --warm SCENARIO=N` (runner/serve/warm.ts): the values it takes,
 * the memory it sets aside, and the warmer's rounds against the fake lab layer:
 * a fill at start, a top-up after every lab start (one fill at a time), and on
 * close an interrupted fill and the deletion of the clusters it made, only those.
 */
import { expect } from "chai";
import { UsageError } from "../../../runner/errors.ts";
import { MEMORY_PER_NODE } from "../../../runner/lab/preflight.ts";
import { parseWarm, Warmer, warmBytes } from "../../../runner/serve/warm.ts";
import { FakeBackend, harness, SCENARIOS, settle } from "./fakes.ts";

describe("serve: --warm, the warm pool serve keeps", () => {
  it("takes SCENARIO=N for served scenarios, 1 to the pool's maximum, each once; anything else is a usage error", () => {
    const targets = parseWarm(["two-nodes=2", "one-node=1"], SCENARIOS, 20);
    expect(targets.map((t) => [t.scenario.summary.name, t.size])).to.deep.equal([
      ["two-nodes", 2],
      ["one-node", 1],
    ]);
    expect(warmBytes(targets)).to.equal(5 * MEMORY_PER_NODE);
    for (const [values, message] of [
      [["two-nodes"], /SCENARIO=N/],
      [["two-nodes=x"], /SCENARIO=N/],
      [["../etc=1"], /SCENARIO=N/],
      [["two-nodes=0"], /1 to 20/],
      [["two-nodes=21"], /1 to 20/],
      [["no-such=1"], /unknown scenario "no-such"/],
      [["one-node=1", "one-node=2"], /twice/],
    ] as const) {
      expect(() => parseWarm(values, SCENARIOS, 20), values.join(" ")).to.throw(UsageError, message);
    }
  });

  it("fills at start, tops up after every lab start, one fill at a time, and logs what it made", async () => {
    const backend = new FakeBackend();
    const log: string[] = [];
    const warmer = new Warmer(backend, parseWarm(["two-nodes=1"], SCENARIOS, 20), (l) => log.push(l));
    const h = await harness({ warmer });
    warmer.poke();
    expect(backend.fills.map((f) => [f.file, f.size])).to.deep.equal([["/s/two-nodes/scenario.yaml", 1]]);
    // A lab start ends while the first fill runs: one more round, after it.
    const { lab } = (await h.call("POST", "/v1/labs", { body: { scenario: "two-nodes" } })).json();
    h.backend.startOf(lab.id).done.resolve({ task: "t", warmCluster: "labrun-pool-aaa" });
    await settle();
    warmer.poke();
    expect(backend.fills).to.have.length(1);
    backend.fills[0]!.done.resolve({ created: ["aaa"] });
    await settle();
    await settle();
    expect(backend.fills).to.have.length(2);
    backend.fills[1]!.done.reject(new Error("kind create failed"));
    await warmer.idle();
    expect(log).to.deep.equal([`warm pool two-nodes: 1 cluster made ready in ${log[0]!.split(" in ")[1]}`, "warm pool two-nodes: fill failed: kind create failed (retried after the next lab start)"]);
    await h.app.close();
  });

  it("on close interrupts a fill and deletes the ready clusters it made, never another's", async () => {
    const backend = new FakeBackend();
    const warmer = new Warmer(backend, parseWarm(["one-node=2"], SCENARIOS, 20), () => undefined);
    warmer.poke();
    backend.fills[0]!.done.resolve({ created: ["mine-1"] });
    await warmer.idle();
    warmer.poke();
    const running = backend.fills[1]!;
    expect(await warmer.close()).to.deep.equal([]);
    expect(running.signal.aborted).to.equal(true);
    expect(backend.drains).to.deep.equal([["mine-1"]]);
    warmer.poke(); // closed: no more fills
    expect(backend.fills).to.have.length(2);
  });

  it("without --warm it never fills, and the lab view names the warm cluster a lab claimed", async () => {
    const backend = new FakeBackend();
    const warmer = new Warmer(backend, [], () => undefined);
    const h = await harness({ warmer });
    warmer.poke();
    const { lab } = (await h.call("POST", "/v1/labs", { body: { scenario: "one-node" } })).json();
    h.backend.startOf(lab.id).done.resolve({ task: "t" });
    await settle();
    expect(backend.fills).to.deep.equal([]);
    expect((await h.call("GET", `/v1/labs/${lab.id}`)).json()).to.include({ state: "ready" }).and.not.have.property("warmCluster");
    expect(await warmer.close()).to.deep.equal([]);
    expect(backend.drains).to.deep.equal([[]]);
    await h.app.close();
  });
});
