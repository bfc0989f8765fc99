/**
 * A fake lab layer for the HTTP API's tests: starts and grades are promises the
 * test settles, so every state of a lab can be reached without a cluster.
 */
import { Ajv, type ValidateFunction } from "ajv";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import type { RemoteTerminal, TerminalHandlers, TerminalSize } from "../../../runner/cluster/ws-terminal.ts";
import type { LabEventListener } from "../../../runner/lab/events.ts";
import type { LabAttempt } from "../../../runner/lab/state.ts";
import { isDateTime } from "../../../runner/report/validate.ts";
import { ROUTES, type ApiRoute } from "../../../runner/schema/api.ts";
import type { Report } from "../../../runner/schema/report.ts";
import type { LabBackend, ServedScenario } from "../../../runner/serve/backend.ts";
import { LabManager, type LabManagerOptions } from "../../../runner/serve/labs.ts";
import { buildServer } from "../../../runner/serve/server.ts";

export const TOKEN = "platform-token-0123456789";

export function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export const SCENARIOS: ServedScenario[] = [
  { file: "/s/one-node/scenario.yaml", summary: { name: "one-node", title: "One node", summary: "A lab of one node.", difficulty: "beginner", estimatedMinutes: 5, nodes: 1, checks: 2 } },
  { file: "/s/two-nodes/scenario.yaml", summary: { name: "two-nodes", title: "Two nodes", summary: "A lab of two nodes.", difficulty: "intermediate", estimatedMinutes: 10, nodes: 2, checks: 3 } },
];

interface Start {
  file: string;
  name: string;
  signal: AbortSignal;
  onEvent: LabEventListener;
  done: ReturnType<typeof deferred<{ task: string; warmCluster?: string }>>;
}

interface Fill {
  file: string;
  size: number;
  signal: AbortSignal;
  done: ReturnType<typeof deferred<{ created: string[]; stopped?: string }>>;
}

/** A shell the test drives: what the browser typed, its sizes, and a way to print or end. */
export class FakeShell implements RemoteTerminal {
  readonly lab: string;
  readonly sizes: TerminalSize[];
  readonly handlers: TerminalHandlers;
  input = "";
  closed = false;
  constructor(lab: string, size: TerminalSize, handlers: TerminalHandlers) {
    this.lab = lab;
    this.sizes = [size];
    this.handlers = handlers;
  }
  write(data: Buffer) {
    this.input += data.toString("utf8");
    // A TTY echoes what it gets.
    this.handlers.onOutput(Buffer.from(data));
  }
  resize(size: TerminalSize) {
    this.sizes.push(size);
  }
  close() {
    this.closed = true;
  }
}

export class FakeBackend implements LabBackend {
  readonly shells: FakeShell[] = [];
  /** When set, opening a shell fails with it. */
  terminalError: Error | undefined;
  /** When set, a shell opens only once this resolves. */
  terminalGate: Promise<void> | undefined;
  readonly starts: Start[] = [];
  readonly grades: { name: string; done: ReturnType<typeof deferred<Report>> }[] = [];
  readonly downs: string[] = [];
  readonly fills: Fill[] = [];
  /** The pool entry ids each drainPool call was given. */
  readonly drains: string[][] = [];
  readonly reports = new Map<string, Report[]>();
  downError: Error | undefined;

