/**
 * `labrun test`: proof that a scenario is a lab.
 *
 * For each scenario, on fresh clusters:
 *   1. broken    start it; grade; exactly the checks in `broken.failing` fail
 *                (a scenario whose checks already pass is not a lab);
 *   2. solution  on the same cluster, apply the reference solution; grade; full marks;
 *   3. shortcut  for each declared shortcut, on a fresh cluster: start, apply the
 *                shortcut, grade; its `mustFail` checks fail (without `mustFail`:
 *                the grade is not full marks).
 * Every phase runs and is reported even when an earlier one fails, so one run
 * tells the author everything. A phase is `error` only when its lab could not
 * start (infrastructure); everything else that goes wrong fails the phase. Clusters are deleted at the end of each run
 * unless `keepOnFailure` and the run failed.
 *
 * Why a fresh cluster per shortcut rather than resetting one: a shortcut may
 * change anything (delete pods, nodes' files, CRDs), and undoing an arbitrary
 * change is not sound. The broken and solution phases share one cluster,
 * which is sound because the solution is meant to be applied to exactly the
 * state `start` hands over.
 */
import { randomBytes } from "node:crypto";
import { grade } from "../../checks/grade.ts";
import { InfraError, InterruptedError, LabrunError } from "../errors.ts";
import { abortError } from "../providers/kind.ts";
import type { PhaseKind, PhaseResult, PhaseStatus, ScenarioTestResult } from "../report/scenario-test.ts";
import type { Report } from "../schema/report.ts";
import { loadScenario, type LoadedScenario } from "../scenario/load.ts";
import type { Shortcut, Step } from "../schema/scenario.ts";
import type { LabEvent } from "./events.ts";
import { defaultClientFactory, providerFor, type LifecycleOptions } from "./client.ts";
import { down } from "./down.ts";
import { LAB_NAME_MAX } from "./names.ts";
import { limiter, type Limiter } from "../util/limit.ts";
import { start } from "./start.ts";
import { podSubnetOf, serviceSubnetOf } from "./render.ts";
import { LabStore, type LabRecord } from "./state.ts";
import { runSteps } from "./steps.ts";

export type { PhaseKind, PhaseStatus, PhaseResult, ScenarioTestResult };

export type ScenarioTestEvent =
  | { type: "run-start"; scenario: string; run: string; lab: string }
  | { type: "run-end"; scenario: string; run: string; lab: string; kept: boolean }
  | { type: "phase-end"; scenario: string; phase: PhaseResult }
  | { type: "lab"; scenario: string; run: string; event: LabEvent };

export interface ScenarioTestOptions extends Omit<LifecycleOptions, "onEvent"> {
  /** Keep the clusters of failed runs (for `labrun shell`); they are named in the result. */
  keepOnFailure?: boolean;
  /** How many clusters may exist at once across runs (default 1). */
  concurrency?: number;
  onEvent?: (event: ScenarioTestEvent) => void;
}

/** Tests scenarios; runs (a scenario's main run and each shortcut) share a bounded pool of clusters. */
export async function testScenarios(refs: (string | LoadedScenario)[], options: ScenarioTestOptions = {}): Promise<ScenarioTestResult[]> {
  const loaded: LoadedScenario[] = [];
  for (const ref of refs) loaded.push(typeof ref === "string" ? await loadScenario(ref, { cwd: options.cwd ?? process.cwd() }) : ref);
  const store = options.store ?? new LabStore({ env: options.env ?? process.env });
  const pool = limiter(Math.max(1, options.concurrency ?? 1));
  return Promise.all(loaded.map((l) => testOne(l, { ...options, store }, pool)));
}

