/**
 * Cross references `labrun validate` can judge without a cluster:
 *
 *   - every pod, service and namespace a check names is declared by a setup or
 *     break `apply` manifest (a Pod by its name; a Deployment, DaemonSet,
 *     StatefulSet, ReplicaSet, Job or CronJob by its pod template's labels, for
 *     selectors), or listed in `spec.learnerCreates` (the learner makes it);
 *     references into the cluster's own namespaces (kube-system, ...) are not
 *     judged;
 *   - a check that needs a check of `spec.broken.failing` is listed there too
 *     (in the broken state it is skipped, and a skipped check does not pass).
 *
 * Each finding has its own code. Nothing here executes anything.
 */
import { parseAllDocuments } from "yaml";
import { LIMITS, readTextFile } from "./read.ts";
import { resolveInside } from "./semantic-files.ts";
import { arr, isObj, str, type Obj, type Segment } from "./semantic-shape.ts";

export const XREF_CODES = {
  pod: "XREF_UNDECLARED_POD",
  selector: "XREF_UNDECLARED_SELECTOR",
  service: "XREF_UNDECLARED_SERVICE",
  namespace: "XREF_UNDECLARED_NAMESPACE",
  needsFailing: "XREF_NEEDS_FAILING",
} as const;

/** Reports a finding at a path of the scenario document, with its code. */
export type AtCode = (path: Segment[], message: string, code: string) => void;

