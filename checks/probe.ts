/**
 * Probes the learner cannot fool.
 *
 * Connectivity and DNS checks never run the learner's binaries (a `curl` in the
 * learner's pod may be anything). labrun adds an ephemeral container to the
 * *source pod* running its own image, `ghcr.io/labrun/probe`: it shares the
 * pod's network namespace, so NetworkPolicies and routes see exactly the source
 * pod. Names are resolved by asking the cluster's DNS Service directly
 * (checks/cluster-dns.ts), never through the pod's /etc/hosts or resolv.conf.
 * Each probe is an exec of `labrun-probe http|dns|tcp` (or `batch` for several
 * at once) in it, bounded by the probe's own timeout.
 *
 * One probe container per source pod for the lab's life: it runs
 * `labrun-probe hold --max 0` and later grades find it in the pod's spec and
 * status and reuse it, so a pod never collects one entry per grade
 * (an ephemeral container cannot be removed from a pod). A container counts as
 * labrun's only when its whole spec is what labrun creates (name, image,
 * command, securityContext, nothing else): a learner can name a debug container
 * `labrun-probe-x`. `labrun down` ends the probes of a lab on a cluster it does
 * not delete (`stopLabProbes`); a kind lab's cluster is deleted with them.
 *
 * Probes asked for at nearly the same time from one pod (checks run
 * concurrently) are sent as one `labrun-probe batch` exec.
 */
import { randomBytes } from "node:crypto";
import type { ClusterClient, KubeObject } from "../runner/cluster/client.ts";
import { ExecError } from "../runner/cluster/exec.ts";
import { EphemeralContainerError } from "../runner/cluster/errors.ts";
import { podName } from "./pods.ts";
import { formatDuration } from "../runner/util/duration.ts";
import { abortReason } from "../runner/util/sleep.ts";
import { clip, oneLine } from "../runner/util/text.ts";
import { PROBE_BINARY, PROBE_SECURITY_CONTEXT, holdCommand, runningProbeContainers, stopContainers, DEFAULT_CONTAINER_ANNOTATION, PROBE_CONTAINER_PREFIX, type ContainerState, type Started } from "./probe-container.ts";
import { connectionFacts, DEFAULT_PROBE_SETTINGS, dnsFields, echoResult, type EchoProbeResult, parseLine, ProbeError, probeArgs, type DnsProbeResult, type HttpProbeResult, type ProbeDns, type ProbeItem, type ProbeSettings, type TcpProbeResult } from "./probe-protocol.ts";

export { DEFAULT_CONTAINER_ANNOTATION, holdCommand, isLabrunProbeContainer, PROBE_BINARY, PROBE_CONTAINER_PREFIX, PROBE_IMAGE, PROBE_SECURITY_CONTEXT, runningProbeContainers, stopLabProbes } from "./probe-container.ts";
export { DEFAULT_PROBE_SETTINGS, echoResult, goDuration, type EchoProbeResult, ProbeError, probeArgs, type ConnectionFacts, type DnsProbeResult, type HttpProbeResult, type ProbeDns, type ProbeSettings, type TcpProbeResult } from "./probe-protocol.ts";

interface Queued {
  item: ProbeItem;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  resolve: (r: Record<string, unknown>) => void;
  reject: (e: unknown) => void;
}

interface Batch {
  pod: KubeObject;
  container: string;
  items: Queued[];
}

export class ProbeManager {
  readonly #client: ClusterClient;
  readonly #settings: ProbeSettings;
  /** pod key (namespace/name/uid) → container name, once found or started (or while starting). */
  readonly #containers = new Map<string, Promise<string>>();
  readonly #started: Started[] = [];
  readonly #reused: Started[] = [];
  readonly #batches = new Map<string, Batch>();
  #stopped = false;
  #execs = 0;

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

  /** The running probe containers this manager found in pods and reused. */
  get reused(): readonly Started[] {
    return this.#reused;
  }

  /** How many execs the probes took (batches count once). */
  get execs(): number {
    return this.#execs;
  }

