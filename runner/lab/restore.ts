/**
 * Undoing a phase of `labrun test` on a shared cluster.
 *
 * Attacks and most shortcuts only change API objects (pods recreated with
 * other settings, ephemeral containers, policies deleted or added,
 * deployments relabelled). Rather than a fresh cluster for each (a minute of
 * `kind create` and image loading), `labrun test` takes a baseline of the
 * broken state once and, after each such phase:
 *
 *   1. snapshots the cluster again and plans (`planRestore`, pure):
 *      - delete what is new (by uid; not what a controller owns: its owner
 *        decides), including new namespaces;
 *      - delete and re-create what changed, and what the phase says it touched
 *        in ways the API does not show (a pod whose /etc/hosts was edited, a
 *        pod with ephemeral containers, which cannot be removed), from the
 *        scenario's own manifests when it declares the object, else from the
 *        baseline copy; a changed pod a controller owns is deleted and its
 *        controller makes a new one;
 *      - re-create what is gone;
 *      - nodes cannot be restored: a changed node (taints, labels,
 *        schedulability) makes the cluster unrestorable;
 *   2. executes the plan (deletes first, pods at once, and waits until they
 *      are gone; then creates, namespaces first);
 *   3. waits until the cluster's state digest equals the baseline's again:
 *      every object's labels and spec (not its uid, IP or generated name),
 *      every pod's images, host networking, host aliases, DNS settings,
 *      ephemeral containers, phase and readiness, counted per owner.
 *
 * When the digest does not come back (or the plan finds a node changed), the
 * cluster is unrestorable and `labrun test` runs the remaining phases on a
 * fresh one: a phase is never judged on a state that is not the declared
 * broken state. What the digest cannot see (a file written on a node, state
 * inside a container) is why shortcuts with `run` steps (node commands) or
 * `addon` steps always get a fresh cluster, and why a shortcut's `kubectl
 * exec`/`cp`/`debug` marks every pod of the scenario touched.
 */
import { createHash } from "node:crypto";
import { OWNED_ANNOTATION, STRANGER_NAMESPACE_PREFIX } from "../../checks/owned.ts";
import type { ClusterClient, KubeObject } from "../cluster/client.ts";
import { abortError } from "../providers/kind.ts";
import { sleep } from "../util/sleep.ts";
import { controllerOf, deleteAndWait, forCreate, keyOf, RESTORE_FIELD_MANAGER } from "./recreate.ts";
import { isClusterScoped as isClusterScopedKind } from "./steps.ts";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === "object" && !Array.isArray(v);

/** The kinds a snapshot reads (in every namespace), and the cluster-scoped ones. */
export const SNAPSHOT_KINDS: readonly { apiVersion: string; kind: string }[] = [
  { apiVersion: "v1", kind: "Namespace" },
  { apiVersion: "v1", kind: "Node" },
  { apiVersion: "v1", kind: "Pod" },
  { apiVersion: "v1", kind: "Service" },
  { apiVersion: "v1", kind: "ConfigMap" },
  { apiVersion: "v1", kind: "Secret" },
  { apiVersion: "v1", kind: "ServiceAccount" },
  { apiVersion: "v1", kind: "PersistentVolumeClaim" },
  { apiVersion: "apps/v1", kind: "Deployment" },
  { apiVersion: "apps/v1", kind: "StatefulSet" },
  { apiVersion: "apps/v1", kind: "DaemonSet" },
  { apiVersion: "apps/v1", kind: "ReplicaSet" },
  { apiVersion: "batch/v1", kind: "Job" },
  { apiVersion: "batch/v1", kind: "CronJob" },
  { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" },
  { apiVersion: "networking.k8s.io/v1", kind: "Ingress" },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role" },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding" },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole" },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding" },
];

export async function snapshot(client: ClusterClient, signal?: AbortSignal): Promise<KubeObject[]> {
  const lists = await Promise.all(SNAPSHOT_KINDS.map((k) => client.list(k.apiVersion, k.kind, signal ? { signal } : {})));
  return lists.flat().filter((o) => !isLabrunOwned(o));
}

/**
 * What labrun makes for a grade is not part of a lab's state: its probe pods,
 * and the grade's own namespace (`labrun-stranger-<random>`: truth-table
 * strangers, the dns check's canary Service) with everything in it. A grade
 * deletes that namespace as it ends, and it may still be terminating when the
 * baseline or the next snapshot is taken.
 */
export function isLabrunOwned(o: KubeObject): boolean {
  if (o.kind === "Pod" && (o.metadata.name.startsWith("labrun-probe") || o.metadata.labels?.["app.kubernetes.io/managed-by"] === "labrun")) return true;
  if (typeof o.metadata.annotations?.[OWNED_ANNOTATION] === "string") return true;
  const namespace = o.kind === "Namespace" ? o.metadata.name : o.metadata.namespace;
  return namespace?.startsWith(STRANGER_NAMESPACE_PREFIX) === true;
}

