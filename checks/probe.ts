/**
 * Probes the learner cannot fool.
 *
 * Connectivity and DNS checks never run the learner's binaries (a `curl` in the
 * learner's pod may be anything). labrun adds an ephemeral container to the
 * *source pod* running its own image, `ghcr.io/labrun/probe`: it shares the
 * pod's network namespace and /etc/resolv.conf, so NetworkPolicies, routes and
 * DNS see exactly the source pod. The container runs `labrun-probe hold` and
 * each probe is an exec of `labrun-probe http|dns|tcp` in it, bounded by the
 * probe's own `--timeout` (so a probe never outlives its exec).
 *
 * One probe container per source pod per grade: checks share it, so a grade
 * waits for it to start at most once. When the grade ends, `stopAll` execs
 * `labrun-probe stop` in each: an ephemeral container cannot be removed from a
 * pod, but its process ends, so nothing labrun added keeps running (and
 * `hold --max 600s` ends it anyway should labrun die).
 */
import { randomBytes } from "node:crypto";
import type { ClusterClient, KubeObject } from "../runner/cluster/client.ts";
import { CheckEvalError } from "./context.ts";
import { ExecError } from "../runner/cluster/exec.ts";
import { EphemeralContainerError } from "../runner/cluster/errors.ts";
import { podName } from "./pods.ts";
import { formatDuration } from "../runner/util/duration.ts";
import { abortReason } from "../runner/util/sleep.ts";
import { clip, errorMessage, oneLine } from "../runner/util/text.ts";

import { PROBE_IMAGE } from "../runner/cluster/images.ts";

export { PROBE_IMAGE };
export const PROBE_BINARY = "labrun-probe";
export const PROBE_CONTAINER_PREFIX = "labrun-probe-";
/** kubectl's annotation naming the container `exec` and `logs` use without `-c`. */
export const DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container";

/** Runs as an unprivileged user with no capabilities: fits PodSecurity `restricted`, needs nothing more. */
export const PROBE_SECURITY_CONTEXT = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

export interface HttpProbeResult {
  ok: boolean;
  status?: number;
  body?: string;
  remoteAddr?: string;
  error?: string;
  durationMs?: number;
}

export interface DnsProbeResult {
  ok: boolean;
  addresses?: string[];
  error?: string;
  durationMs?: number;
}

export interface TcpProbeResult {
  ok: boolean;
  error?: string;
  durationMs?: number;
}

export interface ProbeSettings {
  image: string;
  /** How long the probe container may take to start (default 60 s). */
  startTimeoutMs: number;
  /** `hold --max`: the container ends by itself after this even if labrun dies (default 600s). */
  holdMax: string;
  /** Exec overhead allowed on top of a probe's own timeout (default 10 s). */
  execGraceMs: number;
  /** Cap on an HTTP response body the probe returns (default 65536). */
  maxBodyBytes: number;
}

export const DEFAULT_PROBE_SETTINGS: ProbeSettings = {
  image: PROBE_IMAGE,
  startTimeoutMs: 60_000,
  holdMax: "600s",
  execGraceMs: 10_000,
  maxBodyBytes: 65_536,
};

interface Started {
  namespace: string;
  pod: string;
  container: string;
}

/** A probe could not run (its container did not start, the exec failed): labrun could not evaluate. */
export class ProbeError extends CheckEvalError {}

export class ProbeManager {
  readonly #client: ClusterClient;
  readonly #settings: ProbeSettings;
  /** pod key (namespace/name/uid) → container name, once started (or while starting). */
  readonly #containers = new Map<string, Promise<string>>();
  readonly #started: Started[] = [];
  #stopped = false;

  readonly #signal: AbortSignal | undefined;

  /**
   * `signal` is the grade's: a probe container starts under it, not under the
   * signal of the check attempt that first asked for it, so an attempt cut
   * short does not abandon a start that other checks share.
   */
  constructor(client: ClusterClient, settings: Partial<ProbeSettings> = {}, options: { signal?: AbortSignal } = {}) {
    this.#client = client;
    this.#settings = { ...DEFAULT_PROBE_SETTINGS, ...settings };
    this.#signal = options.signal;
  }

  get image(): string {
    return this.#settings.image;
  }

  /** The probe containers this manager started: `namespace/pod/container`. */
  get started(): readonly Started[] {
    return this.#started;
  }

