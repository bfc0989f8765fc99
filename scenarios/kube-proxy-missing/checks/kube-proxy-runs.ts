/**
 * kube-proxy runs: the DaemonSet kube-system/kube-proxy schedules a pod on
 * every node, and each node has a Ready pod of it.
 *
 * A podsReady check on the label k8s-app=kube-proxy counts any pod with that
 * label: a learner's nginx in kube-system labelled k8s-app=kube-proxy is Ready
 * while the DaemonSet still wants no pod anywhere. Here only pods the DaemonSet
 * made (its controller reference, by uid) count, and a labelled pod it did not
 * make is named.
 */
import type { ScriptCheckContext, ScriptCheckResult } from "labrun";

const NAMESPACE = "kube-system";
const NAME = "kube-proxy";

interface Obj {
  metadata: { name: string; uid?: string; deletionTimestamp?: string; ownerReferences?: { kind?: string; name?: string; uid?: string; controller?: boolean }[] };
  spec?: { nodeName?: string };
  status?: { phase?: string; desiredNumberScheduled?: number; numberReady?: number; conditions?: { type: string; status: string }[] };
}

export default async function (ctx: ScriptCheckContext): Promise<ScriptCheckResult> {
  const opts = { signal: ctx.signal };
  const label = `DaemonSet ${NAMESPACE}/${NAME}`;
  const ds = (await ctx.client.get({ apiVersion: "apps/v1", kind: "DaemonSet", name: NAME, namespace: NAMESPACE }, opts)) as unknown as Obj | undefined;
  if (!ds) return { ok: false, message: `${label} not found`, evidence: [{ label, expected: "exists", observed: "not found" }] };
  const nodes = ((await ctx.client.list("v1", "Node", opts)) as unknown as Obj[]).map((n) => n.metadata.name).sort();
  const pods = (await ctx.client.list("v1", "Pod", { namespace: NAMESPACE, labelSelector: "k8s-app=kube-proxy", signal: ctx.signal })) as unknown as Obj[];
  const desired = ds.status?.desiredNumberScheduled ?? 0;
  const evidence = [{ label: `${label}: pods it wants`, expected: `one per node (${nodes.length})`, observed: String(desired) }];
  const ours = (p: Obj) => (p.metadata.ownerReferences ?? []).some((r) => r.controller === true && r.kind === "DaemonSet" && r.name === NAME && r.uid === ds.metadata.uid);
  const ready = (p: Obj) => !p.metadata.deletionTimestamp && p.status?.phase === "Running" && (p.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
  const strangers = pods.filter((p) => !ours(p)).map((p) => p.metadata.name);
  for (const name of strangers) evidence.push({ label: `pod ${NAMESPACE}/${name}`, expected: `a pod of ${label}`, observed: "labelled k8s-app=kube-proxy, but not made by the DaemonSet: not kube-proxy" });
  const missing: string[] = [];
  for (const node of nodes) {
    const mine = pods.filter((p) => ours(p) && p.spec?.nodeName === node);
    const ok = mine.some(ready);
    evidence.push({ label: `node ${node}`, expected: `a Ready pod of ${label}`, observed: mine.length ? mine.map((p) => `${p.metadata.name} (${ready(p) ? "Ready" : (p.status?.phase ?? "?")})`).join(", ") : "none" });
    if (!ok) missing.push(node);
  }
  if (desired < nodes.length) {
    return { ok: false, message: `${label} wants ${desired} pod${desired === 1 ? "" : "s"} for ${nodes.length} node${nodes.length === 1 ? "" : "s"}${strangers.length ? ` (${strangers.join(", ")} carries its label, but the DaemonSet did not make it)` : ""}`, evidence };
  }
  if (missing.length) return { ok: false, message: `no Ready kube-proxy of ${label} on ${missing.join(", ")}`, evidence };
  return { ok: true, message: `${label} runs a Ready pod on each of ${nodes.length} node${nodes.length === 1 ? "" : "s"}`, evidence };
}
