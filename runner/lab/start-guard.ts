/**
 * The watch `labrun start` keeps on labrun's own infrastructure while it
 * creates a kind cluster and runs the scenario's steps (issue 14). Neither
 * `kind create` nor a `wait` step notices by itself that Docker stopped
 * answering, that a node container was killed or removed, or that the API
 * server is gone: kind hangs or fails with an exec error, a `wait` polls
 * until its deadline. Every couple of seconds the guard looks, and on a fault
 * it aborts the start with an InfraError naming what failed (exit 3); start
 * then cleans up (runner/lab/start.ts).
 *
 * - Node containers (`docker ps`, bounded): a node container that exited,
 *   died or was paused, or one that ran and is gone, is a fault. Nodes not
 *   made yet (or created and not yet started) are not; nor are those of a
 *   failed create that labrun deletes to try once more (`forgetNodes`).
 * - Docker: two looks in a row that get no answer within the deadline are a
 *   fault (one slow answer on a loaded machine is not).
 * - The API (only while `watchApi` is on: the setup and break steps): no
 *   answer for `apiGraceMs` (45 s) is a fault. An API that comes back within
 *   that is no fault: the step converges (a `wait` polls on).
 */
import { InfraError } from "../errors.ts";
import type { ClusterProvider } from "../providers/provider.ts";
import { errorMessage } from "../util/text.ts";
import type { LabClient } from "./client.ts";
import { describeDownNodes } from "./infra.ts";

export const GUARD_INTERVAL_MS = 2_000;
export const GUARD_DOCKER_TIMEOUT_MS = 15_000;
export const GUARD_API_GRACE_MS = 45_000;
const API_PING_TIMEOUT_MS = 5_000;

export type NodeStates = NonNullable<ClusterProvider["nodeStates"]>;

export interface StartGuardOptions {
  /** The provider's `nodeStates` (kind); without it only the API is watched. */
  nodeStates?: NodeStates;
  /** The cluster's name (a claim from the warm pool may change it). */
  cluster: () => string;
  lab: string;
  /** The lab's API client once it is connected. */
  client?: () => LabClient | undefined;
  intervalMs?: number;
  dockerTimeoutMs?: number;
  apiGraceMs?: number;
  /** The time (ms) the API grace is measured on (tests pass a fake one). */
  now?: () => number;
}

export class StartGuard {
  readonly #o: StartGuardOptions;
  readonly #abort = new AbortController();
  readonly #stop = new AbortController();
  readonly #seen = new Set<string>();
  #generation = 0;
  #strikes = 0;
  #nodesWatched = false;
  #apiWatched = false;
  #apiOkAt = 0;
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;
  fault: InfraError | undefined;

  constructor(options: StartGuardOptions) {
    this.#o = options;
  }

