/**
 * dns: a lookup from inside the source pod's network namespace (labrun's
 * probe) that asks the cluster's DNS Service directly, with the search list of
 * a pod in the source's namespace (checks/cluster-dns.ts): never the pod's
 * /etc/hosts, nsswitch.conf or resolv.conf, which a learner can change. A pod
 * lookup must resolve the pod's DNS name, built from its live IP, to that IP
 * (for a `selector`, every matching pod the scenario deploys; none is a
 * failure); a service lookup to its cluster IP; a name lookup to the expected
 * addresses (or to anything, when none are given). The evidence names the
 * server that answered. The same server must also answer for a Service labrun
 * makes for the grade (checks/dns-canary.ts), and stand for the cluster's
 * CoreDNS (checks/cluster-dns-integrity.ts).
 */
import type { DnsCheck } from "../../runner/schema/scenario.ts";
import type { Evidence } from "../../runner/schema/report.ts";
import { labelSelector, type KubeObject } from "../../runner/cluster/client.ts";
import { clusterDns, isDnsProblem } from "../cluster-dns.ts";
import { CheckEvalError, type CheckContext, type Observation } from "../context.ts";
import { checkPodIntegrity } from "../integrity.ts";
import { describePod, podName, podView, resolvePods } from "../pods.ts";
import { oneLine } from "../../runner/util/text.ts";
import { withDnsCanary } from "../dns-canary.ts";
import { combine } from "./http.ts";
import { isFailure, podDnsName, resolveSource, serviceDnsName, type Failure } from "./network.ts";

/** One name to look up and what its answer must contain. */
interface Lookup {
  name: string;
  want: string[];
  type: "A" | "AAAA";
  what: string;
}

export async function evaluate(ctx: CheckContext, spec: DnsCheck): Promise<Observation> {
  const source = await resolveSource(ctx, spec.from);
  if (isFailure(source)) return source.failure;
  const sourceNs = source.pod.metadata.namespace ?? "default";
  const ns = spec.lookup.namespace ?? sourceNs;
  const want: string[] = [...(spec.expect?.addresses ?? [])];
  const notes: Evidence[] = [...(source.ignored ?? [])];
  let lookups: Lookup[];
  if (spec.lookup.pod !== undefined) {
    const podRef = `${ns}/${spec.lookup.pod}`;
    const pod = await ctx.client.get({ apiVersion: "v1", kind: "Pod", name: spec.lookup.pod, namespace: ns }, { signal: ctx.signal });
    if (!pod) return { ok: false, message: `pod ${podRef} not found`, evidence: [{ label: `pod ${podRef}`, expected: "a pod with an IP", observed: "not found" }] };
    const one = podLookup(ctx, pod, want);
    if (isFailure(one)) return one.failure;
    lookups = [one];
  } else if (spec.lookup.selector !== undefined) {
    const selector = labelSelector(spec.lookup.selector) || "(any labels)";
    const found = await resolvePods(ctx.client, spec.lookup.selector, ns, ctx.signal, ctx.workloads);
    notes.push(...found.ignored.map((name) => ({ label: `pod ${name}`, expected: `a pod the scenario deploys, matching ${selector}`, observed: "matches the selector but the scenario does not deploy it: not looked up" })));
    if (found.pods.length === 0) {
      return { ok: false, message: `no pod in namespace ${ns} matches ${selector}: nothing to look up`, evidence: [{ label: found.label, expected: "at least one pod with an IP", observed: "none" }, ...notes] };
    }
    lookups = [];
    for (const pod of found.pods) {
      const one = podLookup(ctx, pod, want);
      if (isFailure(one)) return { ...one.failure, evidence: [...one.failure.evidence, ...notes] };
      lookups.push(one);
    }
  } else if (spec.lookup.service !== undefined) {
    const svcRef = `${ns}/${spec.lookup.service}`;
    const svc = await ctx.client.get({ apiVersion: "v1", kind: "Service", name: spec.lookup.service, namespace: ns }, { signal: ctx.signal });
    if (!svc) return { ok: false, message: `service ${svcRef} not found`, evidence: [{ label: `service ${svcRef}`, expected: "a service", observed: "not found" }] };
    const clusterIP = (svc.spec as { clusterIP?: string } | undefined)?.clusterIP;
    const headless = !clusterIP || clusterIP === "None";
    lookups = [
      {
        name: serviceDnsName(spec.lookup.service, ns, ctx.settings.clusterDomain),
        want: headless ? want : [clusterIP, ...want],
        type: !headless && clusterIP.includes(":") ? "AAAA" : "A",
        what: `service ${svcRef}'s DNS name`,
      },
    ];
  } else {
    const name = spec.lookup.name!;
    lookups = [{ name, want, type: want.length && want.every((a) => a.includes(":")) ? "AAAA" : "A", what: name }];
  }
  const dns = await clusterDns(ctx, sourceNs);
  if (isDnsProblem(dns)) {
    return { ok: false, message: `${lookups[0]!.what} cannot be looked up: ${dns.problem}`, evidence: [dns.evidence, ...notes] };
  }
  // labrun built pod and service names fully qualified: ask exactly that name (a trailing dot skips the search list).
  const fqdn = spec.lookup.name === undefined;
  return withDnsCanary(ctx, async (canary) => {
    const canaryLookup: Lookup = { name: canary.fqdn, want: [canary.clusterIP], type: canary.clusterIP.includes(":") ? "AAAA" : "A", what: `labrun's Service ${canary.namespace}/${canary.name}'s DNS name` };
    const [checked, control] = await Promise.all([Promise.all(lookups.map((l) => lookUp(ctx, source, dns, l, fqdn))), lookUp(ctx, source, dns, canaryLookup, false)]);
    const observed = combine(checked, notes, spec.lookup.selector !== undefined ? `${lookups.length} pods matching ${labelSelector(spec.lookup.selector)}` : undefined);
    const evidence = [...observed.evidence, ...control.evidence];
    if (!observed.ok || control.ok) return { ...observed, evidence };
    return {
      ok: false,
      message: `${dns.describe} answers the checked name but not a Service labrun made for this grade (${control.message}): answers written for the checked names (a Corefile's hosts or template entries) are not cluster DNS`,
      evidence,
    };
  });
}

