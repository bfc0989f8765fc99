/**
 * `labrun test` on real kind clusters: every shipped scenario passes, with
 * every declared shortcut and every applicable attack run and judged
 * (fixtures.test.ts: the defective and foolable fixtures are caught).
 *
 * "Judged" means the checks that must fail were observed failing: `failed`,
 * or `skipped` because a check they need was itself observed failing. A check
 * that ended in `error` (or was skipped because of one) proves nothing
 * (checks/verdict.ts), and neither does a phase that did not run.
 */
import { expect } from "chai";
import { join } from "node:path";
import { needsOf, provenNotPassing } from "../../../checks/verdict.ts";
import { ATTACKS } from "../../../runner/lab/attacks/index.ts";
import type { PhaseResult } from "../../../runner/lab/scenario-test.ts";
import { findScenarioFiles, loadScenario } from "../../../runner/scenario/load.ts";
import { ROOT, runCliProcess } from "../../helpers/cli.ts";
import { labrunContainers, type Results } from "./helpers.ts";



/** The ids among `ids` that the phase's grade did not prove failing. */
function unproven(phase: PhaseResult, ids: readonly string[], needs: ReturnType<typeof needsOf>): string[] {
  const proven = provenNotPassing(phase.report?.checks ?? [], needs);
  return ids.filter((id) => !proven.has(id));
}

describe("labrun test (real kind clusters)", function () {
  this.timeout(60 * 60_000);

  it("passes every shipped scenario, runs and judges every declared shortcut and every applicable attack, and leaves no clusters behind", async () => {
    // LABRUN_E2E_SCENARIOS="a,b": only these shipped scenarios (a measurement or a quick look); CI runs them all.
    const only = (process.env.LABRUN_E2E_SCENARIOS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
    // The CNI runs of solution.cnis are left to test/e2e/cni (one cluster per CNI for two labs), to keep CI's wall time down.
    const result = await runCliProcess(["test", ...only, "--no-cni-runs", "--concurrency", process.env.LABRUN_E2E_CONCURRENCY ?? "2", "--warm-ahead", process.env.LABRUN_E2E_WARM_AHEAD ?? "1", "-o", "json", "--report", join(ROOT, "test-results/labrun-test.xml")], {
      timeoutMs: 65 * 60_000,
    });
    const parsed = JSON.parse(result.stdout) as Results;
    const summary = parsed.results.map((r) => `${r.scenario}: ${r.phases.map((p) => `${p.name} ${p.status} (${p.message})${p.status === "passed" || p.status === "skipped" ? "" : ` [${[...p.details, ...(p.notes ?? [])].join(" | ")}]`}`).join("; ")}`).join("\n");
    expect(result.code, `${summary}\n${result.stderr.slice(-3000)}`).to.equal(0);
    const all = await findScenarioFiles([join(ROOT, "scenarios")]);
    const files = only.length ? all.filter((f) => only.includes(f.split("/").at(-2) ?? "")) : all;
    const shipped = files.map((f) => f.split("/").at(-2)).sort();
    expect(shipped.length, `LABRUN_E2E_SCENARIOS names no shipped scenario: ${only.join(", ")}`).to.equal(only.length || all.length);
    if (!only.length) expect(shipped).to.include.members(["beebox-cni", "frontend-policy", "service-selector"]);
    expect(parsed.results.map((r) => r.scenario).sort()).to.deep.equal(shipped);
    for (const file of files) {
      const { scenario } = await loadScenario(file);
      const r = parsed.results.find((x) => x.scenario === scenario.metadata.name)!;
      const needs = needsOf(scenario.spec.checks);
      const phase = (name: string) => r.phases.find((p) => p.name === name);
      const where = `${r.scenario}: ${summary}`;

      const broken = phase("broken state");
      expect(broken?.status, where).to.equal("passed");
      expect(unproven(broken!, scenario.spec.broken.failing, needs), `${r.scenario}: broken.failing not observed failing`).to.deep.equal([]);
      expect(phase("solution")?.status, where).to.equal("passed");

      for (const s of scenario.spec.shortcuts ?? []) {
        const p = phase(`shortcut ${s.name}`);
        expect(p, `${r.scenario}: shortcut ${s.name} did not run`).to.not.equal(undefined);
        expect(p!.status, `${r.scenario}: shortcut ${s.name}: ${p!.message}`).to.equal("passed");
        if (s.mustFail) expect(unproven(p!, s.mustFail, needs), `${r.scenario}: shortcut ${s.name}'s mustFail not observed failing`).to.deep.equal([]);
        else expect(provenNotPassing(p!.report?.checks ?? [], needs).size, `${r.scenario}: shortcut ${s.name}`).to.be.greaterThan(0);
      }

      for (const a of ATTACKS.filter((x) => x.appliesTo(scenario))) {
        const p = phase(`attack ${a.name}`);
        expect(p, `${r.scenario}: attack ${a.name} did not run`).to.not.equal(undefined);
        expect(["passed", "skipped"], `${r.scenario}: attack ${a.name}: ${p!.status}: ${p!.message}`).to.include(p!.status);
        if (p!.status === "passed") expect(unproven(p!, scenario.spec.broken.failing, needs), `${r.scenario}: attack ${a.name}`).to.deep.equal([]);
      }
      expect(r.phases.filter((p) => p.status === "error"), where).to.deep.equal([]);
    }
    expect(labrunContainers(shipped.filter((s) => s !== undefined))).to.deep.equal([]);
  });
});
