/**
 * nodesReady: nodes are Ready (or, with `ready: false`, NotReady). When a node
 * is not Ready the evidence carries the kubelet's own words from the Ready
 * condition, e.g. "container runtime network not ready: NetworkReady=false
 * reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin
 * not initialized".
 *
 * The Ready condition is an API object anyone with cluster-admin can write
 * (`kubectl patch node --subresource=status`): a node the API calls Ready
 * counts only when its kubelet runs and its runtime is ready on the node
 * itself (checks/kubelet.ts), where the cluster has a node shell.
 */
import type { Evidence } from "../../runner/schema/report.ts";
import type { NodesReadyCheck } from "../../runner/schema/scenario.ts";
import { CheckEvalError, type CheckContext, type Observation } from "../context.ts";
import { lookAtKubelets } from "../kubelet.ts";
import { nodeReadiness } from "../pods.ts";
import { errorMessage } from "../../runner/util/text.ts";
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
  const readyInApi = nodes.filter((n) => nodeReadiness(n).ready).map((n) => n.metadata.name);
  const kubelets = wantReady && readyInApi.length ? await kubeletLooks(ctx, readyInApi) : undefined;
  for (const node of nodes) {
    const name = node.metadata.name;
    const r = nodeReadiness(node);
    const look = kubelets?.get(name);
    let observed = r.description;
    let ready = r.ready;
    if (r.ready && look?.problem) {
      ready = false;
      observed = `Ready in the API only: ${look.problem} (a Ready condition written through the API is not a Ready node)`;
    }
    evidence.push({ label: `node ${name}`, expected: wantReady ? "Ready" : "NotReady", observed });
    if (ready !== wantReady) wrong.push(name);
  }
  if (wrong.length === 0) {
    return { ok: true, message: `${nodes.length} node${nodes.length === 1 ? "" : "s"} ${wantReady ? "Ready" : "NotReady"}${kubelets ? " (kubelets running)" : ""}`, evidence };
  }
  const firstReason = evidence.find((e) => e.label === `node ${wrong[0]}`)?.observed ?? "";
  return {
    ok: false,
    message: `${wrong.length} of ${nodes.length} node${nodes.length === 1 ? "" : "s"} ${wantReady ? "not Ready" : "Ready"}: ${wrong.join(", ")}${wantReady && firstReason ? ` (${firstReason.replace(/^NotReady( \([^)]*\))?: /, "")})` : ""}`,
    evidence,
  };
}

async function kubeletLooks(ctx: CheckContext, nodes: string[]) {
  try {
    return await lookAtKubelets(ctx.client, nodes, { timeoutMs: ctx.settings.commandTimeoutMs, signal: ctx.signal });
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    throw new CheckEvalError(`could not ask the nodes whether their kubelets run: ${errorMessage(error)}`, { cause: error });
  }
}
