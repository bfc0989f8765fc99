/**
 * The one way providers run host commands (kind, docker). Injectable, so unit
 * tests assert the exact command lines and script the results.
 */
import { execa } from "execa";
import { InfraError } from "../errors.ts";
import { trackGroup, untrackGroup } from "../util/processes.ts";

export interface RunOptions {
  /** Written to the command's stdin. */
  input?: string;
  signal?: AbortSignal;
  /** Kill the command after this long (SIGTERM, then SIGKILL). */
  timeoutMs?: number;
  /** Each line the command writes (stdout and stderr), as it comes. */
  onLine?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /**
   * Run it in its own process group (kind create: a Ctrl-C in the terminal
   * reaches labrun only, which ends the whole group on abort or deadline, and
   * `labrun gc` can end the group of a creator whose labrun was killed).
   */
  detached?: boolean;
}

export interface RunResult {
  /** null when the command did not exit on its own (killed, timed out, aborted). */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut?: boolean;
  /** Aborted through the signal. */
  aborted?: boolean;
}

export type CommandRunner = (file: string, args: string[], options?: RunOptions) => Promise<RunResult>;

/** Runs commands with execa; a missing executable is an InfraError (code COMMAND_NOT_FOUND). */
export const execaRunner: CommandRunner = async (file, args, options = {}) => {
  const detached = options.detached === true;
  const child = execa(file, args, {
    input: options.input ?? "",
    reject: false,
    stripFinalNewline: false,
    ...(options.signal && !detached ? { cancelSignal: options.signal } : {}),
    ...(options.timeoutMs && !detached ? { timeout: options.timeoutMs } : {}),
    forceKillAfterDelay: 5_000,
    ...(detached ? { detached: true } : {}),
    ...(options.env ? { env: options.env, extendEnv: false } : {}),
  });
  const group = detached ? groupKiller(child.pid, options) : undefined;
  if (options.onLine) {
    const onLine = options.onLine;
    for (const stream of [child.stdout, child.stderr]) {
      let rest = "";
      stream?.on("data", (chunk: Buffer) => {
        const lines = (rest + chunk.toString("utf8")).split(/\r?\n/);
        rest = lines.pop() ?? "";
        for (const line of lines) if (line.trim()) onLine(line);
      });
      stream?.on("end", () => {
        if (rest.trim()) onLine(rest);
      });
    }
  }
  const result = await child.finally(() => group?.dispose());
  const code = (result as { code?: string }).code;
  if (result.failed && !result.isCanceled && !result.timedOut && result.exitCode === undefined && code === "ENOENT") {
    throw new InfraError(`${file} not found`, { code: "COMMAND_NOT_FOUND", hint: `install ${file} or put it on PATH` });
  }
  return {
    exitCode: typeof result.exitCode === "number" ? result.exitCode : null,
    stdout: String(result.stdout ?? ""),
    stderr: String(result.stderr ?? ""),
    timedOut: result.timedOut === true || group?.ended() === "timeout",
    aborted: result.isCanceled === true || group?.ended() === "abort",
  };
};

/** For a detached child: on abort or deadline, SIGTERM its whole process group, then SIGKILL it 5 s later. */
function groupKiller(pid: number | undefined, options: RunOptions): { ended: () => "abort" | "timeout" | undefined; dispose: () => void } {
  let ended: "abort" | "timeout" | undefined;
  let force: NodeJS.Timeout | undefined;
  if (pid === undefined) return { ended: () => ended, dispose: () => undefined };
  trackGroup(pid);
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // the group is gone
    }
  };
  const end = (why: "abort" | "timeout") => {
    if (ended) return;
    ended = why;
    kill("SIGTERM");
    force = setTimeout(() => kill("SIGKILL"), 5_000);
  };
  const onAbort = () => end("abort");
  if (options.signal?.aborted) end("abort");
  else options.signal?.addEventListener("abort", onAbort, { once: true });
  const timer = options.timeoutMs ? setTimeout(() => end("timeout"), options.timeoutMs) : undefined;
  return {
    ended: () => ended,
    dispose: () => {
      untrackGroup(pid);
      options.signal?.removeEventListener("abort", onAbort);
      clearTimeout(timer);
      clearTimeout(force);
      if (ended) kill("SIGKILL"); // stragglers of the group (its `docker run` children) go with it
    },
  };
}

/** stderr and stdout of a failed command, for an error's `output`. */
export function outputOf(result: RunResult, maxLines = 40): string {
  const text = [result.stderr, result.stdout].map((s) => s.trimEnd()).filter(Boolean).join("\n");
  const lines = text.split("\n");
  return lines.length > maxLines ? ["...", ...lines.slice(-maxLines)].join("\n") : text;
}

/** A command line as a shell would show it (for --debug and error messages). */
export function commandLine(file: string, args: string[]): string {
  return [file, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`)).join(" ");
}
