/**
 * `labrun grade [LAB|SCENARIO]`: run the scenario's checks against a lab's
 * cluster, print the report, record the attempt.
 *
 *   labrun grade                     the only lab
 *   labrun grade beebox-cni          a lab by name (or the one lab of that scenario)
 *   labrun grade SCENARIO --kubeconfig F [--context C]
 *                                    any cluster, no lab state (nothing recorded)
 *
 * Exit codes: 0 passed, 1 below the pass mark, 2 usage or scenario error,
 * 3 the cluster is unreachable (never a grade of a cluster that cannot answer),
 * 130 interrupted.
 */
import { resolve } from "node:path";
import type { GradeEvent } from "../../../checks/engine.ts";
import { grade } from "../../../checks/grade.ts";
import { createKubeClient, loadKubeConfig, type KubeClusterClient, type NodeRunner } from "../../../checks/kube.ts";
import { ExitCode, InfraError, InterruptedError, NotFoundError, UsageError } from "../../errors.ts";
import { resolveLab } from "../../lab/lifecycle.ts";
import { LabStore, type LabRecord } from "../../lab/state.ts";
import { KindProvider } from "../../providers/kind.ts";
import { loadScenario, type LoadedScenario } from "../../scenario/load.ts";
import { formatDuration, parseDuration } from "../../util/duration.ts";
import { bool, str, type Command, type CommandIO } from "../command.ts";
import { useColor } from "../output.ts";
import { planReportOutput, REPORT_OUTPUT_OPTIONS, writeReport } from "../report-output.ts";

const command: Command = {
  name: "grade",
  summary: "Grade a lab: run the scenario's checks and print the report.",
  usage: "labrun grade [LAB|SCENARIO] [--kubeconfig FILE [--context NAME]] [-o FORMAT] [--report FILE] [--timeout D]",
  description: `
Runs the scenario's checks against the lab's cluster and prints a report: a
score with partial credit, and for each check that did not pass what was
expected, what was observed and a hint. The attempt is recorded with the lab
(\`labrun history LAB\`).

Network checks run labrun's own probe in an ephemeral container of the source
pod, so they see exactly what that pod sees and do not depend on the pod's tools.

With --kubeconfig, grade a scenario against any cluster (nothing is recorded).
Commands on nodes work only on kind clusters (\`kind-*\` contexts).

Exit codes: 0 passed, 1 below the pass mark, 2 usage or scenario error,
3 the cluster is unreachable, 130 interrupted.`,
  options: {
    kubeconfig: { type: "string", value: "FILE", description: "Grade the cluster of this kubeconfig instead of a lab (give a SCENARIO)." },
    context: { type: "string", value: "NAME", description: "The context of --kubeconfig (default: its current context)." },
    timeout: { type: "string", value: "D", description: "A limit on the whole grade, e.g. 2m: checks still waiting then report what they last saw." },
    ...REPORT_OUTPUT_OPTIONS,
  },
  args: { min: 0, max: 1 },
  async run(args, io) {
    const plan = planReportOutput(args, io, "grade");
    const kubeconfig = str(args, "kubeconfig");
    const context = str(args, "context");
    if (context && !kubeconfig) throw new UsageError("--context needs --kubeconfig");
    let timeoutMs: number | undefined;
    const timeout = str(args, "timeout");
    if (timeout !== undefined) {
      try {
        timeoutMs = parseDuration(timeout);
      } catch (error) {
        throw new UsageError(`--timeout: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const debug = bool(args, "debug") || io.env.LABRUN_DEBUG === "1";
    const target = kubeconfig ? await kubeconfigTarget(args.positionals[0], kubeconfig, context, io) : await labTarget(args.positionals[0], io);

    const progress = gradeProgress(io, { debug, title: `grading ${target.loaded.name} on ${target.lab.provider === "kubeconfig" ? "cluster" : "lab"} ${target.lab.name}` });
    let report;
    try {
      report = await grade({
        scenario: target.loaded,
        client: target.client,
        lab: { name: target.lab.name, cluster: target.lab.cluster, provider: target.lab.provider },
        attempt: target.attempt,
        signal: io.signal,
        onEvent: progress.listener,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      });
    } catch (error) {
      if (io.signal.aborted) throw new InterruptedError(typeof io.signal.reason === "string" ? io.signal.reason : "SIGINT");
      if (error instanceof InfraError && !error.hint) {
        throw new InfraError(error.message, { code: error.code, cause: error, hint: target.record ? `is the lab running? check \`labrun status ${target.record.name}\`` : "is the cluster running?" });
      }
      throw error;
    } finally {
      progress.stop();
      await target.client.close();
    }

    if (target.store && target.record) {
      try {
        report.attempt = await target.store.recordAttempt(target.record.name, report);
      } catch (error) {
        io.stderr.write(`warning: the attempt was not recorded: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    }
    await writeReport(report, plan, io);
    return report.score.passed ? ExitCode.ok : ExitCode.checksFailed;
  },
};

interface Target {
  loaded: LoadedScenario;
  client: KubeClusterClient;
  lab: { name: string; cluster: string; provider: "kind" | "kubeconfig" };
  attempt: number;
  store?: LabStore;
  record?: LabRecord;
}

/** A lab from the store: by name, the one lab of a scenario of that name, or the only lab. */
async function labTarget(ref: string | undefined, io: CommandIO): Promise<Target> {
  const store = new LabStore({ env: io.env });
  const record = ref === undefined ? await resolveLab(store, undefined) : await findLab(store, ref);
  if (record.status === "creating") throw new UsageError(`lab "${record.name}" is still being created`, { hint: "wait for `labrun start` to finish" });
  if (record.status === "deleting") throw new UsageError(`lab "${record.name}" is being deleted`);
  if (record.status === "failed") {
    throw new UsageError(`lab "${record.name}" failed to start${record.error ? `: ${record.error}` : ""}`, { hint: `delete it with \`labrun down ${record.name}\` and start again` });
  }
  const loaded = await loadScenario(record.scenarioDir);
  const nodeRunner: NodeRunner | undefined =
    record.provider === "kind"
      ? (() => {
          const kind = new KindProvider({ env: io.env });
          const cluster = record.cluster;
          return (node, argv, opts) => kind.execOnNode(cluster, node, argv, opts);
        })()
      : undefined;
  const client = createKubeClient({ kubeconfig: record.kubeconfig, context: record.context, ...(nodeRunner ? { nodeRunner } : {}) });
  const attempt = await store.nextAttempt(record.name);
  return { loaded, client, lab: { name: record.name, cluster: record.cluster, provider: record.provider }, attempt, store, record };
}

