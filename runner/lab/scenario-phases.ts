/** The phases of `labrun test` (runner/lab/scenario-test.ts): what each does on a running lab, and how it is judged. */
import type { ClusterClient, KubeObject } from "../cluster/client.ts";
import type { NeedsOf } from "../../checks/verdict.ts";
import { InfraError, InterruptedError, LabrunError } from "../errors.ts";
import { abortError } from "../providers/kind.ts";
import type { PhaseKind, PhaseResult } from "../report/scenario-test.ts";
import type { Report } from "../schema/report.ts";
import type { LoadedScenario } from "../scenario/load.ts";
import type { Shortcut, Step } from "../schema/scenario.ts";
import { AttackError, type Attack } from "./attacks/index.ts";
import { keyOf } from "./recreate.ts";
import type { RestoreResult } from "./restore.ts";
import { sleep } from "../util/sleep.ts";
import type { LabRecord } from "./state.ts";
import { judgeAttack, judgeShortcut, judgeSolution, type Verdict } from "./scenario-verdicts.ts";

/** Whether a shortcut can run on the shared cluster and be undone there (see the header). */
export function canShareCluster(shortcut: Shortcut): boolean {
  return shortcut.steps.every((s) => s.run === undefined && s.addon === undefined);
}

/** Whether a shortcut's kubectl steps reach inside containers (state the API does not show). */
export function touchesContainers(shortcut: Shortcut): boolean {
  return shortcut.steps.some((s) => s.kubectl?.some((a) => ["exec", "cp", "debug", "attach"].includes(a)) === true);
}

export interface RunContext {
  lab: LabRecord;
  loaded: LoadedScenario;
  client: ClusterClient;
  signal: AbortSignal | undefined;
  needs: NeedsOf;
  declaredNamespaces: Set<string>;
  /** The objects of the setup and break `apply` steps, placeholders filled. */
  manifests: { objects: KubeObject[]; namespace: string }[];
  grade(): Promise<Report>;
  run(steps: readonly Step[], phase: "solution"): Promise<void>;
  ensureImages(images: readonly string[]): Promise<void>;
  log(phase: "attack" | "restore", line: string): void;
  phase(kind: PhaseKind, name: string, body: () => Promise<Verdict>): Promise<PhaseResult>;
  /** Adds a finished phase to the run's results and reports it. */
  record(phase: PhaseResult): void;
}

export function solutionPhase(ctx: RunContext): Promise<PhaseResult> {
  return ctx.phase("solution", "solution", async () => {
    await ctx.run(ctx.loaded.scenario.spec.solution.steps, "solution");
    return judgeSolution(await ctx.grade());
  });
}

export async function shortcutPhase(ctx: RunContext, shortcut: Shortcut, baseline: readonly KubeObject[], touched: Set<string>): Promise<PhaseResult> {
  if (touchesContainers(shortcut)) {
    const namespaces = new Set([...ctx.declaredNamespaces].filter((ns) => ns !== "kube-system"));
    for (const o of baseline) if (o.kind === "Pod" && namespaces.has(o.metadata.namespace ?? "default")) touched.add(keyOf(o));
  }
  return ctx.phase("shortcut", `shortcut ${shortcut.name}`, async () => {
    await ctx.run(shortcut.steps, "solution");
    return judgeShortcut(await ctx.grade(), shortcut, ctx.needs);
  });
}

export async function attackPhase(ctx: RunContext, attack: Attack, touched: Set<string>): Promise<PhaseResult> {
  return ctx.phase("attack", `attack ${attack.name}`, async () => {
    let outcome;
    try {
      outcome = await attack.apply({
        client: ctx.client,
        scenario: ctx.loaded,
        ensureImages: (images) => ctx.ensureImages(images),
        touch: (pod) => touched.add(keyOf(pod)),
        log: (line) => ctx.log("attack", line),
        clusterDomain: "cluster.local",
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
    } catch (error) {
      if (ctx.signal?.aborted) throw abortError(ctx.signal);
      if (error instanceof InterruptedError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      // Not a verdict on the scenario: the attack could not be carried out.
      return { status: "error", message: `the attack could not be carried out: ${reason}`, details: [`attack: ${attack.description}`, ...(error instanceof AttackError ? [] : ["(an unexpected error while applying it)"])] };
    }
    if ("skipped" in outcome) return { status: "skipped", message: `nothing to attack in the broken state: ${outcome.skipped}`, details: [] };
    return judgeAttack(await ctx.grade(), ctx.loaded.scenario.spec.broken.failing, ctx.needs, outcome.applied);
  });
}

/**
 * Runs one phase. A step or grade that throws fails the phase (an author's
 * step that breaks is the scenario's fault); only a lab that cannot start is
 * an `error` (see inLab). An interrupt ends the whole run.
 */
export async function phase(kind: PhaseKind, name: string, signal: AbortSignal | undefined, body: () => Promise<Verdict>): Promise<PhaseResult> {
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

/** Undo attempts when the undo itself could not talk to the cluster (an API call past its deadline on a loaded machine). */
export const UNDO_ATTEMPTS = 3;

/**
 * Runs an undo (runner/lab/restore.ts), again when it throws: a restore
 * reports a state that does not come back as `ok: false` and throws only
 * when it could not read or write the cluster, which on a loaded machine is
 * often a moment (an API call past its deadline), not a sign that the state
 * cannot come back. Another attempt plans from a fresh snapshot and proves
 * the state by the digest as the first would, so retrying never lets a
 * phase's change through; the last failure is reported as the undo's failure
 * (the remaining phases then move to a fresh cluster).
 */
export async function retryUndo(
  undo: () => Promise<RestoreResult>,
  options: { signal?: AbortSignal; attempts?: number; pauseMs?: number; log?: (line: string) => void } = {},
): Promise<RestoreResult> {
  const attempts = options.attempts ?? UNDO_ATTEMPTS;
  for (let i = 1; ; i++) {
    try {
      return await undo();
    } catch (error) {
      if (options.signal?.aborted) throw abortError(options.signal);
      if (error instanceof InterruptedError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      if (i >= attempts) return { ok: false, reason: attempts > 1 ? `${reason} (${attempts} attempts)` : reason };
      options.log?.(`restore: attempt ${i} could not reach the cluster (${reason}); trying again`);
      await sleep(options.pauseMs ?? 2_000, options.signal);
    }
  }
}
