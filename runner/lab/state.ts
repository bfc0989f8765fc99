/**
 * Lab state: one directory per lab under an XDG state directory.
 *
 *   $LABRUN_STATE_DIR | $XDG_STATE_HOME/labrun | ~/.local/state/labrun
 *     labs/<lab>/lab.json          the record (written atomically: temp file + rename)
 *     labs/<lab>/kubeconfig        the lab cluster's own kubeconfig
 *     labs/<lab>/reports/attempt-<n>.json
 *     locks/<lab>.lock             exclusive lock (open 'wx'), holder's pid + token
 *
 * Two labrun processes may touch the same lab at once (`labrun grade` while
 * `labrun down` runs): every read-modify-write happens under the lab's lock;
 * a lock whose holder is dead (same host, pid gone) or that is older than
 * `staleMs` is broken. Readers never lock: the rename makes every read see a
 * whole record.
 */
import { randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import { homedir, hostname } from "node:os";
import path from "node:path";
import { InfraError, NotFoundError, UsageError } from "../errors.ts";
import { acquireLock, LockError, LockTimeoutError, withFileLock, type FileLockOptions } from "../util/file-lock.ts";
import { atomicWrite, exists, isCode, pidAlive } from "../util/files.ts";
import { stateDirError } from "../util/state-dir-error.ts";

export { stateDirError };
import { errorMessage } from "../util/text.ts";
import { isLabName, validateLabName } from "./names.ts";

export const LAB_RECORD_VERSION = 1;

export type LabStatus = "creating" | "ready" | "failed" | "deleting";

export interface LabAttempt {
  attempt: number;
  /** ISO date-time of the grade. */
  at: string;
  points: number;
  maxPoints: number;
  percent: number;
  passed: boolean;
  /** Absolute path of the saved JSON report. */
  reportFile: string;
}

export interface LabRecord {
  version: number;
  name: string;
  /** The scenario's metadata.name. */
  scenario: string;
  /** Absolute path of the scenario folder. */
  scenarioDir: string;
  provider: "kind" | "kubeconfig";
  /** kind cluster name (`labrun-<lab>`) or, for the kubeconfig provider, the context's cluster. */
  cluster: string;
  /** Absolute path of the kubeconfig labrun and the learner use for this lab. */
  kubeconfig: string;
  /** The context to use in that kubeconfig. */
  context: string;
  /** ISO date-time. */
  createdAt: string;
  updatedAt?: string;
  status: LabStatus;
  /** Node names, when known. */
  nodes?: string[];
  /** Why the lab is `failed`. */
  error?: string;
  /** The labrun process creating the lab (while `creating`) or deleting it (while `deleting`), so `gc` leaves it alone. */
  pid?: number;
  /** Set when `--merge-kubeconfig` added the lab's context to another kubeconfig. */
  merged?: { file: string; context: string };
  /** The node image the cluster was created from. */
  nodeImage?: string;
  /** How the lab got its images: offline (side-loaded from the local Docker) or online (pulled by the nodes), why, and through which mirror. */
  images?: { mode: "online" | "offline"; reason: string; mirror?: string };
  /** Set when the cluster was claimed from the warm pool: its entry (pool/<id>) goes with the lab. */
  pool?: { id: string; shape: string };
  attempts: LabAttempt[];
  labrunVersion?: string;
}

/** A `start` or a `down` whose labrun still runs: left to finish (two `kind delete`s of one cluster race, and one fails). */
export function inFlight(r: LabRecord): boolean {
  return (r.status === "creating" || r.status === "deleting") && r.pid !== undefined && pidAlive(r.pid);
}

/** A `start` whose labrun died. */
export function startDied(r: LabRecord): boolean {
  return r.status === "creating" && r.pid !== undefined && !pidAlive(r.pid);
}

/** Garbage: a start that died, or a `down` that did not finish (its labrun gone, or an older labrun's record without a pid). */
export function abandoned(r: LabRecord): boolean {
  return startDied(r) || (r.status === "deleting" && !inFlight(r));
}

/** What `create` needs; the store fills in the rest. */
export type NewLab = Omit<LabRecord, "version" | "createdAt" | "attempts" | "status" | "kubeconfig"> &
  Partial<Pick<LabRecord, "createdAt" | "status" | "kubeconfig">>;

/** The slice of a report (runner/schema/report.ts) the store keeps per attempt. */
export interface GradedReport {
  attempt?: number;
  startedAt?: string;
  score: { points: number; maxPoints: number; percent: number; passed: boolean };
  [key: string]: unknown;
}

/** The state directory: $LABRUN_STATE_DIR, else $XDG_STATE_HOME/labrun, else ~/.local/state/labrun. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LABRUN_STATE_DIR) return path.resolve(env.LABRUN_STATE_DIR);
  if (env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME)) return path.join(env.XDG_STATE_HOME, "labrun");
  return path.join(env.HOME || homedir(), ".local", "state", "labrun");
}

export interface LabStoreOptions {
  /** The state directory (default: {@link stateDir}). */
  dir?: string;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for a lock before failing (default 15 s). */
  lockTimeoutMs?: number;
  /** A lock older than this is stale whatever its pid (default 2 min: labrun holds locks for milliseconds). */
  staleMs?: number;
  /** Is this pid alive? (injectable for tests) */
  isAlive?: (pid: number) => boolean;
  now?: () => Date;
}

