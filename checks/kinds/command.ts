/**
 * command: a command in a pod's container (`in`, like kubectl exec) or on
 * nodes (`on`, as root) exits with the expected code and output.
 *
 * The remote command is bounded where labrun can: it runs under `timeout N`
 * (coreutils or busybox), so it cannot outlive the check; in a container
 * without `timeout` it runs bare and only the exec's deadline bounds the wait.
 */
import type { Evidence } from "../../runner/report/model.ts";
import type { CommandCheck } from "../../runner/schema/scenario.ts";
import type { ExecResult } from "../client.ts";
import { CheckEvalError, type CheckContext, type Observation } from "../context.ts";
import { NodeShellUnavailableError } from "../kube-common.ts";
import { describePod, podView, resolvePod, selectNodes } from "../pods.ts";
import { formatDuration, oneLine } from "../util.ts";

/** The container has no `timeout` binary (the runtime's message, or a shell's). */
const NO_TIMEOUT = /"timeout": executable file not found|exec: "timeout"|timeout: not found|timeout: No such file/i;

export async function evaluate(ctx: CheckContext, spec: CommandCheck): Promise<Observation> {
  const want = spec.expect ?? {};
  const wantCode = want.exitCode ?? 0;
  let pattern: RegExp | undefined;
  if (want.stdoutMatches !== undefined) {
    try {
      pattern = new RegExp(want.stdoutMatches, "m");
    } catch (error) {
      throw new CheckEvalError(`stdoutMatches is not a valid regular expression: ${error instanceof Error ? error.message : String(error)}`, { final: true });
    }
  }
  const expected = [`exit ${wantCode}`, want.stdoutContains !== undefined ? `stdout contains ${JSON.stringify(want.stdoutContains)}` : "", pattern ? `stdout matches /${want.stdoutMatches}/` : ""]
    .filter(Boolean)
    .join(", ");
  const judge = (r: ExecResult): { ok: boolean; observed: string } => {
    const timeoutMs = ctx.settings.commandTimeoutMs;
    const code = r.timedOut ? `timed out after ${formatDuration(timeoutMs)}` : r.exitCode === 124 ? "exit 124 (killed by timeout)" : r.exitCode === null ? "no exit status" : `exit ${r.exitCode}`;
    const out = r.stdout.trim() ? `; stdout: ${JSON.stringify(oneLine(r.stdout, 200))}` : "; no stdout";
    const err = r.stderr.trim() ? `; stderr: ${JSON.stringify(oneLine(r.stderr, 160))}` : "";
    const ok =
      !r.timedOut &&
      r.exitCode === wantCode &&
      (want.stdoutContains === undefined || r.stdout.includes(want.stdoutContains)) &&
      (pattern === undefined || pattern.test(r.stdout));
    return { ok, observed: code + out + err };
  };
  const shown = oneLine(spec.command.join(" "), 120);

  if (spec.in) {
    const resolved = await resolvePod(ctx.client, spec.in, "default", ctx.signal);
    if (!resolved.pod) return { ok: false, message: resolved.problem ?? "pod not found", evidence: [{ label: `exec in ${resolved.label}: ${shown}`, expected, observed: "pod not found" }] };
    const v = podView(resolved.pod);
    if (v.phase !== "Running") {
      return { ok: false, message: `pod ${resolved.label} is not running: ${describePod(resolved.pod)}`, evidence: [{ label: `exec in ${resolved.label}: ${shown}`, expected, observed: `pod ${describePod(resolved.pod)}` }] };
    }
    const container = spec.in.container ?? v.containers[0]?.name;
    if (!container) throw new CheckEvalError(`pod ${resolved.label} has no containers`);
    if (spec.in.container && !v.containers.some((c) => c.name === spec.in!.container)) {
      return { ok: false, message: `pod ${resolved.label} has no container ${spec.in.container}`, evidence: [{ label: `exec in ${resolved.label}`, expected: `container ${spec.in.container}`, observed: `containers: ${v.containers.map((c) => c.name).join(", ")}` }] };
    }
    const target = { namespace: resolved.namespace, pod: resolved.pod.metadata.name, container };
    const run = (argv: string[]) => ctx.client.exec(target, argv, { timeoutMs: ctx.settings.commandTimeoutMs, signal: ctx.signal });
    let r = await run(bounded(spec.command, ctx.settings.commandTimeoutMs));
    if (!r.timedOut && r.exitCode !== 0 && NO_TIMEOUT.test(r.stderr + r.stdout)) r = await run(spec.command);
    const { ok, observed } = judge(r);
    const label = `exec in ${resolved.label} (${container}): ${shown}`;
    return { ok, message: ok ? `\`${shown}\` in ${resolved.label}: ${expected}` : `\`${shown}\` in ${resolved.label}: ${observed.split(";")[0]}`, evidence: [{ label, expected, observed }] };
  }

  const which = spec.on?.node ?? "all";
  const all = await ctx.client.list("v1", "Node", { signal: ctx.signal });
  const nodes = selectNodes(all, which);
  if (nodes.length === 0) return { ok: false, message: `no node matches "${which}"`, evidence: [{ label: "nodes", expected: which, observed: all.map((n) => n.metadata.name).join(", ") || "none" }] };
  const evidence: Evidence[] = [];
  const bad: string[] = [];
  await Promise.all(
    nodes.map(async (node, i) => {
      let r: ExecResult;
      try {
        r = await ctx.client.runOnNode(node.metadata.name, bounded(spec.command, ctx.settings.commandTimeoutMs), { timeoutMs: ctx.settings.commandTimeoutMs, signal: ctx.signal });
      } catch (error) {
        if (error instanceof NodeShellUnavailableError) throw new CheckEvalError(error.message, { final: true, cause: error });
        throw error;
      }
      const { ok, observed } = judge(r);
      evidence[i] = { label: `on node ${node.metadata.name}: ${shown}`, expected, observed };
      if (!ok) bad.push(node.metadata.name);
    }),
  );
  bad.sort();
  if (bad.length) {
    const first = evidence.find((e) => e.label.startsWith(`on node ${bad[0]}:`));
    return { ok: false, message: `\`${shown}\` failed on ${bad.join(", ")}: ${(first?.observed ?? "").split(";")[0]}`, evidence };
  }
  return { ok: true, message: `\`${shown}\` on ${nodes.length === 1 ? `node ${nodes[0]!.metadata.name}` : `${nodes.length} nodes`}: ${expected}`, evidence };
}

/** `timeout N cmd...`, N a little under the exec deadline so the remote side ends first. */
export function bounded(command: string[], timeoutMs: number): string[] {
  const seconds = Math.max(1, Math.ceil(timeoutMs / 1000) - 1);
  return ["timeout", String(seconds), ...command];
}
