/** `labrun down`: delete a lab's cluster (kind) and forget the lab. */
import path from "node:path";
import { InfraError, UsageError } from "../errors.ts";
import type { KindProvider } from "../providers/kind.ts";
import { defaultClientFactory, kindOf, type LifecycleOptions } from "./client.ts";
import { KubeconfigProvider } from "../providers/kubeconfig.ts";
import { stopProbesOfLab } from "./probes.ts";
import { safeListener, step } from "./events.ts";
import { unmergeContext } from "./kubeconfig-merge.ts";
import { clusterNameFor, validateLabName } from "./names.ts";
import { pidAlive } from "../util/files.ts";
import { PoolStore } from "./pool/store.ts";
import { LabStore } from "./state.ts";

export interface DownResult {
  name: string;
  /** Whether there was a lab record. */
  found: boolean;
  /** Whether a kind cluster was deleted. */
  clusterDeleted: boolean;
  /** The kubeconfig the lab's context was removed from. */
  unmerged?: string;
}

/** Deletes a lab's cluster (kind) and forgets the lab. Idempotent: a missing lab is not an error. */
export async function down(options: LifecycleOptions & { name: string }): Promise<DownResult> {
  const store = options.store ?? new LabStore({ env: options.env ?? process.env });
  const onEvent = safeListener(options.onEvent);
  validateLabName(options.name);
  // A corrupt record is removed like a lab: its cluster is found by labrun's mark on the nodes.
  let corrupt = false;
  const lab = await store.get(options.name).catch((error: unknown) => {
    if (!(error instanceof InfraError && error.code === "LAB_RECORD_CORRUPT")) throw error;
    corrupt = true;
    return undefined;
  });
  const kind = kindOf(options);
  const result: DownResult = { name: options.name, found: lab !== undefined || corrupt, clusterDeleted: false };
  // A kind lab (or one whose record is gone) needs Docker: a stopped or wedged engine is a clear error in seconds, the lab left as it was.
  if (!lab || lab.provider === "kind") await kind.ping(options.signal ? { signal: options.signal } : {});
  if (lab) {
    if (lab.status === "creating" && lab.pid && lab.pid !== process.pid && pidAlive(lab.pid)) {
      throw new UsageError(`lab "${lab.name}" is being created by process ${lab.pid}`, { hint: `interrupt that \`labrun start\` (Ctrl-C) and it cleans up; or wait and run \`labrun down ${lab.name}\` again` });
    }
    await store.update(lab.name, (r) => {
      r.status = "deleting";
      r.pid = process.pid; // a `gc` meanwhile (any state directory) leaves a cluster alone while its `down` is alive
    });
  }
  // A cluster labrun keeps: end the probe containers the lab's grades left holding (best effort).
  if (lab && lab.provider !== "kind" && lab.status !== "creating") {
    const provider = new KubeconfigProvider({ kubeconfigPath: lab.kubeconfig, context: lab.context });
    await stopProbesOfLab(lab, provider, { clientFactory: options.clientFactory ?? defaultClientFactory, ...(onEvent ? { onEvent } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  }
  // The cluster to delete: the record's, else the one a crashed start may have left (only if labrun marked it for this lab).
  const cluster = lab?.provider === "kind" ? lab.cluster : lab ? undefined : await orphanClusterOf(kind, store, options.name, options.signal);
  if (cluster) {
    const there = (await kind.containerIds(cluster, options.signal)).length > 0 || (await kind.list(options.signal ? { signal: options.signal } : {})).includes(cluster);
    if (there) {
      await step(onEvent, "down", `delete cluster ${cluster}`, () => kind.delete(cluster, { kubeconfigPath: lab?.kubeconfig ?? store.kubeconfigPath(options.name) }));
      result.clusterDeleted = true;
    }
  }
  if (lab?.pool) await new PoolStore(store.dir).remove(lab.pool.id); // the claimed cluster's pool entry goes with it
  if (lab?.merged) {
    const merged = lab.merged;
    if (await unmergeContext(merged.file, merged.context)) result.unmerged = merged.file;
  }
  if (lab || corrupt) await step(onEvent, "down", `forget lab ${options.name}`, () => store.remove(options.name));
  return result;
}

/** `labrun-<lab>` when its nodes carry this store's mark for that lab. */
async function orphanClusterOf(kind: KindProvider, store: LabStore, lab: string, signal?: AbortSignal): Promise<string | undefined> {
  const containers = await kind.nodeContainers(signal).catch(() => []);
  const markDir = path.join(store.labDir(lab), "mark");
  return containers.find((c) => c.cluster === clusterNameFor(lab) && c.mark === markDir)?.cluster;
}
