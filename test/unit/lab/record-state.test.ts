/**
 * The lab record predicates (runner/lab/state.ts) that `labrun gc` and
 * `labrun status` share: a start or a down in flight, a start that died, and
 * an abandoned record.
 */
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { abandoned, inFlight, LabStore, startDied, type LabRecord, type LabStatus } from "../../../runner/lab/state.ts";
import { runCli, ROOT } from "../../helpers/cli.ts";

/** A pid no process has (above Linux's pid_max limit of 2^22). */
const DEAD = 2 ** 22 + 1;
const LIVE = process.pid;

const record = (status: LabStatus, pid?: number) => ({ status, ...(pid !== undefined ? { pid } : {}) }) as LabRecord;

describe("lab record state: in flight, a start that died, abandoned", () => {
  it("judges each status by whether its labrun still runs", () => {
    const cases: [LabRecord, { inFlight: boolean; startDied: boolean; abandoned: boolean }][] = [
      [record("creating", LIVE), { inFlight: true, startDied: false, abandoned: false }],
      [record("creating", DEAD), { inFlight: false, startDied: true, abandoned: true }],
      [record("creating"), { inFlight: false, startDied: false, abandoned: false }],
      [record("deleting", LIVE), { inFlight: true, startDied: false, abandoned: false }],
      [record("deleting", DEAD), { inFlight: false, startDied: false, abandoned: true }],
      [record("deleting"), { inFlight: false, startDied: false, abandoned: true }],
      [record("ready", DEAD), { inFlight: false, startDied: false, abandoned: false }],
    ];
    for (const [r, want] of cases) {
      expect({ inFlight: inFlight(r), startDied: startDied(r), abandoned: abandoned(r) }, JSON.stringify(r)).to.deep.equal(want);
    }
  });

  it("`labrun status` shows a start whose labrun died as `creating (died)`, a live one as `creating`", async () => {
    const dir = mkdtempSync(join(tmpdir(), "labrun-record-state-"));
    try {
      const store = new LabStore({ dir });
      const lab = (name: string, pid: number) =>
        store.create({ name, scenario: "beebox-cni", scenarioDir: join(ROOT, "scenarios/beebox-cni"), provider: "kubeconfig", cluster: "fake", kubeconfig: join(dir, "kubeconfig"), context: "fake", status: "creating", pid });
      await lab("gone", DEAD);
      await lab("going", LIVE);
      const r = await runCli(["status"], { env: { LABRUN_STATE_DIR: dir } });
      expect(r.code, r.stderr).to.equal(0);
      const line = (name: string) => r.stdout.split("\n").find((l) => l.startsWith(`${name} `)) ?? "";
      expect(line("gone"), r.stdout).to.match(/\screating \(died\)\s/);
      expect(line("going"), r.stdout).to.match(/\screating\s/).and.not.to.include("died");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
