/**
 * `labrun history LAB`: the lab's graded attempts with their scores, from the
 * lab store (runner/lab/state.ts). A table, or JSON with `-o json`.
 */
import { ExitCode } from "../../errors.ts";
import { LabStore, type LabAttempt, type LabRecord } from "../../lab/state.ts";
import { displayTime, formatPercent, formatPoints } from "../../report/format.ts";
import type { Command, CommandIO } from "../command.ts";
import { displayPath, table } from "../output.ts";
import { outputFormat, outputOption } from "../report-output.ts";

const FORMATS = ["text", "json"] as const;

/** The JSON `labrun history -o json` prints. */
export interface HistoryDocument {
  lab: string;
  scenario: string;
  cluster: string;
  status: LabRecord["status"];
  attempts: LabAttempt[];
  /** The attempt with the highest percent (the latest of equals), if any. */
  best: number | null;
}

export function historyDocument(record: LabRecord): HistoryDocument {
  const attempts = [...record.attempts].sort((a, b) => a.attempt - b.attempt);
  return { lab: record.name, scenario: record.scenario, cluster: record.cluster, status: record.status, attempts, best: bestAttempt(attempts) };
}

function bestAttempt(attempts: LabAttempt[]): number | null {
  let best: LabAttempt | undefined;
  for (const a of attempts) if (!best || a.percent >= best.percent) best = a;
  return best ? best.attempt : null;
}

/** The history as a table and a closing line (pure: `cwd` only shortens report paths). */
export function renderHistory(record: LabRecord, io: Pick<CommandIO, "cwd">): string {
  const doc = historyDocument(record);
  const rows = doc.attempts.map((a) => [
    String(a.attempt) + (a.attempt === doc.best ? " *" : ""),
    displayTime(a.at),
    `${formatPoints(a.points)}/${formatPoints(a.maxPoints)}`,
    formatPercent(a.percent),
    a.passed ? "PASS" : "FAIL",
    displayPath(a.reportFile, io),
  ]);
  const best = doc.attempts.find((a) => a.attempt === doc.best);
  const passed = doc.attempts.filter((a) => a.passed).length;
  const footer =
    `${doc.attempts.length} attempt${doc.attempts.length === 1 ? "" : "s"} of ${doc.scenario} on lab ${doc.lab}, ${passed} passed` +
    (best ? `; best (*): attempt ${best.attempt}, ${formatPoints(best.points)}/${formatPoints(best.maxPoints)} (${formatPercent(best.percent)})` : "");
  return table(["ATTEMPT", "WHEN", "SCORE", "PERCENT", "RESULT", "REPORT"], rows) + footer + "\n";
}

const command: Command = {
  name: "history",
  summary: "List a lab's graded attempts and their scores.",
  usage: "labrun history LAB [-o text|json]",
  description:
    "Lists every `labrun grade` of the lab: when, the score, pass or fail, and the file of its saved JSON report " +
    "(which validates against schemas/report.schema.json). The best attempt is marked with *.",
  options: {
    output: outputOption(FORMATS),
  },
  args: { min: 1, max: 1 },
  async run(args, io) {
    const format = outputFormat(args, FORMATS, "history");
    const name = args.positionals[0]!;
    const store = new LabStore({ env: io.env });
    const record = await store.require(name);
    if (format === "json") {
      io.stdout.write(JSON.stringify(historyDocument(record), null, 2) + "\n");
      return ExitCode.ok;
    }
    if (record.attempts.length === 0) {
      io.stderr.write(`lab ${name} has no graded attempts yet\nhint: run \`labrun grade ${name}\`\n`);
      return ExitCode.ok;
    }
    io.stdout.write(renderHistory(record, io));
    return ExitCode.ok;
  },
};

export default command;
