/**
 * The labs one `labrun serve` runs: their state, start-up progress, learner
 * tokens, expiry and the capacity bound. Starting is asynchronous (create
 * answers at once); every lab is deleted when it expires or the server closes.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { RemoteTerminal, TerminalHandlers, TerminalSize } from "../cluster/ws-terminal.ts";
import type { LabEvent } from "../lab/events.ts";
import { MEMORY_PER_NODE } from "../lab/preflight.ts";
import type { LabState, LabView, ProgressStep } from "../schema/api.ts";
import type { Report } from "../schema/report.ts";
import { errorMessage } from "../util/text.ts";
import type { LabBackend, ServedScenario } from "./backend.ts";
import { ApiError, toApiError } from "./errors.ts";

/** Why a lab was deleted: a DELETE, its expiry, or the server stopping. */
export type GoneReason = "deleted" | "expired" | "stopped";

export type LabUpdate = { type: "progress"; step: ProgressStep } | { type: "state"; lab: LabView } | { type: "gone"; id: string; reason: GoneReason };

/** How many deleted labs' ids (and token hashes) are remembered, so an expired lab answers 410 rather than 404. */
const REMEMBERED = 1000;

export interface LabManagerOptions {
  backend: LabBackend;
  /** At most this many labs at once (starting, ready, grading or being deleted). */
  maxLabs: number;
  /** Memory the labs may use together, in bytes (about 1 GiB per node, as preflight estimates); default: no bound beyond maxLabs. */
  memoryBytes?: number;
  /** A lab's lifetime unless the request sets one. */
  ttlMs: number;
  now?: () => number;
  /** A new lab's id (tests); default: the scenario's name and 8 random hex digits. */
  newId?: (scenario: string) => string;
  /** Told after every lab start ends (a claim took a warm cluster): `labrun serve --warm` tops the pool up. */
  warmer?: { poke(): void };
}

interface ServedLab {
  id: string;
  scenario: ServedScenario;
  state: LabState;
  createdAt: number;
  expiresAt: number;
  progress: ProgressStep[];
  error?: ApiError;
  task?: string;
  /** The warm pool cluster the lab claimed. */
  warmCluster?: string;
  attempts: number;
  tokenHash: Buffer;
  controller: AbortController;
  starting?: Promise<void>;
  deleting?: Promise<void>;
  listeners: Set<(update: LabUpdate) => void>;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest();

export class LabManager {
  readonly #options: LabManagerOptions;
  readonly #labs = new Map<string, ServedLab>();
  /** Deleted labs, newest last: why, when they were to expire, and the learner token's hash. */
  readonly #gone = new Map<string, { reason: GoneReason; at: number; tokenHash: Buffer }>();
  readonly #now: () => number;
  #scenarios: Promise<ServedScenario[]> | undefined;

  constructor(options: LabManagerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The scenarios, read once. */
  scenarios(): Promise<ServedScenario[]> {
    this.#scenarios ??= this.#options.backend.scenarios().catch((error: unknown) => {
      this.#scenarios = undefined;
      throw error;
    });
    return this.#scenarios;
  }

