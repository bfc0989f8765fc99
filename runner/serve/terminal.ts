/**
 * The lab terminal's WebSocket: the browser's xterm.js on one side, a shell
 * in the lab's toolbox pod (the Kubernetes exec API) on the other.
 *
 *   browser → server: binary = keystrokes (stdin); text = JSON control,
 *                     `{"type":"resize","cols":N,"rows":N}`; anything else is ignored
 *   server → browser: binary = the shell's output; text = JSON
 *                     `{"type":"ready"}`, `{"type":"exit","message"}`, `{"type":"error","code","message"}`
 *
 * Keystrokes that arrive before the shell is open are kept (up to a bound) and
 * sent once it is. The socket closes when the shell ends, the shell ends when
 * the socket closes, and both end when the lab is deleted. Authorization
 * happens before the upgrade (server.ts): this module trusts its caller.
 */
import type { RemoteTerminal, TerminalHandlers, TerminalSize } from "../cluster/ws-terminal.ts";
import { errorMessage, oneLine } from "../util/text.ts";

/** The part of a `ws` WebSocket the bridge uses (tests pass a fake). */
export interface BrowserSocket {
  readonly readyState: number;
  send(data: Buffer | string, options?: { binary?: boolean }): void;
  close(code?: number, reason?: string): void;
  on(event: "message", listener: (data: Buffer, isBinary: boolean) => void): unknown;
  on(event: "close", listener: () => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
}

const OPEN = 1;
/** Keystrokes kept while the shell opens. */
const MAX_PENDING_BYTES = 64 * 1024;

export const SIZE_LIMITS = { cols: [10, 500], rows: [4, 200] } as const;

/** A size the client asked for, or undefined when it is not one. */
export function parseResize(text: string): TerminalSize | undefined {
  let message: unknown;
  try {
    message = JSON.parse(text);
  } catch {
    return undefined;
  }
  const m = message as { type?: unknown; cols?: unknown; rows?: unknown };
  if (!m || m.type !== "resize") return undefined;
  const ok = (v: unknown, [lo, hi]: readonly [number, number]) => Number.isInteger(v) && (v as number) >= lo && (v as number) <= hi;
  return ok(m.cols, SIZE_LIMITS.cols) && ok(m.rows, SIZE_LIMITS.rows) ? { cols: m.cols as number, rows: m.rows as number } : undefined;
}

export interface BridgeOptions {
  size: TerminalSize;
  /** Opens the shell (the backend's terminal()). */
  open: (size: TerminalSize, handlers: TerminalHandlers) => Promise<RemoteTerminal>;
  /** Called once when the session is over, whichever side ended it. */
  onEnd?: () => void;
}

export interface Bridge {
  /** Ends the session from the server's side (the lab is being deleted, the server stops). */
  end(code: number, reason: string): void;
}

/** Connects `socket` to a new shell. Message listeners are attached before anything asynchronous happens. */
export function bridgeTerminal(socket: BrowserSocket, options: BridgeOptions): Bridge {
  let shell: RemoteTerminal | undefined;
  let ended = false;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let size = options.size;

  const sendJson = (value: Record<string, unknown>) => {
    if (socket.readyState === OPEN) socket.send(JSON.stringify(value));
  };
  const finish = (code: number, reason: string) => {
    if (ended) return;
    ended = true;
    shell?.close();
    if (socket.readyState === OPEN) socket.close(code, reason.slice(0, 120));
    options.onEnd?.();
  };

  socket.on("message", (data, isBinary) => {
    if (ended) return;
    if (isBinary) {
      if (shell) shell.write(data);
      else if (pendingBytes + data.length <= MAX_PENDING_BYTES) {
        pending.push(Buffer.from(data));
        pendingBytes += data.length;
      }
      return;
    }
    const resize = parseResize(data.toString("utf8"));
    if (!resize) return;
    size = resize;
    shell?.resize(resize);
  });
  socket.on("close", () => finish(1000, "closed"));
  socket.on("error", () => finish(1011, "socket error"));

  options
    .open(size, {
      onOutput: (data) => {
        if (socket.readyState === OPEN) socket.send(data, { binary: true });
      },
      onExit: ({ status, error }) => {
        if (ended) return;
        const failed = error !== undefined || (status !== undefined && status.status !== "Success");
        const message = error ? `the connection to the shell broke: ${oneLine(error, 200)}` : status?.status === "Success" || !status ? "the shell ended" : `the shell ended: ${oneLine(status.message ?? status.reason ?? "", 200)}`;
        sendJson({ type: "exit", message });
        finish(failed ? 1011 : 1000, message);
      },
    })
    .then(
      (opened) => {
        if (ended) {
          opened.close();
          return;
        }
        shell = opened;
        if (size.cols !== options.size.cols || size.rows !== options.size.rows) opened.resize(size);
        for (const chunk of pending) opened.write(chunk);
        pending = [];
        pendingBytes = 0;
        sendJson({ type: "ready" });
      },
      (error: unknown) => {
        sendJson({ type: "error", code: "TERMINAL_UNAVAILABLE", message: `the lab's shell could not be opened: ${oneLine(errorMessage(error), 300)}` });
        finish(1011, "the shell could not be opened");
      },
    );

  return { end: (code, reason) => finish(code, reason) };
}

/** Open terminals, per lab, with a bound on how many one lab may have. */
export class TerminalRegistry {
  readonly #byLab = new Map<string, Set<Bridge>>();
  readonly maxPerLab: number;

  constructor(maxPerLab = 4) {
    this.maxPerLab = maxPerLab;
  }

  count(lab: string): number {
    return this.#byLab.get(lab)?.size ?? 0;
  }

  add(lab: string, bridge: Bridge): () => void {
    let set = this.#byLab.get(lab);
    if (!set) this.#byLab.set(lab, (set = new Set()));
    set.add(bridge);
    return () => {
      set.delete(bridge);
      if (!set.size && this.#byLab.get(lab) === set) this.#byLab.delete(lab);
    };
  }

  /** Ends every terminal of a lab. */
  endLab(lab: string, reason: string): void {
    for (const bridge of [...(this.#byLab.get(lab) ?? [])]) bridge.end(1001, reason);
  }

  endAll(reason: string): void {
    for (const lab of [...this.#byLab.keys()]) this.endLab(lab, reason);
  }
}