/** Namespaces every cluster has, and labrun's own: references into them are not judged. */
const SYSTEM_NAMESPACES = new Set(["kube-system", "kube-public", "kube-node-lease", "labrun-system"]);
const BUILTIN_NAMESPACES = new Set(["default", ...SYSTEM_NAMESPACES]);
const TEMPLATE_KINDS = new Set(["Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "ReplicationController"]);

/** What the setup and break manifests (and `learnerCreates`) declare. */
export interface Declared {
  /** `ns/name` of Pods. */
  pods: Set<string>;
  /** Namespace and labels of every pod (Pods and workload templates); learner selectors too. */
  labelled: { namespace: string; labels: Record<string, string> }[];
  /** `ns/name` of Services. */
  services: Set<string>;
  namespaces: Set<string>;
}

const labelsOf = (m: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (isObj(m) && isObj(m.labels)) for (const [k, v] of Object.entries(m.labels)) out[k] = String(v);
  return out;
};

/** Adds a manifest's objects (a `List`'s items too). */
export function declareManifest(d: Declared, text: string, defaultNamespace: string): void {
  for (const doc of parseAllDocuments(text)) {
    if ("errors" in doc && doc.errors.length) continue;
    const value: unknown = doc.toJS();
    for (const o of isObj(value) && value.kind === "List" ? arr(value.items) : [value]) {
      if (!isObj(o) || !isObj(o.metadata)) continue;
      const name = str(o.metadata.name);
      const ns = str(o.metadata.namespace) ?? defaultNamespace;
      const spec = isObj(o.spec) ? o.spec : {};
      if (o.kind === "Namespace" && name) d.namespaces.add(name);
      else if (o.kind === "Service" && name) d.services.add(`${ns}/${name}`);
      else if (o.kind === "Pod") {
        if (name) d.pods.add(`${ns}/${name}`);
        d.labelled.push({ namespace: ns, labels: labelsOf(o.metadata) });
      } else if (typeof o.kind === "string" && (TEMPLATE_KINDS.has(o.kind) || o.kind === "CronJob")) {
        const tpl = o.kind === "CronJob" ? (isObj(spec.jobTemplate) && isObj(spec.jobTemplate.spec) ? spec.jobTemplate.spec.template : undefined) : spec.template;
        if (isObj(tpl)) d.labelled.push({ namespace: ns, labels: labelsOf(tpl.metadata) });
      }
    }
  }
}

/** Adds `spec.learnerCreates`. */
export function declareLearnerObjects(d: Declared, list: unknown): void {
  for (const o of arr(list)) {
    if (!isObj(o)) continue;
    const name = str(o.name);
    const ns = str(o.namespace) ?? "default";
    if (o.kind === "Namespace" && name) d.namespaces.add(name);
    if (o.kind === "Service" && name) d.services.add(`${ns}/${name}`);
    if (o.kind === "Pod" && name) d.pods.add(`${ns}/${name}`);
    if (o.kind === "Pod" && isObj(o.selector)) d.labelled.push({ namespace: ns, labels: labelsOf({ labels: o.selector }) });
  }
}

/** The setup and break manifests' declarations; undefined when one cannot be read (its own problem is reported elsewhere). */
export async function declaredBy(dir: string, spec: Obj): Promise<Declared | undefined> {
  const d: Declared = { pods: new Set(), labelled: [], services: new Set(), namespaces: new Set(BUILTIN_NAMESPACES) };
  for (const step of [...arr(spec.setup), ...arr(spec.break)]) {
    if (!isObj(step) || !isObj(step.apply) || typeof step.apply.file !== "string") continue;
    const file = await resolveInside(dir, step.apply.file);
    if (file.startsWith("!")) return undefined;
    const read = await readTextFile(file, LIMITS.fileBytes);
    if (read.text === undefined) return undefined;
    declareManifest(d, read.text, str(step.apply.namespace) ?? "default");
  }
  declareLearnerObjects(d, spec.learnerCreates);
  return d;
}

const HINT = "declare it in a setup or break manifest, or list it in spec.learnerCreates if the learner creates it";

/** Judges one reference: a pod (name or selector) or a service, in a namespace. */
function judge(d: Declared, at: AtCode, path: Segment[], ref: Obj, namespace: string, kinds: { pod?: boolean; service?: boolean }): void {
  if (SYSTEM_NAMESPACES.has(namespace)) return;
  if (!d.namespaces.has(namespace)) {
    const where = ref.namespace !== undefined ? [...path, "namespace"] : path;
    at(where, `namespace "${namespace}" is not declared: no setup or break manifest creates a Namespace named so; ${HINT}`, XREF_CODES.namespace);
    return;
  }
  const pod = kinds.pod ? str(ref.pod) : undefined;
  if (pod !== undefined && !d.pods.has(`${namespace}/${pod}`)) {
    const byLabels = d.labelled.some((l) => l.namespace === namespace) ? " (a Deployment's pods have no fixed name: use `selector` with its template's labels)" : "";
    at([...path, "pod"], `pod ${namespace}/${pod} is not declared: no setup or break manifest creates a Pod named so${byLabels}; ${HINT}`, XREF_CODES.pod);
  }
  if (kinds.pod && isObj(ref.selector)) {
    const sel = Object.entries(ref.selector).map(([k, v]) => [k, String(v)] as const);
    if (!d.labelled.some((l) => l.namespace === namespace && sel.every(([k, v]) => l.labels[k] === v))) {
      const text = sel.map(([k, v]) => `${k}=${v}`).join(",");
      at([...path, "selector"], `no pod declared in namespace ${namespace} has the labels ${text} (a Pod's labels, or a workload's pod template's); ${HINT}`, XREF_CODES.selector);
    }
  }
  const service = kinds.service ? str(ref.service) : undefined;
  if (service !== undefined && !d.services.has(`${namespace}/${service}`)) {
    at([...path, "service"], `service ${namespace}/${service} is not declared: no setup or break manifest creates a Service named so; ${HINT}`, XREF_CODES.service);
  }
}

/** Every pod, service and namespace reference of the checks, judged against the declarations. */
export function referenceProblems(d: Declared, at: AtCode, checks: unknown[]): void {
  const ns = (ref: Obj, fallback: string) => str(ref.namespace) ?? fallback;
  const podRef = (path: Segment[], ref: unknown) => isObj(ref) && judge(d, at, path, ref, ns(ref, "default"), { pod: true });
  const target = (path: Segment[], ref: unknown, sourceNs: string) => isObj(ref) && ref.host === undefined && judge(d, at, path, ref, ns(ref, sourceNs), { pod: true, service: true });
  checks.forEach((check, i) => {
    if (!isObj(check)) return;
    const base: Segment[] = ["spec", "checks", i];
    for (const key of ["http", "dns", "blocked"]) {
      const op = check[key];
      if (!isObj(op)) continue;
      const sourceNs = isObj(op.from) ? ns(op.from, "default") : "default";
      podRef([...base, key, "from"], op.from);
      for (const field of ["to", "control", "lookup"]) target([...base, key, field], op[field], sourceNs);
      podRef([...base, key, "allowedFrom"], op.allowedFrom);
    }
    if (isObj(check.command)) podRef([...base, "command", "in"], check.command.in);
    if (isObj(check.podsReady)) {
      const p = check.podsReady;
      const namespace = ns(p, "default");
      judge(d, at, [...base, "podsReady"], { ...p, names: undefined }, namespace, { pod: true });
      arr(p.names).forEach((name, j) => {
        if (typeof name === "string" && !SYSTEM_NAMESPACES.has(namespace) && d.namespaces.has(namespace) && !d.pods.has(`${namespace}/${name}`)) {
          at([...base, "podsReady", "names", j], `pod ${namespace}/${name} is not declared: no setup or break manifest creates a Pod named so; ${HINT}`, XREF_CODES.pod);
        }
      });
    }
    if (isObj(check.reachability)) {
      const r = check.reachability;
      arr(r.sources).forEach((s, j) => {
        if (isObj(s) && s.stranger === undefined) judge(d, at, [...base, "reachability", "sources", j], s, ns(s, "default"), { pod: s.labels === undefined });
      });
      arr(r.targets).forEach((t, j) => isObj(t) && judge(d, at, [...base, "reachability", "targets", j], t, ns(t, "default"), { pod: true, service: true }));
    }
  });
}

/** A check that needs one that does not pass in the broken state must itself be listed in `broken.failing`. */
export function needsFailingProblems(at: AtCode, checks: unknown[], failing: unknown[]): void {
  const listed = new Set(failing.filter((f): f is string => typeof f === "string"));
  const notPassing = new Map<string, string>([...listed].map((id) => [id, "listed in spec.broken.failing"]));
  for (let changed = true; changed; ) {
    changed = false;
    checks.forEach((check, i) => {
      const id = isObj(check) ? str(check.id) : undefined;
      if (!isObj(check) || id === undefined || notPassing.has(id)) return;
      const j = arr(check.needs).findIndex((n) => typeof n === "string" && notPassing.has(n));
      if (j < 0) return;
      const need = arr(check.needs)[j] as string;
      const why = notPassing.get(need)!;
      notPassing.set(id, `skipped in the broken state: it needs "${need}", ${why}`);
      changed = true;
      at(
        ["spec", "checks", i, "needs", j],
        `needs "${need}", which is ${why}: in the broken state this check is skipped, and a skipped check does not pass; list "${id}" in spec.broken.failing too`,
        XREF_CODES.needsFailing,
      );
    });
  }
}
