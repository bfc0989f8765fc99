/**
 * A tiny command framework over node:util parseArgs: every verb declares its
 * options once, and `--help` is generated from that declaration.
 */
import { parseArgs } from "node:util";
import { UsageError } from "../errors.ts";

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** Shown in --help, e.g. `FILE`. */
  value?: string;
  description: string;
  default?: string | boolean;
}

export interface CommandIO {
  /** Data (reports, tables, JSON) goes here. */
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  /** Diagnostics and progress go here. */
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  /** With a `--` on the command line: how many positionals came before it. */
  beforeDashDash?: number;
}

export interface Command {
  name: string;
  /** One line for the verb list. */
  summary: string;
  /** e.g. `labrun validate [PATH...]` */
  usage: string;
  /** Longer help text (optional). */
  description?: string;
  options: Record<string, OptionSpec>;
  /** Positional arguments: min and max (Infinity for any). */
  args: { min: number; max: number };
  /** Returns the exit code. */
  run(args: ParsedArgs, io: CommandIO): Promise<number>;
}

/** Options every verb takes. */
export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  help: { type: "boolean", short: "h", description: "Show help for this command." },
  debug: { type: "boolean", description: "Print stack traces and the commands labrun runs." },
};

export function parseCommandArgs(command: Command, argv: string[]): ParsedArgs {
  const options = { ...GLOBAL_OPTIONS, ...command.options };
  const config: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const [name, spec] of Object.entries(options)) {
    config[name] = { type: spec.type, ...(spec.short ? { short: spec.short } : {}), ...(spec.multiple ? { multiple: true } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: config, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    throw new UsageError(cleanParseError(error), { hint: `run \`labrun ${command.name} --help\`` });
  }
  const values = { ...parsed.values } as ParsedArgs["values"];
  for (const [name, spec] of Object.entries(options)) {
    if (values[name] === undefined && spec.default !== undefined) values[name] = spec.default;
  }
  if (!values.help) {
    const n = parsed.positionals.length;
    if (n < command.args.min) {
      throw new UsageError(`missing argument: usage: ${command.usage}`, { hint: `run \`labrun ${command.name} --help\`` });
    }
    if (n > command.args.max) {
      throw new UsageError(`unexpected argument "${parsed.positionals[command.args.max]}": usage: ${command.usage}`, {
        hint: `run \`labrun ${command.name} --help\``,
      });
    }
  }
  const dashDash = parsed.tokens.findIndex((t) => t.kind === "option-terminator");
  const beforeDashDash = dashDash === -1 ? undefined : parsed.tokens.slice(0, dashDash).filter((t) => t.kind === "positional").length;
  return { values, positionals: parsed.positionals, ...(beforeDashDash !== undefined ? { beforeDashDash } : {}) };
}

function cleanParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // parseArgs says e.g. "Unknown option '--fo'. To specify a positional argument starting with a '-', place it at the end of the command after '--', as in '-- \"--fo\"'"
  return message.split(". To specify")[0]!.replace(/^Option/, "option").replace(/^Unknown/, "unknown");
}

export function helpText(command: Command): string {
  const lines = [`Usage: ${command.usage}`, "", command.summary];
  if (command.description) lines.push("", command.description.trim());
  const options = { ...command.options, ...GLOBAL_OPTIONS };
  const rows = Object.entries(options).map(([name, spec]) => {
    const flag = `${spec.short ? `-${spec.short}, ` : "    "}--${name}${spec.type === "string" ? ` ${spec.value ?? "VALUE"}` : ""}`;
    const extra = spec.default !== undefined && spec.default !== false ? ` (default: ${String(spec.default)})` : "";
    return [flag, spec.description + extra + (spec.multiple ? " Repeatable." : "")] as const;
  });
  const width = Math.max(...rows.map(([flag]) => flag.length)) + 2;
  lines.push("", "Options:");
  for (const [flag, text] of rows) lines.push(`  ${flag.padEnd(width)}${text}`);
  return lines.join("\n") + "\n";
}

/** Typed accessors for parsed values. */
export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return typeof v === "string" ? v : undefined;
}
export function bool(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}
export function list(args: ParsedArgs, name: string): string[] {
  const v = args.values[name];
  return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
}
