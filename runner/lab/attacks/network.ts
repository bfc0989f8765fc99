/**
 * What the attacks aim at: the scenario's network checks (http, dns,
 * blocked), their source pods, the addresses they connect to and the names
 * they resolve, read from the scenario and resolved against the live cluster.
 */
import type { ClusterClient, KubeObject } from "../../cluster/client.ts";
import { podDnsName, serviceDnsName } from "../../../checks/kinds/network.ts";
import { podView, resolvePod, resolvePods } from "../../../checks/pods.ts";
import type { DnsCheck, HttpTarget, PodRef, Scenario } from "../../schema/scenario.ts";

export interface NetCheck {
  id: string;
  kind: "http" | "dns" | "blocked";
  from: PodRef;
  to?: HttpTarget;
  lookup?: DnsCheck["lookup"];
  expectAddresses?: string[];
  expectStatus?: number;
  bodyContains?: string;
  path?: string;
}

/** The scenario's http, dns and blocked checks, in order. */
export function netChecks(scenario: Scenario): NetCheck[] {
  const out: NetCheck[] = [];
  for (const c of scenario.spec.checks) {
    // A probe from a host outside the cluster runs in labrun's container there: no pod of the learner's to attack.
    if (c.http?.from.outside !== undefined) continue;
    if (c.http) {
      out.push({
        id: c.id,
        kind: "http",
        from: c.http.from,
        to: c.http.to,
        ...(c.http.expect?.status !== undefined ? { expectStatus: c.http.expect.status } : {}),
        ...(c.http.expect?.bodyContains !== undefined ? { bodyContains: c.http.expect.bodyContains } : {}),
        ...(c.http.path !== undefined ? { path: c.http.path } : {}),
      });
    } else if (c.dns) {
      out.push({ id: c.id, kind: "dns", from: c.dns.from, lookup: c.dns.lookup, ...(c.dns.expect?.addresses ? { expectAddresses: c.dns.expect.addresses } : {}) });
    } else if (c.blocked) {
      out.push({ id: c.id, kind: "blocked", from: c.blocked.from, to: c.blocked.to });
    }
  }
  return out;
}

/** Whether an http check reaches its target by a DNS name (pod `via: dns`, a service by default). */
export function resolvesName(c: NetCheck): boolean {
  if (c.kind === "dns") return true;
  if (c.kind !== "http" || !c.to) return false;
  if (c.to.pod !== undefined || c.to.selector !== undefined) return c.to.via === "dns";
  if (c.to.service !== undefined) return c.to.via !== "ip";
  return c.to.host !== undefined && !/^[0-9.:]+$/.test(c.to.host);
}

export function sourceNamespace(from: PodRef): string {
  return from.namespace ?? "default";
}

/** The live source pod of a check (by name or selector). */
export async function sourcePod(client: ClusterClient, from: PodRef, signal?: AbortSignal): Promise<KubeObject | undefined> {
  return (await resolvePod(client, from, "default", signal)).pod;
}

export function isRunning(pod: KubeObject): boolean {
  const v = podView(pod);
  return v.phase === "Running" && !v.terminating;
}

export interface Endpoint {
  /** The address packets go to. */
  ip: string;
  port: number;
  /** The DNS name the check uses, when it uses one. */
  name?: string;
  pod?: KubeObject;
  service?: KubeObject;
}

/**
 * The pods a target or lookup names: the pod by name, or every live pod
 * matching the selector (sorted by name); empty when there is none.
 */
export async function targetPods(client: ClusterClient, ref: { pod?: string; selector?: Record<string, string> }, ns: string, signal?: AbortSignal): Promise<KubeObject[]> {
  if (ref.pod !== undefined) {
    const pod = await client.get({ apiVersion: "v1", kind: "Pod", name: ref.pod, namespace: ns }, signal ? { signal } : {});
    return pod ? [pod] : [];
  }
  if (ref.selector !== undefined) return (await resolvePods(client, ref.selector, ns, signal)).pods;
  return [];
}

/** Where a target is right now: its first address (see resolveEndpoints). */
export async function resolveEndpoint(client: ClusterClient, to: HttpTarget, sourceNs: string, domain: string, signal?: AbortSignal): Promise<Endpoint | undefined> {
  return (await resolveEndpoints(client, to, sourceNs, domain, signal))[0];
}

