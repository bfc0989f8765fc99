/**
 * Errors a user can cause or meet, each with a distinct exit code.
 *
 *   0   ok
 *   1   checks failed (a grade below the pass mark, a scenario test that failed)
 *   2   usage or scenario error (bad flags, an invalid scenario file, an unknown lab)
 *   3   infrastructure error (Docker, kind, the cluster or its API is unreachable)
 *   130 interrupted (Ctrl-C, SIGTERM)
 *   70  a bug in labrun (an unexpected exception); please report it
 *
 * The CLI prints `error: <message>` and, when there is one, `hint: <what to run>`;
 * the stack only with `--debug`.
 */

export const ExitCode = {
  ok: 0,
  checksFailed: 1,
  usage: 2,
  infrastructure: 3,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export abstract class LabrunError extends Error {
  abstract readonly exitCode: ExitCode;
  /** A machine-readable code for library users, e.g. `SCENARIO_INVALID`. */
  abstract readonly code: string;
  /** What the user can do about it: a command to run, a setting to change. */
  readonly hint: string | undefined;

  constructor(message: string, options: { cause?: unknown; hint?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
  }
}

/** Bad command-line usage: unknown flag, missing argument, unknown verb. */
export class UsageError extends LabrunError {
  readonly exitCode = ExitCode.usage;
  readonly code = "USAGE";
}

/** One located problem in a scenario file. */
export interface Problem {
  file: string;
  line: number;
  col: number;
  /** Dotted path to the field, e.g. `spec.checks[2].http.to`; empty for the whole file. */
  path: string;
  message: string;
  /** A machine-readable code for some findings, e.g. `XREF_UNDECLARED_POD` (`labrun validate` prints it in brackets). */
  code?: string;
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}  ${p.path || "(file)"}  ${p.message}${p.code ? ` [${p.code}]` : ""}`;
}

/** A scenario that cannot be used; carries every problem found, not only the first. */
export class ScenarioError extends LabrunError {
  readonly exitCode = ExitCode.usage;
  readonly code = "SCENARIO_INVALID";
  readonly problems: Problem[];

  constructor(problems: Problem[], options: { hint?: string } = {}) {
    const first = problems[0];
    const head = first ? formatProblem(first) : "invalid scenario";
    super(problems.length > 1 ? `${head} (and ${problems.length - 1} more)` : head, options);
    this.problems = problems;
  }
}

/** Something labrun was asked to act on does not exist: a scenario, a lab. */
export class NotFoundError extends LabrunError {
  readonly exitCode = ExitCode.usage;
  readonly code = "NOT_FOUND";
}

/** Docker, kind, the cluster or its API failed or is unreachable. */
export class InfraError extends LabrunError {
  readonly exitCode = ExitCode.infrastructure;
  readonly code: string;
  /** Output of the command that failed, printed once with the error. */
  readonly output: string | undefined;

  constructor(message: string, options: { cause?: unknown; hint?: string; code?: string; output?: string } = {}) {
    super(message, options);
    this.code = options.code ?? "INFRASTRUCTURE";
    this.output = options.output;
  }
}

/** The run was interrupted by SIGINT or SIGTERM. */
export class InterruptedError extends LabrunError {
  readonly exitCode = ExitCode.interrupted;
  readonly code = "INTERRUPTED";

  constructor(signal: string = "SIGINT") {
    super(`interrupted by ${signal}`);
  }
}

/** Checks did not pass: not an error of labrun, a verdict (exit 1), for library callers that prefer to throw. */
export class ChecksFailedError extends LabrunError {
  readonly exitCode = ExitCode.checksFailed;
  readonly code = "CHECKS_FAILED";
}

/** The exit code for any thrown value: labrun's errors carry one; anything else is a bug in labrun (70, EX_SOFTWARE). */
export function exitCodeOf(error: unknown): number {
  if (error instanceof LabrunError) return error.exitCode;
  return 70; // EX_SOFTWARE: an internal error, a bug in labrun
}
