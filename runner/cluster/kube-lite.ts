/**
 * A lean ClusterClient: the REST calls and execs a grade makes, over node's
 * http/https with one keep-alive connection pool, for the kubeconfigs kind and
 * most clusters use (client certificates, bearer tokens, a CA). It exists for
 * speed: @kubernetes/client-node loads about a thousand modules before the
 * first request, longer than a whole grade of a small lab. Behaviour and
 * errors are those of checks/kube.ts (the same unit tests run against both):
 * bounded requests, InfraError for an unreachable API, KubeApiError,
 * UnknownKindError, server-side apply, the ephemeralcontainers patch, exec
 * that never hangs (checks/exec.ts with checks/ws-exec.ts).
 *
 * `createClusterClient` picks it when the kubeconfig's user needs nothing
 * else (no exec plugin, auth provider, proxy or impersonation); otherwise it
 * loads checks/kube.ts.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { InfraError } from "../errors.ts";
import type { ClusterClient, EphemeralContainerSpec, ExecOptions, ExecResult, KubeObject, ListOptions, ObjectRef, PodContainer } from "./client.ts";
import { describeSocketError, runExec } from "./exec.ts";
import { EphemeralContainerError, FATAL_WAITING, KubeApiError, NodeShellUnavailableError, UnknownKindError, type KubeClientOptions, type NodeRunner } from "./kube-common.ts";
import { formatDuration } from "../util/duration.ts";
import { linkedSignal } from "../util/signal.ts";
import { abortReason, sleep } from "../util/sleep.ts";
import { errorMessage } from "../util/text.ts";
import { openExec } from "./ws-exec.ts";
import { readKubeConfig, type LiteKubeConfig } from "./kubeconfig-lite.ts";

export { readKubeConfig, type LiteKubeConfig } from "./kubeconfig-lite.ts";

/** Resources a grade reads, so that they need no discovery request: `apiVersion/Kind` → [plural, namespaced]. */
const KNOWN: Record<string, [string, boolean]> = {
  "v1/Pod": ["pods", true],
  "v1/Node": ["nodes", false],
  "v1/Service": ["services", true],
  "v1/Namespace": ["namespaces", false],
  "v1/ConfigMap": ["configmaps", true],
  "v1/Secret": ["secrets", true],
  "v1/ServiceAccount": ["serviceaccounts", true],
  "v1/Endpoints": ["endpoints", true],
  "v1/Event": ["events", true],
  "v1/PersistentVolumeClaim": ["persistentvolumeclaims", true],
  "v1/PersistentVolume": ["persistentvolumes", false],
  "apps/v1/Deployment": ["deployments", true],
  "apps/v1/DaemonSet": ["daemonsets", true],
  "apps/v1/StatefulSet": ["statefulsets", true],
  "apps/v1/ReplicaSet": ["replicasets", true],
  "batch/v1/Job": ["jobs", true],
  "batch/v1/CronJob": ["cronjobs", true],
  "discovery.k8s.io/v1/EndpointSlice": ["endpointslices", true],
  "networking.k8s.io/v1/NetworkPolicy": ["networkpolicies", true],
  "networking.k8s.io/v1/Ingress": ["ingresses", true],
};

export class LiteKubeClient implements ClusterClient {
  readonly kubeconfig?: { path: string; context?: string };
  readonly server: string;
  readonly #agent: HttpAgent | HttpsAgent;
  readonly #headers: Record<string, string>;
  readonly #nodeRunner: NodeRunner | undefined;
  readonly #requestTimeoutMs: number;
  readonly #pingTimeoutMs: number;
  readonly #maxExecOutputBytes: number | undefined;
  readonly #pollIntervalMs: number;
  readonly #discovery = new Map<string, Promise<Map<string, [string, boolean]>>>();

