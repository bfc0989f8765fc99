/**
 * `kubectl exec` over the Kubernetes WebSocket protocol (channel.k8s.io),
 * with node's http/https and a minimal WebSocket client: enough for labrun's
 * execs (output in, optional stdin out, the status on channel 3), without a
 * WebSocket library. checks/exec.ts's runExec drives it and keeps its
 * never-hang guarantees (deadline, abort, socket errors).
 *
 * Frames (RFC 6455): the server's are unmasked; ours (stdin, pong, close) are
 * masked. Data frames are binary; the first byte of each is the channel:
 * 0 stdin, 1 stdout, 2 stderr, 3 the status (a v1 Status as JSON), 255 close
 * a channel (v5 only).
 */
import { createHash, randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import type { Agent as HttpAgent, ClientRequest, IncomingMessage } from "node:http";
import { request as httpRequest } from "node:http";
import { request as httpsRequest, type Agent as HttpsAgent } from "node:https";
import type { Duplex } from "node:stream";
import type { ExecSocket, ExecStatus, ExecStreams } from "./exec.ts";

const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
const PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"];
const OPEN = 1;
const CLOSED = 3;

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
  const key = randomBytes(16).toString("base64");
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<ExecSocket>((resolve, reject) => {
    let req: ClientRequest;
    try {
      req = request(url, {
        method: "GET",
        agent: api.agent as HttpsAgent,
        headers: {
          ...api.headers,
          Connection: "Upgrade",
          Upgrade: "websocket",
          "Sec-WebSocket-Version": "13",
          "Sec-WebSocket-Key": key,
          "Sec-WebSocket-Protocol": PROTOCOLS.join(", "),
        },
      });
    } catch (error) {
      reject(error as Error);
      return;
    }
    req.on("upgrade", (res: IncomingMessage, socket: Duplex, head: Buffer) => {
      const accept = createHash("sha1").update(key + GUID).digest("base64");
      if (res.headers["sec-websocket-accept"] !== accept) {
        socket.destroy();
        reject(new Error("the API server's WebSocket handshake is invalid"));
        return;
      }
      const protocol = String(res.headers["sec-websocket-protocol"] ?? "v4.channel.k8s.io");
      const ws = new ExecWebSocket(socket, streams, protocol);
      if (head.length) ws.receive(head);
      resolve(ws);
    });
    req.on("response", (res: IncomingMessage) => {
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
      });
      res.on("error", (e) => reject(e));
    });
    req.on("error", (e) => reject(e));
    req.end();
  });
}

/** The ExecSocket runExec needs, over a raw upgraded socket. */
class ExecWebSocket extends EventEmitter implements ExecSocket {
  readyState = OPEN;
  readonly #socket: Duplex;
  readonly #streams: ExecStreams;
  readonly #v5: boolean;
  #buffer: Buffer = Buffer.alloc(0);
  #fragments: Buffer[] = [];
  #closed = false;

