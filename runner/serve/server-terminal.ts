/**
 * The HTTP side of the lab terminal: where a request's token is (the
 * Authorization header, or for a browser's WebSocket the subprotocol
 * `base64url.bearer.labrun.dev.<token>`, since a browser cannot set headers
 * on a WebSocket and a token in the URL would end up in logs), which
 * subprotocol the server answers with, and the wiring of an upgraded socket
 * to the lab's shell (terminal.ts) for as long as the lab is ready.
 */
import type { FastifyRequest } from "fastify";
import type { WebSocket } from "ws";
import { TERMINAL_PROTOCOL, TERMINAL_TOKEN_PROTOCOL_PREFIX } from "../schema/api.ts";
import type { LabManager } from "./labs.ts";
import { bridgeTerminal, type TerminalRegistry } from "./terminal.ts";

/** The bearer token of a request: its Authorization header, or (only where `fromProtocol`, the terminal) its token subprotocol. */
export function bearer(request: Pick<FastifyRequest, "headers">, fromProtocol = false): string | undefined {
  const header = request.headers.authorization;
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (m) return m[1];
  if (!fromProtocol) return undefined;
  const offered = String(request.headers["sec-websocket-protocol"] ?? "")
    .split(",")
    .map((p) => p.trim());
  const carried = offered.find((p) => p.startsWith(TERMINAL_TOKEN_PROTOCOL_PREFIX));
  if (!carried) return undefined;
  const encoded = carried.slice(TERMINAL_TOKEN_PROTOCOL_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return undefined;
  const token = Buffer.from(encoded, "base64url").toString("utf8");
  return token && !/\s/.test(token) ? token : undefined;
}

/** The `ws` server's choice among the offered subprotocols: labrun's terminal protocol, or none (the browser then fails the connection). */
export function pickProtocol(offered: Set<string>): string | false {
  return offered.has(TERMINAL_PROTOCOL) ? TERMINAL_PROTOCOL : false;
}

/** An upgraded, authorized terminal request: bridge it to a new shell, and end it when the lab stops being ready. */
export function openTerminalSocket(socket: WebSocket, request: FastifyRequest, deps: { manager: LabManager; terminals: TerminalRegistry }): void {
  const { manager, terminals } = deps;
  const { lab } = request.params as { lab: string };
  const query = request.query as { cols?: number; rows?: number };
  let stop: (() => void) | undefined;

  const bridge = bridgeTerminal(socket, {
    size: { cols: query.cols ?? 80, rows: query.rows ?? 24 },
    open: (size, handlers) => manager.terminal(lab, size, handlers),
    onEnd: () => {
      stop?.();
      unregister();
    },
  });
  const unregister = terminals.add(lab, bridge);
  try {
    stop = manager.subscribe(lab, (update) => {
      if (update.type === "state" && update.lab.state !== "ready" && update.lab.state !== "grading") bridge.end(1001, `the lab is ${update.lab.state}`);
    });
  } catch {
    bridge.end(1001, "the lab is gone");
  }
}
