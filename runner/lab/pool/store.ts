/**
 * The warm pool's state, next to the labs in the state directory:
 *
 *   pool/<id>/entry.json     the entry (written atomically)
 *   pool/<id>/kubeconfig     the pool cluster's kubeconfig (copied to the lab on claim)
 *   pool/<id>/mark/          mounted into every node: `gc` finds the entry from the cluster
 *   pool/targets.json        per shape, the size `labrun pool fill` was last asked for
 *   locks/.pool.lock         one lock for every change to the pool (a lab name never starts with ".")
 *
 * An entry is `warming` (a fill is creating it), `ready` (claimable),
 * `claimed` (a start took it: from then on it is that lab's cluster) or
 * `draining` (being deleted). Every state change happens under the pool lock,
 * so two starts never claim one cluster and two fills never overshoot a size.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { InfraError } from "../../errors.ts";
import { LockError, LockTimeoutError, withFileLock, type FileLockOptions } from "../../util/file-lock.ts";
import { stateDirError } from "../../util/state-dir-error.ts";
import { atomicWrite, isCode, pidAlive } from "../../util/files.ts";

export type PoolEntryState = "warming" | "ready" | "claimed" | "draining";

export interface PoolEntry {
  id: string;
  /** The kind cluster: `labrun-pool-<id>`. */
  cluster: string;
  /** The shape key (shape.ts). */
  shape: string;
  /** The scenario whose fill made it (its images are loaded). */
  scenario: string;
  nodeImage: string;
  nodes: number;
  /** Images loaded into its nodes. */
  images: string[];
  state: PoolEntryState;
  /** The process that is warming, claiming or draining it. */
  pid?: number;
  createdAt: string;
  readyAt?: string;
  /** The lab that claimed it. */
  claimedBy?: string;
}

export interface PoolTarget {
  size: number;
  /** The scenario folder `pool fill` was given (a refill uses it again). */
  scenarioDir: string;
}

export const POOL_CLUSTER_PREFIX = "labrun-pool-";

export class PoolStore {
  /** The state directory (the labs' LabStore.dir). */
  readonly stateDir: string;
  readonly dir: string;
  readonly #isAlive: (pid: number) => boolean;
  readonly #lockTimeoutMs: number;

  constructor(stateDir: string, options: { isAlive?: (pid: number) => boolean; lockTimeoutMs?: number } = {}) {
    this.stateDir = stateDir;
    this.dir = path.join(stateDir, "pool");
    this.#isAlive = options.isAlive ?? pidAlive;
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 30_000;
  }

  entryDir(id: string): string {
    return path.join(this.dir, id);
  }
  kubeconfigPath(id: string): string {
    return path.join(this.entryDir(id), "kubeconfig");
  }
  markDir(id: string): string {
    return path.join(this.entryDir(id), "mark");
  }

  /** Every entry (unreadable ones skipped), oldest first. */
  async list(): Promise<PoolEntry[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (error) {
      if (isCode(error, "ENOENT")) return [];
      throw new InfraError(`failed to list the pool in ${this.dir}`, { cause: error });
    }
    const entries: PoolEntry[] = [];
    for (const name of names) {
      const entry = await readEntry(path.join(this.dir, name, "entry.json"));
      if (entry && entry.id === name) entries.push(entry);
    }
    return entries.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<PoolEntry | undefined> {
    return readEntry(path.join(this.entryDir(id), "entry.json"));
  }

  /** Whether an entry still counts towards its shape's size: ready, or warming by a live process. */
  live(entry: PoolEntry): boolean {
    return entry.state === "ready" || (entry.state === "warming" && entry.pid !== undefined && this.#isAlive(entry.pid));
  }

  /**
   * Reserves a new `warming` entry for the shape when fewer than `size` live
   * ones exist; undefined when the shape is full.
   */
  async reserve(entry: Omit<PoolEntry, "id" | "cluster" | "state" | "createdAt" | "pid">, size: number): Promise<PoolEntry | undefined> {
    return this.#locked(async () => {
      const live = (await this.list()).filter((e) => e.shape === entry.shape && this.live(e));
      if (live.length >= size) return undefined;
      const id = `${entry.shape.slice(0, 8)}-${randomBytes(3).toString("hex")}`;
      const made: PoolEntry = { ...entry, id, cluster: `${POOL_CLUSTER_PREFIX}${id}`, state: "warming", pid: process.pid, createdAt: new Date().toISOString() };
      await fs.mkdir(this.markDir(id), { recursive: true });
      await fs.writeFile(path.join(this.markDir(id), "lab"), `pool:${id}\n`);
      await this.#write(made);
      return made;
    });
  }