// ---------------------------------------------------------------- digest

const NOISY_ANNOTATIONS = new Set(["kubectl.kubernetes.io/last-applied-configuration", "deployment.kubernetes.io/revision", "deprecated.daemonset.template.generation"]);
const GENERATED_LABELS = new Set(["pod-template-hash", "controller-revision-hash", "pod-template-generation", "controller-uid", "batch.kubernetes.io/controller-uid"]);

function hash(v: unknown): string {
  return createHash("sha256").update(JSON.stringify(v)).digest("hex").slice(0, 16);
}

function filtered(record: unknown, drop: Set<string>): Record<string, unknown> {
  if (!isObj(record)) return {};
  return Object.fromEntries(
    Object.entries(record)
      .filter(([k]) => !drop.has(k))
      .sort(([a], [b]) => a.localeCompare(b)),
  );
}

/** Where a pod's entry is counted: its own name when bare, its owner (a Deployment for a ReplicaSet's pods) otherwise. */
function podKey(p: KubeObject): string {
  const owner = controllerOf(p);
  const ns = p.metadata.namespace ?? "default";
  if (!owner) return `Pod ${ns}/${p.metadata.name}`;
  const name = owner.kind === "ReplicaSet" ? owner.name.replace(/-[a-z0-9]+$/, "") : owner.kind === "Job" ? owner.name.replace(/-[0-9]+$/, "") : owner.name;
  return `Pod ${ns}/* of ${owner.kind === "ReplicaSet" ? "Deployment" : owner.kind} ${name}`;
}

function podState(p: KubeObject): string {
  const spec = isObj(p.spec) ? p.spec : {};
  const status = isObj(p.status) ? p.status : {};
  const ready = (Array.isArray(status.conditions) ? (status.conditions as Obj[]) : []).find((c) => c.type === "Ready");
  const containers = (Array.isArray(spec.containers) ? (spec.containers as Obj[]) : []).map((c) => ({ name: c.name, image: c.image, command: c.command, args: c.args, securityContext: c.securityContext }));
  const ephemeral = (Array.isArray(spec.ephemeralContainers) ? (spec.ephemeralContainers as Obj[]) : []).map((c) => String(c.name)).filter((n) => !n.startsWith("labrun-probe"));
  return hash({
    labels: filtered(p.metadata.labels, GENERATED_LABELS),
    containers,
    hostNetwork: spec.hostNetwork === true,
    hostAliases: spec.hostAliases ?? null,
    dnsPolicy: spec.dnsPolicy ?? null,
    dnsConfig: spec.dnsConfig ?? null,
    ephemeral,
    phase: status.phase ?? null,
    ready: ready?.status ?? null,
    deleting: p.metadata.deletionTimestamp !== undefined,
  });
}

/** An object's state apart from what the API server generates (uid, cluster IPs, node ports, status). */
function objectState(o: KubeObject): string {
  const body: Obj = {
    labels: filtered(o.metadata.labels, new Set()),
    annotations: filtered(o.metadata.annotations, NOISY_ANNOTATIONS),
    deleting: o.metadata.deletionTimestamp !== undefined,
  };
  for (const field of ["data", "binaryData", "rules", "subjects", "roleRef", "type", "automountServiceAccountToken"]) if (o[field] !== undefined) body[field] = o[field];
  if (isObj(o.spec)) {
    const spec = structuredClone(o.spec);
    if (o.kind === "Service") {
      delete spec.clusterIP;
      delete spec.clusterIPs;
      delete spec.healthCheckNodePort;
      if (Array.isArray(spec.ports)) for (const p of spec.ports as Obj[]) delete p.nodePort;
    }
    if (o.kind === "Node") {
      body.spec = { taints: spec.taints ?? [], unschedulable: spec.unschedulable === true };
    } else if (o.kind === "Job") {
      delete spec.selector;
      body.spec = spec;
    } else body.spec = spec;
  }
  return hash(body);
}

/** The state of a cluster as `key → digest`; pods a controller owns are one multiset per owner. */
export function stateDigest(objects: readonly KubeObject[]): Map<string, string> {
  const out = new Map<string, string>();
  const owned = new Map<string, string[]>();
  for (const o of objects) {
    if (isLabrunOwned(o)) continue;
    if (o.kind === "Pod") {
      const key = podKey(o);
      if (controllerOf(o)) owned.set(key, [...(owned.get(key) ?? []), podState(o)]);
      else out.set(key, podState(o));
      continue;
    }
    // Objects a controller makes (a Deployment's ReplicaSets, a CronJob's Jobs) follow their owner.
    if (controllerOf(o)) continue;
    out.set(keyOf(o), objectState(o));
  }
  for (const [key, states] of owned) out.set(key, states.sort().join(","));
  return out;
}

