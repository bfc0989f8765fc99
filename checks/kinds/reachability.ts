/**
 * reachability: a NetworkPolicy truth table (checks/truthtable.ts). Rows are
 * sources: pods the scenario deploys (labrun's probe runs in their network
 * namespace through the ProbeManager), pods labrun creates with given labels,
 * and strangers (labrun's pods with a random `app` label, in the target's
 * namespace or a fresh one of their own); both kinds of labrun pods run the
 * probe image themselves (checks/owned.ts). Columns are target ports. Every
 * cell is a TCP connection, probed concurrently; a wrong cell is probed once
 * more; a "blocked" cell needs a positive control in its column.
 */
import type { Evidence } from "../../runner/schema/report.ts";
import { parseDuration } from "../../runner/util/duration.ts";
import { oneLine } from "../../runner/util/text.ts";
import type { ReachabilityCheck, ReachabilitySource, ReachabilityTarget } from "../../runner/schema/scenario.ts";
import { CheckEvalError, type CheckContext, type Observation } from "../context.ts";
import { OwnedPods, strangerLabels, tcpFromOwned, type OwnedPod, type OwnedPodRequest } from "../owned.ts";
import { labelSelector } from "../../runner/cluster/client.ts";
import { resolvePod } from "../pods.ts";
import { expectedCells, probeTable, tableVerdict, toConnectivity, type CellKey, type CellResult, type ProbeOutcome } from "../truthtable.ts";
import { hostPart, isFailure, resolveSource, resolveTarget, type ResolvedTarget } from "./network.ts";

const DEFAULT_TIMEOUT_MS = 30_000;
/** Evidence lines at most (the matrix has every cell). */
const MAX_EVIDENCE = 40;

interface Row {
  name: string;
  /** For the matrix: `shop/client`, `shop/(stranger)`. */
  label: string;
  /** For evidence: `stranger shop/labrun-probe-1a2b (app=stranger-…)`. */
  describe: string;
  tcp(addr: string): Promise<{ ok: boolean; error?: string; durationMs?: number }>;
}

interface Column {
  name: string;
  ports: number[];
  resolved: ResolvedTarget;
}

export function sourceName(s: ReachabilitySource): string {
  if (s.name) return s.name;
  if (s.pod !== undefined) return s.pod;
  if (s.stranger !== undefined) return s.stranger === "sameNamespace" ? "stranger" : "stranger-other-namespace";
  return labelSelector(s.selector ?? s.labels ?? {});
}

export function targetName(t: ReachabilityTarget): string {
  return t.name ?? t.pod ?? t.service ?? labelSelector(t.selector ?? {});
}

export function targetPorts(t: ReachabilityTarget): number[] {
  return t.ports?.length ? t.ports : [80];
}

/** The namespace of a `stranger: sameNamespace` row: its own, or the first target's. */
export function strangerNamespace(s: ReachabilitySource, spec: ReachabilityCheck): string {
  return s.namespace ?? spec.targets[0]?.namespace ?? "default";
}

/** The matrix's name for a row before it is resolved. */
function rowLabel(s: ReachabilitySource, spec: ReachabilityCheck): string {
  if (s.stranger === "otherNamespace") return "(another namespace)/(stranger)";
  if (s.stranger === "sameNamespace") return `${strangerNamespace(s, spec)}/(stranger)`;
  const ns = s.namespace ?? "default";
  if (s.labels) return `${ns}/(labrun pod ${labelSelector(s.labels)})`;
  if (s.pod) return `${ns}/${s.pod}`;
  return `${ns}/pods with ${labelSelector(s.selector ?? {})}`;
}

function columnLabel(t: ReachabilityTarget, port: number): string {
  const ns = t.namespace ?? "default";
  if (t.service !== undefined) return `${ns}/${t.service} (service):${port}`;
  if (t.pod !== undefined) return `${ns}/${t.pod}:${port}`;
  return `${ns}/pods with ${labelSelector(t.selector ?? {})}:${port}`;
}

