/**
 * The one file lock: an exclusive lock file, created with O_EXCL (`open
 * 'wx'`) the way kubectl and kind lock a kubeconfig (`<file>.lock`), so the
 * three never write one file at once. labrun writes its holder into the file
 * (pid, host, a token, the time); the release removes the file only while it
 * still holds that token.
 *
 * A lock left behind by a crash is broken only when the caller's `isStale`
 * says so (the lab store: its holder's pid is gone, or it is old); by default
 * nobody else's lock is ever broken, and the wait ends with LockTimeoutError.
 * Callers in one process queue in memory first, so only one of them polls.
 *
 * Why not the proper-lockfile package: its lock is a directory kept fresh by
 * a timer while held (kubectl and kind use a plain file, so only a file lock
 * keeps labrun, kubectl and kind off one kubeconfig at once), and it judges
 * staleness by age only, where labrun can tell a dead holder by its pid.
 * Breaking a stale lock is made atomic here with a second O_EXCL file (see
 * breakIfStale).
 */
import { randomBytes } from "node:crypto";
import { promises as fs, readFileSync, rmSync } from "node:fs";
import { hostname } from "node:os";
import path from "node:path";
import { isCode } from "./files.ts";
import { poll } from "./poll.ts";

export interface LockHolder {
  pid: number;
  host: string;
  token: string;
  at: string;
}

export interface FileLockOptions {
  /** How long to wait for the lock. */
  timeoutMs: number;
  /** May a lock found on disk be broken? `holder` is undefined for an empty or foreign lock file. Default: never. */
  isStale?: (holder: LockHolder | undefined, ageMs: number) => boolean;
  now?: () => Date;
}

/** The lock could not be taken: the file system failed (`cause`), or see LockTimeoutError. */
export class LockError extends Error {
  readonly file: string;
  constructor(file: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "LockError";
    this.file = file;
  }
}

/** The lock stayed taken for the whole wait. */
export class LockTimeoutError extends LockError {
  readonly holder: LockHolder | undefined;
  constructor(file: string, holder: LockHolder | undefined) {
    super(file, `${file} is locked${holder ? ` by process ${holder.pid} on ${holder.host} since ${holder.at}` : ""}`);
    this.name = "LockTimeoutError";
    this.holder = holder;
  }
}

/** Per lock file: the tail of the queue of this process's callers. */
const inProcess = new Map<string, Promise<void>>();

/** Runs `fn` holding the lock `file`. */
export async function withFileLock<T>(file: string, options: FileLockOptions, fn: () => Promise<T>): Promise<T> {
  const key = path.resolve(file);
  const before = inProcess.get(key) ?? Promise.resolve();
  let done!: () => void;
  const mine = new Promise<void>((resolve) => (done = resolve));
  const tail = before.then(() => mine);
  inProcess.set(key, tail);
  await before;
  try {
    const release = await acquireLock(file, options);
    try {
      return await fn();
    } finally {
      await release();
    }
  } finally {
    done();
    if (inProcess.get(key) === tail) inProcess.delete(key);
  }
}

