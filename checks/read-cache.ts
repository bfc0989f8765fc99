/**
 * Overlapping API reads within a grade. Checks that run at the same time read
 * the same objects (the source pod, the target pod, the DNS Service): a get
 * or list identical to one in flight, or answered less than `ttlMs` (100 ms) ago,
 * shares that answer instead of asking again. The window is far shorter than
 * a check's polling interval (2 s by default), so every attempt of a polling
 * check still sees a fresh cluster. Writes (apply, delete, a new ephemeral
 * container) clear the cache.
 */
import type { ClusterClient, EphemeralContainerSpec, ExecOptions, ExecResult, KubeObject, ListOptions, ObjectRef, PodContainer } from "../runner/cluster/client.ts";

export const DEFAULT_READ_TTL_MS = 100;

interface Entry {
  at: number;
  value: Promise<unknown>;
}

export class ReadCache implements ClusterClient {
  readonly #inner: ClusterClient;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry>();
  readonly #signal: AbortSignal | undefined;
  #hits = 0;

  /** `signal`: the grade's; shared reads run under it, each caller waits under its own. */
  constructor(inner: ClusterClient, options: { ttlMs?: number; now?: () => number; signal?: AbortSignal } = {}) {
    this.#inner = inner;
    this.#signal = options.signal;
    this.#ttlMs = options.ttlMs ?? DEFAULT_READ_TTL_MS;
    this.#now = options.now ?? (() => performance.now());
  }

  get kubeconfig(): ClusterClient["kubeconfig"] {
    return this.#inner.kubeconfig;
  }

  /** Reads answered from the cache (shared or recent). */
  get hits(): number {
    return this.#hits;
  }

  #read<T>(key: string, signal: AbortSignal | undefined, fetch: () => Promise<T>): Promise<T> {
    const now = this.#now();
    const entry = this.#entries.get(key);
    if (entry && now - entry.at < this.#ttlMs) {
      this.#hits++;
      // Each caller gets its own copy: evaluators may annotate what they read.
      return withSignal(entry.value as Promise<T>, signal).then((v) => structuredClone(v));
    }
    const value = fetch();
    this.#entries.set(key, { at: now, value });
    // A failed read is not remembered.
    value.catch(() => {
      if (this.#entries.get(key)?.value === value) this.#entries.delete(key);
    });
    return withSignal(value, signal).then((v) => structuredClone(v));
  }

  #shared(): { signal?: AbortSignal } {
    return this.#signal ? { signal: this.#signal } : {};
  }

  ping(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<{ gitVersion: string }> {
    return this.#inner.ping(options);
  }

  get(ref: ObjectRef, options: { signal?: AbortSignal } = {}): Promise<KubeObject | undefined> {
    // Not bound to the first caller's signal: an attempt cut short must not fail the others' shared read.
    return this.#read(`get ${ref.apiVersion} ${ref.kind} ${ref.namespace ?? ""} ${ref.name}`, options.signal, () => this.#inner.get(ref, this.#shared()));
  }

  list(apiVersion: string, kind: string, options: ListOptions & { signal?: AbortSignal } = {}): Promise<KubeObject[]> {
    const { signal, ...rest } = options;
    return this.#read(`list ${apiVersion} ${kind} ${JSON.stringify(rest)}`, signal, () => this.#inner.list(apiVersion, kind, { ...rest, ...this.#shared() }));
  }

  apply(object: KubeObject, options: { fieldManager: string; force?: boolean; signal?: AbortSignal }): Promise<KubeObject> {
    this.#entries.clear();
    return this.#inner.apply(object, options);
  }

  delete(ref: ObjectRef, options?: { signal?: AbortSignal }): Promise<boolean> {
    this.#entries.clear();
    return this.#inner.delete(ref, options);
  }

  exec(target: PodContainer, command: string[], options: ExecOptions): Promise<ExecResult> {
    return this.#inner.exec(target, command, options);
  }

  addEphemeralContainer(pod: { namespace: string; pod: string }, spec: EphemeralContainerSpec, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
    this.#entries.clear();
    return this.#inner.addEphemeralContainer(pod, spec, options);
  }

  runOnNode(node: string, command: string[], options: ExecOptions): Promise<ExecResult> {
    return this.#inner.runOnNode(node, command, options);
  }
}

function withSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e as Error);
      },
    );
  });
}