/** Where a target is right now (a pod's IP, each selected pod's IP, a service's cluster IP); empty when it has none yet. */
export async function resolveEndpoints(client: ClusterClient, to: HttpTarget, sourceNs: string, domain: string, signal?: AbortSignal): Promise<Endpoint[]> {
  const port = to.port ?? 80;
  const ns = to.namespace ?? sourceNs;
  const opts = signal ? { signal } : {};
  if (to.pod !== undefined || to.selector !== undefined) {
    const out: Endpoint[] = [];
    for (const pod of await targetPods(client, to, ns, signal)) {
      const ip = podView(pod).podIP;
      if (ip) out.push({ ip, port, pod, ...(to.via === "dns" ? { name: podDnsName(ip, ns, domain) } : {}) });
    }
    return out;
  }
  if (to.service !== undefined) {
    const service = await client.get({ apiVersion: "v1", kind: "Service", name: to.service, namespace: ns }, opts);
    const ip = (service?.spec as { clusterIP?: string } | undefined)?.clusterIP;
    if (!service || !ip || ip === "None") return [];
    return [{ ip, port, service, ...(to.via !== "ip" ? { name: serviceDnsName(to.service, ns, domain) } : {}) }];
  }
  if (to.host !== undefined && /^[0-9.]+$/.test(to.host)) return [{ ip: to.host, port }];
  return [];
}

/**
 * A pod that answers on a service's port, to point a name at directly: a
 * ready endpoint when the service has one, else (a service whose selector
 * matches nothing) a running pod in its namespace that exposes the port.
 */
export async function servingPodIp(client: ClusterClient, service: KubeObject, port: number, signal?: AbortSignal): Promise<string | undefined> {
  const ns = service.metadata.namespace ?? "default";
  const opts = signal ? { signal } : {};
  const slices = await client.list("discovery.k8s.io/v1", "EndpointSlice", { namespace: ns, labelSelector: `kubernetes.io/service-name=${service.metadata.name}`, ...opts });
  for (const s of slices) {
    for (const e of (s as { endpoints?: { addresses?: string[]; conditions?: { ready?: boolean } }[] }).endpoints ?? []) {
      if (e.conditions?.ready !== false && e.addresses?.[0]) return e.addresses[0];
    }
  }
  const ports = ((service.spec as { ports?: { port?: number; targetPort?: number | string }[] } | undefined)?.ports ?? []).filter((p) => p.port === port);
  const wanted = new Set<number>(ports.map((p) => (typeof p.targetPort === "number" ? p.targetPort : (p.port ?? port))));
  if (wanted.size === 0) wanted.add(port);
  const pods = (await client.list("v1", "Pod", { namespace: ns, ...opts })).filter((p) => isRunning(p) && podView(p).podIP && !podView(p).hostNetwork);
  const exposes = (p: KubeObject) =>
    ((p.spec as { containers?: { ports?: { containerPort?: number }[] }[] } | undefined)?.containers ?? []).some((c) => (c.ports ?? []).some((cp) => cp.containerPort !== undefined && wanted.has(cp.containerPort)));
  const chosen = pods.find(exposes) ?? pods.find((p) => ((p.spec as { containers?: { image?: string }[] }).containers ?? []).some((c) => /nginx|httpd|http|web/.test(c.image ?? "")));
  return chosen ? podView(chosen).podIP : undefined;
}

/** `Pod ns/name`, the key restore uses for touched pods. */
export function podKey(pod: KubeObject): string {
  return `Pod ${pod.metadata.namespace ?? "default"}/${pod.metadata.name}`;
}

/** Groups items by their source pod (one entry per pod). */
export function bySource<T>(items: { pod: KubeObject; item: T }[]): { pod: KubeObject; items: T[] }[] {
  const out = new Map<string, { pod: KubeObject; items: T[] }>();
  for (const { pod, item } of items) {
    const key = podKey(pod);
    const entry = out.get(key) ?? { pod, items: [] };
    entry.items.push(item);
    out.set(key, entry);
  }
  return [...out.values()];
}
