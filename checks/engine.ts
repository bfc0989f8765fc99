/**
 * The check engine: semantics shared by every check kind.
 *
 *   - eventually (default): attempt every `interval` (default 2s) until the
 *     check holds or `timeout` (default 30s) passes; a check that times out
 *     reports the LAST thing it observed (expected versus observed);
 *   - `consistently: D`: the check must hold on every attempt for D; the first
 *     attempt that does not hold fails it, with what it saw and when. An
 *     attempt that errors or runs out of time ends it too: `failed` when
 *     earlier attempts held (it did not hold for D), `error` when it is the
 *     first (nothing was observed);
 *   - settled: a failing "eventually" check stops polling before its timeout
 *     once the cluster has not changed for a settle window (checks/settle.ts),
 *     and says so ("settled: the cluster did not change for 5s"); while the
 *     cluster converges (pods starting, a DaemonSet rolling out) it keeps
 *     polling;
 *   - network checks (http, dns, blocked, reachability, podNetwork) that pass
 *     are confirmed by one more attempt: one that passes and then fails is
 *     `failed` ("flapping: passed at attempt N, failed at attempt M"), never a
 *     pass;
 *   - every attempt is raced against its deadline (the check's end plus a
 *     grace period): an evaluator that ignores its abort signal (a script
 *     stuck in a loop of awaits) ends as an error then and cannot hang a grade;
 *   - `needs`: a check runs once every check it needs has passed; if one did
 *     not, it is `skipped` with the reason, not a second failure;
 *   - independent checks run concurrently (a DAG scheduler): a grade takes as
 *     long as its slowest chain of needs, not the sum of its checks;
 *   - `error` when labrun could not evaluate a check (API errors on every
 *     attempt, no node shell, a probe that cannot start). Any unexpected error
 *     makes the engine ping the API: an unreachable cluster aborts the whole
 *     grade with InfraError (exit 3), never a failing or passing grade.
 */
import type { CheckResult, Connectivity, Evidence, Report } from "../runner/schema/report.ts";
import { InfraError } from "../runner/errors.ts";
import type { Check } from "../runner/schema/scenario.ts";
import { checkKind, type CheckKind } from "../runner/schema/values.ts";
import type { ClusterClient } from "../runner/cluster/client.ts";
import { DEFAULT_SETTINGS, type CheckSettings, type LabInfo, type Logger, type OutsideHosts, type ScenarioSource } from "./context.ts";
import { runAttempt, type AttemptOutcome } from "./engine-attempt.ts";
import { checkResultOf, type CheckOutcome } from "./engine-report.ts";
import { OwnedPods } from "./owned.ts";
import { ProbeManager } from "./probe.ts";
import { SettleTracker, type SettleOptions } from "./settle.ts";
import { realClock, type Clock } from "../runner/util/clock.ts";
import { formatDuration, parseDuration } from "../runner/util/duration.ts";
import { limiter, type Limiter } from "../runner/util/limit.ts";
import { abortReason } from "../runner/util/sleep.ts";
import { errorMessage } from "../runner/util/text.ts";
import { checkGraph } from "./needs.ts";
import { deferred, NETWORK_CHECK_KINDS, skippedFor, SpeculationGate, speculates, type Deferred } from "./speculate.ts";
import { WorkloadIndex } from "./workloads.ts";

export { buildReport, DEFAULT_PASS_PERCENT, DEFAULT_POINTS, type ReportInput } from "./engine-report.ts";

export const DEFAULT_CHECK_TIMEOUT_MS = 30_000;
export const DEFAULT_CHECK_INTERVAL_MS = 2_000;
/** How long one attempt may overrun its check's deadline before it is cut. */
export const DEFAULT_ATTEMPT_GRACE_MS = 15_000;

/**
 * Kinds whose verdict is a probe over the network: a pass is confirmed by a
 * second attempt. Decided by kind name, so kinds added later (reachability,
 * podNetwork) are covered as soon as they exist.
 */
export { NETWORK_CHECK_KINDS } from "./speculate.ts";

export function isNetworkKind(kind: string): boolean {
  return NETWORK_CHECK_KINDS.has(kind);
}

