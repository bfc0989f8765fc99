/**
 * http: an HTTP GET from inside the source pod's network namespace (labrun's
 * probe container) to a pod (live IP or pod DNS name), a service or a host.
 * A name is resolved by asking the cluster's DNS Service directly
 * (checks/cluster-dns.ts), never through the pod's /etc/hosts; an answer from
 * an address of the source pod itself (`localTarget`: a hijack of its network
 * namespace) is never a pass.
 */
import { isIP } from "node:net";
import type { Connectivity, Evidence } from "../../runner/schema/report.ts";
import type { KubeObject } from "../../runner/cluster/client.ts";
import type { HttpCheck, PodRef } from "../../runner/schema/scenario.ts";
import { clusterDns, isDnsProblem } from "../cluster-dns.ts";
import { CheckEvalError, type CheckContext, type Observation } from "../context.ts";
import { oneLine } from "../../runner/util/text.ts";
import { labelSelector } from "../../runner/cluster/client.ts";
import { connectivity, hostPart, isFailure, resolveSource, resolveTargets, type ResolvedTarget } from "./network.ts";
import { evaluateEcho, usesEcho } from "./http-echo.ts";

export async function evaluate(ctx: CheckContext, spec: HttpCheck): Promise<Observation> {
  if (usesEcho(spec)) return evaluateEcho(ctx, spec);
  const source = await resolveSource(ctx, spec.from);
  const toLabel = describeTo(spec.to, spec.from.namespace ?? "default");
  if (isFailure(source)) return withMatrix(source.failure, [connectivity(fromLabel(spec), toLabel, "allowed", "unknown")]);
  const resolved = await resolveTargets(ctx, spec.to, source.pod.metadata.namespace ?? "default");
  if (isFailure(resolved)) return withMatrix(resolved.failure, [connectivity(source.label, toLabel, "allowed", "unknown")]);
  const notes = [...(source.ignored ?? []), ...resolved.ignored];
  const observations = await Promise.all(resolved.targets.map((target) => probeTarget(ctx, spec, source, target)));
  return combine(observations, notes, spec.to.selector !== undefined ? `${resolved.targets.length} pods matching ${labelSelector(spec.to.selector)}` : undefined);
}

/**
 * One observation out of the observations of each target: it passes when every
 * one passes, says which failed, and keeps all evidence and matrix rows.
 */
export function combine(observations: Observation[], notes: Evidence[], what: string | undefined): Observation {
  const failed = observations.filter((o) => !o.ok);
  const evidence = [...observations.flatMap((o) => o.evidence), ...notes];
  const matrix = observations.flatMap((o) => o.connectivity ?? []);
  const message =
    observations.length === 1 || what === undefined
      ? (failed[0] ?? observations[0]!).message
      : failed.length
        ? `${failed.length} of ${what} failed: ${failed[0]!.message}`
        : `all ${what} passed: ${observations[0]!.message}${observations.length > 1 ? ` (and ${observations.length - 1} more)` : ""}`;
  return { ok: failed.length === 0, message, evidence, ...(matrix.length ? { connectivity: matrix } : {}) };
}

