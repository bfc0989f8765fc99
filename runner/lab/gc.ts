/** `labrun gc`: remove what labs left behind. */
import { promises as fs } from "node:fs";
import path from "node:path";
import { kindOf, type LifecycleOptions } from "./client.ts";
import { safeListener, step } from "./events.ts";
import { unmergeContext } from "./kubeconfig-merge.ts";
import { CLUSTER_PREFIX } from "./names.ts";
import { exists, pidAlive } from "../util/files.ts";
import { sleep } from "../util/sleep.ts";
import type { KindCreator, KindProvider } from "../providers/kind.ts";
import { PoolStore, readEntry } from "./pool/store.ts";
import { abandoned, inFlight, LabStore, startDied, type LabRecord } from "./state.ts";

export interface GcResult {
  /** Clusters labrun created whose lab is gone (or whose start died): deleted (or, with dryRun, to delete). */
  clusters: string[];
  /** Lab records whose cluster is gone: removed (or to remove). */
  labs: string[];
  /** Hosts outside a cluster (`spec.outside`) whose cluster is gone: removed (or to remove). */
  outside: string[];
  /** `labrun-*` clusters left alone, with the reason. */
  kept: { cluster: string; reason: string }[];
  /** Warm pool entries forgotten because their cluster is gone (or removed with their cluster). */
  pool: string[];
  /** `kind create` processes whose labrun died (SIGKILL, a second Ctrl-C): stopped (or, with dryRun, to stop), by cluster. */
  creators: string[];
}

/**
 * Removes clusters labrun created whose lab is gone, and lab records whose
 * cluster is gone. A cluster counts as labrun's only when its nodes carry
 * labrun's mark (a mount of the lab's directory); clusters without it are
 * never touched.
 */
export async function gc(options: LifecycleOptions & { dryRun?: boolean; settleMs?: number }): Promise<GcResult> {
  const store = options.store ?? new LabStore({ env: options.env ?? process.env });
  const kind = kindOf(options);
  const onEvent = safeListener(options.onEvent);
  const result: GcResult = { clusters: [], labs: [], outside: [], kept: [], pool: [], creators: [] };
  const pool = new PoolStore(store.dir);
  await kind.ping(options.signal ? { signal: options.signal } : {}); // a wedged Docker is a clear error in seconds, not a hang
  // First the creators whose labrun died: a `kind create` left running would race the deletes below and
  // start node containers after them. Then a moment for `docker run`s the engine had already accepted.
  const orphans = await orphanCreators(kind, store.dir);
  for (const creator of orphans) {
    result.creators.push(creator.cluster);
    if (!options.dryRun) await step(onEvent, "gc", `stop the orphaned \`kind create\` of ${creator.cluster} (pid ${creator.pid})`, () => kind.stopCreator(creator));
  }
  if (orphans.length && !options.dryRun) await sleep(Math.min(options.settleMs ?? 2_000, 2_000));
  const containers = await kind.nodeContainers(options.signal);
  const labs = await store.list();

  const clusters = new Map<string, string | undefined>();
  for (const c of containers) if (!clusters.has(c.cluster) || c.mark) clusters.set(c.cluster, c.mark ?? clusters.get(c.cluster));
  for (const [cluster, mark] of [...clusters].sort(([a], [b]) => a.localeCompare(b))) {
    if (!mark) {
      if (cluster.startsWith(CLUSTER_PREFIX)) result.kept.push({ cluster, reason: "not marked as labrun's" });
      continue;
    }
    const labDir = path.dirname(mark);
    const pooled = path.basename(path.dirname(labDir)) === "pool";
    if (pooled ? await poolClusterKept(labDir, cluster) : await labClusterKept(labDir, cluster)) continue;
    result.clusters.push(cluster);
    if (!options.dryRun) {
      // Hand kind the lab's kubeconfig only if the lab's directory is still there (kind would recreate it for its lock file).
      const kubeconfigPath = (await exists(labDir)) ? path.join(labDir, "kubeconfig") : undefined;
      await step(onEvent, "gc", `delete cluster ${cluster}`, () => kind.delete(cluster, kubeconfigPath ? { kubeconfigPath } : {}));
      if (pooled) await fs.rm(labDir, { recursive: true, force: true });
    }
    if (pooled) result.pool.push(path.basename(labDir));
  }

  // The engine may still finish a `docker run` the stopped creator had sent (slowly, on a loaded host): sweep the
  // cluster's containers until none has turned up for three looks in a row, within settleMs (default 15 s).
  // The same for a start that died after its kind was stopped (a second Ctrl-C): its `docker run`s may land late too.
  const died = labs.filter((l) => l.provider === "kind" && startDied(l)).map((l) => l.cluster);
  if (!options.dryRun) for (const cluster of new Set([...orphans.map((o) => o.cluster), ...died])) await settleSweep(kind, cluster, options.settleMs ?? 15_000, options.signal);

  // Pool entries whose cluster is gone, unless a live process is warming or claiming them.
  for (const entry of await pool.list()) {
    if (clusters.has(entry.cluster) || (entry.pid !== undefined && pidAlive(entry.pid))) continue;
    result.pool.push(entry.id);
    if (!options.dryRun) await pool.remove(entry.id);
  }

  // Outside hosts whose cluster has no node left (a delete that died between kind and the sweep). The hosts are
  // listed first and the nodes again after: a start makes its cluster before its outside hosts, so a cluster
  // created while this gc ran (another labrun's) is seen with its nodes and left alone.
  const outside = await kind.outsideHosts(undefined, options.signal ? { signal: options.signal } : {});
  const strays = outside.filter((h) => !clusters.has(h.cluster));
  const withNodes = strays.length ? new Set((await kind.nodeContainers(options.signal)).map((c) => c.cluster)) : new Set<string>();
  for (const cluster of [...new Set(strays.filter((h) => !withNodes.has(h.cluster)).map((h) => h.cluster))].sort()) {
    result.outside.push(...outside.filter((h) => h.cluster === cluster).map((h) => h.container));
    if (!options.dryRun) await step(onEvent, "gc", `remove the outside hosts of ${cluster}`, () => kind.sweep(cluster, options.signal));
  }

  for (const lab of labs) {
    if (lab.provider !== "kind") continue;
    if (inFlight(lab)) continue; // being created or deleted right now
    // A start that died, or a `down` that could not finish (Docker stopped, labrun killed), is garbage, cluster and all (deleted above).
    if (clusters.has(lab.cluster) && !abandoned(lab)) continue;
    result.labs.push(lab.name);
    if (!options.dryRun) {
      await step(onEvent, "gc", `forget lab ${lab.name} (${startDied(lab) ? "its start died" : lab.status === "deleting" ? "its `down` did not finish" : "its cluster is gone"})`, async () => {
        if (lab.merged) await unmergeContext(lab.merged.file, lab.merged.context);
        await store.remove(lab.name);
      });
    }
  }
  return result;
}

