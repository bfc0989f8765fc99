import { expect } from "chai";
import { deleteCluster } from "../../../runner/lab/start.ts";
import { InfraError } from "../../../runner/errors.ts";
import type { ClusterProvider } from "../../../runner/providers/provider.ts";

/** A provider whose sweep finds the given container ids, look after look (the last answer repeats). */
function provider(looks: string[][]): { p: ClusterProvider; sweeps: () => number; deletes: () => number } {
  let sweeps = 0;
  let deletes = 0;
  const p = {
    delete: async () => {
      deletes++;
    },
    sweep: async () => looks[Math.min(sweeps++, looks.length - 1)]!,
  } as unknown as ClusterProvider;
  return { p, sweeps: () => sweeps, deletes: () => deletes };
}

describe("deleteCluster", () => {
  it("sweeps again while Docker still lists node containers it said it removed (a start in flight), and stops at the first empty look", async () => {
    const f = provider([["a", "b"], ["a", "b"], ["a", "b"], []]);
    await deleteCluster(f.p, "labrun-x", "/k", 1, 10_000);
    expect(f.deletes()).to.equal(1);
    expect(f.sweeps(), "one in the settle window, then until an empty look").to.equal(4);
  });

  it("one empty look is enough when nothing is left", async () => {
    const f = provider([[]]);
    await deleteCluster(f.p, "labrun-x", "/k", 1, 10_000);
    expect(f.sweeps()).to.equal(2);
  });

  it("after a create that was not interrupted, kind's delete stands: no sweep", async () => {
    const f = provider([["a"]]);
    await deleteCluster(f.p, "labrun-x", "/k", 0, 10_000);
    expect(f.sweeps()).to.equal(0);
  });

  it("containers still there at the deadline are an InfraError naming them, for labrun gc", async () => {
    const f = provider([["c1", "c2"]]);
    const error = await deleteCluster(f.p, "labrun-x", "/k", 1, 0).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(InfraError);
    expect((error as InfraError).code).to.equal("CLUSTER_NOT_DELETED");
    expect((error as InfraError).message).to.contain("labrun-x").and.contain("c1, c2");
    expect((error as InfraError).hint).to.contain("labrun gc");
  });
});
