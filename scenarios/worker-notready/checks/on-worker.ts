/**
 * The report generator runs where it belongs: at least one of its pods is
 * Running and Ready, not terminating, on a Ready node that is not a control
 * plane. podsReady alone would also pass for a pod moved to the control plane.
 */
import type { ScriptCheckContext, ScriptCheckResult } from "labrun";

interface Cond {
  type: string;
  status: string;
}
interface PodLike {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec?: { nodeName?: string };
  status?: { phase?: string; conditions?: Cond[] };
}

const NAMESPACE = "reports";
const SELECTOR = "app=report-generator";

function ready(conditions: Cond[] | undefined): boolean {
  return (conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
}

export default async function (ctx: ScriptCheckContext): Promise<ScriptCheckResult> {
  const nodes = (await ctx.client.list("v1", "Node", { signal: ctx.signal })) as unknown as (PodLike & { metadata: { labels?: Record<string, string> } })[];
  const pods = (await ctx.client.list("v1", "Pod", { namespace: NAMESPACE, labelSelector: SELECTOR, signal: ctx.signal })) as unknown as PodLike[];
  const nodeState = new Map<string, { worker: boolean; ready: boolean }>();
  for (const n of nodes) {
    const labels = n.metadata.labels ?? {};
    const controlPlane = "node-role.kubernetes.io/control-plane" in labels || /-control-plane\d*$/.test(n.metadata.name);
    nodeState.set(n.metadata.name, { worker: !controlPlane, ready: ready(n.status?.conditions) });
  }
  const evidence = pods.map((p) => {
    const node = p.spec?.nodeName;
    const where = node ? nodeState.get(node) : undefined;
    const state = p.metadata.deletionTimestamp ? "Terminating" : `${p.status?.phase ?? "Unknown"}${ready(p.status?.conditions) ? ", Ready" : ", not Ready"}`;
    const place = !node ? "not scheduled" : !where ? `on ${node} (no such node)` : `on ${where.worker ? "worker" : "control-plane"} node ${node} (${where.ready ? "Ready" : "NotReady"})`;
    return { label: `pod ${NAMESPACE}/${p.metadata.name}`, expected: "Running, Ready, on a Ready worker node", observed: `${state}, ${place}` };
  });
  const good = pods.filter((p) => {
    const where = p.spec?.nodeName ? nodeState.get(p.spec.nodeName) : undefined;
    return !p.metadata.deletionTimestamp && p.status?.phase === "Running" && ready(p.status?.conditions) && where?.worker === true && where.ready;
  });
  if (good.length > 0) return { ok: true, message: `${good.map((p) => p.metadata.name).join(", ")} runs on a Ready worker node`, evidence };
  if (pods.length === 0) {
    return { ok: false, message: `no pod with ${SELECTOR} in ${NAMESPACE}`, evidence: [{ label: `pods ${SELECTOR}`, expected: "at least one", observed: "none" }] };
  }
  return { ok: false, message: `no ${SELECTOR} pod is Running and Ready on a Ready worker node`, evidence };
}
