/**
 * podNetwork: labrun's echo pods, one per node (checks/podnet.ts), reach each
 * other at their pod IPs and get their own nonce back from the right pod;
 * every pod IP is unique and inside the cluster's pod subnet.
 */
import type { PodNetworkCheck } from "../../runner/schema/scenario.ts";
import { podSubnetOf } from "../../runner/schema/values.ts";
import { CheckEvalError, type CheckContext, type Observation } from "../context.ts";
import { execProbe, randomHex } from "../owned.ts";
import { podView } from "../pods.ts";
import { DEFAULT_PODNET_PORT, ensurePodNet, PODNET_CONTAINER, PODNET_NAMESPACE, podNetworkVerdict, type EchoAnswer, type EchoPod } from "../podnet.ts";
import { goDuration } from "../probe.ts";
import { parseDuration } from "../../runner/util/duration.ts";
import { limiter } from "../../runner/util/limit.ts";
import { errorMessage } from "../../runner/util/text.ts";

const DEFAULT_TIMEOUT_MS = 30_000;

export async function evaluate(ctx: CheckContext, spec: PodNetworkCheck): Promise<Observation> {
  const cluster = ctx.scenario.scenario.spec.cluster;
  const port = spec.port ?? DEFAULT_PODNET_PORT;
  const minNodes = spec.minNodes ?? cluster.nodes.length;
  const podSubnet = ctx.settings.podSubnet ?? podSubnetOf(cluster);
  const image = ctx.probes.image;
  const budget = Math.min(ctx.check.timeout ? parseDuration(ctx.check.timeout) : DEFAULT_TIMEOUT_MS, 60_000);

  const state = await ensurePodNet(ctx.client, { port, image, timeoutMs: budget, signal: ctx.signal });
  const imageProblem = state.notRunning.find((n) => n.imageProblem);
  if (imageProblem) {
    throw new CheckEvalError(`labrun's echo pod cannot start on ${imageProblem.node}: ${imageProblem.imageProblem}`, {
      final: true,
      evidence: [{ label: `labrun's echo pod on ${imageProblem.node}`, expected: `running image ${image}`, observed: `${imageProblem.state}: load the image into the cluster's nodes (labrun does this at \`labrun start\`)` }],
    });
  }
  const pods: (EchoPod & { namespace: string })[] = state.running.map(({ pod, node }) => ({ name: pod.metadata.name, namespace: PODNET_NAMESPACE, node, ips: podView(pod).podIPs }));
  const ours = new Set(pods.map((p) => p.name));
  const others = (await ctx.client.list("v1", "Pod", { signal: ctx.signal }))
    .filter((p) => !(p.metadata.namespace === PODNET_NAMESPACE && ours.has(p.metadata.name)))
    .map((p) => ({ p, v: podView(p) }))
    .filter(({ v }) => v.phase === "Running" && !v.hostNetwork && !v.terminating && v.podIPs.length)
    .map(({ p, v }) => ({ name: `${p.metadata.namespace ?? "default"}/${p.metadata.name}`, ips: v.podIPs }));

  const limit = limiter(12);
  const pairs = pods.flatMap((from) => pods.filter((to) => to !== from).map((to) => ({ from, to })));
  const answers: EchoAnswer[] = await Promise.all(
    pairs.map(({ from, to }) =>
      limit(async (): Promise<EchoAnswer> => {
        const nonce = randomHex(16);
        const base = { from: from.name, to: to.name, nonce };
        const ip = to.ips.find((x) => x.includes(".")) ?? to.ips[0];
        if (!ip) return { ...base, error: "the target has no pod IP" };
        try {
          const r = await execProbe(
            ctx.client,
            { namespace: from.namespace, pod: from.name, container: PODNET_CONTAINER },
            ["echo", "--url", `http://${ip.includes(":") ? `[${ip}]` : ip}:${port}`, "--nonce", nonce, "--timeout", goDuration(ctx.settings.probeTimeoutMs)],
            { probeTimeoutMs: ctx.settings.probeTimeoutMs, signal: ctx.signal },
          );
          const status = typeof r.status === "number" && r.status > 0 ? r.status : undefined;
          const str = (v: unknown) => (typeof v === "string" && v ? v : undefined);
          const hostname = str(r.hostname);
          return {
            ...base,
            ...(status !== undefined ? { status } : {}),
            ...(status === 200 && hostname !== undefined
              ? { reply: { nonceMatch: r.nonceMatch === true, hostname, ...(str(r.podIP) ? { podIP: str(r.podIP)! } : {}), ...(str(r.peer) ? { peer: str(r.peer)! } : {}) } }
              : {}),
            ...(str(r.error) ? { error: str(r.error)! } : {}),
            ...(typeof r.durationMs === "number" ? { durationMs: r.durationMs } : {}),
          };
        } catch (error) {
          if (ctx.signal.aborted) throw error;
          if (error instanceof CheckEvalError && error.final) throw error;
          return { ...base, probeError: errorMessage(error) };
        }
      }),
    ),
  );

  const verdict = podNetworkVerdict({ nodes: state.nodes, pods, notRunning: state.notRunning, others, podSubnet, minNodes, port, answers });
  const evidence = [...state.repaired, ...verdict.evidence];
  if (verdict.couldNotEvaluate) throw new CheckEvalError(verdict.message, { evidence, connectivity: verdict.connectivity });
  const repairedNote = state.repaired.length ? ` (labrun repaired its echo pods first: ${state.repaired.length} changed)` : "";
  return { ok: verdict.ok, message: verdict.message + repairedNote, evidence, connectivity: verdict.connectivity };
}
