/**
 * A cluster's shape: everything `kind create cluster` is given for a scenario
 * (the rendered kind config: nodes and roles, CNI on or off, subnets, kube-proxy
 * mode, pass-through settings) and the node image (the Kubernetes version).
 * Two scenarios of one shape can share warm pool clusters; the key is a short
 * hash of that, stable across runs and machines.
 */
import { createHash } from "node:crypto";
import type { ClusterSpec } from "../../schema/scenario.ts";
import { nodeImageFor, renderKindConfig } from "../render.ts";

export interface ClusterShape {
  /** 12 hex digits. */
  key: string;
  nodeImage: string;
  /** How many nodes a cluster of this shape has. */
  nodes: number;
}

/**
 * `images`: the node image and the nodes' mirror of the online path (default:
 * the offline node image, no mirror); an online cluster is of another shape.
 */
export function shapeOf(cluster: ClusterSpec, env: NodeJS.ProcessEnv = process.env, images?: { nodeImage: string; mirror?: string | undefined }): ClusterShape {
  const nodeImage = images?.nodeImage ?? nodeImageFor(cluster, env);
  const config = renderKindConfig(cluster); // without the mark: it names the owner, not the shape
  const key = createHash("sha256").update(canonical({ config, nodeImage, ...(images?.mirror ? { mirror: images.mirror } : {}) })).digest("hex").slice(0, 12);
  return { key, nodeImage, nodes: cluster.nodes.length };
}

/** JSON with sorted object keys, so equal configs hash equal whatever their key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
