/**
 * The one polling loop. `attempt` runs until it returns a value (anything but
 * undefined), which `poll` resolves with; when the deadline passes first,
 * `poll` resolves undefined (callers keep what they last saw in a closure and
 * say it in their timeout error). The wait before the deadline is cut short,
 * so the last attempt runs at the deadline at the latest.
 *
 * Abort: rejects with the signal's reason (see abortReason) at once, also in
 * the middle of a wait. Whatever `attempt` throws ends the poll too: an
 * attempt that should be retried catches its error and returns undefined.
 */
import { realClock, type Clock } from "./clock.ts";
import { abortReason } from "./sleep.ts";

export interface PollOptions {
  /** Give up after this long (on `clock`). */
  timeoutMs: number;
  /** The wait between attempts: fixed, or by attempt number (1, 2, ...) for a backoff. */
  intervalMs: number | ((attempt: number) => number);
  signal?: AbortSignal;
  /** Time (default: the real clock); tests pass a fake one. */
  clock?: Clock;
}

export async function poll<T>(attempt: (n: number) => Promise<T | undefined> | T | undefined, options: PollOptions): Promise<T | undefined> {
  const clock = options.clock ?? realClock;
  const signal = options.signal;
  const deadline = clock.now() + options.timeoutMs;
  for (let n = 1; ; n++) {
    if (signal?.aborted) throw abortReason(signal);
    const value = await attempt(n);
    if (value !== undefined) return value;
    const left = deadline - clock.now();
    if (left <= 0) return undefined;
    const wait = typeof options.intervalMs === "function" ? options.intervalMs(n) : options.intervalMs;
    await clock.sleep(Math.max(0, Math.min(wait, left)), signal);
  }
}
