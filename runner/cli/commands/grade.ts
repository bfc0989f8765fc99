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
import type { GradeEvent } from "../../../checks/engine.ts";
import { ExitCode, UsageError } from "../../errors.ts";
import { gradeLab } from "../../lab/grade.ts";
import { formatDuration, parseDuration } from "../../util/duration.ts";
import { bool, str, type Command, type CommandIO } from "../command.ts";
import { useColor } from "../output.ts";
import { spinner } from "../spinner.ts";
import { planReportOutput, REPORT_OUTPUT_OPTIONS, writeReport } from "../report-output.ts";

const command: Command = {
  name: "grade",
  summary: "Grade a lab: run the scenario's checks and print the report.",
  usage: "labrun grade [LAB|SCENARIO] [--kubeconfig FILE [--context NAME]] [-o FORMAT] [--report FILE] [--timeout D] [--settle D]",
  description: `
Runs the scenario's checks against the lab's cluster and prints a report: a
score with partial credit, and for each check that did not pass what was
expected, what was observed and a hint. The attempt is recorded with the lab
(\`labrun history LAB\`).

Network checks run labrun's own probe in an ephemeral container of the source
pod, so they see exactly what that pod sees and do not depend on the pod's tools.

A failing check stops waiting once the cluster has not changed for the settle
window (--settle, default 5s; 0 waits out every check's timeout): a cluster
that is not converging will not start passing by itself.

With --kubeconfig, grade a scenario against any cluster (nothing is recorded).
Commands on nodes work only on kind clusters (\`kind-*\` contexts).

Exit codes: 0 passed, 1 below the pass mark, 2 usage or scenario error,
3 the cluster is unreachable, 130 interrupted.`,
  options: {
    kubeconfig: { type: "string", value: "FILE", description: "Grade the cluster of this kubeconfig instead of a lab (give a SCENARIO)." },
    context: { type: "string", value: "NAME", description: "The context of --kubeconfig (default: its current context)." },
    timeout: { type: "string", value: "D", description: "A limit on the whole grade, e.g. 2m: checks still waiting then report what they last saw." },
    settle: { type: "string", value: "D", description: "A failing check stops once the cluster has not changed for D (0: wait out every timeout).", default: "5s" },
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
    let settleMs: number;
    try {
      const settle = str(args, "settle") ?? "5s";
      settleMs = settle === "0" ? 0 : parseDuration(settle);
    } catch (error) {
      throw new UsageError(`--settle: ${error instanceof Error ? error.message : String(error)}`);
    }
    const debug = bool(args, "debug") || io.env.LABRUN_DEBUG === "1";
    const ref = args.positionals[0];
    const progress = gradeProgress(io, { debug, title: `grading ${ref ?? "the lab"}${kubeconfig ? ` on ${context ?? "the current context"} of ${kubeconfig}` : ""}` });
    let result;
    try {
      result = await gradeLab({
        ...(ref ? { lab: ref } : {}),
        ...(kubeconfig ? { kubeconfig } : {}),
        ...(context ? { context } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        settleMs,
        cwd: io.cwd,
        env: io.env,
        signal: io.signal,
        onEvent: progress.listener,
      });
    } finally {
      progress.stop();
    }
    if (result.warning) io.stderr.write(`warning: ${result.warning}\n`);
    const { report } = result;
    await writeReport(report, plan, io);
    return report.score.passed ? ExitCode.ok : ExitCode.checksFailed;
  },
};

// ---------------------------------------------------------------- progress

interface GradeProgress {
  listener: (event: GradeEvent) => void;
  stop(): void;
}

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
  const since = performance.now();
  const spin = spinner(out, tty, (frame) => {
    const waiting = [...running.entries()][0];
    const secs = Math.floor((performance.now() - since) / 1000);
    const line = `${frame} ${options.title}: ${finished}/${total} checks${secs ? ` ${secs}s` : ""}${waiting ? dim(` · ${waiting[0]}: ${waiting[1]}`) : ""}`;
    const width = (out as { columns?: number }).columns ?? 100;
    return line.length > width + 20 ? line.slice(0, width + 19) : line;
  });
  const stop = () => {
    spin.stop();
    spin.clear();
  };
  const listener = (event: GradeEvent) => {
    switch (event.type) {
      case "grade-started":
        total = event.checks;
        if (tty) spin.start();
        else out.write(`${options.title} (${event.checks} checks)\n`);
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
          spin.clear();
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
