/**
 * The broken state converges. A break step can take effect a little after it
 * returns: a NetworkPolicy enforcer applies a new policy within seconds, an old
 * CoreDNS pod answers until it has terminated, kube-proxy reprograms rules on
 * its own schedule. `start` hands the lab over, and `labrun test` judges its
 * broken phase, only once the grade shows exactly the checks of
 * `broken.failing` failing, regrading for up to CONVERGE_MS. A check that
 * could not be evaluated is never retried into a pass: the caller's `settled`
 * decides what ends the wait (a mismatch that persists is reported as it is).
 */
import { realClock, type Clock } from "../util/clock.ts";
import { poll } from "../util/poll.ts";

/** How long a broken state may take to converge after the last break step. */
export const CONVERGE_MS = 30_000;
/** The wait between two grades while it converges. */
export const CONVERGE_INTERVAL_MS = 2_000;

export interface Converged<T> {
  /** The last attempt's outcome (settled, or the last seen at the deadline). */
  outcome: T;
  /** How many grades it took. */
  attempts: number;
  /** From the first grade's start to the last one's end. */
  elapsedMs: number;
}

/**
 * Runs `attempt` until `settled(outcome)` holds or `timeoutMs` has passed,
 * and returns the last outcome. Errors from `attempt` end the wait at once.
 */
export async function untilConverged<T>(
  attempt: () => Promise<T>,
  settled: (outcome: T) => boolean,
  options: { timeoutMs?: number; intervalMs?: number; signal?: AbortSignal; clock?: Clock } = {},
): Promise<Converged<T>> {
  const clock = options.clock ?? realClock;
  const started = clock.now();
  let last: T | undefined;
  let attempts = 0;
  await poll(
    async () => {
      attempts++;
      last = await attempt();
      return settled(last) ? true : undefined;
    },
    {
      timeoutMs: options.timeoutMs ?? CONVERGE_MS,
      intervalMs: options.intervalMs ?? CONVERGE_INTERVAL_MS,
      clock,
      ...(options.signal ? { signal: options.signal } : {}),
    },
  );
  return { outcome: last as T, attempts, elapsedMs: clock.now() - started };
}

/** A note for reports when convergence took more than one grade. */
export function convergedNote(c: Converged<unknown>): string | undefined {
  return c.attempts > 1 ? `the broken state took ${c.attempts} grades (${(c.elapsedMs / 1000).toFixed(1)} s) to converge after the break steps` : undefined;
}
