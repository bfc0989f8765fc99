/**
 * ClusterClient over @kubernetes/client-node 2.x.
 *
 *   - generic get/list/apply/delete through KubernetesObjectApi (server-side
 *     apply is a PATCH with `application/apply-patch+yaml`, a field manager and
 *     `force`); objects come back as the API sent them (plain JSON, not the
 *     client's model classes, so partial matches compare what kubectl shows);
 *   - ephemeral containers through CoreV1Api (a strategic merge patch of the
 *     `ephemeralcontainers` subresource), then a poll until the container runs;
 *   - exec through client-node's Exec, wrapped by checks/exec.ts so it never hangs;
 *   - commands on nodes through an injected runner (kind: `docker exec`).
 *
 * Every request carries an AbortSignal: the caller's, joined with a per-request
 * deadline. The generated client has no per-call signal, so a small HttpLibrary
 * reads it from an AsyncLocalStorage set around each call. Connection failures
 * become InfraError (exit 3); `ping` answers within seconds or throws one.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { existsSync } from "node:fs";
import {
  ApiException,
  CoreV1Api,
  createConfiguration,
  Exec,
  HttpMethod,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  setHeaderOptions,
  VersionApi,
  type Configuration,
  type HttpLibrary,
  type KubernetesObject,
  type RequestContext,
  type ResponseContext,
} from "@kubernetes/client-node";
import { InfraError, NotFoundError, UsageError } from "../runner/errors.ts";
import type {
  ClusterClient,
  EphemeralContainerSpec,
  ExecOptions,
  ExecResult,
  KubeObject,
  ListOptions,
  ObjectRef,
  PodContainer,
} from "./client.ts";
import { describeSocketError, runExec, type ExecSocket, type ExecStarter } from "./exec.ts";
import { abortReason, errorMessage, formatDuration, linkedSignal, sleep } from "./util.ts";

import { EphemeralContainerError, FATAL_WAITING, KubeApiError, UnknownKindError, NodeShellUnavailableError, type KubeClientOptions, type NodeRunner } from "./kube-common.ts";

// The error classes and options live in kube-common.ts, so code that only needs them does not load client-node.
export { EphemeralContainerError, KubeApiError, NodeShellUnavailableError, UnknownKindError, type KubeClientOptions, type NodeRunner };

interface CallContext {
  signal: AbortSignal;
}

/** Loads a kubeconfig file and selects a context; usage errors for a missing file or context. */
export function loadKubeConfig(file: string, context?: string): KubeConfig {
  if (!existsSync(file)) throw new NotFoundError(`kubeconfig not found: ${file}`, { hint: "pass an existing file with `--kubeconfig`" });
  const kc = new KubeConfig();
  try {
    kc.loadFromFile(file);
  } catch (error) {
    throw new UsageError(`cannot read kubeconfig ${file}: ${errorMessage(error)}`, { cause: error });
  }
  if (context) {
    if (!kc.getContextObject(context)) {
      const names = kc.getContexts().map((c) => c.name);
      throw new UsageError(`no context "${context}" in ${file}`, { hint: names.length ? `contexts: ${names.join(", ")}` : "the file has no contexts" });
    }
    kc.setCurrentContext(context);
  }
  if (!kc.getCurrentCluster()) throw new UsageError(`kubeconfig ${file} has no current cluster`, { hint: "pass `--context`" });
  return kc;
}

/**
 * KubernetesObjectApi that returns objects as the API sent them and applies
 * with server-side apply (the stock `patch` re-serializes bodies through the
 * model classes, which drops fields they do not know).
 */
class RawObjectApi extends KubernetesObjectApi {
  protected override async processResponse<T extends KubernetesObject>(response: ResponseContext, _type?: string): Promise<T> {
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return (text ? JSON.parse(text) : {}) as T;
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    throw new ApiException(response.httpStatusCode, "Unsuccessful HTTP Request", body, response.headers);
  }

  async serverSideApply(object: KubernetesObject, fieldManager: string, force: boolean): Promise<KubernetesObject> {
    const path = await this.specUriPath(object, "patch");
    const context = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    context.setHeaderParam("Accept", "application/json");
    context.setHeaderParam("Content-Type", PatchStrategy.ServerSideApply);
    context.setQueryParam("fieldManager", fieldManager);
    if (force) context.setQueryParam("force", "true");
    context.setBody(JSON.stringify(object));
    return this.requestPromise(context);
  }
}