/** The keys whose state differs, one line each (`added`, `missing`, `changed`). */
export function diffStates(baseline: Map<string, string>, now: Map<string, string>): string[] {
  const out: string[] = [];
  for (const [key, state] of baseline) {
    if (!now.has(key)) out.push(`${key}: missing`);
    else if (now.get(key) !== state) out.push(`${key}: changed`);
  }
  for (const key of now.keys()) if (!baseline.has(key)) out.push(`${key}: added`);
  return out.sort();
}

// ---------------------------------------------------------------- plan

export interface RestorePlan {
  /** Live objects to delete (and wait for). */
  delete: KubeObject[];
  /** Objects to create afterwards: the scenario's declaration, or the baseline copy. */
  create: KubeObject[];
  /** Why the cluster cannot be restored (a changed node): non-empty means "use a fresh cluster". */
  unrestorable: string[];
}

/**
 * What to do to bring `after` back to `baseline`. `declared` holds the
 * objects of the scenario's setup and break `apply` steps by key
 * (`Pod default/web`); `touched` names pods (by key) to re-create even if the
 * API shows no change.
 */
export function planRestore(baseline: readonly KubeObject[], after: readonly KubeObject[], declared: ReadonlyMap<string, KubeObject>, touched: ReadonlySet<string> = new Set()): RestorePlan {
  const plan: RestorePlan = { delete: [], create: [], unrestorable: [] };
  const baseUids = new Set(baseline.map((o) => o.metadata.uid));
  const afterByUid = new Map(after.map((o) => [o.metadata.uid, o]));
  const afterByKey = new Map(after.map((o) => [keyOf(o), o]));
  const newNamespaces = new Set(after.filter((o) => o.kind === "Namespace" && !baseUids.has(o.metadata.uid)).map((o) => o.metadata.name));
  const stateOf = (o: KubeObject) => (o.kind === "Pod" ? podState(o) : objectState(o));
  const recreate = (b: KubeObject) => plan.create.push(keepClusterIP(structuredClone(declared.get(keyOf(b)) ?? forCreate(b)), b));
  const deleting = new Set<string>();
  const remove = (o: KubeObject) => {
    if (o.metadata.uid && deleting.has(o.metadata.uid)) return;
    if (o.metadata.uid) deleting.add(o.metadata.uid);
    plan.delete.push(o);
  };

  for (const a of after) {
    if (a.kind === "Node" || baseUids.has(a.metadata.uid) || isLabrunOwned(a)) continue;
    if (controllerOf(a)) continue; // its owner's business (and gone with a deleted owner)
    if (a.kind !== "Namespace" && a.metadata.namespace && newNamespaces.has(a.metadata.namespace)) continue; // goes with its namespace
    remove(a);
  }
  for (const b of baseline) {
    const a = afterByUid.get(b.metadata.uid);
    if (b.kind === "Node") {
      if (!a) plan.unrestorable.push(`node ${b.metadata.name} is gone`);
      else if (objectState(a) !== objectState(b)) plan.unrestorable.push(`node ${b.metadata.name} changed (taints, labels or schedulability)`);
      continue;
    }
    if (isLabrunOwned(b)) continue;
    const isTouched = touched.has(keyOf(b));
    if (controllerOf(b)) {
      // A controller's pod that was changed (relabelled, given ephemeral containers) is replaced by its controller.
      if (b.kind === "Pod" && a && (isTouched || stateOf(a) !== stateOf(b))) remove(a);
      continue;
    }
    if (!a) {
      const sameName = afterByKey.get(keyOf(b));
      if (sameName && !baseUids.has(sameName.metadata.uid)) remove(sameName); // replaced by a new object of the same name
      recreate(b);
    } else if (isTouched || stateOf(a) !== stateOf(b)) {
      // Re-creating a namespace would take everything in it along: only one being deleted is re-created.
      if (b.kind === "Namespace" && a.metadata.deletionTimestamp === undefined) {
        plan.unrestorable.push(`namespace ${b.metadata.name} changed (labels or annotations)`);
        continue;
      }
      remove(a);
      recreate(b);
    }
  }
  return plan;
}

// ---------------------------------------------------------------- run

export interface RestoreContext {
  client: ClusterClient;
  /** The broken state's objects (`snapshot`). */
  baseline: readonly KubeObject[];
  declared: ReadonlyMap<string, KubeObject>;
  touched?: ReadonlySet<string>;
  signal?: AbortSignal;
  /** How long the state may take to come back (default 120 s). */
  timeoutMs?: number;
  pollMs?: number;
  log?: (line: string) => void;
}

