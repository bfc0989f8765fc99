/**
 * Grading a lab as a library verb: the same as `labrun grade`, for course
 * platforms. Resolves the lab (or a scenario plus any kubeconfig), grades it
 * with the checks engine, and records the attempt with the lab.
 *
 *   const { report } = await gradeLab({ lab: "beebox-cni" });
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { GradeEvent, InfraCheck } from "../../checks/engine.ts";
import { grade } from "../../checks/grade.ts";
import type { NodeRunner } from "../cluster/kube-common.ts";
import { createClusterClient, readKubeConfig, type ClosableClusterClient } from "../cluster/kube-lite.ts";
import { InfraError, InterruptedError, NotFoundError, UsageError } from "../errors.ts";
import type { Report } from "../schema/report.ts";
import type { KindProvider } from "../providers/kind.ts";
import { loadScenario, type LoadedScenario } from "../scenario/load.ts";
import { kindNodesCheck } from "./infra.ts";
import { isLabName } from "./names.ts";
import type { OutsideHosts } from "../../checks/context.ts";
import { outsideHostsOf } from "./outside.ts";
import { LabStore, resolveLab, type LabRecord } from "./state.ts";

// Start-up matters here (a grade should beat a kubectl script): the kind provider (execa) is loaded
// only when a check runs a command on a node, and the lean API client (runner/cluster/kube-lite.ts) is used
// whenever the kubeconfig allows.
let kindModule: Promise<typeof import("../providers/kind.ts")> | undefined;
function kindProvider(env: NodeJS.ProcessEnv): Promise<KindProvider> {
  kindModule ??= import("../providers/kind.ts");
  return kindModule.then(({ KindProvider: Kind }) => new Kind({ env }));
}

/** How long a probe container started by a grade of a cluster that is not a lab keeps running (later grades reuse it meanwhile). */
export const UNRECORDED_PROBE_HOLD = "30m";

export interface GradeLabOptions {
  /** A lab name, or the name of a scenario with exactly one lab; default: the only lab. With `kubeconfig`: the scenario. */
  lab?: string;
  /** Grade any cluster: the scenario is `lab`, nothing is recorded. */
  kubeconfig?: string;
  context?: string;
  /** A limit on the whole grade. */
  timeoutMs?: number;
  /** The settle window (checks/settle.ts; default 5 s, 0 waits out every timeout). */
  settleMs?: number;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  onEvent?: (event: GradeEvent) => void;
  store?: LabStore;
}

export interface GradeLabResult {
  report: Report;
  /** The lab record the attempt was recorded with (absent for `kubeconfig` grades). */
  lab?: LabRecord;
  /** A warning when the attempt could not be recorded. */
  warning?: string;
}

export async function gradeLab(options: GradeLabOptions = {}): Promise<GradeLabResult> {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  if (options.context && !options.kubeconfig) throw new UsageError("--context needs --kubeconfig");
  const target = options.kubeconfig
    ? await kubeconfigTarget(options.lab, options.kubeconfig, options.context, { cwd, env, ...(options.signal ? { signal: options.signal } : {}) })
    : await labTarget(options.lab, options.store ?? new LabStore({ env }), env);
  let report: Report;
  try {
    report = await grade({
      ...(target.infra ? { infra: target.infra } : {}),
      scenario: target.loaded,
      client: target.client,
      lab: { name: target.lab.name, cluster: target.lab.cluster, provider: target.lab.provider },
      attempt: target.attempt,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.settleMs !== undefined ? { settle: options.settleMs > 0 ? { windowMs: options.settleMs } : false } : {}),
      ...(target.outside ? { outside: target.outside } : {}),
      // A lab's probes hold until `labrun down`; on a cluster that is not a lab, they end by themselves.
      ...(target.record ? {} : { probeSettings: { holdMax: UNRECORDED_PROBE_HOLD } }),
    });
  } catch (error) {
    if (options.signal?.aborted) throw new InterruptedError(typeof options.signal.reason === "string" ? options.signal.reason : "SIGINT");
    if (error instanceof InfraError && !error.hint) {
      throw new InfraError(error.message, { code: error.code, cause: error, hint: target.record ? `is the lab running? check \`labrun status ${target.record.name}\`` : "is the cluster running?" });
    }
    throw error;
  } finally {
    await target.client.close();
  }
  if (!target.store || !target.record) return { report };
  try {
    report.attempt = await target.store.recordAttempt(target.record.name, report);
    return { report, lab: target.record };
  } catch (error) {
    return { report, lab: target.record, warning: `the attempt was not recorded: ${error instanceof Error ? error.message : String(error)}` };
  }
}

interface Target {
  loaded: LoadedScenario;
  client: ClosableClusterClient;
  lab: { name: string; cluster: string; provider: "kind" | "kubeconfig" };
  attempt: number;
  store?: LabStore;
  record?: LabRecord;
  /** The lab's hosts outside the cluster (kind labs whose scenario declares some). */
  outside?: OutsideHosts;
  /** labrun's infrastructure besides the API: a kind lab's node containers. */
  infra?: InfraCheck;
}