export class KubeClusterClient implements ClusterClient {
  readonly kubeConfig: KubeConfig;
  readonly kubeconfig?: { path: string; context?: string };
  /** The API server URL. */
  readonly server: string;
  readonly #calls = new AsyncLocalStorage<CallContext>();
  readonly #objects: RawObjectApi;
  readonly #core: CoreV1Api;
  readonly #version: VersionApi;
  readonly #startExec: ExecStarter;
  readonly #nodeRunner: NodeRunner | undefined;
  readonly #requestTimeoutMs: number;
  readonly #pingTimeoutMs: number;
  readonly #maxExecOutputBytes: number | undefined;
  readonly #pollIntervalMs: number;
  #dispatcher: { close(): Promise<void> } | undefined;

  constructor(options: KubeClientOptions | { kubeConfig: KubeConfig; nodeRunner?: NodeRunner; requestTimeoutMs?: number; pingTimeoutMs?: number; pollIntervalMs?: number; maxExecOutputBytes?: number }) {
    this.kubeConfig = "kubeConfig" in options ? options.kubeConfig : loadKubeConfig(options.kubeconfig, options.context);
    if (!("kubeConfig" in options)) this.kubeconfig = { path: options.kubeconfig, ...(options.context ? { context: options.context } : {}) };
    const cluster = this.kubeConfig.getCurrentCluster();
    if (!cluster) throw new UsageError("kubeconfig has no current cluster");
    this.server = cluster.server;
    this.#nodeRunner = options.nodeRunner;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    this.#pingTimeoutMs = options.pingTimeoutMs ?? 5_000;
    this.#maxExecOutputBytes = options.maxExecOutputBytes;
    this.#pollIntervalMs = options.pollIntervalMs ?? 250;

    const config = this.#configuration();
    this.#objects = new RawObjectApi(config);
    this.#core = new CoreV1Api(config);
    this.#version = new VersionApi(config);

    const exec = new Exec(this.kubeConfig);
    this.#startExec = (target, command, streams) =>
      exec.exec(target.namespace, target.pod, target.container, command, streams.stdout, streams.stderr, streams.stdin, false, (status) =>
        streams.onStatus(status),
      ) as unknown as Promise<ExecSocket>;
  }

  /** A configuration whose HttpLibrary applies the current call's signal and reuses one connection pool. */
  #configuration(): Configuration {
    const kc = this.kubeConfig;
    const base = createConfiguration({});
    const inner = base.httpApi;
    const calls = this.#calls;
    const httpApi: HttpLibrary = {
      send(request: RequestContext) {
        const call = calls.getStore();
        if (call) request.setSignal(call.signal);
        return inner.send(request);
      },
    };
    // One dispatcher (connection pool) per client: the kubeconfig's TLS settings do not change between requests.
    const auth = {
      getName: () => "labrun",
      applySecurityAuthentication: async (context: RequestContext) => {
        await kc.applySecurityAuthentication(context);
        const fresh = context.getDispatcher() as { close(): Promise<void> } | undefined;
        if (!fresh) return;
        if (!this.#dispatcher) this.#dispatcher = fresh;
        else if (fresh !== this.#dispatcher) {
          void fresh.close().catch(() => undefined);
          context.setDispatcher(this.#dispatcher as never);
        }
      },
    };
    return createConfiguration({
      baseServer: new ServerConfiguration(this.server, {}),
      httpApi,
      authMethods: { default: auth },
    });
  }

  /** Release the connection pool (idle keep-alive sockets). */
  async close(): Promise<void> {
    const d = this.#dispatcher;
    this.#dispatcher = undefined;
    await d?.close().catch(() => undefined);
  }

  /** Runs `fn` with a signal joined from the caller's and a deadline; maps failures. */
  async #call<T>(what: string, signal: AbortSignal | undefined, fn: () => Promise<T>, timeoutMs = this.#requestTimeoutMs): Promise<T> {
    if (signal?.aborted) throw abortReason(signal);
    const linked = linkedSignal([signal], timeoutMs);
    try {
      return await this.#calls.run({ signal: linked.signal }, fn);
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      throw this.#mapError(error, what, linked.signal.aborted ? timeoutMs : undefined);
    } finally {
      linked.dispose();
    }
  }