/**
 * A Service comes back at the cluster IP it had in the broken state, unless its
 * manifest pins one: every pod's resolv.conf names kube-dns's address, and a
 * client may have any Service's. (Re-created at a new address, kube-dns would
 * answer labrun's probes, which ask the Service's current IP, while every
 * pod's DNS went nowhere: the next phase judged on a state that is not the
 * broken one.)
 */
function keepClusterIP(created: KubeObject, baseline: KubeObject): KubeObject {
  if (created.kind !== "Service" || !isObj(created.spec) || !isObj(baseline.spec)) return created;
  const ip = baseline.spec.clusterIP;
  if (typeof ip !== "string" || !ip || ip === "None" || created.spec.clusterIP !== undefined) return created;
  created.spec.clusterIP = ip;
  if (Array.isArray(baseline.spec.clusterIPs)) created.spec.clusterIPs = structuredClone(baseline.spec.clusterIPs);
  return created;
}

/**
 * `snapshot` is the restored cluster: equal to the baseline in state (the
 * digest), with the uids of the re-created objects. Pass it as the next
 * restore's baseline, so what was re-created once is not re-created again.
 */
export type RestoreResult = { ok: true; detail: string; snapshot: KubeObject[] } | { ok: false; reason: string };

const CREATE_FIRST = ["Namespace", "CustomResourceDefinition", "ServiceAccount", "ConfigMap", "Secret", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

/** Brings the cluster back to `baseline` (see the header); never throws for a state it cannot restore, says why instead. */
export async function restore(ctx: RestoreContext): Promise<RestoreResult> {
  const { client, signal } = ctx;
  const after = await snapshot(client, signal);
  const plan = planRestore(ctx.baseline, after, ctx.declared, ctx.touched);
  if (plan.unrestorable.length) return { ok: false, reason: plan.unrestorable.join("; ") };
  ctx.log?.(`restore: delete ${plan.delete.map(keyOf).join(", ") || "nothing"}; create ${plan.create.map(keyOf).join(", ") || "nothing"}`);
  const left = await deleteAndWait(client, plan.delete, { ...(signal ? { signal } : {}) });
  if (left.length) return { ok: false, reason: `could not delete ${left.map(keyOf).join(", ")}` };
  const rank = (o: KubeObject) => (CREATE_FIRST.includes(o.kind) ? CREATE_FIRST.indexOf(o.kind) : CREATE_FIRST.length);
  for (const o of [...plan.create].sort((a, b) => rank(a) - rank(b))) await createAgain(client, o, signal);
  const want = stateDigest(ctx.baseline);
  const deadline = Date.now() + (ctx.timeoutMs ?? 120_000);
  let diff: string[] = [];
  for (;;) {
    const now = await snapshot(client, signal);
    diff = diffStates(want, stateDigest(now));
    if (diff.length === 0) {
      const n = plan.delete.length + plan.create.length;
      return { ok: true, snapshot: now, detail: n ? `restored: deleted ${plan.delete.length}, created ${plan.create.length} object${plan.create.length === 1 ? "" : "s"}` : "nothing to restore" };
    }
    if (Date.now() >= deadline) break;
    await sleep(ctx.pollMs ?? 1_000, signal).catch(() => undefined);
    if (signal?.aborted) throw abortError(signal);
  }
  return { ok: false, reason: `the broken state did not come back: ${diff.slice(0, 6).join("; ")}${diff.length > 6 ? `; and ${diff.length - 6} more` : ""}` };
}

/** The objects of the scenario's setup and break `apply` steps, by key, namespaces defaulted. */
export function declaredObjects(manifests: { objects: KubeObject[]; namespace: string }[]): Map<string, KubeObject> {
  const out = new Map<string, KubeObject>();
  for (const m of manifests) {
    for (const o of m.objects) {
      const copy = structuredClone(o);
      copy.metadata = { ...(copy.metadata ?? {}) } as KubeObject["metadata"];
      if (!copy.metadata.namespace && !isClusterScopedKind(copy.kind)) copy.metadata.namespace = m.namespace;
      out.set(keyOf(copy), copy);
    }
  }
  return out;
}

/** Creates `o`; a Service whose cluster IP its deleted predecessor still holds for a moment is tried again for up to 10 s. */
async function createAgain(client: ClusterClient, o: KubeObject, signal: AbortSignal | undefined): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await client.apply(o, { fieldManager: RESTORE_FIELD_MANAGER, force: true, ...(signal ? { signal } : {}) });
      return;
    } catch (error) {
      if (o.kind !== "Service" || !/already allocated/i.test(error instanceof Error ? error.message : String(error)) || Date.now() >= deadline) throw error;
      await sleep(500, signal);
    }
  }
}
