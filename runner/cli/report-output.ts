/**
 * Where a report goes, for the verbs that produce one (`grade`, `test`):
 *
 *   -o, --output FORMAT   the report on stdout: text (default), json, junit, markdown, html
 *   --report FILE.ext     also write it to FILE, in the format its extension names
 *                         (.json, .xml = JUnit, .md, .html, .txt); repeatable
 *   $GITHUB_STEP_SUMMARY  when set (GitHub Actions), the Markdown report is appended
 *                         to that file; LABRUN_STEP_SUMMARY=0 turns this off
 *
 * Data goes to stdout, diagnostics ("wrote report.html") to stderr. Text on
 * stdout is coloured by the CLI's one rule (`useColor` in ./output.ts): never
 * with a non-empty NO_COLOR, always with FORCE_COLOR (other than 0), else on a
 * TTY whose TERM is not `dumb`.
 *
 * Use it in two steps so bad flags fail before a minute of grading:
 *   const plan = planReportOutput(args, io);   // validates -o and --report
 *   ...grade...
 *   await writeReport(report, plan, io);
 */
import { appendFile, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { UsageError } from "../errors.ts";
import { FORMAT_EXTENSIONS, formatFromFile, REPORT_FORMATS, type ReportFormat } from "../report/formats.ts";
import { renderReportLazily as renderReport } from "../report/lazy.ts";
import type { Report } from "../schema/report.ts";
import { closest } from "../util/suggest.ts";
import { list, str, type CommandIO, type OptionSpec, type ParsedArgs } from "./command.ts";
import { displayPath, useColor } from "./output.ts";

const EXTENSIONS_TEXT = Object.entries(FORMAT_EXTENSIONS)
  .map(([ext, format]) => `${ext} ${format}`)
  .join(", ");

/** The `-o` and `--report` options, to spread into a verb's `options`. */
export const REPORT_OUTPUT_OPTIONS: Record<string, OptionSpec> = {
  output: {
    type: "string",
    short: "o",
    value: "FORMAT",
    description: `The report on stdout: ${REPORT_FORMATS.join(", ")}.`,
    default: "text",
  },
  report: {
    type: "string",
    multiple: true,
    value: "FILE",
    description: "Also write the report to FILE; its extension picks the format (.json, .xml for JUnit, .md, .html, .txt).",
  },
};

/** A `-o` option for verbs with their own formats (e.g. `labrun history`: text or json). */
export function outputOption(formats: readonly string[], fallback: string = formats[0]!): OptionSpec {
  return { type: "string", short: "o", value: "FORMAT", description: `Output format: ${formats.join(", ")}.`, default: fallback };
}

/** Reads and checks a `-o` value against the formats a verb supports. */
export function outputFormat<F extends string>(args: ParsedArgs, formats: readonly F[], verb: string): F {
  const value = str(args, "output") ?? formats[0]!;
  if ((formats as readonly string[]).includes(value)) return value as F;
  const guess = closest(value, formats);
  throw new UsageError(`unknown output format "${value}"${guess ? ` (did you mean "${guess}"?)` : ""}: use ${formats.join(", ")}`, {
    hint: `run \`labrun ${verb} --help\``,
  });
}

export interface ReportOutputPlan {
  /** The format written to stdout. */
  stdout: ReportFormat;
  /** Files to write, each in the format of its extension (absolute paths). */
  files: { path: string; format: ReportFormat }[];
  /** $GITHUB_STEP_SUMMARY, when the Markdown report is to be appended to it. */
  stepSummary?: string;
  /** Colour and width for text on stdout. */
  color: boolean;
  width: number;
}

/** Validates `-o` and `--report` and decides colour, width and the step summary. Throws a UsageError for bad values. */
export function planReportOutput(args: ParsedArgs, io: Pick<CommandIO, "stdout" | "env" | "cwd">, verb = "grade"): ReportOutputPlan {
  const stdout = outputFormat(args, REPORT_FORMATS, verb);
  const files: ReportOutputPlan["files"] = [];
  for (const file of list(args, "report")) {
    if (!file) throw new UsageError("--report needs a file name, e.g. `--report report.html`");
    const format = formatFromFile(file);
    if (!format) {
      throw new UsageError(`cannot tell the report format of "${file}" from its extension`, {
        hint: `use one of: ${EXTENSIONS_TEXT}`,
      });
    }
    const abs = path.resolve(io.cwd, file);
    if (!files.some((f) => f.path === abs)) files.push({ path: abs, format });
  }
  const summary = io.env.GITHUB_STEP_SUMMARY;
  const wantSummary = !!summary && io.env.LABRUN_STEP_SUMMARY !== "0";
  return {
    stdout,
    files,
    ...(wantSummary ? { stepSummary: summary } : {}),
    color: stdout === "text" && useColor(io.stdout, io.env),
    width: terminalWidth(io.stdout, io.env),
  };
}

/**
 * Writes the report: to stdout in the chosen format, then to each file, then
 * appends Markdown to the step summary. A file that cannot be written is a
 * UsageError after the other outputs were written; a step summary that
 * cannot be written is only a warning.
 */
export async function writeReport(report: Report, plan: ReportOutputPlan, io: Pick<CommandIO, "stdout" | "stderr" | "cwd">): Promise<void> {
  await write(io.stdout, await renderReport(report, plan.stdout, { color: plan.color, width: plan.width }));
  const failed: string[] = [];
  for (const file of plan.files) {
    try {
      await mkdir(path.dirname(file.path), { recursive: true });
      await writeFile(file.path, await renderReport(report, file.format, { color: false, width: 100 }));
      io.stderr.write(`wrote ${file.format} report to ${displayPath(file.path, io)}\n`);
    } catch (error) {
      failed.push(`${file.path}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  if (plan.stepSummary) {
    try {
      await appendFile(plan.stepSummary, (await renderReport(report, "markdown")) + "\n");
    } catch (error) {
      io.stderr.write(`warning: could not append to GITHUB_STEP_SUMMARY (${plan.stepSummary}): ${error instanceof Error ? error.message : String(error)}\n`);
    }
  }
  if (failed.length) {
    throw new UsageError(`could not write the report to ${failed.join("; ")}`, { hint: "check that the directory is writable, or pick another path with --report" });
  }
}

/** The width to wrap text at: the TTY's columns, else $COLUMNS, else 100. */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number }, env: NodeJS.ProcessEnv): number {
  if (stream.isTTY && typeof stream.columns === "number" && stream.columns > 0) return stream.columns;
  const columns = Number(env.COLUMNS);
  if (Number.isInteger(columns) && columns > 0) return columns;
  return 100;
}

function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

