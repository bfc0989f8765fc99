/**
 * An interactive `kubectl exec -it` over the Kubernetes WebSocket protocol
 * (channel.k8s.io, on `ws` like ws-exec.ts): stdin and a TTY, output as it
 * comes, and window resizes. `labrun serve`'s browser terminal bridges the
 * learner's WebSocket to it.
 *
 * Frames are binary; the first byte is the channel: 0 stdin, 1 stdout (with a
 * TTY the shell's stderr comes there too), 3 the status (a v1 Status as JSON)
 * when the command ends, 4 resize (`{"Width": cols, "Height": rows}`), 255
 * close a channel (v5 only).
 */
import { Agent as HttpsAgent } from "node:https";
import { Agent as HttpAgent, type IncomingMessage } from "node:http";
import WebSocket from "ws";
import type { ExecStatus } from "./exec.ts";
import type { LiteKubeConfig } from "./kubeconfig-lite.ts";
import type { WsExecTarget } from "./ws-exec.ts";

const PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

export interface TerminalSize {
  cols: number;
  rows: number;
}

export interface TerminalHandlers {
  /** Output of the shell (stdout and, with the TTY, stderr). */
  onOutput(data: Buffer): void;
  /** The command ended (its status when the API sent one) or the connection broke (`error`). Called once. */
  onExit(end: { status?: ExecStatus; error?: string }): void;
}

export interface RemoteTerminal {
  write(data: Buffer): void;
  resize(size: TerminalSize): void;
  /** Ends the session (closes stdin, then the connection); onExit follows. */
  close(): void;
}

/** Where to reach a cluster's API for a terminal, from a kubeconfig (its own connection pool, closed with the terminal). */
export function terminalTarget(config: LiteKubeConfig): WsExecTarget {
  const agent = config.server.startsWith("https:")
    ? new HttpsAgent({ rejectUnauthorized: !config.insecure, ...(config.ca ? { ca: config.ca } : {}), ...(config.cert ? { cert: config.cert } : {}), ...(config.key ? { key: config.key } : {}) })
    : new HttpAgent();
  return { server: config.server, agent, headers: { "User-Agent": "labrun", ...(config.token ? { Authorization: `Bearer ${config.token}` } : {}) } };
}

/** The exec URL of a TTY session. */
export function terminalUrl(server: string, target: { namespace: string; pod: string; container: string }, command: string[]): URL {
  const query = new URLSearchParams();
  for (const c of command) query.append("command", c);
  query.set("container", target.container);
  query.set("stdin", "true");
  query.set("stdout", "true");
  query.set("stderr", "false");
  query.set("tty", "true");
  const url = new URL(`/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${encodeURIComponent(target.pod)}/exec?${query.toString()}`, server);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url;
}

/** A resize message (channel 4). */
export function resizeFrame(size: TerminalSize): Buffer {
  return Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify({ Width: size.cols, Height: size.rows }))]);
}

/**
 * Opens the session and resolves once the API server switched protocols (the
 * first size is sent at once); rejects with the API's message when it refuses
 * (no such pod or container, forbidden) or within `timeoutMs`.
 */
export function openTerminal(
  api: WsExecTarget,
  target: { namespace: string; pod: string; container: string },
  command: string[],
  size: TerminalSize,
  handlers: TerminalHandlers,
  options: { timeoutMs?: number } = {},
): Promise<RemoteTerminal> {
  const url = terminalUrl(api.server, target, command);
  return new Promise<RemoteTerminal>((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, PROTOCOLS, { agent: api.agent, headers: api.headers, perMessageDeflate: false, handshakeTimeout: options.timeoutMs ?? 15_000 });
    } catch (error) {
      reject(error as Error);
      return;
    }
    ws.binaryType = "nodebuffer";
    let open = false;
    let ended = false;
    let status: ExecStatus | undefined;
    const end = (e: { status?: ExecStatus; error?: string }) => {
      if (ended) return;
      ended = true;
      handlers.onExit(e);
    };
    ws.on("unexpected-response", (_req, res: IncomingMessage) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += body.length < 65_536 ? c : ""));
      res.on("end", () => {
        let message = body.trim().slice(0, 300) || `HTTP ${res.statusCode}`;
        try {
          const parsed = JSON.parse(body) as { message?: string };
          if (parsed.message) message = parsed.message;
        } catch {
          // not JSON
        }
        reject(new Error(`${message} (HTTP ${res.statusCode})`));
        ws.terminate();
      });
    });
    ws.on("message", (data: Buffer) => {
      if (data.length === 0) return;
      const channel = data[0]!;
      if (channel === 1 || channel === 2) handlers.onOutput(data.subarray(1));
      else if (channel === 3) {
        try {
          status = JSON.parse(data.subarray(1).toString("utf8")) as ExecStatus;
        } catch {
          status = { status: "Failure", message: data.subarray(1).toString("utf8") };
        }
      }
    });
    ws.on("error", (error) => {
      if (!open) reject(error);
      else end({ error: error.message });
    });
    ws.on("close", () => {
      if (open) end(status ? { status } : {});
    });
    ws.on("open", () => {
      open = true;
      const send = (frame: Buffer) => {
        if (ws.readyState === WebSocket.OPEN) ws.send(frame, { binary: true });
      };
      send(resizeFrame(size));
      resolve({
        write: (data) => send(Buffer.concat([Buffer.from([0]), data])),
        resize: (s) => send(resizeFrame(s)),
        close: () => {
          if (ws.protocol.startsWith("v5.")) send(Buffer.from([255, 0]));
          ws.close();
          // A server that does not answer the close within a moment is dropped.
          setTimeout(() => ws.terminate(), 2_000).unref();
        },
      });
    });
  });
}
