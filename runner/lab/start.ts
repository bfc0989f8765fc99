/**
 * `labrun start` as a library: the actions below, in order (see
 * actions/action.ts). What runs depends on the provider's capabilities, never
 * on its class. On any failure or interrupt after the lab is recorded, the
 * half-made cluster is deleted (unless `retain`) and the error is rethrown.
 */
import type { Clock } from "../util/clock.ts";
import path from "node:path";
import type { NodeInfo } from "../cluster/nodes.ts";
import { InfraError, InterruptedError, UsageError } from "../errors.ts";
import { KindProvider, abortError } from "../providers/kind.ts";
import { KubeconfigProvider, defaultKubeconfigPath } from "../providers/kubeconfig.ts";
import type { ClusterProvider } from "../providers/provider.ts";
import { loadScenario, readTask, type LoadedScenario } from "../scenario/load.ts";
import { sleep } from "../util/sleep.ts";
import { errorMessage } from "../util/text.ts";
import { unmergeContext } from "./kubeconfig-merge.ts";
import { runActions, type Action, type StartContext } from "./actions/action.ts";
import { connect, createCluster, useContext } from "./actions/cluster.ts";
import { imageSources, imagesFor, loadImages } from "./actions/images.ts";
import { checkMergeTarget, mergeKubeconfig } from "./actions/merge.ts";
import { waitForNodes } from "./actions/nodes.ts";
import { adoptPooled, claimPooled } from "./actions/pool.ts";
import { checkHost, refuseClusterClash } from "./actions/preflight.ts";
import { markReady, recordLab } from "./actions/record.ts";
import { breakSteps, setupSteps } from "./actions/steps.ts";
import { verifyBroken } from "./actions/verify.ts";
import type { LabClient, LifecycleOptions } from "./client.ts";
import { safeListener, step } from "./events.ts";
import { clusterNameFor, validateLabName } from "./names.ts";
import { hostProbes, type PreflightProbes } from "./preflight.ts";
import { chooseImages, registryMirror, requestedMode, type ImageModeRequest } from "./image-mode.ts";
import { startOutsideHosts } from "./outside.ts";
import { PoolStore } from "./pool/store.ts";
import { LabStore, type LabRecord } from "./state.ts";
import { StartGuard, type StartGuardOptions } from "./start-guard.ts";

export interface StartOptions extends LifecycleOptions {
  /** A scenario name, folder or file, or a scenario already loaded. */
  scenario: string | LoadedScenario;
  /** The lab's name (default: the scenario's name). */
  name?: string;
  /** Keep the cluster when start fails or is interrupted. */
  retain?: boolean;
  /** Merge the lab's context into this kubeconfig (`true`: $KUBECONFIG's first file or ~/.kube/config). */
  mergeKubeconfig?: boolean | string;
  /** Use an existing cluster from a kubeconfig instead of creating one with kind. */
  existing?: { kubeconfig?: string; context?: string };
  /** Claim a ready cluster of the scenario's shape from the warm pool when there is one (`labrun pool fill`); else create one. */
  pool?: boolean;
  /** With `pool`: claim only one of these pool entries (`labrun test` claims the clusters it warmed ahead). */
  poolIds?: readonly string[];
  /** Skip the host checks (not recommended). */
  skipPreflight?: boolean;
  /** Verify that exactly `broken.failing` fail before hand-over (default true). */
  verifyBroken?: boolean;
  /** Online or offline images (default: $LABRUN_IMAGES, else decided: offline when the offline images are present, online when a registry answers). */
  images?: ImageModeRequest;
  /** A registry mirror (pull-through cache) for the online path (default: $LABRUN_REGISTRY_MIRROR). */
  registryMirror?: string;
  /** Preflight probes (tests). */
  probes?: PreflightProbes;
  /** How long nodes may take to register after the cluster is created (default 120 s). */
  nodesTimeoutMs?: number;
  /** Load images while kind starts the cluster (after its "Preparing nodes" step; default true). */
  overlapImageLoad?: boolean;
  /** After an interrupted create, how long to keep sweeping for node containers still being started (default 4 s). */
  settleMs?: number;
  /** The watch on Docker, the node containers and the API while the cluster is made and the steps run (runner/lab/start-guard.ts; tests tune it). */
  guard?: Pick<StartGuardOptions, "intervalMs" | "dockerTimeoutMs" | "apiGraceMs" | "now">;
  /** Time for waiting until the broken state converges (tests pass a fake clock). */
  clock?: Clock;
  /**
   * Grades the lab for the broken-state check; default: checks/grade.ts.
   * Resolves to the ids of the checks that did not pass.
   */
  gradeFailing?: (ctx: { loaded: LoadedScenario; lab: LabRecord; client: LabClient; provider: ClusterProvider; signal?: AbortSignal }) => Promise<string[]>;
}

