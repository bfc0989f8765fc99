/**
 * The HTTP API of `labrun serve` (runner/serve/): every route with its
 * parameters, body and answers, as TypeBox schemas. One source of truth: the
 * server registers its routes from ROUTES (Fastify validates requests with
 * these schemas), and `npm run schema` writes the OpenAPI document
 * schemas/openapi.json from the same table (`--check` fails on drift).
 */
import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { Enum } from "./dsl.ts";
import { Report } from "./report.ts";

export const API_PREFIX = "/v1";
export const OPENAPI_PATH = `${API_PREFIX}/openapi.json`;

export const ApiErrorBody = Type.Object(
  {
    error: Type.Object(
      {
        code: Type.String({ description: "Machine-readable: `UNAUTHORIZED`, `UNKNOWN_SCENARIO`, `AT_CAPACITY`, `LAB_NOT_READY`, `INFRASTRUCTURE`, ..." }),
        message: Type.String({ description: "One sentence for a person." }),
        hint: Type.Optional(Type.String({ description: "What to do about it." })),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false, description: "Every error answer: a code and a message." },
);

const LabId = Type.String({ pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", maxLength: 40, description: "The lab's id (also its labrun lab name)." });
const LabParams = Type.Object({ lab: LabId }, { additionalProperties: false });

/** The WebSocket subprotocol of the lab terminal; a browser passes its token as a second one, `base64url.bearer.labrun.dev.<token in base64url>`. */
export const TERMINAL_PROTOCOL = "terminal.labrun.dev.v1";
export const TERMINAL_TOKEN_PROTOCOL_PREFIX = "base64url.bearer.labrun.dev.";
export const TerminalQuery = Type.Object(
  {
    cols: Type.Optional(Type.Integer({ minimum: 10, maximum: 500, default: 80, description: "The terminal's width in columns." })),
    rows: Type.Optional(Type.Integer({ minimum: 4, maximum: 200, default: 24, description: "The terminal's height in rows." })),
  },
  { additionalProperties: false },
);
export type TerminalQuery = Static<typeof TerminalQuery>;

/** The browser assets of the lab page (xterm.js from node_modules), by name. */
export const ASSETS = ["xterm.js", "xterm.css", "addon-fit.js"] as const;
const AssetParams = Type.Object({ asset: Enum(ASSETS, { description: "One of the lab page's scripts or styles." }) }, { additionalProperties: false });

export const ScenarioSummary = Type.Object(
  {
    name: Type.String(),
    title: Type.String(),
    summary: Type.String(),
    difficulty: Type.String(),
    estimatedMinutes: Type.Integer({ minimum: 1 }),
    nodes: Type.Integer({ minimum: 1, description: "Nodes of the lab's cluster (each needs about 1 GiB of memory)." }),
    checks: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

export const LAB_STATES = ["starting", "ready", "grading", "failed", "deleting"] as const;
export type LabState = (typeof LAB_STATES)[number];

export const ProgressStep = Type.Object(
  {
    phase: Type.String({ description: "`preflight`, `cluster`, `images`, `setup`, `break`, `verify`, ..." }),
    name: Type.String(),
    status: Enum(["running", "ok", "failed", "skipped"], { description: "`running` until the step ends." }),
    durationMs: Type.Optional(Type.Integer({ minimum: 0 })),
    detail: Type.Optional(Type.String()),
  },
  { additionalProperties: false, description: "One step of starting the lab." },
);

export const Attempt = Type.Object(
  {
    attempt: Type.Integer({ minimum: 1 }),
    at: Type.String({ format: "date-time" }),
    points: Type.Number({ minimum: 0 }),
    maxPoints: Type.Number({ minimum: 0 }),
    percent: Type.Number({ minimum: 0, maximum: 100 }),
    passed: Type.Boolean(),
  },
  { additionalProperties: false, description: "One graded attempt." },
);

export const LabView = Type.Object(
  {
    id: LabId,
    scenario: Type.String(),
    state: Enum(LAB_STATES, {
      description: "`starting` (see `progress`), `ready` (the learner can work and grade), `grading`, `failed` (see `error`; delete it), `deleting`.",
    }),
    createdAt: Type.String({ format: "date-time" }),
    expiresAt: Type.String({ format: "date-time", description: "When labrun deletes the lab by itself." }),
    progress: Type.Array(ProgressStep),
    error: Type.Optional(ApiErrorBody.properties.error),
    task: Type.Optional(Type.String({ description: "The task as Markdown, once the lab is ready." })),
    warmCluster: Type.Optional(Type.String({ description: "Set once the lab is ready when its cluster was claimed from the warm pool (`labrun serve --warm`, `labrun pool fill`): that cluster's name." })),
    attempts: Type.Integer({ minimum: 0, description: "How many times the lab was graded." }),
  },
  { additionalProperties: false, description: "A lab and where it is in its life." },
);

export const CreatedLab = Type.Object(
  {
    lab: LabView,
    learnerToken: Type.String({ description: "A token that reaches only this lab (status, events, grade, attempts, reports): give it to the learner, never the platform token." }),
    learnerPath: Type.String({ description: "The learner's link to the lab page, relative to the server: `/v1/labs/{lab}/page#token=...` (the token is in the fragment, which browsers never send)." }),
  },
  { additionalProperties: false },
);

export const CreateLabBody = Type.Object(
  {
    scenario: Type.String({ pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", maxLength: 63, description: "A scenario name from `GET /v1/scenarios`." }),
    ttlSeconds: Type.Optional(Type.Integer({ minimum: 60, maximum: 86_400, description: "Delete the lab this long after it was created (default: the server's `--lab-ttl`)." })),
  },
  { additionalProperties: false },
);

export const REPORT_FORMAT_NAMES = ["json", "html", "junit", "markdown", "text"] as const;
const EventsQuery = Type.Object(
  {
    until: Type.Optional(
      Enum(["ready", "gone"], { description: "`ready` (default): end once the lab is no longer starting (ready, failed or deleting); `gone`: follow the lab until it is deleted, with a last `gone` event." }),
    ),
  },
  { additionalProperties: false },
);
const ReportQuery = Type.Object({ format: Type.Optional(Enum(REPORT_FORMAT_NAMES, { description: "Default `json`." })) }, { additionalProperties: false });
const ReportParams = Type.Object({ lab: LabId, attempt: Type.Integer({ minimum: 1 }) }, { additionalProperties: false });

export type ApiError = Static<typeof ApiErrorBody>["error"];
export type ScenarioSummary = Static<typeof ScenarioSummary>;
export type ProgressStep = Static<typeof ProgressStep>;
export type Attempt = Static<typeof Attempt>;
export type LabView = Static<typeof LabView>;
export type CreateLabBody = Static<typeof CreateLabBody>;
export type ReportFormatName = (typeof REPORT_FORMAT_NAMES)[number];

/** Who may call a route: anyone, the platform (its token), or the platform and the lab's learner token. */
export type RouteAuth = "none" | "platform" | "lab";

export interface ApiAnswer {
  description: string;
  /** The JSON body's schema; absent with `contentType` for other media types. */
  schema?: TSchema;
  contentType?: string;
  /** Other media types the same answer may come in (as a string). */
  otherTypes?: string[];
}

export interface ApiRoute {
  id: string;
  method: "GET" | "POST" | "DELETE";
  /** Fastify style: `/v1/labs/:lab`. */
  url: string;
  summary: string;
  auth: RouteAuth;
  params?: TSchema;
  querystring?: TSchema;
  body?: TSchema;
  answers: Record<number, ApiAnswer>;
}

const error = (description: string): ApiAnswer => ({ description, schema: ApiErrorBody });
const AUTH_ERRORS = { 401: error("No token, or a wrong one (`UNAUTHORIZED`)."), 403: error("A learner token of another lab, or for a platform-only route (`FORBIDDEN`).") };
const LAB_ERRORS = { ...AUTH_ERRORS, 404: error("No such lab (`UNKNOWN_LAB`)."), 410: error("The lab expired and was deleted (`LAB_EXPIRED`).") };

export const ROUTES = [
  {
    id: "openApi",
    method: "GET",
    url: OPENAPI_PATH,
    summary: "This document (no token needed).",
    auth: "none",
    answers: { 200: { description: "The OpenAPI 3.1 document.", schema: Type.Object({}, { additionalProperties: true, description: "An OpenAPI 3.1 document." }) } },
  },
  {
    id: "listScenarios",
    method: "GET",
    url: `${API_PREFIX}/scenarios`,
    summary: "The scenarios labs can be started from.",
    auth: "platform",
    answers: { 200: { description: "The scenarios.", schema: Type.Object({ scenarios: Type.Array(ScenarioSummary) }, { additionalProperties: false }) }, ...AUTH_ERRORS },
  },
  {
    id: "createLab",
    method: "POST",
    url: `${API_PREFIX}/labs`,
    summary: "Start a lab. Answers at once; poll `GET /v1/labs/{lab}` or follow its events until `ready`.",
    auth: "platform",
    body: CreateLabBody,
    answers: {
      202: { description: "The lab is starting.", schema: CreatedLab },
      400: error("Malformed JSON or fields (`BAD_REQUEST`)."),
      ...AUTH_ERRORS,
      404: error("No such scenario (`UNKNOWN_SCENARIO`)."),
      413: error("The body is too large (`BODY_TOO_LARGE`)."),
      415: error("The body is not `application/json` (`UNSUPPORTED_MEDIA_TYPE`)."),
      503: error("As many labs run as the host has memory for (`AT_CAPACITY`); retry after one is deleted."),
    },
  },
  {
    id: "listLabs",
    method: "GET",
    url: `${API_PREFIX}/labs`,
    summary: "The labs this server runs.",
    auth: "platform",
    answers: { 200: { description: "The labs.", schema: Type.Object({ labs: Type.Array(LabView) }, { additionalProperties: false }) }, ...AUTH_ERRORS },
  },
  {
    id: "getLab",
    method: "GET",
    url: `${API_PREFIX}/labs/:lab`,
    summary: "A lab's state, start-up progress and (once ready) task.",
    auth: "lab",
    params: LabParams,
    answers: { 200: { description: "The lab.", schema: LabView }, ...LAB_ERRORS },
  },
  {
    id: "labEvents",
    method: "GET",
    url: `${API_PREFIX}/labs/:lab/events`,
    summary:
      "Start-up progress as server-sent events: the steps so far and the lab (`state`), then one `progress` event per step change and a `state` event at every change of state; the stream ends when the lab is no longer starting or, with `until=gone`, when it is deleted (a last `gone` event, `{id, reason}`, reason `deleted`, `expired` or `stopped`).",
    auth: "lab",
    params: LabParams,
    querystring: EventsQuery,
    answers: { 200: { description: "An event stream; each `data:` line is a JSON LabView (`state`), ProgressStep (`progress`) or `{id, reason}` (`gone`).", contentType: "text/event-stream" }, ...LAB_ERRORS },
  },
  {
    id: "labPage",
    method: "GET",
    url: `${API_PREFIX}/labs/:lab/page`,
    summary: "The learner's lab page (HTML): task, state, grade button, report and attempts. It holds no lab data; its script reads the learner token from the link's fragment.",
    auth: "none",
    params: LabParams,
    answers: { 200: { description: "The page.", contentType: "text/html" } },
  },
  {
    id: "labTerminal",
    method: "GET",
    url: `${API_PREFIX}/labs/:lab/terminal`,
    summary: `A shell in the lab's toolbox pod (bash, kubectl with the learner's cluster-admin rights), as a WebSocket (subprotocol \`${TERMINAL_PROTOCOL}\`). Binary messages carry the terminal's bytes both ways; the client's text messages are JSON \`{"type":"resize","cols":N,"rows":N}\`, the server's are \`{"type":"ready"}\`, \`{"type":"exit","message":...}\` and \`{"type":"error","code":...,"message":...}\`. The token goes in the Authorization header or, from a browser, as the subprotocol \`${TERMINAL_TOKEN_PROTOCOL_PREFIX}<token in base64url>\`.`,
    auth: "lab",
    params: LabParams,
    querystring: TerminalQuery,
    answers: {
      101: { description: "Switching Protocols: the terminal's WebSocket." },
      400: error("Bad size (`BAD_REQUEST`)."),
      ...LAB_ERRORS,
      409: error("The lab is not ready (`LAB_NOT_READY`)."),
      426: error("Not a WebSocket request (`UPGRADE_REQUIRED`)."),
      503: error("The lab has as many terminals open as it may (`TOO_MANY_TERMINALS`)."),
    },
  },
  {
    id: "asset",
    method: "GET",
    url: `${API_PREFIX}/assets/:asset`,
    summary: "A script or style of the lab page (xterm.js and its fit add-on, served from labrun's own dependencies; no CDN).",
    auth: "none",
    params: AssetParams,
    answers: { 200: { description: "The file.", contentType: "text/javascript", otherTypes: ["text/css"] }, 400: error("No such asset (`BAD_REQUEST`).") },
  },
  {
    id: "gradeLab",
    method: "POST",
    url: `${API_PREFIX}/labs/:lab/grade`,
    summary: "Grade the lab. A grade that finds the lab unsolved is a success (200, `score.passed: false`); 502 means labrun could not grade.",
    auth: "lab",
    params: LabParams,
    answers: {
      200: { description: "The report (schemas/report.schema.json), passed or not.", schema: Report },
      ...LAB_ERRORS,
      409: error("The lab is not ready: starting, failed, deleting or already being graded (`LAB_NOT_READY`, `GRADE_IN_PROGRESS`)."),
      502: error("The lab's cluster could not be graded (`INFRASTRUCTURE` or a more precise code)."),
    },
  },
  {
    id: "listAttempts",
    method: "GET",
    url: `${API_PREFIX}/labs/:lab/attempts`,
    summary: "The lab's graded attempts, oldest first.",
    auth: "lab",
    params: LabParams,
    answers: { 200: { description: "The attempts.", schema: Type.Object({ attempts: Type.Array(Attempt) }, { additionalProperties: false }) }, ...LAB_ERRORS },
  },
  {
    id: "getReport",
    method: "GET",
    url: `${API_PREFIX}/labs/:lab/attempts/:attempt/report`,
    summary: "The report of one attempt in any format the CLI writes.",
    auth: "lab",
    params: ReportParams,
    querystring: ReportQuery,
    answers: {
      200: { description: "The report: JSON (schemas/report.schema.json), HTML, JUnit XML, Markdown or text, as `format` asks.", schema: Report, otherTypes: ["text/html", "application/xml", "text/markdown", "text/plain"] },
      ...AUTH_ERRORS,
      404: error("No such lab or attempt (`UNKNOWN_LAB`, `UNKNOWN_ATTEMPT`)."),
      410: LAB_ERRORS[410],
    },
  },
  {
    id: "deleteLab",
    method: "DELETE",
    url: `${API_PREFIX}/labs/:lab`,
    summary: "Delete the lab and its cluster (a starting lab is interrupted first).",
    auth: "platform",
    params: LabParams,
    answers: { 200: { description: "Deleted.", schema: Type.Object({ id: LabId, deleted: Type.Boolean() }, { additionalProperties: false }) }, ...LAB_ERRORS, 502: error("The cluster could not be deleted (`INFRASTRUCTURE`).") },
  },
] as const satisfies readonly ApiRoute[];

export type RouteId = (typeof ROUTES)[number]["id"];
