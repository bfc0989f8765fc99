/**
 * When has the cluster settled? The rule that lets a failing check stop
 * polling before its timeout.
 *
 * "Eventually" exists to wait for a cluster that is converging: pods starting,
 * a DaemonSet rolling out, a CNI coming up, a node turning Ready. A cluster
 * that is not changing will not start passing a check by itself, so waiting
 * out a 60 s timeout on it only delays the answer. labrun samples the cluster
 * (a handful of list calls, shared by all checks of a grade) and reduces it to
 *
 *   - a fingerprint of everything that can make a failing check change:
 *     Nodes (Ready, taints, schedulability, pod CIDRs), Pods in every
 *     namespace (node, phase, IP, labels, readiness, container states,
 *     ephemeral containers), DaemonSets, Deployments and StatefulSets
 *     (generations and replica counts), Services, EndpointSlices (addresses
 *     and readiness), NetworkPolicies and kube-system's ConfigMaps (resource
 *     versions). Semantic fields rather than resourceVersions where objects
 *     are rewritten without changing (node heartbeats); a crash-looping
 *     container counts as one steady state ("restarting"), not a change per
 *     restart;
 *   - the reasons it is still converging: a pod terminating, waiting for the
 *     scheduler, creating its containers or running init containers, a
 *     container started but not yet Ready (for `recentMs`), a DaemonSet pod
 *     (a node agent: CNI, kube-proxy, a policy controller) that turned Ready
 *     in the last `recentMs` (its node's Ready condition follows within
 *     seconds, without any other API change), a node whose Ready condition
 *     changed in the last `recentMs`, a workload whose controller has not
 *     caught up with its spec; and changes made just before the grade that
 *     the data plane picks up asynchronously, which the fingerprint cannot
 *     see happen (they predate the first sample): a NetworkPolicy, a
 *     Service or a node's taints created or changed less than 10 s ago
 *     (kube-proxy, the policy controller), a kube-system ConfigMap changed
 *     less than 90 s ago (mounted configuration such as CoreDNS's Corefile
 *     reaches pods within about a minute, then is reloaded). A pod that
 *     cannot progress is settled:
 *     Pending and Unschedulable, an image that cannot be pulled, a
 *     configuration error, a crash loop.
 *
 * A failing check stops polling once the fingerprint has not changed, and
 * nothing converged, for `windowMs` (default 5 s) counted from the later of
 * the check's start and the last change labrun saw. Times in the API
 * (container start, condition transitions) are compared with labrun's clock:
 * on kind the two are the same machine; elsewhere clock skew can only shift
 * the `recentMs` rule by the skew, and the check's timeout still bounds the wait.
 */
import { createHash } from "node:crypto";
import type { ClusterClient, KubeObject } from "../runner/cluster/client.ts";
import { OWNED_ANNOTATION } from "./owned.ts";
import type { Clock } from "../runner/util/clock.ts";
import { formatDuration } from "../runner/util/duration.ts";
import { errorMessage } from "../runner/util/text.ts";

export interface SettleOptions {
  /** How long the cluster must stay unchanged before a failing check stops (default 5 s; 0 disables the rule). */
  windowMs: number;
  /** A container started, a DaemonSet pod or a node that turned Ready this recently counts as converging (default 20 s). */
  recentMs: number;
  /** Checks share samples: one taken less than this ago is reused (default 1 s). */
  maxSampleAgeMs: number;
}

export const DEFAULT_SETTLE: SettleOptions = { windowMs: 5_000, recentMs: 20_000, maxSampleAgeMs: 1_000 };

/** What one look at the cluster found. */
export interface ClusterSample {
  fingerprint: string;
  /** Why the cluster is still converging, one line each (empty: nothing is in transition). */
  converging: string[];
}

export type SettleVerdict = { settled: true; message: string } | { settled: false; reason: string };

/**
 * Shared by the checks of one grade: samples the cluster on demand (at most
 * one sample in flight, reused for `maxSampleAgeMs`) and remembers since when
 * the fingerprint has been what it is.
 */
export class SettleTracker {
  readonly options: SettleOptions;
  readonly #sample: (signal?: AbortSignal) => Promise<ClusterSample>;
  readonly #clock: Clock;
  #latest: { sample: ClusterSample; at: number } | undefined;
  /** When the current fingerprint was first seen. */
  #stableSince = 0;
  #inflight: Promise<void> | undefined;
  #lastError: string | undefined;

  constructor(sample: (signal?: AbortSignal) => Promise<ClusterSample>, clock: Clock, options: Partial<SettleOptions> = {}) {
    this.#sample = sample;
    this.#clock = clock;
    this.options = { ...DEFAULT_SETTLE, ...options };
  }

