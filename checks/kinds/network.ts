/**
 * Shared by the network checks (http, dns, blocked): the source pod (it must
 * run, and be the scenario's pod, not a replacement) and the target's address
 * (a pod's live IP or pod DNS name, a service's cluster IP or DNS name, a host).
 */
import type { Connectivity, Evidence } from "../../runner/schema/report.ts";
import type { HttpTarget, PodRef, Target } from "../../runner/schema/scenario.ts";
import type { KubeObject } from "../../runner/cluster/client.ts";
import { CheckEvalError, type CheckContext, type Observation, type OutsideAddress } from "../context.ts";
import { nodeInfo, selectNodes } from "../../runner/cluster/nodes.ts";
import { checkPodIntegrity } from "../integrity.ts";
import { describePod, podName, podView, resolvePod, resolvePods } from "../pods.ts";
import { labelSelector } from "../../runner/cluster/client.ts";

export type Failure = { failure: Observation };

export function isFailure<T extends object>(v: T | Failure): v is Failure {
  return "failure" in v;
}

/**
 * The source pod of a probe: found, Running, the pod the scenario deploys, and
 * trustworthy (checks/integrity.ts). `ignored`: learner-made pods that matched
 * the selector but were not chosen, for evidence.
 */
export async function resolveSource(ctx: CheckContext, from: PodRef): Promise<{ pod: KubeObject; label: string; ignored?: Evidence[] } | Failure> {
  const r = await resolvePod(ctx.client, from, "default", ctx.signal, ctx.workloads);
  const ignored = ignoredEvidence(labelSelector(from.selector ?? {}), r.ignored);
  if (!r.pod) {
    return { failure: { ok: false, message: `source ${r.problem ?? "pod not found"}`, evidence: [{ label: `source ${r.label}`, expected: "a running pod", observed: "not found" }, ...ignored] } };
  }
  const v = podView(r.pod);
  if (v.phase !== "Running" || v.terminating) {
    return {
      failure: {
        ok: false,
        message: `source pod ${r.label} is not running: ${describePod(r.pod)}`,
        evidence: [{ label: `source pod ${r.label}`, expected: "Running", observed: describePod(r.pod) }, ...ignored],
      },
    };
  }
  const untrusted = checkPodIntegrity(r.pod, "source", { workloads: ctx.workloads, probeImage: ctx.probes.image });
  if (untrusted) return { failure: { ok: false, message: untrusted.message, evidence: [...untrusted.evidence, ...ignored] } };
  return { pod: r.pod, label: podName(r.pod), ...(ignored.length ? { ignored } : {}) };
}

function ignoredEvidence(selector: string, ignored: string[] | undefined): Evidence[] {
  return (ignored ?? []).map((name) => ({
    label: `pod ${name}`,
    expected: `a pod the scenario deploys, matching ${selector}`,
    observed: "matches the selector but the scenario does not deploy it: not used as a source",
  }));
}

export interface ResolvedTarget {
  /** For the connectivity matrix: `default/cyberdyne-frontend:80`, `default/web (service):80`, `example.com:443`. */
  label: string;
  /** What to put in a URL or an address: an IP or a DNS name. */
  host: string;
  port: number;
  /** How it was resolved, for evidence: `pod default/web (192.168.1.4) by IP`. */
  describe: string;
  pod?: KubeObject;
  service?: KubeObject;
  /** A host outside the cluster: only an echo answer from `hostname` counts as reaching it. */
  outside?: { name: string; hostname: string };
}

/** `a-b-c-d.<ns>.pod.<domain>` for an IPv4 address; colons become dashes for IPv6. */
export function podDnsName(ip: string, namespace: string, domain: string): string {
  return `${ip.includes(":") ? ip.replace(/:/g, "-") : ip.replace(/\./g, "-")}.${namespace}.pod.${domain}`;
}

export function serviceDnsName(name: string, namespace: string, domain: string): string {
  return `${name}.${namespace}.svc.${domain}`;
}