async function testOne(loaded: LoadedScenario, options: ScenarioTestOptions & { store: LabStore }, pool: Limiter): Promise<ScenarioTestResult> {
  const started = performance.now();
  const { scenario } = loaded;
  const kept: string[] = [];
  const emitPhase = (phase: PhaseResult) => options.onEvent?.({ type: "phase-end", scenario: loaded.name, phase });

  const runs: Promise<PhaseResult[]>[] = [
    pool(() =>
      inLab(loaded, "main", options, kept, async (ctx) => {
        const phases: PhaseResult[] = [];
        const broken = await phase("broken", "broken state", options.signal, async () => {
          const report = await ctx.grade();
          return judgeBroken(report, scenario.spec.broken.failing);
        });
        phases.push(broken);
        emitPhase(broken);
        const solution = await phase("solution", "solution", options.signal, async () => {
          await ctx.run(scenario.spec.solution.steps, "solution");
          return judgeSolution(await ctx.grade());
        });
        phases.push(solution);
        emitPhase(solution);
        return phases;
      }),
    ),
    ...(scenario.spec.shortcuts ?? []).map((shortcut) =>
      pool(() =>
        inLab(loaded, shortcut.name, options, kept, async (ctx) => {
          const result = await phase("shortcut", `shortcut ${shortcut.name}`, options.signal, async () => {
            await ctx.run(shortcut.steps, "solution");
            return judgeShortcut(await ctx.grade(), shortcut);
          });
          emitPhase(result);
          return [result];
        }),
      ),
    ),
  ];
  const phases = (await Promise.all(runs)).flat();
  const status: PhaseStatus = phases.some((p) => p.status === "error") ? "error" : phases.every((p) => p.status === "passed") ? "passed" : "failed";
  return { scenario: loaded.name, title: scenario.metadata.title, status, phases, kept, durationMs: Math.round(performance.now() - started) };
}

interface RunContext {
  lab: LabRecord;
  grade(): Promise<Report>;
  run(steps: readonly Step[], phase: "solution"): Promise<void>;
}

/**
 * Starts a lab for one run, hands it to `body`, and tears it down (unless kept).
 * A start that fails turns into an error phase for every phase of the run.
 */
async function inLab(
  loaded: LoadedScenario,
  run: string,
  options: ScenarioTestOptions & { store: LabStore },
  kept: string[],
  body: (ctx: RunContext) => Promise<PhaseResult[]>,
): Promise<PhaseResult[]> {
  const name = labName(loaded.name, run);
  const onEvent = (event: LabEvent) => options.onEvent?.({ type: "lab", scenario: loaded.name, run, event });
  options.onEvent?.({ type: "run-start", scenario: loaded.name, run, lab: name });
  const started = performance.now();
  const lifecycle = { ...options, onEvent };
  let phases: PhaseResult[] = [];
  let lab: LabRecord | undefined;
  try {
    const result = await start({ ...lifecycle, scenario: loaded, name, verifyBroken: false });
    lab = result.lab;
    const provider = providerFor(lab, { env: options.env ?? process.env, ...(options.kind ? { kind: options.kind } : {}) });
    const client = await (options.clientFactory ?? defaultClientFactory)({ kubeconfig: lab.kubeconfig, context: lab.context, provider, cluster: lab.cluster });
    try {
      const current = lab;
      const vars = { PodSubnet: podSubnetOf(loaded.scenario.spec.cluster), ServiceSubnet: serviceSubnetOf(loaded.scenario.spec.cluster) };
      phases = await body({
        lab: current,
        grade: () => grade({ scenario: loaded, client, lab: { name: current.name, cluster: current.cluster, provider: current.provider }, ...(options.signal ? { signal: options.signal } : {}) }),
        run: (steps, phase) =>
          runSteps(steps, { client, provider, cluster: current.cluster, scenarioDir: loaded.dir, vars, phase, onEvent, ...(options.signal ? { signal: options.signal } : {}) }),
      });
    } finally {
      await (client as { close?: () => Promise<void> }).close?.().catch(() => undefined);
    }
  } catch (error) {
    if (options.signal?.aborted) throw error instanceof InterruptedError ? error : abortError(options.signal);
    phases = [
      {
        kind: run === "main" ? "broken" : "shortcut",
        name: run === "main" ? "broken state" : `shortcut ${run}`,
        status: "error",
        message: `the lab did not start: ${error instanceof Error ? error.message : String(error)}`,
        details: error instanceof LabrunError && error.hint ? [`hint: ${error.hint}`] : [],
        durationMs: Math.round(performance.now() - started),
      },
    ];
  } finally {
    const failed = phases.some((p) => p.status !== "passed");
    const keep = failed && options.keepOnFailure === true && lab !== undefined;
    if (keep) kept.push(name);
    else await down({ ...lifecycle, name }).catch((e: unknown) => onEvent({ type: "warning", message: `could not delete lab ${name}: ${e instanceof Error ? e.message : String(e)}; run \`labrun gc\`` }));
    options.onEvent?.({ type: "run-end", scenario: loaded.name, run, lab: name, kept: keep });
  }
  return phases;
}

/**
 * Runs one phase. A step or grade that throws fails the phase (an author's
 * solution step that breaks is the scenario's fault); only a lab that cannot
 * start is an `error` (see inLab). An interrupt ends the whole run.
 */
