import { expect } from "chai";
import { promises as fs } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { historyDocument, renderHistory } from "../../../runner/cli/commands/history.ts";
import { LabStore } from "../../../runner/lab/state.ts";
import { runCli } from "../../helpers/cli.ts";
import { allPassed, mixed } from "./fixtures.ts";

describe("labrun history", () => {
  let dir: string;
  let store: LabStore;
  const env = () => ({ LABRUN_STATE_DIR: dir });

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(tmpdir(), "labrun-history-"));
    store = new LabStore({ dir });
    await store.create({ name: "bee", scenario: "beebox-cni", scenarioDir: "/s/beebox-cni", provider: "kind", cluster: "labrun-bee", context: "kind-labrun-bee", status: "ready" });
  });
  afterEach(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  it("lists the attempts with their scores, the best one marked", async () => {
    await store.recordAttempt("bee", { ...mixed, startedAt: "2026-01-05T10:00:00.000Z" });
    await store.recordAttempt("bee", { ...allPassed, startedAt: "2026-01-05T10:30:00.000Z" });
    await store.recordAttempt("bee", { ...mixed, startedAt: "2026-01-05T11:00:00.000Z" });
    const result = await runCli(["history", "bee"], { env: env(), cwd: dir });
    expect(result.code).to.equal(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines[0]).to.match(/^ATTEMPT\s+WHEN\s+SCORE\s+PERCENT\s+RESULT\s+REPORT$/);
    expect(lines[1]).to.match(/^1\s+2026-01-05 10:00:00 UTC\s+1\.5\/9\s+16\.6%\s+FAIL\s+labs\/bee\/reports\/attempt-1\.json$/);
    expect(lines[2]).to.match(/^2 \*\s+2026-01-05 10:30:00 UTC\s+10\/10\s+100%\s+PASS\s+labs\/bee\/reports\/attempt-2\.json$/);
    expect(lines[3]).to.match(/^3\s+2026-01-05 11:00:00 UTC\s+1\.5\/9\s+16\.6%\s+FAIL/);
    expect(lines[4]).to.equal("3 attempts of beebox-cni on lab bee, 1 passed; best (*): attempt 2, 10/10 (100%)");
  });

  it("-o json prints the lab and its attempts", async () => {
    await store.recordAttempt("bee", mixed);
    const result = await runCli(["history", "bee", "-o", "json"], { env: env() });
    expect(result.code).to.equal(0);
    const doc = JSON.parse(result.stdout) as ReturnType<typeof historyDocument>;
    expect(doc).to.deep.include({ lab: "bee", scenario: "beebox-cni", cluster: "labrun-bee", status: "ready", best: 1 });
    expect(doc.attempts).to.deep.equal([
      { attempt: 1, at: mixed.startedAt, points: 1.5, maxPoints: 9, percent: mixed.score.percent, passed: false, reportFile: store.reportPath("bee", 1) },
    ]);
  });

  it("a lab without attempts says how to grade it; -o json gives an empty list", async () => {
    const text = await runCli(["history", "bee"], { env: env() });
    expect(text.code).to.equal(0);
    expect(text.stdout).to.equal("");
    expect(text.stderr).to.equal("lab bee has no graded attempts yet\nhint: run `labrun grade bee`\n");
    const json = JSON.parse((await runCli(["history", "bee", "-o", "json"], { env: env() })).stdout) as { attempts: unknown[]; best: null };
    expect(json.attempts).to.deep.equal([]);
    expect(json.best).to.equal(null);
  });

  it("an unknown lab or format is a usage error", async () => {
    const missing = await runCli(["history", "wasp"], { env: env() });
    expect(missing.code).to.equal(2);
    expect(missing.stderr).to.include('error: no lab named "wasp"').and.include("labs: bee");
    const format = await runCli(["history", "bee", "-o", "yaml"], { env: env() });
    expect(format.code).to.equal(2);
    expect(format.stderr).to.include('unknown output format "yaml"');
    expect((await runCli(["history"], { env: env() })).code).to.equal(2);
  });

  it("renderHistory is pure over the record", async () => {
    const record = await store.require("bee");
    expect(renderHistory(record, { cwd: "/" })).to.equal(
      "ATTEMPT  WHEN  SCORE  PERCENT  RESULT  REPORT\n0 attempts of beebox-cni on lab bee, 0 passed\n",
    );
  });
});
