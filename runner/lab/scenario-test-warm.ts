/**
 * Clusters warmed ahead for `labrun test` (runner/lab/scenario-test.ts).
 *
 * A catalogue run has more runs (a scenario's main cluster, each fresh-cluster
 * shortcut) than `concurrency` lets run at once; the others queue. Creating a
 * kind cluster and loading its images is a minute or two of mostly waiting,
 * so while the first runs judge their phases, the warmer creates the cluster
 * of the next queued run as a pool cluster (runner/lab/pool/, images loaded)
 * and that run claims it instead of creating one. At most `ahead` warmed
 * clusters wait unclaimed at once, and one is created at a time; warming
 * begins once the first runs have their clusters (kind creates do not
 * compete with each other for the cores).
 *
 * Integrity: a warmed cluster is a fresh cluster that nothing but its fill
 * touched (kind create, image loads); a run claims only the clusters this
 * warmer made (by pool entry id), never a course's pool, and runs every start
 * step on it as on a cluster of its own. A warmed cluster left unclaimed (its
 * run started first, or the run was interrupted) is deleted by `finish`.
 */
import type { LoadedScenario } from "../scenario/load.ts";
import { kindOf, type LifecycleOptions } from "./client.ts";
import { step } from "./events.ts";
import { fill, MAX_POOL_SIZE } from "./pool/fill.ts";
import { POOL_CLUSTER_PREFIX, PoolStore } from "./pool/store.ts";
import { LabStore } from "./state.ts";

/** Warms one cluster for a scenario; resolves to its pool entry id (undefined: none was made). */
export type WarmOne = (loaded: LoadedScenario, signal: AbortSignal) => Promise<string | undefined>;

export interface WarmerOptions {
  /** How many warmed clusters may wait unclaimed at once. */
  ahead: number;
  /** Runs with a ticket below this start at once (they are not warmed for). */
  immediate: number;
  warmOne: WarmOne;
  /** Deletes warmed clusters that were not claimed. */
  discard: (ids: string[]) => Promise<void>;
  onWarning?: (message: string) => void;
}

type Slot = { state: "queued" } | { state: "started" } | { state: "warming" | "warm"; id: Promise<string | undefined> };

export class Warmer {
  readonly #o: WarmerOptions;
  readonly #plan: LoadedScenario[] = [];
  readonly #slots: Slot[] = [];
  readonly #made: string[] = [];
  readonly #abort = new AbortController();
  #unclaimed = 0;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #started = 0;

  constructor(options: WarmerOptions) {
    this.#o = options;
  }

  /** Adds a run (in the order the runs will start); its ticket. */
  plan(loaded: LoadedScenario): number {
    this.#slots.push({ state: "queued" });
    return this.#plan.push(loaded) - 1;
  }

  /** Starts warming in the background (after `plan` was called for every run). */
  begin(): void {
    this.#loop ??= this.#run().catch((error: unknown) => {
      if (!this.#abort.signal.aborted) this.#o.onWarning?.(`warming clusters ahead stopped: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  /**
   * Called when run `ticket` is about to start: the id of the cluster warmed
   * for it (waiting for one being warmed), or undefined (start a cold one).
   */
  async take(ticket: number): Promise<string | undefined> {
    const slot = this.#slots[ticket];
    if (!slot || slot.state === "started") return undefined;
    if (slot.state === "queued") {
      this.#slots[ticket] = { state: "started" };
      return undefined;
    }
    const id = await slot.id;
    this.#slots[ticket] = { state: "started" };
    this.#unclaimed--;
    this.#poke();
    return id;
  }

  /** Called when run `ticket`'s start has ended (either way). */
  started(ticket: number): void {
    if (ticket < this.#o.immediate) this.#started++;
    this.#poke();
  }

  /** Stops warming and deletes every warmed cluster no run claimed. */
  async finish(): Promise<void> {
    this.#abort.abort();
    this.#poke();
    await this.#loop;
    const ids = this.#made.slice();
    if (ids.length) await this.#o.discard(ids).catch((error: unknown) => this.#o.onWarning?.(`could not delete warmed clusters: ${String(error)}; run \`labrun gc\``));
  }

  async #run(): Promise<void> {
    const first = Math.min(this.#o.immediate, this.#plan.length);
    await this.#until(() => this.#started >= first);
    for (let ticket = first; ticket < this.#plan.length; ticket++) {
      await this.#until(() => this.#unclaimed < this.#o.ahead);
      if (this.#abort.signal.aborted) return;
      if (this.#slots[ticket]?.state !== "queued") continue; // its run started before we got to it
      this.#unclaimed++;
      const id = this.#o.warmOne(this.#plan[ticket]!, this.#abort.signal).then(
        (made) => {
          if (made) this.#made.push(made);
          return made;
        },
        (error: unknown) => {
          if (!this.#abort.signal.aborted) this.#o.onWarning?.(`could not warm a cluster for ${this.#plan[ticket]!.name} (it starts cold): ${error instanceof Error ? error.message : String(error)}`);
          return undefined;
        },
      );
      this.#slots[ticket] = { state: "warming", id };
      await id; // one kind create at a time
    }
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #until(ready: () => boolean): Promise<void> {
    while (!ready() && !this.#abort.signal.aborted) await new Promise<void>((resolve) => (this.#wake = resolve));
  }
}

/** Warming through the warm pool's fill: one more cluster of the scenario's shape, images loaded; its entry id. */
export function poolWarming(options: LifecycleOptions & { store: LabStore }): Pick<WarmerOptions, "warmOne" | "discard"> {
  const pool = new PoolStore(options.store.dir);
  return {
    warmOne: async (loaded, signal) => {
      // One cluster, whatever else the pool holds (a size computed from what is live would race with claims).
      const { onEvent: _quiet, ...rest } = options;
      const result = await fill({ ...rest, scenario: loaded, size: MAX_POOL_SIZE, once: true, remember: false, signal });
      const cluster = result.created[0];
      return cluster?.startsWith(POOL_CLUSTER_PREFIX) ? cluster.slice(POOL_CLUSTER_PREFIX.length) : undefined;
    },
    discard: async (ids) => {
      const kind = kindOf(options);
      for (const id of ids) {
        // Only a warmed cluster still waiting (ready) is ours to delete: a claimed one is a lab's, deleted with it.
        const taken = await pool.update(id, (e) => {
          if (e.state !== "ready") return;
          e.state = "draining";
          e.pid = process.pid;
        });
        if (taken?.state !== "draining") continue;
        await step(options.onEvent, "down", `delete warmed cluster ${taken.cluster}`, async () => {
          await kind.delete(taken.cluster, { kubeconfigPath: pool.kubeconfigPath(id) });
          await pool.remove(id);
        });
      }
    },
  };
}