  /** Aborted (with the fault as its reason) when the guard found one. */
  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  /** Starts the periodic looks (idempotent). */
  start(): void {
    if (this.#timer || this.#stop.signal.aborted) return;
    this.#timer = setInterval(() => void this.tick(), this.#o.intervalMs ?? GUARD_INTERVAL_MS);
    this.#timer.unref?.();
  }

  /** Stops looking (before cleanup, and after a successful start). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#stop.abort();
  }

  /** Watch the node containers from now on (the cluster is being made; again after `forgetNodes`). */
  watchNodes(): void {
    this.#nodesWatched = true;
    this.start();
  }

  /** Watch the API (true: the scenario's steps run; false: they are done). */
  watchApi(on: boolean): void {
    this.#apiWatched = on;
    this.#apiOkAt = this.#now();
    if (on) this.start();
  }

  /** The nodes are deleted on purpose (a create retried): stop watching them, forget which ran. */
  forgetNodes(): void {
    this.#nodesWatched = false;
    this.#seen.clear();
    this.#generation++;
  }

  /** One look now (the periodic ones call it too); resolves to the fault, if any. Never throws. */
  async tick(): Promise<InfraError | undefined> {
    if (this.fault || this.#ticking || this.#stop.signal.aborted) return this.fault;
    this.#ticking = true;
    try {
      if (this.#nodesWatched) await this.#lookAtNodes();
      if (!this.fault && this.#apiWatched) await this.#lookAtApi();
    } catch {
      // a look that fails for another reason (Docker refusing `ps`) is for the steps to meet, not the guard
    } finally {
      this.#ticking = false;
    }
    return this.fault;
  }

  /**
   * After `kind create` failed: was it labrun's infrastructure (kind keeps the
   * nodes of a failed create)? Then that is the fault, and no retry will help.
   */
  async afterFailedCreate(): Promise<InfraError | undefined> {
    if (this.fault || !this.#o.nodeStates) return this.fault;
    try {
      await this.#lookAtNodes();
    } catch {
      // Docker could not say: the create's own error stands
    }
    return this.fault;
  }

  async #lookAtNodes(): Promise<void> {
    if (!this.#o.nodeStates) return;
    const generation = this.#generation;
    let states: Map<string, string>;
    try {
      states = await this.#o.nodeStates(this.#o.cluster(), { timeoutMs: this.#o.dockerTimeoutMs ?? GUARD_DOCKER_TIMEOUT_MS, signal: this.#stop.signal });
    } catch (error) {
      if (error instanceof InfraError && error.code === "DOCKER_UNRESPONSIVE" && !this.#stop.signal.aborted) {
        this.#strikes++;
        if (this.#strikes >= 2) {
          const s = Math.round((this.#o.dockerTimeoutMs ?? GUARD_DOCKER_TIMEOUT_MS) / 1000);
          this.#fail(
            new InfraError(`Docker did not answer within ${s}s, twice in a row (\`docker ps\` of the lab's nodes), while labrun started lab "${this.#o.lab}"`, {
              code: "DOCKER_UNRESPONSIVE",
              cause: error,
              hint: `the Docker engine is wedged or overloaded: check \`docker info\`, restart Docker if it does not answer; then \`labrun gc\` removes what this start left (cluster ${this.#o.cluster()})`,
            }),
          );
        }
      }
      throw error;
    }
    this.#strikes = 0;
    if (generation !== this.#generation) return; // the nodes were deleted on purpose meanwhile
    for (const [node, state] of states) if (state === "running") this.#seen.add(node);
    const down: [string, string][] = [];
    for (const [node, state] of states) if (/^(exited|dead|paused)$/.test(state)) down.push([node, state]);
    for (const node of this.#seen) if (!states.has(node)) down.push([node, "removed"]);
    if (down.length) this.#fail(nodeDownError(this.#o.lab, this.#o.cluster(), down));
  }

  async #lookAtApi(): Promise<void> {
    const client = this.#o.client?.();
    if (!client) return;
    try {
      await client.ping({ timeoutMs: API_PING_TIMEOUT_MS, signal: this.#stop.signal });
      this.#apiOkAt = this.#now();
    } catch (error) {
      if (this.#stop.signal.aborted || !this.#apiWatched) return;
      const grace = this.#o.apiGraceMs ?? GUARD_API_GRACE_MS;
      if (this.#now() - this.#apiOkAt < grace) return;
      this.#fail(
        new InfraError(`the Kubernetes API of cluster "${this.#o.cluster()}" stopped answering during the scenario's steps (no answer for ${Math.round(grace / 1000)}s: ${errorMessage(error)})`, {
          code: "API_UNREACHABLE",
          cause: error,
          hint: `labrun's infrastructure failed, not the scenario: look at the control plane (\`docker exec ${this.#o.cluster()}-control-plane crictl ps -a\`), then \`labrun start\` again`,
        }),
      );
    }
  }

  #fail(fault: InfraError): void {
    if (this.fault) return;
    this.fault = fault;
    this.#abort.abort(fault);
  }

  #now(): number {
    return (this.#o.now ?? Date.now)();
  }
}

function nodeDownError(lab: string, cluster: string, down: [string, string][]): InfraError {
  return new InfraError(`the lab's node container ${describeDownNodes(down)}: labrun's infrastructure failed while lab "${lab}" was started`, {
    code: "NODE_CONTAINER_DOWN",
    hint: `something outside labrun stopped or removed it (\`docker ps -a --filter label=io.x-k8s.kind.cluster=${cluster}\`); \`labrun start\` again`,
  });
}
