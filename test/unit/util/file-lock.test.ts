import { expect } from "chai";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { acquireLock, LockTimeoutError, releaseHeldLocksSync, withFileLock } from "../../../runner/util/file-lock.ts";

describe("util/file-lock", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "labrun-lock-"));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("serialises callers and removes the lock file afterwards", async () => {
    const lock = path.join(dir, "config.lock");
    const order: string[] = [];
    const run = (id: string) =>
      withFileLock(lock, { timeoutMs: 5_000 }, async () => {
        order.push(`${id}+`);
        await new Promise((r) => setImmediate(r));
        order.push(`${id}-`);
      });
    await Promise.all([run("a"), run("b"), run("c")]);
    expect(order).to.deep.equal(["a+", "a-", "b+", "b-", "c+", "c-"]);
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it("never breaks a lock it may not judge (kubectl's empty lock file): it times out and leaves the file", async () => {
    const lock = path.join(dir, "config.lock");
    await writeFile(lock, "");
    const error = await withFileLock(lock, { timeoutMs: 30 }, async () => "ran").catch((e: unknown) => e);
    expect(error).to.be.instanceOf(LockTimeoutError);
    expect(await readdir(dir)).to.deep.equal(["config.lock"]);
  });

  it("breaks a lock the caller judges stale, and takes it", async () => {
    const lock = path.join(dir, "x.lock");
    await writeFile(lock, JSON.stringify({ pid: 1, host: "elsewhere", token: "old", at: "2025-01-01T00:00:00Z" }));
    const seen: unknown[] = [];
    const result = await withFileLock(lock, { timeoutMs: 1_000, isStale: (holder) => (seen.push(holder?.token), true) }, async () => "ran");
    expect(result).to.equal("ran");
    expect(seen).to.deep.equal(["old"]);
  });

  it("a stale lock that many callers judge stale at once is broken once: never two holders (racing acquirers, as separate processes would)", async () => {
    const lock = path.join(dir, "race.lock");
    for (let round = 0; round < 3; round++) {
      await writeFile(lock, JSON.stringify({ pid: 999_999, host: "gone", token: `dead-${round}`, at: "2025-01-01T00:00:00Z" }));
      let holding = 0;
      let most = 0;
      const isStale = (holder: { token: string } | undefined) => holder?.token.startsWith("dead-") === true;
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          const release = await acquireLock(lock, { timeoutMs: 5_000, isStale });
          holding++;
          most = Math.max(most, holding);
          await new Promise((r) => setTimeout(r, 2));
          holding--;
          await release();
        }),
      );
      expect(most, `round ${round}`).to.equal(1);
      expect(await readdir(dir)).to.deep.equal([]);
    }
  });

  it("releaseHeldLocksSync removes the locks this process holds (a second Ctrl-C leaves no kubeconfig lock)", async () => {
    const lock = path.join(dir, "config.lock");
    const release = await acquireLock(lock, { timeoutMs: 1_000 });
    expect(releaseHeldLocksSync()).to.deep.equal([lock]);
    expect(await readdir(dir)).to.deep.equal([]);
    await release(); // a late release is harmless
    expect(releaseHeldLocksSync()).to.deep.equal([]);
  });
});