  async scenarios() {
    return SCENARIOS;
  }
  start(options: { file: string; name: string; signal: AbortSignal; onEvent: LabEventListener }) {
    const done = deferred<{ task: string; warmCluster?: string }>();
    options.signal.addEventListener("abort", () => done.reject(new Error("aborted")), { once: true });
    this.starts.push({ ...options, done });
    return done.promise;
  }
  async grade({ name }: { name: string }) {
    const done = deferred<Report>();
    this.grades.push({ name, done });
    const report = await done.promise;
    const list = this.reports.get(name) ?? [];
    list.push(report);
    this.reports.set(name, list);
    return report;
  }
  async attempts(name: string): Promise<LabAttempt[]> {
    return (this.reports.get(name) ?? []).map((r) => ({ attempt: r.attempt, at: r.startedAt, points: r.score.points, maxPoints: r.score.maxPoints, percent: r.score.percent, passed: r.score.passed, reportFile: `/state/${name}/${r.attempt}.json` }));
  }
  async report(name: string, attempt: number) {
    return this.reports.get(name)?.find((r) => r.attempt === attempt);
  }
  async down(name: string) {
    if (this.downError) throw this.downError;
    this.downs.push(name);
  }
  fillPool(options: { file: string; size: number; signal: AbortSignal; onEvent: LabEventListener }) {
    const done = deferred<{ created: string[]; stopped?: string }>();
    options.signal.addEventListener("abort", () => done.reject(new Error("aborted")), { once: true });
    this.fills.push({ file: options.file, size: options.size, signal: options.signal, done });
    return done.promise;
  }
  async drainPool(ids: readonly string[]) {
    this.drains.push([...ids]);
    return ids.map((id) => `labrun-pool-${id}`);
  }
  async terminal(name: string, size: TerminalSize, handlers: TerminalHandlers): Promise<RemoteTerminal> {
    if (this.terminalGate) await this.terminalGate;
    if (this.terminalError) throw this.terminalError;
    const shell = new FakeShell(name, size, handlers);
    this.shells.push(shell);
    return shell;
  }
  /** The start of lab `name`. */
  startOf(name: string): Start {
    const s = this.starts.find((x) => x.name === name);
    if (!s) throw new Error(`no start of ${name}`);
    return s;
  }
}

export interface Harness {
  app: FastifyInstance;
  backend: FakeBackend;
  manager: LabManager;
  clock: { now: number };
  /** A request with the platform token (or `token`). */
  call(method: "GET" | "POST" | "DELETE", url: string, options?: { body?: unknown; token?: string | null; raw?: string }): Promise<LightMyRequestResponse>;
}

export async function harness(options: Partial<LabManagerOptions> = {}): Promise<Harness> {
  const backend = new FakeBackend();
  const clock = { now: Date.parse("2026-03-01T10:00:00Z") };
  let n = 0;
  const manager = new LabManager({ backend, maxLabs: 5, ttlMs: 3_600_000, now: () => clock.now, newId: (s) => `${s}-${++n}`, ...options });
  const app = await buildServer({ manager, token: TOKEN, bodyLimit: 1024 });
  const call: Harness["call"] = (method, url, o = {}) => {
    const token = o.token === undefined ? TOKEN : o.token;
    const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` };
    if (o.body !== undefined || o.raw !== undefined) headers["content-type"] = "application/json";
    return app.inject({ method, url, headers, ...(o.raw !== undefined ? { payload: o.raw } : o.body !== undefined ? { payload: JSON.stringify(o.body) } : {}) });
  };
  return { app, backend, manager, clock, call };
}

/** Lets pending promise callbacks run (the manager reacts to a settled start on a later tick). */
export const settle = () => new Promise<void>((r) => setImmediate(r));

const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addFormat("date-time", { type: "string", validate: isDateTime });
const validators = new Map<string, ValidateFunction>();

/** The problems of a JSON answer against the schema the route table documents for that status (empty: it conforms). */
export function answerProblems(routeId: string, status: number, body: unknown): string[] {
  const route = (ROUTES as readonly ApiRoute[]).find((r) => r.id === routeId);
  const schema = route?.answers[status]?.schema;
  if (!schema) return [`route ${routeId} documents no JSON answer ${status}`];
  const key = `${routeId}:${status}`;
  let validate = validators.get(key);
  if (!validate) validators.set(key, (validate = ajv.compile(JSON.parse(JSON.stringify(schema, (k, v: unknown) => (k === "$id" ? undefined : v))) as object)));
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ""}`);
}