  #mapError(error: unknown, what: string, timedOutAfter: number | undefined): Error {
    if (error instanceof ApiException && error.code === 404 && /^Failed to fetch resource metadata/.test(error.message)) {
      // discovery of the apiVersion answered 404: the group/version is not served
      return new Error(`Unrecognized API version and kind: ${error.message}`, { cause: error });
    }
    if (error instanceof ApiException) {
      const body = error.body as { message?: string; reason?: string } | string | undefined;
      const message = typeof body === "object" && body?.message ? body.message : typeof body === "string" && body ? body.slice(0, 300) : `HTTP ${error.code}`;
      if (error.code === 401) {
        return new InfraError(`the Kubernetes API at ${this.server} rejected labrun's credentials (${what}): ${message}`, {
          code: "CLUSTER_UNAUTHORIZED",
          hint: "the lab's kubeconfig is stale; check `labrun status`",
          cause: error,
        });
      }
      return new KubeApiError(`${what}: ${message}`, error.code, typeof body === "object" ? body?.reason : undefined, { cause: error });
    }
    if (timedOutAfter !== undefined) {
      return new InfraError(`the Kubernetes API at ${this.server} did not answer within ${formatDuration(timedOutAfter)} (${what})`, {
        code: "CLUSTER_UNREACHABLE",
        hint: "is the lab's cluster running? check `labrun status`",
        cause: error,
      });
    }
    const message = errorMessage(error);
    if (/Unrecognized API version and kind|Failed to fetch resource metadata/.test(message) && !/fetch failed/.test(message)) {
      return error as Error;
    }
    return new InfraError(`cannot reach the Kubernetes API at ${this.server} (${what}): ${networkCause(error)}`, {
      code: "CLUSTER_UNREACHABLE",
      hint: "is the lab's cluster running? check `labrun status`",
      cause: error,
    });
  }

  async ping(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ gitVersion: string }> {
    const timeoutMs = options.timeoutMs ?? this.#pingTimeoutMs;
    try {
      const info = await this.#call("GET /version", options.signal, () => this.#version.getCode(), timeoutMs);
      return { gitVersion: info.gitVersion };
    } catch (error) {
      if (options.signal?.aborted) throw error;
      if (error instanceof InfraError) throw error;
      throw new InfraError(`the Kubernetes API at ${this.server} is not healthy: ${errorMessage(error)}`, {
        code: "CLUSTER_UNREACHABLE",
        hint: "is the lab's cluster running? check `labrun status`",
        cause: error,
      });
    }
  }

  async get(ref: ObjectRef, options: { signal?: AbortSignal } = {}): Promise<KubeObject | undefined> {
    const header = { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } };
    try {
      return await this.#call(`get ${describeRef(ref)}`, options.signal, async () => {
        const object = (await this.#objects.read(header)) as unknown as KubeObject;
        return object;
      });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return undefined;
      throw this.#kindError(error, ref.apiVersion, ref.kind);
    }
  }

  async list(apiVersion: string, kind: string, options: ListOptions & { signal?: AbortSignal } = {}): Promise<KubeObject[]> {
    const what = `list ${kind}${options.namespace ? ` in ${options.namespace}` : ""}${options.labelSelector ? ` (${options.labelSelector})` : ""}`;
    try {
      return await this.#call(what, options.signal, async () => {
        const items: KubeObject[] = [];
        let token: string | undefined;
        do {
          const page = (await this.#objects.list(
            apiVersion,
            kind,
            options.namespace,
            undefined,
            undefined,
            undefined,
            options.fieldSelector,
            options.labelSelector,
            500,
            token,
          )) as unknown as { items?: KubeObject[]; metadata?: { continue?: string } };
          for (const item of page.items ?? []) items.push({ ...item, apiVersion, kind });
          token = page.metadata?.continue || undefined;
        } while (token);
        return items;
      });
    } catch (error) {
      throw this.#kindError(error, apiVersion, kind);
    }
  }

  async apply(object: KubeObject, options: { fieldManager: string; force?: boolean; signal?: AbortSignal }): Promise<KubeObject> {
    try {
      return (await this.#call(`apply ${describeRef(refOf(object))}`, options.signal, () =>
        this.#objects.serverSideApply(object as KubernetesObject, options.fieldManager, options.force ?? false),
      )) as unknown as KubeObject;
    } catch (error) {
      throw this.#kindError(error, object.apiVersion, object.kind);
    }
  }

  async delete(ref: ObjectRef, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    const header = { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) } };
    try {
      await this.#call(`delete ${describeRef(ref)}`, options.signal, () => this.#objects.delete(header));
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return false;
      throw this.#kindError(error, ref.apiVersion, ref.kind);
    }
  }

  #kindError(error: unknown, apiVersion: string, kind: string): unknown {
    if (error instanceof Error && /Unrecognized API version and kind/.test(error.message)) return new UnknownKindError(apiVersion, kind, { cause: error });
    return error;
  }

  async exec(target: PodContainer, command: string[], options: ExecOptions): Promise<ExecResult> {
    const started = Date.now();
    let container = target.container;
    if (!container) {
      const pod = await this.get({ apiVersion: "v1", kind: "Pod", name: target.pod, namespace: target.namespace }, { signal: options.signal });
      const first = (pod?.spec as { containers?: { name: string }[] } | undefined)?.containers?.[0]?.name;
      if (!first) throw new KubeApiError(`exec: pod ${target.namespace}/${target.pod} not found`, 404, "NotFound");
      container = first;
    }
    const remaining = Math.max(0, options.timeoutMs - (Date.now() - started));
    return runExec(this.#startExec, { namespace: target.namespace, pod: target.pod, container }, command, {
      ...options,
      timeoutMs: remaining,
      ...(this.#maxExecOutputBytes ? { maxOutputBytes: this.#maxExecOutputBytes } : {}),
    });
  }

  async addEphemeralContainer(
    pod: { namespace: string; pod: string },
    spec: EphemeralContainerSpec,
    options: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<void> {
    const deadline = Date.now() + options.timeoutMs;
    const container: Record<string, unknown> = {
      name: spec.name,
      image: spec.image,
      command: spec.command,
      imagePullPolicy: "IfNotPresent",
      stdin: false,
      tty: false,
      terminationMessagePolicy: "FallbackToLogsOnError",
      ...(spec.targetContainerName ? { targetContainerName: spec.targetContainerName } : {}),
      ...(spec.securityContext ? { securityContext: spec.securityContext } : {}),
    };
    await this.#call(`add ephemeral container ${spec.name} to pod ${pod.namespace}/${pod.pod}`, options.signal, () =>
      this.#core.patchNamespacedPodEphemeralcontainers(
        { name: pod.pod, namespace: pod.namespace, body: { spec: { ephemeralContainers: [container] } }, fieldManager: "labrun" },
        setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
      ),
    );
    for (;;) {
      const live = await this.get({ apiVersion: "v1", kind: "Pod", name: pod.pod, namespace: pod.namespace }, { signal: options.signal });
      if (!live) throw new EphemeralContainerError(`pod ${pod.namespace}/${pod.pod} disappeared while its probe container started`, "PodGone");
      const statuses = ((live.status as { ephemeralContainerStatuses?: ContainerStatus[] } | undefined)?.ephemeralContainerStatuses ?? []) as ContainerStatus[];
      const status = statuses.find((s) => s.name === spec.name);
      if (status?.state?.running) return;
      if (status?.state?.terminated) {
        const t = status.state.terminated;
        throw new EphemeralContainerError(
          `container ${spec.name} in pod ${pod.namespace}/${pod.pod} exited (${t.reason ?? "exit code " + String(t.exitCode)})${t.message ? `: ${t.message}` : ""}`,
          t.reason ?? "Terminated",
        );
      }
      const waiting = status?.state?.waiting;
      if (waiting?.reason && FATAL_WAITING.has(waiting.reason)) {
        throw new EphemeralContainerError(
          `container ${spec.name} (image ${spec.image}) in pod ${pod.namespace}/${pod.pod} cannot start: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ""}`,
          waiting.reason,
        );
      }
      if (Date.now() >= deadline) {
        throw new EphemeralContainerError(
          `container ${spec.name} in pod ${pod.namespace}/${pod.pod} did not start within ${formatDuration(options.timeoutMs)}${waiting?.reason ? ` (${waiting.reason})` : ""}`,
          "Timeout",
        );
      }
      await sleep(Math.min(this.#pollIntervalMs, Math.max(0, deadline - Date.now())), options.signal);
    }
  }

  async runOnNode(node: string, command: string[], options: ExecOptions): Promise<ExecResult> {
    if (!this.#nodeRunner) throw new NodeShellUnavailableError();
    return this.#nodeRunner(node, command, options);
  }
}

interface ContainerStatus {
  name: string;
  state?: {
    running?: Record<string, unknown>;
    waiting?: { reason?: string; message?: string };
    terminated?: { reason?: string; message?: string; exitCode?: number };
  };
}

function refOf(object: KubeObject): ObjectRef {
  return { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name, ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}) };
}

export function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;
}

/** `connect ECONNREFUSED 127.0.0.1:6443` from undici's `fetch failed` and its cause chain. */
function networkCause(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let i = 0; i < 4 && e; i++) {
    const m = describeSocketError(e);
    if (m && m !== "fetch failed" && !parts.includes(m)) parts.push(m);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(": ") || "fetch failed";
}

/** Convenience: a client for a kubeconfig file. */
export function createKubeClient(options: KubeClientOptions): KubeClusterClient {
  return new KubeClusterClient(options);
}