async function probeTarget(ctx: CheckContext, spec: HttpCheck, source: { pod: KubeObject; label: string }, target: ResolvedTarget): Promise<Observation> {
  const path = spec.path ?? "/";
  const url = `http://${hostPart(target.host)}:${target.port}${path}`;
  const wantStatus = spec.expect?.status ?? 200;
  const wantBody = spec.expect?.bodyContains;
  const expected = `HTTP ${wantStatus}${wantBody ? `, body contains ${JSON.stringify(wantBody)}` : ""}`;
  const label = `GET ${url} from ${source.label} (${target.describe})`;
  const notes: Evidence[] = [];

  // A name is resolved by the cluster's DNS, asked directly (not the pod's /etc/hosts or resolv.conf).
  let dns;
  if (!isIpAddress(target.host)) {
    dns = await clusterDns(ctx, source.pod.metadata.namespace ?? "default");
    if (isDnsProblem(dns)) {
      return { ok: false, message: `cannot resolve ${target.host}: ${dns.problem}`, evidence: [dns.evidence, { label, expected, observed: "not probed" }, ...notes], connectivity: [connectivity(source.label, target.label, "allowed", "unknown")] };
    }
  }

  let r;
  try {
    r = await ctx.probes.http(source.pod, url, { timeoutMs: ctx.settings.probeTimeoutMs, signal: ctx.signal, ...(dns ? { dns } : {}) });
  } catch (error) {
    if (error instanceof CheckEvalError) {
      throw new CheckEvalError(error.message, {
        final: error.final,
        cause: error,
        evidence: [...error.evidence, { label, expected, observed: "the probe could not run" }],
        connectivity: [connectivity(source.label, target.label, "allowed", "unknown")],
      });
    }
    throw error;
  }
  const via = dns ? `${target.host} resolved by ${dns.describe}${r.resolvedAddr ? ` to ${r.resolvedAddr}` : ""}` : undefined;
  if (r.localTarget) {
    const where = r.remoteAddr ?? r.resolvedAddr ?? target.host;
    return {
      ok: false,
      message: `${target.label} answered from inside ${source.label} itself: ${where} is an address of the source pod's own network namespace (a hijack), not the target`,
      evidence: [{ label, expected, observed: `the destination ${where} is local to the source pod${r.localAddr ? ` (local address ${r.localAddr})` : ""}: not the target's network path${via ? `; ${via}` : ""}` }, ...notes],
      connectivity: [connectivity(source.label, target.label, "allowed", "unknown")],
    };
  }
  const answered = r.status !== undefined;
  // Go's client says `Get "http://…": dial tcp …`: the URL is in the evidence label already.
  const error = r.error?.replace(/^[A-Za-z]+ "[^"]*": /, "");
  const matrix = [connectivity(source.label, target.label, "allowed", answered ? "allowed" : "blocked")];
  if (!answered) {
    const observed = `no response: ${error ?? "unknown error"}${r.durationMs !== undefined ? ` (after ${r.durationMs}ms)` : ""}${via ? `; ${via}` : ""}`;
    return { ok: false, message: `${source.label} cannot reach ${target.label}: ${oneLine(error ?? "no response", 160)}`, evidence: [{ label, expected, observed }, ...notes], connectivity: matrix };
  }
  const body = r.body ?? "";
  const statusOk = r.status === wantStatus;
  const bodyOk = wantBody === undefined || body.includes(wantBody);
  const observed =
    `HTTP ${r.status}` +
    (wantBody === undefined ? "" : bodyOk ? `, body contains ${JSON.stringify(wantBody)}` : `, body does not contain ${JSON.stringify(wantBody)}`) +
    (r.remoteAddr ? `, answered by ${r.remoteAddr}` : "") +
    (via ? ` (${via})` : "") +
    (!bodyOk || !statusOk ? `; body: ${JSON.stringify(oneLine(body, 160))}` : "");
  const ok = statusOk && bodyOk;
  return {
    ok,
    message: ok
      ? `${source.label} reached ${target.label}: ${expected}`
      : `${source.label} reached ${target.label} but got HTTP ${r.status}${bodyOk ? "" : ` without ${JSON.stringify(wantBody)} in the body`}`,
    evidence: [{ label, expected, observed }, ...notes],
    connectivity: matrix,
  };
}

/** An IPv4 or IPv6 literal (no resolution needed). */
export function isIpAddress(host: string): boolean {
  return isIP(host.replace(/^\[|\]$/g, "")) !== 0;
}

function fromLabel(spec: { from: PodRef }): string {
  const ns = spec.from.namespace ?? "default";
  return spec.from.pod ? `${ns}/${spec.from.pod}` : `${ns}/pods with ${labelSelector(spec.from.selector ?? {})}`;
}

/** How a target reads before it is resolved (for the matrix when resolution fails). */
export function describeTo(to: HttpCheck["to"], sourceNamespace: string): string {
  const port = to.port ?? 80;
  const ns = to.namespace ?? sourceNamespace;
  if (to.pod !== undefined) return `${ns}/${to.pod}:${port}`;
  if (to.selector !== undefined) return `${ns}/pods with ${labelSelector(to.selector)}:${port}`;
  if (to.service !== undefined) return `${ns}/${to.service} (service):${port}`;
  return `${to.host}:${port}`;
}

export function withMatrix(observation: Observation, matrix: Connectivity[]): Observation {
  return { ...observation, connectivity: [...(observation.connectivity ?? []), ...matrix] };
}

export { fromLabel };
