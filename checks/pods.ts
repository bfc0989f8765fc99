/**
 * Reading pods and nodes the way a person troubleshooting would: phase, the
 * scheduler's reason, container waiting reasons, the kubelet's Ready message.
 */
import type { PodRef } from "../runner/schema/scenario.ts";
import { labelSelector, type ClusterClient, type KubeObject } from "../runner/cluster/client.ts";
import { oneLine } from "../runner/util/text.ts";

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

interface ContainerStatus {
  name: string;
  ready?: boolean;
  restartCount?: number;
  state?: {
    waiting?: { reason?: string; message?: string };
    terminated?: { reason?: string; exitCode?: number; message?: string };
    running?: unknown;
  };
}

export interface PodView {
  phase: string;
  podIP?: string;
  podIPs: string[];
  hostNetwork: boolean;
  nodeName?: string;
  ready: boolean;
  terminating: boolean;
  conditions: Condition[];
  containerStatuses: ContainerStatus[];
  containers: { name: string; image: string }[];
}

const obj = (v: unknown): Record<string, unknown> => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const list = <T>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

export function podView(pod: KubeObject): PodView {
  const spec = obj(pod.spec);
  const status = obj(pod.status);
  const conditions = list<Condition>(status.conditions);
  const podIPs = list<{ ip?: string }>(status.podIPs)
    .map((p) => p.ip)
    .filter((ip): ip is string => typeof ip === "string" && ip !== "");
  const podIP = typeof status.podIP === "string" && status.podIP ? status.podIP : podIPs[0];
  return {
    phase: typeof status.phase === "string" ? status.phase : "Unknown",
    ...(podIP ? { podIP } : {}),
    podIPs: podIPs.length ? podIPs : podIP ? [podIP] : [],
    hostNetwork: spec.hostNetwork === true,
    ...(typeof spec.nodeName === "string" ? { nodeName: spec.nodeName } : {}),
    ready: conditions.some((c) => c.type === "Ready" && c.status === "True"),
    terminating: typeof pod.metadata.deletionTimestamp === "string",
    conditions,
    containerStatuses: list<ContainerStatus>(status.containerStatuses),
    containers: list<{ name: string; image: string }>(spec.containers).map((c) => ({ name: c.name, image: c.image })),
  };
}

export function podName(pod: KubeObject): string {
  return `${pod.metadata.namespace ?? "default"}/${pod.metadata.name}`;
}

/**
 * What a pod is doing, in one line: `Running, Ready`; `Pending: Unschedulable: 0/2
 * nodes are available: ...`; `Running, not Ready: container curl: CrashLoopBackOff`.
 */
export function describePod(pod: KubeObject): string {
  const v = podView(pod);
  if (v.terminating) return `Terminating (${v.phase})`;
  if (v.phase === "Pending") {
    const scheduled = v.conditions.find((c) => c.type === "PodScheduled");
    if (scheduled && scheduled.status !== "True") {
      return oneLine(`Pending: ${scheduled.reason ?? "not scheduled"}${scheduled.message ? `: ${scheduled.message}` : ""}`, 300);
    }
    const waiting = waitingReasons(v);
    return oneLine(`Pending${v.nodeName ? ` on ${v.nodeName}` : ""}${waiting ? `: ${waiting}` : ""}`, 300);
  }
  if (v.phase === "Running") {
    if (v.ready) return "Running, Ready";
    const waiting = waitingReasons(v);
    const readyCond = v.conditions.find((c) => c.type === "Ready");
    return oneLine(`Running, not Ready${waiting ? `: ${waiting}` : readyCond?.message ? `: ${readyCond.message}` : ""}`, 300);
  }
  if (v.phase === "Failed" || v.phase === "Succeeded") {
    const reason = typeof obj(pod.status).reason === "string" ? `: ${String(obj(pod.status).reason)}` : "";
    const terminated = v.containerStatuses
      .filter((c) => c.state?.terminated)
      .map((c) => `container ${c.name}: ${c.state!.terminated!.reason ?? "exit " + String(c.state!.terminated!.exitCode)}`)
      .join("; ");
    return oneLine(`${v.phase}${reason}${terminated ? ` (${terminated})` : ""}`, 300);
  }
  return v.phase;
}

function waitingReasons(v: PodView): string {
  return v.containerStatuses
    .filter((c) => c.state?.waiting?.reason || c.state?.terminated)
    .map((c) => {
      const w = c.state?.waiting;
      if (w?.reason) return `container ${c.name}: ${w.reason}${w.message ? ` (${oneLine(w.message, 120)})` : ""}`;
      const t = c.state?.terminated;
      return `container ${c.name}: terminated (${t?.reason ?? `exit ${String(t?.exitCode)}`})`;
    })
    .join("; ");
}

export interface ResolvedPod {
  /** The pod, when found. */
  pod?: KubeObject;
  /** How the reference reads in messages: `default/testclient` or `default/pods with app=x`. */
  label: string;
  namespace: string;
  /** Why no pod was found. */
  problem?: string;
  /** Pods that match the selector but that the scenario does not deploy (never chosen when it deploys one). */
  ignored?: string[];
}