export interface StartResult {
  lab: LabRecord;
  scenario: LoadedScenario;
  /** The task, as Markdown. */
  task: string;
  nodes: NodeInfo[];
  /** Set when the context was merged into another kubeconfig. */
  merged?: { file: string; context: string };
  /** Whether the broken state was verified by grading (false: `verifyBroken: false`). */
  brokenVerified: boolean;
  durationMs: number;
}

/** The actions of `start`, in order; each decides from the context whether it applies. */
export const START_ACTIONS: readonly Action[] = [
  claimPooled,
  checkHost,
  refuseClusterClash,
  checkMergeTarget,
  recordLab,
  adoptPooled,
  createCluster,
  useContext,
  connect,
  waitForNodes,
  loadImages,
  startOutsideHosts,
  setupSteps,
  breakSteps,
  verifyBroken,
  mergeKubeconfig,
  markReady,
];

export async function start(options: StartOptions): Promise<StartResult> {
  const started = performance.now();
  const ctx = await prepare(options);
  const guard = ctx.guard!;
  try {
    await runActions(START_ACTIONS, ctx);
    guard.stop();
    return {
      lab: ctx.lab!,
      scenario: ctx.loaded,
      task: await readTask(ctx.loaded),
      nodes: ctx.nodes,
      ...(ctx.merged ? { merged: ctx.merged } : {}),
      brokenVerified: ctx.brokenVerified,
      durationMs: Math.round(performance.now() - started),
    };
  } catch (error) {
    guard.stop();
    // The guard's fault (a node container gone, Docker or the API not answering) is why the start failed.
    const fault = guard.fault;
    if (!ctx.lab) {
      // nothing recorded, nothing made; an untouched claim goes back to the pool
      if (ctx.claimed) await new PoolStore(ctx.store.dir).release(ctx.claimed.id).catch(() => undefined);
      throw fault ?? error;
    }
    const interrupted = fault !== undefined || options.signal?.aborted === true;
    await cleanUp(ctx, fault ?? error, interrupted);
    if (fault) throw fault;
    if (interrupted && !(error instanceof InterruptedError)) throw abortError(options.signal);
    throw error;
  } finally {
    guard.stop();
    await ctx.client?.close?.().catch(() => undefined);
  }
}

/** Everything known before any action: the scenario, the lab's name, the provider, the cluster's name and images. */
async function prepare(options: StartOptions): Promise<StartContext> {
  const env = options.env ?? process.env;
  const store = options.store ?? new LabStore({ env });
  const loaded = typeof options.scenario === "string" ? await loadScenario(options.scenario, { cwd: options.cwd ?? process.cwd() }) : options.scenario;
  const name = options.name ?? loaded.name;
  validateLabName(name);
  if (await store.get(name)) {
    throw new UsageError(`lab "${name}" already exists`, { hint: `run \`labrun down ${name}\` first, or pick another name with \`--name\`` });
  }
  const existing = options.existing;
  const provider: ClusterProvider = existing
    ? new KubeconfigProvider({ env, ...(existing.kubeconfig ? { kubeconfigPath: existing.kubeconfig } : {}), ...(existing.context ? { context: existing.context } : {}) })
    : (options.kind ?? new KindProvider({ env }));
  const can = provider.capabilities();
  const merge = options.mergeKubeconfig;
  const cluster = can.createClusters ? clusterNameFor(name) : (await provider.list())[0]!;
  const holder: { ctx?: StartContext } = {};
  const guard = new StartGuard({
    ...options.guard,
    lab: name,
    cluster: () => holder.ctx?.cluster ?? cluster,
    client: () => holder.ctx?.client,
    ...(provider.nodeStates ? { nodeStates: provider.nodeStates.bind(provider) } : {}),
  });
  const images = can.loadImages ? await imagesFor(loaded.scenario) : [];
  const imageChoice = can.createClusters ? await chooseFor(options, env, provider, loaded, images) : undefined;
  const ctx: StartContext = {
    options,
    env,
    store,
    signal: options.signal ? AbortSignal.any([options.signal, guard.signal]) : guard.signal,
    guard,
    onEvent: safeListener(options.onEvent),
    loaded,
    name,
    provider,
    can,
    cluster,
    nodeImage: imageChoice?.nodeImage,
    images,
    imageChoice,
    kubeconfig: store.kubeconfigPath(name),
    mergeTarget: merge ? (typeof merge === "string" ? path.resolve(merge) : defaultKubeconfigPath(env)) : undefined,
    created: false,
    nodes: [],
    brokenVerified: false,
  };
  holder.ctx = ctx;
  return ctx;
}

