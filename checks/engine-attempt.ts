/**
 * One attempt of a check, raced against the check's end plus a grace period
 * (see checks/engine.ts): the evaluator's signal aborts at that deadline, and
 * the attempt ends as an error then whether or not the evaluator listens.
 */
import type { Connectivity, Evidence } from "../runner/schema/report.ts";
import type { CheckKind } from "../runner/schema/scenario.ts";
import type { Clock } from "../runner/util/clock.ts";
import { formatDuration } from "../runner/util/duration.ts";
import { errorMessage } from "../runner/util/text.ts";
import { InfraError } from "../runner/errors.ts";
import { CheckEvalError, type CheckContext, type Observation } from "./context.ts";
import { evaluateCheck } from "./kinds/index.ts";

export type AttemptOutcome =
  | { type: "observed"; observation: Observation; at: number }
  | { type: "error"; message: string; final: boolean; evidence: Evidence[]; connectivity?: Connectivity[]; at: number };

export interface AttemptOptions {
  clock: Clock;
  /** The grade's own signal: aborted when the grade is (Ctrl-C, an unreachable cluster). */
  internal: AbortSignal;
  /** How long the attempt may overrun `end`. */
  graceMs: number;
  /** The evaluator's context, but for its signal (the attempt's own). */
  context: Omit<CheckContext, "signal">;
  /**
   * After an unexpected error: throws when the cluster is unreachable or labrun's
   * infrastructure failed (which ends the grade). An InfraError (a node container
   * that is not running) or an infrastructure CheckEvalError is passed as `fault`
   * and ends the grade at once.
   */
  ensureReachable(fault?: Error): Promise<void>;
}

/** One attempt until `end` (plus the grace period). Errors become outcomes (or abort the grade). */
export async function runAttempt(kind: CheckKind, end: number, options: AttemptOptions): Promise<AttemptOutcome> {
  const budget = Math.max(0, end - options.clock.now()) + options.graceMs;
  const controller = new AbortController();
  const internal = options.internal;
  const onInternal = () => controller.abort(internal.reason);
  if (internal.aborted) controller.abort(internal.reason);
  else internal.addEventListener("abort", onInternal, { once: true });
  const timer = new AbortController();
  const deadline = options.clock.sleep(budget, timer.signal).then(
    () => "deadline" as const,
    () => "cancelled" as const,
  );
  const interrupted = new Promise<"interrupted">((resolve) => {
    if (controller.signal.aborted) resolve("interrupted");
    else controller.signal.addEventListener("abort", () => resolve("interrupted"), { once: true });
  });
  const ctx: CheckContext = { ...options.context, signal: controller.signal };
  const evaluation = (async () => evaluateCheck(kind, ctx))().then(
    (observation) => ({ observation }),
    (error: unknown) => ({ error }),
  );
  try {
    const first = await Promise.race([evaluation, deadline.then((d) => ({ race: d })), interrupted.then((d) => ({ race: d }))]);
    const at = options.clock.now();
    if ("race" in first) {
      if (internal.aborted) return { type: "error", message: "aborted", final: true, evidence: [], at };
      if (first.race === "deadline" || first.race === "interrupted") {
        if (!controller.signal.aborted) controller.abort(timeoutError(budget));
        return { type: "error", message: `an attempt did not finish within ${formatDuration(budget)}`, final: false, evidence: [], at };
      }
      return { type: "error", message: "internal error: the attempt's timer was cancelled", final: false, evidence: [], at };
    }
    if ("observation" in first) return { type: "observed", observation: first.observation, at };
    const error = first.error;
    if (internal.aborted) return { type: "error", message: "aborted", final: true, evidence: [], at };
    if (error instanceof InfraError || (error instanceof CheckEvalError && error.infrastructure)) {
      await options.ensureReachable(error);
      return { type: "error", message: "aborted", final: true, evidence: [], at };
    }
    if (error instanceof CheckEvalError) {
      return { type: "error", message: error.message, final: error.final, evidence: error.evidence, ...(error.connectivity ? { connectivity: error.connectivity } : {}), at };
    }
    if (controller.signal.aborted) {
      return { type: "error", message: `an attempt did not finish within ${formatDuration(budget)}`, final: false, evidence: [], at };
    }
    // An API error: is the cluster still there? An unreachable cluster ends the grade.
    await options.ensureReachable();
    return { type: "error", message: `could not evaluate: ${errorMessage(error)}`, final: false, evidence: [], at };
  } finally {
    timer.abort();
    internal.removeEventListener("abort", onInternal);
  }
}

function timeoutError(ms: number): Error {
  const error = new Error(`deadline of ${formatDuration(ms)} passed`);
  error.name = "TimeoutError";
  return error;
}
