/**
 * Cluster DNS answers are the cluster's CoreDNS's.
 *
 * labrun asks the kube-dns Service directly (checks/cluster-dns.ts), which
 * keeps a pod's own /etc/hosts and resolv.conf out of a grade, but not what
 * stands behind the Service. A learner who should repair CoreDNS can instead
 * run a DNS server of their own and send kube-dns's traffic to it: the
 * Service's selector pointed at it, a hand-made EndpointSlice, a second
 * Deployment labelled k8s-app=kube-dns, the coredns Deployment changed to read
 * a hand-written Corefile. So before a name-based probe is trusted, every
 * endpoint kube-proxy can send kube-dns's traffic to (every endpoint of the
 * Service's EndpointSlices, whatever its conditions) must be a pod of kubeadm's
 * CoreDNS, as kubeadm deploys it (cmd/kubeadm/app/phases/addons/dns):
 *
 *   - in kube-system, at the endpoint's address, made by a ReplicaSet of the
 *     Deployment kube-system/coredns;
 *   - one container running CoreDNS's image (`registry.k8s.io/coredns/coredns`),
 *     with kubeadm's arguments (`-conf /etc/coredns/Corefile`) and its Corefile
 *     from the ConfigMap kube-system/coredns mounted at /etc/coredns, nothing
 *     else mounted there, no init containers, not on the host network, and no
 *     ephemeral container labrun did not add.
 *
 * What the Corefile says stays the learner's to fix; that it is cluster DNS
 * that answers, not answers written for the checked names (`hosts`,
 * `template`), is what the dns check's canary proves (checks/dns-canary.ts).
 */
import type { Evidence } from "../runner/schema/report.ts";
import type { KubeObject } from "../runner/cluster/client.ts";
import type { CheckContext } from "./context.ts";
import { foreignEphemeralContainers } from "./integrity.ts";
import { podName } from "./pods.ts";

export const COREDNS = { namespace: "kube-system", deployment: "coredns", configMap: "coredns", mountPath: "/etc/coredns" } as const;
export const COREDNS_IMAGE = /^registry\.k8s\.io\/coredns\/coredns:v\d+\.\d+\.\d+$/;
export const COREDNS_ARGS = ["-conf", "/etc/coredns/Corefile"] as const;
/** Where the kubelet mounts a pod's service account token (every pod may have it). */
const TOKEN_MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

export interface DnsIntegrityFailure {
  problem: string;
  evidence: Evidence[];
}

interface SliceEndpoint {
  addresses?: string[];
  targetRef?: { kind?: string; name?: string; namespace?: string };
}

/** Undefined when every endpoint of kube-dns is a CoreDNS pod as kubeadm deploys it; otherwise why not. */
export async function verifyClusterDns(ctx: Pick<CheckContext, "client" | "signal"> & { probes: { image: string } }, service: { namespace: string; name: string }): Promise<DnsIntegrityFailure | undefined> {
  const { namespace, name } = service;
  const ref = `${namespace}/${name}`;
  const slices = await ctx.client.list("discovery.k8s.io/v1", "EndpointSlice", { namespace, labelSelector: `kubernetes.io/service-name=${name}`, signal: ctx.signal });
  const replicaSets = new Map<string, Promise<KubeObject | undefined>>();
  const replicaSet = (rsName: string) => {
    if (!replicaSets.has(rsName)) replicaSets.set(rsName, ctx.client.get({ apiVersion: "apps/v1", kind: "ReplicaSet", name: rsName, namespace: COREDNS.namespace }, { signal: ctx.signal }));
    return replicaSets.get(rsName)!;
  };
  // Every endpoint's pod is read at once (judged below in order, the first problem reported).
  const pods = new Map<string, Promise<KubeObject | undefined>>();
  for (const slice of slices) {
    for (const e of arr((slice as Obj).endpoints) as SliceEndpoint[]) {
      if (e.targetRef?.kind !== "Pod" || !e.targetRef.name) continue;
      const ref = { apiVersion: "v1", kind: "Pod", name: e.targetRef.name, namespace: e.targetRef.namespace ?? namespace };
      const key = `${ref.namespace}/${ref.name}`;
      if (!pods.has(key)) {
        const read = ctx.client.get(ref, { signal: ctx.signal });
        read.catch(() => undefined); // awaited below, in order
        pods.set(key, read);
      }
    }
  }
  for (const slice of slices) {
    for (const e of arr((slice as Obj).endpoints) as SliceEndpoint[]) {
      const address = (e.addresses ?? []).join(", ") || "?";
      const label = `cluster DNS service ${ref}: endpoint ${address}`;
      const expected = `a pod of Deployment ${COREDNS.namespace}/${COREDNS.deployment} (CoreDNS as kubeadm deploys it)`;
      if (e.targetRef?.kind !== "Pod" || !e.targetRef.name) {
        return fail(`the cluster's DNS Service ${ref} sends queries to ${address}, which is not a pod (a hand-made EndpointSlice ${slice.metadata.name}): its answers are not CoreDNS's`, { label, expected, observed: `not a pod${e.targetRef?.kind ? ` (${e.targetRef.kind} ${e.targetRef.name ?? ""})` : ""}` });
      }
      const podNs = e.targetRef.namespace ?? namespace;
      const pod = await pods.get(`${podNs}/${e.targetRef.name}`)!;
      if (!pod) continue; // gone a moment ago: its endpoint goes too
      const ips = podIPs(pod);
      const stray = (e.addresses ?? []).filter((a) => !ips.includes(a));
      if (stray.length) {
        return fail(`the cluster's DNS Service ${ref} sends queries to ${stray.join(", ")}, which is not the address of pod ${podName(pod)} its EndpointSlice ${slice.metadata.name} names (a hand-made endpoint)`, {
          label,
          expected,
          observed: `pod ${podName(pod)} has ${ips.join(", ") || "no IP"}`,
        });
      }
      const problems = await corednsPodProblems(pod, replicaSet, ctx.probes.image);
      if (problems.length) {
        return fail(`the cluster's DNS Service ${ref} sends queries to pod ${podName(pod)}, which is not the cluster's CoreDNS: ${problems[0]!}`, { label, expected, observed: `pod ${podName(pod)}: ${problems.join("; ")}` });
      }
    }
  }
  return undefined;
}

