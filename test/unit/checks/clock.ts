/**
 * A virtual clock for the engine's tests: `sleep` registers a timer, and time
 * only moves when the clock advances it. In `auto` mode (the default) it
 * advances by itself once the process is idle: after pending promise
 * callbacks and a few event-loop turns have run, it jumps to the earliest
 * timer and fires it. A test never waits for wall-clock time, and asserts
 * on virtual durations exactly.
 */
import type { Clock } from "../../../checks/util.ts";

interface Timer {
  at: number;
  seq: number;
  resolve: () => void;
  cleanup: () => void;
}

export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];
  #auto: boolean;
  #driving = false;
  /** Every sleep asked for, in order (ms). */
  readonly sleeps: number[] = [];

  constructor(start = Date.parse("2026-01-01T00:00:00Z"), options: { auto?: boolean } = {}) {
    this.#now = start;
    this.#auto = options.auto ?? true;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(reason(signal));
      const timer: Timer = {
        at: this.#now + Math.max(0, ms),
        seq: this.#seq++,
        resolve,
        cleanup: () => signal?.removeEventListener("abort", onAbort),
      };
      const onAbort = () => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        reject(reason(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#timers.push(timer);
      this.#drive();
    });
  }

  /** Start advancing by itself (for tests that first wait for something real, such as a module import). */
  auto(): void {
    this.#auto = true;
    this.#drive();
  }

  /** Moves time forward by `ms`, firing due timers in order and letting their callbacks run. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      await idle();
      const next = this.#next();
      if (!next || next.at > target) break;
      this.#fire(next);
    }
    this.#now = Math.max(this.#now, target);
    await idle();
  }

  get pending(): number {
    return this.#timers.length;
  }

  #next(): Timer | undefined {
    return [...this.#timers].sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
  }

  #fire(timer: Timer): void {
    this.#timers = this.#timers.filter((t) => t !== timer);
    this.#now = Math.max(this.#now, timer.at);
    timer.cleanup();
    timer.resolve();
  }

  #drive(): void {
    if (!this.#auto || this.#driving) return;
    this.#driving = true;
    void (async () => {
      try {
        for (;;) {
          await idle();
          const next = this.#next();
          if (!next || !this.#auto) break;
          this.#fire(next);
        }
      } finally {
        this.#driving = false;
      }
    })();
  }
}

/** Lets pending promise callbacks and a few event-loop turns run. */
async function idle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function reason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  const error = new Error("aborted");
  error.name = "AbortError";
  return error;
}
