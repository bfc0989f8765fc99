/**
 * images.lock.json: the images labrun's labs use, for both ways of getting
 * them. Offline, tools/images/build.sh builds them under these names (its
 * versions.sh names the same images; a unit test keeps the two equal).
 * Online, the node image is kind's published image for the pinned kind
 * release and every other image is pulled from its public name, by digest
 * where the lock knows one.
 *
 * `$LABRUN_IMAGES_LOCK` names a JSON file laid over the packaged lock (same
 * shape, any subset): for tests that fill a registry with their own builds,
 * whose digests differ from the public ones (test/e2e/online). The product's
 * pins stay the public ones.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { InfraError, UsageError } from "../errors.ts";

export interface NodeLock {
  /** The node image tools/images builds (offline). */
  offline: string;
  /** kind's published node image (online), by tag... */
  online: string;
  /** ...and digest (sha256:...), as kind pins it. */
  onlineDigest: string | null;
  /** The Kubernetes version of the online image (kind may publish no image for the exact patch). */
  onlineKubernetesVersion: string;
  source?: string;
}

export interface ImageLockEntry {
  /** The image's public name, as scenarios and add-ons reference it (registry/repository:tag). */
  name: string;
  /** Its public digest, or null when none was established (pulled by tag). */
  digest: string | null;
  source?: string;
}

export interface ImageLock {
  kind: string;
  nodes: Record<string, NodeLock>;
  images: ImageLockEntry[];
}

/** images.lock.json at the package root, seen from runner/cluster (source) and dist/runner/cluster (compiled). */
export function lockPath(): string {
  const candidates = [new URL("../../images.lock.json", import.meta.url), new URL("../../../images.lock.json", import.meta.url)].map((u) => fileURLToPath(u));
  return candidates.find((p) => existsSync(p)) ?? candidates[0]!;
}

let packaged: ImageLock | undefined;

/** The packaged lock, laid over with $LABRUN_IMAGES_LOCK when set. */
export function imageLock(env: NodeJS.ProcessEnv = process.env): ImageLock {
  packaged ??= readLock(lockPath(), "labrun's images.lock.json");
  const overlay = env.LABRUN_IMAGES_LOCK;
  return overlay ? mergeLocks(packaged, readLock(overlay, `$LABRUN_IMAGES_LOCK (${overlay})`), `$LABRUN_IMAGES_LOCK (${overlay})`) : packaged;
}

/**
 * The packaged lock with an overlay's entries laid over it. An overlay may
 * replace a digest (a test registry holds its own builds) but never unpin an
 * image the packaged lock pins: what the nodes pull stays pulled by digest.
 */
export function mergeLocks(base: ImageLock, over: Partial<ImageLock>, what = "the overlay"): ImageLock {
  const images = new Map(base.images.map((i) => [i.name, i]));
  for (const i of over.images ?? []) {
    const pinned = images.get(i.name)?.digest;
    if (pinned && !i.digest) throw new UsageError(`${what}: image ${i.name} is pinned by digest in labrun's images.lock.json; an overlay may replace the digest, not drop it`, { hint: "give the digest your registry holds for it" });
    images.set(i.name, { ...images.get(i.name), ...i });
  }
  const nodes: Record<string, NodeLock> = { ...base.nodes };
  for (const [v, n] of Object.entries(over.nodes ?? {})) {
    if (nodes[v]?.onlineDigest && "onlineDigest" in n && !n.onlineDigest) throw new UsageError(`${what}: the node image for ${v} is pinned by digest in labrun's images.lock.json; an overlay may replace the digest, not drop it`);
    nodes[v] = { ...nodes[v]!, ...n };
  }
  return { kind: over.kind ?? base.kind, nodes, images: [...images.values()] };
}

function readLock(file: string, what: string): ImageLock {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    const message = `cannot read ${what}: ${error instanceof Error ? error.message : String(error)}`;
    if (what.startsWith("$")) throw new UsageError(message, { cause: error, hint: "fix the file or unset LABRUN_IMAGES_LOCK" });
    throw new InfraError(message, { cause: error, hint: "reinstall labrun" });
  }
  const lock = parsed as Partial<ImageLock>;
  for (const i of lock.images ?? []) {
    if (typeof i.name !== "string" || (i.digest !== null && i.digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(i.digest))) {
      throw new UsageError(`${what}: image ${JSON.stringify(i.name)} needs a name and a digest "sha256:<64 hex>" or null`, { hint: "fix the file" });
    }
  }
  return { kind: lock.kind ?? "", nodes: lock.nodes ?? {}, images: lock.images ?? [] };
}

/** The reference to pull an image by: `name@digest` when the lock pins it, else the name itself. */
export function pinnedRef(image: string, lock: ImageLock): string {
  const digest = lock.images.find((i) => i.name === image)?.digest;
  return digest ? `${repositoryOf(image)}@${digest}` : image;
}

/** `docker.io/library/nginx:1.22.1` → `docker.io/library/nginx` (a digest or tag dropped; a registry port kept). */
export function repositoryOf(image: string): string {
  const noDigest = image.split("@")[0]!;
  const slash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/** The online node image for a Kubernetes version: `name:tag@digest` (kind's own form), or undefined when the lock has none. */
export function onlineNodeImage(version: string, lock: ImageLock): string | undefined {
  const node = lock.nodes[version];
  if (!node) return undefined;
  return node.onlineDigest ? `${node.online}@${node.onlineDigest}` : node.online;
}
