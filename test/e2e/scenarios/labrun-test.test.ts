/**
 * `labrun test` on real kind clusters: every shipped scenario passes, and a
 * deliberately defective scenario is caught in each of the three ways.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import type { ScenarioTestResult } from "../../../runner/lab/scenario-test.ts";
import { findScenarioFiles } from "../../../runner/scenario/load.ts";
import { ROOT, runCliProcess } from "../../helpers/cli.ts";

interface Results {
  passed: boolean;
  results: ScenarioTestResult[];
}

function labrunContainers(): string[] {
  return execFileSync("docker", ["ps", "-a", "--filter", "label=io.x-k8s.kind.cluster", "--format", "{{.Names}}"], { encoding: "utf8" })
    .split("\n")
    .filter((n) => n.startsWith("labrun-t-"));
}

describe("labrun test (real kind clusters)", function () {
  this.timeout(40 * 60_000);

  it("passes every shipped scenario and leaves no clusters behind", async () => {
    const result = await runCliProcess(["test", "--concurrency", process.env.LABRUN_E2E_CONCURRENCY ?? "2", "-o", "json", "--report", join(ROOT, "test-results/labrun-test.xml")], {
      timeoutMs: 35 * 60_000,
    });
    const parsed = JSON.parse(result.stdout) as Results;
    const summary = parsed.results.map((r) => `${r.scenario}: ${r.phases.map((p) => `${p.name} ${p.status} (${p.message})`).join("; ")}`).join("\n");
    expect(result.code, `${summary}\n${result.stderr.slice(-3000)}`).to.equal(0);
    const shipped = (await findScenarioFiles([join(ROOT, "scenarios")])).map((f) => f.split("/").at(-2)).sort();
    expect(shipped).to.include.members(["beebox-cni", "frontend-policy"]);
    expect(parsed.results.map((r) => r.scenario).sort()).to.deep.equal(shipped);
    for (const r of parsed.results) {
      expect(r.phases.map((p) => p.kind)).to.include.members(["broken", "solution"]);
      expect(r.phases.every((p) => p.status === "passed")).to.equal(true);
    }
    expect(labrunContainers()).to.deep.equal([]);
  });

  it("catches a defective scenario three ways: a check passing before the fix, a solution that does not fix, a shortcut that passes", async () => {
    const result = await runCliProcess(["test", join(ROOT, "test/e2e/fixtures/scenarios/defective-lab"), "--concurrency", "2", "-o", "json"], { timeoutMs: 15 * 60_000 });
    expect(result.code, result.stderr.slice(-3000)).to.equal(1);
    const [lab] = (JSON.parse(result.stdout) as Results).results;
    const phase = (name: string) => lab!.phases.find((p) => p.name === name)!;
    expect(phase("broken state").status).to.equal("failed");
    expect(phase("broken state").details.join("\n")).to.include("already passing before any fix, though listed in broken.failing: already-fine");
    expect(phase("solution").status).to.equal("failed");
    expect(phase("solution").message).to.include("not passing: never-fixed");
    expect(phase("shortcut the-real-fix").status).to.equal("failed");
    expect(phase("shortcut the-real-fix").message).to.equal("the shortcut passes checks that must fail: web-running");
    expect(labrunContainers()).to.deep.equal([]);
  });
});