/** Takes the lock `file` (waiting with a short backoff); resolves to its release. */
export async function acquireLock(file: string, options: FileLockOptions): Promise<() => Promise<void>> {
  const now = options.now ?? (() => new Date());
  await fs.mkdir(path.dirname(file), { recursive: true }).catch((error: unknown) => {
    throw new LockError(file, `cannot lock ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  });
  const info: LockHolder = { pid: process.pid, host: hostname(), token: randomBytes(8).toString("hex"), at: now().toISOString() };
  // A stale lock is moved aside and the lock tried again at once.
  const attempt = async () => ((await create(file, info)) || (options.isStale && (await breakIfStale(file, options.isStale, now)) && (await create(file, info))) ? true : undefined);
  let taken: true | undefined;
  try {
    taken = await poll(attempt, { timeoutMs: options.timeoutMs, intervalMs: (n) => Math.min(5 * 2 ** (n - 1), 100) });
  } catch (error) {
    throw new LockError(file, `cannot lock ${file}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  if (!taken) throw new LockTimeoutError(file, await readHolder(file));
  held.set(file, info.token);
  return async () => {
    held.delete(file);
    // Only remove our own lock (it may have been broken as stale and re-taken).
    const holder = await readHolder(file);
    if (holder?.token === info.token) await fs.rm(file, { force: true });
  };
}

/** The locks this process holds: file → token. */
const held = new Map<string, string>();

/**
 * Releases every lock this process holds, synchronously: for an exit that
 * cannot wait for the holders' `finally` (a second Ctrl-C). Never leaves
 * kubectl a `<kubeconfig>.lock`. Returns the files released.
 */
export function releaseHeldLocksSync(): string[] {
  const released: string[] = [];
  for (const [file, token] of held) {
    try {
      const holder = JSON.parse(readFileSync(file, "utf8")) as Partial<LockHolder>;
      if (holder.token === token) {
        rmSync(file, { force: true });
        released.push(file);
      }
    } catch {
      // gone already, or not ours any more
    }
  }
  held.clear();
  return released;
}

/** Creates the lock file with our holder; false when it exists. */
async function create(file: string, info: LockHolder): Promise<boolean> {
  let handle;
  try {
    handle = await fs.open(file, "wx");
  } catch (error) {
    if (isCode(error, "EEXIST")) return false;
    throw error;
  }
  try {
    try {
      await handle.writeFile(JSON.stringify(info));
    } finally {
      await handle.close();
    }
  } catch (error) {
    await fs.rm(file, { force: true }).catch(() => undefined); // a full disk: no empty lock file left behind
    throw error;
  }
  return true;
}

/** How old a breaker lock (`<file>.break`, held for milliseconds while a stale lock is removed) must be to be left by a crash. */
export const BREAKER_STALE_MS = 10_000;

/**
 * Removes a stale lock; true when one was removed (or vanished meanwhile).
 *
 * Atomic against other breakers: the removal happens only while holding a
 * second O_EXCL lock, `<file>.break`, and only when the file still holds the
 * very holder (token) judged stale. Two processes that both judged the lock
 * stale cannot both remove it: the second finds it gone, or someone else's
 * fresh lock, and leaves it; taking the lock is then again one O_EXCL create,
 * which only one of them wins.
 */
async function breakIfStale(file: string, isStale: NonNullable<FileLockOptions["isStale"]>, now: () => Date): Promise<boolean> {
  let stat;
  try {
    stat = await fs.stat(file);
  } catch (error) {
    if (isCode(error, "ENOENT")) return true;
    throw error;
  }
  const holder = await readHolder(file);
  if (!isStale(holder, now().getTime() - stat.mtimeMs)) return false;
  const breaker = `${file}.break`;
  const me: LockHolder = { pid: process.pid, host: hostname(), token: randomBytes(8).toString("hex"), at: now().toISOString() };
  if (!(await create(breaker, me))) {
    // Another process is breaking it right now; a breaker left by a crash is old.
    const age = await fs.stat(breaker).then((s) => now().getTime() - s.mtimeMs, () => 0);
    if (age > BREAKER_STALE_MS) await fs.rm(breaker, { force: true });
    return false;
  }
  try {
    const current = await readHolder(file);
    const same = holder ? current?.token === holder.token : current === undefined && (await fs.stat(file).then((s) => s.mtimeMs === stat.mtimeMs, () => false));
    if (same) await fs.rm(file, { force: true });
    return true;
  } finally {
    await fs.rm(breaker, { force: true });
  }
}

export async function readHolder(file: string): Promise<LockHolder | undefined> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, "utf8")) as Partial<LockHolder>;
    if (typeof parsed.pid === "number" && typeof parsed.token === "string") return parsed as LockHolder;
  } catch {
    // missing, empty (being written), foreign or garbage
  }
  return undefined;
}
