/**
 * blocked: a TCP connection from the source pod to a target fails (for
 * example a NetworkPolicy drops it) *while* two controls succeed in the same
 * run:
 *
 *   - `control`: the same source reaches another target, so a dead source, a
 *     broken CNI or a missing route never looks "blocked";
 *   - `allowedFrom`: another source (one the policy allows) reaches the SAME
 *     target and port, the positive control: a dead target, a listener that is
 *     down or a port nothing serves never looks "blocked" either.
 *
 * The target must be live too (a Ready pod, a service with a ready endpoint).
 * Without `allowedFrom` (a scenario `labrun validate` would refuse) the check
 * cannot be evaluated: it is an error, never a pass.
 */
import type { BlockedCheck } from "../../runner/schema/scenario.ts";
import { clusterDns, isDnsProblem } from "../cluster-dns.ts";
import { CheckEvalError, type CheckContext, type Observation } from "../context.ts";
import { randomBytes } from "node:crypto";
import type { TcpProbeResult } from "../probe.ts";
import { echoProblem } from "./http-echo.ts";

/** A TCP connection, or for a host outside the cluster its echo (`impostor`: something else answered there). */
type Reach = TcpProbeResult & { impostor?: boolean };
import { oneLine } from "../../runner/util/text.ts";
import { describeTo, fromLabel, isIpAddress, withMatrix } from "./http.ts";
import { connectivity, hostPart, isFailure, resolveSource, resolveTarget } from "./network.ts";