export class LabStore {
  readonly dir: string;
  readonly #lockTimeoutMs: number;
  readonly #staleMs: number;
  readonly #isAlive: (pid: number) => boolean;
  readonly #now: () => Date;

  constructor(options: LabStoreOptions = {}) {
    this.dir = options.dir ? path.resolve(options.dir) : stateDir(options.env);
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 15_000;
    this.#staleMs = options.staleMs ?? 120_000;
    this.#isAlive = options.isAlive ?? pidAlive;
    this.#now = options.now ?? (() => new Date());
  }

  // ------------------------------------------------------------ paths

  labDir(name: string): string {
    validateLabName(name);
    return path.join(this.dir, "labs", name);
  }
  recordPath(name: string): string {
    return path.join(this.labDir(name), "lab.json");
  }
  /** Where the lab's own kubeconfig lives. */
  kubeconfigPath(name: string): string {
    return path.join(this.labDir(name), "kubeconfig");
  }
  reportsDir(name: string): string {
    return path.join(this.labDir(name), "reports");
  }
  reportPath(name: string, attempt: number): string {
    return path.join(this.reportsDir(name), `attempt-${attempt}.json`);
  }
  lockPath(name: string): string {
    validateLabName(name);
    return path.join(this.dir, "locks", `${name}.lock`);
  }

  // ------------------------------------------------------------ reads (no lock)

  /** The lab's record, or undefined when there is no such lab. */
  async get(name: string): Promise<LabRecord | undefined> {
    const file = this.recordPath(name); // a UsageError for an invalid name, before any I/O
    let text: string;
    try {
      text = await fs.readFile(file, "utf8");
    } catch (error) {
      if (isCode(error, "ENOENT")) return undefined;
      throw new InfraError(`failed to read lab "${name}"`, { cause: error, output: errorMessage(error) });
    }
    try {
      return JSON.parse(text) as LabRecord;
    } catch (error) {
      throw new InfraError(`lab "${name}" has a corrupt record ${this.recordPath(name)}`, {
        code: "LAB_RECORD_CORRUPT",
        cause: error,
        hint: `remove it with \`labrun down ${name}\` or delete ${this.labDir(name)}`,
      });
    }
  }

  /** Like {@link get}, but a missing lab is a NotFoundError naming the labs that exist. */
  async require(name: string): Promise<LabRecord> {
    const record = await this.get(name);
    if (record) return record;
    const names = (await this.list()).map((l) => l.name);
    throw new NotFoundError(`no lab named "${name}"`, {
      hint: names.length ? `labs: ${names.join(", ")} (see \`labrun status\`)` : "start one with `labrun start <scenario>`",
    });
  }

