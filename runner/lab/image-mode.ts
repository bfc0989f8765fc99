/**
 * Two ways to get a lab's images. Offline: tools/images/build.sh built them
 * (`npm run images`) and labrun side-loads them into the nodes. Online: the
 * node image is kind's published image for the pinned kind release, and the
 * nodes pull every other image from its public name (by digest where
 * images.lock.json pins one), through a registry mirror when one is set.
 *
 * `start` decides by itself unless told (`--online`/`--offline`,
 * $LABRUN_IMAGES): offline when the offline images are all present locally,
 * online when they are not and a registry answers. The decision is quick and
 * cannot hang: a few `docker image inspect` calls and one HTTP request with a
 * deadline of a few seconds.
 */
import { UsageError } from "../errors.ts";
import { imageLock, onlineNodeImage, type ImageLock } from "../cluster/image-lock.ts";
import { DEFAULT_KUBERNETES_VERSION } from "../cluster/images.ts";
import type { ClusterSpec } from "../schema/scenario.ts";
import { nodeImageFor } from "./render.ts";

export type ImageMode = "online" | "offline";
export type ImageModeRequest = ImageMode | "auto";

/** Where a registry is asked when no mirror is set (Docker Hub's API endpoint). */
export const DEFAULT_REGISTRY = "https://registry-1.docker.io";
/** How long the registry may take to answer before `start` decides it is unreachable. */
export const REGISTRY_DEADLINE_MS = 3000;

/**
 * A pull-through cache (or any registry holding the images under their public
 * repository paths). `url` is how the host's Docker reaches it (the node image
 * is pulled through it); `nodeUrl` how the kind nodes' containerd does (the
 * same unless $LABRUN_REGISTRY_MIRROR_NODES says otherwise, as in kind's
 * local-registry setup: localhost:5001 on the host, kind-registry:5000 on the
 * kind network).
 */
export interface RegistryMirror {
  url: string;
  nodeUrl: string;
}

export interface ImageChoice {
  mode: ImageMode;
  /** Why, in a few words (printed by start and doctor). */
  reason: string;
  /** The node image kind gets. */
  nodeImage: string;
  mirror?: RegistryMirror;
}

/** `--online`/`--offline`, else $LABRUN_IMAGES (online, offline or auto), else auto. */
export function requestedMode(env: NodeJS.ProcessEnv, option?: ImageModeRequest): ImageModeRequest {
  const value = option ?? (env.LABRUN_IMAGES || "auto");
  if (value === "auto" || value === "online" || value === "offline") return value;
  throw new UsageError(`LABRUN_IMAGES=${value} is not a way to get images`, { hint: "use online, offline or auto (or the --online/--offline flags)" });
}

/** `--registry-mirror URL`, else $LABRUN_REGISTRY_MIRROR; the nodes' address from $LABRUN_REGISTRY_MIRROR_NODES. */
export function registryMirror(env: NodeJS.ProcessEnv, option?: string): RegistryMirror | undefined {
  const raw = option || env.LABRUN_REGISTRY_MIRROR;
  if (!raw) return undefined;
  const url = mirrorUrl(raw, option ? "--registry-mirror" : "LABRUN_REGISTRY_MIRROR");
  const nodeUrl = env.LABRUN_REGISTRY_MIRROR_NODES ? mirrorUrl(env.LABRUN_REGISTRY_MIRROR_NODES, "LABRUN_REGISTRY_MIRROR_NODES") : url;
  return { url, nodeUrl };
}

function mirrorUrl(raw: string, what: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(raw) ? raw : `https://${raw}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    throw new UsageError(`${what}: "${raw}" is not a URL`, { hint: "give the mirror as http(s)://host[:port], for example http://localhost:5001" });
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new UsageError(`${what}: "${raw}" must be an http:// or https:// URL`);
  if (parsed.pathname !== "/" || parsed.search) throw new UsageError(`${what}: "${raw}" has a path; give the registry's root (http(s)://host[:port])`, { hint: "containerd asks a mirror for /v2/<repository>/..." });
  return `${parsed.protocol}//${parsed.host}`;
}