async function findLab(store: LabStore, ref: string): Promise<LabRecord> {
  const valid = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ref) && ref.length <= 40;
  const record = valid ? await store.get(ref) : undefined;
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
async function kubeconfigTarget(ref: string | undefined, kubeconfig: string, context: string | undefined, io: CommandIO): Promise<Target> {
  if (!ref) throw new UsageError("with --kubeconfig, name the scenario to grade: `labrun grade SCENARIO --kubeconfig FILE`");
  const loaded = await loadScenario(ref, { cwd: io.cwd });
  const file = resolve(io.cwd, kubeconfig);
  const kc = loadKubeConfig(file, context);
  const contextName = kc.getCurrentContext();
  const clusterName = kc.getContextObject(contextName)?.cluster ?? contextName;
  const nodeRunner = await kindNodeRunner(clusterName, io);
  const client = createKubeClient({ kubeconfig: file, ...(context ? { context } : {}), ...(nodeRunner ? { nodeRunner } : {}) });
  return { loaded, client, lab: { name: contextName, cluster: clusterName, provider: "kubeconfig" }, attempt: 1 };
}

/** `kind-<name>` clusters that kind knows: run node commands with `docker exec`. */
async function kindNodeRunner(cluster: string, io: CommandIO): Promise<NodeRunner | undefined> {
  if (!cluster.startsWith("kind-")) return undefined;
  const name = cluster.slice("kind-".length);
  const kind = new KindProvider({ env: io.env });
  try {
    if (!(await kind.list({ signal: io.signal })).includes(name)) return undefined;
  } catch {
    return undefined;
  }
  return (node, argv, opts) => kind.execOnNode(name, node, argv, opts);
}

// ---------------------------------------------------------------- progress

interface GradeProgress {
  listener: (event: GradeEvent) => void;
  stop(): void;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

/**
 * Progress on stderr while checks poll: on a TTY one transient spinner line
 * (the report follows on stdout); otherwise a start line, and with --debug one
 * line per attempt.
 */
export function gradeProgress(io: Pick<CommandIO, "stderr" | "env">, options: { debug?: boolean; title: string; tty?: boolean }): GradeProgress {
  const out = io.stderr;
  const tty = options.tty ?? (out.isTTY === true && io.env.TERM !== "dumb" && !io.env.CI);
  const color = useColor(out, io.env);
  const dim = (s: string) => (color ? `\u001b[2m${s}\u001b[22m` : s);
  const running = new Map<string, string>();
  let total = 0;
  let finished = 0;
  let frame = 0;
  let timer: NodeJS.Timeout | undefined;
  const since = performance.now();
  const draw = () => {
    if (!tty) return;
    const waiting = [...running.entries()][0];
    const secs = Math.floor((performance.now() - since) / 1000);
    const line = `${FRAMES[frame++ % FRAMES.length]} ${options.title}: ${finished}/${total} checks${secs ? ` ${secs}s` : ""}${waiting ? dim(` · ${waiting[0]}: ${waiting[1]}`) : ""}`;
    const width = (out as { columns?: number }).columns ?? 100;
    out.write(`\r\u001b[2K${line.length > width + 20 ? line.slice(0, width + 19) : line}`);
  };
  const stop = () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    if (tty) out.write("\r\u001b[2K");
  };
  const listener = (event: GradeEvent) => {
    switch (event.type) {
      case "grade-started":
        total = event.checks;
        if (tty) {
          timer = setInterval(draw, 100);
          timer.unref?.();
        } else out.write(`${options.title} (${event.checks} checks)\n`);
        break;
      case "check-started":
        running.set(event.id, "starting");
        break;
      case "check-attempt":
        running.set(event.id, event.message);
        if (options.debug && !tty) out.write(`  ${event.id} attempt ${event.attempt}: ${event.ok === null ? "could not evaluate: " : event.ok ? "ok: " : ""}${event.message}\n`);
        break;
      case "check-finished":
        running.delete(event.result.id);
        finished++;
        if (options.debug && !tty) out.write(`  ${event.result.id}: ${event.result.status} after ${formatDuration(event.result.durationMs)}\n`);
        break;
      case "log":
        if (event.level === "warn" || options.debug) {
          if (tty) out.write("\r\u001b[2K");
          out.write(`${event.level === "warn" ? "warning" : event.level}: ${event.id ? `${event.id}: ` : ""}${event.message}\n`);
        }
        break;
      case "grade-finished":
        break;
    }
  };
  return { listener, stop };
}

export default command;
