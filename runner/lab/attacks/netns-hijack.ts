/**
 * netns-hijack: answer for the target from inside the source pod.
 *
 * A learner who cannot fix a NetworkPolicy or a Service can still make the
 * source pod's own network namespace answer: `kubectl debug <source>
 * --image=nginx` serves the expected page on the target's port, and a second
 * `kubectl debug --profile=netadmin` container puts the target's IP on the
 * pod's loopback, so a connection to the target never leaves the pod. For a
 * `blocked` check the same container adds a blackhole route to the target
 * instead, so the connection fails while the control still works. Both are
 * ephemeral containers added through the pods/ephemeralcontainers
 * subresource, exactly what kubectl does.
 */
import { randomBytes } from "node:crypto";
import type { KubeObject } from "../../cluster/client.ts";
import { errorMessage } from "../../util/text.ts";
import type { Scenario } from "../../schema/scenario.ts";
import { bySource, isRunning, netChecks, podKey, resolveEndpoints, sourceNamespace, sourcePod } from "./network.ts";
import { AttackError, type Attack, type AttackContext, type AttackOutcome } from "./types.ts";

export const HIJACK_SERVER_IMAGE = "docker.io/library/nginx:1.22.1";
/** Has `ip` (iproute2) and a shell. */
export const NETADMIN_IMAGE = "docker.io/curlimages/curl:7.88.1";

const DEFAULT_PAGE = "<!DOCTYPE html><html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>";

interface Plan {
  loopback: Set<string>;
  blackhole: Set<string>;
  /** port → status and body to serve */
  serve: Map<number, { status: number; body: string[] }>;
  checks: string[];
}

export const netnsHijack: Attack = {
  name: "netns-hijack",
  description:
    "An ephemeral nginx container in the source pod serving the expected page, and a NET_ADMIN one putting the target's IP on the pod's loopback (a blackhole route for blocked checks): the source's own network namespace answers for the target.",
  appliesTo: (scenario: Scenario) => netChecks(scenario).some((c) => c.kind === "http" || c.kind === "blocked"),
  async apply(ctx: AttackContext): Promise<AttackOutcome> {
    const skipped: string[] = [];
    const found: { pod: KubeObject; item: { check: string; kind: "http" | "blocked"; ip: string; port: number; status: number; body?: string } }[] = [];
    for (const c of netChecks(ctx.scenario.scenario)) {
      if ((c.kind !== "http" && c.kind !== "blocked") || !c.to) continue;
      const src = await sourcePod(ctx.client, c.from, ctx.signal);
      if (!src || !isRunning(src)) {
        skipped.push(`${c.id}: its source pod does not run in the broken state`);
        continue;
      }
      // A selector target: every matching pod must pass, so every one is hijacked.
      const eps = await resolveEndpoints(ctx.client, c.to, src.metadata.namespace ?? sourceNamespace(c.from), ctx.clusterDomain, ctx.signal);
      if (eps.length === 0) {
        skipped.push(`${c.id}: its target has no address in the broken state`);
        continue;
      }
      for (const ep of eps) {
        found.push({ pod: src, item: { check: c.id, kind: c.kind, ip: ep.ip, port: ep.port, status: c.expectStatus ?? 200, ...(c.bodyContains !== undefined ? { body: c.bodyContains } : {}) } });
      }
    }
    if (found.length === 0) return { skipped: `nothing to hijack: ${skipped.join("; ")}` };
    await ctx.ensureImages([HIJACK_SERVER_IMAGE, NETADMIN_IMAGE]);
    const done: string[] = [];
    for (const { pod, items } of bySource(found)) {
      const plan: Plan = { loopback: new Set(), blackhole: new Set(), serve: new Map(), checks: [...new Set(items.map((i) => i.check))] };
      for (const i of items) {
        if (i.kind === "http") {
          plan.loopback.add(i.ip);
          const s = plan.serve.get(i.port) ?? { status: i.status, body: [] };
          s.body.push(i.body ?? DEFAULT_PAGE);
          plan.serve.set(i.port, s);
        } else plan.blackhole.add(i.ip);
      }
      for (const ip of plan.loopback) plan.blackhole.delete(ip);
      ctx.touch(pod);
      await hijack(ctx, pod, plan);
      const what = [
        plan.loopback.size ? `${[...plan.loopback].join(", ")} on its loopback` : "",
        plan.serve.size ? `nginx on :${[...plan.serve.keys()].join(", :")}` : "",
        plan.blackhole.size ? `a blackhole route to ${[...plan.blackhole].join(", ")}` : "",
      ].filter(Boolean);
      done.push(`${podKey(pod).slice(4)} (${plan.checks.join(", ")}): ${what.join(", ")}`);
    }
    return { applied: `hijacked ${done.join("; ")}${skipped.length ? ` (not: ${skipped.join("; ")})` : ""}` };
  },
};

async function hijack(ctx: AttackContext, pod: KubeObject, plan: Plan): Promise<void> {
  const target = { namespace: pod.metadata.namespace ?? "default", pod: pod.metadata.name };
  const suffix = randomBytes(3).toString("hex");
  const net = [
    ...[...plan.loopback].map((ip) => `ip addr add ${ip}/32 dev lo`),
    ...[...plan.blackhole].map((ip) => `ip route add blackhole ${ip}/32`),
    "exec sleep 86400",
  ].join(" && ");
  try {
    await ctx.client.addEphemeralContainer(
      target,
      {
        name: `debugger-net-${suffix}`,
        image: NETADMIN_IMAGE,
        command: ["sh", "-c", net],
        securityContext: { runAsUser: 0, runAsNonRoot: false, capabilities: { add: ["NET_ADMIN", "NET_RAW"] } },
      },
      { timeoutMs: 60_000, ...(ctx.signal ? { signal: ctx.signal } : {}) },
    );
    if (plan.serve.size) {
      await ctx.client.addEphemeralContainer(target, { name: `debugger-web-${suffix}`, image: HIJACK_SERVER_IMAGE, command: ["sh", "-c", nginxScript(plan.serve)] }, { timeoutMs: 60_000, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    }
  } catch (error) {
    throw new AttackError(`could not add the hijacking containers to pod ${target.namespace}/${target.pod}: ${errorMessage(error)}`, { cause: error });
  }
}

/** Writes the page and a server block per port, then runs nginx in the foreground. */
export function nginxScript(serve: Map<number, { status: number; body: string[] }>): string {
  const lines = ["set -e", "mkdir -p /tmp/hijack"];
  const servers: string[] = [];
  for (const [port, s] of serve) {
    lines.push(`printf '%s\\n' ${shq(s.body.join("\n"))} > /tmp/hijack/${port}.html`);
    const location = s.status === 200 ? `root /tmp/hijack; try_files /${port}.html =404;` : `return ${s.status};`;
    servers.push(`server { listen ${port}; default_type text/html; location / { ${location} } }`);
  }
  lines.push(`printf '%s\\n' ${shq(servers.join("\n"))} > /etc/nginx/conf.d/default.conf`);
  lines.push(`exec nginx -g 'daemon off;'`);
  return lines.join("\n");
}

/** A shell single-quoted word. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