/** What resolvePod needs to know about the scenario's declared pods (a WorkloadIndex). */
export interface DeclaredPods {
  variantsFor(pod: KubeObject): unknown[];
  declaresMatching(namespace: string, selector: Record<string, string>): boolean;
}

/**
 * A PodRef's pod: by name, or the first pod matching the selector (Running and
 * Ready first, then by name, so the choice is stable). When the scenario
 * declares a pod matching the selector (`declared`), a pod it does not declare
 * is never chosen: a learner-made pod with the same labels is named in
 * `ignored` instead.
 */
export async function resolvePod(client: ClusterClient, ref: PodRef, defaultNamespace: string, signal?: AbortSignal, declared?: DeclaredPods): Promise<ResolvedPod> {
  const namespace = ref.namespace ?? defaultNamespace;
  if (ref.pod) {
    const label = `${namespace}/${ref.pod}`;
    const pod = await client.get({ apiVersion: "v1", kind: "Pod", name: ref.pod, namespace }, signal ? { signal } : {});
    return pod ? { pod, label, namespace } : { label, namespace, problem: `pod ${label} not found` };
  }
  const selector = labelSelector(ref.selector ?? {});
  const label = `${namespace}/pods with ${selector || "(any labels)"}`;
  const pods = await client.list("v1", "Pod", { namespace, ...(selector ? { labelSelector: selector } : {}), ...(signal ? { signal } : {}) });
  let live = pods.filter((p) => !podView(p).terminating);
  let ignored: string[] = [];
  if (declared?.declaresMatching(namespace, ref.selector ?? {})) {
    ignored = live.filter((p) => declared.variantsFor(p).length === 0).map((p) => podName(p)).sort();
    live = live.filter((p) => declared.variantsFor(p).length > 0);
  }
  const rank = (p: KubeObject) => {
    const v = podView(p);
    return v.phase === "Running" && v.ready ? 0 : v.phase === "Running" ? 1 : 2;
  };
  const chosen = [...live].sort((a, b) => rank(a) - rank(b) || a.metadata.name.localeCompare(b.metadata.name))[0];
  const extra = ignored.length ? { ignored } : {};
  if (!chosen) {
    const why = ignored.length
      ? `no pod the scenario deploys in namespace ${namespace} matches ${selector || "(any labels)"} (${ignored.join(", ")} ${ignored.length === 1 ? "matches" : "match"}, but the scenario does not deploy ${ignored.length === 1 ? "it" : "them"})`
      : `no pod in namespace ${namespace} matches ${selector || "(any labels)"}`;
    return { label, namespace, problem: why, ...extra };
  }
  return { pod: chosen, label: podName(chosen), namespace, ...extra };
}

/**
 * Every live (not terminating) pod in `namespace` matching `selector`, sorted by
 * name. When the scenario declares a pod matching it (`declared`), only the pods
 * it declares count; the others are named in `ignored`.
 */
export async function resolvePods(
  client: ClusterClient,
  selector: Record<string, string>,
  namespace: string,
  signal?: AbortSignal,
  declared?: DeclaredPods,
): Promise<{ pods: KubeObject[]; label: string; ignored: string[] }> {
  const sel = labelSelector(selector);
  const found = await client.list("v1", "Pod", { namespace, ...(sel ? { labelSelector: sel } : {}), ...(signal ? { signal } : {}) });
  let pods = found.filter((p) => !podView(p).terminating);
  let ignored: string[] = [];
  if (declared?.declaresMatching(namespace, selector)) {
    ignored = pods.filter((p) => declared.variantsFor(p).length === 0).map((p) => podName(p)).sort();
    pods = pods.filter((p) => declared.variantsFor(p).length > 0);
  }
  pods.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  return { pods, label: `${namespace}/pods with ${sel || "(any labels)"}`, ignored };
}

export interface NodeReadiness {
  ready: boolean;
  /** `Ready`, or `NotReady (KubeletNotReady): container runtime network not ready: ...` */
  description: string;
}

/** The node's Ready condition, with the kubelet's reason and message when it is not Ready. */
export function nodeReadiness(node: KubeObject): NodeReadiness {
  const conditions = list<Condition>(obj(node.status).conditions);
  const ready = conditions.find((c) => c.type === "Ready");
  const unschedulable = obj(node.spec).unschedulable === true ? ", SchedulingDisabled" : "";
  if (!ready) return { ready: false, description: "NotReady: the node reports no Ready condition yet" };
  if (ready.status === "True") return { ready: true, description: `Ready${unschedulable}` };
  const head = ready.status === "Unknown" ? "Unknown" : "NotReady";
  return {
    ready: false,
    description: oneLine(`${head}${unschedulable}${ready.reason ? ` (${ready.reason})` : ""}${ready.message ? `: ${ready.message}` : ""}`, 400),
  };
}