/** A pod's DNS name must resolve to its IP; the pod must have one and be the scenario's. */
function podLookup(ctx: CheckContext, pod: KubeObject, want: string[]): Lookup | Failure {
  const podRef = podName(pod);
  const ip = podView(pod).podIP;
  if (!ip) return { failure: { ok: false, message: `pod ${podRef} has no IP: ${describePod(pod)}`, evidence: [{ label: `pod ${podRef}`, expected: "a pod with an IP", observed: describePod(pod) }] } };
  const untrusted = checkPodIntegrity(pod, "target", { workloads: ctx.workloads, probeImage: ctx.probes.image });
  if (untrusted) return { failure: { ok: false, message: untrusted.message, evidence: untrusted.evidence } };
  return { name: podDnsName(ip, pod.metadata.namespace ?? "default", ctx.settings.clusterDomain), want: [ip, ...want], type: ip.includes(":") ? "AAAA" : "A", what: `pod ${podRef}'s DNS name` };
}

type Dns = Exclude<Awaited<ReturnType<typeof clusterDns>>, { problem: string }>;

async function lookUp(ctx: CheckContext, source: { pod: KubeObject; label: string }, dns: Dns, l: Lookup, fqdn: boolean): Promise<Observation> {
  const { name, want, type, what } = l;
  const expected = want.length ? `answer contains ${want.join(", ")}` : "at least one address";
  const label = `lookup ${name} (${type}) from ${source.label}, asking ${dns.describe}`;
  let r;
  try {
    const asked = fqdn && !name.endsWith(".") ? `${name}.` : name;
    r = await ctx.probes.dns(source.pod, asked, { type, timeoutMs: ctx.settings.probeTimeoutMs, signal: ctx.signal, dns });
  } catch (error) {
    if (error instanceof CheckEvalError) throw new CheckEvalError(error.message, { final: error.final, cause: error, evidence: [...error.evidence, { label, expected, observed: "the probe could not run" }] });
    throw error;
  }
  if (r.localTarget) {
    return {
      ok: false,
      message: `${dns.describe} is an address of ${source.label}'s own network namespace (a hijack): the pod would answer its own DNS queries`,
      evidence: [{ label, expected, observed: `the DNS server's address is local to the source pod${r.error ? `: ${oneLine(r.error, 160)}` : ""}` }],
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
    evidence: [{ label, expected, observed }],
  };
}
