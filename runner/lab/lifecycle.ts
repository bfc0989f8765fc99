/**
 * The lab lifecycle as a library: start, status, down, gc. The CLI verbs are a
 * thin layer over these functions; course platforms call them directly and
 * follow progress through typed events (runner/lab/events.ts).
 *
 * `start` is a list of actions in the style of kind's create: each is one
 * step with a status line; on any failure or interrupt the half-made cluster
 * is deleted (unless `retain`), and the error is rethrown.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { ClusterClient } from "../../checks/client.ts";
import { InfraError, InterruptedError, UsageError } from "../errors.ts";
import { KindProvider, abortError } from "../providers/kind.ts";
import { KubeconfigProvider, defaultKubeconfigPath } from "../providers/kubeconfig.ts";
import type { ClusterProvider } from "../providers/provider.ts";
import { loadScenario, readTask, type LoadedScenario } from "../scenario/load.ts";
import type { Scenario, Step } from "../schema/scenario.ts";
import { VERSION } from "../version.ts";
import { ADDONS, addonImages, type AddonName, type AddonVars } from "./addons.ts";
import { step, type LabEvent, type LabEventListener, type LabPhase } from "./events.ts";
import { PROBE_IMAGE } from "./images.ts";
import { mergeContext, readKubeconfig, unmergeContext } from "./kubeconfig-merge.ts";
import { sleep } from "../util/sleep.ts";
import { failingChecks } from "../../checks/grade.ts";
import { assertPreflight, hostProbes, preflight, type PreflightProbes } from "./preflight.ts";
import { stopProbesOfLab } from "./probes.ts";
import { nodeImageFor, podSubnetOf, renderKindConfig, serviceSubnetOf } from "./render.ts";
import { LabStore, atomicWrite, pidAlive, resolveLab, validateLabName, type LabRecord } from "./state.ts";

export { resolveLab };
import { isControlPlane, listNodes, runSteps, type NodeInfo } from "./steps.ts";

/** kind cluster names of labs: `labrun-<lab>`. */
export const CLUSTER_PREFIX = "labrun-";

export function clusterNameFor(lab: string): string {
  return `${CLUSTER_PREFIX}${lab}`;
}

/** A client the lifecycle can close. */
export type LabClient = ClusterClient & { close?(): Promise<void> };

export type ClientFactory = (options: { kubeconfig: string; context: string; provider: ClusterProvider; cluster: string }) => Promise<LabClient>;

/** What every lifecycle function accepts. */
export interface LifecycleOptions {
  store?: LabStore;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
  onEvent?: LabEventListener;
  /** The provider for kind labs (default: a KindProvider). */
  kind?: KindProvider;
  /** Makes a ClusterClient for a lab (default: checks/kube.ts). */
  clientFactory?: ClientFactory;
}

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
  /** Skip the host checks (not recommended). */
  skipPreflight?: boolean;
  /** Verify that exactly `broken.failing` fail before hand-over (default true). */
  verifyBroken?: boolean;
  /** Preflight probes (tests). */
  probes?: PreflightProbes;
  /** How long nodes may take to register after the cluster is created (default 120 s). */
  nodesTimeoutMs?: number;
  /** Load images while kind starts the cluster (after its "Preparing nodes" step; default true). */
  overlapImageLoad?: boolean;
  /** After an interrupted create, how long to keep sweeping for node containers still being started (default 4 s). */
  settleMs?: number;
  /**
   * Grades the lab for the broken-state check; default: checks/grade.ts when
   * it is available. Resolves to the ids of the checks that did not pass.
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
  /** Whether the broken state was verified by grading (false: the checks engine was not available). */
  brokenVerified: boolean;
  durationMs: number;
}

// ---------------------------------------------------------------- start

