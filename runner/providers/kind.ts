/**
 * The kind provider: the only code in labrun that knows kind's (and, for
 * nodes, docker's) command lines. Every command goes through an injectable
 * CommandRunner, so unit tests pin the exact argv.
 *
 * Decisions:
 * - `kind create cluster` gets no `--wait`: kind's wait exits 0 on timeout and
 *   only watches control-plane nodes. After kind returns we poll the API's
 *   /readyz from inside the control-plane node (bounded), and the caller
 *   checks node registration itself.
 * - The kind config goes on stdin (`--config -`), the kubeconfig to the lab's
 *   own file (`--kubeconfig`), never to ~/.kube/config; `kind delete` gets the
 *   same file so it never rewrites the learner's kubeconfig either.
 * - A killed `kind create` can leave `docker run` calls in flight; delete()
 *   therefore sweeps containers labelled with the cluster's name after kind.
 * - `kind create` runs in its own process group: labrun ends the whole group
 *   on Ctrl-C, SIGTERM or its deadline (a second Ctrl-C too, see
 *   util/processes.ts). When labrun itself is SIGKILLed the creator lives on;
 *   {@link KindProvider.creators} finds it by its command line (the cluster's
 *   name and the lab's kubeconfig path) so `labrun gc` can stop it before it
 *   deletes the cluster, instead of racing it.
 * - `kind create` always gets `--retain`: kind's own cleanup of a failed
 *   create would take the nodes' logs with it. On failure labrun exports them
 *   (`kind export logs`, bounded) to the request's logsDir, then the caller
 *   deletes the cluster (unless the learner asked to retain it).
 */
import { existsSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { stringify as toYaml } from "yaml";
import { InfraError, InterruptedError, UsageError } from "../errors.ts";
import type { ExecOptions, ExecResult } from "../cluster/client.ts";
import { commandLine, execaRunner, outputOf, type CommandRunner, type RunResult } from "./exec.ts";
import type { ClusterCreateRequest, ClusterProvider, InteractiveCommand, OutsideHostInfo, OutsideHostRequest, ProviderCapabilities } from "./provider.ts";
import { KindOutsideHosts } from "./kind-outside.ts";
import { BAKED_IMAGES_LABEL, imagesNodesLack } from "./kind-images.ts";
import { clip, commandDeadline, creatorsIn, DOCKER_CLIENT_ERROR, DOCKER_DOWN_HINT, DOCKER_UNREACHABLE, hintFor, LOG_DIRS_KEPT, LOG_FILE_MAX_BYTES, type KindCreator } from "./kind-host.ts";

export { COMMAND_DEADLINES, LOG_DIRS_KEPT, LOG_FILE_MAX_BYTES, type KindCreator } from "./kind-host.ts";
import type { Clock } from "../util/clock.ts";
import { boundLogs } from "../util/log-dirs.ts";
import { poll } from "../util/poll.ts";
import { hostProcesses, stopProcess, type ProcessTable } from "../util/processes.ts";

/** The Docker label kind puts on every node container. */
export const KIND_CLUSTER_LABEL = "io.x-k8s.kind.cluster";
/** Where labrun mounts a lab's marker directory in each node (see runner/lab/render.ts). */
export const LABRUN_MARK_PATH = "/kind/labrun";

export interface KindProviderOptions {
  run?: CommandRunner;
  env?: NodeJS.ProcessEnv;
  /** The kind binary (default: see {@link resolveKindBinary}). */
  kind?: string;
  /** The docker binary (default `$LABRUN_DOCKER` or `docker`). */
  docker?: string;
  /** How long to wait for the API server to answer after kind returns (default 90 s). */
  apiTimeoutMs?: number;
  /** Poll interval for the API (default 1 s). */
  pollMs?: number;
  /** Called with every command line before it runs (for --debug). */
  onCommand?: (line: string) => void;
  /** The time the API wait runs on (tests pass a fake one). */
  clock?: Clock;
  /** The host's processes (tests pass a fake table), to find and stop orphaned `kind create`s. */
  processes?: ProcessTable;
}

/** A labrun-made node container and the host directories mounted into it. */
export interface KindNodeContainer {
  id: string;
  name: string;
  cluster: string;
  state: string;
  /** The host directory mounted at {@link LABRUN_MARK_PATH}, when labrun created the cluster. */
  mark?: string;
}

/**
 * The kind binary: $LABRUN_KIND, else `kind` on PATH, else
 * `${LABRUN_CACHE:-~/.cache/labrun}/bin/kind` (where tools/images/build.sh puts it).
 */
export function resolveKindBinary(env: NodeJS.ProcessEnv = process.env, exists: (p: string) => boolean = existsSync): string {
  if (env.LABRUN_KIND) return env.LABRUN_KIND;
  for (const dir of (env.PATH ?? "").split(path.delimiter)) {
    if (dir && exists(path.join(dir, "kind"))) return "kind";
  }
  const cached = path.join(env.LABRUN_CACHE || path.join(env.HOME || homedir(), ".cache", "labrun"), "bin", "kind");
  if (exists(cached)) return cached;
  return "kind";
}

/** kind's words when the kubeconfig it was given cannot be read or rewritten. */
const KUBECONFIG_UNREADABLE = /failed to (read|update|lock) kubeconfig/i;

export class KindProvider implements ClusterProvider {
  readonly name = "kind" as const;
  readonly kind: string;
  readonly docker: string;
  readonly #run: CommandRunner;
  readonly #apiTimeoutMs: number;
  readonly #pollMs: number;
  readonly #onCommand: ((line: string) => void) | undefined;
  readonly #clock: Clock | undefined;
  readonly #outside: KindOutsideHosts;
  readonly #processes: ProcessTable;

  constructor(options: KindProviderOptions = {}) {
    const env = options.env ?? process.env;
    this.kind = options.kind ?? resolveKindBinary(env);
    this.docker = options.docker ?? (env.LABRUN_DOCKER || "docker");
    this.#run = options.run ?? execaRunner;
    this.#apiTimeoutMs = options.apiTimeoutMs ?? 90_000;
    this.#pollMs = options.pollMs ?? 1_000;
    // --debug (LABRUN_DEBUG=1): every kind and docker call on stderr, with its exit code and duration.
    this.#onCommand = options.onCommand ?? (env.LABRUN_DEBUG === "1" ? (line) => process.stderr.write(`debug: ${line}\n`) : undefined);
    this.#clock = options.clock;
    this.#processes = options.processes ?? hostProcesses;
    this.#outside = new KindOutsideHosts((args, opts) => this.#docker(args, opts), env);
  }

  capabilities(): ProviderCapabilities {
    return { createClusters: true, nodeShell: true, loadImages: true };
  }

  /** kind names a cluster's context `kind-<cluster>`. */
  async context(cluster: string): Promise<string> {
    return `kind-${cluster}`;
  }

  hostTools(): { kind: string; docker: string } {
    return { kind: this.kind, docker: this.docker };
  }

  async create(request: ClusterCreateRequest): Promise<void> {
    // Always --retain: labrun keeps kind's logs of a failed create, then the caller deletes the nodes.
    const args = ["create", "cluster", "--name", request.name, "--image", request.nodeImage, "--config", "-", "--kubeconfig", request.kubeconfigPath, "--retain"];
    let started = false;
    const onLine = (line: string) => {
      request.onOutput?.(line);
      // kind's "✓ Preparing nodes": the node containers run; kubeadm starts the control plane next.
      if (!started && /✓ Preparing nodes/.test(line)) {
        started = true;
        request.onNodesStarted?.();
      }
    };
    const result = await this.#kind(args, {
      input: toYaml(request.config),
      detached: true,
      ...(request.signal ? { signal: request.signal } : {}),
      ...(request.onOutput || request.onNodesStarted ? { onLine: (line: string) => onLine(line) } : {}),
    });
    if (result.aborted) throw abortError(request.signal);
    if (result.exitCode !== 0) {
      const logs = await this.#keepLogs(request);
      throw new InfraError(`failed to create cluster "${request.name}"${logs.note}`, {
        code: "CLUSTER_CREATE_FAILED",
        output: outputOf(result),
        hint: hintFor(outputOf(result)) ?? `${logs.hint}run \`labrun start\` again with --debug; ${request.retain ? `inspect the nodes with \`docker ps --filter label=${KIND_CLUSTER_LABEL}=${request.name}\`` : "add --retain to keep the nodes for debugging"}`,
      });
    }
    try {
      await this.waitForApi(request.name, request.signal);
    } catch (error) {
      if (!(error instanceof InfraError) || error.code !== "API_NOT_READY") throw error;
      const logs = await this.#keepLogs(request);
      throw new InfraError(`${error.message}${logs.note}`, { code: error.code, cause: error, ...(error.output ? { output: error.output } : {}), hint: `${logs.hint}${error.hint ?? ""}` });
    }
  }

  /** After a failed create: `kind export logs` into the request's logsDir, bounded; what to say about it. */
  async #keepLogs(request: ClusterCreateRequest): Promise<{ note: string; hint: string }> {
    if (!request.logsDir) return { note: "", hint: "" };
    const dir = request.logsDir;
    try {
      await this.exportLogs(request.name, dir);
      return { note: `; kind's logs are in ${dir}`, hint: `read ${path.join(dir, `${request.name}-control-plane`, "kubelet.log")} and the other node logs there; ` };
    } catch (error) {
      return { note: `; its logs could not be kept (${error instanceof Error ? error.message : String(error)})`, hint: "" };
    }
  }

  /**
   * `kind export logs` into `dir` (replacing what was there), each file cut
   * to its last {@link LOG_FILE_MAX_BYTES}, at most {@link LOG_DIRS_KEPT} such
   * directories beside it; bounded by a one-minute deadline.
   */
  async exportLogs(cluster: string, dir: string, signal?: AbortSignal): Promise<void> {
    await boundLogs.prepare(dir, LOG_DIRS_KEPT);
    const result = await this.#kind(["export", "logs", dir, "--name", cluster], { ...(signal ? { signal } : {}), timeoutMs: 60_000 });
    if (result.exitCode !== 0) {
      await boundLogs.discard(dir);
      throw new InfraError(`\`kind export logs\` failed${result.timedOut ? " (no answer within 60s)" : ""}`, { code: "CLUSTER_LOGS_FAILED", output: outputOf(result) });
    }
    await boundLogs.cut(dir, LOG_FILE_MAX_BYTES);
  }

  /** Every `kind create cluster` running on this host (labrun's or not), from the process table. */
  async creators(): Promise<KindCreator[]> {
    return creatorsIn(await this.#processes.list(), this.kind);
  }

  /** Stops a `kind create` and its process group (its `docker run`s): SIGTERM, SIGKILL after 5 s; an InfraError if it outlives that. */
  async stopCreator(creator: KindCreator): Promise<void> {
    if (await stopProcess(creator, { table: this.#processes })) return;
    throw new InfraError(`the \`kind create\` of cluster "${creator.cluster}" (pid ${creator.pid}) does not stop`, { code: "CREATOR_STUCK", hint: `kill it: \`kill -9 ${creator.pid}\`, then run \`labrun gc\` again` });
  }

  /**
   * Polls the API server's /readyz from inside the control-plane node until it
   * answers `ok` (bounded by apiTimeoutMs): kind's own `--wait` is not trusted.
   */
  async waitForApi(cluster: string, signal?: AbortSignal): Promise<void> {
    const node = `${cluster}-control-plane`;
    let last: RunResult | undefined;
    const ready = await poll(
      async () => {
        last = await this.#docker(["exec", node, "kubectl", "--kubeconfig=/etc/kubernetes/admin.conf", "get", "--raw=/readyz"], {
          timeoutMs: 15_000,
          ...(signal ? { signal } : {}),
        });
        if (last.aborted) throw abortError(signal);
        return last.exitCode === 0 && last.stdout.trim() === "ok" ? true : undefined;
      },
      { timeoutMs: this.#apiTimeoutMs, intervalMs: this.#pollMs, ...(signal ? { signal } : {}), ...(this.#clock ? { clock: this.#clock } : {}) },
    ).catch((error: unknown) => {
      throw signal?.aborted ? abortError(signal) : error;
    });
    if (ready) return;
    throw new InfraError(`the API server of cluster "${cluster}" did not become ready within ${Math.round(this.#apiTimeoutMs / 1000)}s`, {
      code: "API_NOT_READY",
      output: last ? outputOf(last) : undefined,
      hint: `look at the control plane: \`docker exec ${node} crictl ps -a\` and \`docker logs ${node}\``,
    });
  }

  async delete(name: string, options: { signal?: AbortSignal; kubeconfigPath?: string } = {}): Promise<void> {
    // kind removes the cluster's context from the kubeconfig it is given; give it
    // the lab's own file (or a throwaway path), never the learner's.
    const throwaway = path.join(tmpdir(), `labrun-kind-delete-${process.pid}.kubeconfig`);
    const removeHint = `retry with \`labrun down\`; or remove the nodes: \`docker rm -f $(docker ps -aq --filter label=${KIND_CLUSTER_LABEL}=${name})\``;
    const kindDelete = (kubeconfig: string) =>
      this.#kind(["delete", "cluster", "--name", name, "--kubeconfig", kubeconfig], options.signal ? { signal: options.signal } : {}).catch((error: unknown) => {
        if (error instanceof InfraError && error.code === "COMMAND_TIMEOUT") throw new InfraError(`deleting cluster "${name}": ${error.message}`, { code: "CLUSTER_DELETE_FAILED", cause: error, hint: removeHint });
        throw error;
      });
    let result = await kindDelete(options.kubeconfigPath ?? throwaway);
    // A lab kubeconfig that is corrupt (the very case whose hint is `labrun down`) makes kind fail
    // after it removed the nodes ("failed to read kubeconfig to remove KIND entry"): the file is
    // the lab's own and goes with the lab, so delete again with a throwaway one.
    if (!result.aborted && result.exitCode !== 0 && options.kubeconfigPath && KUBECONFIG_UNREADABLE.test(result.stderr)) result = await kindDelete(throwaway);
    if (result.aborted) throw abortError(options.signal);
    if (result.exitCode !== 0) {
      throw new InfraError(`failed to delete cluster "${name}"`, { code: "CLUSTER_DELETE_FAILED", output: outputOf(result), hint: removeHint });
    }
    await this.sweep(name, options.signal);
  }

  /**
   * Force-remove any node container of the cluster that is still there
   * (in-flight `docker run` of a killed create), and its hosts outside the cluster.
   */
  async sweep(name: string, signal?: AbortSignal): Promise<string[]> {
    const ids = await this.containerIds(name, signal);
    const outside = await this.#outside.remove(name, signal);
    if (ids.length === 0) return outside;
    const result = await this.#docker(["rm", "-f", "-v", ...ids], signal ? { signal } : {});
    if (result.exitCode !== 0 && !/No such container/i.test(result.stderr)) {
      throw new InfraError(`failed to remove the nodes of cluster "${name}"`, { output: outputOf(result) });
    }
    return [...outside, ...ids];
  }

  startOutsideHost(cluster: string, request: OutsideHostRequest, options: { signal?: AbortSignal } = {}): Promise<OutsideHostInfo> {
    return this.#outside.start(cluster, request, options.signal);
  }

  /** The cluster's outside hosts; every cluster's (with its name) when `cluster` is undefined (`labrun gc`). */
  outsideHosts(cluster: string | undefined, options: { signal?: AbortSignal } = {}): Promise<(OutsideHostInfo & { cluster: string })[]> {
    return this.#outside.list(cluster, options.signal);
  }

  execOutside(cluster: string, name: string, command: string[], options: ExecOptions): Promise<ExecResult> {
    return this.#outside.exec(cluster, name, command, options);
  }

  /**
   * Does the Docker engine answer (`docker version`, within `timeoutMs`,
   * default 15 s)? An InfraError naming Docker when not: DOCKER_UNAVAILABLE
   * (no engine) or DOCKER_UNRESPONSIVE (an engine that does not answer).
   * Commands that must not hang on a wedged engine (`down`, `gc`) ask first.
   */
  async ping(options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 15_000;
    const result = await this.#docker(["version", "--format", "{{.Server.Version}}"], { timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
    if (result.aborted) throw abortError(options.signal);
    if (result.timedOut) {
      throw new InfraError(`Docker did not answer within ${Math.round(timeoutMs / 1000)}s (\`${this.docker} version\`)`, {
        code: "DOCKER_UNRESPONSIVE",
        hint: "the Docker engine is wedged or overloaded: check `docker info`, restart Docker if it does not answer; then `labrun gc` removes what a stopped command left",
      });
    }
    if (result.exitCode !== 0) throw new InfraError("Docker is not reachable (`docker version`)", { code: "DOCKER_UNAVAILABLE", output: outputOf(result), hint: DOCKER_DOWN_HINT });
  }

  async runningNodes(name: string, signal?: AbortSignal): Promise<number> {
    const result = await this.#docker(["ps", "-q", "--filter", `label=${KIND_CLUSTER_LABEL}=${name}`, "--filter", "status=running"], signal ? { signal } : {});
    if (result.exitCode !== 0) throw new InfraError("failed to list containers", { output: outputOf(result), hint: "check that Docker runs: `docker info`" });
    return lines(result.stdout).length;
  }

  /** IDs of every container (running or not) labelled as a node of the cluster. */
  async containerIds(name: string, signal?: AbortSignal): Promise<string[]> {
    const result = await this.#docker(["ps", "-aq", "--filter", `label=${KIND_CLUSTER_LABEL}=${name}`], signal ? { signal } : {});
    if (result.exitCode !== 0) throw new InfraError("failed to list containers", { output: outputOf(result), hint: "check that Docker runs: `docker info`" });
    return lines(result.stdout);
  }

  /**
   * The node containers of a cluster and their Docker state (`running`,
   * `exited`, `paused`, ...), by name; bounded by `timeoutMs` (default 5 s):
   * an engine that does not answer is an InfraError, not a wait.
   */
  async nodeStates(name: string, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Map<string, string>> {
    const timeoutMs = options.timeoutMs ?? 5_000;
    const result = await this.#docker(["ps", "-a", "--filter", `label=${KIND_CLUSTER_LABEL}=${name}`, "--format", "{{.Names}}\t{{.State}}"], { timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
    if (result.aborted) throw abortError(options.signal);
    if (result.timedOut) throw new InfraError(`Docker did not answer within ${Math.round(timeoutMs / 1000)}s (\`${this.docker} ps\`)`, { code: "DOCKER_UNRESPONSIVE", hint: "check that Docker runs: `docker info`" });
    if (result.exitCode !== 0) throw new InfraError("failed to list the lab's node containers", { code: "DOCKER_FAILED", output: outputOf(result), hint: "check that Docker runs: `docker info`" });
    return new Map(lines(result.stdout).map((l) => l.split("\t") as [string, string]));
  }

  async list(options: { signal?: AbortSignal } = {}): Promise<string[]> {
    const result = await this.#kind(["get", "clusters"], options.signal ? { signal: options.signal } : {});
    if (result.exitCode !== 0) throw new InfraError("failed to list kind clusters", { output: outputOf(result), hint: "check that Docker runs: `docker info`" });
    return lines(result.stdout).sort();
  }

  async kubeconfig(name: string, options: { signal?: AbortSignal } = {}): Promise<string> {
    const result = await this.#kind(["get", "kubeconfig", "--name", name], options.signal ? { signal: options.signal } : {});
    if (result.exitCode !== 0) throw new InfraError(`failed to get the kubeconfig of cluster "${name}"`, { output: outputOf(result) });
    return result.stdout;
  }

  async nodes(name: string, options: { signal?: AbortSignal } = {}): Promise<string[]> {
    const result = await this.#kind(["get", "nodes", "--name", name], options.signal ? { signal: options.signal } : {});
    if (result.exitCode !== 0) throw new InfraError(`failed to list the nodes of cluster "${name}"`, { output: outputOf(result) });
    return lines(result.stdout)
      .filter((n) => !/^No kind nodes found/i.test(n))
      .sort();
  }

  async execOnNode(cluster: string, node: string, command: string[], options: ExecOptions): Promise<ExecResult> {
    assertNodeOf(cluster, node);
    if (command.length === 0) throw new UsageError("no command to run on the node");
    const args = ["exec", ...(options.stdin !== undefined ? ["-i"] : []), node, ...command];
    const result = await this.#docker(args, {
      timeoutMs: options.timeoutMs,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.stdin !== undefined ? { input: options.stdin } : {}),
    });
    if (result.exitCode !== 0 && /No such container|is not running|is paused/i.test(result.stderr)) {
      const state = /is paused/i.test(result.stderr) ? "is paused" : /No such container/i.test(result.stderr) ? "is gone" : "is not running";
      throw new InfraError(`the node container "${node}" ${state}`, { code: "NODE_CONTAINER_DOWN", output: outputOf(result), hint: "see `labrun status`" });
    }
    // Docker itself failed (not the command on the node): labrun's infrastructure, not a check that fails.
    if (result.exitCode !== 0 && DOCKER_CLIENT_ERROR.test(result.stderr)) {
      throw new InfraError(`\`docker exec\` on node "${node}" failed: ${result.stderr.trim().split("\n")[0]}`, { code: "DOCKER_FAILED", output: outputOf(result), hint: "check that Docker runs: `docker info`" });
    }
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr, timedOut: result.timedOut === true };
  }

  interactiveCommand(cluster: string, node: string, command: string[], options: { tty: boolean }): InteractiveCommand {
    assertNodeOf(cluster, node);
    const cmd = command.length ? command : ["bash", "-l"];
    return { file: this.docker, args: ["exec", options.tty ? "-it" : "-i", node, ...cmd] };
  }

  async loadImages(cluster: string, images: string[], options: { signal?: AbortSignal } = {}): Promise<string[]> {
    if (images.length === 0) return [];
    const inspected = await this.#inspectImages(images, options.signal);
    if (inspected.missing.length) {
      const missing = inspected.missing;
      throw new InfraError(`image${missing.length > 1 ? "s" : ""} not available locally: ${missing.join(", ")}`, {
        code: "IMAGE_MISSING",
        hint: "build labrun's offline images with `tools/images/build.sh` (or `docker pull` them where a registry is reachable)",
      });
    }
    // Only what some node's image does not hold already (see kind-images.ts): no `docker save` of baked images.
    const lacking = imagesNodesLack(images, inspected.ids, await this.#bakedImageLabels(cluster, options.signal));
    if (lacking.length === 0) return [];
    const result = await this.#kind(["load", "docker-image", "--name", cluster, ...lacking], options.signal ? { signal: options.signal } : {});
    if (result.aborted) throw abortError(options.signal);
    if (result.exitCode !== 0) throw new InfraError(`failed to load images into cluster "${cluster}"`, { code: "IMAGE_LOAD_FAILED", output: outputOf(result) });
    return lacking;
  }

  /** The `labrun.images` label of each node container of the cluster ("" where its image has none; none known: []). */
  async #bakedImageLabels(cluster: string, signal?: AbortSignal): Promise<string[]> {
    const ps = await this.#docker(["ps", "-a", "--filter", `label=${KIND_CLUSTER_LABEL}=${cluster}`, "--format", `{{.Label "${BAKED_IMAGES_LABEL}"}}|`], signal ? { signal } : {});
    if (ps.exitCode !== 0) return []; // unknown: kind load decides per node, as before
    return lines(ps.stdout).map((l) => l.replace(/\|$/, ""));
  }

  async loadImageArchive(cluster: string, archivePath: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const result = await this.#kind(["load", "image-archive", "--name", cluster, archivePath], options.signal ? { signal: options.signal } : {});
    if (result.aborted) throw abortError(options.signal);
    if (result.exitCode !== 0) throw new InfraError(`failed to load image archive ${archivePath} into cluster "${cluster}"`, { code: "IMAGE_LOAD_FAILED", output: outputOf(result) });
  }

  /** The images of the list that the local Docker does not have. */
  async missingImages(images: string[], signal?: AbortSignal): Promise<string[]> {
    return (await this.#inspectImages(images, signal)).missing;
  }

  /** One `docker image inspect` of the list: the images Docker lacks, and each image's ID when it has them all (an unreadable answer: no IDs). */
  async #inspectImages(images: string[], signal?: AbortSignal): Promise<{ missing: string[]; ids: Map<string, string> }> {
    if (images.length === 0) return { missing: [], ids: new Map() };
    const result = await this.#docker(["image", "inspect", "--format", "{{.Id}}", ...images], signal ? { signal } : {});
    if (result.exitCode === 0) {
      const ids = lines(result.stdout);
      return { missing: [], ids: ids.length === images.length ? new Map(images.map((image, i) => [image, ids[i]!])) : new Map() };
    }
    const missing = images.filter((image) => result.stderr.includes(`No such image: ${image}`) || result.stderr.includes(`No such image: ${image.replace(/^docker\.io\/(library\/)?/, "")}`));
    if (missing.length === 0) throw new InfraError("failed to inspect local images", { output: outputOf(result), hint: "check that Docker runs: `docker info`" });
    return { missing, ids: new Map() };
  }

  /** `kind version` → `v0.30.0`. */
  async version(signal?: AbortSignal): Promise<string> {
    const result = await this.#kind(["version"], signal ? { signal } : {});
    const match = /\bv(\d+\.\d+\.\d+\S*)/.exec(result.stdout);
    if (result.exitCode !== 0 || !match) throw new InfraError(`\`${this.kind} version\` failed`, { output: outputOf(result) });
    return `v${match[1]}`;
  }

  /** Every kind node container on this Docker host, with labrun's mark where there is one. */
  async nodeContainers(signal?: AbortSignal): Promise<KindNodeContainer[]> {
    const ps = await this.#docker(["ps", "-aq", "--filter", `label=${KIND_CLUSTER_LABEL}`], signal ? { signal } : {});
    if (ps.exitCode !== 0) throw new InfraError("failed to list containers", { output: outputOf(ps), hint: "check that Docker runs: `docker info`" });
    const ids = lines(ps.stdout);
    if (ids.length === 0) return [];
    const format = `{{.Id}}\t{{.Name}}\t{{index .Config.Labels "${KIND_CLUSTER_LABEL}"}}\t{{.State.Status}}\t{{range .Mounts}}{{.Source}}|{{.Destination}};{{end}}`;
    const inspect = await this.#docker(["inspect", "--format", format, ...ids], signal ? { signal } : {});
    // A container may vanish between ps and inspect: keep what could be read.
    return lines(inspect.stdout).map((line) => {
      const [id = "", name = "", cluster = "", state = "", mounts = ""] = line.split("\t");
      const mark = mounts
        .split(";")
        .map((m) => m.split("|"))
        .find(([, dest]) => dest === LABRUN_MARK_PATH)?.[0];
      return { id, name: name.replace(/^\//, ""), cluster, state, ...(mark ? { mark } : {}) };
    });
  }

  #kind(args: string[], options: Parameters<CommandRunner>[2] = {}): Promise<RunResult> {
    return this.#exec(this.kind, args, options, "kind", "install kind v0.30.0 (`go install sigs.k8s.io/kind@v0.30.0`, or `tools/images/build.sh --only kind`), or point LABRUN_KIND at it");
  }

  #docker(args: string[], options: Parameters<CommandRunner>[2] = {}): Promise<RunResult> {
    return this.#exec(this.docker, args, options, "docker", "install Docker and make sure `docker info` works");
  }

  async #exec(file: string, args: string[], options: Parameters<CommandRunner>[2] = {}, what: string, hint: string): Promise<RunResult> {
    const line = commandLine(file, args);
    this.#onCommand?.(line);
    // A call without a deadline of its own gets one: a wedged (not dead) engine is an error, never a hang.
    const timeoutMs = options.timeoutMs ?? commandDeadline(what, args);
    const t0 = performance.now();
    try {
      const result = await this.#run(file, args, { ...options, timeoutMs });
      this.#onCommand?.(`  ↳ ${result.timedOut ? "timed out" : result.aborted ? "aborted" : `exit ${String(result.exitCode)}`} after ${Math.round(performance.now() - t0)}ms`);
      if (!result.aborted && !result.timedOut && result.exitCode !== 0 && DOCKER_UNREACHABLE.test(result.stderr)) {
        const why = result.stderr.split("\n").find((l) => DOCKER_UNREACHABLE.test(l))?.trim() ?? "";
        throw new InfraError(`Docker is not reachable (\`${clip(line, 60)}\`): ${why}`, { code: "DOCKER_UNAVAILABLE", output: outputOf(result), hint: DOCKER_DOWN_HINT });
      }
      if (result.timedOut && options.timeoutMs === undefined) {
        throw new InfraError(`\`${clip(line)}\` did not finish within ${Math.round(timeoutMs / 1000)}s`, {
          code: "COMMAND_TIMEOUT",
          output: outputOf(result),
          hint: what === "docker" || /docker|engine/i.test(outputOf(result)) ? "is Docker responsive? check `docker info`" : "run it again with --debug; check `docker info`",
        });
      }
      return result;
    } catch (error) {
      if (error instanceof InfraError && error.code === "COMMAND_NOT_FOUND") {
        throw new InfraError(`${what} not found (looked for \`${file}\`)`, { code: "COMMAND_NOT_FOUND", hint, cause: error });
      }
      throw error;
    }
  }
}

/** A node of cluster `c` is `c-control-plane`, `c-worker`, `c-worker2`, ...: refuse any other container. */
function assertNodeOf(cluster: string, node: string): void {
  if (!node.startsWith(`${cluster}-`)) throw new UsageError(`"${node}" is not a node of cluster "${cluster}"`, { hint: "see the node names with `labrun status <lab>`" });
}

function lines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
}

/** The error for an aborted operation: InterruptedError, naming the signal when the CLI gave one. */
export function abortError(signal?: AbortSignal): InterruptedError {
  const reason: unknown = signal?.reason;
  return new InterruptedError(typeof reason === "string" && reason.startsWith("SIG") ? reason : "SIGINT");
}