  async create(scenarioName: string, ttlSeconds?: number): Promise<{ lab: LabView; learnerToken: string }> {
    const scenario = (await this.scenarios()).find((s) => s.summary.name === scenarioName);
    if (!scenario) throw new ApiError(404, "UNKNOWN_SCENARIO", `unknown scenario "${scenarioName}"`, { hint: "GET /v1/scenarios lists them" });
    this.#assertCapacity(scenario);
    const id = (this.#options.newId ?? defaultId)(scenario.summary.name);
    if (this.#labs.has(id)) throw new ApiError(409, "LAB_EXISTS", `lab "${id}" exists`);
    const learnerToken = randomBytes(24).toString("base64url");
    const now = this.#now();
    const lab: ServedLab = {
      id,
      scenario,
      state: "starting",
      createdAt: now,
      expiresAt: now + (ttlSeconds !== undefined ? ttlSeconds * 1000 : this.#options.ttlMs),
      progress: [],
      attempts: 0,
      tokenHash: sha256(learnerToken),
      controller: new AbortController(),
      listeners: new Set(),
    };
    this.#labs.set(id, lab);
    lab.starting = this.#start(lab);
    return { lab: this.view(lab.id), learnerToken };
  }

  #assertCapacity(scenario: ServedScenario): void {
    const active = [...this.#labs.values()].filter((l) => l.state !== "failed");
    const { maxLabs, memoryBytes } = this.#options;
    const hint = "delete a lab (DELETE /v1/labs/{lab}) or wait for one to expire, then retry";
    if (active.length >= maxLabs) throw new ApiError(503, "AT_CAPACITY", `at capacity: ${active.length} of ${maxLabs} labs run`, { hint });
    if (memoryBytes !== undefined) {
      const nodes = active.reduce((n, l) => n + l.scenario.summary.nodes, 0) + scenario.summary.nodes;
      if (nodes * MEMORY_PER_NODE > memoryBytes) {
        const gib = (b: number) => `${(b / 1024 ** 3).toFixed(1)} GiB`;
        throw new ApiError(503, "AT_CAPACITY", `at capacity: ${nodes} nodes would need about ${gib(nodes * MEMORY_PER_NODE)}, the labs may use ${gib(memoryBytes)}`, { hint });
      }
    }
  }

  async #start(lab: ServedLab): Promise<void> {
    try {
      const { task, warmCluster } = await this.#options.backend.start({ file: lab.scenario.file, name: lab.id, signal: lab.controller.signal, onEvent: (e) => this.#onEvent(lab, e) });
      if (lab.state !== "starting") return;
      lab.task = task;
      if (warmCluster) lab.warmCluster = warmCluster;
      this.#setState(lab, "ready");
    } catch (error) {
      if (lab.state !== "starting") return;
      lab.error = toApiError(error);
      this.#setState(lab, "failed");
    } finally {
      this.#options.warmer?.poke();
    }
  }

  #onEvent(lab: ServedLab, event: LabEvent): void {
    let step: ProgressStep | undefined;
    if (event.type === "step-start") {
      step = { phase: event.phase, name: event.name, status: "running" };
      lab.progress.push(step);
    } else if (event.type === "step-end") {
      step = lab.progress.findLast((s) => s.phase === event.phase && s.name === event.name && s.status === "running");
      if (!step) lab.progress.push((step = { phase: event.phase, name: event.name, status: event.status }));
      step.status = event.status;
      step.durationMs = event.durationMs;
      const detail = event.detail ?? event.error;
      if (detail) step.detail = detail;
    }
    if (step) for (const listener of lab.listeners) listener({ type: "progress", step: { ...step } });
  }

  #setState(lab: ServedLab, state: LabState): void {
    lab.state = state;
    const view = this.#viewOf(lab);
    for (const listener of lab.listeners) listener({ type: "state", lab: view });
  }

