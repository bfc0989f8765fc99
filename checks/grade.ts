/**
 * grade(): run a scenario's checks against a cluster and score them.
 *
 *     const report = await grade({ scenario, client, lab, attempt, signal, onEvent });
 *
 * It pings the API first (an unreachable cluster is an InfraError, exit 3,
 * within seconds), runs the checks (checks/engine.ts) and returns the Report
 * of runner/schema/report.ts. Recording the attempt is the caller's business
 * (the CLI does it through the LabStore). Probe containers are not stopped:
 * one per source pod serves every grade of the lab (checks/probe.ts);
 * `stopLabProbes` ends them (`labrun down` of a lab on a cluster it keeps).
 */
import type { Report } from "../runner/schema/report.ts";
import type { ClusterClient } from "../runner/cluster/client.ts";
import type { LabInfo, OutsideHosts, ScenarioSource } from "./context.ts";
import { buildReport, runChecks, type EngineOptions, type GradeEvent } from "./engine.ts";
import { ProbeManager, type ProbeSettings } from "./probe.ts";
import { realClock, type Clock } from "../runner/util/clock.ts";
import { abortReason } from "../runner/util/sleep.ts";
import { needsOf, unevaluatedChecks } from "./verdict.ts";
import { InfraError } from "../runner/errors.ts";
import { ReadCache } from "./read-cache.ts";
import { errorMessage } from "../runner/util/text.ts";

export interface GradeOptions extends Omit<EngineOptions, "scenario" | "lab" | "client"> {
  /** The scenario (a LoadedScenario from runner/scenario/load.ts fits). */
  scenario: ScenarioSource;
  client: ClusterClient;
  lab: LabInfo;
  /** The attempt number for this lab (default 1). */
  attempt?: number;
  /** Probe container settings (image, start timeout, ...). */
  probeSettings?: Partial<ProbeSettings>;
  /**
   * How often the grade checks, while checks run, that the API answers and
   * `infra` holds (default 2 s; 0: never). A failure ends the grade with that
   * InfraError within an interval plus the ping's deadline.
   */
  watchIntervalMs?: number;
}

export type { GradeEvent, InfraCheck } from "./engine.ts";

/** How often a grade checks that the API answers and the infrastructure holds. */
export const DEFAULT_WATCH_INTERVAL_MS = 2_000;

export async function grade(options: GradeOptions): Promise<Report> {
  const clock = options.clock ?? realClock;
  const startedAt = new Date();
  const t0 = clock.now();
  const { scenario } = options.scenario;
  const emit = (event: GradeEvent) => {
    try {
      options.onEvent?.(event);
    } catch {
      // listeners must not break the grade
    }
  };
  if (options.signal?.aborted) throw abortReason(options.signal);
  emit({ type: "grade-started", scenario: scenario.metadata.name, lab: options.lab.name, checks: scenario.spec.checks.length, at: startedAt.toISOString() });

  // Fail fast (and with exit 3) when the cluster is not there: never a grade of a cluster that cannot answer.
  // labrun's own infrastructure (a lab's node containers) is checked at the same time.
  // Three looks before the first check: a grade that starts beside nine others on a busy machine may wait for the API.
  await confirmedHealthy(options, options.signal ?? new AbortController().signal, 3);

  // A watchdog ends the grade with an InfraError when the API stops answering or the infrastructure fails.
  const watch = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, watch.signal]) : watch.signal;
  const watching = watchdog(options, watch, clock);
  // Checks running at the same time share their reads (checks/read-cache.ts).
  const client = new ReadCache(options.client, { signal });
  const probes = options.probes ?? new ProbeManager(client, options.probeSettings, { signal });
  let results;
  try {
    results = await runChecks({ ...options, signal, client, probes });
    // A check that could not be evaluated may be the infrastructure's doing: never a grade of a cluster labrun lost.
    if (results.some((r) => r.status === "error")) await confirmedHealthy(options, signal);
  } catch (error) {
    if (watch.signal.aborted && !options.signal?.aborted) throw abortReason(watch.signal);
    throw error;
  } finally {
    watch.abort("the grade ended");
    await watching;
  }
  const report = buildReport({
    scenario: { name: scenario.metadata.name, title: scenario.metadata.title },
    lab: options.lab,
    attempt: options.attempt ?? 1,
    startedAt,
    durationMs: clock.now() - t0,
    results,
    ...(scenario.spec.grading?.passPercent !== undefined ? { passPercent: scenario.spec.grading.passPercent } : {}),
  });
  emit({ type: "grade-finished", report });
  return report;
}

