/**
 * Where DNS and HTTP-by-name checks resolve names: the cluster's DNS Service
 * (kube-system/kube-dns), asked directly by labrun's probe, with the search
 * list labrun computes for the source pod's namespace (`<ns>.svc.<domain>
 * svc.<domain> <domain>`, ndots 5, as the kubelet writes it for ClusterFirst
 * pods). Never the pod's /etc/hosts, nsswitch.conf or resolv.conf: a learner
 * can change those (hostAliases, dnsConfig, dnsPolicy, a root process writing
 * /etc/hosts), and none of them is the cluster's DNS.
 */
import type { Evidence } from "../runner/schema/report.ts";
import type { CheckContext } from "./context.ts";
import type { ProbeDns } from "./probe.ts";
import { verifyClusterDns } from "./cluster-dns-integrity.ts";

export const CLUSTER_DNS_SERVICE = { namespace: "kube-system", name: "kube-dns" } as const;
/** What the kubelet puts in a ClusterFirst pod's resolv.conf. */
export const CLUSTER_NDOTS = 5;

export interface ClusterDns extends ProbeDns {
  /** For evidence: `service kube-system/kube-dns (10.96.0.10:53)`. */
  describe: string;
}

/** The search list of a ClusterFirst pod in `namespace`. */
export function clusterSearch(namespace: string, domain: string): string[] {
  return [`${namespace}.svc.${domain}`, `svc.${domain}`, domain];
}

/** `10.96.0.10:53`, `[fd00::a]:53`. */
export function dnsServerAddress(ip: string, port = 53): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * The cluster's DNS server for a probe from `namespace`, or why there is none
 * (the Service is missing or headless: a failure of the cluster, not of labrun)
 * or why its answers cannot be trusted (something other than the cluster's
 * CoreDNS stands behind it: checks/cluster-dns-integrity.ts).
 */
export async function clusterDns(ctx: Pick<CheckContext, "client" | "signal" | "settings" | "probes" | "lab">, namespace: string): Promise<ClusterDns | { problem: string; evidence: Evidence }> {
  const ref = `${CLUSTER_DNS_SERVICE.namespace}/${CLUSTER_DNS_SERVICE.name}`;
  const svc = await ctx.client.get({ apiVersion: "v1", kind: "Service", name: CLUSTER_DNS_SERVICE.name, namespace: CLUSTER_DNS_SERVICE.namespace }, { signal: ctx.signal });
  const clusterIP = (svc?.spec as { clusterIP?: string } | undefined)?.clusterIP;
  if (!svc || !clusterIP || clusterIP === "None") {
    const observed = svc ? `no cluster IP (${clusterIP ?? "none"})` : "not found";
    return {
      problem: `the cluster's DNS Service ${ref} ${svc ? "has no cluster IP" : "does not exist"}: labrun resolves names by asking it`,
      evidence: { label: `cluster DNS service ${ref}`, expected: "a Service with a cluster IP (port 53)", observed },
    };
  }
  // kubeadm's CoreDNS is what a kind lab runs; other distributions ship their own (k3s, EKS, GKE's kube-dns).
  const untrusted = ctx.lab.provider === "kind" ? await verifyClusterDns(ctx, CLUSTER_DNS_SERVICE) : undefined;
  if (untrusted) return { problem: untrusted.problem, evidence: untrusted.evidence[0]! };
  const server = dnsServerAddress(clusterIP);
  return { server, search: clusterSearch(namespace, ctx.settings.clusterDomain), ndots: CLUSTER_NDOTS, describe: `service ${ref} (${server})` };
}

export function isDnsProblem(v: ClusterDns | { problem: string; evidence: Evidence }): v is { problem: string; evidence: Evidence } {
  return "problem" in v;
}