  constructor(options: KubeClientOptions, config: LiteKubeConfig = readKubeConfig(options.kubeconfig, options.context)) {
    this.kubeconfig = { path: options.kubeconfig, ...(options.context ? { context: options.context } : {}) };
    this.server = config.server;
    this.#nodeRunner = options.nodeRunner;
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    this.#pingTimeoutMs = options.pingTimeoutMs ?? 5_000;
    this.#maxExecOutputBytes = options.maxExecOutputBytes;
    this.#pollIntervalMs = options.pollIntervalMs ?? 250;
    const https = config.server.startsWith("https:");
    this.#agent = https
      ? new HttpsAgent({ keepAlive: true, maxSockets: 32, rejectUnauthorized: !config.insecure, ...(config.ca ? { ca: config.ca } : {}), ...(config.cert ? { cert: config.cert } : {}), ...(config.key ? { key: config.key } : {}) })
      : new HttpAgent({ keepAlive: true, maxSockets: 32 });
    this.#headers = { Accept: "application/json", "User-Agent": "labrun", ...(config.token ? { Authorization: `Bearer ${config.token}` } : {}) };
  }

  async close(): Promise<void> {
    this.#agent.destroy();
  }

  /** One request within the deadline; the body parsed as JSON. */
  async #request(what: string, method: string, path: string, options: { signal?: AbortSignal | undefined; body?: string; contentType?: string; timeoutMs?: number } = {}): Promise<{ status: number; json: unknown }> {
    const signal = options.signal;
    if (signal?.aborted) throw abortReason(signal);
    const timeoutMs = options.timeoutMs ?? this.#requestTimeoutMs;
    const linked = linkedSignal([signal], timeoutMs);
    const t0 = performance.now();
    let outcome = "failed";
    const url = new URL(path, this.server);
    const request = url.protocol === "https:" ? httpsRequest : httpRequest;
    try {
      return await new Promise<{ status: number; json: unknown }>((resolvePromise, reject) => {
        const req = request(url, {
          method,
          agent: this.#agent as HttpsAgent,
          signal: linked.signal,
          headers: { ...this.#headers, ...(options.body !== undefined ? { "Content-Type": options.contentType ?? "application/json", "Content-Length": Buffer.byteLength(options.body) } : {}) },
        });
        req.on("response", (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let json: unknown = text;
            try {
              json = text ? JSON.parse(text) : {};
            } catch {
              // not JSON: keep the text
            }
            outcome = String(res.statusCode ?? 0);
            resolvePromise({ status: res.statusCode ?? 0, json });
          });
          res.on("error", reject);
        });
        req.on("error", reject);
        req.end(options.body);
      });
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      if (linked.signal.aborted) {
        throw new InfraError(`the Kubernetes API at ${this.server} did not answer within ${formatDuration(timeoutMs)} (${what})`, {
          code: "CLUSTER_UNREACHABLE",
          hint: "is the lab's cluster running? check `labrun status`",
          cause: error,
        });
      }
      throw new InfraError(`cannot reach the Kubernetes API at ${this.server} (${what}): ${networkCause(error)}`, {
        code: "CLUSTER_UNREACHABLE",
        hint: "is the lab's cluster running? check `labrun status`",
        cause: error,
      });
    } finally {
      // --debug: every API call with its status and duration.
      if (process.env.LABRUN_DEBUG === "1") process.stderr.write(`debug: API ${what} → ${outcome} after ${Math.round(performance.now() - t0)}ms\n`);
      linked.dispose();
    }
  }

  /** An error status as checks/kube.ts reports it. */
  #apiError(what: string, status: number, json: unknown): Error {
    const body = json as { message?: string; reason?: string } | string | undefined;
    const message = typeof body === "object" && body?.message ? body.message : typeof body === "string" && body ? body.slice(0, 300) : `HTTP ${status}`;
    if (status === 401) {
      return new InfraError(`the Kubernetes API at ${this.server} rejected labrun's credentials (${what}): ${message}`, {
        code: "CLUSTER_UNAUTHORIZED",
        hint: "the lab's kubeconfig is stale; check `labrun status`",
      });
    }
    return new KubeApiError(`${what}: ${message}`, status, typeof body === "object" ? body?.reason : undefined);
  }

  /** The collection path of a kind: `/api/v1/namespaces/ns/pods`, `/apis/apps/v1/deployments`. */
  async #collection(apiVersion: string, kind: string, namespace: string | undefined, signal?: AbortSignal): Promise<string> {
    const [plural, namespaced] = await this.#resource(apiVersion, kind, signal);
    const root = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    return namespaced && namespace ? `${root}/namespaces/${encodeURIComponent(namespace)}/${plural}` : `${root}/${plural}`;
  }

  async #resource(apiVersion: string, kind: string, signal?: AbortSignal): Promise<[string, boolean]> {
    const known = KNOWN[`${apiVersion}/${kind}`];
    if (known) return known;
    let pending = this.#discovery.get(apiVersion);
    if (!pending) {
      pending = this.#discover(apiVersion, signal);
      this.#discovery.set(apiVersion, pending);
      pending.catch(() => this.#discovery.delete(apiVersion));
    }
    const found = (await pending).get(kind);
    if (!found) throw new UnknownKindError(apiVersion, kind);
    return found;
  }

  async #discover(apiVersion: string, signal?: AbortSignal): Promise<Map<string, [string, boolean]>> {
    const path = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const r = await this.#request(`GET ${path}`, "GET", path, { signal });
    const kinds = new Map<string, [string, boolean]>();
    if (r.status === 404) return kinds;
    if (r.status >= 300) throw this.#apiError(`GET ${path}`, r.status, r.json);
    for (const res of ((r.json as { resources?: { name: string; kind: string; namespaced: boolean }[] }).resources ?? [])) {
      if (!res.name.includes("/") && !kinds.has(res.kind)) kinds.set(res.kind, [res.name, res.namespaced]);
    }
    return kinds;
  }

  async ping(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<{ gitVersion: string }> {
    const timeoutMs = options.timeoutMs ?? this.#pingTimeoutMs;
    const r = await this.#request("GET /version", "GET", "/version", { signal: options.signal, timeoutMs });
    const version = r.json as { gitVersion?: string };
    if (r.status >= 300 || typeof version?.gitVersion !== "string") {
      throw new InfraError(`the Kubernetes API at ${this.server} is not healthy: ${errorMessage(this.#apiError("GET /version", r.status, r.json))}`, {
        code: r.status === 401 ? "CLUSTER_UNAUTHORIZED" : "CLUSTER_UNREACHABLE",
        hint: "is the lab's cluster running? check `labrun status`",
      });
    }
    return { gitVersion: version.gitVersion };
  }

  async get(ref: ObjectRef, options: { signal?: AbortSignal } = {}): Promise<KubeObject | undefined> {
    const what = `get ${describeRef(ref)}`;
    const path = `${await this.#collection(ref.apiVersion, ref.kind, ref.namespace, options.signal)}/${encodeURIComponent(ref.name)}`;
    const r = await this.#request(what, "GET", path, { signal: options.signal });
    if (r.status === 404) return undefined;
    if (r.status >= 300) throw this.#apiError(what, r.status, r.json);
    return r.json as KubeObject;
  }

  async list(apiVersion: string, kind: string, options: ListOptions & { signal?: AbortSignal } = {}): Promise<KubeObject[]> {
    const what = `list ${kind}${options.namespace ? ` in ${options.namespace}` : ""}${options.labelSelector ? ` (${options.labelSelector})` : ""}`;
    const base = await this.#collection(apiVersion, kind, options.namespace, options.signal);
    const items: KubeObject[] = [];
    let token: string | undefined;
    do {
      const q = new URLSearchParams();
      if (options.fieldSelector) q.set("fieldSelector", options.fieldSelector);
      if (options.labelSelector) q.set("labelSelector", options.labelSelector);
      q.set("limit", "500");
      if (token) q.set("continue", token);
      const r = await this.#request(what, "GET", `${base}?${q.toString()}`, { signal: options.signal });
      if (r.status === 404 && !token) throw new UnknownKindError(apiVersion, kind);
      if (r.status >= 300) throw this.#apiError(what, r.status, r.json);
      const page = r.json as { items?: KubeObject[]; metadata?: { continue?: string } };
      for (const item of page.items ?? []) items.push({ ...item, apiVersion, kind });
      token = page.metadata?.continue || undefined;
    } while (token);
    return items;
  }

  async apply(object: KubeObject, options: { fieldManager: string; force?: boolean; signal?: AbortSignal }): Promise<KubeObject> {
    const ref = refOf(object);
    const what = `apply ${describeRef(ref)}`;
    const q = new URLSearchParams({ fieldManager: options.fieldManager });
    if (options.force) q.set("force", "true");
    const path = `${await this.#collection(object.apiVersion, object.kind, object.metadata.namespace, options.signal)}/${encodeURIComponent(object.metadata.name)}?${q.toString()}`;
    const r = await this.#request(what, "PATCH", path, { signal: options.signal, body: JSON.stringify(object), contentType: "application/apply-patch+yaml" });
    if (r.status >= 300) throw this.#apiError(what, r.status, r.json);
    return r.json as KubeObject;
  }

  async delete(ref: ObjectRef, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    const what = `delete ${describeRef(ref)}`;
    const path = `${await this.#collection(ref.apiVersion, ref.kind, ref.namespace, options.signal)}/${encodeURIComponent(ref.name)}`;
    const r = await this.#request(what, "DELETE", path, { signal: options.signal });
    if (r.status === 404) return false;
    if (r.status >= 300) throw this.#apiError(what, r.status, r.json);
    return true;
  }

  async exec(target: PodContainer, command: string[], options: ExecOptions): Promise<ExecResult> {
    const started = Date.now();
    let container = target.container;
    if (!container) {
      const pod = await this.get({ apiVersion: "v1", kind: "Pod", name: target.pod, namespace: target.namespace }, { ...(options.signal ? { signal: options.signal } : {}) });
      const first = (pod?.spec as { containers?: { name: string }[] } | undefined)?.containers?.[0]?.name;
      if (!first) throw new KubeApiError(`exec: pod ${target.namespace}/${target.pod} not found`, 404, "NotFound");
      container = first;
    }
    const remaining = Math.max(0, options.timeoutMs - (Date.now() - started));
    const api = { server: this.server, agent: this.#agent, headers: this.#headers };
    return runExec((t, argv, streams) => openExec(api, t, argv, streams), { namespace: target.namespace, pod: target.pod, container }, command, {
      ...options,
      timeoutMs: remaining,
      ...(this.#maxExecOutputBytes ? { maxOutputBytes: this.#maxExecOutputBytes } : {}),
    });
  }

  async addEphemeralContainer(pod: { namespace: string; pod: string }, spec: EphemeralContainerSpec, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
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
    const what = `add ephemeral container ${spec.name} to pod ${pod.namespace}/${pod.pod}`;
    const path = `/api/v1/namespaces/${encodeURIComponent(pod.namespace)}/pods/${encodeURIComponent(pod.pod)}/ephemeralcontainers?fieldManager=labrun`;
    const r = await this.#request(what, "PATCH", path, {
      signal: options.signal,
      body: JSON.stringify({ spec: { ephemeralContainers: [container] } }),
      contentType: "application/strategic-merge-patch+json",
    });
    if (r.status >= 300) throw this.#apiError(what, r.status, r.json);
    for (;;) {
      const live = await this.get({ apiVersion: "v1", kind: "Pod", name: pod.pod, namespace: pod.namespace }, { ...(options.signal ? { signal: options.signal } : {}) });
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

function describeRef(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ""}${ref.name}`;
}

/** `connect ECONNREFUSED 127.0.0.1:6443` from an error and its cause chain. */
function networkCause(error: unknown): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let i = 0; i < 4 && e; i++) {
    const m = describeSocketError(e);
    if (m && !parts.includes(m)) parts.push(m);
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join(": ") || "request failed";
}

/** A client for a kubeconfig's context, closable; the lean one when the context allows (see the module comment). */
export type ClosableClusterClient = ClusterClient & { readonly server: string; close(): Promise<void> };

export async function createClusterClient(options: KubeClientOptions): Promise<ClosableClusterClient> {
  const config = readKubeConfig(options.kubeconfig, options.context);
  if (!config.unsupported && process.env.LABRUN_KUBE_CLIENT !== "client-node") return new LiteKubeClient(options, config);
  const { createKubeClient } = await import("./kube.ts");
  return createKubeClient(options);
}
