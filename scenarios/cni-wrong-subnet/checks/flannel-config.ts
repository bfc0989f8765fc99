/**
 * Flannel runs with the cluster's pod subnet, as configured: the Network in
 * kube-flannel-cfg's net-conf.json is exactly 10.244.0.0/16, and every
 * flanneld started after the ConfigMap's last change (flanneld reads it only
 * when it starts).
 *
 * The `flannel-network` check reads /run/flannel/subnet.env, which flanneld
 * writes once at start: a learner who widens the Network to a superset and
 * then rewrites that file on the nodes (or sets the ConfigMap back without
 * restarting flannel, which keeps the superset in memory) would pass it.
 */
import type { ScriptCheckContext, ScriptCheckResult } from "labrun";

const NAMESPACE = "kube-flannel";
const CONFIG = "kube-flannel-cfg";
const POD_SUBNET = "10.244.0.0/16";

interface ConfigMapLike {
  data?: Record<string, string>;
  metadata: { managedFields?: { time?: string; manager?: string }[]; creationTimestamp?: string };
}
interface PodLike {
  metadata: { name: string; deletionTimestamp?: string };
  status?: { phase?: string; containerStatuses?: { name: string; state?: { running?: { startedAt?: string } } }[] };
}

export default async function (ctx: ScriptCheckContext): Promise<ScriptCheckResult> {
  const cm = (await ctx.client.get({ apiVersion: "v1", kind: "ConfigMap", name: CONFIG, namespace: NAMESPACE }, { signal: ctx.signal })) as unknown as ConfigMapLike | undefined;
  if (!cm) return { ok: false, message: `ConfigMap ${NAMESPACE}/${CONFIG} not found`, evidence: [{ label: `ConfigMap ${NAMESPACE}/${CONFIG}`, expected: "exists", observed: "not found" }] };
  let network: unknown;
  try {
    network = (JSON.parse(cm.data?.["net-conf.json"] ?? "") as { Network?: unknown }).Network;
  } catch (error) {
    return { ok: false, message: `net-conf.json in ${CONFIG} is not JSON: ${(error as Error).message}`, evidence: [{ label: `${CONFIG}: net-conf.json`, expected: "JSON", observed: "unreadable" }] };
  }
  const evidence = [{ label: `${CONFIG}: net-conf.json Network`, expected: POD_SUBNET, observed: String(network) }];
  if (network !== POD_SUBNET) return { ok: false, message: `flannel is configured with Network ${String(network)}, not the cluster's pod subnet ${POD_SUBNET}`, evidence };

  const changed = [cm.metadata.creationTimestamp, ...(cm.metadata.managedFields ?? []).map((f) => f.time)].filter((t): t is string => typeof t === "string").sort().at(-1) ?? "";
  const pods = (await ctx.client.list("v1", "Pod", { namespace: NAMESPACE, labelSelector: "app=flannel", signal: ctx.signal })) as unknown as PodLike[];
  const stale: string[] = [];
  for (const p of pods) {
    if (p.metadata.deletionTimestamp) continue;
    const started = p.status?.containerStatuses?.find((c) => c.name === "kube-flannel")?.state?.running?.startedAt;
    const fresh = started !== undefined && Date.parse(started) >= Date.parse(changed);
    evidence.push({ label: `pod ${NAMESPACE}/${p.metadata.name}: flanneld started`, expected: `after ${CONFIG} last changed (${changed})`, observed: started ?? "not running" });
    if (!fresh) stale.push(p.metadata.name);
  }
  if (!pods.length) return { ok: false, message: "no flannel pod runs", evidence };
  if (stale.length) {
    return { ok: false, message: `${stale.join(", ")} started before ${CONFIG} last changed (${changed}): flanneld reads its network only at start, so it still runs with the old one`, evidence };
  }
  return { ok: true, message: `flannel runs with Network ${POD_SUBNET}, read after the configuration's last change`, evidence };
}
