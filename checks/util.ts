/**
 * Small helpers the checks share: durations, an injectable clock, abortable
 * sleeps, signals with deadlines and text shortening for evidence.
 */

export { formatDuration, parseDuration } from "../runner/util/duration.ts";
import { formatDuration } from "../runner/util/duration.ts";

/** Time, injectable so the engine's tests need not wait. */
export interface Clock {
  now(): number;
  /** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, signal),
};

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, ms));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The reason of an aborted signal, as an Error. */
export function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error(typeof reason === "string" ? `aborted: ${reason}` : "aborted");
  error.name = "AbortError";
  return error;
}

/**
 * A signal that aborts when any of `signals` aborts or after `ms`
 * (when given). `dispose` clears the timer.
 */
export function linkedSignal(signals: (AbortSignal | undefined)[], ms?: number): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const cleanups: (() => void)[] = [];
  const abort = (reason: unknown) => {
    if (!controller.signal.aborted) controller.abort(reason);
    dispose();
  };
  for (const s of signals) {
    if (!s) continue;
    if (s.aborted) {
      abort(s.reason);
      break;
    }
    const onAbort = () => abort(s.reason);
    s.addEventListener("abort", onAbort, { once: true });
    cleanups.push(() => s.removeEventListener("abort", onAbort));
  }
  if (ms !== undefined && !controller.signal.aborted) {
    const timer = setTimeout(() => {
      const error = new Error(`deadline of ${formatDuration(ms)} passed`);
      error.name = "TimeoutError";
      abort(error);
    }, Math.max(0, ms));
    cleanups.push(() => clearTimeout(timer));
  }
  function dispose() {
    for (const c of cleanups.splice(0)) c();
  }
  return { signal: controller.signal, dispose };
}

/** One line, at most `max` characters (for evidence). */
export function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Text kept to `max` characters, with a note when cut. */
export function clip(text: string, max = 2000): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

