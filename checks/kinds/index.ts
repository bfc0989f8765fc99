/**
 * The check kinds: one evaluator per operation of the scenario's Check.
 * The map is exhaustive over CHECK_KINDS (the compiler says so).
 *
 * A pass of a network or CNI check counts only while nothing outside the
 * scenario's declaration can steer the cluster's network: the host-level
 * sweep (checks/hostlevel.ts) and, for network checks, the node audit
 * (checks/node-firewall.ts) and the Services' address claims
 * (checks/service-claims.ts) look at the cluster after the evaluator passed,
 * and turn the pass into a failure with their evidence.
 */
import type { Check, CheckKind } from "../../runner/schema/scenario.ts";
import type { CheckContext, Observation } from "../context.ts";
import { hostLevelFailure } from "../hostlevel.ts";
import type { IntegrityFailure } from "../integrity.ts";
import { nodeRulesFailure } from "../node-firewall.ts";
import { addressClaimFailure } from "../service-claims.ts";
import * as blocked from "./blocked.ts";
import * as cniConfigured from "./cniConfigured.ts";
import * as command from "./command.ts";
import * as dns from "./dns.ts";
import * as http from "./http.ts";
import * as nodesReady from "./nodesReady.ts";
import * as object from "./object.ts";
import * as podNetwork from "./podNetwork.ts";
import * as podsReady from "./podsReady.ts";
import * as reachability from "./reachability.ts";
import * as script from "./script.ts";

type Spec<K extends CheckKind> = NonNullable<Extract<Check, { [P in K]: unknown }>[K]>;

export const EVALUATORS: { [K in CheckKind]: (ctx: CheckContext, spec: Spec<K>) => Promise<Observation> } = {
  nodesReady: nodesReady.evaluate,
  podsReady: podsReady.evaluate,
  cniConfigured: cniConfigured.evaluate,
  http: http.evaluate,
  dns: dns.evaluate,
  blocked: blocked.evaluate,
  reachability: reachability.evaluate,
  podNetwork: podNetwork.evaluate,
  object: object.evaluate,
  command: command.evaluate,
  script: script.evaluate,
};

/** Kinds whose pass goes through the pod network: the sweep and the node audit. */
export const NETWORK_KINDS: ReadonlySet<CheckKind> = new Set(["http", "dns", "blocked", "reachability", "podNetwork"]);
/** Kinds whose pass the host-level sweep guards. */
export const SWEPT_KINDS: ReadonlySet<CheckKind> = new Set([...NETWORK_KINDS, "cniConfigured"]);

/** How long the node audit may take on each node. */
const AUDIT_TIMEOUT_MS = 10_000;

/** Evaluate one attempt of a check of any kind. */
export async function evaluateCheck(kind: CheckKind, ctx: CheckContext): Promise<Observation> {
  const spec = (ctx.check as Record<string, unknown>)[kind];
  const observation = await (EVALUATORS[kind] as (ctx: CheckContext, spec: unknown) => Promise<Observation>)(ctx, spec);
  if (!observation.ok || !SWEPT_KINDS.has(kind)) return observation;
  const untrusted = await sweep(kind, ctx);
  if (!untrusted) return observation;
  return {
    ok: false,
    message: `${untrusted.message} (the check's own test held: ${observation.message})`,
    evidence: [...untrusted.evidence, ...observation.evidence],
    ...(observation.connectivity ? { connectivity: observation.connectivity } : {}),
  };
}

async function sweep(kind: CheckKind, ctx: CheckContext): Promise<IntegrityFailure | undefined> {
  const network = NETWORK_KINDS.has(kind);
  const [pods, nodes, services] = await Promise.all([
    ctx.client.list("v1", "Pod", { signal: ctx.signal }),
    network ? ctx.client.list("v1", "Node", { signal: ctx.signal }) : [],
    network ? ctx.client.list("v1", "Service", { signal: ctx.signal }) : [],
  ]);
  const pod = hostLevelFailure(pods, { workloads: ctx.workloads, probeImage: ctx.probes.image });
  const claims = network ? addressClaimFailure(services, pods, nodes) : undefined;
  const rules = nodes.length ? await nodeRulesFailure(ctx.client, nodes.map((n) => n.metadata.name), { timeoutMs: AUDIT_TIMEOUT_MS, signal: ctx.signal }) : undefined;
  const found = [pod, claims, rules].filter((f): f is IntegrityFailure => f !== undefined);
  if (!found.length) return undefined;
  // The first is named (a pod before the rules it, or someone, left on the nodes); the evidence of all follows.
  return { message: found[0]!.message, evidence: found.flatMap((f) => f.evidence) };
}
