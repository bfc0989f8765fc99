/**
 * Pods labrun owns for a grade: the rows of a `reachability` truth table that
 * the scenario does not deploy ("strangers" with labels no policy can name in
 * advance, pods with labels a check gives), each running labrun's probe image
 * (`labrun-probe hold`) so a probe is an exec into the pod itself: no learner
 * container shares their network namespace.
 *
 *   - created all at once and waited for together (pod creation is the slow
 *     part on a 2-core CI machine), once per grade: every attempt and every
 *     check of the grade reuses them;
 *   - a pod that cannot start within the check's time is a failed check with
 *     the pod's state and its last warning event as evidence (no CNI: the pod
 *     stays Pending or ContainerCreating), never a hang; an image labrun cannot
 *     find is an error (labrun's problem, not the cluster's);
 *   - never on the host network, no service account token, the probe's
 *     restricted security context; `activeDeadlineSeconds` and `hold --max`
 *     end them even if labrun dies before `dispose` deletes them;
 *   - identified by an annotation, not a label, so no NetworkPolicy can select
 *     "labrun's pods".
 */
import { randomBytes } from "node:crypto";
import { labelSelector, type ClusterClient, type KubeObject } from "../runner/cluster/client.ts";
import { ExecError } from "../runner/cluster/exec.ts";
import type { Evidence } from "../runner/schema/report.ts";
import { formatDuration } from "../runner/util/duration.ts";
import { abortReason, sleep } from "../runner/util/sleep.ts";
import { clip, errorMessage, oneLine } from "../runner/util/text.ts";
import { CheckEvalError, type Observation } from "./context.ts";
import { describePod, podView } from "./pods.ts";
import { goDuration, PROBE_BINARY, PROBE_IMAGE, PROBE_SECURITY_CONTEXT, ProbeError, type TcpProbeResult } from "./probe.ts";

/** Marks every object labrun creates for a grade (an annotation: policies cannot select it). */
export const OWNED_ANNOTATION = "labrun.dev/owned-by";
export const OWNED_CONTAINER = "probe";
/** Prefix of the fresh namespace of `stranger: otherNamespace` rows. */
export const STRANGER_NAMESPACE_PREFIX = "labrun-stranger-";

/** Waiting reasons that will not fix themselves (the image is labrun's: an error, not a verdict). */
export const IMAGE_PROBLEMS: ReadonlySet<string> = new Set(["ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName"]);
const CONFIG_PROBLEMS = new Set(["CreateContainerError", "CreateContainerConfigError", "RunContainerError"]);

export interface OwnedPodRequest {
  /** Reuse key within the grade (the same key gets the same pod). */
  key: string;
  /** The namespace; absent: the grade's fresh other namespace (`labrun-stranger-<random>`). */
  namespace?: string;
  labels: Record<string, string>;
  /** For evidence: `stranger in shop`. */
  describe: string;
}

export interface OwnedPod {
  key: string;
  namespace: string;
  name: string;
  labels: Record<string, string>;
  describe: string;
  pod: KubeObject;
}

export interface OwnedPodsOptions {
  image?: string;
  /** How often a start is polled (default 500 ms). */
  pollMs?: number;
  /** Random hex (tests inject it). */
  random?: (bytes: number) => string;
}

/** `app: stranger-<random>`: a label no policy written before the grade can name. */
export function strangerLabels(random: (bytes: number) => string = randomHex): Record<string, string> {
  return { app: `stranger-${random(5)}` };
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString("hex");
}

interface Created {
  request: OwnedPodRequest;
  namespace: string;
  name: string;
}

export class OwnedPods {
  readonly #client: ClusterClient;
  readonly #image: string;
  readonly #pollMs: number;
  readonly #random: (bytes: number) => string;
  /** key → the pod made for it (a promise while it is being made, so concurrent checks share it). */
  readonly #pods = new Map<string, Promise<Created>>();
  readonly #everCreated: { namespace: string; name: string }[] = [];
  #otherNamespace: Promise<string> | undefined;
  #otherNamespaceName: string | undefined;
  #disposed = false;

  constructor(client: ClusterClient, options: OwnedPodsOptions = {}) {
    this.#client = client;
    this.#image = options.image ?? PROBE_IMAGE;
    this.#pollMs = options.pollMs ?? 500;
    this.#random = options.random ?? randomHex;
  }

  /** Random hex from this manager's source (stranger labels use it). */
  random(bytes: number): string {
    return this.#random(bytes);
  }

  /** Every pod this manager created (`namespace/name`), for tests and logs. */
  get created(): readonly string[] {
    return this.#everCreated.map((p) => `${p.namespace}/${p.name}`);
  }

