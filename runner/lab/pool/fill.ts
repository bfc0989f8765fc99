/**
 * `labrun pool fill`: creates warm clusters for a scenario's cluster shape
 * until `size` are ready or warming, one at a time (a kind create takes both
 * cores of a small machine). Each gets the scenario's images, so a claim does
 * not pay for `kind load`. Filling stops early, with a warning, when the host
 * would no longer have the memory for one more lab of that shape after it.
 */
import type { NodeInfo } from "../../cluster/nodes.ts";
import { InfraError, UsageError } from "../../errors.ts";
import { abortError } from "../../providers/kind.ts";
import { loadScenario, type LoadedScenario } from "../../scenario/load.ts";
import path from "node:path";
import { imagesFor, loadLabImages } from "../actions/images.ts";
import { chooseImages, DEFAULT_REGISTRY, registryMirror, requestedMode, type ImageMode } from "../image-mode.ts";
import { writeMirrorConfig } from "../online-images.ts";
import { registeredNodes } from "../actions/nodes.ts";
import { defaultClientFactory, kindOf, type LabClient, type LifecycleOptions } from "../client.ts";
import { step } from "../events.ts";
import { assertPreflight, GIB, hostProbes, MEMORY_PER_NODE, preflight, type PreflightProbes } from "../preflight.ts";
import { renderKindConfig } from "../render.ts";
import { deleteCluster } from "../start.ts";
import { LabStore } from "../state.ts";
import { shapeOf } from "./shape.ts";
import { PoolStore, type PoolEntry } from "./store.ts";

/** The most clusters one shape may be kept at. */
export const MAX_POOL_SIZE = 20;

export interface FillOptions extends LifecycleOptions {
  /** A scenario name, folder or file, or a scenario already loaded. */
  scenario: string | LoadedScenario;
  /** How many clusters of its shape to keep ready. */
  size: number;
  /** Host checks (tests). */
  probes?: PreflightProbes;
  /** Remember the size, so that `labrun start` refills after a claim (default true). */
  remember?: boolean;
  /** How long nodes may take to register (default 120 s). */
  nodesTimeoutMs?: number;
  /** Create one cluster at most (`labrun test` warming one ahead; `size` is then only the cap). */
  once?: boolean;
  /** After an interrupted create, how long to keep sweeping for node containers still being started (default 4 s). */
  settleMs?: number;
  /** More images to load into each cluster from the local Docker, whatever the image mode (`labrun serve --warm`: its toolbox). */
  extraImages?: readonly string[];
}

export interface FillResult {
  shape: string;
  /** Clusters this fill made ready. */
  created: string[];
  /** Ready or warming clusters of the shape when the fill ended. */
  live: number;
  /** Why the fill stopped before `size` (the memory rule). */
  stopped?: string;
}

export async function fill(options: FillOptions): Promise<FillResult> {
  if (!Number.isInteger(options.size) || options.size < 0 || options.size > MAX_POOL_SIZE) {
    throw new UsageError(`pool size must be a whole number from 0 to ${MAX_POOL_SIZE} (got ${options.size})`, { hint: "e.g. `labrun pool fill --scenario beebox-cni --size 2`" });
  }
  const env = options.env ?? process.env;
  const labs = options.store ?? new LabStore({ env });
  const pool = new PoolStore(labs.dir);
  const kind = kindOf(options);
  const loaded = typeof options.scenario === "string" ? await loadScenario(options.scenario, { cwd: options.cwd ?? process.cwd() }) : options.scenario;
  const images = await imagesFor(loaded.scenario);
  const probes = options.probes ?? hostProbes({ env, ...kind.hostTools() });
  // Online or offline, as `start` decides (runner/lab/image-mode.ts); the way is part of the shape.
  const choice = await chooseImages({
    cluster: loaded.scenario.spec.cluster,
    env,
    request: requestedMode(env),
    mirror: registryMirror(env),
    dockerImages: images, // offline, a pool cluster gets every image from the local Docker
    missingImages: (list) => probes.missingImages(list),
    answers: probes.registry ? (url) => probes.registry!(url) : async () => ({ ok: false, error: "not asked" }),
  });
  const mirror = choice.mode === "online" ? choice.mirror : undefined;
  const shape = shapeOf(loaded.scenario.spec.cluster, env, { nodeImage: choice.nodeImage, mirror: mirror?.nodeUrl });
  if (options.remember !== false) await pool.setTarget(shape.key, { size: options.size, scenarioDir: loaded.dir });
  const result: FillResult = { shape: shape.key, created: [], live: 0 };

  // Docker, kind, inotify and the images once; memory before each cluster.
  const extra = options.extraImages ?? [];
  const checks = await preflight(choice.mode === "online" ? { nodes: shape.nodes, registry: mirror?.url ?? DEFAULT_REGISTRY, ...(extra.length ? { images: [...extra] } : {}) } : { nodes: shape.nodes, images: [shape.nodeImage, ...images, ...extra] }, probes);
  options.onEvent?.({ type: "log", phase: "preflight", line: `images: ${choice.mode} (${choice.reason})` });
  assertPreflight(checks.filter((r) => r.name !== "memory"));

  for (;;) {
    if (options.signal?.aborted) throw abortError(options.signal);
    const live = (await pool.list()).filter((e) => e.shape === shape.key && pool.live(e)).length;
    if (live >= options.size) break;
    const available = await probes.memAvailable();
    const need = 2 * shape.nodes * MEMORY_PER_NODE; // this cluster, and room for one more lab of its shape
    if (available !== undefined && available < need) {
      result.stopped = `${(available / GIB).toFixed(1)} GiB free: a pool cluster of ${shape.nodes} node${shape.nodes === 1 ? "" : "s"} needs about ${(need / 2 / GIB).toFixed(1)} GiB and leaves as much for one lab`;
      options.onEvent?.({ type: "warning", message: `pool fill stopped at ${live} of ${options.size}: ${result.stopped}` });
      break;
    }
    const entry = await pool.reserve({ shape: shape.key, scenario: loaded.name, nodeImage: shape.nodeImage, nodes: shape.nodes, images: [] }, options.size);
    if (!entry) break; // another fill took the last place
    const registryConfigDir = mirror ? path.join(pool.markDir(entry.id), "..", "certs.d") : undefined;
    if (mirror && registryConfigDir) await writeMirrorConfig(registryConfigDir, mirror);
    const config = renderKindConfig(loaded.scenario.spec.cluster, { markDir: pool.markDir(entry.id), ...(registryConfigDir ? { registryConfigDir } : {}) });
    await warm(entry, { ...options, kind, pool, config, images, extra: options.extraImages ?? [], mode: choice.mode });
    result.created.push(entry.cluster);
    if (options.once) break;
  }
  result.live = (await pool.list()).filter((e) => e.shape === shape.key && pool.live(e)).length;
  return result;
}