  /**
   * Claims a ready cluster of the shape for `lab`, preferring one that already
   * has all of `images`, then the oldest; `only`: among these entry ids alone
   * (`labrun test` claims the clusters it warmed, not a course's pool).
   * Undefined when none is ready.
   */
  async claim(shape: string, lab: string, images: readonly string[] = [], only?: readonly string[]): Promise<PoolEntry | undefined> {
    return this.#locked(async () => {
      const ready = (await this.list()).filter((e) => e.shape === shape && e.state === "ready" && (!only || only.includes(e.id)));
      const missing = (e: PoolEntry) => images.filter((i) => !e.images.includes(i)).length;
      const pick = ready.sort((a, b) => missing(a) - missing(b) || (a.readyAt ?? "").localeCompare(b.readyAt ?? ""))[0];
      if (!pick) return undefined;
      const claimed: PoolEntry = { ...pick, state: "claimed", pid: process.pid, claimedBy: lab };
      await this.#write(claimed);
      return claimed;
    });
  }

  /** Puts back a claim that was not used (the start failed before touching the cluster). */
  async release(id: string): Promise<void> {
    await this.update(id, (e) => {
      if (e.state !== "claimed") return;
      e.state = "ready";
      delete e.pid;
      delete e.claimedBy;
    });
  }

  /** Read-modify-write of one entry under the pool lock; undefined when it is gone. */
  async update(id: string, fn: (entry: PoolEntry) => void): Promise<PoolEntry | undefined> {
    return this.#locked(async () => {
      const entry = await this.get(id);
      if (!entry) return undefined;
      fn(entry);
      await this.#write(entry);
      return entry;
    });
  }

  /** Takes every ready entry (of a shape, or all; `only`: among these entry ids alone) for deletion: they become `draining`, owned by this process. */
  async takeForDrain(shape?: string, only?: readonly string[]): Promise<PoolEntry[]> {
    return this.#locked(async () => {
      const taken: PoolEntry[] = [];
      for (const e of await this.list()) {
        if (e.state !== "ready" || (shape && e.shape !== shape) || (only && !only.includes(e.id))) continue;
        const next: PoolEntry = { ...e, state: "draining", pid: process.pid };
        await this.#write(next);
        taken.push(next);
      }
      return taken;
    });
  }

  /** Forgets an entry (its directory goes). */
  async remove(id: string): Promise<void> {
    await fs.rm(this.entryDir(id), { recursive: true, force: true });
  }

  async targets(): Promise<Record<string, PoolTarget>> {
    try {
      return JSON.parse(await fs.readFile(path.join(this.dir, "targets.json"), "utf8")) as Record<string, PoolTarget>;
    } catch {
      return {};
    }
  }

  /** Records (or, with size 0, forgets) the size a shape is kept at. */
  async setTarget(shape: string, target: PoolTarget): Promise<void> {
    await this.#locked(async () => {
      const all = await this.targets();
      if (target.size > 0) all[shape] = target;
      else delete all[shape];
      await fs.mkdir(this.dir, { recursive: true });
      await atomicWrite(path.join(this.dir, "targets.json"), JSON.stringify(all, null, 2) + "\n", 0o644);
    });
  }

  async #write(entry: PoolEntry): Promise<void> {
    await fs.mkdir(this.entryDir(entry.id), { recursive: true });
    await atomicWrite(path.join(this.entryDir(entry.id), "entry.json"), JSON.stringify(entry, null, 2) + "\n", 0o644);
  }

  async #locked<T>(fn: () => Promise<T>): Promise<T> {
    const file = path.join(this.stateDir, "locks", ".pool.lock");
    const options: FileLockOptions = {
      timeoutMs: this.#lockTimeoutMs,
      isStale: (holder, age) => {
        if (!holder) return age > 2_000;
        if (holder.host === hostname() && !this.#isAlive(holder.pid)) return true;
        return age > 120_000;
      },
    };
    try {
      return await withFileLock(file, options, fn);
    } catch (error) {
      if (error instanceof LockTimeoutError) {
        throw new InfraError(`the warm pool is locked${error.holder ? ` by process ${error.holder.pid}` : ""}`, { code: "POOL_LOCKED", hint: `wait for that labrun to finish; if none runs, remove ${file}` });
      }
      throw stateDirError(this.stateDir, error instanceof LockError ? error.cause : error) ?? error;
    }
  }
}

/** An entry file, or undefined when it is missing or unreadable. */
export async function readEntry(file: string): Promise<PoolEntry | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, "utf8")) as PoolEntry;
  } catch {
    return undefined;
  }
}