async function phase(kind: PhaseKind, name: string, signal: AbortSignal | undefined, body: () => Promise<Omit<PhaseResult, "kind" | "name" | "durationMs">>): Promise<PhaseResult> {
  const started = performance.now();
  try {
    return { kind, name, ...(await body()), durationMs: Math.round(performance.now() - started) };
  } catch (error) {
    if (signal?.aborted) throw error instanceof InterruptedError ? error : abortError(signal);
    if (error instanceof InterruptedError) throw error;
    return {
      kind,
      name,
      status: "failed",
      message: error instanceof Error ? error.message : String(error),
      details: [...(error instanceof InfraError && error.output ? [error.output] : []), ...(error instanceof LabrunError && error.hint ? [`hint: ${error.hint}`] : [])],
      durationMs: Math.round(performance.now() - started),
    };
  }
}

// ---------------------------------------------------------------- verdicts (pure)

const notPassed = (report: Report) => report.checks.filter((c) => c.status !== "passed").map((c) => c.id);

function evidenceOf(report: Report, ids: string[]): string[] {
  return report.checks
    .filter((c) => ids.includes(c.id))
    .map((c) => {
      const seen = c.evidence.map((e) => `${e.label}: expected ${e.expected ?? "-"}, observed ${e.observed ?? "-"}`).join("; ");
      return `${c.id} (${c.status}): ${c.message}${seen ? ` [${seen}]` : ""}`;
    });
}

/** Exactly the declared checks must not pass right after start. */
export function judgeBroken(report: Report, declared: readonly string[]): Omit<PhaseResult, "kind" | "name" | "durationMs"> {
  const failing = notPassed(report);
  const passingButDeclared = declared.filter((id) => !failing.includes(id));
  const failingUndeclared = failing.filter((id) => !declared.includes(id));
  if (!passingButDeclared.length && !failingUndeclared.length) {
    return { status: "passed", message: `exactly the ${declared.length} declared check${declared.length === 1 ? "" : "s"} fail before the fix`, details: [], report };
  }
  const details: string[] = [];
  if (passingButDeclared.length) {
    details.push(`already passing before any fix, though listed in broken.failing: ${passingButDeclared.join(", ")} (a scenario whose checks pass is not a lab)`);
  }
  if (failingUndeclared.length) {
    details.push(`failing before any fix, but not listed in broken.failing: ${failingUndeclared.join(", ")}`);
    details.push(...evidenceOf(report, failingUndeclared));
  }
  return { status: "failed", message: "the cluster is not broken the way broken.failing declares", details, report };
}

/** After the reference solution, every check passes. */
export function judgeSolution(report: Report): Omit<PhaseResult, "kind" | "name" | "durationMs"> {
  const failing = notPassed(report);
  if (failing.length === 0 && report.score.points === report.score.maxPoints) {
    return { status: "passed", message: `full marks after the solution (${report.score.points}/${report.score.maxPoints})`, details: [], report };
  }
  return {
    status: "failed",
    message: `the solution does not fix the lab: ${report.score.points}/${report.score.maxPoints} points, not passing: ${failing.join(", ")}`,
    details: evidenceOf(report, failing),
    report,
  };
}

/** A shortcut must not pass: its mustFail checks fail, or (without mustFail) the grade is not full marks. */
export function judgeShortcut(report: Report, shortcut: Shortcut): Omit<PhaseResult, "kind" | "name" | "durationMs"> {
  const failing = notPassed(report);
  if (shortcut.mustFail?.length) {
    const passed = shortcut.mustFail.filter((id) => !failing.includes(id));
    if (passed.length === 0) return { status: "passed", message: `the shortcut does not pass: ${shortcut.mustFail.join(", ")} fail`, details: [], report };
    return { status: "failed", message: `the shortcut passes checks that must fail: ${passed.join(", ")}`, details: [`shortcut: ${shortcut.description}`], report };
  }
  if (failing.length > 0) return { status: "passed", message: `the shortcut does not reach full marks (${report.score.points}/${report.score.maxPoints})`, details: [], report };
  return { status: "failed", message: `the shortcut reaches full marks (${report.score.points}/${report.score.maxPoints})`, details: [`shortcut: ${shortcut.description}`], report };
}

// ---------------------------------------------------------------- helpers

/** `t-<scenario>-<run>-<4 hex>`, within the 40 characters a lab name may have. */
function labName(scenario: string, run: string): string {
  const suffix = randomBytes(2).toString("hex");
  const base = `t-${scenario}${run === "main" ? "" : `-${run}`}`.slice(0, LAB_NAME_MAX - suffix.length - 1).replace(/-+$/, "");
  return `${base}-${suffix}`;
}
