/** Wait until the cluster's nodes have registered with the API (not until they are Ready: a lab may be broken there). */
import type { ClusterClient } from "../../cluster/client.ts";
import { listNodes, type NodeInfo } from "../../cluster/nodes.ts";
import { InfraError } from "../../errors.ts";
import { abortError } from "../../providers/kind.ts";
import { poll } from "../../util/poll.ts";
import type { Action } from "./action.ts";

export const waitForNodes: Action = {
  name: "wait for the nodes to register",
  status: () => ({ phase: "cluster", title: "nodes registered" }),
  async execute(ctx) {
    // A new cluster has all of the scenario's nodes; someone else's has at least one.
    const expected = ctx.can.createClusters ? ctx.loaded.scenario.spec.cluster.nodes.length : 1;
    const nodes = await registeredNodes(ctx.client!, expected, ctx.options.nodesTimeoutMs ?? 120_000, ctx.signal);
    ctx.nodes = nodes;
    ctx.lab = await ctx.store.update(ctx.name, (r) => {
      r.nodes = nodes.map((n) => n.name);
    });
    return `${nodes.length} node${nodes.length === 1 ? "" : "s"}`;
  },
};

export async function registeredNodes(client: ClusterClient, expected: number, timeoutMs: number, signal?: AbortSignal): Promise<NodeInfo[]> {
  let last = "no answer from the API yet";
  const nodes = await poll(
    async () => {
      try {
        const nodes = await listNodes(client, signal);
        if (nodes.length >= expected) return nodes;
        last = `${nodes.length} of ${expected} nodes: ${nodes.map((n) => n.name).join(", ") || "none"}`;
      } catch (error) {
        if (signal?.aborted) throw abortError(signal);
        last = error instanceof Error ? error.message : String(error);
      }
      return undefined;
    },
    { timeoutMs, intervalMs: 1000, ...(signal ? { signal } : {}) },
  ).catch((error: unknown) => {
    throw signal?.aborted ? abortError(signal) : error;
  });
  if (nodes) return nodes;
  throw new InfraError(`nodes did not register within ${Math.round(timeoutMs / 1000)}s (${last})`, {
    code: "NODES_NOT_REGISTERED",
    hint: "look at the kubelet: `docker exec <node> journalctl -u kubelet --no-pager | tail -50`",
  });
}
