/**
 * http checks that involve a host outside the cluster (`spec.outside`), or
 * that require labrun's echo from a pod (`expect.echoFrom`):
 *
 *   - to an outside host: labrun's probe in the source asks the host's echo
 *     server with a fresh nonce; only the nonce back, from the host's name,
 *     counts (anything else answering on the address is not the host);
 *   - from an outside host: the probe runs in the host's container (outside
 *     the pod network), for example towards a node's IP and a hostPort;
 *   - `expect.echoFrom`: the answer must carry the nonce and the name of that
 *     pod (a pod on the host network answers with the node's name).
 */
import { randomBytes } from "node:crypto";
import type { HttpCheck, Target } from "../../runner/schema/scenario.ts";
import { CheckEvalError, type CheckContext, type Observation } from "../context.ts";
import { PROBE_BINARY } from "../probe-container.ts";
import { echoResult, goDuration, parseLine, type EchoProbeResult } from "../probe-protocol.ts";
import { resolvePod } from "../pods.ts";
import { oneLine } from "../../runner/util/text.ts";
import { connectivity, hostPart, isFailure, outsideAddress, resolveSource, resolveTarget } from "./network.ts";
import { describeTo, fromLabel, withMatrix } from "./http.ts";

/** Whether the http check goes through this module. */
export function usesEcho(spec: HttpCheck): boolean {
  return spec.from.outside !== undefined || spec.to.outside !== undefined || spec.expect?.echoFrom !== undefined;
}

interface Source {
  label: string;
  namespace: string;
  echo(url: string, nonce: string, expectHostname: string | undefined): Promise<EchoProbeResult>;
  http(url: string): Promise<Record<string, unknown>>;
}

export async function evaluateEcho(ctx: CheckContext, spec: HttpCheck): Promise<Observation> {
  const toGuess = describeTo(spec.to, spec.from.namespace ?? "default");
  const source = await sourceOf(ctx, spec);
  if (isFailure(source)) return withMatrix(source.failure, [connectivity(spec.from.outside !== undefined ? `outside/${spec.from.outside}` : fromLabel({ from: spec.from }), toGuess, "allowed", "unknown")]);
  if (spec.to.selector !== undefined) throw new CheckEvalError("an http check with an outside host or expect.echoFrom takes one target (pod, service, host, outside or node), not a selector", { final: true });
  const target = await resolveTarget(ctx, spec.to as Target, source.namespace);
  if (isFailure(target)) return withMatrix(target.failure, [connectivity(source.label, toGuess, "allowed", "unknown")]);
  const unknown = [connectivity(source.label, target.label, "allowed", "unknown")];

  let expectHostname = target.outside?.hostname;
  let who = target.outside ? `outside host ${target.outside.name}` : undefined;
  if (!expectHostname && spec.expect?.echoFrom) {
    const ref = spec.expect.echoFrom;
    const r = await resolvePod(ctx.client, ref, source.namespace, ctx.signal, ctx.workloads);
    if (!r.pod) return withMatrix({ ok: false, message: `the pod that must answer (${r.label}) ${r.problem ?? "is not found"}`, evidence: [{ label: `echo pod ${r.label}`, expected: "a running pod", observed: "not found" }] }, unknown);
    expectHostname = r.pod.metadata.name;
    who = `pod ${r.pod.metadata.namespace ?? source.namespace}/${r.pod.metadata.name}`;
  }
  const base = `http://${hostPart(target.host)}:${target.port}`;
  if (!expectHostname) return plainHttp(spec, source, target.label, target.describe, `${base}${spec.path ?? "/"}`);

  const nonce = randomBytes(12).toString("hex");
  const r = await source.echo(base, nonce, expectHostname);
  const label = `labrun echo ${base} from ${source.label} (${target.describe})`;
  const expected = `the nonce back from ${who} (host name ${expectHostname})`;
  const matrix = [connectivity(source.label, target.label, "allowed", r.ok ? "allowed" : r.status !== undefined ? "unknown" : "blocked")];
  if (r.localTarget) {
    return { ok: false, message: `${target.label} answered from inside ${source.label} itself (a hijack of its network namespace), not ${who}`, evidence: [{ label, expected, observed: `local address ${r.remoteAddr ?? target.host}` }], connectivity: matrix };
  }
  if (r.ok) {
    return { ok: true, message: `${source.label} reached ${who} at ${target.host}:${target.port}`, evidence: [{ label, expected, observed: `answered by ${r.hostname ?? expectHostname} with the nonce${r.peer ? `; it saw the client as ${r.peer}` : ""}${r.durationMs !== undefined ? ` in ${r.durationMs}ms` : ""}` }], connectivity: matrix };
  }
  const observed = echoProblem(r, expectHostname);
  return { ok: false, message: `${source.label} did not reach ${who} at ${target.host}:${target.port}: ${observed}`, evidence: [{ label, expected, observed }], connectivity: matrix };
}

