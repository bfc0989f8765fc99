/**
 * Deleting and re-creating objects the way `labrun test` needs to between
 * phases on a shared cluster (runner/lab/restore.ts) and the way attacks
 * rebuild pods (runner/lab/attacks/): strip what the API server owns from a
 * live object so it can be created again, delete at once and wait until it
 * is gone, re-create.
 */
import type { ClusterClient, KubeObject, ObjectRef } from "../cluster/client.ts";
import { abortError } from "../providers/kind.ts";
import { sleep } from "../util/sleep.ts";
import { isClusterScoped } from "./steps.ts";

/** The field manager of objects labrun test writes while restoring or attacking. */
export const RESTORE_FIELD_MANAGER = "labrun";
export const ATTACK_FIELD_MANAGER = "labrun-attack";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

export function refOf(o: KubeObject): ObjectRef {
  return { apiVersion: o.apiVersion, kind: o.kind, name: o.metadata.name, ...(o.metadata.namespace && !isClusterScoped(o.kind) ? { namespace: o.metadata.namespace } : {}) };
}

export function keyOf(o: { kind: string; metadata: { name: string; namespace?: string } }): string {
  return `${o.kind} ${o.metadata.namespace && !isClusterScoped(o.kind) ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;
}

/** The controller that owns an object, if any. */
export function controllerOf(o: KubeObject): { kind: string; name: string; uid: string } | undefined {
  return (o.metadata.ownerReferences as ({ kind: string; name: string; uid: string; controller?: boolean }[] | undefined))?.find((r) => r.controller === true);
}

/**
 * A live object as something to create again: no uid, resourceVersion,
 * timestamps, managed fields, owner references or status; a pod without its
 * node binding and ephemeral containers (they cannot be created), a service
 * without its allocated cluster IPs.
 */
export function forCreate(live: KubeObject): KubeObject {
  const o = structuredClone(live) as KubeObject & Obj;
  const keep = ["name", "namespace", "labels", "annotations"] as const;
  const metadata: KubeObject["metadata"] = { name: live.metadata.name };
  for (const k of keep) if (live.metadata[k] !== undefined) (metadata as Obj)[k] = structuredClone(live.metadata[k]);
  o.metadata = metadata;
  delete o.status;
  const spec = isObj(o.spec) ? o.spec : undefined;
  if (spec && live.kind === "Pod") {
    delete spec.nodeName;
    delete spec.ephemeralContainers;
  }
  if (spec && live.kind === "Service") {
    delete spec.clusterIP;
    delete spec.clusterIPs;
  }
  if (spec && live.kind === "Job") {
    // the API server generated these from the job's uid
    delete spec.selector;
    const template = isObj(spec.template) ? spec.template : undefined;
    const labels = isObj(template?.metadata) && isObj(template.metadata.labels) ? template.metadata.labels : undefined;
    if (labels) for (const k of Object.keys(labels)) if (k.includes("controller-uid") || k === "job-name" || k === "batch.kubernetes.io/job-name") delete labels[k];
  }
  return o;
}

/**
 * Deletes objects (pods at once, grace period 0) and waits until each is gone
 * (or replaced: same name, another uid). Resolves to the objects still there
 * at the deadline.
 */
export async function deleteAndWait(client: ClusterClient, objects: KubeObject[], options: { timeoutMs?: number; pollMs?: number; signal?: AbortSignal } = {}): Promise<KubeObject[]> {
  const signal = options.signal;
  for (const o of objects) {
    await client.delete(refOf(o), { ...(signal ? { signal } : {}), ...(o.kind === "Pod" ? { gracePeriodSeconds: 0 } : {}) });
  }
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  let left = objects;
  for (;;) {
    const still: KubeObject[] = [];
    for (const o of left) {
      const live = await client.get(refOf(o), signal ? { signal } : {});
      if (live && (!o.metadata.uid || live.metadata.uid === o.metadata.uid)) still.push(o);
    }
    left = still;
    if (left.length === 0 || Date.now() >= deadline) return left;
    await sleep(options.pollMs ?? 500, signal).catch(() => undefined);
    if (signal?.aborted) throw abortError(signal);
  }
}
