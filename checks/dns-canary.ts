/**
 * The dns check's canary: a name no Corefile can list in advance.
 *
 * The answers a `dns` check wants are known before the grade (a Service's
 * cluster IP, a pod's IP from its DNS name, the addresses a check names), so a
 * CoreDNS that still serves the wrong zone can be taught to give exactly them:
 * a `hosts` entry for the Service's name, a `template` that turns
 * `a-b-c-d.<ns>.pod.<domain>` into `a.b.c.d`, a `forward` of one name to a
 * learner's server. Cluster DNS answers for every Service, from the API. So a
 * dns check also looks up a Service labrun makes for the grade, with a random
 * name in a random namespace (the grade's own `labrun-stranger-<random>`,
 * deleted when the grade ends) and a cluster IP the API server picks: the
 * lookup must answer that IP, through the same server and from the same pod.
 * The Service has no selector (no endpoints, nothing to reach) and carries
 * labrun's annotation, so the settle rule does not wait for it.
 */
import type { ClusterClient } from "../runner/cluster/client.ts";
import type { CheckContext } from "./context.ts";
import { OWNED_ANNOTATION, OwnedPods } from "./owned.ts";
import { serviceDnsName } from "./kinds/network.ts";

export interface DnsCanary {
  namespace: string;
  name: string;
  clusterIP: string;
  /** Fully qualified, with the trailing dot. */
  fqdn: string;
}

/** One canary per grade (per OwnedPods), shared by its checks; a failed creation is tried again by the next attempt. */
const canaries = new WeakMap<OwnedPods, Promise<DnsCanary>>();

/**
 * Runs `fn` with the grade's canary, made on first use. Without the grade's
 * OwnedPods (a caller without an engine) the canary lives for this call.
 */
export async function withDnsCanary<T>(ctx: Pick<CheckContext, "client" | "signal" | "settings" | "owned">, fn: (canary: DnsCanary) => Promise<T>): Promise<T> {
  const owned = ctx.owned ?? new OwnedPods(ctx.client);
  try {
    let made = canaries.get(owned);
    if (!made) {
      made = makeCanary(ctx.client, owned, ctx.settings.clusterDomain, ctx.signal);
      canaries.set(owned, made);
      made.catch(() => {
        if (canaries.get(owned) === made) canaries.delete(owned);
      });
    }
    return await fn(await made);
  } finally {
    if (!ctx.owned) await owned.dispose();
  }
}

async function makeCanary(client: ClusterClient, owned: OwnedPods, domain: string, signal: AbortSignal): Promise<DnsCanary> {
  const namespace = await owned.namespace({ signal });
  const name = `canary-${owned.random(5)}`;
  const service = await client.apply(
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, namespace, annotations: { [OWNED_ANNOTATION]: "labrun grade (a Service cluster DNS must answer for: no Corefile can name it in advance)" } },
      spec: { type: "ClusterIP", ports: [{ name: "none", port: 9, protocol: "TCP" }] },
    },
    { fieldManager: "labrun", signal },
  );
  const clusterIP = (service.spec as { clusterIP?: string } | undefined)?.clusterIP;
  if (!clusterIP || clusterIP === "None") throw new Error(`labrun's canary Service ${namespace}/${name} got no cluster IP`);
  return { namespace, name, clusterIP, fqdn: `${serviceDnsName(name, namespace, domain)}.` };
}