  static forClient(client: ClusterClient, clock: Clock, options: Partial<SettleOptions> = {}): SettleTracker {
    const o = { ...DEFAULT_SETTLE, ...options };
    return new SettleTracker((signal) => sampleCluster(client, { now: clock.now(), recentMs: o.recentMs, ...(signal ? { signal } : {}) }), clock, o);
  }

  get enabled(): boolean {
    return this.options.windowMs > 0;
  }

  /**
   * Whether a failing check that started at `since` may stop polling now:
   * the cluster has not changed, and nothing in it converged, for the window
   * since max(since, the last change seen).
   */
  async verdict(since: number, signal?: AbortSignal): Promise<SettleVerdict> {
    if (!this.enabled) return { settled: false, reason: "the settle rule is off" };
    const now = this.#clock.now();
    if (!this.#latest || now - this.#latest.at >= this.options.maxSampleAgeMs) {
      this.#inflight ??= this.#take(signal).finally(() => {
        this.#inflight = undefined;
      });
      await this.#inflight;
    }
    const latest = this.#latest;
    if (!latest) return { settled: false, reason: `could not read the cluster's state: ${this.#lastError ?? "no sample"}` };
    if (latest.sample.converging.length) return { settled: false, reason: `converging: ${latest.sample.converging.slice(0, 3).join("; ")}` };
    const from = Math.max(since, this.#stableSince);
    const quiet = latest.at - from;
    if (quiet < this.options.windowMs) return { settled: false, reason: `unchanged for ${formatDuration(Math.max(0, quiet))} of ${formatDuration(this.options.windowMs)}` };
    return { settled: true, message: `settled: the cluster did not change for ${formatDuration(this.options.windowMs)}` };
  }

  async #take(signal?: AbortSignal): Promise<void> {
    let sample: ClusterSample;
    try {
      sample = await this.#sample(signal);
    } catch (error) {
      // Unknown is never settled; the check keeps polling.
      this.#lastError = errorMessage(error);
      this.#latest = undefined;
      return;
    }
    const at = this.#clock.now();
    if (!this.#latest || this.#latest.sample.fingerprint !== sample.fingerprint || sample.converging.length) this.#stableSince = at;
    this.#latest = { sample, at };
  }
}

// ---------------------------------------------------------------- sampling

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter((x): x is Obj => !!x && typeof x === "object") : []);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number => (typeof v === "number" ? v : 0);

/** How long after a change (before the grade) the data plane may still be catching up, by kind. */
const DATAPLANE_LAG_MS: Record<string, number> = { NetworkPolicy: 10_000, Service: 10_000, Node: 10_000, ConfigMap: 90_000 };

/**
 * When the object was last changed by someone other than a status writer:
 * its creation, or a later apply/update of its spec, labels or data (from
 * managedFields). For ConfigMaps only later changes count (their creation
 * with the cluster is not news); for nodes only changes after registration.
 */
function lastSpecChange(o: KubeObject): number | undefined {
  const created = typeof o.metadata.creationTimestamp === "string" ? Date.parse(o.metadata.creationTimestamp) : NaN;
  let latest = o.kind === "ConfigMap" || o.kind === "Node" ? NaN : created;
  for (const f of arr(o.metadata.managedFields)) {
    if (typeof f.subresource === "string" && f.subresource !== "") continue;
    const t = typeof f.time === "string" ? Date.parse(f.time) : NaN;
    if (!Number.isFinite(t) || (Number.isFinite(created) && t <= created + 1_000)) continue;
    if (!Number.isFinite(latest) || t > latest) latest = t;
  }
  return Number.isFinite(latest) ? latest : undefined;
}

/** Waiting reasons of containers that cannot make progress on their own. */
const STUCK_WAITING = new Set(["ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName", "CreateContainerConfigError", "CreateContainerError", "RunContainerError", "CrashLoopBackOff"]);