/** `[v6]` in URLs and addresses. */
export function hostPart(host: string): string {
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

/**
 * The address of a probe's target. `live` (for blocked checks) additionally
 * requires that a pod target is Ready and a service has a ready endpoint:
 * "blocked" must never be the verdict for a target that is simply down.
 */
export async function resolveTarget(ctx: CheckContext, target: Target, sourceNamespace: string, options: { live?: boolean; role?: string } = {}): Promise<ResolvedTarget | Failure> {
  const role = options.role ?? "target";
  if (target.outside !== undefined) return resolveOutside(ctx, target.outside, target.port, role);
  const port = target.port ?? 80;
  if (target.node !== undefined) return resolveNode(ctx, target.node, port, role);
  const namespace = target.namespace ?? sourceNamespace;
  if (target.host !== undefined) {
    return { label: `${target.host}:${port}`, host: target.host, port, describe: `host ${target.host}` };
  }
  if (target.pod !== undefined) {
    const name = `${namespace}/${target.pod}`;
    const pod = await ctx.client.get({ apiVersion: "v1", kind: "Pod", name: target.pod, namespace }, { signal: ctx.signal });
    if (!pod) return fail(`${role} pod ${name} not found`, { label: `${role} pod ${name}`, expected: "a running pod with an IP", observed: "not found" });
    return podTarget(ctx, pod, port, target.via, role, options.live === true);
  }
  const svcName = target.service!;
  const name = `${namespace}/${svcName}`;
  const service = await ctx.client.get({ apiVersion: "v1", kind: "Service", name: svcName, namespace }, { signal: ctx.signal });
  if (!service) return fail(`${role} service ${name} not found`, { label: `${role} service ${name}`, expected: "a service", observed: "not found" });
  if (options.live) {
    const ready = await readyEndpoints(ctx, svcName, namespace);
    if (ready === 0) {
      return fail(`${role} service ${name} has no ready endpoints: a blocked verdict needs a live target`, {
        label: `${role} service ${name} endpoints`,
        expected: "at least one ready endpoint",
        observed: "none",
      });
    }
  }
  const stranger = await undeclaredEndpoints(ctx, svcName, namespace, role);
  if (stranger) return stranger;
  const via = target.via ?? "dns";
  const clusterIP = (service.spec as { clusterIP?: string } | undefined)?.clusterIP;
  if (via === "ip") {
    if (!clusterIP || clusterIP === "None") {
      return fail(`${role} service ${name} has no cluster IP (headless): use via: dns`, { label: `${role} service ${name}`, expected: "a cluster IP", observed: clusterIP ?? "none" });
    }
    return { label: `${name} (service):${port}`, host: clusterIP, port, describe: `service ${name} (${clusterIP}) by cluster IP`, service };
  }
  const host = serviceDnsName(svcName, namespace, ctx.settings.clusterDomain);
  return { label: `${name} (service):${port}`, host, port, describe: `service ${name} by DNS name`, service };
}

/** A live pod as a target: it has an IP (and is Ready, when `live`), and it is the scenario's pod. */
function podTarget(ctx: CheckContext, pod: KubeObject, port: number, via: "ip" | "dns" | undefined, role: string, live: boolean): ResolvedTarget | Failure {
  const name = podName(pod);
  const v = podView(pod);
  if (!v.podIP || v.terminating) {
    return fail(`${role} pod ${name} has no IP: ${describePod(pod)}`, { label: `${role} pod ${name}`, expected: "a running pod with an IP", observed: describePod(pod) });
  }
  if (live && !(v.phase === "Running" && v.ready)) {
    return fail(`${role} pod ${name} is not Ready (${describePod(pod)}): a blocked verdict needs a live target`, { label: `${role} pod ${name}`, expected: "Running, Ready", observed: describePod(pod) });
  }
  const untrusted = checkPodIntegrity(pod, "target", { workloads: ctx.workloads, probeImage: ctx.probes.image });
  if (untrusted) return { failure: { ok: false, message: role === "target" ? untrusted.message : untrusted.message.replace(/^target pod/, `${role} pod`), evidence: untrusted.evidence } };
  const host = via === "dns" ? podDnsName(v.podIP, pod.metadata.namespace ?? "default", ctx.settings.clusterDomain) : v.podIP;
  return { label: `${name}:${port}`, host, port, describe: `pod ${name} (${v.podIP}) by ${via === "dns" ? "its pod DNS name" : "IP"}`, pod };
}

/**
 * The targets of an http check: one, or for a `selector` every pod the
 * scenario deploys that matches it (each must pass). No matching pod is a
 * failure naming the selector; so is any matching pod that cannot be a target.
 */
export async function resolveTargets(ctx: CheckContext, target: HttpTarget, sourceNamespace: string): Promise<{ targets: ResolvedTarget[]; ignored: Evidence[] } | Failure> {
  if (target.selector === undefined) {
    const one = await resolveTarget(ctx, target as Target, sourceNamespace);
    return isFailure(one) ? one : { targets: [one], ignored: [] };
  }
  const namespace = target.namespace ?? sourceNamespace;
  const found = await resolvePods(ctx.client, target.selector, namespace, ctx.signal, ctx.workloads);
  const selector = labelSelector(target.selector) || "(any labels)";
  const ignored = found.ignored.map((name) => ({
    label: `pod ${name}`,
    expected: `a pod the scenario deploys, matching ${selector}`,
    observed: "matches the selector but the scenario does not deploy it: not a target",
  }));
  if (found.pods.length === 0) {
    const failure = fail(`no target pod in namespace ${namespace} matches ${selector}`, { label: `target ${found.label}`, expected: "at least one running pod", observed: "none" });
    failure.failure.evidence.push(...ignored);
    return failure;
  }
  const targets: ResolvedTarget[] = [];
  for (const pod of found.pods) {
    const t = podTarget(ctx, pod, target.port ?? 80, target.via, "target", false);
    if (isFailure(t)) return { failure: { ...t.failure, evidence: [...t.failure.evidence, ...ignored] } };
    targets.push(t);
  }
  return { targets, ignored };
}

/** A host outside the cluster (`spec.outside`) at its address on the lab's Docker network. */
export async function resolveOutside(ctx: CheckContext, name: string, port: number | undefined, role = "target"): Promise<ResolvedTarget | Failure> {
  const address = await outsideAddress(ctx, name);
  if (address.problem) return fail(`${role} outside host ${name} cannot answer: ${address.problem}`, { label: `${role} outside host ${name}`, expected: "running", observed: address.problem });
  const p = port ?? address.port;
  return { label: `outside/${name}:${p}`, host: address.ip, port: p, describe: `outside host ${name} (${address.ip})`, outside: { name, hostname: address.hostname } };
}

/** The address of an outside host; CheckEvalError (final) when the grade has no outside hosts or the name is not declared. */
export async function outsideAddress(ctx: CheckContext, name: string): Promise<OutsideAddress> {
  if (!ctx.outside) throw new CheckEvalError(`this check needs the host outside the cluster "${name}" (spec.outside), which only a kind lab started by labrun has`, { final: true });
  const address = await ctx.outside.address(name, ctx.signal);
  if (!address) throw new CheckEvalError(`no host outside the cluster is named "${name}" (spec.outside)`, { final: true });
  return address;
}

/** A node (by name or role: the first such node) at its InternalIP. */
async function resolveNode(ctx: CheckContext, ref: string, port: number, role: string): Promise<ResolvedTarget | Failure> {
  const all = await ctx.client.list("v1", "Node", { signal: ctx.signal });
  const node = selectNodes(all, ref, nodeInfo)[0];
  if (!node) return fail(`${role} node ${ref} not found`, { label: `${role} node ${ref}`, expected: "a node", observed: "not found" });
  const name = node.metadata.name;
  const addresses = ((node.status as { addresses?: { type: string; address: string }[] } | undefined)?.addresses ?? []).filter((a) => a.type === "InternalIP");
  const ip = (addresses.find((a) => !a.address.includes(":")) ?? addresses[0])?.address;
  if (!ip) return fail(`${role} node ${name} has no InternalIP`, { label: `${role} node ${name}`, expected: "an InternalIP", observed: "none" });
  return { label: `node/${name}:${port}`, host: ip, port, describe: `node ${name} (${ip})` };
}

interface SliceEndpoint {
  addresses?: string[];
  conditions?: { ready?: boolean };
  targetRef?: { kind?: string; name?: string; namespace?: string };
}

/**
 * A Service the scenario declares answers only from pods the scenario
 * deploys: a ready endpoint that is not a pod (a hand-made EndpointSlice), a
 * pod the scenario does not deploy (the selector pointed at a stand-in that
 * prints the expected page) or a replaced pod fails the check. Services the
 * scenario does not declare (kube-dns, the learner's own) are not judged here.
 */
async function undeclaredEndpoints(ctx: CheckContext, service: string, namespace: string, role: string): Promise<Failure | undefined> {
  if (!ctx.workloads.declaresService(namespace, service)) return undefined;
  const slices = await ctx.client.list("discovery.k8s.io/v1", "EndpointSlice", { namespace, labelSelector: `kubernetes.io/service-name=${service}`, signal: ctx.signal });
  const name = `${namespace}/${service}`;
  for (const slice of slices) {
    for (const e of ((slice as { endpoints?: SliceEndpoint[] }).endpoints ?? [])) {
      if (e.conditions?.ready === false) continue;
      const address = (e.addresses ?? []).join(", ") || "?";
      const label = `${role} service ${name}: endpoint ${address}`;
      if (e.targetRef?.kind !== "Pod" || !e.targetRef.name) {
        return fail(`${role} service ${name} sends traffic to ${address}, which is not a pod (a hand-made endpoint): the answer cannot be trusted`, {
          label,
          expected: "pods the scenario deploys",
          observed: `not a pod${e.targetRef?.kind ? ` (${e.targetRef.kind} ${e.targetRef.name ?? ""})` : ""}`,
        });
      }
      const pod = await ctx.client.get({ apiVersion: "v1", kind: "Pod", name: e.targetRef.name, namespace: e.targetRef.namespace ?? namespace }, { signal: ctx.signal });
      if (!pod) continue; // gone a moment ago: its endpoint goes too
      if (!ctx.workloads.variantsFor(pod).length) {
        return fail(`${role} service ${name} sends traffic to pod ${podName(pod)}, which the scenario does not deploy: the answer comes from a stand-in, not the scenario's pods`, {
          label,
          expected: "pods the scenario deploys",
          observed: `pod ${podName(pod)} (labels ${labelSelector((pod.metadata.labels ?? {}) as Record<string, string>) || "none"}; image ${podView(pod).containers.map((c) => c.image).join(", ")})`,
        });
      }
      const untrusted = checkPodIntegrity(pod, "target", { workloads: ctx.workloads, probeImage: ctx.probes.image });
      if (untrusted) return { failure: { ok: false, message: `${role} service ${name}: ${untrusted.message}`, evidence: untrusted.evidence } };
    }
  }
  return undefined;
}

async function readyEndpoints(ctx: CheckContext, service: string, namespace: string): Promise<number> {
  const slices = await ctx.client.list("discovery.k8s.io/v1", "EndpointSlice", {
    namespace,
    labelSelector: `kubernetes.io/service-name=${service}`,
    signal: ctx.signal,
  });
  let n = 0;
  for (const s of slices) {
    for (const e of ((s as { endpoints?: { conditions?: { ready?: boolean } }[] }).endpoints ?? [])) if (e.conditions?.ready !== false) n++;
  }
  return n;
}

function fail(message: string, evidence: Evidence): Failure {
  return { failure: { ok: false, message, evidence: [evidence] } };
}

export function connectivity(from: string, to: string, expected: "allowed" | "blocked", observed: Connectivity["observed"]): Connectivity {
  return { from, to, expected, observed };
}
