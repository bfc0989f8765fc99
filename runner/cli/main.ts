/**
 * The labrun command line: a thin layer over the library. It parses flags,
 * wires signals to an AbortSignal, and turns errors into one clear message and
 * an exit code (see runner/errors.ts). No stack trace unless --debug.
 */
import { exitCodeOf, ExitCode, formatProblem, InfraError, LabrunError, ScenarioError } from "../errors.ts";
import { VERSION } from "../version.ts";
import { helpText, parseCommandArgs, type Command, type CommandIO } from "./command.ts";
import { VERBS } from "./verbs.ts";

function topHelp(): string {
  const width = Math.max(...VERBS.map((v) => v.name.length)) + 2;
  return [
    "labrun: Kubernetes troubleshooting labs as code",
    "",
    "Usage: labrun <command> [options]",
    "",
    "Commands:",
    ...VERBS.map((v) => `  ${v.name.padEnd(width)}${v.summary}`),
    "",
    "Options:",
    "  -h, --help     Show help (also `labrun <command> --help`).",
    "  -V, --version  Print labrun's version.",
    "      --debug    Print stack traces and the commands labrun runs.",
    "",
    "Exit codes: 0 ok, 1 checks failed, 2 usage or scenario error, 3 infrastructure error, 130 interrupted.",
    "",
  ].join("\n");
}

export async function main(argv: string[], partialIO: Partial<CommandIO> = {}): Promise<number> {
  const controller = new AbortController();
  const io: CommandIO = {
    stdout: partialIO.stdout ?? process.stdout,
    stderr: partialIO.stderr ?? process.stderr,
    env: partialIO.env ?? process.env,
    cwd: partialIO.cwd ?? process.cwd(),
    signal: partialIO.signal ?? controller.signal,
  };
  const debug = argv.includes("--debug") || io.env.LABRUN_DEBUG === "1";
  // Deeper layers (the kind provider) show their calls when LABRUN_DEBUG is set.
  if (debug && io.env.LABRUN_DEBUG !== "1") io.env = { ...io.env, LABRUN_DEBUG: "1" };
  const [verb, ...rest] = argv;
  try {
    if (verb === undefined || verb === "-h" || verb === "--help" || verb === "help") {
      io.stdout.write(topHelp());
      return verb === undefined ? ExitCode.usage : ExitCode.ok;
    }
    if (verb === "-V" || verb === "--version" || verb === "version") {
      io.stdout.write(`labrun ${VERSION}\n`);
      return ExitCode.ok;
    }
    const entry = VERBS.find((v) => v.name === verb);
    if (!entry) {
      const { closest } = await import("../util/suggest.ts");
      const guess = closest(verb, VERBS.map((v) => v.name));
      io.stderr.write(`error: unknown command "${verb}"${guess ? ` (did you mean "${guess}"?)` : ""}\nhint: run \`labrun --help\` for the list of commands\n`);
      return ExitCode.usage;
    }
    const command: Command = (await entry.load()).default;
    const args = parseCommandArgs(command, rest);
    if (args.values.help) {
      io.stdout.write(helpText(command));
      return ExitCode.ok;
    }
    return await command.run(args, io);
  } catch (error) {
    reportError(error, io, debug);
    return exitCodeOf(error);
  }
}

export function reportError(error: unknown, io: Pick<CommandIO, "stderr">, debug: boolean): void {
  const out = io.stderr;
  if (error instanceof ScenarioError) {
    for (const problem of error.problems) out.write(`${formatProblem(problem)}\n`);
    out.write(`error: ${error.problems.length} problem${error.problems.length === 1 ? "" : "s"} in scenario\n`);
  } else if (error instanceof LabrunError) {
    out.write(`error: ${error.message}\n`);
    if (error instanceof InfraError && error.output) out.write(indent(error.output.trimEnd()) + "\n");
  } else {
    const message = error instanceof Error ? error.message : String(error);
    out.write(`error: internal error: ${message}\nThis is a bug in labrun: please report it with the output of the same command run with --debug.\n`);
  }
  if (error instanceof LabrunError && error.hint) out.write(`hint: ${error.hint}\n`);
  if (debug && error instanceof Error && error.stack) {
    out.write(`\n${error.stack}\n`);
    let cause = error.cause;
    while (cause instanceof Error) {
      out.write(`caused by: ${cause.stack ?? cause.message}\n`);
      cause = cause.cause;
    }
  }
}

function indent(text: string): string {
  return text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
}