/** Online or offline images for a new cluster (runner/lab/image-mode.ts). */
async function chooseFor(options: StartOptions, env: NodeJS.ProcessEnv, provider: ClusterProvider, loaded: LoadedScenario, images: string[]) {
  const probes = options.probes ?? hostProbes({ env, ...provider.hostTools?.() });
  return chooseImages({
    cluster: loaded.scenario.spec.cluster,
    env,
    request: requestedMode(env, options.images),
    mirror: registryMirror(env, options.registryMirror),
    dockerImages: imageSources(provider, images, env).docker,
    missingImages: (list) => probes.missingImages(list),
    // probes without a registry probe (tests) never find one: only real host probes go online by themselves
    answers: probes.registry ? (url) => probes.registry!(url) : async () => ({ ok: false, error: "not asked" }),
  });
}

/** After a failure: keep the lab as failed (`retain`), or delete what was made and forget the lab. Never throws. */
async function cleanUp(ctx: StartContext, error: unknown, interrupted: boolean): Promise<void> {
  const { store, name, onEvent } = ctx;
  await ctx.client?.close?.().catch(() => undefined);
  ctx.client = undefined;
  await ctx.earlyLoad; // never delete nodes under a running `kind load` (it never rejects)
  if (ctx.options.retain) {
    await store
      .update(name, (r) => {
        r.status = "failed";
        r.error = error instanceof Error ? error.message : String(error);
        delete r.pid;
      })
      .catch(() => undefined);
    onEvent?.({ type: "warning", message: `kept the failed lab "${name}" (--retain); remove it with \`labrun down ${name}\`` });
    return;
  }
  const deleting = ctx.can.createClusters && ctx.created;
  if (deleting && error instanceof InfraError && error === ctx.guard?.fault && error.code === "DOCKER_UNRESPONSIVE") {
    // Docker does not answer: deleting would only hang. The nodes stay (they carry labrun's mark) until Docker answers and `labrun gc` runs.
    await store.remove(name).catch(() => undefined);
    onEvent?.({ type: "warning", message: `Docker does not answer: the node containers of cluster ${ctx.cluster} are left; once \`docker info\` answers, \`labrun gc\` removes them` });
    return;
  }
  const merged = ctx.merged;
  if (merged) {
    await step(onEvent, "cleanup", `remove context ${merged.context} from ${merged.file}`, () => unmergeContext(merged.file, merged.context)).catch((e: unknown) => {
      onEvent?.({ type: "warning", message: `could not remove context ${merged.context} from ${merged.file}: ${errorMessage(e)}; remove it with \`kubectl config delete-context ${merged.context} --kubeconfig ${merged.file}\`` });
    });
  }
  await step(onEvent, "cleanup", deleting ? `delete cluster ${ctx.cluster}` : `forget lab ${name}`, async () => {
    if (deleting) await deleteCluster(ctx.provider, ctx.cluster, ctx.kubeconfig, interrupted ? (ctx.options.settleMs ?? 4000) : 0);
    if (ctx.claimed) await new PoolStore(store.dir).remove(ctx.claimed.id);
    await store.remove(name);
  }).catch((cleanupError: unknown) => {
    const hint = cleanupError instanceof InfraError && cleanupError.hint ? ` (${cleanupError.hint})` : "";
    onEvent?.({ type: "warning", message: `cleanup failed: ${errorMessage(cleanupError)}; the lab "${name}" is left: run \`labrun gc\`${hint}` });
  });
}

/**
 * Deletes a cluster and, after an interrupted create, keeps sweeping for a
 * few seconds: `docker run` calls of the killed kind may still land. Then it
 * (interrupted only) sweeps until a look finds no node container: on a busy engine, Docker 20.10
 * answers `docker rm -f` with success for a container whose start is still in
 * flight and keeps it (seen as `Created` seconds later). After
 * {@link SWEEP_DEADLINE_MS} of that, the containers left are an InfraError
 * naming them, for `labrun gc`.
 */
export async function deleteCluster(provider: ClusterProvider, cluster: string, kubeconfig: string, settleMs: number, deadlineMs = SWEEP_DEADLINE_MS): Promise<void> {
  await provider.delete(cluster, { kubeconfigPath: kubeconfig });
  if (!provider.sweep) return;
  for (let waited = 0; waited < settleMs; waited += 1000) {
    await sleep(Math.min(1000, settleMs - waited));
    await provider.sweep(cluster);
  }
  if (settleMs <= 0) return; // a create that ended by itself: kind's delete stands
  const until = Date.now() + deadlineMs;
  for (;;) {
    const left = await provider.sweep(cluster);
    if (!Array.isArray(left) || left.length === 0) return; // a provider that does not say what it found: one sweep
    if (Date.now() >= until) {
      throw new InfraError(`the node containers of cluster "${cluster}" are still there after ${Math.round(deadlineMs / 1000)}s of \`docker rm -f\`: ${left.join(", ")}`, {
        code: "CLUSTER_NOT_DELETED",
        hint: "`labrun gc` removes them once Docker lets go of them",
      });
    }
    await sleep(1000);
  }
}

/** How long deleteCluster keeps removing node containers that Docker says it removed but still lists. */
export const SWEEP_DEADLINE_MS = 60_000;
