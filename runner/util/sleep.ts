/**
 * The one sleep: resolves after `ms`, or rejects with the signal's reason
 * (as an Error, see {@link abortReason}) as soon as the signal aborts. Callers
 * that want to stop quietly on abort catch it and check their signal.
 */
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
