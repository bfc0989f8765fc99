/**
 * Typed progress events of the lab lifecycle, for the CLI's progress lines and
 * for course platforms that drive labrun as a library.
 */

/** Where in the lifecycle a step belongs. */
export type LabPhase = "preflight" | "cluster" | "images" | "setup" | "break" | "verify" | "solution" | "attack" | "restore" | "cleanup" | "down" | "gc";

export type StepStatus = "ok" | "failed" | "skipped";

export type LabEvent =
  /** A step begins: show a spinner or a "..." line. */
  | { type: "step-start"; phase: LabPhase; name: string }
  /** A step ended; `detail` is a short result such as `2 nodes` or `kind v0.30.0`. */
  | { type: "step-end"; phase: LabPhase; name: string; status: StepStatus; durationMs: number; detail?: string; error?: string }
  /** A line of output from a tool (kind's progress), for --debug and logs. */
  | { type: "log"; phase: LabPhase; line: string }
  /** Something the user should know that does not stop the run. */
  | { type: "warning"; message: string };

export type LabEventListener = (event: LabEvent) => void;

/**
 * A library caller's listener, made harmless: one that throws must not turn a
 * step that worked into a failure (and a deleted cluster). Its error is
 * printed once to stderr, the work goes on.
 */
export function safeListener<E>(listener: ((event: E) => void) | undefined): ((event: E) => void) | undefined {
  if (!listener) return undefined;
  let reported = false;
  return (event) => {
    try {
      listener(event);
    } catch (error) {
      if (!reported) process.stderr.write(`warning: an event listener threw (ignored): ${error instanceof Error ? error.message : String(error)}\n`);
      reported = true;
    }
  };
}

/**
 * Runs `fn` as one step: emits step-start, then step-end with its duration and
 * status, and rethrows a failure after reporting it.
 */
export async function step<T>(
  onEvent: LabEventListener | undefined,
  phase: LabPhase,
  name: string,
  fn: () => Promise<T>,
  detail?: (value: T) => string | undefined,
): Promise<T> {
  onEvent = safeListener(onEvent);
  const started = performance.now();
  onEvent?.({ type: "step-start", phase, name });
  try {
    const value = await fn();
    const d = detail?.(value);
    onEvent?.({ type: "step-end", phase, name, status: "ok", durationMs: Math.round(performance.now() - started), ...(d ? { detail: d } : {}) });
    return value;
  } catch (error) {
    onEvent?.({
      type: "step-end",
      phase,
      name,
      status: "failed",
      durationMs: Math.round(performance.now() - started),
      error: error instanceof Error ? error.message : String(error),
    });
    throw error;
  }
}