/** The kinds that are sampled, with the namespace they are read in (undefined: all). */
const SAMPLED: { apiVersion: string; kind: string; namespace?: string }[] = [
  { apiVersion: "v1", kind: "Node" },
  { apiVersion: "v1", kind: "Pod" },
  { apiVersion: "apps/v1", kind: "DaemonSet" },
  { apiVersion: "apps/v1", kind: "Deployment" },
  { apiVersion: "apps/v1", kind: "StatefulSet" },
  { apiVersion: "v1", kind: "Service" },
  { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice" },
  { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" },
  { apiVersion: "v1", kind: "ConfigMap", namespace: "kube-system" },
];

/** One sample: the lists above, read concurrently, reduced to a fingerprint and the reasons the cluster is converging. */
export async function sampleCluster(client: ClusterClient, options: { now: number; recentMs?: number; signal?: AbortSignal }): Promise<ClusterSample> {
  const lists = await Promise.all(
    SAMPLED.map((s) => client.list(s.apiVersion, s.kind, { ...(s.namespace ? { namespace: s.namespace } : {}), ...(options.signal ? { signal: options.signal } : {}) })),
  );
  return digestCluster(Object.fromEntries(SAMPLED.map((s, i) => [s.kind, lists[i]!])), { now: options.now, recentMs: options.recentMs ?? DEFAULT_SETTLE.recentMs });
}

/** The pure part of a sample (unit-tested directly). */
export function digestCluster(objects: Record<string, KubeObject[]>, options: { now: number; recentMs: number }): ClusterSample {
  const entries: string[] = [];
  const converging: string[] = [];
  const recent = (time: unknown) => {
    const t = typeof time === "string" ? Date.parse(time) : NaN;
    return Number.isFinite(t) && options.now - t < options.recentMs;
  };
  const id = (o: KubeObject) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;

  for (const n of objects.Node ?? []) {
    const spec = obj(n.spec);
    const ready = arr(obj(n.status).conditions).find((c) => c.type === "Ready");
    const taints = arr(spec.taints)
      .map((t) => `${str(t.key) ?? ""}=${str(t.value) ?? ""}:${str(t.effect) ?? ""}`)
      .sort();
    entries.push(`${id(n)} ${n.metadata.uid ?? ""} ready=${str(ready?.status) ?? "none"} unschedulable=${String(spec.unschedulable === true)} taints=${taints.join(",")} cidrs=${JSON.stringify(spec.podCIDRs ?? spec.podCIDR ?? null)}`);
    if (ready && recent(ready.lastTransitionTime)) converging.push(`node ${n.metadata.name} turned ${ready.status === "True" ? "Ready" : "NotReady"} moments ago`);
  }

  for (const p of objects.Pod ?? []) {
    entries.push(`${id(p)} ${podDigest(p)}`);
    const why = podConverging(p, recent);
    if (why) converging.push(`pod ${p.metadata.namespace ?? "default"}/${p.metadata.name} ${why}`);
  }

  for (const kind of ["DaemonSet", "Deployment", "StatefulSet"]) {
    for (const w of objects[kind] ?? []) {
      const status = obj(w.status);
      const spec = obj(w.spec);
      const generation = num(w.metadata.generation);
      const observed = num(status.observedGeneration);
      const counts =
        kind === "DaemonSet"
          ? ["desiredNumberScheduled", "currentNumberScheduled", "numberReady", "updatedNumberScheduled", "numberAvailable", "numberMisscheduled"]
          : ["replicas", "readyReplicas", "updatedReplicas", "availableReplicas"];
      entries.push(`${id(w)} ${w.metadata.uid ?? ""} gen=${generation}/${observed} ${counts.map((k) => `${k}=${num(status[k])}`).join(" ")}`);
      if (observed < generation) converging.push(`${kind.toLowerCase()} ${w.metadata.namespace}/${w.metadata.name}: its controller has not caught up with its spec`);
      else if (kind !== "DaemonSet" && typeof spec.replicas === "number" && num(status.replicas) !== spec.replicas && num(status.replicas) < spec.replicas) {
        converging.push(`${kind.toLowerCase()} ${w.metadata.namespace}/${w.metadata.name}: ${num(status.replicas)} of ${spec.replicas} pods created`);
      }
    }
  }

  for (const s of objects.EndpointSlice ?? []) {
    const endpoints = arr(s.endpoints)
      .map((e) => `${(Array.isArray(e.addresses) ? e.addresses : []).join("+")}:${String(obj(e.conditions).ready !== false)}`)
      .sort();
    const ports = arr(s.ports)
      .map((p) => `${str(p.name) ?? ""}/${num(p.port)}/${str(p.protocol) ?? ""}`)
      .sort();
    entries.push(`${id(s)} ${endpoints.join(",")} ports=${ports.join(",")}`);
  }

  // labrun's own objects for a grade (the dns check's canary Service) are not the learner's cluster changing.
  const owned = (o: KubeObject) => typeof o.metadata.annotations?.[OWNED_ANNOTATION] === "string";
  for (const kind of ["Service", "NetworkPolicy", "ConfigMap"]) {
    for (const o of (objects[kind] ?? []).filter((x) => !owned(x))) entries.push(`${id(o)} ${o.metadata.uid ?? ""} rv=${o.metadata.resourceVersion ?? ""}`);
  }

  for (const kind of Object.keys(DATAPLANE_LAG_MS)) {
    for (const o of (objects[kind] ?? []).filter((x) => !owned(x))) {
      const changed = lastSpecChange(o);
      if (changed !== undefined && options.now - changed < DATAPLANE_LAG_MS[kind]!) converging.push(`${id(o).replace(/^\S+/, (k) => k.toLowerCase())} changed moments ago (the data plane may still be catching up)`);
    }
  }

  entries.sort();
  return { fingerprint: createHash("sha256").update(entries.join("\n")).digest("hex"), converging };
}

interface ContainerStatus {
  name?: string;
  ready?: boolean;
  restartCount?: number;
  started?: boolean;
  state?: { waiting?: { reason?: string }; running?: { startedAt?: string }; terminated?: { reason?: string; exitCode?: number } };
}

/** A pod's state in the terms that matter to checks; a crash loop is one state, not one per restart. */
function podDigest(p: KubeObject): string {
  const spec = obj(p.spec);
  const status = obj(p.status);
  const ready = arr(status.conditions).find((c) => c.type === "Ready");
  const containers = (key: string) =>
    (arr(status[key]) as ContainerStatus[])
      .map((c) => `${c.name ?? ""}:${containerState(c)}`)
      .sort()
      .join(",");
  const labels = Object.entries(p.metadata.labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .sort()
    .join(",");
  const ephemeral = arr(spec.ephemeralContainers)
    .map((c) => str(c.name) ?? "")
    .sort()
    .join(",");
  return [
    p.metadata.uid ?? "",
    str(spec.nodeName) ?? "-",
    str(status.phase) ?? "-",
    str(status.podIP) ?? "-",
    p.metadata.deletionTimestamp ? "deleting" : "",
    `ready=${str(ready?.status) ?? "-"}`,
    `labels=${labels}`,
    `init=${containers("initContainerStatuses")}`,
    `containers=${containers("containerStatuses")}`,
    `ephemeral=${ephemeral}/${containers("ephemeralContainerStatuses")}`,
  ].join(" ");
}

function containerState(c: ContainerStatus): string {
  const restarting = (c.restartCount ?? 0) > 0 && c.ready !== true;
  if (restarting && (c.state?.running || c.state?.terminated || c.state?.waiting?.reason === "CrashLoopBackOff")) return "restarting";
  if (c.state?.running) return c.ready ? "ready" : "running";
  if (c.state?.terminated) return `terminated(${c.state.terminated.reason ?? String(c.state.terminated.exitCode ?? "")})`;
  return `waiting(${c.state?.waiting?.reason ?? ""})`;
}

/** Why a pod is in transition, or undefined when it is settled (running, done, or stuck). */
function podConverging(p: KubeObject, recent: (time: unknown) => boolean): string | undefined {
  if (p.metadata.deletionTimestamp) return "is terminating";
  const spec = obj(p.spec);
  const status = obj(p.status);
  const phase = str(status.phase);
  const conditions = arr(status.conditions);
  if (phase === "Succeeded" || phase === "Failed") return undefined;
  const scheduled = conditions.find((c) => c.type === "PodScheduled");
  if (!spec.nodeName) {
    // Unschedulable (or gated) pods wait for a change elsewhere: settled.
    if (scheduled && scheduled.status === "False" && (scheduled.reason === "Unschedulable" || scheduled.reason === "SchedulingGated")) return undefined;
    return "is waiting for the scheduler";
  }
  const inits = arr(status.initContainerStatuses) as ContainerStatus[];
  const containers = arr(status.containerStatuses) as ContainerStatus[];
  const stuck = (c: ContainerStatus) => STUCK_WAITING.has(c.state?.waiting?.reason ?? "") || ((c.restartCount ?? 0) > 0 && c.ready !== true);
  if (phase === "Pending" || phase === undefined) {
    if ([...inits, ...containers].some(stuck)) return undefined;
    if (inits.some((c) => c.state?.running)) return "is running its init containers";
    return "is starting its containers";
  }
  // Running: a container that started moments ago may still turn Ready.
  for (const c of containers) {
    if (stuck(c)) continue;
    if (c.state?.waiting) return `is starting container ${c.name ?? "?"}`;
    if (c.state?.running && c.ready !== true && recent(c.state.running.startedAt)) return `container ${c.name ?? "?"} started moments ago and is not Ready yet`;
  }
  const ready = conditions.find((c) => c.type === "Ready");
  const owner = p.metadata.ownerReferences?.find((o) => (o as { controller?: boolean }).controller !== false);
  if (owner?.kind === "DaemonSet" && ready?.status === "True" && recent(ready.lastTransitionTime)) return "(a node agent) turned Ready moments ago: its node may follow";
  return undefined;
}
