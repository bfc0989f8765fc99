/**
 * `kubectl exec` over the Kubernetes WebSocket protocol (channel.k8s.io), on
 * the `ws` library (the one @kubernetes/client-node uses; see the README's
 * design choices): enough for labrun's execs (output in, optional stdin out,
 * the status on channel 3). checks/exec.ts's runExec drives it and keeps its
 * never-hang guarantees (deadline, abort, socket errors).
 *
 * Data frames are binary; the first byte of each is the channel: 0 stdin,
 * 1 stdout, 2 stderr, 3 the status (a v1 Status as JSON), 255 close a channel
 * (v5 only).
 */
import type { Agent as HttpAgent, IncomingMessage } from "node:http";
import type { Agent as HttpsAgent } from "node:https";
import WebSocket from "ws";
import type { ExecSocket, ExecStatus, ExecStreams } from "./exec.ts";

const PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"];

export interface WsExecTarget {
  /** The API server's base URL (`https://127.0.0.1:6443`). */
  server: string;
  agent: HttpAgent | HttpsAgent;
  headers: Record<string, string>;
}

/**
 * Opens `GET .../pods/NAME/exec?command=...` as a WebSocket and resolves once
 * the server switched protocols; output goes to `streams`. Rejects with the
 * API's message when the upgrade is refused (pod or container not found).
 */
export function openExec(
  api: WsExecTarget,
  target: { namespace: string; pod: string; container: string },
  command: string[],
  streams: ExecStreams,
): Promise<ExecSocket> {
  const query = new URLSearchParams();
  for (const c of command) query.append("command", c);
  query.set("container", target.container);
  query.set("stdout", "true");
  query.set("stderr", "true");
  if (streams.stdin) query.set("stdin", "true");
  const url = new URL(`/api/v1/namespaces/${encodeURIComponent(target.namespace)}/pods/${encodeURIComponent(target.pod)}/exec?${query.toString()}`, api.server);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return new Promise<ExecSocket>((resolve, reject) => {
    let ws: WebSocket;
    try {
      ws = new WebSocket(url, PROTOCOLS, { agent: api.agent, headers: api.headers, perMessageDeflate: false });
    } catch (error) {
      reject(error as Error);
      return;
    }
    ws.binaryType = "nodebuffer";
    let open = false;
    ws.on("unexpected-response", (_req, res: IncomingMessage) => {
      // No upgrade: the API refused (404 pod, 400 container, 403 ...). Its Status says why.
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c.length + body.length < 65_536 ? c : ""));
      res.on("end", () => {
        let message = body.trim().slice(0, 300) || `HTTP ${res.statusCode}`;
        try {
          const status = JSON.parse(body) as { message?: string };
          if (status.message) message = status.message;
        } catch {
          // not JSON
        }
        reject(new Error(`${message} (HTTP ${res.statusCode})`));
        ws.terminate();
      });
      res.on("error", (e) => reject(e));
    });
    ws.on("message", (data: Buffer, isBinary: boolean) => dispatch(isBinary ? data : Buffer.from(data), streams));
    ws.on("error", (error) => {
      if (!open) reject(error);
    });
    ws.on("open", () => {
      open = true;
      if (streams.stdin) pipeStdin(ws, streams.stdin);
      resolve(ws);
    });
  });
}

function pipeStdin(ws: WebSocket, stdin: NodeJS.ReadableStream): void {
  const send = (data: Buffer) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(data, { binary: true });
  };
  stdin.on("data", (chunk: Buffer | string) => send(Buffer.concat([Buffer.from([0]), typeof chunk === "string" ? Buffer.from(chunk) : chunk])));
  // v5 can close stdin (channel 255, then the channel number); v4 cannot.
  stdin.on("end", () => {
    if (ws.protocol.startsWith("v5.")) send(Buffer.from([255, 0]));
  });
}

/** One message: its first byte is the channel. */
function dispatch(message: Buffer, streams: ExecStreams): void {
  if (message.length === 0) return;
  const channel = message[0]!;
  const data = message.subarray(1);
  if (channel === 1) streams.stdout.write(data);
  else if (channel === 2) streams.stderr.write(data);
  else if (channel === 3) {
    let status: ExecStatus;
    try {
      status = JSON.parse(data.toString("utf8")) as ExecStatus;
    } catch {
      status = { status: "Failure", message: data.toString("utf8") };
    }
    streams.onStatus(status);
  }
}
