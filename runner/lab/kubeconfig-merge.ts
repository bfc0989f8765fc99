/**
 * `labrun start --merge-kubeconfig`: copy a lab's context into the learner's
 * kubeconfig (under its own names, `labrun-<lab>`), and take it out again on
 * `labrun down`. Writes are atomic and take `<file>.lock` the way kind and
 * kubectl do (runner/util/file-lock.ts), so a concurrent kind or kubectl
 * never sees half a file.
 *
 * The lab's own kubeconfig is read through client-node's KubeConfig. The
 * learner's file is edited as YAML on purpose: KubeConfig keeps only the
 * fields it models (no `preferences`, no `extensions`), and writing it back
 * would drop the rest of someone's ~/.kube/config.
 */
import { promises as fs } from "node:fs";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { InfraError, UsageError } from "../errors.ts";
import { contextEntries, parseKubeConfig } from "../cluster/kubeconfig.ts";
import { LockTimeoutError, withFileLock } from "../util/file-lock.ts";
import { atomicWrite } from "../util/files.ts";

interface Entry {
  name: string;
  [key: string]: unknown;
}
interface Kubeconfig {
  apiVersion?: string;
  kind?: string;
  clusters?: Entry[];
  users?: Entry[];
  contexts?: (Entry & { context?: { cluster?: string; user?: string; namespace?: string } })[];
  "current-context"?: string;
  preferences?: unknown;
  [key: string]: unknown;
}

/** Reads a kubeconfig to merge into; a missing file is an empty one. Call it before any work to fail early on a broken file. */
export async function readKubeconfig(file: string): Promise<Kubeconfig> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (error) {
    if ((error as { code?: string }).code === "ENOENT") return { apiVersion: "v1", kind: "Config", clusters: [], users: [], contexts: [], preferences: {} };
    throw new InfraError(`cannot read ${file}`, { cause: error });
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw new UsageError(`${file} is not valid YAML: ${(error as Error).message.split("\n")[0]}`, { hint: "fix or move it, then merge again" });
  }
  if (data === null || data === undefined) return { apiVersion: "v1", kind: "Config", clusters: [], users: [], contexts: [] };
  if (typeof data !== "object" || Array.isArray(data)) throw new UsageError(`${file} is not a kubeconfig`, { hint: "fix or move it, then merge again" });
  return data as Kubeconfig;
}

function withKubeconfigLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const lock = `${file}.lock`;
  return withFileLock(lock, { timeoutMs: 10_000 }, fn).catch((error: unknown) => {
    if (error instanceof LockTimeoutError) throw new InfraError(`${file} is locked (${lock} exists)`, { hint: `if no kubectl or kind is running, remove ${lock}` });
    throw error;
  });
}

/**
 * Adds the current context of `source` to `target` as cluster, user and
 * context `name`, replacing entries of that name. The target's
 * current-context is set only when it has none.
 */
export async function mergeContext(source: string, target: string, name: string): Promise<void> {
  let text: string;
  try {
    text = await fs.readFile(source, "utf8");
  } catch (error) {
    throw new InfraError(`cannot read ${source}`, { cause: error });
  }
  const src = parseKubeConfig(text, source);
  const entries = contextEntries(src, src.getCurrentContext() || src.getContexts()[0]?.name);
  if (!entries) throw new InfraError(`${source} has no complete context to merge`);
  const { context: ctx, cluster, user } = entries;
  await withKubeconfigLock(target, async () => {
    const dst = await readKubeconfig(target);
    dst.clusters = [...(dst.clusters ?? []).filter((c) => c.name !== name), { ...cluster, name }];
    dst.users = [...(dst.users ?? []).filter((u) => u.name !== name), { ...user, name }];
    dst.contexts = [...(dst.contexts ?? []).filter((c) => c.name !== name), { name, context: { ...ctx.context, cluster: name, user: name } }];
    if (!dst["current-context"]) dst["current-context"] = name;
    await atomicWrite(target, toYaml(dst));
  });
}

/** Removes cluster, user and context `name` from `target`; a missing file or entry is fine. */
export async function unmergeContext(target: string, name: string): Promise<boolean> {
  try {
    await fs.stat(target);
  } catch {
    return false;
  }
  return withKubeconfigLock(target, async () => {
    const dst = await readKubeconfig(target);
    const before = JSON.stringify(dst);
    dst.clusters = (dst.clusters ?? []).filter((c) => c.name !== name);
    dst.users = (dst.users ?? []).filter((u) => u.name !== name);
    dst.contexts = (dst.contexts ?? []).filter((c) => c.name !== name);
    if (dst["current-context"] === name) dst["current-context"] = "";
    if (JSON.stringify(dst) === before) return false;
    await atomicWrite(target, toYaml(dst));
    return true;
  });
}