  /** All labs, sorted by creation time. Unreadable records are skipped. */
  async list(): Promise<LabRecord[]> {
    let names: string[];
    try {
      names = await fs.readdir(path.join(this.dir, "labs"));
    } catch (error) {
      if (isCode(error, "ENOENT")) return [];
      throw new InfraError(`failed to list labs in ${this.dir}`, { cause: error, output: errorMessage(error) });
    }
    const records: LabRecord[] = [];
    for (const name of names) {
      if (!isLabName(name)) continue;
      try {
        const record = await this.get(name);
        if (record) records.push(record);
      } catch {
        // a corrupt record must not hide the others
      }
    }
    return records.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.name.localeCompare(b.name));
  }

  // ------------------------------------------------------------ writes (locked)

  /** Create a lab record; fails with a UsageError when the lab exists. */
  async create(lab: NewLab): Promise<LabRecord> {
    validateLabName(lab.name);
    return this.withLock(lab.name, async () => {
      if (await this.get(lab.name)) {
        throw new UsageError(`lab "${lab.name}" already exists`, {
          hint: `run \`labrun down ${lab.name}\` first, or pick another name with \`--name\``,
        });
      }
      const now = this.#now().toISOString();
      const record: LabRecord = {
        version: LAB_RECORD_VERSION,
        ...lab,
        kubeconfig: lab.kubeconfig ?? this.kubeconfigPath(lab.name),
        createdAt: lab.createdAt ?? now,
        status: lab.status ?? "creating",
        attempts: [],
      };
      await fs.mkdir(this.labDir(lab.name), { recursive: true });
      try {
        await atomicWrite(this.recordPath(lab.name), JSON.stringify(record, null, 2) + "\n");
      } catch (error) {
        // A full or read-only state directory: no half-made lab directory left behind.
        await fs.rm(this.labDir(lab.name), { recursive: true, force: true }).catch(() => undefined);
        throw error;
      }
      return record;
    });
  }

  /**
   * Read-modify-write under the lab's lock. `fn` may mutate the record or
   * return a new one; the result is written atomically and returned.
   */
  async update(name: string, fn: (record: LabRecord) => LabRecord | void | Promise<LabRecord | void>): Promise<LabRecord> {
    return this.withLock(name, async () => {
      const current = await this.require(name);
      const next = (await fn(current)) ?? current;
      if (next.name !== name) throw new Error(`update must not rename lab "${name}"`);
      next.updatedAt = this.#now().toISOString();
      await atomicWrite(this.recordPath(name), JSON.stringify(next, null, 2) + "\n");
      return next;
    });
  }

  /** Remove a lab's record, kubeconfig and reports. Removing a missing lab is not an error. */
  async remove(name: string): Promise<boolean> {
    return this.withLock(name, async () => {
      const dir = this.labDir(name);
      const there = await exists(dir);
      // Rename first so a concurrent reader never sees a half-deleted lab.
      if (there) {
        const trash = path.join(this.dir, "labs", `.${name}.removing-${process.pid}-${randomBytes(4).toString("hex")}`);
        await fs.rename(dir, trash);
        await fs.rm(trash, { recursive: true, force: true });
      }
      return there;
    });
  }

  /**
   * Save a graded report as the lab's next attempt and return the attempt
   * number. The saved JSON carries that number in `attempt`.
   */
  async recordAttempt(name: string, report: GradedReport): Promise<number> {
    let attempt = 0;
    await this.update(name, async (record) => {
      attempt = record.attempts.reduce((max, a) => Math.max(max, a.attempt), 0) + 1;
      const reportFile = this.reportPath(name, attempt);
      await fs.mkdir(this.reportsDir(name), { recursive: true });
      await atomicWrite(reportFile, JSON.stringify({ ...report, attempt }, null, 2) + "\n");
      record.attempts.push({
        attempt,
        at: report.startedAt ?? this.#now().toISOString(),
        points: report.score.points,
        maxPoints: report.score.maxPoints,
        percent: report.score.percent,
        passed: report.score.passed,
        reportFile,
      });
    });
    return attempt;
  }

  /** The next attempt number (for display before the grade is recorded). */
  async nextAttempt(name: string): Promise<number> {
    const record = await this.require(name);
    return record.attempts.reduce((max, a) => Math.max(max, a.attempt), 0) + 1;
  }

  /**
   * Run `fn` holding the lab's exclusive lock (runner/util/file-lock.ts). A
   * lock whose holder is dead (same host, pid gone) or older than `staleMs`
   * is broken.
   */
  async withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const file = this.lockPath(name);
    try {
      return await withFileLock(file, this.#lockOptions(), fn);
    } catch (error) {
      throw this.#lockError(name, file, error);
    }
  }

  /** Take the lab's lock; resolves to a release function. */
  async lock(name: string): Promise<() => Promise<void>> {
    const file = this.lockPath(name);
    try {
      return await acquireLock(file, this.#lockOptions());
    } catch (error) {
      throw this.#lockError(name, file, error);
    }
  }

  #lockOptions(): FileLockOptions {
    return {
      timeoutMs: this.#lockTimeoutMs,
      now: this.#now,
      isStale: (holder, age) => {
        if (!holder) return age > 2_000; // being written, or garbage left by a crash
        if (holder.host === hostname() && !this.#isAlive(holder.pid)) return true;
        return age > this.#staleMs;
      },
    };
  }

  #lockError(name: string, file: string, error: unknown): unknown {
    if (error instanceof LockTimeoutError) {
      const holder = error.holder;
      return new InfraError(`lab "${name}" is locked${holder ? ` by process ${holder.pid} on ${holder.host} since ${holder.at}` : ""}`, {
        code: "LAB_LOCKED",
        hint: `wait for that labrun to finish; if no labrun is running, remove ${file}`,
      });
    }
    const unwritable = stateDirError(this.dir, error instanceof LockError ? error.cause : error);
    if (unwritable) return unwritable;
    if (error instanceof LockError) return new InfraError(`failed to lock lab "${name}"`, { cause: error.cause, output: errorMessage(error.cause) });
    return error;
  }
}


/** A lab by name, or the only lab when no name is given. */
export async function resolveLab(store: LabStore, name: string | undefined): Promise<LabRecord> {
  if (name) return store.require(name);
  const labs = await store.list();
  if (labs.length === 1) return labs[0]!;
  if (labs.length === 0) throw new NotFoundError("there is no lab", { hint: "start one with `labrun start <scenario>`" });
  throw new UsageError(`there are ${labs.length} labs: name one (${labs.map((l) => l.name).join(", ")})`);
}
