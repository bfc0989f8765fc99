/**
 * nodesReady: nodes are Ready (or, with `ready: false`, NotReady). When a node
 * is not Ready the evidence carries the kubelet's own words from the Ready
 * condition, e.g. "container runtime network not ready: NetworkReady=false
 * reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin
 * not initialized".
 */
import type { Evidence } from "../../runner/schema/report.ts";
import type { NodesReadyCheck } from "../../runner/schema/scenario.ts";
import type { CheckContext, Observation } from "../context.ts";
import { nodeReadiness } from "../pods.ts";
import { describeNodeSelector, nodeInfo, selectNodes } from "../../runner/cluster/nodes.ts";

export async function evaluate(ctx: CheckContext, spec: NodesReadyCheck): Promise<Observation> {
  const wantReady = spec.ready ?? true;
  const all = await ctx.client.list("v1", "Node", { signal: ctx.signal });
  const nodes = selectNodes(all, spec.nodes, nodeInfo);
  const scope = describeNodeSelector(spec.nodes);
  if (nodes.length === 0) {
    return {
      ok: false,
      message: all.length ? `no node matches "${spec.nodes ?? "all"}"` : "the cluster has no nodes",
      evidence: [{ label: "nodes", expected: scope, observed: all.length ? `nodes: ${all.map((n) => n.metadata.name).join(", ")}` : "none" }],
    };
  }
  const evidence: Evidence[] = [];
  const wrong: string[] = [];
  for (const node of nodes) {
    const r = nodeReadiness(node);
    evidence.push({ label: `node ${node.metadata.name}`, expected: wantReady ? "Ready" : "NotReady", observed: r.description });
    if (r.ready !== wantReady) wrong.push(node.metadata.name);
  }
  if (wrong.length === 0) {
    return { ok: true, message: `${nodes.length} node${nodes.length === 1 ? "" : "s"} ${wantReady ? "Ready" : "NotReady"}`, evidence };
  }
  const firstReason = evidence.find((e) => e.label === `node ${wrong[0]}`)?.observed ?? "";
  return {
    ok: false,
    message: `${wrong.length} of ${nodes.length} node${nodes.length === 1 ? "" : "s"} ${wantReady ? "not Ready" : "Ready"}: ${wrong.join(", ")}${wantReady && firstReason ? ` (${firstReason.replace(/^NotReady( \([^)]*\))?: /, "")})` : ""}`,
    evidence,
  };
}
