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

/** kubeadm's kube-proxy container (cmd/kubeadm/app/phases/addons/proxy/manifests.go). */
const KUBE_PROXY_IMAGE = /^registry\.k8s\.io\/kube-proxy(-[a-z0-9]+)?:v\d+\.\d+\.\d+([-+.][0-9A-Za-z.-]+)?$/;
const KUBE_PROXY_COMMAND = ["/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf", "--hostname-override=$(NODE_NAME)"];
/** The labels the kubelet sets from its GOOS and GOARCH, and where it reports the same values. */
const KUBELET_LABELS = [
  { label: "kubernetes.io/os", info: "operatingSystem" },
  { label: "kubernetes.io/arch", info: "architecture" },
] as const;

interface Obj {
  metadata: { name: string; uid?: string; labels?: Record<string, string>; deletionTimestamp?: string; ownerReferences?: { kind?: string; name?: string; uid?: string; controller?: boolean }[] };
  spec?: { nodeName?: string; containers?: { name?: string; image?: string; command?: string[]; args?: string[] }[] };
  status?: {
    phase?: string;
    desiredNumberScheduled?: number;
    numberReady?: number;
    conditions?: { type: string; status: string }[];
    nodeInfo?: { operatingSystem?: string; architecture?: string };
  };
}

/** Why a node's kubelet-set labels are not the kubelet's (empty: they are). */
export function relabelled(node: Obj): string[] {
  const out: string[] = [];
  for (const { label, info } of KUBELET_LABELS) {
    const value = node.metadata.labels?.[label];
    const reported = node.status?.nodeInfo?.[info];
    // GOOS and GOARCH values are lower-case words; the kubelet writes the same value to the label and to nodeInfo.
    if (value === undefined || !/^[a-z0-9]+$/.test(value) || (reported !== undefined && value !== reported)) {
      out.push(`${label}=${value ?? "(none)"}, but its kubelet labels it ${reported ?? "with its own value"} (status.nodeInfo.${info})`);
    }
  }
  return out;
}

/** Why a pod of the DaemonSet does not run kube-proxy as kubeadm deploys it (undefined: it does). */
export function notKubeProxy(pod: Obj): string | undefined {
  const containers = pod.spec?.containers ?? [];
  const c = containers.find((x) => x.name === "kube-proxy") ?? containers[0];
  const command = [...(c?.command ?? []), ...(c?.args ?? [])];
  if (!c || !KUBE_PROXY_IMAGE.test(c.image ?? "")) return `it runs image ${c?.image ?? "(none)"}, not kube-proxy's (registry.k8s.io/kube-proxy)`;
  if (JSON.stringify(command) !== JSON.stringify(KUBE_PROXY_COMMAND)) return `it starts ${JSON.stringify(command.join(" ") || "(the image's default)")}, not kubeadm's "${KUBE_PROXY_COMMAND.join(" ")}"`;
  return undefined;
}

export default async function (ctx: ScriptCheckContext): Promise<ScriptCheckResult> {
  const opts = { signal: ctx.signal };
  const label = `DaemonSet ${NAMESPACE}/${NAME}`;
  const ds = (await ctx.client.get({ apiVersion: "apps/v1", kind: "DaemonSet", name: NAME, namespace: NAMESPACE }, opts)) as unknown as Obj | undefined;
  if (!ds) return { ok: false, message: `${label} not found`, evidence: [{ label, expected: "exists", observed: "not found" }] };
  const nodeObjects = (await ctx.client.list("v1", "Node", opts)) as unknown as Obj[];
  const nodes = nodeObjects.map((n) => n.metadata.name).sort();
  const pods = (await ctx.client.list("v1", "Pod", { namespace: NAMESPACE, labelSelector: "k8s-app=kube-proxy", signal: ctx.signal })) as unknown as Obj[];
  const desired = ds.status?.desiredNumberScheduled ?? 0;
  const evidence = [{ label: `${label}: pods it wants`, expected: `one per node (${nodes.length})`, observed: String(desired) }];
  const ours = (p: Obj) => (p.metadata.ownerReferences ?? []).some((r) => r.controller === true && r.kind === "DaemonSet" && r.name === NAME && r.uid === ds.metadata.uid);
  const ready = (p: Obj) => !p.metadata.deletionTimestamp && p.status?.phase === "Running" && (p.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
  const strangers = pods.filter((p) => !ours(p)).map((p) => p.metadata.name);
  for (const name of strangers) evidence.push({ label: `pod ${NAMESPACE}/${name}`, expected: `a pod of ${label}`, observed: "labelled k8s-app=kube-proxy, but not made by the DaemonSet: not kube-proxy" });
  const relabels = nodeObjects.flatMap((n) => relabelled(n).map((why) => ({ node: n.metadata.name, why })));
  for (const r of relabels) evidence.push({ label: `node ${r.node}: labels`, expected: "the labels its kubelet sets (kubernetes.io/os, kubernetes.io/arch)", observed: r.why });
  const missing: string[] = [];
  const impostors: string[] = [];
  for (const node of nodes) {
    const mine = pods.filter((p) => ours(p) && p.spec?.nodeName === node);
    const ok = mine.some((p) => ready(p) && !notKubeProxy(p));
    const describe = (p: Obj) => `${p.metadata.name} (${ready(p) ? "Ready" : (p.status?.phase ?? "?")}${notKubeProxy(p) ? `; ${notKubeProxy(p)!}` : ""})`;
    evidence.push({ label: `node ${node}`, expected: `a Ready pod of ${label} running kube-proxy`, observed: mine.length ? mine.map(describe).join(", ") : "none" });
    for (const p of mine) if (notKubeProxy(p)) impostors.push(`${p.metadata.name}: ${notKubeProxy(p)!}`);
    if (!ok) missing.push(node);
  }
  if (desired < nodes.length) {
    return { ok: false, message: `${label} wants ${desired} pod${desired === 1 ? "" : "s"} for ${nodes.length} node${nodes.length === 1 ? "" : "s"}${strangers.length ? ` (${strangers.join(", ")} carries its label, but the DaemonSet did not make it)` : ""}`, evidence };
  }
  if (relabels.length) {
    return {
      ok: false,
      message: `node ${relabels[0]!.node} is labelled ${relabels[0]!.why}: a node relabelled to fit kube-proxy's nodeSelector no longer fits the workloads that select the real label (CoreDNS among them); fix the DaemonSet instead`,
      evidence,
    };
  }
  if (impostors.length) return { ok: false, message: `${label}'s pod ${impostors[0]!}: its Ready pods are not kube-proxy`, evidence };
  if (missing.length) return { ok: false, message: `no Ready kube-proxy of ${label} on ${missing.join(", ")}`, evidence };
  return { ok: true, message: `${label} runs a Ready pod on each of ${nodes.length} node${nodes.length === 1 ? "" : "s"}`, evidence };
}
