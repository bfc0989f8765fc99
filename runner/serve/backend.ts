/**
 * What `labrun serve` needs from the lab layer, as one small interface: the
 * HTTP layer (server.ts, labs.ts) is tested against a fake, and
 * `libraryBackend` wires it to the same library functions the CLI uses.
 */
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { down } from "../lab/down.ts";
import { step, type LabEventListener } from "../lab/events.ts";
import { createClusterClient } from "../cluster/kube-lite.ts";
import { TOOLBOX_IMAGE } from "../cluster/images.ts";
import type { RemoteTerminal, TerminalHandlers, TerminalSize } from "../cluster/ws-terminal.ts";
import { gradeLab } from "../lab/grade.ts";
import { clusterNameFor } from "../lab/names.ts";
import { fill } from "../lab/pool/fill.ts";
import { POOL_CLUSTER_PREFIX, PoolStore } from "../lab/pool/store.ts";
import { start } from "../lab/start.ts";
import { KindProvider } from "../providers/kind.ts";
import { LabStore, type LabAttempt } from "../lab/state.ts";
import { parseReport } from "../report/validate.ts";
import { findScenarioFiles, loadScenario, scenarioRoots, validateScenarioFile } from "../scenario/load.ts";
import type { ScenarioSummary } from "../schema/api.ts";
import type { Report } from "../schema/report.ts";
import { errorMessage } from "../util/text.ts";
import { ensureToolbox, openToolboxShell } from "./toolbox.ts";

export interface ServedScenario {
  summary: ScenarioSummary;
  /** Absolute path of its scenario.yaml. */
  file: string;
}

export interface LabBackend {
  /** The valid scenarios (invalid ones are left out). */
  scenarios(): Promise<ServedScenario[]>;
  /**
   * Starts a lab named `name` with its toolbox (the terminal's pod), on a warm
   * pool cluster of the scenario's shape when one is ready; resolves with its
   * task (Markdown) and the claimed pool cluster, if any, once it is ready.
   * Cleans up after itself when it fails or `signal` aborts.
   */
  start(options: { file: string; name: string; signal: AbortSignal; onEvent: LabEventListener }): Promise<{ task: string; warmCluster?: string }>;
  /** Tops the warm pool up to `size` clusters of the scenario's shape, the toolbox image loaded in each; resolves with the pool entry ids it made ready. */
  fillPool(options: { file: string; size: number; signal: AbortSignal; onEvent: LabEventListener }): Promise<{ created: string[]; stopped?: string }>;
  /** Deletes the pool clusters of these entry ids that are still ready (not claimed); resolves with their cluster names. */
  drainPool(ids: readonly string[]): Promise<string[]>;
  /** Grades the lab and records the attempt; a failed grade is a report, a fault throws. */
  grade(options: { name: string; signal?: AbortSignal }): Promise<Report>;
  attempts(name: string): Promise<LabAttempt[]>;
  /** The report of one attempt, or undefined when there is none. */
  report(name: string, attempt: number): Promise<Report | undefined>;
  /** Deletes the lab and its cluster; a lab that is not there is not an error. */
  down(name: string): Promise<void>;
  /** A shell with a TTY in the lab's toolbox (runner/serve/toolbox.ts). */
  terminal(name: string, size: TerminalSize, handlers: TerminalHandlers): Promise<RemoteTerminal>;
}

export interface LibraryBackendOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Scenario folders to serve (default: as `labrun list`). */
  roots?: string[];
}