/** Sweeps a cluster's node containers once a second until three looks in a row find none, for at most `ms`. */
async function settleSweep(kind: KindProvider, cluster: string, ms: number, signal?: AbortSignal): Promise<void> {
  let quiet = 0;
  for (let waited = 0; waited < ms && quiet < 3; waited += 1_000) {
    await sleep(1_000, signal);
    quiet = (await kind.sweep(cluster, signal)).length === 0 ? quiet + 1 : 0;
  }
}

/**
 * The `kind create`s of this state directory (their `--kubeconfig` is a lab's
 * or a pool entry's file here) whose labrun is gone: the lab or entry is gone,
 * or it records a start or warm-up whose process is dead.
 */
async function orphanCreators(kind: KindProvider, stateDir: string): Promise<KindCreator[]> {
  const orphans: KindCreator[] = [];
  for (const creator of await kind.creators()) {
    if (!creator.kubeconfig || path.basename(creator.kubeconfig) !== "kubeconfig") continue;
    const ownerDir = path.dirname(path.resolve(creator.kubeconfig));
    const area = path.dirname(ownerDir);
    if (path.dirname(area) !== stateDir) continue; // another state directory's, or not labrun's
    if (path.basename(area) === "labs") {
      const record = await readRecord(path.join(ownerDir, "lab.json"));
      const live = record?.cluster === creator.cluster && record.pid !== undefined && pidAlive(record.pid);
      if (!live) orphans.push(creator);
    } else if (path.basename(area) === "pool") {
      const entry = await readEntry(path.join(ownerDir, "entry.json"));
      const live = entry?.cluster === creator.cluster && entry.pid !== undefined && pidAlive(entry.pid);
      if (!live) orphans.push(creator);
    }
  }
  return orphans;
}

/** A lab's cluster stays while its lab exists (here or in another state directory), unless that lab is a start that died. */
async function labClusterKept(labDir: string, cluster: string): Promise<boolean> {
  const record = await readRecord(path.join(labDir, "lab.json"));
  return record !== undefined && record.cluster === cluster && !abandoned(record);
}

/**
 * A pool cluster stays while it is ready, while a live process warms, claims
 * or drains it, and once claimed while the lab that claimed it owns it.
 */
async function poolClusterKept(entryDir: string, cluster: string): Promise<boolean> {
  const entry = await readEntry(path.join(entryDir, "entry.json"));
  if (!entry || entry.cluster !== cluster) return false;
  if (entry.state === "ready") return true;
  if (entry.pid !== undefined && pidAlive(entry.pid)) return true;
  if (entry.state !== "claimed" || !entry.claimedBy) return false;
  return labClusterKept(path.join(path.dirname(path.dirname(entryDir)), "labs", entry.claimedBy), cluster);
}

async function readRecord(file: string): Promise<LabRecord | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, "utf8")) as LabRecord;
  } catch {
    return undefined;
  }
}
