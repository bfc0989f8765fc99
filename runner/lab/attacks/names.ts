/**
 * The names checks resolve, and the address each should point at for the
 * check to pass: the pod's IP for a pod DNS name, the cluster IP for a
 * service name looked up by a dns check, a pod that serves the service for
 * an HTTP check by service name (so the name bypasses a broken Service), the
 * expected address for a name lookup. When an HTTP check and a DNS check
 * resolve the same name, the HTTP mapping wins.
 */
import type { KubeObject } from "../../cluster/client.ts";
import { podDnsName, serviceDnsName } from "../../../checks/kinds/network.ts";
import { podView } from "../../../checks/pods.ts";
import { isRunning, netChecks, podKey, resolveEndpoints, resolvesName, servingPodIp, sourceNamespace, sourcePod, targetPods } from "./network.ts";
import type { AttackContext } from "./types.ts";

export interface NameMapping {
  pod: KubeObject;
  /** name → IP */
  names: Map<string, string>;
}

/** Addresses in TEST-NET-1: an answer for a lookup that accepts any address. */
const ANY_ADDRESS = "192.0.2.1";

export async function nameMappings(ctx: AttackContext): Promise<{ sources: NameMapping[]; skipped: string[] }> {
  const skipped: string[] = [];
  const bySource = new Map<string, NameMapping & { fromHttp: Set<string> }>();
  for (const c of netChecks(ctx.scenario.scenario).filter(resolvesName)) {
    const src = await sourcePod(ctx.client, c.from, ctx.signal);
    if (!src || !isRunning(src)) {
      skipped.push(`${c.id}: its source pod does not run in the broken state`);
      continue;
    }
    const ns = src.metadata.namespace ?? sourceNamespace(c.from);
    const pairs: { name: string; ip: string }[] = [];
    const push = (name: string | undefined, ip: string | undefined) => name && ip && pairs.push({ name, ip });
    if (c.kind === "dns" && c.lookup) {
      const lns = c.lookup.namespace ?? ns;
      if (c.lookup.pod !== undefined || c.lookup.selector !== undefined) {
        // A selector: every matching pod's name must resolve, so every one is pointed at.
        for (const pod of await targetPods(ctx.client, c.lookup, lns, ctx.signal)) {
          const ip = podView(pod).podIP;
          if (ip) push(podDnsName(ip, lns, ctx.clusterDomain), ip);
        }
      } else if (c.lookup.service !== undefined) {
        const svc = await ctx.client.get({ apiVersion: "v1", kind: "Service", name: c.lookup.service, namespace: lns }, ctx.signal ? { signal: ctx.signal } : {});
        const clusterIP = (svc?.spec as { clusterIP?: string } | undefined)?.clusterIP;
        push(serviceDnsName(c.lookup.service, lns, ctx.clusterDomain), clusterIP && clusterIP !== "None" ? clusterIP : ANY_ADDRESS);
      } else if (c.lookup.name !== undefined) {
        push(c.lookup.name, c.expectAddresses?.find((a) => !a.includes(":")) ?? ANY_ADDRESS);
      }
    } else if (c.kind === "http" && c.to) {
      if (c.to.host !== undefined) push(c.to.host, ANY_ADDRESS);
      else {
        for (const ep of await resolveEndpoints(ctx.client, c.to, ns, ctx.clusterDomain, ctx.signal)) {
          push(ep.name, ep.service ? ((await servingPodIp(ctx.client, ep.service, ep.port, ctx.signal)) ?? ep.ip) : ep.ip);
        }
      }
    }
    if (pairs.length === 0) {
      skipped.push(`${c.id}: nothing to point its name at in the broken state`);
      continue;
    }
    const key = podKey(src);
    const entry = bySource.get(key) ?? { pod: src, names: new Map<string, string>(), fromHttp: new Set<string>() };
    for (const { name, ip } of pairs) {
      if (c.kind === "http" || !entry.fromHttp.has(name)) entry.names.set(name, ip);
      if (c.kind === "http") entry.fromHttp.add(name);
    }
    bySource.set(key, entry);
  }
  return { sources: [...bySource.values()].map(({ pod, names }) => ({ pod, names })), skipped };
}