export function libraryBackend(options: LibraryBackendOptions = {}): LabBackend {
  const env = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const store = new LabStore({ env });
  const roots = options.roots ?? scenarioRoots({ cwd, env });
  return {
    async scenarios() {
      const out: ServedScenario[] = [];
      for (const file of await findScenarioFiles(roots)) {
        const { scenario } = await validateScenarioFile(file);
        if (!scenario || scenario.metadata.name !== dirname(file).split("/").pop()) continue;
        const m = scenario.metadata;
        out.push({
          file,
          summary: { name: m.name, title: m.title, summary: m.summary, difficulty: m.difficulty, estimatedMinutes: m.estimatedMinutes, nodes: scenario.spec.cluster.nodes.length, checks: scenario.spec.checks.length },
        });
      }
      return out;
    },
    async start({ file, name, signal, onEvent }) {
      // The toolbox image goes into the nodes while the scenario's setup runs (kind load needs only the node containers).
      const kind = new KindProvider({ env });
      const pool = new PoolStore(store.dir);
      let loading: Promise<unknown> | undefined;
      let warmCluster: string | undefined;
      const loadToolbox = (cluster = clusterNameFor(name)) => kind.loadImages(cluster, [TOOLBOX_IMAGE], { signal });
      const listener: LabEventListener = (event) => {
        onEvent(event);
        if (event.type !== "step-end" || event.phase !== "cluster" || event.status !== "ok") return;
        // claimPooled's detail is the claimed cluster (runner/lab/actions/pool.ts); a warm cluster filled by serve has the toolbox already.
        if (event.name === "claim a warm cluster" && event.detail?.startsWith(POOL_CLUSTER_PREFIX)) warmCluster = event.detail;
        if (!loading && !warmCluster && event.name === "nodes registered") {
          const started = performance.now();
          loading = loadToolbox().then(
            () => ({ ok: true as const, ms: Math.round(performance.now() - started) }),
            (error: unknown) => ({ ok: false as const, error }),
          );
        }
      };
      const result = await start({ scenario: file, name, signal, onEvent: listener, env, cwd, store, kind, pool: true });
      try {
        const record = await store.require(name);
        const early = (await loading) as { ok: true; ms: number } | { ok: false; error: unknown } | undefined;
        const entry = record.pool ? await pool.get(record.pool.id) : undefined;
        if (entry?.images.includes(TOOLBOX_IMAGE)) {
          onEvent({ type: "step-start", phase: "images", name: "load the toolbox image" });
          onEvent({ type: "step-end", phase: "images", name: "load the toolbox image", status: "skipped", durationMs: 0, detail: `loaded into warm cluster ${record.cluster} ahead of time` });
        } else if (record.provider === "kind" && !early?.ok) await step(onEvent, "images", "load the toolbox image", () => loadToolbox(record.cluster));
        else if (early?.ok) {
          onEvent({ type: "step-start", phase: "images", name: "load the toolbox image" });
          onEvent({ type: "step-end", phase: "images", name: "load the toolbox image", status: "ok", durationMs: early.ms, detail: "while the setup ran" });
        }
        const client = await createClusterClient({ kubeconfig: record.kubeconfig, context: record.context });
        try {
          const cluster = (await loadScenario(record.scenarioDir, { cwd })).scenario.spec.cluster;
          await step(onEvent, "setup", "start the terminal's toolbox pod", () => ensureToolbox(client, { cluster, signal }), (r) => (r.node ? `on ${r.node}` : undefined));
        } finally {
          await client.close();
        }
      } catch (error) {
        // The lab is no use without its terminal: delete it, then fail as the start would have.
        await down({ name, env, cwd, store }).catch((e: unknown) => onEvent({ type: "warning", message: `the lab was not deleted: ${errorMessage(e)}` }));
        throw error;
      }
      return { task: result.task, ...(result.lab.pool ? { warmCluster: result.lab.cluster } : {}) };
    },
    async fillPool({ file, size, signal, onEvent }) {
      const result = await fill({ scenario: file, size, remember: false, extraImages: [TOOLBOX_IMAGE], env, cwd, store, signal, onEvent });
      return { created: result.created.map((c) => c.slice(POOL_CLUSTER_PREFIX.length)), ...(result.stopped ? { stopped: result.stopped } : {}) };
    },
    async drainPool(ids) {
      if (!ids.length) return [];
      const pool = new PoolStore(store.dir);
      const kind = new KindProvider({ env });
      const deleted: string[] = [];
      for (const entry of await pool.takeForDrain(undefined, ids)) {
        await kind.delete(entry.cluster, { kubeconfigPath: pool.kubeconfigPath(entry.id) });
        await pool.remove(entry.id);
        deleted.push(entry.cluster);
      }
      return deleted;
    },
    async grade({ name, signal }) {
      const { report } = await gradeLab({ lab: name, env, cwd, store, ...(signal ? { signal } : {}) });
      return report;
    },
    async attempts(name) {
      return (await store.get(name))?.attempts ?? [];
    },
    async report(name, attempt) {
      const found = (await store.get(name))?.attempts.find((a) => a.attempt === attempt);
      return found ? parseReport(await readFile(found.reportFile, "utf8"), found.reportFile) : undefined;
    },
    async down(name) {
      await down({ name, env, cwd, store });
    },
    async terminal(name, size, handlers) {
      return openToolboxShell(await store.require(name), size, handlers);
    },
  };
}