export async function start(options: StartOptions): Promise<StartResult> {
  const started = performance.now();
  const env = options.env ?? process.env;
  const store = options.store ?? new LabStore({ env });
  const onEvent = options.onEvent;
  const signal = options.signal;
  const loaded = typeof options.scenario === "string" ? await loadScenario(options.scenario, { cwd: options.cwd ?? process.cwd() }) : options.scenario;
  const scenario = loaded.scenario;
  const name = options.name ?? loaded.name;
  validateLabName(name);
  if (await store.get(name)) {
    throw new UsageError(`lab "${name}" already exists`, { hint: `run \`labrun down ${name}\` first, or pick another name with \`--name\`` });
  }
  const existing = options.existing;
  const provider: ClusterProvider = existing ? new KubeconfigProvider({ env, ...(existing.kubeconfig ? { kubeconfigPath: existing.kubeconfig } : {}), ...(existing.context ? { context: existing.context } : {}) }) : (options.kind ?? new KindProvider({ env }));
  const kind = provider instanceof KindProvider ? provider : undefined;
  const cluster = kind ? clusterNameFor(name) : (await provider.list())[0]!;
  const nodeImage = kind ? nodeImageFor(scenario.spec.cluster, env) : undefined;
  const images = kind ? await imagesFor(scenario) : [];

  // Host checks and name clashes come before anything is created.
  if (kind) {
    if (!options.skipPreflight) {
      await step(onEvent, "preflight", "check the host", async () => {
        const results = await preflight({ nodes: scenario.spec.cluster.nodes.length, images: [nodeImage!, ...images] }, options.probes ?? hostProbes({ env, kind: kind.kind, docker: kind.docker }));
        for (const r of results) if (r.warning) onEvent?.({ type: "warning", message: r.warning });
        assertPreflight(results);
        return results;
      }, (results) => results.filter((r) => r.name === "docker" || r.name === "kind" || r.name === "memory").map((r) => r.detail).join(", "));
    }
    if ((await kind.list({ ...(signal ? { signal } : {}) })).includes(cluster)) {
      throw new UsageError(`a kind cluster named "${cluster}" exists but no lab "${name}" does`, {
        hint: `remove it with \`labrun gc\` (if labrun made it) or \`kind delete cluster --name ${cluster}\`, or pick another name with \`--name\``,
      });
    }
  }

  // A kubeconfig to merge into must be readable before a minute of cluster work, not after it.
  const mergeTarget = options.mergeKubeconfig ? (typeof options.mergeKubeconfig === "string" ? path.resolve(options.mergeKubeconfig) : defaultKubeconfigPath(env)) : undefined;
  if (mergeTarget) await readKubeconfig(mergeTarget);

  const kubeconfig = store.kubeconfigPath(name);
  let lab = await store.create({
    name,
    scenario: loaded.name,
    scenarioDir: loaded.dir,
    provider: provider.name,
    cluster,
    kubeconfig,
    context: kind ? `kind-${cluster}` : await (provider as KubeconfigProvider).context(),
    pid: process.pid,
    labrunVersion: VERSION,
    ...(nodeImage ? { nodeImage } : {}),
  });

  let client: LabClient | undefined;
  let created = false;
  let earlyLoad: Promise<{ ok: true; durationMs: number } | { ok: false; error: string }> | undefined;
  try {
    if (kind) {
      const markDir = path.join(store.labDir(name), "mark");
      await fs.mkdir(markDir, { recursive: true });
      await fs.writeFile(path.join(markDir, "lab"), `${name}\n`);
      const config = renderKindConfig(scenario.spec.cluster, { markDir });
      await step(onEvent, "cluster", `create cluster ${cluster}`, async () => {
        created = true; // from here on a failure may leave containers behind
        try {
          await kind.create({
            name: cluster,
            nodeImage: nodeImage!,
            config,
            kubeconfigPath: kubeconfig,
            ...(signal ? { signal } : {}),
            ...(options.retain ? { retain: true } : {}),
            onOutput: (line) => {
              onEvent?.({ type: "log", phase: "cluster", line });
              // The node containers run once kind has prepared them: load images while kubeadm works.
              if (!earlyLoad && images.length && options.overlapImageLoad !== false && /✓ Preparing nodes/.test(line)) earlyLoad = timedLoad(kind, cluster, images, signal);
            },
          });
        } catch (error) {
          await earlyLoad; // never delete nodes under a running `kind load`
          throw error;
        }
      }, () => nodeImage);
    } else {
      await step(onEvent, "cluster", `use context ${lab.context}`, async () => {
        await atomicWrite(kubeconfig, await provider.kubeconfig(cluster));
      });
    }
    client = await (options.clientFactory ?? defaultClientFactory)({ kubeconfig, context: lab.context, provider, cluster });
    // Someone else's cluster is either there or not: say so within seconds (a new kind cluster gets the patient wait below).
    if (!kind) await client.ping({ timeoutMs: 10_000, ...(signal ? { signal } : {}) });

    const expected = scenario.spec.cluster.nodes.length;
    const nodes = await step(onEvent, "cluster", "nodes registered", () => waitForNodes(client!, kind ? expected : 1, options.nodesTimeoutMs ?? 120_000, signal), (n) => `${n.length} node${n.length === 1 ? "" : "s"}`);
    lab = await store.update(name, (r) => {
      r.nodes = nodes.map((n) => n.name);
    });

    if (kind && images.length) {
      const what = `load ${images.length} image${images.length === 1 ? "" : "s"}`;
      const early = earlyLoad ? await earlyLoad : undefined;
      if (early?.ok) {
        onEvent?.({ type: "step-start", phase: "images", name: what });
        onEvent?.({ type: "step-end", phase: "images", name: what, status: "ok", durationMs: early.durationMs, detail: `${images.map(shortImage).join(", ")} (while the cluster started)` });
      } else {
        if (early && !early.ok) onEvent?.({ type: "log", phase: "images", line: `loading images during create failed (${early.error}); loading again` });
        await step(onEvent, "images", what, () => kind.loadImages(cluster, images, signal ? { signal } : {}), () => images.map(shortImage).join(", "));
      }
    } else if (!kind && scenario.spec.images?.length) {
      onEvent?.({ type: "warning", message: `the cluster must be able to pull: ${scenario.spec.images.join(", ")}` });
    }

    const vars: AddonVars = { PodSubnet: podSubnetOf(scenario.spec.cluster), ServiceSubnet: serviceSubnetOf(scenario.spec.cluster) };
    const stepContext = { client, provider, cluster, scenarioDir: loaded.dir, vars, ...(signal ? { signal } : {}), ...(onEvent ? { onEvent } : {}) };
    await runSteps(scenario.spec.setup ?? [], { ...stepContext, phase: "setup" });
    await runSteps(scenario.spec.break ?? [], { ...stepContext, phase: "break" });

    let brokenVerified = false;
    if (options.verifyBroken !== false) {
      brokenVerified = await verifyBroken(loaded, lab, client, provider, options);
    }

    if (signal?.aborted) throw abortError(signal);
    let merged: { file: string; context: string } | undefined;
    if (mergeTarget) {
      const file = mergeTarget;
      const context = clusterNameFor(name);
      await step(onEvent, "cluster", `merge context ${context} into ${file}`, () => mergeContext(kubeconfig, file, context));
      merged = { file, context };
    }
    lab = await store.update(name, (r) => {
      r.status = "ready";
      delete r.pid;
      if (merged) r.merged = merged;
    });
    return { lab, scenario: loaded, task: await readTask(loaded), nodes, ...(merged ? { merged } : {}), brokenVerified, durationMs: Math.round(performance.now() - started) };
  } catch (error) {
    const interrupted = signal?.aborted === true;
    await client?.close?.().catch(() => undefined);
    client = undefined;
    await earlyLoad; // never delete nodes under a running `kind load` (it never rejects)
    if (options.retain) {
      await store
        .update(name, (r) => {
          r.status = "failed";
          r.error = error instanceof Error ? error.message : String(error);
          delete r.pid;
        })
        .catch(() => undefined);
      onEvent?.({ type: "warning", message: `kept the failed lab "${name}" (--retain); remove it with \`labrun down ${name}\`` });
    } else {
      await step(onEvent, "cleanup", kind && created ? `delete cluster ${cluster}` : `forget lab ${name}`, async () => {
        if (kind && created) await deleteKindCluster(kind, cluster, kubeconfig, interrupted ? (options.settleMs ?? 4000) : 0);
        await store.remove(name);
      }).catch((cleanupError: unknown) => {
        onEvent?.({ type: "warning", message: `cleanup failed: ${cleanupError instanceof Error ? cleanupError.message : String(cleanupError)}; run \`labrun gc\`` });
      });
    }
    if (interrupted && !(error instanceof InterruptedError)) throw abortError(signal);
    throw error;
  } finally {
    await client?.close?.().catch(() => undefined);
  }
}

