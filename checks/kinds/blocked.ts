/**
 * blocked: a TCP connection from the source pod to a target fails (for
 * example a NetworkPolicy drops it) *while* a control connection from the same
 * probe succeeds. Without the control, a dead source, a broken CNI or a
 * missing route would all look "blocked"; with it, "blocked" is only ever the
 * verdict when the source demonstrably works. The target must be live too (a
 * Ready pod, a service with a ready endpoint): a target that is down is not
 * "blocked".
 */
import type { BlockedCheck } from "../../runner/schema/scenario.ts";
import { clusterDns, isDnsProblem } from "../cluster-dns.ts";
import { CheckEvalError, type CheckContext, type Observation } from "../context.ts";
import type { TcpProbeResult } from "../probe.ts";
import { oneLine } from "../util.ts";
import { describeTo, fromLabel, isIpAddress, withMatrix } from "./http.ts";
import { connectivity, hostPart, isFailure, resolveSource, resolveTarget } from "./network.ts";

export async function evaluate(ctx: CheckContext, spec: BlockedCheck): Promise<Observation> {
  const sourceNsGuess = spec.from.namespace ?? "default";
  const unknown = (from: string) => [
    connectivity(from, describeTo(spec.to, sourceNsGuess), "blocked", "unknown"),
    connectivity(from, describeTo(spec.control, sourceNsGuess), "allowed", "unknown"),
  ];
  const source = await resolveSource(ctx, spec.from);
  if (isFailure(source)) return withMatrix(source.failure, unknown(fromLabel(spec)));
  const ns = source.pod.metadata.namespace ?? "default";
  const target = await resolveTarget(ctx, spec.to, ns, { live: true, role: "target" });
  if (isFailure(target)) return withMatrix({ ...target.failure, message: `cannot test: ${target.failure.message}` }, unknown(source.label));
  const control = await resolveTarget(ctx, spec.control, ns, { role: "control target" });
  if (isFailure(control)) return withMatrix({ ...control.failure, message: `cannot test: ${control.failure.message}` }, unknown(source.label));

  const targetAddr = `${hostPart(target.host)}:${target.port}`;
  const controlAddr = `${hostPart(control.host)}:${control.port}`;
  // Names are resolved by the cluster's DNS, asked directly (not the pod's /etc/hosts).
  const dns = isIpAddress(target.host) && isIpAddress(control.host) ? undefined : await clusterDns(ctx, ns);
  const withDns = dns && !isDnsProblem(dns) ? { dns } : {};
  const probe = (addr: string): Promise<TcpProbeResult> => ctx.probes.tcp(source.pod, addr, { timeoutMs: ctx.settings.probeTimeoutMs, signal: ctx.signal, ...withDns });
  let t: TcpProbeResult;
  let c: TcpProbeResult;
  try {
    [t, c] = await Promise.all([probe(targetAddr), probe(controlAddr)]);
  } catch (error) {
    if (error instanceof CheckEvalError) throw new CheckEvalError(error.message, { final: error.final, cause: error, evidence: error.evidence, connectivity: unknown(source.label) });
    throw error;
  }
  const describe = (r: TcpProbeResult) => (r.ok ? `connected${r.durationMs !== undefined ? ` in ${r.durationMs}ms` : ""}` : `failed: ${oneLine(r.error ?? "unknown error", 160)}`);
  const evidence = [
    { label: `TCP ${targetAddr} from ${source.label} (${target.describe})`, expected: "blocked", observed: describe(t) },
    { label: `control: TCP ${controlAddr} from ${source.label} (${control.describe})`, expected: "connected", observed: describe(c) },
  ];
  const matrix = [
    connectivity(source.label, target.label, "blocked", t.ok ? "allowed" : c.ok ? "blocked" : "unknown"),
    connectivity(source.label, control.label, "allowed", c.ok ? "allowed" : "blocked"),
  ];
  const local = [t, c].find((r) => r.localTarget);
  if (local) {
    // The destination is an address of the source pod itself: a hijack of its network namespace, never "blocked" or "reachable".
    return { ok: false, message: `${local.remoteAddr ?? "the destination"} is an address of ${source.label}'s own network namespace (a hijack): the verdict cannot be trusted`, evidence, connectivity: matrix };
  }
  if (!c.ok) {
    return {
      ok: false,
      message: `source cannot reach its control target ${control.label} (${oneLine(c.error ?? "failed", 120)}): a blocked verdict cannot be trusted`,
      evidence,
      connectivity: matrix,
    };
  }
  if (t.ok) return { ok: false, message: `${source.label} can connect to ${target.label}: it should be blocked`, evidence, connectivity: matrix };
  return { ok: true, message: `${source.label} → ${target.label} is blocked, while ${control.label} is reachable`, evidence, connectivity: matrix };
}
