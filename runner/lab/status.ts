/** `labrun status`: the labs, whether their clusters run, and (asked for) node readiness. */
import { isControlPlane, type NodeInfo } from "../cluster/nodes.ts";
import type { KindProvider } from "../providers/kind.ts";
import { defaultClientFactory, kindOf, providerFor, type LabClient, type LifecycleOptions } from "./client.ts";
import { LabStore, type LabRecord } from "./state.ts";

export type ClusterState = "running" | "stopped" | "partial" | "missing" | "external" | "unknown";

export interface LabStatusInfo {
  lab: LabRecord;
  /** Whether the lab's node containers run (kind) or its cluster is someone else's (kubeconfig). */
  cluster: ClusterState;
  /** Node readiness, when asked for with `nodes: true` and the API answered. */
  nodes?: { name: string; ready: boolean; reason?: string; role: string }[];
  /** Why node details are missing. */
  nodesError?: string;
}

/** Status of one lab or of all labs; `nodes: true` also asks the API for node readiness (bounded). */
export async function status(options: LifecycleOptions & { name?: string; nodes?: boolean }): Promise<LabStatusInfo[]> {
  const store = options.store ?? new LabStore({ env: options.env ?? process.env });
  const labs = options.name ? [await store.require(options.name)] : await store.list();
  if (labs.length === 0) return [];
  const kind = kindOf(options);
  let containers: Awaited<ReturnType<KindProvider["nodeContainers"]>> | undefined;
  if (labs.some((l) => l.provider === "kind")) {
    containers = await kind.nodeContainers(options.signal).catch(() => undefined);
  }
  const infos: LabStatusInfo[] = [];
  for (const lab of labs) {
    let state: ClusterState = "external";
    if (lab.provider === "kind") {
      if (!containers) state = "unknown";
      else {
        const mine = containers.filter((c) => c.cluster === lab.cluster);
        const running = mine.filter((c) => c.state === "running").length;
        state = mine.length === 0 ? "missing" : running === mine.length ? "running" : running === 0 ? "stopped" : "partial";
      }
    }
    const info: LabStatusInfo = { lab, cluster: state };
    if (options.nodes && (state === "running" || state === "external")) {
      const provider = providerFor(lab, { kind });
      let client: LabClient | undefined;
      try {
        client = await (options.clientFactory ?? defaultClientFactory)({ kubeconfig: lab.kubeconfig, context: lab.context, provider, cluster: lab.cluster });
        await client.ping({ timeoutMs: 5000, ...(options.signal ? { signal: options.signal } : {}) });
        const nodes = await client.list("v1", "Node", options.signal ? { signal: options.signal } : {});
        info.nodes = nodes
          .map((n) => {
            const ready = ((n.status as { conditions?: { type: string; status: string; reason?: string; message?: string }[] } | undefined)?.conditions ?? []).find((c) => c.type === "Ready");
            const node: NodeInfo = { name: n.metadata.name, labels: n.metadata.labels ?? {} };
            return { name: node.name, ready: ready?.status === "True", role: isControlPlane(node) ? "control-plane" : "worker", ...(ready?.status !== "True" && (ready?.message ?? ready?.reason) ? { reason: ready?.message ?? ready?.reason } : {}) };
          })
          .sort((a, b) => a.name.localeCompare(b.name));
      } catch (error) {
        info.nodesError = error instanceof Error ? error.message : String(error);
      } finally {
        await client?.close?.().catch(() => undefined);
      }
    }
    infos.push(info);
  }
  return infos;
}
