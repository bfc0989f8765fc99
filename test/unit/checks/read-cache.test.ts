/**
 * checks/read-cache.ts: checks that run at the same time share their reads,
 * and a polling check still sees a fresh cluster on every attempt.
 */
import { expect } from "chai";
import { ReadCache } from "../../../checks/read-cache.ts";
import { FakeCluster, pod } from "./fakes.ts";

describe("checks/read-cache ReadCache", () => {
  const ref = { apiVersion: "v1", kind: "Pod", name: "web", namespace: "default" };

  it("shares a read in flight and one answered within the window, and reads again after it", async () => {
    const c = new FakeCluster().put(pod("web", { ip: "10.0.0.1" }));
    c.readDelayMs = 20;
    let now = 0;
    const cache = new ReadCache(c, { ttlMs: 100, now: () => now });
    const [a, b] = await Promise.all([cache.get(ref), cache.get(ref)]);
    expect(a!.metadata.name).to.equal("web");
    expect(b).to.deep.equal(a);
    expect(a, "each caller gets its own copy").to.not.equal(b);
    now = 50;
    await cache.list("v1", "Pod", { namespace: "default" });
    await cache.get(ref);
    expect(c.calls.filter((x) => x.startsWith("get Pod"))).to.have.length(1);
    expect(cache.hits).to.equal(2);
    now = 150;
    c.put(pod("web", { ip: "10.0.0.2" }));
    const fresh = await cache.get(ref);
    expect((fresh!.status as { podIP: string }).podIP).to.equal("10.0.0.2");
    expect(c.calls.filter((x) => x.startsWith("get Pod"))).to.have.length(2);
  });

  it("writes clear it, and a failed read is not remembered", async () => {
    const c = new FakeCluster().put(pod("web"));
    const cache = new ReadCache(c, { ttlMs: 10_000, now: () => 0 });
    await cache.get(ref);
    await cache.apply({ apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "default", annotations: { a: "b" } } }, { fieldManager: "t" });
    expect((await cache.get(ref))!.metadata.annotations).to.deep.equal({ a: "b" });
    c.readErrors.push(new Error("etcd leader changed"));
    const other = { ...ref, name: "other" };
    expect(((await cache.get(other).catch((e: unknown) => e)) as Error).message).to.equal("etcd leader changed");
    expect(await cache.get(other)).to.equal(undefined);
  });

  it("a caller that gives up does not fail the others sharing its read", async () => {
    const c = new FakeCluster().put(pod("web"));
    c.readDelayMs = 50;
    const cache = new ReadCache(c);
    const impatient = new AbortController();
    const first = cache.get(ref, { signal: impatient.signal });
    const second = cache.get(ref);
    impatient.abort(new Error("attempt deadline"));
    expect(((await first.catch((e: unknown) => e)) as Error).message).to.equal("attempt deadline");
    expect((await second)!.metadata.name).to.equal("web");
  });
});
