/**
 * The online path's side of a kind cluster: containerd's registry mirror
 * configuration (hosts.toml per public registry, mounted into every node) and
 * pulling the lab's images in the nodes, by digest where images.lock.json
 * pins one, then tagged with the name scenarios use (so `IfNotPresent` finds
 * the pinned content).
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { InfraError } from "../errors.ts";
import { imageLock, pinnedRef } from "../cluster/image-lock.ts";
import type { ClusterProvider } from "../providers/provider.ts";
import type { RegistryMirror } from "./image-mode.ts";

/** The registries a mirror stands in for, with their real endpoints (containerd's `server`). */
export const MIRRORED_REGISTRIES: Readonly<Record<string, string>> = {
  "docker.io": "https://registry-1.docker.io",
  "registry.k8s.io": "https://registry.k8s.io",
  "ghcr.io": "https://ghcr.io",
  "quay.io": "https://quay.io",
};

/** Where containerd reads hosts.toml files in a node (set by CONTAINERD_CONFIG_PATCH). */
export const CERTS_D = "/etc/containerd/certs.d";

/** kind `containerdConfigPatches` entry: containerd reads per-registry hosts.toml files from CERTS_D. */
export const CONTAINERD_CONFIG_PATCH = `[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "${CERTS_D}"\n`;

/** hosts.toml for one registry: ask the mirror first (pull and resolve), then the registry itself. */
export function hostsToml(registry: string, mirror: RegistryMirror): string {
  const server = MIRRORED_REGISTRIES[registry] ?? `https://${registry}`;
  return [`# labrun: pull ${registry} images through ${mirror.nodeUrl}`, `server = "${server}"`, "", `[host."${mirror.nodeUrl}"]`, `  capabilities = ["pull", "resolve"]`, ""].join("\n");
}

/** Writes DIR/<registry>/hosts.toml for every mirrored registry; DIR is mounted at CERTS_D in the nodes. */
export async function writeMirrorConfig(dir: string, mirror: RegistryMirror): Promise<void> {
  for (const registry of Object.keys(MIRRORED_REGISTRIES)) {
    await mkdir(path.join(dir, registry), { recursive: true });
    await writeFile(path.join(dir, registry, "hosts.toml"), hostsToml(registry, mirror));
  }
}

/** How long one image may take to pull in a node (large images on a slow link). */
export const PULL_DEADLINE_MS = 10 * 60_000;

/**
 * Pulls the images in every node of the cluster through its containerd (CRI,
 * so the mirror configuration applies): `crictl pull NAME@DIGEST`, then
 * `ctr images tag` to the name the manifests use. Nodes pull in parallel.
 */
export async function pullInNodes(provider: ClusterProvider, cluster: string, images: readonly string[], env: NodeJS.ProcessEnv, signal?: AbortSignal): Promise<void> {
  if (!images.length) return;
  const lock = imageLock(env);
  const nodes = await provider.nodes(cluster, signal ? { signal } : {});
  const opts = { timeoutMs: PULL_DEADLINE_MS, ...(signal ? { signal } : {}) };
  await Promise.all(
    nodes.map(async (node) => {
      for (const image of images) {
        const ref = pinnedRef(image, lock);
        const pulled = await provider.execOnNode(cluster, node, ["crictl", "pull", ref], opts);
        if (pulled.exitCode !== 0) {
          throw new InfraError(`node ${node} could not pull ${ref}`, {
            code: "IMAGE_PULL_FAILED",
            output: execOutput(pulled),
            hint: "check that the node reaches the registry (or the mirror: --registry-mirror / LABRUN_REGISTRY_MIRROR); without a registry use the offline images: `npm run images`, then `labrun start --offline`",
          });
        }
        if (ref === image) continue;
        const tagged = await provider.execOnNode(cluster, node, ["ctr", "-n", "k8s.io", "images", "tag", "--force", ref, image], opts);
        if (tagged.exitCode !== 0) throw new InfraError(`node ${node} could not tag ${ref} as ${image}`, { code: "IMAGE_PULL_FAILED", output: execOutput(tagged) });
      }
    }),
  );
}

function execOutput(r: { stdout: string; stderr: string; timedOut: boolean }): string {
  return [r.stdout.trim(), r.stderr.trim(), r.timedOut ? `(no result within ${PULL_DEADLINE_MS / 60_000} min)` : ""].filter(Boolean).join("\n");
}