/** Why `pod` is not a CoreDNS pod of kubeadm's coredns Deployment (empty: it is). */
export async function corednsPodProblems(pod: KubeObject, replicaSet: (name: string) => Promise<KubeObject | undefined>, probeImage: string): Promise<string[]> {
  const problems: string[] = [];
  if (pod.metadata.namespace !== COREDNS.namespace) problems.push(`it runs in namespace ${pod.metadata.namespace ?? "default"}, not ${COREDNS.namespace}`);
  const owner = controllerOf(pod);
  let madeBy = owner ? `${owner.kind} ${owner.name}` : "no controller (a bare pod)";
  if (owner?.kind === "ReplicaSet") {
    const rs = await replicaSet(owner.name);
    const deployment = rs ? controllerOf(rs) : undefined;
    madeBy = deployment ? `ReplicaSet ${owner.name} of ${deployment.kind} ${deployment.name}` : `ReplicaSet ${owner.name}${rs ? " (no Deployment)" : " (gone)"}`;
    if (deployment?.kind === "Deployment" && deployment.name === COREDNS.deployment && pod.metadata.namespace === COREDNS.namespace) madeBy = "";
  }
  if (madeBy) problems.push(`it is not made by Deployment ${COREDNS.namespace}/${COREDNS.deployment} (made by ${madeBy})`);

  const spec = isObj(pod.spec) ? pod.spec : {};
  const containers = arr(spec.containers);
  if (containers.length !== 1) problems.push(`it has ${containers.length} containers (${containers.map((c) => String(c.name)).join(", ")}), CoreDNS's pod has one`);
  if (arr(spec.initContainers).length) problems.push(`it has init containers (${arr(spec.initContainers).map((c) => String(c.name)).join(", ")})`);
  if (spec.hostNetwork === true) problems.push("it runs on its node's network");
  const c = containers[0] ?? {};
  const image = String(c.image ?? "");
  if (!COREDNS_IMAGE.test(image)) problems.push(`it runs image ${image || "(none)"}, not CoreDNS's (registry.k8s.io/coredns/coredns)`);
  const command = Array.isArray(c.command) ? c.command.map(String) : [];
  const args = Array.isArray(c.args) ? c.args.map(String) : [];
  if (command.length || JSON.stringify(args) !== JSON.stringify(COREDNS_ARGS)) {
    problems.push(`it starts with ${JSON.stringify([...command, ...args].join(" ") || "(the image's default)")}, not kubeadm's "${COREDNS_ARGS.join(" ")}"`);
  }
  const volumes = arr(spec.volumes);
  const mounts = arr(c.volumeMounts);
  const config = mounts.filter((m) => String(m.mountPath ?? "").replace(/\/+$/, "") === COREDNS.mountPath && !m.subPath);
  const source = config.length === 1 ? volumes.find((v) => v.name === config[0]!.name) : undefined;
  const configMap = isObj(source?.configMap) ? source.configMap : undefined;
  const items = configMap ? arr(configMap.items) : [];
  const corefileOk = configMap?.name === COREDNS.configMap && (items.length === 0 || (items.length === 1 && items[0]!.key === "Corefile" && items[0]!.path === "Corefile"));
  if (!corefileOk) {
    const from = configMap ? `ConfigMap ${String(configMap.name)}${items.length ? ` (items ${items.map((i) => `${String(i.key)}→${String(i.path)}`).join(", ")})` : ""}` : source ? `volume ${String(source.name)} (not a ConfigMap)` : "no single volume";
    problems.push(`its Corefile comes from ${from}, not ConfigMap ${COREDNS.namespace}/${COREDNS.configMap} at ${COREDNS.mountPath}`);
  }
  const others = mounts.filter((m) => !config.includes(m) && String(m.mountPath ?? "") !== TOKEN_MOUNT);
  if (others.length) problems.push(`it also mounts ${others.map((m) => `${String(m.name)} at ${String(m.mountPath)}${m.subPath ? ` (subPath ${String(m.subPath)})` : ""}`).join(", ")}`);
  const foreign = foreignEphemeralContainers(pod, probeImage);
  if (foreign.length) problems.push(`it has an ephemeral container labrun did not add: ${foreign[0]!.name} (${foreign[0]!.describe})`);
  return problems;
}

function controllerOf(o: KubeObject): { kind: string; name: string } | undefined {
  const ref = arr(o.metadata.ownerReferences).find((r) => r.controller === true);
  return ref ? { kind: String(ref.kind), name: String(ref.name) } : undefined;
}

function podIPs(pod: KubeObject): string[] {
  const status = isObj(pod.status) ? pod.status : {};
  const ips = arr(status.podIPs).map((p) => String(p.ip));
  if (typeof status.podIP === "string" && !ips.includes(status.podIP)) ips.push(status.podIP);
  return ips;
}

function fail(problem: string, evidence: Evidence): DnsIntegrityFailure {
  return { problem, evidence: [evidence] };
}