/** The API answers and the infrastructure holds; rejects with an InfraError otherwise. */
async function healthy(options: GradeOptions, signal: AbortSignal): Promise<void> {
  const [api, infra] = await Promise.allSettled([options.client.ping({ ...(options.pingTimeoutMs ? { timeoutMs: options.pingTimeoutMs } : {}), signal }), options.infra?.(signal)]);
  // A stopped node container explains an API that does not answer: name it first.
  if (infra.status === "rejected") throw infra.reason;
  if (api.status === "rejected") {
    const error: unknown = api.reason;
    throw error instanceof InfraError || signal.aborted ? error : new InfraError(`the cluster's API stopped answering: ${errorMessage(error)}`, { code: "CLUSTER_UNREACHABLE", cause: error });
  }
}

/** A failure one more look cannot change: a lab's node container that is not running. */
function definitive(error: unknown): boolean {
  return error instanceof InfraError && error.code === "NODE_CONTAINER_DOWN";
}

/**
 * healthy(), confirmed: a failure that may be a slow moment (a ping or a
 * Docker call past its deadline on a loaded machine, ten grades at once) is
 * looked at once more, right away, before it ends a grade; the second
 * failure is the one reported. A stopped node container counts at once.
 */
async function confirmedHealthy(options: GradeOptions, signal: AbortSignal, looks = 2): Promise<void> {
  for (let look = 1; ; look++) {
    try {
      return await healthy(options, signal);
    } catch (error) {
      // A Docker that did not answer within its deadline gets two looks at most (each costs the deadline).
      const limit = error instanceof InfraError && error.code === "DOCKER_UNRESPONSIVE" ? Math.min(looks, 2) : looks;
      if (look >= limit || signal.aborted || definitive(error)) throw error;
    }
  }
}

/** Until `watch` aborts: every interval, check health; on a confirmed failure abort `watch` with the InfraError. */
async function watchdog(options: GradeOptions, watch: AbortController, clock: Clock): Promise<void> {
  const intervalMs = options.watchIntervalMs ?? DEFAULT_WATCH_INTERVAL_MS;
  if (intervalMs <= 0) return;
  const stop = options.signal ? AbortSignal.any([options.signal, watch.signal]) : watch.signal;
  for (;;) {
    try {
      await clock.sleep(intervalMs, stop);
      await confirmedHealthy(options, stop);
    } catch (error) {
      if (!stop.aborted) watch.abort(error instanceof InfraError ? error : new InfraError(errorMessage(error), { cause: error }));
      return;
    }
  }
}

/**
 * The ids of the checks that do not pass right now, for `labrun start`'s
 * broken-state verification (runner/lab/actions/verify.ts).
 * The checks the scenario lists in `broken.failing` are evaluated once (they
 * are expected to fail; a snapshot is enough); the others poll as usual,
 * since they must pass (a failing one stops early once the cluster settled).
 *
 * "Could not evaluate" is never "fails as required" (checks/verdict.ts): a
 * check that ended in `error`, or was skipped only because one did, rejects
 * with an InfraError naming each check and its reason, instead of counting
 * as failing.
 */
export async function failingChecks(ctx: {
  loaded: ScenarioSource;
  lab: { name: string; cluster: string; provider: string };
  client: ClusterClient;
  signal?: AbortSignal;
  onEvent?: (event: GradeEvent) => void;
  /** Injected time (tests). */
  clock?: Clock;
  /** The lab's hosts outside the cluster. */
  outside?: OutsideHosts;
}): Promise<string[]> {
  const report = await grade({
    scenario: ctx.loaded,
    client: ctx.client,
    lab: { name: ctx.lab.name, cluster: ctx.lab.cluster, provider: ctx.lab.provider },
    once: ctx.loaded.scenario.spec.broken.failing,
    ...(ctx.signal ? { signal: ctx.signal } : {}),
    ...(ctx.onEvent ? { onEvent: ctx.onEvent } : {}),
    ...(ctx.clock ? { clock: ctx.clock } : {}),
    ...(ctx.outside ? { outside: ctx.outside } : {}),
  });
  const unevaluated = unevaluatedChecks(report.checks, needsOf(ctx.loaded.scenario.spec.checks));
  if (unevaluated.length) {
    throw new InfraError(`could not verify the broken state: ${unevaluated.length === 1 ? "a check" : `${unevaluated.length} checks`} could not be evaluated (${unevaluated.map((u) => u.id).join(", ")})`, {
      code: "BROKEN_STATE_UNVERIFIED",
      output: unevaluated.map((u) => `${u.id}: ${u.reason}`).join("\n"),
      hint: "a check that could not be evaluated is not a check that fails: retry `labrun start`; if it happens again, `labrun test` on the scenario shows the grade",
    });
  }
  return report.checks.filter((c) => c.status !== "passed").map((c) => c.id);
}
