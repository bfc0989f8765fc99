/**
 * dns: a lookup from inside the source pod's network namespace (labrun's
 * probe) that asks the cluster's DNS Service directly, with the search list of
 * a pod in the source's namespace (checks/cluster-dns.ts): never the pod's
 * /etc/hosts, nsswitch.conf or resolv.conf, which a learner can change. A pod
 * lookup must resolve the pod's DNS name, built from its live IP, to that IP;
 * a service lookup to its cluster IP; a name lookup to the expected addresses
 * (or to anything, when none are given). The evidence names the server that
 * answered.
 */
import type { DnsCheck } from "../../runner/schema/scenario.ts";
import { clusterDns, isDnsProblem } from "../cluster-dns.ts";
import { CheckEvalError, type CheckContext, type Observation } from "../context.ts";
import { checkPodIntegrity } from "../integrity.ts";
import { describePod, podView } from "../pods.ts";
import { oneLine } from "../../runner/util/text.ts";
import { isFailure, podDnsName, resolveSource, serviceDnsName } from "./network.ts";

export async function evaluate(ctx: CheckContext, spec: DnsCheck): Promise<Observation> {
  const source = await resolveSource(ctx, spec.from);
  if (isFailure(source)) return source.failure;
  const sourceNs = source.pod.metadata.namespace ?? "default";
  const ns = spec.lookup.namespace ?? sourceNs;
  const domain = ctx.settings.clusterDomain;
  let name: string;
  let want: string[] = [...(spec.expect?.addresses ?? [])];
  let type: "A" | "AAAA" = "A";
  let what: string;
  if (spec.lookup.pod !== undefined) {
    const podRef = `${ns}/${spec.lookup.pod}`;
    const pod = await ctx.client.get({ apiVersion: "v1", kind: "Pod", name: spec.lookup.pod, namespace: ns }, { signal: ctx.signal });
    if (!pod) return { ok: false, message: `pod ${podRef} not found`, evidence: [{ label: `pod ${podRef}`, expected: "a pod with an IP", observed: "not found" }] };
    const ip = podView(pod).podIP;
    if (!ip) return { ok: false, message: `pod ${podRef} has no IP: ${describePod(pod)}`, evidence: [{ label: `pod ${podRef}`, expected: "a pod with an IP", observed: describePod(pod) }] };
    const untrusted = checkPodIntegrity(pod, "target", { workloads: ctx.workloads, probeImage: ctx.probes.image });
    if (untrusted) return { ok: false, message: untrusted.message, evidence: untrusted.evidence };
    name = podDnsName(ip, ns, domain);
    if (ip.includes(":")) type = "AAAA";
    want = [ip, ...want];
    what = `pod ${podRef}'s DNS name`;
  } else if (spec.lookup.service !== undefined) {
    const svcRef = `${ns}/${spec.lookup.service}`;
    const svc = await ctx.client.get({ apiVersion: "v1", kind: "Service", name: spec.lookup.service, namespace: ns }, { signal: ctx.signal });
    if (!svc) return { ok: false, message: `service ${svcRef} not found`, evidence: [{ label: `service ${svcRef}`, expected: "a service", observed: "not found" }] };
    const clusterIP = (svc.spec as { clusterIP?: string } | undefined)?.clusterIP;
    name = serviceDnsName(spec.lookup.service, ns, domain);
    if (clusterIP && clusterIP !== "None") {
      want = [clusterIP, ...want];
      if (clusterIP.includes(":")) type = "AAAA";
    }
    what = `service ${svcRef}'s DNS name`;
  } else {
    name = spec.lookup.name!;
    if (want.length && want.every((a) => a.includes(":"))) type = "AAAA";
    what = name;
  }
  const notes = source.ignored ?? [];
  const dns = await clusterDns(ctx, sourceNs);
  const expected = want.length ? `answer contains ${want.join(", ")}` : "at least one address";
  if (isDnsProblem(dns)) {
    return { ok: false, message: `${what} cannot be looked up: ${dns.problem}`, evidence: [dns.evidence, ...notes] };
  }
  const label = `lookup ${name} (${type}) from ${source.label}, asking ${dns.describe}`;
  let r;
  try {
    // labrun built pod and service names fully qualified: ask exactly that name (a trailing dot skips the search list).
    const asked = spec.lookup.name === undefined && !name.endsWith(".") ? `${name}.` : name;
    r = await ctx.probes.dns(source.pod, asked, { type, timeoutMs: ctx.settings.probeTimeoutMs, signal: ctx.signal, dns });
  } catch (error) {
    if (error instanceof CheckEvalError) throw new CheckEvalError(error.message, { final: error.final, cause: error, evidence: [...error.evidence, { label, expected, observed: "the probe could not run" }] });
    throw error;
  }
  if (r.localTarget) {
    return {
      ok: false,
      message: `${dns.describe} is an address of ${source.label}'s own network namespace (a hijack): the pod would answer its own DNS queries`,
      evidence: [{ label, expected, observed: `the DNS server's address is local to the source pod${r.error ? `: ${oneLine(r.error, 160)}` : ""}` }, ...notes],
    };
  }
  const got = r.addresses ?? [];
  const norm = (a: string) => a.toLowerCase();
  const missing = want.filter((a) => !got.map(norm).includes(norm(a)));
  const ok = got.length > 0 && missing.length === 0;
  const answeredBy = r.server ? `; answered by ${r.server}${r.rcode && r.rcode !== "NOERROR" ? ` (${r.rcode})` : ""}${r.name && r.name.replace(/\.$/, "") !== name ? ` for ${r.name.replace(/\.$/, "")}` : ""}` : "";
  const observed = (got.length ? got.join(", ") : `no answer: ${r.error ?? "no addresses"}`) + answeredBy;
  return {
    ok,
    message: ok
      ? `${what} resolves to ${got.join(", ")}`
      : got.length
        ? `${what} resolves to ${got.join(", ")}, not ${missing.join(", ")}`
        : `${what} does not resolve from ${source.label}: ${oneLine(r.error ?? "no addresses", 160)}`,
    evidence: [{ label, expected, observed }, ...notes],
  };
}
