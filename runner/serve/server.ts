/**
 * The HTTP server of `labrun serve`, on Fastify: routes come from the route
 * table in runner/schema/api.ts (their schemas validate every request), the
 * handlers call the LabManager, and every error is a JSON body with a code.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import fastifyWebsocket from "@fastify/websocket";
import { Ajv } from "ajv";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { renderReportLazily } from "../report/lazy.ts";
import { ROUTES, TERMINAL_PROTOCOL, type ApiRoute, type CreateLabBody, type ReportFormatName, type RouteId, type TerminalQuery } from "../schema/api.ts";
import { openApiDocument } from "../schema/openapi.ts";
import { ApiError, toApiError } from "./errors.ts";
import { readAsset } from "./assets.ts";
import { labPageHtml, PAGE_CSP } from "./page.ts";
import type { LabManager, LabUpdate } from "./labs.ts";
import { bearer, openTerminalSocket, pickProtocol } from "./server-terminal.ts";
import { TerminalRegistry } from "./terminal.ts";

export interface ServerOptions {
  manager: LabManager;
  /** The platform's token: every route but the OpenAPI document needs it (or, for one lab's routes, that lab's learner token). */
  token: string;
  /** The largest request body, in bytes (default 16 KiB). */
  bodyLimit?: number;
  /** Terminals one lab may have open at once (default 4). */
  maxTerminalsPerLab?: number;
  logger?: boolean;
}

type Request = FastifyRequest<{ Params: { lab?: string; attempt?: number; asset?: string }; Querystring: { format?: ReportFormatName; until?: "ready" | "gone" } & TerminalQuery; Body: unknown }>;
type Handler = (request: Request, reply: FastifyReply) => Promise<unknown>;

const MEDIA_TYPES: Record<ReportFormatName, string> = {
  json: "application/json; charset=utf-8",
  html: "text/html; charset=utf-8",
  junit: "application/xml; charset=utf-8",
  markdown: "text/markdown; charset=utf-8",
  text: "text/plain; charset=utf-8",
};

