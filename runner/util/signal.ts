import { formatDuration } from "./duration.ts";

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