  /** The probe container in `pod`, started on first use and shared afterwards. */
  container(pod: KubeObject, signal?: AbortSignal): Promise<string> {
    if (this.#stopped) return Promise.reject(new ProbeError("the grade has ended: probes are stopped", { final: true }));
    const key = `${podName(pod)}/${pod.metadata.uid ?? ""}`;
    let pending = this.#containers.get(key);
    if (!pending) {
      const started = this.#start(pod, this.#signal);
      pending = started;
      this.#containers.set(key, started);
      // A failed start is remembered for the grade when it cannot fix itself (image missing); otherwise the next attempt retries.
      started.catch((error: unknown) => {
        if (!(error instanceof ProbeError && error.final) && this.#containers.get(key) === started) this.#containers.delete(key);
      });
    }
    return untilAborted(pending, signal);
  }

  async #start(pod: KubeObject, signal?: AbortSignal): Promise<string> {
    const namespace = pod.metadata.namespace ?? "default";
    const name = PROBE_CONTAINER_PREFIX + randomBytes(3).toString("hex");
    const where = `pod ${namespace}/${pod.metadata.name}`;
    await this.#keepDefaultContainer(pod, signal);
    // Recorded before the patch: if the wait is interrupted, the container may still come up, and stopAll must end it.
    this.#started.push({ namespace, pod: pod.metadata.name, container: name });
    try {
      await this.#client.addEphemeralContainer(
        { namespace, pod: pod.metadata.name },
        { name, image: this.#settings.image, command: [PROBE_BINARY, "hold", "--max", this.#settings.holdMax], securityContext: PROBE_SECURITY_CONTEXT },
        { timeoutMs: this.#settings.startTimeoutMs, ...(signal ? { signal } : {}) },
      );
    } catch (error) {
      if (signal?.aborted) throw error;
      if (error instanceof EphemeralContainerError) {
        const imageProblem = /Image|Pull/i.test(error.reason);
        throw new ProbeError(`labrun's probe could not start in ${where}: ${error.message}`, {
          final: error.reason !== "PodGone",
          cause: error,
          evidence: [
            {
              label: `probe container ${name} in ${where}`,
              expected: `running image ${this.#settings.image}`,
              observed: imageProblem ? `${error.reason}: load the image into the cluster's nodes (labrun does this at \`labrun start\`)` : error.message,
            },
          ],
        });
      }
      throw error;
    }
    return name;
  }

  /**
   * Once a pod has an ephemeral container, `kubectl exec/logs` without `-c` print
   * "Defaulted container ... out of ...". The default-container annotation keeps the
   * learner's commands choosing the pod's own first container, silently. Best effort.
   */
  async #keepDefaultContainer(pod: KubeObject, signal?: AbortSignal): Promise<void> {
    const first = ((pod.spec as { containers?: { name: string }[] } | undefined)?.containers ?? [])[0]?.name;
    if (!first || pod.metadata.annotations?.[DEFAULT_CONTAINER_ANNOTATION]) return;
    const patch: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace ?? "default", annotations: { [DEFAULT_CONTAINER_ANNOTATION]: first } },
    };
    await this.#client.apply(patch, { fieldManager: "labrun-probe", ...(signal ? { signal } : {}) }).catch(() => undefined);
  }

  async #run(pod: KubeObject, args: string[], probeTimeoutMs: number, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const container = await this.container(pod, signal);
    const namespace = pod.metadata.namespace ?? "default";
    const command = [PROBE_BINARY, ...args];
    const timeoutMs = probeTimeoutMs + this.#settings.execGraceMs;
    let result;
    try {
      result = await this.#client.exec({ namespace, pod: pod.metadata.name, container }, command, { timeoutMs, ...(signal ? { signal } : {}) });
    } catch (error) {
      if (signal?.aborted) throw error;
      if (error instanceof ExecError) {
        // The container may have ended (hold --max, a restarted pod): start a new one next time.
        this.#containers.delete(`${podName(pod)}/${pod.metadata.uid ?? ""}`);
        throw new ProbeError(`labrun's probe in ${podName(pod)} could not run: ${error.message}`, { cause: error });
      }
      throw error;
    }
    if (result.timedOut) throw new ProbeError(`labrun's probe in ${podName(pod)} did not answer within ${formatDuration(timeoutMs)}`);
    if (result.exitCode === 2) {
      throw new ProbeError(`labrun's probe refused its arguments (${command.join(" ")}): ${oneLine(result.stderr || result.stdout)}; is ${this.#settings.image} the version labrun expects?`, { final: true });
    }
    const line = result.stdout
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.startsWith("{"))
      .pop();
    if (!line) {
      throw new ProbeError(
        `labrun's probe in ${podName(pod)} printed no result (exit ${result.exitCode === null ? "unknown" : String(result.exitCode)})${result.stderr ? `: ${oneLine(result.stderr)}` : ""}`,
      );
    }
    try {
      const parsed: unknown = JSON.parse(line);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
    } catch {
      // fall through
    }
    throw new ProbeError(`labrun's probe in ${podName(pod)} printed an unreadable result: ${clip(line, 200)}`);
  }

  async http(pod: KubeObject, url: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<HttpProbeResult> {
    const r = await this.#run(pod, ["http", "--url", url, "--timeout", goDuration(options.timeoutMs), "--max-body", String(this.#settings.maxBodyBytes)], options.timeoutMs, options.signal);
    return {
      ok: r.ok === true,
      ...(typeof r.status === "number" && r.status > 0 ? { status: r.status } : {}),
      ...(typeof r.body === "string" ? { body: r.body } : {}),
      ...(typeof r.remoteAddr === "string" && r.remoteAddr ? { remoteAddr: r.remoteAddr } : {}),
      ...(typeof r.error === "string" && r.error ? { error: r.error } : {}),
      ...(typeof r.durationMs === "number" ? { durationMs: r.durationMs } : {}),
    };
  }

  async dns(pod: KubeObject, name: string, options: { type?: "A" | "AAAA" | "SRV" | "PTR"; timeoutMs: number; signal?: AbortSignal }): Promise<DnsProbeResult> {
    const r = await this.#run(pod, ["dns", "--name", name, "--type", options.type ?? "A", "--timeout", goDuration(options.timeoutMs)], options.timeoutMs, options.signal);
    return {
      ok: r.ok === true,
      ...(Array.isArray(r.addresses) ? { addresses: r.addresses.filter((a): a is string => typeof a === "string") } : {}),
      ...(typeof r.error === "string" && r.error ? { error: r.error } : {}),
      ...(typeof r.durationMs === "number" ? { durationMs: r.durationMs } : {}),
    };
  }

  async tcp(pod: KubeObject, addr: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<TcpProbeResult> {
    const r = await this.#run(pod, ["tcp", "--addr", addr, "--timeout", goDuration(options.timeoutMs)], options.timeoutMs, options.signal);
    return {
      ok: r.ok === true,
      ...(typeof r.error === "string" && r.error ? { error: r.error } : {}),
      ...(typeof r.durationMs === "number" ? { durationMs: r.durationMs } : {}),
    };
  }

  /**
   * End every probe this manager started (`labrun-probe stop`), concurrently,
   * each bounded by `timeoutMs`; never throws. Returns what could not be stopped.
   */
  async stopAll(timeoutMs = 5_000): Promise<{ container: string; error: string }[]> {
    this.#stopped = true;
    // Wait for starts still in flight, so a container that comes up late is stopped too.
    await Promise.allSettled([...this.#containers.values()]);
    const failures: { container: string; error: string }[] = [];
    await Promise.all(
      this.#started.map(async (s) => {
        const label = `${s.namespace}/${s.pod}/${s.container}`;
        try {
          const r = await this.#client.exec({ namespace: s.namespace, pod: s.pod, container: s.container }, [PROBE_BINARY, "stop"], { timeoutMs });
          if (r.timedOut) failures.push({ container: label, error: "stop timed out" });
        } catch (error) {
          // A container that already ended (pod deleted, hold expired) is what we want anyway.
          if (!/not found|not running|NotFound|container .* is not/i.test(errorMessage(error))) failures.push({ container: label, error: errorMessage(error) });
        }
      }),
    );
    return failures;
  }
}

/** `promise`, or the signal's reason if it aborts first (the promise goes on for others). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
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

/** 3000 → `3s`, 1500 → `1500ms` (Go's time.ParseDuration reads both). */
export function goDuration(ms: number): string {
  const n = Math.max(1, Math.round(ms));
  return n % 1000 === 0 ? `${n / 1000}s` : `${n}ms`;
}