/** `http://localhost:5001` + `docker.io/kindest/node:v1.34.0@sha256:…` → `localhost:5001/kindest/node@sha256:…` (the public registry's host replaced by the mirror's). */
export function throughMirror(mirror: RegistryMirror, image: string): string {
  const host = new URL(mirror.url).host;
  const [name, digest] = image.split("@") as [string, string | undefined];
  const first = name.split("/")[0]!;
  const hasRegistry = name.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  let path = hasRegistry ? name.slice(first.length + 1) : name;
  if ((!hasRegistry || first === "docker.io") && !path.includes("/")) path = `library/${path}`;
  if (digest) path = path.replace(/:[^/:]+$/, "");
  return `${host}/${path}${digest ? `@${digest}` : ""}`;
}

/** Asks `url/v2/` (the registry API's root) for an answer within the deadline: any HTTP status is an answer (401 is Docker Hub's). */
export async function registryAnswers(url: string, options: { timeoutMs?: number; fetch?: typeof fetch } = {}): Promise<{ ok: true; ms: number } | { ok: false; error: string }> {
  const t0 = performance.now();
  try {
    const response = await (options.fetch ?? fetch)(`${url}/v2/`, { method: "GET", redirect: "manual", signal: AbortSignal.timeout(options.timeoutMs ?? REGISTRY_DEADLINE_MS) });
    await response.body?.cancel().catch(() => undefined);
    return { ok: true, ms: Math.round(performance.now() - t0) };
  } catch (error) {
    const e = error as Error & { cause?: { code?: string; message?: string } };
    const error_ = e.name === "TimeoutError" ? `no answer within ${options.timeoutMs ?? REGISTRY_DEADLINE_MS} ms` : (e.cause?.code ?? e.cause?.message ?? e.message);
    return { ok: false, error: error_ };
  }
}

export interface ChooseRequest {
  cluster: Pick<ClusterSpec, "nodeImage" | "kubernetesVersion">;
  env: NodeJS.ProcessEnv;
  request: ImageModeRequest;
  mirror?: RegistryMirror | undefined;
  /** The images the lab side-loads from the local Docker when offline (workload, add-ons; not the node image). */
  dockerImages: readonly string[];
  /** Which of these images the local Docker lacks (preflight's probe). */
  missingImages(images: string[]): Promise<string[]>;
  /** Whether a registry answers (default: registryAnswers). */
  answers?: (url: string) => Promise<{ ok: true; ms: number } | { ok: false; error: string }>;
  lock?: ImageLock;
}

/** Offline or online, the node image, and why. */
export async function chooseImages(r: ChooseRequest): Promise<ImageChoice> {
  const lock = r.lock ?? imageLock(r.env);
  const mirror = r.mirror ? { mirror: r.mirror } : {};
  const offlineNode = nodeImageFor(r.cluster, r.env);
  const explicit = Boolean(r.env.LABRUN_NODE_IMAGE || r.cluster.nodeImage);
  const online = (reason: string): ImageChoice => ({ mode: "online", reason, nodeImage: explicit ? offlineNode : onlineNode(r.cluster, lock, r.mirror), ...mirror });
  if (r.request === "offline") return { mode: "offline", reason: "asked for (--offline)", nodeImage: offlineNode };
  if (r.request === "online") return online("asked for (--online)");
  const missing = await r.missingImages([offlineNode, ...r.dockerImages]);
  if (!missing.length) return { mode: "offline", reason: "the offline images are present", nodeImage: offlineNode };
  const registry = r.mirror?.url ?? DEFAULT_REGISTRY;
  const answer = await (r.answers ?? ((url) => registryAnswers(url)))(registry);
  const lacking = `${missing.length} offline image${missing.length === 1 ? "" : "s"} missing`;
  if (answer.ok) return online(`${lacking}; ${registry} answered in ${answer.ms} ms`);
  return { mode: "offline", reason: `${lacking} and no registry answered (${registry}: ${answer.error})`, nodeImage: offlineNode };
}

/** kind's published node image for the scenario's Kubernetes version (through the mirror when one is set). */
export function onlineNode(cluster: Pick<ClusterSpec, "kubernetesVersion">, lock: ImageLock, mirror?: RegistryMirror): string {
  const version = cluster.kubernetesVersion ?? DEFAULT_KUBERNETES_VERSION;
  const image = onlineNodeImage(version, lock);
  if (!image) {
    throw new UsageError(`labrun has no online node image for Kubernetes ${version} (images.lock.json knows: ${Object.keys(lock.nodes).join(", ")})`, {
      hint: "use the offline images (`npm run images`, then `labrun start --offline`), or set spec.cluster.nodeImage",
    });
  }
  return mirror ? throughMirror(mirror, image) : image;
}
