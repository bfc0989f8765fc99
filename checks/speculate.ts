/**
 * Speculative starts of network checks. A network check whose needs are all
 * network checks (beebox-cni's http-by-dns needs pod-dns and http-by-ip) would
 * otherwise start probing only after they passed, each confirmed by a second
 * attempt: two probe rounds one after the other. It starts instead as soon as
 * its needs run (their own needs passed, so the source pods are there) and
 * its probes share their rounds. Its verdict is the same as if it had waited:
 *   - until its needs have passed nothing it sees is final: a failed attempt,
 *     a flap, an error or its timeout only make it poll again, and the settle
 *     rule does not apply;
 *   - a pass (confirmed by a second attempt, as every network pass) counts
 *     only once every need has passed;
 *   - a need that does not pass aborts it, and it is `skipped` with the same
 *     message as a check that waited;
 *   - once its needs have passed it runs as if it had started then (its
 *     timeout and settle window count from that moment).
 */
import type { CheckResult } from "../runner/schema/report.ts";
import type { Check } from "../runner/schema/scenario.ts";
import { checkKind } from "../runner/schema/values.ts";
import type { CheckOutcome } from "./engine-report.ts";

/**
 * Kinds whose verdict is a probe over the network: a pass is confirmed by a
 * second attempt (checks/engine.ts). Decided by kind name, so kinds added later
 * are covered as soon as they exist.
 */
export const NETWORK_CHECK_KINDS: ReadonlySet<string> = new Set(["http", "dns", "blocked", "reachability", "podNetwork"]);
const NETWORK = NETWORK_CHECK_KINDS;

/** Whether `check` starts alongside its needs: a network check, polled (not `consistently`, not once), needing only network checks. */
export function speculates(check: Check, byId: ReadonlyMap<string, Check>, once: readonly string[] | undefined): boolean {
  const needs = check.needs ?? [];
  if (!needs.length || !NETWORK.has(checkKind(check)) || check.consistently || once?.includes(check.id)) return false;
  return needs.every((id) => NETWORK.has(checkKind(byId.get(id)!)));
}

/** The result of a check whose needs did not all pass. */
export function skippedFor(blocked: readonly CheckResult[]): CheckOutcome {
  return { status: "skipped", message: `skipped: needs ${blocked.map((d) => `${d.id} (${d.status})`).join(", ")}`, evidence: [], attempts: 0, durationMs: 0 };
}

/** A speculative check's view of its needs: pending until they are decided, then open (all passed) or closed (aborts its attempts). */
export class SpeculationGate {
  readonly signal: AbortSignal;
  #state: "pending" | "open" | "closed";
  readonly #blocked: Promise<CheckResult[]>;

  /** No `blockedBy`: an ordinary check, open from the start. `onOpen` runs when the needs have passed. */
  constructor(internal: AbortSignal, blockedBy: Promise<CheckResult[]> | undefined, onOpen: () => void) {
    if (!blockedBy) {
      this.#state = "open";
      this.signal = internal;
      this.#blocked = Promise.resolve([]);
      return;
    }
    this.#state = "pending";
    const controller = new AbortController();
    this.signal = AbortSignal.any([internal, controller.signal]);
    this.#blocked = blockedBy.then((blocked) => {
      if (blocked.length) {
        this.#state = "closed";
        controller.abort(new Error("a need did not pass"));
      } else {
        this.#state = "open";
        onOpen();
      }
      return blocked;
    });
  }

  get pending(): boolean {
    return this.#state === "pending";
  }

  get closed(): boolean {
    return this.#state === "closed";
  }

  /** The needs that did not pass, once all are decided ([] for an ordinary check). */
  settled(): Promise<CheckResult[]> {
    return this.#blocked;
  }
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

/** A promise and its resolve function (Promise.withResolvers, which the TypeScript target here does not type). */
export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