/** Creates one reserved cluster and makes it ready; on any failure deletes it and forgets the entry. */
async function warm(entry: PoolEntry, o: FillOptions & { kind: ReturnType<typeof kindOf>; pool: PoolStore; config: Record<string, unknown>; images: string[]; extra: readonly string[]; mode: ImageMode }): Promise<void> {
  const { kind, pool, onEvent, signal } = o;
  const kubeconfig = pool.kubeconfigPath(entry.id);
  let client: LabClient | undefined;
  try {
    await step(onEvent, "cluster", `create pool cluster ${entry.cluster}`, () =>
      kind.create({
        name: entry.cluster,
        nodeImage: entry.nodeImage,
        config: o.config,
        kubeconfigPath: kubeconfig,
        ...(signal ? { signal } : {}),
        onOutput: (line) => onEvent?.({ type: "log", phase: "cluster", line }),
      }),
    );
    client = await (o.clientFactory ?? defaultClientFactory)({ kubeconfig, context: await kind.context(entry.cluster), provider: kind, cluster: entry.cluster });
    const nodes: NodeInfo[] = await step(onEvent, "cluster", "nodes registered", () => registeredNodes(client!, entry.nodes, o.nodesTimeoutMs ?? 120_000, signal), (n) => `${n.length} nodes`);
    if (nodes.length < entry.nodes) throw new InfraError(`pool cluster ${entry.cluster} has ${nodes.length} of ${entry.nodes} nodes`);
    if (o.images.length && o.mode === "online") await step(onEvent, "images", `pull ${o.images.length} images`, () => loadLabImages(kind, entry.cluster, o.images, o.env ?? process.env, signal, "online"));
    else if (o.images.length) await step(onEvent, "images", `load ${o.images.length} images`, () => kind.loadImages(entry.cluster, o.images, signal ? { signal } : {}));
    if (o.extra.length) await step(onEvent, "images", `load ${o.extra.join(", ")}`, () => kind.loadImages(entry.cluster, [...o.extra], signal ? { signal } : {}));
    await pool.update(entry.id, (e) => {
      e.state = "ready";
      e.images = [...new Set([...o.images, ...o.extra])];
      e.readyAt = new Date().toISOString();
      delete e.pid;
    });
  } catch (error) {
    await step(onEvent, "cleanup", `delete pool cluster ${entry.cluster}`, async () => {
      // After an interrupted create (`labrun serve` stopping), keep sweeping a few seconds for nodes still being started.
      await deleteCluster(kind, entry.cluster, kubeconfig, signal?.aborted ? (o.settleMs ?? 4000) : 0);
      await pool.remove(entry.id);
    }).catch(() => undefined); // `labrun gc` removes what is left
    throw signal?.aborted ? abortError(signal) : error;
  } finally {
    await client?.close?.().catch(() => undefined);
  }
}
