import { expect } from "chai";
import { poll } from "../../../runner/util/poll.ts";
import { FakeClock } from "../../helpers/fake-clock.ts";

describe("util/poll", () => {
  it("resolves with the first value an attempt returns", async () => {
    const clock = new FakeClock();
    const value = await poll((n) => (n === 3 ? `got ${n}` : undefined), { timeoutMs: 10_000, intervalMs: 100, clock });
    expect(value).to.equal("got 3");
    expect(clock.now()).to.equal(200);
  });

  it("resolves undefined at the deadline, the last attempt at the deadline itself", async () => {
    const clock = new FakeClock();
    const times: number[] = [];
    const value = await poll(() => void times.push(clock.now()), { timeoutMs: 250, intervalMs: 100, clock });
    expect(value).to.equal(undefined);
    expect(times).to.deep.equal([0, 100, 200, 250]);
  });

  it("backs off with an interval function", async () => {
    const clock = new FakeClock();
    await poll(() => undefined, { timeoutMs: 100, intervalMs: (n) => 5 * 2 ** (n - 1), clock });
    expect(clock.sleeps.slice(0, 4)).to.deep.equal([5, 10, 20, 40]);
  });

  it("rejects with the signal's reason when aborted, also in the middle of a wait", async () => {
    const clock = new FakeClock();
    const controller = new AbortController();
    const error = await poll(
      (n) => {
        if (n === 2) queueMicrotask(() => controller.abort(new Error("SIGINT")));
        return undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1000, clock, signal: controller.signal },
    ).catch((e: unknown) => e);
    expect((error as Error).message).to.equal("SIGINT");
    expect(clock.now()).to.equal(1000);
  });

  it("an attempt that throws ends the poll", async () => {
    const error = await poll(
      () => {
        throw new Error("fatal");
      },
      { timeoutMs: 1000, intervalMs: 10, clock: new FakeClock() },
    ).catch((e: unknown) => e);
    expect((error as Error).message).to.equal("fatal");
  });
});
