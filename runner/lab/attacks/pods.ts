/**
 * Rebuilding a pod with a change, as a learner would: a bare pod is deleted
 * and created again from its live spec (`kubectl get pod -o yaml`, edit,
 * `kubectl replace --force`); a pod a controller owns gets the change in the
 * controller's pod template (`kubectl edit deployment`), which rolls it out.
 */
import type { KubeObject } from "../../cluster/client.ts";
import { digestCluster } from "../../../checks/settle.ts";
import { abortError } from "../../providers/kind.ts";
import { sleep } from "../../util/sleep.ts";
import { ATTACK_FIELD_MANAGER, controllerOf, deleteAndWait, forCreate, keyOf } from "../recreate.ts";
import { AttackError, type AttackContext } from "./types.ts";

export type PodSpec = Record<string, unknown> & { containers: Record<string, unknown>[] };

const TEMPLATE_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"]);

/**
 * Rebuilds `pod` with `mutate` applied to its spec. Resolves once the
 * replacement runs, or once it has settled without running (a pod that
 * cannot run in the broken state stays Pending: that is part of the state
 * the checks are graded on).
 */
export async function rebuildPod(ctx: AttackContext, pod: KubeObject, mutate: (spec: PodSpec) => void): Promise<string> {
  const ns = pod.metadata.namespace ?? "default";
  const opts = ctx.signal ? { signal: ctx.signal } : {};
  const owner = await topController(ctx, pod);
  if (owner) {
    const desired = forCreate(owner);
    const template = (desired.spec as { template?: { spec?: PodSpec } } | undefined)?.template;
    if (!template?.spec) throw new AttackError(`${keyOf(owner)} has no pod template`);
    mutate(template.spec);
    await ctx.client.apply(desired, { fieldManager: ATTACK_FIELD_MANAGER, force: true, ...opts });
    await waitSettled(ctx, ns, new Set([pod.metadata.uid ?? ""]));
    return `${keyOf(owner)}'s pod template`;
  }
  const desired = forCreate(pod);
  mutate(desired.spec as PodSpec);
  const left = await deleteAndWait(ctx.client, [pod], { ...opts, timeoutMs: 60_000 });
  if (left.length) throw new AttackError(`pod ${ns}/${pod.metadata.name} was not deleted within 60s`);
  await ctx.client.apply(desired, { fieldManager: ATTACK_FIELD_MANAGER, force: true, ...opts });
  await waitSettled(ctx, ns, new Set());
  return `pod ${ns}/${pod.metadata.name}`;
}

/** The workload whose template makes this pod (a ReplicaSet's Deployment), if any. */
async function topController(ctx: AttackContext, pod: KubeObject): Promise<KubeObject | undefined> {
  const ns = pod.metadata.namespace ?? "default";
  let ref = controllerOf(pod);
  let found: KubeObject | undefined;
  for (let depth = 0; ref && depth < 3; depth++) {
    if (!TEMPLATE_KINDS.has(ref.kind)) break;
    const object = await ctx.client.get({ apiVersion: "apps/v1", kind: ref.kind, name: ref.name, namespace: ns }, ctx.signal ? { signal: ctx.signal } : {});
    if (!object) break;
    found = object;
    ref = controllerOf(object);
  }
  return found;
}

/** Waits until no pod of the namespace is in transition and the replaced pods are gone (bounded). */
async function waitSettled(ctx: AttackContext, namespace: string, gone: Set<string>): Promise<void> {
  const deadline = Date.now() + (ctx.podTimeoutMs ?? 60_000);
  for (;;) {
    const pods = await ctx.client.list("v1", "Pod", { namespace, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    const converging = digestCluster({ Pod: pods }, { now: Date.now(), recentMs: 0 }).converging;
    if (converging.length === 0 && !pods.some((p) => gone.has(p.metadata.uid ?? ""))) return;
    if (Date.now() >= deadline) {
      ctx.log(`pods in ${namespace} still in transition after ${Math.round((ctx.podTimeoutMs ?? 60_000) / 1000)}s: ${converging.slice(0, 3).join("; ")}`);
      return;
    }
    await sleep(500, ctx.signal).catch(() => undefined);
    if (ctx.signal?.aborted) throw abortError(ctx.signal);
  }
}

/** The first container (the one a check's probe shares the network with, and the one an image swap replaces). */
export function mainContainer(spec: PodSpec): Record<string, unknown> {
  const c = spec.containers[0];
  if (!c) throw new AttackError("the pod has no containers");
  return c;
}

/** The pod's spec, read-only view. */
export function specOf(pod: KubeObject): PodSpec {
  return (pod.spec ?? { containers: [] }) as PodSpec;
}
