/**
 * A fake Clock for code about time: `sleep` never waits for real. When every
 * sleeper is parked (the event loop got to a macrotask), the clock jumps to
 * the earliest wake-up time and wakes those sleepers, in order. Tests then
 * assert exact virtual times instead of wall-clock bounds that fail on a busy
 * machine. With `{ auto: false }` time stands still until `auto()` is called
 * (for a test that first waits for something real, such as a module import).
 */
import type { Clock } from "../../runner/util/clock.ts";
import { abortReason } from "../../runner/util/sleep.ts";

interface Sleeper {
  at: number;
  seq: number;
  wake: () => void;
}

export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #sleepers: Sleeper[] = [];
  #scheduled = false;
  #auto: boolean;
  /** Every sleep asked for, in ms (for assertions on intervals). */
  readonly sleeps: number[] = [];

  constructor(start = 0, options: { auto?: boolean } = {}) {
    this.#now = start;
    this.#auto = options.auto ?? true;
  }

  /** Starts moving time (after `{ auto: false }`). */
  auto(): void {
    this.#auto = true;
    this.#schedule();
  }

  /** Sleepers still waiting. */
  get pending(): number {
    return this.#sleepers.length;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const sleeper: Sleeper = {
        at: this.#now + Math.max(0, ms),
        seq: this.#seq++,
        wake: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#sleepers = this.#sleepers.filter((s) => s !== sleeper);
        reject(abortReason(signal!));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#sleepers.push(sleeper);
      this.#schedule();
    });
  }

  /** Move time forward by hand (for code that reads `now` without sleeping). */
  advance(ms: number): void {
    this.#now += ms;
  }

  #schedule(): void {
    if (this.#scheduled || !this.#auto) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#sleepers.length === 0) return;
      const at = Math.min(...this.#sleepers.map((s) => s.at));
      const due = this.#sleepers.filter((s) => s.at === at).sort((a, b) => a.seq - b.seq);
      this.#sleepers = this.#sleepers.filter((s) => s.at !== at);
      this.#now = Math.max(this.#now, at);
      for (const s of due) s.wake();
      if (this.#sleepers.length) this.#schedule();
    });
  }
}
