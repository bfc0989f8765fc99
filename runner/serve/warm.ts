/**
 * `labrun serve --warm SCENARIO=N`: serve keeps N warm pool clusters of each
 * such scenario's shape ready (runner/lab/pool/), the toolbox image loaded in
 * each, so a lab of it is claimed and ready in seconds. It fills at start and
 * tops up after every lab start (a claim takes one), one fill at a time; when
 * the server stops it interrupts a fill and deletes the ready clusters it made.
 * Clusters of the shape that `labrun pool fill` made beside it are claimed
 * too and count towards N, but serve never deletes them.
 */
import type { LabEventListener } from "../lab/events.ts";
import { MEMORY_PER_NODE } from "../lab/preflight.ts";
import { UsageError } from "../errors.ts";
import { errorMessage } from "../util/text.ts";
import type { LabBackend, ServedScenario } from "./backend.ts";

export interface WarmTarget {
  scenario: ServedScenario;
  size: number;
}

/** Parses `--warm` values, `SCENARIO=N`, against the served scenarios. */
export function parseWarm(values: readonly string[], scenarios: readonly ServedScenario[], maxSize: number): WarmTarget[] {
  const targets: WarmTarget[] = [];
  for (const value of values) {
    const m = /^([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)=(\d+)$/.exec(value);
    if (!m) throw new UsageError(`--warm takes SCENARIO=N, got "${value}"`, { hint: "e.g. `--warm beebox-cni=2`" });
    const [, name, count] = m as unknown as [string, string, string];
    const size = Number(count);
    if (size < 1 || size > maxSize) throw new UsageError(`--warm ${name}=${count}: N must be 1 to ${maxSize}`);
    const scenario = scenarios.find((s) => s.summary.name === name);
    if (!scenario) throw new UsageError(`--warm ${value}: unknown scenario "${name}"`, { hint: "`labrun list` shows the scenarios serve serves" });
    if (targets.some((t) => t.scenario === scenario)) throw new UsageError(`--warm names ${name} twice`);
    targets.push({ scenario, size });
  }
  return targets;
}

/** Memory the warm clusters may take at most, in bytes (preflight's estimate: about 1 GiB per node). */
export function warmBytes(targets: readonly WarmTarget[]): number {
  return targets.reduce((n, t) => n + t.size * t.scenario.summary.nodes, 0) * MEMORY_PER_NODE;
}

export class Warmer {
  readonly #backend: Pick<LabBackend, "fillPool" | "drainPool">;
  readonly #targets: readonly WarmTarget[];
  readonly #log: (line: string) => void;
  readonly #controller = new AbortController();
  /** Pool entry ids this server made. */
  readonly #made = new Set<string>();
  #running: Promise<void> | undefined;
  #again = false;

  constructor(backend: Pick<LabBackend, "fillPool" | "drainPool">, targets: readonly WarmTarget[], log: (line: string) => void) {
    this.#backend = backend;
    this.#targets = targets;
    this.#log = log;
  }

  get targets(): readonly WarmTarget[] {
    return this.#targets;
  }

  /** Tops every target up, now or (when a fill runs) right after it. */
  poke(): void {
    if (!this.#targets.length || this.#controller.signal.aborted) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#running = this.#round().finally(() => {
      this.#running = undefined;
      if (this.#again) {
        this.#again = false;
        this.poke();
      }
    });
  }

  /** Resolves once no fill runs (tests; the e2e waits through `labrun pool status`). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async #round(): Promise<void> {
    for (const { scenario, size } of this.#targets) {
      const signal = this.#controller.signal;
      if (signal.aborted) return;
      const name = scenario.summary.name;
      const started = performance.now();
      const onEvent: LabEventListener = (e) => {
        if (e.type === "warning") this.#log(`warm pool ${name}: ${e.message}`);
      };
      try {
        const { created, stopped } = await this.#backend.fillPool({ file: scenario.file, size, signal, onEvent });
        for (const id of created) this.#made.add(id);
        if (created.length) this.#log(`warm pool ${name}: ${created.length} cluster${created.length > 1 ? "s" : ""} made ready in ${((performance.now() - started) / 1000).toFixed(1)} s`);
        if (stopped) this.#log(`warm pool ${name}: stopped short of ${size}: ${stopped}`);
      } catch (error) {
        if (signal.aborted) return;
        this.#log(`warm pool ${name}: fill failed: ${errorMessage(error)} (retried after the next lab start)`);
      }
    }
  }

  /** Stops filling (a fill under way deletes its cluster) and deletes the ready clusters this server made; returns the errors. */
  async close(): Promise<string[]> {
    this.#controller.abort("the server is stopping");
    await this.idle();
    try {
      const deleted = await this.#backend.drainPool([...this.#made]);
      if (deleted.length) this.#log(`warm pool: deleted ${deleted.join(", ")}`);
      return [];
    } catch (error) {
      return [`warm pool clusters were not all deleted: ${errorMessage(error)}; \`labrun gc\` removes them`];
    }
  }
}