export async function evaluate(ctx: CheckContext, spec: ReachabilityCheck): Promise<Observation> {
  const sourceNames = spec.sources.map(sourceName);
  const columns = spec.targets.map((t) => ({ name: targetName(t), ports: targetPorts(t) }));
  const cells = expectedCells(sourceNames, columns, spec.expect);
  const rowLabels = new Map(spec.sources.map((s, i) => [sourceNames[i]!, rowLabel(s, spec)]));
  const colLabels = new Map(spec.targets.map((t, i) => [columns[i]!.name, (port: number) => columnLabel(t, port)]));
  const unresolvedLabel = (c: CellKey) => ({ from: rowLabels.get(c.from) ?? c.from, to: colLabels.get(c.to)?.(c.port) ?? `${c.to}:${c.port}` });
  const allUnknown = (failure: Observation): Observation => ({
    ...failure,
    connectivity: cells.map((c) => ({ ...unresolvedLabel(c), expected: c.expected, observed: "unknown" as const })),
  });

  const owned = ctx.owned ?? new OwnedPods(ctx.client);
  try {
    // labrun's own rows start first: they are the slow part, and they start while the rest resolves.
    const requests = ownedRequests(spec, owned, sourceNames);
    const budget = Math.min(ctx.check.timeout ? parseDuration(ctx.check.timeout) : DEFAULT_TIMEOUT_MS, 60_000);
    const ownedStart = requests.size ? owned.ensure([...requests.values()], { timeoutMs: budget, signal: ctx.signal }) : Promise.resolve({ pods: new Map<string, OwnedPod>() });
    // Settle it even when resolving the rest fails first (no unhandled rejection).
    ownedStart.catch(() => undefined);

    const rows = new Map<string, Row>();
    for (const [i, s] of spec.sources.entries()) {
      if (s.pod === undefined && s.selector === undefined) continue;
      const source = await resolveSource(ctx, { ...(s.pod !== undefined ? { pod: s.pod } : { selector: s.selector! }), namespace: s.namespace ?? "default" });
      if (isFailure(source)) return allUnknown(source.failure);
      const pod = source.pod;
      rows.set(sourceNames[i]!, {
        name: sourceNames[i]!,
        label: source.label,
        describe: `pod ${source.label}`,
        tcp: (addr) => ctx.probes.tcp(pod, addr, { timeoutMs: ctx.settings.probeTimeoutMs, signal: ctx.signal }),
      });
    }
    const targets = new Map<string, Column>();
    for (const [i, t] of spec.targets.entries()) {
      const resolved = await resolveColumn(ctx, t);
      if (isFailure(resolved)) return allUnknown({ ...resolved.failure, message: `cannot test: ${resolved.failure.message}` });
      targets.set(columns[i]!.name, { name: columns[i]!.name, ports: columns[i]!.ports, resolved });
    }
    const started = await ownedStart;
    if ("failure" in started) return allUnknown(started.failure);
    for (const [name, request] of requests) {
      const pod = started.pods.get(request.key)!;
      rows.set(name, {
        name,
        label: rowLabels.get(name)!,
        describe: `${request.describe}: labrun's pod ${pod.namespace}/${pod.name} (${labelSelector(pod.labels)})`,
        tcp: (addr) => tcpFromOwned(ctx.client, pod, addr, { timeoutMs: ctx.settings.probeTimeoutMs, signal: ctx.signal }),
      });
    }

    const addr = (c: CellKey) => `${hostPart(targets.get(c.to)!.resolved.host)}:${c.port}`;
    const label = (c: CellKey) => ({ from: rows.get(c.from)!.label, to: targets.get(c.to)!.resolved.label.replace(/:\d+$/, `:${c.port}`) });
    const results = await probeTable(cells, async (c): Promise<ProbeOutcome> => {
      const r = await rows.get(c.from)!.tcp(addr(c));
      return r.ok
        ? { observed: "allowed", detail: `connected${r.durationMs !== undefined ? ` in ${r.durationMs}ms` : ""}` }
        : { observed: "blocked", detail: `failed: ${oneLine(r.error ?? "unknown error", 160)}` };
    });
    const connectivity = toConnectivity(results, label);
    const evidence = cellEvidence(results, rows, targets, addr);
    const final = results.flatMap((r) => r.probes).find((p) => p.error instanceof CheckEvalError && p.error.final)?.error as CheckEvalError | undefined;
    if (final) throw new CheckEvalError(final.message, { final: true, cause: final, evidence: [...final.evidence, ...evidence], connectivity });
    const verdict = tableVerdict(results, label);
    if (verdict.couldNotEvaluate) throw new CheckEvalError(verdict.message, { evidence, connectivity });
    return { ok: verdict.ok, message: verdict.message, evidence, connectivity };
  } finally {
    if (!ctx.owned) await owned.dispose();
  }
}