/** Progress of a grade, for the CLI's progress lines and library users. */
export type GradeEvent =
  | { type: "grade-started"; scenario: string; lab: string; checks: number; at: string }
  | { type: "check-started"; id: string; title: string; kind: CheckKind }
  | { type: "check-attempt"; id: string; attempt: number; ok: boolean | null; message: string }
  | { type: "check-finished"; result: CheckResult }
  | { type: "log"; level: "debug" | "info" | "warn"; id?: string; message: string }
  | { type: "grade-finished"; report: Report };

/** A health check of labrun's infrastructure (not the learner's cluster): rejects with an InfraError naming what failed. */
export type InfraCheck = (signal: AbortSignal) => Promise<void>;

export interface EngineOptions {
  client: ClusterClient;
  scenario: ScenarioSource;
  lab: LabInfo;
  /** Aborts the grade (Ctrl-C): running checks stop, runChecks rejects with the signal's reason. */
  signal?: AbortSignal;
  onEvent?: (event: GradeEvent) => void;
  /** Injected time (tests). */
  clock?: Clock;
  settings?: Partial<CheckSettings>;
  /** The probe containers' manager (default: a new one on `client`). */
  probes?: ProbeManager;
  /** The scenario's declared workloads (default: read from its apply manifests). */
  workloads?: WorkloadIndex;
  /** The lab's hosts outside the cluster (`spec.outside`). */
  outside?: OutsideHosts;
  /** At most this many checks are evaluated at once (default 16). */
  concurrency?: number;
  /** A limit on the whole grade: checks still polling then report what they last saw. */
  timeoutMs?: number;
  /** Defaults for checks without `timeout` / `interval` (tests shorten them). */
  defaultTimeoutMs?: number;
  defaultIntervalMs?: number;
  /** How long one attempt may overrun the check's deadline before it is cut (default 15 s). */
  attemptGraceMs?: number;
  /**
   * The settle rule (checks/settle.ts): a failing check stops polling once the
   * cluster has not changed for `windowMs` (default 5 s). `false` (or a window
   * of 0) waits out every timeout. A tracker can be shared between grades.
   */
  settle?: Partial<SettleOptions> | SettleTracker | false;
  /** Deadline for the pings that tell an unreachable cluster from a failed request (default 5 s). */
  pingTimeoutMs?: number;
  /** labrun's infrastructure besides the API (a lab's node containers): rejects with an InfraError when it failed. */
  infra?: InfraCheck;
  /**
   * Ids of checks to evaluate once, without polling (a snapshot): `labrun start`
   * uses it to verify the broken state, where the checks listed in
   * `broken.failing` are expected to fail and need not wait out their timeouts.
   */
  once?: readonly string[];
}

/** Evaluate the scenario's checks against the cluster; results in scenario order. */
export async function runChecks(options: EngineOptions): Promise<CheckResult[]> {
  return new Engine(options).run();
}

class Engine {
  readonly #o: EngineOptions;
  readonly #clock: Clock;
  readonly #settings: CheckSettings;
  readonly #checks: Check[];
  readonly #byId = new Map<string, Check>();
  readonly #internal = new AbortController();
  readonly #results = new Map<string, Promise<CheckResult>>();
  /** Per check: resolves true once it runs (its needs let it), false when it will not. */
  readonly #running = new Map<string, Deferred<boolean>>();
  readonly #probes: ProbeManager;
  #workloads: WorkloadIndex | undefined;
  #fatal: Error | undefined;
  #ping: Promise<void> | undefined;
  readonly #limit: Limiter;
  #gradeDeadline = Infinity;
  /** A ProbeManager made here (no `probes` given) is stopped here; grade() stops its own. */
  readonly #ownsProbes: boolean;
  /** Pods labrun creates for this grade (truth-table rows); deleted when it ends. */
  readonly #owned: OwnedPods;
  readonly #settle: SettleTracker | undefined;

