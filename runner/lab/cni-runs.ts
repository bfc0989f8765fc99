/**
 * The CNI runs of `labrun test` (spec.solution.cnis): a scenario proven on its
 * own CNI by the main run is proven again on each other CNI it lists, on a
 * fresh cluster: setup with that CNI in every `addon: { name: cni }` step,
 * the broken state, the solution, full marks. Attacks and shortcuts are
 * judged by the main run only (they do not depend on the CNI's kind of
 * network; the solution's full marks do, e.g. a NetworkPolicy the CNI must
 * enforce). The phases are added to the scenario's result, named
 * `broken state (CNI kube-router)` and `solution (CNI kube-router)`.
 */
import type { PhaseResult, PhaseStatus, ScenarioTestResult } from "../report/scenario-test.ts";
import type { LoadedScenario } from "../scenario/load.ts";
import { cniOf, type CniName } from "../schema/values.ts";
import { testScenarios, type ScenarioTestEvent, type ScenarioTestOptions } from "./scenario-test.ts";

export interface CniRun {
  /** The scenario's name (its main run's result). */
  scenario: string;
  cni: CniName;
  /** The scenario with `cni` as its CNI and no shortcuts. */
  loaded: LoadedScenario;
}

/** The CNI runs a scenario asks for: each CNI of solution.cnis but the lab's own. */
export function cniRuns(loaded: LoadedScenario): CniRun[] {
  const own = cniOf(loaded.scenario.spec.cluster);
  return (loaded.scenario.spec.solution.cnis ?? [])
    .filter((cni) => cni !== own)
    .map((cni) => {
      const scenario = structuredClone(loaded.scenario);
      scenario.spec.cluster.networking = { ...scenario.spec.cluster.networking, cni };
      delete scenario.spec.shortcuts;
      // The name labels the run's events and lab (t-<scenario>-<cni>-xxxx).
      return { scenario: loaded.name, cni, loaded: { ...loaded, scenario, name: `${loaded.name}-${cni}` } };
    });
}

/** The label of a CNI run's phases and events. */
export const cniLabel = (cni: CniName) => `CNI ${cni}`;

/** Runs the CNI runs (no attacks) and adds their phases to the main results, in place. */
export async function testCniRuns(runs: readonly CniRun[], results: ScenarioTestResult[], options: ScenarioTestOptions): Promise<void> {
  if (!runs.length) return;
  const byName = new Map(runs.map((r) => [r.loaded.name, r]));
  const relabel = (name: string) => {
    const run = byName.get(name);
    return run ? `${run.scenario} (${cniLabel(run.cni)})` : name;
  };
  const onEvent = options.onEvent;
  const variants = await testScenarios(
    runs.map((r) => r.loaded),
    {
      ...options,
      attacks: false,
      ...(onEvent ? { onEvent: (event: ScenarioTestEvent) => onEvent(relabelEvent(event, relabel)) } : {}),
    },
  );
  variants.forEach((variant, i) => {
    const run = runs[i]!;
    const main = results.find((r) => r.scenario === run.scenario);
    const phases = variant.phases.map((p): PhaseResult => ({ ...p, name: `${p.name} (${cniLabel(run.cni)})` }));
    if (!main) {
      results.push({ ...variant, scenario: run.scenario, phases });
      return;
    }
    main.phases.push(...phases);
    main.kept.push(...variant.kept);
    main.durationMs += variant.durationMs;
    main.status = combined(main.phases);
  });
}

function combined(phases: readonly PhaseResult[]): PhaseStatus {
  if (phases.some((p) => p.status === "error")) return "error";
  return phases.every((p) => p.status === "passed" || p.status === "skipped") ? "passed" : "failed";
}

function relabelEvent(event: ScenarioTestEvent, relabel: (name: string) => string): ScenarioTestEvent {
  if (event.type === "phase-end") return { ...event, scenario: relabel(event.scenario), phase: event.phase };
  return { ...event, scenario: relabel(event.scenario) };
}