  /**
   * The probe container in `pod`: a running one labrun added before (this grade
   * or an earlier one), else a new one, started on first use and shared afterwards.
   */
  container(pod: KubeObject, signal?: AbortSignal): Promise<string> {
    if (this.#stopped) return Promise.reject(new ProbeError("the grade has ended: probes are stopped", { final: true }));
    const key = podKey(pod);
    let pending = this.#containers.get(key);
    if (pending && this.#endedIn(pod, pending)) pending = undefined;
    if (!pending) {
      const running = runningProbeContainers(pod, this.#settings.image)[0];
      if (running) {
        this.#reused.push({ namespace: pod.metadata.namespace ?? "default", pod: pod.metadata.name, container: running });
        pending = Promise.resolve(running);
        settledValue.set(pending, running);
        this.#containers.set(key, pending);
      } else {
        const started = this.#start(pod, this.#signal);
        pending = started;
        this.#containers.set(key, started);
        started.then(
          (name) => settledValue.set(started, name),
          () => undefined,
        );
        // A failed start is remembered for the grade when it cannot fix itself (image missing); otherwise the next attempt retries.
        started.catch((error: unknown) => {
          if (!(error instanceof ProbeError && error.final) && this.#containers.get(key) === started) this.#containers.delete(key);
        });
      }
    }
    return untilAborted(pending, signal);
  }

  /** Whether the container `pending` resolved to has ended, as `pod` (a fresh read) shows. */
  #endedIn(pod: KubeObject, pending: Promise<string>): boolean {
    const name = settledValue.get(pending);
    if (name === undefined) return false;
    const statuses = ((pod.status ?? {}) as { ephemeralContainerStatuses?: ContainerState[] }).ephemeralContainerStatuses ?? [];
    const s = statuses.find((x) => x.name === name);
    return s !== undefined && !s.state?.running && !s.state?.waiting;
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
        { name, image: this.#settings.image, command: holdCommand(this.#settings.holdMax), securityContext: PROBE_SECURITY_CONTEXT },
        { timeoutMs: this.#settings.startTimeoutMs, ...(signal ? { signal } : {}) },
      );
    } catch (error) {
      if (signal?.aborted) throw error;
      if (error instanceof EphemeralContainerError) {
        const imageProblem = /Image|Pull/i.test(error.reason);
        throw new ProbeError(`labrun's probe could not start in ${where}: ${error.message}`, {
          final: error.reason !== "PodGone",
          cause: error,
          // labrun's image not on the node is labrun's infrastructure, not the cluster's networking: exit 3, no grade.
          infrastructure: imageProblem,
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

  /** Queue one probe for `pod`'s container; probes queued within the batch window run in one exec. */
  async #run(pod: KubeObject, item: ProbeItem, probeTimeoutMs: number, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const container = await this.container(pod, signal);
    if (signal?.aborted) throw abortReason(signal);
    const key = `${podKey(pod)}/${container}`;
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const onAbort = () => reject(abortReason(signal!));
      signal?.addEventListener("abort", onAbort, { once: true });
      const queued: Queued = {
        item,
        timeoutMs: probeTimeoutMs,
        signal,
        resolve: (r) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(r);
        },
        reject: (e) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e as Error);
        },
      };
      let batch = this.#batches.get(key);
      if (!batch) {
        batch = { pod, container, items: [] };
        this.#batches.set(key, batch);
        const flush = () => {
          this.#batches.delete(key);
          void this.#flush(batch!);
        };
        if (this.#settings.batchWindowMs > 0) setTimeout(flush, this.#settings.batchWindowMs);
        else queueMicrotask(flush);
      }
      batch.items.push(queued);
    });
  }

  /**
   * Runs a batch in one exec. The probe prints a result line for every probe
   * before it exits; an exec that ended (exit 0, or the socket closed without a
   * status) with lines missing lost its output on the way (the API server's
   * stream relay can drop the last frames: kubernetes/kubernetes#124571), so
   * the probes without a line run once more (they only read: a GET, a lookup,
   * a connect) before their checks are told the probe printed nothing.
   */
  async #flush(batch: Batch, retried = false): Promise<void> {
    const items = batch.items.filter((q) => !q.signal?.aborted);
    if (!items.length) return;
    const pod = batch.pod;
    const namespace = pod.metadata.namespace ?? "default";
    const single = items.length === 1;
    const command = single ? [PROBE_BINARY, ...probeArgs(items[0]!.item, items[0]!.timeoutMs)] : [PROBE_BINARY, "batch", "--spec", JSON.stringify(items.map((q, i) => ({ id: String(i), ...q.item, timeoutMs: Math.max(1, Math.round(q.timeoutMs)) })))];
    const timeoutMs = Math.max(...items.map((q) => q.timeoutMs)) + this.#settings.execGraceMs;
    const fail = (error: unknown) => {
      for (const q of items) q.reject(error);
    };
    let result;
    this.#execs++;
    try {
      // Not bound to one check's signal: other checks wait for the same exec (each gives up on its own signal).
      result = await this.#client.exec({ namespace, pod: pod.metadata.name, container: batch.container }, command, { timeoutMs, ...(this.#signal ? { signal: this.#signal } : {}) });
    } catch (error) {
      if (error instanceof ExecError) {
        // The container may have ended (stopped, a restarted pod): find or start one next time.
        this.#containers.delete(podKey(pod));
        return fail(new ProbeError(`labrun's probe in ${podName(pod)} could not run: ${error.message}`, { cause: error }));
      }
      return fail(error);
    }
    if (result.timedOut) return fail(new ProbeError(`labrun's probe in ${podName(pod)} did not answer within ${formatDuration(timeoutMs)}`));
    if (result.exitCode === 2) {
      return fail(
        new ProbeError(`labrun's probe refused its arguments (${clip(command.join(" "), 300)}): ${oneLine(result.stderr || result.stdout)}; is ${this.#settings.image} the version labrun expects?`, { final: true }),
      );
    }
    const lines = result.stdout
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l.startsWith("{"));
    const parsed = lines.map(parseLine);
    const lost = !retried && (result.exitCode === 0 || result.exitCode === null);
    if (single) {
      const last = parsed.filter((p) => p !== undefined).pop();
      if (last) return items[0]!.resolve(last);
      if (lost && !lines.length) return this.#flush(batch, true);
      return fail(this.#noResult(pod, result.exitCode, result.stderr, lines.at(-1)));
    }
    const missing: Queued[] = [];
    for (const [i, q] of items.entries()) {
      const line = parsed.find((p) => p?.id === String(i));
      if (line) q.resolve(line);
      else if (lost) missing.push(q);
      else q.reject(this.#noResult(pod, result.exitCode, result.stderr, undefined));
    }
    if (missing.length) await this.#flush({ ...batch, items: missing }, true);
  }

  #noResult(pod: KubeObject, exitCode: number | null, stderr: string, unreadable: string | undefined): ProbeError {
    if (unreadable) return new ProbeError(`labrun's probe in ${podName(pod)} printed an unreadable result: ${clip(unreadable, 200)}`);
    return new ProbeError(`labrun's probe in ${podName(pod)} printed no result (exit ${exitCode === null ? "unknown" : String(exitCode)})${stderr ? `: ${oneLine(stderr)}` : ""}`);
  }

  async http(pod: KubeObject, url: string, options: { timeoutMs: number; signal?: AbortSignal; dns?: ProbeDns }): Promise<HttpProbeResult> {
    const r = await this.#run(pod, { kind: "http", url, maxBody: this.#settings.maxBodyBytes, ...dnsFields(options.dns, "dnsServer") }, options.timeoutMs, options.signal);
    return {
      ok: r.ok === true,
      ...(typeof r.status === "number" && r.status > 0 ? { status: r.status } : {}),
      ...(typeof r.body === "string" ? { body: r.body } : {}),
      ...connectionFacts(r),
      ...(typeof r.error === "string" && r.error ? { error: r.error } : {}),
      ...(typeof r.durationMs === "number" ? { durationMs: r.durationMs } : {}),
    };
  }

  async dns(pod: KubeObject, name: string, options: { type?: "A" | "AAAA" | "SRV" | "PTR"; timeoutMs: number; signal?: AbortSignal; dns?: ProbeDns }): Promise<DnsProbeResult> {
    const r = await this.#run(pod, { kind: "dns", name, type: options.type ?? "A", ...dnsFields(options.dns, "server") }, options.timeoutMs, options.signal);
    return {
      ok: r.ok === true,
      ...(Array.isArray(r.addresses) ? { addresses: r.addresses.filter((a): a is string => typeof a === "string") } : {}),
      ...(typeof r.error === "string" && r.error ? { error: r.error } : {}),
      ...(typeof r.durationMs === "number" ? { durationMs: r.durationMs } : {}),
      ...(typeof r.server === "string" && r.server ? { server: r.server } : {}),
      ...(typeof r.rcode === "string" && r.rcode ? { rcode: r.rcode } : {}),
      ...(typeof r.name === "string" && r.name ? { name: r.name } : {}),
      ...(r.localTarget === true ? { localTarget: true } : {}),
    };
  }

  /** labrun's echo at `url` with `nonce`; `expectHostname`: the answer must come from that host name. */
  async echo(pod: KubeObject, url: string, options: { nonce: string; expectHostname?: string; timeoutMs: number; signal?: AbortSignal }): Promise<EchoProbeResult> {
    const r = await this.#run(pod, { kind: "echo", url, nonce: options.nonce, ...(options.expectHostname ? { expectHostname: options.expectHostname } : {}) }, options.timeoutMs, options.signal);
    return echoResult(r);
  }

  async tcp(pod: KubeObject, addr: string, options: { timeoutMs: number; signal?: AbortSignal; dns?: ProbeDns }): Promise<TcpProbeResult> {
    const r = await this.#run(pod, { kind: "tcp", addr, ...dnsFields(options.dns, "dnsServer") }, options.timeoutMs, options.signal);
    return {
      ok: r.ok === true,
      ...connectionFacts(r),
      ...(typeof r.error === "string" && r.error ? { error: r.error } : {}),
      ...(typeof r.durationMs === "number" ? { durationMs: r.durationMs } : {}),
    };
  }

  /**
   * End every probe container this manager *started* (`labrun-probe stop`),
   * concurrently, each bounded by `timeoutMs`; never throws. Returns what could
   * not be stopped. Grades do not call it (probes live as long as the lab);
   * it is for callers that want a probe for one run only.
   */
  async stopAll(timeoutMs = 5_000): Promise<{ container: string; error: string }[]> {
    this.#stopped = true;
    // Wait for starts still in flight, so a container that comes up late is stopped too.
    await Promise.allSettled([...this.#containers.values()]);
    return stopContainers(this.#client, this.#started, timeoutMs);
  }
}

/** Resolved values of container promises (so a later read can tell whether that container has ended). */
const settledValue = new WeakMap<Promise<string>, string>();

function podKey(pod: KubeObject): string {
  return `${podName(pod)}/${pod.metadata.uid ?? ""}`;
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
