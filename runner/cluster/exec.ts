/**
 * `kubectl exec` that never hangs.
 *
 * @kubernetes/client-node's Exec resolves when the WebSocket opens, not when
 * the command ends; the exit status (channel 3) is not always delivered; and
 * closing the socket does not stop the remote command. runExec wraps it and
 * settles on whichever comes first:
 *
 *   - the status message (channel 3)      → the exit code it carries
 *   - the socket closing without a status → exitCode null
 *   - the deadline                        → timedOut, exitCode null; the socket is terminated
 *   - the abort signal                    → rejects with the signal's reason
 *   - a socket error (before or mid-stream) → rejects with ExecError (partial output kept)
 *
 * stdout and stderr are collected up to a size cap. The remote command itself
 * must be bounded by the caller (the probe's `--timeout`, `timeout N` on a
 * node): once the deadline passes nothing labrun does can stop it.
 */
import { Readable, Writable } from "node:stream";
import type { ExecOptions, ExecResult } from "./client.ts";
import { abortReason } from "../util/sleep.ts";
import { errorMessage } from "../util/text.ts";

/** The V1Status the API server sends on channel 3 when the command ends. */
export interface ExecStatus {
  status?: string;
  message?: string;
  reason?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

/** The part of a WebSocket (the `ws` package's) that runExec uses. */
export interface ExecSocket {
  readonly readyState?: number;
  close(): void;
  /** Drop the connection at once (ws's `terminate`). */
  terminate?(): void;
  on(event: "close", listener: () => void): unknown;
  on(event: "error", listener: (error: unknown) => void): unknown;
}

export interface ExecStreams {
  stdout: Writable;
  stderr: Writable;
  stdin: Readable | null;
  onStatus(status: ExecStatus): void;
}

/** Starts a command and resolves with its socket once it is open (client-node's Exec.exec, or a fake). */
export type ExecStarter = (target: { namespace: string; pod: string; container: string }, command: string[], streams: ExecStreams) => Promise<ExecSocket>;

/** The exec could not run or broke off: the pod or container is gone, the socket failed. */
export class ExecError extends Error {
  readonly stdout: string;
  readonly stderr: string;
  constructor(message: string, options: { cause?: unknown; stdout?: string; stderr?: string } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "ExecError";
    this.stdout = options.stdout ?? "";
    this.stderr = options.stderr ?? "";
  }
}

export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
const WS_CLOSED = 3;

export interface RunExecOptions extends ExecOptions {
  /** Cap for each of stdout and stderr (default 1 MiB); the rest is dropped. */
  maxOutputBytes?: number;
}

/** Runs a command through `start` and settles on status, close, deadline, abort or error; never hangs. */
export function runExec(
  start: ExecStarter,
  target: { namespace: string; pod: string; container: string },
  command: string[],
  options: RunExecOptions,
): Promise<ExecResult> {
  const max = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const stdout = new CappedSink(max);
  const stderr = new CappedSink(max);
  const signal = options.signal;

  return new Promise<ExecResult>((resolve, reject) => {
    let settled = false;
    let socket: ExecSocket | undefined;

    const onAbort = () => fail(abortReason(signal!), true);

    const cleanup = (hard: boolean) => {
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      if (socket) closeSocket(socket, hard);
    };
    const finish = (exitCode: number | null, timedOut: boolean, note?: string) => {
      if (settled) return;
      cleanup(timedOut);
      let err = stderr.text();
      if (note) err += (err && !err.endsWith("\n") ? "\n" : "") + note;
      resolve({ exitCode, stdout: stdout.text(), stderr: err, timedOut });
    };
    const fail = (error: Error, hard: boolean) => {
      if (settled) return;
      cleanup(hard);
      reject(error);
    };

    if (signal?.aborted) return reject(abortReason(signal));
    signal?.addEventListener("abort", onAbort, { once: true });
    const timer = setTimeout(() => finish(null, true), Math.max(0, options.timeoutMs));

    const streams: ExecStreams = {
      stdout,
      stderr,
      stdin: options.stdin === undefined ? null : Readable.from([options.stdin]),
      onStatus: (status) => {
        const { exitCode, message } = statusExitCode(status);
        finish(exitCode, false, exitCode === null || exitCode !== 0 ? message : undefined);
      },
    };

    let started: Promise<ExecSocket>;
    try {
      started = start(target, command, streams);
    } catch (error) {
      return fail(new ExecError(`exec in ${target.namespace}/${target.pod} failed to start: ${describeSocketError(error)}`, { cause: error }), false);
    }
    started.then(
      (ws) => {
        if (settled) {
          // Settled before the socket opened (deadline, abort) or on a status delivered early: drop it.
          closeSocket(ws, true);
          return;
        }
        socket = ws;
        ws.on("close", () => finish(null, false));
        ws.on("error", (error: unknown) =>
          fail(
            new ExecError(`exec in ${target.namespace}/${target.pod} broke off: ${describeSocketError(error)}`, {
              cause: error,
              stdout: stdout.text(),
              stderr: stderr.text(),
            }),
            true,
          ),
        );
        if (ws.readyState === WS_CLOSED) finish(null, false);
      },
      (error: unknown) =>
        fail(new ExecError(`exec in ${target.namespace}/${target.pod} failed to start: ${describeSocketError(error)}`, { cause: error }), false),
    );
  });
}

/** The exit code in a channel-3 status: Success → 0; Failure with an ExitCode cause → that code; otherwise null. */
export function statusExitCode(status: ExecStatus): { exitCode: number | null; message?: string } {
  if (status.status === "Success") return { exitCode: 0 };
  const cause = status.details?.causes?.find((c) => c.reason === "ExitCode");
  const code = cause?.message !== undefined ? Number(cause.message) : NaN;
  if (Number.isInteger(code)) return { exitCode: code, ...(status.message ? { message: status.message } : {}) };
  return { exitCode: null, message: status.message ?? status.reason ?? "the command failed without an exit code" };
}

/** A human description of a socket error (ws gives Errors or ErrorEvents with `message`). */
export function describeSocketError(error: unknown): string {
  if (error && typeof error === "object") {
    const e = error as { message?: unknown; error?: unknown };
    if (typeof e.message === "string" && e.message) return e.message;
    if (e.error) return errorMessage(e.error);
  }
  return errorMessage(error);
}

function closeSocket(ws: ExecSocket, hard: boolean): void {
  try {
    if (hard && ws.terminate) ws.terminate();
    else ws.close();
  } catch {
    // already closed
  }
}

/** A Writable that keeps the first `max` bytes (written synchronously, so nothing is lost at settle time). */
export class CappedSink extends Writable {
  readonly #max: number;
  readonly #chunks: Buffer[] = [];
  #size = 0;
  #dropped = 0;

  constructor(max: number) {
    super();
    this.#max = max;
  }

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const buf = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    const room = this.#max - this.#size;
    if (room > 0) {
      const part = buf.length > room ? buf.subarray(0, room) : buf;
      this.#chunks.push(Buffer.from(part));
      this.#size += part.length;
    }
    this.#dropped += Math.max(0, buf.length - Math.max(0, room));
    callback();
  }

  text(): string {
    const text = Buffer.concat(this.#chunks).toString("utf8");
    return this.#dropped ? `${text}\n[labrun: ${this.#dropped} more bytes dropped]` : text;
  }

  get dropped(): number {
    return this.#dropped;
  }
}