  constructor(options: EngineOptions) {
    this.#o = options;
    this.#clock = options.clock ?? realClock;
    this.#settings = { ...DEFAULT_SETTINGS, ...options.settings };
    this.#checks = options.scenario.scenario.spec.checks;
    this.#ownsProbes = options.probes === undefined;
    this.#probes = options.probes ?? new ProbeManager(options.client);
    this.#owned = new OwnedPods(options.client, { image: this.#probes.image });
    this.#workloads = options.workloads;
    this.#limit = limiter(Math.max(1, options.concurrency ?? 16));
    const settle = options.settle;
    this.#settle = settle === false ? undefined : settle instanceof SettleTracker ? settle : SettleTracker.forClient(options.client, this.#clock, settle ?? {});
    if (this.#settle && !this.#settle.enabled) this.#settle = undefined;
  }

  async run(): Promise<CheckResult[]> {
    for (const [id, check] of checkGraph(this.#checks)) {
      this.#byId.set(id, check);
      this.#running.set(id, deferred<boolean>());
    }
    const signal = this.#o.signal;
    if (signal?.aborted) throw abortReason(signal);
    const onAbort = () => this.#internal.abort(signal!.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      this.#workloads ??= await WorkloadIndex.fromScenario(this.#o.scenario);
      if (this.#o.timeoutMs !== undefined) this.#gradeDeadline = this.#clock.now() + this.#o.timeoutMs;
      const settled = await Promise.allSettled(this.#checks.map((c) => this.#result(c)));
      if (this.#fatal) throw this.#fatal;
      if (signal?.aborted) throw abortReason(signal);
      return settled.map((s, i) => {
        if (s.status === "fulfilled") return s.value;
        // Only a bug gets here: make it visible as an error result rather than losing the other checks.
        return this.#finish(this.#checks[i]!, { status: "error", message: `internal error: ${errorMessage(s.reason)}`, evidence: [], attempts: 0, durationMs: 0 });
      });
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (this.#ownsProbes) await this.#probes.stopAll();
      for (const f of await this.#owned.dispose()) this.#emit({ type: "log", level: "warn", message: `could not delete labrun's ${f.object}: ${f.error} (it ends by itself within 15 minutes)` });
    }
  }

  #result(check: Check): Promise<CheckResult> {
    let p = this.#results.get(check.id);
    if (!p) {
      p = this.#schedule(check);
      this.#results.set(check.id, p);
    }
    return p;
  }

  async #schedule(check: Check): Promise<CheckResult> {
    const needs = (check.needs ?? []).map((id) => this.#result(this.#byId.get(id)!));
    // A network check that needs only network checks probes alongside them once they run (see checks/speculate.ts).
    if (speculates(check, this.#byId, this.#o.once) && (await Promise.all(check.needs!.map((id) => this.#running.get(id)!.promise))).every(Boolean)) {
      this.#running.get(check.id)!.resolve(true);
      const blockedBy = Promise.all(needs).then((deps) => deps.filter((d) => d.status !== "passed"));
      return this.#limit(() => this.#evaluate(check, blockedBy));
    }
    const running = this.#running.get(check.id)!;
    const blocked = (await Promise.all(needs)).filter((d) => d.status !== "passed");
    running.resolve(!blocked.length && !this.#internal.signal.aborted && this.#clock.now() < this.#gradeDeadline);
    if (blocked.length) return this.#finish(check, skippedFor(blocked));
    if (this.#internal.signal.aborted) {
      return this.#finish(check, { status: "error", message: "not evaluated: the grade was aborted", evidence: [], attempts: 0, durationMs: 0 });
    }
    if (this.#clock.now() >= this.#gradeDeadline) {
      return this.#finish(check, {
        status: "error",
        message: `not evaluated: the grade's time limit (${formatDuration(this.#o.timeoutMs ?? 0)}) ran out`,
        evidence: [],
        attempts: 0,
        durationMs: 0,
      });
    }
    return this.#limit(() => this.#evaluate(check));
  }

  /** `blockedBy` (a speculative start): the needs that did not pass, once known; until then no failure is final. */
  async #evaluate(check: Check, blockedBy?: Promise<CheckResult[]>): Promise<CheckResult> {
    const kind = checkKind(check);
    this.#emit({ type: "check-started", id: check.id, title: check.title, kind });
    let started = this.#clock.now();
    const timeoutMs = check.timeout ? parseDuration(check.timeout) : (this.#o.defaultTimeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS);
    const intervalMs = Math.max(1, check.interval ? parseDuration(check.interval) : (this.#o.defaultIntervalMs ?? DEFAULT_CHECK_INTERVAL_MS));
    const consistentlyMs = check.consistently ? parseDuration(check.consistently) : undefined;
    const once = this.#o.once?.includes(check.id) === true;
    const holding = consistentlyMs !== undefined && !once;
    let end = once ? started : Math.min(started + (consistentlyMs ?? timeoutMs), this.#gradeDeadline);
    let cappedByGrade = this.#gradeDeadline < started + (consistentlyMs ?? timeoutMs);
    const gate = new SpeculationGate(this.#internal.signal, blockedBy, () => {
      // The needs passed: from now on the check runs as if it had started now.
      started = this.#clock.now();
      end = Math.min(started + timeoutMs, this.#gradeDeadline);
      cappedByGrade = this.#gradeDeadline < started + timeoutMs;
    });
    const signal = gate.signal;

    let attempts = 0;
    let lastObserved: Extract<AttemptOutcome, { type: "observed" }> | undefined;
    let lastError: Extract<AttemptOutcome, { type: "error" }> | undefined;
    const elapsed = () => this.#clock.now() - started;
    const done = async (status: CheckResult["status"], message: string, evidence: Evidence[], connectivity?: Connectivity[]) => {
      const blocked = await gate.settled();
      if (blocked.length) return this.#finish(check, skippedFor(blocked));
      if (status === "skipped") return this.#finish(check, { status: "error", message: "not evaluated: the grade was aborted", evidence: [], attempts, durationMs: 0 });
      return this.#finish(check, { status, message, evidence, ...(connectivity ? { connectivity } : {}), attempts, durationMs: Math.max(0, Math.round(elapsed())) });
    };
    const attempt = async () => {
      attempts++;
      const outcome = await this.#attempt(check, kind, attempts, end, signal);
      this.#emit({
        type: "check-attempt",
        id: check.id,
        attempt: attempts,
        ok: outcome.type === "observed" ? outcome.observation.ok : null,
        message: outcome.type === "observed" ? outcome.observation.message : outcome.message,
      });
      return outcome;
    };

    for (;;) {
      if (gate.closed) return done("skipped", "", []);
      const outcome = await attempt();
      if (outcome.type === "observed") {
        lastObserved = outcome;
        const o = outcome.observation;
        if (holding) {
          if (!o.ok) {
            const when = formatDuration(outcome.at - started);
            return done("failed", `did not hold for ${formatDuration(consistentlyMs)}: after ${when}, ${o.message}`, o.evidence, o.connectivity);
          }
        } else if (o.ok) {
          if (!isNetworkKind(kind) || signal.aborted) return done("passed", o.message, o.evidence, o.connectivity);
          // A network pass is confirmed by one more attempt: a pass that does not repeat is a flap, not a pass.
          const passedAt = attempts;
          const confirm = await attempt();
          if (confirm.type === "observed" && confirm.observation.ok) return done("passed", confirm.observation.message, confirm.observation.evidence, confirm.observation.connectivity);
          if (gate.pending) {
            // before the needs passed nothing is final: keep polling
          } else if (confirm.type === "observed") {
            const c = confirm.observation;
            return done("failed", `flapping: passed at attempt ${passedAt}, failed at attempt ${attempts}: ${c.message}`, [...c.evidence, { label: `attempt ${passedAt} (passed)`, observed: o.message }], c.connectivity);
          }
          else if (confirm.final && confirm.message === "aborted") return done("error", confirm.message, confirm.evidence, confirm.connectivity);
          else
            return done(
              "error",
              `could not confirm a pass: passed at attempt ${passedAt}, attempt ${attempts} could not be evaluated: ${confirm.message}`,
              [...confirm.evidence, { label: `attempt ${passedAt} (passed)`, observed: o.message }],
              confirm.connectivity,
            );
        }
      } else {
        lastError = outcome;
        if (holding && outcome.message !== "aborted") {
          // Consistently means every attempt: one that could not be evaluated breaks the period.
          if (lastObserved) {
            const when = formatDuration(outcome.at - started);
            return done("failed", `did not hold for ${formatDuration(consistentlyMs)}: after ${when}, attempt ${attempts} could not be evaluated: ${outcome.message}`, outcome.evidence, outcome.connectivity);
          }
          return done("error", outcome.message, outcome.evidence, outcome.connectivity);
        }
        if (outcome.final && !gate.pending) return done("error", outcome.message, outcome.evidence, outcome.connectivity);
      }
      const now = this.#clock.now();
      if ((now >= end && !gate.pending) || signal.aborted) break;
      if (!holding && !gate.pending && outcome.type === "observed" && this.#settle) {
        const verdict = await this.#settle.verdict(started, signal);
        if (verdict.settled) {
          const o = outcome.observation;
          return done("failed", `${o.message} (${verdict.message})`, o.evidence, o.connectivity);
        }
      }
      const left = gate.pending ? intervalMs : end - this.#clock.now();
      if (left <= 0) break;
      try {
        await this.#clock.sleep(Math.min(intervalMs, left), signal);
      } catch {
        break; // aborted: the result below is discarded by run()
      }
    }

    if (gate.pending || gate.closed) return done("skipped", "", []); // aborted: the needs decide (skipped), or the grade ended
    const limitNote = cappedByGrade ? ` (the grade's time limit cut it short)` : "";
    if (holding) {
      if (lastObserved) {
        const o = lastObserved.observation;
        const held = formatDuration(Math.min(elapsed(), consistentlyMs));
        // Holding for part of the period proves nothing about flapping: only the whole period passes.
        if (cappedByGrade) return done("failed", `held for only ${held} of the required ${formatDuration(consistentlyMs)}: the grade's time limit cut it short`, o.evidence, o.connectivity);
        return done("passed", `held for ${held} (${attempts} attempts): ${o.message}`, o.evidence, o.connectivity);
      }
      return done("error", lastError ? lastError.message : "could not be evaluated", lastError?.evidence ?? [], lastError?.connectivity);
    }
    if (lastObserved) {
      // Report the last thing the check saw; a later error is noted, not hidden.
      const o = lastObserved.observation;
      const evidence = [...o.evidence];
      if (lastError && lastError.at > lastObserved.at) evidence.push({ label: "last attempt", observed: lastError.message });
      return done("failed", o.message + limitNote, evidence, o.connectivity);
    }
    return done("error", (lastError?.message ?? "could not be evaluated") + limitNote, lastError?.evidence ?? [], lastError?.connectivity);
  }

  /** One attempt, raced against the check's end plus a grace period (checks/engine-attempt.ts). */
  #attempt(check: Check, kind: CheckKind, attempt: number, end: number, signal: AbortSignal): Promise<AttemptOutcome> {
    return runAttempt(kind, end, {
      clock: this.#clock,
      internal: signal,
      graceMs: this.#o.attemptGraceMs ?? DEFAULT_ATTEMPT_GRACE_MS,
      context: {
        client: this.#o.client,
        scenario: this.#o.scenario,
        lab: this.#o.lab,
        check,
        probes: this.#probes,
        workloads: this.#workloads!,
        logger: this.#logger(check.id),
        settings: this.#settings,
        attempt,
        owned: this.#owned,
        ...(this.#o.outside ? { outside: this.#o.outside } : {}),
      },
      ensureReachable: (fault) => this.#ensureReachable(fault),
    });
  }

  /** Ping and check the infrastructure (shared by concurrent callers); on failure (or a `fault`) record the InfraError and abort every check. */
  async #ensureReachable(fault?: Error): Promise<void> {
    if (fault && !this.#fatal && !this.#internal.signal.aborted) this.#internal.abort((this.#fatal = fault instanceof InfraError ? fault : new InfraError(fault.message, { code: "INFRASTRUCTURE", cause: fault })));
    if (this.#fatal) throw this.#fatal;
    const infra = this.#o.infra;
    this.#ping ??= Promise.all([this.#o.client.ping({ timeoutMs: this.#o.pingTimeoutMs ?? 5_000, signal: this.#internal.signal }), infra?.(this.#internal.signal)])
      .then(
        () => undefined,
        (error: unknown) => {
          if (!this.#internal.signal.aborted) {
            this.#fatal =
              error instanceof InfraError
                ? error
                : new InfraError(`the cluster's API is unreachable: ${errorMessage(error)}`, { code: "CLUSTER_UNREACHABLE", cause: error });
            this.#internal.abort(this.#fatal);
          }
        },
      )
      .finally(() => {
        this.#ping = undefined;
      });
    await this.#ping;
    if (this.#fatal) throw this.#fatal;
  }

  #finish(check: Check, r: CheckOutcome): CheckResult {
    const result = checkResultOf(check, r);
    this.#emit({ type: "check-finished", result });
    return result;
  }

  #logger(id: string): Logger {
    return {
      debug: (message) => this.#emit({ type: "log", level: "debug", id, message }),
      info: (message) => this.#emit({ type: "log", level: "info", id, message }),
      warn: (message) => this.#emit({ type: "log", level: "warn", id, message }),
    };
  }

  #emit(event: GradeEvent): void {
    try {
      this.#o.onEvent?.(event);
    } catch {
      // a listener's bug must not break the grade
    }
  }
}