  constructor(socket: Duplex, streams: ExecStreams, protocol: string) {
    super();
    this.#socket = socket;
    this.#streams = streams;
    this.#v5 = protocol.startsWith("v5.");
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    socket.on("error", (error: Error) => {
      if (!this.#closed) this.emit("error", error);
    });
    socket.on("close", () => this.#finish());
    if (streams.stdin) this.#pipeStdin(streams.stdin);
  }

  #pipeStdin(stdin: NodeJS.ReadableStream): void {
    stdin.on("data", (chunk: Buffer | string) => {
      const data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      this.#send(0x2, Buffer.concat([Buffer.from([0]), data]));
    });
    stdin.on("end", () => {
      // v5 can close stdin (channel 255, then the channel number); v4 cannot.
      if (this.#v5) this.#send(0x2, Buffer.from([255, 0]));
    });
  }

  /** Bytes from the server: complete frames are handled, the rest waits for more. */
  receive(chunk: Buffer): void {
    this.#buffer = this.#buffer.length ? Buffer.concat([this.#buffer, chunk]) : chunk;
    for (;;) {
      const frame = parseFrame(this.#buffer);
      if (!frame) return;
      this.#buffer = this.#buffer.subarray(frame.length);
      this.#frame(frame.fin, frame.opcode, frame.payload);
      if (this.#closed) return;
    }
  }

  #frame(fin: boolean, opcode: number, payload: Buffer): void {
    if (opcode === 0x8) {
      // Close: answer it, then the connection ends.
      this.#send(0x8, payload.subarray(0, 2));
      this.#finish();
      this.#socket.end();
      return;
    }
    if (opcode === 0x9) return this.#send(0xa, payload);
    if (opcode === 0xa) return;
    if (opcode !== 0x0) this.#fragments = [];
    this.#fragments.push(payload);
    if (!fin) return;
    const message = this.#fragments.length === 1 ? this.#fragments[0]! : Buffer.concat(this.#fragments);
    this.#fragments = [];
    if (message.length === 0) return;
    const channel = message[0]!;
    const data = message.subarray(1);
    if (channel === 1) this.#streams.stdout.write(data);
    else if (channel === 2) this.#streams.stderr.write(data);
    else if (channel === 3) {
      let status: ExecStatus;
      try {
        status = JSON.parse(data.toString("utf8")) as ExecStatus;
      } catch {
        status = { status: "Failure", message: data.toString("utf8") };
      }
      this.#streams.onStatus(status);
    }
  }

  #send(opcode: number, payload: Buffer): void {
    if (this.#closed || this.#socket.destroyed) return;
    this.#socket.write(encodeFrame(opcode, payload));
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.readyState = CLOSED;
    this.emit("close");
  }

  close(): void {
    if (this.#closed) return;
    const code = Buffer.alloc(2);
    code.writeUInt16BE(1000);
    this.#send(0x8, code);
    this.#finish();
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  terminate(): void {
    this.#finish();
    this.#socket.destroy();
  }
}

/** One frame at the start of `buf`, or undefined when it is not complete yet. */
export function parseFrame(buf: Buffer): { fin: boolean; opcode: number; payload: Buffer; length: number } | undefined {
  if (buf.length < 2) return undefined;
  const fin = (buf[0]! & 0x80) !== 0;
  const opcode = buf[0]! & 0x0f;
  const masked = (buf[1]! & 0x80) !== 0;
  let len = buf[1]! & 0x7f;
  let offset = 2;
  if (len === 126) {
    if (buf.length < 4) return undefined;
    len = buf.readUInt16BE(2);
    offset = 4;
  } else if (len === 127) {
    if (buf.length < 10) return undefined;
    len = Number(buf.readBigUInt64BE(2));
    offset = 10;
  }
  const maskLen = masked ? 4 : 0;
  if (buf.length < offset + maskLen + len) return undefined;
  let payload = buf.subarray(offset + maskLen, offset + maskLen + len);
  if (masked) {
    const mask = buf.subarray(offset, offset + 4);
    payload = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  }
  return { fin, opcode, payload, length: offset + maskLen + len };
}

/** A final, masked frame (a client's frames are always masked). */
export function encodeFrame(opcode: number, payload: Buffer, mask: Buffer = randomBytes(4)): Buffer {
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0x80 | opcode, 0x80 | len]) : len < 65_536 ? Buffer.alloc(4) : Buffer.alloc(10);
  if (len >= 126 && len < 65_536) {
    head[0] = 0x80 | opcode;
    head[1] = 0x80 | 126;
    head.writeUInt16BE(len, 2);
  } else if (len >= 65_536) {
    head[0] = 0x80 | opcode;
    head[1] = 0x80 | 127;
    head.writeBigUInt64BE(BigInt(len), 2);
  }
  const body = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]!));
  return Buffer.concat([head, mask, body]);
}
