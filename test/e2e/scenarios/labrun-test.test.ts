/**
 * `labrun test` on real kind clusters: every shipped scenario passes, with
 * every declared shortcut and every applicable attack run and judged; a
 * deliberately defective scenario is caught in each of the three ways; a
 * deliberately foolable scenario is caught by the attack suite.
 *
 * "Judged" means the checks that must fail were observed failing: `failed`,
 * or `skipped` because a check they need was itself observed failing. A check
 * that ended in `error` (or was skipped because of one) proves nothing
 * (checks/verdict.ts), and neither does a phase that did not run.
 */
import { expect } from "chai";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { needsOf, provenNotPassing } from "../../../checks/verdict.ts";
import { ATTACKS } from "../../../runner/lab/attacks/index.ts";
import type { PhaseResult, ScenarioTestResult } from "../../../runner/lab/scenario-test.ts";
import { findScenarioFiles, loadScenario } from "../../../runner/scenario/load.ts";
import { ROOT, runCliProcess } from "../../helpers/cli.ts";
import { OUTSIDE_CLUSTER_LABEL } from "../../../runner/providers/kind-outside.ts";

interface Results {
  passed: boolean;
  results: ScenarioTestResult[];
}

/** Node containers of `labrun test` labs, and their hosts outside the cluster (spec.outside). */
function labrunContainers(): string[] {
  const names = (label: string) => execFileSync("docker", ["ps", "-a", "--filter", `label=${label}`, "--format", "{{.Names}}"], { encoding: "utf8" }).split("\n");
  return [...names("io.x-k8s.kind.cluster"), ...names(OUTSIDE_CLUSTER_LABEL)].filter((n) => n.startsWith("labrun-t-"));
}

/** The ids among `ids` that the phase's grade did not prove failing. */
function unproven(phase: PhaseResult, ids: readonly string[], needs: ReturnType<typeof needsOf>): string[] {
  const proven = provenNotPassing(phase.report?.checks ?? [], needs);
  return ids.filter((id) => !proven.has(id));
}

describe("labrun test (real kind clusters)", function () {
  this.timeout(60 * 60_000);

  it("passes every shipped scenario, runs and judges every declared shortcut and every applicable attack, and leaves no clusters behind", async () => {
    const result = await runCliProcess(["test", "--concurrency", process.env.LABRUN_E2E_CONCURRENCY ?? "2", "-o", "json", "--report", join(ROOT, "test-results/labrun-test.xml")], {
      timeoutMs: 55 * 60_000,
    });
    const parsed = JSON.parse(result.stdout) as Results;
    const summary = parsed.results.map((r) => `${r.scenario}: ${r.phases.map((p) => `${p.name} ${p.status} (${p.message})`).join("; ")}`).join("\n");
    expect(result.code, `${summary}\n${result.stderr.slice(-3000)}`).to.equal(0);
    const files = await findScenarioFiles([join(ROOT, "scenarios")]);
    const shipped = files.map((f) => f.split("/").at(-2)).sort();
    expect(shipped).to.include.members(["beebox-cni", "frontend-policy", "service-selector"]);
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

  it("catches a foolable scenario with its attack suite: a hijacked network namespace, a hosts-file line and hostAliases all make a failing check pass", async () => {
    const result = await runCliProcess(["test", join(ROOT, "test/e2e/fixtures/scenarios/foolable-lab"), "-o", "json"], { timeoutMs: 20 * 60_000 });
    const [lab] = (JSON.parse(result.stdout) as Results).results;
    const summary = lab!.phases.map((p) => `${p.name} ${p.status} (${p.message})`).join("\n");
    expect(result.code, `${summary}\n${result.stderr.slice(-3000)}`).to.equal(1);
    const phase = (name: string) => lab!.phases.find((p) => p.name === name)!;
    expect(phase("broken state").status, summary).to.equal("passed");
    for (const name of ["attack netns-hijack", "attack hosts-file", "attack host-aliases"]) {
      expect(phase(name).status, summary).to.equal("failed");
      // the learner's own curl in the client is fooled whatever labrun's probe does
      expect(phase(name).message, summary).to.match(/^the attack passes checks that must fail: .*client-curls-web/);
    }
    expect(phase("attack host-network").status, summary).to.equal("passed");
    expect(phase("solution").status, summary).to.equal("passed");
    expect(labrunContainers()).to.deep.equal([]);
  });
});
