import { expect } from "chai";
import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import { hostname, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { InfraError, NotFoundError, UsageError } from "../../../runner/errors.ts";
import { LabStore, stateDir, type NewLab } from "../../../runner/lab/state.ts";

const run = promisify(execFile);
const STATE_TS = fileURLToPath(new URL("../../../runner/lab/state.ts", import.meta.url));

function lab(name: string, extra: Partial<NewLab> = {}): NewLab {
  return {
    name,
    scenario: "beebox-cni",
    scenarioDir: "/scenarios/beebox-cni",
    provider: "kind",
    cluster: `labrun-${name}`,
    context: `kind-labrun-${name}`,
    ...extra,
  };
}

function report(points: number, maxPoints = 10) {
  const percent = Math.round((points / maxPoints) * 100);
  return { attempt: 0, startedAt: "2025-01-01T00:00:00.000Z", score: { points, maxPoints, percent, passPercent: 100, passed: percent >= 100 }, checks: [] };
}

describe("lab/state", () => {
  let dir: string;
  let store: LabStore;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(tmpdir(), "labrun-state-"));
    store = new LabStore({ dir });
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  describe("stateDir", () => {
    it("prefers LABRUN_STATE_DIR, then XDG_STATE_HOME, then ~/.local/state", () => {
      expect(stateDir({ LABRUN_STATE_DIR: "/x/state", XDG_STATE_HOME: "/xdg", HOME: "/home/u" })).to.equal("/x/state");
      expect(stateDir({ XDG_STATE_HOME: "/xdg", HOME: "/home/u" })).to.equal("/xdg/labrun");
      expect(stateDir({ HOME: "/home/u" })).to.equal("/home/u/.local/state/labrun");
      expect(stateDir({ XDG_STATE_HOME: "relative", HOME: "/home/u" }), "relative XDG paths are ignored").to.equal("/home/u/.local/state/labrun");
    });
  });

  it("creates, gets, lists and removes labs", async () => {
    const created = await store.create(lab("one"));
    expect(created).to.include({ name: "one", status: "creating", version: 1, kubeconfig: path.join(dir, "labs", "one", "kubeconfig") });
    expect(created.attempts).to.deep.equal([]);
    expect(await store.get("one")).to.deep.equal(created);
    await store.create(lab("two"));
    expect((await store.list()).map((l) => l.name)).to.deep.equal(["one", "two"]);
    expect(await store.remove("one")).to.equal(true);
    expect(await store.remove("one"), "removing twice is fine").to.equal(false);
    expect(await store.get("one")).to.equal(undefined);
    expect((await store.list()).map((l) => l.name)).to.deep.equal(["two"]);
  });

  it("refuses to create a lab that exists", async () => {
    await store.create(lab("one"));
    const error = await store.create(lab("one")).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(UsageError);
    expect((error as UsageError).message).to.equal('lab "one" already exists');
    expect((error as UsageError).hint).to.contain("labrun down one");
  });

  it("creating the same lab concurrently: exactly one wins", async () => {
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map((i) => store.create(lab("same", { scenarioDir: `/s/${i}` }))));
    expect(results.filter((r) => r.status === "fulfilled")).to.have.length(1);
    expect(results.filter((r) => r.status === "rejected" && r.reason instanceof UsageError)).to.have.length(4);
  });

  it("rejects names that are not DNS labels", async () => {
    for (const bad of ["Upper", "../etc", "a_b", "-x", "x".repeat(41)]) {
      expect(() => store.labDir(bad), bad).to.throw(UsageError, /invalid lab name/);
    }
  });

  it("require() names the labs that exist", async () => {
    await store.create(lab("one"));
    const error = await store.require("nope").catch((e: unknown) => e);
    expect(error).to.be.instanceOf(NotFoundError);
    expect((error as NotFoundError).hint).to.contain("one");
  });

  it("update() mutates or replaces the record under lock and stamps updatedAt", async () => {
    await store.create(lab("one"));
    const a = await store.update("one", (r) => {
      r.status = "ready";
    });
    expect(a.status).to.equal("ready");
    expect(a.updatedAt).to.be.a("string");
    const b = await store.update("one", (r) => ({ ...r, nodes: ["n1"] }));
    expect((await store.get("one"))?.nodes).to.deep.equal(["n1"]);
    expect(b.status).to.equal("ready");
    const error = await store.update("missing", () => undefined).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(NotFoundError);
  });

  it("recordAttempt() numbers attempts and saves reports", async () => {
    await store.create(lab("one"));
    expect(await store.nextAttempt("one")).to.equal(1);
    expect(await store.recordAttempt("one", report(4))).to.equal(1);
    expect(await store.recordAttempt("one", report(10))).to.equal(2);
    const record = await store.require("one");
    expect(record.attempts.map((a) => [a.attempt, a.points, a.maxPoints, a.percent, a.passed])).to.deep.equal([
      [1, 4, 10, 40, false],
      [2, 10, 10, 100, true],
    ]);
    const saved = JSON.parse(await fs.readFile(record.attempts[1]!.reportFile, "utf8")) as { attempt: number };
    expect(saved.attempt).to.equal(2);
    expect(record.attempts[1]!.reportFile).to.equal(path.join(dir, "labs", "one", "reports", "attempt-2.json"));
  });

  it("concurrent updates in one process never lose a write", async () => {
    await store.create(lab("one"));
    await Promise.all(
      Array.from({ length: 40 }, () =>
        store.update("one", async (r) => {
          const n = r.nodes?.length ?? 0;
          await new Promise((resolve) => setTimeout(resolve, 1));
          r.nodes = [...(r.nodes ?? []), `n${n}`];
        }),
      ),
    );
    expect((await store.require("one")).nodes).to.have.length(40);
  });

  it("two labrun processes writing at once never lose a write", async function () {
    this.timeout(30_000);
    await store.create(lab("one"));
    const script = `
      import { LabStore } from ${JSON.stringify(STATE_TS)};
      const store = new LabStore({ dir: process.argv[1] });
      for (let i = 0; i < 25; i++) {
        await store.recordAttempt("one", { startedAt: new Date().toISOString(), score: { points: 1, maxPoints: 1, percent: 100, passed: true } });
      }
    `;
    await Promise.all([1, 2].map(() => run(process.execPath, ["--input-type=module", "-e", script, dir])));
    const record = await store.require("one");
    expect(record.attempts.map((a) => a.attempt)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await fs.readdir(path.join(dir, "labs", "one", "reports"))).to.have.length(50);
    expect(await fs.readdir(path.join(dir, "locks")), "every lock released").to.deep.equal([]);
  });

  it("breaks a lock whose holder is dead", async () => {
    await store.create(lab("one"));
    const lock = store.lockPath("one");
    await fs.writeFile(lock, JSON.stringify({ pid: 999_999_999, host: hostname(), token: "dead", at: "2025-01-01T00:00:00Z" }));
    const s = new LabStore({ dir, isAlive: () => false, lockTimeoutMs: 1000 });
    const r = await s.update("one", (x) => {
      x.status = "ready";
    });
    expect(r.status).to.equal("ready");
  });

  it("waits for a live lock and fails with LAB_LOCKED after its timeout", async () => {
    await store.create(lab("one"));
    const s = new LabStore({ dir, lockTimeoutMs: 150 });
    const release = await s.lock("one");
    const error = await s.update("one", () => undefined).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InfraError);
    expect((error as InfraError).code).to.equal("LAB_LOCKED");
    expect((error as InfraError).message).to.contain(`by process ${process.pid}`);
    await release();
    await s.update("one", () => undefined);
  });

  it("breaks a lock older than staleMs even if its pid looks alive", async () => {
    await store.create(lab("one"));
    const lock = store.lockPath("one");
    await fs.writeFile(lock, JSON.stringify({ pid: process.pid, host: hostname(), token: "old", at: "2025-01-01T00:00:00Z" }));
    const old = new Date(Date.now() - 10 * 60_000);
    await fs.utimes(lock, old, old);
    const s = new LabStore({ dir, lockTimeoutMs: 1000, staleMs: 60_000 });
    await s.update("one", () => undefined);
  });

  it("a corrupt record is an InfraError but does not hide other labs", async () => {
    await store.create(lab("one"));
    await store.create(lab("two"));
    await fs.writeFile(store.recordPath("one"), "{not json");
    const error = await store.get("one").catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InfraError);
    expect((await store.list()).map((l) => l.name)).to.deep.equal(["two"]);
  });
});