  /**
   * The pods for `requests`: created on first use (all at once), then waited
   * for together until each runs (Running, Ready, a pod IP, not on the host
   * network) or `timeoutMs` passes. A pod that cannot start is a failure with
   * evidence; a probe image that cannot be pulled is a final CheckEvalError.
   */
  async ensure(requests: OwnedPodRequest[], options: { timeoutMs: number; signal?: AbortSignal }): Promise<{ pods: Map<string, OwnedPod> } | { failure: Observation }> {
    if (this.#disposed) throw new CheckEvalError("the grade has ended: labrun's pods are deleted", { final: true });
    const signal = options.signal;
    const deadline = Date.now() + options.timeoutMs;
    for (const r of requests) if (!this.#pods.has(r.key)) this.#make(r, deadline, signal);
    for (;;) {
      if (signal?.aborted) throw abortReason(signal);
      const live = await Promise.all(
        requests.map(async (r) => {
          const created = await this.#pods.get(r.key)!;
          return { request: r, created, pod: await this.#get(created, signal) };
        }),
      );
      const pending: { request: OwnedPodRequest; pod: KubeObject | undefined; created: Created }[] = [];
      const ready = new Map<string, OwnedPod>();
      for (const { request, created, pod } of live) {
        if (!pod || podView(pod).terminating || tampered(pod)) {
          // Gone, or changed by someone else: a new pod (the key stays).
          if (pod && !podView(pod).terminating) await this.#delete(created.namespace, created.name);
          pending.push({ request, pod: undefined, created: await this.#make(request, deadline, signal) });
          continue;
        }
        const v = podView(pod);
        const waiting = v.containerStatuses.map((c) => c.state?.waiting?.reason).find((reason) => reason && (IMAGE_PROBLEMS.has(reason) || CONFIG_PROBLEMS.has(reason)));
        if (waiting && IMAGE_PROBLEMS.has(waiting)) {
          throw new CheckEvalError(`labrun's probe pod ${created.namespace}/${created.name} (${request.describe}) cannot start: ${describePod(pod)}`, {
            final: true,
            evidence: [{ label: `labrun's pod ${created.namespace}/${created.name} (${request.describe})`, expected: `running image ${this.#image}`, observed: `${describePod(pod)}: load the image into the cluster's nodes (labrun does this at \`labrun start\`)` }],
          });
        }
        // The pod made first for this key (its labels, e.g. a stranger's random ones, are the ones it has).
        if (v.phase === "Running" && v.ready && v.podIP && !v.hostNetwork) ready.set(request.key, { key: request.key, namespace: created.namespace, name: created.name, labels: created.request.labels, describe: created.request.describe, pod });
        else if (v.phase === "Failed" || v.phase === "Succeeded" || waiting) return { failure: await this.#failure([{ request, pod, created }], "cannot run") };
        else pending.push({ request, pod, created });
      }
      if (!pending.length) return { pods: ready };
      if (Date.now() >= deadline) return { failure: await this.#failure(pending, `did not start within ${formatDuration(options.timeoutMs)}`) };
      await sleep(Math.min(this.#pollMs, Math.max(0, deadline - Date.now())), signal);
    }
  }

  async #failure(pods: { request: OwnedPodRequest; pod: KubeObject | undefined; created: Created }[], what: string): Promise<Observation> {
    const evidence: Evidence[] = [];
    for (const { request, pod, created } of pods) {
      const event = await lastWarningEvent(this.#client, created.namespace, created.name);
      evidence.push({
        label: `labrun's pod ${created.namespace}/${created.name} (${request.describe}, labels ${labelSelector(request.labels)})`,
        expected: "Running on the pod network",
        observed: `${pod ? describePod(pod) : "not created yet"}${event ? `; last warning: ${event}` : ""}`,
      });
    }
    const first = pods[0]!;
    return {
      ok: false,
      message: `labrun's probe pod ${first.created.namespace}/${first.created.name} (${first.request.describe}) ${what}: ${first.pod ? describePod(first.pod) : "not created"}${pods.length > 1 ? ` (and ${pods.length - 1} more)` : ""}`,
      evidence,
    };
  }

  /** Starts making the pod for a request (replacing any earlier one for its key); a failure forgets the key, so a later attempt tries again. */
  #make(request: OwnedPodRequest, deadline: number, signal: AbortSignal | undefined): Promise<Created> {
    const made = this.#create(request, deadline, signal);
    this.#pods.set(request.key, made);
    made.catch(() => {
      if (this.#pods.get(request.key) === made) this.#pods.delete(request.key);
    });
    return made;
  }

  async #create(request: OwnedPodRequest, deadline: number, signal: AbortSignal | undefined): Promise<Created> {
    const namespace = request.namespace ?? (await this.#otherNs(deadline, signal));
    const name = `labrun-probe-${this.#random(4)}`;
    const created: Created = { request, namespace, name };
    this.#everCreated.push({ namespace, name });
    const pod = ownedPodManifest({ namespace, name, labels: request.labels, image: this.#image, purpose: request.describe });
    // A namespace made a moment ago has no default ServiceAccount yet: admission refuses pods until it does.
    for (;;) {
      try {
        await this.#client.apply(pod, { fieldManager: "labrun", force: true, ...(signal ? { signal } : {}) });
        return created;
      } catch (error) {
        if (signal?.aborted) throw error;
        if (!/serviceaccount.*not found|ServiceAccount "default"/i.test(errorMessage(error)) || Date.now() >= deadline) throw error;
        await sleep(this.#pollMs, signal);
      }
    }
  }

  /**
   * The grade's own namespace (`labrun-stranger-<random>`, deleted with what is in it by
   * `dispose`), made on first use; for objects other than pods (no wait for its ServiceAccount).
   */
  async namespace(options: { signal?: AbortSignal } = {}): Promise<string> {
    if (this.#disposed) throw new CheckEvalError("the grade has ended: labrun's objects are deleted", { final: true });
    return this.#makeOtherNs(options.signal);
  }

  #otherNs(deadline: number, signal: AbortSignal | undefined): Promise<string> {
    return this.#makeOtherNs(signal).then(async (name) => {
      while (!(await this.#client.get({ apiVersion: "v1", kind: "ServiceAccount", name: "default", namespace: name }, signal ? { signal } : {}))) {
        if (Date.now() >= deadline) break; // the pod's creation reports it
        await sleep(this.#pollMs, signal);
      }
      return name;
    });
  }

  #makeOtherNs(signal: AbortSignal | undefined): Promise<string> {
    if (!this.#otherNamespace) {
      const name = STRANGER_NAMESPACE_PREFIX + this.#random(4);
      this.#otherNamespaceName = name;
      const made = this.#client
        .apply({ apiVersion: "v1", kind: "Namespace", metadata: { name, annotations: { [OWNED_ANNOTATION]: "labrun grade (strangers from another namespace)" } } }, { fieldManager: "labrun", ...(signal ? { signal } : {}) })
        .then(() => name);
      this.#otherNamespace = made;
      made.catch(() => {
        if (this.#otherNamespace === made) this.#otherNamespace = undefined;
      });
    }
    return this.#otherNamespace;
  }

  #get(created: Created, signal: AbortSignal | undefined): Promise<KubeObject | undefined> {
    return this.#client.get({ apiVersion: "v1", kind: "Pod", name: created.name, namespace: created.namespace }, signal ? { signal } : {});
  }

  async #delete(namespace: string, name: string): Promise<string | undefined> {
    try {
      await this.#client.delete({ apiVersion: "v1", kind: "Pod", name, namespace }, { signal: AbortSignal.timeout(10_000) });
      return undefined;
    } catch (error) {
      return errorMessage(error);
    }
  }

  /** Delete every pod (and the other namespace) this manager created; never throws. Returns what could not be deleted. */
  async dispose(): Promise<{ object: string; error: string }[]> {
    this.#disposed = true;
    await Promise.allSettled([...this.#pods.values()]);
    await this.#otherNamespace?.catch(() => undefined);
    const failures: { object: string; error: string }[] = [];
    const otherNs = this.#otherNamespaceName;
    await Promise.all(
      this.#everCreated.map(async (p) => {
        const error = await this.#delete(p.namespace, p.name);
        if (error) failures.push({ object: `pod ${p.namespace}/${p.name}`, error });
      }),
    );
    if (otherNs) {
      try {
        await this.#client.delete({ apiVersion: "v1", kind: "Namespace", name: otherNs }, { signal: AbortSignal.timeout(10_000) });
      } catch (error) {
        failures.push({ object: `namespace ${otherNs}`, error: errorMessage(error) });
      }
    }
    return failures;
  }
}

/** The pod labrun runs for a truth-table row: the probe image holding, nothing else. */
export function ownedPodManifest(o: { namespace: string; name: string; labels: Record<string, string>; image: string; purpose: string }): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: o.name, namespace: o.namespace, labels: { ...o.labels }, annotations: { [OWNED_ANNOTATION]: `labrun grade: ${o.purpose}` } },
    spec: {
      restartPolicy: "Never",
      // Ends by itself should labrun die before deleting it.
      activeDeadlineSeconds: 900,
      terminationGracePeriodSeconds: 1,
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      hostNetwork: false,
      containers: [
        {
          name: OWNED_CONTAINER,
          image: o.image,
          imagePullPolicy: "IfNotPresent",
          command: [PROBE_BINARY, "hold", "--max", "600s"],
          securityContext: PROBE_SECURITY_CONTEXT,
        },
      ],
    },
  };
}

/** The last Warning event of an object (`FailedCreatePodSandBox: ...`), or undefined. Never throws. */
export async function lastWarningEvent(client: ClusterClient, namespace: string, name: string): Promise<string | undefined> {
  try {
    const events = await client.list("v1", "Event", { namespace, fieldSelector: `involvedObject.name=${name}` });
    const warnings = events
      .filter((e) => (e as { type?: string }).type === "Warning" && (e as { involvedObject?: { name?: string } }).involvedObject?.name === name)
      .sort((a, b) => eventTime(a).localeCompare(eventTime(b)));
    const last = warnings.at(-1) as { reason?: string; message?: string } | undefined;
    return last ? oneLine(`${last.reason ?? "Warning"}: ${last.message ?? ""}`, 300) : undefined;
  } catch {
    return undefined;
  }
}

/** Someone changed labrun's pod: a debug container shares its network namespace, or it moved to the host network. */
function tampered(pod: KubeObject): boolean {
  const spec = (pod.spec ?? {}) as { ephemeralContainers?: unknown[]; hostNetwork?: boolean };
  return (spec.ephemeralContainers?.length ?? 0) > 0 || spec.hostNetwork === true;
}

function eventTime(e: KubeObject): string {
  const o = e as { lastTimestamp?: string; eventTime?: string; metadata: { creationTimestamp?: string } };
  return o.lastTimestamp ?? o.eventTime ?? o.metadata.creationTimestamp ?? "";
}

// ---------------------------------------------------------------- probes in labrun's own pods

/**
 * Runs `labrun-probe ARGS` in the probe container of a pod labrun owns (no
 * ephemeral container needed) and returns its JSON line. Failures to run are
 * ProbeErrors (labrun could not evaluate).
 */
export async function execProbe(
  client: ClusterClient,
  target: { namespace: string; pod: string; container?: string },
  args: string[],
  options: { probeTimeoutMs: number; graceMs?: number; signal?: AbortSignal },
): Promise<Record<string, unknown>> {
  const where = `${target.namespace}/${target.pod}`;
  const command = [PROBE_BINARY, ...args];
  const timeoutMs = options.probeTimeoutMs + (options.graceMs ?? 10_000);
  let result;
  try {
    result = await client.exec({ namespace: target.namespace, pod: target.pod, container: target.container ?? OWNED_CONTAINER }, command, { timeoutMs, ...(options.signal ? { signal: options.signal } : {}) });
  } catch (error) {
    if (options.signal?.aborted) throw error;
    if (error instanceof ExecError) throw new ProbeError(`labrun's probe in ${where} could not run: ${error.message}`, { cause: error });
    throw error;
  }
  if (result.timedOut) throw new ProbeError(`labrun's probe in ${where} did not answer within ${formatDuration(timeoutMs)}`);
  if (result.exitCode === 2) throw new ProbeError(`labrun's probe refused its arguments (${command.join(" ")}): ${oneLine(result.stderr || result.stdout)}`, { final: true });
  const line = result.stdout
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("{"))
    .pop();
  if (!line) throw new ProbeError(`labrun's probe in ${where} printed no result (exit ${result.exitCode === null ? "unknown" : String(result.exitCode)})${result.stderr ? `: ${oneLine(result.stderr)}` : ""}`);
  try {
    const parsed: unknown = JSON.parse(line);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new ProbeError(`labrun's probe in ${where} printed an unreadable result: ${clip(line, 200)}`);
}

/** `labrun-probe tcp` in a pod labrun owns. */
export async function tcpFromOwned(client: ClusterClient, pod: OwnedPod, addr: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<TcpProbeResult> {
  const r = await execProbe(client, { namespace: pod.namespace, pod: pod.name }, ["tcp", "--addr", addr, "--timeout", goDuration(options.timeoutMs)], {
    probeTimeoutMs: options.timeoutMs,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return {
    ok: r.ok === true,
    ...(typeof r.error === "string" && r.error ? { error: r.error } : {}),
    ...(typeof r.durationMs === "number" ? { durationMs: r.durationMs } : {}),
  };
}
