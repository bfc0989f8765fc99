/**
 * Nodes, and the one rule for naming them, shared by steps (`run.node`),
 * checks (`nodes:`, `on.node`) and `labrun node`: `all`, a role
 * (`control-plane`, `worker`: every node of it), a node's name, or a kind
 * short name (`worker2` for `<cluster>-worker2`).
 */
import type { ClusterClient, KubeObject } from "./client.ts";

export interface NodeInfo {
  name: string;
  labels: Record<string, string>;
}

export function nodeInfo(node: KubeObject): NodeInfo {
  return { name: node.metadata.name, labels: node.metadata.labels ?? {} };
}

/** The one rule for a control-plane node: its role label, or kind's node name. */
export function isControlPlaneNode(name: string, labels: Record<string, string> = {}): boolean {
  return "node-role.kubernetes.io/control-plane" in labels || "node-role.kubernetes.io/master" in labels || /-control-plane\d*$/.test(name);
}

export function isControlPlane(node: NodeInfo): boolean {
  return isControlPlaneNode(node.name, node.labels);
}

/** The cluster's nodes with their labels, from the API, sorted by name. */
export async function listNodes(client: ClusterClient, signal?: AbortSignal): Promise<NodeInfo[]> {
  const nodes = await client.list("v1", "Node", signal ? { signal } : {});
  return nodes.map(nodeInfo).sort((a, b) => a.name.localeCompare(b.name));
}

/** The nodes a reference names (see the top of this file), sorted by name; `undefined` is `all`. */
export function selectNodes<T>(nodes: readonly T[], ref: string | undefined, info: (node: T) => NodeInfo = (n) => n as NodeInfo): T[] {
  const sorted = [...nodes].sort((a, b) => info(a).name.localeCompare(info(b).name));
  if (!ref || ref === "all") return sorted;
  if (ref === "control-plane") return sorted.filter((n) => isControlPlane(info(n)));
  if (ref === "worker") return sorted.filter((n) => !isControlPlane(info(n)));
  return byName(sorted, ref, info);
}

/**
 * One node (`labrun node LAB NODE`): by name or kind short name first (so
 * `worker` is `<cluster>-worker`), else a role that only one node has.
 */
export function resolveNode(ref: string, nodes: readonly NodeInfo[]): NodeInfo | undefined {
  const named = byName(nodes, ref, (n) => n);
  if (named.length === 1) return named[0];
  const byRole = selectNodes(nodes, ref);
  return byRole.length === 1 ? byRole[0] : undefined;
}

/** How a reference reads in evidence: `every node`, `every worker node`, `node worker2`. */
export function describeNodeSelector(ref: string | undefined): string {
  if (!ref || ref === "all") return "every node";
  if (ref === "control-plane" || ref === "worker") return `every ${ref} node`;
  return `node ${ref}`;
}

function byName<T>(nodes: readonly T[], ref: string, info: (node: T) => NodeInfo): T[] {
  const exact = nodes.filter((n) => info(n).name === ref);
  return exact.length ? exact : nodes.filter((n) => info(n).name.endsWith(`-${ref}`));
}
