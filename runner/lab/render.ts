/**
 * Renders the kind `Cluster` config (kind.x-k8s.io/v1alpha4) from a scenario's
 * `spec.cluster`, and picks the node image.
 */
import type { ClusterSpec } from "../schema/scenario.ts";
import { UsageError } from "../errors.ts";
import { LABRUN_MARK_PATH } from "../providers/kind.ts";
import { DEFAULT_KUBERNETES_VERSION, NODE_IMAGES } from "../cluster/images.ts";
import { CERTS_D, CONTAINERD_CONFIG_PATCH } from "./online-images.ts";

export interface RenderOptions {
  /**
   * A host directory mounted read-only into every node at /kind/labrun: it
   * marks the cluster as labrun's and names the lab directory that owns it
   * (`labrun gc` reads it back with `docker inspect`).
   */
  markDir?: string;
  /**
   * A host directory of containerd hosts.toml files (online path with a
   * registry mirror): mounted read-only at /etc/containerd/certs.d in every
   * node, and containerd is told to read it (runner/lab/online-images.ts).
   */
  registryConfigDir?: string;
}

type Obj = Record<string, unknown>;

export function renderKindConfig(cluster: ClusterSpec, options: RenderOptions = {}): Obj {
  const nodes = cluster.nodes.map((node) => {
    const out: Obj = { role: node.role };
    if (node.labels && Object.keys(node.labels).length) out.labels = { ...node.labels };
    const mounts: Obj[] = [];
    if (options.markDir) mounts.push({ hostPath: options.markDir, containerPath: LABRUN_MARK_PATH, readOnly: true });
    if (options.registryConfigDir) mounts.push({ hostPath: options.registryConfigDir, containerPath: CERTS_D, readOnly: true });
    if (mounts.length) out.extraMounts = mounts;
    return out;
  });
  const networking: Obj = {};
  const n = cluster.networking ?? {};
  if (n.defaultCNI === false) networking.disableDefaultCNI = true;
  if (n.podSubnet) networking.podSubnet = n.podSubnet;
  if (n.serviceSubnet) networking.serviceSubnet = n.serviceSubnet;
  if (n.kubeProxyMode) networking.kubeProxyMode = n.kubeProxyMode;

  const config: Obj = { kind: "Cluster", apiVersion: "kind.x-k8s.io/v1alpha4" };
  // Pass-through settings first, so labrun's own fields win where both are set
  // (the loader already refuses nodes/networking/kind/apiVersion/name there).
  for (const [key, value] of Object.entries(cluster.kind ?? {})) {
    if (key === "kind" || key === "apiVersion" || key === "name") continue;
    config[key] = structuredClone(value);
  }
  config.nodes = mergeNodes(nodes, config.nodes);
  if (options.registryConfigDir) {
    const patches = Array.isArray(config.containerdConfigPatches) ? (config.containerdConfigPatches as unknown[]) : [];
    config.containerdConfigPatches = [...patches, CONTAINERD_CONFIG_PATCH];
  }
  if (Object.keys(networking).length || isObj(config.networking)) {
    config.networking = { ...(isObj(config.networking) ? config.networking : {}), ...networking };
  }
  return config;
}

/** The node image: $LABRUN_NODE_IMAGE, else spec.cluster.nodeImage, else the image labrun knows for kubernetesVersion. */
export function nodeImageFor(cluster: Pick<ClusterSpec, "nodeImage" | "kubernetesVersion">, env: NodeJS.ProcessEnv = process.env): string {
  if (env.LABRUN_NODE_IMAGE) return env.LABRUN_NODE_IMAGE;
  if (cluster.nodeImage) return cluster.nodeImage;
  const version = cluster.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION;
  const image = NODE_IMAGES[version];
  if (image) return image;
  throw new UsageError(`labrun has no node image for Kubernetes ${version} (known: ${Object.keys(NODE_IMAGES).join(", ")})`, {
    hint: "set spec.cluster.nodeImage in the scenario, or LABRUN_NODE_IMAGE=<image> for this run",
  });
}

/** The subnets a cluster gets: defined with the scenario format (checks use them too). */
export { podSubnetOf, serviceSubnetOf } from "../schema/values.ts";

function mergeNodes(nodes: Obj[], passThrough: unknown): Obj[] {
  if (!Array.isArray(passThrough)) return nodes;
  return nodes.map((node, i) => ({ ...(isObj(passThrough[i]) ? passThrough[i] : {}), ...node }));
}

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}
