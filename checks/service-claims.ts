/**
 * Services that claim an address: no Service may make kube-proxy take over
 * traffic for an address.
 *
 * kube-proxy programs every node to send traffic for a Service's
 * `spec.externalIPs` and `status.loadBalancer.ingress[].ip` to that Service's
 * pods, whatever else the address is (CVE-2020-8554): a learner with kubectl
 * alone can claim the address of a pod a check connects to (its pod IP), of a
 * node (a hostPort), of a host outside the cluster, or the cluster IP of
 * another Service (kube-dns's 10.96.0.10), and send the probes to a stand-in of
 * their own: an nginx that prints the expected page, a CoreDNS that answers the
 * checked names. For a pod IP the redirect is certain; for another Service's
 * cluster IP, kube-proxy's rule order decides, and it changes with every sync.
 * NetworkPolicies then apply to the stand-in, not to the target, and the node
 * audit sees only kube-proxy's own chains.
 *
 * No scenario declares such a Service and kind has no load balancer, so a pass
 * of a network check counts only while no Service claims an address; the
 * evidence names what the address belongs to.
 */
import type { KubeObject } from "../runner/cluster/client.ts";
import type { Evidence } from "../runner/schema/report.ts";
import type { IntegrityFailure } from "./integrity.ts";
import { podName } from "./pods.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const strings = (v: unknown): string[] => arr(v).filter((x): x is string => typeof x === "string" && x !== "");

export interface AddressClaim {
  /** `namespace/name` of the Service. */
  service: string;
  address: string;
  /** `externalIPs` or `status.loadBalancer` */
  via: string;
  /** What else the address is in the cluster, when labrun knows: `the cluster IP of Service kube-system/kube-dns`. */
  owner?: string;
}

/** Every address a Service claims, with what else holds it. */
export function addressClaims(services: readonly KubeObject[], pods: readonly KubeObject[], nodes: readonly KubeObject[]): AddressClaim[] {
  const owners = new Map<string, string>();
  const own = (ip: unknown, who: string) => {
    if (typeof ip === "string" && ip && ip !== "None" && !owners.has(ip)) owners.set(ip, who);
  };
  for (const s of services) {
    const spec = isObj(s.spec) ? s.spec : {};
    for (const ip of [spec.clusterIP, ...arr(spec.clusterIPs)]) own(ip, `the cluster IP of Service ${ref(s)}`);
  }
  for (const n of nodes) for (const a of arr(isObj(n.status) ? n.status.addresses : [])) if (isObj(a) && a.type !== "Hostname") own(a.address, `an address of node ${n.metadata.name}`);
  for (const p of pods) {
    const status = isObj(p.status) ? p.status : {};
    if (isObj(p.spec) && p.spec.hostNetwork === true) continue; // the node's address, named above
    for (const ip of [status.podIP, ...arr(status.podIPs).map((x) => (isObj(x) ? x.ip : undefined))]) own(ip, `the IP of pod ${podName(p)}`);
  }
  const out: AddressClaim[] = [];
  for (const s of services) {
    const spec = isObj(s.spec) ? s.spec : {};
    const lb = isObj(s.status) && isObj(s.status.loadBalancer) ? s.status.loadBalancer : {};
    const claimed = [
      ...strings(spec.externalIPs).map((address) => ({ address, via: "externalIPs" })),
      ...arr(lb.ingress)
        .map((i) => (isObj(i) && typeof i.ip === "string" && i.ip ? i.ip : undefined))
        .filter((ip): ip is string => ip !== undefined)
        .map((address) => ({ address, via: "status.loadBalancer" })),
    ];
    for (const c of claimed) {
      const owner = owners.get(c.address);
      out.push({ service: ref(s), ...c, ...(owner ? { owner } : {}) });
    }
  }
  return out;
}

/** The claims as an integrity verdict: undefined when no Service claims an address. */
export function addressClaimFailure(services: readonly KubeObject[], pods: readonly KubeObject[], nodes: readonly KubeObject[]): IntegrityFailure | undefined {
  const claims = addressClaims(services, pods, nodes);
  if (!claims.length) return undefined;
  const describe = (c: AddressClaim) => `${c.address} (${c.via})${c.owner ? `, ${c.owner}` : ""}`;
  const evidence: Evidence[] = claims.slice(0, 8).map((c) => ({
    label: `Service ${c.service}`,
    expected: "no Service claims an address (externalIPs, a load balancer IP): kube-proxy would send that address's traffic to the Service's pods",
    observed: `claims ${describe(c)}`,
  }));
  const first = claims[0]!;
  return {
    message: `Service ${first.service} claims ${describe(first)}: kube-proxy on every node sends traffic for that address to the Service's own pods instead, so a network verdict cannot be trusted while it exists`,
    evidence,
  };
}

function ref(o: KubeObject): string {
  return `${o.metadata.namespace ?? "default"}/${o.metadata.name}`;
}