  #get(id: string): ServedLab {
    const lab = this.#labs.get(id);
    if (lab) return lab;
    const gone = this.#gone.get(id);
    if (gone?.reason === "expired") {
      throw new ApiError(410, "LAB_EXPIRED", `lab "${id}" expired at ${new Date(gone.at).toISOString()} and was deleted`, { hint: "create another lab (POST /v1/labs)" });
    }
    throw new ApiError(404, "UNKNOWN_LAB", `no lab "${id}"`, { hint: "GET /v1/labs lists the labs; a lab is deleted when it expires" });
  }

  /** Whether the lab runs, or expired lately (its routes then answer 410). */
  has(id: string): boolean {
    return this.#labs.has(id) || this.#gone.get(id)?.reason === "expired";
  }

  /** Whether `token` is this lab's learner token (of a lab that runs or expired lately). */
  isLearnerToken(id: string, token: string): boolean {
    const hash = this.#labs.get(id)?.tokenHash ?? (this.#gone.get(id)?.reason === "expired" ? this.#gone.get(id)!.tokenHash : undefined);
    return hash !== undefined && timingSafeEqual(hash, sha256(token));
  }

  view(id: string): LabView {
    return this.#viewOf(this.#get(id));
  }

  list(): LabView[] {
    return [...this.#labs.values()].map((l) => this.#viewOf(l));
  }

  #viewOf(lab: ServedLab): LabView {
    return {
      id: lab.id,
      scenario: lab.scenario.summary.name,
      state: lab.state,
      createdAt: new Date(lab.createdAt).toISOString(),
      expiresAt: new Date(lab.expiresAt).toISOString(),
      progress: lab.progress.map((s) => ({ ...s })),
      ...(lab.error ? { error: lab.error.json().error } : {}),
      ...(lab.task !== undefined ? { task: lab.task } : {}),
      ...(lab.warmCluster ? { warmCluster: lab.warmCluster } : {}),
      attempts: lab.attempts,
    };
  }

  /** Follows a lab: `listener` gets every later update; returns the function that stops it. */
  subscribe(id: string, listener: (update: LabUpdate) => void): () => void {
    const lab = this.#get(id);
    lab.listeners.add(listener);
    return () => lab.listeners.delete(listener);
  }

  async grade(id: string, signal?: AbortSignal): Promise<Report> {
    const lab = this.#get(id);
    if (lab.state === "grading") throw new ApiError(409, "GRADE_IN_PROGRESS", `lab "${id}" is being graded`, { hint: "wait for that grade's answer" });
    if (lab.state !== "ready") {
      throw new ApiError(409, "LAB_NOT_READY", `lab "${id}" is ${lab.state}`, { hint: lab.state === "starting" ? "wait until its state is `ready`" : "delete it and create another" });
    }
    this.#setState(lab, "grading");
    try {
      const report = await this.#options.backend.grade({ name: id, ...(signal ? { signal } : {}) });
      lab.attempts = Math.max(lab.attempts + 1, report.attempt);
      return report;
    } finally {
      if ((lab.state as LabState) === "grading") this.#setState(lab, "ready");
    }
  }

  /** A shell in the lab's toolbox; the lab must be ready (or grading: the learner may look while it grades). */
  async terminal(id: string, size: TerminalSize, handlers: TerminalHandlers): Promise<RemoteTerminal> {
    const lab = this.#get(id);
    if (lab.state !== "ready" && lab.state !== "grading") throw new ApiError(409, "LAB_NOT_READY", `lab "${id}" is ${lab.state}`);
    return this.#options.backend.terminal(id, size, handlers);
  }

  async attempts(id: string) {
    this.#get(id);
    return (await this.#options.backend.attempts(id)).map(({ attempt, at, points, maxPoints, percent, passed }) => ({ attempt, at, points, maxPoints, percent, passed }));
  }

  async report(id: string, attempt: number): Promise<Report> {
    this.#get(id);
    const report = await this.#options.backend.report(id, attempt);
    if (!report) throw new ApiError(404, "UNKNOWN_ATTEMPT", `lab "${id}" has no attempt ${attempt}`, { hint: `GET /v1/labs/${id}/attempts lists them` });
    return report;
  }

  /** Deletes a lab: interrupts its start, deletes its cluster, forgets it. Concurrent calls share one deletion. */
  delete(id: string, reason: GoneReason = "deleted"): Promise<void> {
    const lab = this.#get(id);
    lab.deleting ??= this.#delete(lab, reason);
    return lab.deleting;
  }

  async #delete(lab: ServedLab, reason: GoneReason): Promise<void> {
    const wasStarting = lab.state === "starting";
    this.#setState(lab, "deleting");
    if (wasStarting) {
      lab.controller.abort("deleted");
      await lab.starting?.catch(() => undefined);
    }
    try {
      await this.#options.backend.down(lab.id);
      this.#labs.delete(lab.id);
      this.#gone.set(lab.id, { reason, at: lab.expiresAt, tokenHash: lab.tokenHash });
      for (const old of this.#gone.keys()) {
        if (this.#gone.size <= REMEMBERED) break;
        this.#gone.delete(old);
      }
      for (const listener of lab.listeners) listener({ type: "gone", id: lab.id, reason });
      lab.listeners.clear();
    } catch (error) {
      lab.deleting = undefined;
      lab.error = toApiError(error);
      this.#setState(lab, "failed");
      throw error;
    }
  }

  /** Deletes the labs that expired; returns their ids. */
  async sweep(): Promise<string[]> {
    const now = this.#now();
    const expired = [...this.#labs.values()].filter((l) => l.expiresAt <= now && !l.deleting);
    await Promise.all(expired.map((l) => this.delete(l.id, "expired").catch(() => undefined)));
    return expired.map((l) => l.id);
  }

  /** Deletes every lab (the server is closing); returns the errors of those that could not be deleted. */
  async closeAll(): Promise<string[]> {
    const results = await Promise.allSettled([...this.#labs.keys()].map((id) => this.delete(id, "stopped")));
    return results.flatMap((r) => (r.status === "rejected" ? [errorMessage(r.reason)] : []));
  }
}

function defaultId(scenario: string): string {
  return `${scenario.slice(0, 31).replace(/-+$/, "")}-${randomBytes(4).toString("hex")}`;
}