const sha256 = (text: string) => createHash("sha256").update(text).digest();

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  if (!options.token) throw new Error("labrun serve needs a platform token");
  const { manager } = options;
  const tokenHash = sha256(options.token);
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? 16 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
  }).withTypeProvider<TypeBoxTypeProvider>();
  // Unknown fields are refused, not silently removed; a body's types are never coerced (path and query parameters are text, so they are).
  const strict = new Ajv({ strict: false, removeAdditional: false, coerceTypes: false });
  const coercing = new Ajv({ strict: false, removeAdditional: false, coerceTypes: true });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === "body" ? strict : coercing).compile(schema));
  // Answers are plain JSON: the response schemas document them (and tests check them), they do not filter them.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // The terminal's WebSocket: the subprotocol chosen is labrun's, never the one that carries the token.
  await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024, handleProtocols: pickProtocol } });
  const terminals = new TerminalRegistry(options.maxTerminalsPerLab ?? 4);
  app.addHook("onClose", async () => terminals.endAll("the server is stopping"));

  const authorize = (route: ApiRoute, request: Request): void => {
    if (route.auth === "none") return;
    const token = bearer(request, route.id === "labTerminal");
    if (!token) throw new ApiError(401, "UNAUTHORIZED", "this route needs `Authorization: Bearer <token>`");
    if (timingSafeEqual(sha256(token), tokenHash)) return;
    const lab = request.params.lab;
    if (route.auth === "lab" && lab !== undefined && manager.has(lab)) {
      if (manager.isLearnerToken(lab, token)) return;
      if ([...manager.list()].some((l) => manager.isLearnerToken(l.id, token))) throw new ApiError(403, "FORBIDDEN", "this learner token belongs to another lab");
    } else if (manager.list().some((l) => manager.isLearnerToken(l.id, token))) {
      throw new ApiError(403, "FORBIDDEN", "a learner token reaches only its own lab's status, events, terminal, grade and reports");
    }
    throw new ApiError(401, "UNAUTHORIZED", "wrong token");
  };

  const handlers: Record<RouteId, Handler> = {
    openApi: async () => openApiDocument(),
    listScenarios: async () => ({ scenarios: (await manager.scenarios()).map((s) => s.summary) }),
    listLabs: async () => ({ labs: manager.list() }),
    createLab: async (request, reply) => {
      const body = request.body as CreateLabBody;
      const created = await manager.create(body.scenario, body.ttlSeconds);
      void reply.code(202).header("location", `/v1/labs/${created.lab.id}`);
      return { ...created, learnerPath: `/v1/labs/${created.lab.id}/page#token=${created.learnerToken}` };
    },
    getLab: async (request) => manager.view(request.params.lab!),
    labPage: async (request, reply) => reply.type("text/html; charset=utf-8").header("content-security-policy", PAGE_CSP).header("cache-control", "no-store").send(labPageHtml(request.params.lab!)),
    labEvents: async (request, reply) => streamEvents(manager, request, reply),
    gradeLab: async (request, reply) => {
      // A caller that hangs up before the answer ends the grade (it is not recorded).
      const controller = new AbortController();
      reply.raw.once("close", () => {
        if (!reply.raw.writableFinished) controller.abort("the client went away");
      });
      return manager.grade(request.params.lab!, controller.signal);
    },
    listAttempts: async (request) => ({ attempts: await manager.attempts(request.params.lab!) }),
    getReport: async (request, reply) => {
      const report = await manager.report(request.params.lab!, request.params.attempt!);
      const format = request.query.format ?? "json";
      if (format === "json") return report;
      void reply.type(MEDIA_TYPES[format]);
      return reply.send(await renderReportLazily(report, format));
    },
    labTerminal: async (request) => {
      // Reached only without an upgrade: a WebSocket request goes to openTerminalSocket.
      manager.view(request.params.lab!);
      throw new ApiError(426, "UPGRADE_REQUIRED", "the terminal is a WebSocket", { hint: `connect with the WebSocket protocol and subprotocol ${TERMINAL_PROTOCOL}` });
    },
    asset: async (request, reply) => {
      const asset = await readAsset(request.params.asset!);
      return reply.type(asset.type).header("cache-control", "public, max-age=3600").send(asset.body);
    },
    deleteLab: async (request) => {
      await manager.delete(request.params.lab!);
      return { id: request.params.lab!, deleted: true };
    },
  };

  for (const route of ROUTES as readonly ApiRoute[]) {
    const handler = handlers[route.id as RouteId];
    app.route({
      method: route.method,
      url: route.url,
      schema: {
        ...(route.params ? { params: route.params } : {}),
        ...(route.querystring ? { querystring: route.querystring } : {}),
        ...(route.body ? { body: route.body } : {}),
      },
      // Authorization runs before the body is parsed or validated: no token, no work.
      onRequest: async (request) => authorize(route, request as Request),
      handler: (request, reply) => handler(request as Request, reply),
      ...(route.id === "labTerminal"
        ? {
            // Before the upgrade: the lab must be ready and have room for one more terminal (an error here is an HTTP answer, not a closed socket).
            preHandler: async (request: FastifyRequest) => {
              const id = (request as Request).params.lab!;
              const state = manager.view(id).state;
              if (state !== "ready" && state !== "grading") throw new ApiError(409, "LAB_NOT_READY", `lab "${id}" is ${state}`, { hint: "open the terminal once the lab is ready" });
              if (terminals.count(id) >= terminals.maxPerLab) throw new ApiError(503, "TOO_MANY_TERMINALS", `lab "${id}" has ${terminals.count(id)} terminals open`, { hint: "close a terminal (another browser tab) and retry" });
            },
            wsHandler: (socket: import("ws").WebSocket, request: FastifyRequest) => openTerminalSocket(socket, request as Request, { manager, terminals }),
          }
        : {}),
    });
  }

  app.setNotFoundHandler(async (request, reply) => {
    const e = new ApiError(404, "NO_SUCH_ROUTE", `no route ${request.method} ${request.url.split("?")[0]}`, { hint: "GET /v1/openapi.json lists the routes" });
    return reply.code(e.status).send(e.json());
  });
  app.setErrorHandler(async (error, request, reply) => {
    const e = toApiError(error);
    if (e.status >= 500) request.log.error({ err: error }, e.message);
    return reply.code(e.status).type("application/json; charset=utf-8").send(e.json());
  });
  return app;
}

/**
 * Server-sent events: the progress so far, every later update, and the end:
 * once the lab is no longer starting (`until=ready`, the default), or
 * (`until=gone`) once it is deleted, with a last `gone` event that says why.
 */
async function streamEvents(manager: LabManager, request: Request, reply: FastifyReply): Promise<void> {
  const id = request.params.lab!;
  const untilGone = request.query.until === "gone";
  const current = manager.view(id);
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", connection: "keep-alive" });
  const send = (update: LabUpdate) => {
    const data = update.type === "state" ? update.lab : update.type === "progress" ? update.step : { id: update.id, reason: update.reason };
    res.write(`event: ${update.type}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  for (const step of current.progress) send({ type: "progress", step });
  send({ type: "state", lab: current });
  if (current.state !== "starting" && !untilGone) {
    res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const stop = manager.subscribe(id, (update) => {
      send(update);
      if (update.type === "gone" || (!untilGone && update.type === "state" && update.lab.state !== "starting")) finish();
    });
    const finish = () => {
      stop();
      res.end();
      resolve();
    };
    request.raw.once("close", finish);
  });
}