/** A lab from the store: by name, the one lab of a scenario of that name, or the only lab. */
async function labTarget(ref: string | undefined, store: LabStore, env: NodeJS.ProcessEnv): Promise<Target> {
  const record = ref === undefined ? await resolveLab(store, undefined) : await findLab(store, ref);
  if (record.status === "creating") throw new UsageError(`lab "${record.name}" is still being created`, { hint: "wait for `labrun start` to finish" });
  if (record.status === "deleting") throw new UsageError(`lab "${record.name}" is being deleted`);
  if (record.status === "failed") {
    throw new UsageError(`lab "${record.name}" failed to start${record.error ? `: ${record.error}` : ""}`, { hint: `delete it with \`labrun down ${record.name}\` and start again` });
  }
  const restore = record.provider === "kind" ? `restore it with \`kind get kubeconfig --name ${record.cluster} > ${record.kubeconfig}\`, or ` : "";
  if (!existsSync(record.kubeconfig)) {
    throw new InfraError(`lab "${record.name}" has lost its kubeconfig (${record.kubeconfig})`, { code: "LAB_KUBECONFIG_LOST", hint: `${restore}check \`labrun status ${record.name}\`; \`labrun down ${record.name}\` removes the lab` });
  }
  const cluster = record.cluster;
  const nodeRunner: NodeRunner | undefined = record.provider === "kind" ? async (node, argv, opts) => (await kindProvider(env)).execOnNode(cluster, node, argv, opts) : undefined;
  const [loaded, client, attempt] = await Promise.all([
    loadScenario(record.scenarioDir),
    createClusterClient({ kubeconfig: record.kubeconfig, context: record.context, ...(nodeRunner ? { nodeRunner } : {}) }).catch((error: unknown) => {
      // labrun wrote this file: a bad one is the lab's state gone wrong (exit 3), not the user's flag
      if (!(error instanceof UsageError || error instanceof NotFoundError)) throw error;
      throw new InfraError(`lab "${record.name}" has a corrupt kubeconfig (${record.kubeconfig}): ${error.message}`, { code: "LAB_KUBECONFIG_CORRUPT", cause: error, hint: `${restore}\`labrun down ${record.name}\` removes the lab` });
    }),
    store.nextAttempt(record.name),
  ]);
  const kind = record.provider === "kind" ? await kindProvider(env) : undefined;
  const outside = kind && loaded.scenario.spec.outside?.length ? outsideHostsOf(kind, cluster, loaded.scenario) : undefined;
  const infra = kind ? kindNodesCheck(kind, cluster, { lab: record.name, ...(record.nodes ? { nodes: record.nodes } : {}) }) : undefined;
  return { loaded, client, lab: { name: record.name, cluster: record.cluster, provider: record.provider }, attempt, store, record, ...(outside ? { outside } : {}), ...(infra ? { infra } : {}) };
}

async function findLab(store: LabStore, ref: string): Promise<LabRecord> {
  const record = isLabName(ref) ? await store.get(ref) : undefined;
  if (record) return record;
  const labs = await store.list();
  const ofScenario = labs.filter((l) => l.scenario === ref);
  if (ofScenario.length === 1) return ofScenario[0]!;
  if (ofScenario.length > 1) throw new UsageError(`scenario "${ref}" has ${ofScenario.length} labs: name one (${ofScenario.map((l) => l.name).join(", ")})`);
  throw new NotFoundError(`no lab named "${ref}"`, {
    hint: labs.length
      ? `labs: ${labs.map((l) => l.name).join(", ")}; to grade another cluster: \`labrun grade ${ref} --kubeconfig FILE\``
      : `start one with \`labrun start ${ref}\`, or grade any cluster with \`labrun grade ${ref} --kubeconfig FILE\``,
  });
}

/** Any cluster: a scenario and a kubeconfig; node commands through kind when the context is a kind cluster's. */
async function kubeconfigTarget(ref: string | undefined, kubeconfig: string, context: string | undefined, io: { cwd: string; env: NodeJS.ProcessEnv; signal?: AbortSignal }): Promise<Target> {
  if (!ref) throw new UsageError("with --kubeconfig, name the scenario to grade: `labrun grade SCENARIO --kubeconfig FILE`");
  const loaded = await loadScenario(ref, { cwd: io.cwd });
  const file = resolve(io.cwd, kubeconfig);
  const kc = readKubeConfig(file, context);
  const contextName = kc.context;
  const clusterName = kc.cluster || contextName;
  const kind = await kindNodes(clusterName, io);
  const client = await createClusterClient({ kubeconfig: file, ...(context ? { context } : {}), ...(kind ? { nodeRunner: kind.nodeRunner } : {}) });
  return { loaded, client, lab: { name: contextName, cluster: clusterName, provider: "kubeconfig" }, attempt: 1, ...(kind ? { infra: kind.infra } : {}) };
}

/** `kind-<name>` clusters that kind knows: run node commands with `docker exec`, and watch the node containers. */
async function kindNodes(cluster: string, io: { env: NodeJS.ProcessEnv; signal?: AbortSignal }): Promise<{ nodeRunner: NodeRunner; infra: InfraCheck } | undefined> {
  if (!cluster.startsWith("kind-")) return undefined;
  const name = cluster.slice("kind-".length);
  const kind = await kindProvider(io.env);
  try {
    if (!(await kind.list(io.signal ? { signal: io.signal } : {})).includes(name)) return undefined;
  } catch {
    return undefined;
  }
  return { nodeRunner: (node, argv, opts) => kind.execOnNode(name, node, argv, opts), infra: kindNodesCheck(kind, name) };
}