/** `kind load` that never rejects: resolves with its duration or its error. */
async function timedLoad(kind: KindProvider, cluster: string, images: string[], signal?: AbortSignal): Promise<{ ok: true; durationMs: number } | { ok: false; error: string }> {
  const t0 = performance.now();
  try {
    await kind.loadImages(cluster, images, signal ? { signal } : {});
    return { ok: true, durationMs: Math.round(performance.now() - t0) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Deletes a kind cluster and, after an interrupted create, keeps sweeping for a
 * few seconds: `docker run` calls of the killed kind may still land.
 */
async function deleteKindCluster(kind: KindProvider, cluster: string, kubeconfig: string, settleMs: number): Promise<void> {
  await kind.delete(cluster, { kubeconfigPath: kubeconfig });
  for (let waited = 0; waited < settleMs; waited += 1000) {
    await sleep(Math.min(1000, settleMs - waited));
    await kind.sweep(cluster);
  }
}

/** Every image the lab needs in its nodes: the scenario's, labrun's probe, and the add-ons any step uses. */
export async function imagesFor(scenario: Scenario): Promise<string[]> {
  const spec = scenario.spec;
  const steps: Step[] = [...(spec.setup ?? []), ...(spec.break ?? []), ...spec.solution.steps, ...(spec.shortcuts ?? []).flatMap((s) => s.steps)];
  const addons = new Set<AddonName>(steps.flatMap((s) => (s.addon && (ADDONS as readonly string[]).includes(s.addon.name) ? [s.addon.name] : [])));
  const images = new Set<string>([...(spec.images ?? []), PROBE_IMAGE]);
  for (const addon of addons) for (const image of await addonImages(addon)) images.add(image);
  return [...images];
}

async function waitForNodes(client: ClusterClient, expected: number, timeoutMs: number, signal?: AbortSignal): Promise<NodeInfo[]> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer from the API yet";
  for (;;) {
    if (signal?.aborted) throw abortError(signal);
    try {
      const nodes = await listNodes(client, signal);
      if (nodes.length >= expected) return nodes;
      last = `${nodes.length} of ${expected} nodes: ${nodes.map((n) => n.name).join(", ") || "none"}`;
    } catch (error) {
      if (signal?.aborted) throw abortError(signal);
      last = error instanceof Error ? error.message : String(error);
    }
    if (Date.now() > deadline) {
      throw new InfraError(`nodes did not register within ${Math.round(timeoutMs / 1000)}s (${last})`, {
        code: "NODES_NOT_REGISTERED",
        hint: "look at the kubelet: `docker exec <node> journalctl -u kubelet --no-pager | tail -50`",
      });
    }
    await sleep(1000, signal);
  }
}

async function verifyBroken(loaded: LoadedScenario, lab: LabRecord, client: LabClient, provider: ClusterProvider, options: StartOptions): Promise<boolean> {
  const gradeFailing = options.gradeFailing ?? failingChecks;
  const onEvent = options.onEvent;
  const expected = [...loaded.scenario.spec.broken.failing].sort();
  await step(onEvent, "verify", "verify the broken state", async () => {
    const failing = [...(await gradeFailing({ loaded, lab, client, provider, ...(options.signal ? { signal: options.signal } : {}) }))].sort();
    if (options.signal?.aborted) throw abortError(options.signal);
    const unexpectedFail = failing.filter((id) => !expected.includes(id));
    const unexpectedPass = expected.filter((id) => !failing.includes(id));
    if (unexpectedFail.length || unexpectedPass.length) {
      throw new InfraError("the lab is not broken the way the scenario says", {
        code: "BROKEN_STATE_MISMATCH",
        output: [
          unexpectedPass.length ? `passing but listed in broken.failing: ${unexpectedPass.join(", ")}` : "",
          unexpectedFail.length ? `failing but not listed in broken.failing: ${unexpectedFail.join(", ")}` : "",
        ]
          .filter(Boolean)
          .join("\n"),
        hint: "if the scenario is yours, fix its setup/break steps or broken.failing (`labrun test` shows the grade); otherwise retry `labrun start`",
      });
    }
  }, () => `${expected.length} check${expected.length === 1 ? "" : "s"} fail as expected`);
  return true;
}

/** The default ClusterClient: checks/kube.ts over the lab's kubeconfig; node commands go through the provider. */
export const defaultClientFactory: ClientFactory = async ({ kubeconfig, context, provider, cluster }) => {
  const { createKubeClient } = await import("../../checks/kube.ts");
  return createKubeClient({
    kubeconfig,
    context,
    ...(provider.capabilities().nodeShell ? { nodeRunner: (node, command, opts) => provider.execOnNode(cluster, node, command, opts) } : {}),
  });
};

// ---------------------------------------------------------------- status

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
  const kind = options.kind ?? new KindProvider({ env: options.env ?? process.env });
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
      const provider: ClusterProvider = lab.provider === "kind" ? kind : new KubeconfigProvider({ kubeconfigPath: lab.kubeconfig, context: lab.context });
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

// ---------------------------------------------------------------- down

export interface DownResult {
  name: string;
  /** Whether there was a lab record. */
  found: boolean;
  /** Whether a kind cluster was deleted. */
  clusterDeleted: boolean;
  /** The kubeconfig the lab's context was removed from. */
  unmerged?: string;
}

/** Deletes a lab's cluster (kind) and forgets the lab. Idempotent: a missing lab is not an error. */
export async function down(options: LifecycleOptions & { name: string }): Promise<DownResult> {
  const store = options.store ?? new LabStore({ env: options.env ?? process.env });
  const onEvent = options.onEvent;
  validateLabName(options.name);
  const lab = await store.get(options.name);
  const kind = options.kind ?? new KindProvider({ env: options.env ?? process.env });
  const result: DownResult = { name: options.name, found: lab !== undefined, clusterDeleted: false };
  if (lab) {
    if (lab.status === "creating" && lab.pid && lab.pid !== process.pid && pidAlive(lab.pid)) {
      throw new UsageError(`lab "${lab.name}" is being created by process ${lab.pid}`, { hint: `interrupt that \`labrun start\` (Ctrl-C) and it cleans up; or wait and run \`labrun down ${lab.name}\` again` });
    }
    await store.update(lab.name, (r) => {
      r.status = "deleting";
    });
  }
  // A cluster labrun keeps: end the probe containers the lab's grades left holding (best effort).
  if (lab && lab.provider !== "kind" && lab.status !== "creating") {
    const provider = new KubeconfigProvider({ kubeconfigPath: lab.kubeconfig, context: lab.context });
    await stopProbesOfLab(lab, provider, { clientFactory: options.clientFactory ?? defaultClientFactory, ...(onEvent ? { onEvent } : {}), ...(options.signal ? { signal: options.signal } : {}) });
  }
  // The cluster to delete: the record's, else the one a crashed start may have left (only if labrun marked it for this lab).
  const cluster = lab?.provider === "kind" ? lab.cluster : lab ? undefined : await orphanClusterOf(kind, store, options.name, options.signal);
  if (cluster) {
    const there = (await kind.containerIds(cluster, options.signal)).length > 0 || (await kind.list(options.signal ? { signal: options.signal } : {})).includes(cluster);
    if (there) {
      await step(onEvent, "down", `delete cluster ${cluster}`, () => kind.delete(cluster, { kubeconfigPath: lab?.kubeconfig ?? store.kubeconfigPath(options.name) }));
      result.clusterDeleted = true;
    }
  }
  if (lab?.merged) {
    const merged = lab.merged;
    if (await unmergeContext(merged.file, merged.context)) result.unmerged = merged.file;
  }
  if (lab) await step(onEvent, "down", `forget lab ${lab.name}`, () => store.remove(lab.name));
  return result;
}

/** `labrun-<lab>` when its nodes carry this store's mark for that lab. */
async function orphanClusterOf(kind: KindProvider, store: LabStore, lab: string, signal?: AbortSignal): Promise<string | undefined> {
  const containers = await kind.nodeContainers(signal).catch(() => []);
  const markDir = path.join(store.labDir(lab), "mark");
  return containers.find((c) => c.cluster === clusterNameFor(lab) && c.mark === markDir)?.cluster;
}

// ---------------------------------------------------------------- gc

export interface GcResult {
  /** Clusters labrun created whose lab is gone (or whose start died): deleted (or, with dryRun, to delete). */
  clusters: string[];
  /** Lab records whose cluster is gone: removed (or to remove). */
  labs: string[];
  /** `labrun-*` clusters left alone, with the reason. */
  kept: { cluster: string; reason: string }[];
}

/**
 * Removes clusters labrun created whose lab is gone, and lab records whose
 * cluster is gone. A cluster counts as labrun's only when its nodes carry
 * labrun's mark (a mount of the lab's directory); clusters without it are
 * never touched.
 */
export async function gc(options: LifecycleOptions & { dryRun?: boolean }): Promise<GcResult> {
  const store = options.store ?? new LabStore({ env: options.env ?? process.env });
  const kind = options.kind ?? new KindProvider({ env: options.env ?? process.env });
  const onEvent = options.onEvent;
  const result: GcResult = { clusters: [], labs: [], kept: [] };
  const containers = await kind.nodeContainers(options.signal);
  const labs = await store.list();

  const clusters = new Map<string, string | undefined>();
  for (const c of containers) if (!clusters.has(c.cluster) || c.mark) clusters.set(c.cluster, c.mark ?? clusters.get(c.cluster));
  for (const [cluster, mark] of [...clusters].sort(([a], [b]) => a.localeCompare(b))) {
    if (!mark) {
      if (cluster.startsWith(CLUSTER_PREFIX)) result.kept.push({ cluster, reason: "not marked as labrun's" });
      continue;
    }
    const labDir = path.dirname(mark);
    const record = await readRecord(path.join(labDir, "lab.json"));
    // Its lab exists (here or in another state directory), unless that lab is a start that died (pid gone).
    const abandoned = record?.status === "creating" && record.pid !== undefined && !pidAlive(record.pid);
    if (record && record.cluster === cluster && !abandoned) continue;
    result.clusters.push(cluster);
    if (!options.dryRun) {
      // Hand kind the lab's kubeconfig only if the lab's directory is still there (kind would recreate it for its lock file).
      const kubeconfigPath = (await exists(labDir)) ? path.join(labDir, "kubeconfig") : undefined;
      await step(onEvent, "gc", `delete cluster ${cluster}`, () => kind.delete(cluster, kubeconfigPath ? { kubeconfigPath } : {}));
    }
  }

  for (const lab of labs) {
    if (lab.provider !== "kind") continue;
    const creating = lab.status === "creating" && lab.pid !== undefined;
    if (creating && pidAlive(lab.pid!)) continue; // being created right now
    if (clusters.has(lab.cluster) && !creating) continue; // a start that died is garbage, cluster and all (deleted above)
    result.labs.push(lab.name);
    if (!options.dryRun) {
      await step(onEvent, "gc", `forget lab ${lab.name} (${creating ? "its start died" : "its cluster is gone"})`, async () => {
        if (lab.merged) await unmergeContext(lab.merged.file, lab.merged.context);
        await store.remove(lab.name);
      });
    }
  }
  return result;
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

async function readRecord(file: string): Promise<LabRecord | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, "utf8")) as LabRecord;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------- helpers for shell and node

/** The provider that drives a lab. */
export function providerFor(lab: LabRecord, options: { env?: NodeJS.ProcessEnv; kind?: KindProvider } = {}): ClusterProvider {
  if (lab.provider === "kind") return options.kind ?? new KindProvider({ env: options.env ?? process.env });
  return new KubeconfigProvider({ kubeconfigPath: lab.kubeconfig, context: lab.context });
}

export type { LabEvent, LabPhase };

/** `docker.io/library/nginx:1.22.1` → `nginx:1.22.1`, for progress lines. */
function shortImage(image: string): string {
  return image.replace(/^docker\.io\/(library\/)?/, "").replace(/^.*\//, "");
}