export async function evaluate(ctx: CheckContext, spec: BlockedCheck): Promise<Observation> {
  const sourceNsGuess = spec.from.namespace ?? "default";
  const allowedGuess = spec.allowedFrom ? fromLabel({ from: spec.allowedFrom }) : "(no allowedFrom)";
  const unknown = (from: string, allowed = allowedGuess) => [
    connectivity(from, describeTo(spec.to, sourceNsGuess), "blocked", "unknown"),
    connectivity(from, describeTo(spec.control, sourceNsGuess), "allowed", "unknown"),
    connectivity(allowed, describeTo(spec.to, sourceNsGuess), "allowed", "unknown"),
  ];
  if (!spec.allowedFrom) {
    throw new CheckEvalError(
      "a blocked check needs `allowedFrom`, a source that must reach the same target and port: without it a dead target would look blocked (`labrun validate` reports this)",
      { final: true, connectivity: unknown(fromLabel(spec)).slice(0, 2) },
    );
  }
  const source = await resolveSource(ctx, spec.from);
  if (isFailure(source)) return withMatrix(source.failure, unknown(fromLabel(spec)));
  const allowedSource = await resolveSource(ctx, spec.allowedFrom);
  if (isFailure(allowedSource)) {
    const f = allowedSource.failure;
    return withMatrix({ ...f, message: `cannot test: the allowed (positive control) ${f.message}` }, unknown(source.label));
  }
  const ns = source.pod.metadata.namespace ?? "default";
  const target = await resolveTarget(ctx, spec.to, ns, { live: true, role: "target" });
  if (isFailure(target)) return withMatrix({ ...target.failure, message: `cannot test: ${target.failure.message}` }, unknown(source.label, allowedSource.label));
  const control = await resolveTarget(ctx, spec.control, ns, { role: "control target" });
  if (isFailure(control)) return withMatrix({ ...control.failure, message: `cannot test: ${control.failure.message}` }, unknown(source.label, allowedSource.label));

  const targetAddr = `${hostPart(target.host)}:${target.port}`;
  const controlAddr = `${hostPart(control.host)}:${control.port}`;
  // Names are resolved by the cluster's DNS, asked directly (not the pod's /etc/hosts).
  const dns = isIpAddress(target.host) && isIpAddress(control.host) ? undefined : await clusterDns(ctx, ns);
  const withDns = dns && !isDnsProblem(dns) ? { dns } : {};
  // A host outside the cluster is reached only when its echo carries the nonce back (anything may answer on an address).
  const probe = async (pod: typeof source.pod, to: typeof target, addr: string): Promise<Reach> => {
    if (!to.outside) return ctx.probes.tcp(pod, addr, { timeoutMs: ctx.settings.probeTimeoutMs, signal: ctx.signal, ...withDns });
    const r = await ctx.probes.echo(pod, `http://${addr}`, { nonce: randomBytes(12).toString("hex"), expectHostname: to.outside.hostname, timeoutMs: ctx.settings.probeTimeoutMs, signal: ctx.signal });
    if (r.ok) return { ok: true, ...(r.remoteAddr ? { remoteAddr: r.remoteAddr } : {}), ...(r.durationMs !== undefined ? { durationMs: r.durationMs } : {}) };
    return { ok: false, error: echoProblem(r, to.outside.hostname), ...(r.localTarget ? { localTarget: true } : {}), ...(r.status !== undefined ? { impostor: true } : {}) };
  };
  let t: Reach;
  let c: Reach;
  let a: Reach;
  try {
    [t, c, a] = await Promise.all([probe(source.pod, target, targetAddr), probe(source.pod, control, controlAddr), probe(allowedSource.pod, target, targetAddr)]);
  } catch (error) {
    if (error instanceof CheckEvalError) {
      throw new CheckEvalError(error.message, { final: error.final, cause: error, evidence: error.evidence, connectivity: unknown(source.label, allowedSource.label) });
    }
    throw error;
  }
  const describe = (r: Reach) => (r.ok ? `connected${r.durationMs !== undefined ? ` in ${r.durationMs}ms` : ""}` : `failed: ${oneLine(r.error ?? "unknown error", 160)}`);
  const evidence = [
    { label: `TCP ${targetAddr} from ${source.label} (${target.describe})`, expected: "blocked", observed: describe(t) },
    { label: `control: TCP ${controlAddr} from ${source.label} (${control.describe})`, expected: "connected", observed: describe(c) },
    { label: `positive control: TCP ${targetAddr} from the allowed source ${allowedSource.label}`, expected: "connected", observed: describe(a) },
  ];
  const trusted = c.ok && a.ok;
  const matrix = [
    connectivity(source.label, target.label, "blocked", t.ok ? "allowed" : trusted ? "blocked" : "unknown"),
    connectivity(source.label, control.label, "allowed", c.ok ? "allowed" : "blocked"),
    connectivity(allowedSource.label, target.label, "allowed", a.ok ? "allowed" : "blocked"),
  ];
  const local = [t, c, a].find((r) => r.localTarget);
  if (local) {
    // The destination is an address of the source pod itself: a hijack of its network namespace, never "blocked" or "reachable".
    return { ok: false, message: `${local.remoteAddr ?? "the destination"} is an address of ${source.label}'s own network namespace (a hijack): the verdict cannot be trusted`, evidence, connectivity: matrix };
  }
  if (t.ok) return { ok: false, message: `${source.label} can connect to ${target.label}: it should be blocked`, evidence, connectivity: matrix };
  if (t.impostor) {
    return { ok: false, message: `something answered ${source.label} at ${targetAddr} that is not ${target.label}: whether the host itself is blocked cannot be told`, evidence, connectivity: matrix };
  }
  if (!c.ok) {
    return {
      ok: false,
      message: `source cannot reach its control target ${control.label} (${oneLine(c.error ?? "failed", 120)}): a blocked verdict cannot be trusted`,
      evidence,
      connectivity: matrix,
    };
  }
  if (!a.ok) {
    return {
      ok: false,
      message: `the allowed source ${allowedSource.label} cannot reach ${target.label} either (${oneLine(a.error ?? "failed", 120)}): nothing proves the target is listening, so "blocked" proves nothing`,
      evidence,
      connectivity: matrix,
    };
  }
  return {
    ok: true,
    message: `${source.label} → ${target.label} is blocked, while ${allowedSource.label} reaches it and ${control.label} is reachable`,
    evidence,
    connectivity: matrix,
  };
}