/** What went wrong with an echo, in a learner's words. */
export function echoProblem(r: EchoProbeResult, expectHostname: string | undefined): string {
  if (r.status === undefined) return `no answer: ${oneLine(r.error ?? "unknown error", 160)}${r.durationMs !== undefined ? ` (after ${r.durationMs}ms)` : ""}`;
  if (!r.nonceMatch) return `something answered (HTTP ${r.status}) but not labrun's echo with the nonce: not the expected server`;
  if (expectHostname && r.hostname !== expectHostname) return `the echo came from host name "${r.hostname ?? "?"}", not "${expectHostname}"${r.hostname ? " (a pod on the host network answers with its node's name)" : ""}`;
  return oneLine(r.error ?? "failed", 160);
}

async function plainHttp(spec: HttpCheck, source: Source, targetLabel: string, describe: string, url: string): Promise<Observation> {
  const r = await source.http(url);
  const status = typeof r.status === "number" && r.status > 0 ? r.status : undefined;
  const body = typeof r.body === "string" ? r.body : "";
  const want = spec.expect?.status ?? 200;
  const wantBody = spec.expect?.bodyContains;
  const expected = `HTTP ${want}${wantBody ? `, body contains ${JSON.stringify(wantBody)}` : ""}`;
  const label = `GET ${url} from ${source.label} (${describe})`;
  if (status === undefined) {
    const error = typeof r.error === "string" ? r.error : "no response";
    return { ok: false, message: `${source.label} cannot reach ${targetLabel}: ${oneLine(error, 160)}`, evidence: [{ label, expected, observed: `no response: ${oneLine(error, 200)}` }], connectivity: [connectivity(source.label, targetLabel, "allowed", "blocked")] };
  }
  const ok = status === want && (wantBody === undefined || body.includes(wantBody));
  return {
    ok,
    message: ok ? `${source.label} reached ${targetLabel}: ${expected}` : `${source.label} reached ${targetLabel} but got HTTP ${status}${wantBody && !body.includes(wantBody) ? ` without ${JSON.stringify(wantBody)}` : ""}`,
    evidence: [{ label, expected, observed: `HTTP ${status}; body: ${JSON.stringify(oneLine(body, 160))}` }],
    connectivity: [connectivity(source.label, targetLabel, "allowed", "allowed")],
  };
}

async function sourceOf(ctx: CheckContext, spec: HttpCheck): Promise<Source | { failure: Observation }> {
  const name = spec.from.outside;
  if (name === undefined) {
    const s = await resolveSource(ctx, spec.from);
    if (isFailure(s)) return s;
    const timeoutMs = ctx.settings.probeTimeoutMs;
    return {
      label: s.label,
      namespace: s.pod.metadata.namespace ?? "default",
      echo: (url, nonce, expectHostname) => ctx.probes.echo(s.pod, url, { nonce, timeoutMs, signal: ctx.signal, ...(expectHostname ? { expectHostname } : {}) }),
      http: async (url) => ({ ...(await ctx.probes.http(s.pod, url, { timeoutMs, signal: ctx.signal })) }),
    };
  }
  const address = await outsideAddress(ctx, name);
  if (address.problem) return { failure: { ok: false, message: `the outside host ${name} cannot run the probe: ${address.problem}`, evidence: [{ label: `outside host ${name}`, expected: "running", observed: address.problem }] } };
  const run = async (args: string[]): Promise<Record<string, unknown>> => {
    const timeout = goDuration(ctx.settings.probeTimeoutMs);
    const r = await ctx.outside!.exec(name, [PROBE_BINARY, ...args, "--timeout", timeout], { timeoutMs: ctx.settings.probeTimeoutMs + 10_000, signal: ctx.signal });
    const line = r.stdout
      .split("\n")
      .map((l) => parseLine(l.trim()))
      .filter((l) => l !== undefined)
      .pop();
    if (!line) throw new CheckEvalError(`labrun's probe in the outside host ${name} printed no result (exit ${r.exitCode ?? "unknown"})${r.stderr ? `: ${oneLine(r.stderr, 200)}` : ""}`);
    return line;
  };
  return {
    label: `outside/${name}`,
    namespace: "default",
    echo: async (url, nonce, expectHostname) => echoResult(await run(["echo", "--url", url, "--nonce", nonce, ...(expectHostname ? ["--expect-hostname", expectHostname] : [])])),
    http: (url) => run(["http", "--url", url]),
  };
}