/** The labrun pods this check needs, by source name (strangers get fresh random labels per grade). */
function ownedRequests(spec: ReachabilityCheck, owned: OwnedPods, names: string[]): Map<string, OwnedPodRequest> {
  const out = new Map<string, OwnedPodRequest>();
  spec.sources.forEach((s, i) => {
    const name = names[i]!;
    if (s.labels) {
      const ns = s.namespace ?? "default";
      out.set(name, { key: `labels/${ns}/${labelSelector(s.labels)}`, namespace: ns, labels: s.labels, describe: `a pod labelled ${labelSelector(s.labels)} in ${ns}` });
    } else if (s.stranger === "sameNamespace") {
      const ns = strangerNamespace(s, spec);
      out.set(name, { key: `stranger/${ns}`, namespace: ns, labels: strangerLabels((n) => owned.random(n)), describe: `stranger in ${ns}` });
    } else if (s.stranger === "otherNamespace") {
      out.set(name, { key: "stranger/(other)", labels: strangerLabels((n) => owned.random(n)), describe: "stranger in another namespace" });
    }
  });
  return out;
}

/** A column's target: Running and Ready (or a service with a ready endpoint), and the scenario's own pod. */
async function resolveColumn(ctx: CheckContext, t: ReachabilityTarget): Promise<ResolvedTarget | { failure: Observation }> {
  const namespace = t.namespace ?? "default";
  const port = targetPorts(t)[0]!;
  if (t.service !== undefined) return resolveTarget(ctx, { service: t.service, namespace, port, via: "ip" }, namespace, { live: true, role: "target" });
  let podName = t.pod;
  if (podName === undefined) {
    const r = await resolvePod(ctx.client, { selector: t.selector ?? {}, namespace }, namespace, ctx.signal);
    if (!r.pod) return { failure: { ok: false, message: `target ${r.problem ?? "pod not found"}`, evidence: [{ label: `target ${r.label}`, expected: "a running pod", observed: "not found" }] } };
    podName = r.pod.metadata.name;
  }
  return resolveTarget(ctx, { pod: podName, namespace, port, via: "ip" }, namespace, { live: true, role: "target" });
}

function cellEvidence(results: CellResult[], rows: Map<string, Row>, targets: Map<string, Column>, addr: (c: CellKey) => string): Evidence[] {
  // Wrong and unknown cells first: they are what the learner needs.
  const sorted = [...results].sort((a, b) => Number(a.observed === a.expected) - Number(b.observed === b.expected));
  const evidence: Evidence[] = sorted.slice(0, MAX_EVIDENCE).map((r) => {
    const row = rows.get(r.from)!;
    const col = targets.get(r.to)!;
    const tries = r.probes.map((p) => p.detail);
    let observed = tries.length > 1 ? `${tries[0]}; probed again: ${tries[1]}` : tries[0]!;
    if (r.unknownReason === "no-positive-control") observed += `; unknown: no source reached ${col.resolved.label.replace(/:\d+$/, `:${r.port}`)} in this run, so nothing proves it was listening`;
    return { label: `TCP ${addr(r)} from ${row.describe} to ${col.resolved.describe.replace(/ by IP$/, "")}`, expected: r.expected === "allowed" ? "connected" : "blocked", observed };
  });
  if (results.length > MAX_EVIDENCE) evidence.push({ label: `${results.length - MAX_EVIDENCE} more cells`, observed: "see the connectivity matrix" });
  return evidence;
}
